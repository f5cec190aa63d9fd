//! Launch planning: what a session runs (program, arguments, environment, working
//! directory, log), what it needs written first (its model catalog) and what it does to
//! config.toml, for every mode. Decided here, from values; nothing is started or written.
//!
//! - `cli`, `exec`, `run`: zero-touch. Codex gets `-c` overrides naming the launcher's
//!   provider (the proxy route) and a model catalog file; config.toml is not changed.
//! - `desktop`: Codex Desktop reads nothing but config.toml, so the session's provider is
//!   written into it (after a backup, restored when the last session holding it ends).
//! - `default-cli`, `default-desktop` ("Codex Default"): Codex on its own OpenAI login; the
//!   launcher's entries, if config.toml has any, are taken out for the session.
//!
//! The only reads are of the filesystem's shape (is the working directory one, which
//! terminal is installed): the owner runs planning on the blocking pool.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_launcher_engine::catalog::{self, ModelsResponse};
use codex_launcher_engine::codex_config::{self, CliOverrides, Target, cli_overrides};
use codex_launcher_engine::codex_version::{self, CodexVersion, DisplayPreference};
use codex_launcher_engine::model::Endpoint;
use codex_launcher_engine::paths::Paths;
use codex_launcher_engine::supervisor::{self, Launch};
use codex_launcher_proxy::ApiKey;
use codex_launcher_types::Mode;

use crate::error::StateError;

/// Options `Launch` and `PrepareRun` take (anything else is refused: a typo must not pass
/// silently).
pub const OPTION_NAMES: [&str; 6] = [
    "prompt",
    "workdir",
    "effort",
    "grace_ms",
    "stall_secs",
    "args",
];
/// Longest stall time a session may ask for (a day).
pub const MAX_STALL_SECS: u64 = 86_400;
/// Longest grace period a session may ask for.
pub const MAX_GRACE_MS: u64 = 600_000;

/// The environment the daemon runs in, as planning reads it (a map in tests).
pub trait Environment: Send + Sync {
    /// One variable.
    fn var(&self, name: &str) -> Option<OsString>;
    /// Every variable with a UTF-8 name and value (a key is text).
    fn vars(&self) -> Vec<(String, String)>;
}

/// The daemon's own process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<OsString> {
        self.get(name).map(OsString::from)
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// The launch options, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    /// The first prompt (required for `exec`).
    pub prompt: String,
    /// Working directory (`None`: the home directory).
    pub workdir: Option<PathBuf>,
    /// Reasoning effort.
    pub effort: Option<String>,
    /// SIGTERM to SIGKILL on stop.
    pub grace: Duration,
    /// The session's own stall time (`None`: the daemon's).
    pub stall: Option<Duration>,
    /// Extra Codex arguments (`PrepareRun` only).
    pub args: Vec<String>,
}

impl LaunchOptions {
    /// Check the options a client sent.
    pub fn parse(options: &HashMap<String, String>) -> Result<LaunchOptions, StateError> {
        if let Some(bad) = options.keys().find(|k| !OPTION_NAMES.contains(&k.as_str())) {
            return Err(StateError::InvalidArgument(format!(
                "unknown option `{bad}` (known: {})",
                OPTION_NAMES.join(", ")
            )));
        }
        let grace = match options.get("grace_ms") {
            None => supervisor::DEFAULT_GRACE,
            Some(ms) => match ms.trim().parse::<u64>() {
                Ok(ms) if ms <= MAX_GRACE_MS => Duration::from_millis(ms),
                _ => {
                    return Err(StateError::InvalidArgument(format!(
                        "grace_ms must be a number of milliseconds up to {MAX_GRACE_MS}"
                    )));
                }
            },
        };
        let stall = match options.get("stall_secs") {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s) if (1..=MAX_STALL_SECS).contains(&s) => Some(Duration::from_secs(s)),
                _ => {
                    return Err(StateError::InvalidArgument(format!(
                        "stall_secs must be a number of seconds from 1 to {MAX_STALL_SECS}"
                    )));
                }
            },
        };
        let args = match options.get("args") {
            None => Vec::new(),
            Some(v) => serde_json::from_str::<Vec<String>>(v).map_err(|e| {
                StateError::InvalidArgument(format!(
                    "the `args` option must be a JSON array of strings: {e}"
                ))
            })?,
        };
        Ok(LaunchOptions {
            prompt: options.get("prompt").cloned().unwrap_or_default(),
            workdir: options.get("workdir").map(PathBuf::from),
            effort: options.get("effort").cloned(),
            grace,
            stall,
            args,
        })
    }
}

