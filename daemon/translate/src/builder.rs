//! Builds a Responses stream from upstream-neutral steps ("some reasoning", "some text",
//! "a tool call started", "finished because …"). Every upstream transducer (Chat, Anthropic,
//! Command Code) parses its own wire format and drives this builder, so the event order Codex
//! depends on lives in one place:
//!
//! - `response.created` + `response.in_progress` first;
//! - each item: `output_item.added`, its deltas, and `output_item.done` — but the `done`s are
//!   held back until the upstream declares the turn finished, because Codex commits (and runs)
//!   every `done` item even when the stream later fails. A cut stream must commit nothing;
//! - exactly one terminal event: `completed`, `incomplete` or `failed`.
//!
//! It also bounds what a response may hold ([`StreamLimits`]): one tool call's arguments, one
//! message, one reasoning item, and all items together. Past a bound the response fails at
//! once, before the fragment is stored, so a hostile upstream cannot grow it without end.

use serde_json::Value;

use crate::error::{Failure, FailureKind, Limit};
use crate::events::{Emitter, ResponseEvent};
use crate::reasoning_codec::{ReasoningOrigin, ReasoningPayload};
use crate::responses::{
    EchoedTools, IncompleteDetails, OutputContent, OutputItem, ReasoningParam, ReasoningTextPart,
    Response, ResponseError, ResponseStatus, ResponseUsage, ResponsesRequest, SummaryPart,
};
use crate::sse::DEFAULT_MAX_EVENT_BYTES;
use crate::tools::{ToolKind, ToolMap, custom_input};

/// Everything about the request a translator needs to build responses.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    /// `resp_…` id chosen by the caller (the proxy), also the stem of item ids.
    pub response_id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Model slug as requested.
    pub model: String,
    /// Tool names on the wire ⇄ Codex tools.
    pub tool_map: ToolMap,
    /// Show reasoning as summary text (the client asked for a summary) or as raw content.
    pub reasoning_as_summary: bool,
    /// Echo fields of the request.
    pub echo: RequestEcho,
    /// Bounds on what the upstream may send.
    pub limits: StreamLimits,
    /// Who produces this response's reasoning, recorded in its `encrypted_content` so a
    /// later hand-over to another provider knows (see [`crate::handover`]). `None` by default.
    pub reasoning_origin: Option<ReasoningOrigin>,
}

/// Bounds on what one upstream response may make us hold. Past one, the response fails with
/// [`FailureKind::Oversized`] and a message naming the bound.
///
/// One number is configured (`max_event_bytes`); the others are derived from it
/// ([`StreamLimits::from_event_bytes`]): Codex receives every item whole in one
/// `response.output_item.done` event and all of them in `response.completed`, so with items
/// and output bounded by the event bound we never send Codex an event larger than what we
/// accept from an upstream. Real answers are far below: a model's output cap (at most some
/// 128k tokens) is well under 1 MiB of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// One upstream SSE event (all its lines) or NDJSON line.
    pub event_bytes: usize,
    /// One output item's content: a tool call's arguments, a message's text, a reasoning
    /// item's text, signature and details.
    pub item_bytes: usize,
    /// Every output item together, each also counted [`ITEM_OVERHEAD`] bytes (so endless
    /// empty items are bounded too).
    pub output_bytes: usize,
}

/// What an item costs beyond its content (its ids and name, the envelopes of its events),
/// counted against [`StreamLimits::output_bytes`].
pub const ITEM_OVERHEAD: usize = 256;

impl StreamLimits {
    /// Every bound derived from the one on events (see the type's docs).
    pub fn from_event_bytes(event_bytes: usize) -> StreamLimits {
        StreamLimits {
            event_bytes,
            item_bytes: event_bytes,
            output_bytes: event_bytes,
        }
    }
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits::from_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }
}

/// Request fields a `Response` object repeats.
#[derive(Debug, Clone, Default)]
pub struct RequestEcho {
    /// `instructions`.
    pub instructions: Option<String>,
    /// `max_output_tokens`.
    pub max_output_tokens: Option<u64>,
    /// `parallel_tool_calls` (API default true).
    pub parallel_tool_calls: bool,
    /// `previous_response_id`.
    pub previous_response_id: Option<String>,
    /// `reasoning`.
    pub reasoning: Option<ReasoningParam>,
    /// `store`.
    pub store: Option<bool>,
    /// `temperature`.
    pub temperature: Option<f64>,
    /// `tool_choice` (default `"auto"`).
    pub tool_choice: Value,
    /// `tools`, serialized once for every snapshot.
    pub tools: EchoedTools,
    /// `top_p`.
    pub top_p: Option<f64>,
}

