//! The owner: one task holding all of the launcher's state, taking one [`Command`] at a
//! time. A command's handler runs to its end before the next starts, so no two changes
//! interleave: a Cleanup never sees a session half launched, a probe's recording never
//! races an edit. File IO, fork/exec and `/proc` scans go to the blocking pool (awaited
//! here, so the loop still holds the state); waiting on the network or for processes to
//! die happens in jobs off the loop, which bring their results back as commands.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codex_launcher_engine::atomic::ensure_dir;
use codex_launcher_engine::backup::{self, Backups, Outcome, Release, RestoreReport};
use codex_launcher_engine::catalog;
use codex_launcher_engine::cleanup as engine_cleanup;
use codex_launcher_engine::codex_version::DisplayPreference;
use codex_launcher_engine::discovery::{merge_models, parse_models};
use codex_launcher_engine::model::{Endpoint, Group, GroupMember, Model};
use codex_launcher_engine::paths::Paths;
use codex_launcher_engine::procfs;
use codex_launcher_engine::profile::{Bundle, BundleEndpoint, FORMAT, parse_bundle};
use codex_launcher_engine::store::{EndpointStore, StoreError, parse_model_list};
use codex_launcher_engine::supervisor::{self, Launch, Session, Supervisor, SupervisorError};
use codex_launcher_engine::{credentials, legacy, stall};
use codex_launcher_proxy::{ApiKey, Caller, ProxyState, RequestRecord};
use codex_launcher_types::{Backend, BreakerState, CleanupAction, CleanupKind, KeyStorage, Mode};
use tokio::sync::{broadcast, mpsc};

use crate::cleanup::{self, Live, Scope};
use crate::clock::Clock;
use crate::codex;
use crate::command::{Answer, Command, Handle, LaunchRequest, RequestDone};
use crate::cost::{self, PriceEdit};
use crate::endpoints::{MAX_TEXT, check_key, check_settings, to_proxy};
use crate::error::{StateError, join_error};
use crate::event::Event;
use crate::groups::{Conversation, Groups};
use crate::keystore::KeyStore;
use crate::planning::{self, Environment, Lease, Plan, PlanInput};
use crate::probe::Probe;
use crate::secrets::{self, ToStore};
use crate::sessions::{Held, Record, Table};
use crate::turns::{self, Index, Kept, ReplayJob, Slot, TurnTap, Written};
use crate::usage::Usage;
use crate::views::{
    CleanupItem, CodexInfo, ConfigMerged, EndpointOptions, EndpointView, GroupView, MemberHealth,
    ProbeReport, ProxyStatus, RecordingView, RunPlan, SessionView, TurnDetail,
};

/// SIGTERM to SIGKILL for the sessions still running at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a keyring call may take (a locked keyring may be showing a prompt).
const KEYRING_TIMEOUT: Duration = Duration::from_secs(25);
/// Events a slow subscriber may fall behind by before it misses some.
const EVENT_BUFFER: usize = 1024;

/// What the owner is built from (tests pass temp dirs, a fake key store and clock).
pub struct Deps {
    /// Where files live.
    pub paths: Paths,
    /// The proxy it configures (endpoints, session tokens) and hears traffic from.
    pub proxy: Arc<ProxyState>,
    /// Where the proxy listens.
    pub proxy_addr: SocketAddr,
    /// The install-wide proxy token (the probe's requests carry it).
    pub token: String,
    /// Where keys are kept.
    pub keys: Box<dyn KeyStore>,
    /// The daemon's environment (Codex and terminal commands, variables to scrub).
    pub env: Arc<dyn Environment>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The default stall time.
    pub stall: Duration,
}

/// A started owner.
pub struct Started {
    /// The way to it.
    pub handle: Handle,
    /// Its task (ends after [`Handle::shutdown`]).
    pub task: tokio::task::JoinHandle<()>,
    /// A config.toml backup a crash had left, restored before anything else.
    pub recovered: Option<RestoreReport>,
}

/// Load the state (endpoint store, keys), restore a config.toml backup a crash left, hook
/// into the proxy, and start the owner's task.
pub async fn start(deps: Deps) -> Result<Started, StateError> {
    let backups = Backups::at(&deps.paths.state);
    let recovered = {
        let backups = backups.clone();
        blocking(move || backups.recover()).await?.map_err(|e| {
            StateError::Io(format!(
                "cannot restore the config.toml backup a crash left: {e}"
            ))
        })?
    };
    let store_path = deps.paths.endpoints_file();
    let store = blocking(move || EndpointStore::load(&store_path)).await??;
    let recorder = Recorder::at(&deps.paths);
    let (settings_path, dir) = (recorder.settings_path.clone(), recorder.dir.clone());
    let (settings, index) = blocking(move || {
        (
            turns::load_settings(&settings_path),
            turns::load_index(&dir),
        )
    })
    .await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let handle = Handle {
        tx: tx.clone(),
        events: events.clone(),
    };
    let exits = Hook(tx.clone());
    let supervisor = Supervisor::new(Box::new(move |s: &Session| {
        exits.send(Command::Exited(s.id, s.exit_code.unwrap_or(-1)));
    }));
    deps.proxy.set_observer(Arc::new(Hook(tx.clone())));
    deps.proxy.set_router(Arc::new(Hook(tx)));
    // The turn recorder: the proxy's tap queues into the writer, which brings each record
    // back as a command.
    let (turns_tx, turns_rx) = mpsc::channel(turns::QUEUE);
    let tap = Arc::new(TurnTap::new(turns_tx, &settings));
    deps.proxy.set_recorder(tap.clone());
    tokio::spawn(turns::write_turns(handle.clone(), turns_rx));
    let mut owner = Owner {
        run: deps.clock.wall_ms().to_string(),
        paths: deps.paths,
        proxy: deps.proxy,
        proxy_addr: deps.proxy_addr,
        token: deps.token,
        keys: deps.keys,
        env: deps.env,
        clock: deps.clock,
        stall: deps.stall,
        store,
        key_cache: HashMap::new(),
        unreadable: HashMap::new(),
        backups,
        supervisor,
        sessions: Table::default(),
        usage: Usage::default(),
        groups: Groups::default(),
        turns: Recorder {
            settings,
            index,
            tap,
            ..recorder
        },
        handle: handle.clone(),
        events,
    };
    owner.load_keys().await;
    owner.migrate_headers().await;
    owner.refresh_proxy();
    let task = tokio::spawn(owner.run(rx));
    Ok(Started {
        handle,
        task,
        recovered,
    })
}

/// Run blocking work (file IO, fork/exec, `/proc`) on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StateError> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)
}

/// Commands from outside the loop (the supervisor's waiter threads, the proxy's workers):
/// sending never blocks.
#[derive(Debug, Clone)]
struct Hook(mpsc::UnboundedSender<Command>);

impl Hook {
    fn send(&self, command: Command) {
        // Fails only after the owner stopped (shutdown), when nobody needs the news.
        let _ = self.0.send(command);
    }
}

impl codex_launcher_proxy::Observer for Hook {
    fn request_started(&self, caller: Caller) {
        let session = match caller {
            Caller::Session(id) => Some(id),
            Caller::Anyone | Caller::Launcher => None,
        };
        self.send(Command::RequestStarted(session, std::time::Instant::now()));
    }

    fn request_finished(&self, record: RequestRecord) {
        self.send(Command::RequestFinished(RequestDone {
            session: match record.caller {
                Caller::Session(id) => Some(id),
                Caller::Anyone | Caller::Launcher => None,
            },
            endpoint: record.endpoint,
            model: record.model,
            input_tokens: record.usage.input_tokens,
            output_tokens: record.usage.output_tokens,
            failed: record.usage.failed,
            request_id: record.request_id,
            cached_input_tokens: record.usage.cached_input_tokens,
            cache_write_input_tokens: record.usage.cache_write_input_tokens,
        }));
    }
}

impl codex_launcher_proxy::Router for Hook {
    fn route(
        &self,
        group: &str,
        who: &codex_launcher_proxy::Affinity,
    ) -> futures::future::BoxFuture<'static, Option<codex_launcher_proxy::Route>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Command::Route(group.to_owned(), conversation(who), reply));
        Box::pin(async move { answer.await.ok().flatten() })
    }

    fn attempted(
        &self,
        group: &str,
        who: &codex_launcher_proxy::Affinity,
        member: &codex_launcher_proxy::RouteMember,
        attempt: codex_launcher_proxy::Attempt,
    ) {
        self.send(Command::Attempted {
            group: group.to_owned(),
            conversation: conversation(who),
            member: GroupMember {
                endpoint: member.endpoint.clone(),
                model: member.configured_model.clone(),
            },
            attempt: match attempt {
                codex_launcher_proxy::Attempt::Served => crate::groups::Attempt::Served,
                codex_launcher_proxy::Attempt::Failed { reason, cooldown } => {
                    crate::groups::Attempt::Failed { reason, cooldown }
                }
            },
        });
    }
}

fn conversation(who: &codex_launcher_proxy::Affinity) -> Conversation {
    let session = match who.caller {
        Caller::Session(id) => Some(id),
        Caller::Anyone | Caller::Launcher => None,
    };
    Conversation::of(session, who.thread.as_deref())
}

