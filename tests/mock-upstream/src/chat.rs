//! The Chat Completions wire (`POST …/chat/completions`), in the dialect of one [`Flavor`].
//!
//! Streams are shaped like the real providers': the first chunk carries `role`, tool calls
//! open with `id` + `name` + empty arguments and continue with argument fragments keyed only
//! by `index` (parallel calls interleaved), a finishing chunk with an empty delta, usage as a
//! trailing chunk with empty `choices` (or inside the choice for Kimi), then `[DONE]`.

use serde_json::{Map, Value, json};

use crate::script::{Failure, Flavor, Plain, ToolCall, Turn, Usage, cloudflare_page, fragments};
use crate::{StrictRules, unix_now};

/// Why a request was refused, in the provider's words.
pub(crate) fn validate(flavor: Flavor, rules: &StrictRules, body: &Value) -> Result<(), Plain> {
    let bad = |msg: String| Err(error(flavor, 400, &msg, "invalid_request_error", None));
    let Some(obj) = body.as_object() else {
        return bad("We could not parse the JSON body of your request.".into());
    };
    for field in &rules.reject_fields {
        if obj.contains_key(field) {
            // NVIDIA NIM's schema is additionalProperties:false.
            return Err(error(
                flavor,
                422,
                &format!(
                    "[{{'type': 'extra_forbidden', 'loc': ('body', '{field}'), 'msg': 'Extra inputs are not permitted'}}]"
                ),
                "invalid_request_error",
                None,
            ));
        }
    }
    if obj
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return bad("you must provide a model parameter".into());
    }
    if rules.reject_tool_schemas {
        let model = obj.get("model").and_then(Value::as_str).unwrap_or_default();
        let tools = obj.get("tools").and_then(Value::as_array);
        for (i, tool) in tools.into_iter().flatten().enumerate() {
            tool_schema_refusal(flavor, model, i, tool)?;
        }
    }
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return bad("'messages' is a required property".into());
    };
    if messages.is_empty() {
        return bad("'messages' must contain at least one message".into());
    }
    let mut open_calls: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if !matches!(role, "system" | "developer" | "user" | "assistant" | "tool") {
            return bad(format!("Invalid value for 'messages[{i}].role': '{role}'"));
        }
        if rules.reject_roles.iter().any(|r| r == role) {
            return bad(format!(
                "Invalid value for 'messages[{i}].role': role '{role}' is not supported by this model"
            ));
        }
        if role != "tool" && !open_calls.is_empty() && rules.reject_orphan_tool_messages {
            return bad(format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                open_calls.join(", ")
            ));
        }
        match role {
            "assistant" => {
                let calls = m.get("tool_calls").and_then(Value::as_array);
                if let Some(calls) = calls {
                    if rules.require_reasoning_passback
                        && !calls.is_empty()
                        && m.get("reasoning_content").and_then(Value::as_str).is_none()
                    {
                        // DeepSeek's wording (thinking mode, tool-call turns).
                        return bad(format!(
                            "Missing `reasoning_content` field in the assistant message at message index {i}. The reasoning_content in the thinking mode must be passed back to the API."
                        ));
                    }
                    for c in calls {
                        let id = c.get("id").and_then(Value::as_str).unwrap_or_default();
                        let args = c
                            .pointer("/function/arguments")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if id.is_empty() {
                            return bad(format!("messages[{i}].tool_calls: missing id"));
                        }
                        if serde_json::from_str::<Value>(args).is_err() {
                            return bad(format!(
                                "messages[{i}].tool_calls: function.arguments must be valid JSON"
                            ));
                        }
                        open_calls.push(id.to_owned());
                    }
                }
            }
            "tool" => {
                let id = m
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match open_calls.iter().position(|c| c == id) {
                    Some(p) => {
                        open_calls.remove(p);
                    }
                    None if rules.reject_orphan_tool_messages => {
                        return bad(format!(
                            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (messages[{i}], tool_call_id '{id}')."
                        ));
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A strict schema host's refusal of one tool declaration, in that host's words.
fn tool_schema_refusal(flavor: Flavor, model: &str, i: usize, tool: &Value) -> Result<(), Plain> {
    let name = tool
        .pointer("/function/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = tool.pointer("/function/parameters").unwrap_or(&Value::Null);
    let gemini = flavor == Flavor::OpenRouter && model.starts_with("google/");
    // ^[a-zA-Z0-9_-]{1,64}$ (OpenAI's `FunctionObject.name`, which the others copy); Gemini
    // also wants a letter or `_` first.
    let charset = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if !charset || (gemini && !first_ok) {
        return Err(if gemini {
            gemini_refusal(&format!(
                "* GenerateContentRequest.tools[0].function_declarations[{i}].name: Invalid \
                 function name. Must start with a letter or an underscore. Must be alphameric \
                 (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or dashes (-), with a \
                 maximum length of 64."
            ))
        } else {
            error(
                flavor,
                400,
                &format!(
                    "Invalid 'tools[{i}].function.name': string does not match pattern. \
                     Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
                ),
                "invalid_request_error",
                Some("invalid_value"),
            )
        });
    }
    let root_type = params.get("type").cloned().unwrap_or(Value::Null);
    if root_type != "object" {
        let msg = match flavor {
            Flavor::Kimi => moonshot_message("root", "root schema must be of type object"),
            _ => format!(
                "Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \
                 \"object\"', got 'type: {root_type}'."
            ),
        };
        return Err(error(flavor, 400, &msg, "invalid_request_error", None));
    }
    if flavor == Flavor::Kimi
        && let Some((path, why)) = moonshot_violation(params, "root")
    {
        return Err(error(
            flavor,
            400,
            &moonshot_message(&path, why),
            "invalid_request_error",
            None,
        ));
    }
    if gemini && let Some((path, key)) = gemini_unknown(params, "parameters") {
        return Err(gemini_refusal(&format!(
            "Invalid JSON payload received. Unknown name \"{key}\" at \
             'tools[0].function_declarations[{i}].{path}': Cannot find field."
        )));
    }
    Ok(())
}

/// Moonshot's validator wording ("… is not a valid moonshot flavored json schema, details:
/// <At path '…': …>", as its 400s quote it).
fn moonshot_message(path: &str, why: &str) -> String {
    format!(
        "Invalid request: tools.function.parameters is not a valid moonshot flavored json \
         schema, details: <At path '{path}': {why}>"
    )
}

/// The first node Moonshot's validator refuses: any `$ref` (kimi-k3 refuses even
/// `#/$defs/…` ones, anomalyco/opencode#39995, which does not quote the wording, so the last
/// message below is ours), `type` beside `anyOf`, tuple `items`; the other messages are the
/// validator's as its 400s quote them (see `daemon/translate/src/schema.rs`).
fn moonshot_violation(schema: &Value, path: &str) -> Option<(String, &'static str)> {
    let obj = schema.as_object()?;
    if let Some(r) = obj.get("$ref") {
        let why = if obj.contains_key("type") {
            "when using $ref, type should be defined in the referenced schema instead of the parent schema"
        } else if r.as_str().is_some_and(|r| !r.starts_with("#/$defs/")) {
            "references must start with #/$defs/"
        } else {
            "$ref is not supported"
        };
        return Some((format!("{path}.$ref"), why));
    }
    if obj.contains_key("type") && (obj.contains_key("anyOf") || obj.contains_key("oneOf")) {
        return Some((
            path.to_owned(),
            "when using anyOf, type should be defined in anyOf items instead of the parent schema",
        ));
    }
    if obj.get("items").is_some_and(Value::is_array) {
        return Some((format!("{path}.items"), "items must be a schema object"));
    }
    sub_schemas(obj, path)
        .into_iter()
        .find_map(|(p, s)| moonshot_violation(s, &p))
}

/// The first field outside Gemini's `Schema` object.
fn gemini_unknown(schema: &Value, path: &str) -> Option<(String, String)> {
    const KNOWN: &[&str] = &[
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    ];
    let obj = schema.as_object()?;
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        // Gemini reports `$ref` as "ref" (decolua/9router#1036).
        return Some((path.to_owned(), k.trim_start_matches('$').to_owned()));
    }
    sub_schemas(obj, path)
        .into_iter()
        .find_map(|(p, s)| gemini_unknown(s, &p))
}

/// The schemas directly below one node, with their paths.
fn sub_schemas<'a>(obj: &'a Map<String, Value>, path: &str) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("properties" | "$defs" | "definitions", Value::Object(m)) => {
                out.extend(m.iter().map(|(n, s)| (format!("{path}.{k}.{n}"), s)));
            }
            ("anyOf" | "oneOf" | "allOf", Value::Array(a)) => {
                out.extend(
                    a.iter()
                        .enumerate()
                        .map(|(j, s)| (format!("{path}.{k}[{j}]"), s)),
                );
            }
            ("items" | "additionalProperties" | "not", Value::Object(_)) => {
                out.push((format!("{path}.{k}"), v));
            }
            _ => {}
        }
    }
    out
}

