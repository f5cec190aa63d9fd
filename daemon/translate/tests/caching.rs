//! Prompt-cache breakpoints: where the Anthropic and Chat translations put `cache_control`,
//! how many, with which TTL, and when none.

#![cfg(test)]

use serde_json::{Value, json};

use codex_launcher_translate::anthropic::{
    AnthropicBlock, AnthropicMessage, AnthropicRequest, count_breakpoints, place_breakpoints,
    to_anthropic_with_cache,
};
use codex_launcher_translate::cache::{CacheTtl, MAX_BREAKPOINTS, control};
use codex_launcher_translate::parse_request;
use codex_launcher_translate::provider::ChatProvider;
use codex_launcher_translate::responses::ResponsesRequest;
use codex_launcher_translate::to_chat::to_chat_with_cache;

/// A tool loop followed by a new prompt: developer message, user prompt, a call and its
/// output, an answer, a second prompt.
fn request() -> ResponsesRequest {
    let body = json!({
        "model": "m",
        "instructions": "You are Codex.",
        "prompt_cache_key": "01a20afb-5f70-7fa2-918c-d55058e2ead5",
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
            {"type": "function", "name": "write_stdin", "parameters": {"type": "object"}}
        ],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Sandbox: none."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List the files."}]},
            {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "One file."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Delete it."}]}
        ]
    });
    parse_request(body.to_string().as_bytes()).expect("request")
}

fn anthropic(cache: CacheTtl) -> Value {
    let req = request();
    let t = to_anthropic_with_cache(
        &req,
        &req.input.clone().into_items(),
        "claude-sonnet-4-6",
        cache,
    );
    serde_json::to_value(&t.request).expect("json")
}

fn chat(provider: ChatProvider, model: &str, cache: CacheTtl) -> Value {
    let req = request();
    let t = to_chat_with_cache(
        &req,
        &req.input.clone().into_items(),
        model,
        &provider.quirks(),
        cache,
    );
    serde_json::to_value(&t.request).expect("json")
}

/// JSON pointers of every `cache_control` in `v` (keys in `serde_json`'s sorted order), with
/// the marker.
fn markers(v: &Value) -> Vec<(String, Value)> {
    fn walk(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if k == "cache_control" {
                        out.push((path.clone(), x.clone()));
                    } else {
                        walk(x, format!("{path}/{k}"), out);
                    }
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

fn paths(v: &Value) -> Vec<String> {
    markers(v).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn anthropic_marks_tools_system_last_block_and_previous_turn() {
    let body = anthropic(CacheTtl::FiveMinutes);
    // messages: 0 user (prompt), 1 assistant (tool_use), 2 user (tool_result),
    // 3 assistant (text), 4 user (prompt).
    assert_eq!(
        paths(&body),
        [
            "/messages/2/content/0",
            "/messages/4/content/0",
            "/system/0",
            "/tools/1",
        ]
    );
    for (_, m) in markers(&body) {
        assert_eq!(m, json!({"type": "ephemeral"}));
    }
    // The system prompt is blocks: the instructions, then the developer message.
    assert_eq!(
        body["system"][0]["text"],
        "You are Codex.\n\nSandbox: none."
    );
    assert!(
        body.get("cache_control").is_none(),
        "no top-level automatic caching"
    );
}

#[test]
fn anthropic_one_hour_and_off() {
    let body = anthropic(CacheTtl::OneHour);
    let m = markers(&body);
    assert_eq!(m.len(), MAX_BREAKPOINTS);
    for (_, m) in m {
        assert_eq!(m, json!({"type": "ephemeral", "ttl": "1h"}));
    }
    let off = anthropic(CacheTtl::Off);
    assert!(markers(&off).is_empty());
    assert_eq!(off["system"], "You are Codex.\n\nSandbox: none.");
}

#[test]
fn anthropic_first_turn_has_no_previous_turn() {
    let req: ResponsesRequest = parse_request(
        json!({"model": "m", "input": "hi", "instructions": "be brief"})
            .to_string()
            .as_bytes(),
    )
    .expect("request");
    let t = to_anthropic_with_cache(
        &req,
        &req.input.clone().into_items(),
        "claude",
        CacheTtl::default(),
    );
    let body = serde_json::to_value(&t.request).expect("json");
    assert_eq!(paths(&body), ["/messages/0/content/0", "/system/0"]);
}

#[test]
fn later_developer_messages_are_system_blocks_after_the_marked_one() {
    let mut body = json!({
        "model": "m", "instructions": "base",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "one"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "new rule"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "two"}]}
        ]
    });
    let req = parse_request(body.to_string().as_bytes()).expect("request");
    let t = to_anthropic_with_cache(
        &req,
        &req.input.clone().into_items(),
        "claude",
        CacheTtl::default(),
    );
    body = serde_json::to_value(&t.request).expect("json");
    assert_eq!(body["system"][0]["text"], "base");
    assert_eq!(body["system"][1]["text"], "new rule");
    assert!(body["system"][0].get("cache_control").is_some());
    assert!(body["system"][1].get("cache_control").is_none());
}

