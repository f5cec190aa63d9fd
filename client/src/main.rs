//! `codexctl`: the command-line client of codex-launcherd, over the session D-Bus.
//!
//! # Layout
//! - `cli`: the command line (clap derive, help with examples, exit-code table).
//! - `bus`: finding the session bus and the manager object.
//! - `endpoint`, `commands`: the commands that call the daemon.
//! - `cost`: `model price`, and how costs and cache hits are written.
//! - `system`: `logs` and `doctor`, which also look at the machine (journal, units, port).
//! - `turns`: the turn recorder (list, show, replay, export, what is recorded and kept).
//! - `output`: tables, JSON, colours; `error`: D-Bus error names → messages and exit codes.
//!
//! # Invariant
//! This crate depends on `codex-launcher-dbus` (the contract) and never on a daemon crate.
//! The key the user gives is sent to the daemon and never printed.

mod bus;
mod cli;
mod commands;
mod cost;
mod endpoint;
mod error;
mod groups;
mod output;
mod sessions;
mod system;
mod turns;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, ModelCommand, PresetCommand, ProfileCommand};
use error::Result;

// zbus runs on its own async-io executor (ARCHITECTURE.md, "zbus runtime flavour"); tokio
// here only drives our side (the spinner's timer, select), so one thread is enough.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let style = output::Style::stderr();
            output::err(&format!("{} {}", style.red("error:"), e.message));
            ExitCode::from(e.kind.exit_code())
        }
    }
}

/// The command's exit code on success (`run` passes Codex's on).
async fn run(cli: Cli) -> Result<u8> {
    let json = cli.json;
    // Commands that need no daemon first, so they work without a bus.
    match cli.command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "codexctl", &mut buf);
            output::out_raw(&String::from_utf8_lossy(&buf));
            return Ok(0);
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(|e| error::CliError::new(error::Kind::Other, format!("man page: {e}")))?;
            output::out_raw(&String::from_utf8_lossy(&buf));
            return Ok(0);
        }
        Command::Logs { follow } => return system::logs(follow).map(|()| 0),
        Command::Doctor { probe: None } => return system::doctor(json).await.map(|()| 0),
        _ => {}
    }
    let conn = bus::connect().await?;
    let m = bus::manager(&conn).await?;
    let done = match cli.command {
        Command::Status => commands::status(&m, json).await,
        Command::Endpoint(cmd) => endpoint::run(&m, cmd, json).await,
        Command::Group(cmd) => groups::run(&m, cmd, json).await,
        Command::Preset(PresetCommand::List) => commands::preset_list(&m, json).await,
        Command::Model(ModelCommand::Fetch { endpoint }) => {
            commands::model_fetch(&m, &endpoint, json).await
        }
        Command::Model(ModelCommand::Import(args)) => commands::model_import(&m, &args, json).await,
        Command::Model(ModelCommand::List { endpoint }) => {
            commands::model_list(&m, &endpoint, json).await
        }
        Command::Model(ModelCommand::Price(args)) => cost::price(&m, args, json).await,
        Command::Profile(ProfileCommand::Export {
            include_keys,
            output,
        }) => commands::profile_export(&m, include_keys, output.as_deref()).await,
        Command::Profile(ProfileCommand::Import { file }) => {
            commands::profile_import(&m, &file, json).await
        }
        Command::ImportLegacy { path } => commands::import_legacy(&m, path.as_deref(), json).await,
        Command::Usage => commands::usage(&m, json).await,
        Command::Launch {
            mode,
            endpoint,
            model,
            prompt,
            workdir,
            effort,
        } => {
            let args = sessions::LaunchArgs {
                mode,
                endpoint,
                model,
                prompt,
                workdir,
                effort,
            };
            sessions::launch(&conn, &m, args, json).await
        }
        Command::Run {
            endpoint,
            model,
            effort,
            codex_args,
        } => {
            let args = sessions::RunArgs {
                endpoint,
                model,
                effort,
                codex_args,
            };
            return sessions::run_here(&conn, &m, args).await;
        }
        Command::Cleanup {
            dry_run,
            stop_sessions,
        } => sessions::cleanup(&m, dry_run, stop_sessions, json).await,
        Command::Sessions => sessions::list(&conn, &m, json).await,
        Command::Stop { session } => sessions::stop(&conn, &m, &session, json).await,
        Command::Doctor { probe: Some(args) } => {
            let model = args.get(1).map(String::as_str).unwrap_or("");
            commands::probe(&m, &args[0], model, json).await
        }
        Command::Turns(cmd) => return turns::run(&m, cmd, json).await,
        Command::Completions { .. }
        | Command::Man
        | Command::Logs { .. }
        | Command::Doctor { probe: None } => Ok(()),
    };
    done.map(|()| 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
