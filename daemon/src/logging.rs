//! Logging setup: `tracing` to stderr, `RUST_LOG` filter (default `info`), no ANSI colours
//! and no timestamps when stderr is not a terminal (journald adds its own).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let tty = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(tty)
        .with_target(false);
    if tty {
        builder.init();
    } else {
        builder.without_time().init();
    }
}
