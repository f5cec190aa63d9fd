//! The D-Bus contract of codex-launcher: bus and object names, the types on the wire, the
//! `Manager` proxy, and the error names clients map to messages and exit codes.
//!
//! # Architecture invariant
//! This crate is the API boundary. It depends on zbus and serde only; the daemon implements
//! the interface, `codexctl` and the GTK panel call it through [`ManagerProxy`]. Nothing here
//! knows how the daemon works.
//!
//! # Runtime
//! zbus is used with its default, runtime-agnostic executor, so the same proxy works from
//! tokio (`codexctl`, the daemon's tests) and from the GLib main loop (the panel).
//!
//! # Wire types
//! Structs derive `zvariant::Type`; field order is the D-Bus signature, so **append fields
//! only at the end** and regenerate the introspection XML (`UPDATE_EXPECT=1`). Better still,
//! leave a published struct alone and add a method: the contract grows by additions only.
//! Settings that will grow more keys travel as `a{sv}` dictionaries ([`EndpointOptions`],
//! [`ModelPrices`]): every key optional, keys a reader does not know ignored (the D-Bus
//! convention), so a key added later changes no signature.
//!
//! # Money
//! Prices travel as the decimal text people type and read (`"3.75"`, US dollars per million
//! tokens), parsed and checked by the daemon. Costs travel as integer pico-dollars
//! (10⁻¹² $, [`PICO_USD_PER_USD`]): one token at a micro-dollar per million tokens is one
//! pico-dollar, so the daemon's sums are exact and a client only formats them. A cost always
//! comes with how many requests had a price: "no price set" is never shown as $0.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

pub use codex_launcher_types::{
    Backend, BreakerState, CleanupAction, CleanupKind, KeyStorage, Mode, ProbeVerdict,
    SessionState, TurnOrigin, TurnOutcome, UnknownName,
};

/// The well-known bus name the daemon owns.
pub const BUS_NAME: &str = "io.github.CodexLauncher1";
/// The object path of the manager object.
pub const OBJECT_PATH: &str = "/io/github/CodexLauncher1";
/// The manager interface.
pub const MANAGER_INTERFACE: &str = "io.github.CodexLauncher1.Manager";
/// The interface of every session object.
pub const SESSION_INTERFACE: &str = "io.github.CodexLauncher1.Session";
/// Session objects live at `<SESSION_PATH_PREFIX>/<n>`.
pub const SESSION_PATH_PREFIX: &str = "/io/github/CodexLauncher1/session";
/// Prefix of every error name.
pub const ERROR_PREFIX: &str = "io.github.CodexLauncher1.Error";

/// A model an endpoint offers, with the metadata Codex needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ModelSpec {
    /// The provider's model id.
    pub id: String,
    /// Display name (empty: same as `id`).
    pub display_name: String,
    /// Context window in tokens (0: unknown).
    pub context_window: u64,
    /// Output cap in tokens (0: unknown).
    pub max_output_tokens: u64,
    /// Reasoning efforts the model takes (`low`, `medium`, `high`, ...); empty: none.
    pub reasoning_efforts: Vec<String>,
    /// Default effort (empty: none).
    pub default_effort: String,
    /// `text`, `image`.
    pub input_modalities: Vec<String>,
    /// Supports several tool calls per turn.
    pub parallel_tool_calls: bool,
}

/// What a client sends to create or change an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct EndpointSpec {
    /// Display name (required).
    pub name: String,
    /// Preset it came from (`deepseek`, `openrouter`, ...; empty: custom).
    pub preset: String,
    /// The upstream protocol (`openai-compat`, `anthropic`, `command-code` or
    /// `openai-responses` on the wire).
    pub backend: Backend,
    /// Base URL (http or https).
    pub base_url: String,
    /// Model used when none is chosen.
    pub default_model: String,
    /// Models offered.
    pub models: Vec<ModelSpec>,
    /// Send a browser User-Agent upstream.
    pub browser_ua: bool,
    /// Extra upstream headers.
    pub extra_headers: Vec<(String, String)>,
    /// Capability-table row for Chat hosts (`deepseek`, `kimi`, ...; empty: from the URL).
    pub provider: String,
    /// Per-field capability overrides as a JSON object (empty: none).
    pub quirks_json: String,
}

