//! The turn recorder (issue 18): every failed turn kept as a file a user can read, replay and
//! attach to a bug report; every turn when the user asks.
//!
//! # Who does what
//! - The proxy captures ([`codex_launcher_proxy::record`]) and hands each finished turn to
//!   [`TurnTap`] (the proxy's [`Recorder`]), which queues it without blocking: a bounded
//!   queue of [`QUEUE`] turns; a full queue drops the turn, counts it and logs it.
//! - The writer ([`write_turns`], a task off the owner's loop) lets turns gather for
//!   [`GATHER`] after the first one arrives, takes what the queue holds (up to [`BATCH`]),
//!   asks the owner for their numbers and the secrets to remove ([`Slot`]), builds, redacts
//!   and writes the records on the blocking pool, then hands them to the owner, which indexes
//!   them, applies retention (deleting the files it emptied and appending to the index log,
//!   [`apply`]) and publishes [`Event::TurnRecorded`]. The fixed costs (two owner round
//!   trips, two blocking jobs, the wake-ups, the files) are paid per batch, not per turn:
//!   when every turn was recorded they cost more than the records' bytes (BENCHMARKS.md).
//!   The owner holds the index ([`Index`]) and the settings, and is the index log's only
//!   writer.
//! - Reading (show, export) and replaying run in jobs off the owner's loop too.
//!
//! # Files
//! `$XDG_STATE_HOME/codex-launcher/turns/` (0700): `turn-<n>.json` files (0600), each holding
//! the records of one batch, failed or not (never both), one compact JSON record per line,
//! at most [`FILE_RECORDS`] and a small part of the bounds ([`Slot::limits`]); and
//! `index.jsonl`, an append-only log of what was added (with where: [`At`]) and removed
//! (compacted now and then), so that start-up reads one small file instead of every record.
//! The log is advisory: at start-up an entry whose file is gone is dropped and a file the
//! log never named (a crash between the two writes) is read. A file is written once, under
//! its own name, and not fsynced (a temporary name and a rename would double the file
//! operations): records are diagnostics, nobody reads one before it is indexed, and a
//! record cut short by a crash does not parse and is dropped at the next start.
//!
//! Retention removes whole files: when a bound evicts a record, the other records of its
//! file go too, and the file is deleted. So what retention removed is gone from the disk, the
//! bounds hold for the directory as for the index, and no file is ever truncated or
//! rewritten (on ext4, truncating a file and writing it again makes its close write it
//! back, which cost more than the record). Under a burst, the count bounds may keep up to a
//! file's worth fewer turns than they say. Settings (what to record, the bounds) are in
//! `$XDG_CONFIG_HOME/codex-launcher/turns.json`.
//!
//! # Redaction, always
//! Before anything is written: secret header values are blanked by name (the proxy does it
//! when it builds the record), then every stored key, the install token, every secret header
//! value of every endpoint, the keys the turn itself was sent with and every session token
//! (`cls<n>.<hex>`) are replaced in the whole text, raw and JSON-escaped. `encrypted_content`
//! is kept: it is ours (the provider's reasoning, encoded by the proxy), not a secret.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use codex_launcher_proxy::record::{
    self, FailureNote, Payload, Recorder, Stage, TurnDraft, TurnRecord, TurnSummary,
};
use codex_launcher_types::{TurnOrigin, TurnOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::command::Handle;
use crate::error::StateError;
use crate::event::Event;
use crate::views::{ReplayReport, TurnFilter, TurnSection};

/// Turns that may wait for the writer; past it a turn is dropped (counted, logged).
pub const QUEUE: usize = 256;
/// Turns the writer takes from the queue at once.
pub const BATCH: usize = 64;
/// How long the writer lets turns gather after the first one arrives: a record is indexed
/// (and announced) at most this much later, and under load a batch is many turns.
pub const GATHER: Duration = Duration::from_millis(50);
/// Records one file holds at most (fewer when the bounds are small: [`Slot::file_records`]).
pub const FILE_RECORDS: usize = 16;
/// Emptied record files an earlier build kept for reuse; start-up removes them.
const SPARE_PREFIX: &str = ".spare-";
/// The directory's name under the state directory.
pub const DIR: &str = "turns";
/// The settings file's name under the config directory.
pub const SETTINGS_FILE: &str = "turns.json";
/// The index log's name.
const LOG: &str = "index.jsonl";

/// What to record and how much to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Record successful turns too, on every endpoint.
    pub record_all: bool,
    /// Endpoints whose successful turns are recorded too.
    pub endpoints: BTreeSet<String>,
    /// Failed turns kept (the oldest go first).
    pub max_failures: u32,
    /// Other turns kept (successful, cancelled).
    pub max_successes: u32,
    /// All records together, in bytes.
    pub max_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            record_all: false,
            endpoints: BTreeSet::new(),
            max_failures: 100,
            max_successes: 100,
            max_bytes: 200 * 1024 * 1024,
        }
    }
}

/// What the proxy asks per request, read under a lock the owner writes.
#[derive(Debug, Default)]
struct Policy {
    all: bool,
    endpoints: HashSet<String>,
}

/// The proxy's [`Recorder`]: a policy to read and a bounded queue to the writer.
#[derive(Debug)]
pub struct TurnTap {
    policy: RwLock<Policy>,
    tx: mpsc::Sender<TurnDraft>,
    dropped: AtomicU64,
}

impl TurnTap {
    /// A tap queueing into `tx`, recording as `settings` say.
    pub fn new(tx: mpsc::Sender<TurnDraft>, settings: &Settings) -> TurnTap {
        let tap = TurnTap {
            policy: RwLock::default(),
            tx,
            dropped: AtomicU64::new(0),
        };
        tap.apply(settings);
        tap
    }

    /// Follow new settings.
    pub fn apply(&self, settings: &Settings) {
        let mut p = self.policy.write().unwrap_or_else(|e| e.into_inner());
        p.all = settings.record_all;
        p.endpoints = settings.endpoints.iter().cloned().collect();
    }

    /// Turns dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Recorder for TurnTap {
    fn records_all(&self, endpoint: &str) -> bool {
        let p = self.policy.read().unwrap_or_else(|e| e.into_inner());
        p.all || p.endpoints.contains(endpoint)
    }

    fn hand_over(&self, turn: TurnDraft) {
        if let Err(e) = self.tx.try_send(turn) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "the recorder's queue is full",
                mpsc::error::TrySendError::Closed(_) => "the recorder has stopped",
            };
            // The 1st, 2nd, 4th, 8th… drop: a queue that stays full (every turn recorded
            // under load) would otherwise write one journal line per turn, which costs more
            // than the turn. `codexctl turns record` shows the whole count.
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "a turn was not recorded: {why}");
            }
        }
    }
}

/// What the writer needs from the owner for a batch of records.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The first record's number (the batch has consecutive numbers).
    pub id: u64,
    /// The directory.
    pub dir: PathBuf,
    /// What to remove from the text.
    pub secrets: Arc<Vec<String>>,
    /// Records one file may hold: retention removes whole files, so a file is a small part
    /// of what the bounds keep ([`Slot::limits`]).
    pub file_records: usize,
    /// Bytes after which a file takes no more records.
    pub file_bytes: u64,
}

