//! Import of the seed launcher's `~/.codex/endpoints.json`.
//!
//! Two shapes are in the wild: `{"endpoints": [{name, backend_type, base_url, api_key,
//! default_model, models}], "default": "name"}` and a flat `{"<name>": {…}}` map. Models are
//! strings or objects. Fields we cannot map are kept, as JSON, in the endpoint's note, so
//! nothing is lost; keys are returned separately for the keyring.

use codex_launcher_types::Backend;
use serde_json::{Map, Value};

use crate::model::{Endpoint, Model};

/// One imported endpoint and its key (if the file had one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The endpoint (id empty: the store assigns one).
    pub endpoint: Endpoint,
    /// The key from the file.
    pub api_key: Option<String>,
}

/// Result of parsing a legacy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyFile {
    /// Endpoints in file order.
    pub endpoints: Vec<Imported>,
    /// Name of the default endpoint.
    pub default: Option<String>,
}

/// One endpoint of the file: its name and its fields.
type Entry = (String, Map<String, Value>);

const KNOWN: &[&str] = &[
    "name",
    "backend_type",
    "backend",
    "base_url",
    "url",
    "api_key",
    "default_model",
    "model",
    "models",
];

/// A legacy file we cannot read.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// JSON, but not an object.
    #[error("expected a JSON object")]
    NotObject,
}

/// Parse the file's text.
pub fn parse_legacy(text: &str) -> Result<LegacyFile, LegacyError> {
    let v: Value = serde_json::from_str(text)?;
    let Value::Object(root) = v else {
        return Err(LegacyError::NotObject);
    };
    let (entries, default): (Vec<Entry>, Option<String>) = match root.get("endpoints") {
        Some(Value::Array(list)) => (
            list.iter()
                .filter_map(|e| e.as_object().cloned())
                .map(|o| {
                    (
                        o.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("unnamed")
                            .to_owned(),
                        o,
                    )
                })
                .collect(),
            root.get("default")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        ),
        _ => (
            root.iter()
                .filter_map(|(k, v)| v.as_object().map(|o| (k.clone(), o.clone())))
                .collect(),
            None,
        ),
    };
    let mut endpoints = Vec::new();
    for (name, o) in entries {
        let s = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let backend_raw = if o.contains_key("backend_type") {
            s("backend_type")
        } else {
            s("backend")
        };
        let backend = map_backend(&backend_raw);
        let models: Vec<Model> = match o.get("models") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|m| match m {
                    Value::String(id) => Some(Model::bare(id)),
                    Value::Object(mo) => mo
                        .get("id")
                        .or_else(|| mo.get("name"))
                        .and_then(Value::as_str)
                        .map(|id| {
                            let mut model = Model::bare(id);
                            model.context_window = mo
                                .get("context_window")
                                .and_then(Value::as_u64)
                                .unwrap_or(0);
                            model
                        }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let extra: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut note =
            format!("Imported from the legacy endpoints.json (backend `{backend_raw}`).");
        if !extra.is_empty() {
            note.push_str(" Unmapped fields: ");
            note.push_str(&Value::Object(extra).to_string());
        }
        let default_model = if o.contains_key("default_model") {
            s("default_model")
        } else {
            s("model")
        };
        let base_url = if o.contains_key("base_url") {
            s("base_url")
        } else {
            s("url")
        };
        endpoints.push(Imported {
            endpoint: Endpoint {
                name,
                backend,
                base_url,
                default_model,
                models,
                note,
                ..Endpoint::default()
            },
            api_key: o
                .get("api_key")
                .and_then(Value::as_str)
                .filter(|k| !k.trim().is_empty())
                .map(str::to_owned),
        });
    }
    Ok(LegacyFile { endpoints, default })
}

fn map_backend(raw: &str) -> Backend {
    let r = raw.to_ascii_lowercase();
    if r.contains("anthropic") || r.contains("claude") {
        Backend::Anthropic
    } else if r.contains("command") {
        Backend::CommandCode
    } else if r.contains("responses") || r == "openai-native" || r == "native" {
        Backend::OpenaiResponses
    } else {
        Backend::OpenaiCompat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_flat_shapes() {
        let list = parse_legacy(r#"{"endpoints":[{"name":"DS","backend_type":"openai","base_url":"https://api.deepseek.com","api_key":"sk-1","default_model":"deepseek-chat","models":["deepseek-chat",{"id":"r1","context_window":64000}],"color":"blue"}],"default":"DS"}"#).unwrap();
        assert_eq!(list.default.as_deref(), Some("DS"));
        let e = &list.endpoints[0];
        assert_eq!(e.api_key.as_deref(), Some("sk-1"));
        assert_eq!(e.endpoint.models[1].context_window, 64_000);
        assert!(
            e.endpoint.note.contains("\"color\":\"blue\""),
            "{}",
            e.endpoint.note
        );
        let flat = parse_legacy(
            r#"{"Claude":{"backend_type":"anthropic","base_url":"https://api.anthropic.com"}}"#,
        )
        .unwrap();
        assert_eq!(flat.endpoints[0].endpoint.backend, "anthropic");
        assert!(parse_legacy("[]").is_err());
    }
}