/// An endpoint as the daemon reports it. Never contains the key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct EndpointInfo {
    /// Stable id (used in URLs and commands).
    pub id: String,
    /// The settings.
    pub spec: EndpointSpec,
    /// Whether a key is stored.
    pub has_key: bool,
    /// Where the key lives: `secret-service`, `file`, or empty.
    pub key_storage: String,
    /// Whether this is the default endpoint.
    pub is_default: bool,
    /// The proxy URL Codex uses for this endpoint.
    pub proxy_url: String,
}

/// A provider preset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Preset {
    /// Id (`deepseek`).
    pub id: String,
    /// The endpoint it creates.
    pub spec: EndpointSpec,
    /// Known quirks, for people.
    pub notes: String,
}

/// Usage of one endpoint and model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Usage {
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Failed requests.
    pub errors: u64,
}

/// The proxy's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProxyStatus {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Requests since start.
    pub requests: u64,
    /// Streams open now.
    pub active_streams: u64,
    /// Errors since start.
    pub errors: u64,
    /// Per endpoint and model.
    pub usage: Vec<Usage>,
}

/// Something `Cleanup` found left over from an earlier session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct CleanupItem {
    /// What it is (`process`, `pid-file`, `socket`, `backup`; `session` from
    /// `KillAndCleanup` with `stop_sessions`).
    pub kind: CleanupKind,
    /// Process id (0 for files).
    pub pid: u32,
    /// Executable of a process, or the file's path.
    pub path: String,
    /// For people: what it is and why it counts as stale.
    pub description: String,
    /// What was done: `found` (dry run), `terminated`, `killed`, `removed`, `restored`,
    /// `stopped` or `failed: <reason>`.
    pub action: CleanupAction,
}

/// What `codexctl run` needs to start Codex in its own terminal for a registered session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RunPlan {
    /// The session object's path; `Attach` the started process to it.
    pub session: String,
    /// The Codex program.
    pub program: String,
    /// Its arguments (the launcher's `-c` overrides first, then the caller's).
    pub args: Vec<String>,
    /// Variables to set (the session's proxy token among them; no provider key).
    pub env: Vec<(String, String)>,
    /// Variables to remove (provider keys of the caller's environment).
    pub env_remove: Vec<String>,
}

/// One check of `ProbeEndpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProbeCheck {
    /// `text`, `tool-call`, `parallel-tool-calls`, `reasoning-pass-back` or `tool-schema`.
    pub name: String,
    /// `ok`, `quirk` (works once adapted; the quirk is recorded) or `failed`.
    pub verdict: ProbeVerdict,
    /// What was seen.
    pub detail: String,
}

/// The result of a real round trip to an endpoint's provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProbeReport {
    /// Endpoint id.
    pub endpoint: String,
    /// Model probed.
    pub model: String,
    /// The checks, in the order run.
    pub checks: Vec<ProbeCheck>,
    /// The endpoint's quirk overrides after the probe (JSON object; what was recorded).
    pub quirks_json: String,
}

// ---- fallback groups (issue 15) ----

/// One member of a fallback group, with its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct GroupMemberInfo {
    /// Endpoint id.
    pub endpoint: String,
    /// The model as configured (empty: the endpoint's default).
    pub model: String,
    /// The model it is asked for.
    pub upstream_model: String,
    /// Its circuit breaker: `closed`, `open` (skipped) or `half-open` (the next request probes).
    pub breaker: BreakerState,
    /// Seconds it still cools down (a 429's Retry-After, an hour when out of quota); 0: none.
    pub cooldown_secs: u64,
    /// Why it last failed (empty: it has not, or it recovered).
    pub last_error: String,
}

/// A fallback group: an endpoint-like id whose members are tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct GroupInfo {
    /// Id (the same namespace as endpoints': `/e/<id>/v1`, `codexctl run -e <id>`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Members in the order they are tried.
    pub members: Vec<GroupMemberInfo>,
    /// The proxy URL Codex uses for it.
    pub proxy_url: String,
}