impl ResponseContext {
    /// Context for a request.
    pub fn new(
        req: &ResponsesRequest,
        response_id: String,
        created_at: u64,
        tool_map: ToolMap,
    ) -> Self {
        let summary = req.reasoning.as_ref().and_then(|r| r.summary.as_deref());
        ResponseContext {
            response_id,
            created_at,
            model: req.model.clone(),
            tool_map,
            reasoning_as_summary: matches!(summary, Some(s) if s != "none"),
            echo: RequestEcho {
                instructions: req.instructions.clone(),
                max_output_tokens: req.max_output_tokens,
                parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
                previous_response_id: req.previous_response_id.clone(),
                reasoning: req.reasoning.clone(),
                store: req.store,
                temperature: req.temperature,
                tool_choice: req
                    .tool_choice
                    .clone()
                    .unwrap_or_else(|| Value::String("auto".into())),
                tools: EchoedTools::new(&req.tools),
                top_p: req.top_p,
            },
            limits: StreamLimits::default(),
            reasoning_origin: None,
        }
    }

    /// The same context with other bounds.
    pub fn with_limits(mut self, limits: StreamLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// How the upstream ended the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Natural end (also when it says "stop" after tool calls).
    Stop,
    /// Ended to let tools run.
    ToolCalls,
    /// Hit the output token cap.
    Length,
    /// Stopped by a content filter or refusal.
    ContentFilter,
}

/// Handle of a tool call inside the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallHandle(usize);

#[derive(Debug)]
enum Slot {
    Message {
        id: String,
        text: String,
    },
    Reasoning {
        id: String,
        text: String,
        payload: Option<ReasoningPayload>,
        details: Vec<Value>,
    },
    Call {
        id: String,
        call_id: String,
        wire_name: String,
        args: String,
        kind: ToolKind,
    },
}

/// The builder. Feed it steps; it appends events to the `out` vectors you pass.
#[derive(Debug)]
pub struct ResponseBuilder {
    ctx: ResponseContext,
    em: Emitter,
    slots: Vec<Slot>,
    open_message: Option<usize>,
    open_reasoning: Option<usize>,
    usage: Option<ResponseUsage>,
    started: bool,
    terminal: Option<Response>,
    /// Content bytes of each slot (same indexes as `slots`).
    slot_bytes: Vec<usize>,
    /// Bytes counted against `limits.output_bytes`.
    output_bytes: usize,
    /// Why the response failed, once it has.
    failure: Option<Failure>,
}

impl ResponseBuilder {
    /// A builder for one response.
    pub fn new(ctx: ResponseContext) -> Self {
        ResponseBuilder {
            ctx,
            em: Emitter::default(),
            slots: Vec::new(),
            open_message: None,
            open_reasoning: None,
            usage: None,
            started: false,
            terminal: None,
            slot_bytes: Vec::new(),
            output_bytes: 0,
            failure: None,
        }
    }

    /// The context it was built with.
    pub fn context(&self) -> &ResponseContext {
        &self.ctx
    }

    /// Emit `response.created` and `response.in_progress` (once).
    pub fn start(&mut self, out: &mut Vec<ResponseEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let snapshot = self.snapshot(ResponseStatus::InProgress, Vec::new());
        out.push(ResponseEvent::Created {
            sequence_number: self.em.seq(),
            response: Box::new(snapshot.clone()),
        });
        out.push(ResponseEvent::InProgress {
            sequence_number: self.em.seq(),
            response: Box::new(snapshot),
        });
    }

    /// A keep-alive: another `response.in_progress`. Codex ignores its content but it resets
    /// Codex's idle timer while a slow upstream thinks.
    pub fn keepalive(&mut self, out: &mut Vec<ResponseEvent>) {
        if self.terminal.is_some() {
            return;
        }
        if !self.started {
            self.start(out);
            return;
        }
        let snapshot = self.snapshot(ResponseStatus::InProgress, Vec::new());
        out.push(ResponseEvent::InProgress {
            sequence_number: self.em.seq(),
            response: Box::new(snapshot),
        });
    }

