//! A Responses-native upstream (`POST …/responses`), as OpenAI, Groq, Ollama or OpenRouter's
//! beta serve it: typed SSE events with sequence numbers, stateless (no stored responses).

use serde_json::{Value, json};

use crate::script::{Turn, Usage, fragments};
use crate::unix_now;

pub(crate) fn validate(body: &Value) -> Result<(), String> {
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("Missing required parameter: 'model'.".into());
    }
    if body.get("input").is_none() {
        return Err("Missing required parameter: 'input'.".into());
    }
    if body
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
    {
        return Err("Previous response with id not found (this server stores nothing).".into());
    }
    Ok(())
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

/// The SSE events of a streamed response.
pub(crate) fn stream(model: &str, turn: &Turn, id: &str, prompt_chars: usize) -> Vec<String> {
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
        let item_id = format!("rs_{id}_{idx}");
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
            "summary": [{"type": "summary_text", "text": r}], "encrypted_content": format!("enc:{r}")});
        s.push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        items.push(item);
    }
    if let Some(t) = &turn.text {
        let idx = items.len();
        let item_id = format!("msg_{id}_{idx}");
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
        let item_id = format!("fc_{id}_{idx}");
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
pub(crate) fn response(model: &str, turn: &Turn, id: &str, prompt_chars: usize) -> Value {
    let frames = stream(model, turn, id, prompt_chars);
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
