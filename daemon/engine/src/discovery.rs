//! Provider model lists → [`Model`]s. The shapes differ: OpenAI `{data:[{id}]}`, Together's
//! bare array, Ollama/OpenRouter extras (`context_length`, `architecture.input_modalities`,
//! `supported_parameters`), Anthropic `{data:[{id, display_name}]}`, Codex `{models:[{slug}]}`.

use serde_json::Value;

use crate::model::Model;

/// A models response we cannot read; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Not JSON.
    #[error("the models list is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// An object without a list.
    #[error("the models list has neither `data` nor `models`")]
    NoList,
    /// Neither an object nor an array.
    #[error("the models list is neither an object nor an array")]
    NotAList,
}

/// Parse a models response body.
pub fn parse_models(body: &str) -> Result<Vec<Model>, DiscoveryError> {
    let v: Value = serde_json::from_str(body)?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("data").or_else(|| o.get("models")) {
            Some(Value::Array(a)) => a,
            _ => return Err(DiscoveryError::NoList),
        },
        _ => return Err(DiscoveryError::NotAList),
    };
    let mut out = Vec::new();
    for m in list {
        let id = m
            .get("id")
            .or_else(|| m.get("slug"))
            .or_else(|| m.get("name"))
            .or_else(|| m.get("model"))
            .and_then(Value::as_str);
        let Some(id) = id.filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let mut model = Model::bare(id.trim());
        let name = m
            .get("display_name")
            .or_else(|| m.get("name"))
            .and_then(Value::as_str);
        if let Some(name) = name
            && name != id
        {
            model.display_name = name.to_owned();
        }
        let n = |k: &str| m.get(k).and_then(Value::as_u64);
        model.context_window = n("context_length")
            .or_else(|| n("context_window"))
            .or_else(|| {
                m.pointer("/top_provider/context_length")
                    .and_then(Value::as_u64)
            })
            .unwrap_or(0);
        model.max_output_tokens = n("max_output_tokens")
            .or_else(|| {
                m.pointer("/top_provider/max_completion_tokens")
                    .and_then(Value::as_u64)
            })
            .unwrap_or(0);
        if let Some(mods) = m
            .pointer("/architecture/input_modalities")
            .and_then(Value::as_array)
        {
            model.input_modalities = mods
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
        }
        if let Some(params) = m.get("supported_parameters").and_then(Value::as_array) {
            let has = |p: &str| params.iter().any(|x| x.as_str() == Some(p));
            if has("reasoning") || has("reasoning_effort") {
                model.reasoning_efforts = vec!["low".into(), "medium".into(), "high".into()];
                model.default_effort = "medium".into();
            }
        }
        out.push(model);
    }
    Ok(out)
}

/// Merge fetched models into known ones: new ids are appended; metadata the provider gave
/// fills what we did not know, never overwriting what the user set.
pub fn merge_models(known: &mut Vec<Model>, fetched: Vec<Model>) -> usize {
    let mut added = 0;
    for f in fetched {
        match known.iter_mut().find(|k| k.id == f.id) {
            Some(k) => {
                if k.context_window == 0 {
                    k.context_window = f.context_window;
                }
                if k.max_output_tokens == 0 {
                    k.max_output_tokens = f.max_output_tokens;
                }
                if k.display_name.is_empty() {
                    k.display_name = f.display_name;
                }
            }
            None => {
                known.push(f);
                added += 1;
            }
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let openai =
            parse_models(r#"{"object":"list","data":[{"id":"a","object":"model"},{"id":"b"}]}"#)
                .unwrap();
        assert_eq!(openai.len(), 2);
        let together = parse_models(r#"[{"id":"x","context_length":8192}]"#).unwrap();
        assert_eq!(together[0].context_window, 8192);
        let or = parse_models(r#"{"data":[{"id":"r","name":"R","context_length":1000,"architecture":{"input_modalities":["text","image"]},"supported_parameters":["reasoning"]}]}"#).unwrap();
        assert_eq!(or[0].input_modalities, ["text", "image"]);
        assert_eq!(or[0].reasoning_efforts.len(), 3);
        assert!(parse_models("<html>").is_err());
        let mut known = vec![Model::bare("a")];
        assert_eq!(merge_models(&mut known, openai), 1);
    }
}
