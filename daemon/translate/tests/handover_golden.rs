//! Golden tests of the reasoning hand-over ([`hand_over`]) over tool loops: a session that
//! moves from Anthropic to DeepSeek, from DeepSeek to Anthropic, and back again, mid-turn.
//!
//! Each case builds the Codex history (reasoning items carrying our `clr1:` payloads with
//! their origin, calls, outputs), hands it over to the target and translates it with the
//! target's request translation; the request is compared with
//! `fixtures/handover/<case>.json`. `UPDATE_EXPECT=1 cargo test -p codex-launcher-translate
//! --test handover_golden` rewrites the goldens. Each request is also checked for the rules
//! the target's strict mock (and API) enforces, so a blessed golden that is wrong still fails.

#![cfg(test)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use codex_launcher_translate::anthropic::to_anthropic;
use codex_launcher_translate::handover::{HandoverTarget, hand_over};
use codex_launcher_translate::provider::{ChatProvider, ChatQuirks};
use codex_launcher_translate::reasoning_codec::{OriginBackend, ReasoningOrigin, ReasoningPayload};
use codex_launcher_translate::responses::{InputItem, ResponsesRequest};
use codex_launcher_translate::to_chat::to_chat;

const DEEPSEEK_MODEL: &str = "deepseek-v4-pro";
const CLAUDE_MODEL: &str = "claude-sonnet-4-6";

fn deepseek_origin() -> ReasoningOrigin {
    ReasoningOrigin {
        backend: OriginBackend::Chat,
        provider: Some(ChatProvider::DeepSeek),
        model: Some(DEEPSEEK_MODEL.into()),
    }
}

