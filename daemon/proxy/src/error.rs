//! The proxy's errors, and the one exhaustive place deciding how each looks to the client:
//! HTTP status, OpenAI-style error body, log level, retryability.
//!
//! Codex 0.169.0 (observed): 429 *with* `Retry-After` is retried after that delay, without it
//! is fatal; 5xx is retried; 400 is fatal and its body shown; 400 with
//! `context_length_exceeded` shows the context-window message. So upstream failures that
//! retrying cannot fix (bad key, rejected request) are answered with 400 and a message naming
//! the endpoint; transient ones with 429 + Retry-After or 502/503.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use codex_launcher_translate::{Failure, FailureKind, TranslateError};
use serde_json::json;

/// Everything that can go wrong in the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The client's body is not a valid request.
    #[error(transparent)]
    BadRequest(#[from] TranslateError),
    /// `previous_response_id` names a response we do not have.
    #[error(
        "previous response `{0}` was not found: it was never served here, was not stored (store: false), or was evicted"
    )]
    PreviousResponseNotFound(String),
    /// No such endpoint.
    #[error("no endpoint `{0}` is configured")]
    UnknownEndpoint(String),
    /// The request body is too large.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request body could not be read (a broken chunked encoding, a client that hung up).
    #[error("cannot read the request body: {0}")]
    UnreadableBody(String),
    /// The route exists, but not for this HTTP method.
    #[error("method not allowed: this route takes {0}")]
    MethodNotAllowed(&'static str),
    /// The upstream failed before streaming began, or at any point for a client that asked
    /// for no stream (the proxy streams from the upstream and aggregates).
    #[error("{}", .0.message)]
    Upstream(Failure),
    /// A bug on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProxyError {
    /// HTTP status for the client.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ProxyError::BadRequest(_) | ProxyError::PreviousResponseNotFound(_) => {
                StatusCode::BAD_REQUEST
            }
            ProxyError::UnknownEndpoint(_) => StatusCode::NOT_FOUND,
            ProxyError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::UnreadableBody(_) => StatusCode::BAD_REQUEST,
            ProxyError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::Upstream(f) => match f.kind {
                FailureKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                FailureKind::ContextLength
                | FailureKind::Auth
                | FailureKind::InvalidRequest
                | FailureKind::Quota => StatusCode::BAD_REQUEST,
                FailureKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
                // The upstream's fault, not the client's: a 502 that names the bound.
                FailureKind::Server | FailureKind::StreamCut | FailureKind::Oversized => {
                    StatusCode::BAD_GATEWAY
                }
            },
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// How loudly to log it.
    pub fn level(&self) -> tracing::Level {
        match self {
            ProxyError::BadRequest(_)
            | ProxyError::PreviousResponseNotFound(_)
            | ProxyError::UnknownEndpoint(_)
            | ProxyError::PayloadTooLarge
            | ProxyError::UnreadableBody(_)
            | ProxyError::MethodNotAllowed(_) => tracing::Level::INFO,
            ProxyError::Upstream(f) if f.kind.retryable() => tracing::Level::WARN,
            ProxyError::Upstream(_) | ProxyError::Internal(_) => tracing::Level::ERROR,
        }
    }

    /// Whether the client should retry.
    pub fn retryable(&self) -> bool {
        match self {
            ProxyError::Upstream(f) => f.kind.retryable(),
            ProxyError::BadRequest(_)
            | ProxyError::PreviousResponseNotFound(_)
            | ProxyError::UnknownEndpoint(_)
            | ProxyError::PayloadTooLarge
            | ProxyError::UnreadableBody(_)
            | ProxyError::MethodNotAllowed(_)
            | ProxyError::Internal(_) => false,
        }
    }

    /// `(type, code)` of the OpenAI-style error body.
    fn type_and_code(&self) -> (&'static str, &'static str) {
        match self {
            ProxyError::BadRequest(_) => ("invalid_request_error", "invalid_request"),
            ProxyError::PreviousResponseNotFound(_) => {
                ("invalid_request_error", "previous_response_not_found")
            }
            ProxyError::UnknownEndpoint(_) => ("invalid_request_error", "endpoint_not_found"),
            ProxyError::PayloadTooLarge => ("invalid_request_error", "request_too_large"),
            ProxyError::UnreadableBody(_) => ("invalid_request_error", "invalid_request"),
            ProxyError::MethodNotAllowed(_) => ("invalid_request_error", "method_not_allowed"),
            ProxyError::Upstream(f) => match f.kind {
                FailureKind::RateLimited => ("rate_limit_error", "rate_limit_exceeded"),
                FailureKind::ContextLength => ("invalid_request_error", "context_length_exceeded"),
                FailureKind::Auth => ("upstream_authentication_error", "upstream_auth_failed"),
                FailureKind::InvalidRequest => {
                    ("invalid_request_error", "upstream_rejected_request")
                }
                FailureKind::Quota => ("insufficient_quota", "insufficient_quota"),
                FailureKind::Overloaded => ("server_error", "upstream_overloaded"),
                FailureKind::Server | FailureKind::StreamCut => ("server_error", "upstream_error"),
                FailureKind::Oversized => ("server_error", "upstream_response_too_large"),
            },
            ProxyError::Internal(_) => ("server_error", "internal_error"),
        }
    }

    /// The message for the client.
    pub fn client_message(&self) -> String {
        match self {
            ProxyError::Upstream(f) => f.codex_message(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (kind, code) = self.type_and_code();
        let body = json!({"error": {"message": self.client_message(), "type": kind, "param": null, "code": code}});
        let mut resp = (self.status_code(), Json(body)).into_response();
        if let ProxyError::Upstream(f) = &self
            && matches!(f.kind, FailureKind::RateLimited | FailureKind::Overloaded)
        {
            // Codex retries a 429 only when it carries Retry-After; always send one.
            let secs = f.retry_after_ms.unwrap_or(1000).div_ceil(1000).max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_launcher_translate::Limit;

    /// A bound passed by the upstream: its fault (502), not retried, and the message says
    /// which bound.
    #[test]
    fn an_oversized_answer_is_a_502_naming_the_bound() {
        let err = ProxyError::Upstream(Failure::over_limit(Limit::Event, 16 * 1024 * 1024));
        assert_eq!(err.status_code(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            err.type_and_code(),
            ("server_error", "upstream_response_too_large")
        );
        assert!(!err.retryable());
        assert_eq!(err.level(), tracing::Level::ERROR);
        assert!(
            err.client_message()
                .starts_with("the upstream sent an event over 16 MiB")
        );
    }
}
