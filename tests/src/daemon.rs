//! A private session bus and a `codex-launcherd` on it, for end-to-end tests.
//!
//! - [`PrivateBus`]: a real `dbus-daemon` with its own config (optionally a service directory
//!   for D-Bus activation), killed on drop.
//! - [`DaemonProcess`]: `codex-launcherd` with a scratch `$HOME`, on that bus, with a
//!   `NOTIFY_SOCKET` the test owns, so readiness is observed the way systemd observes it.
//!   Optionally started through `systemd-socket-activate` (real `LISTEN_FDS`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{scratch_dir, workspace_bin};

/// A `dbus-daemon` of our own.
pub struct PrivateBus {
    child: Child,
    /// `unix:path=…` address.
    pub address: String,
    dir: tempfile::TempDir,
}

impl PrivateBus {
    /// Start a bus; `service_dir` enables activation of the services described there;
    /// `env` is passed to the bus (and so to activated services).
    pub fn start(service_dir: Option<&Path>, env: &[(&str, String)]) -> PrivateBus {
        let dir = scratch_dir("bus");
        let socket = dir.path().join("bus.sock");
        let servicedir = service_dir
            .map(|d| format!("<servicedir>{}</servicedir>", d.display()))
            .unwrap_or_default();
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  {servicedir}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#,
            socket.display()
        );
        let cfg = dir.path().join("bus.conf");
        std::fs::write(&cfg, config).expect("write bus config");
        let mut cmd = Command::new("dbus-daemon");
        cmd.arg(format!("--config-file={}", cfg.display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn dbus-daemon (apt install dbus)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("bus address");
        PrivateBus {
            child,
            address: line.trim().to_owned(),
            dir,
        }
    }

    /// A connection to this bus.
    pub async fn connect(&self) -> zbus::Connection {
        zbus::connection::Builder::address(self.address.as_str())
            .build()
            .await
            .expect("connect to the private bus")
    }

    /// A connection and the daemon's `Manager` on it, uncached: a cached property is updated
    /// by the change signal asynchronously, so a read right after a method call could see
    /// the old value.
    pub async fn manager(&self) -> (zbus::Connection, codex_launcher_dbus::ManagerProxy<'static>) {
        let conn = self.connect().await;
        let proxy = codex_launcher_dbus::ManagerProxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .expect("manager proxy");
        (conn, proxy)
    }

    /// Scratch directory of the bus.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the daemon gets its proxy socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// It binds 127.0.0.1:0 itself.
    Own,
    /// `systemd-socket-activate` binds this port and passes the socket.
    SocketActivated(u16),
}

/// The environment the harness gives the daemon.
const PASSED_ENV: [&str; 6] = [
    "PATH",
    "HOME",
    "DBUS_SESSION_BUS_ADDRESS",
    "NOTIFY_SOCKET",
    "CODEX_LAUNCHER_LISTEN",
    "RUST_LOG",
];

/// `codex-launcherd` on a private bus.
pub struct DaemonProcess {
    child: Child,
    notify: UnixDatagram,
    /// Its `$HOME`.
    pub home: tempfile::TempDir,
    stderr: PathBuf,
    _notify_dir: tempfile::TempDir,
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A loopback port that refuses connections for as long as the returned socket lives: it is
/// bound but never listens, so a connect gets a reset, and no other server (another test's
/// mock binding port 0) can be given the port meanwhile, as one from [`free_port`] can.
pub fn refused_port() -> (u16, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let port = socket.local_addr().expect("addr").port();
    (port, socket)
}

impl DaemonProcess {
    /// Start on `bus`, with a fresh home.
    pub fn start(bus: &PrivateBus, listen: Listen) -> DaemonProcess {
        Self::start_in(bus, listen, scratch_dir("daemon-home"))
    }

    /// Start on `bus`, with a fresh home and extra environment variables (`CODEX_BIN`, …).
    /// With [`Listen::SocketActivated`] they are not passed on.
    pub fn start_with_env(bus: &PrivateBus, listen: Listen, env: &[(&str, &str)]) -> DaemonProcess {
        Self::start_full(bus, listen, scratch_dir("daemon-home"), env)
    }

    /// Start on `bus` with a given home (to restart on the same data).
    pub fn start_in(bus: &PrivateBus, listen: Listen, home: tempfile::TempDir) -> DaemonProcess {
        Self::start_full(bus, listen, home, &[])
    }

