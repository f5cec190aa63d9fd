//! A Responses-native upstream (`POST …/responses`), as OpenAI, Groq, Ollama or OpenRouter's
//! beta serve it: typed SSE events with sequence numbers, stateless (no stored responses).
//!
//! Calls to tools the request declared as `custom` (Codex's freeform `apply_patch`) come back
//! as `custom_tool_call` items with raw `input`, as OpenAI streams them. With
//! [`StrictRules::require_reasoning_passback`] the mock enforces OpenAI's stateless reasoning
//! rule: a call item that was produced together with a reasoning item must be sent back with
//! that item, carrying the `encrypted_content` the mock issued (nothing is stored server-side
//! under `store: false`, so an id alone cannot be resolved).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::StrictRules;
use crate::script::{Failure, Flavor, Plain, Turn, Usage, fragments};
use crate::unix_now;

pub(crate) fn validate(
    body: &Value,
    rules: &StrictRules,
    links: &HashMap<String, String>,
) -> Result<(), String> {
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("Missing required parameter: 'model'.".into());
    }
    let Some(input) = body.get("input") else {
        return Err("Missing required parameter: 'input'.".into());
    };
    if body
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
    {
        return Err("Previous response with id not found (this server stores nothing).".into());
    }
    if rules.require_reasoning_passback
        && let Some(items) = input.as_array()
    {
        check_reasoning_passback(items, links)?;
    }
    Ok(())
}

