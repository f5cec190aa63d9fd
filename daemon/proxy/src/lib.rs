//! codex-launcher-proxy: the loopback HTTP server that speaks the Responses API to Codex and
//! each upstream's own protocol to the provider.
//!
//! # Architecture invariant
//! Knows HTTP, not D-Bus or systemd: [`serve`] takes a bound listener, a shared
//! [`ProxyState`] and a shutdown future, so the same server runs under socket activation, in
//! tests and in benchmarks. Translation rules live in `codex-launcher-translate`; handlers here
//! stay thin (parse → prepare → send → pump).
//!
//! # Layout
//! - [`routes`]: the axum router and handlers.
//! - [`backend`]: per-backend request preparation.
//! - [`pump`]: the streamed response body (keep-alives, cancellation on disconnect).
//! - [`upstream`]: the reqwest client, header filtering, failure mapping, Retry-After.
//! - [`endpoint`]: upstream endpoints and URL normalisation.
//! - [`store`]: bounded store for `previous_response_id`.
//! - [`error`]: how every failure looks to the client.
//! - [`secret`]: API keys that never print.

pub mod backend;
pub mod endpoint;
pub mod error;
pub mod pump;
pub mod routes;
pub mod secret;
pub mod store;
pub mod upstream;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use endpoint::{Backend, Endpoint};
pub use error::ProxyError;
pub use secret::ApiKey;

/// Tunables.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to wait for the upstream's response headers before answering the client
    /// with a stream of keep-alives (so a slow upstream cannot trip the client's timers).
    /// Within it, upstream errors reach the client as proper HTTP statuses.
    pub first_byte_grace: Duration,
    /// Silence after which a keep-alive event is sent.
    pub keepalive: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Upstream client timeouts.
    pub timeouts: upstream::Timeouts,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            first_byte_grace: Duration::from_secs(10),
            keepalive: Duration::from_secs(10),
            // Codex sends the whole history, images included, every turn.
            max_body_bytes: 64 * 1024 * 1024,
            timeouts: upstream::Timeouts::default(),
        }
    }
}

/// Counters, readable while serving.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests received on the responses route.
    pub requests: AtomicU64,
    /// Streams open right now.
    pub active_streams: AtomicU64,
    /// Requests that ended in an error.
    pub errors: AtomicU64,
    /// Input tokens reported by upstreams.
    pub input_tokens: AtomicU64,
    /// Output tokens reported by upstreams.
    pub output_tokens: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// Requests received.
    pub requests: u64,
    /// Streams open.
    pub active_streams: u64,
    /// Errors.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

impl Stats {
    /// Read all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            active_streams: self.active_streams.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            input_tokens: self.input_tokens.load(Ordering::Relaxed),
            output_tokens: self.output_tokens.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
struct Endpoints {
    map: HashMap<String, Arc<Endpoint>>,
    default: Option<String>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct ProxyState {
    endpoints: RwLock<Endpoints>,
    client: reqwest::Client,
    store: store::ResponseStore,
    settings: Settings,
    stats: Stats,
    usage: std::sync::Mutex<HashMap<(String, String), UsageCounters>>,
    access_token: RwLock<Option<ApiKey>>,
    /// Per-session tokens (`cls<id>.<secret>`), so traffic is attributed to the session that
    /// made it.
    session_tokens: RwLock<HashMap<u64, ApiKey>>,
    sessions: std::sync::Mutex<HashMap<u64, SessionTraffic>>,
}

/// Who a request comes from, by its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No access token is set (standalone proxy): anyone on loopback.
    Anyone,
    /// The install-wide token (Codex started by hand with the launcher's config).
    Launcher,
    /// A session's own token.
    Session(u64),
}

/// Traffic of one session.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionTraffic {
    /// Finished requests and their tokens.
    pub counters: UsageCounters,
    /// When its last request arrived.
    pub last_request: Option<std::time::Instant>,
}

