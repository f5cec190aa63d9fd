//! The standalone proxy's settings (`codex-launcherd proxy`): a config file (JSON or TOML,
//! the same field names as the flags) with the command line's flags laid over it, checked
//! and turned into the one endpoint, the listen address and the tunables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_launcher_translate::cache::CacheTtl;
use codex_launcher_translate::provider::ChatProvider;
use serde::Deserialize;

use crate::{ApiKey, Backend, Endpoint, Settings};

/// Every setting; `None` (or empty) is "not given". From a file, or from flags.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// `openai-compat`, `anthropic`, `command-code` or `openai-responses` (or an alias).
    pub backend: Option<String>,
    /// Upstream base URL.
    pub target_url: Option<String>,
    /// Upstream API key (a flag shows in `ps`: prefer `api_key_env`).
    pub api_key: Option<String>,
    /// Environment variable holding the upstream API key.
    pub api_key_env: Option<String>,
    /// Where to listen (loopback unless `allow_non_loopback`).
    pub listen: Option<SocketAddr>,
    /// Send a browser User-Agent upstream.
    #[serde(default)]
    pub browser_ua: bool,
    /// Codex model catalog to serve at /v1/models.
    pub model_catalog: Option<PathBuf>,
    /// Capability-table row (detected from the URL when absent).
    pub provider: Option<String>,
    /// Codex model slug → upstream model id.
    #[serde(default)]
    pub model_map: BTreeMap<String, String>,
    /// Extra upstream headers, in order (a later one replaces an earlier one's value).
    #[serde(default, deserialize_with = "header_map")]
    pub headers: Vec<(String, String)>,
    /// Listen beyond loopback.
    #[serde(default)]
    pub allow_non_loopback: bool,
    /// Per-field overrides of the provider's capability row.
    pub quirks: Option<serde_json::Map<String, serde_json::Value>>,
    /// Prompt caching: `5m`, `1h` or `off`.
    pub cache: Option<String>,
    /// The proxy's tunables.
    #[serde(flatten)]
    pub tunables: Tunables,
}

/// The proxy's tunables, in the standalone proxy's config file and in the daemon's
/// settings file (`$XDG_CONFIG_HOME/codex-launcher/daemon.toml`).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Tunables {
    /// How long to wait for the upstream's headers before streaming keep-alives.
    pub first_byte_grace_ms: Option<u64>,
    /// Silence after which a keep-alive is sent.
    pub keepalive_ms: Option<u64>,
    /// Longest silence between two reads of an upstream body (default 600 s: reasoning
    /// models pause for minutes).
    pub read_idle_ms: Option<u64>,
    /// TCP + TLS connect timeout (default 15 s).
    pub connect_timeout_ms: Option<u64>,
    /// Largest upstream event (SSE event or NDJSON line; default 16 MiB). Tool-call
    /// arguments, output items and a response's output are bounded by the same number.
    pub max_event_bytes: Option<usize>,
}

impl Tunables {
    /// These over `base`: a value given here wins.
    pub fn over(self, base: Tunables) -> Tunables {
        Tunables {
            first_byte_grace_ms: self.first_byte_grace_ms.or(base.first_byte_grace_ms),
            keepalive_ms: self.keepalive_ms.or(base.keepalive_ms),
            read_idle_ms: self.read_idle_ms.or(base.read_idle_ms),
            connect_timeout_ms: self.connect_timeout_ms.or(base.connect_timeout_ms),
            max_event_bytes: self.max_event_bytes.or(base.max_event_bytes),
        }
    }

    /// The default settings with these applied.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::default();
        if let Some(ms) = self.first_byte_grace_ms {
            settings.first_byte_grace = Duration::from_millis(ms);
        }
        if let Some(ms) = self.keepalive_ms {
            settings.keepalive = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = self.read_idle_ms {
            settings.timeouts.read_idle = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = self.connect_timeout_ms {
            settings.timeouts.connect = Duration::from_millis(ms.max(1));
        }
        if let Some(bytes) = self.max_event_bytes {
            settings.max_event_bytes = bytes.max(1);
        }
        settings
    }
}

/// The daemon's settings file (`daemon.toml`): the proxy's tunables. A missing file is the
/// defaults; an unknown field or a bad value is an error naming the file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// The proxy's tunables.
    #[serde(flatten)]
    pub tunables: Tunables,
}

