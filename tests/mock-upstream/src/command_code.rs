//! Command Code's CLI route (`POST …/alpha/generate`): the envelope, its rules, and the NDJSON
//! stream of AI-SDK parts. Plus `GET …/provider/v1/models`.
//!
//! Rules enforced (the ones its public clients document): Bearer key, the
//! `x-command-code-version` header, every top-level envelope field present, roles
//! `user`/`assistant`/`tool` only, no empty user message, no reasoning parts sent back, every
//! `tool-call` answered by a `tool-result` and the other way round, `max_tokens` ≤ 64000.

use serde_json::{Value, json};

use crate::script::{Failure, Plain, Turn, Usage, cloudflare_page, fragments};
use crate::{RecordedRequest, StrictRules};

const ENVELOPE: &[&str] = &[
    "config",
    "memory",
    "taste",
    "skills",
    "permissionMode",
    "params",
    "threadId",
];

pub(crate) fn error(status: u16, code: &str, message: &str) -> Plain {
    Plain::json(status, json!({"error": {"code": code, "message": message}}))
}

pub(crate) fn validate(
    api_key: Option<&str>,
    _rules: &StrictRules,
    req: &RecordedRequest,
) -> Result<(), Plain> {
    if let Some(key) = api_key
        && req.header("authorization") != Some(format!("Bearer {key}").as_str())
    {
        return Err(error(401, "unauthorized", "Invalid API key"));
    }
    if req.header("x-command-code-version").is_none() {
        return Err(error(
            403,
            "cli_version_required",
            "Please update Command Code to the latest version",
        ));
    }
    let bad = |m: String| Err(error(400, "bad_request", &m));
    let body = &req.body;
    for f in ENVELOPE {
        if body.get(*f).is_none() {
            return bad(format!("Invalid request body: `{f}` is required"));
        }
    }
    let params = &body["params"];
    if params.get("model").and_then(Value::as_str).is_none() {
        return bad("Invalid request body: `params.model` is required".into());
    }
    if params
        .get("max_tokens")
        .and_then(Value::as_u64)
        .is_some_and(|m| m > 64_000)
    {
        return bad("max_tokens must be less than or equal to 64000".into());
    }
    let Some(messages) = params.get("messages").and_then(Value::as_array) else {
        return bad("Invalid request body: `params.messages` is required".into());
    };
    let mut open: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let parts = m.get("content").and_then(Value::as_array);
        match role {
            "user" => {
                if !open.is_empty() {
                    return bad(format!(
                        "Tool call(s) without result before message {i}: {}",
                        open.join(", ")
                    ));
                }
                let empty = match m.get("content") {
                    Some(Value::String(s)) => s.is_empty(),
                    Some(Value::Array(a)) => a.is_empty(),
                    _ => true,
                };
                if empty {
                    return bad(format!(
                        "messages[{i}]: user message content must not be empty"
                    ));
                }
            }
            "assistant" => {
                if !open.is_empty() {
                    return bad(format!(
                        "Tool call(s) without result before message {i}: {}",
                        open.join(", ")
                    ));
                }
                for p in parts.into_iter().flatten() {
                    match p.get("type").and_then(Value::as_str) {
                        Some("reasoning") => {
                            return bad(format!(
                                "messages[{i}]: reasoning parts cannot be sent back to the model"
                            ));
                        }
                        Some("tool-call") => {
                            let id = p
                                .get("toolCallId")
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            if !p.get("input").is_some_and(Value::is_object) {
                                return bad(format!(
                                    "messages[{i}]: tool-call input must be an object"
                                ));
                            }
                            open.push(id.to_owned());
                        }
                        _ => {}
                    }
                }
            }
            "tool" => {
                for p in parts.into_iter().flatten() {
                    let id = p
                        .get("toolCallId")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let Some(pos) = open.iter().position(|o| o == id) else {
                        return bad(format!(
                            "messages[{i}]: tool-result for unknown tool call {id}"
                        ));
                    };
                    open.remove(pos);
                    let ok = p.pointer("/output/type").and_then(Value::as_str).is_some()
                        && p.pointer("/output/value").is_some();
                    if !ok {
                        return bad(format!(
                            "messages[{i}]: tool-result output must be {{type, value}}"
                        ));
                    }
                }
            }
            other => {
                return bad(format!("messages[{i}]: invalid role `{other}`"));
            }
        }
    }
    if !open.is_empty() {
        return bad(format!(
            "Tool call(s) without result at the end of the conversation: {}",
            open.join(", ")
        ));
    }
    Ok(())
}

pub(crate) fn failure(f: &Failure) -> Plain {
    match f {
        Failure::RateLimited { retry_after_secs } => {
            error(429, "rate_limited", "Too many requests, please slow down")
                .with_header("retry-after", retry_after_secs.to_string())
        }
        Failure::ServerError => error(500, "internal_error", "Something went wrong"),
        Failure::Overloaded => error(
            503,
            "provider_unavailable",
            "The model provider is overloaded",
        ),
        Failure::ContextOverflow(_) => error(
            400,
            "bad_request",
            "Input is too long for the requested model (context length 262144)",
        ),
        Failure::CloudflareBlock => cloudflare_page(),
    }
}

