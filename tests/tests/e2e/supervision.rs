//! Supervision beyond `Launch`: `codexctl run` (the real Codex in the caller's terminal,
//! supervised by pid), stall reports, and Kill & Cleanup of what earlier sessions left.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codex_launcher_dbus::{Backend, EndpointSpec, ManagerProxy, SessionProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{alive, codex_bin, scratch_dir, stub, workspace_bin};
use codex_launcher_mock_upstream::{Flavor, MockConfig, MockUpstream, Reply};
use futures::StreamExt;

async fn session(conn: &zbus::Connection, path: &str) -> SessionProxy<'static> {
    SessionProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("session proxy")
}

async fn add_endpoint(m: &ManagerProxy<'_>, url: &str, key: &str) -> String {
    let spec = EndpointSpec {
        name: "Supervision Mock".into(),
        backend: Backend::OpenaiCompat,
        base_url: url.into(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    };
    m.add_endpoint(spec, key).await.expect("add endpoint")
}

/// Wait (polling, with a deadline) until `f` holds.
async fn until(what: &str, timeout: Duration, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codexctl_run_runs_the_real_codex_here_supervised_with_its_exit_code() {
    let mock = MockUpstream::start(MockConfig {
        flavor: Flavor::OpenAi,
        api_key: Some("sk-test-run-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("RUN SESSION ANSWER"));

    let bus = PrivateBus::start(None, &[]);
    let codex = codex_bin();
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", codex.to_str().expect("utf-8 path"))],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, &mock.base_url(), "sk-test-run-key").await;
    let work = scratch_dir("run-work");
    let mut added = m.receive_session_added().await.expect("subscribe");

    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-e", id.as_str(), "--"];
        args.extend_from_slice(extra);
        let out = Command::new(workspace_bin("codexctl"))
            .args(&args)
            .current_dir(work.path())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::null())
            .output()
            .expect("run codexctl");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "Answer briefly.",
    ]);
    assert_eq!(
        code,
        Some(0),
        "stdout:\n{out}\nstderr:\n{err}\ndaemon:\n{}",
        daemon.stderr()
    );
    assert!(
        out.contains("RUN SESSION ANSWER"),
        "Codex wrote to our stdout: {out}\n{err}"
    );

    let signal = tokio::time::timeout(Duration::from_secs(10), added.next())
        .await
        .expect("SessionAdded")
        .expect("signal");
    let path = signal.args().expect("args").session().to_string();
    let s = session(&conn, &path).await;
    assert_eq!(s.mode().await.expect("mode"), "run");
    assert_eq!(s.endpoint().await.expect("endpoint"), id);
    until(
        "the run session to end",
        Duration::from_secs(30),
        async || s.state().await.expect("state") == "exited",
    )
    .await;
    assert_eq!(s.exit_code().await.expect("exit"), 0);
    // Its own token: exactly its own traffic.
    assert_eq!(s.requests().await.expect("requests"), 1);
    assert!(s.tokens_out().await.expect("out") > 0);
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer sk-test-run-key"))
    );
    assert!(
        !daemon.home.path().join(".codex/config.toml").exists(),
        "zero-touch: no config.toml written"
    );

    // Codex's exit code is ours: a usage error is 2, and the session records it.
    let (code, out, err) = run(&["exec", "--no-such-flag"]);
    assert_eq!(code, Some(2), "{out}{err}");
    let sessions = m.list_sessions().await.expect("list");
    let last = session(&conn, sessions.last().expect("a session").as_str()).await;
    until(
        "the failed run to end",
        Duration::from_secs(30),
        async || last.state().await.expect("state") == "exited",
    )
    .await;
    assert_eq!(last.exit_code().await.expect("exit"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_session_is_reported_stalled_and_active_again() {
    let dir = scratch_dir("stall");
    let wake = dir.path().join("codex.fifo");
    let made = Command::new("mkfifo").arg(&wake).status().expect("mkfifo");
    assert!(made.success());
    // No CPU (blocked on the fifo), no traffic, until the test writes to it; then busy
    // (CPU time moves).
    let body = "#!/bin/sh\nread _ < \"$0.fifo\"\nwhile :; do :; done\n".to_owned();
    let script = stub(dir.path(), "codex", &body);
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", script.to_str().expect("utf-8"))],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, "http://127.0.0.1:9/v1", "").await;
    let options: HashMap<String, String> = [
        ("prompt", "hello"),
        ("workdir", dir.path().to_str().expect("utf-8")),
        ("stall_secs", "1"),
        ("grace_ms", "200"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let path = m.launch(&id, "", "exec", options).await.expect("launch");
    let s = session(&conn, path.as_str()).await;
    let mut stalled = s.receive_stalled().await.expect("subscribe");
    let signal = tokio::time::timeout(Duration::from_secs(60), stalled.next())
        .await
        .unwrap_or_else(|_| panic!("no Stalled within 60 s\n{}", daemon.stderr()))
        .expect("signal");
    assert!(*signal.args().expect("args").idle_secs() >= 1);
    assert_eq!(s.state().await.expect("state"), "stalled");

    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .open(&wake)
        .expect("open the fifo");
    std::io::Write::write_all(&mut fifo, b"go\n").expect("wake");
    drop(fifo);
    until(
        "the session to be active again",
        Duration::from_secs(30),
        async || s.state().await.expect("state") == "running",
    )
    .await;
    assert!(
        daemon.stderr().contains("session stalled"),
        "{}",
        daemon.stderr()
    );
    s.stop().await.expect("stop");
    until("the session to end", Duration::from_secs(30), async || {
        s.state().await.expect("state") == "exited"
    })
    .await;
}

/// A Codex Desktop stand-in: the main process starts a "renderer" in a session of its own
/// (as Electron helpers can outlive their parent) and exits.
const DESKTOP: &str = "#!/bin/sh\n\
if [ \"$1\" = --type=renderer ]; then sleep 300; exit 0; fi\n\
setsid \"$0\" --type=renderer > /dev/null 2>&1 < /dev/null &\n\
echo $! > \"$0.renderer\"\n\
exit 0\n";

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_stops_and_removes_only_what_earlier_sessions_left() {
    let dir = scratch_dir("cleanup");
    let desktop = stub(dir.path(), "codex-desktop", DESKTOP);
    let live_codex = stub(dir.path(), "codex", "#!/bin/sh\nsleep 300\n");
    let data = dir.path().join("CodexData");
    std::fs::create_dir(&data).expect("data dir");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    std::os::unix::fs::symlink(
        format!("{}-999999999", hostname.trim()),
        data.join("SingletonLock"),
    )
    .expect("lock");
    std::os::unix::fs::symlink("/tmp/nowhere/SingletonSocket", data.join("SingletonSocket"))
        .expect("socket");

    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            (
                "CODEX_LAUNCHER_DESKTOP_CMD",
                desktop.to_str().expect("utf-8"),
            ),
            ("CODEX_BIN", live_codex.to_str().expect("utf-8")),
            ("CODEX_LAUNCHER_DESKTOP_DATA", data.to_str().expect("utf-8")),
        ],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, "http://127.0.0.1:9/v1", "").await;

    // A Desktop session whose renderer outlives it.
    let path = m
        .launch(&id, "", "desktop", HashMap::new())
        .await
        .expect("launch desktop");
    let s = session(&conn, path.as_str()).await;
    until(
        "the desktop session to end",
        Duration::from_secs(30),
        async || s.state().await.expect("state") == "exited",
    )
    .await;
    let renderer_file = dir.path().join("codex-desktop.renderer");
    let renderer: u32 = std::fs::read_to_string(&renderer_file)
        .expect("renderer pid")
        .trim()
        .parse()
        .expect("pid");
    assert!(alive(renderer));

    // A live session: spared.
    let options: HashMap<String, String> = [
        ("prompt", "x"),
        ("workdir", dir.path().to_str().expect("utf-8")),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let live = m.launch(&id, "", "exec", options).await.expect("launch");
    let live_pid = session(&conn, live.as_str())
        .await
        .pid()
        .await
        .expect("pid");

    // What a crashed daemon run left: a session still running (its own group) and the pid
    // file of one that is gone. An unrelated process of the same user: never touched.
    let mut orphan = Command::new("/bin/sleep");
    std::os::unix::process::CommandExt::process_group(&mut orphan, 0);
    let mut orphan = orphan.arg("300").spawn().expect("orphan");
    let mut unrelated = Command::new("/bin/sleep")
        .arg("301")
        .spawn()
        .expect("unrelated");
    let pids = daemon
        .home
        .path()
        .join(".local/state/codex-launcher/sessions/pids");
    std::fs::create_dir_all(&pids).expect("pid dir");
    std::fs::write(
        pids.join("1000-1.pid"),
        format!(
            "{} {}\n",
            orphan.id(),
            codex_launcher_engine::procfs::read(orphan.id())
                .expect("orphan in /proc")
                .start_time
        ),
    )
    .expect("pid file");
    std::fs::write(pids.join("1000-2.pid"), "999999999 1\n").expect("dead pid file");

    let mut listed = m.cleanup(true).await.expect("dry run");
    listed.sort_by(|a, b| a.path.cmp(&b.path).then(a.pid.cmp(&b.pid)));
    let summary: Vec<(String, u32, String)> = listed
        .iter()
        .map(|i| (i.kind.to_string(), i.pid, i.action.to_string()))
        .collect();
    assert!(listed.iter().all(|i| i.action == "found"), "{listed:#?}");
    for want in [
        ("process", renderer),
        ("process", orphan.id()),
        ("pid-file", 0),
        ("socket", 0),
    ] {
        assert!(
            summary.iter().any(|(k, p, _)| k == want.0 && *p == want.1),
            "{want:?} missing in {listed:#?}"
        );
    }
    assert_eq!(
        listed.iter().filter(|i| i.kind == "pid-file").count(),
        3,
        "two pid files and the singleton lock: {listed:#?}"
    );
    assert!(
        !summary
            .iter()
            .any(|(_, p, _)| *p == live_pid || *p == unrelated.id())
    );
    assert!(alive(renderer), "a dry run changes nothing");

    let out = Command::new(workspace_bin("codexctl"))
        .args(["cleanup", "--json"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("codexctl cleanup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let actions: Vec<&str> = done
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|i| i["action"].as_str())
        .collect();
    assert!(
        actions
            .iter()
            .all(|a| ["terminated", "killed", "removed"].contains(a)),
        "{stdout}"
    );
    until(
        "the renderer to be gone",
        Duration::from_secs(10),
        async || !alive(renderer),
    )
    .await;
    assert!(orphan.wait().expect("orphan").code().is_none(), "signalled");
    assert!(
        !data.join("SingletonLock").exists()
            && std::fs::read_dir(&pids)
                .expect("dir")
                .next()
                .is_none_or(|e| {
                    // This run's own pid files (the live session's) stay.
                    e.expect("entry").file_name().to_string_lossy() != "1000-1.pid"
                })
    );
    assert!(!pids.join("1000-1.pid").exists() && !pids.join("1000-2.pid").exists());
    assert!(alive(live_pid), "the live session is spared");
    assert_eq!(unrelated.try_wait().expect("unrelated"), None, "left alone");
    unrelated.kill().expect("kill");
    let _ = unrelated.wait();

    let again = Command::new(workspace_bin("codexctl"))
        .args(["cleanup"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("codexctl cleanup");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to clean up"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    session(&conn, live.as_str())
        .await
        .stop()
        .await
        .expect("stop");
}
