//! Codex sessions on the bus: `Manager.Launch` plans the command ([`Service::plan_session`]),
//! the engine's [`Supervisor`] runs it, and each session is an object implementing
//! `io.github.CodexLauncher1.Session` at `/io/github/CodexLauncher1/session/<n>`.
//! `Manager.PrepareRun` registers a session whose Codex the caller starts (`codexctl run`)
//! and attaches.
//!
//! Exits are reported by the supervisor's waiter threads; [`Sessions::new`] hands them to a
//! task on the daemon's tokio runtime, which releases what the session held (config.toml
//! backup, proxy token, pid file) and emits `Exited` and the property changes.
//!
//! Each session that uses the proxy gets its own token, so the proxy counts its traffic
//! apart from any other session's. A stall watch ([`Sessions::watch_stalls`]) reports
//! sessions that neither use the proxy nor the CPU for their stall time.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use codex_launcher_dbus::{CleanupItem, Error, RunPlan, SESSION_PATH_PREFIX};
use codex_launcher_engine::backup::{self, Backups};
use codex_launcher_engine::cleanup::{self, Program, Targets};
use codex_launcher_engine::procfs;
use codex_launcher_engine::stall::{Change, StallWatch};
use codex_launcher_engine::supervisor::{self, Session, Supervisor};
use codex_launcher_proxy::{ProxyState, UsageCounters};
use zbus::OwnedObjectPath;
use zbus::object_server::SignalEmitter;

use crate::bus::Manager;
use crate::service::{ConfigMerged, Planned, Service, default_stall};

/// Env var with extra Codex Desktop data directories (`:`-separated) for Kill & Cleanup.
pub const DESKTOP_DATA_ENV: &str = "CODEX_LAUNCHER_DESKTOP_DATA";

