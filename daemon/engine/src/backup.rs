//! Crash-safe backup and restore of Codex's `config.toml` around launcher sessions.
//!
//! Sessions that need the file edited (Codex Desktop reads nothing else) go through
//! [`Backups`]: [`Backups::acquire`] saves the original before the first session changes
//! anything, [`Backups::update`] writes the launcher's version, [`Backups::release`] puts the
//! original back after the last session, and [`Backups::recover`] (at daemon start) does the
//! same for a backup a crash left active.
//!
//! # The journal
//! `$XDG_STATE_HOME/codex-launcher/config-backup/journal.json` records the config's path, the
//! original bytes (a copy next to the journal, its length and hash, its permission bits; or
//! that there was no file), the last bytes the launcher wrote (a copy, length, hash), whether
//! the user edited the file meanwhile, and the sessions holding it. Every file is written with
//! [`write_atomic`] and in an order that leaves a state [`Backups::recover`] understands
//! whenever the process dies: copies first (under new names), then the journal, then
//! config.toml; on restore, config.toml first, then the journal goes, then the copies.
//!
//! # Restoring
//! - config.toml holds what the launcher wrote: the original comes back byte for byte, with
//!   its permissions (or the file goes, if there was none).
//! - The user edited config.toml during the session: their edits stay. The launcher's entries
//!   are taken out ([`remove_managed`]), and the file as it was is saved beside it as
//!   `config.toml.codex-launcher-<timestamp>`; the [`RestoreReport`] says so. Nothing is
//!   dropped silently.
//!
//! One daemon owns the journal. In the process, every [`Backups`] for the same directory
//! shares one lock (whoever made the value), so read-modify-writes of the journal never
//! interleave.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::atomic::{AtomicError, Stamp, ensure_dir, write_atomic};
use crate::codex_config::{ConfigError, remove_managed};
use crate::paths::Paths;

/// `$CODEX_HOME/config.toml` (`~/.codex/config.toml` by default).
pub fn config_file(paths: &Paths) -> PathBuf {
    paths.codex_home.join("config.toml")
}

const DIR: &str = "config-backup";
const JOURNAL: &str = "journal.json";
/// Copies are named by kind and hash (`original-<hash>.toml`), so writing a new copy never
/// replaces the one the journal on disk still points to.
const ORIGINAL: &str = "original";
const OURS: &str = "ours";
const VERSION: u32 = 1;
/// Mode for a config.toml the launcher creates: it may name key variables, keep it private.
const NEW_FILE_MODE: u32 = 0o600;

/// Backup errors. Unless said otherwise, config.toml was not changed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// IO.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An atomic write failed.
    #[error(transparent)]
    Write(AtomicError),
    /// config.toml changed between our read and our write; nothing was written.
    #[error(
        "{0} was changed by another program while the launcher was editing it; nothing was written, try again"
    )]
    Conflict(PathBuf),
    /// The edit was refused (invalid TOML, unexpected shape).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// config.toml is not UTF-8 text.
    #[error("{0} is not UTF-8 text, so the launcher left it as it is")]
    NotText(PathBuf),
    /// The journal or a backup copy is damaged; config.toml and the backup were left alone.
    #[error(
        "the config backup in {dir} is damaged ({reason}); config.toml and the backup were left as they are"
    )]
    Corrupt {
        /// The backup directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A backup for another config file is active.
    #[error("a backup of {active} is active; finish those sessions before editing {requested}")]
    OtherConfig {
        /// The file the active backup is for.
        active: PathBuf,
        /// The file asked for.
        requested: PathBuf,
    },
    /// The session holds no backup.
    #[error("session `{0}` holds no config backup")]
    NotHeld(String),
}

impl From<AtomicError> for BackupError {
    fn from(e: AtomicError) -> Self {
        match e {
            AtomicError::Conflict(p) => BackupError::Conflict(p),
            other => BackupError::Write(other),
        }
    }
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A copy of some bytes next to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    /// The copy.
    file: PathBuf,
    /// Its length.
    len: u64,
    /// FNV-1a 64 of the bytes, hex: catches a truncated or swapped copy (not a security
    /// check: only this user can write the state directory).
    fnv1a64: String,
}

/// The journal file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    version: u32,
    /// config.toml (symlinks resolved).
    config: PathBuf,
    /// The original; `None`: there was no config.toml.
    original: Option<Saved>,
    /// The original's permission bits.
    mode: Option<u32>,
    /// The last bytes the launcher wrote; `None`: nothing written yet.
    ours: Option<Saved>,
    /// The user changed config.toml after the launcher wrote it.
    user_edited: bool,
    /// Sessions holding the backup.
    sessions: Vec<String>,
    /// When the first session acquired it (Unix seconds).
    started: u64,
}