    /// Whether a terminal event was emitted.
    pub fn is_finished(&self) -> bool {
        self.terminal.is_some()
    }

    /// Whether anything (text, reasoning, calls) has been produced.
    pub fn has_output(&self) -> bool {
        !self.slots.is_empty()
    }

    /// The terminal response, once emitted.
    pub fn final_response(&self) -> Option<&Response> {
        self.terminal.as_ref()
    }

    /// Why the response failed, once it has (the kind is lost in `response.failed`'s code,
    /// which several kinds share).
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The bounds in force.
    pub fn limits(&self) -> StreamLimits {
        self.ctx.limits
    }

    /// Count `bytes` more content of slot `index`. Past a bound, fail the response and
    /// return false: the caller must not store the fragment.
    fn charge(&mut self, index: usize, bytes: usize, out: &mut Vec<ResponseEvent>) -> bool {
        let limits = self.ctx.limits;
        let item = self.slot_bytes[index].saturating_add(bytes);
        if item > limits.item_bytes {
            let limit = match self.slots[index] {
                Slot::Message { .. } => Limit::Message,
                Slot::Reasoning { .. } => Limit::Reasoning,
                Slot::Call { .. } => Limit::ToolArguments,
            };
            self.fail(Failure::over_limit(limit, limits.item_bytes), out);
            return false;
        }
        if !self.hold(bytes, out) {
            return false;
        }
        self.slot_bytes[index] = item;
        true
    }

    /// Count what a transducer keeps itself (fragments of a tool call whose name has not
    /// arrived yet, open Anthropic blocks) against the output bound; past it, fail the
    /// response and return false.
    /// [`ResponseBuilder::release`] gives the bytes back once they are handed over.
    pub fn hold(&mut self, bytes: usize, out: &mut Vec<ResponseEvent>) -> bool {
        let total = self.output_bytes.saturating_add(bytes);
        if total > self.ctx.limits.output_bytes {
            let limit = self.ctx.limits.output_bytes;
            self.fail(Failure::over_limit(Limit::Output, limit), out);
            return false;
        }
        self.output_bytes = total;
        true
    }

    /// Give back bytes counted by [`ResponseBuilder::hold`].
    pub fn release(&mut self, bytes: usize) {
        self.output_bytes = self.output_bytes.saturating_sub(bytes);
    }

    /// Add a slot, counted against the output bound; `None` (the response failed) past it.
    fn push_slot(
        &mut self,
        slot: Slot,
        extra: usize,
        out: &mut Vec<ResponseEvent>,
    ) -> Option<usize> {
        if !self.hold(ITEM_OVERHEAD.saturating_add(extra), out) {
            return None;
        }
        self.slots.push(slot);
        self.slot_bytes.push(0);
        Some(self.slots.len() - 1)
    }

    /// Record usage (replaces earlier values: providers send cumulative numbers).
    pub fn set_usage(&mut self, usage: ResponseUsage) {
        self.usage = Some(usage);
    }

    /// Usage recorded so far.
    pub fn usage(&self) -> Option<&ResponseUsage> {
        self.usage.as_ref()
    }

    fn item_id(&self, prefix: &str) -> String {
        let stem = self
            .ctx
            .response_id
            .strip_prefix("resp_")
            .unwrap_or(&self.ctx.response_id);
        format!("{prefix}_{stem}_{}", self.slots.len())
    }

    /// Reasoning text fragment.
    pub fn reasoning_delta(&mut self, text: &str, out: &mut Vec<ResponseEvent>) {
        if text.is_empty() || self.terminal.is_some() {
            return;
        }
        self.start(out);
        let Some(index) = self.reasoning_index(out) else {
            return;
        };
        if !self.charge(index, text.len(), out) {
            return;
        }
        let summary = self.ctx.reasoning_as_summary;
        if let Slot::Reasoning { id, text: acc, .. } = &mut self.slots[index] {
            acc.push_str(text);
            let item_id = id.clone();
            let seq = self.em.seq();
            out.push(if summary {
                ResponseEvent::ReasoningSummaryTextDelta {
                    sequence_number: seq,
                    item_id,
                    output_index: index as u32,
                    summary_index: 0,
                    delta: text.to_owned(),
                }
            } else {
                ResponseEvent::ReasoningTextDelta {
                    sequence_number: seq,
                    item_id,
                    output_index: index as u32,
                    content_index: 0,
                    delta: text.to_owned(),
                }
            });
        }
    }