// ---- turns (issue 18) ----

/// A recorded turn as lists show it (`ListTurns`). The turn recorder keeps every failed turn
/// (refused by the proxy, by the upstream, or cut mid-stream) and, when asked
/// (`SetTurnRecording`), successful ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TurnInfo {
    /// Its number (`GetTurn`, `ReplayTurn`, `ExportTurn`).
    pub id: u64,
    /// When it arrived, seconds since the Unix epoch.
    pub started: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug as Codex sent it.
    pub model: String,
    /// The session whose token it carried (0: none; the install token).
    pub session: u64,
    /// `codex`, `probe` (`ProbeEndpoint`) or `replay` (`ReplayTurn`).
    pub origin: TurnOrigin,
    /// `completed`, `failed` or `cancelled`.
    pub outcome: TurnOutcome,
    /// The last upstream HTTP status (0: none answered).
    pub status: u32,
    /// The failure's kind (`invalid_request`, `stream_cut`, `auth`, …; empty: none, or the
    /// proxy's own refusal).
    pub failure_kind: String,
    /// Where it failed: `proxy`, `connect`, `status` or `stream` (empty: it did not).
    pub stage: String,
    /// The error in one line (empty: none).
    pub error: String,
    /// The turn this replays (0: none).
    pub replay_of: u64,
    /// From arrival to the end, in milliseconds.
    pub duration_ms: u64,
    /// The record's size in bytes.
    pub bytes: u64,
}

/// A part of a recorded turn's readable view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TurnSection {
    /// `Turn`, `Failure`, `Codex's request`, `Upstream request`, `Upstream answer`,
    /// `Sent to Codex`, `Quirk row`.
    pub title: String,
    /// What and its value (a value may span lines: an error body).
    pub lines: Vec<(String, String)>,
}

/// A recorded turn, readable (`GetTurn`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TurnDetail {
    /// Its list entry.
    pub info: TurnInfo,
    /// The readable view: Codex's request in short, each upstream request and its answer,
    /// where and why it failed, the quirk row used.
    pub sections: Vec<TurnSection>,
    /// The whole record as JSON (keys and secret headers already removed).
    pub record_json: String,
}

/// How a replay went (`ReplayTurn`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ReplayOutcome {
    /// The turn replayed.
    pub of: u64,
    /// The new turn the replay was recorded as (0: it could not be recorded).
    pub turn: u64,
    /// The upstream finished the response.
    pub ok: bool,
    /// The HTTP status the replay got (0: none).
    pub status: u32,
    /// What happened, for people.
    pub message: String,
}

/// What the turn recorder records and keeps (`TurnRecording`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TurnRecording {
    /// Successful turns are recorded too, on every endpoint.
    pub record_all: bool,
    /// Endpoints whose successful turns are recorded too.
    pub endpoints: Vec<String>,
    /// Failed turns kept (the oldest go first).
    pub max_failures: u32,
    /// Other turns kept.
    pub max_successes: u32,
    /// Bytes kept, all records together.
    pub max_bytes: u64,
    /// Records kept now.
    pub turns: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Turns not recorded since the daemon started because its queue was full.
    pub dropped: u64,
    /// The directory holding the records.
    pub dir: String,
}

/// Errors on the bus, as `io.github.CodexLauncher1.Error.<Variant>` with a message.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "io.github.CodexLauncher1.Error")]
pub enum Error {
    /// A D-Bus level failure (transport, unknown method).
    #[zbus(error)]
    ZBus(zbus::Error),
    /// An argument is invalid (bad URL, empty name, too long, ...).
    InvalidArgument(String),
    /// No endpoint with that id.
    NotFound(String),
    /// An endpoint with that id exists already.
    AlreadyExists(String),
    /// The keyring refused or is unavailable and no fallback was allowed.
    Keyring(String),
    /// The provider could not be reached or answered an error.
    Upstream(String),
    /// A file could not be read or written.
    Io(String),
    /// The endpoint store was changed by someone else meanwhile; nothing was written.
    Conflict(String),
    /// A bug or unexpected state in the daemon.
    Internal(String),
}

