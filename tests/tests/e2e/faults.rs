//! Fault injection: what a client of the proxy gets when the upstream misbehaves or the client
//! sends something broken, and that the proxy stays healthy afterwards.
//!
//! Two tables. [`upstream_rows`]: one fault per row (the upstream refuses the connection,
//! resets mid-stream, sends garbage, an event of 20,000 lines, an event or a line that never
//! ends, HTML, an error status, or stalls), each
//! stating what the client receives: an HTTP status with an OpenAI-style error body (`type`,
//! `code`, Retry-After where Codex needs one), or a 200 stream ending in `response.failed`
//! with the `error.code` that makes Codex (0.171.0, 0.169.0) retry or stop (its contract is in
//! `docs/codex-protocol.md` §5; the mapping is `FailureKind` and `ProxyError`). Every row runs
//! for each translating backend (Chat Completions, Anthropic, Command Code) against its own
//! mock and its own `codex-launcherd proxy`, and ends with a normal request on the same proxy,
//! which must complete. [`client_rows`]: malformed or oversized requests, each a 4xx with an
//! OpenAI-style error body, then a normal request that must complete.
//!
//! The binary's config file does not expose the upstream read-idle timeout (600 s), so the
//! rows that need it to fire ("stalls forever" must end in a timeout) run the same server
//! in-process (`codex_launcher_proxy::serve`) with a 1 s timeout. Nothing here asserts how long
//! anything took: delays only order events, with wide margins.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_launcher_e2e::StandaloneProxy;
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply, Turn};
use codex_launcher_proxy::upstream::Timeouts;
use codex_launcher_proxy::{ApiKey, Backend as ProxyBackend, Endpoint, ProxyState, Settings};
use serde_json::{Value, json};

const UPSTREAM_KEY: &str = "sk-test-faults-upstream-key";
/// A request as Codex sends it, reduced to what matters here.
const REQUEST: &str = r#"{"model":"mock-model","stream":true,"store":false,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}]}"#;
/// The text of the answer that proves the proxy is still healthy.
const HEALTHY: &str = "still healthy after the fault";

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: the tests look at exactly what went over the wire.

#[derive(Debug)]
struct Exchange {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// The body ended properly (last chunk of a chunked body, or EOF of a sized one).
    terminated: bool,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// SSE payloads as JSON, in order.
    fn events(&self) -> Vec<Value> {
        self.body
            .replace("\r\n", "\n")
            .split("\n\n")
            .filter_map(|block| {
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                serde_json::from_str(&data.join("\n")).ok()
            })
            .collect()
    }

    fn error(&self) -> Value {
        serde_json::from_str::<Value>(&self.body)
            .map(|v| v["error"].clone())
            .unwrap_or(Value::Null)
    }
}

fn send_raw(addr: SocketAddr, head: &str, body: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect to the proxy");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("read timeout");
    s.write_all(head.as_bytes()).expect("write head");
    // The proxy may answer (413) and close before the whole body is in: not an error here.
    let _ = s.write_all(body);
    s
}

/// POST `body` to `path` with the given extra header lines; read the whole answer.
fn request(addr: SocketAddr, method: &str, path: &str, extra: &str, body: &[u8]) -> Exchange {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: text/event-stream\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut s = send_raw(addr, &head, body);
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    parse_http(&raw)
}

fn post(addr: SocketAddr, body: &str) -> Exchange {
    request(addr, "POST", "/v1/responses", "", body.as_bytes())
}

