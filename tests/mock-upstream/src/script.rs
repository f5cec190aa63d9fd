//! What a test tells the mock to answer: wire-neutral turns and failures, rendered by each
//! wire module (Chat Completions, Anthropic Messages, Command Code, Responses) in its own format.

use serde_json::Value;

/// Chat Completions dialects the mock can speak. They differ where real providers differ:
/// where reasoning goes, where usage goes, how errors read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// OpenAI proper: no reasoning text, usage chunk with empty `choices` when asked.
    #[default]
    OpenAi,
    /// DeepSeek V4: `reasoning_content`, `prompt_cache_hit_tokens`, strict pass-back rule.
    DeepSeek,
    /// Moonshot Kimi: `reasoning_content`, usage inside the finishing choice.
    Kimi,
    /// Z.AI GLM: `reasoning_content`, whole tool-call arguments in one fragment.
    Glm,
    /// OpenRouter: `reasoning` + `reasoning_details`, processing comments, `provider` field.
    OpenRouter,
}

/// One tool call the model makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Call id as the provider mints it.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments, a JSON document as text.
    pub arguments: String,
}

/// Token counts for a turn. Missing counts are derived from the text lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Of which read from the provider's prompt cache.
    pub cached_tokens: u64,
    /// Completion tokens, reasoning included.
    pub output_tokens: u64,
    /// Of which reasoning.
    pub reasoning_tokens: u64,
}

/// One model turn, before it is put on a wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// Reasoning text streamed before anything else.
    pub reasoning: Option<String>,
    /// Anthropic only: an opaque `redacted_thinking` block before the text.
    pub redacted_thinking: Option<String>,
    /// Assistant text.
    pub text: Option<String>,
    /// Tool calls, streamed after the text.
    pub tool_calls: Vec<ToolCall>,
    /// Finish reason override in the wire's own words (`length`, `max_tokens`, …). For
    /// Command Code, `network_error`, `connection_error` and `upstream_error` are raw reasons:
    /// the stream ends with `finishReason: "error"` and that `rawFinishReason`, as the gateway
    /// reports an upstream failure after partial output.
    pub finish_reason: Option<String>,
    /// Token counts; derived when absent.
    pub usage: Option<Usage>,
    /// Characters per streamed fragment; 0 means the default (8).
    pub chunk_size: usize,
}

impl Turn {
    /// Fragment size in characters.
    pub(crate) fn chunk(&self) -> usize {
        if self.chunk_size == 0 {
            8
        } else {
            self.chunk_size
        }
    }

    /// Usage, derived from lengths (≈ 4 characters a token) when not given.
    pub(crate) fn usage_or_derived(&self, prompt_chars: usize) -> Usage {
        if let Some(u) = self.usage {
            return u;
        }
        let tokens = |s: &str| (s.chars().count() as u64).div_ceil(4);
        let reasoning = self.reasoning.as_deref().map(tokens).unwrap_or(0);
        let text = self.text.as_deref().map(tokens).unwrap_or(0);
        let calls: u64 = self
            .tool_calls
            .iter()
            .map(|c| tokens(&c.arguments) + 4)
            .sum();
        Usage {
            input_tokens: (prompt_chars as u64).div_ceil(4).max(1),
            cached_tokens: 0,
            output_tokens: reasoning + text + calls,
            reasoning_tokens: reasoning,
        }
    }
}

/// Split text into fragments of at most `size` characters (never inside a character).
pub(crate) fn fragments(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// Failures rendered in the wire's own error format.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 429 with `Retry-After: secs`.
    RateLimited {
        /// Seconds.
        retry_after_secs: u64,
    },
    /// 500 with the wire's server-error body.
    ServerError,
    /// 529 (Anthropic) / 503 (others): overloaded.
    Overloaded,
    /// 400 with the given provider's context-overflow wording.
    ContextOverflow(Flavor),
    /// A Cloudflare block page: 403, HTML, not JSON.
    CloudflareBlock,
}

