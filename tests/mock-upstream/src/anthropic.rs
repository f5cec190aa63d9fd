//! The Anthropic Messages wire (`POST …/v1/messages`).
//!
//! Enforces the rules that break naive bridges: `x-api-key` and `anthropic-version` headers,
//! `max_tokens` required, `user`/`assistant` roles only and alternating, starting with `user`,
//! non-empty text blocks, every `tool_use` answered by a `tool_result` at the start of the next
//! user message, and — with thinking on — a tool loop's assistant message must begin with its
//! signed `thinking` (or `redacted_thinking`) block, unchanged: signatures are checked against
//! the thinking text they were issued for.

use serde_json::{Value, json};

use crate::script::{Failure, Plain, ToolCall, Turn, Usage, cloudflare_page, fragments};
use crate::{RecordedRequest, StrictRules};

/// The signature the mock issues for a thinking text; a changed text fails the check.
pub(crate) fn sign(thinking: &str) -> String {
    // FNV-1a: deterministic, no dependency, good enough to notice an edited block.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in thinking.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("EqMockSig{h:016x}")
}

pub(crate) fn error(status: u16, kind: &str, message: &str) -> Plain {
    Plain::json(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message},
               "request_id": "req_mock0000000000000000"}),
    )
}

/// Headers and body rules.
pub(crate) fn validate(
    api_key: Option<&str>,
    rules: &StrictRules,
    req: &RecordedRequest,
) -> Result<(), Plain> {
    if let Some(key) = api_key
        && req.header("x-api-key") != Some(key)
    {
        return Err(error(401, "authentication_error", "invalid x-api-key"));
    }
    if req.header("anthropic-version").is_none() {
        return Err(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    let bad = |m: String| Err(error(400, "invalid_request_error", &m));
    let body = &req.body;
    if body.get("model").and_then(Value::as_str).is_none() {
        return bad("model: Field required".into());
    }
    let Some(max_tokens) = body.get("max_tokens").and_then(Value::as_u64) else {
        return bad("max_tokens: Field required".into());
    };
    let thinking = body.pointer("/thinking/type").and_then(Value::as_str);
    if thinking == Some("enabled") {
        let budget = body
            .pointer("/thinking/budget_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if budget < 1024 {
            return bad(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                    .into(),
            );
        }
        if budget >= max_tokens {
            return bad("`max_tokens` must be greater than `thinking.budget_tokens`".into());
        }
    }
    let thinking_on =
        matches!(thinking, Some("enabled" | "adaptive")) || rules.require_reasoning_passback;
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("messages: Field required".into());
    };
    if messages.is_empty() {
        return bad("messages: at least one message is required".into());
    }
    let mut prev_role = "";
    let mut pending_uses: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if role != "user" && role != "assistant" {
            return bad(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        if i == 0 && role != "user" {
            return bad("messages: first message must use the \"user\" role".into());
        }
        if role == prev_role {
            return bad(format!(
                "messages.{i}: roles must alternate between \"user\" and \"assistant\""
            ));
        }
        prev_role = role;
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(a)) => a.clone(),
            _ => return bad(format!("messages.{i}.content: Field required")),
        };
        if blocks.is_empty() {
            return bad(format!(
                "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            ));
        }
        let mut results_done = false;
        let mut answered: Vec<String> = Vec::new();
        for (j, b) in blocks.iter().enumerate() {
            let ty = b.get("type").and_then(Value::as_str).unwrap_or_default();
            match (role, ty) {
                (_, "text") => {
                    if b.get("text")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return bad(format!(
                            "messages.{i}.content.{j}.text: text content blocks must be non-empty"
                        ));
                    }
                    results_done = true;
                }
                ("user", "image") => results_done = true,
                ("user", "tool_result") => {
                    if results_done {
                        return bad(format!(
                            "messages.{i}.content.{j}: tool_result blocks must come first in the user message, before any other content"
                        ));
                    }
                    let id = b
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !pending_uses.iter().any(|u| u == id) {
                        return bad(format!(
                            "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    answered.push(id.to_owned());
                }
                ("assistant", "tool_use") => {
                    if !b.get("input").is_some_and(Value::is_object) {
                        return bad(format!(
                            "messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"
                        ));
                    }
                }
                ("assistant", "thinking") => {
                    let text = b
                        .get("thinking")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let sig = b
                        .get("signature")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if sig != sign(text) {
                        return bad(format!(
                            "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                        ));
                    }
                }
                ("assistant", "redacted_thinking") => {
                    if b.get("data")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return bad(format!("messages.{i}.content.{j}.data: Field required"));
                    }
                }
                _ => {
                    return bad(format!(
                        "messages.{i}.content.{j}: unexpected block type `{ty}` in a {role} message"
                    ));
                }
            }
        }
        if role == "user" {
            let missing: Vec<&String> = pending_uses
                .iter()
                .filter(|u| !answered.contains(u))
                .collect();
            if !missing.is_empty() {
                let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                return bad(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    list.join(", ")
                ));
            }
            pending_uses.clear();
        } else {
            pending_uses = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect();
        }
    }
    // A tool loop in progress (the last user message answers tools) is one assistant turn:
    // its assistant message must still begin with the thinking that produced the calls.
    if thinking_on && messages.len() >= 2 {
        let last_user = &messages[messages.len() - 1];
        let answers_tools = last_user
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            });
        let i = messages.len() - 2;
        let first = messages[i]
            .pointer("/content/0/type")
            .and_then(Value::as_str)
            .unwrap_or("text");
        if answers_tools && first != "thinking" && first != "redacted_thinking" {
            return bad(format!(
                "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns."
            ));
        }
    }
    Ok(())
}

pub(crate) fn failure(f: &Failure) -> Plain {
    match f {
        Failure::RateLimited { retry_after_secs } => error(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
        )
        .with_header("retry-after", retry_after_secs.to_string())
        .with_header("anthropic-ratelimit-requests-remaining", "0"),
        Failure::ServerError => error(500, "api_error", "Internal server error"),
        Failure::Overloaded => error(529, "overloaded_error", "Overloaded"),
        Failure::ContextOverflow(_) => error(
            400,
            "invalid_request_error",
            "prompt is too long: 212337 tokens > 200000 maximum",
        ),
        Failure::CloudflareBlock => cloudflare_page(),
    }
}

fn stop_reason(turn: &Turn) -> String {
    match &turn.finish_reason {
        Some(f) => f.clone(),
        None if turn.tool_calls.is_empty() => "end_turn".into(),
        None => "tool_use".into(),
    }
}

fn usage(u: Usage) -> Value {
    // Anthropic's input_tokens excludes cache reads and writes.
    json!({
        "input_tokens": u.input_tokens - u.cached_tokens.min(u.input_tokens),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": u.cached_tokens,
        "output_tokens": u.output_tokens,
    })
}

fn call_input(c: &ToolCall) -> Value {
    serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}))
}

