//! Kill & Cleanup: what earlier sessions left behind, found precisely and removed.
//!
//! # What counts
//! - **Processes** of this user (never another's) whose executable is one of the launcher's
//!   programs ([`Program`]): the Codex Desktop binary (every Electron helper shares it) and
//!   Codex's `app-server` (the Desktop's backend). Scripts run by an interpreter match by
//!   their path as the first argument, not by the interpreter. Members of live sessions and
//!   the daemon itself are spared.
//! - **Pid files** the daemon writes per session (`<run>-<session>.pid`: pid and start
//!   time). One from an earlier daemon run names a session that outlived a crashed daemon:
//!   if that very process (same start time) still runs, its group is stopped; the file goes.
//! - **Electron singleton files** (`SingletonLock`, `SingletonSocket`, `SingletonCookie`) in
//!   the Desktop's data directories whose lock names a process of this host that is gone or
//!   being cleaned up: left there, they make the next Desktop start hand over to nobody and
//!   never show a window.
//!
//! Nothing is matched by a process name.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_launcher_types::{CleanupAction, CleanupKind};
use rustix::process::{Pid, Signal};

use crate::procfs::{self, ProcInfo};
use crate::supervisor::wait_gone;

/// A program whose processes count as the launcher's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Canonical path of the executable or script.
    pub path: PathBuf,
    /// An argument the process must have (`app-server`: a Codex the user runs by hand in a
    /// terminal is not the launcher's to stop).
    pub required_arg: Option<String>,
}

impl Program {
    /// The programs a command word stands for: the file it resolves to (through `PATH`),
    /// and for Codex's npm launcher script the native binaries it starts.
    pub fn resolve(
        word: &str,
        path_var: Option<&std::ffi::OsStr>,
        required_arg: Option<&str>,
    ) -> Vec<Program> {
        let Some(file) = find_program(word, path_var) else {
            return Vec::new();
        };
        let Ok(file) = file.canonicalize() else {
            return Vec::new();
        };
        let mut out = vec![file.clone()];
        // node_modules/@openai/codex/bin/codex.js starts
        // node_modules/@openai/codex-linux-*/vendor/<triple>/bin/codex (or nested below).
        if let Some(pkg) = file.parent().and_then(Path::parent) {
            for scope in [
                pkg.join("node_modules/@openai"),
                pkg.parent().map(Path::to_path_buf).unwrap_or_default(),
            ] {
                out.extend(native_binaries(&scope));
            }
        }
        out.sort();
        out.dedup();
        out.into_iter()
            .map(|path| Program {
                path,
                required_arg: required_arg.map(str::to_owned),
            })
            .collect()
    }

    fn matches(&self, p: &ProcInfo) -> bool {
        let exe = p.exe.as_deref().map(strip_deleted);
        let by_exe = exe.as_deref() == Some(self.path.as_path());
        let by_script = p
            .cmdline
            .get(1)
            .map(Path::new)
            .filter(|a| a.is_absolute())
            .and_then(|a| a.canonicalize().ok())
            .is_some_and(|a| a == self.path);
        let arg_ok = self
            .required_arg
            .as_ref()
            .is_none_or(|want| p.cmdline.iter().skip(1).any(|a| a == want));
        (by_exe || by_script) && arg_ok
    }
}

/// `/proc/<pid>/exe` of a process whose file was replaced (an update) ends in " (deleted)".
fn strip_deleted(exe: &Path) -> PathBuf {
    let s = exe.to_string_lossy();
    PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s))
}

fn find_program(word: &str, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let p = Path::new(word);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(word))
        .find(|c| c.is_file())
}

fn native_binaries(scope: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(pkgs) = std::fs::read_dir(scope) else {
        return out;
    };
    for pkg in pkgs.flatten() {
        if !pkg.file_name().to_string_lossy().starts_with("codex-") {
            continue;
        }
        let Ok(triples) = std::fs::read_dir(pkg.path().join("vendor")) else {
            continue;
        };
        for t in triples.flatten() {
            let bin = t.path().join("bin/codex");
            let old = t.path().join("codex/codex");
            for b in [bin, old] {
                if let Ok(b) = b.canonicalize() {
                    out.push(b);
                }
            }
        }
    }
    out
}

/// Where to look and what to spare.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// This user.
    pub uid: u32,
    /// Programs whose processes are the launcher's.
    pub programs: Vec<Program>,
    /// Processes never touched (the daemon, live sessions' processes).
    pub spare_pids: HashSet<u32>,
    /// Process groups never touched (live sessions).
    pub spare_pgids: HashSet<u32>,
    /// The per-session pid files.
    pub pid_dir: PathBuf,
    /// This daemon run's pid-file prefix (its files are live sessions').
    pub current_run: String,
    /// Codex Desktop's data directories (Electron singleton files).
    pub singleton_dirs: Vec<PathBuf>,
    /// This host's name (singleton locks are `host-pid`).
    pub hostname: String,
}