impl Slot {
    /// `file_records` and `file_bytes` for `settings`: a file holds at most a quarter of
    /// either count bound and an eighth of the size bound (at least one record), so removing
    /// one whole file never takes much more than the bounds ask.
    pub fn limits(settings: &Settings) -> (usize, u64) {
        let fewest = settings.max_failures.min(settings.max_successes) as usize;
        (
            (fewest / 4).clamp(1, FILE_RECORDS),
            (settings.max_bytes / 8).max(1),
        )
    }
}

/// Where a record is: `len` bytes (the record and its newline) at `offset` in the file
/// [`file_of`]`(dir, file)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct At {
    /// The file's number (its first record's).
    pub file: u64,
    /// Where the record starts.
    pub offset: u64,
    /// Its length.
    pub len: u64,
}

/// A kept record: what a list shows, and where the record is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The index line.
    pub summary: TurnSummary,
    /// The place.
    pub at: At,
}

/// What the index log and the directory must get after a change: the records added, the
/// records removed and the files they were in (retention removes whole files), and the whole
/// index when the log should be rewritten.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Records added.
    pub added: Vec<Kept>,
    /// Numbers of the records removed.
    pub removed: Vec<u64>,
    /// Files to delete (every record in them was removed).
    pub files: Vec<PathBuf>,
    /// The index to rewrite the log from.
    pub compact: Option<Vec<Kept>>,
}

impl Written {
    /// The change that adds `added` and removes `evicted` in `dir`.
    pub fn of(dir: &Path, added: Vec<Kept>, evicted: &[Kept], compact: Option<Vec<Kept>>) -> Self {
        let files: BTreeSet<u64> = evicted.iter().map(|k| k.at.file).collect();
        Written {
            added,
            removed: evicted.iter().map(|k| k.summary.id).collect(),
            files: files.into_iter().map(|f| file_of(dir, f)).collect(),
            compact,
        }
    }
}

/// The index: every kept record's summary and place, by number.
#[derive(Debug, Clone, Default)]
pub struct Index {
    entries: BTreeMap<u64, Kept>,
    next: u64,
    /// Lines in the log file (to know when to compact it).
    log_lines: usize,
}

impl Index {
    /// The next number to give.
    pub fn take_id(&mut self) -> u64 {
        self.take_ids(1)
    }

    /// `n` consecutive numbers; the first.
    pub fn take_ids(&mut self, n: u64) -> u64 {
        self.next = self.next.max(1);
        let id = self.next;
        self.next += n;
        id
    }

    /// Keep records (all of a file's at once); the ones retention evicts (oldest first):
    /// failures past `max_failures`, others past `max_successes`, then the oldest of all
    /// while the total is over `max_bytes`, each with the rest of its file.
    pub fn insert(&mut self, kept: Vec<Kept>, settings: &Settings) -> Vec<Kept> {
        for k in kept {
            self.next = self.next.max(k.summary.id + 1);
            self.entries.insert(k.summary.id, k);
        }
        self.enforce(settings)
    }

    /// Apply the bounds now (after they changed).
    pub fn enforce(&mut self, settings: &Settings) -> Vec<Kept> {
        let mut evicted = Vec::new();
        let failed = |k: &Kept| k.summary.outcome == TurnOutcome::Failed;
        for (want_failed, max) in [
            (true, settings.max_failures),
            (false, settings.max_successes),
        ] {
            let ids: Vec<u64> = self
                .entries
                .values()
                .filter(|k| failed(k) == want_failed)
                .map(|k| k.summary.id)
                .collect();
            let over = ids.len().saturating_sub(max as usize);
            for id in ids.into_iter().take(over) {
                evicted.extend(self.entries.remove(&id));
            }
        }
        let mut total = self.total_bytes();
        while total > settings.max_bytes {
            let Some((_, oldest)) = self.entries.pop_first() else {
                break;
            };
            total = total.saturating_sub(oldest.summary.bytes);
            evicted.push(oldest);
        }
        // A file goes whole: what retention removed is gone from the disk too, and the
        // bounds hold for the files as they do for the index.
        if !evicted.is_empty() {
            let files: BTreeSet<u64> = evicted.iter().map(|k| k.at.file).collect();
            let rest: Vec<u64> = self
                .entries
                .values()
                .filter(|k| files.contains(&k.at.file))
                .map(|k| k.summary.id)
                .collect();
            for id in rest {
                evicted.extend(self.entries.remove(&id));
            }
        }
        evicted
    }

    /// Bytes of all records.
    pub fn total_bytes(&self) -> u64 {
        self.entries.values().map(|k| k.summary.bytes).sum()
    }

    /// Records kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// None kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One record's summary.
    pub fn get(&self, id: u64) -> Option<&TurnSummary> {
        self.entries.get(&id).map(|k| &k.summary)
    }

    /// Where one record is.
    pub fn at(&self, id: u64) -> Option<At> {
        self.entries.get(&id).map(|k| k.at)
    }

    /// Matching records, newest first.
    pub fn list(&self, filter: &TurnFilter) -> Vec<TurnSummary> {
        self.entries
            .values()
            .rev()
            .map(|k| &k.summary)
            .filter(|s| !filter.failed_only || s.outcome == TurnOutcome::Failed)
            .filter(|s| filter.endpoint.as_ref().is_none_or(|e| &s.endpoint == e))
            .filter(|s| filter.session.is_none_or(|n| s.session == Some(n)))
            .cloned()
            .collect()
    }

    /// Every summary, oldest first.
    pub fn all(&self) -> Vec<TurnSummary> {
        self.entries.values().map(|k| k.summary.clone()).collect()
    }

    /// Every record with its place, oldest first (to rewrite the log).
    pub fn kept(&self) -> Vec<Kept> {
        self.entries.values().cloned().collect()
    }

    /// Count lines appended to the log; whether it is time to rewrite it.
    pub fn logged(&mut self, lines: usize) -> bool {
        self.log_lines += lines;
        if self.log_lines > 2 * self.entries.len() + 64 {
            self.log_lines = self.entries.len();
            return true;
        }
        false
    }
}

/// File number `n` (named after its first record; an earlier build's one-record files have
/// the same names).
pub fn file_of(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("turn-{n:08}.json"))
}

fn id_of(name: &str) -> Option<u64> {
    name.strip_prefix("turn-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// One line of the index log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LogLine {
    Add(Box<Kept>),
    Remove(u64),
}

/// The settings (defaults when the file is missing or unreadable, which is logged).
pub fn load_settings(path: &Path) -> Settings {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(file = %path.display(), error = %e, "unreadable turn recorder settings; using the defaults");
            Settings::default()
        }),
        Err(_) => Settings::default(),
    }
}

/// Write the settings (atomically, 0600).
pub fn save_settings(path: &Path, settings: &Settings) -> Result<(), StateError> {
    let text =
        serde_json::to_vec_pretty(settings).map_err(|e| StateError::Internal(e.to_string()))?;
    codex_launcher_engine::atomic::write_atomic(path, &text, None)
        .map(|_| ())
        .map_err(|e| StateError::Io(format!("cannot write {}: {e}", path.display())))
}

