//! Asking an upstream for its model list, through the same client, URL rules and headers
//! (browser User-Agent, extra headers, key injection) as proxied requests: a
//! Cloudflare-fronted host that lets the proxy through lets the model fetch through too.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};

use crate::endpoint::{Backend, Endpoint};
use crate::upstream::upstream_headers;

/// How long a model list may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest model list we read (OpenRouter's is ~1 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The list could not be fetched; messages name the URL, never the key.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// No answer in time.
    #[error("{url} did not answer within {} s", FETCH_TIMEOUT.as_secs())]
    Timeout {
        /// The models URL.
        url: String,
    },
    /// No connection, or the body broke off.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The models URL.
        url: String,
        /// reqwest's error (its Display has the URL, never headers).
        source: reqwest::Error,
    },
    /// A non-2xx answer.
    #[error("{url} answered HTTP {status}: {snippet}")]
    Status {
        /// The models URL.
        url: String,
        /// The status.
        status: reqwest::StatusCode,
        /// The body's start, the key redacted.
        snippet: String,
    },
    /// Over [`MAX_BODY`].
    #[error("{url} sent a model list over {} MiB", MAX_BODY / (1024 * 1024))]
    TooLarge {
        /// The models URL.
        url: String,
    },
}

/// Where an endpoint lists its models.
pub fn models_url(endpoint: &Endpoint) -> String {
    let base = &endpoint.base_url;
    match endpoint.backend {
        Backend::Anthropic if base.ends_with("/v1") => format!("{base}/models"),
        Backend::Anthropic => format!("{base}/v1/models"),
        Backend::CommandCode => format!("{base}/provider/v1/models"),
        Backend::OpenaiCompat | Backend::OpenaiResponses => format!("{base}/models"),
    }
}

/// The body of the endpoint's model list.
pub async fn fetch(client: &reqwest::Client, endpoint: &Endpoint) -> Result<String, ModelsError> {
    let url = models_url(endpoint);
    let mut headers = upstream_headers(endpoint, &HeaderMap::new());
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.remove("content-type");
    let send = client.get(&url).headers(headers).send();
    let mut resp = tokio::time::timeout(FETCH_TIMEOUT, send)
        .await
        .map_err(|_| ModelsError::Timeout { url: url.clone() })?
        .map_err(|source| ModelsError::Transport {
            url: url.clone(),
            source,
        })?;
    let status = resp.status();
    let mut body = Vec::new();
    loop {
        let chunk = tokio::time::timeout(FETCH_TIMEOUT, resp.chunk())
            .await
            .map_err(|_| ModelsError::Timeout { url: url.clone() })?
            .map_err(|source| ModelsError::Transport {
                url: url.clone(),
                source,
            })?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ModelsError::TooLarge { url });
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        let body = endpoint.redact(&body);
        return Err(ModelsError::Status {
            url,
            status,
            snippet: body.chars().take(300).collect(),
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_per_backend() {
        let mut e = Endpoint::openai_compat("x", "https://api.x.com/v1", None).expect("endpoint");
        assert_eq!(models_url(&e), "https://api.x.com/v1/models");
        e.backend = Backend::Anthropic;
        e.base_url = "https://api.anthropic.com".into();
        assert_eq!(models_url(&e), "https://api.anthropic.com/v1/models");
        e.backend = Backend::CommandCode;
        e.base_url = "https://api.commandcode.ai".into();
        assert_eq!(
            models_url(&e),
            "https://api.commandcode.ai/provider/v1/models"
        );
    }
}
