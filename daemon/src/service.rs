//! The daemon's state and operations, shared by the bus interface and the signal handlers.
//!
//! Locks are std mutexes held only for short synchronous sections, never across an `.await`:
//! keyring and HTTP calls happen with no lock held.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use codex_launcher_dbus as api;
use codex_launcher_dbus::Error;
use codex_launcher_engine::backup::{self, Backups};
use codex_launcher_engine::catalog;
use codex_launcher_engine::codex_config::{self, Target, cli_overrides};
use codex_launcher_engine::discovery::{merge_models, parse_models};
use codex_launcher_engine::model::{Endpoint, Model};
use codex_launcher_engine::paths::Paths;
use codex_launcher_engine::profile::{Bundle, BundleEndpoint, FORMAT, parse_bundle};
use codex_launcher_engine::store::{EndpointStore, StoreError, parse_model_list};
use codex_launcher_engine::supervisor::{self, Launch, Mode};
use codex_launcher_engine::{legacy, presets};
use codex_launcher_proxy::{ApiKey, Backend, ProxyState};
use codex_launcher_translate::provider::{ChatProvider, ChatQuirks};

use crate::keyring::KeyStore;

/// Largest key we accept (keys are ~50–200 bytes; this only stops garbage).
const MAX_KEY: usize = 4096;
/// Largest pasted text / bundle.
const MAX_TEXT: usize = 4 * 1024 * 1024;
/// Options `Launch` takes (anything else is refused: a typo must not pass silently).
const LAUNCH_OPTIONS: [&str; 6] = [
    "prompt",
    "workdir",
    "effort",
    "grace_ms",
    "stall_secs",
    "args",
];
/// Longest stall time a session may ask for (a day).
const MAX_STALL_SECS: u64 = 86_400;
/// Env var with the default stall time in seconds.
pub const STALL_ENV: &str = "CODEX_LAUNCHER_STALL_SECS";
/// Longest grace period a session may ask for.
const MAX_GRACE_MS: u64 = 600_000;

/// The daemon.
pub struct Service {
    pub paths: Paths,
    store: Mutex<EndpointStore>,
    keys: KeyStore,
    key_cache: Mutex<HashMap<String, String>>,
    pub proxy: Arc<ProxyState>,
    pub proxy_addr: SocketAddr,
    /// The install-wide proxy token (the probe calls the proxy with it).
    pub token: String,
}

