//! A stable prefix, by test: for every backend, the upstream body of request N+1 repeats
//! request N's tools, system prompt and conversation byte for byte, so the provider's prompt
//! cache (automatic on the prefix, or at Anthropic's breakpoints) reads it back.
//!
//! The session is the one Codex 0.169.0 has with `codex exec` then `codex exec resume --last`
//! twice (ARCHITECTURE.md, "What we send back"): a parallel tool turn (reasoning, two calls, their
//! outputs), a text answer, a resumed turn with one more tool loop, and a second resumed turn.
//! Each follow-up is built as Codex builds it: the previous request's `input`, the items of the
//! previous response, then the tool outputs or the new user message.
//!
//! The only bytes allowed to differ are the `cache_control` markers: they move forward with
//! the conversation and are not part of the cached prefix (prompt caching matches the content
//! up to a breakpoint; <https://platform.claude.com/docs/en/build-with-claude/prompt-caching>).

#![cfg(test)]

use std::path::Path;

use serde_json::{Value, json};

use codex_launcher_translate::anthropic::to_anthropic_with_cache;
use codex_launcher_translate::cache::CacheTtl;
use codex_launcher_translate::command_code::{CommandCodeContext, to_command_code};
use codex_launcher_translate::parse_request;
use codex_launcher_translate::provider::ChatProvider;
use codex_launcher_translate::reasoning_codec::ReasoningPayload;
use codex_launcher_translate::to_chat::to_chat_with_cache;

/// The first request: Codex's instructions, tools and first prompt (a project fixture).
fn first_request() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/requests/turn1_tools.json");
    let text = std::fs::read_to_string(&path).expect("turn1_tools.json");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// Which reasoning payload the previous responses carried (what our transducer would have put
/// in `encrypted_content` for this backend).
#[derive(Debug, Clone, Copy)]
enum Reasoning {
    Thinking,
    Chat,
    /// Command Code hands no reasoning back; its responses' reasoning items are foreign.
    None,
}

fn reasoning_item(kind: Reasoning, n: u32) -> Value {
    let text = format!("Plan {n}: look before writing.");
    let encrypted = match kind {
        Reasoning::Thinking => Some(
            ReasoningPayload::Thinking {
                thinking: text.clone(),
                signature: format!("sig-{n}"),
            }
            .encode(),
        ),
        Reasoning::Chat => Some(
            ReasoningPayload::Chat {
                text: text.clone(),
                details: None,
            }
            .encode(),
        ),
        Reasoning::None => None,
    };
    json!({
        "type": "reasoning", "id": format!("rs_{n}"),
        "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": encrypted,
    })
}

fn call(id: &str, cmd: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{id}"), "call_id": id,
           "name": "exec_command", "arguments": json!({"cmd": cmd}).to_string()})
}

fn output(id: &str, text: &str) -> Value {
    json!({"type": "function_call_output", "call_id": id, "output": text})
}

fn assistant(text: &str, n: u32) -> Value {
    json!({"type": "message", "id": format!("msg_{n}"), "role": "assistant",
           "content": [{"type": "output_text", "text": text}]})
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

/// The requests of the session, in order.
fn session(kind: Reasoning) -> Vec<Value> {
    let base = first_request();
    let with = |input: &[Value], more: &[Value]| {
        let mut r = base.clone();
        let mut all = input.to_vec();
        all.extend_from_slice(more);
        r["input"] = Value::Array(all);
        r
    };
    let mut input: Vec<Value> = base["input"].as_array().expect("input").clone();
    let mut requests = vec![with(&input, &[])];
    let steps: Vec<Vec<Value>> = vec![
        // Turn 1: reasoning and two parallel calls, their outputs in reverse order.
        vec![
            reasoning_item(kind, 1),
            call("call_a", "ls"),
            call("call_b", "cat Cargo.toml"),
            output("call_b", "[package]\nname = \"demo\"\n"),
            output("call_a", "Cargo.toml\nsrc\n"),
        ],
        // The answer, then `codex exec resume --last "..."`.
        vec![
            assistant("Two files: Cargo.toml and src.", 1),
            user("Now add a README."),
        ],
        // Turn 2: one call in a tool loop.
        vec![
            reasoning_item(kind, 2),
            call("call_c", "echo '# demo' > README.md"),
            output("call_c", ""),
        ],
        // The answer, then the second resume.
        vec![
            assistant("README.md written.", 2),
            user("Thanks. Commit it."),
        ],
    ];
    for step in steps {
        input.extend(step);
        requests.push(with(&input, &[]));
    }
    requests
}

/// `v` without any `cache_control` member, anywhere.
fn strip_markers(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| *k != "cache_control")
                .map(|(k, v)| (k.clone(), strip_markers(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_markers).collect()),
        other => other.clone(),
    }
}

