//! Prompt caching: the per-endpoint setting and the `cache_control` marker.
//!
//! Anthropic caches a prompt prefix only where the request marks a breakpoint with
//! `cache_control` (or asks for automatic placement with a top-level `cache_control`); the
//! prefix is `tools`, then `system`, then `messages`, up to and including the marked block.
//! OpenRouter and Kilo take the same marker on Chat Completions content parts for Anthropic and
//! Gemini models. Source for every rule here:
//! <https://platform.claude.com/docs/en/build-with-claude/prompt-caching>.
//!
//! Hosts that cache automatically (OpenAI, DeepSeek, Kimi, Z.AI, Groq, ...) need no marker,
//! only a prefix that repeats byte for byte from one turn to the next
//! (ARCHITECTURE.md, "What we send back").

use serde::{Deserialize, Serialize};

/// Anthropic allows at most this many `cache_control` breakpoints in one request; a fifth is
/// a 400 (`invalid_request_error`, "A maximum of 4 blocks with cache_control may be
/// provided. Found 5.").
pub const MAX_BREAKPOINTS: usize = 4;

/// How long a cache entry written by our breakpoints lives (the endpoint's `cache` setting).
/// A closed vocabulary of the product (`codex-launcher-types`), so the endpoint store, the
/// D-Bus contract and the clients name the same three values.
pub use codex_launcher_types::CacheTtl;

/// The marker to put on a breakpoint for `ttl`, or `None` when caching is off.
pub fn control(ttl: CacheTtl) -> Option<CacheControl> {
    match ttl {
        // No `ttl` for the default: the shortest form, and the one every Anthropic-compatible
        // host understands.
        CacheTtl::FiveMinutes => Some(CacheControl {
            kind: CacheType::Ephemeral,
            ttl: None,
        }),
        CacheTtl::OneHour => Some(CacheControl {
            kind: CacheType::Ephemeral,
            ttl: Some(Ttl::OneHour),
        }),
        CacheTtl::Off => None,
    }
}

/// `cache_control` on a tool, a system block, a content block or a content part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheControl {
    /// Always `ephemeral` (the only type Anthropic has).
    #[serde(rename = "type")]
    pub kind: CacheType,
    /// `1h`; absent means five minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
}

/// `cache_control.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheType {
    /// The only cache type.
    Ephemeral,
}

/// `cache_control.ttl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ttl {
    /// One hour.
    #[serde(rename = "1h")]
    OneHour,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_markers_serialize() {
        for &ttl in CacheTtl::ALL {
            assert_eq!(CacheTtl::from_name(ttl.name()), Some(ttl));
            let json = serde_json::to_value(ttl).unwrap();
            assert_eq!(json, ttl.name());
            assert_eq!(serde_json::from_value::<CacheTtl>(json).unwrap(), ttl);
        }
        assert_eq!(CacheTtl::from_name("nope"), None);
        assert_eq!(CacheTtl::default(), CacheTtl::FiveMinutes);
        assert_eq!(
            serde_json::to_string(&control(CacheTtl::FiveMinutes)).unwrap(),
            r#"{"type":"ephemeral"}"#
        );
        assert_eq!(
            serde_json::to_string(&control(CacheTtl::OneHour)).unwrap(),
            r#"{"type":"ephemeral","ttl":"1h"}"#
        );
        assert_eq!(control(CacheTtl::Off), None);
    }
}