/// A non-streamed message.
pub(crate) fn message(model: &str, turn: &Turn, id: &str, prompt_chars: usize) -> Value {
    let mut content = Vec::new();
    if let Some(r) = &turn.reasoning {
        content.push(json!({"type": "thinking", "thinking": r, "signature": sign(r)}));
    }
    if let Some(d) = &turn.redacted_thinking {
        content.push(json!({"type": "redacted_thinking", "data": d}));
    }
    if let Some(t) = &turn.text {
        content.push(json!({"type": "text", "text": t}));
    }
    for c in &turn.tool_calls {
        content
            .push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": call_input(c)}));
    }
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason(turn), "stop_sequence": null,
        "usage": usage(turn.usage_or_derived(prompt_chars)),
    })
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The SSE events of a streamed message.
pub(crate) fn stream(model: &str, turn: &Turn, id: &str, prompt_chars: usize) -> Vec<String> {
    let u = turn.usage_or_derived(prompt_chars);
    let mut start_usage = usage(u);
    start_usage["output_tokens"] = json!(1);
    let mut out = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
    )];
    out.push(event("ping", json!({"type": "ping"})));
    let size = turn.chunk();
    let mut index = 0u32;
    let mut block = |out: &mut Vec<String>, start: Value, deltas: Vec<Value>| {
        out.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for d in deltas {
            out.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": d}),
            ));
        }
        out.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    };
    if let Some(r) = &turn.reasoning {
        let mut deltas: Vec<Value> = fragments(r, size)
            .into_iter()
            .map(|p| json!({"type": "thinking_delta", "thinking": p}))
            .collect();
        deltas.push(json!({"type": "signature_delta", "signature": sign(r)}));
        block(
            &mut out,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            deltas,
        );
    }
    if let Some(d) = &turn.redacted_thinking {
        block(
            &mut out,
            json!({"type": "redacted_thinking", "data": d}),
            Vec::new(),
        );
    }
    if let Some(t) = &turn.text {
        let deltas = fragments(t, size)
            .into_iter()
            .map(|p| json!({"type": "text_delta", "text": p}))
            .collect();
        block(&mut out, json!({"type": "text", "text": ""}), deltas);
    }
    for c in &turn.tool_calls {
        // The first input_json_delta is often empty, as the real stream does.
        let mut deltas = vec![json!({"type": "input_json_delta", "partial_json": ""})];
        deltas.extend(
            fragments(&c.arguments, size)
                .into_iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p})),
        );
        block(
            &mut out,
            json!({"type": "tool_use", "id": c.id, "name": c.name, "input": {}}),
            deltas,
        );
    }
    out.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(turn), "stop_sequence": null},
               "usage": usage(u)}),
    ));
    out.push(event("message_stop", json!({"type": "message_stop"})));
    out
}