impl DaemonSettings {
    /// Read `path` (TOML); missing: the defaults.
    pub fn load(path: &Path) -> Result<DaemonSettings, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                format: "TOML",
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DaemonSettings::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

fn header_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    Ok(BTreeMap::<String, String>::deserialize(d)?
        .into_iter()
        .collect())
}

/// A setting that cannot be used; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid config.
    #[error("{path} is not a valid proxy config ({format}): {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// `JSON` or `TOML`.
        format: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A value is wrong or missing.
    #[error("{0}")]
    Invalid(String),
}

/// What the standalone proxy serves.
#[derive(Debug)]
pub struct Standalone {
    /// The one endpoint (id `default`).
    pub endpoint: Endpoint,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Tunables.
    pub settings: Settings,
}

/// `KEY=VALUE` as a pair.
pub fn split_pair(s: &str, what: &str) -> Result<(String, String), ConfigError> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(ConfigError::Invalid(format!(
            "{what} must look like KEY=VALUE, got `{s}`"
        ))),
    }
}

impl ProxyConfig {
    /// Read a config file: JSON if it is named `.json` or starts with `{`, else TOML.
    pub fn load(path: &Path) -> Result<ProxyConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parse = |format, reason: String| ConfigError::Parse {
            path: path.to_path_buf(),
            format,
            reason,
        };
        if path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{') {
            serde_json::from_str(&text).map_err(|e| parse("JSON", e.to_string()))
        } else {
            toml::from_str(&text).map_err(|e| parse("TOML", e.to_string()))
        }
    }

    /// These settings (the flags) over `file`'s: a value given here wins, switches add up,
    /// headers and model mappings given here come after the file's.
    pub fn over(self, file: ProxyConfig) -> ProxyConfig {
        let mut model_map = file.model_map;
        model_map.extend(self.model_map);
        let mut headers = file.headers;
        headers.extend(self.headers);
        ProxyConfig {
            backend: self.backend.or(file.backend),
            target_url: self.target_url.or(file.target_url),
            api_key: self.api_key.or(file.api_key),
            api_key_env: self.api_key_env.or(file.api_key_env),
            listen: self.listen.or(file.listen),
            browser_ua: self.browser_ua || file.browser_ua,
            model_catalog: self.model_catalog.or(file.model_catalog),
            provider: self.provider.or(file.provider),
            model_map,
            headers,
            allow_non_loopback: self.allow_non_loopback || file.allow_non_loopback,
            quirks: self.quirks.or(file.quirks),
            cache: self.cache.or(file.cache),
            tunables: self.tunables.over(file.tunables),
        }
    }

    /// Check everything and build what to serve; `env` reads the key's variable.
    pub fn build(self, env: impl Fn(&str) -> Option<String>) -> Result<Standalone, ConfigError> {
        let invalid = ConfigError::Invalid;
        let backend_name = self.backend.unwrap_or_else(|| "openai-compat".into());
        let backend = Backend::from_name(&backend_name).ok_or_else(|| {
            invalid(format!("unknown backend `{backend_name}` (supported: openai-compat, anthropic, command-code, openai-responses)"))
        })?;
        let target = self
            .target_url
            .ok_or_else(|| invalid("--target-url is required".into()))?;
        let api_key = match (self.api_key, self.api_key_env) {
            (Some(k), _) => ApiKey::new(k),
            (None, Some(var)) => {
                let value = env(&var).ok_or_else(|| {
                    invalid(format!(
                        "environment variable {var} (--api-key-env) is not set"
                    ))
                })?;
                Some(
                    ApiKey::new(value)
                        .ok_or_else(|| invalid(format!("environment variable {var} is empty")))?,
                )
            }
            (None, None) => None,
        };
        if api_key.is_none() {
            tracing::warn!(
                "no upstream API key given (--api-key-env VAR); requests go out without Authorization"
            );
        }
        let mut endpoint = Endpoint::openai_compat("default", &target, api_key)
            .map_err(|e| invalid(format!("invalid --target-url: {e}")))?;
        endpoint.backend = backend;
        if let Some(name) = self.provider {
            let provider = ChatProvider::from_name(&name).ok_or_else(|| {
                let known: Vec<_> = ChatProvider::ALL.iter().map(|p| p.name()).collect();
                invalid(format!(
                    "unknown provider `{name}` (known: {})",
                    known.join(", ")
                ))
            })?;
            endpoint.provider = provider;
            endpoint.quirks = provider.quirks();
        }
        if let Some(overrides) = self.quirks {
            endpoint.quirks = endpoint
                .quirks
                .with_overrides(&overrides)
                .map_err(|e| invalid(format!("invalid `quirks` in the config file: {e}")))?;
        }
        if let Some(name) = self.cache {
            endpoint.cache = CacheTtl::from_name(&name).ok_or_else(|| {
                invalid(format!("unknown cache setting `{name}` (5m, 1h or off)"))
            })?;
        }
        endpoint.browser_ua = self.browser_ua;
        endpoint.model_map = self.model_map.into_iter().collect();
        endpoint.extra_headers = self.headers;
        if let Some(path) = self.model_catalog {
            endpoint.catalog = Some(catalog(&path)?);
        }
        let listen = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787)));
        if !listen.ip().is_loopback() {
            if !self.allow_non_loopback {
                return Err(invalid(format!(
                    "refusing to listen on {listen}: not a loopback address (pass --allow-non-loopback to override)"
                )));
            }
            tracing::warn!(%listen, "listening beyond loopback: anyone who can reach this address uses your upstream key");
        }
        let settings = self.tunables.settings();
        Ok(Standalone {
            endpoint,
            listen,
            settings,
        })
    }
}