/// The manager interface.
#[zbus::proxy(
    interface = "io.github.CodexLauncher1.Manager",
    default_service = "io.github.CodexLauncher1",
    default_path = "/io/github/CodexLauncher1"
)]
pub trait Manager {
    /// Liveness check; answers "pong".
    fn ping(&self) -> zbus::Result<String>;

    /// Daemon version.
    fn version(&self) -> zbus::Result<String>;

    /// All endpoints.
    fn list_endpoints(&self) -> zbus::Result<Vec<EndpointInfo>>;

    /// One endpoint.
    fn get_endpoint(&self, id: &str) -> zbus::Result<EndpointInfo>;

    /// Create an endpoint; `api_key` may be empty. Returns the new id.
    fn add_endpoint(&self, spec: EndpointSpec, api_key: &str) -> zbus::Result<String>;

    /// Replace an endpoint's settings (the key is kept).
    fn update_endpoint(&self, id: &str, spec: EndpointSpec) -> zbus::Result<()>;

    /// Store (or, with an empty key, delete) an endpoint's key. Returns where it was stored.
    fn set_api_key(&self, id: &str, api_key: &str) -> zbus::Result<String>;

    /// Delete an endpoint and its key.
    fn remove_endpoint(&self, id: &str) -> zbus::Result<()>;

    /// Make an endpoint the default.
    fn set_default_endpoint(&self, id: &str) -> zbus::Result<()>;

    /// Provider presets.
    fn list_presets(&self) -> zbus::Result<Vec<Preset>>;

    /// Ask the provider for its models; merges them into the endpoint and returns them.
    fn fetch_models(&self, id: &str) -> zbus::Result<Vec<ModelSpec>>;

    /// Add models from pasted text (comma or newline separated ids). Returns how many were new.
    fn import_models(&self, id: &str, text: &str) -> zbus::Result<u32>;

    /// Export endpoints as a portable JSON bundle (keys only when asked).
    fn export_profile(&self, include_keys: bool) -> zbus::Result<String>;

    /// Import a bundle made by `ExportProfile`. Returns the ids created or updated.
    fn import_profile(&self, bundle: &str) -> zbus::Result<Vec<String>>;

    /// Import the seed launcher's `endpoints.json` (empty path: `~/.codex/endpoints.json`).
    fn import_legacy(&self, path: &str) -> zbus::Result<Vec<String>>;

    /// Proxy address, counters and usage.
    fn proxy_status(&self) -> zbus::Result<ProxyStatus>;

    /// Start a Codex session on an endpoint; returns the session object's path.
    ///
    /// `mode`: `cli` (interactive Codex in a terminal emulator), `exec` (headless
    /// `codex exec` on one prompt, without approvals or sandbox: for automation and tests),
    /// `desktop` (Codex Desktop), `default-cli` or `default-desktop` (Codex on its own login;
    /// no endpoint). `options`: `prompt` (required for `exec`), `workdir` (absolute; default:
    /// home), `effort` (reasoning effort), `grace_ms` (SIGTERM to SIGKILL on stop; default
    /// 5000), `stall_secs` (report a stall after this long without traffic or CPU).
    /// Unknown endpoint: `NotFound`; bad mode, model or option: `InvalidArgument`.
    fn launch(
        &self,
        endpoint: &str,
        model: &str,
        mode: &str,
        options: std::collections::HashMap<String, String>,
    ) -> zbus::Result<zbus::OwnedObjectPath>;

    /// Every session of this daemon run, exited ones included, oldest first.
    fn list_sessions(&self) -> zbus::Result<Vec<zbus::OwnedObjectPath>>;

    /// Find what earlier sessions left behind (Codex Desktop, Electron helpers or
    /// `codex app-server` processes of this user that no live session owns, matched by
    /// executable path; stale pid files and sockets; a config.toml backup no session holds)
    /// and, unless `dry_run`, stop or remove it. Returns what was found and done.
    fn cleanup(&self, dry_run: bool) -> zbus::Result<Vec<CleanupItem>>;