/// Random hex from the operating system (session and install tokens).
pub fn random_hex(bytes: usize) -> Result<String, StateError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| StateError::Internal(format!("no randomness from the system: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

struct Owner {
    paths: Paths,
    proxy: Arc<ProxyState>,
    proxy_addr: SocketAddr,
    token: String,
    keys: Box<dyn KeyStore>,
    env: Arc<dyn Environment>,
    clock: Arc<dyn Clock>,
    stall: Duration,
    store: EndpointStore,
    /// What the key store holds, by id: endpoints' keys and secret header values.
    key_cache: HashMap<String, ApiKey>,
    /// Endpoints whose secrets could not be read, and why (a locked keyring).
    unreadable: HashMap<String, String>,
    backups: Backups,
    supervisor: Supervisor,
    sessions: Table,
    usage: Usage,
    /// Fallback groups' breakers, cooldowns and stickiness.
    groups: Groups,
    /// This run's pid-file prefix (a later run's Cleanup tells its files from ours).
    run: String,
    /// The turn recorder's index and settings (issue 18).
    turns: Recorder,
    handle: Handle,
    events: broadcast::Sender<Event>,
}

/// The turn recorder as the owner holds it: where, what to record, what is kept.
struct Recorder {
    dir: PathBuf,
    settings_path: PathBuf,
    settings: turns::Settings,
    index: Index,
    tap: Arc<TurnTap>,
}

impl Recorder {
    /// An empty recorder under `paths` (loaded in [`start`]).
    fn at(paths: &Paths) -> Recorder {
        let (tx, _) = mpsc::channel(1);
        let settings = turns::Settings::default();
        Recorder {
            dir: paths.state.join(turns::DIR),
            settings_path: paths.config.join(turns::SETTINGS_FILE),
            tap: Arc::new(TurnTap::new(tx, &settings)),
            settings,
            index: Index::default(),
        }
    }
}

impl Owner {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let tick = tokio::time::sleep(self.stall_period());
        tokio::pin!(tick);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    None => break,
                    Some(Command::Shutdown(reply)) => {
                        self.shutdown(&mut rx).await;
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.handle(command).await,
                },
                () = &mut tick => {
                    self.observe_stalls().await;
                    tick.as_mut().reset(tokio::time::Instant::now() + self.stall_period());
                }
            }
        }
    }

    fn publish(&self, event: Event) {
        // No subscriber is fine (tests, start-up).
        let _ = self.events.send(event);
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::ListEndpoints(r) => {
                let _ = r.send(self.views());
            }
            Command::GetEndpoint(id, r) => {
                let _ = r.send(
                    self.store
                        .get(&id)
                        .map(|e| self.view(e))
                        .map_err(Into::into),
                );
            }
            Command::AddEndpoint(e, key, r) => {
                let _ = r.send(self.add_endpoint(*e, &key).await);
            }
            Command::UpdateEndpoint(id, e, r) => {
                let _ = r.send(self.update_endpoint(&id, *e).await);
            }
            Command::SetApiKey(id, key, r) => {
                let _ = r.send(self.set_api_key(&id, &key).await);
            }
            Command::RemoveEndpoint(id, r) => {
                let _ = r.send(self.remove_endpoint(&id).await);
            }
            Command::SetDefault(id, r) => {
                let result = self.change_store(move |s| s.set_default(&id)).await;
                let _ = r.send(self.changed(result));
            }
            Command::FetchModels(id, r) => self.fetch_models(id, r),
            Command::ModelsFetched(id, result, r) => {
                let _ = r.send(self.models_fetched(id, result).await);
            }
            Command::ImportModels(id, text, r) => {
                let _ = r.send(self.import_models(id, &text).await);
            }
            Command::ExportProfile(include_keys, r) => {
                let _ = r.send(self.export_profile(include_keys));
            }
            Command::ImportProfile(bundle, r) => {
                let _ = r.send(self.import_profile(&bundle).await);
            }
            Command::ImportLegacy(path, r) => {
                let _ = r.send(self.import_legacy(path).await);
            }
            Command::ProxyStatus(r) => {
                let _ = r.send(self.proxy_status());
            }
            Command::Reload(r) => {
                let _ = r.send(self.reload().await);
            }
            Command::Launch(request, r) => {
                let _ = r.send(self.launch(*request).await);
            }
            Command::PrepareRun(request, r) => {
                let _ = r.send(self.prepare_run(*request).await);
            }
            Command::Attach(id, pid, r) => {
                let _ = r.send(self.attach(id, pid).await);
            }
            Command::ReportExit(id, code, r) => {
                let supervisor = self.supervisor.clone();
                let result = blocking(move || supervisor.report_exit(id, code))
                    .await
                    .and_then(|r| r.map_err(|e| StateError::InvalidArgument(e.to_string())));
                let _ = r.send(result);
            }
            Command::Stop(id, r) => {
                let supervisor = self.supervisor.clone();
                let result = blocking(move || supervisor.stop(id, None))
                    .await
                    .and_then(|r| r.map(|_| ()).map_err(supervisor_error));
                if result.is_ok() {
                    self.publish(Event::SessionChanged(id));
                }
                let _ = r.send(result);
            }
            Command::Session(id, r) => {
                let _ = r.send(self.supervisor.get(id).map(|s| self.session_view(s)));
            }
            Command::Sessions(r) => {
                let all = self.supervisor.list();
                let _ = r.send(all.into_iter().map(|s| self.session_view(s)).collect());
            }
            Command::Cleanup {
                dry_run,
                stop_sessions,
                reply,
            } => self.cleanup(dry_run, stop_sessions, reply).await,
            Command::CleanupScan(items, reply) => self.cleanup_scan(false, items, reply).await,
            Command::Probe(id, model, r) => self.probe(&id, &model, r),
            Command::RecordQuirks {
                id,
                model,
                quirks,
                parallel,
                reply,
            } => {
                let _ = reply.send(self.record_quirks(id, model, quirks, parallel).await);
            }
            Command::Exited(id, code) => self.exited(id, code).await,
            Command::RequestStarted(session, at) => {
                if let Some(r) = session.and_then(|id| self.sessions.get_mut(id)) {
                    r.last_request = Some(at);
                }
            }
            Command::RequestFinished(done) => self.request_finished(&done),
            Command::ListGroups(r) => {
                let views = self
                    .store
                    .groups()
                    .iter()
                    .map(|g| self.group_view(g))
                    .collect();
                let _ = r.send(views);
            }
            Command::GetGroup(id, r) => {
                let view = self.store.group(&id).map(|g| self.group_view(g));
                let _ = r.send(view.map_err(|_| group_not_found(&id)));
            }
            Command::AddGroup(group, r) => {
                let result = self.change_store(move |s| s.add_group(*group)).await;
                let _ = r.send(self.changed(result.map_err(group_error)));
            }
            Command::UpdateGroup(id, group, r) => {
                let result = self
                    .change_store(move |s| s.update_group(&id, *group))
                    .await;
                let _ = r.send(self.changed(result.map_err(group_error)));
            }
            Command::RemoveGroup(id, r) => {
                let result = self.change_store(move |s| s.remove_group(&id)).await;
                let _ = r.send(self.changed(result.map_err(group_error)));
            }
            Command::Route(group, conversation, r) => {
                let _ = r.send(self.route(&group, conversation));
            }
            Command::Attempted {
                group,
                conversation,
                member,
                attempt,
            } => {
                let now = self.clock.now();
                self.groups
                    .record(&group, &member, conversation, &attempt, now);
                if let Some(b) = self.groups.breaker(&group, &member)
                    && b.state(now) == BreakerState::Open
                    && matches!(attempt, crate::groups::Attempt::Failed { .. })
                {
                    tracing::warn!(group = %group, member = %member.label(), error = %b.last_error(), "circuit breaker open: member skipped for now");
                }
            }
            Command::StatusLine(r) => {
                let _ = r.send(self.status_line());
            }
            Command::KeyStorage(r) => {
                let _ = r.send(self.keys.storage());
            }
            Command::KeysChanged(r) => {
                let _ = r.send(self.keys_changed().await);
            }
            Command::SetHeader {
                id,
                name,
                value,
                secret,
                reply,
            } => {
                let _ = reply.send(self.set_header(&id, &name, &value, secret).await);
            }
            Command::SetKeySource(id, var, r) => {
                let _ = r.send(self.set_key_source(&id, &var).await);
            }
            Command::Scrub(salt, vars, r) => {
                let _ = r.send(self.scrub(&salt, &vars));
            }
            // Handled by the loop itself.
            Command::Shutdown(r) => {
                let _ = r.send(());
            }
            // ---- cost and prices (issue 14) ----
            Command::SetPrices {
                endpoint,
                model,
                edit,
                reply,
            } => {
                let _ = reply.send(self.set_prices(endpoint, model, edit).await);
            }
            Command::SetEndpointOptions(id, options, r) => {
                let _ = r.send(self.set_endpoint_options(id, options).await);
            }
            // ---- Codex version (issue 17) ----
            Command::CodexInfo(r) => self.codex_info(r),
            // ---- turns (issue 18) ----
            Command::ListTurns(filter, r) => {
                let _ = r.send(self.turns.index.list(&filter));
            }
            Command::GetTurn(id, r) => self.read_turn(id, r, None),
            Command::ExportTurn(id, redact_text, r) => self.read_turn(id, r, Some(redact_text)),
            Command::ReplayTurn {
                id,
                endpoint,
                model,
                reply,
            } => self.replay_turn(id, endpoint, model, reply),
            Command::SetTurnRecording(endpoint, all, r) => {
                let _ = r.send(self.set_turn_recording(endpoint, all).await);
            }
            Command::SetTurnRetention {
                max_failures,
                max_successes,
                max_bytes,
                reply,
            } => {
                let result = self
                    .set_turn_retention(max_failures, max_successes, max_bytes)
                    .await;
                let _ = reply.send(result);
            }
            Command::TurnRecording(r) => {
                let _ = r.send(self.turn_recording());
            }
            Command::TurnSlots(n, r) => {
                let _ = r.send(self.turn_slots(n));
            }
            Command::TurnsWritten(written, r) => {
                self.turns_written(written).await;
                let _ = r.send(());
            }
        }
    }

    // ---- turns (issue 18) --------------------------------------------------------------

    /// Numbers for `n` records, and what to remove from them: every stored key, the install
    /// token, every secret header value of every endpoint.
    fn turn_slots(&mut self, n: u64) -> Slot {
        let mut secrets: Vec<String> = self
            .key_cache
            .values()
            .map(|k| k.expose().to_owned())
            .collect();
        secrets.push(self.token.clone());
        for e in self.store.list() {
            for (name, value) in &e.extra_headers {
                if codex_launcher_proxy::record::is_secret_header(name) {
                    secrets.push(value.clone());
                }
            }
        }
        // Longest first: a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let (file_records, file_bytes) = Slot::limits(&self.turns.settings);
        Slot {
            id: self.turns.index.take_ids(n),
            dir: self.turns.dir.clone(),
            secrets: Arc::new(secrets),
            file_records,
            file_bytes,
        }
    }

    async fn turns_written(&mut self, written: Vec<(Kept, Option<String>)>) {
        let mut news = Vec::with_capacity(written.len());
        let mut added = Vec::with_capacity(written.len());
        for (kept, ticket) in written {
            let (id, failed) = (
                kept.summary.id,
                kept.summary.outcome == codex_launcher_types::TurnOutcome::Failed,
            );
            if failed {
                tracing::info!(
                    turn = id,
                    endpoint = %kept.summary.endpoint,
                    "failed turn recorded: `codexctl turns show {id}`"
                );
            }
            added.push(kept);
            news.push(Event::TurnRecorded { id, failed, ticket });
        }
        // All at once: a file's records come together, and retention removes files whole.
        let evicted = self.turns.index.insert(added.clone(), &self.turns.settings);
        self.save_index(added, evicted).await;
        // The evicted files went before anyone hears of the new ones, so the directory is
        // within its bounds whenever a client looks after the news.
        for event in news {
            self.publish(event);
        }
    }

    /// Delete the files retention emptied and bring the index log up to date (one blocking
    /// job).
    async fn save_index(&mut self, added: Vec<Kept>, evicted: Vec<Kept>) {
        let lines = added.len() + evicted.len();
        if lines == 0 {
            return;
        }
        let compact = self.turns.index.logged(lines);
        let written = Written::of(
            &self.turns.dir,
            added,
            &evicted,
            compact.then(|| self.turns.index.kept()),
        );
        let dir = self.turns.dir.clone();
        if blocking(move || turns::apply(&dir, &written))
            .await
            .is_err()
        {
            tracing::warn!("cannot bring the turn index up to date");
        }
    }

    /// Read a record off the loop: its readable view, or (`export`) its bundle.
    fn read_turn<T: Send + 'static>(&self, id: u64, reply: Answer<T>, export: Option<bool>)
    where
        TurnRead: Into<Option<T>>,
    {
        let Some(summary) = self.turns.index.get(id).cloned() else {
            let _ = reply.send(Err(StateError::NotFound(format!(
                "no recorded turn {id} (`codexctl turns list`)"
            ))));
            return;
        };
        let (dir, at) = (self.turns.dir.clone(), self.turns.index.at(id));
        tokio::spawn(async move {
            let result = blocking(move || {
                let at =
                    at.ok_or_else(|| StateError::NotFound(format!("no recorded turn {id}")))?;
                let record = turns::read_record(&dir, at)?;
                Ok::<_, StateError>(match export {
                    Some(redact_text) => TurnRead::Bundle(turns::bundle(&record, redact_text)?),
                    None => TurnRead::Detail(Box::new(TurnDetail {
                        summary,
                        sections: turns::sections(&record),
                        record_json: serde_json::to_string_pretty(&record)
                            .map_err(|e| StateError::Internal(e.to_string()))?,
                    })),
                })
            })
            .await
            .and_then(|r| r)
            .and_then(|read| {
                read.into()
                    .ok_or_else(|| StateError::Internal("a turn read the wrong way".into()))
            });
            let _ = reply.send(result);
        });
    }

    fn replay_turn(
        &self,
        id: u64,
        endpoint: String,
        model: String,
        reply: Answer<crate::views::ReplayReport>,
    ) {
        let Some(at) = self.turns.index.at(id) else {
            let _ = reply.send(Err(StateError::NotFound(format!(
                "no recorded turn {id} (`codexctl turns list`)"
            ))));
            return;
        };
        if !endpoint.is_empty() && self.store.get(&endpoint).is_err() {
            let _ = reply.send(Err(StateError::NotFound(format!(
                "no endpoint `{endpoint}`"
            ))));
            return;
        }
        let job = ReplayJob {
            handle: self.handle.clone(),
            proxy: self.proxy.clone(),
            proxy_addr: self.proxy_addr,
            token: self.token.clone(),
            dir: self.turns.dir.clone(),
            at,
            id,
            endpoint,
            model,
        };
        tokio::spawn(async move {
            let _ = reply.send(job.run().await);
        });
    }

    async fn save_turn_settings(&mut self, next: turns::Settings) -> Result<(), StateError> {
        let (path, saved) = (self.turns.settings_path.clone(), next.clone());
        blocking(move || turns::save_settings(&path, &saved)).await??;
        self.turns.tap.apply(&next);
        self.turns.settings = next;
        Ok(())
    }

    async fn set_turn_recording(&mut self, endpoint: String, all: bool) -> Result<(), StateError> {
        let mut next = self.turns.settings.clone();
        if endpoint.is_empty() {
            next.record_all = all;
            if !all {
                // "Failed turns only" everywhere means what it says.
                next.endpoints.clear();
            }
        } else {
            self.store.get(&endpoint)?;
            if all {
                next.endpoints.insert(endpoint);
            } else {
                next.endpoints.remove(&endpoint);
            }
        }
        self.save_turn_settings(next).await
    }

    async fn set_turn_retention(
        &mut self,
        max_failures: Option<u32>,
        max_successes: Option<u32>,
        max_bytes: Option<u64>,
    ) -> Result<(), StateError> {
        let mut next = self.turns.settings.clone();
        next.max_failures = max_failures.unwrap_or(next.max_failures);
        next.max_successes = max_successes.unwrap_or(next.max_successes);
        next.max_bytes = max_bytes.unwrap_or(next.max_bytes);
        self.save_turn_settings(next).await?;
        let evicted = self.turns.index.enforce(&self.turns.settings);
        self.save_index(Vec::new(), evicted).await;
        Ok(())
    }

    fn turn_recording(&self) -> RecordingView {
        let s = &self.turns.settings;
        RecordingView {
            record_all: s.record_all,
            endpoints: s.endpoints.iter().cloned().collect(),
            max_failures: s.max_failures,
            max_successes: s.max_successes,
            max_bytes: s.max_bytes,
            turns: self.turns.index.len() as u64,
            bytes: self.turns.index.total_bytes(),
            dropped: self.turns.tap.dropped(),
            dir: self.turns.dir.clone(),
        }
    }

    // ---- endpoints ---------------------------------------------------------------------

    fn view(&self, e: &Endpoint) -> EndpointView {
        let mut shown = e.clone();
        secrets::hide(&mut shown, |id| self.key_cache.contains_key(id));
        EndpointView {
            key: self
                .key_cache
                .contains_key(&e.id)
                .then(|| self.keys.storage()),
            is_default: self.store.default_id() == Some(e.id.as_str()),
            proxy_url: format!("http://{}/e/{}/v1", self.proxy_addr, e.id),
            endpoint: shown,
        }
    }

    fn views(&self) -> Vec<EndpointView> {
        self.store.list().iter().map(|e| self.view(e)).collect()
    }

    /// Apply `change` to a copy of the store on the blocking pool (it writes the file);
    /// keep the copy only if it worked, so a failed write changes nothing.
    async fn change_store<T: Send + 'static>(
        &mut self,
        change: impl FnOnce(&mut EndpointStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StateError> {
        let mut next = self.store.clone();
        let (next, result) = blocking(move || {
            let result = change(&mut next);
            (next, result)
        })
        .await?;
        let value = result?;
        self.store = next;
        Ok(value)
    }

    /// After a successful endpoint change: the proxy serves the new set, clients hear.
    fn changed<T>(&self, result: Result<T, StateError>) -> Result<T, StateError> {
        if result.is_ok() {
            self.refresh_proxy();
            self.publish(Event::EndpointsChanged);
        }
        result
    }

    /// Push the current endpoints (with keys) into the proxy.
    fn refresh_proxy(&self) {
        let endpoints = self
            .store
            .list()
            .iter()
            .filter_map(|e| {
                let why = self.unreadable.get(&e.id).map(String::as_str);
                match to_proxy(e, &self.key_cache, why) {
                    Ok(p) => Some(p),
                    Err(err) => {
                        tracing::warn!(endpoint = %e.id, error = %err, "endpoint skipped");
                        None
                    }
                }
            })
            .collect();
        self.proxy
            .set_endpoints(endpoints, self.store.default_id().map(str::to_owned));
    }

    /// Read every key and secret header value from the key store. What cannot be read (a
    /// locked keyring) is remembered, so the proxy answers with why instead of sending a
    /// request without credentials.
    async fn load_keys(&mut self) {
        let ids: Vec<String> = self.store.list().iter().flat_map(secret_ids).collect();
        let mut cache = HashMap::new();
        let mut unreadable = HashMap::new();
        for id in ids {
            match tokio::time::timeout(KEYRING_TIMEOUT, self.keys.get(&id)).await {
                Ok(Ok(Some(k))) => {
                    if let Some(k) = ApiKey::new(k) {
                        cache.insert(id, k);
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(secret = %id, error = %e, "cannot read a key");
                    unreadable.insert(endpoint_of(&id), e.0);
                }
                Err(_) => {
                    tracing::warn!(secret = %id, "the keyring did not answer in time");
                    unreadable.insert(endpoint_of(&id), keyring_timeout().to_string());
                }
            }
        }
        self.key_cache = cache;
        self.unreadable = unreadable;
    }

    /// Keys were unlocked (or locked): read them again, move any secret header value a file
    /// still holds, serve what is now there, tell clients.
    async fn keys_changed(&mut self) -> KeyStorage {
        self.load_keys().await;
        self.migrate_headers().await;
        let storage = self.keys.storage();
        tracing::info!(keys = %storage, "key store changed");
        self.refresh_proxy();
        self.publish(Event::KeyStorageChanged(storage));
        self.publish(Event::EndpointsChanged);
        storage
    }

    /// Endpoints saved with secret header values in endpoints.json (before secret headers
    /// were kept with the keys): the values move to the key store and out of the file.
    async fn migrate_headers(&mut self) {
        let pending: Vec<Endpoint> = self
            .store
            .list()
            .iter()
            .filter(|e| secrets::needs_migration(e))
            .cloned()
            .collect();
        for mut e in pending {
            let taken = secrets::take_secrets(&mut e);
            if let Err(err) = self.put_secrets(&e.name, taken).await {
                tracing::warn!(endpoint = %e.id, error = %err, "a secret header stays in endpoints.json until the key store can take it");
                continue;
            }
            let id = e.id.clone();
            match self.change_store(move |s| s.update(&id, e)).await {
                Ok(()) => tracing::info!("moved secret header values into the key store"),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot rewrite endpoints.json without its secret header values")
                }
            }
        }
    }

    async fn put_secrets(&mut self, label: &str, items: Vec<ToStore>) -> Result<(), StateError> {
        for item in items {
            let label = format!("{label} ({})", item.name);
            self.store_key(&item.id, &label, &item.value).await?;
        }
        Ok(())
    }

    async fn drop_secrets(&mut self, ids: Vec<String>) {
        for id in ids {
            match tokio::time::timeout(KEYRING_TIMEOUT, self.keys.delete(&id)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(secret = %id, error = %e, "cannot delete a key"),
                Err(_) => tracing::warn!(secret = %id, "the keyring did not answer"),
            }
            self.key_cache.remove(&id);
        }
    }

    async fn store_key(&mut self, id: &str, label: &str, key: &str) -> Result<(), StateError> {
        let key = key.trim();
        tokio::time::timeout(KEYRING_TIMEOUT, self.keys.set(id, label, key))
            .await
            .map_err(|_| keyring_timeout())?
            .map_err(|e| StateError::Keyring(e.0))?;
        if let Some(k) = ApiKey::new(key) {
            self.key_cache.insert(id.to_owned(), k);
        }
        Ok(())
    }

    async fn add_endpoint(
        &mut self,
        mut endpoint: Endpoint,
        key: &str,
    ) -> Result<String, StateError> {
        check_key(key)?;
        check_settings(&endpoint)?;
        cost::with_preset_prices(&mut endpoint);
        let name = endpoint.name.clone();
        let taken = secrets::take_secrets(&mut endpoint);
        let id = self.change_store(move |s| s.add(endpoint)).await?;
        // The store gave the id: the secrets are kept under it.
        let mut items: Vec<ToStore> = taken
            .into_iter()
            .map(|t| ToStore {
                id: secrets::header_id(&id, &t.name),
                ..t
            })
            .collect();
        if !key.trim().is_empty() {
            items.insert(
                0,
                ToStore {
                    id: id.clone(),
                    name: "API key".into(),
                    value: key.to_owned(),
                },
            );
        }
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        if let Err(e) = self.put_secrets(&name, items).await {
            // Nothing half-written: without its key the new endpoint goes again.
            let gone = id.clone();
            if let Err(undo) = self.change_store(move |s| s.remove(&gone)).await {
                tracing::warn!(endpoint = %id, error = %undo, "cannot take back the endpoint whose key failed");
            }
            self.drop_secrets(ids).await;
            return Err(e);
        }
        tracing::info!(endpoint = %id, "endpoint added");
        self.changed(Ok(id))
    }

    async fn update_endpoint(
        &mut self,
        id: &str,
        mut endpoint: Endpoint,
    ) -> Result<(), StateError> {
        check_settings(&endpoint)?;
        // The note (import provenance, unmapped fields), the models' prices, the options
        // (`SetEndpointOptions`), the key's source and the headers marked secret are not part
        // of the settings a client edits: keep them.
        let current = self.store.get(id)?.clone();
        endpoint.note = current.note.clone();
        endpoint.cache = current.cache;
        endpoint.key_env = current.key_env.clone();
        endpoint.secret_headers = current
            .secret_headers
            .iter()
            .filter(|m| {
                endpoint
                    .extra_headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(m))
            })
            .cloned()
            .collect();
        for m in &mut endpoint.models {
            if m.prices.is_empty()
                && let Some(known) = current.models.iter().find(|k| k.id == m.id)
            {
                m.prices = known.prices.clone();
            }
        }
        self.save(id, endpoint, &current).await
    }

    /// Write `endpoint` (its secret header values to the key store first, so a failure
    /// there changes nothing), then forget the secrets of headers it no longer has.
    async fn save(
        &mut self,
        id: &str,
        mut endpoint: Endpoint,
        current: &Endpoint,
    ) -> Result<(), StateError> {
        endpoint.id = id.to_owned();
        let taken = secrets::take_secrets(&mut endpoint);
        self.put_secrets(&endpoint.name, taken).await?;
        let kept = secret_ids(&endpoint);
        let gone: Vec<String> = secret_ids(current)
            .into_iter()
            .filter(|s| !kept.contains(s))
            .collect();
        let target = id.to_owned();
        let result = self
            .change_store(move |s| s.update(&target, endpoint))
            .await;
        if result.is_ok() {
            self.drop_secrets(gone).await;
        }
        self.changed(result)
    }

    /// Set (or, with an empty value, remove) one extra header, secret or not.
    async fn set_header(
        &mut self,
        id: &str,
        name: &str,
        value: &str,
        secret: bool,
    ) -> Result<(), StateError> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > 256
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(StateError::InvalidArgument(format!(
                "`{name}` is not a header name"
            )));
        }
        check_key(value)?;
        if !secret && credentials::is_secret_header(name, &[]) {
            return Err(StateError::InvalidArgument(format!(
                "`{name}` names a credential, so its value is always kept secret"
            )));
        }
        let current = self.store.get(id)?.clone();
        let mut e = current.clone();
        e.secret_headers.retain(|m| !m.eq_ignore_ascii_case(name));
        if secret && !credentials::is_secret_header(name, &[]) {
            e.secret_headers.push(name.to_owned());
        }
        e.extra_headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if !value.trim().is_empty() {
            e.extra_headers
                .push((name.to_owned(), value.trim().to_owned()));
        }
        self.save(id, e, &current).await
    }

    /// Record the variable an endpoint's key was read from (Codex sessions drop it).
    async fn set_key_source(&mut self, id: &str, var: &str) -> Result<(), StateError> {
        let var = var.trim().to_owned();
        let valid = var.is_empty()
            || (var.len() <= 128
                && !var.starts_with(|c: char| c.is_ascii_digit())
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            return Err(StateError::InvalidArgument(format!(
                "`{var}` is not an environment variable name"
            )));
        }
        let id = id.to_owned();
        let result = self
            .change_store(move |s| s.modify(&id, |e| e.key_env = var))
            .await;
        self.changed(result)
    }

    async fn set_api_key(&mut self, id: &str, key: &str) -> Result<KeyStorage, StateError> {
        check_key(key)?;
        let name = self.store.get(id)?.name.clone();
        if key.trim().is_empty() {
            tokio::time::timeout(KEYRING_TIMEOUT, self.keys.delete(id))
                .await
                .map_err(|_| keyring_timeout())?
                .map_err(|e| StateError::Keyring(e.0))?;
            self.key_cache.remove(id);
        } else {
            self.store_key(id, &name, key).await?;
        }
        self.unreadable.remove(id);
        self.changed(Ok(self.keys.storage()))
    }

    async fn remove_endpoint(&mut self, id: &str) -> Result<(), StateError> {
        let ids = secret_ids(self.store.get(id)?);
        let gone = id.to_owned();
        self.change_store(move |s| s.remove(&gone)).await?;
        self.drop_secrets(ids).await;
        self.unreadable.remove(id);
        self.changed(Ok(()))
    }

    /// The variables of `vars` (`(name, digest of its value)`) a caller must take out of
    /// the environment it gives Codex.
    fn scrub(&self, salt: &str, vars: &[(String, String)]) -> Vec<String> {
        let digests: HashSet<String> = self
            .key_cache
            .values()
            .map(|k| secrets::digest(salt, k.expose()))
            .collect();
        credentials::to_remove(
            vars.iter().map(|(n, d)| (n.as_str(), digests.contains(d))),
            &secrets::key_envs(self.store.list()),
        )
    }

    /// The variables of the daemon's own environment a session must not inherit.
    fn env_remove(&self, mode: Mode) -> Vec<String> {
        let key_envs = secrets::key_envs(self.store.list());
        if mode == Mode::Run {
            // The caller's environment, not ours: what it must remove whatever it holds;
            // it asks about the rest (`Manager.ScrubEnvironment`).
            return credentials::always_removed(&key_envs);
        }
        let vars = self.env.vars();
        credentials::to_remove(
            vars.iter().map(|(n, v)| {
                let v = v.trim();
                (
                    n.as_str(),
                    !v.is_empty() && self.key_cache.values().any(|k| k.expose() == v),
                )
            }),
            &key_envs,
        )
    }

    /// Ask the provider off the loop (it may take 30 s); the merge comes back as a command.
    fn fetch_models(&self, id: String, reply: Answer<Vec<Model>>) {
        let endpoint = match self.store.get(&id) {
            Ok(e) => e,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        if let Some(why) = self.unreadable.get(&id) {
            let _ = reply.send(Err(StateError::Keyring(why.clone())));
            return;
        }
        let upstream = match to_proxy(endpoint, &self.key_cache, None) {
            Ok(p) => p,
            Err(e) => {
                let _ = reply.send(Err(StateError::InvalidArgument(e.to_string())));
                return;
            }
        };
        let client = self.proxy.client().clone();
        let handle = self.handle.clone();
        tokio::spawn(async move {
            let result = codex_launcher_proxy::models::fetch(&client, &upstream)
                .await
                .map_err(|e| StateError::Upstream(e.to_string()))
                .and_then(|body| {
                    parse_models(&body).map_err(|e| StateError::Upstream(e.to_string()))
                });
            handle.send(Command::ModelsFetched(id, result, reply));
        });
    }

    async fn models_fetched(
        &mut self,
        id: String,
        fetched: Result<Vec<Model>, StateError>,
    ) -> Result<Vec<Model>, StateError> {
        let fetched = fetched?;
        let merged = fetched.clone();
        let result = self
            .change_store(move |s| s.modify(&id, |e| _ = merge_models(&mut e.models, merged)))
            .await;
        self.changed(result).map(|()| fetched)
    }

    async fn import_models(&mut self, id: String, text: &str) -> Result<u32, StateError> {
        if text.len() > MAX_TEXT {
            return Err(StateError::InvalidArgument(
                "the pasted text is too large".into(),
            ));
        }
        let ids = parse_model_list(text);
        if ids.is_empty() {
            return Err(StateError::InvalidArgument(
                "no model ids found in the text (separate them by commas or newlines)".into(),
            ));
        }
        let result = self
            .change_store(move |s| {
                let mut added = 0;
                s.modify(&id, |e| {
                    added =
                        merge_models(&mut e.models, ids.iter().map(|m| Model::bare(m)).collect());
                })?;
                Ok(u32::try_from(added).unwrap_or(u32::MAX))
            })
            .await;
        self.changed(result)
    }

    fn export_profile(&self, include_keys: bool) -> Result<String, StateError> {
        let secret = |id: &str| self.key_cache.get(id).map(|k| k.expose().to_owned());
        let bundle = Bundle {
            format: FORMAT.into(),
            version: 1,
            default: self.store.default_id().map(str::to_owned),
            endpoints: self
                .store
                .list()
                .iter()
                .map(|e| {
                    let mut endpoint = e.clone();
                    // Secret header values travel with the keys or not at all.
                    for (name, hid) in secrets::secret_headers(e) {
                        let value = include_keys.then(|| secret(&hid)).flatten();
                        if let Some(slot) =
                            endpoint.extra_headers.iter_mut().find(|(n, _)| *n == name)
                        {
                            slot.1 = value.unwrap_or_default();
                        }
                    }
                    BundleEndpoint {
                        endpoint,
                        api_key: include_keys.then(|| secret(&e.id)).flatten(),
                    }
                })
                .collect(),
        };
        serde_json::to_string_pretty(&bundle).map_err(|e| StateError::Internal(e.to_string()))
    }

    async fn import_profile(&mut self, text: &str) -> Result<Vec<String>, StateError> {
        if text.len() > MAX_TEXT {
            return Err(StateError::InvalidArgument(
                "the bundle is too large".into(),
            ));
        }
        let bundle = parse_bundle(text).map_err(|e| StateError::InvalidArgument(e.to_string()))?;
        let mut ids = Vec::new();
        for be in bundle.endpoints {
            let mut e = be.endpoint;
            check_settings(&e)?;
            let name = e.name.clone();
            let taken = secrets::take_secrets(&mut e);
            let id = if self.store.get(&e.id).is_ok() {
                let id = e.id.clone();
                let target = id.clone();
                self.change_store(move |s| s.update(&target, e)).await?;
                id
            } else {
                self.change_store(move |s| s.add(e)).await?
            };
            if let Some(key) = be.api_key.filter(|k| !k.trim().is_empty()) {
                check_key(&key)?;
                self.store_key(&id, &name, &key).await?;
            }
            let headers = taken
                .into_iter()
                .map(|t| ToStore {
                    id: secrets::header_id(&id, &t.name),
                    ..t
                })
                .collect();
            self.put_secrets(&name, headers).await?;
            ids.push(id);
        }
        if let Some(d) = bundle.default.filter(|d| ids.contains(d)) {
            self.change_store(move |s| s.set_default(&d)).await?;
        }
        self.changed(Ok(ids))
    }

    async fn import_legacy(&mut self, path: Option<PathBuf>) -> Result<Vec<String>, StateError> {
        let path = path.unwrap_or_else(|| self.paths.home.join(".codex/endpoints.json"));
        let read = path.clone();
        let text = blocking(move || std::fs::read_to_string(&read))
            .await?
            .map_err(|e| StateError::Io(format!("cannot read {}: {e}", path.display())))?;
        let file = legacy::parse_legacy(&text)
            .map_err(|e| StateError::InvalidArgument(format!("{}: {e}", path.display())))?;
        let mut ids = Vec::new();
        let mut default_id = None;
        for imported in file.endpoints {
            let name = imported.endpoint.name.clone();
            let endpoint = imported.endpoint;
            let id = self
                .change_store(move |s| s.add(endpoint))
                .await
                .map_err(|e| match e {
                    StateError::InvalidArgument(m) => StateError::InvalidArgument(format!(
                        "endpoint `{name}` in {}: {m}",
                        path.display()
                    )),
                    other => other,
                })?;
            if let Some(key) = imported.api_key {
                self.store_key(&id, &name, &key).await?;
            }
            if file.default.as_deref() == Some(name.as_str()) {
                default_id = Some(id.clone());
            }
            ids.push(id);
        }
        if let Some(d) = default_id {
            self.change_store(move |s| s.set_default(&d)).await?;
        }
        self.changed(Ok(ids))
    }

    async fn reload(&mut self) -> Result<(), StateError> {
        let path = self.paths.endpoints_file();
        self.store = blocking(move || EndpointStore::load(&path)).await??;
        self.load_keys().await;
        self.migrate_headers().await;
        // "Out of quota for an hour, or until reload": new keys may have been put in.
        self.groups.reset();
        self.changed(Ok(()))
    }

    async fn record_quirks(
        &mut self,
        id: String,
        model: String,
        quirks: serde_json::Map<String, serde_json::Value>,
        parallel: Option<bool>,
    ) -> Result<(), StateError> {
        // Merged into the endpoint as it is now, not as the probe first read it: an edit
        // made while the probe ran stays.
        let result = self
            .change_store(move |s| {
                s.modify(&id, |e| {
                    let mut map = e.quirks.take().unwrap_or_default();
                    for (k, v) in quirks {
                        // Null takes an override away (the probe putting a setting back).
                        if v.is_null() {
                            map.remove(&k);
                        } else {
                            map.insert(k, v);
                        }
                    }
                    e.quirks = (!map.is_empty()).then_some(map);
                    if let Some(parallel) = parallel
                        && let Some(m) = e.models.iter_mut().find(|m| m.id == model)
                    {
                        m.parallel_tool_calls = parallel;
                    }
                })
            })
            .await;
        self.changed(result)
    }

    fn probe(&self, id: &str, model: &str, reply: Answer<ProbeReport>) {
        let endpoint = match self.store.get(id) {
            Ok(e) => e,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let model = match model.trim() {
            "" => endpoint.default_model.clone(),
            m => m.to_owned(),
        };
        if model.is_empty() {
            let _ = reply.send(Err(StateError::InvalidArgument(format!(
                "endpoint `{id}` has no default model: name one"
            ))));
            return;
        }
        let probe = Probe {
            handle: self.handle.clone(),
            client: self.proxy.client().clone(),
            proxy: self.proxy_addr,
            token: self.token.clone(),
            id: id.to_owned(),
            model: model.clone(),
            chat: endpoint.backend == Backend::OpenaiCompat,
        };
        let handle = self.handle.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let result = match probe.run().await {
                Ok(checks) => handle.endpoint(&id).await.map(|view| ProbeReport {
                    endpoint: id,
                    model,
                    checks,
                    quirks: view.endpoint.quirks,
                }),
                Err(e) => Err(e),
            };
            let _ = reply.send(result);
        });
    }

    fn proxy_status(&self) -> ProxyStatus {
        let s = self.proxy.stats().snapshot();
        ProxyStatus {
            address: self.proxy_addr,
            requests: s.requests,
            active_streams: s.active_streams,
            errors: s.errors,
            usage: self.usage.rows(),
        }
    }

    /// The model a member is asked for.
    fn member_model(&self, m: &GroupMember) -> String {
        if m.model.is_empty() {
            self.store
                .get(&m.endpoint)
                .map(|e| e.default_model.clone())
                .unwrap_or_default()
        } else {
            m.model.clone()
        }
    }

    fn group_view(&self, g: &Group) -> GroupView {
        let now = self.clock.now();
        GroupView {
            members: g
                .members
                .iter()
                .map(|m| {
                    let b = self.groups.breaker(&g.id, m);
                    MemberHealth {
                        member: m.clone(),
                        model: self.member_model(m),
                        breaker: b.map_or(BreakerState::Closed, |b| b.state(now)),
                        cooldown: b.and_then(|b| b.cooldown(now)),
                        last_error: b.map(|b| b.last_error().to_owned()).unwrap_or_default(),
                    }
                })
                .collect(),
            proxy_url: format!("http://{}/e/{}/v1", self.proxy_addr, g.id),
            group: g.clone(),
        }
    }

    /// The proxy asks which members of `group` to try for `conversation`.
    fn route(
        &mut self,
        group: &str,
        conversation: Conversation,
    ) -> Option<codex_launcher_proxy::Route> {
        let g = self.store.group(group).ok()?.clone();
        let route = self.groups.route(&g, conversation, self.clock.now());
        let member = |m: &GroupMember| codex_launcher_proxy::RouteMember {
            endpoint: m.endpoint.clone(),
            configured_model: m.model.clone(),
            model: self.member_model(m),
        };
        Some(codex_launcher_proxy::Route {
            name: g.name.clone(),
            members: route.members.iter().map(member).collect(),
            moved_from: route.moved_from.as_ref().map(member),
            retry_after: route.retry_after,
        })
    }

    fn status_line(&self) -> String {
        let s = self.proxy.stats().snapshot();
        format!(
            "{} endpoints; proxy on {}; {} active streams; {} requests",
            self.store.list().len(),
            self.proxy_addr,
            s.active_streams,
            s.requests
        )
    }

    fn request_finished(&mut self, done: &RequestDone) {
        let endpoint = self.store.get(&done.endpoint).ok();
        let known = endpoint.is_some_and(|e| {
            e.default_model == done.model || e.models.iter().any(|m| m.id == done.model)
        });
        let tokens = done.tokens();
        let cost = cost::request_cost(endpoint, &done.model, &tokens);
        log_cost(done, cost);
        self.usage.record(
            &done.endpoint,
            &done.model,
            known,
            &tokens,
            done.failed,
            cost,
        );
        if let Some(r) = done.session.and_then(|id| self.sessions.get_mut(id)) {
            r.traffic.add(&tokens, done.failed, cost);
        }
    }

    // ---- cost and prices (issue 14) ----------------------------------------------------

    async fn set_prices(
        &mut self,
        id: String,
        model: String,
        edit: PriceEdit,
    ) -> Result<(), StateError> {
        if !self.store.get(&id)?.models.iter().any(|m| m.id == model) {
            return Err(StateError::NotFound(format!(
                "endpoint `{id}` has no model `{model}` (add it first: `codexctl model import`)"
            )));
        }
        let result = self
            .change_store(move |s| {
                s.modify(&id, |e| {
                    if let Some(m) = e.models.iter_mut().find(|m| m.id == model) {
                        edit.apply(&mut m.prices);
                    }
                })
            })
            .await;
        self.changed(result)
    }

    async fn set_endpoint_options(
        &mut self,
        id: String,
        options: EndpointOptions,
    ) -> Result<(), StateError> {
        self.store.get(&id)?;
        let result = self
            .change_store(move |s| {
                s.modify(&id, |e| {
                    if let Some(cache) = options.cache {
                        e.cache = cache;
                    }
                })
            })
            .await;
        self.changed(result)
    }

    // ---- Codex version (issue 17) -------------------------------------------------------

    /// `codex --version` may take its time-out: run off the loop and answer from there.
    fn codex_info(&self, reply: crate::command::Reply<CodexInfo>) {
        let env = self.env.clone();
        tokio::spawn(async move {
            if let Ok(info) = blocking(move || codex::info(env.as_ref())).await {
                let _ = reply.send(info);
            }
        });
    }

    // ---- sessions ----------------------------------------------------------------------

    fn session_view(&self, s: Session) -> SessionView {
        let traffic = self
            .sessions
            .get(s.id)
            .map(|r| r.traffic)
            .unwrap_or_default();
        SessionView {
            id: s.id,
            endpoint: s.endpoint,
            model: s.model,
            mode: s.mode,
            pid: s.pid,
            state: s.state,
            started: s.started,
            exit_code: s.exit_code,
            traffic,
        }
    }

    fn pid_dir(&self) -> PathBuf {
        planning::log_dir(&self.paths).join("pids")
    }

    /// Plan a session on the blocking pool (planning looks at the filesystem), and check
    /// that config.toml is free for it.
    async fn plan(&self, id: u64, request: LaunchRequest) -> Result<Plan, StateError> {
        let endpoint = if request.mode.is_default() {
            None
        } else {
            let wanted = match request.endpoint.as_str() {
                "" => self.store.default_id().unwrap_or_default(),
                id => id,
            };
            match self.store.group(wanted) {
                // A group is one endpoint to Codex: the proxy's route for it, one model.
                Ok(g) => Some(catalog::group_endpoint(g, self.store.list())),
                Err(_) => Some(self.store.get(wanted)?.clone()),
            }
        };
        let native_key = endpoint
            .as_ref()
            .and_then(|e| self.key_cache.get(&e.id).cloned());
        let paths = self.paths.clone();
        let env = self.env.clone();
        let port = self.proxy_addr.port();
        let stamp_ms = self.clock.wall_ms();
        let env_remove = self.env_remove(request.mode);
        let plan = blocking(move || {
            // Once per launch: Codex may have been updated since the last one.
            let codex_version = codex::for_session(id, request.mode, env.as_ref());
            planning::plan(&PlanInput {
                id,
                mode: request.mode,
                endpoint: endpoint.as_ref(),
                model: &request.model,
                options: &request.options,
                native_key: native_key.as_ref(),
                paths: &paths,
                proxy_port: port,
                env: env.as_ref(),
                env_remove: &env_remove,
                stamp_ms,
                codex_version: codex_version.as_ref(),
                // Text as it streams: see `codex_version::process_mode` for the evidence.
                display: DisplayPreference::default(),
            })
        })
        .await??;
        if let Some(config) = &plan.config
            && let Some((holder, lease)) = self.sessions.conflicting_lease(&config.lease)
        {
            return Err(StateError::Conflict(lease_conflict(holder, lease)));
        }
        Ok(plan)
    }

    /// The session's proxy token into its environment, if it uses the proxy.
    fn add_token(&self, id: u64, plan: &Plan, launch: &mut Launch) -> Result<(), StateError> {
        let Some(var) = plan.token_env else {
            return Ok(());
        };
        let token = self
            .proxy
            .begin_session(id, &random_hex(24)?)
            .ok_or_else(|| StateError::Internal("empty session token".into()))?;
        launch.env.push((var.to_owned(), token.expose().to_owned()));
        Ok(())
    }

    async fn launch(&mut self, request: LaunchRequest) -> Result<u64, StateError> {
        if !Mode::LAUNCH.contains(&request.mode) {
            return Err(StateError::InvalidArgument(format!(
                "mode `{}` is not a Launch mode (cli, exec, desktop, default-cli or default-desktop)",
                request.mode
            )));
        }
        let id = self.supervisor.reserve_id();
        let plan = self.plan(id, request).await?;
        let mut launch = plan.launch.clone();
        self.add_token(id, &plan, &mut launch)?;
        let job = StartJob {
            id,
            backups: self.backups.clone(),
            supervisor: self.supervisor.clone(),
            config: backup::config_file(&self.paths),
            pid_dir: self.pid_dir(),
            run: self.run.clone(),
            plan: plan.clone(),
            launch,
        };
        // Backup, config.toml, spawn and the record all happen in this one command: no
        // other command (a Cleanup) sees the backup taken but not yet held.
        let started = blocking(move || job.start()).await.and_then(|r| r);
        let pid_file = match started {
            Ok(pid_file) => pid_file,
            Err(e) => {
                self.proxy.end_session(id);
                return Err(e);
            }
        };
        let held = plan.config.map(|c| Held {
            key: c.key,
            lease: c.lease,
        });
        let mut record = Record::new(held, plan.stall.unwrap_or(self.stall), self.clock.now());
        record.pid_file = pid_file;
        self.sessions.insert(id, record);
        self.publish(Event::SessionAdded(id));
        Ok(id)
    }

    async fn prepare_run(&mut self, mut request: LaunchRequest) -> Result<RunPlan, StateError> {
        request.mode = Mode::Run;
        let id = self.supervisor.reserve_id();
        let plan = self.plan(id, request).await?;
        let mut launch = plan.launch.clone();
        self.add_token(id, &plan, &mut launch)?;
        let supervisor = self.supervisor.clone();
        let registered = launch.clone();
        let files = plan.clone();
        let result = blocking(move || {
            write_files(&files)?;
            supervisor
                .register(id, &registered)
                .map_err(|e| StateError::Internal(e.to_string()))
        })
        .await;
        if let Err(e) = result.and_then(|r| r) {
            self.proxy.end_session(id);
            return Err(e);
        }
        self.sessions.insert(
            id,
            Record::new(None, plan.stall.unwrap_or(self.stall), self.clock.now()),
        );
        self.publish(Event::SessionAdded(id));
        Ok(RunPlan {
            session: id,
            program: launch.program,
            args: launch.args,
            env: launch.env,
            env_remove: launch.env_remove,
        })
    }

    async fn attach(&mut self, id: u64, pid: u32) -> Result<(), StateError> {
        let supervisor = self.supervisor.clone();
        let (pid_dir, run) = (self.pid_dir(), self.run.clone());
        let pid_file = blocking(move || {
            supervisor.attach(id, pid).map_err(supervisor_error)?;
            Ok::<_, StateError>(write_pid_file(&pid_dir, &run, id, pid))
        })
        .await??;
        if let Some(r) = self.sessions.get_mut(id) {
            r.pid_file = pid_file;
        }
        self.publish(Event::SessionChanged(id));
        Ok(())
    }

    async fn exited(&mut self, id: u64, code: i32) {
        self.proxy.end_session(id);
        self.groups.end_session(id);
        let (held, pid_file, forget) = self.sessions.end(id);
        let backups = self.backups.clone();
        let merged = blocking(move || {
            if let Some(p) = pid_file {
                let _ = std::fs::remove_file(p);
            }
            held.and_then(|h| release(&backups, &h.key).1)
        })
        .await
        .ok()
        .flatten();
        // config.toml is back before anyone hears the session ended.
        if let Some(merged) = merged {
            self.publish(Event::ConfigMerged(merged));
        }
        self.publish(Event::SessionExited { id, code });
        for old in forget {
            self.supervisor.forget(old);
            self.publish(Event::SessionRemoved(old));
        }
    }

    /// How often to look for stalls: a fifth of the shortest stall time, 0.2–10 s.
    fn stall_period(&self) -> Duration {
        let shortest = self
            .sessions
            .shortest_stall()
            .unwrap_or(Duration::from_secs(10));
        (shortest / 5).clamp(Duration::from_millis(200), Duration::from_secs(10))
    }

    async fn observe_stalls(&mut self) {
        let live: Vec<Session> = self
            .supervisor
            .list()
            .into_iter()
            .filter(|s| {
                matches!(
                    s.state,
                    supervisor::State::Running | supervisor::State::Stalled
                )
            })
            .collect();
        if live.is_empty() {
            return;
        }
        let Ok(procs) = blocking(|| procfs::of_user(procfs::own_uid())).await else {
            return;
        };
        let now = self.clock.now();
        let changes = self.sessions.observe_stalls(
            &live,
            |s| {
                let pgid = if s.attached { 0 } else { s.pid };
                procfs::session_cpu(&procs, pgid, s.pid)
            },
            now,
        );
        for (id, change) in changes {
            let stalled = matches!(change, stall::Change::Stalled(_));
            if !self.supervisor.set_stalled(id, stalled) {
                continue;
            }
            match change {
                stall::Change::Stalled(idle) => {
                    tracing::warn!(
                        session = id,
                        idle_secs = idle.as_secs(),
                        "session stalled: no traffic and no CPU"
                    );
                    self.publish(Event::SessionStalled { id, idle });
                }
                stall::Change::Active => {
                    tracing::info!(session = id, "stalled session active again");
                    self.publish(Event::SessionActive(id));
                }
            }
        }
    }

    // ---- Kill & Cleanup ----------------------------------------------------------------

    async fn cleanup(
        &mut self,
        dry_run: bool,
        stop_sessions: bool,
        reply: Answer<Vec<CleanupItem>>,
    ) {
        let mut items = Vec::new();
        let mut stopping = Vec::new();
        let mut longest = Duration::ZERO;
        if stop_sessions {
            for s in self.supervisor.list().into_iter().filter(|s| s.is_live()) {
                let action = if dry_run {
                    CleanupAction::Found
                } else {
                    match self.supervisor.stop(s.id, None) {
                        Ok(_) => {
                            stopping.push(s.id);
                            longest = longest.max(s.grace);
                            self.publish(Event::SessionChanged(s.id));
                            CleanupAction::Stopped
                        }
                        Err(e) => CleanupAction::failed(e),
                    }
                };
                items.push(CleanupItem {
                    kind: CleanupKind::Session,
                    pid: s.pid,
                    path: PathBuf::new(),
                    description: session_description(&s),
                    action,
                });
            }
        }
        if stopping.is_empty() {
            return self.cleanup_scan(dry_run, items, reply).await;
        }
        // Wait for them off the loop (their exits are commands this loop must handle, and
        // release their backups), then scan for what they left.
        let supervisor = self.supervisor.clone();
        let handle = self.handle.clone();
        tokio::spawn(async move {
            let wait = longest + Duration::from_secs(7);
            let ended = blocking(move || supervisor.wait_for(&stopping, wait)).await;
            if !matches!(ended, Ok(true)) {
                tracing::warn!("some sessions did not end after SIGKILL");
            }
            handle.send(Command::CleanupScan(items, reply));
        });
    }

    async fn cleanup_scan(
        &mut self,
        dry_run: bool,
        mut items: Vec<CleanupItem>,
        reply: Answer<Vec<CleanupItem>>,
    ) {
        let live: Vec<Live> = self
            .supervisor
            .list()
            .into_iter()
            .filter(|s| s.state != supervisor::State::Exited)
            .map(|s| Live {
                pid: s.pid,
                attached: s.attached,
            })
            .collect();
        let held = self.sessions.held_keys();
        let env = self.env.clone();
        let home = self.paths.home.clone();
        let (pid_dir, run) = (self.pid_dir(), self.run.clone());
        let backups = self.backups.clone();
        let scanned = blocking(move || {
            let uid = procfs::own_uid();
            let procs = procfs::of_user(uid);
            let scope = Scope {
                env: env.as_ref(),
                uid,
                own_pid: std::process::id(),
                live: &live,
                home: &home,
                pid_dir,
                current_run: run,
                hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_default(),
            };
            let targets = cleanup::targets(&scope, &procs);
            let found = engine_cleanup::scan(&targets, &procs);
            let journal = backups.sessions();
            (found, journal)
        })
        .await;
        let (found, journal) = match scanned {
            Ok(scanned) => scanned,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        // Backups are the owner's files: restored here, in order with every launch.
        let config = backup::config_file(&self.paths);
        match journal {
            Ok(journal) => {
                for key in cleanup::stale_backups(journal, &held) {
                    let action = if dry_run {
                        CleanupAction::Found
                    } else {
                        let backups = self.backups.clone();
                        let k = key.clone();
                        match blocking(move || release(&backups, &k).0).await {
                            Ok(action) => action,
                            Err(e) => CleanupAction::failed(e),
                        }
                    };
                    tracing::info!(backup = %key, action = %action, "cleanup");
                    items.push(CleanupItem {
                        kind: CleanupKind::Backup,
                        pid: 0,
                        path: config.clone(),
                        description: format!("config.toml backup held for `{key}`, which is gone"),
                        action,
                    });
                }
            }
            Err(e) => items.push(CleanupItem {
                kind: CleanupKind::Backup,
                pid: 0,
                path: config,
                description: "the config.toml backup journal".into(),
                action: CleanupAction::failed(e),
            }),
        }
        // Processes may take their grace period to die: act off the loop.
        tokio::spawn(async move {
            let acted = blocking(move || {
                for f in &found {
                    let action = if dry_run {
                        CleanupAction::Found
                    } else {
                        engine_cleanup::act(f, supervisor::DEFAULT_GRACE)
                    };
                    tracing::info!(kind = %f.kind.public(), pid = f.pid, path = %f.path.display(), action = %action, "cleanup");
                    items.push(CleanupItem {
                        kind: f.kind.public(),
                        pid: f.pid,
                        path: f.path.clone(),
                        description: f.description.clone(),
                        action,
                    });
                }
                items
            })
            .await;
            let _ = reply.send(acted);
        });
    }

    // ---- shutdown ----------------------------------------------------------------------

    async fn shutdown(&mut self, rx: &mut mpsc::UnboundedReceiver<Command>) {
        let running: Vec<u64> = self
            .supervisor
            .list()
            .iter()
            .filter(|s| s.exit_code.is_none())
            .map(|s| s.id)
            .collect();
        if !running.is_empty() {
            tracing::info!(running = running.len(), "stopping Codex sessions");
            let supervisor = self.supervisor.clone();
            let ended = blocking(move || {
                supervisor.stop_all(SHUTDOWN_GRACE);
                supervisor.wait_all(SHUTDOWN_GRACE + Duration::from_secs(2))
            })
            .await;
            if !matches!(ended, Ok(true)) {
                tracing::warn!("some sessions did not end after SIGKILL");
            }
        }
        // Exits that came in meanwhile give back what their sessions held.
        while let Ok(command) = rx.try_recv() {
            match command {
                Command::Exited(id, code) => self.exited(id, code).await,
                other => drop(other),
            }
        }
        for (id, held) in self.sessions.drain_held() {
            let backups = self.backups.clone();
            if blocking(move || release(&backups, &held.key))
                .await
                .is_err()
            {
                tracing::error!(session = id, "cannot give back config.toml");
            }
        }
    }
}