    /// OpenRouter `reasoning_details` entries to echo back unchanged.
    pub fn reasoning_details(&mut self, details: Vec<Value>, out: &mut Vec<ResponseEvent>) {
        if details.is_empty() || self.terminal.is_some() {
            return;
        }
        self.start(out);
        let Some(index) = self.reasoning_index(out) else {
            return;
        };
        let bytes = details.iter().map(json_size).sum();
        if !self.charge(index, bytes, out) {
            return;
        }
        if let Slot::Reasoning { details: acc, .. } = &mut self.slots[index] {
            acc.extend(details);
        }
    }

    /// Set the exact payload of the open reasoning item (Anthropic thinking + signature).
    /// Without it, the payload is the accumulated text (and details). What it holds beyond
    /// the text given to [`ResponseBuilder::reasoning_delta`] (a signature, redacted data)
    /// counts against the bounds.
    pub fn reasoning_payload(&mut self, payload: ReasoningPayload, out: &mut Vec<ResponseEvent>) {
        if self.terminal.is_some() {
            return;
        }
        self.start(out);
        let Some(index) = self.reasoning_index(out) else {
            return;
        };
        let extra = match &payload {
            ReasoningPayload::Thinking { signature, .. } => signature.len(),
            ReasoningPayload::RedactedThinking { data } => data.len(),
            ReasoningPayload::Chat { .. } => 0,
        };
        if !self.charge(index, extra, out) {
            return;
        }
        if let Slot::Reasoning { payload: p, .. } = &mut self.slots[index] {
            *p = Some(payload);
        }
    }

    /// End the current reasoning item; the next reasoning starts a new one (Anthropic blocks).
    pub fn close_reasoning(&mut self) {
        self.open_reasoning = None;
    }

    /// The open reasoning item, opened if there is none; `None` when that passed a bound.
    fn reasoning_index(&mut self, out: &mut Vec<ResponseEvent>) -> Option<usize> {
        match self.open_reasoning {
            Some(i) => Some(i),
            None => self.open_reasoning_item(out),
        }
    }

    fn open_reasoning_item(&mut self, out: &mut Vec<ResponseEvent>) -> Option<usize> {
        let id = self.item_id("rs");
        let slot = Slot::Reasoning {
            id: id.clone(),
            text: String::new(),
            payload: None,
            details: Vec::new(),
        };
        let index = self.push_slot(slot, 0, out)?;
        self.open_reasoning = Some(index);
        let item = OutputItem::Reasoning {
            id: id.clone(),
            summary: Vec::new(),
            content: None,
            encrypted_content: None,
            status: "in_progress",
        };
        out.push(ResponseEvent::OutputItemAdded {
            sequence_number: self.em.seq(),
            output_index: index as u32,
            item,
        });
        if self.ctx.reasoning_as_summary {
            out.push(ResponseEvent::ReasoningSummaryPartAdded {
                sequence_number: self.em.seq(),
                item_id: id,
                output_index: index as u32,
                summary_index: 0,
                part: SummaryPart {
                    kind: "summary_text",
                    text: String::new(),
                },
            });
        }
        Some(index)
    }

    /// Assistant text fragment.
    pub fn text_delta(&mut self, text: &str, out: &mut Vec<ResponseEvent>) {
        if text.is_empty() || self.terminal.is_some() {
            return;
        }
        self.start(out);
        // Text after reasoning: the reasoning block is over.
        self.open_reasoning = None;
        let index = match self.open_message {
            Some(i) => i,
            None => {
                let id = self.item_id("msg");
                let slot = Slot::Message {
                    id: id.clone(),
                    text: String::new(),
                };
                let Some(index) = self.push_slot(slot, 0, out) else {
                    return;
                };
                self.open_message = Some(index);
                let item = OutputItem::Message {
                    id: id.clone(),
                    status: "in_progress",
                    role: "assistant",
                    content: Vec::new(),
                };
                out.push(ResponseEvent::OutputItemAdded {
                    sequence_number: self.em.seq(),
                    output_index: index as u32,
                    item,
                });
                out.push(ResponseEvent::ContentPartAdded {
                    sequence_number: self.em.seq(),
                    item_id: id,
                    output_index: index as u32,
                    content_index: 0,
                    part: OutputContent::text(String::new()),
                });
                index
            }
        };
        if !self.charge(index, text.len(), out) {
            return;
        }
        if let Slot::Message { id, text: acc } = &mut self.slots[index] {
            acc.push_str(text);
            let item_id = id.clone();
            out.push(ResponseEvent::OutputTextDelta {
                sequence_number: self.em.seq(),
                item_id,
                output_index: index as u32,
                content_index: 0,
                delta: text.to_owned(),
                logprobs: [],
            });
        }
    }

