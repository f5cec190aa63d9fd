//! `codexctl logs` and `codexctl doctor`: the commands that look at the machine, not only at
//! the daemon.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use codex_launcher_dbus::{CodexInfo, CodexVerdict};
use serde::Serialize;

use crate::error::{CliError, Kind, Result};
use crate::output::{self, Style};

/// The port the socket unit listens on (systemd/codex-launcherd.socket).
pub const SOCKET_PORT: u16 = 47821;

/// `name` on `$PATH`, if there.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Run a short command; its success and trimmed stdout. `None` when it cannot be started.
fn capture(program: &Path, args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}

/// Whether a systemd user manager answers (`systemctl --user` works).
fn user_manager() -> Option<PathBuf> {
    let systemctl = which("systemctl")?;
    let (ok, _) = capture(&systemctl, &["--user", "show", "--property=Version"])?;
    ok.then_some(systemctl)
}

const STDERR_HINT: &str = "codex-launcherd logs to its stderr: run it in a terminal \
(`RUST_LOG=debug codex-launcherd`) to see the log there, or look where the program that \
started it (the session bus) sends its output";

/// `codexctl logs [-f]`: hand over to journalctl.
pub fn logs(follow: bool) -> Result<()> {
    let Some(journalctl) = which("journalctl") else {
        return Err(CliError::new(
            Kind::Other,
            format!("journalctl is not installed; {STDERR_HINT}"),
        ));
    };
    if user_manager().is_none() {
        return Err(CliError::new(
            Kind::Other,
            format!(
                "no systemd user manager is running, so the daemon is not a unit and its log \
                 is not in the journal; {STDERR_HINT}"
            ),
        ));
    }
    let mut cmd = Command::new(journalctl);
    cmd.args(["--user", "-u", "codex-launcherd"]);
    if follow {
        cmd.arg("-f");
    }
    use std::os::unix::process::CommandExt;
    // exec, not spawn: journalctl gets the terminal (pager, colours, Ctrl-C) as if run directly.
    let err = cmd.exec();
    Err(CliError::new(
        Kind::Other,
        format!("cannot run journalctl: {err}"),
    ))
}

