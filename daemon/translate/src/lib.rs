//! codex-launcher-translate: the pure translation core.
//!
//! Responses API (what Codex speaks) in; Chat Completions (and, later, Anthropic Messages and
//! Command Code) out; and the upstream's stream back into Responses events.
//!
//! # Architecture invariant
//! No IO, no async runtime, no HTTP, no D-Bus, no filesystem, no clock, no randomness: callers
//! pass ids and timestamps in. Everything here is a function of its inputs, so every rule is
//! tested offline with fixtures in milliseconds, and fuzzed.
//!
//! # Layout
//! - [`responses`]: Codex-side wire model (requests, items, tools, response objects).
//! - [`events`]: Responses stream events and their SSE encoding.
//! - [`conversation`]: items → turns, with tool-call pairing repaired once for every backend.
//! - [`tools`]: custom and namespaced tools as plain functions, and the map back.
//! - [`schema`]: tool schemas and names as each host documents it accepts them.
//! - [`builder`]: the one place that orders Responses events (deferred `done`s, one terminal).
//! - [`cache`]: prompt caching: the per-endpoint TTL setting and the `cache_control` marker.
//! - [`chat`], [`to_chat`], [`chat_stream`], [`provider`]: the Chat Completions backend.
//! - [`anthropic`], [`anthropic_stream`]: the Anthropic Messages backend.
//! - [`command_code`]: the Command Code `/alpha/generate` backend (one file).
//! - [`reasoning_codec`]: provider reasoning carried through Codex in `encrypted_content`.
//! - [`handover`]: reasoning another provider cannot take, made plain or left out on a move.
//! - [`base_url`]: base URL normalisation.
//! - [`sse`]: incremental SSE parsing.
//! - [`error`]: translation errors and how an upstream failure looks to Codex.

#![deny(missing_docs)]

pub mod anthropic;
pub mod anthropic_stream;
pub mod base_url;
pub mod builder;
pub mod cache;
pub mod chat;
pub mod chat_stream;
pub mod command_code;
pub mod conversation;
pub mod error;
pub mod events;
pub mod handover;
pub mod provider;
pub mod reasoning_codec;
pub mod responses;
pub mod schema;
pub mod sse;
pub mod to_chat;
pub mod tools;

pub use builder::{ResponseContext, StreamLimits};
pub use error::{Failure, FailureKind, Limit, TranslateError};
pub use events::ResponseEvent;
pub use responses::{Response, ResponsesRequest};

/// An upstream stream → Responses events state machine. Every backend implements it, so the
/// proxy drives all of them the same way.
pub trait Transducer: Send {
    /// Emit `response.created` / `response.in_progress` (idempotent).
    fn start(&mut self, out: &mut Vec<ResponseEvent>);
    /// Feed upstream body bytes as they arrive.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<ResponseEvent>);
    /// The upstream body ended (EOF).
    fn end_of_stream(&mut self, out: &mut Vec<ResponseEvent>);
    /// The transport failed (connection reset, timeout, bad status).
    fn fail(&mut self, failure: Failure, out: &mut Vec<ResponseEvent>);
    /// Nothing arrived for a while: keep the client's idle timer from firing.
    fn keepalive(&mut self, out: &mut Vec<ResponseEvent>);
    /// Whether a terminal event was emitted.
    fn is_finished(&self) -> bool;
    /// The terminal response, once emitted.
    fn final_response(&self) -> Option<&Response>;
    /// Why the response failed, once it has: the kind behind `response.failed`'s code (the
    /// proxy answers a non-streaming client's failure with the kind's HTTP status).
    fn failure(&self) -> Option<&Failure>;
}

/// Parse a request body.
pub fn parse_request(body: &[u8]) -> Result<ResponsesRequest, TranslateError> {
    Ok(serde_json::from_slice(body)?)
}
