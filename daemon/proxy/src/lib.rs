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
//! - [`config`]: the standalone proxy's settings (file and flags).
//! - [`pump`]: the streamed response body (keep-alives, cancellation on disconnect).
//! - [`record`]: the turn recorder's tap (what a turn looked like, for the daemon to keep).
//! - [`upstream`]: the reqwest client, header filtering, failure mapping, Retry-After.
//! - [`models`]: an upstream's model list, through the same client and headers.
//! - [`failover`]: which failures move a group's request to its next member.
//! - [`endpoint`]: upstream endpoints and URL normalisation.
//! - [`store`]: bounded store for `previous_response_id`.
//! - [`error`]: how every failure looks to the client.
//! - [`secret`]: API keys that never print.

pub mod backend;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod failover;
pub mod models;
pub mod pump;
pub mod record;
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
    /// Largest upstream event: one SSE event (all its lines, `data` accumulated across them)
    /// or one NDJSON line. One tool call's arguments, one output item and a response's output
    /// are bounded by the same number (`StreamLimits::from_event_bytes`). Past a bound the
    /// response fails (`response.failed`, not retried; a 502 for a non-streaming client) and
    /// the upstream connection is closed, so one response holds about this much at most.
    pub max_event_bytes: usize,
    /// Upstream client timeouts.
    pub timeouts: upstream::Timeouts,
}

impl Settings {
    /// The bounds on what an upstream sends, for the translating backends.
    pub fn stream_limits(&self) -> codex_launcher_translate::StreamLimits {
        codex_launcher_translate::StreamLimits::from_event_bytes(self.max_event_bytes)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            first_byte_grace: Duration::from_secs(10),
            keepalive: Duration::from_secs(10),
            // Codex sends the whole history, images included, every turn.
            max_body_bytes: 64 * 1024 * 1024,
            max_event_bytes: codex_launcher_translate::sse::DEFAULT_MAX_EVENT_BYTES,
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
    access_token: RwLock<Option<ApiKey>>,
    /// Per-session tokens (`cls<id>.<secret>`), so traffic is attributed to the session that
    /// made it. Written by the daemon's state owner only.
    session_tokens: RwLock<HashMap<u64, ApiKey>>,
    /// Who hears about traffic (the daemon's state owner; none for the standalone proxy).
    observer: std::sync::OnceLock<Arc<dyn Observer>>,
    /// Who routes requests to fallback groups (none: no groups).
    router: std::sync::OnceLock<Arc<dyn Router>>,
    /// Who keeps recorded turns (the daemon's state owner; none for the standalone proxy,
    /// which then captures nothing).
    recorder: std::sync::OnceLock<Arc<dyn record::Recorder>>,
}

/// What the proxy tells its owner about traffic: one call when a request arrives and one
/// when it ends, never per chunk. Implementations must not block (they run on the
/// proxy's workers): send to a channel and return.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A request arrived from `caller`.
    fn request_started(&self, caller: Caller);
    /// A request ended.
    fn request_finished(&self, record: RequestRecord);
}

/// Who decides which member of a fallback group serves a request (the daemon's state
/// owner: breakers, cooldowns and stickiness are its state). Asked once per request to a
/// group id, told once per attempt.
pub trait Router: Send + Sync + std::fmt::Debug {
    /// The members to try for `who`'s request to `group`, in order; `None`: no such group.
    fn route(
        &self,
        group: &str,
        who: &Affinity,
    ) -> futures::future::BoxFuture<'static, Option<Route>>;
    /// How an attempt on `member` went.
    fn attempted(&self, group: &str, who: &Affinity, member: &RouteMember, attempt: Attempt);
}

/// Whose conversation a request to a group belongs to: stickiness follows Codex's thread
/// (its `prompt_cache_key`, kept by `codex exec resume` and relaunches), else the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affinity {
    /// Who sent it.
    pub caller: Caller,
    /// Codex's thread id, when the request names one.
    pub thread: Option<String>,
}