/// What config.toml holds while a Desktop or Codex Default session runs. Sessions with the
/// same lease share the backup; another lease must wait until they end (Codex Desktop reads
/// the one file, and is single-instance: it could not be given two providers at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The launcher's provider for this endpoint and model.
    Provider {
        /// Endpoint id.
        endpoint: String,
        /// Model slug.
        model: String,
    },
    /// Codex's own settings, the launcher's entries taken out.
    Default,
}

/// The change to config.toml a session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEdit {
    /// Select the launcher's provider ([`codex_config::apply_to_config`]).
    Provider(Box<Target>),
    /// Take the launcher's entries out ([`codex_config::remove_managed`]).
    RemoveManaged,
}

impl ConfigEdit {
    /// Apply to config.toml's text.
    pub fn apply(&self, text: &str) -> Result<String, codex_config::ConfigError> {
        match self {
            ConfigEdit::Provider(target) => codex_config::apply_to_config(text, target),
            ConfigEdit::RemoveManaged => codex_config::remove_managed(text),
        }
    }
}

/// The config.toml part of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPlan {
    /// The backup is held under this key (unique per session).
    pub key: String,
    /// What to write.
    pub edit: ConfigEdit,
    /// What the file holds meanwhile.
    pub lease: Lease,
}

/// A planned session.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// What to start.
    pub launch: Launch,
    /// The model catalog to write before it starts.
    pub catalog: Option<(PathBuf, ModelsResponse)>,
    /// The config.toml change it needs (Desktop, Codex Default).
    pub config: Option<ConfigPlan>,
    /// The variable that carries the session's proxy token (`None`: no proxy, no token).
    pub token_env: Option<&'static str>,
    /// The session's own stall time.
    pub stall: Option<Duration>,
    /// Directories that must exist (CODEX_HOME, the session logs).
    pub dirs: Vec<PathBuf>,
}

/// What planning needs to know.
pub struct PlanInput<'a> {
    /// The session's id (reserved before planning).
    pub id: u64,
    /// How it runs.
    pub mode: Mode,
    /// The endpoint (`None` for Codex Default).
    pub endpoint: Option<&'a Endpoint>,
    /// The model asked for (empty: the endpoint's default).
    pub model: &'a str,
    /// Checked options.
    pub options: &'a LaunchOptions,
    /// The endpoint's key, for a native OpenAI endpoint (Codex talks to OpenAI itself).
    pub native_key: Option<&'a ApiKey>,
    /// The launcher's directories.
    pub paths: &'a Paths,
    /// The proxy's port.
    pub proxy_port: u16,
    /// The daemon's environment.
    pub env: &'a dyn Environment,
    /// Variables the session must not inherit (the owner's [`crate::secrets`] rules over
    /// the daemon's environment; for `run`, those it removes whatever the caller's holds).
    pub env_remove: &'a [String],
    /// Milliseconds since the epoch: log and backup names.
    pub stamp_ms: u128,
    /// The installed Codex CLI's version, read for this launch (`None`: unknown, so nothing
    /// version-dependent is set).
    pub codex_version: Option<&'a CodexVersion>,
    /// How the session wants a response's text shown (`responses.process_mode`, only where
    /// the version knows it).
    pub display: DisplayPreference,
}

/// The session log directory.
pub fn log_dir(paths: &Paths) -> PathBuf {
    paths.state.join("sessions")
}