    /// Kill & Cleanup, the one rule every client uses: what [`ManagerProxy::cleanup`] finds
    /// and, with `stop_sessions`, every live session of this daemon first (SIGTERM, SIGKILL
    /// after its grace period; listed as `session` items), then what they left behind.
    fn kill_and_cleanup(
        &self,
        dry_run: bool,
        stop_sessions: bool,
    ) -> zbus::Result<Vec<CleanupItem>>;

    /// Register a session whose Codex the caller runs in its own terminal (`codexctl run`).
    /// Same arguments as `Launch` (mode `cli` implied; `args` option: extra Codex arguments
    /// as a JSON array of strings). The caller starts `program` and calls `Session.Attach`
    /// with its pid; the daemon then supervises it by pidfd.
    fn prepare_run(
        &self,
        endpoint: &str,
        model: &str,
        options: std::collections::HashMap<String, String>,
    ) -> zbus::Result<RunPlan>;

    /// Real round trips to the provider (a text turn, a tool call, parallel tool calls, a
    /// reasoning pass-back turn); quirks found are recorded into the endpoint.
    fn probe_endpoint(&self, id: &str, model: &str) -> zbus::Result<ProbeReport>;

    // ---- credential hygiene (issue 13) ----

    /// Set one extra upstream header of an endpoint (an empty value removes it). With
    /// `secret` its value is kept with the keys (keyring or key file), shown as `***` in
    /// every reply, and exported only with keys; a header whose name says it is a credential
    /// (`auth`, `key`, `token`, `secret`, `cookie`, `session` in it) always is, and asking
    /// otherwise is `InvalidArgument`. In `UpdateEndpoint`, `***` as a secret header's value
    /// keeps the stored one.
    fn set_header(&self, id: &str, name: &str, value: &str, secret: bool) -> zbus::Result<()>;

    /// Record the environment variable an endpoint's key was read from (`codexctl …
    /// --api-key-env VAR`; empty: none): Codex sessions never inherit it.
    fn set_key_source(&self, id: &str, variable: &str) -> zbus::Result<()>;

    /// Which of the caller's environment variables hold provider credentials and must not
    /// reach Codex (`codexctl run` removes them): conventional key variables, those keys
    /// were read from, and any whose value is a stored key. `variables` pairs each name
    /// with the lowercase hex SHA-256 of `salt`, a NUL byte and its value, so neither side
    /// sees the other's secrets. Returns the names to remove.
    fn scrub_environment(
        &self,
        salt: &str,
        variables: Vec<(String, String)>,
    ) -> zbus::Result<Vec<String>>;

    // ---- fallback groups (issue 15) ----

    /// Every fallback group, with its members' health.
    fn list_groups(&self) -> zbus::Result<Vec<GroupInfo>>;

    /// One group. Unknown: `NotFound`.
    fn get_group(&self, id: &str) -> zbus::Result<GroupInfo>;

    /// Create a group named `name` (its id: letters, digits, `-`, `_`; shared with endpoint
    /// ids, so `AlreadyExists` when either has it) from `(endpoint, model)` members in the
    /// order to try them (an empty model: the endpoint's default). Unknown member: `NotFound`.
    fn add_group(&self, name: &str, members: Vec<(String, String)>) -> zbus::Result<String>;

    /// Replace a group's members.
    fn update_group(&self, id: &str, members: Vec<(String, String)>) -> zbus::Result<()>;

    /// Delete a group.
    fn remove_group(&self, id: &str) -> zbus::Result<()>;

    /// Ids of all groups.
    #[zbus(property)]
    fn group_ids(&self) -> zbus::Result<Vec<String>>;
    // ---- cost and prices (issue 14) ----

    /// An endpoint's options ([`EndpointOptions`]).
    fn get_endpoint_options(&self, id: &str) -> zbus::Result<EndpointOptions>;

    /// Change an endpoint's options: the keys given (an unknown value is `InvalidArgs`);
    /// the others stay.
    fn set_endpoint_options(&self, id: &str, options: EndpointOptions) -> zbus::Result<()>;

    /// The prices of an endpoint's models, in the endpoint's model order.
    fn list_model_prices(&self, id: &str) -> zbus::Result<Vec<PricedModel>>;

