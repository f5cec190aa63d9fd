//! Where files live: XDG base directories, absolute values only (a relative `$XDG_*` is
//! ignored, as the spec says), `$HOME` fallbacks. Tests build a [`Paths`] under a temp dir.

use std::path::{Path, PathBuf};

/// The directories the launcher uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `$XDG_CONFIG_HOME/codex-launcher`: endpoints.json.
    pub config: PathBuf,
    /// `$XDG_STATE_HOME/codex-launcher`: key fallback file, backup journal.
    pub state: PathBuf,
    /// `$CODEX_HOME` or `~/.codex`.
    pub codex_home: PathBuf,
    /// The user's home (legacy import default).
    pub home: PathBuf,
}

fn xdg(var: &str, home: &Path, default: &str) -> PathBuf {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => home.join(default),
    }
}

impl Paths {
    /// From the environment.
    pub fn from_env() -> Option<Paths> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())?;
        let codex_home = match std::env::var_os("CODEX_HOME").map(PathBuf::from) {
            Some(p) if p.is_absolute() => p,
            _ => home.join(".codex"),
        };
        Some(Paths {
            config: xdg("XDG_CONFIG_HOME", &home, ".config").join("codex-launcher"),
            state: xdg("XDG_STATE_HOME", &home, ".local/state").join("codex-launcher"),
            codex_home,
            home,
        })
    }

    /// Everything under one root (tests).
    pub fn at(root: &Path) -> Paths {
        Paths {
            config: root.join("config/codex-launcher"),
            state: root.join("state/codex-launcher"),
            codex_home: root.join("codex"),
            home: root.to_path_buf(),
        }
    }

    /// The endpoint store file.
    pub fn endpoints_file(&self) -> PathBuf {
        self.config.join("endpoints.json")
    }

    /// The fallback key file (0600) used when no Secret Service runs.
    pub fn keys_file(&self) -> PathBuf {
        self.state.join("keys.json")
    }
}
