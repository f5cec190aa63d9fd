//! Kill & Cleanup decisions: what counts as left behind, given the sessions the owner knows.
//! Matching processes and files is the engine's ([`codex_launcher_engine::cleanup`]); this
//! decides what to spare and which config.toml backups nobody holds.
//!
//! A session counts as live from the moment the owner planned it until its exit was
//! handled: its processes and their descendants are spared, and the backup it holds is
//! never restored under it, even while it is still starting.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use codex_launcher_engine::cleanup::{Program, Targets};
use codex_launcher_engine::procfs::ProcInfo;
use codex_launcher_engine::supervisor;

use crate::planning::Environment;

/// Env var with extra Codex Desktop data directories (`:`-separated).
pub const DESKTOP_DATA_ENV: &str = "CODEX_LAUNCHER_DESKTOP_DATA";

/// A session that has not exited, as cleanup needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Its process (0: registered, no process yet).
    pub pid: u32,
    /// Started by someone else and handed over (shares the caller's process group).
    pub attached: bool,
}

/// Everything the scan needs besides `/proc`.
pub struct Scope<'a> {
    /// The daemon's environment (Codex and Desktop commands, `PATH`).
    pub env: &'a dyn Environment,
    /// This user.
    pub uid: u32,
    /// The daemon's own pid.
    pub own_pid: u32,
    /// Sessions not yet exited.
    pub live: &'a [Live],
    /// The home directory (for `~/.config`).
    pub home: &'a Path,
    /// The per-session pid files.
    pub pid_dir: PathBuf,
    /// This daemon run's pid-file prefix.
    pub current_run: String,
    /// This host's name.
    pub hostname: String,
}

/// What to look for and what to spare.
pub fn targets(scope: &Scope<'_>, procs: &[ProcInfo]) -> Targets {
    let env = scope.env;
    let path_var = env.var("PATH");
    let codex = supervisor::codex_program(|n| env.var(n));
    let codex_word = codex.display().to_string();
    let desktop = supervisor::desktop_command(|n| env.var(n), &codex);
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

    let mut spare_pids: HashSet<u32> = [scope.own_pid].into();
    let mut spare_pgids = HashSet::new();
    for s in scope.live.iter().filter(|s| s.pid != 0) {
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
    let config = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| scope.home.join(".config"));
    let mut singleton_dirs: Vec<PathBuf> = ["Codex", "codex-desktop", "Codex Desktop"]
        .iter()
        .map(|n| config.join(n))
        .collect();
    if let Some(extra) = env.var(DESKTOP_DATA_ENV) {
        singleton_dirs.extend(std::env::split_paths(&extra).filter(|p| p.is_absolute()));
    }
    Targets {
        uid: scope.uid,
        programs,
        spare_pids,
        spare_pgids,
        pid_dir: scope.pid_dir.clone(),
        current_run: scope.current_run.clone(),
        singleton_dirs,
        hostname: scope.hostname.clone(),
    }
}

/// Backups in the journal that no session of this run holds (a session whose release
/// failed, say). `held` has the backup of every session not yet exited, starting ones
/// included.
pub fn stale_backups(journal: Vec<String>, held: &HashSet<String>) -> Vec<String> {
    journal.into_iter().filter(|k| !held.contains(k)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn proc_info(pid: u32, ppid: u32, pgid: u32) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            pgid,
            uid: 1000,
            start_time: 1,
            exe: Some(PathBuf::from("/usr/bin/x")),
            cmdline: vec!["x".into()],
            cpu_ticks: 0,
        }
    }

    #[test]
    fn a_starting_sessions_backup_is_never_restored() {
        let held: HashSet<String> = ["desktop-1-ds-3".to_owned()].into();
        let journal = vec!["desktop-1-ds-3".to_owned(), "desktop-0-ds-1".to_owned()];
        assert_eq!(stale_backups(journal, &held), ["desktop-0-ds-1"]);
    }

    #[test]
    fn live_sessions_and_everything_they_started_are_spared() {
        let env: HashMap<String, String> = HashMap::new();
        let live = [
            Live {
                pid: 100,
                attached: false,
            },
            Live {
                pid: 0,
                attached: true,
            },
            Live {
                pid: 300,
                attached: true,
            },
        ];
        let procs = [
            proc_info(100, 1, 100),
            proc_info(101, 100, 100),
            proc_info(102, 1, 100),   // same group, reparented
            proc_info(103, 102, 103), // a child of that, own group
            proc_info(300, 299, 299), // attached: its caller's group
            proc_info(299, 1, 299),   // the caller's shell: not ours to spare
            proc_info(500, 1, 500),
        ];
        let home = PathBuf::from("/home/u");
        let t = targets(
            &Scope {
                env: &env,
                uid: 1000,
                own_pid: 42,
                live: &live,
                home: &home,
                pid_dir: PathBuf::from("/s/pids"),
                current_run: "run".into(),
                hostname: "h".into(),
            },
            &procs,
        );
        let mut spared: Vec<u32> = t.spare_pids.iter().copied().collect();
        spared.sort_unstable();
        assert_eq!(spared, [42, 100, 101, 102, 103, 300]);
        assert_eq!(t.spare_pgids, [100].into());
        assert_eq!(t.singleton_dirs[0], PathBuf::from("/home/u/.config/Codex"));
    }
}
