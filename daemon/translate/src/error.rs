//! Errors of the translation core, and the one place that decides how an upstream failure
//! looks to Codex (the `error.code` of `response.failed`, retryable or not).

/// A request we cannot translate. Always the client's fault (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The body is not a valid Responses request.
    #[error("invalid request body: {0}")]
    InvalidBody(#[from] serde_json::Error),
    /// A field has a value we cannot express upstream.
    #[error("invalid value for `{field}`: {reason}")]
    InvalidValue {
        /// The offending field.
        field: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
}

/// Why an upstream turn failed, as far as Codex needs to know.
///
/// Codex 0.169.0 reads `response.failed` → `error.code` and retries everything except a
/// short list of fatal codes; see `code()` and `retryable()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 429 or a rate-limit message: Codex waits (delay parsed from the message) and retries.
    RateLimited,
    /// The prompt does not fit: Codex stops and tells the user to compact or start over.
    ContextLength,
    /// Key missing, wrong or not allowed: retrying cannot help.
    Auth,
    /// The provider rejected the request itself (400/404/422): retrying cannot help.
    InvalidRequest,
    /// The provider has no capacity right now (503 overloaded, 529): retryable.
    Overloaded,
    /// 5xx, connection failures, timeouts: retryable.
    Server,
    /// The stream ended before the provider said it was done: retryable.
    StreamCut,
    /// The account is out of credit or quota.
    Quota,
    /// The upstream sent more than one of our bounds allows (an event, a tool call's
    /// arguments, an output item, a response's output; see [`Limit`]). Not retryable: the same
    /// request would make it send the same thing again.
    Oversized,
}

impl FailureKind {
    /// The `error.code` that makes Codex do the right thing.
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::RateLimited => "rate_limit_exceeded",
            FailureKind::ContextLength => "context_length_exceeded",
            // Codex maps `invalid_prompt` to a fatal InvalidRequest that shows our message;
            // there is no dedicated auth code it would show verbatim.
            // An oversized answer is as fatal, and the message says which bound it passed.
            FailureKind::Auth | FailureKind::InvalidRequest | FailureKind::Oversized => {
                "invalid_prompt"
            }
            FailureKind::Quota => "insufficient_quota",
            // `server_is_overloaded` would be fatal in Codex; an overloaded upstream usually
            // recovers within seconds, so we let Codex retry it as a server error.
            FailureKind::Overloaded | FailureKind::Server | FailureKind::StreamCut => {
                "server_error"
            }
        }
    }

    /// Whether Codex will (and should) retry.
    pub fn retryable(self) -> bool {
        match self {
            FailureKind::RateLimited
            | FailureKind::Overloaded
            | FailureKind::Server
            | FailureKind::StreamCut => true,
            FailureKind::ContextLength
            | FailureKind::Auth
            | FailureKind::InvalidRequest
            | FailureKind::Quota
            | FailureKind::Oversized => false,
        }
    }

    /// Classify an upstream HTTP status (with its body text, for context-length detection).
    pub fn from_status(status: u16, body: &str) -> FailureKind {
        if looks_like_context_overflow(body) {
            return FailureKind::ContextLength;
        }
        match status {
            401 | 403 => FailureKind::Auth,
            402 => FailureKind::Quota,
            413 => FailureKind::ContextLength,
            429 if looks_like_quota(body) => FailureKind::Quota,
            429 => FailureKind::RateLimited,
            503 | 529 => FailureKind::Overloaded,
            408 | 409 | 425 => FailureKind::Server,
            400..=499 => FailureKind::InvalidRequest,
            _ => FailureKind::Server,
        }
    }

    /// Classify an error that arrived inside a stream (message and optional code/type).
    pub fn from_stream_error(code: Option<&str>, message: &str) -> FailureKind {
        let code = code.unwrap_or_default().to_ascii_lowercase();
        if code.contains("context_length") || looks_like_context_overflow(message) {
            FailureKind::ContextLength
        } else if code.contains("rate_limit") || code == "429" {
            FailureKind::RateLimited
        } else if code.contains("overloaded") || code == "529" || code == "503" {
            FailureKind::Overloaded
        } else if code.contains("authentication") || code.contains("permission") {
            FailureKind::Auth
        } else if code.contains("invalid_request") {
            FailureKind::InvalidRequest
        } else {
            FailureKind::Server
        }
    }
}