/// Gemini's 400 as OpenRouter passes it on: "Provider returned error" with the raw body.
fn gemini_refusal(message: &str) -> Plain {
    let raw = json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}});
    Plain::json(
        400,
        json!({"error": {"message": "Provider returned error", "code": 400,
            "metadata": {"raw": raw.to_string(), "provider_name": "Google AI Studio"}}}),
    )
}

/// An error in the flavor's body shape.
pub(crate) fn error(
    flavor: Flavor,
    status: u16,
    message: &str,
    kind: &str,
    code: Option<&str>,
) -> Plain {
    let body = match flavor {
        // Z.AI answers with a numeric string code and no type.
        Flavor::Glm => json!({"error": {"code": code.unwrap_or("1214"), "message": message}}),
        // OpenRouter wraps provider errors with a numeric code and metadata.
        Flavor::OpenRouter => {
            json!({"error": {"code": status, "message": message, "metadata": {"provider_name": "Mock"}}})
        }
        _ => json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    };
    Plain::json(status, body)
}

/// The HTTP answer for a scripted failure.
pub(crate) fn failure(flavor: Flavor, f: &Failure) -> Plain {
    match f {
        Failure::RateLimited { retry_after_secs } => error(
            flavor,
            429,
            "Rate limit reached for requests. Please try again later.",
            "rate_limit_error",
            Some("rate_limit_exceeded"),
        )
        .with_header("retry-after", retry_after_secs.to_string()),
        Failure::ServerError => error(
            flavor,
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        Failure::Overloaded => error(
            flavor,
            503,
            "The engine is currently overloaded, please try again later",
            "server_error",
            Some("overloaded"),
        ),
        Failure::ContextOverflow(f) => context_overflow(*f),
        Failure::CloudflareBlock => cloudflare_page(),
    }
}

/// Each provider's wording for a prompt that does not fit.
fn context_overflow(flavor: Flavor) -> Plain {
    match flavor {
        Flavor::OpenAi => error(
            flavor,
            400,
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            Some("context_length_exceeded"),
        ),
        Flavor::DeepSeek => error(
            flavor,
            400,
            "This model's maximum context length is 131072 tokens. However, you requested 140213 tokens (132021 in the messages, 8192 in the completion). Please reduce the length of the messages or completion.",
            "invalid_request_error",
            Some("invalid_request_error"),
        ),
        Flavor::Kimi => error(
            flavor,
            400,
            "Invalid request: Your request exceeded model token limit: 262144 (requested: 270011)",
            "invalid_request_error",
            None,
        ),
        Flavor::Glm => error(flavor, 400, "Prompt exceeds max length", "", Some("1261")),
        Flavor::OpenRouter => error(
            flavor,
            400,
            "This endpoint's maximum context length is 131072 tokens. However, you requested about 140000 tokens. Please reduce the length of either one, or use the \"middle-out\" transform to compress your prompt automatically.",
            "",
            None,
        ),
    }
}

/// What the request asked of the answer.
pub(crate) struct Ask {
    pub model: String,
    pub include_usage: bool,
    pub prompt_chars: usize,
}

impl Ask {
    pub(crate) fn of(body: &Value) -> Ask {
        Ask {
            model: body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("mock-model")
                .to_owned(),
            include_usage: body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            prompt_chars: body
                .get("messages")
                .map(|m| m.to_string().len())
                .unwrap_or(0),
        }
    }
}

fn finish_reason(turn: &Turn) -> String {
    match &turn.finish_reason {
        Some(f) => f.clone(),
        None if turn.tool_calls.is_empty() => "stop".into(),
        None => "tool_calls".into(),
    }
}

fn usage_json(flavor: Flavor, u: Usage) -> Value {
    let mut v = json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    });
    if flavor == Flavor::DeepSeek
        && let Some(o) = v.as_object_mut()
    {
        o.insert("prompt_cache_hit_tokens".into(), json!(u.cached_tokens));
        o.insert(
            "prompt_cache_miss_tokens".into(),
            json!(u.input_tokens - u.cached_tokens.min(u.input_tokens)),
        );
    }
    if flavor == Flavor::OpenRouter
        && let Some(o) = v.as_object_mut()
    {
        o.insert("cost".into(), json!(0.000_42));
    }
    v
}

