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

use serde_json::Value;

use crate::error::{Failure, FailureKind};
use crate::events::{Emitter, ResponseEvent};
use crate::reasoning_codec::{ReasoningOrigin, ReasoningPayload};
use crate::responses::{
    EchoedTools, IncompleteDetails, OutputContent, OutputItem, ReasoningParam, ReasoningTextPart,
    Response, ResponseError, ResponseStatus, ResponseUsage, ResponsesRequest, SummaryPart,
};
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
    /// Who produces this response's reasoning, recorded in its `encrypted_content` so a
    /// later hand-over to another provider knows (see [`crate::handover`]). `None` by default.
    pub reasoning_origin: Option<ReasoningOrigin>,
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
            reasoning_origin: None,
        }
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
        if text.is_empty() {
            return;
        }
        self.start(out);
        let index = match self.open_reasoning {
            Some(i) => i,
            None => self.open_reasoning_item(out),
        };
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
        if details.is_empty() {
            return;
        }
        self.start(out);
        let index = match self.open_reasoning {
            Some(i) => i,
            None => self.open_reasoning_item(out),
        };
        if let Slot::Reasoning { details: acc, .. } = &mut self.slots[index] {
            acc.extend(details);
        }
    }

    /// Set the exact payload of the open reasoning item (Anthropic thinking + signature).
    /// Without it, the payload is the accumulated text (and details).
    pub fn reasoning_payload(&mut self, payload: ReasoningPayload, out: &mut Vec<ResponseEvent>) {
        self.start(out);
        let index = match self.open_reasoning {
            Some(i) => i,
            None => self.open_reasoning_item(out),
        };
        if let Slot::Reasoning { payload: p, .. } = &mut self.slots[index] {
            *p = Some(payload);
        }
    }

    /// End the current reasoning item; the next reasoning starts a new one (Anthropic blocks).
    pub fn close_reasoning(&mut self) {
        self.open_reasoning = None;
    }

    fn open_reasoning_item(&mut self, out: &mut Vec<ResponseEvent>) -> usize {
        let id = self.item_id("rs");
        let index = self.slots.len();
        self.slots.push(Slot::Reasoning {
            id: id.clone(),
            text: String::new(),
            payload: None,
            details: Vec::new(),
        });
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
        index
    }

    /// Assistant text fragment.
    pub fn text_delta(&mut self, text: &str, out: &mut Vec<ResponseEvent>) {
        if text.is_empty() {
            return;
        }
        self.start(out);
        // Text after reasoning: the reasoning block is over.
        self.open_reasoning = None;
        let index = match self.open_message {
            Some(i) => i,
            None => {
                let id = self.item_id("msg");
                let index = self.slots.len();
                self.slots.push(Slot::Message {
                    id: id.clone(),
                    text: String::new(),
                });
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

    /// A tool call begins. `wire_name` is the name the model used.
    pub fn call_start(
        &mut self,
        call_id: &str,
        wire_name: &str,
        out: &mut Vec<ResponseEvent>,
    ) -> CallHandle {
        self.start(out);
        self.open_reasoning = None;
        let target = self.ctx.tool_map.resolve(wire_name);
        let index = self.slots.len();
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
        self.slots.push(Slot::Call {
            id,
            call_id: call_id.to_owned(),
            wire_name: wire_name.to_owned(),
            args: String::new(),
            kind: target.kind,
        });
        out.push(ResponseEvent::OutputItemAdded {
            sequence_number: self.em.seq(),
            output_index: index as u32,
            item,
        });
        CallHandle(index)
    }

    /// A fragment of a call's JSON arguments.
    pub fn call_args(&mut self, call: CallHandle, fragment: &str, out: &mut Vec<ResponseEvent>) {
        if fragment.is_empty() {
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
    pub fn call_set_args(&mut self, call: CallHandle, arguments: String) {
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
        self.slots.clear();
        self.terminal = Some(response);
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