/// Plan a session.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, StateError> {
    let o = input.options;
    if !o.args.is_empty() && input.mode != Mode::Run {
        return Err(StateError::InvalidArgument(
            "the `args` option is for PrepareRun only".into(),
        ));
    }
    let workdir = workdir(input)?;
    let codex = supervisor::codex_program(|name| input.env.var(name));
    let logs = log_dir(input.paths);
    let dirs = vec![input.paths.codex_home.clone(), logs.clone()];
    let env_remove = input.env_remove.to_vec();
    let codex_home = (
        "CODEX_HOME".to_owned(),
        input.paths.codex_home.display().to_string(),
    );
    if input.mode.is_default() {
        let (program, args) = split_command(if input.mode == Mode::DefaultCli {
            // No overrides: Codex's own provider and login.
            let none = CliOverrides {
                args: Vec::new(),
                env_key: codex_config::PROXY_TOKEN_ENV,
            };
            in_terminal(input.env, &codex, &none, &workdir, &o.prompt)?
        } else {
            supervisor::desktop_command(|n| input.env.var(n), &codex)
        });
        return Ok(Plan {
            launch: Launch {
                endpoint: String::new(),
                model: String::new(),
                mode: input.mode,
                program,
                args,
                env: vec![codex_home],
                env_remove,
                cwd: Some(workdir),
                log: Some(logs.join(format!("{}-codex-default.log", input.stamp_ms))),
                grace: o.grace,
            },
            catalog: None,
            config: Some(ConfigPlan {
                key: format!("default-{}-{}", input.stamp_ms, input.id),
                edit: ConfigEdit::RemoveManaged,
                lease: Lease::Default,
            }),
            token_env: None,
            stall: o.stall,
            dirs,
        });
    }

    let endpoint = input
        .endpoint
        .ok_or_else(|| StateError::Internal("a provider session without an endpoint".into()))?;
    let model = match input.model.trim() {
        "" => endpoint.default_model.clone(),
        m => m.to_owned(),
    };
    if model.is_empty() {
        return Err(StateError::InvalidArgument(format!(
            "endpoint `{}` has no default model: name one",
            endpoint.id
        )));
    }
    let invalid = |e: codex_config::ConfigError| StateError::InvalidArgument(e.to_string());
    let url = codex_config::proxy_url(input.proxy_port, &endpoint.id);
    let mut target = Target::new(endpoint, &model, &url).map_err(invalid)?;
    if let Some(effort) = &o.effort {
        target = target.with_reasoning_effort(effort).map_err(invalid)?;
    }
    // Native OpenAI: Codex talks to OpenAI itself, so this one key goes to it. Otherwise
    // the session's own proxy token is added by the owner ([`Plan::token_env`]).
    let native_key = if target.is_native() {
        Some(input.native_key.ok_or_else(|| {
            StateError::InvalidArgument(format!("endpoint `{}` has no key", endpoint.id))
        })?)
    } else {
        None
    };
    // Base instructions: the launcher's own. Reading Codex's (`codex debug models
    // --bundled`) would cost a Codex start per launch.
    let catalog_path = catalog::catalog_file(input.paths, &endpoint.id);
    let models = catalog::build(endpoint, &model, catalog::FALLBACK_INSTRUCTIONS);
    let target = target.with_catalog(&catalog_path).map_err(invalid)?;
    let mut overrides = cli_overrides(&target);
    // Version-dependent settings last; a version that does not know a key never gets it.
    overrides.args.extend(codex_version::session_overrides(
        input.codex_version,
        input.mode,
        input.display,
    ));
    let (program, args) = match input.mode {
        Mode::Exec => {
            if o.prompt.trim().is_empty() {
                return Err(StateError::InvalidArgument(
                    "mode exec needs a `prompt` option".into(),
                ));
            }
            (
                codex,
                supervisor::exec_args(&overrides, &workdir, &o.prompt),
            )
        }
        Mode::Cli => split_command(in_terminal(
            input.env, &codex, &overrides, &workdir, &o.prompt,
        )?),
        Mode::Run => {
            let mut args = supervisor::cli_args(&overrides, &workdir, "");
            args.extend(o.args.iter().cloned());
            if !o.prompt.is_empty() {
                args.push(o.prompt.clone());
            }
            (codex, args)
        }
        Mode::Desktop | Mode::DefaultCli | Mode::DefaultDesktop => {
            split_command(supervisor::desktop_command(|n| input.env.var(n), &codex))
        }
    };
    let config = (input.mode == Mode::Desktop).then(|| ConfigPlan {
        key: format!("desktop-{}-{}-{}", input.stamp_ms, endpoint.id, input.id),
        edit: ConfigEdit::Provider(Box::new(target.clone())),
        lease: Lease::Provider {
            endpoint: endpoint.id.clone(),
            model: model.clone(),
        },
    });
    let env = std::iter::once(codex_home)
        .chain(native_key.map(|key| (overrides.env_key.to_owned(), key.expose().to_owned())))
        .collect();
    Ok(Plan {
        launch: Launch {
            endpoint: endpoint.id.clone(),
            model,
            mode: input.mode,
            program,
            args,
            env,
            env_remove,
            cwd: Some(workdir),
            log: Some(logs.join(format!("{}-{}.log", input.stamp_ms, endpoint.id))),
            grace: o.grace,
        },
        catalog: Some((catalog_path, models)),
        config,
        token_env: (!target.is_native()).then_some(overrides.env_key),
        stall: o.stall,
        dirs,
    })
}