fn reasoning_fields(flavor: Flavor, text: &str) -> Map<String, Value> {
    let mut m = Map::new();
    match flavor {
        // OpenAI's Chat Completions never shows reasoning text.
        Flavor::OpenAi => {}
        Flavor::OpenRouter => {
            m.insert("reasoning".into(), json!(text));
            m.insert(
                "reasoning_details".into(),
                json!([{"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}]),
            );
        }
        Flavor::DeepSeek | Flavor::Kimi | Flavor::Glm => {
            m.insert("reasoning_content".into(), json!(text));
        }
    }
    m
}

/// A non-streamed `chat.completion`.
pub(crate) fn completion(flavor: Flavor, ask: &Ask, turn: &Turn, id: &str) -> Value {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), json!(turn.text));
    if let Some(r) = &turn.reasoning {
        message.extend(reasoning_fields(flavor, r));
    }
    if !turn.tool_calls.is_empty() {
        let calls: Vec<Value> = turn
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": unix_now(),
        "model": ask.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(turn), "logprobs": null}],
        "usage": usage_json(flavor, turn.usage_or_derived(ask.prompt_chars)),
    })
}

/// The stream's events, each one SSE `data:` frame (comments included as their own frames).
pub(crate) fn stream(flavor: Flavor, ask: &Ask, turn: &Turn, id: &str) -> Vec<String> {
    let created = unix_now();
    let chunk = |delta: Value, finish: Option<&str>| -> Value {
        let mut c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": ask.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        });
        if flavor == Flavor::OpenRouter
            && let Some(o) = c.as_object_mut()
        {
            o.insert("provider".into(), json!("Mock"));
        }
        if flavor == Flavor::DeepSeek
            && let Some(o) = c.as_object_mut()
        {
            o.insert("system_fingerprint".into(), json!("fp_mock_prod0820"));
        }
        c
    };
    let mut frames: Vec<String> = Vec::new();
    if flavor == Flavor::OpenRouter {
        // OpenRouter keeps slow connections open with SSE comments before the first chunk.
        frames.push(": OPENROUTER PROCESSING\n\n".into());
    }
    let mut data = |v: Value| frames.push(format!("data: {v}\n\n"));
    let size = turn.chunk();
    data(chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        None,
    ));
    if let Some(r) = &turn.reasoning
        && flavor != Flavor::OpenAi
    {
        for piece in fragments(r, size) {
            let mut delta = reasoning_fields(flavor, &piece);
            delta.insert("content".into(), Value::Null);
            data(chunk(Value::Object(delta), None));
        }
    }
    if let Some(t) = &turn.text {
        for piece in fragments(t, size) {
            data(chunk(json!({"content": piece}), None));
        }
    }
    tool_call_chunks(flavor, &turn.tool_calls, size, &mut |delta| {
        data(chunk(delta, None))
    });
    let usage = usage_json(flavor, turn.usage_or_derived(ask.prompt_chars));
    let mut last = chunk(json!({}), Some(&finish_reason(turn)));
    match flavor {
        // Kimi puts usage in the finishing choice and sends no usage chunk.
        Flavor::Kimi => {
            if let Some(c) = last
                .pointer_mut("/choices/0")
                .and_then(Value::as_object_mut)
            {
                c.insert("usage".into(), usage);
            }
            data(last);
        }
        _ => {
            if flavor == Flavor::OpenRouter
                && let Some(c) = last
                    .pointer_mut("/choices/0")
                    .and_then(Value::as_object_mut)
            {
                c.insert("native_finish_reason".into(), json!(finish_reason(turn)));
            }
            data(last);
            if ask.include_usage || flavor == Flavor::OpenRouter {
                let mut u = chunk(json!({}), None);
                if let Some(o) = u.as_object_mut() {
                    o.insert("choices".into(), json!([]));
                    o.insert("usage".into(), usage);
                }
                data(u);
            }
        }
    }
    frames.push("data: [DONE]\n\n".into());
    frames
}