/// What [`Backups::acquire`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    /// This session made the backup (no other session held one).
    pub first: bool,
    /// Sessions holding the backup now, this one included.
    pub holders: usize,
}

/// What [`Backups::release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// Other sessions still hold the backup; config.toml stays as it is.
    StillHeld {
        /// How many.
        remaining: usize,
    },
    /// The last session: config.toml was restored.
    Restored(RestoreReport),
    /// The session held nothing (already released, or never acquired).
    NotHeld,
}

/// How config.toml was restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It already held the original bytes; nothing was written.
    Unchanged,
    /// The original bytes are back (or the file is gone again, if there was none).
    Restored,
    /// The user edited it during the session: their edits stay, the launcher's entries were
    /// removed, and the file as it was before that is saved at `aside`.
    Merged {
        /// The copy of the file before the launcher's entries were removed.
        aside: PathBuf,
    },
    /// The user edited it and nothing of the launcher's is left in it: left as it is.
    KeptUserEdits,
    /// The user deleted it during the session: left deleted; the original is saved at
    /// `aside` (`None`: there was no original).
    KeptDeleted {
        /// The copy of the original.
        aside: Option<PathBuf>,
    },
    /// The user edited it into something the launcher cannot edit (invalid TOML, not UTF-8):
    /// left as it is, launcher entries included; the original is saved at `aside`.
    Unmergeable {
        /// The copy of the original (`None`: there was none).
        aside: Option<PathBuf>,
        /// Why it could not be merged.
        reason: String,
    },
}

/// What a restore did, for the log and the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// config.toml.
    pub config: PathBuf,
    /// What happened.
    pub outcome: Outcome,
    /// Sessions that held the backup (for [`Backups::recover`]: those a crash left behind).
    pub sessions: Vec<String>,
}

impl RestoreReport {
    /// The user changed config.toml during the session (their version was kept).
    pub fn user_edited(&self) -> bool {
        !matches!(self.outcome, Outcome::Unchanged | Outcome::Restored)
    }
}

impl std::fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.config.display();
        match &self.outcome {
            Outcome::Unchanged => write!(f, "{c} already held your original settings"),
            Outcome::Restored => write!(f, "{c} restored to your original settings"),
            Outcome::Merged { aside } => write!(
                f,
                "{c} was edited during the session: your edits were kept and the launcher's \
                 entries removed; the file as it was is saved at {}",
                aside.display()
            ),
            Outcome::KeptUserEdits => write!(
                f,
                "{c} was edited during the session and holds nothing of the launcher's: left as it is"
            ),
            Outcome::KeptDeleted { aside: Some(a) } => write!(
                f,
                "{c} was deleted during the session and stays deleted; your original is saved at {}",
                a.display()
            ),
            Outcome::KeptDeleted { aside: None } => {
                write!(f, "{c} was deleted during the session and stays deleted")
            }
            Outcome::Unmergeable { aside, reason } => {
                write!(
                    f,
                    "{c} was edited during the session and cannot be cleaned up ({reason}); it was \
                     left as it is, launcher entries included"
                )?;
                if let Some(a) = aside {
                    write!(f, "; your original is saved at {}", a.display())?;
                }
                Ok(())
            }
        }
    }
}

/// The backup of config.toml, kept in a state directory. Cheap to clone; clones (and any
/// other value for the same directory) share the journal's lock.
#[derive(Debug, Clone)]
pub struct Backups {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
}

/// The journal lock of each backup directory in this process. A lock per value was not
/// enough: two values for one directory (every caller used to make its own) each held their
/// own lock while both rewrote the same journal.
fn dir_lock(dir: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    locks.entry(dir.to_path_buf()).or_default().clone()
}

impl Backups {
    /// Backups kept under `state_dir` (`$XDG_STATE_HOME/codex-launcher`), in `config-backup/`.
    pub fn at(state_dir: &Path) -> Backups {
        let dir = state_dir.join(DIR);
        Backups {
            lock: dir_lock(&dir),
            dir,
        }
    }

    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        // The lock guards files, not memory: a panic elsewhere leaves nothing half-done in
        // it, so a poisoned lock is still good.
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sessions holding the backup (empty: none active).
    pub fn sessions(&self) -> Result<Vec<String>, BackupError> {
        let _g = self.guard();
        Ok(self.load()?.map(|j| j.sessions).unwrap_or_default())
    }