/// The daemon's sessions.
pub struct Sessions {
    pub supervisor: Supervisor,
    /// Held from spawn until the session's object is served. The exit announcement takes it
    /// first, so a session that exits at once still has an object to signal from.
    launching: Arc<tokio::sync::Mutex<()>>,
    /// Desktop and Codex Default sessions' config.toml backups, by session id, released
    /// when they exit.
    backups: Arc<Mutex<HashMap<u64, String>>>,
    /// Stall watches of live sessions.
    watches: Arc<Mutex<HashMap<u64, StallWatch>>>,
    service: Arc<Service>,
    /// Pid files: `<pid_dir>/<run>-<id>.pid` (see [`cleanup`]).
    pid_dir: PathBuf,
    run: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `/io/github/CodexLauncher1/session/<id>`.
pub fn session_path(id: u64) -> Result<OwnedObjectPath, Error> {
    OwnedObjectPath::try_from(format!("{SESSION_PATH_PREFIX}/{id}"))
        .map_err(|e| Error::Internal(format!("session path: {e}")))
}

/// Random hex from the kernel (session tokens).
pub fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    /// Sessions whose exits are announced on `conn`. Returns the task doing so (abort it at
    /// shutdown).
    pub fn new(
        conn: zbus::Connection,
        service: Arc<Service>,
    ) -> (Arc<Sessions>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, i32)>();
        let tx = Mutex::new(tx);
        let supervisor = Supervisor::new(Box::new(move |s: &Session| {
            let sent = tx
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send((s.id, s.exit_code.unwrap_or(-1)));
            if sent.is_err() {
                tracing::debug!(session = s.id, "exit not announced: shutting down");
            }
        }));
        let run = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            .to_string();
        let sessions = Arc::new(Sessions {
            supervisor,
            launching: Arc::new(tokio::sync::Mutex::new(())),
            backups: Arc::default(),
            watches: Arc::default(),
            pid_dir: service.paths.state.join("sessions").join("pids"),
            run,
            service,
        });
        let me = sessions.clone();
        let announcer = tokio::spawn(async move {
            while let Some((id, code)) = rx.recv().await {
                drop(me.launching.lock().await);
                // config.toml is back before anyone hears the session ended.
                let merged = me.release(id);
                if let Some(merged) = merged {
                    announce_merge(&conn, &merged).await;
                }
                announce_exit(&conn, id, code).await;
            }
        });
        (sessions, announcer)
    }

    /// Give back what session `id` held; the merge report if the user had edited
    /// config.toml meanwhile.
    fn release(&self, id: u64) -> Option<ConfigMerged> {
        self.service.proxy.end_session(id);
        lock(&self.watches).remove(&id);
        let _ = std::fs::remove_file(self.pid_file(id));
        let key = lock(&self.backups).remove(&id);
        key.and_then(|key| self.service.end_desktop_config(&key))
    }

    fn pid_file(&self, id: u64) -> PathBuf {
        self.pid_dir.join(cleanup::pid_file_name(&self.run, id))
    }

    /// Record a started session's process, so a later Cleanup can find it if this daemon
    /// dies and the session lives on.
    fn write_pid_file(&self, id: u64, pid: u32) {
        let Some(info) = procfs::read(pid) else {
            return;
        };
        let written = codex_launcher_engine::atomic::ensure_dir(&self.pid_dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                std::fs::write(self.pid_file(id), cleanup::pid_file_content(&info))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            tracing::warn!(session = id, error = %e, "cannot write the session's pid file");
        }
    }

    /// The session's proxy token into its environment, if it uses the proxy.
    fn add_token(&self, id: u64, planned: &mut Planned) -> Result<(), Error> {
        let Some(var) = planned.token_env else {
            return Ok(());
        };
        let secret = random_hex(24).map_err(|e| Error::Io(format!("no randomness: {e}")))?;
        let token = self
            .service
            .proxy
            .begin_session(id, &secret)
            .ok_or_else(|| Error::Internal("empty session token".into()))?;
        planned
            .launch
            .env
            .push((var.to_owned(), token.expose().to_owned()));
        Ok(())
    }

    fn watch(&self, id: u64, planned: &Planned) {
        let after = planned.stall.unwrap_or_else(default_stall);
        lock(&self.watches).insert(id, StallWatch::new(after, Instant::now()));
    }

    /// Start a session and serve its object.
    pub async fn launch(
        self: &Arc<Self>,
        conn: &zbus::Connection,
        endpoint: &str,
        model: &str,
        mode: &str,
        options: &HashMap<String, String>,
    ) -> Result<OwnedObjectPath, Error> {
        let mut planned = self.service.plan_session(endpoint, model, mode, options)?;
        let id = self.supervisor.reserve_id();
        if let Err(e) = self.add_token(id, &mut planned) {
            self.abandon(id, &planned);
            return Err(e);
        }
        let _serving = self.launching.lock().await;
        let session = match self.supervisor.spawn_as(id, planned.launch.clone()) {
            Ok(session) => session,
            Err(e) => {
                self.abandon(id, &planned);
                return Err(Error::Io(e.to_string()));
            }
        };
        if let Some(key) = &planned.backup {
            lock(&self.backups).insert(id, key.clone());
        }
        self.write_pid_file(id, session.pid);
        self.watch(id, &planned);
        let path = session_path(id)?;
        if let Err(e) = conn.object_server().at(&path, self.object(&session)).await {
            let _ = self.supervisor.stop(id, None);
            return Err(Error::Internal(format!("cannot export the session: {e}")));
        }
        Ok(path)
    }

    /// A session that never started: give back its backup and token.
    fn abandon(&self, id: u64, planned: &Planned) {
        self.service.proxy.end_session(id);
        if let Some(key) = &planned.backup {
            self.service.end_desktop_config(key);
        }
    }

    /// Register a session the caller runs (`codexctl run`) and serve its object.
    pub async fn prepare_run(
        self: &Arc<Self>,
        conn: &zbus::Connection,
        endpoint: &str,
        model: &str,
        options: &HashMap<String, String>,
    ) -> Result<RunPlan, Error> {
        let mut planned = self.service.plan_run(endpoint, model, options)?;
        let id = self.supervisor.reserve_id();
        self.add_token(id, &mut planned)?;
        let session = match self.supervisor.register(id, &planned.launch) {
            Ok(s) => s,
            Err(e) => {
                self.abandon(id, &planned);
                return Err(Error::Internal(e.to_string()));
            }
        };
        self.watch(id, &planned);
        let path = session_path(id)?;
        if let Err(e) = conn.object_server().at(&path, self.object(&session)).await {
            let _ = self.supervisor.stop(id, None);
            return Err(Error::Internal(format!("cannot export the session: {e}")));
        }
        let launch = planned.launch;
        Ok(RunPlan {
            session: path.to_string(),
            program: launch.program.display().to_string(),
            args: launch.args,
            env: launch.env,
            env_remove: launch.env_remove,
        })
    }

    fn object(self: &Arc<Self>, session: &Session) -> SessionObject {
        SessionObject {
            id: session.id,
            sessions: self.clone(),
            proxy: self.service.proxy.clone(),
            endpoint: session.endpoint.clone(),
            model: session.model.clone(),
        }
    }

    /// Release the backups of sessions whose exit was not announced (shutdown).
    pub fn release_backups(&self) {
        let keys: Vec<String> = lock(&self.backups).drain().map(|(_, k)| k).collect();
        for key in keys {
            self.service.end_desktop_config(&key);
        }
    }

    /// Paths of all sessions.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        self.supervisor
            .list()
            .iter()
            .filter_map(|s| session_path(s.id).ok())
            .collect()
    }

    /// Report sessions that go quiet, and those that wake up again, until the daemon stops.
    pub fn watch_stalls(self: &Arc<Self>, conn: zbus::Connection) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let period = me.stall_period();
                tokio::time::sleep(period).await;
                let changes = me.observe_stalls();
                for (id, change) in changes {
                    announce_stall(&conn, id, change).await;
                }
            }
        })
    }

    /// How often to look: a fifth of the shortest stall time, between 0.2 s and 10 s.
    fn stall_period(&self) -> Duration {
        let shortest = lock(&self.watches)
            .values()
            .map(StallWatch::after)
            .min()
            .unwrap_or(Duration::from_secs(10));
        (shortest / 5).clamp(Duration::from_millis(200), Duration::from_secs(10))
    }

    fn observe_stalls(&self) -> Vec<(u64, Change)> {
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
            return Vec::new();
        }
        let procs = procfs::of_user(procfs::own_uid());
        let now = Instant::now();
        let mut changes = Vec::new();
        let mut watches = lock(&self.watches);
        for s in live {
            let Some(watch) = watches.get_mut(&s.id) else {
                continue;
            };
            let pgid = if s.attached { 0 } else { s.pid };
            let cpu = procfs::session_cpu(&procs, pgid, s.pid);
            let last = self.service.proxy.session_traffic(s.id).last_request;
            if let Some(change) = watch.observe(now, cpu, last) {
                let stalled = matches!(change, Change::Stalled(_));
                if self.supervisor.set_stalled(s.id, stalled) {
                    changes.push((s.id, change));
                }
            }
        }
        changes
    }

    /// Kill & Cleanup: find (and unless `dry_run`, stop or remove) what earlier sessions
    /// left. Blocking (waits for processes to end): run it off the async threads.
    pub fn cleanup(&self, dry_run: bool) -> Vec<CleanupItem> {
        let uid = procfs::own_uid();
        let procs = procfs::of_user(uid);
        let targets = self.cleanup_targets(uid, &procs);
        let found = cleanup::scan(&targets, &procs);
        let mut items: Vec<CleanupItem> = found
            .iter()
            .map(|f| {
                let action = if dry_run {
                    "found".to_owned()
                } else {
                    cleanup::act(f, supervisor::DEFAULT_GRACE)
                };
                tracing::info!(kind = f.kind.as_str(), pid = f.pid, path = %f.path.display(), action = %action, "cleanup");
                CleanupItem {
                    kind: f.kind.as_str().to_owned(),
                    pid: f.pid,
                    path: f.path.display().to_string(),
                    description: f.description.clone(),
                    action,
                }
            })
            .collect();
        items.extend(self.stale_backups(dry_run));
        items
    }

    fn cleanup_targets(&self, uid: u32, procs: &[procfs::ProcInfo]) -> Targets {
        let path_var = std::env::var_os("PATH");
        let codex = supervisor::codex_program(|n| std::env::var_os(n));
        let codex_word = codex.display().to_string();
        let desktop = supervisor::desktop_command(|n| std::env::var_os(n), &codex);
        let mut programs = Vec::new();
        if let Some(first) = desktop.first() {
            // `codex app` is Codex itself: only its `app` processes are the Desktop's.
            let required = (first == &codex_word).then_some("app");
            programs.extend(Program::resolve(first, path_var.as_deref(), required));
        }
        programs.extend(Program::resolve(
            &codex_word,
            path_var.as_deref(),
            Some("app-server"),
        ));

        let mut spare_pids: HashSet<u32> = [std::process::id()].into();
        let mut spare_pgids = HashSet::new();
        for s in self.supervisor.list() {
            if s.state == supervisor::State::Exited || s.pid == 0 {
                continue;
            }
            spare_pids.insert(s.pid);
            if !s.attached {
                spare_pgids.insert(s.pid);
            }
        }
        // And everything they started.
        loop {
            let before = spare_pids.len();
            for p in procs {
                if spare_pids.contains(&p.ppid) || spare_pgids.contains(&p.pgid) {
                    spare_pids.insert(p.pid);
                }
            }
            if spare_pids.len() == before {
                break;
            }
        }
        let config = self.service.paths.home.join(".config");
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or(config);
        let mut singleton_dirs: Vec<PathBuf> = ["Codex", "codex-desktop", "Codex Desktop"]
            .iter()
            .map(|n| config.join(n))
            .collect();
        if let Some(extra) = std::env::var_os(DESKTOP_DATA_ENV) {
            singleton_dirs.extend(std::env::split_paths(&extra).filter(|p| p.is_absolute()));
        }
        Targets {
            uid,
            programs,
            spare_pids,
            spare_pgids,
            pid_dir: self.pid_dir.clone(),
            current_run: self.run.clone(),
            singleton_dirs,
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
        }
    }

    /// config.toml backups in the journal that no live session holds (a session whose
    /// release failed): restore them.
    fn stale_backups(&self, dry_run: bool) -> Vec<CleanupItem> {
        let held: HashSet<String> = lock(&self.backups).values().cloned().collect();
        let journal = Backups::at(&self.service.paths.state);
        let config = backup::config_file(&self.service.paths);
        let keys = journal.sessions().unwrap_or_default();
        keys.into_iter()
            .filter(|k| !held.contains(k))
            .map(|key| {
                let action = if dry_run {
                    "found".to_owned()
                } else {
                    self.service.end_desktop_config(&key);
                    "restored".to_owned()
                };
                CleanupItem {
                    kind: "backup".into(),
                    pid: 0,
                    path: config.display().to_string(),
                    description: format!("config.toml backup held for `{key}`, which is gone"),
                    action,
                }
            })
            .collect()
    }
}