    /// A tool call begins. `wire_name` is the name the model used. When the response has
    /// ended (or ends now, past a bound), the handle leads nowhere.
    pub fn call_start(
        &mut self,
        call_id: &str,
        wire_name: &str,
        out: &mut Vec<ResponseEvent>,
    ) -> CallHandle {
        if self.terminal.is_some() {
            return CallHandle(usize::MAX);
        }
        self.start(out);
        self.open_reasoning = None;
        let target = self.ctx.tool_map.resolve(wire_name);
        let (id, item) = match target.kind {
            ToolKind::Function => {
                let id = self.item_id("fc");
                let item = OutputItem::FunctionCall {
                    id: id.clone(),
                    call_id: call_id.to_owned(),
                    name: target.name,
                    namespace: target.namespace,
                    arguments: String::new(),
                    status: "in_progress",
                };
                (id, item)
            }
            ToolKind::Custom => {
                let id = self.item_id("ctc");
                let item = OutputItem::CustomToolCall {
                    id: id.clone(),
                    call_id: call_id.to_owned(),
                    name: target.name,
                    namespace: target.namespace,
                    input: String::new(),
                    status: "in_progress",
                };
                (id, item)
            }
        };
        let slot = Slot::Call {
            id,
            call_id: call_id.to_owned(),
            wire_name: wire_name.to_owned(),
            args: String::new(),
            kind: target.kind,
        };
        let Some(index) = self.push_slot(slot, call_id.len() + wire_name.len(), out) else {
            return CallHandle(usize::MAX);
        };
        out.push(ResponseEvent::OutputItemAdded {
            sequence_number: self.em.seq(),
            output_index: index as u32,
            item,
        });
        CallHandle(index)
    }

    /// A fragment of a call's JSON arguments.
    pub fn call_args(&mut self, call: CallHandle, fragment: &str, out: &mut Vec<ResponseEvent>) {
        if fragment.is_empty() || call.0 >= self.slots.len() || self.terminal.is_some() {
            return;
        }
        if !self.charge(call.0, fragment.len(), out) {
            return;
        }
        let seq = &mut self.em;
        if let Some(Slot::Call { id, args, kind, .. }) = self.slots.get_mut(call.0) {
            args.push_str(fragment);
            // Freeform input is wrapped in JSON on the wire; its raw text is only known at the
            // end, so custom calls get their single input delta in `finish`.
            if *kind == ToolKind::Function {
                out.push(ResponseEvent::FunctionCallArgumentsDelta {
                    sequence_number: seq.seq(),
                    item_id: id.clone(),
                    output_index: call.0 as u32,
                    delta: fragment.to_owned(),
                });
            }
        }
    }

    /// Replace a call's arguments wholesale (an upstream that sends the final input at once).
    pub fn call_set_args(
        &mut self,
        call: CallHandle,
        arguments: String,
        out: &mut Vec<ResponseEvent>,
    ) {
        if call.0 >= self.slots.len() || self.terminal.is_some() {
            return;
        }
        // The new arguments replace the old ones in the count too.
        let old = std::mem::take(&mut self.slot_bytes[call.0]);
        self.release(old);
        if !self.charge(call.0, arguments.len(), out) {
            return;
        }
        if let Some(Slot::Call { args, .. }) = self.slots.get_mut(call.0) {
            *args = arguments;
        }
    }

    /// Arguments accumulated so far for a call.
    pub fn call_args_so_far(&self, call: CallHandle) -> Option<&str> {
        match self.slots.get(call.0) {
            Some(Slot::Call { args, .. }) => Some(args),
            _ => None,
        }
    }