/// A Codex model catalog file (a `ModelsResponse`).
fn catalog(path: &Path) -> Result<serde_json::Value, ConfigError> {
    let bad = |why: String| ConfigError::Invalid(format!("model catalog {} {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::Invalid(format!("cannot read model catalog {}: {e}", path.display()))
    })?;
    let catalog: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("is not JSON: {e}")))?;
    if !catalog
        .get("models")
        .is_some_and(serde_json::Value::is_array)
    {
        return Err(bad(
            "must be an object with a `models` array (a Codex ModelsResponse)".into(),
        ));
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_lists_add_up() {
        let file: ProxyConfig = toml::from_str(
            "backend = \"anthropic\"\ntarget_url = \"https://api.anthropic.com\"\n\
             headers = { X-Title = \"file\" }\nmax_event_bytes = 1024\n",
        )
        .expect("toml");
        let flags = ProxyConfig {
            target_url: Some("https://api.x.com/v1".into()),
            headers: vec![("X-Title".into(), "flag".into())],
            ..ProxyConfig::default()
        };
        let s = flags.over(file).build(|_| None).expect("valid");
        assert_eq!(s.endpoint.backend, Backend::Anthropic);
        assert_eq!(s.endpoint.base_url, "https://api.x.com/v1");
        assert_eq!(
            s.endpoint.extra_headers.last().map(|(_, v)| v.as_str()),
            Some("flag")
        );
        assert_eq!(s.settings.max_event_bytes, 1024);
        let daemon: DaemonSettings = toml::from_str("max_event_bytes = 2048").expect("toml");
        assert_eq!(daemon.tunables.settings().max_event_bytes, 2048);
        assert!(toml::from_str::<DaemonSettings>("target_url = \"x\"").is_err());
        let err = ProxyConfig::default().build(|_| None).expect_err("no URL");
        assert_eq!(err.to_string(), "--target-url is required");
        let err = ProxyConfig {
            target_url: Some("https://x".into()),
            api_key_env: Some("NOPE".into()),
            ..ProxyConfig::default()
        }
        .build(|_| None)
        .expect_err("unset variable");
        assert_eq!(
            err.to_string(),
            "environment variable NOPE (--api-key-env) is not set"
        );
        assert!(
            toml::from_str::<ProxyConfig>("bakend = \"x\"").is_err(),
            "typos refused"
        );
    }
}
