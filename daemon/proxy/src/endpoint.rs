//! An upstream endpoint as the proxy needs it: where, how, with which key and quirks.

use std::collections::HashMap;

use codex_launcher_translate::cache::CacheTtl;
use codex_launcher_translate::provider::{ChatProvider, ChatQuirks};

use crate::secret::ApiKey;

/// Upstream wire protocol: the product's one list ([`codex_launcher_types::Backend`]).
pub use codex_launcher_types::Backend;

/// One upstream.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Stable id (URL path segment `/e/<id>/`).
    pub id: String,
    /// Display name, used in error messages.
    pub name: String,
    /// Wire protocol.
    pub backend: Backend,
    /// Normalised base URL (no trailing slash, no `/chat/completions`).
    pub base_url: String,
    /// Key injected as `Authorization: Bearer`.
    pub api_key: Option<ApiKey>,
    /// Which Chat host this is (drives `quirks` unless overridden).
    pub provider: ChatProvider,
    /// Field and reasoning capabilities.
    pub quirks: ChatQuirks,
    /// Send a browser User-Agent (Cloudflare-fronted hosts that block unknown clients).
    pub browser_ua: bool,
    /// Extra headers for every upstream request (never logged: they may hold tokens).
    pub extra_headers: Vec<(String, String)>,
    /// Extra headers whose values are credentials (the user's `X-Api-Token`, a cookie):
    /// sent like the key (marked sensitive, redacted from error bodies), never printed.
    pub secret_headers: Vec<(String, ApiKey)>,
    /// Why the key cannot be used right now (a locked keyring): requests are answered with
    /// this instead of going upstream without credentials.
    pub key_unavailable: Option<String>,
    /// Codex model slug → upstream model id, where they differ.
    pub model_map: HashMap<String, String>,
    /// Codex `ModelsResponse` served at `/v1/models`.
    pub catalog: Option<serde_json::Value>,
    /// Prompt-cache breakpoints: their TTL, or none (`anthropic` backend, and Chat hosts that
    /// take `cache_control` on content parts).
    pub cache: CacheTtl,
}

pub use codex_launcher_translate::base_url::{UrlError, normalize_base_url};

impl Endpoint {
    /// `text` with the key and every secret header value replaced by `***` (an upstream
    /// error body may echo them).
    pub fn redact(&self, text: &str) -> String {
        let mut out = match &self.api_key {
            Some(key) => key.redact(text),
            None => text.to_owned(),
        };
        for (_, value) in &self.secret_headers {
            out = value.redact(&out);
        }
        out
    }

    /// A Chat Completions endpoint with the quirks of the provider its URL belongs to.
    pub fn openai_compat(
        id: &str,
        base_url: &str,
        api_key: Option<ApiKey>,
    ) -> Result<Endpoint, UrlError> {
        let base_url = normalize_base_url(base_url)?;
        let provider = ChatProvider::detect(&base_url);
        Ok(Endpoint {
            id: id.to_owned(),
            name: id.to_owned(),
            backend: Backend::OpenaiCompat,
            quirks: provider.quirks(),
            provider,
            base_url,
            api_key,
            browser_ua: false,
            extra_headers: Vec::new(),
            secret_headers: Vec::new(),
            key_unavailable: None,
            model_map: HashMap::new(),
            catalog: None,
            cache: CacheTtl::default(),
        })
    }

    /// The upstream model id for a Codex slug.
    pub fn upstream_model<'a>(&'a self, slug: &'a str) -> &'a str {
        self.model_map.get(slug).map(String::as_str).unwrap_or(slug)
    }

    /// The URL a request goes to.
    pub fn request_url(&self) -> String {
        match self.backend {
            Backend::OpenaiCompat => format!("{}/chat/completions", self.base_url),
            // Anthropic's documented base has no version (`https://api.anthropic.com`);
            // compatible hosts are often given with `/v1` already.
            Backend::Anthropic if self.base_url.ends_with("/v1") => {
                format!("{}/messages", self.base_url)
            }
            Backend::Anthropic => format!("{}/v1/messages", self.base_url),
            Backend::CommandCode => format!("{}/alpha/generate", self.base_url),
            Backend::OpenaiResponses => format!("{}/responses", self.base_url),
        }
    }
}
