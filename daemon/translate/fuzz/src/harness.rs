//! What every fuzz target runs, kept free of libfuzzer so that
//! `daemon/translate/tests/fuzz_regressions.rs` can include this file (`#[path]`) and replay a
//! crashing input through exactly the code the fuzzer ran.
//!
//! Stream inputs carry a small header that decides how the body is cut into chunks, so the
//! fuzzer explores chunk boundaries (split SSE lines, split UTF-8 characters, split `<think>`
//! tags) as well as the bytes themselves:
//!
//! ```text
//! byte 0   bits 0-2  n: how many chunk-size bytes follow (0 = the body in one piece)
//!          bit 3     end with a transport failure (`fail`) instead of `end_of_stream`
//!          bit 4     reasoning shown as raw content instead of summary text
//!          bits 5-6  bounds (`StreamLimits`): 0 the defaults (16 MiB), 1-3 small ones that
//!                    inputs of a few KiB reach (see `LIMITS`), so the paths past a bound
//!                    (an event of many lines, an event that never ends, long arguments,
//!                    many items) are fuzzed too
//! bytes 1..=n        chunk sizes, used in turn: (b & 0x7f) + 1 bytes; bit 7 sends a
//!                    keep-alive before the chunk (what the proxy does on a silent upstream),
//!                    on the first pass over the sizes only
//! rest               the upstream body
//! ```

// Fuzz harness code: a violated invariant must abort loudly so libFuzzer records the input,
// which is exactly what `assert!`/`panic!` (and an occasional `expect`) are for here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use codex_launcher_translate::anthropic::to_anthropic;
use codex_launcher_translate::anthropic_stream::AnthropicStreamTranslator;
use codex_launcher_translate::chat_stream::ChatStreamTranslator;
use codex_launcher_translate::command_code::{
    CommandCodeContext, CommandCodeStreamTranslator, to_command_code,
};
use codex_launcher_translate::provider::ChatProvider;
use codex_launcher_translate::responses::ResponsesRequest;
use codex_launcher_translate::to_chat::to_chat;
use codex_launcher_translate::tools::lower_tools;
use codex_launcher_translate::{
    Failure, FailureKind, ResponseContext, ResponseEvent, StreamLimits, Transducer, parse_request,
};

/// Which stream transducer a stream target drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamBackend {
    /// Chat Completions SSE.
    Chat,
    /// Anthropic Messages SSE.
    Anthropic,
    /// Command Code NDJSON.
    CommandCode,
}

impl StreamBackend {
    /// The fuzz target's name (also the seed and corpus directory name).
    pub fn target(self) -> &'static str {
        match self {
            StreamBackend::Chat => "chat_stream",
            StreamBackend::Anthropic => "anthropic_stream",
            StreamBackend::CommandCode => "command_code_stream",
        }
    }

    /// The backend a fuzz target name stands for, if it is a stream target.
    pub fn from_target(name: &str) -> Option<StreamBackend> {
        [
            StreamBackend::Chat,
            StreamBackend::Anthropic,
            StreamBackend::CommandCode,
        ]
        .into_iter()
        .find(|b| b.target() == name)
    }
}

/// The request every stream is an answer to: one tool of each kind the tool map distinguishes
/// (function, custom/freeform, namespaced), so calls in the stream take every path back.
const STREAM_REQUEST: &str = r#"{
  "model": "fuzz-model",
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

/// Header flag: end with `fail` instead of `end_of_stream`.
const FLAG_TRANSPORT_FAILURE: u8 = 1 << 3;
/// Header flag: reasoning as raw content (`summary: none`).
const FLAG_RAW_REASONING: u8 = 1 << 4;
/// Chunk-size flag: a keep-alive before the chunk.
const SIZE_KEEPALIVE: u8 = 1 << 7;
/// Header bits 5-6: which bounds.
const LIMITS_SHIFT: u8 = 5;

