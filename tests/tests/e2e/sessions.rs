//! Sessions launched by a real daemon over a real private bus: `Manager.Launch` in the
//! headless `exec` mode with the real Codex CLI through the proxy to a mock upstream, and a
//! session that ignores SIGTERM, stopped with SIGKILL after its grace period.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use codex_launcher_dbus::{
    Backend, EndpointSpec, ManagerProxy, ModelPrices, SESSION_INTERFACE, SessionProxy,
};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{codex_bin, scratch_dir, stub};
use codex_launcher_mock_upstream::{Flavor, MockConfig, MockUpstream, Reply, Usage};
use futures::StreamExt;
use serde_json::json;

/// A user's config.toml, which a CLI session must leave byte for byte as it is (no final
/// newline on purpose: an editor that rewrote the file would likely add one).
const USER_CONFIG: &str = "# my own settings\n[history]\npersistence = \"none\"   # keep nothing\n\n[tui]\nnotifications = false";

async fn session(conn: &zbus::Connection, path: &zbus::OwnedObjectPath) -> SessionProxy<'static> {
    SessionProxy::builder(conn)
        .path(path.clone())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("session proxy")
}

async fn add_endpoint(m: &ManagerProxy<'_>, url: &str, key: &str) -> String {
    let spec = EndpointSpec {
        name: "Session Mock".into(),
        backend: Backend::OpenaiCompat,
        base_url: url.into(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    };
    m.add_endpoint(spec, key).await.expect("add endpoint")
}

/// Every `Exited` signal on the bus, subscribed before the launch so none is missed.
async fn exits(conn: &zbus::Connection) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(SESSION_INTERFACE)
        .member("Exited")
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, std::num::NonZeroUsize::new(16))
        .await
        .expect("subscribe to Exited")
}

/// The exit code in the first `Exited` from `path`.
async fn exited(stream: &mut zbus::MessageStream, path: &zbus::OwnedObjectPath) -> i32 {
    while let Some(msg) = stream.next().await {
        let msg = msg.expect("signal");
        if msg.header().path().map(|p| p.as_str()) == Some(path.as_str()) {
            return msg.body().deserialize::<i32>().expect("exit code");
        }
    }
    panic!("the signal stream ended")
}

fn options(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What the daemon's sessions logged (Codex's stdout and stderr).
fn session_logs(daemon: &DaemonProcess) -> String {
    let dir = daemon
        .home
        .path()
        .join(".local/state/codex-launcher/sessions");
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    out
}

