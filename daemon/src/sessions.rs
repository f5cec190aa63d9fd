//! Codex sessions on the bus: `Manager.Launch` plans the command ([`Service::plan_session`]),
//! the engine's [`Supervisor`] runs it, and each session is an object implementing
//! `io.github.CodexLauncher1.Session` at `/io/github/CodexLauncher1/session/<n>`.
//!
//! Exits are reported by the supervisor's waiter threads; [`Sessions::new`] hands them to a
//! task on the daemon's tokio runtime, which emits `Exited` and the property changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use codex_launcher_dbus::{Error, SESSION_PATH_PREFIX};
use codex_launcher_engine::supervisor::{Session, Supervisor};
use codex_launcher_proxy::{ProxyState, UsageCounters};
use zbus::OwnedObjectPath;
use zbus::object_server::SignalEmitter;

use crate::service::Service;

/// The daemon's sessions.
pub struct Sessions {
    pub supervisor: Supervisor,
    /// Held from spawn until the session's object is served. The exit announcement takes it
    /// first, so a session that exits at once still has an object to signal from.
    launching: Arc<tokio::sync::Mutex<()>>,
    /// Desktop sessions' config.toml backups, by session id, released when they exit.
    backups: Arc<Mutex<HashMap<u64, String>>>,
    service: Arc<Service>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `/io/github/CodexLauncher1/session/<id>`.
pub fn session_path(id: u64) -> Result<OwnedObjectPath, Error> {
    OwnedObjectPath::try_from(format!("{SESSION_PATH_PREFIX}/{id}"))
        .map_err(|e| Error::Internal(format!("session path: {e}")))
}

impl Sessions {
    /// Sessions whose exits are announced on `conn`. Returns the task doing so (abort it at
    /// shutdown).
    pub fn new(
        conn: zbus::Connection,
        service: Arc<Service>,
    ) -> (Arc<Sessions>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, i32)>();
        let tx = Mutex::new(tx);
        let supervisor = Supervisor::new(Box::new(move |s: &Session| {
            let sent = tx
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send((s.id, s.exit_code.unwrap_or(-1)));
            if sent.is_err() {
                tracing::debug!(session = s.id, "exit not announced: shutting down");
            }
        }));
        let launching = Arc::new(tokio::sync::Mutex::new(()));
        let backups: Arc<Mutex<HashMap<u64, String>>> = Arc::default();
        let sessions = Arc::new(Sessions {
            supervisor,
            launching: launching.clone(),
            backups: backups.clone(),
            service: service.clone(),
        });
        let announcer = tokio::spawn(async move {
            while let Some((id, code)) = rx.recv().await {
                drop(launching.lock().await);
                // config.toml is back before anyone hears the session ended.
                let key = lock(&backups).remove(&id);
                if let Some(key) = key {
                    service.end_desktop_config(&key);
                }
                announce_exit(&conn, id, code).await;
            }
        });
        (sessions, announcer)
    }

    /// Start a session and serve its object.
    pub async fn launch(
        self: &Arc<Self>,
        service: &Arc<Service>,
        conn: &zbus::Connection,
        endpoint: &str,
        model: &str,
        mode: &str,
        options: &HashMap<String, String>,
    ) -> Result<OwnedObjectPath, Error> {
        let planned = service.plan_session(endpoint, model, mode, options)?;
        let _serving = self.launching.lock().await;
        let session = match self.supervisor.spawn(planned.launch) {
            Ok(session) => session,
            Err(e) => {
                if let Some(key) = &planned.backup {
                    service.end_desktop_config(key);
                }
                return Err(Error::Io(e.to_string()));
            }
        };
        if let Some(key) = planned.backup {
            lock(&self.backups).insert(session.id, key);
        }
        let path = session_path(session.id)?;
        let baseline = counters(&service.proxy, &session.endpoint, &session.model);
        let object = SessionObject {
            id: session.id,
            sessions: self.clone(),
            proxy: service.proxy.clone(),
            endpoint: session.endpoint.clone(),
            model: session.model.clone(),
            baseline,
            frozen: None,
        };
        if let Err(e) = conn.object_server().at(&path, object).await {
            let _ = self.supervisor.stop(session.id, None);
            return Err(Error::Internal(format!("cannot export the session: {e}")));
        }
        Ok(path)
    }

