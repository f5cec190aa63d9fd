//! The D-Bus contract of codex-launcher (names, shared types, proxies, error names).
//!
//! Filled in by the daemon issue; this crate depends on nothing of the daemon.
#![deny(missing_docs)]

/// The well-known bus name the daemon owns.
pub const BUS_NAME: &str = "io.github.CodexLauncher1";
/// The object path of the manager object.
pub const OBJECT_PATH: &str = "/io/github/CodexLauncher1";
