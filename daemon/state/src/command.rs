//! The owner's closed set of commands, and [`Handle`], the cloneable way to send them.
//!
//! Every public command carries a `oneshot` for its reply; the `Handle` methods wrap that,
//! so a caller (a D-Bus method on zbus's executor, a signal handler on tokio) just awaits.
//! Both channel kinds are runtime-agnostic. Commands marked *internal* are sent by the
//! owner's own background jobs (the supervisor's waiter threads, a model fetch, a probe,
//! the proxy's traffic hook) to bring their results back into the loop.

use std::path::PathBuf;
use std::time::Instant;

use codex_launcher_engine::model::{Endpoint, Group, GroupMember, Model};
use codex_launcher_engine::pricing::Tokens;
use codex_launcher_types::{KeyStorage, Mode};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::cost::PriceEdit;
use crate::error::StateError;
use crate::event::Event;
use crate::planning::LaunchOptions;
use crate::turns::{Kept, Slot};
use crate::views::{
    CleanupItem, CodexInfo, EndpointOptions, EndpointView, GroupView, ProbeReport, ProxyStatus,
    RecordingView, ReplayReport, RunPlan, SessionView, TurnDetail, TurnFilter,
};
use codex_launcher_proxy::record::TurnSummary;

/// A reply channel.
pub(crate) type Reply<T> = oneshot::Sender<T>;
/// A reply that may be an error.
pub(crate) type Answer<T> = Reply<Result<T, StateError>>;

/// A finished proxied request, as the proxy's traffic hook reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDone {
    /// The session whose token it carried (`None`: the install token, or no token).
    pub session: Option<u64>,
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug as Codex sent it.
    pub model: String,
    /// Input tokens the upstream reported.
    pub input_tokens: u64,
    /// Output tokens the upstream reported.
    pub output_tokens: u64,
    /// It ended in an error.
    pub failed: bool,
    /// The proxy's number for it (its log lines' `request_id`).
    pub request_id: u64,
    /// Of the input tokens, those read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the input tokens, those written to the provider's prompt cache.
    pub cache_write_input_tokens: u64,
}

impl RequestDone {
    /// Its token counts, as prices apply to them.
    pub fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input_tokens,
            cached_input: self.cached_input_tokens,
            cache_write_input: self.cache_write_input_tokens,
            output: self.output_tokens,
        }
    }
}