/// Counters of one endpoint and model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UsageCounters {
    /// Requests.
    pub requests: u64,
    /// Input tokens (the whole prompt: cache reads and writes included).
    pub input_tokens: u64,
    /// Of the input tokens, those read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the input tokens, those written to the provider's prompt cache.
    pub cache_write_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Failed requests.
    pub errors: u64,
}

/// The tokens of one finished request, as the Responses usage reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestTokens {
    /// Whole prompt.
    pub input: u64,
    /// Of which read from cache.
    pub cached_input: u64,
    /// Of which written to cache.
    pub cache_write_input: u64,
    /// Generated.
    pub output: u64,
}

impl From<&codex_launcher_translate::responses::ResponseUsage> for RequestTokens {
    fn from(u: &codex_launcher_translate::responses::ResponseUsage) -> Self {
        RequestTokens {
            input: u.input_tokens,
            cached_input: u.input_tokens_details.cached_tokens,
            cache_write_input: u.input_tokens_details.cache_write_tokens,
            output: u.output_tokens,
        }
    }
}

impl UsageCounters {
    fn add(&mut self, tokens: RequestTokens, error: bool) {
        self.requests += 1;
        self.input_tokens = self.input_tokens.saturating_add(tokens.input);
        self.cached_input_tokens = self.cached_input_tokens.saturating_add(tokens.cached_input);
        self.cache_write_input_tokens = self
            .cache_write_input_tokens
            .saturating_add(tokens.cache_write_input);
        self.output_tokens = self.output_tokens.saturating_add(tokens.output);
        self.errors += u64::from(error);
    }
}