fn usage(u: Usage) -> Value {
    // AI SDK naming: inputTokens includes the cached tokens.
    json!({
        "inputTokens": u.input_tokens,
        "outputTokens": u.output_tokens,
        "totalTokens": u.input_tokens + u.output_tokens,
        "inputTokenDetails": {"noCacheTokens": u.input_tokens - u.cached_tokens.min(u.input_tokens),
            "cacheReadTokens": u.cached_tokens, "cacheWriteTokens": 0},
        "outputTokenDetails": {"reasoningTokens": u.reasoning_tokens},
    })
}

/// The NDJSON lines of one generation.
pub(crate) fn stream(turn: &Turn, prompt_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = |v: Value| out.push(format!("{v}\n"));
    let size = turn.chunk();
    line(json!({"type": "start"}));
    line(json!({"type": "start-step", "request": {}, "warnings": []}));
    if let Some(r) = &turn.reasoning {
        line(json!({"type": "reasoning-start", "id": "reasoning-0"}));
        for p in fragments(r, size) {
            line(json!({"type": "reasoning-delta", "id": "reasoning-0", "text": p}));
        }
        // The service sometimes leaves reasoning open; close it only when nothing follows.
        if turn.text.is_none() && turn.tool_calls.is_empty() {
            line(json!({"type": "reasoning-end", "id": "reasoning-0"}));
        }
    }
    if let Some(t) = &turn.text {
        line(json!({"type": "text-start", "id": "txt-0"}));
        for p in fragments(t, size) {
            line(json!({"type": "text-delta", "id": "txt-0", "text": p}));
        }
        line(json!({"type": "text-end", "id": "txt-0"}));
    }
    for c in &turn.tool_calls {
        line(json!({"type": "tool-input-start", "id": c.id, "toolName": c.name}));
        for p in fragments(&c.arguments, size) {
            line(json!({"type": "tool-input-delta", "id": c.id, "delta": p}));
        }
        line(json!({"type": "tool-input-end", "id": c.id}));
        let input: Value = serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
        line(json!({"type": "tool-call", "toolCallId": c.id, "toolName": c.name, "input": input}));
    }
    let (reason, raw) = match turn.finish_reason.as_deref() {
        // The gateway's way of saying the model provider failed after partial output (pig's
        // contracts): an AI SDK `error` finish whose raw reason names the failure.
        Some(raw @ ("network_error" | "connection_error" | "upstream_error")) => {
            ("error".to_owned(), raw.to_owned())
        }
        Some(f) => (f.to_owned(), f.replace('-', "_")),
        None if turn.tool_calls.is_empty() => ("stop".into(), "stop".into()),
        None => ("tool-calls".into(), "tool_calls".into()),
    };
    let u = usage(turn.usage_or_derived(prompt_chars));
    line(json!({"type": "finish-step", "finishReason": reason, "usage": u}));
    line(
        json!({"type": "finish", "finishReason": reason, "rawFinishReason": raw, "totalUsage": u}),
    );
    out
}

/// The terminal part of a generation cancelled upstream.
pub(crate) fn abort() -> String {
    format!("{}\n", json!({"type": "abort"}))
}

pub(crate) fn stream_error() -> String {
    format!(
        "{}\n",
        json!({"type": "error", "error": {"message": "Provider returned error: upstream overloaded"}})
    )
}

/// `GET …/provider/v1/models`.
pub(crate) fn models(models: &[String]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(|m| {
            json!({"id": m, "name": m, "context_length": 262_144,
            "supported_endpoints": ["/v1/chat/completions"]})
        })
        .collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_history_is_refused() {
        let req = RecordedRequest {
            method: "POST".into(),
            path: "/alpha/generate".into(),
            headers: vec![("x-command-code-version".into(), "1.0".into())],
            body: json!({"config": {}, "memory": null, "taste": null, "skills": null,
                "permissionMode": "standard", "threadId": "t", "params": {"model": "m", "messages": [
                {"role": "user", "content": [{"type": "text", "text": "x"}]},
                {"role": "assistant", "content": [{"type": "reasoning", "text": "hmm"}]}]}}),
        };
        let err = validate(None, &StrictRules::default(), &req).unwrap_err();
        assert!(err.body.contains("reasoning"));
    }

    #[test]
    fn raw_failure_reasons_finish_with_error() {
        let turn = Turn {
            text: Some("partial".into()),
            finish_reason: Some("network_error".into()),
            ..Turn::default()
        };
        let lines = stream(&turn, 10);
        let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert_eq!(
            (&last["finishReason"], &last["rawFinishReason"]),
            (&json!("error"), &json!("network_error"))
        );
        let abort: Value = serde_json::from_str(&abort()).unwrap();
        assert_eq!(abort, json!({"type": "abort"}));
    }

    #[test]
    fn stream_ends_with_finish() {
        let turn = Turn {
            text: Some("hello".into()),
            ..Turn::default()
        };
        let lines = stream(&turn, 10);
        let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert_eq!(last["type"], "finish");
        assert!(last["totalUsage"]["inputTokens"].is_u64());
    }
}
