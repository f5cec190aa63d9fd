//! `codex-launcherd`: the codex-launcher daemon, and (`proxy` subcommand) the standalone
//! translation proxy.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod announce;
mod convert;
mod daemon;
mod logging;
mod manager;
mod session;
mod standalone;
mod systemd;

/// codex-launcher daemon: run OpenAI Codex on any provider.
///
/// Without a subcommand it runs the user daemon (what `codex-launcherd.service` starts):
/// the translation proxy for every configured endpoint, the endpoint store and keyring, on
/// the session bus as io.github.CodexLauncher1.
#[derive(Debug, Parser)]
#[command(name = "codex-launcherd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the translation proxy alone, for one upstream, without the daemon.
    ///
    /// Example:
    ///   DEEPSEEK_API_KEY=… codex-launcherd proxy --backend openai-compat \
    ///       --target-url https://api.deepseek.com/v1 --api-key-env DEEPSEEK_API_KEY --listen 127.0.0.1:8787
    Proxy(Box<standalone::ProxyArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let result = match cli.command {
        Some(Command::Proxy(args)) => standalone::run(*args),
        None => daemon::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