fn block(text: &str) -> AnthropicBlock {
    AnthropicBlock::text(text)
}

#[test]
fn breakpoints_skip_thinking_and_respect_the_limit_with_markers_already_present() {
    let thinking = AnthropicBlock::Thinking {
        thinking: "t".into(),
        signature: "s".into(),
    };
    let mut req = AnthropicRequest {
        model: "claude".into(),
        max_tokens: 10,
        messages: vec![
            AnthropicMessage {
                role: "user",
                content: vec![block("a")],
            },
            AnthropicMessage {
                role: "assistant",
                content: vec![block("b"), thinking],
            },
        ],
        stream: true,
        ..AnthropicRequest::default()
    };
    place_breakpoints(&mut req, CacheTtl::default());
    let body = serde_json::to_value(&req).expect("json");
    // The last block is thinking, which cannot carry a marker: the text before it does.
    assert_eq!(paths(&body), ["/messages/1/content/0"]);

    // Three markers already there: one more, never a fifth.
    let marked = |text: &str| {
        let mut b = block(text);
        *b.cache_control_mut().expect("text takes a marker") = control(CacheTtl::default());
        b
    };
    let mut full = AnthropicRequest {
        model: "claude".into(),
        max_tokens: 10,
        messages: vec![
            AnthropicMessage {
                role: "user",
                content: vec![marked("1"), marked("2"), marked("3"), block("4")],
            },
            AnthropicMessage {
                role: "assistant",
                content: vec![block("5")],
            },
            AnthropicMessage {
                role: "user",
                content: vec![block("6")],
            },
        ],
        stream: true,
        ..AnthropicRequest::default()
    };
    place_breakpoints(&mut full, CacheTtl::default());
    assert_eq!(count_breakpoints(&full), MAX_BREAKPOINTS);
    let body = serde_json::to_value(&full).expect("json");
    assert!(
        body["messages"][2]["content"][0]
            .get("cache_control")
            .is_some()
    );
    place_breakpoints(&mut full, CacheTtl::default());
    assert_eq!(
        count_breakpoints(&full),
        MAX_BREAKPOINTS,
        "idempotent at the limit"
    );
}

#[test]
fn openrouter_marks_claude_and_gemini_content_parts() {
    for model in ["anthropic/claude-sonnet-4.5", "google/gemini-2.5-pro"] {
        let body = chat(ChatProvider::OpenRouter, model, CacheTtl::FiveMinutes);
        // messages: 0 system, 1 user, 2 assistant (call), 3 tool, 4 assistant, 5 user.
        assert_eq!(
            paths(&body),
            [
                "/messages/0/content/0",
                "/messages/3/content/0",
                "/messages/5/content/0",
            ],
            "{model}"
        );
        // Every non-assistant message is parts, marked or not, so its shape never changes.
        assert!(body["messages"][1]["content"].is_array());
    }
    let one_hour = chat(
        ChatProvider::Kilo,
        "anthropic/claude-opus-4.7",
        CacheTtl::OneHour,
    );
    for (_, m) in markers(&one_hour) {
        assert_eq!(m, json!({"type": "ephemeral", "ttl": "1h"}));
    }
    // Other models on OpenRouter, caching off, and automatic-caching hosts: no markers, and
    // content stays a plain string.
    for body in [
        chat(
            ChatProvider::OpenRouter,
            "deepseek/deepseek-v3.2",
            CacheTtl::default(),
        ),
        chat(
            ChatProvider::OpenRouter,
            "anthropic/claude-sonnet-4.5",
            CacheTtl::Off,
        ),
        chat(
            ChatProvider::DeepSeek,
            "deepseek-v4-pro",
            CacheTtl::default(),
        ),
        chat(ChatProvider::OpenAi, "gpt-5-mini", CacheTtl::default()),
    ] {
        assert!(markers(&body).is_empty(), "{body}");
        assert!(body["messages"][1]["content"].is_string());
    }
}

#[test]
fn prompt_cache_key_goes_only_where_documented() {
    let key = "01a20afb-5f70-7fa2-918c-d55058e2ead5";
    for provider in ChatProvider::ALL {
        let body = chat(provider, "m", CacheTtl::default());
        let sent = body.get("prompt_cache_key").and_then(Value::as_str);
        let expected = provider.quirks().prompt_cache_key.then_some(key);
        assert_eq!(sent, expected, "{}", provider.name());
    }
    assert!(ChatProvider::OpenAi.quirks().prompt_cache_key);
}
