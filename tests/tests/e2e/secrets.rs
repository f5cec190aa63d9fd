//! No key leaves the key store: the daemon runs with known test API keys on endpoints backed
//! by mock upstreams, is exercised the way a user exercises it (proxied requests, model
//! fetch, profile export without keys, endpoint listings, `codexctl`, errors from a bad key
//! and from an upstream that echoes the key back, a reload, a stop), and then everything it
//! wrote or said is searched for the keys: its stderr (the journal's input; at the most
//! verbose level, `trace`), every file under its `$HOME` but the key store itself, the
//! exported profile, every D-Bus reply it sent us, every signal, reply and error on the bus
//! (captured by `dbus-monitor`), what `codexctl` printed, and the HTTP answers of its proxy.
//!
//! Positive controls keep the search honest: the key store holds the keys, and an export
//! *with* keys contains them, so a search that cannot find a key would fail the test.
//!
//! The turn recorder (issue 18) is exercised too: every turn recorded (successes included,
//! so the streams are kept), a secret header on one endpoint, a session's own token on one
//! request, a probe whose exchanges fail. No recorded or exported turn (every record file,
//! every `GetTurn`, every `ExportTurn` with and without `--redact-text`, `codexctl turns
//! show` and `export`) may hold a key, the secret header's value, the install token or the
//! session token.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use codex_launcher_dbus::{EndpointSpec, ManagerProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{scratch_dir, workspace_bin};
use codex_launcher_mock_upstream::{Flavor, MockConfig, MockUpstream, Reply};
use serde_json::json;

/// The keys under test: distinctive, so a hit is never a coincidence.
const CHAT_KEY: &str = "sk-test-SECRETS-chat-8d1f4c7e2b9a";
const ANTHROPIC_KEY: &str = "sk-ant-test-SECRETS-anthropic-5e3b";
const COMMAND_CODE_KEY: &str = "user_test_SECRETS_cc_a17c0d93";
/// Held by an endpoint whose upstream expects another key.
const WRONG_KEY: &str = "sk-test-SECRETS-wrong-6c2e90b1f4";
/// Set later with SetApiKey (rotation).
const ROTATED_KEY: &str = "sk-test-SECRETS-rotated-0f7a3d55";
/// A secret header value (`X-Api-Token` on the Chat endpoint), kept like a key.
const HEADER_SECRET: &str = "hdr-test-SECRETS-token-7b1e94c2";

const ALL_KEYS: [&str; 6] = [
    CHAT_KEY,
    ANTHROPIC_KEY,
    COMMAND_CODE_KEY,
    WRONG_KEY,
    ROTATED_KEY,
    HEADER_SECRET,
];

/// Distinctive fragments too: a key cut short, or hex-encoded, is still a leak of the part
/// that matters. Each needle has a label, so a failure names the key without printing it.
fn needles() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for (i, k) in ALL_KEYS.iter().enumerate() {
        let tail = &k[k.len() - 10..];
        v.push((format!("key #{i}"), (*k).to_owned()));
        v.push((format!("key #{i}, last 10 characters"), tail.to_owned()));
        v.push((
            format!("key #{i}, last 10 characters in hex"),
            hex(tail.as_bytes()),
        ));
    }
    v
}

/// What must never be in a recorded or exported turn: the keys, the secret header's value,
/// the install token and the session's token (the session's id before the dot is not
/// secret: the secret part is searched for).
fn turn_needles(install_token: &str, session_token: &str) -> Vec<(String, String)> {
    let mut v = needles();
    v.push(("the secret header's value".into(), HEADER_SECRET.into()));
    v.push(("the install token".into(), install_token.to_owned()));
    let secret_part = session_token
        .split_once('.')
        .map_or(session_token, |(_, s)| s);
    v.push(("the session token".into(), secret_part.to_owned()));
    v
}

/// A path in a scratch directory that lives as long as the test binary (for exports).
fn export_dir_path(name: &str) -> String {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| scratch_dir("secrets-turns"))
        .path()
        .join(name)
        .display()
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a piece of text came from, and the text.
struct Evidence {
    source: String,
    text: String,
}

#[derive(Default)]
struct Corpus(Vec<Evidence>);

impl Corpus {
    fn add(&mut self, source: impl Into<String>, text: impl Into<String>) {
        self.0.push(Evidence {
            source: source.into(),
            text: text.into(),
        });
    }

