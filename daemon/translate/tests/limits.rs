//! Bounds on what an upstream sends (`StreamLimits`), on every stream transducer: one event
//! (many `data:` lines, or one that never ends), one NDJSON line, one tool call's arguments,
//! one message, one reasoning item, and a response's output. Under a bound the stream is
//! translated as usual; past it the response fails at once with `invalid_prompt` (Codex does
//! not retry it) and a message naming the bound, and nothing more is taken in.

// An integration-test crate: tests only, so the test allowances (unwrap, print) apply to its
// helpers too.
#![cfg(test)]

use codex_launcher_translate::anthropic_stream::AnthropicStreamTranslator;
use codex_launcher_translate::chat_stream::ChatStreamTranslator;
use codex_launcher_translate::command_code::CommandCodeStreamTranslator;
use codex_launcher_translate::responses::ResponsesRequest;
use codex_launcher_translate::tools::lower_tools;
use codex_launcher_translate::{
    FailureKind, ResponseContext, ResponseEvent, StreamLimits, Transducer,
};
use serde_json::{Value, json};

const EVENT: usize = 4096;
const ITEM: usize = 2048;
const OUTPUT: usize = 8192;

const LIMITS: StreamLimits = StreamLimits {
    event_bytes: EVENT,
    item_bytes: ITEM,
    output_bytes: OUTPUT,
};

#[derive(Debug, Clone, Copy)]
enum Wire {
    Chat,
    Anthropic,
    CommandCode,
}

const WIRES: [Wire; 3] = [Wire::Chat, Wire::Anthropic, Wire::CommandCode];

fn transducer(wire: Wire, limits: StreamLimits) -> Box<dyn Transducer> {
    let req: ResponsesRequest = serde_json::from_value(json!({
        "model": "m", "input": "hi", "stream": true,
        "reasoning": {"summary": "auto"},
        "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]
    }))
    .unwrap();
    let map = lower_tools(&req.tools).map;
    let ctx = ResponseContext::new(&req, "resp_limits".into(), 0, map).with_limits(limits);
    match wire {
        Wire::Chat => Box::new(ChatStreamTranslator::new(ctx)),
        Wire::Anthropic => Box::new(AnthropicStreamTranslator::new(ctx)),
        Wire::CommandCode => Box::new(CommandCodeStreamTranslator::new(ctx)),
    }
}

/// One event of the wire, its JSON payload as given.
fn frame(wire: Wire, payload: &Value) -> String {
    match wire {
        Wire::Chat => format!("data: {payload}\n\n"),
        Wire::Anthropic => format!(
            "event: {}\ndata: {payload}\n\n",
            payload["type"].as_str().unwrap_or("x")
        ),
        Wire::CommandCode => format!("{payload}\n"),
    }
}

fn chat_chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

/// Payloads of a turn that says `text`.
fn text_turn(wire: Wire, text: &str) -> Vec<Value> {
    match wire {
        Wire::Chat => vec![
            chat_chunk(json!({"content": text}), None),
            chat_chunk(json!({}), Some("stop")),
        ],
        Wire::Anthropic => vec![
            json!({"type": "message_start", "message": {}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
            json!({"type": "message_stop"}),
        ],
        Wire::CommandCode => vec![
            json!({"type": "text-delta", "id": "t", "text": text}),
            json!({"type": "finish", "finishReason": "stop"}),
        ],
    }
}

/// One text fragment (to repeat).
fn text_delta(wire: Wire, text: &str) -> Value {
    match wire {
        Wire::Chat => chat_chunk(json!({"content": text}), None),
        Wire::Anthropic => {
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
        }
        Wire::CommandCode => json!({"type": "text-delta", "id": "t", "text": text}),
    }
}

/// One reasoning fragment (to repeat).
fn reasoning_delta(wire: Wire, text: &str) -> Value {
    match wire {
        Wire::Chat => chat_chunk(json!({"reasoning_content": text}), None),
        Wire::Anthropic => {
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": text}})
        }
        Wire::CommandCode => json!({"type": "reasoning-delta", "id": "r", "text": text}),
    }
}

/// What opens the block the fragments belong to.
fn opening(wire: Wire, block: &str) -> Vec<Value> {
    match wire {
        Wire::Chat | Wire::CommandCode => Vec::new(),
        Wire::Anthropic => {
            let content_block = match block {
                "thinking" => json!({"type": "thinking", "thinking": "", "signature": ""}),
                "tool_use" => {
                    json!({"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}})
                }
                _ => json!({"type": "text", "text": ""}),
            };
            vec![
                json!({"type": "message_start", "message": {}}),
                json!({"type": "content_block_start", "index": 0, "content_block": content_block}),
            ]
        }
    }
}

/// A tool call's opening and one fragment of its arguments (to repeat).
fn call_parts(wire: Wire) -> (Vec<Value>, Value) {
    match wire {
        Wire::Chat => (
            vec![chat_chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                    "function": {"name": "exec_command", "arguments": ""}}]}),
                None,
            )],
            chat_chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "aaaaaaaaaaaaaaaa"}}]}),
                None,
            ),
        ),
        Wire::Anthropic => (
            opening(wire, "tool_use"),
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "aaaaaaaaaaaaaaaa"}}),
        ),
        Wire::CommandCode => (
            vec![json!({"type": "tool-input-start", "id": "call_1", "toolName": "exec_command"})],
            json!({"type": "tool-input-delta", "id": "call_1", "delta": "aaaaaaaaaaaaaaaa"}),
        ),
    }
}