fn error_name(err: &zbus::Error) -> String {
    match err {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("{other:?}"),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exec_session_runs_codex_and_leaves_config_toml_alone() {
    let mock = MockUpstream::start(MockConfig {
        flavor: Flavor::OpenAi,
        api_key: Some("sk-test-session-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    // Both turns report 1,000 input tokens, 600 of them from the provider's cache, and 50
    // output tokens: at the prices set below, $0.0015 a request.
    let usage = Usage {
        input_tokens: 1_000,
        cached_tokens: 600,
        output_tokens: 50,
        reasoning_tokens: 0,
    };
    mock.push(
        Reply::tool_call(
            "call_s1",
            "exec_command",
            json!({"cmd": "echo from-session > session.txt"}),
        )
        .with_usage(usage),
    );
    mock.push(Reply::text("SESSION DONE").with_usage(usage));

    let bus = PrivateBus::start(None, &[]);
    let codex = codex_bin();
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", codex.to_str().expect("utf-8 path"))],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, &mock.base_url(), "sk-test-session-key").await;
    m.set_model_prices(
        &id,
        "mock-model",
        ModelPrices {
            input: Some("2".into()),
            cached_input: Some("0.5".into()),
            output: Some("8".into()),
            ..ModelPrices::default()
        },
    )
    .await
    .expect("prices");
    let codex_home = daemon.home.path().join(".codex");
    std::fs::create_dir_all(&codex_home).expect("codex home");
    let config = codex_home.join("config.toml");
    std::fs::write(&config, USER_CONFIG).expect("user config");
    let work = scratch_dir("session-work");

    let mut exits = exits(&conn).await;
    let before = now_secs();
    let path = m
        .launch(
            &id,
            "",
            "exec",
            options(&[
                ("prompt", "Write the file."),
                ("workdir", work.path().to_str().expect("utf-8")),
            ]),
        )
        .await
        .expect("launch");
    assert_eq!(
        m.list_sessions().await.expect("list"),
        std::slice::from_ref(&path)
    );
    let s = session(&conn, &path).await;
    assert_eq!(s.endpoint().await.expect("endpoint"), id);
    assert_eq!(s.model().await.expect("model"), "mock-model");
    assert_eq!(s.mode().await.expect("mode"), "exec");
    assert!(s.pid().await.expect("pid") > 0);
    let started = s.started().await.expect("started");
    assert!((before..=now_secs()).contains(&started), "{started}");

    let code = tokio::time::timeout(Duration::from_secs(180), exited(&mut exits, &path))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no Exited within 180 s\nsession log:\n{}\ndaemon:\n{}",
                session_logs(&daemon),
                daemon.stderr()
            )
        });
    let log = session_logs(&daemon);
    assert_eq!(
        code,
        0,
        "session log:\n{log}\ndaemon:\n{}\nrejections: {:?}",
        daemon.stderr(),
        mock.rejections()
    );
    assert_eq!(s.state().await.expect("state"), "exited");
    assert_eq!(s.exit_code().await.expect("exit code"), 0);
    assert!(log.contains("SESSION DONE"), "{log}");
    assert_eq!(
        std::fs::read_to_string(work.path().join("session.txt"))
            .ok()
            .as_deref(),
        Some("from-session\n"),
        "{log}"
    );

    // Zero-touch: the user's file is as it was, byte for byte.
    assert_eq!(
        std::fs::read(&config).expect("config"),
        USER_CONFIG.as_bytes()
    );

    // Traffic of the session's endpoint and model: the tool-call turn and the final one.
    assert_eq!(s.requests().await.expect("requests"), 2);
    assert_eq!(s.tokens_in().await.expect("in"), 2_000);
    assert_eq!(s.tokens_out().await.expect("out"), 100);
    // The cache figures and the cost come along: (400 × 2 + 600 × 0.5 + 50 × 8) micro-dollars
    // a request, summed exactly.
    assert_eq!(s.cached_tokens_in().await.expect("cached"), 1_200);
    assert_eq!(s.cache_write_tokens_in().await.expect("written"), 0);
    assert_eq!(s.priced_requests().await.expect("priced"), 2);
    assert_eq!(s.cost_pico_usd().await.expect("cost"), 3_000 * 1_000_000);
    // The journal's fields: each request's cost, and the Codex version read at launch.
    let log = daemon.stderr();
    assert_eq!(log.matches("request cost").count(), 2, "{log}");
    assert!(log.contains("cost_usd=0.001500"), "{log}");
    assert!(
        log.contains(": tested (this launcher is tested with"),
        "{log}"
    );
    let usage = m.usage_costs().await.expect("usage");
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(
        (
            usage[0].cached_input_tokens,
            usage[0].cost_pico_usd,
            usage[0].priced_requests
        ),
        (1_200, 3_000 * 1_000_000, 2)
    );
    // As codexctl shows it: the cost next to the cache hit rate.
    let ctl = |args: &[&str]| {
        let out = std::process::Command::new(codex_launcher_e2e::workspace_bin("codexctl"))
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .output()
            .expect("run codexctl");
        assert!(out.status.success(), "codexctl {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed: serde_json::Value =
        serde_json::from_str(&ctl(&["sessions", "--json"])).expect("json");
    assert_eq!(listed[0]["cost_usd"], "0.003000");
    assert_eq!(listed[0]["cached_tokens_in"], 1_200);
    let table = ctl(&["sessions"]);
    assert!(
        table.contains("60%") && table.contains("$0.003000"),
        "{table}"
    );
    let table = ctl(&["usage"]);
    assert!(
        table.contains("60%") && table.contains("$0.003000"),
        "{table}"
    );
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter()
            .all(|r| r.header("authorization") == Some("Bearer sk-test-session-key"))
    );
}

/// A stand-in for Codex that ignores SIGTERM and records how it was started.
const STUBBORN: &str = "#!/bin/sh\n\
env > \"$0.env\"\n\
printf '%s\\n' \"$@\" > \"$0.args\"\n\
trap '' TERM\n\
: > \"$0.ready\"\n\
sleep 120\n";

/// Pids of the live (not zombie) processes in process group `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may contain spaces, so split after the `)`.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().take(3).collect())
            .unwrap_or_default();
        if fields.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(pgid) && fields[0] != "Z" {
            out.push(pid);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_escalates_to_sigkill_after_the_grace_period() {
    let dir = scratch_dir("stubborn");
    let script = stub(dir.path(), "codex", STUBBORN);

    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            ("CODEX_BIN", script.to_str().expect("utf-8")),
            ("OPENAI_API_KEY", "sk-test-daemon-env-openai"),
            ("DEEPSEEK_API_KEY", "sk-test-daemon-env-deepseek"),
        ],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, "http://127.0.0.1:9/v1", "sk-test-provider-key").await;
    let workdir = dir.path().to_str().expect("utf-8");

    // Validation first: nothing is started for a bad request.
    for (endpoint, mode, opts, want) in [
        ("nope", "exec", vec![("prompt", "x")], "NotFound"),
        (
            id.as_str(),
            "tablet",
            vec![("prompt", "x")],
            "InvalidArgument",
        ),
        (id.as_str(), "exec", vec![], "InvalidArgument"),
        (
            id.as_str(),
            "exec",
            vec![("prompt", "x"), ("grace", "1")],
            "InvalidArgument",
        ),
        (
            id.as_str(),
            "exec",
            vec![("prompt", "x"), ("workdir", "rel")],
            "InvalidArgument",
        ),
    ] {
        let err = m
            .launch(endpoint, "", mode, options(&opts))
            .await
            .expect_err("refused");
        assert_eq!(
            error_name(&err),
            format!("io.github.CodexLauncher1.Error.{want}"),
            "{endpoint} {mode} {opts:?}: {err}"
        );
    }
    assert!(m.list_sessions().await.expect("list").is_empty());

    let mut exits = exits(&conn).await;
    let path = m
        .launch(
            &id,
            "mock-model-large",
            "exec",
            options(&[
                ("prompt", "hold on"),
                ("workdir", workdir),
                ("grace_ms", "500"),
            ]),
        )
        .await
        .expect("launch");
    let s = session(&conn, &path).await;
    let ready = dir.path().join("codex.ready");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(
            Instant::now() < deadline,
            "the stand-in did not start\n{}",
            daemon.stderr()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = s.pid().await.expect("pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(s.state().await.expect("state"), "running");
    assert_eq!(s.exit_code().await.expect("exit code"), -1);

    // What the session got: its own proxy token (not the install's) and -c overrides, no
    // provider key, none of systemd's variables.
    let env = std::fs::read_to_string(dir.path().join("codex.env")).expect("env");
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("CODEX_LAUNCHER_TOKEN="))
        .unwrap_or_else(|| panic!("no token: {env}"));
    assert!(token.starts_with("cls") && token != daemon.token(), "{env}");
    assert!(!env.contains("sk-test-"), "{env}");
    assert!(!env.contains("NOTIFY_SOCKET"), "{env}");
    let args = std::fs::read_to_string(dir.path().join("codex.args")).expect("args");
    for want in [
        "exec",
        &format!("model_provider=\"codex-launcher-{id}\""),
        "model=\"mock-model-large\"",
        "--dangerously-bypass-approvals-and-sandbox",
        "hold on",
    ] {
        assert!(args.lines().any(|l| l == want), "{want} in\n{args}");
    }

    let t0 = Instant::now();
    s.stop().await.expect("stop");
    assert_eq!(s.state().await.expect("state"), "stopping");
    let code = tokio::time::timeout(Duration::from_secs(10), exited(&mut exits, &path))
        .await
        .expect("Exited within 10 s");
    let took = t0.elapsed();
    assert_eq!(code, 128 + 9, "killed by SIGKILL");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "SIGKILL after the 500 ms grace, took {took:?}"
    );
    assert_eq!(s.state().await.expect("state"), "exited");
    assert_eq!(s.exit_code().await.expect("exit code"), 137);
    // Reaped (a zombie would still have /proc/<pid>), and the whole group is gone.
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "zombie left");
    // The `sleep` got SIGKILL too; it is its new parent's to reap, so allow it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !group_members(pid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left running: {:?}",
            group_members(pid)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Stopping an exited session is a no-op.
    s.stop().await.expect("stop again");
    assert!(
        daemon.stderr().contains("sending SIGKILL"),
        "{}",
        daemon.stderr()
    );
}

/// A daemon killed with SIGKILL while a config.toml backup is active (the journal says so and
/// the file holds the launcher's edit) restores the file byte for byte before it reports
/// READY=1, every time. Until Desktop sessions take backups themselves, the test leaves the
/// backup with the engine's own `Backups`, exactly as a daemon that died mid-session would.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_left_backup_is_restored_before_ready_50_times() {
    use codex_launcher_engine::backup::Backups;

    let bus = PrivateBus::start(None, &[]);
    let mut home = scratch_dir("crash-home");
    let config = home.path().join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    // CRLF, no final newline, a comment and non-ASCII: every byte must come back.
    let original = b"# my settings \xc3\xa9\r\nmodel = \"gpt-5.5\"\r\n[tui]\r\nanimations = false";
    std::fs::write(&config, original).expect("write config");
    let state = home.path().join(".local/state/codex-launcher");
    for round in 0..50 {
        let backups = Backups::at(&state);
        backups.acquire("crashed", &config).expect("acquire");
        backups
            .update("crashed", |text| {
                Ok(format!("{text}\nmodel_provider = \"codex-launcher-x\"\n"))
            })
            .expect("update");
        assert_ne!(std::fs::read(&config).expect("read"), original);
        let mut daemon = DaemonProcess::start_in(&bus, Listen::Own, home);
        daemon.wait_notify("READY=1");
        // READY=1 came after the restore.
        assert_eq!(
            std::fs::read(&config).expect("read"),
            original,
            "round {round}: restored byte for byte before READY\n{}",
            daemon.stderr()
        );
        assert!(backups.sessions().expect("journal").is_empty());
        daemon.signal("KILL");
        daemon.wait();
        home = std::mem::replace(&mut daemon.home, scratch_dir("unused"));
    }
}