/// The `workdir` option: an absolute directory, default the home directory.
fn workdir(input: &PlanInput<'_>) -> Result<PathBuf, StateError> {
    let workdir = input
        .options
        .workdir
        .clone()
        .unwrap_or_else(|| input.paths.home.clone());
    if !workdir.is_absolute() || !workdir.is_dir() {
        return Err(StateError::InvalidArgument(format!(
            "workdir {} is not an absolute path to a directory",
            workdir.display()
        )));
    }
    Ok(workdir)
}

/// `TERMINAL… CODEX [overrides] -C WORKDIR [-- PROMPT]`: interactive Codex in a terminal.
fn in_terminal(
    env: &dyn Environment,
    codex: &Path,
    overrides: &CliOverrides,
    workdir: &Path,
    prompt: &str,
) -> Result<Vec<String>, StateError> {
    let path = env.var("PATH");
    let mut words = supervisor::terminal(|n| env.var(n), path.as_ref()).ok_or_else(|| {
        StateError::InvalidArgument(format!(
            "no terminal emulator found: install one or set {}",
            supervisor::TERMINAL_ENV
        ))
    })?;
    words.push(codex.display().to_string());
    words.extend(supervisor::cli_args(overrides, workdir, prompt));
    Ok(words)
}

/// A command's words as program and arguments.
fn split_command(words: Vec<String>) -> (PathBuf, Vec<String>) {
    let mut words = words.into_iter();
    let program = words.next().map(PathBuf::from).unwrap_or_default();
    (program, words.collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use codex_launcher_engine::model::Model;
    use codex_launcher_types::Backend;

    struct World {
        _dir: tempfile::TempDir,
        paths: Paths,
        env: HashMap<String, String>,
        endpoint: Endpoint,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        std::fs::create_dir_all(&paths.home).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let term = bin.join("xterm");
        std::fs::write(&term, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&term, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let env = HashMap::from([
            ("PATH".to_owned(), bin.display().to_string()),
            ("CODEX_BIN".to_owned(), "/opt/codex/bin/codex".to_owned()),
            ("DEEPSEEK_API_KEY".to_owned(), "sk-caller".to_owned()),
            ("NOTIFY_SOCKET".to_owned(), "/run/notify".to_owned()),
        ]);
        let endpoint = Endpoint {
            id: "ds".into(),
            name: "DeepSeek".into(),
            backend: Backend::OpenaiCompat,
            base_url: "https://api.deepseek.com/v1".into(),
            default_model: "deepseek-chat".into(),
            models: vec![Model::bare("deepseek-chat")],
            ..Endpoint::default()
        };
        World {
            _dir: dir,
            paths,
            env,
            endpoint,
        }
    }

    fn plan_for(w: &World, mode: Mode, options: &[(&str, &str)]) -> Result<Plan, StateError> {
        let map: HashMap<String, String> = options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let options = LaunchOptions::parse(&map)?;
        let remove = ["DEEPSEEK_API_KEY".to_owned(), "NOTIFY_SOCKET".to_owned()];
        plan(&PlanInput {
            id: 7,
            mode,
            endpoint: (!mode.is_default()).then_some(&w.endpoint),
            model: "",
            options: &options,
            native_key: None,
            paths: &w.paths,
            proxy_port: 47821,
            env: &w.env,
            env_remove: &remove,
            stamp_ms: 1_700_000_000_000,
            codex_version: None,
            display: DisplayPreference::default(),
        })
    }

    fn has_pair(args: &[String], flag: &str, value: &str) -> bool {
        args.windows(2).any(|w| w[0] == flag && w[1] == value)
    }

    #[test]
    fn exec_runs_codex_exec_with_overrides_and_leaves_config_alone() {
        let w = world();
        let p = plan_for(&w, Mode::Exec, &[("prompt", "hi")]).unwrap();
        assert_eq!(p.launch.program, PathBuf::from("/opt/codex/bin/codex"));
        assert_eq!(p.launch.args[0], "exec");
        assert!(has_pair(&p.launch.args, "-c", "model=\"deepseek-chat\""));
        assert!(has_pair(
            &p.launch.args,
            "-c",
            "model_providers.codex-launcher-ds.base_url=\"http://127.0.0.1:47821/e/ds/v1\""
        ));
        assert_eq!(p.launch.args.last().map(String::as_str), Some("hi"));
        assert!(p.config.is_none(), "zero-touch");
        assert_eq!(p.token_env, Some(codex_config::PROXY_TOKEN_ENV));
        assert!(p.catalog.is_some());
        assert!(p.launch.env_remove.contains(&"DEEPSEEK_API_KEY".to_owned()));
        assert!(p.launch.env_remove.contains(&"NOTIFY_SOCKET".to_owned()));
        assert!(
            p.launch.env.iter().all(|(k, _)| k == "CODEX_HOME"),
            "no key in the environment: {:?}",
            p.launch.env
        );
        let err = plan_for(&w, Mode::Exec, &[]).unwrap_err();
        assert_eq!(err.to_string(), "mode exec needs a `prompt` option");
    }

    #[test]
    fn cli_runs_in_a_terminal_and_run_hands_codex_to_the_caller() {
        let w = world();
        let p = plan_for(&w, Mode::Cli, &[("prompt", "fix it")]).unwrap();
        assert!(p.launch.program.ends_with("xterm"));
        assert_eq!(p.launch.args[0], "-e");
        assert_eq!(p.launch.args[1], "/opt/codex/bin/codex");
        assert!(p.config.is_none());
        let p = plan_for(&w, Mode::Run, &[("args", r#"["--full-auto"]"#)]).unwrap();
        assert_eq!(p.launch.program, PathBuf::from("/opt/codex/bin/codex"));
        assert_eq!(
            p.launch.args.last().map(String::as_str),
            Some("--full-auto")
        );
        assert!(
            plan_for(&w, Mode::Cli, &[("args", "[]")]).is_ok(),
            "an empty args list is no args"
        );
        let err = plan_for(&w, Mode::Cli, &[("args", "[\"x\"]")]).unwrap_err();
        assert_eq!(err.to_string(), "the `args` option is for PrepareRun only");
    }

    #[test]
    fn desktop_writes_its_provider_into_config_toml_under_its_own_key() {
        let w = world();
        let p = plan_for(&w, Mode::Desktop, &[]).unwrap();
        let config = p.config.expect("desktop edits config.toml");
        assert_eq!(config.key, "desktop-1700000000000-ds-7");
        assert_eq!(
            config.lease,
            Lease::Provider {
                endpoint: "ds".into(),
                model: "deepseek-chat".into()
            }
        );
        let text = config.edit.apply("").unwrap();
        assert!(
            text.contains("model_provider = \"codex-launcher-ds\""),
            "{text}"
        );
        assert_eq!(
            p.launch.args,
            ["app"],
            "`codex app` when no Desktop is installed"
        );
    }

    #[test]
    fn codex_default_uses_no_endpoint_no_token_and_takes_our_entries_out() {
        let w = world();
        let p = plan_for(&w, Mode::DefaultCli, &[]).unwrap();
        assert!(p.launch.program.ends_with("xterm"));
        assert!(!p.launch.args.iter().any(|a| a == "-c"), "no overrides");
        assert_eq!(p.token_env, None);
        let config = p.config.unwrap();
        assert_eq!(config.lease, Lease::Default);
        assert_eq!(config.edit, ConfigEdit::RemoveManaged);
        let p = plan_for(&w, Mode::DefaultDesktop, &[]).unwrap();
        assert_eq!(p.launch.args, ["app"]);
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        let w = world();
        for (options, message) in [
            (
                vec![("promt", "x")],
                "unknown option `promt` (known: prompt, workdir, effort, grace_ms, stall_secs, args)",
            ),
            (
                vec![("grace_ms", "600001")],
                "grace_ms must be a number of milliseconds up to 600000",
            ),
            (
                vec![("stall_secs", "0")],
                "stall_secs must be a number of seconds from 1 to 86400",
            ),
            (
                vec![("workdir", "relative/dir")],
                "workdir relative/dir is not an absolute path to a directory",
            ),
            (
                vec![("effort", "very high")],
                "invalid reasoning effort `very high`",
            ),
        ] {
            let err = plan_for(&w, Mode::Cli, &options).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
        let mut w = w;
        w.endpoint.default_model.clear();
        let err = plan_for(&w, Mode::Cli, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "endpoint `ds` has no default model: name one"
        );
        w.env.remove("PATH");
        w.endpoint.default_model = "deepseek-chat".into();
        let err = plan_for(&w, Mode::Cli, &[]).unwrap_err();
        assert!(err.to_string().starts_with("no terminal emulator found"));
    }

    #[test]
    fn process_mode_only_for_a_codex_that_knows_it_and_only_when_asked() {
        let w = world();
        let options =
            LaunchOptions::parse(&HashMap::from([("prompt".to_owned(), "hi".to_owned())])).unwrap();
        let key = "responses.process_mode=\"after_complete_response\"";
        let plan_with = |mode: Mode, version: &str, display: DisplayPreference| {
            let version = CodexVersion::parse(version).unwrap();
            plan(&PlanInput {
                id: 1,
                mode,
                endpoint: Some(&w.endpoint),
                model: "",
                options: &options,
                native_key: None,
                paths: &w.paths,
                proxy_port: 1,
                env: &w.env,
                env_remove: &[],
                stamp_ms: 0,
                codex_version: Some(&version),
                display,
            })
            .unwrap()
            .launch
            .args
        };
        use DisplayPreference::{AsItStreams, WhenComplete};
        // The default: text as it streams, on every version.
        for version in ["0.169.0", "0.171.0"] {
            for mode in [Mode::Cli, Mode::Exec, Mode::Run] {
                assert!(
                    !plan_with(mode, version, AsItStreams)
                        .iter()
                        .any(|a| a == key)
                );
            }
        }
        // Asked for: an interactive session of 0.171.0 gets it, 0.169.0 (which would warn
        // "unrecognized configuration setting" on every start) and exec never do.
        assert!(has_pair(
            &plan_with(Mode::Run, "0.171.0", WhenComplete),
            "-c",
            key
        ));
        assert!(
            !plan_with(Mode::Run, "0.169.0", WhenComplete)
                .iter()
                .any(|a| a == key)
        );
        assert!(
            !plan_with(Mode::Exec, "0.171.0", WhenComplete)
                .iter()
                .any(|a| a == key)
        );
    }

    #[test]
    fn native_openai_gets_its_key_and_no_token() {
        let mut w = world();
        w.endpoint = Endpoint {
            id: "oa".into(),
            name: "OpenAI".into(),
            backend: Backend::OpenaiResponses,
            base_url: "https://api.openai.com/v1".into(),
            default_model: "gpt-5.5".into(),
            ..Endpoint::default()
        };
        let options = LaunchOptions::parse(&HashMap::new()).unwrap();
        let key = ApiKey::new("sk-openai").unwrap();
        let mut input = PlanInput {
            id: 1,
            mode: Mode::Run,
            endpoint: Some(&w.endpoint),
            model: "",
            options: &options,
            native_key: None,
            paths: &w.paths,
            proxy_port: 1,
            env: &w.env,
            env_remove: &[],
            stamp_ms: 0,
            codex_version: None,
            display: DisplayPreference::default(),
        };
        assert_eq!(
            plan(&input).unwrap_err().to_string(),
            "endpoint `oa` has no key"
        );
        input.native_key = Some(&key);
        let p = plan(&input).unwrap();
        assert_eq!(p.token_env, None);
        assert!(p.launch.env.contains(&(
            codex_config::OPENAI_KEY_ENV.to_owned(),
            "sk-openai".to_owned()
        )));
        w.env.clear();
    }
}
