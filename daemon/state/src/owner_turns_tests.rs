//! The turn recorder through the owner (issue 18): a real proxy served in-process in front of
//! mock upstreams, requests sent the way Codex sends them, and the owner asked what it kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use codex_launcher_engine::keys::FileKeys;
use codex_launcher_engine::model::{Endpoint, Model};
use codex_launcher_engine::paths::Paths;
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};
use codex_launcher_proxy::{ProxyState, Settings};
use codex_launcher_types::{Backend, TurnOrigin, TurnOutcome};
use tokio::sync::broadcast;

use super::*;
use crate::clock::Clock;
use crate::keystore::FileKeyStore;
use crate::views::TurnFilter;

const KEY: &str = "sk-test-owner-turns-91c4e7";
const HEADER_SECRET: &str = "hdr-owner-turns-3b8d";
const TOKEN: &str = "owner-turns-install-token-0123456789abcdef";

struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

struct World {
    _dir: tempfile::TempDir,
    paths: Paths,
    handle: Handle,
    events: broadcast::Receiver<Event>,
    addr: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    let proxy = Arc::new(ProxyState::new(Settings::default()).unwrap());
    proxy.set_access_token(codex_launcher_proxy::ApiKey::new(TOKEN));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(codex_launcher_proxy::serve(
        listener,
        proxy.clone(),
        async {
            let _ = rx.await;
        },
    ));
    let env: HashMap<String, String> = HashMap::from([("PATH".into(), "/usr/bin:/bin".into())]);
    let started = start(Deps {
        keys: Box::new(FileKeyStore(FileKeys::new(&paths.keys_file()))),
        paths: paths.clone(),
        proxy,
        proxy_addr: addr,
        token: TOKEN.into(),
        env: Arc::new(env),
        clock: Arc::new(Fixed),
        stall: Duration::from_secs(600),
    })
    .await
    .unwrap();
    let events = started.handle.subscribe();
    World {
        _dir: dir,
        paths,
        handle: started.handle,
        events,
        addr,
        _stop: tx,
    }
}

fn endpoint(name: &str, url: String) -> Endpoint {
    Endpoint {
        name: name.into(),
        backend: Backend::OpenaiCompat,
        base_url: url,
        default_model: "mock-model".into(),
        models: vec![Model::bare("mock-model")],
        extra_headers: vec![("X-Gateway-Token".into(), HEADER_SECRET.into())],
        ..Endpoint::default()
    }
}

const REQUEST: &str = r#"{"model":"mock-model","stream":true,"store":false,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"rename the module"}]}]}"#;

impl World {
    async fn send(&self, endpoint: &str) -> u16 {
        let resp = reqwest::Client::new()
            .post(format!("http://{}/e/{endpoint}/v1/responses", self.addr))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(REQUEST)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let _ = resp.bytes().await;
        status
    }

