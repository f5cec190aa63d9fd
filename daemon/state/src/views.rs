//! What the owner answers with: typed values, never D-Bus types (the daemon's bus adapters
//! convert them), never a key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use std::time::Duration;

use codex_launcher_engine::model::{Endpoint, Group, GroupMember};
use codex_launcher_engine::pricing::{Tokens, Usd};
use codex_launcher_types::{
    BreakerState, CacheTtl, CleanupAction, CleanupKind, CodexVerdict, KeyStorage, Mode,
    ProbeVerdict, SessionState,
};

use crate::cost::Cost;

/// An endpoint as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointView {
    /// The stored endpoint (never with its key).
    pub endpoint: Endpoint,
    /// Where its key is, if it has one.
    pub key: Option<KeyStorage>,
    /// The default endpoint.
    pub is_default: bool,
    /// The proxy URL Codex uses for it.
    pub proxy_url: String,
}

/// Requests, tokens and what they cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Finished requests.
    pub requests: u64,
    /// Input tokens the upstream reported (cache reads and writes included).
    pub input_tokens: u64,
    /// Output tokens the upstream reported.
    pub output_tokens: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Of the input tokens, those read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the input tokens, those written to the provider's prompt cache.
    pub cache_write_input_tokens: u64,
    /// What the requests that had a price cost.
    pub cost: Cost,
}

impl Traffic {
    /// Count one finished request and its cost (`None`: no price set).
    pub fn add(&mut self, tokens: &Tokens, failed: bool, cost: Option<Usd>) {
        self.requests = self.requests.saturating_add(1);
        self.input_tokens = self.input_tokens.saturating_add(tokens.input);
        self.output_tokens = self.output_tokens.saturating_add(tokens.output);
        self.errors = self.errors.saturating_add(u64::from(failed));
        self.cached_input_tokens = self.cached_input_tokens.saturating_add(tokens.cached_input);
        self.cache_write_input_tokens = self
            .cache_write_input_tokens
            .saturating_add(tokens.cache_write_input);
        self.cost.add(cost);
    }
}

/// A session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Number, from 1.
    pub id: u64,
    /// Endpoint id (empty: Codex Default).
    pub endpoint: String,
    /// Model slug.
    pub model: String,
    /// How it runs.
    pub mode: Mode,
    /// Process (group leader); 0 before a `run` session is attached.
    pub pid: u32,
    /// Where it is.
    pub state: SessionState,
    /// When it started.
    pub started: SystemTime,
    /// Once exited (128 + signal after a signal).
    pub exit_code: Option<i32>,
    /// Its own proxy traffic.
    pub traffic: Traffic,
}

/// What `codexctl run` needs to start Codex for a registered session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// The session.
    pub session: u64,
    /// The Codex program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables to set (the session token among them; no provider key).
    pub env: Vec<(String, String)>,
    /// Variables to remove.
    pub env_remove: Vec<String>,
}

/// One thing Kill & Cleanup found, and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupItem {
    /// What it is.
    pub kind: CleanupKind,
    /// Process id (0 for files).
    pub pid: u32,
    /// Executable or file.
    pub path: PathBuf,
    /// For people.
    pub description: String,
    /// What was done.
    pub action: CleanupAction,
}

/// Usage of one endpoint and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug, or [`crate::usage::OTHER_MODEL`].
    pub model: String,
    /// The counts.
    pub traffic: Traffic,
}

/// The proxy's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyStatus {
    /// Where it listens.
    pub address: SocketAddr,
    /// Requests since start.
    pub requests: u64,
    /// Streams open now.
    pub active_streams: u64,
    /// Errors since start.
    pub errors: u64,
    /// Per endpoint and model.
    pub usage: Vec<UsageRow>,
}

/// One probe check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeCheck {
    /// `text`, `tool-call`, `parallel-tool-calls`, `reasoning-pass-back` or `tool-schema`.
    pub name: &'static str,
    /// Its outcome.
    pub verdict: ProbeVerdict,
    /// What was seen.
    pub detail: String,
}

