//! The `io.github.CodexLauncher1.Manager` interface: each method converts its arguments,
//! asks the state owner, and converts the answer. Change signals come from the owner's
//! events ([`crate::announce`]), not from here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use codex_launcher_dbus::{
    CleanupItem, CodexInfo, EndpointInfo, EndpointOptions, EndpointSpec, Error, GroupInfo, Mode,
    ModelPrices, ModelSpec, Preset, PricedModel, ProbeReport, ProxyStatus, ReplayOutcome, RunPlan,
    TurnDetail, TurnInfo, TurnRecording, UsageCost,
};
use codex_launcher_engine::presets;
use codex_launcher_state::planning::LaunchOptions;
use codex_launcher_state::views::TurnFilter;
use codex_launcher_state::{Handle, LaunchRequest};
use zbus::OwnedObjectPath;
use zbus::object_server::SignalEmitter;

use crate::convert::{self, Bus};
use crate::session;

/// The interface object.
pub struct Manager {
    pub handle: Handle,
    pub proxy_addr: SocketAddr,
}

impl Manager {
    fn request(
        endpoint: &str,
        model: &str,
        mode: Mode,
        options: &HashMap<String, String>,
    ) -> Result<LaunchRequest, Error> {
        Ok(LaunchRequest {
            endpoint: endpoint.to_owned(),
            model: model.to_owned(),
            mode,
            options: LaunchOptions::parse(options).bus()?,
        })
    }

    async fn cleanup_items(&self, dry_run: bool, stop: bool) -> Result<Vec<CleanupItem>, Error> {
        let items = self.handle.cleanup(dry_run, stop).await.bus()?;
        Ok(items.into_iter().map(convert::cleanup_item).collect())
    }
}

#[zbus::interface(name = "io.github.CodexLauncher1.Manager")]
impl Manager {
    /// Liveness check.
    async fn ping(&self) -> String {
        "pong".to_owned()
    }

    /// Daemon version.
    async fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    #[zbus(out_args("endpoints"))]
    async fn list_endpoints(&self) -> Result<Vec<EndpointInfo>, Error> {
        let views = self.handle.endpoints().await.bus()?;
        Ok(views.into_iter().map(convert::info).collect())
    }

    #[zbus(out_args("endpoint"))]
    async fn get_endpoint(&self, id: &str) -> Result<EndpointInfo, Error> {
        self.handle.endpoint(id).await.map(convert::info).bus()
    }

    #[zbus(out_args("id"))]
    async fn add_endpoint(&self, spec: EndpointSpec, api_key: &str) -> Result<String, Error> {
        self.handle
            .add_endpoint(convert::endpoint(spec)?, api_key)
            .await
            .bus()
    }

    async fn update_endpoint(&self, id: &str, spec: EndpointSpec) -> Result<(), Error> {
        self.handle
            .update_endpoint(id, convert::endpoint(spec)?)
            .await
            .bus()
    }

    #[zbus(out_args("storage"))]
    async fn set_api_key(&self, id: &str, api_key: &str) -> Result<String, Error> {
        self.handle
            .set_api_key(id, api_key)
            .await
            .map(|s| s.as_str().to_owned())
            .bus()
    }

    async fn remove_endpoint(&self, id: &str) -> Result<(), Error> {
        self.handle.remove_endpoint(id).await.bus()
    }

    async fn set_default_endpoint(&self, id: &str) -> Result<(), Error> {
        self.handle.set_default(id).await.bus()
    }

    #[zbus(out_args("presets"))]
    async fn list_presets(&self) -> Vec<Preset> {
        presets::presets()
            .into_iter()
            .map(|p| Preset {
                id: p.id.to_owned(),
                spec: convert::spec(&p.endpoint),
                notes: p.notes.to_owned(),
            })
            .collect()
    }