/// Read the index: the log, reconciled with the files there are. An entry whose file is gone
/// (or too short) is dropped; a file the log never named (a crash between the record and its
/// log line, or an earlier build's file) is read; a file the log named and whose records were
/// all removed (a crash before its deletion) is deleted.
pub fn load_index(dir: &Path) -> Index {
    let mut entries: BTreeMap<u64, Kept> = BTreeMap::new();
    let mut named: HashSet<u64> = HashSet::new();
    let mut log_lines = 0;
    if let Ok(text) = std::fs::read_to_string(dir.join(LOG)) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            log_lines += 1;
            match serde_json::from_str::<LogLine>(line) {
                Ok(LogLine::Add(k)) => {
                    named.insert(k.at.file);
                    entries.insert(k.summary.id, *k);
                }
                Ok(LogLine::Remove(id)) => {
                    entries.remove(&id);
                }
                // An earlier build's line: its file is read instead.
                Err(_) => {}
            }
        }
    }
    let mut files: BTreeMap<u64, u64> = BTreeMap::new();
    if let Ok(list) = std::fs::read_dir(dir) {
        for entry in list.flatten() {
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| n.starts_with(SPARE_PREFIX)) {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some(n) = name.to_str().and_then(id_of) else {
                continue;
            };
            files.insert(n, entry.metadata().map_or(0, |m| m.len()));
        }
    }
    entries.retain(|_, k| {
        files
            .get(&k.at.file)
            .is_some_and(|len| k.at.offset.saturating_add(k.at.len) <= *len)
    });
    let live: HashSet<u64> = entries.values().map(|k| k.at.file).collect();
    let mut highest = files.keys().next_back().copied().unwrap_or(0);
    for &n in files.keys() {
        if live.contains(&n) {
            continue;
        }
        let path = file_of(dir, n);
        if named.contains(&n) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let found = std::fs::read(&path)
            .map(|b| scan(n, &b))
            .unwrap_or_default();
        if found.is_empty() {
            // Cut short by a crash, or not ours: not a record we can show.
            tracing::warn!(file = %path.display(), "unreadable turn record removed");
            let _ = std::fs::remove_file(&path);
        }
        for k in found {
            highest = highest.max(k.summary.id);
            entries.insert(k.summary.id, k);
        }
    }
    let next = highest.max(entries.keys().next_back().copied().unwrap_or(0)) + 1;
    Index {
        entries,
        next,
        log_lines,
    }
}

/// The records of file `n` whose bytes are `bytes`, as far as they parse (a crash may have
/// cut the last one short).
fn scan(n: u64, bytes: &[u8]) -> Vec<Kept> {
    let mut out = Vec::new();
    let mut records = serde_json::Deserializer::from_slice(bytes).into_iter::<TurnRecord>();
    let mut end = 0;
    while let Some(Ok(record)) = records.next() {
        let start = end
            + bytes[end..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        end = records.byte_offset();
        if bytes.get(end) == Some(&b'\n') {
            end += 1;
        }
        let mut summary = record.summary;
        summary.bytes = (end - start) as u64;
        out.push(Kept {
            summary,
            at: At {
                file: n,
                offset: start as u64,
                len: (end - start) as u64,
            },
        });
    }
    out
}

// ---- redaction -------------------------------------------------------------------------

/// Replace every secret (raw and JSON-escaped) and every session token in `text`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    redact_owned(text.to_owned(), secrets)
}

/// [`redact`] on a string it may keep: copied only where there is something to replace
/// (usually nothing is: the proxy blanked the secret headers already).
fn redact_owned(mut out: String, secrets: &[String]) -> String {
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != secret && out.contains(escaped) {
            out = out.replace(escaped, "***");
        }
    }
    redact_session_tokens(&out).unwrap_or(out)
}

/// `cls<digits>.<hex>` → `cls<digits>.***` (a session's proxy token; the id is not secret);
/// `None` when there is none.
fn redact_session_tokens(text: &str) -> Option<String> {
    if !text.contains("cls") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while let Some(found) = text[i..].find("cls") {
        let start = i + found;
        let mut j = start + 3;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > start + 3 && j < bytes.len() && bytes[j] == b'.' {
            let hex_start = j + 1;
            let mut k = hex_start;
            while k < bytes.len() && bytes[k].is_ascii_hexdigit() {
                k += 1;
            }
            if k - hex_start >= 8 {
                out.push_str(&text[copied..hex_start]);
                out.push_str("***");
                copied = k;
                i = k;
                continue;
            }
        }
        i = start + 3;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Encode and redact `record` as number `id`: its summary (with its size in a file) and its
/// text. Pure.
pub fn encode(
    mut record: TurnRecord,
    id: u64,
    secrets: &[String],
) -> Result<(TurnSummary, String), StateError> {
    record.summary.id = id;
    // Compact: `turns show` is the readable view; the file is for replays and bug reports.
    let text = serde_json::to_string(&record)
        .map_err(|e| StateError::Internal(format!("cannot encode a turn record: {e}")))?;
    let text = redact_owned(text, secrets);
    // The summary as written: redacted like the rest (a failure message may quote anything).
    let mut summary = record.summary;
    if let Some(f) = &mut summary.failure {
        f.message = redact(&f.message, secrets);
    }
    summary.bytes = text.len() as u64 + 1;
    Ok((summary, text))
}

/// Write encoded records into one new file, 0600, named after the first (never over an
/// existing one), one record per line; where each is. Not fsynced (module docs). Blocking.
pub fn write_file(
    dir: &Path,
    records: Vec<(TurnSummary, String)>,
) -> Result<Vec<Kept>, StateError> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(n) = records.first().map(|(s, _)| s.id) else {
        return Ok(Vec::new());
    };
    let path = file_of(dir, n);
    let io = |e: std::io::Error| StateError::Io(format!("cannot write {}: {e}", path.display()));
    let mut buf = Vec::with_capacity(records.iter().map(|(_, t)| t.len() + 1).sum());
    let mut kept = Vec::with_capacity(records.len());
    for (summary, text) in records {
        let offset = buf.len() as u64;
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        let len = buf.len() as u64 - offset;
        kept.push(Kept {
            summary,
            at: At {
                file: n,
                offset,
                len,
            },
        });
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    f.write_all(&buf).map_err(io)?;
    Ok(kept)
}

/// A small file replaced whole (the compacted log): a temporary name, then a rename.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| StateError::Io(format!("cannot write {}: {e}", path.display()));
    let tmp = path.with_extension("jsonl.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

/// Delete the files retention emptied, then append to the log (or rewrite it, if asked).
/// Blocking; the owner's.
pub fn apply(dir: &Path, written: &Written) {
    for path in &written.files {
        if let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %path.display(), error = %e, "cannot remove an old turn record");
        }
    }
    let log = dir.join(LOG);
    let mut text = String::new();
    let mut line = |l: &LogLine| {
        if let Ok(l) = serde_json::to_string(l) {
            text.push_str(&l);
            text.push('\n');
        }
    };
    if let Some(all) = &written.compact {
        for k in all {
            line(&LogLine::Add(Box::new(k.clone())));
        }
        if let Err(e) = write_private(&log, text.as_bytes()) {
            tracing::warn!(error = %e, "cannot rewrite the turn index");
        }
        return;
    }
    for k in &written.added {
        line(&LogLine::Add(Box::new(k.clone())));
    }
    for id in &written.removed {
        line(&LogLine::Remove(*id));
    }
    if text.is_empty() {
        return;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&log)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = appended {
        tracing::warn!(error = %e, "cannot append to the turn index");
    }
}

/// The writer: the queue's consumer, until the owner stops.
pub async fn write_turns(handle: Handle, mut rx: mpsc::Receiver<TurnDraft>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        // Let the turns that follow gather: while the writer sleeps, a hand-over only queues
        // (nothing is parked on the queue to wake), so the fixed costs below are paid once
        // per GATHER rather than once per turn. A closed queue (the daemon stopping) still
        // has its last turns written.
        if batch.len() < BATCH {
            tokio::time::sleep(GATHER).await;
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(draft) => batch.push(draft),
                    Err(_) => break,
                }
            }
        }
        let drafts = std::mem::take(&mut batch);
        let Ok(slot) = handle.turn_slots(drafts.len() as u64).await else {
            return;
        };
        let written = tokio::task::spawn_blocking(move || write_batch(drafts, &slot)).await;
        let summaries = match written {
            Ok(summaries) => summaries,
            Err(e) => {
                tracing::warn!(error = %e, "the turn recorder's job failed");
                continue;
            }
        };
        if !summaries.is_empty() && handle.turns_written(summaries).await.is_err() {
            return;
        }
    }
}

