//! Endpoint rules that need no state: what a key may look like, a stored endpoint as the
//! proxy serves it, and the checks a client's settings go through before the store's own.

use std::collections::HashMap;

use codex_launcher_engine::model::Endpoint;
use codex_launcher_proxy::ApiKey;
use codex_launcher_translate::provider::{ChatProvider, ChatQuirks};

use crate::error::StateError;
use crate::secrets::secret_headers;

/// Largest key we accept (keys are ~50–200 bytes; this only stops garbage).
pub const MAX_KEY: usize = 4096;
/// Largest pasted text or bundle.
pub const MAX_TEXT: usize = 4 * 1024 * 1024;

/// A key as a client sent it: not absurdly long, no control characters.
pub fn check_key(key: &str) -> Result<(), StateError> {
    if key.len() > MAX_KEY || key.trim().chars().any(char::is_control) {
        return Err(StateError::InvalidArgument(
            "the API key is too long or contains control characters".into(),
        ));
    }
    Ok(())
}

/// Settings a client sent, checked beyond what the store checks: the capability row and
/// its overrides must make a valid row.
pub fn check_settings(e: &Endpoint) -> Result<(), StateError> {
    if !e.provider.is_empty() && ChatProvider::from_name(&e.provider).is_none() {
        let known: Vec<&str> = ChatProvider::ALL.iter().map(|p| p.name()).collect();
        return Err(StateError::InvalidArgument(format!(
            "unknown provider `{}` (known: {})",
            e.provider,
            known.join(", ")
        )));
    }
    if let Some(overrides) = &e.quirks {
        row(e)
            .with_overrides(overrides)
            .map_err(|err| StateError::InvalidArgument(format!("invalid quirks: {err}")))?;
    }
    Ok(())
}

/// The endpoint's capability row before overrides.
fn row(e: &Endpoint) -> ChatQuirks {
    ChatProvider::from_name(&e.provider).map_or_else(ChatQuirks::default, ChatProvider::quirks)
}

/// Why a stored endpoint cannot be served (a file edited by hand, say).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Its URL.
    #[error(transparent)]
    Url(#[from] codex_launcher_translate::base_url::UrlError),
    /// Its capability row.
    #[error("unknown provider `{0}`")]
    Provider(String),
    /// Its capability overrides.
    #[error("invalid quirks: {0}")]
    Quirks(serde_json::Error),
}

/// A stored endpoint as the proxy serves it: its key and secret header values from
/// `secrets` (the key store's contents by id), or, when they cannot be had now, why.
pub fn to_proxy(
    e: &Endpoint,
    secrets: &HashMap<String, ApiKey>,
    unavailable: Option<&str>,
) -> Result<codex_launcher_proxy::Endpoint, ServeError> {
    let key = secrets.get(&e.id).cloned();
    let mut p = codex_launcher_proxy::Endpoint::openai_compat(&e.id, &e.base_url, key)?;
    p.name = e.name.clone();
    p.backend = e.backend;
    if !e.provider.is_empty() {
        let provider = ChatProvider::from_name(&e.provider)
            .ok_or_else(|| ServeError::Provider(e.provider.clone()))?;
        p.provider = provider;
        p.quirks = provider.quirks();
    }
    if let Some(overrides) = &e.quirks {
        p.quirks = p
            .quirks
            .with_overrides(overrides)
            .map_err(ServeError::Quirks)?;
    }
    p.browser_ua = e.browser_ua;
    let secret: Vec<(String, String)> = secret_headers(e);
    p.extra_headers = e
        .extra_headers
        .iter()
        .filter(|(name, _)| !secret.iter().any(|(s, _)| s == name))
        .cloned()
        .collect();
    p.secret_headers = secret
        .into_iter()
        .filter_map(|(name, id)| Some((name, secrets.get(&id)?.clone())))
        .collect();
    p.key_unavailable = unavailable.map(str::to_owned);
    p.cache = e.cache;
    Ok(p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use codex_launcher_types::{Backend, CacheTtl};

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "ds".into(),
            name: "DeepSeek".into(),
            backend: Backend::OpenaiCompat,
            base_url: "https://api.deepseek.com/v1".into(),
            provider: "deepseek".into(),
            ..Endpoint::default()
        }
    }

    #[test]
    fn the_proxy_gets_the_row_with_the_overrides_laid_over_it() {
        let mut e = endpoint();
        let mut o = serde_json::Map::new();
        o.insert("parallel_tool_calls".into(), false.into());
        e.quirks = Some(o);
        check_settings(&e).unwrap();
        e.extra_headers = vec![
            ("X-Title".into(), "me".into()),
            ("X-Api-Token".into(), String::new()),
        ];
        let secrets = HashMap::from([
            ("ds".to_owned(), ApiKey::new("sk-x").unwrap()),
            (
                "ds:header:x-api-token".to_owned(),
                ApiKey::new("tok").unwrap(),
            ),
        ]);
        let p = to_proxy(&e, &secrets, None).unwrap();
        assert_eq!(p.extra_headers, [("X-Title".to_owned(), "me".to_owned())]);
        assert_eq!(p.secret_headers[0].0, "X-Api-Token");
        assert_eq!(p.secret_headers[0].1.expose(), "tok");
        assert!(!p.quirks.parallel_tool_calls);
        assert_eq!(
            p.quirks.reasoning_echo,
            ChatProvider::DeepSeek.quirks().reasoning_echo
        );
        assert_eq!(
            p.api_key.map(|k| k.expose().to_owned()).as_deref(),
            Some("sk-x")
        );
        assert_eq!(p.cache, CacheTtl::FiveMinutes, "caching on by default");
        e.cache = CacheTtl::Off;
        assert_eq!(to_proxy(&e, &secrets, None).unwrap().cache, CacheTtl::Off);
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let mut e = endpoint();
        e.provider = "deepsek".into();
        assert!(
            check_settings(&e)
                .unwrap_err()
                .to_string()
                .starts_with("unknown provider `deepsek`")
        );
        let mut e = endpoint();
        let mut o = serde_json::Map::new();
        o.insert("nope".into(), true.into());
        e.quirks = Some(o);
        assert_eq!(
            check_settings(&e).unwrap_err().to_string(),
            "invalid quirks: unknown capability `nope`"
        );
        assert!(check_key(&"k".repeat(MAX_KEY + 1)).is_err());
        assert!(check_key("sk-\u{7}").is_err());
        assert!(check_key(" sk-fine\n").is_ok());
    }
}