    fn add_debug(&mut self, source: &str, value: &impl std::fmt::Debug) {
        self.add(source, format!("{value:?}"));
    }

    /// Every file under `dir`, recursively, except `skip`.
    fn add_tree(&mut self, dir: &Path, skip: &[PathBuf]) -> usize {
        let mut n = 0;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                n += self.add_tree(&path, skip);
            } else if meta.is_file() && !skip.contains(&path) {
                let bytes = std::fs::read(&path).unwrap_or_default();
                self.add(
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                );
                n += 1;
            }
        }
        n
    }

    /// Every hit: (source, which key).
    fn hits(&self) -> Vec<(String, String)> {
        self.hits_of(&needles())
    }

    /// Every hit of `needles`: (source, which).
    fn hits_of(&self, needles: &[(String, String)]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for e in &self.0 {
            for (label, n) in needles {
                if e.text.contains(n.as_str()) {
                    out.push((e.source.clone(), label.clone()));
                }
            }
        }
        out
    }
}

/// `dbus-monitor` on the private bus, recording what the daemon sends: signals, method
/// replies and errors. (Method calls are left out: ours carry the keys in, by design.)
struct Monitor {
    child: Child,
    out: PathBuf,
}

impl Monitor {
    fn start(bus: &PrivateBus) -> Monitor {
        let out = bus.dir().join("monitor.log");
        let child = Command::new("dbus-monitor")
            .arg("--address")
            .arg(&bus.address)
            .args(["type='signal'", "type='method_return'", "type='error'"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("monitor log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dbus-monitor (apt install dbus)");
        Monitor { child, out }
    }

    /// Stop and return what it saw.
    fn finish(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP request to the daemon's proxy; the whole answer (head and body).
fn http(port: u16, method: &str, path: &str, token: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn spec(name: &str, backend: &str, url: String) -> EndpointSpec {
    EndpointSpec {
        name: name.into(),
        backend: backend.parse().expect("a backend"),
        base_url: url,
        default_model: "mock-model".into(),
        ..EndpointSpec::default()
    }
}

async fn codexctl(bus: &PrivateBus, home: &Path, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(workspace_bin("codexctl"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run codexctl");
    (
        out.status.success(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const REQUEST: &str = r#"{"model":"mock-model","stream":true,"store":false,"input":"hi"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn no_key_in_anything_the_daemon_writes_or_says() {
    let chat = MockUpstream::start(MockConfig {
        flavor: Flavor::DeepSeek,
        api_key: Some(CHAT_KEY.into()),
        models: vec!["alpha-1".into(), "beta-2".into()],
        ..MockConfig::default()
    })
    .await
    .expect("chat mock");
    let anthropic = MockUpstream::start(MockConfig {
        api_key: Some(ANTHROPIC_KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("anthropic mock");
    let command_code = MockUpstream::start(MockConfig {
        api_key: Some(COMMAND_CODE_KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("command code mock");
    // Expects CHAT_KEY; the endpoint on it holds WRONG_KEY.
    let strict = MockUpstream::start(MockConfig {
        api_key: Some(CHAT_KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("strict mock");

    let bus = PrivateBus::start(None, &[]);
    let monitor = Monitor::start(&bus);
    // A stand-in Codex, so that PrepareRun can plan a session (whose token is used below).
    let stub_dir = scratch_dir("secrets-codex");
    let codex = stub_dir.path().join("codex");
    std::fs::write(&codex, "#!/bin/sh\necho codex-cli 0.171.0\n").expect("stub");
    std::fs::set_permissions(&codex, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    // The most verbose log there is: debug bodies, and every crate's tracing.
    let mut daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[
            ("RUST_LOG", "trace"),
            ("CODEX_BIN", codex.to_str().expect("utf-8")),
        ],
    );
    daemon.wait_notify("READY=1");
    let home = daemon.home.path().to_path_buf();
    let conn = bus.connect().await;
    let m = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("manager proxy");
    let mut corpus = Corpus::default();

    // Endpoints with keys; every reply is evidence.
    // Every turn recorded, successes too: the records then hold the streams both ways.
    m.set_turn_recording("", true)
        .await
        .expect("record every turn");
    let mut recorded = m.receive_turn_recorded().await.expect("subscribe");
    let mut chat_spec = spec("Chat", "openai-compat", chat.base_url());
    chat_spec.extra_headers = vec![("X-Gateway-Token".into(), HEADER_SECRET.into())];
    let chat_id = m
        .add_endpoint(
            chat_spec, WRONG_KEY, // rotated to the right key below
        )
        .await
        .expect("add chat");
    let rotated = m
        .set_api_key(&chat_id, CHAT_KEY)
        .await
        .expect("set the right key");
    corpus.add_debug("SetApiKey reply", &rotated);
    m.set_header(&chat_id, "X-Api-Token", HEADER_SECRET, true)
        .await
        .expect("secret header");
    corpus.add_debug(
        "GetEndpoint with a secret header",
        &m.get_endpoint(&chat_id).await,
    );
    let anthropic_id = m
        .add_endpoint(
            spec("Claude", "anthropic", anthropic.root_url()),
            ANTHROPIC_KEY,
        )
        .await
        .expect("add anthropic");
    let cc_id = m
        .add_endpoint(
            spec("CC", "command-code", command_code.root_url()),
            COMMAND_CODE_KEY,
        )
        .await
        .expect("add command code");
    let wrong_id = m
        .add_endpoint(
            spec("Wrong key", "openai-compat", strict.base_url()),
            WRONG_KEY,
        )
        .await
        .expect("add wrong-key endpoint");
    let spare_id = m
        .add_endpoint(
            spec("Spare", "openai-compat", strict.base_url()),
            ROTATED_KEY,
        )
        .await
        .expect("add spare");
    corpus.add_debug(
        "AddEndpoint replies",
        &[&chat_id, &anthropic_id, &cc_id, &wrong_id, &spare_id],
    );

    // Model fetch: a good key, and a bad one (the error names the endpoint, not the key).
    corpus.add_debug(
        "FetchModels reply",
        &m.fetch_models(&chat_id).await.expect("fetch models"),
    );
    let err = m
        .fetch_models(&wrong_id)
        .await
        .expect_err("the wrong key is refused");
    corpus.add("FetchModels error (wrong key)", err.to_string());
    corpus.add_debug("FetchModels error (wrong key), debug", &err);

    // Proxied requests: success on each backend, a bad key, and an upstream that echoes the
    // key it was sent back in its error (some providers quote it).
    let token = daemon.token();
    let address = m.proxy_address().await.expect("proxy address");
    let port: u16 = address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    chat.push(Reply::text("chat answer").with_reasoning("thinking hard"));
    anthropic.push(Reply::text("claude answer").with_reasoning("thinking too"));
    command_code.push(Reply::text("cc answer"));
    chat.push(Reply::Status {
        status: 401,
        headers: Vec::new(),
        body: json!({"error": {"message": format!("Incorrect API key provided: {CHAT_KEY}. You can find your API key at https://platform.example/account/api-keys."), "type": "invalid_request_error", "code": "invalid_api_key"}}).to_string(),
    });
    chat.push(Reply::rate_limited(1));
    let mut answers = Vec::new();
    for (id, expect) in [
        (&chat_id, "chat answer"),
        (&anthropic_id, "claude answer"),
        (&cc_id, "cc answer"),
        (&chat_id, "upstream_auth_failed"),
        (&chat_id, "rate_limit_exceeded"),
        (&wrong_id, "upstream_auth_failed"),
    ] {
        let path = format!("/e/{id}/v1/responses");
        let token = token.clone();
        let answer =
            tokio::task::spawn_blocking(move || http(port, "POST", &path, &token, REQUEST))
                .await
                .expect("client");
        assert!(
            answer.contains(expect),
            "{id}: expected {expect}:\n{answer}"
        );
        answers.push(answer);
    }
    for id in [&chat_id, &anthropic_id] {
        let path = format!("/e/{id}/v1/models");
        let token = token.clone();
        answers.push(
            tokio::task::spawn_blocking(move || http(port, "GET", &path, &token, ""))
                .await
                .expect("client"),
        );
    }
    // One request with a session's own token (PrepareRun gives it, as to `codexctl run`).
    let plan = m
        .prepare_run(&chat_id, "", std::collections::HashMap::new())
        .await
        .expect("prepare run");
    let session_token = plan
        .env
        .iter()
        .find(|(k, _)| k == "CODEX_LAUNCHER_TOKEN")
        .map(|(_, v)| v.clone())
        .expect("a session token");
    chat.push(Reply::text("session answer"));
    {
        let (path, token) = (format!("/e/{chat_id}/v1/responses"), session_token.clone());
        let answer =
            tokio::task::spawn_blocking(move || http(port, "POST", &path, &token, REQUEST))
                .await
                .expect("client");
        assert!(answer.contains("session answer"), "{answer}");
        answers.push(answer);
    }
    corpus.add("proxy HTTP answers", answers.join("\n----\n"));

    // Listings, status, the profile without keys.
    corpus.add_debug("ListEndpoints", &m.list_endpoints().await.expect("list"));
    for id in [&chat_id, &anthropic_id, &cc_id, &wrong_id, &spare_id] {
        corpus.add_debug(
            "GetEndpoint",
            &m.get_endpoint(id).await.expect("get endpoint"),
        );
    }
    corpus.add_debug("ProxyStatus", &m.proxy_status().await.expect("status"));
    corpus.add_debug("EndpointIds", &m.endpoint_ids().await.expect("ids"));
    corpus.add_debug("ListPresets", &m.list_presets().await.expect("presets"));
    let profile = m.export_profile(false).await.expect("export");
    assert!(
        profile.contains(&chat_id),
        "the profile lists the endpoints"
    );
    corpus.add("ExportProfile(false)", profile);
    // ProbeEndpoint may still be in progress elsewhere: whatever it answers is evidence.
    if let Ok(r) = tokio::time::timeout(
        Duration::from_secs(60),
        m.probe_endpoint(&wrong_id, "mock-model"),
    )
    .await
    {
        corpus.add_debug("ProbeEndpoint", &r);
    }

    // The turns recorded so far (the recorder writes off the hot path: wait until each
    // answered request above is recorded), read back every way there is.
    let mut turn_corpus = Corpus::default();
    // Six proxied turns and the session's (the probe's come after them: one writer, in order).
    for _ in 0..7 {
        tokio::time::timeout(
            Duration::from_secs(30),
            futures::StreamExt::next(&mut recorded),
        )
        .await
        .expect("every proxied turn is recorded")
        .expect("a signal");
    }
    let turns = m.list_turns(false, "", 0).await.expect("list turns");
    // The probe's failed exchanges (it ran above) are recorded too.
    assert!(turns.len() >= 7, "every turn recorded: {turns:#?}");
    assert!(
        turns
            .iter()
            .any(|t| t.origin == codex_launcher_dbus::TurnOrigin::Probe),
        "the probe's failures are recorded"
    );
    assert!(
        turns.iter().any(|t| t.session != 0),
        "the session's turn is attributed to it"
    );
    assert!(
        turns.iter().any(|t| t.error.contains("Incorrect API key")),
        "the echoed-key failure is recorded (its key removed)"
    );
    turn_corpus.add_debug("ListTurns", &turns);
    for t in &turns {
        let detail = m.get_turn(t.id).await.expect("get turn");
        turn_corpus.add(
            format!("GetTurn({}) record", t.id),
            detail.record_json.clone(),
        );
        turn_corpus.add_debug(&format!("GetTurn({}) sections", t.id), &detail.sections);
        for redact_text in [false, true] {
            turn_corpus.add(
                format!("ExportTurn({}, {redact_text})", t.id),
                m.export_turn(t.id, redact_text).await.expect("export turn"),
            );
        }
    }
    let first = turns.last().expect("a turn").id.to_string();
    let turn_export = export_dir_path("turn.json");
    for args in [
        vec!["turns", "list", "--json"],
        vec!["turns", "show", first.as_str()],
        vec!["turns", "show", first.as_str(), "--json"],
        vec![
            "turns",
            "export",
            first.as_str(),
            "-o",
            turn_export.as_str(),
        ],
        vec!["turns", "record", "--json"],
    ] {
        let (_, out) = codexctl(&bus, &home, &args).await;
        turn_corpus.add(format!("codexctl {}", args.join(" ")), out);
    }
    turn_corpus.add(
        turn_export.clone(),
        std::fs::read_to_string(&turn_export).expect("codexctl turns export wrote the file"),
    );
    // Positive control: the search finds the secret header and the session token where
    // they belong (what the upstream and the proxy received).
    let mut control = Corpus::default();
    control.add_debug("the chat mock's requests", &chat.requests());
    assert!(
        !control
            .hits_of(&turn_needles(&daemon.token(), &session_token))
            .is_empty(),
        "the mock saw the secret header, so the search can find it"
    );

    // The same through codexctl, as a user types it.
    let export_dir = scratch_dir("secrets-export");
    let export_file = export_dir.path().join("profile.json");
    let export_arg = export_file.display().to_string();
    for args in [
        vec!["endpoint", "list", "--json"],
        vec!["endpoint", "show", chat_id.as_str(), "--json"],
        vec!["endpoint", "show", wrong_id.as_str()],
        vec!["status", "--json"],
        vec!["usage", "--json"],
        vec!["model", "list", chat_id.as_str(), "--json"],
        vec!["model", "fetch", wrong_id.as_str()],
        vec!["profile", "export", "-o", export_arg.as_str()],
    ] {
        let (_, out) = codexctl(&bus, &home, &args).await;
        corpus.add(format!("codexctl {}", args.join(" ")), out);
    }
    let exported = std::fs::read_to_string(&export_file).expect("codexctl export wrote the file");
    assert!(exported.contains(&chat_id), "{exported}");
    corpus.add(export_arg.clone(), exported);

    // Reload, remove one endpoint, stop: the paths that rewrite state and log the most.
    daemon.signal("HUP");
    corpus.add_debug("ListEndpoints after reload", &m.list_endpoints().await);
    m.remove_endpoint(&spare_id).await.expect("remove");
    let bus_traffic = monitor.finish();
    assert!(
        bus_traffic.contains("method return"),
        "the monitor saw the daemon's replies"
    );
    corpus.add("dbus-monitor (signals, replies, errors)", bus_traffic);

    // Positive control 1: an export *with* keys does contain them (after the monitor stopped:
    // that reply carries keys by request).
    let with_keys = m.export_profile(true).await.expect("export with keys");
    let mut control = Corpus::default();
    control.add("ExportProfile(true)", with_keys);
    assert_eq!(
        control.hits().len(),
        5 * 2,
        "the search finds the four live keys and the secret header in an export with keys, \
         whole and by their tails"
    );

    daemon.signal("TERM");
    assert_eq!(daemon.wait(), Some(0), "the daemon stops cleanly");

    // Every record the recorder wrote, after everything (the probe's included).
    let records = home.join(".local/state/codex-launcher/turns");
    let n = turn_corpus.add_tree(&records, &[]);
    assert!(n >= 7, "the records and the index: {n} files");
    let hits = turn_corpus.hits_of(&turn_needles(&daemon.token(), &session_token));
    assert!(
        hits.is_empty(),
        "secrets in recorded or exported turns (source, which): {hits:#?}"
    );
    corpus.0.extend(turn_corpus.0);

    // Everything on disk: stderr (under $HOME), config, state, token, caches — all but the
    // key store, which is where keys belong when no Secret Service runs.
    let keys_file = home.join(".local/state/codex-launcher/keys.json");
    let stored = std::fs::read_to_string(&keys_file).expect("key store");
    // Positive control 2: the store holds the live keys (the removed endpoint's is gone).
    for k in [
        CHAT_KEY,
        ANTHROPIC_KEY,
        COMMAND_CODE_KEY,
        WRONG_KEY,
        HEADER_SECRET,
    ] {
        assert!(stored.contains(k), "the key store must hold every live key");
    }
    assert!(
        !stored.contains(ROTATED_KEY),
        "a removed endpoint's key is deleted from the store"
    );
    let files = corpus.add_tree(&home, &[keys_file]);
    let log = daemon.stderr();
    assert!(
        log.contains("TRACE") && log.contains("request"),
        "the log is at trace level and saw the requests"
    );
    assert!(files >= 3, "stderr, endpoints.json and the token at least");

    assert!(
        chat.requests()
            .iter()
            .any(|r| r.header("x-api-token") == Some(HEADER_SECRET)),
        "the secret header went upstream, so the trace log had its chance to show it"
    );
    let hits = corpus.hits();
    assert!(hits.is_empty(), "keys found (source, which key): {hits:#?}");
    for mock in [&chat, &anthropic, &command_code, &strict] {
        assert_eq!(mock.pending(), 0, "every scripted reply was used");
    }
}
