//! The turn recorder end to end (issue 18): the real Codex CLI through a real daemon to a mock
//! provider that rejects the turn with a 400 about a tool schema. The failed turn is listed
//! and shown by `codexctl`, replayed on a second provider that accepts it, and exported
//! without keys or secret headers (and, with `--redact-text`, without message text). Then
//! retention: a thousand failed turns leave a bounded directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_launcher_dbus::{Backend, EndpointSpec};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{Codex, codex_label, scratch_dir, workspace_bin};
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};
use futures::StreamExt;
use serde_json::Value;

const BAD_KEY: &str = "sk-test-TURNS-bad-4e1d9a7c03";
const GOOD_KEY: &str = "sk-test-TURNS-good-b62f05e8d1";
/// A secret header value on the failing endpoint (a gateway's token).
const GATEWAY_TOKEN: &str = "gw-TURNS-secret-header-77c1a0";
const PROMPT: &str = "Rename the helper module to utilities and update its imports";
const REFUSAL: &str = "Invalid schema for function 'exec_command': In context=('properties', 'cmd'), 'type' is required";

fn spec(name: &str, url: String, headers: Vec<(String, String)>) -> EndpointSpec {
    EndpointSpec {
        name: name.into(),
        backend: Backend::OpenaiCompat,
        base_url: url,
        default_model: "mock-model".into(),
        extra_headers: headers,
        ..EndpointSpec::default()
    }
}

/// `codexctl ARGS` on the test's bus: (exit code, stdout, stderr).
async fn ctl(bus: &PrivateBus, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(workspace_bin("codexctl"))
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run codexctl");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn ctl_ok(bus: &PrivateBus, args: &[&str]) -> String {
    let (code, out, err) = ctl(bus, args).await;
    assert_eq!(code, Some(0), "codexctl {}:\n{out}\n{err}", args.join(" "));
    out
}

