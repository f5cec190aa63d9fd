//! The Codex CLI the daemon's sessions run: its version, read once per launch, and the
//! verdict against the releases the launcher is tested with (`engine::codex_version`).
//!
//! Blocking (it runs `codex --version`): the owner calls these on the blocking pool.

use std::path::{Path, PathBuf};

use codex_launcher_engine::codex_version::{
    self, CodexVersion, DETECT_TIMEOUT, DetectError, Verdict,
};
use codex_launcher_engine::supervisor;
use codex_launcher_types::{CodexVerdict, Mode};

use crate::planning::Environment;
use crate::views::CodexInfo;

/// The Codex CLI program: `CODEX_LAUNCHER_CODEX_CMD`, else `CODEX_BIN`, else `codex`, as
/// sessions start it.
pub fn program(env: &dyn Environment) -> PathBuf {
    supervisor::codex_program(|name| env.var(name))
}

/// The version of the Codex a session of `mode` runs, logged with its verdict; `None` when it
/// cannot be told (then nothing version-dependent is set) or does not matter: Codex Desktop
/// runs its own bundled app server, whose version is not the CLI's.
pub fn for_session(id: u64, mode: Mode, env: &dyn Environment) -> Option<CodexVersion> {
    if mode.is_desktop() {
        return None;
    }
    let program = program(env);
    match codex_version::detect(&program, DETECT_TIMEOUT) {
        Ok(version) => {
            let message = codex_version::verdict_message(&version);
            if codex_version::verdict(&version).is_untested() {
                tracing::warn!(session = id, codex = %program.display(), "{message}");
            } else {
                tracing::info!(session = id, codex = %program.display(), "{message}");
            }
            Some(version)
        }
        Err(e) => {
            tracing::warn!(
                session = id,
                error = %e,
                "cannot tell the Codex version; nothing version-dependent is set"
            );
            None
        }
    }
}

/// What `codexctl doctor` shows: the program (found on `PATH` when it is a bare name), its
/// version and verdict, or why there is none.
pub fn info(env: &dyn Environment) -> CodexInfo {
    let program = resolve(&program(env), env);
    match codex_version::detect(&program, DETECT_TIMEOUT) {
        Ok(version) => CodexInfo {
            verdict: verdict(&version),
            message: codex_version::verdict_message(&version),
            version: Some(version.to_string()),
            program,
        },
        Err(e) => CodexInfo {
            verdict: CodexVerdict::Unknown,
            message: unknown_message(&e),
            version: None,
            program,
        },
    }
}

/// The contract's verdict for a version.
pub fn verdict(version: &CodexVersion) -> CodexVerdict {
    match codex_version::verdict(version) {
        Verdict::Tested => CodexVerdict::Tested,
        Verdict::OlderThanTested => CodexVerdict::Older,
        Verdict::NewerThanTested => CodexVerdict::Newer,
    }
}

fn unknown_message(e: &DetectError) -> String {
    format!("Codex version unknown: {e}")
}

/// A bare program name as found on the environment's `PATH` (as it was given otherwise).
fn resolve(program: &Path, env: &dyn Environment) -> PathBuf {
    if program.components().count() != 1 {
        return program.to_path_buf();
    }
    env.var("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| program.to_path_buf())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn codex(dir: &Path, version: &str) -> PathBuf {
        let path = dir.join("codex");
        std::fs::write(&path, format!("#!/bin/sh\necho 'codex-cli {version}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn info_says_the_version_and_its_verdict() {
        let dir = tempfile::tempdir().unwrap();
        codex(dir.path(), "0.180.0");
        // A bare `codex` is looked up on PATH.
        let env = HashMap::from([("PATH".to_owned(), dir.path().display().to_string())]);
        let found = info(&env);
        assert_eq!(found.program, dir.path().join("codex"));
        assert_eq!(found.version.as_deref(), Some("0.180.0"));
        assert_eq!(found.verdict, CodexVerdict::Newer);
        assert!(found.message.contains("untested"), "{}", found.message);
        assert_eq!(
            for_session(1, Mode::Desktop, &env),
            None,
            "Desktop runs its own"
        );
        let missing = HashMap::from([("CODEX_BIN".to_owned(), "/nonexistent/codex".to_owned())]);
        let unknown = info(&missing);
        assert_eq!(unknown.verdict, CodexVerdict::Unknown);
        assert_eq!(unknown.version, None);
        assert!(
            unknown
                .message
                .starts_with("Codex version unknown: cannot run"),
            "{}",
            unknown.message
        );
    }
}