/// Build, redact and write a batch (numbers from `slot.id` on): failures and other turns in
/// files of their own (retention removes the two at different paces, and a file goes whole),
/// each file up to the slot's limits. The records written, in order, with the tickets of
/// their callers. Blocking.
fn write_batch(drafts: Vec<TurnDraft>, slot: &Slot) -> Vec<(Kept, Option<String>)> {
    if let Err(e) = codex_launcher_engine::atomic::ensure_dir(&slot.dir) {
        tracing::warn!(error = %e, "cannot record turns");
        return Vec::new();
    }
    let mut tickets = std::collections::HashMap::new();
    let mut written: Vec<Kept> = Vec::with_capacity(drafts.len());
    // Failed, other: the records waiting for their file, and its size so far.
    let mut open: [(Vec<(TurnSummary, String)>, u64); 2] = Default::default();
    let mut flush = |file: &mut (Vec<(TurnSummary, String)>, u64)| {
        file.1 = 0;
        match write_file(&slot.dir, std::mem::take(&mut file.0)) {
            Ok(kept) => written.extend(kept),
            Err(e) => tracing::warn!(error = %e, "cannot record turns"),
        }
    };
    for (id, draft) in (slot.id..).zip(drafts) {
        if let Some(t) = draft.origin.ticket() {
            tickets.insert(id, t.to_owned());
        }
        // The keys this turn was sent with too: one rotated since is no longer the owner's.
        let own = draft.secrets();
        let secrets = if own.iter().all(|k| slot.secrets.contains(k)) {
            slot.secrets.clone()
        } else {
            let mut all = (*slot.secrets).clone();
            all.extend(own);
            all.sort_by_key(|s| std::cmp::Reverse(s.len()));
            Arc::new(all)
        };
        match encode(draft.into_record(), id, &secrets) {
            Ok((summary, text)) => {
                tracing::debug!(turn = id, outcome = %summary.outcome, "turn recorded");
                let file = &mut open[usize::from(summary.outcome != TurnOutcome::Failed)];
                file.1 += summary.bytes;
                file.0.push((summary, text));
                if file.0.len() >= slot.file_records || file.1 >= slot.file_bytes {
                    flush(file);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot record a turn"),
        }
    }
    for file in &mut open {
        if !file.0.is_empty() {
            flush(file);
        }
    }
    written.sort_by_key(|k| k.summary.id);
    written
        .into_iter()
        .map(|k| {
            let ticket = tickets.remove(&k.summary.id);
            (k, ticket)
        })
        .collect()
}

/// The number of the record carrying `ticket`, once the owner announces it (`None` after
/// `within`). Subscribe before sending the request, so the announcement cannot be missed.
pub async fn await_ticket(
    events: &mut broadcast::Receiver<Event>,
    ticket: &str,
    within: Duration,
) -> Option<u64> {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(Event::TurnRecorded {
                    id,
                    ticket: Some(t),
                    ..
                }) if t == ticket => return Some(id),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    };
    tokio::time::timeout(within, wait).await.ok().flatten()
}

// ---- reading ---------------------------------------------------------------------------

/// Read the record at `at` in `dir`. Blocking.
pub fn read_record(dir: &Path, at: At) -> Result<TurnRecord, StateError> {
    use std::os::unix::fs::FileExt;
    let path = file_of(dir, at.file);
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof => {
            StateError::NotFound("that turn is no longer kept (retention removed it)".into())
        }
        _ => StateError::Io(format!("cannot read {}: {e}", path.display())),
    };
    let len = usize::try_from(at.len)
        .map_err(|_| StateError::Io(format!("{} is not a turn record", path.display())))?;
    let mut bytes = vec![0; len];
    std::fs::File::open(&path)
        .and_then(|f| f.read_exact_at(&mut bytes, at.offset))
        .map_err(io)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StateError::Io(format!("{} is not a turn record: {e}", path.display())))
}

/// `2026-12-03 14:05:09 UTC`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A failure in one line, at most 300 characters.
pub fn one_line(failure: Option<&FailureNote>) -> String {
    let Some(f) = failure else {
        return String::new();
    };
    let line: String = f.message.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 300 {
        return line;
    }
    let cut: String = line.chars().take(299).collect();
    format!("{cut}…")
}