/// POST a request and read its stream until `enough` holds for what arrived, then hang up
/// (a client giving up on a stalled stream). Returns what arrived.
fn post_until(addr: SocketAddr, enough: impl Fn(&str) -> bool) -> String {
    let head = format!(
        "POST /v1/responses HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        REQUEST.len()
    );
    let mut s = send_raw(addr, &head, REQUEST.as_bytes());
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let text = String::from_utf8_lossy(&raw);
        if enough(&text) {
            return text.into_owned();
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => panic!("the stream ended before the condition held:\n{text}"),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse_http(raw: &[u8]) -> Exchange {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!(
            "no complete response head in {:?}",
            String::from_utf8_lossy(raw)
        )
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let (body, terminated) = if chunked {
        dechunk(rest)
    } else {
        (rest.to_vec(), true)
    };
    Exchange {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        terminated,
    }
}

fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return (out, false);
        };
        rest = &rest[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if rest.len() < size {
            out.extend_from_slice(rest);
            return (out, false);
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("client thread")
}

/// A normal request must complete with the healthy answer; `Err` says what came instead.
fn check_healthy(addr: SocketAddr) -> Result<(), String> {
    let ex = post(addr, REQUEST);
    let last = ex.events().last().cloned().unwrap_or_default();
    if ex.status == 200 && last["type"] == "response.completed" && ex.body.contains(HEALTHY) {
        Ok(())
    } else {
        Err(format!(
            "the next request did not complete: {} {}",
            ex.status, ex.body
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Backends and proxies.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Chat,
    Anthropic,
    CommandCode,
}

const BACKENDS: [Backend; 3] = [Backend::Chat, Backend::Anthropic, Backend::CommandCode];

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Chat => "openai-compat",
            Backend::Anthropic => "anthropic",
            Backend::CommandCode => "command-code",
        }
    }

    fn proxy_backend(self) -> ProxyBackend {
        match self {
            Backend::Chat => ProxyBackend::OpenaiCompat,
            Backend::Anthropic => ProxyBackend::Anthropic,
            Backend::CommandCode => ProxyBackend::CommandCode,
        }
    }

    /// The upstream base URL for a mock at `addr` (Anthropic's and Command Code's documented
    /// bases have no `/v1`).
    fn target(self, addr: SocketAddr) -> String {
        match self {
            Backend::Chat => format!("http://{addr}/v1"),
            Backend::Anthropic | Backend::CommandCode => format!("http://{addr}"),
        }
    }
}

fn mock_config() -> MockConfig {
    MockConfig {
        api_key: Some(UPSTREAM_KEY.into()),
        ..MockConfig::default()
    }
}

/// A loopback address nothing listens on (bound, read, released).
fn dead_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// `codex-launcherd proxy` for `backend` in front of `upstream`.
fn binary_proxy(backend: Backend, upstream: SocketAddr, grace: Grace) -> StandaloneProxy {
    binary_proxy_with(backend, upstream, grace, None)
}

/// The same, with `max_event_bytes` in its config file when given.
fn binary_proxy_with(
    backend: Backend,
    upstream: SocketAddr,
    grace: Grace,
    max_event_bytes: Option<usize>,
) -> StandaloneProxy {
    let mut cfg = json!({
        "backend": backend.name(),
        "target_url": backend.target(upstream),
        "api_key": UPSTREAM_KEY,
        "keepalive_ms": 200,
    });
    if let Grace::Short = grace {
        cfg["first_byte_grace_ms"] = json!(100);
    }
    if let Some(bytes) = max_event_bytes {
        cfg["max_event_bytes"] = json!(bytes);
    }
    StandaloneProxy::start(cfg)
}

/// The proxy server in this process, with settings the binary does not expose.
struct InProcessProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl InProcessProxy {
    async fn start(backend: Backend, upstream: SocketAddr, settings: Settings) -> InProcessProxy {
        let mut endpoint = Endpoint::openai_compat(
            "default",
            &backend.target(upstream),
            ApiKey::new(UPSTREAM_KEY),
        )
        .expect("endpoint");
        endpoint.backend = backend.proxy_backend();
        let state = Arc::new(ProxyState::new(settings).expect("proxy state"));
        state.set_endpoints(vec![endpoint], Some("default".into()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(codex_launcher_proxy::serve(
            listener,
            state.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        InProcessProxy {
            addr,
            state,
            _stop: tx,
        }
    }

    /// Wait (generously) until no stream is open: a stream the client hung up on, or that
    /// timed out, must not stay behind.
    async fn wait_no_streams(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.state.stats().snapshot().active_streams > 0 {
            if Instant::now() > deadline {
                return Err(format!(
                    "streams still open 30 s after the client left: {:?}",
                    self.state.stats().snapshot()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

/// Settings with a short upstream read-idle timeout, so "stalls forever" ends in a test.
fn stall_settings() -> Settings {
    Settings {
        first_byte_grace: Duration::from_millis(100),
        keepalive: Duration::from_millis(200),
        timeouts: Timeouts {
            read_idle: Duration::from_secs(1),
            ..Timeouts::default()
        },
        ..Settings::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The upstream table.

/// What the upstream does.
enum Fault {
    /// Nothing listens at the upstream's address (the mock starts there only afterwards).
    Refused,
    /// The mock answers this.
    Reply(Reply),
}

/// How long the proxy waits for the upstream's headers before it starts the stream.
#[derive(Clone, Copy)]
enum Grace {
    /// The default (10 s): every immediate upstream error arrives as an HTTP status.
    Default,
    /// 100 ms, for rows whose upstream answers seconds later: the stream has begun, so the
    /// error arrives as `response.failed`.
    Short,
}

/// What the client receives.
enum Expect {
    /// An HTTP error, nothing streamed: status, OpenAI-style `error.type` and `error.code`,
    /// the `Retry-After` value when one is required, a phrase of the message.
    Status {
        status: u16,
        kind: &'static str,
        code: &'static str,
        retry_after: Option<&'static str>,
        says: &'static str,
    },
    /// A well-formed 200 stream whose last event is `response.failed` with this `error.code`
    /// and a message containing `says`, that never claims completion and commits no item.
    Failed {
        code: &'static str,
        says: &'static str,
    },
    /// The fault is within bounds: a 200 stream that completes, its output saying `says`.
    Completed { says: &'static str },
}

struct Row {
    name: &'static str,
    fault: Fault,
    grace: Grace,
    /// `max_event_bytes` in the proxy's config file (`None`: the default, 16 MiB).
    max_event_bytes: Option<usize>,
    expect: Expect,
}

fn turn(text: &str) -> Turn {
    Turn {
        text: Some(text.into()),
        chunk_size: 4,
        ..Turn::default()
    }
}

/// The default `max_event_bytes`.
const MAX_EVENT: usize = 16 * 1024 * 1024;
/// Lines of 1 KiB in the many-lines event: 20,000 KiB, over the default bound.
const MANY_LINES: usize = 20_000;
/// The failure past the default bound, as Codex sees it: `invalid_prompt` is fatal in Codex
/// 0.169.0 (not retried: the same request would make the upstream send the same again).
const OVER_THE_BOUND: Expect = Expect::Failed {
    code: "invalid_prompt",
    says: "the upstream sent an event over 16 MiB",
};

fn padded_event() -> Reply {
    Reply::PaddedEvent {
        turn: turn("an event of many lines"),
        lines: MANY_LINES,
        line_bytes: 1024,
    }
}

fn upstream_rows() -> Vec<Row> {
    use Expect::{Failed, Status};
    let upstream_error = |says| Status {
        status: 502,
        kind: "server_error",
        code: "upstream_error",
        retry_after: None,
        says,
    };
    let overloaded = |says| Status {
        status: 503,
        kind: "server_error",
        code: "upstream_overloaded",
        retry_after: Some("1"),
        says,
    };
    let row = |name, fault, expect| Row {
        name,
        fault,
        grace: Grace::Default,
        max_event_bytes: None,
        expect,
    };
    vec![
        // Codex retries a 502 (5 attempts per request, then turn-level).
        row(
            "upstream refuses the connection",
            Fault::Refused,
            upstream_error("could not connect"),
        ),
        // Codex retries `server_error`; the translating backends hold every `done` item back
        // until the turn ends, so nothing half-streamed is committed.
        row(
            "upstream resets the connection mid-stream",
            Fault::Reply(Reply::Cut {
                turn: turn("a long answer that the provider never finishes"),
                after_chunks: 4,
            }),
            Failed {
                code: "server_error",
                says: "failed",
            },
        ),
        row(
            "upstream resets the connection right after its headers",
            Fault::Reply(Reply::Cut {
                turn: turn("never seen"),
                after_chunks: 0,
            }),
            Failed {
                code: "server_error",
                says: "failed",
            },
        ),
        row(
            "upstream sends garbage instead of its stream format",
            Fault::Reply(Reply::Garbage(
                "<<binary junk \u{1}\u{2}>>\nnot: a field\ndata: {not json\n\n\
                 data: [1,2,3]\n\nevent: x\n\n"
                    .into(),
            )),
            Failed {
                code: "server_error",
                says: "ended",
            },
        ),
        // Bounds (`max_event_bytes`): one event is data accumulated over all its lines (an
        // NDJSON line for Command Code, padded to the same size). Past the bound the stream
        // fails at once, not retried, and the upstream connection is closed; the proxy's
        // memory stays about one bound (see `endless_event_keeps_peak_rss_bounded`).
        Row {
            name: "upstream sends one event of 20,000 data lines of 1 KiB, under max_event_bytes",
            fault: Fault::Reply(padded_event()),
            grace: Grace::Default,
            max_event_bytes: Some(2 * MAX_EVENT),
            expect: Expect::Completed {
                says: "an event of many lines",
            },
        },
        row(
            "upstream sends one event of 20,000 data lines of 1 KiB, over max_event_bytes",
            Fault::Reply(padded_event()),
            OVER_THE_BOUND,
        ),
        row(
            "upstream sends an endless event (data lines forever, never a blank line)",
            Fault::Reply(Reply::EndlessEvent {
                line_bytes: 1024,
                total_bytes: None,
            }),
            OVER_THE_BOUND,
        ),
        row(
            "upstream sends one 20 MB line (no newline)",
            Fault::Reply(Reply::long_line(20 * 1024 * 1024)),
            OVER_THE_BOUND,
        ),
        // Fatal in Codex (a 400 is shown, not retried): a block page will not go away on its
        // own. The message names the cause instead of dumping HTML.
        row(
            "upstream's CDN answers a Cloudflare 403 block page (HTML)",
            Fault::Reply(Reply::cloudflare_block()),
            Status {
                status: 400,
                kind: "upstream_authentication_error",
                code: "upstream_auth_failed",
                retry_after: None,
                says: "Cloudflare block page",
            },
        ),
        row(
            "upstream's CDN answers a Cloudflare 520 origin-error page (HTML)",
            Fault::Reply(Reply::cloudflare_origin_error(520)),
            upstream_error("Cloudflare error page"),
        ),
        // 413 from a provider means the prompt is too large for it: Codex shows its
        // context-window message and stops.
        row(
            "upstream answers 413",
            Fault::Reply(Reply::status_json(413, "Request too large")),
            Status {
                status: 400,
                kind: "invalid_request_error",
                code: "context_length_exceeded",
                retry_after: None,
                says: "context window",
            },
        ),
        // Codex retries a 429 only with Retry-After: the upstream's is passed on.
        row(
            "upstream answers 429 with Retry-After",
            Fault::Reply(Reply::rate_limited(7)),
            Status {
                status: 429,
                kind: "rate_limit_error",
                code: "rate_limit_exceeded",
                retry_after: Some("7"),
                says: "try again in 7.000s",
            },
        ),
        // ...and one is added when the upstream sent none, so Codex still retries.
        row(
            "upstream answers 429 without Retry-After",
            Fault::Reply(Reply::status_json(429, "slow down")),
            Status {
                status: 429,
                kind: "rate_limit_error",
                code: "rate_limit_exceeded",
                retry_after: Some("1"),
                says: "try again in 1.000s",
            },
        ),
        row(
            "upstream answers 500",
            Fault::Reply(Reply::status_json(500, "boom")),
            upstream_error("HTTP 500"),
        ),
        // Overloaded: 503 + Retry-After (Codex retries; `server_is_overloaded` would be fatal).
        row(
            "upstream answers 503",
            Fault::Reply(Reply::status_json(503, "overloaded")),
            overloaded("HTTP 503"),
        ),
        row(
            "upstream answers 529",
            Fault::Reply(Reply::status_json(529, "overloaded")),
            overloaded("HTTP 529"),
        ),
        // After the first-byte grace the client already has a 200 stream of keep-alives, so
        // a late error can only be a `response.failed` with the code Codex acts on.
        Row {
            name: "upstream answers 500 after the first-byte grace",
            fault: Fault::Reply(Reply::Delay {
                millis: 3000,
                then: Box::new(Reply::status_json(500, "late boom")),
            }),
            grace: Grace::Short,
            max_event_bytes: None,
            expect: Failed {
                code: "server_error",
                says: "HTTP 500",
            },
        },
        Row {
            name: "upstream answers 429 after the first-byte grace",
            fault: Fault::Reply(Reply::Delay {
                millis: 3000,
                then: Box::new(Reply::rate_limited(2)),
            }),
            grace: Grace::Short,
            max_event_bytes: None,
            expect: Failed {
                code: "rate_limit_exceeded",
                says: "try again in 2.000s",
            },
        },
    ]
}

fn check_expect(expect: &Expect, ex: &Exchange) -> Result<(), String> {
    let show = || format!("{} {:?}\n{}", ex.status, ex.headers, ex.body);
    match *expect {
        Expect::Status {
            status,
            kind,
            code,
            retry_after,
            says,
        } => {
            let err = ex.error();
            if ex.status != status || err["type"] != kind || err["code"] != code {
                return Err(format!(
                    "expected HTTP {status} type {kind} code {code}, got {}",
                    show()
                ));
            }
            if err["param"] != Value::Null
                || !err["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(says) && !m.contains('<'))
            {
                return Err(format!(
                    "the message must say `{says}` and hold no HTML: {}",
                    show()
                ));
            }
            if ex.header("retry-after") != retry_after {
                return Err(format!("expected Retry-After {retry_after:?}: {}", show()));
            }
            if ex.header("content-type") != Some("application/json") {
                return Err(format!("error body must be JSON: {}", show()));
            }
            if ex.body.contains(UPSTREAM_KEY) {
                return Err("the upstream key reached the client".into());
            }
        }
        Expect::Failed { code, says } => {
            if ex.status != 200 || !ex.terminated {
                return Err(format!(
                    "expected a 200 stream that ends properly: {}",
                    show()
                ));
            }
            let events = ex.events();
            let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
            if types.first() != Some(&"response.created") {
                return Err(format!(
                    "the stream must open with response.created: {types:?}"
                ));
            }
            let terminals = types
                .iter()
                .filter(|t| t.starts_with("response.") && is_terminal(t))
                .count();
            if terminals != 1 || types.last() != Some(&"response.failed") {
                return Err(format!(
                    "expected exactly one terminal event, response.failed, last: {types:?}"
                ));
            }
            if types.contains(&"response.output_item.done") {
                return Err(format!("a failed turn must commit no item: {types:?}"));
            }
            let error = &events[events.len() - 1]["response"]["error"];
            if error["code"] != code
                || !error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(says) && !m.contains(UPSTREAM_KEY))
            {
                return Err(format!(
                    "expected response.failed code {code} saying `{says}`, got {error}"
                ));
            }
            let mut seq = events.iter().map(|e| e["sequence_number"].as_u64());
            let mut last = None;
            for s in seq.by_ref() {
                let Some(s) = s else {
                    return Err("an event without sequence_number".into());
                };
                if last.is_some_and(|l| s <= l) {
                    return Err(format!("sequence numbers must increase: {types:?}"));
                }
                last = Some(s);
            }
        }
        Expect::Completed { says } => {
            let last = ex.events().last().cloned().unwrap_or_default();
            if ex.status != 200 || last["type"] != "response.completed" || !ex.body.contains(says) {
                return Err(format!(
                    "expected a completed stream saying `{says}`: {}",
                    show()
                ));
            }
        }
    }
    Ok(())
}

/// Whether a row's expected failure is a bound passed.
fn over_a_bound(expect: &Expect) -> bool {
    matches!(expect, Expect::Failed { code: "invalid_prompt", says } if says.contains(" over "))
}

/// After a bound was passed: the proxy closed the upstream connection (the mock, which would
/// send forever, stops at its next write), and its log names the endpoint.
async fn check_cut_off(mock: &MockUpstream, log: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while mock.open_streams() > 0 {
        if Instant::now() > deadline {
            return Err(format!(
                "the upstream is still streaming 60 s after the failure ({} bytes sent): the \
                 proxy did not close its connection",
                mock.streamed_bytes()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let named = log
        .lines()
        .any(|l| l.contains("the upstream passed a bound") && l.contains("endpoint=default"));
    if !named {
        return Err("no log line names the endpoint that passed the bound".into());
    }
    Ok(())
}

fn is_terminal(t: &str) -> bool {
    matches!(
        t,
        "response.completed" | "response.failed" | "response.incomplete"
    )
}

/// One row on one backend: the fault, what the client got, then a normal request.
async fn run_upstream_row(backend: Backend, row: Row) -> Result<(), String> {
    let (mock, upstream) = match &row.fault {
        Fault::Refused => (None, dead_addr()),
        Fault::Reply(reply) => {
            let mock = MockUpstream::start(mock_config()).await.expect("mock");
            mock.push(reply.clone());
            let addr = mock.addr();
            (Some(mock), addr)
        }
    };
    let proxy = binary_proxy_with(backend, upstream, row.grace, row.max_event_bytes);
    let addr = proxy.addr();
    let ex = blocking(move || post(addr, REQUEST)).await;
    let mut result = check_expect(&row.expect, &ex);
    if result.is_ok()
        && over_a_bound(&row.expect)
        && let Some(mock) = &mock
    {
        result = check_cut_off(mock, &proxy.stderr()).await;
    }
    // The same proxy serves the next request, against the same upstream (which has recovered:
    // for the refused row the mock now starts at the address that refused).
    let mock = match mock {
        Some(m) => m,
        None => MockUpstream::start_on(upstream, mock_config())
            .await
            .expect("mock at the refused address"),
    };
    mock.push(Reply::Turn(turn(HEALTHY)));
    if result.is_ok() {
        result = blocking(move || check_healthy(addr)).await;
    }
    let log = proxy.stderr();
    if result.is_ok() && log.contains(UPSTREAM_KEY) {
        result = Err("the proxy logged the upstream key".into());
    }
    if result.is_ok() && mock.pending() != 0 {
        result = Err("the healthy reply was never asked for".into());
    }
    result.map_err(|e| {
        format!(
            "[{}] {}: {e}\n--- proxy log\n{log}",
            backend.name(),
            row.name
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_faults() {
    let mut runs = Vec::new();
    for backend in BACKENDS {
        for row in upstream_rows() {
            runs.push(run_upstream_row(backend, row));
        }
    }
    let failures: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n\n{}",
        failures.len(),
        upstream_rows().len() * BACKENDS.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Bounds beyond the table: the proxy's peak memory, and the non-streaming path.

/// Peak resident memory of a process (`VmHWM` in `/proc/PID/status`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib * 1024
}

/// The measurement of issue 13: an upstream answers 200 and then 512 MiB of 1 KiB `data:`
/// lines that never close an event (for Command Code, a line that never ends). The standalone
/// proxy's peak RSS stays under 64 MiB (it was 532 MB before events were bounded), the client
/// sees the `response.failed` naming the bound, and the proxy closes the upstream connection
/// at the bound: the mock, which generates its bytes as it sends them, stops long before
/// 512 MiB, so the test costs about 16 MiB of traffic per backend.
#[tokio::test(flavor = "multi_thread")]
async fn endless_event_keeps_peak_rss_bounded() {
    const TOTAL: u64 = 512 * 1024 * 1024;
    const PEAK: u64 = 64 * 1024 * 1024;
    let runs = BACKENDS.map(|backend| async move {
        let mock = MockUpstream::start(mock_config()).await.expect("mock");
        mock.push(Reply::EndlessEvent {
            line_bytes: 1024,
            total_bytes: Some(TOTAL),
        });
        let proxy = binary_proxy(backend, mock.addr(), Grace::Default);
        let addr = proxy.addr();
        let ex = blocking(move || post(addr, REQUEST)).await;
        let peak = peak_rss(proxy.pid());
        let mut result = check_expect(&OVER_THE_BOUND, &ex);
        if result.is_ok() {
            result = check_cut_off(&mock, &proxy.stderr()).await;
        }
        // What the mock handed over: the bound, plus what sat in socket buffers when the
        // connection closed.
        let sent = mock.streamed_bytes();
        if result.is_ok() && sent >= PEAK {
            result = Err(format!(
                "the upstream sent {sent} bytes before it was cut off"
            ));
        }
        if result.is_ok() && peak >= PEAK {
            result = Err(format!(
                "peak RSS (VmHWM) {:.1} MiB, over 64 MiB",
                peak as f64 / 1048576.0
            ));
        }
        result.map_err(|e| {
            format!(
                "[{}] {e}
--- proxy log
{}",
                backend.name(),
                proxy.stderr()
            )
        })
    });
    let failures: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A client that asked for no stream (the proxy streams from the upstream and aggregates) gets
/// the same failure as a 502 naming the bound.
#[tokio::test(flavor = "multi_thread")]
async fn non_streaming_client_gets_a_502_naming_the_bound() {
    let runs = BACKENDS.map(|backend| async move {
        let mock = MockUpstream::start(mock_config()).await.expect("mock");
        mock.push(Reply::EndlessEvent {
            line_bytes: 1024,
            total_bytes: None,
        });
        let proxy = binary_proxy(backend, mock.addr(), Grace::Default);
        let addr = proxy.addr();
        let body = REQUEST.replace(r#""stream":true"#, r#""stream":false"#);
        let ex = blocking(move || post(addr, &body)).await;
        let mut result = check_expect(
            &Expect::Status {
                status: 502,
                kind: "server_error",
                code: "upstream_response_too_large",
                retry_after: None,
                says: "the upstream sent an event over 16 MiB",
            },
            &ex,
        );
        if result.is_ok() {
            result = check_cut_off(&mock, &proxy.stderr()).await;
        }
        mock.push(Reply::Turn(turn(HEALTHY)));
        if result.is_ok() {
            result = blocking(move || check_healthy(addr)).await;
        }
        result.map_err(|e| {
            format!(
                "[{}] {e}
--- proxy log
{}",
                backend.name(),
                proxy.stderr()
            )
        })
    });
    let failures: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Stalls: "stalls forever" keeps the client alive with keep-alives per `keepalive`, times out
// per the upstream read-idle timeout, and never blocks other requests.

/// A stall that never ends, before the headers or after the first events.
fn stalls() -> [(&'static str, Reply); 2] {
    const FOREVER: u64 = 24 * 3600 * 1000;
    [
        (
            "upstream stalls forever before its headers",
            Reply::Delay {
                millis: FOREVER,
                then: Box::new(Reply::text("never")),
            },
        ),
        (
            "upstream stalls forever mid-stream",
            Reply::Stall {
                turn: turn("the first words, and then nothing"),
                after_chunks: 3,
                millis: FOREVER,
            },
        ),
    ]
}

/// Keep-alives (`response.in_progress`) seen in a stream's text.
fn keepalives(text: &str) -> usize {
    text.matches("\"type\":\"response.in_progress\"").count()
}

/// The binary (read-idle timeout 600 s): the client sees keep-alives every `keepalive_ms`
/// while the upstream is silent, other requests are served meanwhile, and after the client
/// hangs up the proxy serves the next request.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_upstream_gets_keepalives_and_blocks_nothing() {
    for backend in BACKENDS {
        for (name, reply) in stalls() {
            let mock = MockUpstream::start(mock_config()).await.expect("mock");
            mock.push(reply);
            let proxy = binary_proxy(backend, mock.addr(), Grace::Short);
            let addr = proxy.addr();
            let what = format!("[{}] {name}", backend.name());
            // Several keep-alives beyond the opening `in_progress`.
            let seen = blocking(move || post_until(addr, |t| keepalives(t) >= 4)).await;
            assert!(
                seen.contains("event: response.created") && !seen.contains("response.failed"),
                "{what}: {seen}"
            );
            // While that stream hangs (the client has gone, the proxy may not have noticed
            // yet), a second request is served.
            mock.push(Reply::Turn(turn(HEALTHY)));
            let healthy = blocking(move || check_healthy(addr)).await;
            assert!(healthy.is_ok(), "{what}: {healthy:?}\n{}", proxy.stderr());
            mock.push(Reply::Turn(turn(HEALTHY)));
            let healthy = blocking(move || check_healthy(addr)).await;
            assert!(healthy.is_ok(), "{what}: {healthy:?}\n{}", proxy.stderr());
        }
    }
}

/// In-process with a 1 s read-idle timeout: the stall ends in a retryable `response.failed`
/// saying it timed out (after keep-alives), no stream stays open, and the next request
/// completes. A client that hangs up on a stall closes the stream at once, too.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_upstream_times_out_per_settings() {
    for backend in BACKENDS {
        for (name, reply) in stalls() {
            let what = format!("[{}] {name}", backend.name());
            let mock = MockUpstream::start(mock_config()).await.expect("mock");
            let proxy = InProcessProxy::start(backend, mock.addr(), stall_settings()).await;
            let addr = proxy.addr;

            mock.push(reply.clone());
            let ex = blocking(move || post(addr, REQUEST)).await;
            let check = check_expect(
                &Expect::Failed {
                    code: "server_error",
                    says: "timed out",
                },
                &ex,
            );
            assert!(check.is_ok(), "{what}: {check:?}");
            assert!(
                keepalives(&ex.body) >= 2,
                "{what}: keep-alives while waiting:\n{}",
                ex.body
            );
            let open = proxy.wait_no_streams().await;
            assert!(open.is_ok(), "{what}: {open:?}");

            // The client gives up instead: the stream (and its upstream request) is dropped.
            mock.push(reply);
            let _ = blocking(move || post_until(addr, |t| keepalives(t) >= 2)).await;
            let open = proxy.wait_no_streams().await;
            assert!(open.is_ok(), "{what} (client hung up): {open:?}");

            mock.push(Reply::Turn(turn(HEALTHY)));
            let healthy = blocking(move || check_healthy(addr)).await;
            assert!(healthy.is_ok(), "{what}: {healthy:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The client table: malformed or oversized requests get a 4xx with an OpenAI-style body.

struct ClientRow {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn client_rows() -> Vec<ClientRow> {
    let row = |name, body: &[u8], status, code| ClientRow {
        name,
        method: "POST",
        path: "/v1/responses",
        body: body.to_vec(),
        status,
        code,
    };
    vec![
        row("body is not JSON", b"{\"model\": \"m\", ", 400, "invalid_request"),
        row("body is empty", b"", 400, "invalid_request"),
        row("body is a JSON array", b"[1, 2]", 400, "invalid_request"),
        row("body is not UTF-8", b"{\"model\": \"\xff\xfe\"}", 400, "invalid_request"),
        row("model is missing", br#"{"input":"hi","stream":true}"#, 400, "invalid_request"),
        row(
            "a field has the wrong type",
            br#"{"model":"m","input":"hi","stream":"yes"}"#,
            400,
            "invalid_request",
        ),
        row(
            "a known item lacks a required field",
            br#"{"model":"m","stream":true,"input":[{"type":"function_call_output","output":"x"}]}"#,
            400,
            "invalid_request",
        ),
        row(
            "previous_response_id is unknown",
            br#"{"model":"m","input":"hi","previous_response_id":"resp_nope"}"#,
            400,
            "previous_response_not_found",
        ),
        // 64 MiB is the default limit (Codex sends the whole history, images included).
        row(
            "body is larger than the limit",
            &vec![b' '; 64 * 1024 * 1024 + 1],
            413,
            "request_too_large",
        ),
        ClientRow {
            name: "wrong method",
            method: "GET",
            path: "/v1/responses",
            body: Vec::new(),
            status: 405,
            code: "method_not_allowed",
        },
        ClientRow {
            name: "unknown endpoint",
            method: "POST",
            path: "/e/nope/v1/responses",
            body: REQUEST.as_bytes().to_vec(),
            status: 404,
            code: "endpoint_not_found",
        },
        ClientRow {
            name: "unknown route",
            method: "POST",
            path: "/v1/chat/completions",
            body: REQUEST.as_bytes().to_vec(),
            status: 404,
            code: "not_found",
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_client_requests_get_openai_style_4xx() {
    let mock = MockUpstream::start(mock_config()).await.expect("mock");
    let proxy = binary_proxy(Backend::Chat, mock.addr(), Grace::Default);
    let addr = proxy.addr();
    let mut failures = Vec::new();
    for row in client_rows() {
        let ClientRow {
            name,
            method,
            path,
            body,
            status,
            code,
        } = row;
        let ex = blocking(move || request(addr, method, path, "", &body)).await;
        let err = ex.error();
        let well_formed = err["message"].as_str().is_some_and(|m| !m.is_empty())
            && err["type"] == "invalid_request_error"
            && err["param"] == Value::Null
            && ex.header("content-type") == Some("application/json");
        if ex.status != status || err["code"] != code || !well_formed {
            failures.push(format!(
                "{name}: expected {status} {code} with an OpenAI-style body, got {} {:?} {}",
                ex.status,
                ex.headers,
                ex.body.chars().take(500).collect::<String>()
            ));
        }
        mock.push(Reply::Turn(turn(HEALTHY)));
        if let Err(e) = blocking(move || check_healthy(addr)).await {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        mock.rejections().is_empty(),
        "nothing broken may reach the upstream: {:?}",
        mock.rejections()
    );
    assert!(
        failures.is_empty(),
        "{}\n--- proxy log\n{}",
        failures.join("\n"),
        proxy.stderr()
    );
}

/// The binary with `read_idle_ms` from its config file: the same timeout, end to end.
#[tokio::test(flavor = "multi_thread")]
async fn the_binarys_read_idle_timeout_is_configurable() {
    let backend = BACKENDS[0];
    let (name, reply) = stalls().into_iter().next().expect("a stall row");
    let mock = MockUpstream::start(mock_config()).await.expect("mock");
    mock.push(reply);
    let proxy = StandaloneProxy::start(json!({
        "backend": backend.name(),
        "target_url": backend.target(mock.addr()),
        "api_key": UPSTREAM_KEY,
        "keepalive_ms": 200,
        "first_byte_grace_ms": 100,
        "read_idle_ms": 1000,
    }));
    let addr = proxy.addr();
    let ex = blocking(move || post(addr, REQUEST)).await;
    let check = check_expect(
        &Expect::Failed {
            code: "server_error",
            says: "timed out",
        },
        &ex,
    );
    assert!(check.is_ok(), "{name}: {check:?}\n{}", proxy.stderr());
    mock.push(Reply::Turn(turn(HEALTHY)));
    let healthy = blocking(move || check_healthy(addr)).await;
    assert!(healthy.is_ok(), "{name}: {healthy:?}");
}
