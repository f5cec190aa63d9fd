//! Which Codex CLI is installed, whether the project tests it, and what a session of that
//! version needs.
//!
//! Pure but for [`detect`], which runs `codex --version` (once per launch, on the daemon's
//! blocking pool) and hands its output to [`CodexVersion::from_version_output`]; everything
//! else is a function of that text.
//!
//! - [`verdict`]: older than [`OLDEST_TESTED`], within the tested range, or newer than
//!   [`NEWEST_TESTED`]. Outside the range is "untested", never a failure: Codex changes
//!   often and a newer release usually still works.
//! - [`process_mode`] / [`session_overrides`]: whether a session gets
//!   `responses.process_mode = "after_complete_response"` (Codex 0.171.0 and later).

use std::cmp::Ordering;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::supervisor::Mode;

/// The oldest Codex CLI release the test suite runs against (`./test.sh`).
pub const OLDEST_TESTED: CodexVersion = CodexVersion::new(0, 169, 0);

/// The newest Codex CLI release the test suite runs against; the pinned one.
pub const NEWEST_TESTED: CodexVersion = CodexVersion::new(0, 171, 0);

/// The first release that knows `[responses] process_mode`. Older ones ignore the key with
/// a warning on every start (0.169.0: "Codex is ignoring 1 unrecognized configuration
/// setting … `responses` is ignored"), so it is only ever set from here on.
pub const PROCESS_MODE_SINCE: CodexVersion = CodexVersion::new(0, 171, 0);

/// A Codex CLI version: `major.minor.patch`, with an optional pre-release tag
/// (`0.172.0-alpha.3`), ordered as semantic versions are (a pre-release sorts before its
/// release).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodexVersion {
    /// Major number.
    pub major: u64,
    /// Minor number (Codex releases count here: 0.169, 0.171, …).
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release tag without its `-` (`alpha.3`), `None` for a release. Build metadata
    /// (`+…`) is dropped: it does not order versions.
    pub pre: Option<String>,
}

/// `codex --version` printed something that names no version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Codex version in `codex --version` output {0:?}")]
pub struct VersionParseError(pub String);

impl CodexVersion {
    /// A release version.
    pub const fn new(major: u64, minor: u64, patch: u64) -> CodexVersion {
        CodexVersion {
            major,
            minor,
            patch,
            pre: None,
        }
    }

    /// The version in `codex --version` output (`codex-cli 0.171.0`, possibly followed by
    /// more lines or words): the first word that parses as a version, a leading `v` allowed.
    pub fn from_version_output(output: &str) -> Result<CodexVersion, VersionParseError> {
        output
            .split_whitespace()
            .find_map(CodexVersion::parse)
            .ok_or_else(|| {
                // Bounded: the text goes into error messages and logs.
                let shown: String = output.trim().chars().take(80).collect();
                VersionParseError(shown)
            })
    }

    /// One version word: `0.171.0`, `v0.171.0`, `0.172.0-alpha.3`, `0.171.0+build`.
    pub fn parse(word: &str) -> Option<CodexVersion> {
        let word = word.strip_prefix('v').unwrap_or(word);
        let word = word.split_once('+').map_or(word, |(v, _build)| v);
        let (core, pre) = match word.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (word, None),
        };
        let mut numbers = core.split('.');
        let mut number = || -> Option<u64> {
            let part = numbers.next()?;
            // `u64::from_str` takes a leading `+`; a version part is digits only.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let (major, minor, patch) = (number()?, number()?, number()?);
        if numbers.next().is_some() {
            return None;
        }
        let pre = match pre {
            None => None,
            Some(pre) => {
                let valid = pre.split('.').all(|id| {
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
                if !valid {
                    return None;
                }
                Some(pre.to_owned())
            }
        };
        Some(CodexVersion {
            major,
            minor,
            patch,
            pre,
        })
    }
}

impl fmt::Display for CodexVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl Ord for CodexVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => cmp_pre(a, b),
            })
    }
}