/// One scripted answer, consumed by one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A successful turn, streamed when the request asked for a stream.
    Turn(Turn),
    /// A failure in the wire's own format.
    Fail(Failure),
    /// A raw HTTP answer.
    Status {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body text.
        body: String,
    },
    /// A stream cut (connection dropped) after this many events.
    Cut {
        /// The turn whose stream is cut.
        turn: Turn,
        /// Events sent before the cut.
        after_chunks: usize,
    },
    /// The whole turn streamed, then the connection reset just before the wire's end-of-turn
    /// events (the finishing chunk, `message_delta`, `finish-step`, `response.completed`): every
    /// item is complete on the wire, but the provider never said the turn was done.
    CutBeforeEnd(Turn),
    /// A stream that reports an error event in the wire's own format after some events
    /// (Anthropic `overloaded_error`, Command Code `error`, an OpenAI-style error chunk).
    ErrorAfter {
        /// The turn whose stream fails.
        turn: Turn,
        /// Events sent before the error.
        after_chunks: usize,
    },
    /// A stream the provider ends early on purpose after some events: Command Code sends its
    /// terminal `abort` part (a generation cancelled upstream); the other wires have no such
    /// event, so their stream simply ends there (clean EOF, no terminal event), unlike
    /// [`Reply::Cut`], which resets the connection.
    Abort {
        /// The turn whose stream stops.
        turn: Turn,
        /// Events sent before the stop.
        after_chunks: usize,
    },
    /// Answer only after a pause (nothing is sent in the meantime, not even headers).
    Delay {
        /// Milliseconds of silence.
        millis: u64,
        /// What follows.
        then: Box<Reply>,
    },
    /// Headers and the first events at once, then silence for `millis`, then the rest.
    Stall {
        /// The turn.
        turn: Turn,
        /// Events sent before the stall.
        after_chunks: usize,
        /// Milliseconds of silence (use a large value for "stalls forever").
        millis: u64,
    },
    /// A 200 stream of bytes that are not the wire's format.
    Garbage(String),
    /// The turn, its first event made `lines × line_bytes` bytes longer: on an SSE wire,
    /// `lines` more `data:` lines of `line_bytes` bytes each (spaces: the event's JSON stays
    /// valid once the lines are joined), on NDJSON (Command Code) the same number of bytes of
    /// spaces on its line, sent in `lines` pieces. Generated as it is sent.
    PaddedEvent {
        /// The turn.
        turn: Turn,
        /// Lines (pieces) of padding.
        lines: usize,
        /// Bytes of each, newline included.
        line_bytes: usize,
    },
    /// A 200 stream (the wire's content type) of one event that never ends: `data:` lines of
    /// `line_bytes` bytes and never a blank line (on NDJSON, a line that never ends, sent in
    /// pieces of `line_bytes`), until `total_bytes` (`None`: forever), then EOF. Generated as
    /// it is sent; stops as soon as the client hangs up.
    EndlessEvent {
        /// Bytes of each line (piece), newline included.
        line_bytes: usize,
        /// When to stop, or never.
        total_bytes: Option<u64>,
    },
}