    #[zbus(out_args("models"))]
    async fn fetch_models(
        &self,
        id: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<Vec<ModelSpec>, Error> {
        // Progress signals are best effort: the reply carries the outcome anyway.
        let _ = Self::fetch_progress(&emitter, id, "started", "").await;
        match self.handle.fetch_models(id).await {
            Ok(models) => {
                let done = format!("{} models", models.len());
                let _ = Self::fetch_progress(&emitter, id, "done", &done).await;
                Ok(models.iter().map(convert::model_spec).collect())
            }
            Err(e) => {
                let _ = Self::fetch_progress(&emitter, id, "failed", &e.to_string()).await;
                Err(convert::error(e))
            }
        }
    }

    #[zbus(out_args("added"))]
    async fn import_models(&self, id: &str, text: &str) -> Result<u32, Error> {
        self.handle.import_models(id, text).await.bus()
    }

    #[zbus(out_args("bundle"))]
    async fn export_profile(&self, include_keys: bool) -> Result<String, Error> {
        self.handle.export_profile(include_keys).await.bus()
    }

    #[zbus(out_args("ids"))]
    async fn import_profile(&self, bundle: &str) -> Result<Vec<String>, Error> {
        self.handle.import_profile(bundle).await.bus()
    }

    #[zbus(out_args("ids"))]
    async fn import_legacy(&self, path: &str) -> Result<Vec<String>, Error> {
        let path = (!path.trim().is_empty()).then(|| PathBuf::from(path));
        self.handle.import_legacy(path).await.bus()
    }

    #[zbus(out_args("status"))]
    async fn proxy_status(&self) -> Result<ProxyStatus, Error> {
        self.handle
            .proxy_status()
            .await
            .map(convert::proxy_status)
            .bus()
    }

    #[zbus(out_args("session"))]
    async fn launch(
        &self,
        endpoint: &str,
        model: &str,
        mode: &str,
        options: HashMap<String, String>,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> Result<OwnedObjectPath, Error> {
        let mode = Mode::from_str(mode)
            .ok()
            .filter(|m| Mode::LAUNCH.contains(m))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown mode `{mode}` (cli, exec, desktop, default-cli or default-desktop)"
                ))
            })?;
        let request = Self::request(endpoint, model, mode, &options)?;
        let id = self.handle.launch(request).await.bus()?;
        // Served before the caller hears the path, so it can watch the object at once.
        session::export(conn, &self.handle, id).await
    }

    #[zbus(out_args("removed"))]
    async fn cleanup(&self, dry_run: bool) -> Result<Vec<CleanupItem>, Error> {
        self.cleanup_items(dry_run, false).await
    }

    #[zbus(out_args("removed"))]
    async fn kill_and_cleanup(
        &self,
        dry_run: bool,
        stop_sessions: bool,
    ) -> Result<Vec<CleanupItem>, Error> {
        self.cleanup_items(dry_run, stop_sessions).await
    }

    #[zbus(out_args("plan"))]
    async fn prepare_run(
        &self,
        endpoint: &str,
        model: &str,
        options: HashMap<String, String>,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> Result<RunPlan, Error> {
        let request = Self::request(endpoint, model, Mode::Run, &options)?;
        let plan = self.handle.prepare_run(request).await.bus()?;
        session::export(conn, &self.handle, plan.session).await?;
        convert::run_plan(plan)
    }

    #[zbus(out_args("report"))]
    async fn probe_endpoint(&self, id: &str, model: &str) -> Result<ProbeReport, Error> {
        self.handle
            .probe(id, model)
            .await
            .map(convert::probe_report)
            .bus()
    }

    #[zbus(out_args("sessions"))]
    async fn list_sessions(&self) -> Result<Vec<OwnedObjectPath>, Error> {
        let sessions = self.handle.sessions().await.bus()?;
        sessions
            .iter()
            .map(|s| convert::session_path(s.id))
            .collect()
    }

    async fn set_header(
        &self,
        id: &str,
        name: &str,
        value: &str,
        secret: bool,
    ) -> Result<(), Error> {
        self.handle.set_header(id, name, value, secret).await.bus()
    }

    async fn set_key_source(&self, id: &str, variable: &str) -> Result<(), Error> {
        self.handle.set_key_source(id, variable).await.bus()
    }

    #[zbus(out_args("remove"))]
    async fn scrub_environment(
        &self,
        salt: &str,
        variables: Vec<(String, String)>,
    ) -> Result<Vec<String>, Error> {
        if variables.len() > 10_000 || salt.len() > 256 {
            return Err(Error::InvalidArgument("too many variables".into()));
        }
        self.handle.scrub(salt, variables).await.bus()
    }

    #[zbus(out_args("groups"))]
    async fn list_groups(&self) -> Result<Vec<GroupInfo>, Error> {
        let groups = self.handle.groups().await.bus()?;
        Ok(groups.into_iter().map(convert::group_info).collect())
    }

    #[zbus(out_args("group"))]
    async fn get_group(&self, id: &str) -> Result<GroupInfo, Error> {
        self.handle.group(id).await.map(convert::group_info).bus()
    }

    #[zbus(out_args("id"))]
    async fn add_group(&self, name: &str, members: Vec<(String, String)>) -> Result<String, Error> {
        self.handle
            .add_group(convert::group(name, members))
            .await
            .bus()
    }

    async fn update_group(&self, id: &str, members: Vec<(String, String)>) -> Result<(), Error> {
        self.handle
            .update_group(id, convert::group(id, members))
            .await
            .bus()
    }

    async fn remove_group(&self, id: &str) -> Result<(), Error> {
        self.handle.remove_group(id).await.bus()
    }

    #[zbus(property)]
    async fn group_ids(&self) -> Vec<String> {
        let groups = self.handle.groups().await.unwrap_or_default();
        groups.into_iter().map(|g| g.group.id).collect()
    }

    // ---- cost and prices (issue 14) ----

    #[zbus(out_args("options"))]
    async fn get_endpoint_options(&self, id: &str) -> Result<EndpointOptions, Error> {
        self.handle
            .endpoint(id)
            .await
            .map(|v| convert::endpoint_options(&v.endpoint))
            .map_err(convert::error)
    }

    async fn set_endpoint_options(&self, id: &str, options: EndpointOptions) -> Result<(), Error> {
        self.handle
            .set_endpoint_options(id, convert::options(options))
            .await
            .map_err(convert::error)
    }

    #[zbus(out_args("models"))]
    async fn list_model_prices(&self, id: &str) -> Result<Vec<PricedModel>, Error> {
        let view = self.handle.endpoint(id).await.map_err(convert::error)?;
        Ok(view
            .endpoint
            .models
            .iter()
            .map(|m| PricedModel {
                model: m.id.clone(),
                prices: convert::model_prices(&m.prices),
            })
            .collect())
    }

    async fn set_model_prices(
        &self,
        id: &str,
        model: &str,
        prices: ModelPrices,
    ) -> Result<(), Error> {
        let edit = convert::price_edit(&prices)?;
        self.handle
            .set_prices(id, model, edit)
            .await
            .map_err(convert::error)
    }

    #[zbus(out_args("usage"))]
    async fn usage_costs(&self) -> Result<Vec<UsageCost>, Error> {
        self.handle
            .proxy_status()
            .await
            .map(convert::usage_costs)
            .map_err(convert::error)
    }

    // ---- Codex version (issue 17) ----

    #[zbus(out_args("codex"))]
    async fn codex_info(&self) -> Result<CodexInfo, Error> {
        self.handle
            .codex_info()
            .await
            .map(convert::codex_info)
            .map_err(convert::error)
    }

    // ---- turns (issue 18) ----

    #[zbus(out_args("turns"))]
    async fn list_turns(
        &self,
        failed_only: bool,
        endpoint: &str,
        session: u64,
    ) -> Result<Vec<TurnInfo>, Error> {
        let filter = TurnFilter {
            failed_only,
            endpoint: (!endpoint.is_empty()).then(|| endpoint.to_owned()),
            session: (session != 0).then_some(session),
        };
        let turns = self.handle.turns(filter).await.map_err(convert::error)?;
        Ok(turns.iter().map(convert::turn_info).collect())
    }

    #[zbus(out_args("turn"))]
    async fn get_turn(&self, id: u64) -> Result<TurnDetail, Error> {
        self.handle
            .turn(id)
            .await
            .map(convert::turn_detail)
            .map_err(convert::error)
    }

    #[zbus(out_args("outcome"))]
    async fn replay_turn(
        &self,
        id: u64,
        endpoint: &str,
        model: &str,
    ) -> Result<ReplayOutcome, Error> {
        self.handle
            .replay_turn(id, endpoint, model)
            .await
            .map(convert::replay_outcome)
            .map_err(convert::error)
    }

    #[zbus(out_args("bundle"))]
    async fn export_turn(&self, id: u64, redact_text: bool) -> Result<String, Error> {
        self.handle
            .export_turn(id, redact_text)
            .await
            .map_err(convert::error)
    }

    async fn set_turn_recording(&self, endpoint: &str, all: bool) -> Result<(), Error> {
        self.handle
            .set_turn_recording(endpoint, all)
            .await
            .map_err(convert::error)
    }

    async fn set_turn_retention(
        &self,
        max_failures: u32,
        max_successes: u32,
        max_bytes: u64,
    ) -> Result<(), Error> {
        let given = |n: u32| (n != 0).then_some(n);
        self.handle
            .set_turn_retention(
                given(max_failures),
                given(max_successes),
                (max_bytes != 0).then_some(max_bytes),
            )
            .await
            .map_err(convert::error)
    }

    #[zbus(out_args("recording"))]
    async fn turn_recording(&self) -> Result<TurnRecording, Error> {
        self.handle
            .turn_recording()
            .await
            .map(convert::turn_recording)
            .map_err(convert::error)
    }

    #[zbus(signal)]
    pub async fn turn_recorded(
        emitter: &SignalEmitter<'_>,
        id: u64,
        failed: bool,
    ) -> zbus::Result<()>;

    #[zbus(property)]
    async fn default_endpoint(&self) -> String {
        let views = self.handle.endpoints().await.unwrap_or_default();
        views
            .into_iter()
            .find(|v| v.is_default)
            .map(|v| v.endpoint.id)
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn endpoint_ids(&self) -> Vec<String> {
        let views = self.handle.endpoints().await.unwrap_or_default();
        views.into_iter().map(|v| v.endpoint.id).collect()
    }

    #[zbus(property)]
    async fn proxy_address(&self) -> String {
        format!("http://{}", self.proxy_addr)
    }

    #[zbus(property)]
    async fn key_storage(&self) -> String {
        self.handle
            .key_storage()
            .await
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(signal)]
    pub async fn session_added(
        emitter: &SignalEmitter<'_>,
        session: zbus::ObjectPath<'_>,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn config_merged(
        emitter: &SignalEmitter<'_>,
        path: &str,
        aside: &str,
        message: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn fetch_progress(
        emitter: &SignalEmitter<'_>,
        id: &str,
        stage: &str,
        message: &str,
    ) -> zbus::Result<()>;
}
