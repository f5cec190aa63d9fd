//! Chat Completions SSE → Responses events, as a state machine fed bytes.
//!
//! Handles what real providers do: tool calls accumulated by `index` with the id and name only
//! on the first fragment and several calls interleaved; hosts that omit `index` or reuse index
//! 0 for every call; reasoning in `reasoning_content`, `reasoning` or `reasoning_details`;
//! `<think>` tags inside `content` (vLLM/Ollama without a reasoning parser); usage in a final
//! chunk with no choices or inside the choice (Kimi); an empty-string `finish_reason` that does
//! not end anything; `[DONE]` or plain EOF after a finish; errors inside the stream.

use serde_json::Value;

use crate::Transducer;
use crate::builder::{CallHandle, Finish, ITEM_OVERHEAD, ResponseBuilder, ResponseContext};
use crate::chat::{ChatChunk, ChatToolCallDelta};
use crate::error::{Failure, FailureKind, Limit};
use crate::events::ResponseEvent;
use crate::responses::Response;
use crate::sse::{SseEvent, SseParser};

#[derive(Debug)]
struct PendingCall {
    index: u32,
    id: Option<String>,
    name: Option<String>,
    /// Arguments received before the name was known.
    buffered: String,
    /// Bytes of this call counted by `ResponseBuilder::hold` while it has no handle.
    held: usize,
    handle: Option<CallHandle>,
}

/// Where we are with respect to `<think>` tags in content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThinkTags {
    /// No content yet: the first characters decide.
    Undecided,
    /// Inside `<think>…`: content is reasoning.
    Inside,
    /// Plain content.
    Off,
}

const OPEN_TAG: &str = "<think>";
const CLOSE_TAG: &str = "</think>";

/// The transducer.
#[derive(Debug)]
pub struct ChatStreamTranslator {
    builder: ResponseBuilder,
    sse: SseParser,
    calls: Vec<PendingCall>,
    finish_reason: Option<String>,
    done: bool,
    think: ThinkTags,
    /// Content held back while deciding about / looking for a tag split across chunks.
    held: String,
}

impl ChatStreamTranslator {
    /// A transducer for one response.
    pub fn new(ctx: ResponseContext) -> Self {
        ChatStreamTranslator {
            sse: SseParser::new(ctx.limits.event_bytes),
            builder: ResponseBuilder::new(ctx),
            calls: Vec::new(),
            finish_reason: None,
            done: false,
            think: ThinkTags::Undecided,
            held: String::new(),
        }
    }