/// Tool-call deltas: every call opens (id, name, empty arguments), then the argument
/// fragments of all calls interleave, keyed by `index` only. GLM sends each call whole.
fn tool_call_chunks(flavor: Flavor, calls: &[ToolCall], size: usize, emit: &mut impl FnMut(Value)) {
    if calls.is_empty() {
        return;
    }
    if flavor == Flavor::Glm {
        for (i, c) in calls.iter().enumerate() {
            emit(
                json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": c.arguments}}]}),
            );
        }
        return;
    }
    for (i, c) in calls.iter().enumerate() {
        emit(
            json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
            "function": {"name": c.name, "arguments": ""}}]}),
        );
    }
    let pieces: Vec<Vec<String>> = calls
        .iter()
        .map(|c| fragments(&c.arguments, size))
        .collect();
    let longest = pieces.iter().map(Vec::len).max().unwrap_or(0);
    for step in 0..longest {
        for (i, p) in pieces.iter().enumerate() {
            if let Some(piece) = p.get(step) {
                emit(json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}));
            }
        }
    }
}

/// An OpenAI-style error object sent as a stream chunk, as several providers do mid-stream.
pub(crate) fn stream_error(flavor: Flavor) -> String {
    let body = error(
        flavor,
        500,
        "upstream model error: the model stopped unexpectedly",
        "server_error",
        Some("server_error"),
    );
    format!("data: {}\n\n", body.body)
}

