//! codex-launcherd on a real private bus: every method, error names, readiness through a real
//! NOTIFY_SOCKET, socket activation, D-Bus activation, SIGHUP reload, SIGTERM, access control.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use codex_launcher_dbus::{
    Backend, CacheTtl, CodexVerdict, EndpointOptions, EndpointSpec, ManagerProxy, ModelPrices,
};
use codex_launcher_e2e::daemon::{DaemonProcess, Keyring, Listen, PrivateBus, free_port};
use codex_launcher_e2e::{scratch_dir, workspace_bin};

fn spec(name: &str, url: &str) -> EndpointSpec {
    EndpointSpec {
        name: name.into(),
        backend: Backend::OpenaiCompat,
        base_url: url.into(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    }
}

fn error_name(err: &zbus::Error) -> String {
    match err {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("{other:?}"),
    }
}

/// Raw HTTP GET with optional bearer token; returns the status.
fn http_get(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: x\r\n{auth}connection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// Raw HTTP POST of a JSON body with a bearer token; returns the status and the answer.
fn http_post(port: u16, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

fn port_of(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in address")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_method_over_a_real_bus() {
    let bus = PrivateBus::start(None, &[]);
    let stubs = scratch_dir("codex-version");
    let codex = codex_launcher_e2e::stub(stubs.path(), "codex", "#!/bin/sh\nexit 0\n");
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", codex.to_str().expect("utf-8"))],
    );
    let ready = daemon.wait_notify("READY=1");
    assert!(
        ready.contains("STATUS="),
        "readiness carries a status line: {ready}"
    );
    let (_conn, m) = bus.manager().await;

    assert_eq!(m.ping().await.expect("ping"), "pong");
    assert!(!m.version().await.expect("version").is_empty());
    let presets = m.list_presets().await.expect("presets");
    for wanted in [
        "openai",
        "anthropic",
        "opencode-zen",
        "opencode-go",
        "command-code",
        "crof",
        "nvidia-nim",
        "kilo",
        "openrouter",
        "zai-coding",
        "deepseek",
        "moonshot",
        "groq",
        "ollama",
        "custom",
    ] {
        assert!(
            presets.iter().any(|p| p.id == wanted),
            "preset {wanted} missing"
        );
    }
    assert!(m.list_endpoints().await.expect("list").is_empty());

    // Add, with a key; the key never comes back.
    let id = m
        .add_endpoint(
            spec("My Mock", "http://127.0.0.1:9/v1/chat/completions"),
            "sk-test-secret-1",
        )
        .await
        .expect("add");
    assert_eq!(id, "my-mock");
    let info = m.get_endpoint(&id).await.expect("get");
    assert!(info.has_key && info.is_default);
    assert_eq!(info.spec.base_url, "http://127.0.0.1:9/v1");
    assert_eq!(
        info.key_storage, "file",
        "no Secret Service on this private bus"
    );
    assert_eq!(m.default_endpoint().await.expect("prop"), id);
    assert_eq!(m.endpoint_ids().await.expect("prop"), vec![id.clone()]);

    // Update, models, default, key.
    let mut s2 = info.spec.clone();
    s2.name = "Renamed".into();
    m.update_endpoint(&id, s2).await.expect("update");
    assert_eq!(m.get_endpoint(&id).await.expect("get").spec.name, "Renamed");
    assert_eq!(
        m.import_models(&id, "alpha, beta\ngamma")
            .await
            .expect("import"),
        3
    );
    let id2 = m
        .add_endpoint(spec("Second", "https://example.invalid/v1"), "")
        .await
        .expect("add 2");
    m.set_default_endpoint(&id2).await.expect("default");
    assert_eq!(m.default_endpoint().await.expect("prop"), id2);
    assert_eq!(
        m.set_api_key(&id2, "sk-second-key").await.expect("key"),
        "file"
    );

    // Credential hygiene: a secret header, the key's source, the environment scrub.
    m.set_header(&id2, "X-Team", "team-secret-value", true)
        .await
        .expect("secret header");
    let shown = m.get_endpoint(&id2).await.expect("get");
    assert!(
        shown
            .spec
            .extra_headers
            .contains(&("X-Team".to_owned(), "***".to_owned())),
        "{:?}",
        shown.spec.extra_headers
    );
    let err = m
        .set_header(&id2, "X-Api-Key", "v", false)
        .await
        .expect_err("a credential's name");
    assert_eq!(
        error_name(&err),
        "io.github.CodexLauncher1.Error.InvalidArgument"
    );
    m.set_key_source(&id2, "SECOND_KEY").await.expect("source");
    let digest = |value: &str| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"salt\0");
        h.update(value.as_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let vars = vec![
        ("SECOND_KEY".to_owned(), digest("rotated")),
        ("HOLDS_IT".to_owned(), digest("sk-second-key")),
        ("GITHUB_TOKEN".to_owned(), digest("gh")),
        ("OPENAI_API_KEY".to_owned(), digest("x")),
    ];
    assert_eq!(
        m.scrub_environment("salt", vars).await.expect("scrub"),
        ["HOLDS_IT", "OPENAI_API_KEY", "SECOND_KEY"]
    );
    assert_eq!(m.key_storage().await.expect("prop"), "file");
    assert!(
        m.kill_and_cleanup(true, true)
            .await
            .expect("kill and cleanup")
            .iter()
            .all(|i| i.kind != "session"),
        "no session runs"
    );

    // Export without keys, with keys, import back.
    let bundle = m.export_profile(false).await.expect("export");
    assert!(
        !bundle.contains("team-secret-value"),
        "secret headers only with keys"
    );
    assert!(
        !bundle.contains("sk-test-secret-1") && !bundle.contains("sk-second-key"),
        "keys only when asked"
    );
    let with_keys = m.export_profile(true).await.expect("export keys");
    assert!(with_keys.contains("sk-test-secret-1"));
    assert!(with_keys.contains("team-secret-value"));
    assert_eq!(
        m.import_profile(&bundle)
            .await
            .expect("import profile")
            .len(),
        2
    );

    // Legacy import.
    let legacy = scratch_dir("legacy");
    let legacy_file = legacy.path().join("endpoints.json");
    std::fs::write(&legacy_file, r#"{"endpoints":[{"name":"Old DS","backend_type":"openai","base_url":"https://api.deepseek.com","api_key":"sk-legacy","default_model":"deepseek-chat","models":["deepseek-chat"],"theme":"dark"}],"default":"Old DS"}"#).expect("write legacy");
    let imported = m
        .import_legacy(legacy_file.to_str().expect("utf8"))
        .await
        .expect("legacy");
    assert_eq!(imported, vec!["old-ds".to_owned()]);
    assert!(m.get_endpoint("old-ds").await.expect("get").has_key);

    // Status.
    let status = m.proxy_status().await.expect("status");
    assert!(status.address.starts_with("http://127.0.0.1:"));
    assert_eq!(m.proxy_address().await.expect("prop"), status.address);

    // ---- cost and prices (issue 14) ----
    // Options: caching on (5m) by default; a change is kept across UpdateEndpoint, whose
    // spec does not carry it; an empty dict changes nothing.
    let options = m.get_endpoint_options(&id).await.expect("options");
    assert_eq!(options.cache, Some(CacheTtl::FiveMinutes));
    let hour = EndpointOptions {
        cache: Some(CacheTtl::OneHour),
    };
    m.set_endpoint_options(&id, hour.clone())
        .await
        .expect("set options");
    m.set_endpoint_options(&id, EndpointOptions::default())
        .await
        .expect("no change");
    let renamed = m.get_endpoint(&id).await.expect("get").spec;
    m.update_endpoint(&id, renamed).await.expect("update");
    assert_eq!(m.get_endpoint_options(&id).await.expect("options"), hour);
    // A value outside the vocabulary never reaches the daemon's state.
    let raw: std::collections::HashMap<&str, zbus::Variant<'_>> =
        [("cache", zbus::Variant::from("2h"))].into();
    let refused: Result<(), zbus::Error> = m
        .inner()
        .call("SetEndpointOptions", &(id.as_str(), raw))
        .await;
    assert!(refused.is_err(), "2h is no cache setting");
    assert_eq!(m.get_endpoint_options(&id).await.expect("options"), hour);
    let err = m
        .get_endpoint_options("nope")
        .await
        .expect_err("no endpoint");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.NotFound");

    // Prices: none set on a custom endpoint; set per model, read back as the daemon
    // normalised them; checked by the daemon.
    let listed = m.list_model_prices(&id).await.expect("prices");
    let models: Vec<&str> = listed.iter().map(|p| p.model.as_str()).collect();
    assert_eq!(models, ["mock-model", "alpha", "beta", "gamma"]);
    assert!(listed.iter().all(|p| p.prices == ModelPrices::default()));
    m.set_model_prices(
        &id,
        "alpha",
        ModelPrices {
            input: Some("3".into()),
            cached_input: Some("0.30".into()),
            output: Some("$15".into()),
            ..ModelPrices::default()
        },
    )
    .await
    .expect("set prices");
    let alpha = m.list_model_prices(&id).await.expect("prices")[1].clone();
    assert_eq!(
        alpha.prices,
        ModelPrices {
            input: Some("3".into()),
            cached_input: Some("0.3".into()),
            output: Some("15".into()),
            ..ModelPrices::default()
        }
    );
    for (endpoint, model, price, want) in [
        ("nope", "alpha", "1", "NotFound"),
        (id.as_str(), "nope", "1", "NotFound"),
        (id.as_str(), "alpha", "-1", "InvalidArgument"),
    ] {
        let err = m
            .set_model_prices(
                endpoint,
                model,
                ModelPrices {
                    input: Some(price.into()),
                    ..ModelPrices::default()
                },
            )
            .await
            .expect_err("refused");
        assert_eq!(
            error_name(&err),
            format!("io.github.CodexLauncher1.Error.{want}")
        );
    }
    // Presets carry dated list prices where the provider publishes them.
    let anthropic = presets
        .iter()
        .find(|p| p.id == "anthropic")
        .expect("anthropic preset");
    let claude = m
        .add_endpoint(anthropic.spec.clone(), "")
        .await
        .expect("add from preset");
    let priced = m.list_model_prices(&claude).await.expect("prices");
    assert!(
        priced
            .iter()
            .all(|p| p.prices.input.is_some() && p.prices.as_of.is_some()),
        "{priced:?}"
    );
    m.remove_endpoint(&claude).await.expect("remove");
    // No traffic yet: no usage rows.
    assert!(m.usage_costs().await.expect("usage").is_empty());

    // ---- Codex version (issue 17) ----
    let info = m.codex_info().await.expect("codex info");
    assert_eq!(info.program, codex.display().to_string());
    assert_eq!(
        info.version, "0.171.0",
        "the stub answers as the pinned release"
    );
    assert_eq!(info.verdict, CodexVerdict::Tested);
    assert!(info.message.contains("tested"), "{info:?}");

    // Fetch models from an unreachable upstream: a named error, not a hang.
    let err = m.fetch_models(&id).await.expect_err("unreachable");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.Upstream");

    // Errors by name; nothing half-written.
    let err = m.get_endpoint("nope").await.expect_err("missing");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.NotFound");
    let err = m
        .add_endpoint(spec("", "http://x/v1"), "")
        .await
        .expect_err("empty name");
    assert_eq!(
        error_name(&err),
        "io.github.CodexLauncher1.Error.InvalidArgument"
    );
    let err = m
        .add_endpoint(spec("Bad URL", "ftp://x"), "")
        .await
        .expect_err("bad url");
    assert_eq!(
        error_name(&err),
        "io.github.CodexLauncher1.Error.InvalidArgument"
    );
    let err = m.import_profile("{}").await.expect_err("bad bundle");
    assert_eq!(
        error_name(&err),
        "io.github.CodexLauncher1.Error.InvalidArgument"
    );
    let err = m
        .import_legacy("/nonexistent/endpoints.json")
        .await
        .expect_err("no file");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.Io");
    assert_eq!(
        m.list_endpoints().await.expect("list").len(),
        3,
        "failed calls changed nothing"
    );

    // ---- turns (issue 18) ----
    let recording = m.turn_recording().await.expect("recording");
    assert!(!recording.record_all, "failed turns only, by default");
    assert_eq!(
        (recording.max_failures, recording.turns),
        (100, 0),
        "{recording:?}"
    );
    assert!(recording.dir.ends_with(".local/state/codex-launcher/turns"));
    m.set_turn_recording("", true).await.expect("record all");
    m.set_turn_recording(&id, true).await.expect("record one");
    m.set_turn_recording("", false)
        .await
        .expect("failures only");
    let err = m
        .set_turn_recording("nope", true)
        .await
        .expect_err("unknown endpoint");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.NotFound");
    m.set_turn_retention(50, 0, 0).await.expect("retention");
    let recording = m.turn_recording().await.expect("recording");
    assert_eq!(
        (
            recording.record_all,
            recording.max_failures,
            recording.max_successes
        ),
        (false, 50, 100)
    );
    assert!(recording.endpoints.is_empty());
    // A turn on an endpoint nobody answers (127.0.0.1:9) fails, and is recorded.
    let mut recorded = m.receive_turn_recorded().await.expect("subscribe");
    let (code, _) = tokio::task::spawn_blocking({
        let (port, token, path) = (
            port_of(&status.address),
            daemon.token(),
            format!("/e/{id}/v1/responses"),
        );
        move || {
            http_post(
                port,
                &path,
                &token,
                r#"{"model":"mock-model","stream":true,"input":"hi"}"#,
            )
        }
    })
    .await
    .expect("client");
    assert_eq!(code, 502, "an unreachable upstream");
    let signal = tokio::time::timeout(
        Duration::from_secs(30),
        futures::StreamExt::next(&mut recorded),
    )
    .await
    .expect("TurnRecorded in time")
    .expect("a signal");
    let args = signal.args().expect("args");
    assert!(*args.failed());
    let turn = *args.id();
    let turns = m.list_turns(true, &id, 0).await.expect("list turns");
    assert_eq!(turns.len(), 1);
    assert_eq!(
        (
            turns[0].id,
            turns[0].stage.as_str(),
            turns[0].endpoint.as_str()
        ),
        (turn, "connect", id.as_str())
    );
    assert!(
        m.list_turns(false, "other", 0)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(m.list_turns(false, "", 7).await.expect("list").is_empty());
    let detail = m.get_turn(turn).await.expect("get turn");
    assert!(detail.sections.iter().any(|s| s.title == "Failure"));
    assert!(!detail.record_json.contains("sk-test-secret-1"));
    let bundle = m.export_turn(turn, true).await.expect("export turn");
    assert!(bundle.contains("codex-launcher-turn-export"));
    let replayed = m.replay_turn(turn, "", "").await.expect("replay");
    assert!(!replayed.ok, "still unreachable: {replayed:?}");
    assert_eq!(replayed.of, turn);
    assert_ne!(replayed.turn, 0, "the replay is recorded");
    let err = m.get_turn(9_999).await.expect_err("no such turn");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.NotFound");
    let err = m
        .replay_turn(turn, "nope", "")
        .await
        .expect_err("no such endpoint");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.NotFound");

    m.remove_endpoint(&id).await.expect("remove");
    let err = m.remove_endpoint(&id).await.expect_err("gone");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.NotFound");

    // Keys on disk: 0600, and never in endpoints.json.
    let home = daemon.home.path();
    let endpoints =
        std::fs::read_to_string(home.join(".config/codex-launcher/endpoints.json")).expect("store");
    assert!(!endpoints.contains("sk-"), "no key in endpoints.json");
    assert!(
        !endpoints.contains("team-secret-value"),
        "no secret header value in endpoints.json"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(home.join(".local/state/codex-launcher/keys.json"))
        .expect("keys")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!daemon.stderr().contains("sk-"), "no key in the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_matches_the_checked_in_xml() {
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let conn = bus.connect().await;
    let introspectable = zbus::Proxy::new(
        &conn,
        codex_launcher_dbus::BUS_NAME,
        codex_launcher_dbus::OBJECT_PATH,
        "org.freedesktop.DBus.Introspectable",
    )
    .await
    .expect("proxy");
    let xml: String = introspectable
        .call("Introspect", &())
        .await
        .expect("introspect");
    let start = xml
        .find("<interface name=\"io.github.CodexLauncher1.Manager\">")
        .expect("manager interface");
    let end = xml[start..].find("</interface>").expect("end") + start + "</interface>".len();
    let got = format!(
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n  {}\n</node>\n",
        &xml[start..end]
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dbus/io.github.CodexLauncher1.xml");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &got).expect("update xml");
    }
    let want = std::fs::read_to_string(&path)
        .expect("checked-in XML (run with UPDATE_EXPECT=1 to create)");
    assert_eq!(
        got, want,
        "the served interface differs from dbus/io.github.CodexLauncher1.xml; run with UPDATE_EXPECT=1 if intended"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_activation_serves_through_the_passed_socket() {
    let bus = PrivateBus::start(None, &[]);
    let port = free_port();
    let daemon = DaemonProcess::start(&bus, Listen::SocketActivated(port));
    // systemd-socket-activate starts the daemon on the first connection, which then waits
    // in the socket's queue until the daemon accepts it.
    let first = tokio::task::spawn_blocking(move || http_get(port, "/healthz", None));
    daemon.wait_notify("READY=1");
    let (status, body) = first.await.expect("join");
    assert_eq!(status, 200, "{body}");
    let (_conn, m) = bus.manager().await;
    let addr = m.proxy_address().await.expect("address");
    assert_eq!(
        port_of(&addr),
        port,
        "the daemon serves on the socket it was given"
    );
    // Routes other than /healthz need the token.
    let (status, _) = tokio::task::spawn_blocking(move || http_get(port, "/v1/models", None))
        .await
        .expect("join");
    assert_eq!(status, 403);
    let token = daemon.token();
    let (status, body) =
        tokio::task::spawn_blocking(move || http_get(port, "/v1/models", Some(&token)))
            .await
            .expect("join");
    assert_eq!(status, 404, "no endpoint configured yet: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dbus_activation_starts_the_daemon_from_the_activation_file() {
    let services = scratch_dir("services");
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../dbus/io.github.CodexLauncher1.service"),
    )
    .expect("activation file");
    let bin_dir = workspace_bin("codex-launcherd")
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    std::fs::write(
        services.path().join("io.github.CodexLauncher1.service"),
        template.replace("@bindir@", &bin_dir),
    )
    .expect("write service");
    let home = scratch_dir("activated-home");
    let env = [
        ("HOME", home.path().display().to_string()),
        ("CODEX_LAUNCHER_LISTEN", "127.0.0.1:0".to_owned()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
    ];
    let bus = PrivateBus::start(Some(services.path()), &env);
    let (_conn, m) = bus.manager().await;
    // No daemon runs: this call makes the bus start it through the real Exec= line.
    assert_eq!(m.ping().await.expect("activated ping"), "pong");
    assert!(
        m.proxy_address()
            .await
            .expect("address")
            .starts_with("http://127.0.0.1:")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_and_sigterm_exits_cleanly() {
    let bus = PrivateBus::start(None, &[]);
    let mut daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    m.add_endpoint(spec("First", "http://127.0.0.1:9/v1"), "")
        .await
        .expect("add");
    // Another program edits the store; SIGHUP makes the daemon pick it up.
    let path = daemon
        .home
        .path()
        .join(".config/codex-launcher/endpoints.json");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let mut second = file["endpoints"][0].clone();
    second["id"] = "edited-by-hand".into();
    second["name"] = "Edited".into();
    file["endpoints"]
        .as_array_mut()
        .expect("array")
        .push(second);
    std::fs::write(&path, serde_json::to_vec_pretty(&file).expect("json")).expect("write");
    daemon.signal("HUP");
    daemon.wait_notify("RELOADING=1");
    daemon.wait_notify("READY=1");
    let ids = m.endpoint_ids().await.expect("ids");
    assert_eq!(ids, vec!["first".to_owned(), "edited-by-hand".to_owned()]);
    daemon.signal("TERM");
    daemon.wait_notify("STOPPING=1");
    assert_eq!(daemon.wait(), Some(0), "{}", daemon.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_local_user_is_refused() {
    // Needs root to create and switch to a second user; CI runs as root.
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    assert!(
        root,
        "this test needs root (to create a second Unix user); CI runs it as root"
    );
    let user = "cl-e2e-other";
    let _ = std::process::Command::new("useradd")
        .args(["--no-create-home", "--shell", "/usr/sbin/nologin", user])
        .status();
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let port = port_of(&m.proxy_address().await.expect("address"));
    m.add_endpoint(spec("Mine", "http://127.0.0.1:9/v1"), "sk-mine")
        .await
        .expect("add");
    let token_path = daemon.home.path().join(".local/state/codex-launcher/token");
    // The other user can neither read the token nor use the proxy without it.
    let read = std::process::Command::new("runuser")
        .args(["-u", user, "--", "cat"])
        .arg(&token_path)
        .output()
        .expect("runuser");
    assert!(
        !read.status.success(),
        "the token file must not be readable by another user"
    );
    let probe = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET /e/mine/v1/models HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n' >&3; head -1 <&3"
    );
    let out = std::process::Command::new("runuser")
        .args(["-u", user, "--", "bash", "-c", &probe])
        .output()
        .expect("runuser");
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains(" 403 "),
        "another user's request must get 403, got {line:?}"
    );
    // The owner, with the token, gets through.
    let token = daemon.token();
    let (status, _) =
        tokio::task::spawn_blocking(move || http_get(port, "/e/mine/v1/models", Some(&token)))
            .await
            .expect("join");
    assert_eq!(status, 200);
}

/// An endpoint on `mock` (chat or anthropic wire), with its key.
async fn add_mock_endpoint(
    m: &ManagerProxy<'_>,
    name: &str,
    backend: &str,
    url: String,
    key: &str,
) -> codex_launcher_dbus::EndpointInfo {
    let mut s = spec(name, &url);
    s.backend = backend.parse().expect("a backend");
    let id = m.add_endpoint(s, key).await.expect("add endpoint");
    m.get_endpoint(&id).await.expect("get endpoint")
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_through_two_endpoints_at_once() {
    use codex_launcher_e2e::Codex;
    use codex_launcher_mock_upstream::{Flavor, MockConfig, MockUpstream, Reply, StrictRules};
    use serde_json::json;

    let chat = MockUpstream::start(MockConfig {
        flavor: Flavor::DeepSeek,
        api_key: Some("sk-test-chat-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("chat mock");
    let anthropic = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-anthropic-key".into()),
        rules: StrictRules {
            require_reasoning_passback: true,
            ..StrictRules::default()
        },
        ..MockConfig::default()
    })
    .await
    .expect("anthropic mock");
    chat.push(Reply::tool_call(
        "call_c1",
        "exec_command",
        json!({"cmd": "echo via-chat > chat.txt"}),
    ));
    chat.push(Reply::text("CHAT DONE"));
    anthropic.push(
        Reply::tool_call(
            "toolu_a1",
            "exec_command",
            json!({"cmd": "echo via-anthropic > anthropic.txt"}),
        )
        .with_reasoning("Write the file first."),
    );
    anthropic.push(Reply::text("ANTHROPIC DONE"));

    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let on_chat = add_mock_endpoint(
        &m,
        "Chat Mock",
        "openai-compat",
        chat.base_url(),
        "sk-test-chat-key",
    )
    .await;
    let on_anthropic = add_mock_endpoint(
        &m,
        "Anthropic Mock",
        "anthropic",
        anthropic.root_url(),
        "sk-test-anthropic-key",
    )
    .await;
    let token = daemon.token();

    // Both sessions at the same time, each on its own endpoint route of the one listener.
    let run = |url: String| {
        let codex = Codex::new(url).token(&token).prompt("Write the file.");
        tokio::task::spawn_blocking(move || codex.run())
    };
    let (a, b) = tokio::join!(run(on_chat.proxy_url), run(on_anthropic.proxy_url));
    let (a, b) = (a.expect("join"), b.expect("join"));
    assert_eq!(
        a.code,
        Some(0),
        "chat session\n{}\n{}\n{}",
        a.stderr,
        daemon.stderr(),
        format_args!("{:?}", chat.rejections())
    );
    assert_eq!(
        b.code,
        Some(0),
        "anthropic session\n{}\n{}\n{}",
        b.stderr,
        daemon.stderr(),
        format_args!("{:?}", anthropic.rejections())
    );
    assert_eq!(a.stdout.trim(), "CHAT DONE");
    assert_eq!(b.stdout.trim(), "ANTHROPIC DONE");
    assert_eq!(a.file("chat.txt").as_deref(), Some("via-chat\n"));
    assert_eq!(b.file("anthropic.txt").as_deref(), Some("via-anthropic\n"));

    // Each upstream got its own wire and key, and nothing of the other's.
    let chat_reqs = chat.requests();
    let anth_reqs = anthropic.requests();
    assert_eq!((chat_reqs.len(), anth_reqs.len()), (2, 2));
    assert!(
        chat_reqs
            .iter()
            .all(|r| r.path.ends_with("/chat/completions")
                && r.header("authorization") == Some("Bearer sk-test-chat-key"))
    );
    assert!(anth_reqs.iter().all(
        |r| r.path == "/v1/messages" && r.header("x-api-key") == Some("sk-test-anthropic-key")
    ));
    assert!(
        anthropic.rejections().is_empty(),
        "{:?}",
        anthropic.rejections()
    );

    // Usage is counted per endpoint.
    let status = m.proxy_status().await.expect("status");
    for id in [&on_chat.id, &on_anthropic.id] {
        let requests: u64 = status
            .usage
            .iter()
            .filter(|u| &u.endpoint == id)
            .map(|u| u.requests)
            .sum();
        assert_eq!(requests, 2, "usage for {id}: {:?}", status.usage);
    }
    assert!(!daemon.stderr().contains("sk-test-"), "no key in the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_an_in_flight_stream() {
    use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};

    let mock = MockUpstream::start(MockConfig {
        chunk_interval: Some(Duration::from_millis(100)),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("one two three four five six seven eight nine ten").chunked(4));
    let bus = PrivateBus::start(None, &[]);
    let mut daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let info = add_mock_endpoint(&m, "Slow", "openai-compat", mock.base_url(), "").await;
    let port = port_of(&info.proxy_url.replace("/e/slow/v1", ""));
    let token = daemon.token();
    let body = r#"{"model":"mock-model","input":"hi","stream":true,"store":false}"#;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "POST /e/slow/v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    // Wait until the stream has begun, then ask the daemon to stop.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("response.output_text.delta") {
        let n = s.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "stream ended early: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    daemon.signal("TERM");
    daemon.wait_notify("STOPPING=1");
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("event: response.completed"),
        "the in-flight stream finished: {text}"
    );
    assert_eq!(daemon.wait(), Some(0), "{}", daemon.stderr());
}

/// A signal that must come soon.
async fn within<F: std::future::Future>(f: F) -> Result<F::Output, tokio::time::error::Elapsed> {
    tokio::time::timeout(Duration::from_secs(10), f).await
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_announce_changes_and_fetch_progress() {
    use codex_launcher_mock_upstream::{MockConfig, MockUpstream};
    use futures::StreamExt;

    let mock = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-fetch-key".into()),
        models: vec!["alpha-1".into(), "beta-2".into()],
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let conn = bus.connect().await;
    // A cached proxy, as a UI uses: it follows PropertiesChanged.
    let m = ManagerProxy::new(&conn).await.expect("proxy");
    let mut ids_changed = m.receive_endpoint_ids_changed().await;
    let mut default_changed = m.receive_default_endpoint_changed().await;
    let mut progress = m.receive_fetch_progress().await.expect("subscribe");
    // The first item of a property stream is its current value.
    let first = ids_changed.next().await.expect("initial");
    assert!(first.get().await.expect("value").is_empty());
    let _ = default_changed.next().await;

    let id = m
        .add_endpoint(spec("Fetchable", &mock.base_url()), "sk-test-fetch-key")
        .await
        .expect("add");
    let changed = within(ids_changed.next())
        .await
        .expect("EndpointIds changed in time")
        .expect("stream");
    assert_eq!(changed.get().await.expect("value"), vec![id.clone()]);
    let changed = within(default_changed.next())
        .await
        .expect("DefaultEndpoint changed in time")
        .expect("stream");
    assert_eq!(changed.get().await.expect("value"), id);

    let models = m.fetch_models(&id).await.expect("fetch");
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["alpha-1", "beta-2"]);
    let mut stages = Vec::new();
    while stages.len() < 2 {
        let signal = within(progress.next())
            .await
            .expect("progress signal in time")
            .expect("stream");
        let args = signal.args().expect("args");
        assert_eq!(args.id(), &id);
        stages.push(format!("{}:{}", args.stage(), args.message()));
    }
    assert_eq!(stages, ["started:", "done:2 models"]);
    let stored = m.get_endpoint(&id).await.expect("get");
    let stored: Vec<&str> = stored.spec.models.iter().map(|m| m.id.as_str()).collect();
    // The endpoint's default model was in its list already; the fetched ones join it.
    assert_eq!(
        stored,
        ["mock-model", "alpha-1", "beta-2"],
        "fetched models are stored"
    );
    let models_req = mock
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/models"))
        .expect("models request");
    assert_eq!(
        models_req.header("authorization"),
        Some("Bearer sk-test-fetch-key")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_live_in_the_secret_service_when_one_runs() {
    // A keyring that stops answering must fail the test, not stall the suite.
    tokio::time::timeout(Duration::from_secs(120), keys_in_the_secret_service())
        .await
        .expect("the keyring test finished within 120 s");
}

async fn keys_in_the_secret_service() {
    use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};

    let mock = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-keyring-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("FROM THE KEYRING"));
    let bus = PrivateBus::start(None, &[]);
    let _keyring = Keyring::start(&bus).await;
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let info = add_mock_endpoint(
        &m,
        "Keyed",
        "openai-compat",
        mock.base_url(),
        "sk-test-keyring-key",
    )
    .await;
    assert_eq!(info.key_storage, "secret-service");
    let home = daemon.home.path().to_owned();
    let keys_file = home.join(".local/state/codex-launcher/keys.json");
    assert!(!keys_file.exists(), "no key file when a keyring runs");

    // A new daemon on the same data finds the key in the keyring and uses it upstream.
    let home = daemon.stop();
    let daemon = DaemonProcess::start_in(&bus, Listen::Own, home);
    daemon.wait_notify("READY=1");
    let info = m.get_endpoint(&info.id).await.expect("get");
    assert!(info.has_key, "the key survived the restart in the keyring");
    let port = port_of(&m.proxy_address().await.expect("address"));
    let token = daemon.token();
    let body = r#"{"model":"mock-model","input":"hi","stream":false,"store":false}"#;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "POST /e/keyed/v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.contains("FROM THE KEYRING"), "{answer}");
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some("Bearer sk-test-keyring-key")
    );

    // Removing the endpoint deletes its key: a new endpoint of the same id has none.
    m.remove_endpoint(&info.id).await.expect("remove");
    let again = add_mock_endpoint(&m, "Keyed", "openai-compat", mock.base_url(), "").await;
    assert_eq!(again.id, info.id);
    assert!(!again.has_key, "the old key was deleted from the keyring");
    assert!(!daemon.stderr().contains("sk-test-keyring-key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_stops_when_its_bus_goes_away() {
    let bus = PrivateBus::start(None, &[]);
    let mut daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    // The user session is over (dbus-run-session returned, a logout without systemd).
    drop(bus);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let code = daemon.wait();
        let _ = tx.send(code);
        daemon
    });
    let code = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the daemon lingered after its bus went away");
    let daemon = waiter.join().expect("waiter");
    assert_eq!(code, Some(0), "{}", daemon.stderr());
    assert!(
        daemon.stderr().contains("session bus connection closed"),
        "{}",
        daemon.stderr()
    );
}