/// Feed `body` in `piece`-byte pieces (start first, end of stream last).
fn run(t: &mut dyn Transducer, body: &[u8], piece: usize) -> Vec<ResponseEvent> {
    let mut out = Vec::new();
    t.start(&mut out);
    for chunk in body.chunks(piece) {
        t.feed(chunk, &mut out);
    }
    t.end_of_stream(&mut out);
    out
}

/// The last event is `response.failed`, not retried by Codex, saying `says`; no item was
/// committed; the transducer reports an `Oversized` failure.
fn assert_oversized(what: &str, t: &dyn Transducer, events: &[ResponseEvent], says: &str) {
    let last = events.last().expect("events");
    assert_eq!(last.kind(), "response.failed", "{what}");
    let error = last
        .response()
        .and_then(|r| r.error.as_ref())
        .expect("error");
    assert_eq!(error.code, "invalid_prompt", "{what}: {}", error.message);
    assert!(
        error.message.starts_with(says),
        "{what}: `{}` should start with `{says}`",
        error.message
    );
    assert!(
        events
            .iter()
            .all(|e| e.kind() != "response.output_item.done"),
        "{what}: a failed response commits nothing"
    );
    let failure = t.failure().expect("failure");
    assert_eq!(failure.kind, FailureKind::Oversized, "{what}");
    assert!(!failure.kind.retryable(), "{what}");
    assert_eq!(
        events.iter().filter(|e| e.is_terminal()).count(),
        1,
        "{what}: one terminal event"
    );
}

fn assert_completed(what: &str, events: &[ResponseEvent], text: &str) {
    let last = events.last().expect("events");
    assert_eq!(
        last.kind(),
        "response.completed",
        "{what}: {:?}",
        last.response().and_then(|r| r.error.as_ref())
    );
    let output = serde_json::to_value(&last.response().expect("response").output).unwrap();
    assert_eq!(output[0]["content"][0]["text"], text, "{what}");
}

/// The first event of a turn padded with `lines` lines of `width` bytes: for SSE, more `data:`
/// lines of the same event (JSON whitespace once joined); for NDJSON, the same line longer.
fn padded_turn(wire: Wire, text: &str, lines: usize, width: usize) -> Vec<u8> {
    let mut frames: Vec<String> = text_turn(wire, text)
        .iter()
        .map(|p| frame(wire, p))
        .collect();
    let first = frames.remove(0);
    let mut body = first.trim_end_matches('\n').to_owned();
    for _ in 0..lines {
        match wire {
            Wire::Chat | Wire::Anthropic => {
                body.push_str("\ndata: ");
                body.push_str(&" ".repeat(width - 7));
            }
            Wire::CommandCode => body.push_str(&" ".repeat(width)),
        }
    }
    body.push_str(match wire {
        Wire::CommandCode => "\n",
        _ => "\n\n",
    });
    body.push_str(&frames.concat());
    body.into_bytes()
}

#[test]
fn an_event_of_many_lines_passes_under_the_bound_and_fails_over_it() {
    for wire in WIRES {
        // 30 lines of 100 bytes: 3000 bytes, under 4096.
        let mut t = transducer(wire, LIMITS);
        let events = run(t.as_mut(), &padded_turn(wire, "padded", 30, 100), 64);
        assert_completed(&format!("{wire:?} under"), &events, "padded");
        // 50 lines: 5000 bytes, over.
        let mut t = transducer(wire, LIMITS);
        let events = run(t.as_mut(), &padded_turn(wire, "padded", 50, 100), 64);
        assert_oversized(
            &format!("{wire:?} over"),
            t.as_ref(),
            &events,
            "the upstream sent an event over 4 KiB",
        );
    }
}

