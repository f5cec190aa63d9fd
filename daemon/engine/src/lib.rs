//! codex-launcher-engine: the launcher's state on disk and its rules.
//!
//! # Architecture invariant
//! Knows files and processes; not D-Bus, not HTTP. Every type that touches the disk
//! takes its paths ([`paths::Paths::at`] in tests), so tests run in temp dirs.
//!
//! # Layout
//! - [`paths`]: XDG directories.
//! - [`atomic`]: atomic writes that refuse to clobber a concurrent edit.
//! - [`model`]: endpoints and models as stored.
//! - [`store`]: the endpoint store and its validation.
//! - [`presets`]: provider presets.
//! - [`pricing`]: prices per million tokens and the cost of a request.
//! - [`discovery`]: provider model lists → models.
//! - [`legacy`]: import of the seed launcher's endpoints.json.
//! - [`profile`]: portable export/import bundles.
//! - [`keys`]: the 0600 fallback key file.
//! - [`credentials`]: which variables and headers are credentials.
//! - [`codex_version`]: the installed Codex's version, its verdict against the tested
//!   releases, and the version-dependent `-c` overrides of a session.
//! - [`codex_config`], [`catalog`], [`backup`]: what a session tells Codex, and the
//!   backup of config.toml around sessions that edit it.
//! - [`supervisor`]: sessions as process groups: spawn, stop, reap; attached processes.
//! - [`procfs`], [`stall`], [`cleanup`]: what `/proc` says, stall detection, Kill & Cleanup.

#![deny(missing_docs)]

pub mod atomic;
pub mod backup;
pub mod catalog;
pub mod cleanup;
pub mod codex_config;
pub mod codex_version;
pub mod credentials;
pub mod discovery;
pub mod keys;
pub mod legacy;
pub mod model;
pub mod paths;
pub mod presets;
pub mod pricing;
pub mod procfs;
pub mod profile;
pub mod stall;
pub mod store;
pub mod supervisor;
