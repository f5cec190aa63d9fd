//! What the owner announces. The daemon's edge turns each into D-Bus signals and property
//! changes, in the order published: a session's `SessionAdded` always comes before its
//! `SessionExited`, and config.toml is back before anyone hears the session ended.

use std::time::Duration;

use codex_launcher_types::KeyStorage;

use crate::views::ConfigMerged;

/// One announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session was launched or registered.
    SessionAdded(u64),
    /// A session's state or pid changed (attached, stopping, stalled or active again).
    SessionChanged(u64),
    /// A session had no proxy traffic and no CPU time for this long. Reported only.
    SessionStalled {
        /// The session.
        id: u64,
        /// How long it was idle.
        idle: Duration,
    },
    /// A stalled session is active again.
    SessionActive(u64),
    /// A session ended (and what it held was given back).
    SessionExited {
        /// The session.
        id: u64,
        /// Its exit code (128 + signal after a signal; -1 when unknown).
        code: i32,
    },
    /// An ended session was dropped from the record (only the last ones are kept).
    SessionRemoved(u64),
    /// config.toml was edited by the user during a session; their edits were kept.
    ConfigMerged(ConfigMerged),
    /// Endpoints were added, changed, removed, or the default changed.
    EndpointsChanged,
    /// The key store changed (a keyring was locked or unlocked).
    KeyStorageChanged(KeyStorage),
    /// A turn was recorded (issue 18).
    TurnRecorded {
        /// Its number.
        id: u64,
        /// It failed.
        failed: bool,
        /// The ticket of the probe or replay that sent it (how that caller finds it).
        ticket: Option<String>,
    },
}

/// Where events go. Lagging subscribers miss events (and should re-read what they show);
/// the owner never waits for them.
pub type Events = tokio::sync::broadcast::Sender<Event>;
