//! The panel end to end: the real `codex-launcher-gtk` against a real daemon on a private
//! bus, with a mock provider, on its own Xvfb, driven over AT-SPI by `tests/gtk/drive.py`
//! (the system python with gi's Atspi) the way a user would: an endpoint added from the
//! DeepSeek preset and pointed at the mock, a fetch with a wrong key refused (the daemon's
//! error shown inline), its models fetched with the right one, two extra headers added (one
//! secret by its name), saved; where keys live read
//! in the manager, and a fallback group made there with that endpoint as its member; a CLI
//! session launched, seen running and seen ending; then Kill & Cleanup, confirmed, and its toast.
//! Then the daemon is asked what really happened.
//!
//! Screenshots of the endpoint dialog and the main window are left in
//! `target/test-artifacts/gtk/` (the README's are copies of them, in `docs/screenshots/`).
//!
//! Needs Xvfb, ImageMagick's `import`, at-spi2-core and python3-gi with gir1.2-atspi-2.0
//! (scripts/install-test-deps.sh installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use codex_launcher_dbus::{ManagerProxy, SessionProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{Xvfb, scratch_dir, workspace_bin};
use codex_launcher_mock_upstream::{MockConfig, MockUpstream};

const KEY: &str = "sk-test-gtk-e2e-key";

/// A stand-in Codex: runs until the test (the driver) creates `<itself>.go`, then exits 0.
/// The daemon starts it as `TERMINAL CODEX -c … -C DIR` with `env` for the terminal.
const CODEX_STUB: &str = "#!/bin/sh\n\
[ \"$1\" = --version ] && { echo 'codex-cli 0.171.0'; exit 0; }\n\
while [ ! -e \"$0.go\" ]; do sleep 0.1; done\n\
exit 0\n";

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/test-artifacts/gtk` (next to the profile directory the tests run from).
fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("test-artifacts/gtk")
}

/// A service directory with only the accessibility bus in it, so that on our private bus
/// the panel (GTK starts its AT-SPI bridge) and the driver find the same a11y bus.
fn a11y_service_dir() -> tempfile::TempDir {
    let dir = scratch_dir("a11y-services");
    let file = "org.a11y.Bus.service";
    std::fs::copy(
        Path::new("/usr/share/dbus-1/services").join(file),
        dir.path().join(file),
    )
    .expect("org.a11y.Bus.service (apt install at-spi2-core)");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn the_panel_adds_an_endpoint_fetches_models_and_runs_a_session() {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock provider");
    let x = Xvfb::start("1280x900x24");
    let services = a11y_service_dir();
    let bus = PrivateBus::start(Some(services.path()), &[("DISPLAY", x.display.clone())]);

    let stubs = scratch_dir("gtk-stub");
    let codex = stubs.path().join("codex");
    std::fs::write(&codex, CODEX_STUB).expect("stub");
    std::fs::set_permissions(&codex, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            ("CODEX_BIN", codex.to_str().expect("utf-8")),
            ("CODEX_LAUNCHER_TERMINAL", "env"),
        ],
    );
    daemon.wait_notify("READY=1");

    let home = scratch_dir("gtk-home");
    let panel_log = home.path().join("panel.stderr");
    let panel = Killed(
        Command::new(workspace_bin("codex-launcher-gtk"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("DISPLAY", &x.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("GDK_BACKEND", "x11")
            // No GL under Xvfb; no dconf or portal on the private bus.
            .env("GSK_RENDERER", "cairo")
            .env("GSETTINGS_BACKEND", "memory")
            .env("ADW_DISABLE_PORTAL", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&panel_log).expect("panel log"))
            .spawn()
            .expect("spawn codex-launcher-gtk"),
    );

    let artifacts = artifacts_dir();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("gtk/drive.py");
    let go_file = format!("{}.go", codex.display());
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(&driver)
        .arg("--mock-url")
        .arg(mock.base_url())
        .arg("--api-key")
        .arg(KEY)
        .arg("--go-file")
        .arg(&go_file)
        .arg("--artifacts")
        .arg(&artifacts)
        .args([
            "--expect-model",
            "mock-model",
            "--expect-model",
            "mock-model-large",
        ])
        .env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("PYTHONWARNINGS", "ignore::DeprecationWarning");
    // The driver bounds every wait itself (and the whole run with an alarm).
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run tests/gtk/drive.py (apt install python3-gi gir1.2-atspi-2.0)");
    let steps = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the driver failed:\n{steps}\n{}\npanel:\n{}\ndaemon:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&panel_log).unwrap_or_default(),
        daemon.stderr()
    );
    assert!(steps.contains("step: done"), "{steps}");
    assert!(
        steps.contains("step: inline: Fetch failed: Upstream: "),
        "a refused key is an Upstream error, shown as the daemon named it: {steps}"
    );
    assert!(
        steps.contains("step: cleanup: "),
        "Kill & Cleanup reported: {steps}"
    );

    // What the daemon says happened.
    let conn = bus.connect().await;
    let m = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("manager");
    let endpoints = m.list_endpoints().await.expect("endpoints");
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    let e = &endpoints[0];
    assert_eq!(e.id, "deepseek");
    assert_eq!(e.spec.preset, "deepseek", "made from the preset");
    assert_eq!(e.spec.base_url, mock.base_url());
    assert!(e.has_key, "the key typed in the panel was stored");
    let headers: Vec<(&str, &str)> = e
        .spec
        .extra_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        [("X-Title", "codex"), ("X-Api-Key", "***")],
        "SetHeader per header added in the panel, the credential-named one secret"
    );
    let ids: Vec<&str> = e.spec.models.iter().map(|m| m.id.as_str()).collect();
    for fetched in ["mock-model", "mock-model-large"] {
        assert!(ids.contains(&fetched), "{ids:?}");
    }
    assert!(
        mock.requests()
            .iter()
            .any(|r| r.method == "GET"
                && r.header("authorization") == Some(&format!("Bearer {KEY}"))),
        "the models were fetched from the mock with the key: {:?}",
        mock.requests()
            .iter()
            .map(|r| (&r.method, &r.path))
            .collect::<Vec<_>>()
    );

    assert!(
        steps.contains("step: key storage: "),
        "the manager says where keys live: {steps}"
    );
    let groups = m.list_groups().await.expect("groups");
    assert_eq!(groups.len(), 1, "the group made in the panel: {groups:?}");
    assert_eq!(groups[0].id, "plan-first");
    let members: Vec<(&str, &str)> = groups[0]
        .members
        .iter()
        .map(|m| (m.endpoint.as_str(), m.model.as_str()))
        .collect();
    assert_eq!(members, [("deepseek", "")], "one member, its default model");

    let sessions = m.list_sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let s = SessionProxy::builder(&conn)
        .path(sessions[0].clone())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("session");
    assert_eq!(s.mode().await.expect("mode"), "cli");
    assert_eq!(s.endpoint().await.expect("endpoint"), "deepseek");
    assert_eq!(s.state().await.expect("state"), "exited");
    assert_eq!(s.exit_code().await.expect("exit code"), 0);

    for shot in [
        "endpoint-preset.png",
        "endpoint-dialog.png",
        "main-window.png",
        "main-window-exited.png",
    ] {
        let len = std::fs::metadata(artifacts.join(shot)).map_or(0, |m| m.len());
        assert!(len > 1000, "screenshot {shot}: {len} bytes");
    }
    drop(panel);
    drop(daemon);
}