fn store_err(e: StoreError) -> Error {
    match e {
        StoreError::Invalid(m) => Error::InvalidArgument(m),
        StoreError::NotFound(id) => Error::NotFound(format!("no endpoint `{id}`")),
        StoreError::Exists(id) => {
            Error::AlreadyExists(format!("an endpoint `{id}` exists already"))
        }
        e @ StoreError::Conflict(_) => Error::Conflict(e.to_string()),
        e @ (StoreError::Corrupt { .. } | StoreError::Io(_)) => Error::Io(e.to_string()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Service {
    /// Load the store and keys and configure the proxy.
    pub async fn new(
        paths: Paths,
        keys: KeyStore,
        proxy: Arc<ProxyState>,
        proxy_addr: SocketAddr,
        token: String,
    ) -> anyhow::Result<Service> {
        let store = EndpointStore::load(&paths.endpoints_file())?;
        let svc = Service {
            paths,
            store: Mutex::new(store),
            keys,
            key_cache: Mutex::default(),
            proxy,
            proxy_addr,
            token,
        };
        svc.reload_keys().await;
        svc.refresh_proxy();
        Ok(svc)
    }

    /// Where keys are kept.
    pub fn key_storage(&self) -> &'static str {
        self.keys.kind()
    }

    async fn reload_keys(&self) {
        let ids: Vec<String> = lock(&self.store)
            .list()
            .iter()
            .map(|e| e.id.clone())
            .collect();
        let mut cache = HashMap::new();
        for id in ids {
            match self.keys.get(&id).await {
                Ok(Some(k)) => {
                    cache.insert(id, k);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(endpoint = %id, error = %e, "cannot read the endpoint's key")
                }
            }
        }
        *lock(&self.key_cache) = cache;
    }

    /// Re-read endpoints.json and keys (SIGHUP).
    pub async fn reload(&self) -> Result<(), Error> {
        let store = EndpointStore::load(&self.paths.endpoints_file()).map_err(store_err)?;
        *lock(&self.store) = store;
        self.reload_keys().await;
        self.refresh_proxy();
        Ok(())
    }

    /// Push the current endpoints (with keys) into the proxy.
    pub fn refresh_proxy(&self) {
        let store = lock(&self.store);
        let cache = lock(&self.key_cache);
        let endpoints = store
            .list()
            .iter()
            .filter_map(
                |e| match proxy_endpoint(e, cache.get(&e.id).map(String::as_str)) {
                    Ok(p) => Some(p),
                    Err(err) => {
                        tracing::warn!(endpoint = %e.id, error = %err, "endpoint skipped");
                        None
                    }
                },
            )
            .collect();
        self.proxy
            .set_endpoints(endpoints, store.default_id().map(str::to_owned));
    }

    /// One-line summary for `STATUS=`.
    pub fn status_line(&self) -> String {
        let s = self.proxy.stats().snapshot();
        format!(
            "{} endpoints; proxy on {}; {} active streams; {} requests",
            lock(&self.store).list().len(),
            self.proxy_addr,
            s.active_streams,
            s.requests
        )
    }

    fn info(&self, e: &Endpoint, default: Option<&str>) -> api::EndpointInfo {
        let has_key = lock(&self.key_cache).contains_key(&e.id);
        api::EndpointInfo {
            id: e.id.clone(),
            spec: to_spec(e),
            has_key,
            key_storage: if has_key {
                self.keys.kind().to_owned()
            } else {
                String::new()
            },
            is_default: default == Some(e.id.as_str()),
            proxy_url: format!("http://{}/e/{}/v1", self.proxy_addr, e.id),
        }
    }

    pub fn list(&self) -> Vec<api::EndpointInfo> {
        let store = lock(&self.store);
        store
            .list()
            .iter()
            .map(|e| self.info(e, store.default_id()))
            .collect()
    }

    pub fn get(&self, id: &str) -> Result<api::EndpointInfo, Error> {
        let store = lock(&self.store);
        let e = store.get(id).map_err(store_err)?;
        Ok(self.info(e, store.default_id()))
    }

    pub fn ids(&self) -> Vec<String> {
        lock(&self.store)
            .list()
            .iter()
            .map(|e| e.id.clone())
            .collect()
    }

    pub fn default_id(&self) -> String {
        lock(&self.store)
            .default_id()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn add(&self, spec: api::EndpointSpec, api_key: &str) -> Result<String, Error> {
        check_key(api_key)?;
        let endpoint = from_spec(spec)?;
        let name = endpoint.name.clone();
        let id = lock(&self.store).add(endpoint).map_err(store_err)?;
        if !api_key.trim().is_empty()
            && let Err(e) = self.store_key(&id, &name, api_key).await
        {
            // Nothing half-written: without its key the new endpoint goes again.
            let _ = lock(&self.store).remove(&id);
            return Err(e);
        }
        self.refresh_proxy();
        tracing::info!(endpoint = %id, "endpoint added");
        Ok(id)
    }

    pub fn update(&self, id: &str, spec: api::EndpointSpec) -> Result<(), Error> {
        let mut endpoint = from_spec(spec)?;
        let mut store = lock(&self.store);
        // The note (import provenance, unmapped fields) is not part of the spec: keep it.
        endpoint.note = store.get(id).map_err(store_err)?.note.clone();
        store.update(id, endpoint).map_err(store_err)?;
        drop(store);
        self.refresh_proxy();
        Ok(())
    }

    async fn store_key(&self, id: &str, label: &str, key: &str) -> Result<(), Error> {
        let key = key.trim();
        self.keys
            .set(id, label, key)
            .await
            .map_err(Error::Keyring)?;
        lock(&self.key_cache).insert(id.to_owned(), key.to_owned());
        Ok(())
    }

    pub async fn set_key(&self, id: &str, key: &str) -> Result<String, Error> {
        check_key(key)?;
        let name = lock(&self.store).get(id).map_err(store_err)?.name.clone();
        if key.trim().is_empty() {
            self.keys.delete(id).await.map_err(Error::Keyring)?;
            lock(&self.key_cache).remove(id);
        } else {
            self.store_key(id, &name, key).await?;
        }
        self.refresh_proxy();
        Ok(self.keys.kind().to_owned())
    }

    pub async fn remove(&self, id: &str) -> Result<(), Error> {
        lock(&self.store).remove(id).map_err(store_err)?;
        if let Err(e) = self.keys.delete(id).await {
            tracing::warn!(endpoint = %id, error = %e, "endpoint removed but its key could not be deleted");
        }
        lock(&self.key_cache).remove(id);
        self.refresh_proxy();
        Ok(())
    }

    pub fn set_default(&self, id: &str) -> Result<(), Error> {
        lock(&self.store).set_default(id).map_err(store_err)?;
        self.refresh_proxy();
        Ok(())
    }

    pub fn presets(&self) -> Vec<api::Preset> {
        presets::presets()
            .into_iter()
            .map(|p| api::Preset {
                id: p.id.to_owned(),
                spec: to_spec(&p.endpoint),
                notes: p.notes.to_owned(),
            })
            .collect()
    }

    /// Ask the provider for its models and merge them in.
    pub async fn fetch_models(&self, id: &str) -> Result<Vec<api::ModelSpec>, Error> {
        let endpoint = lock(&self.store).get(id).map_err(store_err)?.clone();
        let key = lock(&self.key_cache).get(id).cloned();
        let url = models_url(&endpoint);
        let mut req = self
            .proxy
            .client()
            .get(&url)
            .header("accept", "application/json");
        if let Some(k) = &key {
            req = match endpoint.backend.as_str() {
                "anthropic" => req
                    .header("x-api-key", k)
                    .header("anthropic-version", "2023-06-01"),
                _ => req.bearer_auth(k),
            };
        }
        let resp = tokio::time::timeout(std::time::Duration::from_secs(30), req.send())
            .await
            .map_err(|_| Error::Upstream(format!("{url} did not answer within 30 s")))?
            .map_err(|e| Error::Upstream(format!("cannot reach {url}: {e}")))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| Error::Upstream(format!("{url}: {e}")))?;
        if !status.is_success() {
            let body = key
                .as_deref()
                .map(|k| body.replace(k, "***"))
                .unwrap_or(body);
            let snippet: String = body.chars().take(300).collect();
            return Err(Error::Upstream(format!(
                "{url} answered HTTP {status}: {snippet}"
            )));
        }
        let fetched = parse_models(&body).map_err(Error::Upstream)?;
        let result: Vec<api::ModelSpec> = fetched.iter().map(to_model_spec).collect();
        lock(&self.store)
            .modify(id, |e| {
                merge_models(&mut e.models, fetched);
            })
            .map_err(store_err)?;
        self.refresh_proxy();
        Ok(result)
    }

    pub fn import_models(&self, id: &str, text: &str) -> Result<u32, Error> {
        if text.len() > MAX_TEXT {
            return Err(Error::InvalidArgument(
                "the pasted text is too large".into(),
            ));
        }
        let ids = parse_model_list(text);
        if ids.is_empty() {
            return Err(Error::InvalidArgument(
                "no model ids found in the text (separate them by commas or newlines)".into(),
            ));
        }
        let mut added = 0;
        lock(&self.store)
            .modify(id, |e| {
                added = merge_models(&mut e.models, ids.iter().map(|m| Model::bare(m)).collect());
            })
            .map_err(store_err)?;
        self.refresh_proxy();
        Ok(added as u32)
    }

    pub fn export_profile(&self, include_keys: bool) -> Result<String, Error> {
        let store = lock(&self.store);
        let cache = lock(&self.key_cache);
        let bundle = Bundle {
            format: FORMAT.into(),
            version: 1,
            default: store.default_id().map(str::to_owned),
            endpoints: store
                .list()
                .iter()
                .map(|e| BundleEndpoint {
                    endpoint: e.clone(),
                    api_key: if include_keys {
                        cache.get(&e.id).cloned()
                    } else {
                        None
                    },
                })
                .collect(),
        };
        serde_json::to_string_pretty(&bundle).map_err(|e| Error::Internal(e.to_string()))
    }

    pub async fn import_profile(&self, text: &str) -> Result<Vec<String>, Error> {
        if text.len() > MAX_TEXT {
            return Err(Error::InvalidArgument("the bundle is too large".into()));
        }
        let bundle = parse_bundle(text).map_err(Error::InvalidArgument)?;
        let mut ids = Vec::new();
        for be in bundle.endpoints {
            let e = be.endpoint;
            let exists = lock(&self.store).get(&e.id).is_ok();
            let id = if exists {
                let id = e.id.clone();
                lock(&self.store).update(&id, e).map_err(store_err)?;
                id
            } else {
                lock(&self.store).add(e).map_err(store_err)?
            };
            if let Some(key) = be.api_key.filter(|k| !k.trim().is_empty()) {
                let name = lock(&self.store).get(&id).map_err(store_err)?.name.clone();
                self.store_key(&id, &name, &key).await?;
            }
            ids.push(id);
        }
        if let Some(d) = bundle.default.filter(|d| ids.contains(d)) {
            lock(&self.store).set_default(&d).map_err(store_err)?;
        }
        self.refresh_proxy();
        Ok(ids)
    }

    pub async fn import_legacy(&self, path: &str) -> Result<Vec<String>, Error> {
        let path = if path.trim().is_empty() {
            self.paths.home.join(".codex/endpoints.json")
        } else {
            std::path::PathBuf::from(path)
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
        let file = legacy::parse_legacy(&text)
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        let mut ids = Vec::new();
        let mut default_id = None;
        for imported in file.endpoints {
            let name = imported.endpoint.name.clone();
            let id = lock(&self.store)
                .add(imported.endpoint)
                .map_err(|e| match e {
                    StoreError::Invalid(m) => Error::InvalidArgument(format!(
                        "endpoint `{name}` in {}: {m}",
                        path.display()
                    )),
                    other => store_err(other),
                })?;
            if let Some(key) = imported.api_key {
                self.store_key(&id, &name, &key).await?;
            }
            if file.default.as_deref() == Some(name.as_str()) {
                default_id = Some(id.clone());
            }
            ids.push(id);
        }
        if let Some(d) = default_id {
            lock(&self.store).set_default(&d).map_err(store_err)?;
        }
        self.refresh_proxy();
        Ok(ids)
    }

    pub fn proxy_status(&self) -> api::ProxyStatus {
        let s = self.proxy.stats().snapshot();
        api::ProxyStatus {
            address: format!("http://{}", self.proxy_addr),
            requests: s.requests,
            active_streams: s.active_streams,
            errors: s.errors,
            usage: self
                .proxy
                .usage()
                .into_iter()
                .map(|((endpoint, model), c)| api::Usage {
                    endpoint,
                    model,
                    requests: c.requests,
                    input_tokens: c.input_tokens,
                    output_tokens: c.output_tokens,
                    errors: c.errors,
                })
                .collect(),
        }
    }
}

impl Service {
    /// What `Launch` starts: validated, with the catalog written and the command built.
    /// Zero-touch: Codex gets `-c` overrides and the catalog file; config.toml is not changed.
    pub fn plan_session(
        &self,
        endpoint_id: &str,
        model: &str,
        mode: &str,
        options: &HashMap<String, String>,
    ) -> Result<Planned, Error> {
        let mode = Mode::parse(mode).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown mode `{mode}` (cli, exec, desktop, default-cli or default-desktop)"
            ))
        })?;
        self.plan(endpoint_id, model, mode, options)
    }

    /// What `PrepareRun` hands the caller: `codex` with the session's overrides, run by the
    /// caller in its own terminal.
    pub fn plan_run(
        &self,
        endpoint_id: &str,
        model: &str,
        options: &HashMap<String, String>,
    ) -> Result<Planned, Error> {
        self.plan(endpoint_id, model, Mode::Run, options)
    }

    fn plan(
        &self,
        endpoint_id: &str,
        model: &str,
        mode: Mode,
        options: &HashMap<String, String>,
    ) -> Result<Planned, Error> {
        if let Some(bad) = options
            .keys()
            .find(|k| !LAUNCH_OPTIONS.contains(&k.as_str()))
        {
            return Err(Error::InvalidArgument(format!(
                "unknown option `{bad}` (known: {})",
                LAUNCH_OPTIONS.join(", ")
            )));
        }
        let stall = stall_time(options)?;
        let extra_args = run_args(options)?;
        if !extra_args.is_empty() && mode != Mode::Run {
            return Err(Error::InvalidArgument(
                "the `args` option is for PrepareRun only".into(),
            ));
        }
        if matches!(mode, Mode::DefaultCli | Mode::DefaultDesktop) {
            let mut planned = self.plan_default_session(mode, options)?;
            planned.stall = stall;
            return Ok(planned);
        }
        let endpoint = lock(&self.store)
            .get(endpoint_id)
            .map_err(store_err)?
            .clone();
        let model = match model.trim() {
            "" => endpoint.default_model.clone(),
            m => m.to_owned(),
        };
        if model.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "endpoint `{endpoint_id}` has no default model: name one"
            )));
        }
        let config_err = |e: codex_config::ConfigError| Error::InvalidArgument(e.to_string());
        let url = codex_config::proxy_url(self.proxy_addr.port(), &endpoint.id);
        let mut target = Target::new(&endpoint, &model, &url).map_err(config_err)?;
        if let Some(effort) = options.get("effort") {
            target = target.with_reasoning_effort(effort).map_err(config_err)?;
        }
        let grace = launch_grace(options)?;
        let workdir = self.launch_workdir(options)?;
        let prompt = options.get("prompt").map(String::as_str).unwrap_or("");
        // Native OpenAI: Codex talks to OpenAI itself, so this one key goes to it. Otherwise
        // the session's own proxy token is added by the caller ([`Planned::token_env`]).
        let native_key = if target.is_native() {
            Some(
                lock(&self.key_cache)
                    .get(&endpoint.id)
                    .cloned()
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!("endpoint `{endpoint_id}` has no key"))
                    })?,
            )
        } else {
            None
        };

        // Base instructions: the launcher's own. Reading Codex's (`codex debug models
        // --bundled`) would cost a Codex start per launch.
        let catalog_path = catalog::catalog_file(&self.paths, &endpoint.id);
        catalog::build(&endpoint, &model, catalog::FALLBACK_INSTRUCTIONS)
            .write(&catalog_path)
            .map_err(|e| Error::Io(format!("cannot write the model catalog: {e}")))?;
        let target = target.with_catalog(&catalog_path).map_err(config_err)?;
        let overrides = cli_overrides(&target);

        let codex = supervisor::codex_program(|name| std::env::var_os(name));
        let (program, args) = match mode {
            Mode::Exec => {
                if prompt.trim().is_empty() {
                    return Err(Error::InvalidArgument(
                        "mode exec needs a `prompt` option".into(),
                    ));
                }
                (codex, supervisor::exec_args(&overrides, &workdir, prompt))
            }
            Mode::Cli => split_command(in_terminal(&codex, &overrides, &workdir, prompt)?),
            Mode::Run => {
                let mut args = supervisor::cli_args(&overrides, &workdir, "");
                args.extend(extra_args);
                if !prompt.is_empty() {
                    args.push(prompt.to_owned());
                }
                (codex, args)
            }
            // The default modes returned above, from plan_default_session.
            Mode::Desktop | Mode::DefaultCli | Mode::DefaultDesktop => {
                split_command(supervisor::desktop_command(|n| std::env::var_os(n), &codex))
            }
        };

        let logs = self.session_dirs()?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        // Desktop reads config.toml: back it up, then write our provider into it. The backup
        // is held until the session exits ([`Service::end_desktop_config`]).
        let backup = if mode == Mode::Desktop {
            let key = format!("desktop-{stamp}-{}", endpoint.id);
            self.begin_config(&key, |text| codex_config::apply_to_config(text, &target))?;
            Some(key)
        } else {
            None
        };
        let launch = Launch {
            endpoint: endpoint.id.clone(),
            model,
            mode,
            program,
            args,
            env: [(
                "CODEX_HOME".to_owned(),
                self.paths.codex_home.display().to_string(),
            )]
            .into_iter()
            .chain(native_key.map(|key| (overrides.env_key.to_owned(), key)))
            .collect(),
            env_remove: supervisor::scrubbed_env(std::env::vars_os().map(|(k, _)| k)),
            cwd: Some(workdir),
            log: Some(logs.join(format!("{stamp}-{}.log", endpoint.id))),
            grace,
        };
        Ok(Planned {
            launch,
            backup,
            token_env: (!target.is_native()).then_some(overrides.env_key),
            stall,
        })
    }

    /// The `workdir` option: an absolute directory, default the home directory.
    fn launch_workdir(&self, options: &HashMap<String, String>) -> Result<PathBuf, Error> {
        let workdir = options
            .get("workdir")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.paths.home.clone());
        if !workdir.is_absolute() || !workdir.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "workdir {} is not an absolute path to a directory",
                workdir.display()
            )));
        }
        Ok(workdir)
    }

    /// CODEX_HOME (created: Codex makes ~/.codex itself only when CODEX_HOME is unset; we set
    /// it, so a session follows the daemon's idea of it, and a first-time user has none yet)
    /// and the session log directory.
    fn session_dirs(&self) -> Result<PathBuf, Error> {
        for dir in [&self.paths.codex_home, &self.paths.state.join("sessions")] {
            codex_launcher_engine::atomic::ensure_dir(dir)
                .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        Ok(self.paths.state.join("sessions"))
    }

    /// A "Codex Default" session: no endpoint, no token, Codex's own login; the launcher's
    /// provider settings, if config.toml has any, are taken out for the session and put back
    /// after (the same backup as Desktop sessions).
    fn plan_default_session(
        &self,
        mode: Mode,
        options: &HashMap<String, String>,
    ) -> Result<Planned, Error> {
        let grace = launch_grace(options)?;
        let workdir = self.launch_workdir(options)?;
        let prompt = options.get("prompt").map(String::as_str).unwrap_or("");
        let codex = supervisor::codex_program(|name| std::env::var_os(name));
        let (program, args) = split_command(if mode == Mode::DefaultCli {
            // No overrides: Codex's own provider and login.
            let none = codex_config::CliOverrides {
                args: Vec::new(),
                env_key: codex_config::PROXY_TOKEN_ENV,
            };
            in_terminal(&codex, &none, &workdir, prompt)?
        } else {
            supervisor::desktop_command(|n| std::env::var_os(n), &codex)
        });
        let logs = self.session_dirs()?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let key = format!("default-{stamp}");
        self.begin_config(&key, codex_config::remove_managed)?;
        let launch = Launch {
            endpoint: String::new(),
            model: String::new(),
            mode,
            program,
            args,
            env: vec![(
                "CODEX_HOME".to_owned(),
                self.paths.codex_home.display().to_string(),
            )],
            env_remove: supervisor::scrubbed_env(std::env::vars_os().map(|(k, _)| k)),
            cwd: Some(workdir),
            log: Some(logs.join(format!("{stamp}-codex-default.log"))),
            grace,
        };
        Ok(Planned {
            launch,
            backup: Some(key),
            token_env: None,
            stall: None,
        })
    }

    /// Back config.toml up under `key` and apply `edit` to it for the session.
    fn begin_config(
        &self,
        key: &str,
        edit: impl FnOnce(&str) -> Result<String, codex_config::ConfigError>,
    ) -> Result<(), Error> {
        let backups = Backups::at(&self.paths.state);
        let config = backup::config_file(&self.paths);
        backups
            .acquire(key, &config)
            .map_err(|e| Error::Io(format!("cannot back up {}: {e}", config.display())))?;
        if let Err(e) = backups.update(key, edit) {
            self.end_desktop_config(key);
            return Err(Error::Io(format!(
                "cannot write the session into {}: {e}",
                config.display()
            )));
        }
        tracing::info!(backup = key, config = %config.display(), "config.toml set up for the session");
        Ok(())
    }

    /// The Desktop session under `key` ended (or never started): release its backup; the
    /// last one out restores config.toml, keeping edits the user made meanwhile.
    pub fn end_desktop_config(&self, key: &str) -> Option<ConfigMerged> {
        match Backups::at(&self.paths.state).release(key) {
            Ok(backup::Release::Restored(report)) if report.user_edited() => {
                tracing::warn!(backup = key, "config.toml restored; {report}");
                return Some(ConfigMerged::from_report(&report));
            }
            Ok(backup::Release::Restored(report)) => {
                tracing::info!(backup = key, "config.toml restored; {report}")
            }
            Ok(_) => tracing::debug!(backup = key, "config.toml still used by another session"),
            Err(e) => tracing::error!(backup = key, error = %e, "cannot restore config.toml"),
        }
        None
    }
}