/// The bounds a header selects: the defaults, then three small sets (event, item, output)
/// whose items and outputs are smaller than an event, as large as one, and larger.
const LIMITS: [Option<StreamLimits>; 4] = [
    None,
    Some(StreamLimits {
        event_bytes: 256,
        item_bytes: 64,
        output_bytes: 512,
    }),
    Some(StreamLimits {
        event_bytes: 1024,
        item_bytes: 1024,
        output_bytes: 1024,
    }),
    Some(StreamLimits {
        event_bytes: 4096,
        item_bytes: 8192,
        output_bytes: 16384,
    }),
];

/// How a stream input is played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlan<'a> {
    /// Chunk sizes, used in turn (empty: the body in one piece).
    pub sizes: Vec<(usize, bool)>,
    /// End with a transport failure.
    pub transport_failure: bool,
    /// Reasoning as raw content.
    pub raw_reasoning: bool,
    /// The bounds.
    pub limits: StreamLimits,
    /// The upstream body.
    pub body: &'a [u8],
}

impl<'a> StreamPlan<'a> {
    /// Decode the header (see the module docs). Short inputs are fine: missing bytes mean an
    /// empty body.
    pub fn decode(data: &'a [u8]) -> StreamPlan<'a> {
        let Some((&flags, rest)) = data.split_first() else {
            return StreamPlan {
                sizes: Vec::new(),
                transport_failure: false,
                raw_reasoning: false,
                limits: StreamLimits::default(),
                body: &[],
            };
        };
        let n = usize::from(flags & 0b111).min(rest.len());
        let (sizes, body) = rest.split_at(n);
        StreamPlan {
            sizes: sizes
                .iter()
                .map(|b| {
                    (
                        usize::from(b & !SIZE_KEEPALIVE) + 1,
                        b & SIZE_KEEPALIVE != 0,
                    )
                })
                .collect(),
            transport_failure: flags & FLAG_TRANSPORT_FAILURE != 0,
            raw_reasoning: flags & FLAG_RAW_REASONING != 0,
            limits: LIMITS[usize::from((flags >> LIMITS_SHIFT) & 0b11)].unwrap_or_default(),
            body,
        }
    }

    /// The body cut into chunks, each with "keep-alive first".
    pub fn chunks(&self) -> Vec<(&'a [u8], bool)> {
        if self.sizes.is_empty() {
            return vec![(self.body, false)];
        }
        let mut out = Vec::new();
        let mut rest = self.body;
        let mut k = 0;
        while !rest.is_empty() {
            let (size, keepalive) = self.sizes[k % self.sizes.len()];
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            // Keep-alives only on the first pass over the sizes: each one clones the whole
            // response (tools included), and hundreds per input would slow the fuzzer many
            // times over without reaching new states.
            out.push((chunk, keepalive && k < self.sizes.len()));
            rest = tail;
            k += 1;
        }
        out
    }
}

/// The context for [`STREAM_REQUEST`], parsed once per process: parsing it for every input
/// would cost more than many of the inputs themselves.
fn stream_context(raw_reasoning: bool) -> ResponseContext {
    static CONTEXTS: OnceLock<[ResponseContext; 2]> = OnceLock::new();
    CONTEXTS.get_or_init(|| [build_stream_context(false), build_stream_context(true)])
        [usize::from(raw_reasoning)]
    .clone()
}

fn build_stream_context(raw_reasoning: bool) -> ResponseContext {
    let mut req: ResponsesRequest =
        serde_json::from_str(STREAM_REQUEST).expect("the built-in stream request parses");
    if raw_reasoning && let Some(r) = req.reasoning.as_mut() {
        r.summary = Some("none".to_owned());
    }
    let tool_map = lower_tools(&req.tools).map;
    ResponseContext::new(&req, "resp_fuzz".to_owned(), 0, tool_map)
}

/// A fresh transducer for `backend`, constructed as the proxy does.
pub fn transducer(
    backend: StreamBackend,
    raw_reasoning: bool,
    limits: StreamLimits,
) -> Box<dyn Transducer> {
    let ctx = stream_context(raw_reasoning).with_limits(limits);
    match backend {
        StreamBackend::Chat => Box::new(ChatStreamTranslator::new(ctx)),
        StreamBackend::Anthropic => Box::new(AnthropicStreamTranslator::new(ctx)),
        StreamBackend::CommandCode => Box::new(CommandCodeStreamTranslator::new(ctx)),
    }
}

/// Play a stream input (header + body) through `backend` the way the proxy's pump does
/// (start, keep-alives and chunks, then end of stream or a transport failure) and check the
/// invariants Codex relies on. Returns the events.
pub fn run_stream(backend: StreamBackend, data: &[u8]) -> Vec<ResponseEvent> {
    let plan = StreamPlan::decode(data);
    let mut t = transducer(backend, plan.raw_reasoning, plan.limits);
    let mut out = Vec::new();
    t.start(&mut out);
    for (chunk, keepalive) in plan.chunks() {
        if keepalive {
            t.keepalive(&mut out);
        }
        t.feed(chunk, &mut out);
    }
    if plan.transport_failure {
        t.fail(
            Failure::new(FailureKind::StreamCut, "connection reset (fuzz)"),
            &mut out,
        );
    } else {
        t.end_of_stream(&mut out);
    }
    // Calls after the end must be no-ops, as the pump may still send a keep-alive.
    let ended = out.len();
    t.keepalive(&mut out);
    t.end_of_stream(&mut out);
    assert_eq!(out.len(), ended, "events after the terminal event");
    check_stream(&out, t.as_ref());
    check_limits(&out, t.as_ref(), plan.limits);
    out
}

/// What the bounds promise: no item of a finished response is over the item bound, and a
/// response that failed past a bound says so, with a code Codex does not retry.
pub fn check_limits(events: &[ResponseEvent], t: &dyn Transducer, limits: StreamLimits) {
    let Some(last) = events.last().and_then(ResponseEvent::response) else {
        return;
    };
    if matches!(
        last_kind(events),
        "response.completed" | "response.incomplete"
    ) {
        let output = serde_json::to_value(&last.output).expect("the output serializes");
        for item in output.as_array().into_iter().flatten() {
            let text = item["content"][0]["text"].as_str().unwrap_or_default();
            let args = item["arguments"].as_str().unwrap_or_default();
            for (what, s) in [("text", text), ("arguments", args)] {
                assert!(
                    s.len() <= limits.item_bytes.max(2),
                    "an item's {what} ({} bytes) passed the item bound ({})",
                    s.len(),
                    limits.item_bytes
                );
            }
        }
    }
    if let Some(failure) = t.failure()
        && failure.kind == FailureKind::Oversized
    {
        let error = last.error.as_ref().expect("a failed response has an error");
        assert_eq!(
            error.code, "invalid_prompt",
            "an oversized response is retried"
        );
        assert!(
            error.message.starts_with("the upstream sent "),
            "the message does not name the bound: {}",
            error.message
        );
    }
}

fn last_kind(events: &[ResponseEvent]) -> &'static str {
    events.last().map_or("", ResponseEvent::kind)
}