/// `codexctl launch exec …`, `codexctl sessions --json`, `codexctl stop N`, as a user types them.
#[tokio::test(flavor = "multi_thread")]
async fn codexctl_launches_lists_and_stops_a_session() {
    let dir = scratch_dir("ctl-session");
    let script = stub(dir.path(), "codex", STUBBORN);
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", script.to_str().expect("utf-8"))],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, "http://127.0.0.1:9/v1", "").await;
    let ctl = |args: &[&str]| {
        let out = std::process::Command::new(codex_launcher_e2e::workspace_bin("codexctl"))
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .output()
            .expect("run codexctl");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let workdir = dir.path().to_str().expect("utf-8");
    let mut exits = exits(&conn).await;
    let (code, out, err) = ctl(&[
        "launch",
        "exec",
        "-e",
        &id,
        "--prompt",
        "hello",
        "--workdir",
        workdir,
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let launched: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(launched["endpoint"], id.as_str());
    assert_eq!(launched["mode"], "exec");
    let number = launched["session"].as_str().expect("session").to_owned();
    let path = zbus::OwnedObjectPath::try_from(launched["path"].as_str().expect("path"))
        .expect("object path");

    let (code, out, _) = ctl(&["sessions", "--json"]);
    assert_eq!(code, Some(0));
    let listed: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(listed[0]["session"], number.as_str());
    assert_eq!(listed[0]["state"], "running");
    assert_eq!(listed[0]["exit_code"], serde_json::Value::Null);
    let (code, table, _) = ctl(&["sessions"]);
    assert_eq!(code, Some(0));
    assert!(
        table.contains("SESSION") && table.contains("running"),
        "{table}"
    );

    let (code, out, err) = ctl(&["stop", &number]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("stopping"), "{out}");
    // The stub ignores SIGTERM: the default 5 s grace ends in SIGKILL.
    assert_eq!(exited(&mut exits, &path).await, 137);
    let (_, out, _) = ctl(&["sessions", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(listed[0]["state"], "exited");
    assert_eq!(listed[0]["exit_code"], 137);

    // Errors: an unknown session is exit code 3, a bad argument 2.
    let (code, _, err) = ctl(&["stop", "999"]);
    assert_eq!(code, Some(3), "{err}");
    let (code, _, _) = ctl(&["stop", "abc"]);
    assert_eq!(code, Some(2));
    drop(daemon);
}

/// Two daemon-launched Codex sessions at once, on different endpoints and backends (chat and
/// anthropic mocks): each finishes its own task through its own route and key.
#[tokio::test(flavor = "multi_thread")]
async fn two_sessions_on_different_endpoints_at_once() {
    let chat = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-two-chat".into()),
        ..MockConfig::default()
    })
    .await
    .expect("chat mock");
    let anthropic = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-two-anthropic".into()),
        ..MockConfig::default()
    })
    .await
    .expect("anthropic mock");
    for (mock, file) in [(&chat, "chat.txt"), (&anthropic, "anthropic.txt")] {
        mock.push(Reply::tool_call(
            "call_two",
            "exec_command",
            json!({"cmd": format!("echo done > {file}")}),
        ));
        mock.push(Reply::text("TWO DONE"));
    }
    let bus = PrivateBus::start(None, &[]);
    let codex = codex_bin();
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", codex.to_str().expect("utf-8 path"))],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let on_chat = add_endpoint(&m, &chat.base_url(), "sk-test-two-chat").await;
    let mut spec = EndpointSpec {
        name: "Anthropic Two".into(),
        backend: Backend::Anthropic,
        base_url: anthropic.root_url(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    };
    spec.provider = String::new();
    let on_anthropic = m
        .add_endpoint(spec, "sk-test-two-anthropic")
        .await
        .expect("add anthropic");
    let work = scratch_dir("two-sessions");
    let workdir = work.path().to_str().expect("utf-8");
    let mut exits = exits(&conn).await;
    let mut paths = Vec::new();
    for id in [&on_chat, &on_anthropic] {
        let path = m
            .launch(
                id,
                "",
                "exec",
                options(&[("prompt", "Write your file."), ("workdir", workdir)]),
            )
            .await
            .expect("launch");
        paths.push(path);
    }
    let mut codes = HashMap::new();
    while codes.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(180), exits.next())
            .await
            .unwrap_or_else(|_| panic!("no Exited in time\n{}", session_logs(&daemon)))
            .expect("stream")
            .expect("signal");
        let path = msg
            .header()
            .path()
            .map(|p| p.to_string())
            .unwrap_or_default();
        codes.insert(path, msg.body().deserialize::<i32>().expect("code"));
    }
    for path in &paths {
        assert_eq!(
            codes.get(path.as_str()),
            Some(&0),
            "{path}: {}\n{:?} {:?}",
            session_logs(&daemon),
            chat.rejections(),
            anthropic.rejections()
        );
    }
    assert_eq!(
        std::fs::read_to_string(work.path().join("chat.txt"))
            .ok()
            .as_deref(),
        Some("done\n")
    );
    assert_eq!(
        std::fs::read_to_string(work.path().join("anthropic.txt"))
            .ok()
            .as_deref(),
        Some("done\n")
    );
    assert!(
        chat.requests()
            .iter()
            .all(|r| r.path.ends_with("/chat/completions"))
    );
    assert!(anthropic.requests().iter().all(
        |r| r.path == "/v1/messages" && r.header("x-api-key") == Some("sk-test-two-anthropic")
    ));
    assert_eq!((chat.requests().len(), anthropic.requests().len()), (2, 2));
}