/// The user edited config.toml during a session; what `ConfigMerged` tells them.
#[derive(Debug, Clone)]
pub struct ConfigMerged {
    pub path: String,
    pub aside: String,
    pub message: String,
}

impl ConfigMerged {
    fn from_report(report: &backup::RestoreReport) -> ConfigMerged {
        let aside = match &report.outcome {
            backup::Outcome::Merged { aside } => Some(aside.clone()),
            backup::Outcome::KeptDeleted { aside } | backup::Outcome::Unmergeable { aside, .. } => {
                aside.clone()
            }
            _ => None,
        };
        ConfigMerged {
            path: report.config.display().to_string(),
            aside: aside.map(|a| a.display().to_string()).unwrap_or_default(),
            message: report.to_string(),
        }
    }
}

/// A planned session: the command, and the config.toml backup it holds (Desktop).
pub struct Planned {
    pub launch: Launch,
    pub backup: Option<String>,
    /// The variable that carries the session's proxy token (`None`: no proxy, no token).
    pub token_env: Option<&'static str>,
    /// The session's own stall time (`None`: the daemon's).
    pub stall: Option<std::time::Duration>,
}

/// The daemon's stall time: [`STALL_ENV`], else the engine's default.
pub fn default_stall() -> std::time::Duration {
    std::env::var(STALL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=MAX_STALL_SECS).contains(s))
        .map_or(
            codex_launcher_engine::stall::DEFAULT_STALL,
            std::time::Duration::from_secs,
        )
}