/// A doctor verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// One doctor check.
#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    verdict: Verdict,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn new(check: &'static str, verdict: Verdict, detail: impl Into<String>) -> Check {
        Check {
            check,
            verdict,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

fn check_codex() -> Check {
    let bin = match std::env::var_os("CODEX_BIN").filter(|v| !v.is_empty()) {
        Some(b) => Some(PathBuf::from(b)),
        None => which("codex"),
    };
    let Some(bin) = bin else {
        return Check::new("codex", Verdict::Fail, "the Codex CLI is not on PATH")
            .fix("install it: `npm install -g @openai/codex` (or set CODEX_BIN to its path)");
    };
    match capture(&bin, &["--version"]) {
        Some((true, version)) => Check::new(
            "codex",
            Verdict::Ok,
            format!("{} ({})", or_unknown(&version), bin.display()),
        ),
        _ => Check::new(
            "codex",
            Verdict::Fail,
            format!("`{} --version` failed", bin.display()),
        )
        .fix("reinstall it: `npm install -g @openai/codex` (or point CODEX_BIN at a working one)"),
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "version unknown" } else { s }
}

/// What the daemon told us, for the later checks.
#[derive(Default)]
struct DaemonFacts {
    proxy_address: Option<String>,
    key_storages: Vec<String>,
    /// Where the daemon keeps keys now (`secret-service`, `locked`, `file`).
    key_storage: String,
    /// The Codex its sessions run (`None`: not asked, or a daemon without `CodexInfo`).
    codex: Option<std::result::Result<CodexInfo, String>>,
}

async fn check_daemon() -> (Check, DaemonFacts) {
    let attempt = async {
        let conn = crate::bus::connect().await?;
        let m = crate::bus::manager(&conn).await?;
        // A method call (not a property read) so that the bus activates the daemon.
        m.ping().await?;
        let version = m.version().await?;
        let address = m.proxy_address().await?;
        let storages = m
            .list_endpoints()
            .await?
            .into_iter()
            .filter(|e| e.has_key)
            .map(|e| e.key_storage)
            .collect();
        let storage = m.key_storage().await?;
        Ok::<_, CliError>((version, address, storages, storage))
    };
    match tokio::time::timeout(Duration::from_secs(30), attempt).await {
        Ok(Ok((version, address, key_storages, key_storage))) => (
            Check::new(
                "daemon",
                Verdict::Ok,
                format!("codex-launcherd {version}, proxy at {address}"),
            ),
            DaemonFacts {
                proxy_address: Some(address),
                key_storages,
                key_storage,
                codex: Some(daemon_codex().await),
            },
        ),
        Ok(Err(e)) => (
            Check::new("daemon", Verdict::Fail, e.message)
                .fix("run ./install.sh, or `systemctl --user start codex-launcherd.socket`"),
            DaemonFacts::default(),
        ),
        Err(_) => (
            Check::new("daemon", Verdict::Fail, "no answer within 30 s").fix(
                "`codexctl logs` shows why it hangs; `systemctl --user restart codex-launcherd`",
            ),
            DaemonFacts::default(),
        ),
    }
}

// ---- Codex version (issue 17) ----

/// The Codex the daemon's sessions run, as the daemon sees it (its own `PATH` and
/// `CODEX_BIN`, which may not be this shell's). It runs `codex --version` for the answer.
async fn daemon_codex() -> std::result::Result<CodexInfo, String> {
    let ask = async {
        let conn = crate::bus::connect().await?;
        let m = crate::bus::manager(&conn).await?;
        Ok::<_, CliError>(m.codex_info().await?)
    };
    match tokio::time::timeout(Duration::from_secs(30), ask).await {
        Ok(Ok(info)) => Ok(info),
        Ok(Err(e)) => Err(e.message),
        Err(_) => Err("no answer within 30 s".to_owned()),
    }
}

/// The version verdict: within the tested releases is ok; older, newer or unknown is a
/// warning ("untested"), never a failure, since a newer Codex usually works.
fn check_version(facts: &DaemonFacts) -> Check {
    let name = "version";
    let info = match &facts.codex {
        None => return Check::new(name, Verdict::Skip, "the daemon did not answer"),
        Some(Err(e)) => {
            return Check::new(
                name,
                Verdict::Skip,
                format!("the daemon did not say which Codex it runs: {e}"),
            );
        }
        Some(Ok(info)) => info,
    };
    let detail = format!("{} ({})", info.message, info.program);
    match info.verdict {
        CodexVerdict::Tested => Check::new(name, Verdict::Ok, detail),
        CodexVerdict::Older | CodexVerdict::Newer => Check::new(name, Verdict::Warn, detail),
        CodexVerdict::Unknown => Check::new(name, Verdict::Warn, detail).fix(
            "the daemon runs CODEX_BIN, else `codex` on its own PATH: install Codex \
             (`npm install -g @openai/codex`) or set CODEX_BIN in the daemon's environment \
             (`systemctl --user edit codex-launcherd.service`)",
        ),
    }
}

fn check_units() -> (Check, bool) {
    let Some(systemctl) = user_manager() else {
        return (
            Check::new(
                "units",
                Verdict::Skip,
                "no systemd user manager (the daemon is started by the session bus instead)",
            ),
            false,
        );
    };
    let state = capture(
        &systemctl,
        &["--user", "is-enabled", "codex-launcherd.socket"],
    )
    .map(|(_, out)| out)
    .unwrap_or_default();
    let active = capture(
        &systemctl,
        &["--user", "is-active", "codex-launcherd.socket"],
    )
    .is_some_and(|(ok, out)| ok && out == "active");
    let check = match state.as_str() {
        "enabled" | "enabled-runtime" | "static" | "linked" => Check::new(
            "units",
            Verdict::Ok,
            format!("codex-launcherd.socket is {state}"),
        ),
        "" | "not-found" => Check::new(
            "units",
            Verdict::Fail,
            "codex-launcherd.socket is not installed",
        )
        .fix("run ./install.sh"),
        other => Check::new(
            "units",
            Verdict::Fail,
            format!("codex-launcherd.socket is {other}"),
        )
        .fix("systemctl --user enable --now codex-launcherd.socket"),
    };
    (check, active)
}

fn check_port(facts: &DaemonFacts, socket_active: bool) -> Check {
    let name = "port";
    match std::net::TcpListener::bind(("127.0.0.1", SOCKET_PORT)) {
        Ok(_) => Check::new(
            name,
            Verdict::Ok,
            format!("127.0.0.1:{SOCKET_PORT} is free (the socket unit takes it when started)"),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let ours = facts
                .proxy_address
                .as_deref()
                .is_some_and(|a| a.ends_with(&format!(":{SOCKET_PORT}")));
            if ours || socket_active {
                Check::new(
                    name,
                    Verdict::Ok,
                    format!("127.0.0.1:{SOCKET_PORT} is codex-launcherd's"),
                )
            } else {
                Check::new(
                    name,
                    Verdict::Fail,
                    format!("127.0.0.1:{SOCKET_PORT} is used by another program"),
                )
                .fix(format!(
                    "find it with `ss -ltnp 'sport = :{SOCKET_PORT}'` and stop it"
                ))
            }
        }
        Err(e) => Check::new(
            name,
            Verdict::Warn,
            format!("cannot test 127.0.0.1:{SOCKET_PORT}: {e}"),
        ),
    }
}

fn check_keyring(daemon_ok: bool, facts: &DaemonFacts) -> Check {
    use codex_launcher_dbus::KeyStorage;
    let name = "keyring";
    if !daemon_ok {
        return Check::new(name, Verdict::Skip, "the daemon did not answer");
    }
    match facts.key_storage.parse::<KeyStorage>() {
        Ok(KeyStorage::Locked) => Check::new(
            name,
            Verdict::Warn,
            "the keyring is locked: unlock it (endpoints whose keys are in it cannot be used              until then; new keys cannot be stored)",
        )
        .fix(
            "unlock your login keyring (your desktop's unlock prompt, or Seahorse); the daemon              picks the keys up at once",
        ),
        Ok(KeyStorage::File) => Check::new(
            name,
            if facts.key_storages.is_empty() {
                Verdict::Skip
            } else {
                Verdict::Warn
            },
            "no Secret Service runs on this session: keys are kept in a 0600 file              (~/.local/state/codex-launcher/keys.json)",
        )
        .fix(
            "install a Secret Service (gnome-keyring, KeePassXC) and log in again, then store the              keys again with `codexctl endpoint edit ID --api-key-stdin`",
        ),
        Ok(KeyStorage::SecretService) if facts.key_storages.iter().any(|s| s == "file") => {
            Check::new(
                name,
                Verdict::Warn,
                "some keys are still in the 0600 file from before the keyring ran",
            )
            .fix("store them again with `codexctl endpoint edit ID --api-key-stdin`")
        }
        Ok(KeyStorage::SecretService) => {
            Check::new(name, Verdict::Ok, "keys are kept in the Secret Service keyring")
        }
        Err(_) => Check::new(name, Verdict::Skip, "the daemon did not say where keys are"),
    }
}

#[derive(Serialize)]
struct DoctorJson {
    ok: bool,
    checks: Vec<Check>,
}

/// `codexctl doctor`: every check, then exit 1 if one failed.
pub async fn doctor(json: bool) -> Result<()> {
    let codex = check_codex();
    let (daemon, facts) = check_daemon().await;
    let daemon_ok = daemon.verdict == Verdict::Ok;
    let version = check_version(&facts);
    let (units, socket_active) = check_units();
    let port = check_port(&facts, socket_active);
    let keyring = check_keyring(daemon_ok, &facts);
    let checks = vec![codex, daemon, version, units, port, keyring];
    let failed = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    if json {
        output::json(&DoctorJson {
            ok: failed == 0,
            checks,
        })?;
    } else {
        let style = Style::stdout();
        for c in &checks {
            let verdict = match c.verdict {
                Verdict::Ok => style.green("ok  "),
                Verdict::Warn => style.yellow("warn"),
                Verdict::Fail => style.red("fail"),
                Verdict::Skip => style.dim("skip"),
            };
            output::out(&format!("{verdict}  {:<8} {}", c.check, c.detail));
            if let Some(fix) = &c.fix {
                output::out(&format!("      {:<8} fix: {fix}", ""));
            }
        }
    }
    if failed > 0 {
        return Err(CliError::new(
            Kind::Other,
            format!("{failed} check(s) failed"),
        ));
    }
    Ok(())
}