async fn announce_merge(conn: &zbus::Connection, merged: &ConfigMerged) {
    let Ok(iface) = conn
        .object_server()
        .interface::<_, Manager>(codex_launcher_dbus::OBJECT_PATH)
        .await
    else {
        return;
    };
    let _ = Manager::config_merged(
        iface.signal_emitter(),
        &merged.path,
        &merged.aside,
        &merged.message,
    )
    .await;
}

async fn announce_stall(conn: &zbus::Connection, id: u64, change: Change) {
    let Ok(path) = session_path(id) else { return };
    let Ok(iface) = conn
        .object_server()
        .interface::<_, SessionObject>(&path)
        .await
    else {
        return;
    };
    let emitter = iface.signal_emitter();
    if let Change::Stalled(idle) = change {
        tracing::warn!(
            session = id,
            idle_secs = idle.as_secs(),
            "session stalled: no traffic and no CPU"
        );
        let _ = SessionObject::stalled(emitter, idle.as_secs()).await;
    } else {
        tracing::info!(session = id, "stalled session active again");
    }
    let _ = iface.get().await.state_changed(emitter).await;
}

async fn announce_exit(conn: &zbus::Connection, id: u64, code: i32) {
    let Ok(path) = session_path(id) else { return };
    let iface = match conn
        .object_server()
        .interface::<_, SessionObject>(&path)
        .await
    {
        Ok(iface) => iface,
        Err(e) => {
            tracing::warn!(session = id, error = %e, "exited session has no object");
            return;
        }
    };
    let emitter = iface.signal_emitter();
    // Best effort, like the manager's change signals: a client that missed them reads the
    // properties.
    {
        let object = iface.get().await;
        let _ = object.state_changed(emitter).await;
        let _ = object.exit_code_changed(emitter).await;
    }
    let _ = SessionObject::exited(emitter, code).await;
}

