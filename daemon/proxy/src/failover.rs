//! Fallback groups in the proxy: which failures move a request to the group's next member,
//! and what the next member receives. The order, breakers and cooldowns are the router's
//! (the daemon's state owner); this decides per attempt, before anything reached the client.
//!
//! - **Fail over** on what another provider can serve: no connection, a reset, a timeout;
//!   5xx and 529; 429 (the member cools down for its `Retry-After`, else a minute); 402 or
//!   `insufficient_quota` (an hour).
//! - **Never** on 400 (a bad request, or a context that does not fit, is the request's
//!   problem) or 401/403 (a wrong key must be seen and fixed, not hidden by another member).
//! - After the first byte went to the client the turn ends as it does for one endpoint, in a
//!   retryable `response.failed`; the router hears of it, and Codex's retry starts on the
//!   next healthy member.

use std::time::Duration;

use codex_launcher_translate::handover::HandoverTarget;
use codex_launcher_translate::{Failure, FailureKind};

use crate::endpoint::{Backend, Endpoint};

/// A 429 without `Retry-After` cools its member down this long.
pub const RATE_LIMIT_COOLDOWN: Duration = Duration::from_secs(60);
/// Out of quota: an hour (or until the daemon reloads its endpoints).
pub const QUOTA_COOLDOWN: Duration = Duration::from_secs(3600);

/// What a failed attempt means for the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try the next member; leave this one alone for the cooldown, if any.
    Next {
        /// How long to skip the member.
        cooldown: Option<Duration>,
    },
    /// The failure is the request's or the key's: it reaches the client as it is.
    Stop,
}

/// Whether `failure` (before anything reached the client) moves to the next member.
pub fn decide(failure: &Failure) -> Decision {
    match failure.kind {
        FailureKind::Server | FailureKind::Overloaded | FailureKind::StreamCut => {
            Decision::Next { cooldown: None }
        }
        FailureKind::RateLimited => Decision::Next {
            cooldown: Some(
                failure
                    .retry_after_ms
                    .map_or(RATE_LIMIT_COOLDOWN, Duration::from_millis),
            ),
        },
        FailureKind::Quota => Decision::Next {
            cooldown: Some(QUOTA_COOLDOWN),
        },
        FailureKind::InvalidRequest
        | FailureKind::ContextLength
        | FailureKind::Auth
        | FailureKind::Oversized => Decision::Stop,
    }
}

/// The hand-over target for a member's endpoint and model.
pub fn target<'a>(endpoint: &'a Endpoint, model: &'a str) -> HandoverTarget<'a> {
    match endpoint.backend {
        Backend::OpenaiCompat => HandoverTarget::Chat {
            provider: endpoint.provider,
            quirks: &endpoint.quirks,
            model,
        },
        Backend::Anthropic => HandoverTarget::Anthropic,
        Backend::CommandCode => HandoverTarget::CommandCode,
        Backend::OpenaiResponses => HandoverTarget::Responses,
    }
}

/// No member can take the request now: a 429 that says when one can, which Codex waits for.
pub fn none_available(group: &str, retry_after: Option<Duration>) -> Failure {
    let wait = retry_after.unwrap_or(Duration::from_secs(1));
    Failure {
        kind: FailureKind::RateLimited,
        message: format!(
            "Every member of group `{group}` is cooling down or failing; the first is back in {} s.",
            wait.as_secs().max(1)
        ),
        retry_after_ms: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: FailureKind, retry: Option<u64>) -> Failure {
        Failure {
            kind,
            message: String::new(),
            retry_after_ms: retry,
        }
    }

    #[test]
    fn what_moves_to_the_next_member() {
        assert_eq!(
            decide(&failure(FailureKind::Server, None)),
            Decision::Next { cooldown: None }
        );
        assert_eq!(
            decide(&failure(FailureKind::Overloaded, None)),
            Decision::Next { cooldown: None }
        );
        assert_eq!(
            decide(&failure(FailureKind::RateLimited, Some(7000))),
            Decision::Next {
                cooldown: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            decide(&failure(FailureKind::RateLimited, None)),
            Decision::Next {
                cooldown: Some(RATE_LIMIT_COOLDOWN)
            }
        );
        assert_eq!(
            decide(&failure(FailureKind::Quota, None)),
            Decision::Next {
                cooldown: Some(QUOTA_COOLDOWN)
            }
        );
        for kind in [
            FailureKind::Auth,
            FailureKind::InvalidRequest,
            FailureKind::ContextLength,
            FailureKind::Oversized,
        ] {
            assert_eq!(decide(&failure(kind, None)), Decision::Stop, "{kind:?}");
        }
    }
}
