//! Anthropic Messages SSE → Responses events.
//!
//! `thinking` blocks become one reasoning item each, carrying thinking text and signature
//! (from `signature_delta`) so they can be replayed; `redacted_thinking` likewise with its
//! data. `tool_use` input arrives as `input_json_delta` fragments. Usage in `message_delta` is
//! cumulative; Anthropic's `input_tokens` excludes cache reads and writes, Responses' includes
//! them. A mid-stream `error` (e.g. `overloaded_error`) fails the response retryably.

use std::collections::HashMap;

use serde_json::Value;

use crate::Transducer;
use crate::anthropic::{AnthropicDelta, AnthropicEvent, AnthropicUsage};
use crate::builder::{CallHandle, Finish, ITEM_OVERHEAD, ResponseBuilder, ResponseContext};
use crate::error::{Failure, FailureKind, Limit, looks_like_context_overflow};
use crate::events::ResponseEvent;
use crate::reasoning_codec::ReasoningPayload;
use crate::responses::{InputTokensDetails, OutputTokensDetails, Response, ResponseUsage};
use crate::sse::SseParser;

#[derive(Debug)]
enum Block {
    Text,
    Thinking { thinking: String, signature: String },
    Redacted,
    Tool(CallHandle),
    Other,
}

/// The transducer.
#[derive(Debug)]
pub struct AnthropicStreamTranslator {
    builder: ResponseBuilder,
    sse: SseParser,
    blocks: HashMap<u32, Block>,
    stop_reason: Option<String>,
    stopped: bool,
    usage: AnthropicUsage,
}

impl AnthropicStreamTranslator {
    /// A transducer for one response.
    pub fn new(ctx: ResponseContext) -> Self {
        AnthropicStreamTranslator {
            sse: SseParser::new(ctx.limits.event_bytes),
            builder: ResponseBuilder::new(ctx),
            blocks: HashMap::new(),
            stop_reason: None,
            stopped: false,
            usage: AnthropicUsage::default(),
        }
    }