/// What the owner does.
pub(crate) enum Command {
    ListEndpoints(Reply<Vec<EndpointView>>),
    GetEndpoint(String, Answer<EndpointView>),
    AddEndpoint(Box<Endpoint>, String, Answer<String>),
    UpdateEndpoint(String, Box<Endpoint>, Answer<()>),
    SetApiKey(String, String, Answer<KeyStorage>),
    RemoveEndpoint(String, Answer<()>),
    SetDefault(String, Answer<()>),
    FetchModels(String, Answer<Vec<Model>>),
    /// Internal: a fetch came back (`Err`: the upstream's message).
    ModelsFetched(String, Result<Vec<Model>, StateError>, Answer<Vec<Model>>),
    ImportModels(String, String, Answer<u32>),
    ExportProfile(bool, Answer<String>),
    ImportProfile(String, Answer<Vec<String>>),
    ImportLegacy(Option<PathBuf>, Answer<Vec<String>>),
    ProxyStatus(Reply<ProxyStatus>),
    Reload(Answer<()>),
    Launch(Box<LaunchRequest>, Answer<u64>),
    PrepareRun(Box<LaunchRequest>, Answer<RunPlan>),
    Attach(u64, u32, Answer<()>),
    ReportExit(u64, i32, Answer<()>),
    Stop(u64, Answer<()>),
    Session(u64, Reply<Option<SessionView>>),
    Sessions(Reply<Vec<SessionView>>),
    Cleanup {
        dry_run: bool,
        stop_sessions: bool,
        reply: Answer<Vec<CleanupItem>>,
    },
    /// Internal: the sessions a cleanup stopped have ended (or their time is up).
    CleanupScan(Vec<CleanupItem>, Answer<Vec<CleanupItem>>),
    Probe(String, String, Answer<ProbeReport>),
    /// Internal: a probe found a quirk; merge it into the endpoint as it is now.
    RecordQuirks {
        id: String,
        model: String,
        quirks: serde_json::Map<String, serde_json::Value>,
        parallel: Option<bool>,
        reply: Answer<()>,
    },
    /// Internal: a supervised session ended.
    Exited(u64, i32),
    /// Internal: a proxied request arrived.
    RequestStarted(Option<u64>, Instant),
    /// Internal: a proxied request finished.
    RequestFinished(RequestDone),
    ListGroups(Reply<Vec<GroupView>>),
    GetGroup(String, Answer<GroupView>),
    AddGroup(Box<Group>, Answer<String>),
    UpdateGroup(String, Box<Group>, Answer<()>),
    RemoveGroup(String, Answer<()>),
    /// Internal: the proxy asks which members to try.
    Route(
        String,
        crate::groups::Conversation,
        Reply<Option<codex_launcher_proxy::Route>>,
    ),
    /// Internal: the proxy tells how an attempt went.
    Attempted {
        group: String,
        conversation: crate::groups::Conversation,
        member: GroupMember,
        attempt: crate::groups::Attempt,
    },
    StatusLine(Reply<String>),
    KeyStorage(Reply<KeyStorage>),
    /// The key store was locked or unlocked: read the keys again.
    KeysChanged(Reply<KeyStorage>),
    SetHeader {
        id: String,
        name: String,
        value: String,
        secret: bool,
        reply: Answer<()>,
    },
    SetKeySource(String, String, Answer<()>),
    Scrub(String, Vec<(String, String)>, Reply<Vec<String>>),
    Shutdown(Reply<()>),
    // ---- cost and prices (issue 14) ----
    SetPrices {
        endpoint: String,
        model: String,
        edit: PriceEdit,
        reply: Answer<()>,
    },
    SetEndpointOptions(String, EndpointOptions, Answer<()>),
    // ---- Codex version (issue 17) ----
    CodexInfo(Reply<CodexInfo>),
    // ---- turns (issue 18) ----
    ListTurns(TurnFilter, Reply<Vec<TurnSummary>>),
    GetTurn(u64, Answer<TurnDetail>),
    ExportTurn(u64, bool, Answer<String>),
    ReplayTurn {
        id: u64,
        endpoint: String,
        model: String,
        reply: Answer<ReplayReport>,
    },
    SetTurnRecording(String, bool, Answer<()>),
    SetTurnRetention {
        max_failures: Option<u32>,
        max_successes: Option<u32>,
        max_bytes: Option<u64>,
        reply: Answer<()>,
    },
    TurnRecording(Reply<RecordingView>),
    /// Internal: the recorder's writer asks for numbers for this many records, and the
    /// secrets to remove from them.
    TurnSlots(u64, Reply<Slot>),
    /// Internal: the writer wrote these records (each with the ticket of its caller, if any).
    TurnsWritten(Vec<(Kept, Option<String>)>, Reply<()>),
}

/// What to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchRequest {
    /// Endpoint id (empty: the default endpoint; ignored for Codex Default).
    pub endpoint: String,
    /// Model slug (empty: the endpoint's default).
    pub model: String,
    /// How.
    pub mode: Mode,
    /// Checked options.
    pub options: LaunchOptions,
}

/// The way to the owner. Cheap to clone; every method is a round trip to the owner's loop.
#[derive(Clone)]
pub struct Handle {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
    pub(crate) events: broadcast::Sender<Event>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

fn gone() -> StateError {
    StateError::Internal("the daemon is shutting down".into())
}

impl Handle {
    pub(crate) fn send(&self, command: Command) {
        // Fails only once the owner has stopped; the caller then hears `gone`.
        let _ = self.tx.send(command);
    }