/// One session's object. Identity and state come from the supervisor on every read,
/// traffic from the proxy's count of the session's token.
pub struct SessionObject {
    id: u64,
    sessions: Arc<Sessions>,
    proxy: Arc<ProxyState>,
    endpoint: String,
    model: String,
}

impl SessionObject {
    fn session(&self) -> Option<Session> {
        self.sessions.supervisor.get(self.id)
    }

    fn usage(&self) -> UsageCounters {
        self.proxy.session_traffic(self.id).counters
    }
}

#[zbus::interface(name = "io.github.CodexLauncher1.Session")]
impl SessionObject {
    /// SIGTERM to the process group, SIGKILL after the grace period; `Exited` follows.
    async fn stop(&self, #[zbus(signal_emitter)] emitter: SignalEmitter<'_>) -> Result<(), Error> {
        self.sessions
            .supervisor
            .stop(self.id, None)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        let _ = self.state_changed(&emitter).await;
        Ok(())
    }

    /// The pid of the Codex a `PrepareRun` caller started.
    async fn attach(
        &self,
        pid: u32,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        use codex_launcher_engine::supervisor::SupervisorError as E;
        match self.sessions.supervisor.attach(self.id, pid) {
            Ok(_) => {}
            Err(e @ E::NotFound(_)) => return Err(Error::NotFound(e.to_string())),
            Err(e @ (E::NotStarting(_) | E::Attach { .. })) => {
                return Err(Error::InvalidArgument(e.to_string()));
            }
            Err(e) => return Err(Error::Internal(e.to_string())),
        }
        self.sessions.write_pid_file(self.id, pid);
        let _ = self.state_changed(&emitter).await;
        let _ = self.pid_changed(&emitter).await;
        Ok(())
    }

