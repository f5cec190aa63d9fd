//! The state owner's events as D-Bus signals and property changes, in the order they were
//! published. Best effort, like every change signal: a client that missed one reads the
//! properties.

use codex_launcher_dbus::OBJECT_PATH;
use codex_launcher_state::{Event, Handle};
use tokio::sync::broadcast::error::RecvError;

use crate::convert;
use crate::manager::Manager;
use crate::session::{self, SessionObject};

/// Announce events until the owner stops.
pub async fn run(
    conn: zbus::Connection,
    handle: Handle,
    mut events: tokio::sync::broadcast::Receiver<Event>,
) {
    loop {
        match events.recv().await {
            Ok(event) => announce(&conn, &handle, event).await,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "fell behind the daemon's events; serving every session again"
                );
                if let Ok(sessions) = handle.sessions().await {
                    for s in sessions {
                        let _ = session::export(&conn, &handle, s.id).await;
                    }
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

async fn announce(conn: &zbus::Connection, handle: &Handle, event: Event) {
    match event {
        Event::SessionAdded(id) => {
            if let Ok(path) = session::export(conn, handle, id).await
                && let Ok(manager) = manager(conn).await
            {
                let _ = Manager::session_added(manager.signal_emitter(), path.as_ref()).await;
            }
        }
        Event::SessionChanged(id) | Event::SessionActive(id) => {
            if let Some(s) = session_object(conn, handle, id).await {
                let emitter = s.signal_emitter();
                let object = s.get().await;
                let _ = object.state_changed(emitter).await;
                let _ = object.pid_changed(emitter).await;
            }
        }
        Event::SessionStalled { id, idle } => {
            if let Some(s) = session_object(conn, handle, id).await {
                let emitter = s.signal_emitter();
                let _ = SessionObject::stalled(emitter, idle.as_secs()).await;
                let _ = s.get().await.state_changed(emitter).await;
            }
        }
        Event::SessionExited { id, code } => {
            if let Some(s) = session_object(conn, handle, id).await {
                let emitter = s.signal_emitter();
                {
                    let object = s.get().await;
                    let _ = object.state_changed(emitter).await;
                    let _ = object.exit_code_changed(emitter).await;
                }
                let _ = SessionObject::exited(emitter, code).await;
            }
        }
        Event::SessionRemoved(id) => {
            if let Ok(path) = convert::session_path(id) {
                let _ = conn.object_server().remove::<SessionObject, _>(&path).await;
            }
        }
        Event::ConfigMerged(m) => {
            if let Ok(manager) = manager(conn).await {
                let aside = m.aside.map(|a| a.display().to_string()).unwrap_or_default();
                let _ = Manager::config_merged(
                    manager.signal_emitter(),
                    &m.path.display().to_string(),
                    &aside,
                    &m.message,
                )
                .await;
            }
        }
        Event::EndpointsChanged => {
            if let Ok(manager) = manager(conn).await {
                let emitter = manager.signal_emitter();
                let object = manager.get().await;
                let _ = object.endpoint_ids_changed(emitter).await;
                let _ = object.default_endpoint_changed(emitter).await;
                let _ = object.group_ids_changed(emitter).await;
            }
        }
        Event::KeyStorageChanged(_) => {
            if let Ok(manager) = manager(conn).await {
                let _ = manager
                    .get()
                    .await
                    .key_storage_changed(manager.signal_emitter())
                    .await;
            }
        }
        // ---- turns (issue 18) ----
        Event::TurnRecorded { id, failed, .. } => {
            if let Ok(manager) = manager(conn).await {
                let _ = Manager::turn_recorded(manager.signal_emitter(), id, failed).await;
            }
        }
    }
}

async fn manager(
    conn: &zbus::Connection,
) -> zbus::Result<zbus::object_server::InterfaceRef<Manager>> {
    conn.object_server().interface(OBJECT_PATH).await
}

/// A session's object, served first if it is not yet (an event can beat the method that
/// serves it).
async fn session_object(
    conn: &zbus::Connection,
    handle: &Handle,
    id: u64,
) -> Option<zbus::object_server::InterfaceRef<SessionObject>> {
    let path = session::export(conn, handle, id).await.ok()?;
    match conn.object_server().interface(&path).await {
        Ok(iface) => Some(iface),
        Err(e) => {
            tracing::warn!(session = id, error = %e, "session has no object");
            None
        }
    }
}