/// The stream invariants (ARCHITECTURE.md, builder.rs) that are cheap to check.
pub fn check_stream(events: &[ResponseEvent], t: &dyn Transducer) {
    assert!(
        matches!(events.first(), Some(ResponseEvent::Created { .. })),
        "the stream does not start with response.created"
    );
    let mut last_seq: Option<u64> = None;
    let mut terminal: Option<usize> = None;
    let mut dones = 0;
    for (k, ev) in events.iter().enumerate() {
        let seq = sequence_number(ev);
        if let Some(prev) = last_seq {
            assert!(
                seq > prev,
                "event {k} ({}): sequence_number {seq} after {prev}",
                ev.kind()
            );
        }
        last_seq = Some(seq);
        if ev.is_terminal() {
            assert!(
                terminal.is_none(),
                "event {k} ({}): a second terminal event",
                ev.kind()
            );
            terminal = Some(k);
        }
        if matches!(ev, ResponseEvent::OutputItemDone { .. }) {
            dones += 1;
        }
        // What the proxy writes to Codex must serialize (`write_sse` writes `{}` when it
        // cannot). In-progress snapshots (keep-alives) repeat `response.created` with the same
        // fields and would dominate the run time (each echoes the tools), so they are skipped.
        if !matches!(ev, ResponseEvent::InProgress { .. }) {
            let mut sse = Vec::new();
            ev.write_sse(&mut sse);
            assert!(
                !sse.ends_with(b"data: {}\n\n"),
                "event {k} ({}) does not serialize",
                ev.kind()
            );
        }
    }
    // Every transducer ends the stream one way or another: EOF without a finish is a failure.
    let terminal = terminal.expect("no terminal event after the end of the stream");
    assert_eq!(terminal, events.len() - 1, "the terminal event is not last");
    assert!(
        t.is_finished(),
        "a terminal event but is_finished() is false"
    );
    let last = &events[terminal];
    assert_eq!(
        t.final_response(),
        last.response(),
        "final_response() differs from the terminal event"
    );
    // Codex runs every `output_item.done` call even when the stream then fails: a failed
    // stream must not have committed any item.
    if matches!(last, ResponseEvent::Failed { .. }) {
        assert_eq!(dones, 0, "output_item.done before response.failed");
    }
}