    /// The next turn recorded.
    async fn recorded(&mut self) -> (u64, bool) {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(30), self.events.recv())
                .await
                .expect("a turn recorded in time")
                .expect("events");
            if let Event::TurnRecorded { id, failed, .. } = event {
                return (id, failed);
            }
        }
    }

    fn record_files(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.paths.state.join(turns::DIR))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("turn-"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_turn_is_recorded_shown_exported_and_replayed_elsewhere() {
    let bad = MockUpstream::start(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let good = MockUpstream::start(MockConfig::default()).await.unwrap();
    let mut w = world().await;
    let bad_id = w
        .handle
        .add_endpoint(endpoint("bad", bad.base_url()), KEY)
        .await
        .unwrap();
    let good_id = w
        .handle
        .add_endpoint(endpoint("good", good.base_url()), "sk-test-other-key-55aa")
        .await
        .unwrap();

    bad.push(Reply::status_json(
        400,
        "Invalid schema for function 'exec_command': In context=('properties', 'cmd'), 'type' is required",
    ));
    assert_eq!(w.send(&bad_id).await, 400);
    let (id, failed) = w.recorded().await;
    assert!(failed);

    let list = w
        .handle
        .turns(TurnFilter {
            failed_only: true,
            ..TurnFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, id);
    assert_eq!(list[0].endpoint, bad_id);
    assert_eq!(list[0].outcome, TurnOutcome::Failed);

    let detail = w.handle.turn(id).await.unwrap();
    let shown: String = detail
        .sections
        .iter()
        .flat_map(|s| {
            s.lines
                .iter()
                .map(|(k, v)| format!("{}: {k}: {v}\n", s.title))
        })
        .collect();
    assert!(
        shown.contains("Invalid schema for function 'exec_command'"),
        "{shown}"
    );
    assert!(shown.contains("Upstream answer: status: 400"), "{shown}");
    assert!(shown.contains("Quirk row: row: {"), "{shown}");

    let plain = w.handle.export_turn(id, false).await.unwrap();
    let redacted = w.handle.export_turn(id, true).await.unwrap();
    assert!(plain.contains("rename the module"));
    assert!(
        !redacted.contains("rename the module"),
        "--redact-text leaves no message text"
    );
    let file =
        std::fs::read_to_string(turns::file_of(&w.paths.state.join(turns::DIR), id)).unwrap();
    for text in [&plain, &redacted, &file, &detail.record_json] {
        for secret in [KEY, HEADER_SECRET, TOKEN] {
            assert!(!text.contains(secret), "a secret in a record or export");
        }
    }

    // As recorded, to the same upstream: refused again, recorded again, linked.
    bad.push(Reply::status_json(400, "still invalid"));
    let again = w.handle.replay_turn(id, "", "").await.unwrap();
    assert!(!again.ok);
    assert_eq!(again.status, 400);
    assert!(again.message.contains("still invalid"), "{again:?}");
    let turn = again.turn.expect("the replay is recorded");
    assert_eq!(turn.replay_of, Some(id));
    assert_eq!(turn.origin, TurnOrigin::Replay);
    let seen = bad.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body, seen[0].body, "the recorded body, as sent");
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {KEY}").as_str()),
        "with the endpoint's current key"
    );

    // On the other endpoint: translated afresh, accepted, recorded though it succeeded.
    good.push(Reply::text("renamed"));
    let elsewhere = w
        .handle
        .replay_turn(id, &good_id, "mock-model-large")
        .await
        .unwrap();
    assert!(elsewhere.ok, "{elsewhere:?}");
    let turn = elsewhere.turn.expect("recorded");
    assert_eq!(turn.outcome, TurnOutcome::Completed);
    assert_eq!(turn.endpoint, good_id);
    assert_eq!(turn.model, "mock-model-large");
    assert_eq!(turn.replay_of, Some(id));
    assert_eq!(good.requests()[0].body["model"], "mock-model-large");

    // Successful turns are recorded only when asked.
    good.push(Reply::text("fine"));
    assert_eq!(w.send(&good_id).await, 200);
    w.handle.set_turn_recording(&good_id, true).await.unwrap();
    good.push(Reply::text("fine, recorded"));
    assert_eq!(w.send(&good_id).await, 200);
    loop {
        let (n, failed) = w.recorded().await;
        let s = w.handle.turns(TurnFilter::default()).await.unwrap();
        let s = s.iter().find(|t| t.id == n).unwrap();
        if s.origin == TurnOrigin::Codex && s.endpoint == good_id {
            assert!(!failed);
            break;
        }
    }
    let view = w.handle.turn_recording().await.unwrap();
    assert_eq!(view.endpoints, vec![good_id.clone()]);
    assert_eq!(
        view.turns, 4,
        "the failure, two replays, the opted-in success"
    );
    assert_eq!(view.dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_bounds_the_files_by_count_and_size() {
    let mock = MockUpstream::start(MockConfig {
        default_reply: Some(Reply::status_json(400, "refused, again and again")),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let mut w = world().await;
    let id = w
        .handle
        .add_endpoint(endpoint("e", mock.base_url()), KEY)
        .await
        .unwrap();
    w.handle
        .set_turn_retention(Some(5), None, None)
        .await
        .unwrap();
    for _ in 0..30 {
        assert_eq!(w.send(&id).await, 400);
        w.recorded().await;
    }
    let files = w.record_files();
    assert_eq!(files.len(), 5, "{files:?}");
    let kept = w.handle.turns(TurnFilter::default()).await.unwrap();
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[0].id, 30, "newest first, the oldest went");
    // A size bound below what is kept applies at once.
    let one = std::fs::metadata(&files[0]).unwrap().len();
    w.handle
        .set_turn_retention(None, None, Some(2 * one + one / 2))
        .await
        .unwrap();
    let files = w.record_files();
    assert!(files.len() <= 2, "{files:?}");
    let view = w.handle.turn_recording().await.unwrap();
    assert!(view.bytes <= view.max_bytes);
    assert_eq!(view.turns as usize, files.len());
}
