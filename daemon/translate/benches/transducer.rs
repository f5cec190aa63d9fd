//! Throughput of the stream transducers (upstream chunks/s) and of request translation
//! (requests/s).
//!
//! Each stream is 1000 upstream chunks (SSE events or NDJSON lines) in the provider's own
//! format, generated here, fed one chunk per `feed` call as a streaming provider flushes them.
//! A whole response is one iteration: a new transducer, `start`, every chunk, `end_of_stream`,
//! so the figure includes the deferred `output_item.done`s and the terminal snapshot.
//!
//! ```text
//! cargo bench -p codex-launcher-translate --bench transducer -- --warm-up-time 1 --measurement-time 3
//! ```

// Bench harness code: a malformed generated stream or a missing fixture should stop the bench
// at once with a message, which is what `expect`/`unwrap` do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

use codex_launcher_translate::anthropic_stream::AnthropicStreamTranslator;
use codex_launcher_translate::chat_stream::ChatStreamTranslator;
use codex_launcher_translate::command_code::CommandCodeStreamTranslator;
use codex_launcher_translate::provider::ChatProvider;
use codex_launcher_translate::responses::{InputItem, ResponsesRequest};
use codex_launcher_translate::to_chat::to_chat;
use codex_launcher_translate::tools::lower_tools;
use codex_launcher_translate::{ResponseContext, ResponseEvent, Transducer, parse_request};

/// Upstream chunks per generated stream.
const CHUNKS: usize = 1000;

