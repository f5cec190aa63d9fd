//! The tap end to end: the proxy served in-process between a client and the mock upstream,
//! with a recorder that keeps what it is handed.

use std::net::SocketAddr;
use std::sync::Arc;

use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};
use codex_launcher_types::{TurnOrigin, TurnOutcome};
use serde_json::json;

use super::*;
use crate::{ApiKey, Backend, Endpoint, ProxyState, Settings};

const KEY: &str = "sk-test-record-7f3a9c2e41";
const HEADER_SECRET: &str = "hdr-secret-5d0c8b7a";

#[derive(Debug)]
struct Kept {
    all: bool,
    tx: tokio::sync::mpsc::UnboundedSender<TurnDraft>,
}

impl Recorder for Kept {
    fn records_all(&self, _endpoint: &str) -> bool {
        self.all
    }

    fn hand_over(&self, turn: TurnDraft) {
        let _ = self.tx.send(turn);
    }
}

struct Served {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    kept: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<TurnDraft>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(backend: Backend, mock: &MockUpstream, all: bool) -> Served {
    let base = match backend {
        Backend::Anthropic | Backend::CommandCode => mock.root_url(),
        Backend::OpenaiCompat | Backend::OpenaiResponses => mock.base_url(),
    };
    let mut endpoint = Endpoint::openai_compat("e", &base, ApiKey::new(KEY)).expect("endpoint");
    endpoint.backend = backend;
    endpoint
        .extra_headers
        .push(("X-Team-Token".into(), HEADER_SECRET.into()));
    endpoint
        .extra_headers
        .push(("X-Title".into(), "codex-launcher tests".into()));
    let state = Arc::new(ProxyState::new(Settings::default()).expect("state"));
    state.set_endpoints(vec![endpoint], Some("e".into()));
    let (kept_tx, kept_rx) = tokio::sync::mpsc::unbounded_channel();
    state.set_recorder(Arc::new(Kept { all, tx: kept_tx }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(crate::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Served {
        addr,
        state,
        kept: tokio::sync::Mutex::new(kept_rx),
        _stop: tx,
    }
}

fn turn(stream: bool) -> serde_json::Value {
    json!({
        "model": "mock-model",
        "stream": stream,
        "store": false,
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "please list the files"}]}],
    })
}