/// `data:` lines forever, never a blank line (NDJSON: a line that never ends). The failure
/// comes as soon as the bound is passed, and what follows is not looked at.
#[test]
fn an_endless_event_fails_as_soon_as_it_passes_the_bound() {
    for wire in WIRES {
        let mut t = transducer(wire, LIMITS);
        let mut out = Vec::new();
        t.start(&mut out);
        let line = match wire {
            Wire::CommandCode => "x".repeat(100),
            _ => format!("data: {}\n", "x".repeat(93)),
        };
        let mut fed = 0;
        while !t.is_finished() {
            t.feed(line.as_bytes(), &mut out);
            fed += line.len();
            assert!(fed < 10 * EVENT, "{wire:?}: no failure after {fed} bytes");
        }
        assert!(fed > EVENT && fed <= EVENT + line.len(), "{wire:?}: {fed}");
        let ended = out.len();
        for _ in 0..100 {
            t.feed(line.as_bytes(), &mut out);
        }
        t.end_of_stream(&mut out);
        assert_eq!(out.len(), ended, "{wire:?}: nothing after the failure");
        assert_oversized(
            &format!("{wire:?}"),
            t.as_ref(),
            &out,
            "the upstream sent an event over 4 KiB",
        );
    }
}

/// Repeats `fragment` after `opening` until the transducer fails (or `max` times).
fn until_failed(wire: Wire, opening: &[Value], fragment: &Value, max: usize) -> Vec<u8> {
    let mut body: String = opening.iter().map(|p| frame(wire, p)).collect();
    let one = frame(wire, fragment);
    for _ in 0..max {
        body.push_str(&one);
    }
    body.into_bytes()
}

#[test]
fn a_tool_calls_arguments_are_bounded() {
    for wire in WIRES {
        let (open, fragment) = call_parts(wire);
        let mut t = transducer(wire, LIMITS);
        // 200 fragments of 16 bytes: 3200 bytes of arguments, over 2048, each event small.
        let events = run(t.as_mut(), &until_failed(wire, &open, &fragment, 200), 4096);
        assert_oversized(
            &format!("{wire:?}"),
            t.as_ref(),
            &events,
            "the upstream sent a tool call whose arguments are over 2 KiB",
        );
        let deltas = events
            .iter()
            .filter(|e| e.kind() == "response.function_call_arguments.delta")
            .count();
        assert_eq!(deltas, ITEM / 16, "{wire:?}: fragments up to the bound");
    }
}

#[test]
fn a_whole_tool_call_input_is_bounded_too() {
    // Command Code's `tool-call` part carries the final input at once and replaces the deltas.
    let mut t = transducer(Wire::CommandCode, LIMITS);
    let big = "b".repeat(ITEM + 1);
    let body = [
        json!({"type": "tool-call", "toolCallId": "c", "toolName": "exec_command", "input": big}),
        json!({"type": "finish", "finishReason": "tool-calls"}),
    ]
    .iter()
    .map(|p| frame(Wire::CommandCode, p))
    .collect::<String>();
    let events = run(t.as_mut(), body.as_bytes(), 512);
    assert_oversized(
        "tool-call",
        t.as_ref(),
        &events,
        "the upstream sent a tool call whose arguments are over 2 KiB",
    );
    // At the bound exactly it passes.
    let mut t = transducer(Wire::CommandCode, LIMITS);
    let body = body.replace(&big, &"b".repeat(ITEM));
    let events = run(t.as_mut(), body.as_bytes(), 512);
    assert_eq!(events.last().unwrap().kind(), "response.completed");
}

#[test]
fn a_message_and_a_reasoning_item_are_bounded() {
    for wire in WIRES {
        let fragment = "t".repeat(100);
        let mut t = transducer(wire, LIMITS);
        let body = until_failed(
            wire,
            &opening(wire, "text"),
            &text_delta(wire, &fragment),
            30,
        );
        let events = run(t.as_mut(), &body, 4096);
        assert_oversized(
            &format!("{wire:?} message"),
            t.as_ref(),
            &events,
            "the upstream sent a message over 2 KiB",
        );

        let mut t = transducer(wire, LIMITS);
        let body = until_failed(
            wire,
            &opening(wire, "thinking"),
            &reasoning_delta(wire, &fragment),
            30,
        );
        let events = run(t.as_mut(), &body, 4096);
        assert_oversized(
            &format!("{wire:?} reasoning"),
            t.as_ref(),
            &events,
            "the upstream sent a reasoning item over 2 KiB",
        );
    }
}

#[test]
fn an_anthropic_signature_counts_with_its_thinking() {
    let mut t = transducer(Wire::Anthropic, LIMITS);
    let signature = json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "signature_delta", "signature": "s".repeat(100)}});
    let body = until_failed(
        Wire::Anthropic,
        &opening(Wire::Anthropic, "thinking"),
        &signature,
        30,
    );
    let events = run(t.as_mut(), &body, 4096);
    assert_oversized(
        "signature",
        t.as_ref(),
        &events,
        "the upstream sent a reasoning item over 2 KiB",
    );
}