impl Reply {
    /// A plain text answer.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Turn(Turn {
            text: Some(text.into()),
            ..Turn::default()
        })
    }

    /// One tool call with JSON arguments.
    pub fn tool_call(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Reply {
        Reply::tool_calls(vec![ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.to_string(),
        }])
    }

    /// Several tool calls in one turn (parallel calls).
    pub fn tool_calls(calls: Vec<ToolCall>) -> Reply {
        Reply::Turn(Turn {
            tool_calls: calls,
            ..Turn::default()
        })
    }

    /// The same reply with reasoning streamed first.
    pub fn with_reasoning(self, reasoning: impl Into<String>) -> Reply {
        let reasoning = reasoning.into();
        self.map_turn(move |t| t.reasoning = Some(reasoning))
    }

    /// The same reply with text added (before any tool calls).
    pub fn with_text(self, text: impl Into<String>) -> Reply {
        let text = text.into();
        self.map_turn(move |t| t.text = Some(text))
    }

    /// The same reply with explicit usage.
    pub fn with_usage(self, usage: Usage) -> Reply {
        self.map_turn(move |t| t.usage = Some(usage))
    }

    /// The same reply streamed in fragments of `size` characters.
    pub fn chunked(self, size: usize) -> Reply {
        self.map_turn(move |t| t.chunk_size = size)
    }

    fn map_turn(self, f: impl FnOnce(&mut Turn)) -> Reply {
        match self {
            Reply::Turn(mut t) => {
                f(&mut t);
                Reply::Turn(t)
            }
            Reply::Cut {
                mut turn,
                after_chunks,
            } => {
                f(&mut turn);
                Reply::Cut { turn, after_chunks }
            }
            Reply::ErrorAfter {
                mut turn,
                after_chunks,
            } => {
                f(&mut turn);
                Reply::ErrorAfter { turn, after_chunks }
            }
            Reply::Abort {
                mut turn,
                after_chunks,
            } => {
                f(&mut turn);
                Reply::Abort { turn, after_chunks }
            }
            Reply::CutBeforeEnd(mut turn) => {
                f(&mut turn);
                Reply::CutBeforeEnd(turn)
            }
            Reply::Stall {
                mut turn,
                after_chunks,
                millis,
            } => {
                f(&mut turn);
                Reply::Stall {
                    turn,
                    after_chunks,
                    millis,
                }
            }
            Reply::Delay { millis, then } => Reply::Delay {
                millis,
                then: Box::new(then.map_turn(f)),
            },
            Reply::PaddedEvent {
                mut turn,
                lines,
                line_bytes,
            } => {
                f(&mut turn);
                Reply::PaddedEvent {
                    turn,
                    lines,
                    line_bytes,
                }
            }
            other => other,
        }
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        Reply::Fail(Failure::RateLimited { retry_after_secs })
    }

    /// 500.
    pub fn server_error() -> Reply {
        Reply::Fail(Failure::ServerError)
    }

    /// Overloaded (Anthropic 529, others 503).
    pub fn overloaded() -> Reply {
        Reply::Fail(Failure::Overloaded)
    }

    /// 400 with the provider's context-overflow wording.
    pub fn context_overflow(flavor: Flavor) -> Reply {
        Reply::Fail(Failure::ContextOverflow(flavor))
    }

    /// A Cloudflare HTML block page.
    pub fn cloudflare_block() -> Reply {
        Reply::Fail(Failure::CloudflareBlock)
    }

    /// The HTML page a CDN in front of the provider answers with when the origin fails
    /// (Cloudflare's 520 "Web server is returning an unknown error", 522 timed out, ...): HTML
    /// where the client expects JSON, with a 5xx status.
    pub fn cloudflare_origin_error(status: u16) -> Reply {
        Reply::Status {
            status,
            headers: vec![
                ("content-type".into(), "text/html; charset=UTF-8".into()),
                ("server".into(), "cloudflare".into()),
            ],
            body: format!(
                "<!DOCTYPE html>\n<html><head><title>api.example | {status}: Web server is \
                 returning an unknown error</title></head><body><h1>Error code {status}</h1>\
                 <p>There is an unknown connection issue between Cloudflare and the origin web \
                 server.</p><p>Cloudflare Ray ID: 8f00000000000000</p></body></html>\n"
            ),
        }
    }

    /// A bare status with an OpenAI-style JSON error body (no Retry-After or other headers).
    pub fn status_json(status: u16, message: &str) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: serde_json::json!({"error": {"message": message, "type": "server_error",
                "param": null, "code": null}})
            .to_string(),
        }
    }

    /// A 200 stream holding one `data:` line of `bytes` bytes that never ends (no newline),
    /// then EOF: a hostile or broken upstream that would make a naive parser buffer forever.
    pub fn long_line(bytes: usize) -> Reply {
        let mut line = String::with_capacity(bytes + 6);
        line.push_str("data: ");
        line.extend(std::iter::repeat_n('x', bytes));
        Reply::Garbage(line)
    }
}

/// An HTTP answer the wire modules produce before streaming: status, headers, body.
#[derive(Debug, Clone)]
pub(crate) struct Plain {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: String,
}

impl Plain {
    pub(crate) fn json(status: u16, body: Value) -> Plain {
        Plain {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Plain {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// The Cloudflare page OpenCode's hosts answer some clients with (HTTP 403, error code 1010).
pub(crate) fn cloudflare_page() -> Plain {
    Plain {
        status: 403,
        headers: vec![("server".into(), "cloudflare".into())],
        content_type: "text/html; charset=UTF-8",
        body: "<!DOCTYPE html>\n<html><head><title>Access denied | api.example used Cloudflare to \
               restrict access</title></head><body><h1>Error 1010</h1><p>The owner of this \
               website has banned your access based on your browser's signature.</p></body></html>\n"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_respect_characters() {
        assert_eq!(fragments("héllo wörld", 4), ["héll", "o wö", "rld"]);
        assert!(fragments("", 4).is_empty());
    }

    #[test]
    fn with_reasoning_reaches_nested_turns() {
        let r = Reply::Delay {
            millis: 1,
            then: Box::new(Reply::text("x")),
        }
        .with_reasoning("why");
        let Reply::Delay { then, .. } = r else {
            panic!("shape")
        };
        assert_eq!(
            *then,
            Reply::Turn(Turn {
                reasoning: Some("why".into()),
                text: Some("x".into()),
                ..Turn::default()
            })
        );
    }
}
