//! `codex-launcherd`: the codex-launcher daemon, and (`proxy` subcommand) the standalone
//! translation proxy.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod logging;
mod standalone;

/// codex-launcher daemon: run OpenAI Codex on any provider.
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
        None => Err(anyhow::anyhow!(
            "the D-Bus daemon mode is not built yet; use `codex-launcherd proxy --help`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
