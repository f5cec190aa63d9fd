//! `cli` sessions in a real terminal emulator: the daemon finds one on `PATH`
//! (`x-terminal-emulator`, here Debian's xterm) and runs Codex in it on a virtual X display
//! (Xvfb); Codex gets a real tty. A stand-in script plays Codex.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use codex_launcher_dbus::{Backend, EndpointSpec, ManagerProxy, SessionProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{Xvfb, alive, scratch_dir, stub};

async fn wait_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cli_session_runs_codex_in_a_real_terminal_and_stops_with_it() {
    let display = Xvfb::start("800x600x24");
    let dir = scratch_dir("terminal");
    let script = stub(
        dir.path(),
        "codex",
        "#!/bin/sh\n\
         { tty; echo \"TERM=$TERM\"; printf '%s\\n' \"$@\"; } > \"$0.seen.tmp\"\n\
         mv \"$0.seen.tmp\" \"$0.seen\"\n\
         if [ -e \"$0.hold\" ]; then echo $$ > \"$0.pid\"; exec sleep 300; fi\n\
         exit 0\n",
    );
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            ("CODEX_BIN", script.to_str().expect("utf-8")),
            ("DISPLAY", &display.display),
        ],
    );
    daemon.wait_notify("READY=1");
    let conn = bus.connect().await;
    let m = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("manager");
    let spec = EndpointSpec {
        name: "Terminal Mock".into(),
        backend: Backend::OpenaiCompat,
        base_url: "http://127.0.0.1:9/v1".into(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    };
    let id = m.add_endpoint(spec, "").await.expect("add");
    let options: HashMap<String, String> = [
        ("workdir", dir.path().to_str().expect("utf-8")),
        ("prompt", "hello from the terminal test"),
        ("grace_ms", "2000"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();

    // 1. Codex runs in the terminal, with a tty, and its end ends the session.
    let path = m
        .launch(&id, "", "cli", options.clone())
        .await
        .expect("launch cli");
    let s = SessionProxy::builder(&conn)
        .path(path.clone())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("session");
    let seen = wait_file(&dir.path().join("codex.seen")).await;
    assert!(
        seen.starts_with("/dev/pts/"),
        "Codex has a real tty: {seen}"
    );
    assert!(seen.contains("TERM=xterm"), "{seen}");
    assert!(
        seen.contains("model_provider=") && seen.contains("hello from the terminal test"),
        "the session's overrides and prompt: {seen}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.state().await.expect("state") != "exited" {
        assert!(
            Instant::now() < deadline,
            "the terminal did not close\n{}",
            daemon.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.exit_code().await.expect("exit"), 0);

    // 2. Stop closes the terminal, and Codex in it goes too.
    std::fs::remove_file(dir.path().join("codex.seen")).expect("reset");
    std::fs::write(dir.path().join("codex.hold"), "").expect("hold");
    let path = m.launch(&id, "", "cli", options).await.expect("launch cli");
    let s = SessionProxy::builder(&conn)
        .path(path.clone())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("session");
    let codex_pid: u32 = wait_file(&dir.path().join("codex.pid"))
        .await
        .trim()
        .parse()
        .expect("pid");
    let terminal_pid = s.pid().await.expect("pid");
    assert!(alive(codex_pid) && alive(terminal_pid));
    s.stop().await.expect("stop");
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.state().await.expect("state") != "exited" || alive(codex_pid) {
        assert!(
            Instant::now() < deadline,
            "still running after Stop\n{}",
            daemon.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(terminal_pid));
}