    /// Change one model's prices ([`ModelPrices`]: the keys given; empty text unsets).
    /// Unknown endpoint or model: `NotFound`; a price that is not one: `InvalidArgument`.
    fn set_model_prices(&self, id: &str, model: &str, prices: ModelPrices) -> zbus::Result<()>;

    /// Usage per endpoint and model since the daemon started, with the prompt-cache figures
    /// and the cost at the models' prices when each request finished.
    fn usage_costs(&self) -> zbus::Result<Vec<UsageCost>>;

    // ---- Codex version (issue 17) ----

    /// The Codex CLI sessions would run now: `codex --version` is run for the answer (a
    /// few seconds at most).
    fn codex_info(&self) -> zbus::Result<CodexInfo>;

    /// Id of the default endpoint (empty: none).
    #[zbus(property)]
    fn default_endpoint(&self) -> zbus::Result<String>;

    /// Ids of all endpoints, in display order.
    #[zbus(property)]
    fn endpoint_ids(&self) -> zbus::Result<Vec<String>>;

    /// The proxy's base address.
    #[zbus(property)]
    fn proxy_address(&self) -> zbus::Result<String>;

    /// Where keys are kept: `secret-service`, `locked` (a Secret Service whose keyring is
    /// locked: keys can be neither read nor stored until it is unlocked) or `file` (no
    /// Secret Service on this session: a 0600 file).
    #[zbus(property)]
    fn key_storage(&self) -> zbus::Result<String>;

    /// Progress of a model fetch: `stage` is `started`, `done` or `failed`.
    #[zbus(signal)]
    fn fetch_progress(&self, id: &str, stage: &str, message: &str) -> zbus::Result<()>;

    /// A session object was created (launched or registered).
    #[zbus(signal)]
    fn session_added(&self, session: zbus::ObjectPath<'_>) -> zbus::Result<()>;

    /// config.toml was edited by the user while the launcher had it changed: their edits were
    /// kept. `aside` is where the launcher's version was saved (empty: merged cleanly).
    #[zbus(signal)]
    fn config_merged(&self, path: &str, aside: &str, message: &str) -> zbus::Result<()>;

    // ---- turns (issue 18) ----

    /// Recorded turns, newest first: with `failed_only`, failed ones; with `endpoint` (not
    /// empty), one endpoint's; with `session` (not 0), one session's.
    fn list_turns(
        &self,
        failed_only: bool,
        endpoint: &str,
        session: u64,
    ) -> zbus::Result<Vec<TurnInfo>>;

    /// One recorded turn, readable. Unknown or no longer kept: `NotFound`.
    fn get_turn(&self, id: u64) -> zbus::Result<TurnDetail>;

    /// Replay a recorded turn and record the replay as a new turn linked to it. With
    /// `endpoint` and `model` empty, its upstream request is sent again as recorded, with the
    /// endpoint's current key; with an `endpoint` (and optionally a `model`), Codex's
    /// recorded request is translated for that endpoint and sent.
    fn replay_turn(&self, id: u64, endpoint: &str, model: &str) -> zbus::Result<ReplayOutcome>;

    /// A recorded turn as a self-contained JSON bundle, without keys or secret headers; with
    /// `redact_text`, message, tool-output and reasoning text is replaced by placeholders of
    /// the same length.
    fn export_turn(&self, id: u64, redact_text: bool) -> zbus::Result<String>;

    /// Record successful turns too (`all`), or only failed ones, on `endpoint` (empty: every
    /// endpoint; `all` false there also clears the per-endpoint settings).
    fn set_turn_recording(&self, endpoint: &str, all: bool) -> zbus::Result<()>;

    /// Change how many records are kept (0: unchanged): failed turns, other turns, bytes.
    /// Applied at once, oldest first.
    fn set_turn_retention(
        &self,
        max_failures: u32,
        max_successes: u32,
        max_bytes: u64,
    ) -> zbus::Result<()>;

    /// What the turn recorder records and keeps.
    fn turn_recording(&self) -> zbus::Result<TurnRecording>;

    /// A turn was recorded (`failed`: it failed).
    #[zbus(signal)]
    fn turn_recorded(&self, id: u64, failed: bool) -> zbus::Result<()>;
}

/// One launched Codex session (`io.github.CodexLauncher1.Session`, at a path from
/// [`ManagerProxy::launch`]).
#[zbus::proxy(
    interface = "io.github.CodexLauncher1.Session",
    default_service = "io.github.CodexLauncher1"
)]
pub trait Session {
    /// SIGTERM to the session's process group, SIGKILL after the grace period. Returns at
    /// once; `Exited` follows.
    fn stop(&self) -> zbus::Result<()>;

