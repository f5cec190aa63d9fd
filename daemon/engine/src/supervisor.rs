//! Session supervision: start Codex (or a terminal running it) in a process group of its own,
//! track it, stop it, reap it.
//!
//! # Process groups
//! Every session is the leader of a new process group (`process_group(0)`), so one signal
//! reaches everything it started: Codex's Node launcher and the native binary under it, or the
//! terminal emulator and the shell in it. [`Supervisor::stop`] sends SIGTERM to the group and,
//! if the leader is still there after the grace period, SIGKILL.
//!
//! # Reaping without a pid race
//! Each session has a waiter thread (the engine has no async runtime). It waits with
//! `waitid(WEXITED | WNOWAIT)`, which reports the exit but leaves the zombie in place, then
//! takes the session lock, reaps and marks the session [`State::Exited`]. Signals are sent
//! under the same lock and only to sessions not yet marked exited, so the group id signalled
//! always belongs to our child (a zombie's pid cannot be reused) and never to a stranger that
//! got the recycled pid.
//!
//! # Exit codes
//! The process's exit status; for a death by signal, 128 + the signal number (the shell's
//! convention: 137 after SIGKILL, 143 after SIGTERM).
//!
//! # Attached sessions
//! `codexctl run` starts Codex itself, in the user's terminal, and hands its pid over
//! ([`Supervisor::register`], then [`Supervisor::attach`]). That process is not our child: it
//! is watched through a pidfd (readable once it ends; signals through it cannot reach a
//! recycled pid), and its exit code is what the caller reports ([`Supervisor::report_exit`]),
//! since only a parent can read it. Stop signals go to that process alone: it shares its
//! process group with the caller's shell job.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

use crate::codex_config::CliOverrides;

/// How long a registered session waits for its process before it is given up.
pub const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an attached session's end waits for the caller's exit code.
const REPORT_WAIT: Duration = Duration::from_secs(3);

/// Grace period between SIGTERM and SIGKILL when the caller names none.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// Env var naming the Codex command (else [`CODEX_BIN_ENV`], else `codex` on `PATH`).
pub const CODEX_CMD_ENV: &str = "CODEX_LAUNCHER_CODEX_CMD";
/// Env var naming the Codex binary (the test suite's name for it).
pub const CODEX_BIN_ENV: &str = "CODEX_BIN";
/// Env var overriding the terminal: the command and the arguments that come before the
/// program to run, split at whitespace (`alacritty -e`, `foot`).
pub const TERMINAL_ENV: &str = "CODEX_LAUNCHER_TERMINAL";

/// Terminals tried in order, each with the arguments that make it run the rest of the
/// command line. gnome-terminal gets `--wait`: without it the client returns at once and
/// the session would look finished while Codex runs on in the terminal server.
const TERMINALS: [(&str, &[&str]); 6] = [
    ("x-terminal-emulator", &["-e"]),
    ("gnome-terminal", &["--wait", "--"]),
    ("kgx", &["--"]),
    ("konsole", &["-e"]),
    ("xfce4-terminal", &["-x"]),
    ("xterm", &["-e"]),
];

/// How a session runs Codex, and where it is in its life: the contract's vocabularies.
pub use codex_launcher_types::{Mode, SessionState as State};

/// A session as the supervisor tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Supervisor-wide number, from 1.
    pub id: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Model slug.
    pub model: String,
    /// How it runs.
    pub mode: Mode,
    /// Pid of the process group leader (also the group id).
    pub pid: u32,
    /// Where it is.
    pub state: State,
    /// When it was started.
    pub started: SystemTime,
    /// Set once exited (see the module docs for signals).
    pub exit_code: Option<i32>,
    /// SIGTERM to SIGKILL.
    pub grace: Duration,
    /// Started by someone else and handed over ([`Supervisor::attach`]).
    pub attached: bool,
}