    /// Hold the backup of `config` for `session_id`, saving the original first if no session
    /// holds one. Idempotent per session.
    pub fn acquire(&self, session_id: &str, config: &Path) -> Result<Acquired, BackupError> {
        let _g = self.guard();
        let config = resolve(config);
        if let Some(mut journal) = self.load()? {
            if journal.config != config {
                return Err(BackupError::OtherConfig {
                    active: journal.config,
                    requested: config,
                });
            }
            if !journal.sessions.iter().any(|s| s == session_id) {
                journal.sessions.push(session_id.to_owned());
                self.store(&journal)?;
            }
            return Ok(Acquired {
                first: false,
                holders: journal.sessions.len(),
            });
        }
        // Leftovers of a crash before a journal was first written are of no use.
        self.clean(None)?;
        let (bytes, mode) = read_config(&config)?;
        let journal = Journal {
            version: VERSION,
            original: match &bytes {
                Some(b) => Some(self.save(ORIGINAL, b)?),
                None => None,
            },
            mode,
            config,
            ours: None,
            user_edited: false,
            sessions: vec![session_id.to_owned()],
            started: now_secs(),
        };
        self.store(&journal)?;
        Ok(Acquired {
            first: true,
            holders: 1,
        })
    }

    /// Rewrite config.toml with `edit` (typically [`crate::codex_config::apply_to_config`])
    /// applied to its current text (empty when missing). An error from `edit` writes nothing.
    pub fn update(
        &self,
        session_id: &str,
        edit: impl FnOnce(&str) -> Result<String, ConfigError>,
    ) -> Result<(), BackupError> {
        let _g = self.guard();
        let mut journal = self
            .load()?
            .filter(|j| j.sessions.iter().any(|s| s == session_id))
            .ok_or_else(|| BackupError::NotHeld(session_id.to_owned()))?;
        let config = journal.config.clone();
        let stamp = Stamp::of(&config).map_err(io("cannot read", &config))?;
        let (current, current_mode) = read_config(&config)?;
        match &journal.ours {
            // Nothing of ours is in the file yet: whatever it holds is the user's, so it is
            // the original to come back to.
            None => {
                if !same(
                    self.load_saved(journal.original.as_ref())?,
                    current.as_deref(),
                ) {
                    journal.original = match &current {
                        Some(b) => Some(self.save(ORIGINAL, b)?),
                        None => None,
                    };
                    journal.mode = current_mode;
                }
            }
            Some(ours) => {
                if !same(self.load_saved(Some(ours))?, current.as_deref()) {
                    journal.user_edited = true;
                }
            }
        }
        let text = match &current {
            Some(b) => std::str::from_utf8(b).map_err(|_| BackupError::NotText(config.clone()))?,
            None => "",
        };
        let next = edit(text)?;
        let previous = journal.clone();
        journal.ours = Some(self.save(OURS, next.as_bytes())?);
        self.store(&journal)?;
        let mode = current_mode.or(journal.mode).unwrap_or(NEW_FILE_MODE);
        if let Err(e) = write_config(&config, next.as_bytes(), Some(stamp), mode) {
            // Undo the journal's claim so a restore does not mistake the user's file for an
            // edit; if even that fails, the merge path still keeps every byte.
            if self.store(&previous).is_ok() {
                let _ = self.clean(Some(&previous));
            }
            return Err(e);
        }
        self.clean(Some(&journal))?;
        Ok(())
    }

    /// Let go of the backup for `session_id`; the last session restores config.toml.
    pub fn release(&self, session_id: &str) -> Result<Release, BackupError> {
        let _g = self.guard();
        let Some(mut journal) = self.load()? else {
            return Ok(Release::NotHeld);
        };
        let before = journal.sessions.len();
        journal.sessions.retain(|s| s != session_id);
        if journal.sessions.len() == before {
            return Ok(Release::NotHeld);
        }
        if !journal.sessions.is_empty() {
            self.store(&journal)?;
            return Ok(Release::StillHeld {
                remaining: journal.sessions.len(),
            });
        }
        let mut report = self.restore(&journal)?;
        report.sessions = vec![session_id.to_owned()];
        Ok(Release::Restored(report))
    }

    /// At daemon start: restore a backup a crash left active (`None`: there was none).
    pub fn recover(&self) -> Result<Option<RestoreReport>, BackupError> {
        let _g = self.guard();
        match self.load()? {
            Some(journal) => self.restore(&journal).map(Some),
            None => {
                // Copies without a journal: a crash before the journal was first written.
                // They are of no use (the file was not touched yet).
                self.clean(None)?;
                Ok(None)
            }
        }
    }

    fn restore(&self, journal: &Journal) -> Result<RestoreReport, BackupError> {
        let config = &journal.config;
        let original = self.load_saved(journal.original.as_ref())?;
        // Our writes below refuse to replace a file that changes after this read.
        let stamp = Stamp::of(config).map_err(io("cannot read", config))?;
        let (current, _) = read_config(config)?;
        // A damaged copy of our own bytes only means we cannot tell them apart: the merge
        // path below is safe for any file.
        let ours = self.load_saved(journal.ours.as_ref()).ok().flatten();
        let outcome = if same(original.clone(), current.as_deref()) {
            Outcome::Unchanged
        } else if journal.ours.is_none() {
            // We never wrote: whatever is there is the user's.
            Outcome::KeptUserEdits
        } else if !journal.user_edited && ours.is_some() && ours == current {
            let mode = journal.mode.unwrap_or(NEW_FILE_MODE);
            match &original {
                Some(bytes) => write_config(config, bytes, Some(stamp), mode)?,
                None => remove_if_exists(config)?,
            }
            Outcome::Restored
        } else {
            self.merge(config, original.as_deref(), current, stamp)?
        };
        remove_if_exists(&self.journal_path())?;
        self.clean(None)?;
        Ok(RestoreReport {
            config: config.clone(),
            outcome,
            sessions: journal.sessions.clone(),
        })
    }