impl PartialOrd for CodexVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Semantic-versioning precedence of two pre-release tags: identifier by identifier,
/// numeric ones numerically and below alphanumeric ones, a shorter prefix first.
fn cmp_pre(a: &str, b: &str) -> Ordering {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Where a version stands against the releases the test suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Older than [`OLDEST_TESTED`]: untested, and may lack what the launcher relies on.
    OlderThanTested,
    /// Between [`OLDEST_TESTED`] and [`NEWEST_TESTED`], both included.
    Tested,
    /// Newer than [`NEWEST_TESTED`]: untested, usually fine.
    NewerThanTested,
}

impl Verdict {
    /// Whether `codexctl doctor` should warn. It never fails on a version alone.
    pub fn is_untested(self) -> bool {
        match self {
            Verdict::Tested => false,
            Verdict::OlderThanTested | Verdict::NewerThanTested => true,
        }
    }
}

/// `version` against the tested range.
pub fn verdict(version: &CodexVersion) -> Verdict {
    if *version < OLDEST_TESTED {
        Verdict::OlderThanTested
    } else if *version > NEWEST_TESTED {
        Verdict::NewerThanTested
    } else {
        Verdict::Tested
    }
}

/// One line for `codexctl doctor` and the journal: the version and its verdict, with what
/// to do when it is outside the tested range.
pub fn verdict_message(version: &CodexVersion) -> String {
    let range = format!("{OLDEST_TESTED} to {NEWEST_TESTED}");
    match verdict(version) {
        Verdict::Tested => {
            format!("Codex {version}: tested (this launcher is tested with {range})")
        }
        Verdict::OlderThanTested => format!(
            "Codex {version}: untested, older than the releases this launcher is tested with ({range}); update it: `npm install -g @openai/codex@{NEWEST_TESTED}`"
        ),
        Verdict::NewerThanTested => format!(
            "Codex {version}: untested, newer than the releases this launcher is tested with ({range}); it usually works, and `npm install -g @openai/codex@{NEWEST_TESTED}` gets the tested one"
        ),
    }
}

/// When Codex shows a response's items: the values of `responses.process_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessMode {
    /// Codex's default: text appears as it streams.
    Streaming,
    /// Items appear only once `response.completed` arrived.
    AfterCompleteResponse,
}

impl ProcessMode {
    /// The TOML string value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessMode::Streaming => "streaming",
            ProcessMode::AfterCompleteResponse => "after_complete_response",
        }
    }
}

/// What the user (or the endpoint) prefers when a provider's streams are unreliable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayPreference {
    /// Text as it streams (the default; see [`process_mode`] for why).
    #[default]
    AsItStreams,
    /// A clean transcript even when the provider cuts streams, at the cost of seeing nothing
    /// of a turn until it completed.
    WhenComplete,
}

/// The `process_mode` a session should set, or `None` to leave Codex's default (streaming)
/// alone.
///
/// Evidence (Codex 0.171.0 through `codex-launcherd proxy` to a Chat Completions upstream
/// that streams a word every 0.5 s and resets the connection after 4 words; the proxy turns
/// the cut into a retryable `response.failed`, Codex retries):
/// - `codex exec` (human output and `--json`): identical with and without the key. It shows
///   completed items only, and the proxy holds every `output_item.done` until the upstream
///   finished, so a cut attempt shows nothing but "Reconnecting... 1/5" either way; the final
///   message appears at the same moment (end of the successful attempt).
/// - interactive TUI, one cut then a good attempt: streaming shows text from 1.4 s, and
///   while the retry streams, the cut attempt's words and the retry's share one message
///   ("PARTIALWORD one two three FINALANSWER alpha …") until the retry completes, when the
///   message is redrawn clean. With `after_complete_response` nothing shows until 5.6 s
///   (the response's end), then the clean message.
/// - interactive TUI, every attempt cut (6 attempts): streaming leaves one message made of
///   the six partial attempts concatenated, above the final error; with
///   `after_complete_response` only the error shows.
/// - 0.169.0 (no key) behaves as 0.171.0 streaming.
///
/// So the key buys a clean transcript on providers that keep cutting streams and costs, on
/// every turn of every provider, the whole response time before any text shows (minutes for
/// a long reasoning answer). Streaming stays the default; `after_complete_response` is set
/// for interactive sessions only when asked for ([`DisplayPreference::WhenComplete`], e.g.
/// for an endpoint known to cut streams), only where Codex knows the key, and never for
/// exec, where it changes nothing.
pub fn process_mode(
    version: Option<&CodexVersion>,
    mode: Mode,
    preference: DisplayPreference,
) -> Option<ProcessMode> {
    let supported = version.is_some_and(|v| *v >= PROCESS_MODE_SINCE);
    let interactive = match mode {
        // The TUI: a terminal the daemon opens, or the caller's own (`codexctl run`).
        Mode::Cli | Mode::Run => true,
        // Shows completed items only: the key changes nothing there.
        Mode::Exec => false,
        // No launcher `-c` overrides: Codex Default runs with none of the launcher's
        // settings, and Desktop reads only config.toml and runs its own bundled app server,
        // whose version is not the CLI's.
        Mode::Desktop | Mode::DefaultCli | Mode::DefaultDesktop => false,
    };
    match preference {
        DisplayPreference::WhenComplete if interactive && supported => {
            Some(ProcessMode::AfterCompleteResponse)
        }
        DisplayPreference::WhenComplete | DisplayPreference::AsItStreams => None,
    }
}

