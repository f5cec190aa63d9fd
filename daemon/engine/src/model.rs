//! Endpoints and models as the launcher stores them.

use codex_launcher_types::{Backend, CacheTtl};
use serde::{Deserialize, Serialize};

use crate::pricing::Prices;

/// A model with the metadata Codex needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    /// Provider's model id.
    pub id: String,
    /// Display name (empty: the id).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// Context window (0: unknown).
    #[serde(skip_serializing_if = "is_zero")]
    pub context_window: u64,
    /// Output cap (0: unknown).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_output_tokens: u64,
    /// Reasoning efforts it takes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasoning_efforts: Vec<String>,
    /// Default effort.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub default_effort: String,
    /// `text`, `image`.
    pub input_modalities: Vec<String>,
    /// Several tool calls per turn.
    pub parallel_tool_calls: bool,
    /// Prices per million tokens (absent in files written before prices existed: none set).
    #[serde(skip_serializing_if = "Prices::is_empty")]
    pub prices: Prices,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_default_cache(cache: &CacheTtl) -> bool {
    *cache == CacheTtl::default()
}

impl Model {
    /// A text model known only by id.
    pub fn bare(id: &str) -> Model {
        Model {
            id: id.to_owned(),
            input_modalities: vec!["text".into()],
            parallel_tool_calls: true,
            ..Model::default()
        }
    }
}

/// An endpoint as stored (never with its key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Preset it came from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub preset: String,
    /// Upstream protocol.
    pub backend: Backend,
    /// Normalised base URL.
    pub base_url: String,
    /// Default model id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub default_model: String,
    /// Models.
    pub models: Vec<Model>,
    /// Browser User-Agent upstream.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub browser_ua: bool,
    /// Extra upstream headers. A secret one ([`crate::credentials::is_secret_header`]) is
    /// kept here by name only (empty value): its value lives with the keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_headers: Vec<(String, String)>,
    /// Headers the user marked secret beyond those whose names say so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_headers: Vec<String>,
    /// The environment variable the key was read from (`codexctl … --api-key-env`), which
    /// Codex sessions must not inherit.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_env: String,
    /// Capability-table row (empty: from the URL).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// Per-field capability overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quirks: Option<serde_json::Map<String, serde_json::Value>>,
    /// Prompt-cache breakpoints (`5m`, `1h`, `off`; absent in older files and left out when
    /// it is the default, five minutes).
    #[serde(skip_serializing_if = "is_default_cache")]
    pub cache: CacheTtl,
    /// Free text: where it came from, fields an import could not map.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_setting_defaults_to_five_minutes_and_is_written_only_when_changed() {
        let old =
            r#"{"id":"a","name":"A","backend":"anthropic","base_url":"https://x/v1","models":[]}"#;
        let e: Endpoint = serde_json::from_str(old).expect("an old endpoint loads");
        assert_eq!(e.cache, CacheTtl::FiveMinutes);
        assert!(!serde_json::to_string(&e).expect("json").contains("cache"));
        let hour = Endpoint {
            cache: CacheTtl::OneHour,
            ..e
        };
        let json = serde_json::to_string(&hour).expect("json");
        assert!(json.contains(r#""cache":"1h""#), "{json}");
        assert_eq!(serde_json::from_str::<Endpoint>(&json).expect("back"), hour);
        let typo = json.replace(r#""1h""#, r#""2h""#);
        assert!(
            serde_json::from_str::<Endpoint>(&typo).is_err(),
            "a typo is refused"
        );
    }

    #[test]
    fn models_without_prices_load_and_stay_without() {
        // A model as written before prices existed.
        let old = r#"{"id":"m","input_modalities":["text"],"parallel_tool_calls":true}"#;
        let m: Model = serde_json::from_str(old).expect("an old model loads");
        assert!(m.prices.is_empty());
        assert_eq!(serde_json::to_string(&m).expect("json"), old);
        let priced = Model {
            prices: crate::pricing::Prices::list(1.0, 0.1, 1.25, 5.0, ""),
            ..m
        };
        let json = serde_json::to_string(&priced).expect("json");
        assert!(json.contains(r#""prices":{"input":1.0,"#), "{json}");
        assert_eq!(
            serde_json::from_str::<Model>(&json).expect("round trip"),
            priced
        );
    }
}

/// A fallback group: one endpoint-like id whose members are tried in order (the first
/// healthy one serves; see the daemon's state owner for failover and the breaker).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    /// Stable id, in the same namespace as endpoint ids (`/e/<id>/v1`).
    pub id: String,
    /// Display name (the id when not given).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Members, in the order they are tried.
    pub members: Vec<GroupMember>,
}

/// One member of a group: an endpoint and the model to ask it for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMember {
    /// Endpoint id.
    pub endpoint: String,
    /// Model id at that endpoint (empty: its default model).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model: String,
}

impl GroupMember {
    /// `endpoint` or `endpoint:model`, as `codexctl group add --member` takes it.
    pub fn label(&self) -> String {
        if self.model.is_empty() {
            self.endpoint.clone()
        } else {
            format!("{}:{}", self.endpoint, self.model)
        }
    }
}