fn section(title: &str, lines: Vec<(&str, String)>) -> TurnSection {
    TurnSection {
        title: title.to_owned(),
        lines: lines
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}

fn bytes_label(n: u64) -> String {
    match n {
        n if n < 10 * 1024 => format!("{n} bytes"),
        n if n < 10 * 1024 * 1024 => format!("{} KiB", n / 1024),
        n => format!("{} MiB", n / (1024 * 1024)),
    }
}

/// `3 message, 2 function_call`: how many of each, in first-seen order.
fn tally<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for n in names {
        match counts.iter_mut().find(|(k, _)| *k == n) {
            Some((_, c)) => *c += 1,
            None => counts.push((n, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, c)| format!("{c} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Codex's request in short: items, tools, sizes.
fn codex_lines(record: &TurnRecord) -> Vec<(&'static str, String)> {
    let req = &record.codex_request;
    let mut lines = vec![("size", bytes_label(req.bytes))];
    let Some(body) = req.body.as_ref().and_then(Payload::json) else {
        lines.push((
            "body",
            match &req.body {
                Some(Payload::Text(t)) => format!("not JSON: {}", excerpt(t, 300)),
                _ => "not kept (too large, or unreadable)".to_owned(),
            },
        ));
        return lines;
    };
    lines.push(("model", str_of(&body, "model").to_owned()));
    lines.push((
        "stream",
        body.get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
    ));
    match body.get("input") {
        Some(Value::Array(items)) => {
            let kinds = items.iter().map(|i| {
                let t = str_of(i, "type");
                match (t, str_of(i, "role")) {
                    ("message" | "", role) if !role.is_empty() => role,
                    (t, _) if !t.is_empty() => t,
                    _ => "item",
                }
            });
            lines.push(("items", format!("{}: {}", items.len(), tally(kinds))));
        }
        Some(Value::String(s)) => {
            lines.push(("input", format!("{} characters of text", s.chars().count())))
        }
        _ => {}
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let names: Vec<&str> = tools
            .iter()
            .map(|t| match str_of(t, "name") {
                "" => str_of(t, "type"),
                n => n,
            })
            .collect();
        let shown = names
            .iter()
            .take(12)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = names.len().saturating_sub(12);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        lines.push(("tools", format!("{}: {shown}{more}", names.len())));
    }
    if let Some(i) = body.get("instructions").and_then(Value::as_str) {
        lines.push(("instructions", format!("{} characters", i.chars().count())));
    }
    if let Some(r) = body.get("reasoning") {
        lines.push(("reasoning", r.to_string()));
    }
    if let Some(p) = body.get("previous_response_id").and_then(Value::as_str) {
        lines.push(("previous response", p.to_owned()));
    }
    lines
}

/// The upstream body in short (Chat messages, Anthropic messages, tools).
fn upstream_body_lines(body: &Value) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(m) = body.get("model").and_then(Value::as_str) {
        lines.push(("model", m.to_owned()));
    }
    if let Some(msgs) = body.get("messages").and_then(Value::as_array) {
        let roles = msgs.iter().map(|m| match str_of(m, "role") {
            "" => "message",
            r => r,
        });
        lines.push(("messages", format!("{}: {}", msgs.len(), tally(roles))));
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        lines.push(("tools", tools.len().to_string()));
    }
    if let Some(system) = body.get("system") {
        let n = match system {
            Value::String(s) => s.chars().count(),
            other => other.to_string().len(),
        };
        lines.push(("system", format!("{n} characters")));
    }
    lines
}

fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… ({} more characters)", text.chars().count() - max)
}

/// The readable view of a record, in sections: the turn, where and why it failed, Codex's
/// request in short, each upstream request and its answer, what Codex got, the quirk row.
pub fn sections(record: &TurnRecord) -> Vec<TurnSection> {
    let s = &record.summary;
    let mut out = Vec::new();
    let from = match (s.origin, s.session, s.replay_of) {
        (TurnOrigin::Replay, _, Some(of)) => format!("replay of turn {of}"),
        (TurnOrigin::Codex, Some(n), _) => format!("Codex, session {n}"),
        (TurnOrigin::Codex, None, _) => "Codex (install token)".to_owned(),
        (origin, _, _) => origin.to_string(),
    };
    let endpoint = match &record.endpoint {
        Some(e) if e.name != e.id => format!("{} ({})", e.name, e.id),
        _ => s.endpoint.clone(),
    };
    out.push(section(
        "Turn",
        vec![
            ("turn", s.id.to_string()),
            ("when", utc(s.started_ms)),
            ("endpoint", endpoint),
            ("model", s.model.clone()),
            ("from", from),
            ("outcome", s.outcome.to_string()),
            ("duration", format!("{} ms", s.duration_ms)),
            (
                "recorded",
                match s.scope {
                    record::Scope::Failures => "failed turns only".to_owned(),
                    record::Scope::All => "every turn (streams kept)".to_owned(),
                },
            ),
        ],
    ));
    if let Some(f) = &s.failure {
        let attempt = record.attempts.last();
        let at = match (f.stage, attempt) {
            (Stage::Status, Some(a)) => format!(
                "{}: HTTP {}",
                f.stage.describe(),
                a.status.map_or("?".to_owned(), |s| s.to_string())
            ),
            (Stage::Stream, Some(a)) => format!(
                "{}, after {} of its body",
                f.stage.describe(),
                bytes_label(a.response_bytes)
            ),
            _ => f.stage.describe().to_owned(),
        };
        out.push(section(
            "Failure",
            vec![
                ("where", at),
                ("kind", f.kind.clone().unwrap_or_default()),
                ("message", f.message.clone()),
            ],
        ));
    }
    out.push(section("Codex's request", codex_lines(record)));
    let n = record.attempts.len();
    for (i, a) in record.attempts.iter().enumerate() {
        let suffix = if n > 1 {
            format!(" (attempt {} of {n})", i + 1)
        } else {
            String::new()
        };
        let mut lines = vec![
            ("endpoint", a.endpoint.clone()),
            ("url", a.url.clone()),
            ("sent after", format!("{} ms", a.sent_ms)),
        ];
        for (k, v) in &a.headers {
            lines.push(("header", format!("{k}: {v}")));
        }
        match &a.body {
            Some(b) => {
                lines.push(("size", bytes_label(b.as_str().len() as u64)));
                if let Some(v) = b.json() {
                    lines.extend(upstream_body_lines(&v));
                }
            }
            None => lines.push(("body", "not kept (too large)".to_owned())),
        }
        out.push(section(&format!("Upstream request{suffix}"), lines));
        let mut answer = Vec::new();
        match (a.status, &a.transport_error) {
            (Some(st), _) => answer.push(("status", st.to_string())),
            (None, Some(e)) => answer.push(("no answer", e.clone())),
            (None, None) => answer.push(("status", "none yet (cancelled)".to_owned())),
        }
        if let Some(ms) = a.answered_ms {
            answer.push(("after", format!("{ms} ms")));
        }
        if let (Some(st), Some(e)) = (a.status, &a.transport_error) {
            answer.push(("then", format!("HTTP {st}, then: {e}")));
        }
        for (k, v) in &a.response_headers {
            answer.push(("header", format!("{k}: {v}")));
        }
        answer.push((
            "body",
            match &a.response {
                Some(p) => {
                    let text = match p.json() {
                        Some(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                        None => p.as_str().to_owned(),
                    };
                    let kept = if a.response_truncated {
                        format!(" (first {} kept)", bytes_label(KEEP as u64))
                    } else {
                        String::new()
                    };
                    format!("{}{kept}:\n{}", bytes_label(a.response_bytes), excerpt(&text, 4000))
                }
                None if a.response_bytes > 0 => format!(
                    "{} received (not kept: only failed turns are recorded, and the stream is kept only when every turn is)",
                    bytes_label(a.response_bytes)
                ),
                None => String::new(),
            },
        ));
        out.push(section(&format!("Upstream answer{suffix}"), answer));
    }
    let a = &record.answer;
    let mut sent = vec![("status", a.status.to_string())];
    if let Some(e) = &a.error {
        sent.push(("error", e.clone()));
    }
    if let Some(t) = &record.terminal {
        sent.push(("response", record::answered_with(t)));
        if let Some(m) = &t.error_message {
            sent.push(("error", m.clone()));
        }
    }
    if a.stream_bytes > 0 {
        sent.push(("stream", format!("{} sent", bytes_label(a.stream_bytes))));
    }
    out.push(section("Sent to Codex", sent));
    if let Some(e) = &record.endpoint {
        out.push(section(
            "Quirk row",
            vec![
                ("backend", e.backend.to_string()),
                ("provider", e.provider.clone()),
                ("row", e.quirks.to_string()),
            ],
        ));
    }
    out
}

const KEEP: usize = record::KEEP_STREAM_BYTES;

// ---- export ----------------------------------------------------------------------------

/// Format name of an exported bundle.
pub const EXPORT_FORMAT: &str = "codex-launcher-turn-export";

/// A self-contained bundle of a record (already redacted of keys and secret headers): the
/// record, what made it, and, with `redact_text`, every message, tool output and reasoning
/// text replaced by a placeholder of the same length.
pub fn bundle(record: &TurnRecord, redact_text: bool) -> Result<String, StateError> {
    let mut turn = serde_json::to_value(record)
        .map_err(|e| StateError::Internal(format!("cannot encode the turn: {e}")))?;
    if redact_text {
        for pointer in ["/codex_request/body", "/answer/stream"] {
            if let Some(v) = turn.pointer_mut(pointer) {
                redact_payload(v);
            }
        }
        if let Some(attempts) = turn.get_mut("attempts").and_then(Value::as_array_mut) {
            for a in attempts {
                for key in ["body", "response"] {
                    if let Some(v) = a.get_mut(key) {
                        redact_payload(v);
                    }
                }
            }
        }
    }
    let bundle = serde_json::json!({
        "format": EXPORT_FORMAT,
        "version": 1,
        "exported_by": concat!("codex-launcher ", env!("CARGO_PKG_VERSION")),
        "redacted": {
            "keys_and_secret_headers": true,
            "text": redact_text,
        },
        "about": "A turn recorded by codex-launcher: Codex's Responses request, each upstream request as sent (keys and secret headers replaced by [redacted] or ***), what the upstream answered, what Codex was sent, and the endpoint's quirk row. To replay it: send attempts[-1].body to attempts[-1].url with your own key.",
        "turn": turn,
    });
    serde_json::to_string_pretty(&bundle).map_err(|e| StateError::Internal(e.to_string()))
}

/// A payload in a record's JSON (`{"json": …}` or `{"text": "…"}`, or a plain string for
/// streams): every text replaced.
fn redact_payload(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(json) = map.get_mut("json") {
                redact_text_in(json, false);
            }
            if let Some(Value::String(text)) = map.get_mut("text") {
                *text = redact_stream_text(text);
            }
        }
        Value::String(text) => *text = redact_stream_text(text),
        _ => {}
    }
}

/// Keys whose values are (or hold) what people and models wrote.
const TEXT_KEYS: &[&str] = &[
    "text",
    "content",
    "output",
    "instructions",
    "arguments",
    "input",
    "delta",
    "thinking",
    "reasoning_content",
    "reasoning",
    "partial_json",
    "encrypted_content",
    "summary",
    "refusal",
    "prompt",
    "system",
    "result",
    "data",
    "file_data",
    "image_url",
];

/// Inside text, the keys that say what a part is, not what it says.
const SHAPE_KEYS: &[&str] = &[
    "type",
    "role",
    "id",
    "call_id",
    "tool_use_id",
    "name",
    "status",
    "index",
    "media_type",
    "format",
    "detail",
    "signature",
    "cache_control",
    "finish_reason",
    "stop_reason",
];

/// Declarations, not content: tool schemas are what a provider most often refuses.
const SKIP_KEYS: &[&str] = &["tools", "tool_choice", "response_format", "text_format"];

fn placeholder(s: &str) -> String {
    "x".repeat(s.chars().count())
}

/// Replace text in a JSON value: under [`TEXT_KEYS`] every string but the [`SHAPE_KEYS`]
/// (`in_text`), elsewhere nothing.
pub fn redact_text_in(v: &mut Value, in_text: bool) {
    match v {
        Value::String(s) if in_text => *s = placeholder(s),
        Value::Array(items) => {
            for item in items {
                redact_text_in(item, in_text);
            }
        }
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let key = key.as_str();
                if SKIP_KEYS.contains(&key) || (in_text && SHAPE_KEYS.contains(&key)) {
                    continue;
                }
                redact_text_in(value, in_text || TEXT_KEYS.contains(&key));
            }
        }
        _ => {}
    }
}