/// A probe's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// Endpoint id.
    pub endpoint: String,
    /// Model probed.
    pub model: String,
    /// The checks, in the order run.
    pub checks: Vec<ProbeCheck>,
    /// The endpoint's quirk overrides afterwards (what was recorded).
    pub quirks: Option<serde_json::Map<String, serde_json::Value>>,
}

/// config.toml was edited by the user during a session; their edits were kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMerged {
    /// config.toml.
    pub path: PathBuf,
    /// Where the launcher's version was saved (`None`: merged cleanly).
    pub aside: Option<PathBuf>,
    /// For people.
    pub message: String,
}

/// A fallback group and its members' health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// The group as stored.
    pub group: Group,
    /// Each member, in order.
    pub members: Vec<MemberHealth>,
    /// The proxy URL Codex uses for it.
    pub proxy_url: String,
}

/// One member's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHealth {
    /// The member as configured.
    pub member: GroupMember,
    /// The model asked for (the member's, else its endpoint's default).
    pub model: String,
    /// Its circuit breaker.
    pub breaker: BreakerState,
    /// How long it still cools down (a 429, out of quota).
    pub cooldown: Option<Duration>,
    /// Why it last failed (empty: it has not, or it recovered).
    pub last_error: String,
}

// ---- cost and prices (issue 14) ----

/// An endpoint's options beyond its settings (`SetEndpointOptions`): each `Some` changes
/// that option, `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    /// Prompt-cache breakpoints.
    pub cache: Option<CacheTtl>,
}

// ---- Codex version (issue 17) ----

/// The Codex CLI sessions run, as `codex --version` told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexInfo {
    /// The program (`CODEX_BIN`, or `codex` as found on `PATH`).
    pub program: PathBuf,
    /// Its version (`None`: it could not be run or read).
    pub version: Option<String>,
    /// Against the tested releases.
    pub verdict: CodexVerdict,
    /// One line for people: the version and its verdict, or why there is none.
    pub message: String,
}

// ---- turns (issue 18) ----

/// Which recorded turns to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnFilter {
    /// Failed turns only.
    pub failed_only: bool,
    /// One endpoint's.
    pub endpoint: Option<String>,
    /// One session's.
    pub session: Option<u64>,
}

/// A part of a recorded turn's readable view: a title and `(what, value)` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnSection {
    /// `Turn`, `Failure`, `Codex's request`, `Upstream request`, …
    pub title: String,
    /// What and its value (values may span lines: an error body).
    pub lines: Vec<(String, String)>,
}

/// A recorded turn, readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnDetail {
    /// Its index line.
    pub summary: codex_launcher_proxy::record::TurnSummary,
    /// The readable view.
    pub sections: Vec<TurnSection>,
    /// The whole record (redacted), JSON.
    pub record_json: String,
}

/// How a replay went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// The turn replayed.
    pub of: u64,
    /// The new turn the replay was recorded as (`None`: it could not be recorded).
    pub turn: Option<codex_launcher_proxy::record::TurnSummary>,
    /// The upstream finished the response.
    pub ok: bool,
    /// The HTTP status the replay got (0: none).
    pub status: u16,
    /// What happened, for people.
    pub message: String,
}

/// What the recorder records and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingView {
    /// Successful turns are recorded on every endpoint.
    pub record_all: bool,
    /// Endpoints whose successful turns are recorded.
    pub endpoints: Vec<String>,
    /// Failed turns kept.
    pub max_failures: u32,
    /// Other turns kept.
    pub max_successes: u32,
    /// Bytes kept.
    pub max_bytes: u64,
    /// Records kept now.
    pub turns: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Turns dropped since start because the recorder's queue was full.
    pub dropped: u64,
    /// Where the records are.
    pub dir: std::path::PathBuf,
}