    /// Number of tool calls so far.
    pub fn call_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Call { .. }))
            .count()
    }

    /// The upstream finished the turn: emit every item's `done` and the terminal event.
    pub fn finish(&mut self, finish: Finish, out: &mut Vec<ResponseEvent>) {
        if self.terminal.is_some() {
            return;
        }
        self.start(out);
        if self.slots.is_empty() && matches!(finish, Finish::Stop | Finish::ToolCalls) {
            // An empty answer ends Codex's turn with nothing; better to let it retry.
            self.fail(
                Failure::new(
                    FailureKind::Server,
                    "the upstream returned an empty response",
                ),
                out,
            );
            return;
        }
        let truncated = matches!(finish, Finish::Length | Finish::ContentFilter);
        let slots = std::mem::take(&mut self.slots);
        self.slot_bytes.clear();
        let mut output = Vec::with_capacity(slots.len());
        for (index, slot) in slots.into_iter().enumerate() {
            let Some(item) = self.close_slot(index as u32, slot, truncated, out) else {
                continue;
            };
            out.push(ResponseEvent::OutputItemDone {
                sequence_number: self.em.seq(),
                output_index: index as u32,
                item: item.clone(),
            });
            output.push(item);
        }
        let (status, details) = match finish {
            Finish::Stop | Finish::ToolCalls => (ResponseStatus::Completed, None),
            Finish::Length => (ResponseStatus::Incomplete, Some("max_output_tokens")),
            Finish::ContentFilter => (ResponseStatus::Incomplete, Some("content_filter")),
        };
        let mut response = self.snapshot(status, output);
        response.completed_at =
            (status == ResponseStatus::Completed).then_some(self.ctx.created_at);
        response.incomplete_details = details.map(|r| IncompleteDetails {
            reason: r.to_owned(),
        });
        let seq = self.em.seq();
        out.push(match status {
            ResponseStatus::Completed => ResponseEvent::Completed {
                sequence_number: seq,
                response: Box::new(response.clone()),
            },
            _ => ResponseEvent::Incomplete {
                sequence_number: seq,
                response: Box::new(response.clone()),
            },
        });
        self.terminal = Some(response);
    }

    /// Emit the `.done` events of one slot and return its final item. Calls whose arguments
    /// were cut by the token cap are dropped: running them would act on half a command.
    fn close_slot(
        &mut self,
        index: u32,
        slot: Slot,
        truncated: bool,
        out: &mut Vec<ResponseEvent>,
    ) -> Option<OutputItem> {
        match slot {
            Slot::Message { id, text } => {
                out.push(ResponseEvent::OutputTextDone {
                    sequence_number: self.em.seq(),
                    item_id: id.clone(),
                    output_index: index,
                    content_index: 0,
                    text: text.clone(),
                    logprobs: [],
                });
                let part = OutputContent::text(text);
                out.push(ResponseEvent::ContentPartDone {
                    sequence_number: self.em.seq(),
                    item_id: id.clone(),
                    output_index: index,
                    content_index: 0,
                    part: part.clone(),
                });
                let status = if truncated { "incomplete" } else { "completed" };
                Some(OutputItem::Message {
                    id,
                    status,
                    role: "assistant",
                    content: vec![part],
                })
            }
            Slot::Reasoning {
                id,
                text,
                payload,
                details,
            } => {
                let payload = payload.unwrap_or_else(|| ReasoningPayload::Chat {
                    text: text.clone(),
                    details: (!details.is_empty()).then_some(details),
                });
                let (summary, content) = if self.ctx.reasoning_as_summary {
                    out.push(ResponseEvent::ReasoningSummaryTextDone {
                        sequence_number: self.em.seq(),
                        item_id: id.clone(),
                        output_index: index,
                        summary_index: 0,
                        text: text.clone(),
                    });
                    let part = SummaryPart {
                        kind: "summary_text",
                        text,
                    };
                    out.push(ResponseEvent::ReasoningSummaryPartDone {
                        sequence_number: self.em.seq(),
                        item_id: id.clone(),
                        output_index: index,
                        summary_index: 0,
                        part: part.clone(),
                    });
                    (vec![part], None)
                } else {
                    if !text.is_empty() {
                        out.push(ResponseEvent::ReasoningTextDone {
                            sequence_number: self.em.seq(),
                            item_id: id.clone(),
                            output_index: index,
                            content_index: 0,
                            text: text.clone(),
                        });
                    }
                    (
                        Vec::new(),
                        Some(vec![ReasoningTextPart {
                            kind: "reasoning_text",
                            text,
                        }]),
                    )
                };
                Some(OutputItem::Reasoning {
                    id,
                    summary,
                    content,
                    encrypted_content: Some(
                        payload.encode_with_origin(self.ctx.reasoning_origin.as_ref()),
                    ),
                    status: "completed",
                })
            }
            Slot::Call {
                id,
                call_id,
                wire_name,
                args,
                kind,
            } => {
                let args = if args.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    args
                };
                if truncated && serde_json::from_str::<serde::de::IgnoredAny>(&args).is_err() {
                    return None;
                }
                let target = self.ctx.tool_map.resolve(&wire_name);
                match kind {
                    ToolKind::Function => {
                        out.push(ResponseEvent::FunctionCallArgumentsDone {
                            sequence_number: self.em.seq(),
                            item_id: id.clone(),
                            name: target.name.clone(),
                            output_index: index,
                            arguments: args.clone(),
                        });
                        Some(OutputItem::FunctionCall {
                            id,
                            call_id,
                            name: target.name,
                            namespace: target.namespace,
                            arguments: args,
                            status: "completed",
                        })
                    }
                    ToolKind::Custom => {
                        let input = custom_input(&args);
                        out.push(ResponseEvent::CustomToolCallInputDelta {
                            sequence_number: self.em.seq(),
                            item_id: id.clone(),
                            output_index: index,
                            delta: input.clone(),
                        });
                        out.push(ResponseEvent::CustomToolCallInputDone {
                            sequence_number: self.em.seq(),
                            item_id: id.clone(),
                            output_index: index,
                            input: input.clone(),
                        });
                        Some(OutputItem::CustomToolCall {
                            id,
                            call_id,
                            name: target.name,
                            namespace: target.namespace,
                            input,
                            status: "completed",
                        })
                    }
                }
            }
        }
    }

    /// The turn failed: emit `response.failed`. Items not yet done are dropped on purpose, so
    /// Codex's retry starts from a clean history.
    pub fn fail(&mut self, failure: Failure, out: &mut Vec<ResponseEvent>) {
        if self.terminal.is_some() {
            return;
        }
        self.start(out);
        let mut response = self.snapshot(ResponseStatus::Failed, Vec::new());
        response.error = Some(ResponseError {
            code: failure.kind.code().to_owned(),
            message: failure.codex_message(),
        });
        out.push(ResponseEvent::Failed {
            sequence_number: self.em.seq(),
            response: Box::new(response.clone()),
        });
        // Released, not just emptied: a response that failed past a bound must not keep
        // holding what it had.
        self.slots = Vec::new();
        self.slot_bytes = Vec::new();
        self.terminal = Some(response);
        self.failure = Some(failure);
    }

    fn snapshot(&self, status: ResponseStatus, output: Vec<OutputItem>) -> Response {
        let echo = &self.ctx.echo;
        Response {
            id: self.ctx.response_id.clone(),
            object: "response",
            created_at: self.ctx.created_at,
            status,
            completed_at: None,
            error: None,
            incomplete_details: None,
            instructions: echo.instructions.clone(),
            max_output_tokens: echo.max_output_tokens,
            metadata: Default::default(),
            model: self.ctx.model.clone(),
            output,
            parallel_tool_calls: echo.parallel_tool_calls,
            previous_response_id: echo.previous_response_id.clone(),
            reasoning: echo.reasoning.clone(),
            store: echo.store,
            temperature: echo.temperature,
            tool_choice: echo.tool_choice.clone(),
            tools: echo.tools.clone(),
            top_p: echo.top_p,
            usage: if status == ResponseStatus::InProgress {
                None
            } else {
                self.usage.clone()
            },
        }
    }
}

/// About how many bytes a JSON value takes serialized (exact for ASCII strings without
/// escapes, numbers counted as 8): to count `reasoning_details` against the bounds without
/// serializing them.
fn json_size(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => a.iter().map(json_size).sum::<usize>() + a.len() + 2,
        Value::Object(o) => {
            o.iter()
                .map(|(k, v)| k.len() + 4 + json_size(v))
                .sum::<usize>()
                + 2
        }
    }
}
