//! The `io.github.CodexLauncher1.Session` interface: one object per session, every property
//! read from the state owner on each call.

use codex_launcher_dbus::Error;
use codex_launcher_state::Handle;
use codex_launcher_state::views::SessionView;

use crate::convert::{self, Bus};

/// One session's object.
pub struct SessionObject {
    id: u64,
    handle: Handle,
}

/// Serve session `id`'s object (if it is not served yet); its path.
pub async fn export(
    conn: &zbus::Connection,
    handle: &Handle,
    id: u64,
) -> Result<zbus::OwnedObjectPath, Error> {
    let path = convert::session_path(id)?;
    let object = SessionObject {
        id,
        handle: handle.clone(),
    };
    conn.object_server()
        .at(&path, object)
        .await
        .map_err(|e| Error::Internal(format!("cannot export the session: {e}")))?;
    Ok(path)
}

impl SessionObject {
    async fn view(&self) -> Option<SessionView> {
        self.handle.session(self.id).await.ok().flatten()
    }
}

#[zbus::interface(name = "io.github.CodexLauncher1.Session")]
impl SessionObject {
    /// SIGTERM to the process group, SIGKILL after the grace period; `Exited` follows.
    async fn stop(&self) -> Result<(), Error> {
        self.handle.stop(self.id).await.bus()
    }

    /// The pid of the Codex a `PrepareRun` caller started.
    async fn attach(&self, pid: u32) -> Result<(), Error> {
        self.handle.attach(self.id, pid).await.bus()
    }

    /// The exit code the `PrepareRun` caller's Codex ended with.
    async fn report_exit(&self, exit_code: i32) -> Result<(), Error> {
        self.handle.report_exit(self.id, exit_code).await.bus()
    }

    #[zbus(property)]
    async fn endpoint(&self) -> String {
        self.view().await.map(|s| s.endpoint).unwrap_or_default()
    }

    #[zbus(property)]
    async fn model(&self) -> String {
        self.view().await.map(|s| s.model).unwrap_or_default()
    }

    #[zbus(property)]
    async fn mode(&self) -> String {
        self.view()
            .await
            .map(|s| s.mode.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn pid(&self) -> u32 {
        self.view().await.map_or(0, |s| s.pid)
    }

    #[zbus(property)]
    async fn state(&self) -> String {
        self.view()
            .await
            .map(|s| s.state.as_str().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property)]
    async fn started(&self) -> u64 {
        self.view().await.map_or(0, |s| convert::started_secs(&s))
    }

    #[zbus(property)]
    async fn exit_code(&self) -> i32 {
        self.view().await.and_then(|s| s.exit_code).unwrap_or(-1)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn requests(&self) -> u64 {
        self.view().await.map_or(0, |s| s.traffic.requests)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn tokens_in(&self) -> u64 {
        self.view().await.map_or(0, |s| s.traffic.input_tokens)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn tokens_out(&self) -> u64 {
        self.view().await.map_or(0, |s| s.traffic.output_tokens)
    }

    // ---- cost and prices (issue 14) ----

    #[zbus(property(emits_changed_signal = "false"))]
    async fn cached_tokens_in(&self) -> u64 {
        self.view()
            .await
            .map_or(0, |s| s.traffic.cached_input_tokens)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn cache_write_tokens_in(&self) -> u64 {
        self.view()
            .await
            .map_or(0, |s| s.traffic.cache_write_input_tokens)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn cost_pico_usd(&self) -> u64 {
        self.view()
            .await
            .map_or(0, |s| s.traffic.cost.usd.pico_usd())
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn priced_requests(&self) -> u64 {
        self.view()
            .await
            .map_or(0, |s| s.traffic.cost.priced_requests)
    }

    #[zbus(signal)]
    pub async fn exited(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        exit_code: i32,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn stalled(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        idle_secs: u64,
    ) -> zbus::Result<()>;
}