impl Session {
    /// Alive: not yet stopping or exited.
    pub fn is_live(&self) -> bool {
        matches!(
            self.state,
            State::Starting | State::Running | State::Stalled
        )
    }
}

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// Endpoint id (for the record).
    pub endpoint: String,
    /// Model slug (for the record).
    pub model: String,
    /// Mode (for the record; the command line is already built).
    pub mode: Mode,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set on top of the daemon's environment.
    pub env: Vec<(String, String)>,
    /// Variables taken out of it.
    pub env_remove: Vec<String>,
    /// Working directory (`None`: the daemon's).
    pub cwd: Option<PathBuf>,
    /// stdout and stderr go here, appended (`None`: discarded).
    pub log: Option<PathBuf>,
    /// SIGTERM to SIGKILL.
    pub grace: Duration,
}

/// Supervisor errors.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open the session log {path}: {source}")]
    Log {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No thread could be started to wait for the session (it was killed).
    #[error("cannot watch the session: {0}")]
    Thread(std::io::Error),
    /// No session with that id.
    #[error("no session {0}")]
    NotFound(u64),
    /// The session is not waiting for a process (attached already, or not registered).
    #[error("session {0} is not waiting for a process")]
    NotStarting(u64),
    /// The process handed over cannot be watched (gone, or another user's).
    #[error("cannot attach pid {pid}: {reason}")]
    Attach {
        /// The pid.
        pid: u32,
        /// Why.
        reason: String,
    },
}

/// Called once per session, from its waiter thread, after it exited and was reaped.
pub type ExitHook = Box<dyn Fn(&Session) + Send + Sync>;