    async fn ask<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, StateError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(command(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }

    async fn try_ask<T>(
        &self,
        command: impl FnOnce(Answer<T>) -> Command,
    ) -> Result<T, StateError> {
        self.ask(command).await?
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// All endpoints, in display order.
    pub async fn endpoints(&self) -> Result<Vec<EndpointView>, StateError> {
        self.ask(Command::ListEndpoints).await
    }

    /// One endpoint.
    pub async fn endpoint(&self, id: &str) -> Result<EndpointView, StateError> {
        self.try_ask(|r| Command::GetEndpoint(id.to_owned(), r))
            .await
    }

    /// Create an endpoint (its id from the name when empty); `key` may be empty.
    pub async fn add_endpoint(&self, endpoint: Endpoint, key: &str) -> Result<String, StateError> {
        self.try_ask(|r| Command::AddEndpoint(Box::new(endpoint), key.to_owned(), r))
            .await
    }

    /// Replace an endpoint's settings (its key and note are kept).
    pub async fn update_endpoint(&self, id: &str, endpoint: Endpoint) -> Result<(), StateError> {
        self.try_ask(|r| Command::UpdateEndpoint(id.to_owned(), Box::new(endpoint), r))
            .await
    }

    /// Store (or, empty, delete) an endpoint's key; where it went.
    pub async fn set_api_key(&self, id: &str, key: &str) -> Result<KeyStorage, StateError> {
        self.try_ask(|r| Command::SetApiKey(id.to_owned(), key.to_owned(), r))
            .await
    }

    /// Delete an endpoint and its key.
    pub async fn remove_endpoint(&self, id: &str) -> Result<(), StateError> {
        self.try_ask(|r| Command::RemoveEndpoint(id.to_owned(), r))
            .await
    }

    /// Make an endpoint the default.
    pub async fn set_default(&self, id: &str) -> Result<(), StateError> {
        self.try_ask(|r| Command::SetDefault(id.to_owned(), r))
            .await
    }

    /// Ask the provider for its models and merge them in; the models it listed.
    pub async fn fetch_models(&self, id: &str) -> Result<Vec<Model>, StateError> {
        self.try_ask(|r| Command::FetchModels(id.to_owned(), r))
            .await
    }

    /// Add models from pasted ids; how many were new.
    pub async fn import_models(&self, id: &str, text: &str) -> Result<u32, StateError> {
        self.try_ask(|r| Command::ImportModels(id.to_owned(), text.to_owned(), r))
            .await
    }

    /// The endpoints as a portable bundle (keys only when asked).
    pub async fn export_profile(&self, include_keys: bool) -> Result<String, StateError> {
        self.try_ask(|r| Command::ExportProfile(include_keys, r))
            .await
    }

    /// Import a bundle; the ids created or updated.
    pub async fn import_profile(&self, bundle: &str) -> Result<Vec<String>, StateError> {
        self.try_ask(|r| Command::ImportProfile(bundle.to_owned(), r))
            .await
    }

    /// Import the seed launcher's endpoints.json (`None`: `~/.codex/endpoints.json`).
    pub async fn import_legacy(&self, path: Option<PathBuf>) -> Result<Vec<String>, StateError> {
        self.try_ask(|r| Command::ImportLegacy(path, r)).await
    }

    /// Proxy counters and usage.
    pub async fn proxy_status(&self) -> Result<ProxyStatus, StateError> {
        self.ask(Command::ProxyStatus).await
    }

    /// Re-read endpoints.json and keys.
    pub async fn reload(&self) -> Result<(), StateError> {
        self.try_ask(Command::Reload).await
    }

    /// Start a session; its id.
    pub async fn launch(&self, request: LaunchRequest) -> Result<u64, StateError> {
        self.try_ask(|r| Command::Launch(Box::new(request), r))
            .await
    }

    /// Register a session whose Codex the caller starts (`codexctl run`).
    pub async fn prepare_run(&self, request: LaunchRequest) -> Result<RunPlan, StateError> {
        self.try_ask(|r| Command::PrepareRun(Box::new(request), r))
            .await
    }

    /// Hand a registered session its process.
    pub async fn attach(&self, id: u64, pid: u32) -> Result<(), StateError> {
        self.try_ask(|r| Command::Attach(id, pid, r)).await
    }

    /// The exit code of an attached session's process, as its caller saw it.
    pub async fn report_exit(&self, id: u64, code: i32) -> Result<(), StateError> {
        self.try_ask(|r| Command::ReportExit(id, code, r)).await
    }

    /// SIGTERM, then SIGKILL after the session's grace period.
    pub async fn stop(&self, id: u64) -> Result<(), StateError> {
        self.try_ask(|r| Command::Stop(id, r)).await
    }

    /// One session (`None`: no such session, or dropped from the record).
    pub async fn session(&self, id: u64) -> Result<Option<SessionView>, StateError> {
        self.ask(|r| Command::Session(id, r)).await
    }

    /// Every session of this run still in the record, oldest first.
    pub async fn sessions(&self) -> Result<Vec<SessionView>, StateError> {
        self.ask(Command::Sessions).await
    }

    /// Kill & Cleanup: what earlier sessions left (and, with `stop_sessions`, the live
    /// sessions themselves), stopped or removed unless `dry_run`.
    pub async fn cleanup(
        &self,
        dry_run: bool,
        stop_sessions: bool,
    ) -> Result<Vec<CleanupItem>, StateError> {
        self.try_ask(|reply| Command::Cleanup {
            dry_run,
            stop_sessions,
            reply,
        })
        .await
    }

    /// Real round trips to the provider; quirks found are recorded into the endpoint.
    pub async fn probe(&self, id: &str, model: &str) -> Result<ProbeReport, StateError> {
        self.try_ask(|r| Command::Probe(id.to_owned(), model.to_owned(), r))
            .await
    }

    /// Merge quirks a probe found into the endpoint (and the model's parallel flag).
    pub(crate) async fn record_quirks(
        &self,
        id: &str,
        model: &str,
        quirks: serde_json::Map<String, serde_json::Value>,
        parallel: Option<bool>,
    ) -> Result<(), StateError> {
        self.try_ask(|reply| Command::RecordQuirks {
            id: id.to_owned(),
            model: model.to_owned(),
            quirks,
            parallel,
            reply,
        })
        .await
    }

    /// Set (or, with an empty value, remove) one extra header of an endpoint; `secret`
    /// keeps its value with the keys (a header whose name says it is a credential always is).
    pub async fn set_header(
        &self,
        id: &str,
        name: &str,
        value: &str,
        secret: bool,
    ) -> Result<(), StateError> {
        self.try_ask(|reply| Command::SetHeader {
            id: id.to_owned(),
            name: name.to_owned(),
            value: value.to_owned(),
            secret,
            reply,
        })
        .await
    }

    /// Record the environment variable an endpoint's key was read from (empty: none).
    pub async fn set_key_source(&self, id: &str, var: &str) -> Result<(), StateError> {
        self.try_ask(|r| Command::SetKeySource(id.to_owned(), var.to_owned(), r))
            .await
    }

    /// Which of a caller's variables (`(name, digest of its value)`, digests as
    /// [`crate::secrets::digest`] with `salt`) hold provider credentials.
    pub async fn scrub(
        &self,
        salt: &str,
        vars: Vec<(String, String)>,
    ) -> Result<Vec<String>, StateError> {
        self.ask(|r| Command::Scrub(salt.to_owned(), vars, r)).await
    }

    /// The key store was locked or unlocked: read the keys again; where keys are now.
    pub async fn keys_changed(&self) -> Result<KeyStorage, StateError> {
        self.ask(Command::KeysChanged).await
    }

    /// Every fallback group, with its members' health.
    pub async fn groups(&self) -> Result<Vec<GroupView>, StateError> {
        self.ask(Command::ListGroups).await
    }

    /// One group.
    pub async fn group(&self, id: &str) -> Result<GroupView, StateError> {
        self.try_ask(|r| Command::GetGroup(id.to_owned(), r)).await
    }

    /// Create a group (its id is `group.id`, under the endpoint id rules).
    pub async fn add_group(&self, group: Group) -> Result<String, StateError> {
        self.try_ask(|r| Command::AddGroup(Box::new(group), r))
            .await
    }

    /// Replace a group's name and members.
    pub async fn update_group(&self, id: &str, group: Group) -> Result<(), StateError> {
        self.try_ask(|r| Command::UpdateGroup(id.to_owned(), Box::new(group), r))
            .await
    }

    /// Delete a group.
    pub async fn remove_group(&self, id: &str) -> Result<(), StateError> {
        self.try_ask(|r| Command::RemoveGroup(id.to_owned(), r))
            .await
    }

    /// One line for systemd's `STATUS=`.
    pub async fn status_line(&self) -> Result<String, StateError> {
        self.ask(Command::StatusLine).await
    }

    /// Where keys are kept now.
    pub async fn key_storage(&self) -> Result<KeyStorage, StateError> {
        self.ask(Command::KeyStorage).await
    }

    // ---- cost and prices (issue 14) ----

    /// Change a model's prices (each price the edit names; the list-price date goes, since
    /// they are now the user's).
    pub async fn set_prices(
        &self,
        endpoint: &str,
        model: &str,
        edit: PriceEdit,
    ) -> Result<(), StateError> {
        self.try_ask(|reply| Command::SetPrices {
            endpoint: endpoint.to_owned(),
            model: model.to_owned(),
            edit,
            reply,
        })
        .await
    }

    /// Change an endpoint's options (those given; the others stay).
    pub async fn set_endpoint_options(
        &self,
        id: &str,
        options: EndpointOptions,
    ) -> Result<(), StateError> {
        self.try_ask(|r| Command::SetEndpointOptions(id.to_owned(), options, r))
            .await
    }

    // ---- Codex version (issue 17) ----

    /// The Codex CLI sessions would run: its path, version and verdict (`codex --version`
    /// is run for it, off the owner's loop).
    pub async fn codex_info(&self) -> Result<CodexInfo, StateError> {
        self.ask(Command::CodexInfo).await
    }

    // ---- turns (issue 18) ----

    /// Recorded turns, newest first.
    pub async fn turns(&self, filter: TurnFilter) -> Result<Vec<TurnSummary>, StateError> {
        self.ask(|r| Command::ListTurns(filter, r)).await
    }

    /// One recorded turn, readable.
    pub async fn turn(&self, id: u64) -> Result<TurnDetail, StateError> {
        self.try_ask(|r| Command::GetTurn(id, r)).await
    }

    /// A recorded turn as a self-contained bundle (`redact_text`: messages, tool outputs and
    /// reasoning replaced by placeholders of the same length).
    pub async fn export_turn(&self, id: u64, redact_text: bool) -> Result<String, StateError> {
        self.try_ask(|r| Command::ExportTurn(id, redact_text, r))
            .await
    }

    /// Replay a recorded turn: its upstream request as recorded (`endpoint` empty), or
    /// Codex's request translated for `endpoint` (with `model`, if not empty).
    pub async fn replay_turn(
        &self,
        id: u64,
        endpoint: &str,
        model: &str,
    ) -> Result<ReplayReport, StateError> {
        self.try_ask(|reply| Command::ReplayTurn {
            id,
            endpoint: endpoint.to_owned(),
            model: model.to_owned(),
            reply,
        })
        .await
    }

    /// Record successful turns too (`all`) or failed ones only, on `endpoint` (empty: every
    /// endpoint).
    pub async fn set_turn_recording(&self, endpoint: &str, all: bool) -> Result<(), StateError> {
        self.try_ask(|r| Command::SetTurnRecording(endpoint.to_owned(), all, r))
            .await
    }

    /// Change the retention bounds (`None`: unchanged); applied at once.
    pub async fn set_turn_retention(
        &self,
        max_failures: Option<u32>,
        max_successes: Option<u32>,
        max_bytes: Option<u64>,
    ) -> Result<(), StateError> {
        self.try_ask(|reply| Command::SetTurnRetention {
            max_failures,
            max_successes,
            max_bytes,
            reply,
        })
        .await
    }

    /// What the recorder records and keeps.
    pub async fn turn_recording(&self) -> Result<RecordingView, StateError> {
        self.ask(Command::TurnRecording).await
    }

    pub(crate) async fn turn_slots(&self, n: u64) -> Result<Slot, StateError> {
        self.ask(|r| Command::TurnSlots(n, r)).await
    }

    pub(crate) async fn turns_written(
        &self,
        written: Vec<(Kept, Option<String>)>,
    ) -> Result<(), StateError> {
        self.ask(|r| Command::TurnsWritten(written, r)).await
    }

    /// Stop every session (SIGTERM, SIGKILL after the grace), give back config.toml, and
    /// end the owner's loop.
    pub async fn shutdown(&self) {
        let _ = self.ask(Command::Shutdown).await;
    }
}