    /// The user edited config.toml: keep their version, minus the launcher's entries.
    fn merge(
        &self,
        config: &Path,
        original: Option<&[u8]>,
        current: Option<Vec<u8>>,
        stamp: Stamp,
    ) -> Result<Outcome, BackupError> {
        let save_original = || -> Result<Option<PathBuf>, BackupError> {
            original.map(|b| save_aside(config, b)).transpose()
        };
        let Some(current) = current else {
            return Ok(Outcome::KeptDeleted {
                aside: save_original()?,
            });
        };
        let merged = match std::str::from_utf8(&current) {
            Ok(text) => remove_managed(text).map_err(|e| e.to_string()),
            Err(_) => Err("it is not UTF-8 text".to_owned()),
        };
        match merged {
            Err(reason) => Ok(Outcome::Unmergeable {
                aside: save_original()?,
                reason,
            }),
            Ok(merged) if merged.as_bytes() == current.as_slice() => Ok(Outcome::KeptUserEdits),
            Ok(merged) => {
                let aside = save_aside(config, &current)?;
                let mode = fs::metadata(config)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(NEW_FILE_MODE);
                write_config(config, merged.as_bytes(), Some(stamp), mode)?;
                Ok(Outcome::Merged { aside })
            }
        }
    }

    fn load(&self) -> Result<Option<Journal>, BackupError> {
        let path = self.journal_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        let journal: Journal =
            serde_json::from_slice(&bytes).map_err(|e| BackupError::Corrupt {
                dir: self.dir.clone(),
                reason: format!("journal: {e}"),
            })?;
        if journal.version != VERSION {
            return Err(BackupError::Corrupt {
                dir: self.dir.clone(),
                reason: format!("journal version {} is not {VERSION}", journal.version),
            });
        }
        Ok(Some(journal))
    }

    fn store(&self, journal: &Journal) -> Result<(), BackupError> {
        let bytes = serde_json::to_vec_pretty(journal).map_err(|e| BackupError::Corrupt {
            dir: self.dir.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.journal_path(), &bytes, None)?;
        Ok(())
    }

    fn save(&self, kind: &str, bytes: &[u8]) -> Result<Saved, BackupError> {
        let hash = fnv1a64(bytes);
        let file = self.dir.join(format!("{kind}-{hash}.toml"));
        write_atomic(&file, bytes, None)?;
        Ok(Saved {
            file,
            len: bytes.len() as u64,
            fnv1a64: hash,
        })
    }

    /// Remove every file in the backup directory but the journal's (`None`: all of them):
    /// superseded copies, and temp files of a write a crash interrupted.
    fn clean(&self, keep: Option<&Journal>) -> Result<(), BackupError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("cannot list", &self.dir)(e)),
        };
        let journal = self.journal_path();
        for entry in entries {
            let path = entry.map_err(io("cannot list", &self.dir))?.path();
            let kept = match keep {
                Some(j) => {
                    path == journal
                        || j.original.as_ref().is_some_and(|s| s.file == path)
                        || j.ours.as_ref().is_some_and(|s| s.file == path)
                }
                None => false,
            };
            if !kept {
                remove_if_exists(&path)?;
            }
        }
        Ok(())
    }

    /// The bytes of a copy, checked against the journal.
    fn load_saved(&self, saved: Option<&Saved>) -> Result<Option<Vec<u8>>, BackupError> {
        let Some(saved) = saved else { return Ok(None) };
        let bytes = fs::read(&saved.file).map_err(|e| BackupError::Corrupt {
            dir: self.dir.clone(),
            reason: format!("cannot read {}: {e}", saved.file.display()),
        })?;
        if bytes.len() as u64 != saved.len || fnv1a64(&bytes) != saved.fnv1a64 {
            return Err(BackupError::Corrupt {
                dir: self.dir.clone(),
                reason: format!("{} does not match its hash", saved.file.display()),
            });
        }
        Ok(Some(bytes))
    }
}

fn same(a: Option<Vec<u8>>, b: Option<&[u8]>) -> bool {
    a.as_deref() == b
}

