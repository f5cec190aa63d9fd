//! What `/proc` says about this user's processes: enough to tell a stale Codex process from
//! anything else (owner, executable, arguments, process group, start time) and whether a
//! session still uses CPU.

use std::path::{Path, PathBuf};

/// One process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id.
    pub pid: u32,
    /// Real owner (of the `/proc/<pid>` directory).
    pub uid: u32,
    /// Parent.
    pub ppid: u32,
    /// Process group.
    pub pgid: u32,
    /// Start time in clock ticks since boot: with the pid, it names one process for good
    /// (a recycled pid starts later).
    pub start_time: u64,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// `/proc/<pid>/exe` (unreadable for other users' processes, kernel threads).
    pub exe: Option<PathBuf>,
    /// Arguments.
    pub cmdline: Vec<String>,
}

/// The `stat` fields we use, from its text. `comm` is in parentheses and may hold spaces or
/// parentheses itself, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(u32, u32, u64, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state): field n is f[n - 3].
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let ppid = u32::try_from(num(4)?).ok()?;
    let pgid = u32::try_from(num(5)?).ok()?;
    let cpu = num(14)?.saturating_add(num(15)?);
    Some((ppid, pgid, cpu, num(22)?))
}

/// One process under `proc_root` (normally `/proc`), if it exists.
pub fn read_at(proc_root: &Path, pid: u32) -> Option<ProcInfo> {
    let dir = proc_root.join(pid.to_string());
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let (ppid, pgid, cpu_ticks, start_time) = parse_stat(&stat)?;
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir).ok()?);
    let cmdline = std::fs::read(dir.join("cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(ProcInfo {
        pid,
        uid,
        ppid,
        pgid,
        start_time,
        cpu_ticks,
        exe: std::fs::read_link(dir.join("exe")).ok(),
        cmdline,
    })
}

/// One process, from `/proc`.
pub fn read(pid: u32) -> Option<ProcInfo> {
    read_at(Path::new("/proc"), pid)
}

/// This process's real user id.
pub fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Every process `uid` owns.
pub fn of_user(uid: u32) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read)
        .filter(|p| p.uid == uid)
        .collect()
}

/// CPU ticks of every process in group `pgid`, plus the process `pid` and its descendants
/// (an attached session's Codex is not a group leader).
pub fn session_cpu(procs: &[ProcInfo], pgid: u32, pid: u32) -> u64 {
    let mut members: Vec<u32> = procs
        .iter()
        .filter(|p| p.pgid == pgid || p.pid == pid)
        .map(|p| p.pid)
        .collect();
    // Descendants in other groups (a terminal's shell): a few passes reach any depth we see.
    for _ in 0..8 {
        let before = members.len();
        for p in procs {
            if members.contains(&p.ppid) && !members.contains(&p.pid) {
                members.push(p.pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    procs
        .iter()
        .filter(|p| members.contains(&p.pid))
        .fold(0, |acc, p| acc.saturating_add(p.cpu_ticks))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn stat_with_odd_comm() {
        let text = "42 (a) b (c)) S 1 40 40 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 987 1 2";
        assert_eq!(parse_stat(text), Some((1, 40, 12, 987)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn reads_itself() {
        let me = read(std::process::id()).unwrap();
        assert_eq!(me.uid, rustix::process::getuid().as_raw());
        assert!(me.exe.is_some());
        assert!(!me.cmdline.is_empty());
        assert!(of_user(me.uid).iter().any(|p| p.pid == me.pid));
        assert_eq!(
            session_cpu(std::slice::from_ref(&me), 0, me.pid),
            me.cpu_ticks
        );
    }
}
