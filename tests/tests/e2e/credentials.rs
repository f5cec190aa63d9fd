//! Credential hygiene, tried as a user would: Codex starts without the user's provider
//! credentials in every mode; secret header values are kept like keys; a locked keyring is
//! never replaced by the file, and unlocking it brings the keys back; with no keyring at all
//! keys go to the 0600 file and move into a keyring made later.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use codex_launcher_dbus::{Backend, EndpointSpec, ManagerProxy, SESSION_INTERFACE, SessionProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Keyring, Listen, PrivateBus};
use codex_launcher_e2e::{scratch_dir, stub, workspace_bin};
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};
use futures::StreamExt;

/// A stand-in for Codex (and the Desktop): writes its environment to `<script>.env.<pid>`.
const DUMP_ENV: &str = "#!/bin/sh\nenv > \"$0.part.$$\"\nmv \"$0.part.$$\" \"$0.env.$$\"\n";

/// The key stored for the endpoint, and variables standing for what a user exports.
const STORED_KEY: &str = "sk-test-stored-credential-1";
const CREDENTIALS: [(&str, &str); 6] = [
    ("OPENAI_API_KEY", "sk-test-env-openai"),
    ("DEEPSEEK_API_KEY", "sk-test-env-deepseek"),
    ("ANTHROPIC_API_KEY", "sk-test-env-anthropic"),
    // Where the endpoint's key was read from, holding a rotated key by now.
    ("MY_DS_KEY", "sk-test-rotated"),
    // A copy of the stored key under a name nobody would guess.
    ("STORED_COPY", STORED_KEY),
    ("ZAI_API_KEY", "sk-test-env-zai"),
];
/// Variables that are the user's and must stay.
const THEIRS: [(&str, &str); 2] = [("GITHUB_TOKEN", "gh-test-keep"), ("SOME_SETTING", "keep")];

async fn exits(conn: &zbus::Connection) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(SESSION_INTERFACE)
        .member("Exited")
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, std::num::NonZeroUsize::new(16))
        .await
        .expect("subscribe")
}

async fn wait_exit(stream: &mut zbus::MessageStream, path: &zbus::OwnedObjectPath) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("Exited in time")
            .expect("stream")
            .expect("signal");
        if msg
            .header()
            .path()
            .is_some_and(|p| p.as_str() == path.as_str())
        {
            return;
        }
    }
}

fn dumped(dir: &Path, pid: u32) -> String {
    std::fs::read_to_string(dir.join(format!("codex.env.{pid}")))
        .unwrap_or_else(|e| panic!("the stand-in {pid} wrote no environment: {e}"))
}

fn check_env(mode: &str, env: &str) {
    for (name, value) in CREDENTIALS {
        assert!(
            !env.lines().any(|l| l.starts_with(&format!("{name}="))),
            "{mode}: {name} reached Codex"
        );
        assert!(
            !env.contains(value),
            "{mode}: a credential's value reached Codex"
        );
    }
    for (name, value) in THEIRS {
        assert!(
            env.lines().any(|l| l == format!("{name}={value}")),
            "{mode}: the user's {name} was taken away"
        );
    }
}

fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_starts_without_provider_credentials_in_every_mode() {
    let dir = scratch_dir("credentials");
    let codex = stub(dir.path(), "codex", DUMP_ENV);
    let codex_path = codex.to_str().expect("utf-8").to_owned();
    let bus = PrivateBus::start(None, &[]);
    let mut env: Vec<(&str, &str)> = vec![
        ("CODEX_BIN", codex_path.as_str()),
        ("CODEX_LAUNCHER_DESKTOP_CMD", codex_path.as_str()),
        // `cli` modes run "TERMINAL CODEX …": `env` stands in for the terminal.
        ("CODEX_LAUNCHER_TERMINAL", "env"),
    ];
    env.extend(CREDENTIALS);
    env.extend(THEIRS);
    let daemon = DaemonProcess::start_with_env(&bus, Listen::Own, &env);
    daemon.wait_notify("READY=1");
    let (conn, m) = bus.manager().await;
    let spec = EndpointSpec {
        name: "DS".into(),
        backend: Backend::OpenaiCompat,
        base_url: "http://127.0.0.1:9/v1".into(),
        default_model: "m".into(),
        ..EndpointSpec::default()
    };
    let id = m.add_endpoint(spec, STORED_KEY).await.expect("add");
    m.set_key_source(&id, "MY_DS_KEY").await.expect("source");
    let mut exited = exits(&conn).await;
    let work = dir.path().to_str().expect("utf-8").to_owned();

    for mode in ["exec", "cli", "desktop", "default-cli", "default-desktop"] {
        let endpoint = if mode.starts_with("default") {
            ""
        } else {
            id.as_str()
        };
        let options: HashMap<String, String> = [
            ("prompt".to_owned(), "hi".to_owned()),
            ("workdir".to_owned(), work.clone()),
        ]
        .into();
        let path = m
            .launch(endpoint, "", mode, options)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let pid = SessionProxy::builder(&conn)
            .path(path.clone())
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .expect("session")
            .pid()
            .await
            .expect("pid");
        wait_exit(&mut exited, &path).await;
        let env = dumped(dir.path(), pid);
        check_env(mode, &env);
        assert_eq!(
            env.contains("CODEX_LAUNCHER_TOKEN=cls"),
            !mode.starts_with("default"),
            "{mode}: the session token, only where the proxy is used\n{env}"
        );
    }

    // `codexctl run` in a shell that exported the same variables.
    let dumps = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.to_string_lossy().contains("codex.env."))
            .collect()
    };
    let before = dumps();
    let out = Command::new(workspace_bin("codexctl"))
        .args(["run", "-e", &id, "--", "exec", "hi"])
        .current_dir(dir.path())
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .envs(CREDENTIALS)
        .envs(THEIRS)
        .stdin(Stdio::null())
        .output()
        .expect("codexctl run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new: Vec<std::path::PathBuf> = dumps()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "the run's Codex dumped its environment once");
    check_env("run", &std::fs::read_to_string(&new[0]).expect("dump"));
    assert!(
        !daemon.stderr().contains(STORED_KEY),
        "no key in the daemon's log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_headers_are_kept_like_keys() {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-header-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("FIRST"));
    mock.push(Reply::text("SECOND"));
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let ctl = |args: &[&str]| {
        let out = Command::new(workspace_bin("codexctl"))
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("HEADER_TEST_KEY", "sk-test-header-key")
            .stdin(Stdio::null())
            .output()
            .expect("codexctl");
        assert!(
            out.status.success(),
            "codexctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let url = mock.base_url();
    ctl(&[
        "endpoint",
        "add",
        "--name",
        "Headers",
        "--url",
        &url,
        "--model",
        "mock-model",
        "--api-key-env",
        "HEADER_TEST_KEY",
        "--header",
        "X-Api-Token=tok-test-by-name",
        "--header",
        "HTTP-Referer=https://me.example",
        "--secret-header",
        "X-Team=team-test-by-mark",
    ]);
    let secrets = ["tok-test-by-name", "team-test-by-mark"];
    for out in [
        ctl(&["endpoint", "show", "headers"]),
        ctl(&["endpoint", "show", "headers", "--json"]),
        ctl(&["endpoint", "list", "--json"]),
    ] {
        assert!(secrets.iter().all(|s| !out.contains(s)), "shown: {out}");
        assert!(out.contains("HTTP-Referer"), "{out}");
    }
    let shown = ctl(&["endpoint", "show", "headers"]);
    assert!(
        shown.contains("X-Api-Token=***") && shown.contains("X-Team=***"),
        "{shown}"
    );
    assert!(shown.contains("HTTP-Referer=https://me.example"), "{shown}");

    let files = scratch_dir("header-exports");
    let plain = files.path().join("plain.json");
    let keyed = files.path().join("keyed.json");
    ctl(&["profile", "export", "-o", plain.to_str().expect("utf-8")]);
    ctl(&[
        "profile",
        "export",
        "--include-keys",
        "-o",
        keyed.to_str().expect("utf-8"),
    ]);
    let plain = std::fs::read_to_string(&plain).expect("plain export");
    let keyed = std::fs::read_to_string(&keyed).expect("keyed export");
    assert!(secrets.iter().all(|s| !plain.contains(s)), "{plain}");
    assert!(secrets.iter().all(|s| keyed.contains(s)), "{keyed}");
    let store_file = daemon
        .home
        .path()
        .join(".config/codex-launcher/endpoints.json");
    let store = std::fs::read_to_string(&store_file).expect("store");
    assert!(secrets.iter().all(|s| !store.contains(s)), "{store}");

    // Upstream, every header goes as set.
    let port = m.proxy_address().await.expect("address");
    let answer = post(&port, &daemon.token(), "headers");
    assert!(answer.contains("FIRST"), "{answer}");
    let req = &mock.requests()[0];
    assert_eq!(req.header("x-api-token"), Some("tok-test-by-name"));
    assert_eq!(req.header("x-team"), Some("team-test-by-mark"));
    assert_eq!(req.header("http-referer"), Some("https://me.example"));

    // A file saved by the old rules (the value in endpoints.json) is migrated on load.
    let home = daemon.stop();
    let old = std::fs::read_to_string(&store_file)
        .expect("store")
        .replacen(
            "\"X-Api-Token\",\n          \"\"",
            "\"X-Api-Token\",\n          \"tok-test-old-file\"",
            1,
        );
    assert!(
        old.contains("tok-test-old-file"),
        "the old form written: {old}"
    );
    std::fs::write(&store_file, &old).expect("old store");
    let daemon = DaemonProcess::start_in(&bus, Listen::Own, home);
    daemon.wait_notify("READY=1");
    let migrated = std::fs::read_to_string(&store_file).expect("store");
    assert!(!migrated.contains("tok-test-old-file"), "{migrated}");
    let answer = post(
        &m.proxy_address().await.expect("address"),
        &daemon.token(),
        "headers",
    );
    assert!(answer.contains("SECOND"), "{answer}");
    assert_eq!(
        mock.requests()[1].header("x-api-token"),
        Some("tok-test-old-file")
    );
    for s in secrets.iter().chain(&["tok-test-old-file"]) {
        assert!(!daemon.stderr().contains(s), "{s} in the log");
    }
}

/// A non-streaming Responses request through the daemon's proxy; the raw answer.
fn post(address: &str, token: &str, endpoint: &str) -> String {
    use std::io::{Read, Write};
    let port: u16 = address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let body = r#"{"model":"mock-model","input":"hi","stream":false,"store":false}"#;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "POST /e/{endpoint}/v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_keyring_is_never_replaced_by_the_file() {
    tokio::time::timeout(Duration::from_secs(180), locked_keyring())
        .await
        .expect("the locked-keyring test finished within 180 s");
}

async fn locked_keyring() {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some("sk-test-locked-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("UNLOCKED AT LAST"));
    let bus = PrivateBus::start(None, &[]);
    let keyring = Keyring::start(&bus).await;
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let spec = EndpointSpec {
        name: "Locked".into(),
        backend: Backend::OpenaiCompat,
        base_url: mock.base_url(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    };
    let id = m
        .add_endpoint(spec.clone(), "sk-test-locked-key")
        .await
        .expect("add");
    assert_eq!(m.key_storage().await.expect("prop"), "secret-service");
    let home = daemon.stop();

    // The keyring is locked when the daemon starts.
    keyring.lock(&bus).await;
    let daemon = DaemonProcess::start_in(&bus, Listen::Own, home);
    daemon.wait_notify("READY=1");
    let keys_file = daemon
        .home
        .path()
        .join(".local/state/codex-launcher/keys.json");
    assert_eq!(m.key_storage().await.expect("prop"), "locked");
    let mut other = spec.clone();
    other.name = "Another".into();
    let err = m
        .add_endpoint(other, "sk-test-new-key")
        .await
        .expect_err("no key can be stored");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.Keyring");
    let err = m
        .set_api_key(&id, "sk-test-new-key")
        .await
        .expect_err("no key can be stored");
    assert_eq!(error_name(&err), "io.github.CodexLauncher1.Error.Keyring");
    assert!(
        !keys_file.exists(),
        "no plaintext fallback while the keyring is locked"
    );
    let answer = post(
        &m.proxy_address().await.expect("address"),
        &daemon.token(),
        &id,
    );
    assert!(answer.contains("keyring is locked"), "{answer}");
    assert!(
        mock.requests().is_empty(),
        "nothing went out without the key"
    );
    let out = Command::new(workspace_bin("codexctl"))
        .arg("status")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("codexctl status");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("locked: unlock it"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Unlocked: the daemon uses it without a restart.
    // Property change streams need a caching proxy.
    let (conn, _) = bus.manager().await;
    let watching = ManagerProxy::new(&conn).await.expect("caching proxy");
    assert_eq!(watching.key_storage().await.expect("prop"), "locked");
    let mut changed = watching.receive_key_storage_changed().await;
    keyring.unlock(&bus).await;
    loop {
        let storage = tokio::time::timeout(Duration::from_secs(30), changed.next())
            .await
            .expect("KeyStorage changed in time")
            .expect("stream");
        if storage.get().await.expect("value") == "secret-service" {
            break;
        }
    }
    assert!(m.get_endpoint(&id).await.expect("get").has_key);
    let answer = post(
        &m.proxy_address().await.expect("address"),
        &daemon.token(),
        &id,
    );
    assert!(answer.contains("UNLOCKED AT LAST"), "{answer}");
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some("Bearer sk-test-locked-key")
    );
    assert!(!keys_file.exists(), "still no key file");
    assert!(!daemon.stderr().contains("sk-test-locked-key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_keys_go_to_the_file_and_move_into_one_made_later() {
    tokio::time::timeout(Duration::from_secs(180), no_default_keyring())
        .await
        .expect("the no-keyring test finished within 180 s");
}

/// A Secret Service runs (D-Bus activates gnome-keyring) but no keyring was ever made, as
/// on a headless session: storing a key works, in the 0600 file, and says so. Once the user
/// makes a keyring, the next start moves the key into it and out of the file.
async fn no_default_keyring() {
    const KEY: &str = "sk-test-file-then-keyring";
    let mock = MockUpstream::start(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("FROM THE KEYRING"));
    let bus = PrivateBus::start(None, &[]);
    let empty = Keyring::start_empty(&bus).await;
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    assert_eq!(m.key_storage().await.expect("prop"), "file");
    let spec = EndpointSpec {
        name: "Headless".into(),
        backend: Backend::OpenaiCompat,
        base_url: mock.base_url(),
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    };
    let id = m
        .add_endpoint(spec, KEY)
        .await
        .expect("a key is stored without a keyring");
    let keys_file = daemon
        .home
        .path()
        .join(".local/state/codex-launcher/keys.json");
    let mode = std::fs::metadata(&keys_file)
        .expect("keys file")
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    assert!(
        daemon.stderr().contains("no default keyring yet"),
        "the journal says where keys went"
    );
    let home = daemon.stop();
    drop(empty);

    let _keyring = Keyring::start(&bus).await;
    let daemon = DaemonProcess::start_in(&bus, Listen::Own, home);
    daemon.wait_notify("READY=1");
    assert_eq!(m.key_storage().await.expect("prop"), "secret-service");
    assert!(m.get_endpoint(&id).await.expect("get").has_key);
    let answer = post(
        &m.proxy_address().await.expect("address"),
        &daemon.token(),
        &id,
    );
    assert!(answer.contains("FROM THE KEYRING"), "{answer}");
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let file = std::fs::read_to_string(&keys_file).unwrap_or_default();
    assert!(!file.contains(KEY), "the key left the file");
    assert!(!daemon.stderr().contains(KEY));
}