    fn on_event(&mut self, ev: SseEvent<'_>, out: &mut Vec<ResponseEvent>) {
        if self.builder.is_finished() {
            return;
        }
        let data = ev.data.trim();
        if data == "[DONE]" || data == "DONE" {
            self.done = true;
            self.complete(out);
            return;
        }
        let chunk: ChatChunk = match serde_json::from_str(data) {
            Ok(c) => c,
            // Not JSON (a keep-alive, a stray log line): nothing to translate.
            Err(_) => return,
        };
        if let Some(err) = chunk.error {
            let code = match &err.code {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => err.kind.clone(),
            };
            let kind = FailureKind::from_stream_error(code.as_deref(), &err.message);
            let message = if err.message.is_empty() {
                "the upstream reported an error mid-stream".to_owned()
            } else {
                err.message
            };
            self.builder.fail(Failure::new(kind, message), out);
            return;
        }
        for choice in chunk.choices {
            if choice.index != 0 {
                continue;
            }
            let delta = choice.delta;
            if let Some(r) = delta.reasoning_content.as_deref() {
                self.builder.reasoning_delta(r, out);
            } else if let Some(r) = &delta.reasoning {
                // OpenRouter sends the same text in `reasoning` and `reasoning_details`;
                // the text comes from here, the details are kept only for the echo.
                if let Some(text) = reasoning_text(r) {
                    self.builder.reasoning_delta(text, out);
                }
            } else if let Some(details) = &delta.reasoning_details {
                for d in details {
                    if let Some(text) = d.get("text").and_then(Value::as_str) {
                        self.builder.reasoning_delta(text, out);
                    }
                }
            }
            if let Some(details) = delta.reasoning_details {
                self.builder.reasoning_details(details, out);
            }
            match &delta.content {
                Some(Value::String(s)) => self.content(s, out),
                Some(Value::Array(parts)) => {
                    for p in parts {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            self.content(t, out);
                        }
                    }
                }
                _ => {}
            }
            if let Some(refusal) = &delta.refusal {
                self.builder.text_delta(refusal, out);
            }
            if let Some(calls) = delta.tool_calls {
                for (pos, call) in calls.into_iter().enumerate() {
                    self.tool_call(pos, call, out);
                }
            }
            if let Some(usage) = choice.usage {
                self.builder.set_usage(usage.to_responses());
            }
            match choice.finish_reason {
                // "" on intermediate chunks is not a finish (Claude via OpenRouter).
                Some(reason) if !reason.is_empty() => self.finish_reason = Some(reason),
                _ => {}
            }
        }
        if let Some(usage) = chunk.usage {
            self.builder.set_usage(usage.to_responses());
        }
    }

    /// Route content through `<think>` detection.
    fn content(&mut self, text: &str, out: &mut Vec<ResponseEvent>) {
        if text.is_empty() {
            return;
        }
        if self.think == ThinkTags::Off {
            self.builder.text_delta(text, out);
            return;
        }
        // Held content is bounded like the message it will become (whitespace before a
        // possible `<think>` waits here without end otherwise).
        let limit = self.builder.limits().item_bytes;
        if self.held.len().saturating_add(text.len()) > limit {
            self.builder
                .fail(Failure::over_limit(Limit::Message, limit), out);
            return;
        }
        self.held.push_str(text);
        loop {
            match self.think {
                ThinkTags::Off => {
                    let rest = std::mem::take(&mut self.held);
                    self.builder.text_delta(&rest, out);
                    return;
                }
                ThinkTags::Undecided => {
                    let trimmed = self.held.trim_start();
                    if trimmed.len() < OPEN_TAG.len() && OPEN_TAG.starts_with(trimmed) {
                        return; // wait for more
                    }
                    if let Some(rest) = trimmed.strip_prefix(OPEN_TAG) {
                        self.held = rest.to_owned();
                        self.think = ThinkTags::Inside;
                    } else {
                        self.think = ThinkTags::Off;
                    }
                }
                ThinkTags::Inside => {
                    if let Some(end) = self.held.find(CLOSE_TAG) {
                        let reasoning: String = self.held[..end].to_owned();
                        let rest = self.held[end + CLOSE_TAG.len()..].trim_start().to_owned();
                        self.builder.reasoning_delta(&reasoning, out);
                        self.held = rest;
                        self.think = ThinkTags::Off;
                        if self.held.is_empty() {
                            return;
                        }
                    } else {
                        // Emit all but a tail that could be the start of the closing tag.
                        let keep = (1..CLOSE_TAG.len())
                            .rev()
                            .find(|n| self.held.ends_with(&CLOSE_TAG[..*n]))
                            .unwrap_or(0);
                        let cut = self.held.len() - keep;
                        if cut > 0 {
                            let reasoning: String = self.held[..cut].to_owned();
                            self.held.drain(..cut);
                            self.builder.reasoning_delta(&reasoning, out);
                        }
                        return;
                    }
                }
            }
        }
    }

    fn flush_held(&mut self, out: &mut Vec<ResponseEvent>) {
        let held = std::mem::take(&mut self.held);
        match self.think {
            ThinkTags::Inside => self.builder.reasoning_delta(&held, out),
            _ => self.builder.text_delta(&held, out),
        }
    }

    fn tool_call(&mut self, pos: usize, tc: ChatToolCallDelta, out: &mut Vec<ResponseEvent>) {
        let (name, args) = match tc.function {
            Some(f) => (
                f.name.filter(|n| !n.is_empty()),
                f.arguments.unwrap_or_default(),
            ),
            None => (None, String::new()),
        };
        let pending = self.calls.len();
        let slot = self.find_call(pos, tc.index, tc.id.as_deref(), name.is_some());
        if self.calls.len() > pending {
            // A new call is an output item to come: counted from now on, so that endless
            // nameless fragments are bounded too.
            if !self.builder.hold(ITEM_OVERHEAD, out) {
                return;
            }
            self.calls[slot].held = ITEM_OVERHEAD;
        }
        let limit = self.builder.limits().item_bytes;
        let call = &mut self.calls[slot];
        if call.id.is_none() {
            call.id = tc.id.filter(|id| !id.is_empty());
        }
        if call.name.is_none() {
            call.name = name;
        }
        match call.handle {
            Some(handle) => self.builder.call_args(handle, &args, out),
            None => {
                if call.buffered.len().saturating_add(args.len()) > limit {
                    self.builder
                        .fail(Failure::over_limit(Limit::ToolArguments, limit), out);
                    return;
                }
                if !self.builder.hold(args.len(), out) {
                    return;
                }
                call.held += args.len();
                call.buffered.push_str(&args);
                if let Some(name) = call.name.clone() {
                    // From here the builder counts the call itself.
                    self.builder.release(std::mem::take(&mut call.held));
                    let call_id = call.id.clone().unwrap_or_else(|| {
                        format!("call_{}_{}", self.builder.context().response_id, call.index)
                    });
                    let buffered = std::mem::take(&mut call.buffered);
                    let handle = self.builder.call_start(&call_id, &name, out);
                    self.builder.call_args(handle, &buffered, out);
                    self.calls[slot].handle = Some(handle);
                }
            }
        }
    }

    /// Which pending call a fragment belongs to.
    fn find_call(
        &mut self,
        pos: usize,
        index: Option<u32>,
        id: Option<&str>,
        has_name: bool,
    ) -> usize {
        let by_index = index.and_then(|i| self.calls.iter().rposition(|c| c.index == i));
        if let Some(slot) = by_index {
            let c = &self.calls[slot];
            // A host that numbers every call 0: a new id on an index that already has a
            // complete call is a new call.
            let new_call = match (id, &c.id) {
                (Some(new), Some(old)) => new != old && has_name,
                _ => false,
            };
            if !new_call {
                return slot;
            }
        } else if index.is_none() {
            if let Some(slot) =
                id.and_then(|id| self.calls.iter().position(|c| c.id.as_deref() == Some(id)))
            {
                return slot;
            }
            if id.is_none() && !self.calls.is_empty() {
                return self.calls.len() - 1;
            }
        }
        let index = match index {
            Some(i) if by_index.is_none() => i,
            _ => self
                .calls
                .iter()
                .map(|c| c.index.saturating_add(1))
                .max()
                .unwrap_or(pos as u32)
                .max(pos as u32),
        };
        self.calls.push(PendingCall {
            index,
            id: None,
            name: None,
            buffered: String::new(),
            held: 0,
            handle: None,
        });
        self.calls.len() - 1
    }

    fn complete(&mut self, out: &mut Vec<ResponseEvent>) {
        if self.builder.is_finished() {
            return;
        }
        self.flush_held(out);
        let has_calls = self.builder.call_count() > 0;
        let finish = match self.finish_reason.as_deref() {
            Some("length" | "max_tokens" | "max_output_tokens") => Finish::Length,
            Some("content_filter" | "refusal") => Finish::ContentFilter,
            Some("insufficient_system_resource" | "error") => {
                let reason = self.finish_reason.clone().unwrap_or_default();
                self.builder.fail(
                    Failure::new(
                        FailureKind::Server,
                        format!("the upstream ended the response with `{reason}`"),
                    ),
                    out,
                );
                return;
            }
            _ if has_calls => Finish::ToolCalls,
            _ => Finish::Stop,
        };
        self.builder.finish(finish, out);
    }
}