/// The extra `-c key=value` arguments a session of the detected `version` (`None`: the
/// version could not be read, so nothing version-dependent is set) needs, in the form
/// `codex_config::cli_overrides` produces (`["-c", "key=value", …]`).
pub fn session_overrides(
    version: Option<&CodexVersion>,
    mode: Mode,
    preference: DisplayPreference,
) -> Vec<String> {
    match process_mode(version, mode, preference) {
        Some(mode) => vec![
            "-c".to_owned(),
            format!("responses.process_mode=\"{}\"", mode.as_str()),
        ],
        None => Vec::new(),
    }
}

/// How long `codex --version` may take before the version counts as unknown. Node starts in
/// well under a second; a Codex that hangs must not hold a launch up for long.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The most of `codex --version`'s output read (one line is expected).
const MAX_VERSION_OUTPUT: u64 = 4096;

/// `codex --version` gave no version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    /// The program could not be started.
    #[error("cannot run `{program} --version`: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        reason: String,
    },
    /// It did not finish in time (and was killed).
    #[error("`{program} --version` did not answer within {} s", .timeout.as_secs())]
    Timeout {
        /// The program.
        program: String,
        /// How long it had.
        timeout: Duration,
    },
    /// It exited with an error.
    #[error("`{program} --version` failed ({status})")]
    Failed {
        /// The program.
        program: String,
        /// Its exit status.
        status: String,
    },
    /// It printed no version.
    #[error(transparent)]
    Parse(#[from] VersionParseError),
}

/// Run `program --version` and read the version, waiting at most `timeout`. The program runs
/// in its own process group with no stdin and stderr; on time-out the whole group is killed
/// (a Node wrapper's child included), so nothing is left behind.
pub fn detect(program: &Path, timeout: Duration) -> Result<CodexVersion, DetectError> {
    use std::os::unix::process::CommandExt;

    let name = program.display().to_string();
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| DetectError::Spawn {
            program: name.clone(),
            reason: e.to_string(),
        })?;
    let pid = child.id();
    let stdout = child.stdout.take();
    // The waiting thread reads the output (bounded), then reaps the process; this thread waits
    // for it with a deadline. Dropping the pipe after the bound lets a chatty program end on
    // SIGPIPE instead of filling memory.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(pipe) = stdout {
            let _ = pipe.take(MAX_VERSION_OUTPUT).read_to_end(&mut out);
        }
        let status = child.wait();
        let _ = tx.send((out, status));
    });
    let (out, status) = match rx.recv_timeout(timeout) {
        Ok(done) => done,
        Err(_) => {
            kill_group(pid);
            // Reaped by the waiting thread once the group is gone; a member that left the
            // group could keep the pipe open, so do not wait for it long.
            let _ = rx.recv_timeout(Duration::from_secs(1));
            return Err(DetectError::Timeout {
                program: name,
                timeout,
            });
        }
    };
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return Err(DetectError::Failed {
                program: name,
                status: s.to_string(),
            });
        }
        Err(e) => {
            return Err(DetectError::Failed {
                program: name,
                status: e.to_string(),
            });
        }
    }
    Ok(CodexVersion::from_version_output(
        &String::from_utf8_lossy(&out),
    )?)
}