/// Follow symlinks to the real file (a dotfiles manager's link must stay a link: an atomic
/// rename over it would replace it with a plain file). A missing file resolves to itself.
fn resolve(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..16 {
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => match fs::read_link(&path) {
                Ok(target) => {
                    path = match path.parent() {
                        Some(dir) if target.is_relative() => dir.join(target),
                        _ => target,
                    };
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    path
}

/// The file's bytes and permission bits (`None, None`: no file).
fn read_config(path: &Path) -> Result<(Option<Vec<u8>>, Option<u32>), BackupError> {
    match fs::read(path) {
        Ok(bytes) => {
            let mode = fs::metadata(path)
                .map_err(io("cannot read", path))?
                .permissions()
                .mode()
                & 0o7777;
            Ok((Some(bytes), Some(mode)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((None, None)),
        Err(e) => Err(io("cannot read", path)(e)),
    }
}

/// Write config.toml atomically, then give it `mode` ([`write_atomic`] creates 0600 files;
/// until the chmod the file is only more private than it should be).
fn write_config(
    path: &Path,
    bytes: &[u8],
    expected: Option<Stamp>,
    mode: u32,
) -> Result<(), BackupError> {
    write_atomic(path, bytes, expected)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io("cannot set permissions of", path))
}

fn remove_if_exists(path: &Path) -> Result<(), BackupError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("cannot remove", path)(e)),
    }
}

/// Save `bytes` as `<config>.codex-launcher-<UTC timestamp>` (a counter if taken).
fn save_aside(config: &Path, bytes: &[u8]) -> Result<PathBuf, BackupError> {
    let dir = config.parent().unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    let name = config
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("config.toml");
    let base = format!("{name}.codex-launcher-{}", timestamp(now_secs()));
    let mut path = dir.join(&base);
    let mut n = 2;
    while fs::symlink_metadata(&path).is_ok() {
        path = dir.join(format!("{base}-{n}"));
        n += 1;
    }
    write_atomic(
        &path,
        bytes,
        Some(Stamp::of(&path).map_err(io("cannot read", &path))?),
    )?;
    Ok(path)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `20261201T081734Z` for Unix seconds (UTC), from `httpdate`'s IMF-fixdate
/// (`Tue, 01 Dec 2026 08:17:34 GMT`) rather than a calendar computation of our own.
fn timestamp(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let imf = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
    let words: Vec<&str> = imf.split([' ', ':']).collect();
    match words.as_slice() {
        [_, day, month, year, h, m, s, _] => {
            let month = MONTHS.iter().position(|n| n == month).map_or(0, |i| i + 1);
            format!("{year}{month:02}{day}T{h}{m}{s}Z")
        }
        _ => format!("{secs}"),
    }
}

fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex_config::{Target, apply_to_config, proxy_url};
    use crate::model::{Endpoint, Model};
    use codex_launcher_types::Backend;

    const ORIGINAL_TOML: &str =
        "# my settings\nmodel = \"gpt-5.5\"  # default\n\n[tui]\nnotifications = false\n";

    struct Env {
        _dir: tempfile::TempDir,
        paths: Paths,
        config: PathBuf,
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let config = config_file(&paths);
        Env {
            _dir: dir,
            paths,
            config,
        }
    }

    impl Env {
        fn backups(&self) -> Backups {
            Backups::at(&self.paths.state)
        }
        fn write(&self, text: &str, mode: u32) {
            fs::create_dir_all(self.config.parent().unwrap()).unwrap();
            fs::write(&self.config, text).unwrap();
            fs::set_permissions(&self.config, fs::Permissions::from_mode(mode)).unwrap();
        }
        fn read(&self) -> Option<String> {
            fs::read_to_string(&self.config).ok()
        }
        fn mode(&self) -> u32 {
            fs::metadata(&self.config).unwrap().permissions().mode() & 0o7777
        }
        fn asides(&self) -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = fs::read_dir(self.config.parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains(".codex-launcher-"))
                .collect();
            v.sort();
            v
        }
        fn backup_dir_empty(&self) -> bool {
            fs::read_dir(self.paths.state.join(DIR))
                .map(|d| d.count() == 0)
                .unwrap_or(true)
        }
    }

    fn target(id: &str) -> Target {
        let e = Endpoint {
            id: id.into(),
            name: id.to_uppercase(),
            backend: Backend::OpenaiCompat,
            base_url: "https://api.example.com/v1".into(),
            models: vec![Model::bare("m")],
            ..Endpoint::default()
        };
        Target::new(&e, "m", &proxy_url(47821, id)).unwrap()
    }

    fn apply(id: &str) -> impl FnOnce(&str) -> Result<String, ConfigError> {
        let t = target(id);
        move |text| apply_to_config(text, &t)
    }

    /// Regression: every caller made its own `Backups`, each with its own lock, so journal
    /// read-modify-writes from two threads interleaved: a holder went missing from the
    /// journal and the file came back while a session still held it (or never came back).
    #[test]
    fn separate_values_for_one_directory_share_the_journal_lock() {
        let e = env();
        let original = "model = \"gpt-5\"\n# the user's own file\n";
        e.write(original, 0o640);
        std::thread::scope(|s| {
            for t in 0..8 {
                let e = &e;
                s.spawn(move || {
                    for i in 0..25 {
                        // A value of its own per operation, as every caller used to make.
                        let key = format!("s{t}-{i}");
                        e.backups().acquire(&key, &e.config).expect("acquire");
                        e.backups().update(&key, apply("ds")).expect("update");
                        assert!(
                            e.backups().sessions().unwrap().contains(&key),
                            "{key} is recorded as a holder"
                        );
                        e.backups().release(&key).expect("release");
                    }
                });
            }
        });
        assert_eq!(e.backups().sessions().unwrap(), Vec::<String>::new());
        assert_eq!(
            e.read().as_deref(),
            Some(original),
            "restored byte for byte"
        );
        assert_eq!(e.mode(), 0o640);
        assert!(e.backup_dir_empty());
    }

    #[test]
    fn config_file_follows_codex_home() {
        let e = env();
        assert!(e.config.ends_with("codex/config.toml"));
        assert!(e.config.starts_with(&e.paths.codex_home));
    }

    #[test]
    fn restores_original_bytes_and_mode() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o644);
        let b = e.backups();
        assert_eq!(
            b.acquire("s1", &e.config).unwrap(),
            Acquired {
                first: true,
                holders: 1
            }
        );
        b.update("s1", apply("ds")).unwrap();
        let during = e.read().unwrap();
        assert!(during.contains("[model_providers.codex-launcher-ds]"));
        assert_eq!(e.mode(), 0o644, "permissions kept during the session");
        let journal = fs::read_to_string(b.journal_path()).unwrap();
        assert!(journal.contains("\"fnv1a64\""), "{journal}");
        assert_eq!(
            fs::metadata(b.journal_path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!("not restored")
        };
        assert_eq!(report.outcome, Outcome::Restored);
        assert!(!report.user_edited());
        assert_eq!(e.read().unwrap(), ORIGINAL_TOML);
        assert_eq!(e.mode(), 0o644);
        assert!(e.backup_dir_empty());
        assert!(e.asides().is_empty());
        assert_eq!(b.release("s1").unwrap(), Release::NotHeld);
    }

    #[test]
    fn missing_config_is_created_then_removed() {
        let e = env();
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        assert!(e.read().unwrap().contains("codex-launcher-ds"));
        assert_eq!(e.mode(), 0o600);
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!()
        };
        assert_eq!(report.outcome, Outcome::Restored);
        assert!(!e.config.exists(), "no config.toml before, none after");
    }

    #[test]
    fn refcount_across_two_sessions() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        assert_eq!(
            b.acquire("s2", &e.config).unwrap(),
            Acquired {
                first: false,
                holders: 2
            }
        );
        // Acquiring again is idempotent.
        assert_eq!(b.acquire("s2", &e.config).unwrap().holders, 2);
        b.update("s2", apply("kimi")).unwrap();
        assert_eq!(b.sessions().unwrap(), ["s1", "s2"]);
        assert_eq!(
            b.release("s1").unwrap(),
            Release::StillHeld { remaining: 1 }
        );
        let during = e.read().unwrap();
        assert!(during.contains("codex-launcher-kimi") && during.contains("codex-launcher-ds"));
        let Release::Restored(report) = b.release("s2").unwrap() else {
            panic!()
        };
        assert_eq!(report.outcome, Outcome::Restored);
        assert_eq!(e.read().unwrap(), ORIGINAL_TOML);
        assert!(b.sessions().unwrap().is_empty());
    }

    #[test]
    fn user_edit_during_the_session_is_merged_and_the_file_saved_aside() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o640);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        let edited = e.read().unwrap().replace(
            "notifications = false",
            "notifications = true\n# mine\nanimations = false",
        );
        fs::write(&e.config, &edited).unwrap();
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!()
        };
        let Outcome::Merged { aside } = &report.outcome else {
            panic!("{report:?}")
        };
        assert!(report.user_edited());
        assert!(
            report.to_string().contains("your edits were kept"),
            "{report}"
        );
        assert_eq!(fs::read_to_string(aside).unwrap(), edited, "nothing lost");
        assert!(
            aside
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("config.toml.codex-launcher-20")
        );
        let expected = ORIGINAL_TOML.replace(
            "notifications = false",
            "notifications = true\n# mine\nanimations = false",
        );
        assert_eq!(e.read().unwrap(), expected);
        assert_eq!(e.mode(), 0o640);
        assert!(e.backup_dir_empty());
    }

    #[test]
    fn user_edit_between_two_updates_is_noticed() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        let edited = format!("{}\n[history]\npersistence = \"none\"\n", e.read().unwrap());
        fs::write(&e.config, &edited).unwrap();
        b.acquire("s2", &e.config).unwrap();
        b.update("s2", apply("kimi")).unwrap();
        b.release("s1").unwrap();
        let Release::Restored(report) = b.release("s2").unwrap() else {
            panic!()
        };
        assert!(
            matches!(report.outcome, Outcome::Merged { .. }),
            "{report:?}"
        );
        let after = e.read().unwrap();
        assert!(
            after.contains("[history]\npersistence = \"none\"\n"),
            "{after}"
        );
        assert!(!after.contains("codex-launcher-"), "{after}");
        assert!(after.starts_with("# my settings\nmodel = \"gpt-5.5\"  # default\n"));
    }

    #[test]
    fn edit_before_the_first_write_becomes_the_original() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        e.write("model = \"o3\"\n", 0o644);
        b.update("s1", apply("ds")).unwrap();
        b.release("s1").unwrap();
        assert_eq!(e.read().unwrap(), "model = \"o3\"\n");
        assert_eq!(e.mode(), 0o644);
    }

    #[test]
    fn deleted_during_the_session_stays_deleted_original_saved() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        fs::remove_file(&e.config).unwrap();
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!()
        };
        let Outcome::KeptDeleted { aside: Some(aside) } = &report.outcome else {
            panic!("{report:?}")
        };
        assert_eq!(fs::read_to_string(aside).unwrap(), ORIGINAL_TOML);
        assert!(!e.config.exists());
    }

    #[test]
    fn invalid_toml_from_the_user_is_left_alone_and_the_original_saved() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        let broken = format!("{}\nbroken = \n", e.read().unwrap());
        fs::write(&e.config, &broken).unwrap();
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!()
        };
        let Outcome::Unmergeable {
            aside: Some(aside), ..
        } = &report.outcome
        else {
            panic!("{report:?}")
        };
        assert_eq!(e.read().unwrap(), broken);
        assert_eq!(fs::read_to_string(aside).unwrap(), ORIGINAL_TOML);
    }

    #[test]
    fn invalid_toml_at_update_writes_nothing() {
        let e = env();
        e.write("model = \n", 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        let err = b.update("s1", apply("ds")).unwrap_err();
        assert!(
            matches!(err, BackupError::Config(ConfigError::InvalidToml(_))),
            "{err}"
        );
        assert_eq!(e.read().unwrap(), "model = \n");
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!()
        };
        assert_eq!(report.outcome, Outcome::Unchanged);
        assert_eq!(e.read().unwrap(), "model = \n");
    }

    #[test]
    fn a_concurrent_write_during_update_is_not_clobbered() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        let config = e.config.clone();
        let err = b
            .update("s1", move |text| {
                // Another program writes while the launcher computes its version.
                fs::write(&config, "someone = \"else\"\n").unwrap();
                Ok(format!("{text}# ours\n"))
            })
            .unwrap_err();
        assert!(matches!(err, BackupError::Conflict(_)), "{err}");
        assert_eq!(e.read().unwrap(), "someone = \"else\"\n");
        let Release::Restored(report) = b.release("s1").unwrap() else {
            panic!()
        };
        assert_eq!(report.outcome, Outcome::KeptUserEdits, "{report:?}");
        assert_eq!(e.read().unwrap(), "someone = \"else\"\n");
    }

    #[test]
    fn update_without_acquire_is_refused() {
        let e = env();
        let b = e.backups();
        assert!(matches!(
            b.update("nobody", apply("ds")),
            Err(BackupError::NotHeld(_))
        ));
        assert!(!e.config.exists());
    }

    #[test]
    fn recover_restores_after_a_crash() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o644);
        {
            let b = e.backups();
            b.acquire("s1", &e.config).unwrap();
            b.update("s1", apply("ds")).unwrap();
            // The daemon dies: no release.
        }
        let report = e.backups().recover().unwrap().expect("a backup was active");
        assert_eq!(report.outcome, Outcome::Restored);
        assert_eq!(report.sessions, ["s1"]);
        assert_eq!(e.read().unwrap(), ORIGINAL_TOML);
        assert_eq!(e.mode(), 0o644);
        assert!(e.backup_dir_empty());
        assert_eq!(e.backups().recover().unwrap(), None);
    }

    #[test]
    fn recover_after_a_crash_before_config_was_written() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        // As if the process died after the journal recorded our bytes but before the rename.
        e.write(ORIGINAL_TOML, 0o600);
        let report = Backups::at(&e.paths.state).recover().unwrap().unwrap();
        assert_eq!(report.outcome, Outcome::Unchanged);
        assert_eq!(e.read().unwrap(), ORIGINAL_TOML);
        assert!(e.asides().is_empty());
    }

    #[test]
    fn recover_after_a_crash_mid_restore_is_idempotent() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        let edited = e.read().unwrap().replace("[tui]\n", "[tui]\nx = 1\n");
        fs::write(&e.config, &edited).unwrap();
        // Keep the backup directory as it is now, to put it back after the first restore: as
        // if the process died after writing the merged file, before removing the journal.
        let dir = e.paths.state.join(DIR);
        let saved: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(&dir)
            .unwrap()
            .map(|f| {
                let p = f.unwrap().path();
                let bytes = fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
        let first = b.recover().unwrap().unwrap();
        assert!(matches!(first.outcome, Outcome::Merged { .. }));
        let merged = e.read().unwrap();
        for (p, bytes) in &saved {
            fs::write(p, bytes).unwrap();
        }
        let again = b.recover().unwrap().unwrap();
        assert_eq!(again.outcome, Outcome::KeptUserEdits, "{again:?}");
        assert_eq!(e.read().unwrap(), merged);
        assert_eq!(e.asides().len(), 1, "one copy, not two");
        assert!(e.backup_dir_empty());
    }

    #[test]
    fn damaged_backup_is_left_alone() {
        let e = env();
        e.write(ORIGINAL_TOML, 0o600);
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        let during = e.read().unwrap();
        let copy = fs::read_dir(e.paths.state.join(DIR))
            .unwrap()
            .map(|f| f.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("original-")
            })
            .unwrap();
        fs::write(copy, "truncat").unwrap();
        assert!(matches!(b.recover(), Err(BackupError::Corrupt { .. })));
        assert_eq!(e.read().unwrap(), during, "config.toml untouched");
        assert!(b.journal_path().exists(), "journal kept for a later try");
        fs::write(b.journal_path(), "{not json").unwrap();
        assert!(matches!(b.recover(), Err(BackupError::Corrupt { .. })));
    }

    #[test]
    fn another_config_while_active_is_refused() {
        let e = env();
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        let other = e.paths.home.join("elsewhere/config.toml");
        assert!(matches!(
            b.acquire("s2", &other),
            Err(BackupError::OtherConfig { .. })
        ));
    }

    #[test]
    fn a_symlinked_config_stays_a_symlink() {
        let e = env();
        let real = e.paths.home.join("dotfiles/codex.toml");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        fs::write(&real, ORIGINAL_TOML).unwrap();
        fs::create_dir_all(e.config.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("../dotfiles/codex.toml", &e.config).unwrap();
        let b = e.backups();
        b.acquire("s1", &e.config).unwrap();
        b.update("s1", apply("ds")).unwrap();
        assert!(
            fs::symlink_metadata(&e.config)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_to_string(&real)
                .unwrap()
                .contains("codex-launcher-ds")
        );
        b.release("s1").unwrap();
        assert!(
            fs::symlink_metadata(&e.config)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), ORIGINAL_TOML);
    }

    #[test]
    fn fifty_crashes_and_recoveries_stay_byte_identical() {
        let e = env();
        // Awkward bytes on purpose: CRLF, no final newline, non-ASCII.
        let original = "# réglages\r\nmodel = \"gpt-5.5\"\r\n[tui]\r\nnotifications = false";
        e.write(original, 0o644);
        for i in 0..50 {
            let session = format!("s{i}");
            {
                let b = e.backups();
                b.acquire(&session, &e.config).unwrap();
                b.update(&session, apply(if i % 2 == 0 { "ds" } else { "kimi" }))
                    .unwrap();
                if i % 3 == 0 {
                    b.acquire("other", &e.config).unwrap();
                    b.update("other", apply("zai")).unwrap();
                }
                assert_ne!(e.read().unwrap(), original);
                // Dropped without release: the crash.
            }
            let report = e.backups().recover().unwrap().expect("active backup");
            assert_eq!(report.outcome, Outcome::Restored, "round {i}");
            assert_eq!(
                fs::read(&e.config).unwrap(),
                original.as_bytes(),
                "round {i}"
            );
            assert_eq!(e.mode(), 0o644);
            assert!(e.backup_dir_empty());
        }
        assert!(e.asides().is_empty());
    }

    #[test]
    fn timestamps_are_utc_civil_time() {
        assert_eq!(timestamp(0), "19700101T000000Z");
        assert_eq!(timestamp(1_795_249_654), "20261121T082734Z");
        assert_eq!(timestamp(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn aside_names_do_not_collide() {
        let e = env();
        fs::create_dir_all(e.config.parent().unwrap()).unwrap();
        let a = save_aside(&e.config, b"one").unwrap();
        let b = save_aside(&e.config, b"two").unwrap();
        assert_ne!(a, b);
        assert_eq!(fs::read(&a).unwrap(), b"one");
        assert_eq!(fs::read(&b).unwrap(), b"two");
    }
}