    /// Start on `bus` with a given home and extra environment variables (to restart on the
    /// same data with the same stand-ins).
    pub fn start_full(
        bus: &PrivateBus,
        listen: Listen,
        home: tempfile::TempDir,
        env: &[(&str, &str)],
    ) -> DaemonProcess {
        let notify_dir = scratch_dir("notify");
        let notify_path = notify_dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
        notify
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let stderr = home.path().join("daemon.stderr");
        let bin = workspace_bin("codex-launcherd");
        let mut cmd = match listen {
            Listen::Own => Command::new(&bin),
            Listen::SocketActivated(port) => {
                // systemd-socket-activate hands the service only the variables named with
                // `-E` (plus LISTEN_*), like systemd does for a unit's environment.
                let mut c = Command::new("systemd-socket-activate");
                c.arg("-l").arg(format!("127.0.0.1:{port}"));
                for var in PASSED_ENV {
                    c.arg("-E").arg(var);
                }
                c.arg(&bin);
                c
            }
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("NOTIFY_SOCKET", &notify_path)
            .env("CODEX_LAUNCHER_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info,codex_launcher_proxy=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn codex-launcherd");
        if matches!(listen, Listen::SocketActivated(_)) {
            // The socket exists once systemd-socket-activate says so; connecting earlier
            // would be refused rather than queued.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !std::fs::read_to_string(&stderr)
                .unwrap_or_default()
                .contains("Listening on")
            {
                assert!(
                    Instant::now() < deadline,
                    "systemd-socket-activate did not listen"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        DaemonProcess {
            child,
            notify,
            home,
            stderr,
            _notify_dir: notify_dir,
        }
    }

    /// Wait for the next sd_notify datagram containing `what` (e.g. `READY=1`); returns it.
    pub fn wait_notify(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buf = vec![0u8; 4096];
        while Instant::now() < deadline {
            match self.notify.recv(&mut buf) {
                Ok(n) => {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if msg.lines().any(|l| l == what) {
                        return msg;
                    }
                }
                Err(e) => panic!(
                    "no `{what}` from the daemon ({e}); stderr:\n{}",
                    self.stderr()
                ),
            }
        }
        panic!(
            "no `{what}` from the daemon within 30 s; stderr:\n{}",
            self.stderr()
        )
    }

    /// PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send a signal by name (`TERM`, `HUP`, `KILL`).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// Wait for exit; the exit code.
    pub fn wait(&mut self) -> Option<i32> {
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// What it logged.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Kill it with SIGKILL (a crash: nothing is cleaned up) and hand back its home.
    pub fn crash(mut self) -> tempfile::TempDir {
        self.signal("KILL");
        let _ = self.child.wait();
        let home = scratch_dir("unused");
        std::mem::replace(&mut self.home, home)
    }

    /// Stop it and hand back its home (to start again on the same data).
    pub fn stop(mut self) -> tempfile::TempDir {
        self.signal("TERM");
        let _ = self.child.wait();
        let home = scratch_dir("unused");
        std::mem::replace(&mut self.home, home)
    }

    /// The per-install proxy access token.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.home.path().join(".local/state/codex-launcher/token"))
            .expect("token file")
            .trim()
            .to_owned()
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// gnome-keyring's Secret Service on `bus`, unlocked with a throwaway password; killed on drop.
pub struct Keyring {
    child: std::process::Child,
    /// The keyring's home, removed after the daemon is killed.
    _home: tempfile::TempDir,
}

impl Keyring {
    /// Start it on `bus` (its login keyring created and unlocked).
    pub async fn start(bus: &PrivateBus) -> Keyring {
        Keyring::spawn(bus, Some(PASSWORD)).await
    }

    /// Start it with no keyring at all, as on a headless session where nothing ever made
    /// one (the default alias is `/`).
    pub async fn start_empty(bus: &PrivateBus) -> Keyring {
        Keyring::spawn(bus, None).await
    }

    async fn spawn(bus: &PrivateBus, password: Option<&str>) -> Keyring {
        let dir = scratch_dir("keyring");
        let runtime = dir.path().join("rt");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let conn = bus.connect().await;
        let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("dbus proxy");
        let name = zbus::names::BusName::try_from("org.freedesktop.secrets").expect("name");
        // A keyring stopped just before lets its name go once the bus sees it disconnect.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while dbus.name_has_owner(name.clone()).await.unwrap_or(false) {
            assert!(
                std::time::Instant::now() < deadline,
                "an earlier Secret Service kept its name"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut args = vec!["--components=secrets", "--foreground"];
        if password.is_some() {
            args.insert(0, "--unlock");
        }
        let mut child = std::process::Command::new("gnome-keyring-daemon")
            .args(&args)
            .env_clear()
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (apt install gnome-keyring)");
        if let Some(password) = password {
            // The password creates and unlocks the login keyring, the default collection.
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(password.as_bytes()).expect("password");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !dbus.name_has_owner(name.clone()).await.unwrap_or(false) {
            assert!(
                std::time::Instant::now() < deadline,
                "the Secret Service did not appear"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Keyring { child, _home: dir }
    }

    /// Lock the login keyring (no prompt is needed to lock).
    pub async fn lock(&self, bus: &PrivateBus) {
        let conn = bus.connect().await;
        let service = secret_service(&conn).await;
        let login = zbus::OwnedObjectPath::try_from(LOGIN).expect("path");
        let (_locked, prompt): (Vec<zbus::OwnedObjectPath>, zbus::OwnedObjectPath) =
            service.call("Lock", &(vec![login],)).await.expect("Lock");
        assert_eq!(prompt.as_str(), "/", "locking asked for a prompt");
    }

    /// Unlock it with its password, as the user's unlock prompt would (gnome-keyring's own
    /// interface: the Secret Service's `Unlock` needs a prompt, which no test can answer).
    pub async fn unlock(&self, bus: &PrivateBus) {
        let conn = bus.connect().await;
        let service = secret_service(&conn).await;
        let (_, session): (zbus::OwnedVariant, zbus::OwnedObjectPath) = service
            .call("OpenSession", &("plain", zbus::Variant::from("")))
            .await
            .expect("OpenSession");
        let internal = zbus::Proxy::new(
            &conn,
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
        )
        .await
        .expect("gnome-keyring interface");
        let login = zbus::OwnedObjectPath::try_from(LOGIN).expect("path");
        let secret = (
            session,
            Vec::<u8>::new(),
            PASSWORD.as_bytes().to_vec(),
            "text/plain".to_owned(),
        );
        let () = internal
            .call("UnlockWithMasterPassword", &(login, secret))
            .await
            .expect("UnlockWithMasterPassword");
    }
}

/// gnome-keyring's login collection, the default one.
const LOGIN: &str = "/org/freedesktop/secrets/collection/login";
/// The throwaway password the login keyring is created with.
const PASSWORD: &str = "e2e-keyring-password";

async fn secret_service(conn: &zbus::Connection) -> zbus::Proxy<'static> {
    zbus::Proxy::new(
        conn,
        "org.freedesktop.secrets",
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service",
    )
    .await
    .expect("Secret Service")
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