/// Every key store id an endpoint's secrets live under: its key, its secret headers'.
fn secret_ids(e: &Endpoint) -> Vec<String> {
    std::iter::once(e.id.clone())
        .chain(secrets::secret_headers(e).into_iter().map(|(_, id)| id))
        .collect()
}

/// The endpoint a key store id belongs to.
fn endpoint_of(id: &str) -> String {
    id.split(':').next().unwrap_or(id).to_owned()
}

/// What starting a session does on the blocking pool, in order: directories, the model
/// catalog, the config.toml backup and edit (Desktop, Codex Default), the process, its pid
/// file. A step that fails undoes the ones before.
struct StartJob {
    id: u64,
    backups: Backups,
    supervisor: Supervisor,
    config: PathBuf,
    pid_dir: PathBuf,
    run: String,
    plan: Plan,
    launch: Launch,
}

impl StartJob {
    fn start(self) -> Result<Option<PathBuf>, StateError> {
        write_files(&self.plan)?;
        let config = &self.config;
        if let Some(c) = &self.plan.config {
            self.backups
                .acquire(&c.key, config)
                .map_err(|e| StateError::Io(format!("cannot back up {}: {e}", config.display())))?;
            if let Err(e) = self.backups.update(&c.key, |text| c.edit.apply(text)) {
                release(&self.backups, &c.key);
                return Err(StateError::Io(format!(
                    "cannot write the session into {}: {e}",
                    config.display()
                )));
            }
            tracing::info!(backup = %c.key, config = %config.display(), "config.toml set up for the session");
        }
        let session = match self.supervisor.spawn_as(self.id, self.launch) {
            Ok(s) => s,
            Err(e) => {
                if let Some(c) = &self.plan.config {
                    release(&self.backups, &c.key);
                }
                return Err(StateError::Io(e.to_string()));
            }
        };
        Ok(write_pid_file(
            &self.pid_dir,
            &self.run,
            self.id,
            session.pid,
        ))
    }
}

