//! End-to-end tests: one binary, one module per area (ripgrep's layout).

mod codex_exec;
mod daemon;
mod proxy_http;