/// What was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A process (stopped alone).
    Process,
    /// A process group led by a session of an earlier daemon run.
    SessionGroup,
    /// A pid file.
    PidFile,
    /// An Electron singleton lock or cookie.
    Lock,
    /// An Electron singleton socket.
    Socket,
}

impl Kind {
    /// What it is, as the contract names it (coarser than [`Kind`]).
    pub fn public(&self) -> CleanupKind {
        match self {
            Kind::Process | Kind::SessionGroup => CleanupKind::Process,
            Kind::PidFile | Kind::Lock => CleanupKind::PidFile,
            Kind::Socket => CleanupKind::Socket,
        }
    }
}

/// One leftover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub kind: Kind,
    /// Process id (0 for files).
    pub pid: u32,
    /// Its start time (processes), so the pid cannot name another process by the time it
    /// is signalled.
    pub start_time: u64,
    /// Executable or file.
    pub path: PathBuf,
    /// For people.
    pub description: String,
}

/// A pid file's name for session `id` of run `run`.
pub fn pid_file_name(run: &str, id: u64) -> String {
    format!("{run}-{id}.pid")
}

/// A pid file's content.
pub fn pid_file_content(p: &ProcInfo) -> String {
    format!("{} {}\n", p.pid, p.start_time)
}

/// Find leftovers among `procs` (this user's processes) and on disk.
pub fn scan(t: &Targets, procs: &[ProcInfo]) -> Vec<Found> {
    let mut found = Vec::new();
    let spared = |p: &ProcInfo| {
        p.uid != t.uid || t.spare_pids.contains(&p.pid) || t.spare_pgids.contains(&p.pgid)
    };
    for p in procs {
        if spared(p) {
            continue;
        }
        if let Some(prog) = t.programs.iter().find(|prog| prog.matches(p)) {
            found.push(Found {
                kind: Kind::Process,
                pid: p.pid,
                start_time: p.start_time,
                path: prog.path.clone(),
                description: format!(
                    "{} (pid {}) left by an earlier session",
                    p.cmdline.join(" "),
                    p.pid
                ),
            });
        }
    }
    scan_pid_files(t, procs, &mut found);
    let stopping: HashSet<u32> = found.iter().map(|f| f.pid).collect();
    for dir in &t.singleton_dirs {
        scan_singleton(t, dir, procs, &stopping, &mut found);
    }
    found
}

fn scan_pid_files(t: &Targets, procs: &[ProcInfo], found: &mut Vec<Found>) {
    let Ok(entries) = std::fs::read_dir(&t.pid_dir) else {
        return;
    };
    let mine = format!("{}-", t.current_run);
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".pid") || name.starts_with(&mine) {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let mut words = text.split_whitespace().map(|w| w.parse::<u64>().ok());
        let (pid, start) = (words.next().flatten(), words.next().flatten());
        let alive = match (pid, start) {
            (Some(pid), Some(start)) => procs
                .iter()
                .find(|p| u64::from(p.pid) == pid && p.start_time == start && p.uid == t.uid),
            _ => None,
        };
        if let Some(p) = alive.filter(|p| !t.spare_pgids.contains(&p.pgid)) {
            found.push(Found {
                kind: Kind::SessionGroup,
                pid: p.pid,
                start_time: p.start_time,
                path: p.exe.clone().unwrap_or_default(),
                description: format!(
                    "session from an earlier daemon run still running: {} (pid {})",
                    p.cmdline.join(" "),
                    p.pid
                ),
            });
        }
        found.push(Found {
            kind: Kind::PidFile,
            pid: 0,
            start_time: 0,
            path: e.path(),
            description: if alive.is_some() {
                "pid file of that session".into()
            } else {
                "pid file of a session that is gone".into()
            },
        });
    }
}

fn scan_singleton(
    t: &Targets,
    dir: &Path,
    procs: &[ProcInfo],
    stopping: &HashSet<u32>,
    found: &mut Vec<Found>,
) {
    let lock = dir.join("SingletonLock");
    let Ok(target) = std::fs::read_link(&lock) else {
        return;
    };
    let target = target.to_string_lossy().into_owned();
    let Some((host, pid)) = target.rsplit_once('-') else {
        return;
    };
    if host != t.hostname {
        // Another machine's (a shared home): not ours to judge.
        return;
    }
    let pid: Option<u32> = pid.parse().ok();
    let holder_alive = pid.is_some_and(|pid| procs.iter().any(|p| p.pid == pid));
    if holder_alive && !pid.is_some_and(|pid| stopping.contains(&pid)) {
        return;
    }
    for (name, kind) in [
        ("SingletonLock", Kind::Lock),
        ("SingletonCookie", Kind::Lock),
        ("SingletonSocket", Kind::Socket),
    ] {
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() {
            found.push(Found {
                kind,
                pid: 0,
                start_time: 0,
                path,
                description: format!("Codex Desktop singleton file of {target}, which is gone"),
            });
        }
    }
}