    /// Release the backups of Desktop sessions whose exit was not announced (shutdown).
    pub fn release_backups(&self) {
        let keys: Vec<String> = lock(&self.backups).drain().map(|(_, k)| k).collect();
        for key in keys {
            self.service.end_desktop_config(&key);
        }
    }

    /// Paths of all sessions.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        self.supervisor
            .list()
            .iter()
            .filter_map(|s| session_path(s.id).ok())
            .collect()
    }
}

/// Usage of one endpoint and model so far.
fn counters(proxy: &ProxyState, endpoint: &str, model: &str) -> UsageCounters {
    proxy
        .usage()
        .into_iter()
        .find(|((e, m), _)| e == endpoint && m == model)
        .map(|(_, c)| c)
        .unwrap_or_default()
}

async fn announce_exit(conn: &zbus::Connection, id: u64, code: i32) {
    let Ok(path) = session_path(id) else { return };
    let iface = match conn
        .object_server()
        .interface::<_, SessionObject>(&path)
        .await
    {
        Ok(iface) => iface,
        Err(e) => {
            tracing::warn!(session = id, error = %e, "exited session has no object");
            return;
        }
    };
    iface.get_mut().await.freeze();
    let emitter = iface.signal_emitter();
    // Best effort, like the manager's change signals: a client that missed them reads the
    // properties.
    {
        let object = iface.get().await;
        let _ = object.state_changed(emitter).await;
        let _ = object.exit_code_changed(emitter).await;
    }
    let _ = SessionObject::exited(emitter, code).await;
}

/// One session's object. Identity and state come from the supervisor on every read.
///
/// Traffic (`Requests`, `TokensIn`, `TokensOut`) is the proxy's usage of the session's
/// endpoint and model since the session started, frozen when it exits. The proxy cannot tell
/// sessions apart (they share the access token), so two sessions on the same endpoint and
/// model each count both.
pub struct SessionObject {
    id: u64,
    sessions: Arc<Sessions>,
    proxy: Arc<ProxyState>,
    endpoint: String,
    model: String,
    baseline: UsageCounters,
    /// Usage at exit.
    frozen: Option<UsageCounters>,
}

impl SessionObject {
    fn session(&self) -> Option<Session> {
        self.sessions.supervisor.get(self.id)
    }

    fn freeze(&mut self) {
        self.frozen = Some(counters(&self.proxy, &self.endpoint, &self.model));
    }

    fn usage(&self) -> UsageCounters {
        let now = self
            .frozen
            .unwrap_or_else(|| counters(&self.proxy, &self.endpoint, &self.model));
        UsageCounters {
            requests: now.requests.saturating_sub(self.baseline.requests),
            input_tokens: now.input_tokens.saturating_sub(self.baseline.input_tokens),
            output_tokens: now
                .output_tokens
                .saturating_sub(self.baseline.output_tokens),
            errors: now.errors.saturating_sub(self.baseline.errors),
        }
    }
}

#[zbus::interface(name = "io.github.CodexLauncher1.Session")]
impl SessionObject {
    /// SIGTERM to the process group, SIGKILL after the grace period; `Exited` follows.
    async fn stop(&self, #[zbus(signal_emitter)] emitter: SignalEmitter<'_>) -> Result<(), Error> {
        self.sessions
            .supervisor
            .stop(self.id, None)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        let _ = self.state_changed(&emitter).await;
        Ok(())
    }

    #[zbus(property)]
    async fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    #[zbus(property)]
    async fn model(&self) -> String {
        self.model.clone()
    }

    #[zbus(property)]
    async fn mode(&self) -> String {
        self.session()
            .map(|s| s.mode.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn pid(&self) -> u32 {
        self.session().map_or(0, |s| s.pid)
    }

    #[zbus(property)]
    async fn state(&self) -> String {
        self.session()
            .map(|s| s.state.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn started(&self) -> u64 {
        self.session()
            .and_then(|s| s.started.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    }

    #[zbus(property)]
    async fn exit_code(&self) -> i32 {
        self.session().and_then(|s| s.exit_code).unwrap_or(-1)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn requests(&self) -> u64 {
        self.usage().requests
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn tokens_in(&self) -> u64 {
        self.usage().input_tokens
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn tokens_out(&self) -> u64 {
        self.usage().output_tokens
    }

    #[zbus(signal)]
    async fn exited(emitter: &SignalEmitter<'_>, exit_code: i32) -> zbus::Result<()>;
}