/// A bound on what an upstream may send in one response. Past one, the response fails with
/// [`FailureKind::Oversized`] and a message naming the bound ([`Failure::over_limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// One SSE event (its lines together, `data` accumulated across lines) or one NDJSON
    /// line.
    Event,
    /// One tool call's accumulated arguments.
    ToolArguments,
    /// One message's accumulated text.
    Message,
    /// One reasoning item: its text, signature, details.
    Reasoning,
    /// Every output item of one response together.
    Output,
}

impl Limit {
    /// What went past the bound, as the message says it.
    fn what(self) -> &'static str {
        match self {
            Limit::Event => "an event",
            Limit::ToolArguments => "a tool call whose arguments are",
            Limit::Message => "a message",
            Limit::Reasoning => "a reasoning item",
            Limit::Output => "a response whose output items together are",
        }
    }
}

/// `16 MiB`, `512 KiB`, `100 bytes`: a bound as a person would write it.
pub fn size_text(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A failure with its user-facing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind.
    pub kind: FailureKind,
    /// What to tell the user. Never contains a key.
    pub message: String,
    /// For rate limits: how long the upstream asked us to wait, in milliseconds.
    pub retry_after_ms: Option<u64>,
}

impl Failure {
    /// A failure without a retry hint.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// The upstream went past `limit`, which is `bytes` long.
    pub fn over_limit(limit: Limit, bytes: usize) -> Self {
        Failure::new(
            FailureKind::Oversized,
            format!(
                "the upstream sent {} over {} (the proxy's max_event_bytes); the same request \
                 would fail the same way, so it is not retried",
                limit.what(),
                size_text(bytes)
            ),
        )
    }

    /// The message as Codex should see it. For rate limits Codex parses
    /// "try again in N s" out of the message and waits that long, so we always say it.
    pub fn codex_message(&self) -> String {
        match self.kind {
            FailureKind::RateLimited => {
                let ms = self.retry_after_ms.unwrap_or(1000).max(1);
                format!(
                    "{} Please try again in {:.3}s.",
                    self.message.trim_end(),
                    ms as f64 / 1000.0
                )
            }
            FailureKind::ContextLength => format!(
                "Your input exceeds the context window of this model. {}",
                self.message
            ),
            _ => self.message.clone(),
        }
    }
}

/// Provider messages for an oversized prompt, in the wording of the providers we know.
pub fn looks_like_context_overflow(text: &str) -> bool {
    const NEEDLES: &[&str] = &[
        "context_length_exceeded",
        "context length",
        "context_length",
        "maximum context",
        "context window",
        "prompt is too long",
        "input is too long",
        "too many tokens",
        "reduce the length",
        "exceeds the context",
        "exceeds the maximum",
        "model_context_window_exceeded",
        "request_too_large",
    ];
    let lower = text.to_ascii_lowercase();
    NEEDLES.iter().any(|n| lower.contains(n))
}

fn looks_like_quota(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("insufficient_quota") || lower.contains("insufficient balance")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            FailureKind::from_status(429, "{}"),
            FailureKind::RateLimited
        );
        assert_eq!(FailureKind::from_status(401, ""), FailureKind::Auth);
        assert_eq!(
            FailureKind::from_status(400, "This model's maximum context length is 131072 tokens"),
            FailureKind::ContextLength
        );
        assert_eq!(FailureKind::from_status(502, "<html>"), FailureKind::Server);
        assert_eq!(FailureKind::from_status(529, ""), FailureKind::Overloaded);
        assert!(!FailureKind::Auth.retryable());
        assert!(FailureKind::StreamCut.retryable());
        assert!(!FailureKind::Oversized.retryable());
        // Codex 0.169.0 treats `invalid_prompt` as fatal and shows the message.
        assert_eq!(FailureKind::Oversized.code(), "invalid_prompt");
    }

    #[test]
    fn limit_messages_name_the_bound() {
        let f = Failure::over_limit(Limit::Event, 16 * 1024 * 1024);
        assert_eq!(f.kind, FailureKind::Oversized);
        assert!(
            f.codex_message()
                .starts_with("the upstream sent an event over 16 MiB"),
            "{}",
            f.message
        );
        assert!(
            Failure::over_limit(Limit::ToolArguments, 2048)
                .message
                .starts_with("the upstream sent a tool call whose arguments are over 2 KiB")
        );
        assert_eq!(size_text(100), "100 bytes");
        assert_eq!(size_text(1536), "1536 bytes");
    }

    #[test]
    fn rate_limit_message_has_codex_delay() {
        let f = Failure {
            kind: FailureKind::RateLimited,
            message: "Rate limit reached.".into(),
            retry_after_ms: Some(1500),
        };
        assert_eq!(
            f.codex_message(),
            "Rate limit reached. Please try again in 1.500s."
        );
    }
}