/// Stop or remove one leftover; what was done. Processes get SIGTERM, then SIGKILL after
/// `grace`.
pub fn act(f: &Found, grace: Duration) -> CleanupAction {
    match f.kind {
        Kind::Process | Kind::SessionGroup => stop_process(f, grace),
        Kind::PidFile | Kind::Lock | Kind::Socket => match std::fs::remove_file(&f.path) {
            Ok(()) => CleanupAction::Removed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CleanupAction::Removed,
            Err(e) => CleanupAction::failed(e),
        },
    }
}

fn stop_process(f: &Found, grace: Duration) -> CleanupAction {
    let Some(pid) = i32::try_from(f.pid).ok().and_then(Pid::from_raw) else {
        return CleanupAction::failed("not a pid");
    };
    let pidfd = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return CleanupAction::Terminated,
        Err(e) => return CleanupAction::failed(e),
    };
    // The pidfd pins a process; make sure it is the one that was found, not a newcomer
    // with its recycled pid.
    if procfs::read(f.pid).is_none_or(|p| p.start_time != f.start_time) {
        return CleanupAction::Terminated;
    }
    let send = |sig: Signal| {
        if f.kind == Kind::SessionGroup {
            rustix::process::kill_process_group(pid, sig)
        } else {
            rustix::process::pidfd_send_signal(&pidfd, sig)
        }
    };
    if let Err(e) = send(Signal::TERM) {
        return CleanupAction::failed(e);
    }
    if wait_gone(&pidfd, grace) {
        return CleanupAction::Terminated;
    }
    match send(Signal::KILL) {
        Ok(()) if wait_gone(&pidfd, Duration::from_secs(5)) => CleanupAction::Killed,
        Ok(()) => CleanupAction::failed("still running after SIGKILL"),
        Err(e) => CleanupAction::failed(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    fn script(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        p.canonicalize().unwrap()
    }

    #[test]
    fn finds_only_the_launchers_processes_and_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        let desktop = dir.path().join("codex-desktop");
        std::fs::copy("/bin/sleep", &desktop).unwrap();
        let desktop = desktop.canonicalize().unwrap();
        let other = script(dir.path(), "other.sh");

        let mut stale = Command::new(&desktop).arg("60").spawn().unwrap();
        let mut spared = Command::new(&desktop).arg("61").spawn().unwrap();
        let mut unrelated = Command::new("/bin/sleep").arg("60").spawn().unwrap();
        let mut by_script = Command::new("/bin/sh").arg(&other).spawn().unwrap();

        let pid_dir = dir.path().join("pids");
        std::fs::create_dir(&pid_dir).unwrap();
        std::fs::write(pid_dir.join("old-1.pid"), "999999999 5\n").unwrap();
        std::fs::write(pid_dir.join("now-1.pid"), "1 1\n").unwrap();
        let data = dir.path().join("Codex");
        std::fs::create_dir(&data).unwrap();
        std::os::unix::fs::symlink("host-999999999", data.join("SingletonLock")).unwrap();
        std::os::unix::fs::symlink("/nowhere/sock", data.join("SingletonSocket")).unwrap();
        let foreign = dir.path().join("Foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::os::unix::fs::symlink("otherhost-1", foreign.join("SingletonLock")).unwrap();

        let uid = rustix::process::getuid().as_raw();
        let t = Targets {
            uid,
            programs: vec![
                Program {
                    path: desktop.clone(),
                    required_arg: None,
                },
                Program {
                    path: other.clone(),
                    required_arg: Some("app-server".into()),
                },
            ],
            spare_pids: [spared.id()].into(),
            spare_pgids: HashSet::new(),
            pid_dir: pid_dir.clone(),
            current_run: "now".into(),
            singleton_dirs: vec![data.clone(), foreign.clone()],
            hostname: "host".into(),
        };
        let found = scan(&t, &procfs::of_user(uid));
        let pids: Vec<u32> = found.iter().filter(|f| f.pid != 0).map(|f| f.pid).collect();
        assert_eq!(pids, [stale.id()], "{found:#?}");
        let files: Vec<&Path> = found
            .iter()
            .filter(|f| f.pid == 0)
            .map(|f| f.path.as_path())
            .collect();
        assert_eq!(
            files,
            [
                pid_dir.join("old-1.pid").as_path(),
                data.join("SingletonLock").as_path(),
                data.join("SingletonSocket").as_path()
            ]
        );

        let actions: Vec<String> = found
            .iter()
            .map(|f| act(f, Duration::from_secs(5)).to_string())
            .collect();
        assert_eq!(actions, ["terminated", "removed", "removed", "removed"]);
        assert!(stale.wait().unwrap().signal().is_some());
        assert!(!pid_dir.join("old-1.pid").exists() && pid_dir.join("now-1.pid").exists());
        assert!(foreign.join("SingletonLock").symlink_metadata().is_ok());
        for c in [&mut spared, &mut unrelated, &mut by_script] {
            assert_eq!(c.try_wait().unwrap(), None, "left alone");
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}
