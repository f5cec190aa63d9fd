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

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

use crate::codex_config::CliOverrides;

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

/// Variables of the daemon's own environment that a session must not inherit: systemd's
/// (a child writing to our NOTIFY_SOCKET would speak for the daemon), and provider keys
/// (sessions reach providers through the proxy, which holds the keys).
const SCRUBBED: [&str; 8] = [
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "OPENAI_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
];

/// How a session runs Codex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Interactive `codex` in a terminal emulator.
    Cli,
    /// Headless `codex exec` on one prompt, without approvals or sandbox: for automation
    /// and the test suite. Output goes to the session's log file.
    Exec,
    /// Codex Desktop ([`desktop_command`]). It reads config.toml, not `-c` flags, so the
    /// daemon writes its provider there for the session (backed up, restored after).
    Desktop,
    /// "Codex Default": Codex in a terminal on its built-in OpenAI login, with none of the
    /// launcher's provider settings (removed from config.toml for the session if present).
    DefaultCli,
    /// "Codex Default" for Codex Desktop.
    DefaultDesktop,
}

impl Mode {
    /// `cli` or `exec`.
    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "cli" => Some(Mode::Cli),
            "exec" => Some(Mode::Exec),
            "desktop" => Some(Mode::Desktop),
            "default-cli" => Some(Mode::DefaultCli),
            "default-desktop" => Some(Mode::DefaultDesktop),
            _ => None,
        }
    }

    /// The name [`Mode::parse`] takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cli => "cli",
            Mode::Exec => "exec",
            Mode::Desktop => "desktop",
            Mode::DefaultCli => "default-cli",
            Mode::DefaultDesktop => "default-desktop",
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Started, not asked to stop.
    Running,
    /// SIGTERM sent; SIGKILL follows after the grace period.
    Stopping,
    /// Exited and reaped.
    Exited,
}

impl State {
    /// `running`, `stopping`, `exited`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Stopping => "stopping",
            State::Exited => "exited",
        }
    }
}

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
}

/// Called once per session, from its waiter thread, after it exited and was reaped.
pub type ExitHook = Box<dyn Fn(&Session) + Send + Sync>;

struct Shared {
    sessions: Mutex<BTreeMap<u64, Session>>,
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

/// The running (and exited) sessions.
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
                exited: Condvar::new(),
                on_exit,
            }),
        }
    }

    /// Start a session.
    pub fn spawn(&self, launch: Launch) -> Result<Session, SupervisorError> {
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
        let id = sessions.keys().next_back().map_or(1, |last| last + 1);
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
        if session.state != State::Running {
            return Ok(session.clone());
        }
        signal_group(session.pid, Signal::TERM);
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
            signal_group(session.pid, Signal::KILL);
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
    let Some(session) = sessions.get_mut(&id) else {
        return;
    };
    session.state = State::Exited;
    session.exit_code = Some(code);
    let snapshot = session.clone();
    drop(sessions);
    shared.exited.notify_all();
    tracing::info!(
        session = id,
        pid = snapshot.pid,
        exit_code = code,
        "session exited"
    );
    (shared.on_exit)(&snapshot);
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

/// Names among `vars` (the daemon's environment) that sessions must not inherit: systemd's
/// variables and provider keys (any `*_API_KEY`).
pub fn scrubbed_env(vars: impl Iterator<Item = OsString>) -> Vec<String> {
    let mut out: Vec<String> = SCRUBBED.iter().map(|s| (*s).to_owned()).collect();
    for name in vars.filter_map(|v| v.into_string().ok()) {
        if name.ends_with("_API_KEY") && !out.contains(&name) {
            out.push(name);
        }
    }
    out
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

        let scrubbed = scrubbed_env(["DEEPSEEK_API_KEY", "PATH"].map(OsString::from).into_iter());
        assert!(scrubbed.contains(&"DEEPSEEK_API_KEY".to_owned()));
        assert!(scrubbed.contains(&"NOTIFY_SOCKET".to_owned()));
        assert!(!scrubbed.contains(&"PATH".to_owned()));
    }
}