/// The request the streams answer: one tool of each kind (function, custom, namespaced), so
/// calls in the streams go through every mapping back to Codex.
const REQUEST: &str = r#"{
  "model": "bench-model",
  "stream": true,
  "input": [{"type": "message", "role": "user", "content": "Go."}],
  "tools": [
    {"type": "function", "name": "exec_command", "description": "Runs a command.",
     "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
    {"type": "custom", "name": "apply_patch", "description": "Edit files.",
     "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
    {"type": "namespace", "name": "mcp__files__", "description": "Files.",
     "tools": [{"type": "function", "name": "read", "description": "Read a file.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}]}
  ],
  "parallel_tool_calls": true,
  "reasoning": {"effort": "medium", "summary": "auto"}
}"#;

fn context() -> ResponseContext {
    let req: ResponsesRequest = serde_json::from_str(REQUEST).expect("bench request");
    let map = lower_tools(&req.tools).map;
    ResponseContext::new(&req, "resp_bench".to_owned(), 1_764_000_000, map)
}

/// Text of fragment `k`: a few words, with a non-ASCII character now and then as real
/// providers send.
fn words(k: usize) -> String {
    match k % 4 {
        0 => format!("word{k} "),
        1 => "and then ".to_owned(),
        2 => "café — ".to_owned(),
        _ => format!("{k}, "),
    }
}

/// `base` repeated (numbered, one per line) until it is long enough to be cut into `n`
/// argument fragments of a few characters each, as models stream them.
fn sized(base: &str, n: usize) -> String {
    let mut out = String::new();
    let mut k = 0;
    while out.chars().count() < n * 6 {
        out.push_str(&format!("{base} {k}\n"));
        k += 1;
    }
    out
}

/// An argument fragment stream for a JSON object `{"<key>": "<value>"}` in `n` pieces.
fn json_fragments(key: &str, value: &str, n: usize) -> Vec<String> {
    let full = json!({ key: value }).to_string();
    let chars: Vec<char> = full.chars().collect();
    // Even cuts: piece k is chars[k·len/n .. (k+1)·len/n], never empty while len ≥ n.
    (0..n)
        .map(|k| {
            chars[k * chars.len() / n..(k + 1) * chars.len() / n]
                .iter()
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Chat Completions SSE.

fn chat_event(choice_delta: Value, finish: Option<&str>, usage: Value) -> Vec<u8> {
    let chunk = json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_764_000_000,
        "model": "gpt-4.1-2025-04-14",
        "system_fingerprint": "fp_7c233bf9d1",
        "choices": [{"index": 0, "delta": choice_delta, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
    });
    format!("data: {chunk}\n\n").into_bytes()
}

fn chat_usage_event() -> Vec<u8> {
    let chunk = json!({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_764_000_000,
        "model": "gpt-4.1-2025-04-14", "choices": [],
        "usage": {"prompt_tokens": 2100, "completion_tokens": 900, "total_tokens": 3000,
                  "prompt_tokens_details": {"cached_tokens": 1024},
                  "completion_tokens_details": {"reasoning_tokens": 300}},
    });
    format!("data: {chunk}\n\n").into_bytes()
}

/// role chunk, text deltas, `finish_reason: stop`, usage chunk, `[DONE]`.
fn chat_text_stream() -> Vec<Vec<u8>> {
    let mut out = vec![chat_event(
        json!({"role": "assistant", "content": ""}),
        None,
        Value::Null,
    )];
    let text_chunks = CHUNKS - 4;
    for k in 0..text_chunks {
        out.push(chat_event(json!({"content": words(k)}), None, Value::Null));
    }
    out.push(chat_event(json!({}), Some("stop"), Value::Null));
    out.push(chat_usage_event());
    out.push(b"data: [DONE]\n\n".to_vec());
    out
}

/// DeepSeek-style `reasoning_content`, a short text, then three parallel tool calls (a
/// function, a namespaced MCP tool, the freeform `apply_patch`) whose argument fragments
/// arrive interleaved by `index`, `finish_reason: tool_calls`, usage, `[DONE]`.
fn chat_tools_stream() -> Vec<Vec<u8>> {
    let mut out = vec![chat_event(
        json!({"role": "assistant", "content": null, "reasoning_content": ""}),
        None,
        Value::Null,
    )];
    let reasoning = 400;
    for k in 0..reasoning {
        out.push(chat_event(
            json!({"content": null, "reasoning_content": words(k)}),
            None,
            Value::Null,
        ));
    }
    let text = 50;
    for k in 0..text {
        out.push(chat_event(
            json!({"content": words(k), "reasoning_content": null}),
            None,
            Value::Null,
        ));
    }
    let calls = [
        (
            "call_0",
            "exec_command",
            "cmd",
            "ls -la && git status --short",
        ),
        ("call_1", "mcp__files__read", "path", "src/main.rs"),
        (
            "call_2",
            "apply_patch",
            "input",
            "*** Begin Patch\n*** Add File: README.md\n+hello\n*** End Patch",
        ),
    ];
    // The rest, minus one start chunk per call and the 3 closing chunks, are argument pieces.
    let pieces = CHUNKS - out.len() - calls.len() - 3;
    for (index, (id, name, _, _)) in calls.iter().enumerate() {
        out.push(chat_event(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                   "function": {"name": name, "arguments": ""}}]}),
            None,
            Value::Null,
        ));
    }
    let per_call = pieces / calls.len();
    let fragments: Vec<Vec<String>> = calls
        .iter()
        .enumerate()
        .map(|(index, (_, _, key, value))| {
            let n = per_call + usize::from(index < pieces % calls.len());
            json_fragments(key, &sized(value, n), n)
        })
        .collect();
    // Round-robin over the calls, as OpenAI interleaves parallel calls.
    let longest = fragments.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for (index, frags) in fragments.iter().enumerate() {
            if let Some(f) = frags.get(k) {
                out.push(chat_event(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": f}}]}),
                    None,
                    Value::Null,
                ));
            }
        }
    }
    out.push(chat_event(json!({}), Some("tool_calls"), Value::Null));
    out.push(chat_usage_event());
    out.push(b"data: [DONE]\n\n".to_vec());
    out
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages SSE.

fn anthropic_event(event: Value) -> Vec<u8> {
    let kind = event["type"].as_str().unwrap_or_default().to_owned();
    format!("event: {kind}\ndata: {event}\n\n").into_bytes()
}

/// `message_start`, a thinking block (thinking deltas, then `signature_delta`s), a text block,
/// two `tool_use` blocks with `input_json_delta`s, `message_delta`, `message_stop`; a `ping`
/// now and then.
fn anthropic_stream() -> Vec<Vec<u8>> {
    let mut out = vec![anthropic_event(json!({
        "type": "message_start",
        "message": {"id": "msg_bench", "type": "message", "role": "assistant", "content": [],
                    "model": "claude-sonnet-4-5", "stop_reason": null,
                    "usage": {"input_tokens": 2100, "cache_read_input_tokens": 1024,
                              "cache_creation_input_tokens": 0, "output_tokens": 1}},
    }))];
    out.push(anthropic_event(json!({"type": "ping"})));
    // Thinking: block 0.
    out.push(anthropic_event(json!({
        "type": "content_block_start", "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    })));
    for k in 0..400 {
        out.push(anthropic_event(json!({
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "thinking_delta", "thinking": words(k)},
        })));
    }
    for k in 0..4 {
        out.push(anthropic_event(json!({
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "signature_delta", "signature": format!("EqQBCkYIBRgCKkD0sig{k}==")},
        })));
    }
    out.push(anthropic_event(
        json!({"type": "content_block_stop", "index": 0}),
    ));
    // Text: block 1.
    out.push(anthropic_event(json!({
        "type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""},
    })));
    for k in 0..150 {
        out.push(anthropic_event(json!({
            "type": "content_block_delta", "index": 1,
            "delta": {"type": "text_delta", "text": words(k)},
        })));
    }
    out.push(anthropic_event(
        json!({"type": "content_block_stop", "index": 1}),
    ));
    out.push(anthropic_event(json!({"type": "ping"})));
    // Two tool_use blocks, 2 and 3; the closing events are 2 stops + message_delta +
    // message_stop.
    let tools = [
        (
            "toolu_1",
            "exec_command",
            "cmd",
            "ls -la && git status --short",
        ),
        ("toolu_2", "mcp__files__read", "path", "src/main.rs"),
    ];
    let pieces = CHUNKS - out.len() - 2 * tools.len() - 2;
    for (n, (id, name, key, value)) in tools.iter().enumerate() {
        let index = n + 2;
        out.push(anthropic_event(json!({
            "type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}},
        })));
        let count = pieces / tools.len() + usize::from(n < pieces % tools.len());
        for f in json_fragments(key, &sized(value, count), count) {
            out.push(anthropic_event(json!({
                "type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": f},
            })));
        }
        out.push(anthropic_event(
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    out.push(anthropic_event(json!({
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": null},
        "usage": {"output_tokens": 900},
    })));
    out.push(anthropic_event(json!({"type": "message_stop"})));
    out
}

// ---------------------------------------------------------------------------------------------
// Command Code NDJSON (AI SDK stream parts).

fn ndjson(part: Value) -> Vec<u8> {
    format!("{part}\n").into_bytes()
}

/// reasoning-start/-delta/-end, text-start/-delta/-end, tool-input-start/-delta/-end and the
/// final `tool-call`, `finish-step`, `finish` with usage.
fn command_code_stream() -> Vec<Vec<u8>> {
    let mut out = vec![
        ndjson(json!({"type": "start"})),
        ndjson(json!({"type": "start-step"})),
        ndjson(json!({"type": "reasoning-start", "id": "reasoning-0"})),
    ];
    for k in 0..400 {
        out.push(ndjson(
            json!({"type": "reasoning-delta", "id": "reasoning-0", "text": words(k)}),
        ));
    }
    out.push(ndjson(
        json!({"type": "reasoning-end", "id": "reasoning-0"}),
    ));
    out.push(ndjson(json!({"type": "text-start", "id": "text-0"})));
    for k in 0..300 {
        out.push(ndjson(
            json!({"type": "text-delta", "id": "text-0", "text": words(k)}),
        ));
    }
    out.push(ndjson(json!({"type": "text-end", "id": "text-0"})));
    out.push(ndjson(
        json!({"type": "tool-input-start", "id": "call_9", "toolName": "exec_command"}),
    ));
    // Closing: tool-input-end, tool-call, finish-step, finish.
    let pieces = CHUNKS - out.len() - 4;
    let value = sized("echo building step", pieces);
    for f in json_fragments("cmd", &value, pieces) {
        out.push(ndjson(
            json!({"type": "tool-input-delta", "id": "call_9", "delta": f}),
        ));
    }
    out.push(ndjson(json!({"type": "tool-input-end", "id": "call_9"})));
    out.push(ndjson(json!({
        "type": "tool-call", "toolCallId": "call_9", "toolName": "exec_command",
        "input": {"cmd": value},
    })));
    out.push(ndjson(json!({"type": "finish-step"})));
    out.push(ndjson(json!({
        "type": "finish", "finishReason": "tool-calls", "rawFinishReason": "tool_calls",
        "totalUsage": {"inputTokens": 2100, "outputTokens": 900,
                       "inputTokenDetails": {"cacheReadTokens": 1024},
                       "outputTokenDetails": {"reasoningTokens": 300}},
    })));
    out
}

// ---------------------------------------------------------------------------------------------
// Driving.

/// One whole response through a fresh transducer, as the proxy's pump drives it.
fn run(mut t: Box<dyn Transducer>, chunks: &[Vec<u8>]) -> Vec<ResponseEvent> {
    let mut out = Vec::with_capacity(chunks.len() * 2);
    t.start(&mut out);
    for chunk in chunks {
        t.feed(chunk, &mut out);
    }
    t.end_of_stream(&mut out);
    out
}

type MakeTransducer = fn(ResponseContext) -> Box<dyn Transducer>;

fn bench_streams(c: &mut Criterion) {
    let ctx = context();
    let cases: [(&str, Vec<Vec<u8>>, MakeTransducer); 4] = [
        ("chat_sse_text", chat_text_stream(), |ctx| {
            Box::new(ChatStreamTranslator::new(ctx))
        }),
        (
            "chat_sse_reasoning_parallel_tools",
            chat_tools_stream(),
            |ctx| Box::new(ChatStreamTranslator::new(ctx)),
        ),
        (
            "anthropic_sse_thinking_signature_tool_use",
            anthropic_stream(),
            |ctx| Box::new(AnthropicStreamTranslator::new(ctx)),
        ),
        ("command_code_ndjson", command_code_stream(), |ctx| {
            Box::new(CommandCodeStreamTranslator::new(ctx))
        }),
    ];
    let mut group = c.benchmark_group("transducer");
    for (name, chunks, make) in &cases {
        assert_eq!(chunks.len(), CHUNKS, "{name}: generated chunk count");
        // The generated stream must be one the transducer accepts as a whole response, or
        // the bench would measure an early failure.
        let events = run(make(ctx.clone()), chunks);
        let last = events.last().expect("events");
        assert_eq!(last.kind(), "response.completed", "{name}: {last:?}");
        group.throughput(Throughput::Elements(CHUNKS as u64));
        group.bench_function(*name, |b| {
            b.iter(|| black_box(run(make(ctx.clone()), black_box(chunks))).len())
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Request translation.

/// The largest Responses request fixture (by bytes), so the bench follows the fixtures.
fn largest_request_fixture() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/requests");
    fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".json") && !name.ends_with(".chat.json")
        })
        .max_by_key(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("no request fixtures")
}

fn bench_requests(c: &mut Criterion) {
    let path = largest_request_fixture();
    let body = fs::read(&path).unwrap();
    let req = parse_request(&body).unwrap();
    let items: Vec<InputItem> = req.input.clone().into_items();
    let quirks = ChatProvider::DeepSeek.quirks();
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("request");
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("to_chat/{name}/deepseek"), |b| {
        b.iter(|| {
            to_chat(
                black_box(&req),
                black_box(&items),
                "deepseek-v4-pro",
                &quirks,
            )
        })
    });
    // What the proxy does per request on the Chat path: parse, translate, serialize.
    group.bench_function(format!("parse_to_chat_serialize/{name}/deepseek"), |b| {
        b.iter(|| {
            let req = parse_request(black_box(&body)).unwrap();
            let items = req.input.clone().into_items();
            let t = to_chat(&req, &items, "deepseek-v4-pro", &quirks);
            serde_json::to_vec(&t.request).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_streams, bench_requests);
criterion_main!(benches);