/// A stand-in for Codex Desktop: records the config.toml it was started with and its
/// environment, and, when `$0.edit` exists, edits config.toml as a user would meanwhile.
const DESKTOP: &str = "#!/bin/sh\n\
cp \"$CODEX_HOME/config.toml\" \"$0.seen\"\n\
env > \"$0.env\"\n\
if [ -e \"$0.edit\" ]; then printf '\\n# edited by the user during the session\\n' >> \"$CODEX_HOME/config.toml\"; fi\n";

/// Desktop reads config.toml: the daemon backs it up, writes its provider for the session,
/// and restores it when the session exits — byte for byte, or keeping what the user edited.
#[tokio::test(flavor = "multi_thread")]
async fn a_desktop_session_borrows_config_toml_and_gives_it_back() {
    let dir = scratch_dir("desktop");
    let script = stub(dir.path(), "codex-desktop", DESKTOP);
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            (
                "CODEX_LAUNCHER_DESKTOP_CMD",
                script.to_str().expect("utf-8"),
            ),
            ("ANTHROPIC_API_KEY", "sk-test-desktop-env"),
        ],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, "http://127.0.0.1:9/v1", "sk-test-desktop-provider").await;
    let config = daemon.home.path().join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, USER_CONFIG).expect("user config");
    let seen = dir.path().join("codex-desktop.seen");

    // 1. Nobody touches the file meanwhile: it comes back byte for byte.
    let mut exits = exits(&conn).await;
    let path = m
        .launch(&id, "", "desktop", HashMap::new())
        .await
        .expect("launch desktop");
    assert_eq!(
        exited(&mut exits, &path).await,
        0,
        "{}",
        session_logs(&daemon)
    );
    let during = std::fs::read_to_string(&seen).expect("the stand-in saw config.toml");
    assert!(
        during.contains("model_provider = \"codex-launcher-")
            && during.contains("[model_providers.codex-launcher-")
            && during.contains("model_catalog_json")
            && during.contains("# my own settings"),
        "{during}"
    );
    assert_eq!(
        std::fs::read(&config).expect("config"),
        USER_CONFIG.as_bytes(),
        "restored before Exited\n{}",
        daemon.stderr()
    );
    let env = std::fs::read_to_string(dir.path().join("codex-desktop.env")).expect("env");
    assert!(
        env.contains("CODEX_LAUNCHER_TOKEN="),
        "the token is handed over"
    );
    assert!(
        !env.contains("sk-test-"),
        "no provider key reaches Desktop: {env}"
    );

    // 2. The user edits config.toml during the session: the edit stays, ours goes, and the
    // user hears about it on the bus.
    let mut merged = m.receive_config_merged().await.expect("subscribe");
    std::fs::write(dir.path().join("codex-desktop.edit"), "").expect("flag");
    let path = m
        .launch(&id, "", "desktop", HashMap::new())
        .await
        .expect("launch desktop");
    assert_eq!(exited(&mut exits, &path).await, 0);
    let signal = tokio::time::timeout(Duration::from_secs(30), merged.next())
        .await
        .expect("ConfigMerged within 30 s")
        .expect("signal");
    let args = signal.args().expect("args");
    assert_eq!(args.path(), &config.display().to_string());
    assert!(
        args.message().contains("edited during the session"),
        "{}",
        args.message()
    );
    if !args.aside().is_empty() {
        assert!(Path::new(args.aside()).exists(), "{}", args.aside());
    }
    let after = std::fs::read_to_string(&config).expect("config");
    assert!(
        after.contains("# edited by the user during the session"),
        "the user's edit survives: {after}"
    );
    assert!(
        after.starts_with(USER_CONFIG.trim_end()),
        "the user's own settings survive: {after}"
    );
    assert!(
        !after.contains("codex-launcher-"),
        "the launcher's keys are gone: {after}"
    );
    assert!(
        daemon.stderr().contains("config.toml restored"),
        "the daemon says what it did: {}",
        daemon.stderr()
    );
}