/// What a session needs on disk before Codex starts: CODEX_HOME (Codex creates it only when
/// CODEX_HOME is unset, and we set it), the log directory, its model catalog.
fn write_files(plan: &Plan) -> Result<(), StateError> {
    for dir in &plan.dirs {
        ensure_dir(dir)
            .map_err(|e| StateError::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    if let Some((path, catalog)) = &plan.catalog {
        catalog
            .write(path)
            .map_err(|e| StateError::Io(format!("cannot write the model catalog: {e}")))?;
    }
    Ok(())
}

/// Record a started session's process, so a later Cleanup can find it if this daemon dies
/// and the session lives on.
fn write_pid_file(dir: &Path, run: &str, id: u64, pid: u32) -> Option<PathBuf> {
    let info = procfs::read(pid)?;
    let path = dir.join(engine_cleanup::pid_file_name(run, id));
    let written = ensure_dir(dir).map_err(|e| e.to_string()).and_then(|()| {
        std::fs::write(&path, engine_cleanup::pid_file_content(&info)).map_err(|e| e.to_string())
    });
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(session = id, error = %e, "cannot write the session's pid file");
            None
        }
    }
}

/// Give back the backup held under `key`; the last holder restores config.toml, keeping
/// edits the user made meanwhile. What was done, and the merge report if there was one.
fn release(backups: &Backups, key: &str) -> (CleanupAction, Option<ConfigMerged>) {
    match backups.release(key) {
        Ok(Release::Restored(report)) if report.user_edited() => {
            tracing::warn!(backup = key, "config.toml restored; {report}");
            (CleanupAction::Restored, Some(merged(&report)))
        }
        Ok(Release::Restored(report)) => {
            tracing::info!(backup = key, "config.toml restored; {report}");
            (CleanupAction::Restored, None)
        }
        Ok(Release::StillHeld { remaining }) => {
            tracing::debug!(
                backup = key,
                remaining,
                "config.toml still used by another session"
            );
            (CleanupAction::Removed, None)
        }
        Ok(Release::NotHeld) => (CleanupAction::Removed, None),
        Err(e) => {
            tracing::error!(backup = key, error = %e, "cannot restore config.toml");
            (CleanupAction::failed(e), None)
        }
    }
}