/// The order to try a group's members in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// The group's display name.
    pub name: String,
    /// Members to try, in order (empty: none is available now).
    pub members: Vec<RouteMember>,
    /// The member the session was on when the first one to try is another: reasoning only
    /// that member's provider understands is handed over.
    pub moved_from: Option<RouteMember>,
    /// When no member is available: how long until one is.
    pub retry_after: Option<Duration>,
}

/// One member to try.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteMember {
    /// Endpoint id.
    pub endpoint: String,
    /// The member's model as configured (empty: the endpoint's default); echoed back in
    /// [`Router::attempted`].
    pub configured_model: String,
    /// The model to ask the endpoint for.
    pub model: String,
}

/// How an attempt on a member went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// It answered (a 2xx before anything went to the client) and the turn went on.
    Served,
    /// It failed: why, and how long to leave it alone.
    Failed {
        /// For the journal and `group show`.
        reason: String,
        /// Skip it this long (a 429's `Retry-After`, an hour when out of quota).
        cooldown: Option<Duration>,
    },
}

/// A finished request, as [`Observer::request_finished`] hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The request's number in this process (the `request_id` of its log lines).
    pub request_id: u64,
    /// Who sent it.
    pub caller: Caller,
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug as the client sent it.
    pub model: String,
    /// Token counts the upstream reported (zero when it reported none).
    pub usage: UsageCounters,
}

impl UsageCounters {
    /// A response's usage (`None`: the upstream reported none).
    pub fn of(
        usage: Option<&codex_launcher_translate::responses::ResponseUsage>,
        failed: bool,
    ) -> UsageCounters {
        let u = usage.cloned().unwrap_or_default();
        UsageCounters {
            input_tokens: u.input_tokens,
            cached_input_tokens: u.input_tokens_details.cached_tokens,
            cache_write_input_tokens: u.input_tokens_details.cache_write_tokens,
            output_tokens: u.output_tokens,
            failed,
        }
    }
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

/// One finished request's counts, as the Responses usage reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageCounters {
    /// Input tokens (the whole prompt: cache reads and writes included).
    pub input_tokens: u64,
    /// Of the input tokens, those read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the input tokens, those written to the provider's prompt cache.
    pub cache_write_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// It failed.
    pub failed: bool,
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
            access_token: RwLock::new(None),
            session_tokens: RwLock::default(),
            observer: std::sync::OnceLock::new(),
            router: std::sync::OnceLock::new(),
            recorder: std::sync::OnceLock::new(),
        })
    }

    /// Route requests to group ids through `router` (once; a second call is ignored).
    pub fn set_router(&self, router: Arc<dyn Router>) {
        let _ = self.router.set(router);
    }

    pub(crate) fn router(&self) -> Option<&Arc<dyn Router>> {
        self.router.get()
    }

    /// Tell `observer` about every request from now on (once; a second call is ignored).
    pub fn set_observer(&self, observer: Arc<dyn Observer>) {
        let _ = self.observer.set(observer);
    }

    pub(crate) fn observer(&self) -> Option<&Arc<dyn Observer>> {
        self.observer.get()
    }

    /// Capture every turn for `recorder` from now on (once; a second call is ignored).
    pub fn set_recorder(&self, recorder: Arc<dyn record::Recorder>) {
        let _ = self.recorder.set(recorder);
    }

    pub(crate) fn recorder(&self) -> Option<&Arc<dyn record::Recorder>> {
        self.recorder.get()
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
        Some(token)
    }

    /// Stop accepting session `id`'s token.
    pub fn end_session(&self, id: u64) {
        self.session_tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
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
    // `into_make_service`: each connection gets a clone of the router (an `Arc`). Served as
    // a plain `Router`, axum rebuilds its route tables for every connection
    // (`with_state(())`): ~6 KiB of hash maps per open connection, and their CPU.
    axum::serve(listener, app.into_make_service())
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
        state.end_session(7);
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