/// The `stall_secs` option.
fn stall_time(options: &HashMap<String, String>) -> Result<Option<std::time::Duration>, Error> {
    let Some(v) = options.get("stall_secs") else {
        return Ok(None);
    };
    match v.trim().parse::<u64>() {
        Ok(s) if (1..=MAX_STALL_SECS).contains(&s) => Ok(Some(std::time::Duration::from_secs(s))),
        _ => Err(Error::InvalidArgument(format!(
            "stall_secs must be a number of seconds from 1 to {MAX_STALL_SECS}"
        ))),
    }
}

/// The `args` option: extra Codex arguments as a JSON array of strings.
fn run_args(options: &HashMap<String, String>) -> Result<Vec<String>, Error> {
    let Some(v) = options.get("args") else {
        return Ok(Vec::new());
    };
    serde_json::from_str::<Vec<String>>(v).map_err(|e| {
        Error::InvalidArgument(format!(
            "the `args` option must be a JSON array of strings: {e}"
        ))
    })
}

/// `TERMINAL… CODEX [overrides] -C WORKDIR [-- PROMPT]`: interactive Codex in a terminal.
fn in_terminal(
    codex: &std::path::Path,
    overrides: &codex_config::CliOverrides,
    workdir: &std::path::Path,
    prompt: &str,
) -> Result<Vec<String>, Error> {
    let path = std::env::var_os("PATH");
    let mut words =
        supervisor::terminal(|n| std::env::var_os(n), path.as_ref()).ok_or_else(|| {
            Error::InvalidArgument(format!(
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

/// The `grace_ms` option: SIGTERM to SIGKILL on stop.
fn launch_grace(options: &HashMap<String, String>) -> Result<std::time::Duration, Error> {
    match options.get("grace_ms") {
        None => Ok(supervisor::DEFAULT_GRACE),
        Some(ms) => match ms.trim().parse::<u64>() {
            Ok(ms) if ms <= MAX_GRACE_MS => Ok(std::time::Duration::from_millis(ms)),
            _ => Err(Error::InvalidArgument(format!(
                "grace_ms must be a number of milliseconds up to {MAX_GRACE_MS}"
            ))),
        },
    }
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.len() > MAX_KEY || key.trim().chars().any(|c| c.is_control()) {
        return Err(Error::InvalidArgument(
            "the API key is too long or contains control characters".into(),
        ));
    }
    Ok(())
}

fn models_url(e: &Endpoint) -> String {
    match e.backend.as_str() {
        "anthropic" if e.base_url.ends_with("/v1") => format!("{}/models", e.base_url),
        "anthropic" => format!("{}/v1/models", e.base_url),
        "command-code" => format!("{}/provider/v1/models", e.base_url),
        _ => format!("{}/models", e.base_url),
    }
}

/// A stored endpoint as the proxy serves it.
fn proxy_endpoint(
    e: &Endpoint,
    key: Option<&str>,
) -> Result<codex_launcher_proxy::Endpoint, String> {
    let backend =
        Backend::from_name(&e.backend).ok_or_else(|| format!("unknown backend `{}`", e.backend))?;
    let mut p = codex_launcher_proxy::Endpoint::openai_compat(
        &e.id,
        &e.base_url,
        key.and_then(ApiKey::new),
    )
    .map_err(|err| err.to_string())?;
    p.name = e.name.clone();
    p.backend = backend;
    if !e.provider.is_empty() {
        let provider = ChatProvider::from_name(&e.provider)
            .ok_or_else(|| format!("unknown provider `{}`", e.provider))?;
        p.provider = provider;
        p.quirks = provider.quirks();
    }
    if let Some(overrides) = &e.quirks {
        let mut base = serde_json::to_value(&p.quirks).map_err(|err| err.to_string())?;
        if let Some(obj) = base.as_object_mut() {
            obj.extend(overrides.clone());
        }
        p.quirks = serde_json::from_value::<ChatQuirks>(base)
            .map_err(|err| format!("invalid quirks: {err}"))?;
    }
    p.browser_ua = e.browser_ua;
    p.extra_headers = e.extra_headers.clone();
    Ok(p)
}

fn to_model_spec(m: &Model) -> api::ModelSpec {
    api::ModelSpec {
        id: m.id.clone(),
        display_name: m.display_name.clone(),
        context_window: m.context_window,
        max_output_tokens: m.max_output_tokens,
        reasoning_efforts: m.reasoning_efforts.clone(),
        default_effort: m.default_effort.clone(),
        input_modalities: m.input_modalities.clone(),
        parallel_tool_calls: m.parallel_tool_calls,
    }
}

fn to_spec(e: &Endpoint) -> api::EndpointSpec {
    api::EndpointSpec {
        name: e.name.clone(),
        preset: e.preset.clone(),
        backend: e.backend.clone(),
        base_url: e.base_url.clone(),
        default_model: e.default_model.clone(),
        models: e.models.iter().map(to_model_spec).collect(),
        browser_ua: e.browser_ua,
        extra_headers: e.extra_headers.clone(),
        provider: e.provider.clone(),
        quirks_json: e
            .quirks
            .as_ref()
            .map(|q| serde_json::Value::Object(q.clone()).to_string())
            .unwrap_or_default(),
    }
}

fn from_spec(s: api::EndpointSpec) -> Result<Endpoint, Error> {
    let quirks = if s.quirks_json.trim().is_empty() {
        None
    } else {
        match serde_json::from_str::<serde_json::Value>(&s.quirks_json) {
            Ok(serde_json::Value::Object(map)) => {
                let mut probe = serde_json::to_value(ChatQuirks::default())
                    .map_err(|e| Error::Internal(e.to_string()))?;
                if let Some(obj) = probe.as_object_mut() {
                    obj.extend(map.clone());
                }
                serde_json::from_value::<ChatQuirks>(probe)
                    .map_err(|e| Error::InvalidArgument(format!("invalid quirks: {e}")))?;
                Some(map)
            }
            _ => {
                return Err(Error::InvalidArgument(
                    "quirks must be a JSON object".into(),
                ));
            }
        }
    };
    Ok(Endpoint {
        id: String::new(),
        name: s.name,
        preset: s.preset,
        backend: s.backend,
        base_url: s.base_url,
        default_model: s.default_model,
        models: s
            .models
            .into_iter()
            .map(|m| Model {
                id: m.id,
                display_name: m.display_name,
                context_window: m.context_window,
                max_output_tokens: m.max_output_tokens,
                reasoning_efforts: m.reasoning_efforts,
                default_effort: m.default_effort,
                input_modalities: m.input_modalities,
                parallel_tool_calls: m.parallel_tool_calls,
                // Not on the D-Bus model spec yet (issue 14: the lead wires prices through).
                prices: Default::default(),
            })
            .collect(),
        browser_ua: s.browser_ua,
        extra_headers: s.extra_headers,
        provider: s.provider,
        quirks,
        note: String::new(),
    })
}

impl Service {
    /// `ProbeEndpoint`: see [`crate::probe`].
    pub async fn probe(
        &self,
        id: &str,
        model: &str,
    ) -> Result<codex_launcher_dbus::ProbeReport, Error> {
        crate::probe::run(self, id, model).await
    }
}