fn merged(report: &RestoreReport) -> ConfigMerged {
    let aside = match &report.outcome {
        Outcome::Merged { aside } => Some(aside.clone()),
        Outcome::KeptDeleted { aside } | Outcome::Unmergeable { aside, .. } => aside.clone(),
        _ => None,
    };
    ConfigMerged {
        path: report.config.clone(),
        aside,
        message: report.to_string(),
    }
}

fn lease_conflict(holder: u64, lease: &Lease) -> String {
    let what = match lease {
        Lease::Provider { endpoint, model } => {
            format!("endpoint `{endpoint}` (model `{model}`)")
        }
        Lease::Default => "Codex's own settings (Codex Default)".to_owned(),
    };
    format!(
        "config.toml is set to {what} for session {holder}; Codex Desktop reads that one file \
         and runs once per user, so it cannot be given other settings until session {holder} \
         ends (stop it, or use a CLI session)"
    )
}

fn session_description(s: &Session) -> String {
    if s.endpoint.is_empty() {
        format!("session {} ({}, Codex Default)", s.id, s.mode)
    } else {
        format!(
            "session {} ({} on `{}`, model `{}`)",
            s.id, s.mode, s.endpoint, s.model
        )
    }
}

fn group_not_found(id: &str) -> StateError {
    StateError::NotFound(format!("no group `{id}`"))
}