async fn send(addr: SocketAddr, body: &serde_json::Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/v1/responses"))
        .header("authorization", "Bearer codex-side-token-0042")
        .json(body)
        .send()
        .await
        .expect("proxy answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The next `n` records the tap handed over. The hand-over happens when the response body
/// ends, which may be a moment after the client read its last byte: this waits for it.
async fn kept(served: &Served, n: usize) -> Vec<TurnRecord> {
    let mut rx = served.kept.lock().await;
    let mut got = Vec::new();
    while got.len() < n {
        let draft = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
            .await
            .expect("a record within 30 s")
            .expect("the recorder is alive");
        got.push(draft.into_record());
    }
    got
}

/// Whatever was handed over so far.
fn kept_now(served: &Served) -> usize {
    let Ok(mut rx) = served.kept.try_lock() else {
        return 0;
    };
    let mut n = 0;
    while rx.try_recv().is_ok() {
        n += 1;
    }
    n
}

#[tokio::test]
async fn a_rejected_turn_is_captured_with_both_requests_and_the_answer() {
    for backend in [
        Backend::OpenaiCompat,
        Backend::Anthropic,
        Backend::CommandCode,
        Backend::OpenaiResponses,
    ] {
        let mock = MockUpstream::start(MockConfig::default())
            .await
            .expect("mock");
        mock.push(Reply::status_json(
            400,
            "Invalid schema for function 'exec_command': 'cmd' is not valid",
        ));
        let served = serve(backend, &mock, false).await;
        let (status, body) = send(served.addr, &turn(true)).await;
        assert_eq!(status, 400, "{backend:?}: {body}");
        let records = kept(&served, 1).await;
        assert_eq!(records.len(), 1, "{backend:?}");
        let r = &records[0];
        assert_eq!(r.summary.outcome, TurnOutcome::Failed);
        assert_eq!(r.summary.origin, TurnOrigin::Codex);
        assert_eq!(r.summary.model, "mock-model");
        assert_eq!(r.summary.status, Some(400));
        let failure = r.summary.failure.as_ref().expect("why");
        assert_eq!(failure.stage, Stage::Status, "{backend:?}");
        assert!(failure.message.contains("Invalid schema"), "{failure:?}");
        assert_eq!(r.attempts.len(), 1);
        let a = &r.attempts[0];
        assert!(a.url.starts_with(&mock.root_url()), "{}", a.url);
        assert!(
            a.body
                .as_ref()
                .is_some_and(|b| b.as_str().contains("please list the files")),
            "{backend:?}: the upstream body as sent"
        );
        assert!(
            a.response
                .as_ref()
                .is_some_and(|b| b.as_str().contains("Invalid schema")),
            "the upstream's answer"
        );
        assert!(
            r.codex_request
                .body
                .as_ref()
                .is_some_and(|b| b.as_str().contains("\"mock-model\"")),
            "Codex's request"
        );
        assert_eq!(r.answer.status, 400);
        // What the upstream really got carried the key and the secret header…
        let seen = mock.requests();
        assert!(seen[0].headers.iter().any(|(_, v)| v.contains(KEY)));
        assert!(seen[0].headers.iter().any(|(_, v)| v == HEADER_SECRET));
        // …and the record holds neither, nor Codex's own token.
        let text = serde_json::to_string(r).expect("json");
        for secret in [KEY, HEADER_SECRET, "codex-side-token-0042"] {
            assert!(!text.contains(secret), "{backend:?}: a secret in {text}");
        }
        assert!(
            a.headers
                .iter()
                .any(|(k, v)| k == "x-team-token" && v == REDACTED)
        );
        assert!(
            a.headers
                .iter()
                .any(|(k, v)| k == "x-title" && v == "codex-launcher tests"),
            "other headers are kept as sent: {:?}",
            a.headers
        );
    }
}

#[tokio::test]
async fn a_successful_turn_is_kept_only_when_every_turn_is() {
    let mock = MockUpstream::start(MockConfig::default())
        .await
        .expect("mock");
    let served = serve(Backend::OpenaiCompat, &mock, false).await;
    mock.push(Reply::text("all fine"));
    let (status, body) = send(served.addr, &turn(true)).await;
    assert_eq!(status, 200);
    assert!(body.contains("response.completed"));
    let served_all = serve(Backend::OpenaiCompat, &mock, true).await;
    mock.push(Reply::text("all fine again"));
    let (status, _) = send(served_all.addr, &turn(true)).await;
    assert_eq!(status, 200);
    let records = kept(&served_all, 1).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.summary.outcome, TurnOutcome::Completed);
    assert_eq!(r.summary.scope, Scope::All);
    let a = &r.attempts[0];
    assert_eq!(a.status, Some(200));
    assert!(!a.response_headers.is_empty(), "the answer's headers");
    assert!(
        a.response
            .as_ref()
            .is_some_and(|b| b.as_str().contains("all fine")),
        "the stream as received"
    );
    let sent = r.answer.stream.as_deref().unwrap_or_default();
    assert!(
        sent.contains("all fine") && sent.contains("response.completed"),
        "the events we sent, the terminal one included: {sent}"
    );
    assert_eq!(
        r.terminal.as_ref().map(|t| t.status.as_str()),
        Some("completed")
    );
    // The first proxy (failures only) kept nothing: its tap was finished before the last
    // chunk went out, so there is nothing still to come.
    assert_eq!(kept_now(&served), 0);
}

#[tokio::test]
async fn a_cut_stream_is_a_failure_after_the_answer_began() {
    let mock = MockUpstream::start(MockConfig::default())
        .await
        .expect("mock");
    let served = serve(Backend::OpenaiCompat, &mock, false).await;
    mock.push(Reply::Cut {
        turn: codex_launcher_mock_upstream::Turn {
            text: Some("this answer will be cut short".into()),
            ..Default::default()
        },
        after_chunks: 2,
    });
    let (status, body) = send(served.addr, &turn(true)).await;
    assert_eq!(status, 200);
    assert!(body.contains("response.failed"), "{body}");
    let records = kept(&served, 1).await;
    assert_eq!(records.len(), 1);
    let failure = records[0].summary.failure.as_ref().expect("why");
    assert_eq!(failure.stage, Stage::Stream);
    assert_eq!(failure.kind.as_deref(), Some("stream_cut"));
    // Failures only: the stream itself was not kept (nothing is copied for it).
    assert!(records[0].attempts[0].response.is_none());
    assert!(records[0].answer.stream.is_none());
}

#[tokio::test]
async fn a_refused_request_is_recorded_as_the_proxys_refusal() {
    let mock = MockUpstream::start(MockConfig::default())
        .await
        .expect("mock");
    let served = serve(Backend::OpenaiCompat, &mock, false).await;
    let (status, _) = send(
        served.addr,
        &json!({"model": "m", "input": [{"type": "message"}]}),
    )
    .await;
    assert_eq!(status, 400);
    let records = kept(&served, 1).await;
    assert_eq!(records.len(), 1);
    let failure = records[0].summary.failure.as_ref().expect("why");
    assert_eq!(failure.stage, Stage::Proxy);
    assert!(records[0].attempts.is_empty());
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn a_replay_sends_the_recorded_request_with_the_current_key() {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    let served = serve(Backend::OpenaiCompat, &mock, false).await;
    mock.push(Reply::status_json(400, "no such tool"));
    send(served.addr, &turn(true)).await;
    let original = kept(&served, 1).await.remove(0);
    mock.push(Reply::text("replayed fine"));
    let endpoint = served.state.endpoint(Some("e")).expect("endpoint");
    let origin = Origin::Replay {
        of: 7,
        ticket: Some("abc1".into()),
    };
    let answer = replay(&served.state, endpoint, &original, origin.clone())
        .await
        .expect("replayed");
    assert!(answer.ok, "{answer:?}");
    assert_eq!(answer.status, 200);
    let seen = mock.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].body, seen[0].body,
        "the same body, byte for byte as parsed by the mock"
    );
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(seen[1].header("x-team-token"), Some(HEADER_SECRET));
    let records = kept(&served, 1).await;
    assert_eq!(
        records.len(),
        1,
        "the replay is recorded whatever its outcome"
    );
    assert_eq!(records[0].summary.origin, TurnOrigin::Replay);
    assert_eq!(records[0].summary.replay_of, Some(7));
    assert_eq!(records[0].summary.outcome, TurnOutcome::Completed);
}