/// A stream as text (SSE or NDJSON): JSON events redacted, other data replaced whole.
fn redact_stream_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (prefix, rest) = match line.strip_prefix("data:") {
            Some(rest) => ("data:", rest),
            None if line.starts_with('{') || line.starts_with('[') => ("", line),
            None => {
                out.push_str(line);
                continue;
            }
        };
        out.push_str(prefix);
        let lead = &rest[..rest.len() - rest.trim_start().len()];
        out.push_str(lead);
        let body = rest.trim_start();
        match serde_json::from_str::<Value>(body) {
            Ok(mut v) => {
                redact_text_in(&mut v, false);
                out.push_str(&v.to_string());
            }
            Err(_) if body == "[DONE]" => out.push_str(body),
            Err(_) => out.push_str(&placeholder(body)),
        }
    }
    out
}

// ---- replay ----------------------------------------------------------------------------

/// How long a replay may take, the whole exchange.
pub const REPLAY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long to wait for the replay's own record once the exchange ended.
const RECORD_WAIT: Duration = Duration::from_secs(10);

/// A replay, run off the owner's loop.
pub(crate) struct ReplayJob {
    pub handle: Handle,
    pub proxy: Arc<codex_launcher_proxy::ProxyState>,
    pub proxy_addr: std::net::SocketAddr,
    pub token: String,
    /// The directory and where the record is in it.
    pub dir: PathBuf,
    pub at: At,
    pub id: u64,
    /// Empty: as recorded.
    pub endpoint: String,
    /// Empty: as recorded.
    pub model: String,
}

impl ReplayJob {
    pub async fn run(self) -> Result<ReplayReport, StateError> {
        tokio::time::timeout(REPLAY_TIMEOUT, self.replay())
            .await
            .unwrap_or_else(|_| {
                Err(StateError::Upstream(format!(
                    "the replay did not finish within {} s",
                    REPLAY_TIMEOUT.as_secs()
                )))
            })
    }

    async fn replay(&self) -> Result<ReplayReport, StateError> {
        let (dir, at) = (self.dir.clone(), self.at);
        let record = tokio::task::spawn_blocking(move || read_record(&dir, at))
            .await
            .map_err(crate::error::join_error)??;
        let ticket = crate::owner::random_hex(8)?;
        // Subscribed before sending: the new record's announcement cannot be missed.
        let mut events = self.handle.subscribe();
        let origin = record::Origin::Replay {
            of: self.id,
            ticket: Some(ticket.clone()),
        };
        let as_recorded = self.endpoint.is_empty() && self.model.is_empty();
        let answer =
            match record.attempts.last() {
                Some(attempt) if as_recorded => {
                    let endpoint = self.proxy.endpoint(Some(&attempt.endpoint)).ok_or_else(|| {
                    StateError::NotFound(format!(
                        "endpoint `{}` is no longer configured: replay the turn on another one",
                        attempt.endpoint
                    ))
                })?;
                    record::replay(&self.proxy, endpoint, &record, origin)
                        .await
                        .map_err(StateError::InvalidArgument)?
                }
                // Nothing went upstream (the proxy refused the request), or another endpoint or
                // model: Codex's request through our own proxy, translated afresh.
                _ => {
                    let target = match self.endpoint.as_str() {
                        "" => record.summary.endpoint.as_str(),
                        e => e,
                    };
                    self.through_proxy(&record, target, &origin).await?
                }
            };
        let new = await_ticket(&mut events, &ticket, RECORD_WAIT).await;
        let turn = match new {
            Some(n) => self
                .handle
                .turns(TurnFilter::default())
                .await?
                .into_iter()
                .find(|s| s.id == n),
            None => None,
        };
        Ok(ReplayReport {
            of: self.id,
            turn,
            ok: answer.ok,
            status: answer.status,
            message: answer.message,
        })
    }

