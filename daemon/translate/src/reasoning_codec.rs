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
//!
//! The JSON may also carry `"o"`: the [`ReasoningOrigin`], who produced the reasoning, so a
//! session that moves to another provider knows which reasoning that provider cannot take
//! (see [`crate::handover`]). Payloads written before it existed have no `"o"` and decode
//! as before; an origin this version cannot read is ignored, never the payload with it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::provider::ChatProvider;

const PREFIX: &str = "clr1:";

/// Who produced a piece of reasoning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningOrigin {
    /// The wire protocol it came over.
    #[serde(rename = "b")]
    pub backend: OriginBackend,
    /// The Chat Completions host row, for [`OriginBackend::Chat`].
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ChatProvider>,
    /// The upstream model id.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The wire protocol a piece of reasoning came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginBackend {
    /// Chat Completions.
    Chat,
    /// Anthropic Messages.
    Anthropic,
    /// Command Code `/alpha/generate`.
    CommandCode,
}

impl ReasoningOrigin {
    /// The origin a payload without one implies: its kind says which wire it came over.
    pub fn implied(payload: &ReasoningPayload) -> ReasoningOrigin {
        let backend = match payload {
            ReasoningPayload::Chat { .. } => OriginBackend::Chat,
            ReasoningPayload::Thinking { .. } | ReasoningPayload::RedactedThinking { .. } => {
                OriginBackend::Anthropic
            }
        };
        ReasoningOrigin {
            backend,
            provider: None,
            model: None,
        }
    }
}

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

    /// Encode for `encrypted_content`, recording who produced it (`None`: the same bytes as
    /// [`ReasoningPayload::encode`]).
    pub fn encode_with_origin(&self, origin: Option<&ReasoningOrigin>) -> String {
        let Some(origin) = origin else {
            return self.encode();
        };
        // Both serialize to JSON objects (an internally tagged enum, a struct), so the
        // fallback is unreachable; it keeps this path free of panics all the same.
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let (Value::Object(map), Ok(o)) = (&mut value, serde_json::to_value(origin)) {
            map.insert("o".into(), o);
        }
        let json = serde_json::to_vec(&value).unwrap_or_default();
        let mut out = String::with_capacity(PREFIX.len() + json.len() * 4 / 3 + 4);
        out.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(json, &mut out);
        out
    }

    /// Decode our own `encrypted_content`; `None` for anything we did not produce.
    pub fn decode(encrypted: &str) -> Option<ReasoningPayload> {
        Self::decode_with_origin(encrypted).map(|(payload, _)| payload)
    }

    /// Decode our own `encrypted_content` with its recorded origin (`None` for payloads
    /// written without one, or with one this version cannot read).
    pub fn decode_with_origin(
        encrypted: &str,
    ) -> Option<(ReasoningPayload, Option<ReasoningOrigin>)> {
        let b64 = encrypted.strip_prefix(PREFIX)?;
        let json = URL_SAFE_NO_PAD.decode(b64).ok()?;
        let value: Value = serde_json::from_slice(&json).ok()?;
        let origin = value
            .get("o")
            .and_then(|o| serde_json::from_value(o.clone()).ok());
        let payload = serde_json::from_value(value).ok()?;
        Some((payload, origin))
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

    #[test]
    fn origin_round_trip_and_old_payloads() {
        let p = ReasoningPayload::Chat {
            text: "plan".into(),
            details: None,
        };
        let origin = ReasoningOrigin {
            backend: OriginBackend::Chat,
            provider: Some(ChatProvider::DeepSeek),
            model: Some("deepseek-v4-pro".into()),
        };
        let enc = p.encode_with_origin(Some(&origin));
        assert_eq!(
            ReasoningPayload::decode_with_origin(&enc),
            Some((p.clone(), Some(origin)))
        );
        assert_eq!(ReasoningPayload::decode(&enc), Some(p.clone()));
        // Written before origins existed: same bytes as `encode`, no origin.
        assert_eq!(p.encode_with_origin(None), p.encode());
        assert_eq!(
            ReasoningPayload::decode_with_origin(&p.encode()),
            Some((p.clone(), None))
        );
        // An origin from a newer version (an unknown backend) loses the origin only.
        let newer = serde_json::json!({"k": "chat", "text": "plan", "o": {"b": "gemini-native"}});
        let enc = format!(
            "clr1:{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&newer).unwrap())
        );
        assert_eq!(ReasoningPayload::decode_with_origin(&enc), Some((p, None)));
    }
}