    /// Hand over the pid of the Codex a `PrepareRun` caller started (same user only). The
    /// daemon watches it; once it ends the session is exited.
    fn attach(&self, pid: u32) -> zbus::Result<()>;

    /// The caller of `PrepareRun` reports its Codex's exit code (the daemon cannot read a
    /// non-child's status).
    fn report_exit(&self, exit_code: i32) -> zbus::Result<()>;

    /// Endpoint id.
    #[zbus(property)]
    fn endpoint(&self) -> zbus::Result<String>;

    /// Model slug.
    #[zbus(property)]
    fn model(&self) -> zbus::Result<String>;

    /// `cli`, `exec`, `desktop`, `default-cli`, `default-desktop` or `run`.
    #[zbus(property)]
    fn mode(&self) -> zbus::Result<String>;

    /// Pid of the process group leader.
    #[zbus(property)]
    fn pid(&self) -> zbus::Result<u32>;

    /// `starting` (registered, not yet attached), `running`, `stalled` (no proxy traffic and
    /// no CPU for the stall time), `stopping` or `exited`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;

    /// Start time, seconds since the Unix epoch.
    #[zbus(property)]
    fn started(&self) -> zbus::Result<u64>;

    /// Exit code once exited (128 + signal after a signal), -1 before.
    #[zbus(property)]
    fn exit_code(&self) -> zbus::Result<i32>;

    /// Requests the session made: each session gets its own proxy token, so traffic is
    /// counted per session. Codex Default sessions do not use the proxy (0).
    #[zbus(property(emits_changed_signal = "false"))]
    fn requests(&self) -> zbus::Result<u64>;

    /// Input tokens, counted as `Requests`.
    #[zbus(property(emits_changed_signal = "false"))]
    fn tokens_in(&self) -> zbus::Result<u64>;

    /// Output tokens, counted as `Requests`.
    #[zbus(property(emits_changed_signal = "false"))]
    fn tokens_out(&self) -> zbus::Result<u64>;

    // ---- cost and prices (issue 14) ----

    /// Of `TokensIn`, those read from the provider's prompt cache (the hit rate is
    /// `CachedTokensIn / TokensIn`).
    #[zbus(property(emits_changed_signal = "false"))]
    fn cached_tokens_in(&self) -> zbus::Result<u64>;

    /// Of `TokensIn`, those written to the provider's prompt cache.
    #[zbus(property(emits_changed_signal = "false"))]
    fn cache_write_tokens_in(&self) -> zbus::Result<u64>;

    /// What the session's priced requests cost, in pico-dollars ([`PICO_USD_PER_USD`]), at
    /// the models' prices when each request finished.
    #[zbus(property(emits_changed_signal = "false"))]
    fn cost_pico_usd(&self) -> zbus::Result<u64>;

    /// Requests that had a price; the other `Requests - PricedRequests` had none set.
    #[zbus(property(emits_changed_signal = "false"))]
    fn priced_requests(&self) -> zbus::Result<u64>;

    /// The session ended (and was reaped); `exit_code` as the property.
    #[zbus(signal)]
    fn exited(&self, exit_code: i32) -> zbus::Result<()>;

    /// No proxy traffic and no CPU time for `idle_secs` (a Desktop window that never came up,
    /// a hung Codex). Reported, never acted on: the user decides whether to stop it.
    #[zbus(signal)]
    fn stalled(&self, idle_secs: u64) -> zbus::Result<()>;
}

// ---- cost and prices (issue 14) ----

pub use codex_launcher_types::CacheTtl;

