//! The standalone proxy over plain HTTP: error mapping, keep-alives, shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use codex_launcher_e2e::StandaloneProxy;
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};
use serde_json::json;

/// A raw HTTP/1.1 POST; returns (status, headers+body text).
fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

async fn proxy_for(reply: Reply, extra: serde_json::Value) -> (MockUpstream, StandaloneProxy) {
    let mock = MockUpstream::start(MockConfig::default())
        .await
        .expect("mock");
    mock.push(reply);
    let mut cfg = json!({"target_url": mock.base_url()});
    if let (Some(c), Some(e)) = (cfg.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let proxy = StandaloneProxy::start(cfg);
    (mock, proxy)
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_maps_to_429_with_retry_after() {
    let (_mock, proxy) = proxy_for(Reply::rate_limited(3), json!({})).await;
    let addr = proxy.addr();
    let (status, text) = tokio::task::spawn_blocking(move || {
        post(
            addr,
            "/v1/responses",
            r#"{"model":"m","stream":true,"input":"hi"}"#,
        )
    })
    .await
    .expect("join");
    assert_eq!(status, 429, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 3"),
        "{text}"
    );
    assert!(text.contains("rate_limit_exceeded"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_first_byte_gets_keepalives_then_the_answer() {
    let slow = Reply::Delay {
        millis: 1500,
        then: Box::new(Reply::text("late but fine")),
    };
    let (_mock, proxy) = proxy_for(
        slow,
        json!({"first_byte_grace_ms": 200, "keepalive_ms": 300}),
    )
    .await;
    let addr = proxy.addr();
    let (status, text) = tokio::task::spawn_blocking(move || {
        post(
            addr,
            "/v1/responses",
            r#"{"model":"m","stream":true,"input":"hi"}"#,
        )
    })
    .await
    .expect("join");
    assert_eq!(status, 200, "{text}");
    let keepalives = text.matches("event: response.in_progress").count();
    assert!(
        keepalives >= 3,
        "expected keep-alives while the upstream was silent:\n{text}"
    );
    assert!(
        text.contains("late but fine") && text.contains("event: response.completed"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_previous_response_is_a_clear_400() {
    let (_mock, proxy) = proxy_for(Reply::text("x"), json!({})).await;
    let addr = proxy.addr();
    let (status, text) = tokio::task::spawn_blocking(move || {
        post(
            addr,
            "/v1/responses",
            r#"{"model":"m","input":"hi","previous_response_id":"resp_nope"}"#,
        )
    })
    .await
    .expect("join");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("previous_response_not_found"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn previous_response_id_rebuilds_the_chain() {
    let mock = MockUpstream::start(MockConfig::default())
        .await
        .expect("mock");
    mock.push(Reply::text("first answer"));
    mock.push(Reply::text("second answer"));
    let proxy = StandaloneProxy::start(json!({"target_url": mock.base_url()}));
    let addr = proxy.addr();
    let (status, text) = tokio::task::spawn_blocking(move || {
        post(
            addr,
            "/v1/responses",
            r#"{"model":"m","input":"first question"}"#,
        )
    })
    .await
    .expect("join");
    assert_eq!(status, 200, "{text}");
    let body = &text[text.find("\r\n\r\n").expect("body") + 4..];
    let body = body.trim_start_matches(|c: char| c.is_ascii_hexdigit() || c.is_whitespace());
    let id = body
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("response id")
        .to_owned();
    let req = format!(r#"{{"model":"m","input":"second question","previous_response_id":"{id}"}}"#);
    let (status, text) = tokio::task::spawn_blocking(move || post(addr, "/v1/responses", &req))
        .await
        .expect("join");
    assert_eq!(status, 200, "{text}");
    let sent = &mock.requests()[1].body["messages"];
    let texts: Vec<&str> = sent
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(texts, ["first question", "first answer", "second question"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_zero() {
    let (_mock, mut proxy) = proxy_for(Reply::text("x"), json!({})).await;
    assert_eq!(proxy.terminate(), Some(0), "{}", proxy.stderr());
}