    /// Post Codex's recorded request to `/e/<target>/v1/responses` with the install token,
    /// marked as a replay: the proxy translates it for the target and records the turn.
    async fn through_proxy(
        &self,
        record: &TurnRecord,
        target: &str,
        origin: &record::Origin,
    ) -> Result<record::ReplayAnswer, StateError> {
        let body = record
            .codex_request
            .body
            .as_ref()
            .ok_or_else(|| {
                StateError::InvalidArgument(
                    "Codex's request was too large to keep: it cannot be replayed".into(),
                )
            })?
            .as_str()
            .to_owned();
        let body = if self.model.is_empty() {
            body
        } else {
            let mut v: Value = serde_json::from_str(&body).map_err(|e| {
                StateError::InvalidArgument(format!("Codex's recorded request is not JSON: {e}"))
            })?;
            v["model"] = Value::String(self.model.clone());
            v.to_string()
        };
        let url = format!("http://{}/e/{target}/v1/responses", self.proxy_addr);
        let mut req = self
            .proxy
            .client()
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body);
        if let Some(h) = origin.header_value() {
            req = req.header(record::ORIGIN_HEADER, h);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| StateError::Internal(format!("the proxy could not be reached: {e}")))?;
        let status = resp.status().as_u16();
        let ok_status = resp.status().is_success();
        let text = resp
            .text()
            .await
            .map_err(|e| StateError::Upstream(format!("the answer broke off: {e}")))?;
        if !ok_status {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Ok(record::ReplayAnswer {
                ok: false,
                status,
                message,
            });
        }
        // A stream (what Codex sends), or one JSON response.
        let outcome = match serde_json::from_str::<Value>(&text) {
            Ok(v) if v["status"] == "failed" => Err(v["error"]["message"]
                .as_str()
                .unwrap_or("failed")
                .to_owned()),
            Ok(_) => Ok(()),
            Err(_) => record::sse_terminal(&text),
        };
        Ok(match outcome {
            Ok(()) => record::ReplayAnswer {
                ok: true,
                status,
                message: format!("endpoint `{target}` completed the response"),
            },
            Err(message) => record::ReplayAnswer {
                ok: false,
                status,
                message,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use codex_launcher_proxy::record::{RecordedAnswer, RecordedRequest, Scope};

    fn summary(id: u64, failed: bool, bytes: u64) -> TurnSummary {
        TurnSummary {
            id,
            started_ms: 1_800_000_000_000 + id,
            endpoint: if id.is_multiple_of(2) { "even" } else { "odd" }.into(),
            model: "m".into(),
            stream: true,
            session: Some(id % 3),
            origin: TurnOrigin::Codex,
            replay_of: None,
            outcome: if failed {
                TurnOutcome::Failed
            } else {
                TurnOutcome::Completed
            },
            status: Some(400),
            failure: failed.then(|| FailureNote {
                stage: Stage::Status,
                kind: Some("invalid_request".into()),
                message: format!("refused #{id}"),
            }),
            duration_ms: 5,
            scope: Scope::Failures,
            bytes,
        }
    }

    fn record(body: &str) -> TurnRecord {
        TurnRecord {
            format: record::FORMAT.into(),
            version: 1,
            recorded_by: "test".into(),
            summary: summary(0, true, 0),
            endpoint: None,
            codex_request: RecordedRequest {
                headers: vec![("user-agent".into(), "codex_exec/0.171.0".into())],
                body: Some(Payload::of(body.as_bytes())),
                bytes: body.len() as u64,
            },
            attempts: Vec::new(),
            answer: RecordedAnswer {
                status: 400,
                error: Some("refused".into()),
                stream: None,
                stream_bytes: 0,
                stream_truncated: false,
            },
            terminal: None,
        }
    }

    #[test]
    fn retention_holds_under_a_thousand_failures() {
        let settings = Settings {
            max_failures: 100,
            max_successes: 20,
            max_bytes: 64 * 1024,
            ..Settings::default()
        };
        let mut index = Index::default();
        let mut evicted = 0;
        let (per_file, _) = Slot::limits(&settings);
        let mut failed_file = 0;
        let mut members: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for i in 0..1_000 {
            let id = index.take_id();
            // Sizes vary so that the byte bound bites before the count bound sometimes.
            let bytes = 200 + (i % 7) * 300;
            let failed = i % 10 != 0;
            // Files of `per_file` failures, as the writer makes them; the others one each.
            if failed && ((i as usize).is_multiple_of(per_file) || failed_file == 0) {
                failed_file = id;
            }
            let file = if failed { failed_file } else { id };
            let kept = Kept {
                summary: summary(id, failed, bytes),
                at: At {
                    file,
                    offset: 0,
                    len: bytes,
                },
            };
            evicted += index.insert(vec![kept], &settings).len();
            let failures = index.list(&TurnFilter {
                failed_only: true,
                ..TurnFilter::default()
            });
            assert!(failures.len() <= 100, "count bound, after {i}");
            assert!(index.len() - failures.len() <= 20, "other turns' bound");
            assert!(index.total_bytes() <= 64 * 1024, "size bound, after {i}");
            if i > 200 {
                // Whole files go, so a file's worth under the bound at most (here the size
                // bound bites first: records of up to 2,000 bytes, files of `per_file`).
                assert!(
                    index.total_bytes() + (per_file as u64 + 1) * 2_000 > 64 * 1024,
                    "{} bytes kept after {i}",
                    index.total_bytes()
                );
            }
            // Files are kept whole or not at all.
            members.entry(file).or_default().push(id);
            for (f, ids) in &members {
                let kept = ids.iter().filter(|n| index.get(**n).is_some()).count();
                assert!(kept == 0 || kept == ids.len(), "file {f} kept in part");
            }
        }
        assert_eq!(
            evicted + index.len(),
            1_000,
            "every turn kept or evicted once"
        );
        // The oldest went first: what is left is the newest.
        let kept = index.all();
        let oldest = kept.first().unwrap().id;
        assert!(kept.iter().all(|s| s.id >= oldest));
        assert_eq!(kept.last().unwrap().id, 1_000);
        assert!(oldest > 800, "{oldest}");
    }

    #[test]
    fn retention_holds_on_disk_and_the_index_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().join("turns");
        let settings = Settings {
            max_failures: 25,
            max_bytes: 40 * 1024,
            ..Settings::default()
        };
        let mut index = load_index(&dir);
        assert!(index.is_empty());
        // As the writer does before each batch.
        codex_launcher_engine::atomic::ensure_dir(&dir).unwrap();
        let secrets = vec!["sk-test-retention-0000".to_owned()];
        let (per_file, _) = Slot::limits(&settings);
        let mut i = 0;
        while i < 1_000 {
            // Files of 1 to `per_file` records, as batches come.
            let n = 1 + i % per_file;
            let records: Vec<(TurnSummary, String)> = (0..n)
                .map(|k| {
                    let body = format!(
                        r#"{{"model":"m","input":"turn {} with the key sk-test-retention-0000{}"}}"#,
                        i + k,
                        "x".repeat((i + k) % 900)
                    );
                    encode(record(&body), index.take_id(), &secrets).unwrap()
                })
                .collect();
            i += n;
            let added = write_file(&dir, records).unwrap();
            let evicted = index.insert(added.clone(), &settings);
            let lines = added.len() + evicted.len();
            let compact = index.logged(lines).then(|| index.kept());
            apply(&dir, &Written::of(&dir, added, &evicted, compact));
        }
        let files: Vec<std::fs::DirEntry> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("turn-"))
            .collect();
        assert!(files.len() <= 25, "{} files", files.len());
        let total: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
        assert!(total <= 40 * 1024, "{total} bytes");
        assert_eq!(
            total,
            index.total_bytes(),
            "the index counts what is on disk"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        for f in &files {
            assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
            let text = std::fs::read_to_string(f.path()).unwrap();
            assert!(!text.contains("sk-test-retention-0000"), "redacted");
        }
        for s in index.all() {
            let r = read_record(&dir, index.at(s.id).unwrap()).unwrap();
            assert_eq!(r.summary.id, s.id);
        }
        let log = std::fs::read_to_string(dir.join(LOG)).unwrap();
        assert!(
            log.lines().count() <= 2 * 25 + 64 + 40,
            "the log is compacted"
        );
        // A restart reads the same index back (and drops an earlier build's spares).
        std::fs::write(dir.join(".spare-7"), "").unwrap();
        let again = load_index(&dir);
        assert_eq!(again.kept(), index.kept());
        assert!(!dir.join(".spare-7").exists());
        // A file whose index lines were lost (a crash between the two writes) is read, as far
        // as it parses (a crash may cut the last record short).
        let mut lost = again.clone();
        let orphans: Vec<(TurnSummary, String)> = (0..3)
            .map(|k| {
                let body = format!(r#"{{"model":"m","input":"orphan {k}"}}"#);
                encode(record(&body), lost.take_id(), &secrets).unwrap()
            })
            .collect();
        let orphans = write_file(&dir, orphans).unwrap();
        let path = file_of(&dir, orphans[0].at.file);
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let reloaded = load_index(&dir);
        assert_eq!(reloaded.kept()[reloaded.len() - 2..], orphans[..2]);
        assert!(reloaded.get(orphans[2].summary.id).is_none());
        assert_eq!(
            read_record(&dir, orphans[1].at).unwrap().summary.id,
            orphans[1].summary.id
        );
        // A file the log named and then removed in whole (a crash before it was deleted) goes.
        let mut index = reloaded;
        let found = index.kept()[index.len() - 2..].to_vec();
        apply(&dir, &Written::of(&dir, found, &[], None));
        let newest = index.kept().last().unwrap().at.file;
        let gone = index.enforce(&Settings {
            max_failures: 0,
            ..settings.clone()
        });
        let written = Written::of(&dir, Vec::new(), &gone, None);
        let kept_file = written
            .files
            .iter()
            .find(|p| **p == file_of(&dir, newest))
            .cloned();
        apply(
            &dir,
            &Written {
                files: Vec::new(),
                ..written
            },
        );
        let kept_file = kept_file.unwrap();
        assert!(kept_file.exists(), "not deleted yet");
        let empty = load_index(&dir);
        assert!(empty.is_empty(), "{:?}", empty.all());
        assert!(!kept_file.exists(), "deleted at start-up");
    }

    #[test]
    fn redaction_removes_keys_escaped_keys_and_session_tokens() {
        let secrets = vec!["sk-a\"b\\c-1234".to_owned(), "tok-0123456789".to_owned()];
        let text = serde_json::json!({
            "a": "key sk-a\"b\\c-1234 here",
            "b": "Bearer tok-0123456789",
            "c": "Bearer cls12.0123456789abcdef0123, and cls7.x, clsABC",
        })
        .to_string();
        let out = redact(&text, &secrets);
        assert!(
            !out.contains("1234") && !out.contains("tok-0123456789"),
            "{out}"
        );
        assert!(out.contains("cls12.***"), "{out}");
        assert!(
            out.contains("cls7.x") && out.contains("clsABC"),
            "not tokens: {out}"
        );
        assert!(serde_json::from_str::<Value>(&out).is_ok(), "still JSON");
    }

    #[test]
    fn text_redaction_keeps_shapes_and_lengths() {
        let mut v = serde_json::json!({
            "model": "m",
            "instructions": "You are Codex.",
            "tools": [{"type": "function", "name": "exec_command", "description": "Run a command",
                       "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}],
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]},
                {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "a.txt b.txt"},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}], "encrypted_content": "clr1:abc"},
            ],
        });
        redact_text_in(&mut v, false);
        let text = v.to_string();
        for gone in [
            "You are Codex",
            "fix the bug",
            "cmd",
            "a.txt",
            "thinking",
            "clr1:abc",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert_eq!(v["input"][0]["content"][0]["text"], "xxxxxxxxxxx");
        assert_eq!(v["input"][0]["content"][0]["type"], "input_text");
        assert_eq!(v["input"][1]["name"], "exec_command");
        assert_eq!(
            v["tools"][0]["description"], "Run a command",
            "declarations are kept"
        );
        let sse = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hello\"}\n\ndata: [DONE]\n";
        let out = redact_stream_text(sse);
        assert!(
            !out.contains("hello") && out.contains("\"delta\":\"xxxxx\""),
            "{out}"
        );
        assert!(out.contains("data: [DONE]"));
    }