/// OpenAI's wording for each way a stateless client can break the reasoning round trip.
fn check_reasoning_passback(
    items: &[Value],
    links: &HashMap<String, String>,
) -> Result<(), String> {
    let mut seen_reasoning: Vec<&str> = Vec::new();
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        match item.get("type").and_then(Value::as_str) {
            Some("reasoning") => {
                let enc = item.get("encrypted_content").and_then(Value::as_str);
                let Some(enc) = enc else {
                    return Err(format!(
                        "Item with id '{id}' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from the input."
                    ));
                };
                if enc != encrypted_content(&summary_text(item)) {
                    return Err(format!(
                        "The encrypted content for item {id} could not be verified."
                    ));
                }
                seen_reasoning.push(id);
            }
            Some(kind @ ("function_call" | "custom_tool_call")) => {
                if let Some(required) = links.get(id)
                    && !seen_reasoning.contains(&required.as_str())
                {
                    return Err(format!(
                        "Item '{id}' of type '{kind}' was provided without its required 'reasoning' item: '{required}'."
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn summary_text(item: &Value) -> String {
    item.get("summary")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}

/// What the mock hands out as `encrypted_content` for a reasoning text (and checks on return).
fn encrypted_content(reasoning: &str) -> String {
    format!("enc:{reasoning}")
}

/// HTTP failures in OpenAI's shapes, whatever Chat dialect the mock is configured with.
pub(crate) fn failure(f: &Failure) -> Plain {
    match f {
        // OpenAI's Responses API names an overloaded model with its own code (Codex treats it
        // as "Selected model is at capacity").
        Failure::Overloaded => crate::chat::error(
            Flavor::OpenAi,
            503,
            "The server is overloaded. Please try again later.",
            "server_error",
            Some("server_is_overloaded"),
        ),
        other => crate::chat::failure(Flavor::OpenAi, other),
    }
}

/// Names of the tools the request declared as freeform (`type: custom`).
pub(crate) fn custom_tools(body: &Value) -> Vec<String> {
    body.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("custom"))
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Output indexes of a turn's items, in the order `stream` emits them: reasoning, then the
/// text message, then the calls.
struct Layout {
    reasoning: Option<usize>,
    calls: Vec<usize>,
}

impl Layout {
    fn of(turn: &Turn) -> Layout {
        let mut n = 0;
        let mut next = || {
            n += 1;
            n - 1
        };
        let reasoning = turn.reasoning.is_some().then(&mut next);
        if turn.text.is_some() {
            next();
        }
        let calls = turn.tool_calls.iter().map(|_| next()).collect();
        Layout { reasoning, calls }
    }
}

fn mock_item_id(prefix: &str, response_id: &str, index: usize) -> String {
    format!("{prefix}_{response_id}_{index}")
}

fn call_prefix(is_custom: bool) -> &'static str {
    if is_custom { "ctc" } else { "fc" }
}

/// Call item id → the reasoning item it must come back with, for a turn the mock streamed.
pub(crate) fn reasoning_links(
    turn: &Turn,
    response_id: &str,
    body: &Value,
) -> Vec<(String, String)> {
    let layout = Layout::of(turn);
    let Some(r) = layout.reasoning else {
        return Vec::new();
    };
    let custom = custom_tools(body);
    turn.tool_calls
        .iter()
        .zip(&layout.calls)
        .map(|(c, idx)| {
            (
                mock_item_id(call_prefix(custom.contains(&c.name)), response_id, *idx),
                mock_item_id("rs", response_id, r),
            )
        })
        .collect()
}

/// The raw text of a freeform call: scripts give arguments as the JSON a function-lowering
/// proxy sees (`{"input": "…"}`); a native Responses model emits the bare input.
fn custom_input(arguments: &str) -> String {
    serde_json::from_str::<Value>(arguments)
        .ok()
        .and_then(|v| v.get("input").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| arguments.to_owned())
}

fn usage(u: Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

struct Seq {
    n: u64,
    out: Vec<String>,
}

impl Seq {
    fn push(&mut self, ty: &str, mut data: Value) {
        if let Some(o) = data.as_object_mut() {
            o.insert("type".into(), json!(ty));
            o.insert("sequence_number".into(), json!(self.n));
        }
        self.n += 1;
        self.out.push(format!("event: {ty}\ndata: {data}\n\n"));
    }
}

/// The SSE events of a streamed response; `custom` names the request's freeform tools.
pub(crate) fn stream(
    model: &str,
    turn: &Turn,
    id: &str,
    prompt_chars: usize,
    custom: &[String],
) -> Vec<String> {
    let mut s = Seq {
        n: 0,
        out: Vec::new(),
    };
    let created = unix_now();
    let shell = |status: &str, output: Value, usage: Value| {
        json!({"id": id, "object": "response", "created_at": created, "status": status,
            "model": model, "output": output, "usage": usage, "error": null})
    };
    s.push(
        "response.created",
        json!({"response": shell("in_progress", json!([]), Value::Null)}),
    );
    s.push(
        "response.in_progress",
        json!({"response": shell("in_progress", json!([]), Value::Null)}),
    );
    let size = turn.chunk();
    let mut items = Vec::new();
    if let Some(r) = &turn.reasoning {
        let idx = items.len();
        let item_id = mock_item_id("rs", id, idx);
        s.push(
            "response.output_item.added",
            json!({"output_index": idx,
            "item": {"id": item_id, "type": "reasoning", "summary": []}}),
        );
        s.push(
            "response.reasoning_summary_part.added",
            json!({"item_id": item_id, "output_index": idx,
            "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
        );
        for p in fragments(r, size) {
            s.push(
                "response.reasoning_summary_text.delta",
                json!({"item_id": item_id,
                "output_index": idx, "summary_index": 0, "delta": p}),
            );
        }
        s.push(
            "response.reasoning_summary_text.done",
            json!({"item_id": item_id,
            "output_index": idx, "summary_index": 0, "text": r}),
        );
        s.push(
            "response.reasoning_summary_part.done",
            json!({"item_id": item_id, "output_index": idx,
            "summary_index": 0, "part": {"type": "summary_text", "text": r}}),
        );
        let item = json!({"id": item_id, "type": "reasoning",
            "summary": [{"type": "summary_text", "text": r}], "encrypted_content": encrypted_content(r)});
        s.push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        items.push(item);
    }
    if let Some(t) = &turn.text {
        let idx = items.len();
        let item_id = mock_item_id("msg", id, idx);
        s.push(
            "response.output_item.added",
            json!({"output_index": idx, "item": {"id": item_id,
            "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
        );
        s.push(
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": idx,
            "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        );
        for p in fragments(t, size) {
            s.push(
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": idx,
                "content_index": 0, "delta": p, "logprobs": []}),
            );
        }
        s.push(
            "response.output_text.done",
            json!({"item_id": item_id, "output_index": idx,
            "content_index": 0, "text": t, "logprobs": []}),
        );
        let part = json!({"type": "output_text", "text": t, "annotations": []});
        s.push(
            "response.content_part.done",
            json!({"item_id": item_id, "output_index": idx,
            "content_index": 0, "part": part}),
        );
        let item = json!({"id": item_id, "type": "message", "role": "assistant",
            "status": "completed", "content": [part]});
        s.push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        items.push(item);
    }
    for c in &turn.tool_calls {
        let idx = items.len();
        if custom.contains(&c.name) {
            let item_id = mock_item_id("ctc", id, idx);
            let input = custom_input(&c.arguments);
            s.push(
                "response.output_item.added",
                json!({"output_index": idx, "item": {"id": item_id,
                "type": "custom_tool_call", "status": "in_progress", "call_id": c.id,
                "name": c.name, "input": ""}}),
            );
            for p in fragments(&input, size) {
                s.push(
                    "response.custom_tool_call_input.delta",
                    json!({"item_id": item_id, "output_index": idx, "delta": p}),
                );
            }
            s.push(
                "response.custom_tool_call_input.done",
                json!({"item_id": item_id, "output_index": idx, "input": input}),
            );
            let item = json!({"id": item_id, "type": "custom_tool_call", "status": "completed",
                "call_id": c.id, "name": c.name, "input": input});
            s.push(
                "response.output_item.done",
                json!({"output_index": idx, "item": item}),
            );
            items.push(item);
            continue;
        }
        let item_id = mock_item_id("fc", id, idx);
        s.push(
            "response.output_item.added",
            json!({"output_index": idx, "item": {"id": item_id,
            "type": "function_call", "status": "in_progress", "call_id": c.id, "name": c.name,
            "arguments": ""}}),
        );
        for p in fragments(&c.arguments, size) {
            s.push(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id,
                "output_index": idx, "delta": p}),
            );
        }
        s.push(
            "response.function_call_arguments.done",
            json!({"item_id": item_id,
            "output_index": idx, "arguments": c.arguments}),
        );
        let item = json!({"id": item_id, "type": "function_call", "status": "completed",
            "call_id": c.id, "name": c.name, "arguments": c.arguments});
        s.push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        items.push(item);
    }
    let u = usage(turn.usage_or_derived(prompt_chars));
    let (ty, status) = match turn.finish_reason.as_deref() {
        Some("length" | "max_output_tokens") => ("response.incomplete", "incomplete"),
        _ => ("response.completed", "completed"),
    };
    let mut done = shell(status, Value::Array(items), u);
    if status == "incomplete" {
        done["incomplete_details"] = json!({"reason": "max_output_tokens"});
    }
    s.push(ty, json!({"response": done}));
    s.out
}

/// A non-streamed response: the completed response object.
pub(crate) fn response(
    model: &str,
    turn: &Turn,
    id: &str,
    prompt_chars: usize,
    custom: &[String],
) -> Value {
    let frames = stream(model, turn, id, prompt_chars, custom);
    frames
        .last()
        .and_then(|f| f.split_once("data: "))
        .and_then(|(_, d)| serde_json::from_str::<Value>(d.trim()).ok())
        .and_then(|v| v.get("response").cloned())
        .unwrap_or(Value::Null)
}

pub(crate) fn stream_error() -> String {
    let data = json!({"type": "response.failed", "sequence_number": 999, "response": {
        "id": "resp_failed", "object": "response", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "The model failed to generate a response."}}});
    format!("event: response.failed\ndata: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ToolCall;

    fn turn() -> Turn {
        Turn {
            reasoning: Some("plan".into()),
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "apply_patch".into(),
                arguments: json!({"input": "*** Begin Patch\n*** End Patch\n"}).to_string(),
            }],
            ..Turn::default()
        }
    }

    fn events(frames: &[String]) -> Vec<Value> {
        frames
            .iter()
            .filter_map(|f| f.split_once("data: "))
            .map(|(_, d)| serde_json::from_str(d.trim()).unwrap())
            .collect()
    }

    #[test]
    fn declared_custom_tools_come_back_as_custom_tool_calls() {
        let body = json!({"tools": [{"type": "custom", "name": "apply_patch"}]});
        let all = events(&stream("m", &turn(), "resp_1", 10, &custom_tools(&body)));
        let done: Vec<&Value> = all
            .iter()
            .filter(|e| e["type"] == "response.output_item.done")
            .map(|e| &e["item"])
            .collect();
        assert_eq!(done[1]["type"], "custom_tool_call");
        assert_eq!(done[1]["input"], "*** Begin Patch\n*** End Patch\n");
        assert_eq!(done[1]["id"], "ctc_resp_1_1");
        assert!(
            all.iter()
                .any(|e| e["type"] == "response.custom_tool_call_input.delta")
        );
        assert_eq!(
            reasoning_links(&turn(), "resp_1", &body),
            [("ctc_resp_1_1".to_owned(), "rs_resp_1_0".to_owned())]
        );
    }

    #[test]
    fn calls_need_their_reasoning_back() {
        let rules = StrictRules {
            require_reasoning_passback: true,
            ..StrictRules::default()
        };
        let links: HashMap<String, String> = [("fc_r_1".to_owned(), "rs_r_0".to_owned())].into();
        let reasoning = json!({"type": "reasoning", "id": "rs_r_0",
            "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "enc:plan"});
        let call = json!({"type": "function_call", "id": "fc_r_1", "call_id": "c", "name": "f",
            "arguments": "{}"});
        let body = |input: Vec<Value>| json!({"model": "m", "input": input});
        assert!(validate(&body(vec![reasoning.clone(), call.clone()]), &rules, &links).is_ok());
        let err = validate(&body(vec![call.clone()]), &rules, &links).unwrap_err();
        assert!(
            err.contains("without its required 'reasoning' item"),
            "{err}"
        );
        let mut stripped = reasoning.clone();
        stripped["encrypted_content"] = Value::Null;
        let err = validate(&body(vec![stripped, call.clone()]), &rules, &links).unwrap_err();
        assert!(err.contains("not persisted"), "{err}");
        let mut forged = reasoning;
        forged["encrypted_content"] = json!("enc:other");
        let err = validate(&body(vec![forged, call]), &rules, &links).unwrap_err();
        assert!(err.contains("could not be verified"), "{err}");
    }
}