/// `GET …/models`.
pub(crate) fn models(flavor: Flavor, models: &[String]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(|m| match flavor {
            Flavor::OpenRouter => {
                json!({"id": m, "name": m, "created": 1_750_000_000, "context_length": 131_072,
                "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
                "supported_parameters": ["tools", "tool_choice", "reasoning", "max_tokens"],
                "pricing": {"prompt": "0.0000003", "completion": "0.0000012"}})
            }
            _ => json!({"id": m, "object": "model", "created": 1_750_000_000, "owned_by": "mock"}),
        })
        .collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Reply;

    fn ask(include_usage: bool) -> Ask {
        Ask {
            model: "m".into(),
            include_usage,
            prompt_chars: 40,
        }
    }

    fn chunks(frames: &[String]) -> Vec<Value> {
        frames
            .iter()
            .filter_map(|f| f.strip_prefix("data: "))
            .filter(|d| !d.starts_with("[DONE]"))
            .map(|d| serde_json::from_str(d.trim()).unwrap())
            .collect()
    }

    #[test]
    fn parallel_calls_interleave_by_index() {
        let Reply::Turn(turn) = Reply::tool_calls(vec![
            ToolCall {
                id: "a".into(),
                name: "f".into(),
                arguments: r#"{"x":"0123456789"}"#.into(),
            },
            ToolCall {
                id: "b".into(),
                name: "g".into(),
                arguments: r#"{"y":"abcdefghij"}"#.into(),
            },
        ]) else {
            unreachable!()
        };
        let frames = stream(Flavor::OpenAi, &ask(true), &turn, "chatcmpl-1");
        let cs = chunks(&frames);
        assert_eq!(cs[0]["choices"][0]["delta"]["role"], "assistant");
        let deltas: Vec<&Value> = cs
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
            .collect();
        assert_eq!(deltas[0]["id"], "a");
        assert_eq!(deltas[1]["id"], "b");
        assert!(deltas[2].get("id").is_none() && deltas[2]["index"] == 0);
        assert_eq!(deltas[3]["index"], 1);
        let last = cs.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert!(last["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
        assert_eq!(frames.last().unwrap(), "data: [DONE]\n\n");
    }

    #[test]
    fn kimi_usage_rides_in_the_choice() {
        let turn = Turn {
            text: Some("hi".into()),
            ..Turn::default()
        };
        let cs = chunks(&stream(Flavor::Kimi, &ask(true), &turn, "x"));
        let last = cs.last().unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert!(last["choices"][0]["usage"]["total_tokens"].is_u64());
    }

    #[test]
    fn deepseek_requires_reasoning_on_tool_turns() {
        let rules = StrictRules {
            require_reasoning_passback: true,
            ..StrictRules::default()
        };
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"}
        ]});
        let err = validate(Flavor::DeepSeek, &rules, &body).unwrap_err();
        assert!(err.body.contains("reasoning_content"), "{}", err.body);
        let mut ok = body.clone();
        ok["messages"][1]["reasoning_content"] = json!("");
        assert!(validate(Flavor::DeepSeek, &rules, &ok).is_ok());
    }

    #[test]
    fn strict_schema_hosts_refuse_what_their_docs_say() {
        let rules = StrictRules {
            reject_tool_schemas: true,
            ..StrictRules::default()
        };
        let body = |model: &str, name: &str, params: Value| {
            json!({"model": model, "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function", "function": {"name": name, "parameters": params}}]})
        };
        let tidy = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        for flavor in [Flavor::OpenAi, Flavor::Kimi, Flavor::OpenRouter] {
            assert!(
                validate(
                    flavor,
                    &rules,
                    &body("google/gemini-2.5-pro", "f", tidy.clone())
                )
                .is_ok()
            );
        }
        let with_ref = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}},
            "$defs": {"A": {"type": "string"}}});
        let err = validate(
            Flavor::Kimi,
            &rules,
            &body("kimi-k3", "f", with_ref.clone()),
        )
        .unwrap_err();
        assert!(
            err.body.contains("moonshot flavored json schema"),
            "{}",
            err.body
        );
        assert!(err.body.contains("root.properties.a.$ref"), "{}", err.body);
        let any_root = json!({"type": "object", "anyOf": [{"required": ["a"]}]});
        let err = validate(Flavor::Kimi, &rules, &body("kimi-k3", "f", any_root)).unwrap_err();
        assert!(
            err.body.contains("instead of the parent schema"),
            "{}",
            err.body
        );
        let err = validate(
            Flavor::OpenRouter,
            &rules,
            &body("google/gemini-2.5-pro", "f", with_ref),
        )
        .unwrap_err();
        assert!(err.body.contains("Unknown name"), "{}", err.body);
        let err = validate(
            Flavor::OpenAi,
            &rules,
            &body("gpt-5", "a.b/c", tidy.clone()),
        )
        .unwrap_err();
        assert!(err.body.contains("does not match pattern"), "{}", err.body);
        let err = validate(
            Flavor::OpenRouter,
            &rules,
            &body("google/gemini-2.5-pro", "1p", tidy.clone()),
        )
        .unwrap_err();
        assert!(
            err.body.contains("Must start with a letter"),
            "{}",
            err.body
        );
        let err = validate(
            Flavor::OpenAi,
            &rules,
            &body("gpt-5", "f", json!({"anyOf": []})),
        )
        .unwrap_err();
        assert!(err.body.contains("type: \\\"object\\\""), "{}", err.body);
        // Off by default: the same schemas pass.
        let off = StrictRules::default();
        assert!(
            validate(
                Flavor::Kimi,
                &off,
                &body("kimi-k3", "a.b/c", json!({"$ref": "#/x"}))
            )
            .is_ok()
        );
    }

    #[test]
    fn orphan_tool_messages_are_refused() {
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "x"},
            {"role": "tool", "tool_call_id": "nope", "content": "ok"}
        ]});
        assert!(validate(Flavor::OpenAi, &StrictRules::default(), &body).is_err());
        let unanswered = json!({"model": "m", "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "y"}
        ]});
        assert!(validate(Flavor::OpenAi, &StrictRules::default(), &unanswered).is_err());
    }
}