    fn on_data(&mut self, data: &str, out: &mut Vec<ResponseEvent>) {
        if self.builder.is_finished() {
            return;
        }
        let Ok(event) = serde_json::from_str::<AnthropicEvent>(data) else {
            return;
        };
        match event {
            AnthropicEvent::MessageStart { message } => {
                if let Some(u) = message.usage {
                    self.merge_usage(u);
                }
                self.builder.start(out);
            }
            AnthropicEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                // An open block is state we hold: counted until its stop, so that endless
                // starts without stops are bounded too.
                if !self.blocks.contains_key(&index) && !self.builder.hold(ITEM_OVERHEAD, out) {
                    return;
                }
                let kind = content_block
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let block = match kind {
                    "text" => {
                        if let Some(t) = content_block.get("text").and_then(Value::as_str) {
                            self.builder.text_delta(t, out);
                        }
                        Block::Text
                    }
                    "thinking" => {
                        self.builder.close_reasoning();
                        let thinking = content_block
                            .get("thinking")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        let signature = content_block
                            .get("signature")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        self.builder.reasoning_delta(&thinking, out);
                        Block::Thinking {
                            thinking,
                            signature,
                        }
                    }
                    "redacted_thinking" => {
                        self.builder.close_reasoning();
                        let data = content_block
                            .get("data")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        self.builder
                            .reasoning_payload(ReasoningPayload::RedactedThinking { data }, out);
                        self.builder.close_reasoning();
                        Block::Redacted
                    }
                    "tool_use" | "server_tool_use" => {
                        let id = content_block
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let name = content_block
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let handle = self.builder.call_start(id, name, out);
                        // Some compatible hosts send the whole input in the start block.
                        if let Some(input) = content_block
                            .get("input")
                            .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
                        {
                            self.builder.call_args(handle, &input.to_string(), out);
                        }
                        Block::Tool(handle)
                    }
                    _ => Block::Other,
                };
                self.blocks.insert(index, block);
            }
            AnthropicEvent::ContentBlockDelta { index, delta } => {
                match (self.blocks.get_mut(&index), delta) {
                    (Some(Block::Text) | None, AnthropicDelta::TextDelta { text }) => {
                        self.builder.text_delta(&text, out)
                    }
                    (
                        Some(Block::Thinking { thinking, .. }),
                        AnthropicDelta::ThinkingDelta { thinking: t },
                    ) => {
                        // The builder counts the text first: past a bound it is not kept.
                        self.builder.reasoning_delta(&t, out);
                        if !self.builder.is_finished() {
                            thinking.push_str(&t);
                        }
                    }
                    (
                        Some(Block::Thinking {
                            thinking,
                            signature,
                        }),
                        AnthropicDelta::SignatureDelta { signature: s },
                    ) => {
                        // Counted by the builder with the payload at the block's end; bounded
                        // here meanwhile, with the thinking it belongs to.
                        let limit = self.builder.limits().item_bytes;
                        let item = thinking.len() + signature.len();
                        if item.saturating_add(s.len()) > limit {
                            self.builder
                                .fail(Failure::over_limit(Limit::Reasoning, limit), out);
                        } else {
                            signature.push_str(&s);
                        }
                    }
                    (
                        Some(Block::Tool(handle)),
                        AnthropicDelta::InputJsonDelta { partial_json },
                    ) => {
                        let handle = *handle;
                        self.builder.call_args(handle, &partial_json, out);
                    }
                    _ => {}
                }
            }
            AnthropicEvent::ContentBlockStop { index } => {
                let block = self.blocks.remove(&index);
                if block.is_some() {
                    self.builder.release(ITEM_OVERHEAD);
                }
                if let Some(Block::Thinking {
                    thinking,
                    signature,
                }) = block
                {
                    self.builder.reasoning_payload(
                        ReasoningPayload::Thinking {
                            thinking,
                            signature,
                        },
                        out,
                    );
                    self.builder.close_reasoning();
                }
            }
            AnthropicEvent::MessageDelta { delta, usage } => {
                if let Some(r) = delta.stop_reason {
                    self.stop_reason = Some(r);
                }
                if let Some(u) = usage {
                    self.merge_usage(u);
                }
            }
            AnthropicEvent::MessageStop => {
                self.stopped = true;
                self.complete(out);
            }
            AnthropicEvent::Error { error } => {
                let kind = match error.kind.as_str() {
                    "overloaded_error" => FailureKind::Overloaded,
                    "rate_limit_error" => FailureKind::RateLimited,
                    "authentication_error" | "permission_error" => FailureKind::Auth,
                    "request_too_large" => FailureKind::ContextLength,
                    "invalid_request_error" if looks_like_context_overflow(&error.message) => {
                        FailureKind::ContextLength
                    }
                    "invalid_request_error" => FailureKind::InvalidRequest,
                    _ => FailureKind::Server,
                };
                let message = if error.message.is_empty() {
                    error.kind
                } else {
                    error.message
                };
                self.builder.fail(Failure::new(kind, message), out);
            }
            AnthropicEvent::Ping | AnthropicEvent::Unknown => {}
        }
    }

    fn merge_usage(&mut self, u: AnthropicUsage) {
        let m = &mut self.usage;
        m.input_tokens = u.input_tokens.or(m.input_tokens);
        m.output_tokens = u.output_tokens.or(m.output_tokens);
        m.cache_read_input_tokens = u.cache_read_input_tokens.or(m.cache_read_input_tokens);
        m.cache_creation_input_tokens = u
            .cache_creation_input_tokens
            .or(m.cache_creation_input_tokens);
        let cached = m.cache_read_input_tokens.unwrap_or(0);
        let written = m.cache_creation_input_tokens.unwrap_or(0);
        // Anthropic's `input_tokens` counts only what follows the last breakpoint; the whole
        // prompt is reads + writes + that (prompt-caching#tracking-cache-performance), which
        // is what Responses' `input_tokens` means. Saturating: the counts are the upstream's,
        // and an absurd one must not panic.
        let input = m
            .input_tokens
            .unwrap_or(0)
            .saturating_add(cached)
            .saturating_add(written);
        let output = m.output_tokens.unwrap_or(0);
        self.builder.set_usage(ResponseUsage {
            input_tokens: input,
            input_tokens_details: InputTokensDetails {
                cached_tokens: cached,
                cache_write_tokens: written,
            },
            output_tokens: output,
            output_tokens_details: OutputTokensDetails {
                reasoning_tokens: 0,
            },
            total_tokens: input.saturating_add(output),
        });
    }

    fn complete(&mut self, out: &mut Vec<ResponseEvent>) {
        let finish = match self.stop_reason.as_deref() {
            Some("tool_use") => Finish::ToolCalls,
            Some("max_tokens") => Finish::Length,
            Some("refusal") => Finish::ContentFilter,
            Some("model_context_window_exceeded") => {
                self.builder.fail(
                    Failure::new(
                        FailureKind::ContextLength,
                        "the model's context window was exceeded",
                    ),
                    out,
                );
                return;
            }
            _ if self.builder.call_count() > 0 => Finish::ToolCalls,
            _ => Finish::Stop,
        };
        self.builder.finish(finish, out);
    }
}