/// The `sequence_number` of any event.
pub fn sequence_number(ev: &ResponseEvent) -> u64 {
    match ev {
        ResponseEvent::Created {
            sequence_number, ..
        }
        | ResponseEvent::InProgress {
            sequence_number, ..
        }
        | ResponseEvent::OutputItemAdded {
            sequence_number, ..
        }
        | ResponseEvent::OutputItemDone {
            sequence_number, ..
        }
        | ResponseEvent::ContentPartAdded {
            sequence_number, ..
        }
        | ResponseEvent::ContentPartDone {
            sequence_number, ..
        }
        | ResponseEvent::OutputTextDelta {
            sequence_number, ..
        }
        | ResponseEvent::OutputTextDone {
            sequence_number, ..
        }
        | ResponseEvent::ReasoningSummaryPartAdded {
            sequence_number, ..
        }
        | ResponseEvent::ReasoningSummaryTextDelta {
            sequence_number, ..
        }
        | ResponseEvent::ReasoningSummaryTextDone {
            sequence_number, ..
        }
        | ResponseEvent::ReasoningSummaryPartDone {
            sequence_number, ..
        }
        | ResponseEvent::ReasoningTextDelta {
            sequence_number, ..
        }
        | ResponseEvent::ReasoningTextDone {
            sequence_number, ..
        }
        | ResponseEvent::FunctionCallArgumentsDelta {
            sequence_number, ..
        }
        | ResponseEvent::FunctionCallArgumentsDone {
            sequence_number, ..
        }
        | ResponseEvent::CustomToolCallInputDelta {
            sequence_number, ..
        }
        | ResponseEvent::CustomToolCallInputDone {
            sequence_number, ..
        }
        | ResponseEvent::Completed {
            sequence_number, ..
        }
        | ResponseEvent::Failed {
            sequence_number, ..
        }
        | ResponseEvent::Incomplete {
            sequence_number, ..
        } => *sequence_number,
    }
}

/// Parse a request body; when it parses, translate it for every Chat provider row, for
/// Anthropic and for Command Code, and serialize each body as the proxy does. The request's
/// own `model` is the upstream model, so the fuzzer also reaches the per-model tables.
pub fn run_request(data: &[u8]) {
    let Ok(req) = parse_request(data) else {
        return;
    };
    let items = req.input.clone().into_items();
    let model = req.model.as_str();
    for provider in ChatProvider::ALL {
        let t = to_chat(&req, &items, model, &provider.quirks());
        assert!(
            serde_json::to_vec(&t.request).is_ok(),
            "{provider:?}: the Chat request does not serialize"
        );
    }
    let t = to_anthropic(&req, &items, model);
    assert!(
        serde_json::to_vec(&t.request).is_ok(),
        "the Anthropic request does not serialize"
    );
    let cc = CommandCodeContext {
        working_dir: "/work".to_owned(),
        date: "2026-01-01".to_owned(),
    };
    let t = to_command_code(&req, &items, model, &cc, "resp_fuzz");
    assert!(
        serde_json::to_vec(&t.body).is_ok(),
        "the Command Code body does not serialize"
    );
    // The proxy also builds the stream context from every request it accepts.
    let _ = ResponseContext::new(&req, "resp_fuzz".to_owned(), 0, t.tool_map);
}
