//! codex-launcher-state: the launcher's state and its one owner.
//!
//! The endpoint store and the key cache, the config.toml backups and which session holds
//! them, the supervisor and its sessions, usage, and the recording of probe findings all
//! belong to one task ([`owner`]). Everything else talks to it through a [`Handle`]: a
//! closed set of commands, each with a `oneshot` reply, in; [`Event`]s out.
//!
//! # Architecture invariant
//! Knows files, processes and the proxy; not D-Bus (the daemon's bus adapters convert its
//! typed values), not systemd. Nothing here holds a lock across an `.await`: there is no
//! shared mutable state to lock. File IO, fork/exec and `/proc` scans run on tokio's
//! blocking pool, never on zbus's executor or the proxy's workers.
//!
//! # Layout
//! - [`command`]: the commands and [`Handle`].
//! - [`event`]: what the owner announces.
//! - [`owner`]: the task and its handlers.
//! - [`planning`]: what a session runs, per mode (pure, given the filesystem).
//! - [`sessions`]: the owner's record of sessions: backups held, leases, stall watches.
//! - [`cleanup`]: Kill & Cleanup decisions (what to spare, which backups are stale).
//! - [`endpoints`]: endpoint rules (keys, capability overrides, the proxy's view).
//! - [`groups`]: fallback groups at run time: breakers, cooldowns, stickiness.
//! - [`usage`]: bounded usage per endpoint and model.
//! - [`cost`]: what requests cost at their models' prices; price edits.
//! - [`codex`]: the installed Codex CLI's version and verdict.
//! - [`probe`]: real round trips through the proxy, quirks recorded through the owner.
//! - [`turns`]: the turn recorder's index, retention, redaction, readable view and export.
//! - [`keystore`]: where keys are kept (the trait the daemon's keyring implements).
//! - [`secrets`]: secret header values kept with the keys; credential digests.
//! - [`clock`], [`views`], [`error`].

#![deny(missing_docs)]

pub mod cleanup;
pub mod clock;
pub mod codex;
pub mod command;
pub mod cost;
pub mod endpoints;
pub mod error;
pub mod event;
pub mod groups;
pub mod keystore;
pub mod owner;
pub mod planning;
pub(crate) mod probe;
pub mod secrets;
pub mod sessions;
pub mod turns;
pub mod usage;
pub mod views;

pub use command::{Handle, LaunchRequest, RequestDone};
pub use error::StateError;
pub use event::Event;
pub use owner::{Deps, Started, random_hex, start};