    #[test]
    fn a_bundle_is_self_contained_and_can_drop_the_text() {
        let r = record(
            r#"{"model":"m","input":[{"type":"message","role":"user","content":"secret plan"}]}"#,
        );
        let plain = bundle(&r, false).unwrap();
        assert!(plain.contains("secret plan") && plain.contains(EXPORT_FORMAT));
        let redacted = bundle(&r, true).unwrap();
        assert!(!redacted.contains("secret plan"), "{redacted}");
        assert!(redacted.contains("xxxxxxxxxxx"));
        let back: Value = serde_json::from_str(&redacted).unwrap();
        assert_eq!(back["turn"]["summary"]["failure"]["message"], "refused #0");
    }

    #[test]
    fn sections_name_the_failure_and_the_request() {
        let r = record(
            r#"{"model":"m","stream":true,"input":[{"type":"message","role":"user","content":"hi"},{"type":"function_call_output","call_id":"c","output":"x"}],"tools":[{"type":"function","name":"exec_command"}]}"#,
        );
        let s = sections(&r);
        let find = |title: &str, key: &str| {
            s.iter()
                .find(|x| x.title == title)
                .and_then(|x| x.lines.iter().find(|(k, _)| k == key))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(find("Failure", "message"), "refused #0");
        assert_eq!(
            find("Codex's request", "items"),
            "2: 1 user, 1 function_call_output"
        );
        assert_eq!(find("Codex's request", "tools"), "1: exec_command");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_764_770_709_000), "2025-12-03 14:05:09 UTC");
    }
}
