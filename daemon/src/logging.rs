//! Logging setup: `tracing`, `RUST_LOG` filter (default `info`). Under systemd, when stderr is
//! the journal, events go to journald with structured fields (ENDPOINT, MODEL, REQUEST_ID,
//! STATUS, DURATION_MS, …); otherwise to stderr, without ANSI colours or timestamps when
//! stderr is not a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if crate::systemd::stderr_is_journal()
        && let Ok(journald) = tracing_journald::layer()
    {
        // Fields under their own names (ENDPOINT=, MODEL=, STATUS=…), not the default
        // `F_` prefix, so `journalctl --user -u codex-launcherd ENDPOINT=deepseek` works.
        let journald = journald
            .with_syslog_identifier("codex-launcherd".into())
            .with_field_prefix(None);
        tracing_subscriber::registry()
            .with(filter())
            .with(journald)
            .init();
        return;
    }
    let tty = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(tty)
        .with_target(false);
    if tty {
        builder.init();
    } else {
        builder.without_time().init();
    }
}