    /// The exit code the `PrepareRun` caller's Codex ended with.
    async fn report_exit(&self, exit_code: i32) -> Result<(), Error> {
        self.sessions
            .supervisor
            .report_exit(self.id, exit_code)
            .map_err(|e| Error::InvalidArgument(e.to_string()))
    }

    #[zbus(property)]
    async fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    #[zbus(property)]
    async fn model(&self) -> String {
        self.model.clone()
    }

    #[zbus(property)]
    async fn mode(&self) -> String {
        self.session()
            .map(|s| s.mode.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn pid(&self) -> u32 {
        self.session().map_or(0, |s| s.pid)
    }

    #[zbus(property)]
    async fn state(&self) -> String {
        self.session()
            .map(|s| s.state.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn started(&self) -> u64 {
        self.session()
            .and_then(|s| s.started.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    }

    #[zbus(property)]
    async fn exit_code(&self) -> i32 {
        self.session().and_then(|s| s.exit_code).unwrap_or(-1)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn requests(&self) -> u64 {
        self.usage().requests
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn tokens_in(&self) -> u64 {
        self.usage().input_tokens
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn tokens_out(&self) -> u64 {
        self.usage().output_tokens
    }

    #[zbus(signal)]
    async fn exited(emitter: &SignalEmitter<'_>, exit_code: i32) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn stalled(emitter: &SignalEmitter<'_>, idle_secs: u64) -> zbus::Result<()>;
}