fn reasoning_text(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o
            .get("text")
            .or_else(|| o.get("content"))
            .and_then(Value::as_str),
        _ => None,
    }
}

impl Transducer for ChatStreamTranslator {
    fn start(&mut self, out: &mut Vec<ResponseEvent>) {
        self.builder.start(out);
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<ResponseEvent>) {
        if self.builder.is_finished() {
            return;
        }
        let mut sse = std::mem::take(&mut self.sse);
        let result = sse.feed(bytes, |ev| self.on_event(ev, out));
        self.sse = sse;
        if let Err(e) = result {
            self.builder.fail(e.failure(), out);
        }
    }

    fn end_of_stream(&mut self, out: &mut Vec<ResponseEvent>) {
        let mut sse = std::mem::take(&mut self.sse);
        sse.finish(|ev| self.on_event(ev, out));
        self.sse = sse;
        if self.builder.is_finished() {
            return;
        }
        if self.done || self.finish_reason.is_some() {
            self.complete(out);
        } else {
            self.builder.fail(
                Failure::new(
                    FailureKind::StreamCut,
                    "the upstream stream ended before the response was complete",
                ),
                out,
            );
        }
    }

    fn fail(&mut self, failure: Failure, out: &mut Vec<ResponseEvent>) {
        self.builder.fail(failure, out);
    }

    fn keepalive(&mut self, out: &mut Vec<ResponseEvent>) {
        self.builder.keepalive(out);
    }

    fn is_finished(&self) -> bool {
        self.builder.is_finished()
    }

    fn final_response(&self) -> Option<&Response> {
        self.builder.final_response()
    }

    fn failure(&self) -> Option<&Failure> {
        self.builder.failure()
    }
}
