//! End-to-end tests: one binary, one module per area (ripgrep's layout).

// Test helpers outside `#[test]` functions panic with a message too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod caching;
mod codex_backends;
mod codex_config;
mod codex_exec;
mod codexctl;
mod conformance;
mod credentials;
mod daemon;
mod faults;
mod groups;
mod gtk;
mod interactive;
mod probe;
mod proxy_http;
mod secrets;
mod sessions;
mod stress;
mod supervision;
mod terminal;
mod tool_schemas;
mod turns;