/// The state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The HTTP client (TLS setup) failed.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl ProxyState {
    /// A state with no endpoints.
    pub fn new(settings: Settings) -> Result<ProxyState, StateError> {
        Ok(ProxyState {
            endpoints: RwLock::default(),
            client: upstream::client(settings.timeouts)?,
            store: store::ResponseStore::default(),
            settings,
            stats: Stats::default(),
            usage: std::sync::Mutex::default(),
            access_token: RwLock::new(None),
            session_tokens: RwLock::default(),
            sessions: std::sync::Mutex::default(),
        })
    }

    /// Replace all endpoints (on start and on reload). `default` serves the plain `/v1/…` routes.
    pub fn set_endpoints(&self, endpoints: Vec<Endpoint>, default: Option<String>) {
        let map = endpoints
            .into_iter()
            .map(|e| (e.id.clone(), Arc::new(e)))
            .collect();
        let mut guard = self.endpoints.write().unwrap_or_else(|e| e.into_inner());
        *guard = Endpoints { map, default };
    }

    /// An endpoint by id, or the default one.
    pub fn endpoint(&self, id: Option<&str>) -> Option<Arc<Endpoint>> {
        let guard = self.endpoints.read().unwrap_or_else(|e| e.into_inner());
        let id = id.or(guard.default.as_deref())?;
        guard.map.get(id).cloned()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Tunables.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The shared upstream HTTP client (model discovery uses it too).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Require `Authorization: Bearer <token>` on every route but `/healthz` (daemon mode:
    /// the token is handed to the Codex sessions the launcher starts, and another local user
    /// cannot read it, so their requests get 403).
    pub fn set_access_token(&self, token: Option<ApiKey>) {
        *self.access_token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// Whether a request's `Authorization` header passes the access check.
    pub fn authorized(&self, authorization: Option<&str>) -> bool {
        self.caller(authorization).is_some()
    }

    /// Who sent a request, or `None` when its token is missing or wrong.
    pub fn caller(&self, authorization: Option<&str>) -> Option<Caller> {
        let guard = self.access_token.read().unwrap_or_else(|e| e.into_inner());
        let Some(token) = guard.as_ref() else {
            return Some(Caller::Anyone);
        };
        let given = authorization?.strip_prefix("Bearer ")?.trim();
        if constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
            return Some(Caller::Launcher);
        }
        // The id in the token only picks which secret to compare with; it is not secret.
        let id: u64 = given.strip_prefix("cls")?.split_once('.')?.0.parse().ok()?;
        let tokens = self
            .session_tokens
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let expected = tokens.get(&id)?;
        constant_time_eq(given.as_bytes(), expected.expose().as_bytes())
            .then_some(Caller::Session(id))
    }

    /// A token for session `id`, accepted until [`ProxyState::end_session`]. `secret` is
    /// random material from the caller (hex).
    pub fn begin_session(&self, id: u64, secret: &str) -> Option<ApiKey> {
        let token = ApiKey::new(format!("cls{id}.{secret}"))?;
        self.session_tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, token.clone());
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, SessionTraffic::default());
        Some(token)
    }

    /// Stop accepting session `id`'s token; returns its traffic.
    pub fn end_session(&self, id: u64) -> SessionTraffic {
        self.session_tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.session_traffic(id)
    }

    /// Traffic of session `id` so far.
    pub fn session_traffic(&self, id: u64) -> SessionTraffic {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .copied()
            .unwrap_or_default()
    }

    /// A request from session `id` arrived.
    pub fn touch_session(&self, id: u64) {
        if let Some(t) = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            t.last_request = Some(std::time::Instant::now());
        }
    }

    /// Count a finished request of session `id`.
    pub fn record_session_usage(&self, id: u64, tokens: RequestTokens, error: bool) {
        if let Some(t) = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            t.counters.add(tokens, error);
        }
    }

    /// Count a finished request for an endpoint and model.
    pub fn record_usage(&self, endpoint: &str, model: &str, tokens: RequestTokens, error: bool) {
        let mut map = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((endpoint.to_owned(), model.to_owned()))
            .or_default()
            .add(tokens, error);
    }

    /// Usage per (endpoint, model).
    pub fn usage(&self) -> Vec<((String, String), UsageCounters)> {
        let map = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret (tokens have a fixed length); the content comparison must not
    // stop at the first difference.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serve until `shutdown` resolves, then stop accepting and wait for in-flight requests
/// (streams included) to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ProxyState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = routes::router(state);
    // Streams are many small writes: without TCP_NODELAY, Nagle holds each event back until
    // the client's delayed ACK (~40 ms on Linux), which is buffering in all but name.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ProxyState {
        let state = ProxyState::new(Settings::default()).expect("state");
        state.set_access_token(ApiKey::new("install-token"));
        state
    }

    #[test]
    fn callers_are_told_apart_by_token() {
        let state = state();
        let token = state.begin_session(7, "abc123").expect("token");
        let bearer = format!("Bearer {}", token.expose());
        assert_eq!(state.caller(Some(&bearer)), Some(Caller::Session(7)));
        assert_eq!(
            state.caller(Some("Bearer install-token")),
            Some(Caller::Launcher)
        );
        assert_eq!(state.caller(Some("Bearer cls7.abc124")), None);
        assert_eq!(state.caller(Some("Bearer cls8.abc123")), None);
        assert_eq!(state.caller(Some("Bearer cls.x")), None);
        assert_eq!(state.caller(None), None);
        state.record_session_usage(
            7,
            RequestTokens {
                input: 10,
                cached_input: 6,
                cache_write_input: 3,
                output: 3,
            },
            false,
        );
        state.touch_session(7);
        let ended = state.end_session(7);
        assert_eq!(ended.counters.requests, 1);
        assert_eq!(ended.counters.input_tokens, 10);
        assert_eq!(ended.counters.cached_input_tokens, 6);
        assert_eq!(ended.counters.cache_write_input_tokens, 3);
        assert!(ended.last_request.is_some());
        assert_eq!(
            state.caller(Some(&bearer)),
            None,
            "an ended session's token is refused"
        );
    }

    #[test]
    fn without_an_access_token_anyone_passes() {
        let state = ProxyState::new(Settings::default()).expect("state");
        assert_eq!(state.caller(None), Some(Caller::Anyone));
    }
}