/// Pico-dollars in a US dollar: the unit of every cost on the bus.
pub const PICO_USD_PER_USD: u64 = 1_000_000_000_000;

/// An endpoint's options beyond its [`EndpointSpec`] (`a{sv}`, every key optional), read
/// with [`ManagerProxy::get_endpoint_options`] and changed with
/// [`ManagerProxy::set_endpoint_options`] (keys left out stay as they are).
/// `UpdateEndpoint` keeps them.
///
/// Keys:
/// - `cache` (`s`): prompt-cache breakpoints, `5m` (the default), `1h` or `off`. The
///   `anthropic` backend, and Chat hosts that take `cache_control` on content parts
///   (OpenRouter and Kilo for Claude and Gemini models), mark the prompt prefix so the
///   provider caches it; one-hour entries cost twice the input price to write.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, zbus::SerializeDict, zbus::DeserializeDict, Type,
)]
#[zbus(signature = "dict")]
pub struct EndpointOptions {
    /// Prompt-cache breakpoints.
    pub cache: Option<CacheTtl>,
}

/// A model's prices (`a{sv}`, every key optional): US dollars per million tokens as decimal
/// text (`"3"`, `"0.30"`, `"$3.75"`; more than six decimals are rounded to the
/// micro-dollar).
///
/// Read with [`ManagerProxy::list_model_prices`] (a price not set is left out). Given to
/// [`ManagerProxy::set_model_prices`], each key present replaces that price, an empty string
/// unsets it, and keys left out stay; any change makes the prices the user's, so `as_of` is
/// cleared.
///
/// Keys: `input` (uncached input), `cached_input` (input read from the cache; unset: the
/// input price), `cache_write` (input written to the cache, five-minute writes; unset: the
/// input price), `output`, and, read only, `as_of` (the day published list prices were
/// read, `YYYY-MM-DD`; absent for prices a user set).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, zbus::SerializeDict, zbus::DeserializeDict, Type,
)]
#[zbus(signature = "dict")]
pub struct ModelPrices {
    /// Uncached input.
    pub input: Option<String>,
    /// Input read from the cache.
    pub cached_input: Option<String>,
    /// Input written to the cache.
    pub cache_write: Option<String>,
    /// Output.
    pub output: Option<String>,
    /// When list prices were read (read only).
    pub as_of: Option<String>,
}

/// One model's prices, as [`ManagerProxy::list_model_prices`] lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PricedModel {
    /// Model id.
    pub model: String,
    /// Its prices (empty: none set).
    pub prices: ModelPrices,
}

/// Usage of one endpoint and model with the prompt-cache figures and the cost
/// ([`ManagerProxy::usage_costs`]; [`Usage`] without them stays as it was).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct UsageCost {
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug (`(other)`: models the endpoint does not list).
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Input tokens, cache reads and writes included.
    pub input_tokens: u64,
    /// Of the input tokens, those read from the provider's cache (the hit rate is
    /// `cached_input_tokens / input_tokens`).
    pub cached_input_tokens: u64,
    /// Of the input tokens, those written to the provider's cache.
    pub cache_write_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Failed requests.
    pub errors: u64,
    /// What the priced requests cost, in pico-dollars ([`PICO_USD_PER_USD`]).
    pub cost_pico_usd: u64,
    /// Requests that had a price; the other `requests - priced_requests` had none set.
    pub priced_requests: u64,
}

// ---- Codex version (issue 17) ----

pub use codex_launcher_types::CodexVerdict;

/// The Codex CLI the daemon's sessions run ([`ManagerProxy::codex_info`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct CodexInfo {
    /// The program (`CODEX_BIN`, else `codex` as found on the daemon's `PATH`).
    pub program: String,
    /// Its version (`0.171.0`; empty when unknown).
    pub version: String,
    /// `tested`, `older`, `newer` (than the releases the launcher is tested with) or
    /// `unknown` (`codex --version` could not be run or read). Untested is a warning,
    /// never a failure.
    pub verdict: CodexVerdict,
    /// One line for people: the version and its verdict with what to do, or why there is no
    /// version.
    pub message: String,
}