/// The turn records in `dir` (not the index or temporaries).
fn record_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("turn-") && n.ends_with(".json"))
    });
    files.sort();
    files
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_codex_turn_is_listed_shown_replayed_elsewhere_and_exported() {
    let bad = MockUpstream::start(MockConfig {
        api_key: Some(BAD_KEY.into()),
        // Whatever Codex sends, the provider refuses it the way strict schema hosts do.
        default_reply: Some(Reply::status_json(400, REFUSAL)),
        ..MockConfig::default()
    })
    .await
    .expect("bad mock");
    let good = MockUpstream::start(MockConfig {
        api_key: Some(GOOD_KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("good mock");
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let bad_id = m
        .add_endpoint(
            spec(
                "Strict",
                bad.base_url(),
                vec![("X-Gateway-Token".into(), GATEWAY_TOKEN.into())],
            ),
            BAD_KEY,
        )
        .await
        .expect("add bad");
    let good_id = m
        .add_endpoint(spec("Good", good.base_url(), Vec::new()), GOOD_KEY)
        .await
        .expect("add good");
    assert_eq!(good_id, "good");
    let info = m.get_endpoint(&bad_id).await.expect("endpoint");
    let token = daemon.token();

    // The real Codex, one turn, refused.
    let mut recorded = m.receive_turn_recorded().await.expect("subscribe");
    let codex = Codex::new(info.proxy_url.clone())
        .token(&token)
        .prompt(PROMPT);
    let run = tokio::task::spawn_blocking(move || codex.run())
        .await
        .expect("codex");
    assert_ne!(
        run.code,
        Some(0),
        "Codex ({}) cannot finish a refused turn:\n{}\n{}",
        codex_label(),
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr.contains("Invalid schema for function"),
        "Codex shows the provider's message:\n{}",
        run.stderr
    );
    tokio::time::timeout(Duration::from_secs(30), recorded.next())
        .await
        .expect("the failed turn is recorded")
        .expect("a signal");

    // Listed.
    let listed: Value =
        serde_json::from_str(&ctl_ok(&bus, &["turns", "list", "--failed", "--json"]).await)
            .expect("JSON list");
    let turns = listed.as_array().expect("a list");
    let turn = turns
        .iter()
        .find(|t| t["endpoint"] == bad_id.as_str())
        .unwrap_or_else(|| panic!("the turn on `{bad_id}`: {listed:#}"));
    let n = turn["id"].as_u64().expect("an id");
    assert_eq!(turn["outcome"], "failed");
    assert_eq!(turn["stage"], "status");
    assert_eq!(turn["status"], 400);
    assert_eq!(turn["model"], "mock-model");
    assert!(
        turn["error"]
            .as_str()
            .is_some_and(|e| e.contains("Invalid schema for function 'exec_command'")),
        "{turn}"
    );
    let table = ctl_ok(&bus, &["turns", "list", "--failed"]).await;
    assert!(
        table.contains(&bad_id) && table.contains("failed (400)"),
        "{table}"
    );

    // Shown: the upstream's message, where it failed, the request in short, the quirk row.
    let shown = ctl_ok(&bus, &["turns", "show", &n.to_string()]).await;
    for wanted in [
        REFUSAL,
        "the upstream answered with an error status: HTTP 400",
        "Codex's request",
        "tools",
        "Upstream request",
        "/chat/completions",
        "Quirk row",
    ] {
        assert!(shown.contains(wanted), "`{wanted}` in:\n{shown}");
    }
    assert!(!shown.contains(BAD_KEY) && !shown.contains(GATEWAY_TOKEN));

    // Replayed on the provider that accepts it: translated afresh, sent with its own key.
    good.push(Reply::text("Renamed on the good provider."));
    let replayed = ctl_ok(&bus, &["turns", "replay", &n.to_string(), "-e", "good"]).await;
    assert!(
        replayed.contains("succeeded") && replayed.contains("recorded as turn"),
        "{replayed}"
    );
    let seen = good.requests();
    assert_eq!(seen.len(), 1, "{:?}", good.rejections());
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {GOOD_KEY}").as_str())
    );
    assert!(
        seen[0].body.to_string().contains(PROMPT),
        "Codex's request, translated for `good`"
    );
    let all: Value =
        serde_json::from_str(&ctl_ok(&bus, &["turns", "list", "--json"]).await).expect("JSON");
    let replay = all
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["replay_of"] == n)
        .unwrap_or_else(|| panic!("the replay, linked to {n}: {all:#}"));
    assert_eq!(replay["endpoint"], "good");
    assert_eq!(replay["outcome"], "completed");
    assert_eq!(replay["origin"], "replay");
    let m_id = replay["id"].as_u64().expect("id");

    // As recorded, against the strict provider: refused again, exit 7, recorded and linked.
    let (code, out, _) = ctl(&bus, &["turns", "replay", &n.to_string()]).await;
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("failed (HTTP 400)"), "{out}");
    let resent = bad.requests();
    let last = resent.last().expect("resent");
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {BAD_KEY}").as_str()),
        "the current key, the recorded one being redacted"
    );
    assert_eq!(last.header("x-gateway-token"), Some(GATEWAY_TOKEN));
    assert_eq!(
        last.body,
        resent[resent.len() - 2].body,
        "the body as recorded"
    );

    // Exported: no key, no secret header, no token; with --redact-text, no message text.
    let out = scratch_dir("turns-export");
    let plain = out.path().join("plain.json");
    let redacted = out.path().join("redacted.json");
    let replay_redacted = out.path().join("replay-redacted.json");
    for (turn, file, extra) in [
        (n, &plain, None),
        (n, &redacted, Some("--redact-text")),
        (m_id, &replay_redacted, Some("--redact-text")),
    ] {
        let id = turn.to_string();
        let path = file.display().to_string();
        let mut args = vec!["turns", "export", id.as_str(), "-o", path.as_str()];
        args.extend(extra);
        ctl_ok(&bus, &args).await;
        assert_eq!(mode(file), 0o600);
    }
    let plain = std::fs::read_to_string(&plain).expect("export");
    let redacted = std::fs::read_to_string(&redacted).expect("export");
    let replay_redacted = std::fs::read_to_string(&replay_redacted).expect("export");
    assert!(
        plain.contains(PROMPT),
        "the plain export holds the conversation"
    );
    assert!(plain.contains(REFUSAL));
    assert!(
        !redacted.contains(PROMPT) && !redacted.contains("Rename the helper"),
        "--redact-text leaves no message text"
    );
    assert!(
        !replay_redacted.contains("Renamed on the good")
            && !replay_redacted.contains("good provider"),
        "nor the model's answer"
    );
    assert!(redacted.contains(REFUSAL), "the provider's refusal stays");
    assert!(
        redacted.contains("exec_command"),
        "tool declarations stay: they are what was refused"
    );
    let secrets = [BAD_KEY, GOOD_KEY, GATEWAY_TOKEN, token.as_str()];
    let records = daemon.home.path().join(".local/state/codex-launcher/turns");
    assert_eq!(mode(&records), 0o700);
    let files = record_files(&records);
    assert!(files.len() >= 3, "{files:?}");
    let mut texts = vec![
        ("plain export".to_owned(), plain),
        ("redacted export".to_owned(), redacted),
        ("redacted replay export".to_owned(), replay_redacted),
    ];
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        texts.push((
            f.display().to_string(),
            std::fs::read_to_string(f).expect("record"),
        ));
    }
    for (what, text) in &texts {
        for (i, secret) in secrets.iter().enumerate() {
            assert!(!text.contains(secret), "secret #{i} in {what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_failures_leave_a_bounded_directory() {
    let mock = MockUpstream::start(MockConfig {
        default_reply: Some(Reply::status_json(400, "refused, once more")),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let id = m
        .add_endpoint(spec("Refusing", mock.base_url(), Vec::new()), "sk-test-x")
        .await
        .expect("add");
    let limits = ctl_ok(
        &bus,
        &[
            "turns",
            "retention",
            "--failures",
            "20",
            "--max-size",
            "48KiB",
        ],
    )
    .await;
    assert!(limits.contains("at most 20 failed"), "{limits}");
    let port: u16 = m
        .proxy_address()
        .await
        .expect("address")
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let token = daemon.token();
    let records = daemon.home.path().join(".local/state/codex-launcher/turns");
    let mut recorded = m.receive_turn_recorded().await.expect("subscribe");
    let client = std::sync::Arc::new(Client::new(port, token));
    // Four clients at once: the recorder's queue sees bursts, not one turn at a time.
    let total = 1_000;
    let mut sent = 0;
    let mut seen = 0u64;
    let mut max_files = 0;
    while sent < total {
        let batch: Vec<_> = (0..4)
            .map(|_| {
                let c = client.clone();
                tokio::task::spawn_blocking(move || c.refused())
            })
            .collect();
        for b in batch {
            assert_eq!(b.await.expect("client"), 400);
        }
        sent += 4;
        // Every answered turn is recorded (or counted as dropped, which this pace avoids).
        while seen < sent {
            tokio::time::timeout(Duration::from_secs(30), recorded.next())
                .await
                .expect("recorded in time")
                .expect("a signal");
            seen += 1;
        }
        max_files = max_files.max(record_files(&records).len());
    }
    let files = record_files(&records);
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    assert!(files.len() <= 20, "{} files", files.len());
    assert!(
        max_files <= 20,
        "at most 20 after any turn, saw {max_files}"
    );
    assert!(total_bytes <= 48 * 1024, "{total_bytes} bytes");
    let log = std::fs::read_to_string(records.join("index.jsonl")).expect("index");
    assert!(
        log.lines().count() <= 2 * 20 + 64 + 50,
        "the index log is compacted: {} lines",
        log.lines().count()
    );
    let recording = m.turn_recording().await.expect("recording");
    assert_eq!(recording.dropped, 0);
    // A file holds the records of one batch (a few at this pace); the index counts what the
    // files hold.
    assert!(recording.turns as usize >= files.len());
    assert!(recording.turns <= 20, "{} kept", recording.turns);
    assert_eq!(recording.bytes, total_bytes);
    let listed = m.list_turns(true, &id, 0).await.expect("list");
    assert_eq!(listed.len() as u64, recording.turns);
    assert_eq!(listed[0].id, 1_000, "the newest kept; the oldest went");
    assert_eq!(mock.requests().len(), 1_000);

    // A restart finds the same records.
    let home = daemon.stop();
    let daemon = DaemonProcess::start_in(&bus, Listen::Own, home);
    daemon.wait_notify("READY=1");
    let (_conn, m) = bus.manager().await;
    let again = m.list_turns(true, "", 0).await.expect("list");
    assert_eq!(
        again.iter().map(|t| t.id).collect::<Vec<_>>(),
        listed.iter().map(|t| t.id).collect::<Vec<_>>()
    );
}

/// A minimal HTTP/1.1 client for the proxy (one connection per request).
struct Client {
    port: u16,
    token: String,
}

impl Client {
    fn new(port: u16, token: String) -> Client {
        Client { port, token }
    }

    /// One Codex-shaped turn; the status.
    fn refused(&self) -> u16 {
        use std::io::{Read, Write};
        let body = r#"{"model":"mock-model","stream":true,"store":false,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}]}"#;
        let mut s =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the proxy");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            s,
            "POST /e/refusing/v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.token,
            body.len()
        )
        .expect("write");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }
}