/// SIGKILL to the process group `pid` leads (ESRCH, already gone, is fine).
fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> CodexVersion {
        CodexVersion::parse(s).expect("a version")
    }

    #[test]
    fn parses_codex_version_output() {
        let cases = [
            ("codex-cli 0.171.0\n", "0.171.0"),
            ("codex-cli 0.169.0", "0.169.0"),
            ("codex 1.2.3", "1.2.3"),
            ("v0.172.0", "0.172.0"),
            ("codex-cli 0.172.0-alpha.3", "0.172.0-alpha.3"),
            ("codex-cli 0.171.0+abc123", "0.171.0"),
            ("  codex-cli 0.171.0 (build x)\nmore\n", "0.171.0"),
        ];
        for (output, want) in cases {
            let got = CodexVersion::from_version_output(output).expect(output);
            assert_eq!(got.to_string(), want, "{output:?}");
        }
        for bad in [
            "",
            "codex-cli",
            "codex-cli 0.171",
            "codex-cli 0.171.0.1",
            "codex-cli 0.x.0",
            "codex-cli 0.171.+1",
            "codex-cli 0.171.0-",
            "codex-cli 0.171.0-a..b",
            "command not found",
        ] {
            assert!(
                CodexVersion::from_version_output(bad).is_err(),
                "{bad:?} is no version"
            );
        }
    }

    #[test]
    fn parse_error_is_bounded() {
        let long = "x".repeat(10_000);
        let err = CodexVersion::from_version_output(&long).expect_err("no version");
        assert_eq!(err.0.chars().count(), 80);
    }

    #[test]
    fn orders_as_semantic_versions() {
        let ordered = [
            "0.9.9",
            "0.169.0",
            "0.170.5",
            "0.171.0-alpha",
            "0.171.0-alpha.2",
            "0.171.0-alpha.10",
            "0.171.0-alpha.beta",
            "0.171.0-beta",
            "0.171.0-rc.1",
            "0.171.0",
            "0.171.1",
            "0.1000.0",
            "1.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("0.171.0+x").cmp(&v("0.171.0")), Ordering::Equal);
    }

    #[test]
    fn verdict_against_the_tested_range() {
        assert!(OLDEST_TESTED <= NEWEST_TESTED);
        let cases = [
            ("0.168.9", Verdict::OlderThanTested),
            ("0.169.0-rc.1", Verdict::OlderThanTested),
            ("0.169.0", Verdict::Tested),
            ("0.170.0", Verdict::Tested),
            ("0.171.0-alpha.1", Verdict::Tested),
            ("0.171.0", Verdict::Tested),
            ("0.171.1", Verdict::NewerThanTested),
            ("0.172.0-alpha.1", Verdict::NewerThanTested),
            ("1.0.0", Verdict::NewerThanTested),
        ];
        for (version, want) in cases {
            assert_eq!(verdict(&v(version)), want, "{version}");
        }
        assert!(!Verdict::Tested.is_untested());
        assert!(Verdict::OlderThanTested.is_untested() && Verdict::NewerThanTested.is_untested());
    }

    #[test]
    fn verdict_messages_say_untested_and_the_range() {
        let old = verdict_message(&v("0.150.0"));
        assert!(
            old.contains("untested") && old.contains("older") && old.contains("0.169.0 to 0.171.0"),
            "{old}"
        );
        let new = verdict_message(&v("0.180.0"));
        assert!(new.contains("untested") && new.contains("newer"), "{new}");
        let ok = verdict_message(&v("0.171.0"));
        assert!(ok.contains("tested") && !ok.contains("untested"), "{ok}");
    }

    #[test]
    fn process_mode_only_when_asked_supported_and_interactive() {
        use DisplayPreference::{AsItStreams, WhenComplete};
        use Mode::{Cli, DefaultCli, Desktop, Exec, Run};
        let new = v("0.171.0");
        let newer = v("0.180.0");
        let old = v("0.169.0");
        let pre = v("0.171.0-alpha.1");
        let after = Some(ProcessMode::AfterCompleteResponse);
        let cases = [
            (Some(&new), Cli, WhenComplete, after),
            (Some(&new), Run, WhenComplete, after),
            (Some(&newer), Cli, WhenComplete, after),
            (Some(&new), Cli, AsItStreams, None),
            (Some(&new), Exec, WhenComplete, None),
            (Some(&new), Desktop, WhenComplete, None),
            (Some(&new), DefaultCli, WhenComplete, None),
            // 0.169.0 warns "unrecognized configuration setting" on every start.
            (Some(&old), Cli, WhenComplete, None),
            // A pre-release of the first release that has it may not have it yet.
            (Some(&pre), Cli, WhenComplete, None),
            // Unknown version: nothing version-dependent.
            (None, Run, WhenComplete, None),
        ];
        for (version, mode, pref, want) in cases {
            assert_eq!(
                process_mode(version, mode, pref),
                want,
                "{version:?} {mode:?} {pref:?}"
            );
        }
    }

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("codex");
        std::fs::write(&path, body).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    #[test]
    fn detect_reads_the_version_and_names_each_failure() {
        let dir = tempfile::tempdir().expect("dir");
        let ok = script(dir.path(), "#!/bin/sh\necho \"codex-cli 0.171.0\"\n");
        assert_eq!(detect(&ok, DETECT_TIMEOUT), Ok(v("0.171.0")));
        let failing = script(dir.path(), "#!/bin/sh\necho codex-cli 0.171.0\nexit 3\n");
        assert!(matches!(
            detect(&failing, DETECT_TIMEOUT),
            Err(DetectError::Failed { .. })
        ));
        let silent = script(dir.path(), "#!/bin/sh\necho usage: codex\n");
        assert!(matches!(
            detect(&silent, DETECT_TIMEOUT),
            Err(DetectError::Parse(_))
        ));
        let missing = dir.path().join("nowhere/codex");
        let err = detect(&missing, DETECT_TIMEOUT).expect_err("no program");
        assert!(err.to_string().starts_with("cannot run `"), "{err}");
    }

    #[test]
    fn a_codex_that_hangs_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("dir");
        // A child that would outlive its shell, holding the pipe open; it records its pid.
        let hang = script(
            dir.path(),
            "#!/bin/sh\nsleep 300 &\necho $! > \"$0.child\"\nwait\n",
        );
        let err = detect(&hang, Duration::from_millis(500)).expect_err("hangs");
        assert!(matches!(err, DetectError::Timeout { .. }), "{err}");
        // No pid file: the shell was killed before it started the child. Otherwise the child
        // went with the group: its pidfd says so (or it is reaped already).
        let Ok(pid) = std::fs::read_to_string(dir.path().join("codex.child")) else {
            return;
        };
        let child: i32 = pid.trim().parse().expect("a pid");
        let pid = rustix::process::Pid::from_raw(child).expect("a positive pid");
        let gone = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
            Err(_) => true,
            Ok(fd) => crate::supervisor::wait_gone(&fd, Duration::from_secs(10)),
        };
        assert!(gone, "the hanging child {child} was left running");
    }

    #[test]
    fn session_overrides_are_cli_arguments() {
        let new = v("0.171.0");
        assert_eq!(
            session_overrides(Some(&new), Mode::Cli, DisplayPreference::WhenComplete),
            ["-c", "responses.process_mode=\"after_complete_response\""]
        );
        assert!(session_overrides(Some(&new), Mode::Cli, DisplayPreference::default()).is_empty());
        assert!(
            session_overrides(
                Some(&v("0.169.0")),
                Mode::Cli,
                DisplayPreference::WhenComplete
            )
            .is_empty()
        );
    }
}