impl Transducer for AnthropicStreamTranslator {
    fn start(&mut self, out: &mut Vec<ResponseEvent>) {
        self.builder.start(out);
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<ResponseEvent>) {
        if self.builder.is_finished() {
            return;
        }
        let mut sse = std::mem::take(&mut self.sse);
        let result = sse.feed(bytes, |ev| self.on_data(ev.data, out));
        self.sse = sse;
        if let Err(e) = result {
            self.builder.fail(e.failure(), out);
        }
    }

    fn end_of_stream(&mut self, out: &mut Vec<ResponseEvent>) {
        let mut sse = std::mem::take(&mut self.sse);
        sse.finish(|ev| self.on_data(ev.data, out));
        self.sse = sse;
        if !self.builder.is_finished() {
            self.builder.fail(
                Failure::new(
                    FailureKind::StreamCut,
                    "the upstream stream ended before message_stop",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responses::ResponsesRequest;
    use crate::tools::lower_tools;
    use serde_json::json;

    fn run(stream: &str) -> Vec<ResponseEvent> {
        let req: ResponsesRequest = serde_json::from_value(json!({
            "model": "claude-sonnet-4-5", "input": "hi",
            "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]
        }))
        .unwrap();
        let map = lower_tools(&req.tools).map;
        let mut t =
            AnthropicStreamTranslator::new(ResponseContext::new(&req, "resp_t".into(), 0, map));
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(5) {
            t.feed(piece, &mut out);
        }
        t.end_of_stream(&mut out);
        out
    }

    #[test]
    fn thinking_signature_and_tool_use_round_trip() {
        let stream = [
            r#"{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"let me"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"SIG=="}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"exec_command","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"cmd\":"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"ls\"}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}"#,
            r#"{"type":"message_stop"}"#,
        ]
        .iter()
        .map(|d| format!("event: x\ndata: {d}\n\n"))
        .collect::<String>();
        let events = run(&stream);
        let done = events.last().unwrap();
        let resp = done.response().unwrap();
        assert_eq!(done.kind(), "response.completed");
        let output = serde_json::to_value(&resp.output).unwrap();
        let enc = output[0]["encrypted_content"].as_str().unwrap();
        assert_eq!(
            ReasoningPayload::decode(enc),
            Some(ReasoningPayload::Thinking {
                thinking: "let me".into(),
                signature: "SIG==".into()
            })
        );
        assert_eq!(output[1]["arguments"], "{\"cmd\":\"ls\"}");
        let usage = resp.usage.as_ref().unwrap();
        assert_eq!(
            (
                usage.input_tokens,
                usage.input_tokens_details.cached_tokens,
                usage.output_tokens
            ),
            (15, 5, 30)
        );
    }

    #[test]
    fn overloaded_mid_stream_is_retryable_failure() {
        let stream = "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let events = run(stream);
        let last = events.last().unwrap();
        assert_eq!(last.kind(), "response.failed");
        assert_eq!(
            last.response().unwrap().error.as_ref().unwrap().code,
            "server_error"
        );
    }

    #[test]
    fn cut_stream_fails() {
        let events = run("data: {\"type\":\"message_start\",\"message\":{}}\n\n");
        assert_eq!(events.last().unwrap().kind(), "response.failed");
    }
}
