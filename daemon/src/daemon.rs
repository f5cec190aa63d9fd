//! `codex-launcherd` without a subcommand: the user daemon.
//!
//! Start-up order (readiness means all of it is done):
//! 1. the proxy listener: from systemd (`LISTEN_FDS`, `codex-launcherd.socket`) or bound on
//!    loopback ourselves (`CODEX_LAUNCHER_LISTEN`, default 127.0.0.1:47821);
//! 2. the per-install access token (0600 file in the state directory);
//! 3. the session bus, the keyring (Secret Service or the 0600 file), the endpoint store;
//! 4. a config.toml backup a crash left active restored ([`Backups::recover`]);
//! 5. the `Manager` object served and the bus name owned;
//! 6. the proxy serving; then `READY=1`.
//!
//! SIGTERM/SIGINT: `STOPPING=1`, stop the Codex sessions (SIGTERM, SIGKILL after 5 s), stop
//! accepting, let streams finish (≤ 30 s), exit 0.
//! SIGHUP: `RELOADING=1`, re-read endpoints.json and keys, `READY=1`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use codex_launcher_engine::atomic::write_atomic;
use codex_launcher_engine::keys::FileKeys;
use codex_launcher_engine::paths::Paths;
use codex_launcher_engine::stall;
use codex_launcher_proxy::config::DaemonSettings;
use codex_launcher_proxy::{ApiKey, ProxyState};
use codex_launcher_state::clock::SystemClock;
use codex_launcher_state::planning::{MAX_STALL_SECS, ProcessEnv};
use codex_launcher_state::{Deps, Handle, random_hex};
use tokio::signal::unix::{SignalKind, signal};

use crate::manager::Manager;
use crate::{announce, systemd};
use codex_launcher_keyring::KeyStore;

/// Port used when systemd passes no socket (the socket unit uses the same).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:47821";
/// Env var with the default stall time in seconds.
pub const STALL_ENV: &str = "CODEX_LAUNCHER_STALL_SECS";

/// Run the daemon until SIGTERM.
///
/// Two workers, unlike the standalone proxy (`standalone::runtime`): on one thread,
/// end-to-end runs under load hung the keyring tests (a D-Bus call to the daemon never
/// answered) and failed a fault test; until that is understood the daemon keeps the runtime
/// it was tested with.
pub fn run() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(main_loop())
}