/// The mid-stream error event Anthropic sends when it is overloaded.
pub(crate) fn stream_error() -> String {
    event(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
}

/// `GET /v1/models` in Anthropic's shape.
pub(crate) fn models(models: &[String]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(|m| json!({"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}))
        .collect();
    json!({"data": data, "has_more": false, "first_id": models.first(), "last_id": models.last()})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/v1/messages".into(),
            headers: vec![
                ("x-api-key".into(), "k".into()),
                ("anthropic-version".into(), "2023-06-01".into()),
            ],
            body,
        }
    }

    #[test]
    fn lost_signed_thinking_is_refused() {
        let sig = sign("plan");
        let with = json!({"model": "claude", "max_tokens": 4096, "thinking": {"type": "adaptive"}, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "plan", "signature": sig},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}
        ]});
        let rules = StrictRules::default();
        assert!(validate(Some("k"), &rules, &req(with.clone())).is_ok());
        let mut lost = with.clone();
        lost["messages"][1]["content"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        let err = validate(Some("k"), &rules, &req(lost)).unwrap_err();
        assert!(err.body.contains("Expected `thinking`"), "{}", err.body);
        let mut edited = with;
        edited["messages"][1]["content"][0]["thinking"] = json!("plan!");
        let err = validate(Some("k"), &rules, &req(edited)).unwrap_err();
        assert!(err.body.contains("signature"), "{}", err.body);
    }

    #[test]
    fn results_must_come_first_and_answer_every_use() {
        let body = json!({"model": "c", "max_tokens": 10, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}
        ]});
        assert!(validate(Some("k"), &StrictRules::default(), &req(body)).is_err());
    }

    #[test]
    fn stream_carries_signature_delta() {
        let turn = Turn {
            reasoning: Some("think".into()),
            text: Some("hi".into()),
            ..Turn::default()
        };
        let all = stream("c", &turn, "msg_1", 10).concat();
        assert!(all.contains("signature_delta") && all.contains(&sign("think")));
        assert!(all.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }
}
