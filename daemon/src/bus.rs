//! The `io.github.CodexLauncher1.Manager` interface: thin methods that call [`Service`] and
//! announce changes (property change signals) so UIs update live.

use std::collections::HashMap;
use std::sync::Arc;

use codex_launcher_dbus::{
    CleanupItem, EndpointInfo, EndpointSpec, Error, ModelSpec, Preset, ProbeReport, ProxyStatus,
    RunPlan,
};
use zbus::OwnedObjectPath;
use zbus::object_server::SignalEmitter;

use crate::service::Service;
use crate::sessions::Sessions;

/// The interface object.
pub struct Manager {
    pub service: Arc<Service>,
    pub sessions: Arc<Sessions>,
    /// zbus dispatches methods on its own (async-io) executor; work that needs tokio (reqwest,
    /// tokio timers) is spawned here and awaited, since a JoinHandle can be awaited anywhere.
    pub runtime: tokio::runtime::Handle,
}

impl Manager {
    /// Run `f` on the tokio runtime and wait for it.
    async fn on_tokio<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime
            .spawn(f)
            .await
            .map_err(|e| Error::Internal(format!("the request failed: {e}")))?
    }

    async fn changed(&self, emitter: &SignalEmitter<'_>) {
        // Change signals are best effort: a client that missed one re-reads on its next call.
        let _ = self.endpoint_ids_changed(emitter).await;
        let _ = self.default_endpoint_changed(emitter).await;
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
    async fn list_endpoints(&self) -> Vec<EndpointInfo> {
        self.service.list()
    }

    #[zbus(out_args("endpoint"))]
    async fn get_endpoint(&self, id: &str) -> Result<EndpointInfo, Error> {
        self.service.get(id)
    }

    #[zbus(out_args("id"))]
    async fn add_endpoint(
        &self,
        spec: EndpointSpec,
        api_key: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<String, Error> {
        let id = self.service.add(spec, api_key).await?;
        self.changed(&emitter).await;
        Ok(id)
    }

    async fn update_endpoint(
        &self,
        id: &str,
        spec: EndpointSpec,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        self.service.update(id, spec)?;
        self.changed(&emitter).await;
        Ok(())
    }

    #[zbus(out_args("storage"))]
    async fn set_api_key(&self, id: &str, api_key: &str) -> Result<String, Error> {
        self.service.set_key(id, api_key).await
    }

    async fn remove_endpoint(
        &self,
        id: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        self.service.remove(id).await?;
        self.changed(&emitter).await;
        Ok(())
    }

    async fn set_default_endpoint(
        &self,
        id: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        self.service.set_default(id)?;
        self.changed(&emitter).await;
        Ok(())
    }

    #[zbus(out_args("presets"))]
    async fn list_presets(&self) -> Vec<Preset> {
        self.service.presets()
    }

    #[zbus(out_args("models"))]
    async fn fetch_models(
        &self,
        id: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<Vec<ModelSpec>, Error> {
        let _ = Self::fetch_progress(&emitter, id, "started", "").await;
        let service = self.service.clone();
        let owned = id.to_owned();
        let fetched = self
            .on_tokio(async move { service.fetch_models(&owned).await })
            .await;
        match fetched {
            Ok(models) => {
                let _ =
                    Self::fetch_progress(&emitter, id, "done", &format!("{} models", models.len()))
                        .await;
                Ok(models)
            }
            Err(e) => {
                let _ = Self::fetch_progress(&emitter, id, "failed", &e.to_string()).await;
                Err(e)
            }
        }
    }

    #[zbus(out_args("added"))]
    async fn import_models(&self, id: &str, text: &str) -> Result<u32, Error> {
        self.service.import_models(id, text)
    }

    #[zbus(out_args("bundle"))]
    async fn export_profile(&self, include_keys: bool) -> Result<String, Error> {
        self.service.export_profile(include_keys)
    }

    #[zbus(out_args("ids"))]
    async fn import_profile(
        &self,
        bundle: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<Vec<String>, Error> {
        let ids = self.service.import_profile(bundle).await?;
        self.changed(&emitter).await;
        Ok(ids)
    }

    #[zbus(out_args("ids"))]
    async fn import_legacy(
        &self,
        path: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<Vec<String>, Error> {
        let ids = self.service.import_legacy(path).await?;
        self.changed(&emitter).await;
        Ok(ids)
    }

    #[zbus(out_args("status"))]
    async fn proxy_status(&self) -> ProxyStatus {
        self.service.proxy_status()
    }

    #[zbus(out_args("session"))]
    async fn launch(
        &self,
        endpoint: &str,
        model: &str,
        mode: &str,
        options: HashMap<String, String>,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        let path = self
            .sessions
            .launch(conn, endpoint, model, mode, &options)
            .await?;
        let _ = Self::session_added(&emitter, path.as_ref()).await;
        Ok(path)
    }

    #[zbus(out_args("removed"))]
    async fn cleanup(&self, dry_run: bool) -> Result<Vec<CleanupItem>, Error> {
        let sessions = self.sessions.clone();
        self.on_tokio(async move {
            tokio::task::spawn_blocking(move || sessions.cleanup(dry_run))
                .await
                .map_err(|e| Error::Internal(format!("cleanup failed: {e}")))
        })
        .await
    }

    #[zbus(out_args("plan"))]
    async fn prepare_run(
        &self,
        endpoint: &str,
        model: &str,
        options: HashMap<String, String>,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<RunPlan, Error> {
        let plan = self
            .sessions
            .prepare_run(conn, endpoint, model, &options)
            .await?;
        if let Ok(path) = zbus::ObjectPath::try_from(plan.session.as_str()) {
            let _ = Self::session_added(&emitter, path).await;
        }
        Ok(plan)
    }

    #[zbus(out_args("report"))]
    async fn probe_endpoint(&self, id: &str, model: &str) -> Result<ProbeReport, Error> {
        let service = self.service.clone();
        let (id, model) = (id.to_owned(), model.to_owned());
        self.on_tokio(async move { service.probe(&id, &model).await })
            .await
    }

    #[zbus(out_args("sessions"))]
    async fn list_sessions(&self) -> Vec<OwnedObjectPath> {
        self.sessions.paths()
    }

    #[zbus(property)]
    async fn default_endpoint(&self) -> String {
        self.service.default_id()
    }

    #[zbus(property)]
    async fn endpoint_ids(&self) -> Vec<String> {
        self.service.ids()
    }

    #[zbus(property)]
    async fn proxy_address(&self) -> String {
        format!("http://{}", self.service.proxy_addr)
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