/// A store error about a group, named as one.
fn group_error(e: StateError) -> StateError {
    match e {
        StateError::AlreadyExists(m) => {
            StateError::AlreadyExists(m.replace("an endpoint", "an endpoint or group"))
        }
        other => other,
    }
}

/// The request's cost in the journal (`COST_USD`), with what identifies it: `REQUEST_ID`
/// matches the proxy's "response finished" line.
fn log_cost(done: &RequestDone, cost: Option<codex_launcher_engine::pricing::Usd>) {
    match cost {
        Some(usd) => tracing::info!(
            request_id = done.request_id,
            session = done.session,
            endpoint = %done.endpoint,
            model = %done.model,
            cost_usd = %usd.format(6),
            "request cost"
        ),
        None => tracing::debug!(
            request_id = done.request_id,
            session = done.session,
            endpoint = %done.endpoint,
            model = %done.model,
            "request cost: no price set"
        ),
    }
}

fn supervisor_error(e: SupervisorError) -> StateError {
    match e {
        SupervisorError::NotFound(_) => StateError::NotFound(e.to_string()),
        SupervisorError::NotStarting(_) | SupervisorError::Attach { .. } => {
            StateError::InvalidArgument(e.to_string())
        }
        _ => StateError::Internal(e.to_string()),
    }
}

fn keyring_timeout() -> StateError {
    StateError::Keyring(format!(
        "the keyring did not answer within {} s (is it asking to be unlocked?)",
        KEYRING_TIMEOUT.as_secs()
    ))
}

/// A record read off the loop, one of two ways.
enum TurnRead {
    Detail(Box<TurnDetail>),
    Bundle(String),
}

impl From<TurnRead> for Option<TurnDetail> {
    fn from(r: TurnRead) -> Self {
        match r {
            TurnRead::Detail(d) => Some(*d),
            TurnRead::Bundle(_) => None,
        }
    }
}

impl From<TurnRead> for Option<String> {
    fn from(r: TurnRead) -> Self {
        match r {
            TurnRead::Bundle(b) => Some(b),
            TurnRead::Detail(_) => None,
        }
    }
}

#[cfg(test)]
#[path = "owner_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "owner_turns_tests.rs"]
mod turns_tests;
