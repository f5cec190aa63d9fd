//! Finding the session bus and the daemon's manager object on it.

use std::path::PathBuf;

use codex_launcher_dbus::ManagerProxy;

use crate::error::{CliError, Kind, Result};

/// The session bus address: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` when that
/// socket exists. `None` with a message saying why there is none.
pub fn session_address() -> std::result::Result<String, String> {
    if let Some(addr) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|a| !a.is_empty()) {
        return Ok(addr.to_string_lossy().into_owned());
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    if let Some(dir) = runtime {
        let socket = PathBuf::from(dir).join("bus");
        if socket.exists() {
            return Ok(format!("unix:path={}", socket.display()));
        }
        return Err(format!(
            "no session D-Bus: DBUS_SESSION_BUS_ADDRESS is unset and {} does not exist. \
             Log in through a desktop or `ssh` session with a systemd user manager \
             (`loginctl enable-linger $USER` keeps one running), or run codexctl inside \
             `dbus-run-session -- sh` together with codex-launcherd",
            socket.display()
        ));
    }
    Err(
        "no session D-Bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set \
         (this happens under `su`/`sudo` or in a bare container). Use a login session of the \
         user who runs codex-launcherd, or start one with `dbus-run-session -- sh`"
            .to_owned(),
    )
}

/// A connection to the session bus.
pub async fn connect() -> Result<zbus::Connection> {
    let address = session_address().map_err(|m| CliError::new(Kind::Unreachable, m))?;
    let builder = zbus::connection::Builder::address(address.as_str());
    builder.build().await.map_err(|e| {
        CliError::new(
            Kind::Unreachable,
            format!("cannot connect to the session bus at `{address}`: {e}"),
        )
    })
}

/// The daemon's manager, uncached: every property read asks the daemon, so a read right
/// after a change sees it.
pub async fn manager(conn: &zbus::Connection) -> Result<ManagerProxy<'static>> {
    Ok(ManagerProxy::builder(conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?)
}
