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
//! (`docs/prefix-stability.md`).

use serde::{Deserialize, Serialize};

/// Anthropic allows at most this many `cache_control` breakpoints in one request; a fifth is
/// a 400 (`invalid_request_error`, "A maximum of 4 blocks with cache_control may be
/// provided. Found 5.").
pub const MAX_BREAKPOINTS: usize = 4;

/// How long a cache entry written by our breakpoints lives (the endpoint's `cache` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CacheTtl {
    /// `cache_control: {type: "ephemeral"}`: five minutes, refreshed by every hit; writes cost
    /// 1.25 × the input price.
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    /// `cache_control: {type: "ephemeral", ttl: "1h"}`: one hour; writes cost 2 × the input
    /// price, reads the same as for five minutes.
    #[serde(rename = "1h")]
    OneHour,
    /// No breakpoints at all (automatic prefix caching by the host still happens).
    #[serde(rename = "off")]
    Off,
}

impl CacheTtl {
    /// Every setting, for listings.
    pub const ALL: [CacheTtl; 3] = [CacheTtl::FiveMinutes, CacheTtl::OneHour, CacheTtl::Off];

    /// The config / CLI name (`5m`, `1h`, `off`).
    pub fn name(self) -> &'static str {
        match self {
            CacheTtl::FiveMinutes => "5m",
            CacheTtl::OneHour => "1h",
            CacheTtl::Off => "off",
        }
    }

    /// Parse a config / CLI name; `5min`, `1hour`, `none` and `false` are accepted too.
    pub fn from_name(name: &str) -> Option<CacheTtl> {
        match name.trim().to_ascii_lowercase().as_str() {
            "5m" | "5min" | "5 min" | "default" | "on" | "true" => Some(CacheTtl::FiveMinutes),
            "1h" | "1hour" | "60m" => Some(CacheTtl::OneHour),
            "off" | "none" | "false" | "no" => Some(CacheTtl::Off),
            _ => None,
        }
    }

    /// The marker to put on a breakpoint, or `None` when caching is off.
    pub fn control(self) -> Option<CacheControl> {
        match self {
            // No `ttl` for the default: the shortest form, and the one every
            // Anthropic-compatible host understands.
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
}

impl std::fmt::Display for CacheTtl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
        for ttl in CacheTtl::ALL {
            assert_eq!(CacheTtl::from_name(ttl.name()), Some(ttl));
            let json = serde_json::to_value(ttl).unwrap();
            assert_eq!(json, ttl.name());
            assert_eq!(serde_json::from_value::<CacheTtl>(json).unwrap(), ttl);
        }
        assert_eq!(CacheTtl::from_name("nope"), None);
        assert_eq!(CacheTtl::default(), CacheTtl::FiveMinutes);
        assert_eq!(
            serde_json::to_string(&CacheTtl::FiveMinutes.control()).unwrap(),
            r#"{"type":"ephemeral"}"#
        );
        assert_eq!(
            serde_json::to_string(&CacheTtl::OneHour.control()).unwrap(),
            r#"{"type":"ephemeral","ttl":"1h"}"#
        );
        assert_eq!(CacheTtl::Off.control(), None);
    }
}