fn bytes(v: &Value) -> String {
    serde_json::to_string(&strip_markers(v)).expect("json")
}

/// What a backend's body puts in the cached prefix, in the provider's order: the tools, the
/// system prompt, then the conversation as a list of units (Anthropic caches per content
/// block, so a user message that grew by a block still shares its first blocks; Chat hosts
/// and Command Code per message).
struct Prefix {
    tools: String,
    system: String,
    units: Vec<String>,
}

fn anthropic_prefix(body: &Value) -> Prefix {
    let mut units = Vec::new();
    for m in body["messages"].as_array().expect("messages") {
        let role = m["role"].as_str().expect("role");
        for b in m["content"].as_array().expect("blocks") {
            units.push(format!("{role}:{}", bytes(b)));
        }
    }
    Prefix {
        tools: bytes(&body["tools"]),
        system: bytes(&body["system"]),
        units,
    }
}

fn chat_prefix(body: &Value) -> Prefix {
    Prefix {
        tools: bytes(&body["tools"]),
        system: String::new(),
        units: body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(bytes)
            .collect(),
    }
}

fn command_code_prefix(body: &Value) -> Prefix {
    let params = &body["params"];
    Prefix {
        tools: bytes(&params["tools"]),
        // The envelope's `config` and `threadId` frame the prompt the gateway builds.
        system: format!(
            "{}{}{}",
            bytes(&params["system"]),
            bytes(&body["config"]),
            bytes(&body["threadId"])
        ),
        units: params["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(bytes)
            .collect(),
    }
}

/// Every request repeats the previous one's prefix.
fn check_stable(backend: &str, prefixes: &[Prefix]) -> Result<(), String> {
    for (n, pair) in prefixes.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        let (r1, r2) = (n + 1, n + 2);
        if a.tools != b.tools {
            return Err(format!("{backend}: tools of request {r2} differ from {r1}"));
        }
        if a.system != b.system {
            return Err(format!(
                "{backend}: system of request {r2} differs from {r1}"
            ));
        }
        if a.units.len() >= b.units.len() {
            return Err(format!("{backend}: request {r2} does not extend {r1}"));
        }
        if let Some(i) = a.units.iter().zip(&b.units).position(|(x, y)| x != y) {
            return Err(format!(
                "{backend}: request {r2} changed unit {i} of request {r1}'s conversation:\n  {}\n  {}",
                a.units[i], b.units[i]
            ));
        }
    }
    Ok(())
}

fn assert_stable(backend: &str, prefixes: &[Prefix]) {
    if let Err(e) = check_stable(backend, prefixes) {
        panic!("{e}");
    }
}

#[test]
fn the_check_sees_one_changed_byte() {
    let p = |system: &str, units: &[&str]| Prefix {
        tools: "[]".into(),
        system: system.into(),
        units: units.iter().map(|u| (*u).to_owned()).collect(),
    };
    assert!(check_stable("t", &[p("s", &["a"]), p("s", &["a", "b"])]).is_ok());
    assert!(check_stable("t", &[p("s", &["a"]), p("s2", &["a", "b"])]).is_err());
    assert!(check_stable("t", &[p("s", &["a", "b"]), p("s", &["a", "c", "d"])]).is_err());
    assert!(check_stable("t", &[p("s", &["a"]), p("s", &["a"])]).is_err());
}

