//! What a reasoning item's `encrypted_content` carries, so reasoning round-trips through
//! Codex without any store on our side.
//!
//! Codex keeps reasoning items it receives and sends them back verbatim in later requests
//! (`include: ["reasoning.encrypted_content"]`, `store: false`). We put the provider-native
//! payload there — DeepSeek/Kimi/GLM `reasoning_content`, OpenRouter `reasoning_details`,
//! Anthropic signed `thinking` / `redacted_thinking` — and rebuild it on the way back.
//!
//! Format: `clr1:` + base64url(JSON of [`ReasoningPayload`]). The prefix tells our payloads
//! apart from real OpenAI ciphertext, which we must never try to decode.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const PREFIX: &str = "clr1:";

/// Provider-native reasoning, as it must be sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum ReasoningPayload {
    /// Chat Completions reasoning (`reasoning_content` / `reasoning` text, OpenRouter details).
    #[serde(rename = "chat")]
    Chat {
        /// The reasoning text exactly as streamed.
        text: String,
        /// OpenRouter `reasoning_details`, echoed unchanged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Vec<Value>>,
    },
    /// An Anthropic `thinking` block with its signature.
    #[serde(rename = "thinking")]
    Thinking {
        /// Thinking text.
        thinking: String,
        /// Signature from `signature_delta`.
        signature: String,
    },
    /// An Anthropic `redacted_thinking` block.
    #[serde(rename = "redacted")]
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
}

impl ReasoningPayload {
    /// Encode for `encrypted_content`.
    pub fn encode(&self) -> String {
        // Serializing this enum cannot fail (string keys, no custom impls).
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut out = String::with_capacity(PREFIX.len() + json.len() * 4 / 3 + 4);
        out.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(json, &mut out);
        out
    }

    /// Decode our own `encrypted_content`; `None` for anything we did not produce.
    pub fn decode(encrypted: &str) -> Option<ReasoningPayload> {
        let b64 = encrypted.strip_prefix(PREFIX)?;
        let json = URL_SAFE_NO_PAD.decode(b64).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_content() {
        let p = ReasoningPayload::Thinking {
            thinking: "hm".into(),
            signature: "sig==".into(),
        };
        assert_eq!(ReasoningPayload::decode(&p.encode()), Some(p));
        assert_eq!(ReasoningPayload::decode("gAAAAABo-openai-ciphertext"), None);
        assert_eq!(ReasoningPayload::decode("clr1:!!!"), None);
    }
}