fn anthropic_origin() -> ReasoningOrigin {
    ReasoningOrigin {
        backend: OriginBackend::Anthropic,
        provider: None,
        model: Some(CLAUDE_MODEL.into()),
    }
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn assistant(text: &str) -> Value {
    json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
}

/// DeepSeek reasoning as the Chat transducer records it (marked `[ds]` so the checks can
/// find it).
fn deepseek_reasoning(text: &str) -> Value {
    let text = format!("[ds] {text}");
    let payload = ReasoningPayload::Chat {
        text: text.clone(),
        details: None,
    };
    json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": payload.encode_with_origin(Some(&deepseek_origin()))})
}

/// Anthropic signed thinking as the Anthropic transducer records it.
fn claude_thinking(text: &str, signature: &str) -> Value {
    let payload = ReasoningPayload::Thinking {
        thinking: text.into(),
        signature: signature.into(),
    };
    json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": payload.encode_with_origin(Some(&anthropic_origin()))})
}

/// Anthropic redacted thinking, recorded before origins existed (the origin is implied).
fn claude_redacted(data: &str) -> Value {
    let payload = ReasoningPayload::RedactedThinking { data: data.into() };
    json!({"type": "reasoning", "summary": [], "encrypted_content": payload.encode()})
}

fn call(id: &str, cmd: &str) -> Value {
    json!({"type": "function_call", "call_id": id, "name": "exec_command",
        "arguments": json!({"cmd": cmd}).to_string()})
}

fn output(id: &str, text: &str) -> Value {
    json!({"type": "function_call_output", "call_id": id, "output": text})
}

enum Target {
    DeepSeek,
    Anthropic,
}

struct Case {
    name: &'static str,
    target: Target,
    items: Vec<Value>,
}

fn cases() -> Vec<Case> {
    vec![
        // Turn 1 on DeepSeek (finished), turn 2 starts on Anthropic and fails over to
        // DeepSeek in the middle of its tool loop.
        Case {
            name: "anthropic_to_deepseek",
            target: Target::DeepSeek,
            items: vec![
                user("List the files."),
                claude_thinking("I should run ls.", "sig-claude-1"),
                call("call_1", "ls"),
                output("call_1", "a.txt b.txt"),
                assistant("There are two files."),
                user("Now count the lines of a.txt."),
                claude_thinking("wc -l will do.", "sig-claude-2"),
                assistant("Counting."),
                call("call_2", "wc -l a.txt"),
                output("call_2", "3 a.txt"),
                claude_redacted("opaque-redacted-block"),
                call("call_3", "wc -l b.txt"),
                output("call_3", "5 b.txt"),
            ],
        },
        // The same move the other way: DeepSeek's reasoning cannot open an Anthropic tool
        // loop, so the current turn's DeepSeek calls become text; turn 1's calls stay.
        Case {
            name: "deepseek_to_anthropic",
            target: Target::Anthropic,
            items: vec![
                user("List the files."),
                deepseek_reasoning("I should run ls."),
                call("call_1", "ls"),
                output("call_1", "a.txt b.txt"),
                assistant("There are two files."),
                user("Now count the lines of a.txt."),
                deepseek_reasoning("wc -l will do."),
                assistant("Counting."),
                call("call_2", "wc -l a.txt"),
                output("call_2", "3 a.txt"),
            ],
        },
        // DeepSeek → Anthropic → DeepSeek within one turn: Anthropic's step went through
        // (its own thinking), then the session failed back over.
        Case {
            name: "deepseek_anthropic_deepseek",
            target: Target::DeepSeek,
            items: vec![
                user("Count the lines of both files."),
                deepseek_reasoning("Start with a.txt."),
                call("call_1", "wc -l a.txt"),
                output("call_1", "3 a.txt"),
                claude_thinking("Now b.txt.", "sig-claude-3"),
                call("call_2", "wc -l b.txt"),
                output("call_2", "5 b.txt"),
            ],
        },
        // Anthropic → DeepSeek → Anthropic within one turn: Anthropic's own step keeps its
        // signed thinking; DeepSeek's step becomes text, so the last tool loop is Anthropic's
        // to start afresh.
        Case {
            name: "anthropic_deepseek_anthropic",
            target: Target::Anthropic,
            items: vec![
                user("Count the lines of both files."),
                claude_thinking("Start with a.txt.", "sig-claude-4"),
                call("call_1", "wc -l a.txt"),
                output("call_1", "3 a.txt"),
                deepseek_reasoning("Now b.txt."),
                call("call_2", "wc -l b.txt"),
                output("call_2", "5 b.txt"),
            ],
        },
    ]
}

fn request(items: &[Value]) -> ResponsesRequest {
    serde_json::from_value(json!({
        "model": "gpt-5-codex",
        "instructions": "You are Codex.",
        "stream": true,
        "reasoning": {"effort": "high", "summary": "auto"},
        "tools": [{"type": "function", "name": "exec_command", "strict": false,
            "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}],
        "input": items,
    }))
    .expect("a Responses request")
}

fn translate(case: &Case, deepseek: &ChatQuirks) -> Value {
    let req = request(&case.items);
    let items = req.input.clone().into_items();
    match case.target {
        Target::DeepSeek => {
            let target = HandoverTarget::Chat {
                provider: ChatProvider::DeepSeek,
                quirks: deepseek,
                model: DEEPSEEK_MODEL,
            };
            let items: Vec<InputItem> = hand_over(&items, &target);
            serde_json::to_value(to_chat(&req, &items, DEEPSEEK_MODEL, deepseek).request)
        }
        Target::Anthropic => {
            let items = hand_over(&items, &HandoverTarget::Anthropic);
            serde_json::to_value(to_anthropic(&req, &items, CLAUDE_MODEL).request)
        }
    }
    .expect("requests serialize")
}

#[test]
fn handover_goldens() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/handover");
    let deepseek = ChatProvider::DeepSeek.quirks();
    let mut failures = Vec::new();
    for case in cases() {
        let translated = translate(&case, &deepseek);
        let mut actual = serde_json::to_string_pretty(&translated).expect("JSON serializes");
        actual.push('\n');
        let path = dir.join(format!("{}.json", case.name));
        if fs::read_to_string(&path).ok().as_deref() != Some(actual.as_str()) {
            if update {
                fs::create_dir_all(&dir).expect("fixture dir");
                fs::write(&path, &actual).expect("golden written");
            } else {
                failures.push(format!(
                    "{}: differs from the golden (UPDATE_EXPECT=1 rewrites it); actual:\n{actual}",
                    path.display()
                ));
            }
        }
        let problems = match case.target {
            Target::DeepSeek => deepseek_problems(&translated),
            Target::Anthropic => anthropic_problems(&translated),
        };
        failures.extend(problems.into_iter().map(|p| format!("{}: {p}", case.name)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// DeepSeek thinking mode: every assistant message with tool calls carries
/// `reasoning_content`; nothing of Anthropic's signed or redacted blocks reaches it.
fn deepseek_problems(req: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let text = req.to_string();
    for secret in ["sig-claude", "opaque-redacted"] {
        if text.contains(secret) {
            problems.push(format!("Anthropic's `{secret}…` sent to DeepSeek"));
        }
    }
    for (i, m) in req["messages"].as_array().into_iter().flatten().enumerate() {
        let calls = m["tool_calls"].as_array().is_some_and(|c| !c.is_empty());
        if calls && !m["reasoning_content"].is_string() {
            problems.push(format!(
                "messages[{i}]: tool calls without reasoning_content"
            ));
        }
    }
    problems
}

/// Anthropic: only its own signed thinking; the last assistant message of an open tool loop
/// starts with thinking; no DeepSeek reasoning text; every `tool_use` answered.
fn anthropic_problems(req: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let messages = req["messages"].as_array().cloned().unwrap_or_default();
    for (i, m) in messages.iter().enumerate() {
        for b in m["content"].as_array().into_iter().flatten() {
            if b["type"] == "thinking"
                && !b["signature"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("sig-claude"))
            {
                problems.push(format!(
                    "messages[{i}]: thinking without Anthropic's signature"
                ));
            }
            if b["type"] == "text" && b["text"].as_str().is_some_and(|t| t.contains("[ds]")) {
                problems.push(format!("messages[{i}]: DeepSeek's reasoning text sent"));
            }
        }
    }
    if let [.., before, last] = messages.as_slice() {
        let answers_tools = last["content"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| b["type"] == "tool_result");
        let first = before["content"][0]["type"].as_str().unwrap_or_default();
        if answers_tools && first != "thinking" && first != "redacted_thinking" {
            problems.push(format!(
                "the open tool loop's assistant message starts with `{first}`, not thinking"
            ));
        }
    }
    problems
}