#[test]
fn anthropic_repeats_its_prefix() {
    for &cache in CacheTtl::ALL {
        let prefixes: Vec<Prefix> = session(Reasoning::Thinking)
            .iter()
            .map(|r| {
                let req = parse_request(r.to_string().as_bytes()).expect("request");
                let t = to_anthropic_with_cache(
                    &req,
                    &req.input.clone().into_items(),
                    "claude-sonnet-4-6",
                    cache,
                );
                anthropic_prefix(&serde_json::to_value(&t.request).expect("json"))
            })
            .collect();
        assert_stable(&format!("anthropic ({cache})"), &prefixes);
    }
}

#[test]
fn chat_hosts_repeat_their_prefix() {
    for provider in ChatProvider::ALL {
        // OpenRouter with a Claude model also gets breakpoints on content parts.
        let model = match provider {
            ChatProvider::OpenRouter | ChatProvider::Kilo => "anthropic/claude-sonnet-4.5",
            _ => "model-x",
        };
        let prefixes: Vec<Prefix> = session(Reasoning::Chat)
            .iter()
            .map(|r| {
                let req = parse_request(r.to_string().as_bytes()).expect("request");
                let t = to_chat_with_cache(
                    &req,
                    &req.input.clone().into_items(),
                    model,
                    &provider.quirks(),
                    CacheTtl::default(),
                );
                chat_prefix(&serde_json::to_value(&t.request).expect("json"))
            })
            .collect();
        assert_stable(provider.name(), &prefixes);
    }
}

#[test]
fn command_code_repeats_its_prefix() {
    let ctx = CommandCodeContext {
        working_dir: "/home/user/project".into(),
        date: "2026-12-02".into(),
    };
    let prefixes: Vec<Prefix> = session(Reasoning::None)
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let req = parse_request(r.to_string().as_bytes()).expect("request");
            // Each request has its own response id; the thread id must not follow it.
            let t = to_command_code(
                &req,
                &req.input.clone().into_items(),
                "deepseek/deepseek-v4-pro",
                &ctx,
                &format!("resp_{n}"),
            );
            command_code_prefix(&t.body)
        })
        .collect();
    assert_stable("command-code", &prefixes);
}

#[test]
fn markers_are_the_only_difference_and_they_move_forward() {
    // The check above ignores `cache_control`; here the markers themselves: each request
    // marks its own last block, and the next request keeps a marker there (the previous
    // turn's end), so it reads what the previous one wrote.
    let requests = session(Reasoning::Thinking);
    let bodies: Vec<Value> = requests
        .iter()
        .map(|r| {
            let req = parse_request(r.to_string().as_bytes()).expect("request");
            let t = to_anthropic_with_cache(
                &req,
                &req.input.clone().into_items(),
                "claude-sonnet-4-6",
                CacheTtl::default(),
            );
            serde_json::to_value(&t.request).expect("json")
        })
        .collect();
    let marked = |body: &Value| -> Vec<usize> {
        let mut i = 0;
        let mut out = Vec::new();
        for m in body["messages"].as_array().expect("messages") {
            for b in m["content"].as_array().expect("blocks") {
                if b.get("cache_control").is_some() {
                    out.push(i);
                }
                i += 1;
            }
        }
        out
    };
    for pair in bodies.windows(2) {
        let last_written = *marked(&pair[0]).last().expect("a conversation breakpoint");
        assert!(
            marked(&pair[1]).contains(&last_written),
            "the next request has no breakpoint where the previous one wrote: {:?} vs {:?}",
            marked(&pair[0]),
            marked(&pair[1])
        );
    }
}