async fn listener() -> anyhow::Result<tokio::net::TcpListener> {
    if let Some(std_listener) = systemd::inherited_listener().context("bad LISTEN_FDS")? {
        std_listener.set_nonblocking(true)?;
        tracing::info!("using the socket passed by systemd");
        return Ok(tokio::net::TcpListener::from_std(std_listener)?);
    }
    let addr: SocketAddr = std::env::var("CODEX_LAUNCHER_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_owned())
        .parse()
        .context("CODEX_LAUNCHER_LISTEN must be an address like 127.0.0.1:47821")?;
    if !addr.ip().is_loopback() {
        anyhow::bail!("refusing to serve the proxy on {addr}: not a loopback address");
    }
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// The token Codex sessions present to the proxy; created once per installation.
fn access_token(paths: &Paths) -> anyhow::Result<String> {
    let path = paths.state.join("token");
    if let Ok(t) = std::fs::read_to_string(&path)
        && t.trim().len() >= 32
    {
        return Ok(t.trim().to_owned());
    }
    let token = random_hex(32)?;
    write_atomic(&path, token.as_bytes(), None)?;
    Ok(token)
}

/// The daemon's stall time: [`STALL_ENV`], else the engine's default.
fn default_stall() -> Duration {
    std::env::var(STALL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=MAX_STALL_SECS).contains(s))
        .map_or(stall::DEFAULT_STALL, Duration::from_secs)
}

async fn status(handle: &Handle) -> String {
    handle.status_line().await.unwrap_or_default()
}

async fn main_loop() -> anyhow::Result<()> {
    // Handlers first: a signal sent the moment we report READY=1 (or during start-up) is
    // then queued for the loop below instead of killing us without a drain.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let paths = Paths::from_env().context("HOME is not set (or not absolute)")?;
    let listener = listener().await?;
    let addr = listener.local_addr()?;
    // The daemon's own settings: the proxy's tunables (a missing file is the defaults).
    let settings_file = paths.config.join("daemon.toml");
    let settings = DaemonSettings::load(&settings_file)?.tunables.settings();
    let proxy = Arc::new(ProxyState::new(settings)?);
    let token = access_token(&paths)?;
    proxy.set_access_token(ApiKey::new(token.clone()));

    let conn = zbus::Connection::session()
        .await
        .context("cannot connect to the session D-Bus")?;
    let (keys, why) = KeyStore::open(Some(&conn), FileKeys::new(&paths.keys_file())).await;
    tracing::info!("{why}");
    let monitor = keys.monitor();
    let started = codex_launcher_state::start(Deps {
        paths,
        proxy: proxy.clone(),
        proxy_addr: addr,
        token,
        keys: Box::new(keys),
        env: Arc::new(ProcessEnv),
        clock: Arc::new(SystemClock),
        stall: default_stall(),
    })
    .await?;
    if let Some(report) = &started.recovered {
        tracing::warn!(sessions = ?report.sessions, "after a crash: {report}");
    }
    let handle = started.handle;
    // A keyring locked or unlocked while we run: the owner reads the keys again.
    let keyring = monitor.map(|monitor| {
        let handle = handle.clone();
        tokio::spawn(monitor.run(move |state| {
            let handle = handle.clone();
            async move {
                tracing::info!(keys = %state, "the keyring was locked or unlocked");
                let _ = handle.keys_changed().await;
            }
        }))
    });
    let announcer = tokio::spawn(announce::run(
        conn.clone(),
        handle.clone(),
        handle.subscribe(),
    ));
    conn.object_server()
        .at(
            codex_launcher_dbus::OBJECT_PATH,
            Manager {
                handle: handle.clone(),
                proxy_addr: addr,
            },
        )
        .await
        .context("cannot export the manager object")?;
    conn.request_name(codex_launcher_dbus::BUS_NAME)
        .await
        .with_context(|| {
            format!(
                "cannot own {} (is another codex-launcherd running?)",
                codex_launcher_dbus::BUS_NAME
            )
        })?;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(codex_launcher_proxy::serve(
        listener,
        proxy.clone(),
        async {
            let _ = stop_rx.await;
        },
    ));
    let keys = handle
        .key_storage()
        .await
        .unwrap_or(codex_launcher_types::KeyStorage::File);
    tracing::info!(proxy = %addr, bus = codex_launcher_dbus::BUS_NAME, keys = %keys, "codex-launcherd ready");
    systemd::ready(&status(&handle).await);

    let watchdog = systemd::watchdog_interval();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut status_tick = tokio::time::interval(Duration::from_secs(10));
    let bus_gone = bus_gone(conn.clone());
    tokio::pin!(bus_gone);
    loop {
        tokio::select! {
            _ = &mut bus_gone => {
                // Nobody can reach us any more, and the user session this bus belonged to
                // is over (dbus-run-session, a logout without systemd): stop like on SIGTERM
                // rather than linger unreachable.
                tracing::warn!("the session bus connection closed or the name was taken over; stopping");
                break;
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                systemd::reloading();
                match handle.reload().await {
                    Ok(()) => tracing::info!("reloaded endpoints and keys"),
                    Err(e) => tracing::error!(error = %e, "reload failed; keeping the previous endpoints"),
                }
                systemd::ready(&status(&handle).await);
            }
            _ = watchdog_tick.tick(), if watchdog.is_some() => systemd::watchdog(),
            _ = status_tick.tick() => systemd::status(&status(&handle).await),
        }
    }
    systemd::stopping();
    // Sessions stopped (SIGTERM, SIGKILL after 5 s) and config.toml given back first: a
    // session cannot outlive its proxy anyway.
    handle.shutdown().await;
    let _ = started.task.await;
    announcer.abort();
    if let Some(k) = keyring {
        k.abort();
    }
    tracing::info!(
        active_streams = proxy.stats().snapshot().active_streams,
        "stopping; draining streams"
    );
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(joined) => joined
            .context("proxy task failed")?
            .context("proxy failed")?,
        Err(_) => tracing::warn!("drain timed out after 30 s"),
    }
    drop(conn);
    Ok(())
}

/// Resolves when the bus connection ends or our well-known name is lost.
async fn bus_gone(conn: zbus::Connection) {
    tokio::select! {
        () = conn.closed() => {}
        () = name_lost(&conn) => {}
    }
}

async fn name_lost(conn: &zbus::Connection) {
    use futures::StreamExt;
    let lost = match zbus::fdo::DBusProxy::new(conn).await {
        Ok(dbus) => dbus.receive_name_lost().await,
        Err(e) => Err(e),
    };
    let mut lost = match lost {
        Ok(stream) => stream,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch our bus name");
            return std::future::pending().await;
        }
    };
    while let Some(signal) = lost.next().await {
        if signal
            .args()
            .is_ok_and(|a| a.name().as_str() == codex_launcher_dbus::BUS_NAME)
        {
            return;
        }
    }
    // The stream ended: so did the connection, which `closed` reports.
    std::future::pending().await
}