struct Shared {
    sessions: Mutex<BTreeMap<u64, Session>>,
    /// Attached sessions' pidfds (signals go through them).
    pidfds: Mutex<HashMap<u64, Arc<OwnedFd>>>,
    /// Exit codes reported for attached sessions.
    reported: Mutex<HashMap<u64, i32>>,
    next_id: std::sync::atomic::AtomicU64,
    /// Notified whenever a session exits (stop timers and [`Supervisor::wait_all`] wait on it).
    exited: Condvar,
    on_exit: ExitHook,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Session>> {
        // Every update under this lock is a single assignment: a panic cannot leave a
        // half-changed map, so a poisoned lock is still good.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running (and exited) sessions. Clones share them (the state owner moves one into
/// its blocking work).
#[derive(Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("sessions", &*self.shared.lock())
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// A supervisor that calls `on_exit` for every session that ends.
    pub fn new(on_exit: ExitHook) -> Supervisor {
        Supervisor {
            shared: Arc::new(Shared {
                sessions: Mutex::new(BTreeMap::new()),
                pidfds: Mutex::default(),
                reported: Mutex::default(),
                next_id: std::sync::atomic::AtomicU64::new(1),
                exited: Condvar::new(),
                on_exit,
            }),
        }
    }

    /// A session id for [`Supervisor::spawn_as`] or [`Supervisor::register`], so what is
    /// made for the session (its proxy token) can carry it before it starts.
    pub fn reserve_id(&self) -> u64 {
        self.shared
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Start a session.
    pub fn spawn(&self, launch: Launch) -> Result<Session, SupervisorError> {
        self.spawn_as(self.reserve_id(), launch)
    }

    /// Start a session under an id from [`Supervisor::reserve_id`].
    pub fn spawn_as(&self, id: u64, launch: Launch) -> Result<Session, SupervisorError> {
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args).process_group(0).stdin(Stdio::null());
        for key in &launch.env_remove {
            cmd.env_remove(key);
        }
        for (key, value) in &launch.env {
            cmd.env(key, value);
        }
        if let Some(dir) = &launch.cwd {
            cmd.current_dir(dir);
        }
        match &launch.log {
            Some(path) => {
                let log_err = |source| SupervisorError::Log {
                    path: path.clone(),
                    source,
                };
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(log_err)?;
                cmd.stderr(file.try_clone().map_err(log_err)?).stdout(file);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }

        // Held until the entry exists, so the waiter cannot report an exit before it.
        let mut sessions = self.shared.lock();
        let child = cmd.spawn().map_err(|source| SupervisorError::Spawn {
            program: launch.program.clone(),
            source,
        })?;
        let session = Session {
            id,
            endpoint: launch.endpoint,
            model: launch.model,
            mode: launch.mode,
            pid: child.id(),
            state: State::Running,
            started: SystemTime::now(),
            exit_code: None,
            grace: launch.grace,
            attached: false,
        };
        let shared = self.shared.clone();
        let waiter = std::thread::Builder::new().name(format!("session-{id}"));
        if let Err(e) = waiter.spawn(move || wait_for(&shared, id, child)) {
            // The child went down with the closure, unreaped: kill it at least, so nothing
            // runs unsupervised (the zombie stays until the daemon exits).
            signal_group(session.pid, Signal::KILL);
            return Err(SupervisorError::Thread(e));
        }
        sessions.insert(id, session.clone());
        tracing::info!(
            session = id,
            pid = session.pid,
            endpoint = %session.endpoint,
            model = %session.model,
            mode = session.mode.as_str(),
            "session started"
        );
        Ok(session)
    }

    /// One session.
    pub fn get(&self, id: u64) -> Option<Session> {
        self.shared.lock().get(&id).cloned()
    }

    /// All sessions, oldest first, exited ones included.
    pub fn list(&self) -> Vec<Session> {
        self.shared.lock().values().cloned().collect()
    }

    /// Ask a session to end: SIGTERM to its group now, SIGKILL after `grace` (`None`: the
    /// session's own) if it is still there. Returns at once; an exited or already stopping
    /// session is left as it is.
    pub fn stop(&self, id: u64, grace: Option<Duration>) -> Result<Session, SupervisorError> {
        let mut sessions = self.shared.lock();
        let session = sessions.get_mut(&id).ok_or(SupervisorError::NotFound(id))?;
        if session.state == State::Starting {
            // Nothing to signal yet: give the registration up.
            drop(sessions);
            finish(&self.shared, id, -1);
            return self.get(id).ok_or(SupervisorError::NotFound(id));
        }
        if !session.is_live() {
            return Ok(session.clone());
        }
        signal_session(&self.shared, session, Signal::TERM);
        session.state = State::Stopping;
        let grace = grace.unwrap_or(session.grace);
        let pid = session.pid;
        let snapshot = session.clone();
        drop(sessions);
        tracing::info!(
            session = id,
            pid,
            grace_ms = grace.as_millis(),
            "stopping session"
        );

        let shared = self.shared.clone();
        let timer = std::thread::Builder::new().name(format!("session-{id}-stop"));
        if let Err(e) = timer.spawn(move || kill_after(&shared, id, grace)) {
            // Without a timer nothing would ever escalate: escalate now.
            tracing::warn!(session = id, error = %e, "no stop timer; killing the session now");
            kill_after(&self.shared, id, Duration::ZERO);
        }
        Ok(snapshot)
    }

    /// Register a session whose process the caller starts (`codexctl run`); it is
    /// [`State::Starting`] until [`Supervisor::attach`], and given up after
    /// [`ATTACH_TIMEOUT`]. `launch` is kept for the record (program, env are the caller's).
    pub fn register(&self, id: u64, launch: &Launch) -> Result<Session, SupervisorError> {
        let session = Session {
            id,
            endpoint: launch.endpoint.clone(),
            model: launch.model.clone(),
            mode: launch.mode,
            pid: 0,
            state: State::Starting,
            started: SystemTime::now(),
            exit_code: None,
            grace: launch.grace,
            attached: true,
        };
        self.shared.lock().insert(id, session.clone());
        let shared = self.shared.clone();
        let timer = std::thread::Builder::new().name(format!("session-{id}-attach"));
        let spawned = timer.spawn(move || {
            let deadline = Instant::now() + ATTACH_TIMEOUT;
            let mut sessions = shared.lock();
            while sessions
                .get(&id)
                .is_some_and(|s| s.state == State::Starting)
            {
                let now = Instant::now();
                if now >= deadline {
                    drop(sessions);
                    tracing::warn!(
                        session = id,
                        "no process was attached; giving the session up"
                    );
                    finish(&shared, id, -1);
                    return;
                }
                sessions = match shared.exited.wait_timeout(sessions, deadline - now) {
                    Ok((guard, _)) => guard,
                    Err(p) => p.into_inner().0,
                };
            }
        });
        if let Err(e) = spawned {
            self.shared.lock().remove(&id);
            return Err(SupervisorError::Thread(e));
        }
        tracing::info!(session = id, endpoint = %session.endpoint, model = %session.model, "session registered");
        Ok(session)
    }

    /// Hand a registered session its process: `pid` must be this user's and alive.
    pub fn attach(&self, id: u64, pid: u32) -> Result<Session, SupervisorError> {
        let bad = |reason: String| SupervisorError::Attach { pid, reason };
        let raw = i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| bad("not a pid".into()))?;
        let pidfd = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty())
            .map_err(|e| bad(format!("no such process ({e})")))?;
        // Checked after the pidfd is open: the pidfd pins this very process, so the owner
        // read is that of the process we will watch.
        let owner = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(format!("/proc/{pid}")).map_err(|e| bad(e.to_string()))?,
        );
        if owner != rustix::process::getuid().as_raw() {
            return Err(bad("the process belongs to another user".into()));
        }
        let pidfd = Arc::new(pidfd);
        let mut sessions = self.shared.lock();
        let session = sessions.get_mut(&id).ok_or(SupervisorError::NotFound(id))?;
        if session.state != State::Starting {
            return Err(SupervisorError::NotStarting(id));
        }
        session.pid = pid;
        session.state = State::Running;
        let snapshot = session.clone();
        lock(&self.shared.pidfds).insert(id, pidfd.clone());
        drop(sessions);
        self.shared.exited.notify_all();
        let shared = self.shared.clone();
        let waiter = std::thread::Builder::new().name(format!("session-{id}"));
        if let Err(e) = waiter.spawn(move || watch_attached(&shared, id, &pidfd)) {
            finish(&self.shared, id, -1);
            return Err(SupervisorError::Thread(e));
        }
        tracing::info!(session = id, pid, "process attached to the session");
        Ok(snapshot)
    }

    /// The exit code the caller of an attached session saw.
    pub fn report_exit(&self, id: u64, code: i32) -> Result<(), SupervisorError> {
        let attached = self
            .shared
            .lock()
            .get(&id)
            .ok_or(SupervisorError::NotFound(id))?
            .attached;
        if !attached {
            return Err(SupervisorError::NotStarting(id));
        }
        lock(&self.shared.reported).insert(id, code);
        // The caller reports after its wait returned, so the process is normally gone: end
        // the session now rather than when the watcher wakes, so the caller's next look at
        // it (`codexctl sessions` right after `run`) sees it exited.
        let pidfd = lock(&self.shared.pidfds).get(&id).cloned();
        if pidfd.is_some_and(|fd| wait_gone(&fd, Duration::ZERO)) {
            let code = lock(&self.shared.reported).remove(&id);
            if let Some(code) = code {
                finish(&self.shared, id, code);
            }
        }
        Ok(())
    }

    /// Mark a live session stalled or active again; whether its state changed.
    pub fn set_stalled(&self, id: u64, stalled: bool) -> bool {
        let mut sessions = self.shared.lock();
        let Some(session) = sessions.get_mut(&id) else {
            return false;
        };
        match (session.state, stalled) {
            (State::Running, true) => session.state = State::Stalled,
            (State::Stalled, false) => session.state = State::Running,
            _ => return false,
        }
        true
    }

    /// Drop an exited session from the record (the daemon keeps the last ones only);
    /// whether it was there and exited.
    pub fn forget(&self, id: u64) -> bool {
        let mut sessions = self.shared.lock();
        if sessions.get(&id).is_some_and(|s| s.state == State::Exited) {
            sessions.remove(&id);
            return true;
        }
        false
    }

    /// Wait until none of `ids` is running or stopping, at most `timeout`; whether they
    /// all ended.
    pub fn wait_for(&self, ids: &[u64], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut sessions = self.shared.lock();
        loop {
            if ids
                .iter()
                .all(|id| sessions.get(id).is_none_or(|s| s.state == State::Exited))
            {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            sessions = match self.shared.exited.wait_timeout(sessions, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// [`Supervisor::stop`] every running session (daemon shutdown).
    pub fn stop_all(&self, grace: Duration) {
        let ids: Vec<u64> = self.shared.lock().keys().copied().collect();
        for id in ids {
            let _ = self.stop(id, Some(grace));
        }
    }

    /// Wait until no session is running or stopping, at most `timeout`; whether they all
    /// ended.
    pub fn wait_all(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut sessions = self.shared.lock();
        loop {
            if sessions.values().all(|s| s.state == State::Exited) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            sessions = match self.shared.exited.wait_timeout(sessions, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// SIGTERM or SIGKILL to a session: its process group, or an attached process alone,
/// through its pidfd. Called under the session lock (see the module docs).
fn signal_session(shared: &Shared, session: &Session, signal: Signal) {
    if !session.attached {
        signal_group(session.pid, signal);
        return;
    }
    let pidfd = lock(&shared.pidfds).get(&session.id).cloned();
    if let Some(pidfd) = pidfd
        && let Err(e) = rustix::process::pidfd_send_signal(&*pidfd, signal)
    {
        tracing::debug!(session = session.id, error = %e, "signal not delivered");
    }
}

/// Mark a session exited with `code` and tell the hook (once).
fn finish(shared: &Shared, id: u64, code: i32) {
    let snapshot = mark_exited(&mut shared.lock(), id, code);
    if let Some(snapshot) = snapshot {
        announce(shared, &snapshot);
    }
}

/// The session's state change to [`State::Exited`], under the session lock; `None` if it
/// was exited already.
fn mark_exited(sessions: &mut BTreeMap<u64, Session>, id: u64, code: i32) -> Option<Session> {
    let session = sessions.get_mut(&id)?;
    if session.state == State::Exited {
        return None;
    }
    session.state = State::Exited;
    session.exit_code = Some(code);
    Some(session.clone())
}

/// After [`mark_exited`], without the session lock: wake the waiters, tell the hook.
fn announce(shared: &Shared, snapshot: &Session) {
    lock(&shared.pidfds).remove(&snapshot.id);
    tracing::info!(
        session = snapshot.id,
        pid = snapshot.pid,
        exit_code = snapshot.exit_code.unwrap_or(-1),
        "session exited"
    );
    // The hook first: whoever waits on `exited` ([`Supervisor::wait_all`]) and then talks to
    // the hook's receiver finds the exit already queued there.
    (shared.on_exit)(snapshot);
    shared.exited.notify_all();
}

/// An attached session's watcher: wait for the process to end, then briefly for the
/// caller's report of its exit code.
fn watch_attached(shared: &Shared, id: u64, pidfd: &OwnedFd) {
    loop {
        let mut fds = [rustix::event::PollFd::new(
            pidfd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                tracing::warn!(session = id, error = %e, "cannot watch the attached process");
                break;
            }
            Ok(_) => break,
        }
    }
    let deadline = Instant::now() + REPORT_WAIT;
    let mut reported = lock(&shared.reported);
    let code = loop {
        if let Some(code) = reported.remove(&id) {
            break code;
        }
        if shared
            .lock()
            .get(&id)
            .is_none_or(|s| s.state == State::Exited)
        {
            // Ended by the report itself.
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            break -1;
        }
        // `exited` is notified on reports too; the reported map has its own lock, so wait
        // in short steps rather than on a condvar tied to another mutex.
        drop(reported);
        std::thread::sleep(Duration::from_millis(20).min(deadline - now));
        reported = lock(&shared.reported);
    };
    drop(reported);
    finish(shared, id, code);
}

/// Whether the process behind `pidfd` has ended, waiting at most `timeout` (zero: just
/// look). Kill & Cleanup waits with it too.
pub(crate) fn wait_gone(pidfd: &OwnedFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = rustix::event::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            pidfd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(n) if n > 0 => return true,
            Err(rustix::io::Errno::INTR) => continue,
            _ => return false,
        }
    }
}

/// SIGTERM or SIGKILL to the group `pid` leads. Failure (ESRCH: the group is gone) is fine.
fn signal_group(pid: u32, signal: Signal) {
    let pid = i32::try_from(pid).ok().and_then(Pid::from_raw);
    if let Some(pid) = pid
        && let Err(e) = rustix::process::kill_process_group(pid, signal)
    {
        tracing::debug!(pid = pid.as_raw_nonzero().get(), error = %e, "signal not delivered");
    }
}

/// The stop timer: SIGKILL to the group unless the session exits within `grace`.
fn kill_after(shared: &Shared, id: u64, grace: Duration) {
    let deadline = Instant::now() + grace;
    let mut sessions = shared.lock();
    loop {
        let Some(session) = sessions.get(&id) else {
            return;
        };
        if session.state == State::Exited {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            tracing::warn!(
                session = id,
                pid = session.pid,
                "session ignored SIGTERM; sending SIGKILL"
            );
            signal_session(shared, session, Signal::KILL);
            return;
        }
        sessions = match shared.exited.wait_timeout(sessions, deadline - now) {
            Ok((guard, _)) => guard,
            Err(p) => p.into_inner().0,
        };
    }
}

/// The waiter thread: see "Reaping without a pid race" in the module docs.
fn wait_for(shared: &Shared, id: u64, mut child: Child) {
    let pid = Pid::from_child(&child);
    loop {
        match rustix::process::waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                // Cannot happen for our own child; reaping below reports what it can.
                tracing::warn!(session = id, error = %e, "waitid failed");
                break;
            }
            Ok(_) => break,
        }
    }
    let mut sessions = shared.lock();
    let code = match child.wait() {
        Ok(status) => status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(-1),
        Err(e) => {
            tracing::warn!(session = id, error = %e, "cannot reap the session");
            -1
        }
    };
    // Marked under the lock the reaping happened under: no signal reaches a recycled pid.
    let snapshot = mark_exited(&mut sessions, id, code);
    drop(sessions);
    if let Some(snapshot) = snapshot {
        announce(shared, &snapshot);
    }
}

/// The Codex command: [`CODEX_CMD_ENV`], else [`CODEX_BIN_ENV`], else `codex` on `PATH`.
pub fn codex_program(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    [CODEX_CMD_ENV, CODEX_BIN_ENV]
        .iter()
        .find_map(|name| var(name).filter(|v| !v.is_empty()))
        .map_or_else(|| PathBuf::from("codex"), PathBuf::from)
}

/// Names the Codex Desktop command (words split on whitespace).
pub const DESKTOP_ENV: &str = "CODEX_LAUNCHER_DESKTOP_CMD";

/// Where the Codex Desktop package for Linux installs itself.
pub const DESKTOP_DEFAULT: &str = "/opt/codex-desktop/codex-desktop";

/// The Codex Desktop command: [`DESKTOP_ENV`] if set, else [`DESKTOP_DEFAULT`] when it
/// exists, else `codex app` (the CLI's launcher for the desktop app).
pub fn desktop_command(var: impl Fn(&str) -> Option<OsString>, codex: &Path) -> Vec<String> {
    if let Some(custom) = var(DESKTOP_ENV).and_then(|v| v.into_string().ok()) {
        let words: Vec<String> = custom.split_whitespace().map(str::to_owned).collect();
        if !words.is_empty() {
            return words;
        }
    }
    if Path::new(DESKTOP_DEFAULT).exists() {
        return vec![DESKTOP_DEFAULT.to_owned()];
    }
    vec![codex.display().to_string(), "app".to_owned()]
}

/// The terminal prefix: [`TERMINAL_ENV`] if set, else the first of [`TERMINALS`] found on
/// `path` (the `PATH` value). `None`: no terminal.
pub fn terminal(
    var: impl Fn(&str) -> Option<OsString>,
    path: Option<&OsString>,
) -> Option<Vec<String>> {
    if let Some(custom) = var(TERMINAL_ENV).and_then(|v| v.into_string().ok()) {
        let words: Vec<String> = custom.split_whitespace().map(str::to_owned).collect();
        if !words.is_empty() {
            return Some(words);
        }
    }
    let dirs: Vec<PathBuf> = path
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .collect();
    TERMINALS.iter().find_map(|(name, args)| {
        let found = dirs
            .iter()
            .map(|d| d.join(name))
            .find(|p| is_executable(p))?;
        let mut words = vec![found.display().to_string()];
        words.extend(args.iter().map(|a| (*a).to_owned()));
        Some(words)
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `codex exec` arguments for a headless session: the overrides, no approvals, no sandbox
/// (nobody is there to approve), `workdir`, and the prompt after `--` so a prompt starting
/// with `-` stays a prompt.
pub fn exec_args(overrides: &CliOverrides, workdir: &Path, prompt: &str) -> Vec<String> {
    let mut args = vec!["exec".to_owned()];
    args.extend(overrides.args.iter().cloned());
    args.extend(
        [
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            "--color",
            "never",
            "-C",
        ]
        .map(String::from),
    );
    args.push(workdir.display().to_string());
    args.push("--".to_owned());
    args.push(prompt.to_owned());
    args
}

/// Interactive `codex` arguments: the overrides, `workdir`, and the first prompt if any.
pub fn cli_args(overrides: &CliOverrides, workdir: &Path, prompt: &str) -> Vec<String> {
    let mut args = overrides.args.clone();
    args.push("-C".to_owned());
    args.push(workdir.display().to_string());
    if !prompt.is_empty() {
        args.push("--".to_owned());
        args.push(prompt.to_owned());
    }
    args
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::mpsc;

    fn launch(program: &str, args: &[&str], grace: Duration) -> Launch {
        Launch {
            endpoint: "e".into(),
            model: "m".into(),
            mode: Mode::Exec,
            program: program.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: vec![("SESSION_TEST".into(), "yes".into())],
            env_remove: vec![],
            cwd: None,
            log: None,
            grace,
        }
    }

    fn supervisor() -> (Supervisor, mpsc::Receiver<Session>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let sup = Supervisor::new(Box::new(move |s| {
            let _ = tx.lock().unwrap().send(s.clone());
        }));
        (sup, rx)
    }

    #[test]
    fn a_session_that_exits_is_reaped_and_reported() {
        let (sup, rx) = supervisor();
        let s = sup
            .spawn(launch(
                "/bin/sh",
                &["-c", "test \"$SESSION_TEST\" = yes && exit 3"],
                DEFAULT_GRACE,
            ))
            .unwrap();
        assert_eq!((s.id, s.state), (1, State::Running));
        let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((done.state, done.exit_code), (State::Exited, Some(3)));
        assert_eq!(sup.get(1).unwrap().exit_code, Some(3));
        assert!(!Path::new(&format!("/proc/{}", s.pid)).exists(), "reaped");
        assert!(sup.wait_all(Duration::ZERO));
    }

    #[test]
    fn stop_terminates_and_escalates_to_sigkill() {
        let (sup, rx) = supervisor();
        let polite = sup
            .spawn(launch("/bin/sleep", &["60"], DEFAULT_GRACE))
            .unwrap();
        sup.stop(polite.id, None).unwrap();
        let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(done.exit_code, Some(128 + 15), "SIGTERM");

        // The trap only arms once the shell runs it: wait for its mark before stopping.
        let mark = tempfile::tempdir().unwrap();
        let ready = mark.path().join("ready");
        let script = format!("trap '' TERM; : > {}; sleep 60", ready.display());
        let stubborn = sup
            .spawn(launch("/bin/sh", &["-c", &script], Duration::from_secs(60)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "the script did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        let t0 = Instant::now();
        let stopping = sup
            .stop(stubborn.id, Some(Duration::from_millis(300)))
            .unwrap();
        assert_eq!(stopping.state, State::Stopping);
        let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            t0.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!((done.id, done.exit_code), (stubborn.id, Some(128 + 9)));
        assert!(
            !Path::new(&format!("/proc/{}", stubborn.pid)).exists(),
            "reaped"
        );
        assert!(matches!(
            sup.stop(99, None),
            Err(SupervisorError::NotFound(99))
        ));
    }

    #[test]
    fn an_attached_process_is_watched_stopped_and_its_reported_code_kept() {
        let (sup, rx) = supervisor();
        let id = sup.reserve_id();
        let s = sup
            .register(id, &launch("codex", &[], DEFAULT_GRACE))
            .unwrap();
        assert_eq!((s.state, s.pid, s.attached), (State::Starting, 0, true));
        assert!(matches!(
            sup.attach(id, u32::MAX / 2),
            Err(SupervisorError::Attach { .. })
        ));

        // The caller's process: our child here, as codex is codexctl's.
        let mut child = Command::new("/bin/sleep").arg("60").spawn().unwrap();
        let running = sup.attach(id, child.id()).unwrap();
        assert_eq!((running.state, running.pid), (State::Running, child.id()));
        assert!(matches!(
            sup.attach(id, child.id()),
            Err(SupervisorError::NotStarting(_))
        ));
        assert!(sup.set_stalled(id, true));
        assert_eq!(sup.get(id).unwrap().state.as_str(), "stalled");
        assert!(!sup.set_stalled(id, true), "already stalled");

        sup.stop(id, None).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(15), "SIGTERM through the pidfd");
        sup.report_exit(id, 143).unwrap();
        let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((done.id, done.exit_code), (id, Some(143)));
    }

    #[test]
    fn a_registration_stopped_before_attach_ends_at_once() {
        let (sup, rx) = supervisor();
        let id = sup.reserve_id();
        sup.register(id, &launch("codex", &[], DEFAULT_GRACE))
            .unwrap();
        sup.stop(id, None).unwrap();
        let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            (done.id, done.state, done.exit_code),
            (id, State::Exited, Some(-1))
        );
    }

    #[test]
    fn commands_and_environment() {
        let overrides = CliOverrides {
            args: vec!["-c".into(), "model=\"m\"".into()],
            env_key: "CODEX_LAUNCHER_TOKEN",
        };
        let args = exec_args(&overrides, Path::new("/w"), "-hi");
        assert_eq!(args[..3], ["exec", "-c", "model=\"m\""]);
        assert_eq!(args[args.len() - 4..], ["-C", "/w", "--", "-hi"]);
        assert_eq!(
            cli_args(&overrides, Path::new("/w"), ""),
            ["-c", "model=\"m\"", "-C", "/w"]
        );

        let env = |name: &str| match name {
            CODEX_BIN_ENV => Some(OsString::from("/opt/codex")),
            _ => None,
        };
        assert_eq!(codex_program(env), PathBuf::from("/opt/codex"));
        assert_eq!(codex_program(|_| None), PathBuf::from("codex"));

        let dir = tempfile::tempdir().unwrap();
        let xterm = dir.path().join("xterm");
        std::fs::write(&xterm, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&xterm, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let path = OsString::from(dir.path());
        assert_eq!(
            terminal(|_| None, Some(&path)).unwrap(),
            [xterm.display().to_string(), "-e".into()]
        );
        let custom = |_: &str| Some(OsString::from("foot --hold"));
        assert_eq!(terminal(custom, Some(&path)).unwrap(), ["foot", "--hold"]);
        assert_eq!(terminal(|_| None, None), None);
    }
}