/// "Codex Default": no endpoint, no token, and none of the launcher's provider settings in
/// config.toml while it runs (a file that has them, e.g. left by a Desktop session, gets them
/// taken out for the session and back after).
#[tokio::test(flavor = "multi_thread")]
async fn codex_default_runs_without_the_launchers_settings() {
    let dir = scratch_dir("default");
    let script = stub(dir.path(), "codex-desktop", DESKTOP);
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            (
                "CODEX_LAUNCHER_DESKTOP_CMD",
                script.to_str().expect("utf-8"),
            ),
            // `default-cli` runs "TERMINAL CODEX -C DIR": `env` stands in for the terminal
            // and the same recording script for Codex.
            ("CODEX_LAUNCHER_TERMINAL", "env"),
            ("CODEX_BIN", script.to_str().expect("utf-8")),
        ],
    );
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let id = add_endpoint(&m, "http://127.0.0.1:9/v1", "").await;
    let config = daemon.home.path().join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, USER_CONFIG).expect("user config");
    let seen = dir.path().join("codex-desktop.seen");
    let mut exits = exits(&conn).await;

    // A config.toml holding the launcher's settings, as a Desktop session writes it.
    let path = m
        .launch(&id, "", "desktop", HashMap::new())
        .await
        .expect("desktop");
    assert_eq!(exited(&mut exits, &path).await, 0);
    let with_ours = std::fs::read(&seen).expect("seen");
    assert!(String::from_utf8_lossy(&with_ours).contains("codex-launcher-"));
    std::fs::write(&config, &with_ours).expect("leave our settings in");

    for mode in ["default-desktop", "default-cli"] {
        let path = m
            .launch("", "", mode, HashMap::new())
            .await
            .expect("codex default");
        let s = session(&conn, &path).await;
        assert_eq!(s.mode().await.expect("mode"), mode);
        assert_eq!(
            exited(&mut exits, &path).await,
            0,
            "{}",
            session_logs(&daemon)
        );
        let during = std::fs::read_to_string(&seen).expect("seen");
        assert!(
            !during.contains("codex-launcher-"),
            "no launcher settings during Codex Default: {during}"
        );
        assert!(during.contains("# my own settings"), "{during}");
        let env = std::fs::read_to_string(dir.path().join("codex-desktop.env")).expect("env");
        assert!(!env.contains("CODEX_LAUNCHER_TOKEN"), "no token: {env}");
        assert_eq!(
            std::fs::read(&config).expect("config"),
            with_ours,
            "the file is back as it was"
        );
    }
    let err = m
        .launch("", "", "default-cli", options(&[("workdir", "relative")]))
        .await
        .expect_err("bad workdir");
    assert_eq!(
        error_name(&err),
        "io.github.CodexLauncher1.Error.InvalidArgument"
    );
}