/// Many items, each under its bound, together over the output bound.
#[test]
fn a_responses_output_is_bounded() {
    for wire in WIRES {
        let mut body = String::new();
        for k in 0..40 {
            let call = format!("call_{k}");
            let parts: Vec<Value> = match wire {
                Wire::Chat => vec![chat_chunk(
                    json!({"tool_calls": [{"index": k, "id": call, "type": "function",
                        "function": {"name": "exec_command", "arguments": "x".repeat(200)}}]}),
                    None,
                )],
                Wire::Anthropic => {
                    let mut v = Vec::new();
                    if k == 0 {
                        v.push(json!({"type": "message_start", "message": {}}));
                    }
                    v.push(json!({"type": "content_block_start", "index": k,
                        "content_block": {"type": "tool_use", "id": call, "name": "exec_command", "input": {}}}));
                    v.push(json!({"type": "content_block_delta", "index": k,
                        "delta": {"type": "input_json_delta", "partial_json": "x".repeat(200)}}));
                    v.push(json!({"type": "content_block_stop", "index": k}));
                    v
                }
                Wire::CommandCode => vec![
                    json!({"type": "tool-input-start", "id": call, "toolName": "exec_command"}),
                    json!({"type": "tool-input-delta", "id": call, "delta": "x".repeat(200)}),
                ],
            };
            body.extend(parts.iter().map(|p| frame(wire, p)));
        }
        let mut t = transducer(wire, LIMITS);
        let events = run(t.as_mut(), body.as_bytes(), 4096);
        assert_oversized(
            &format!("{wire:?}"),
            t.as_ref(),
            &events,
            "the upstream sent a response whose output items together are over 8 KiB",
        );
    }
}

/// Chat fragments of calls whose name never comes are held by the transducer itself: they
/// count too, so endless nameless fragments are bounded.
#[test]
fn nameless_chat_tool_call_fragments_are_bounded() {
    let mut body = String::new();
    for k in 0..100 {
        let chunk = chat_chunk(
            json!({"tool_calls": [{"index": k, "function": {"arguments": "y".repeat(10)}}]}),
            None,
        );
        body.push_str(&frame(Wire::Chat, &chunk));
    }
    let mut t = transducer(Wire::Chat, LIMITS);
    let events = run(t.as_mut(), body.as_bytes(), 4096);
    assert_oversized(
        "nameless calls",
        t.as_ref(),
        &events,
        "the upstream sent a response whose output items together are over 8 KiB",
    );
    // One nameless call whose arguments grow: the call's own bound.
    let chunk = chat_chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "y".repeat(100)}}]}),
        None,
    );
    let body = until_failed(Wire::Chat, &[], &chunk, 30);
    let mut t = transducer(Wire::Chat, LIMITS);
    let events = run(t.as_mut(), &body, 4096);
    assert_oversized(
        "one nameless call",
        t.as_ref(),
        &events,
        "the upstream sent a tool call whose arguments are over 2 KiB",
    );
}

/// Anthropic blocks started and never stopped are state the transducer holds: bounded.
#[test]
fn anthropic_blocks_that_never_stop_are_bounded() {
    let mut body = frame(
        Wire::Anthropic,
        &json!({"type": "message_start", "message": {}}),
    );
    for k in 0..100 {
        let start = json!({"type": "content_block_start", "index": k,
            "content_block": {"type": "server_tool_result", "content": []}});
        body.push_str(&frame(Wire::Anthropic, &start));
    }
    let mut t = transducer(Wire::Anthropic, LIMITS);
    let events = run(t.as_mut(), body.as_bytes(), 4096);
    assert_oversized(
        "open blocks",
        t.as_ref(),
        &events,
        "the upstream sent a response whose output items together are over 8 KiB",
    );
}

/// Whitespace before a possible `<think>` waits in the Chat transducer: bounded as the
/// message it would become.
#[test]
fn held_chat_content_is_bounded() {
    let body = until_failed(
        Wire::Chat,
        &[],
        &text_delta(Wire::Chat, &" ".repeat(100)),
        30,
    );
    let mut t = transducer(Wire::Chat, LIMITS);
    let events = run(t.as_mut(), &body, 4096);
    assert_oversized(
        "held whitespace",
        t.as_ref(),
        &events,
        "the upstream sent a message over 2 KiB",
    );
}

/// The default bounds are 16 MiB, and the message says so.
#[test]
fn the_defaults_are_sixteen_mib() {
    let limits = StreamLimits::default();
    assert_eq!(limits, StreamLimits::from_event_bytes(16 * 1024 * 1024));
    let mut t = transducer(Wire::Chat, limits);
    let mut out = Vec::new();
    t.start(&mut out);
    let line = format!("data: {}\n", "x".repeat(64 * 1024 - 7));
    while !t.is_finished() {
        t.feed(line.as_bytes(), &mut out);
    }
    assert_oversized(
        "defaults",
        t.as_ref(),
        &out,
        "the upstream sent an event over 16 MiB",
    );
}
