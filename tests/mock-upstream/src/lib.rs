//! Mock upstream providers for tests and benchmarks, on loopback only.
//!
//! One server speaks every wire the proxy talks to — Chat Completions (in the dialect of a
//! [`Flavor`]), Anthropic Messages, Command Code `/alpha/generate` and the Responses API — and
//! picks the wire from the request path, the way a real base URL does. Tests script answers
//! with [`Reply`] (wire-neutral turns and failures, rendered in each wire's own format) and read
//! back what the proxy sent with [`MockUpstream::requests`]. Requests that break a provider's
//! documented rules are refused in that provider's words and listed by
//! [`MockUpstream::rejections`], without consuming a scripted reply.

mod anthropic;
mod chat;
mod command_code;
mod responses;
mod script;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use anthropic::CacheAccount;
pub use script::{Failure, Flavor, Reply, ToolCall, Turn, Usage};

use script::Plain;

/// Provider rules the mock enforces on Chat Completions requests beyond the basics.
#[derive(Debug, Clone)]
pub struct StrictRules {
    /// DeepSeek/Kimi/GLM thinking: assistant tool-call messages must carry
    /// `reasoning_content` (Anthropic: a tool loop must keep its signed thinking; Responses:
    /// a call item must come back with the reasoning item, `encrypted_content` included, that
    /// was produced with it).
    pub require_reasoning_passback: bool,
    /// Refuse `tool` messages without a matching earlier call, and calls left unanswered.
    pub reject_orphan_tool_messages: bool,
    /// Roles the provider refuses (e.g. `developer`).
    pub reject_roles: Vec<String>,
    /// Top-level fields the provider refuses with 422 (NVIDIA NIM's closed schema).
    pub reject_fields: Vec<String>,
    /// A strict schema host (Chat wire): tool declarations the flavor's host refuses get its
    /// 400 — Moonshot's schema validator for [`Flavor::Kimi`], Gemini's behind OpenRouter for
    /// [`Flavor::OpenRouter`] with a `google/` model, OpenAI's function rules otherwise.
    pub reject_tool_schemas: bool,
}

impl Default for StrictRules {
    fn default() -> Self {
        StrictRules {
            require_reasoning_passback: false,
            reject_orphan_tool_messages: true,
            reject_roles: Vec::new(),
            reject_fields: Vec::new(),
            reject_tool_schemas: false,
        }
    }
}

/// How the mock behaves.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Chat Completions dialect.
    pub flavor: Flavor,
    /// When set, requests must carry this key (Bearer, or `x-api-key` for Anthropic).
    pub api_key: Option<String>,
    /// Model ids the models routes list.
    pub models: Vec<String>,
    /// Extra rules.
    pub rules: StrictRules,
    /// Answer used when nothing is scripted (benchmarks); without it an unscripted request
    /// gets a 500 and is listed as a rejection.
    pub default_reply: Option<Reply>,
    /// Pause between streamed events (a slow provider). A request's `x-mock-interval-ms`
    /// header overrides it for that answer.
    pub chunk_interval: Option<Duration>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            flavor: Flavor::OpenAi,
            api_key: None,
            models: vec!["mock-model".into(), "mock-model-large".into()],
            rules: StrictRules::default(),
            default_reply: None,
            chunk_interval: None,
        }
    }
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Headers, names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Null` when empty, a string when not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The wire a request speaks, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Chat,
    Anthropic,
    CommandCode,
    Responses,
}

impl Wire {
    fn of(path: &str) -> Option<Wire> {
        if path.ends_with("/chat/completions") {
            Some(Wire::Chat)
        } else if path.ends_with("/messages") {
            Some(Wire::Anthropic)
        } else if path.ends_with("/alpha/generate") {
            Some(Wire::CommandCode)
        } else if path.ends_with("/responses") {
            Some(Wire::Responses)
        } else {
            None
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Wire::CommandCode => "application/x-ndjson",
            _ => "text/event-stream",
        }
    }
}

#[derive(Debug)]
struct Shared {
    config: MockConfig,
    queue: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    rejections: Mutex<Vec<String>>,
    ids: AtomicU64,
    /// Responses wire: call item id → id of the reasoning item produced with it.
    reasoning_links: Mutex<HashMap<String, String>>,
    /// Streamed bodies still being sent.
    open_streams: AtomicU64,
    /// Bytes handed to streamed bodies (all of them, so far).
    streamed_bytes: AtomicU64,
    /// Anthropic wire: the simulated prompt cache.
    prompt_cache: Mutex<anthropic::PromptCache>,
    /// Anthropic wire: what each answered request read and wrote, in order.
    cache_accounts: Mutex<Vec<CacheAccount>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide what the mock saw from the next assertion.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running mock; stops when dropped.
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl MockUpstream {
    /// Start on an ephemeral loopback port (inside a Tokio runtime).
    pub async fn start(config: MockConfig) -> io::Result<MockUpstream> {
        MockUpstream::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Start on the given address; refuses anything but loopback.
    pub async fn start_on(addr: SocketAddr, config: MockConfig) -> io::Result<MockUpstream> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the mock upstream binds loopback only",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            queue: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            rejections: Mutex::new(Vec::new()),
            ids: AtomicU64::new(1),
            reasoning_links: Mutex::new(HashMap::new()),
            open_streams: AtomicU64::new(0),
            streamed_bytes: AtomicU64::new(0),
            prompt_cache: Mutex::new(anthropic::PromptCache::default()),
            cache_accounts: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            // Like a real provider's edge: events leave as they are written (no Nagle).
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Ok(MockUpstream { addr, shared, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL of the OpenAI-style wires.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`: the base URL for Anthropic and Command Code.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue the answer to a future request.
    pub fn push(&self, reply: Reply) {
        lock(&self.shared.queue).push_back(reply);
    }

    /// Every request received so far (rejected ones too).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Bodies of the errors the mock answered because a request broke a rule.
    pub fn rejections(&self) -> Vec<String> {
        lock(&self.shared.rejections).clone()
    }

    /// Scripted replies not yet consumed.
    pub fn pending(&self) -> usize {
        lock(&self.shared.queue).len()
    }

    /// Streamed answers still being sent: a stream ends when it is done or when the client
    /// hangs up (the mock notices at its next write).
    pub fn open_streams(&self) -> u64 {
        self.shared.open_streams.load(Ordering::SeqCst)
    }

    /// Bytes of every streamed answer so far, as handed to the connection.
    pub fn streamed_bytes(&self) -> u64 {
        self.shared.streamed_bytes.load(Ordering::SeqCst)
    }

    /// Anthropic wire: what each answered request read from and wrote to the simulated
    /// prompt cache, in order (a request without `cache_control` reads and writes nothing,
    /// and its usage on the wire is the mock's usual one).
    pub fn cache_accounts(&self) -> Vec<CacheAccount> {
        lock(&self.shared.cache_accounts).clone()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body_value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let req = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body_value,
    };
    lock(&shared.requests).push(req.clone());
    let cfg = &shared.config;
    let key = cfg.api_key.as_deref();

    if method == Method::GET {
        return models(cfg, &req);
    }
    let Some(wire) = Wire::of(&req.path) else {
        return plain(Plain::json(
            404,
            serde_json::json!({"error": {"message": format!("Unknown request URL: {} {}", req.method, req.path), "type": "invalid_request_error", "code": "unknown_url"}}),
        ));
    };
    let links = lock(&shared.reasoning_links).clone();
    if let Err(refusal) = validate(cfg, wire, key, &req, &links) {
        lock(&shared.rejections).push(refusal.body.clone());
        return plain(refusal);
    }
    let next = lock(&shared.queue).pop_front();
    let Some(reply) = next.or_else(|| cfg.default_reply.clone()) else {
        let msg = format!("mock: no reply scripted for request {}", req.path);
        lock(&shared.rejections).push(msg.clone());
        return plain(Plain::json(
            500,
            serde_json::json!({"error": {"message": msg, "type": "server_error"}}),
        ));
    };
    let n = shared.ids.fetch_add(1, Ordering::Relaxed);
    render(&shared, wire, &req, reply, n).await
}

fn validate(
    cfg: &MockConfig,
    wire: Wire,
    key: Option<&str>,
    req: &RecordedRequest,
    links: &HashMap<String, String>,
) -> Result<(), Plain> {
    let bearer_ok = |k: &str| req.header("authorization") == Some(format!("Bearer {k}").as_str());
    match wire {
        Wire::Chat => {
            if let Some(k) = key
                && !bearer_ok(k)
            {
                return Err(chat::error(
                    cfg.flavor,
                    401,
                    "Incorrect API key provided. You can find your API key in your account settings.",
                    "invalid_request_error",
                    Some("invalid_api_key"),
                ));
            }
            chat::validate(cfg.flavor, &cfg.rules, &req.body)
        }
        Wire::Responses => {
            if let Some(k) = key
                && !bearer_ok(k)
            {
                return Err(chat::error(
                    Flavor::OpenAi,
                    401,
                    "Incorrect API key provided.",
                    "invalid_request_error",
                    Some("invalid_api_key"),
                ));
            }
            responses::validate(&req.body, &cfg.rules, links)
                .map_err(|m| chat::error(Flavor::OpenAi, 400, &m, "invalid_request_error", None))
        }
        Wire::Anthropic => anthropic::validate(key, &cfg.rules, req),
        Wire::CommandCode => command_code::validate(key, &cfg.rules, req),
    }
}

fn models(cfg: &MockConfig, req: &RecordedRequest) -> Response {
    let body = if req.path.contains("/provider/") {
        command_code::models(&cfg.models)
    } else if req.header("anthropic-version").is_some() {
        anthropic::models(&cfg.models)
    } else {
        if let Some(k) = &cfg.api_key
            && req.header("authorization") != Some(format!("Bearer {k}").as_str())
        {
            return plain(chat::error(
                cfg.flavor,
                401,
                "Incorrect API key provided.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ));
        }
        chat::models(cfg.flavor, &cfg.models)
    };
    plain(Plain::json(200, body))
}

fn plain(p: Plain) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", p.content_type);
    for (k, v) in &p.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(p.body))
        .unwrap_or_else(|_| Response::new(Body::from("mock: could not build the response")))
}

/// What the body asked for, independent of wire.
struct Ask {
    model: String,
    stream: bool,
    prompt_chars: usize,
}

fn ask_of(wire: Wire, body: &Value) -> Ask {
    let (model, stream) = match wire {
        Wire::CommandCode => (body.pointer("/params/model").and_then(Value::as_str), true),
        _ => (
            body.get("model").and_then(Value::as_str),
            body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        ),
    };
    Ask {
        model: model.unwrap_or("mock-model").to_owned(),
        stream,
        prompt_chars: body.to_string().len(),
    }
}

fn frames(
    wire: Wire,
    cfg: &MockConfig,
    body: &Value,
    turn: &Turn,
    n: u64,
    cache: Option<CacheAccount>,
) -> Vec<String> {
    let ask = ask_of(wire, body);
    match wire {
        Wire::Chat => chat::stream(
            cfg.flavor,
            &chat::Ask::of(body),
            turn,
            &format!("chatcmpl-mock{n}"),
        ),
        Wire::Anthropic => anthropic::stream(
            &ask.model,
            turn,
            &format!("msg_mock{n}"),
            ask.prompt_chars,
            cache,
        ),
        Wire::CommandCode => command_code::stream(turn, ask.prompt_chars),
        Wire::Responses => responses::stream(
            &ask.model,
            turn,
            &format!("resp_mock{n}"),
            ask.prompt_chars,
            &responses::custom_tools(body),
        ),
    }
}

fn stream_error(wire: Wire, cfg: &MockConfig) -> String {
    match wire {
        Wire::Chat => chat::stream_error(cfg.flavor),
        Wire::Anthropic => anthropic::stream_error(),
        Wire::CommandCode => command_code::stream_error(),
        Wire::Responses => responses::stream_error(),
    }
}

/// How a stream ends.
enum Ending {
    Clean,
    Cut,
}

async fn render(
    shared: &Arc<Shared>,
    wire: Wire,
    req: &RecordedRequest,
    reply: Reply,
    n: u64,
) -> Response {
    // `x-mock-interval-ms` paces this one answer (a benchmark holding slow streams open
    // beside fast requests on one mock).
    let paced;
    let cfg = match req
        .header("x-mock-interval-ms")
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(ms) => {
            paced = MockConfig {
                chunk_interval: Some(Duration::from_millis(ms)),
                ..shared.config.clone()
            };
            &paced
        }
        None => &shared.config,
    };
    let mut reply = reply;
    // Delays nest; unwrap them iteratively (async recursion would need boxing).
    while let Reply::Delay { millis, then } = reply {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        reply = *then;
    }
    let ask = ask_of(wire, &req.body);
    // A request that gets a model turn reads and writes the prompt cache (a refused or failed
    // one writes nothing: entries are written once the response begins).
    let answers = matches!(
        reply,
        Reply::Turn(_)
            | Reply::Cut { .. }
            | Reply::CutBeforeEnd(_)
            | Reply::ErrorAfter { .. }
            | Reply::Abort { .. }
            | Reply::Stall { .. }
    );
    let account = (wire == Wire::Anthropic && answers)
        .then(|| lock(&shared.prompt_cache).account(&req.body, std::time::Instant::now()))
        .flatten();
    if let Some(account) = account {
        lock(&shared.cache_accounts).push(account);
    }
    // A request without breakpoints keeps the mock's usual usage.
    let cache = account.filter(|a| a.breakpoints > 0);
    let frames_of = |turn: &Turn| frames(wire, cfg, &req.body, turn, n, cache);
    match reply {
        Reply::Delay { .. } => plain(Plain::json(500, Value::Null)),
        Reply::Fail(f) => plain(match wire {
            Wire::Chat => chat::failure(cfg.flavor, &f),
            Wire::Responses => responses::failure(&f),
            Wire::Anthropic => anthropic::failure(&f),
            Wire::CommandCode => command_code::failure(&f),
        }),
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut p = Plain {
                status,
                headers,
                content_type: "application/json",
                body,
            };
            if let Some(pos) = p
                .headers
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                let (_, v) = p.headers.remove(pos);
                p.content_type = if v.starts_with("text/html") {
                    "text/html"
                } else if v.starts_with("text/plain") {
                    "text/plain"
                } else {
                    "application/json"
                };
            }
            plain(p)
        }
        Reply::Garbage(text) => streamed(shared, wire, cfg, vec![text], Ending::Clean, None),
        Reply::PaddedEvent {
            turn,
            lines,
            line_bytes,
        } => {
            let f = frames_of(&turn);
            let body = padded(wire, f, lines, line_bytes);
            streamed_lazy(shared, wire, cfg, body, Ending::Clean, None)
        }
        Reply::EndlessEvent {
            line_bytes,
            total_bytes,
        } => {
            let body = endless(wire, line_bytes, total_bytes);
            streamed_lazy(shared, wire, cfg, body, Ending::Clean, None)
        }
        Reply::Turn(turn) if !ask.stream => {
            let body = match wire {
                Wire::Chat => chat::completion(
                    cfg.flavor,
                    &chat::Ask::of(&req.body),
                    &turn,
                    &format!("chatcmpl-mock{n}"),
                ),
                Wire::Anthropic => anthropic::message(
                    &ask.model,
                    &turn,
                    &format!("msg_mock{n}"),
                    ask.prompt_chars,
                    cache,
                ),
                Wire::Responses => {
                    remember_reasoning(shared, &turn, n, &req.body);
                    responses::response(
                        &ask.model,
                        &turn,
                        &format!("resp_mock{n}"),
                        ask.prompt_chars,
                        &responses::custom_tools(&req.body),
                    )
                }
                // Command Code always streams.
                Wire::CommandCode => {
                    let all = command_code::stream(&turn, ask.prompt_chars).concat();
                    return plain(Plain {
                        status: 200,
                        headers: Vec::new(),
                        content_type: "application/x-ndjson",
                        body: all,
                    });
                }
            };
            plain(Plain::json(200, body))
        }
        Reply::Turn(turn) => {
            if wire == Wire::Responses {
                remember_reasoning(shared, &turn, n, &req.body);
            }
            let f = frames_of(&turn);
            streamed(shared, wire, cfg, f, Ending::Clean, None)
        }
        Reply::Cut { turn, after_chunks } => {
            let mut f = frames_of(&turn);
            f.truncate(after_chunks);
            streamed(shared, wire, cfg, f, Ending::Cut, None)
        }
        Reply::CutBeforeEnd(turn) => {
            let mut f = frames_of(&turn);
            f.truncate(end_of_turn(wire, &f));
            streamed(shared, wire, cfg, f, Ending::Cut, None)
        }
        Reply::ErrorAfter { turn, after_chunks } => {
            let mut f = frames_of(&turn);
            f.truncate(after_chunks);
            f.push(stream_error(wire, cfg));
            streamed(shared, wire, cfg, f, Ending::Clean, None)
        }
        Reply::Abort { turn, after_chunks } => {
            let mut f = frames_of(&turn);
            f.truncate(after_chunks);
            if wire == Wire::CommandCode {
                f.push(command_code::abort());
            }
            streamed(shared, wire, cfg, f, Ending::Clean, None)
        }
        Reply::Stall {
            turn,
            after_chunks,
            millis,
        } => {
            let f = frames_of(&turn);
            streamed(
                shared,
                wire,
                cfg,
                f,
                Ending::Clean,
                Some((after_chunks, Duration::from_millis(millis))),
            )
        }
    }
}

/// Index of the first frame that tells the client the turn is over, in the wire's terms.
fn end_of_turn(wire: Wire, frames: &[String]) -> usize {
    let data = |f: &str| -> Value {
        let payload = f
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or(f.trim());
        serde_json::from_str(payload).unwrap_or(Value::Null)
    };
    let is_end = |f: &String| match wire {
        Wire::Chat => {
            let v = data(f);
            f.starts_with("data: [DONE]")
                || v.pointer("/choices/0/finish_reason")
                    .is_some_and(|r| !r.is_null())
                || v.get("choices")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
        }
        Wire::Anthropic => {
            f.starts_with("event: message_delta") || f.starts_with("event: message_stop")
        }
        Wire::CommandCode => matches!(
            data(f).get("type").and_then(Value::as_str),
            Some("finish-step" | "finish")
        ),
        Wire::Responses => {
            f.starts_with("event: response.completed")
                || f.starts_with("event: response.incomplete")
        }
    };
    frames.iter().position(is_end).unwrap_or(frames.len())
}

/// Responses wire: remember which reasoning item each call of a served turn needs back.
fn remember_reasoning(shared: &Shared, turn: &Turn, n: u64, body: &Value) {
    let links = responses::reasoning_links(turn, &format!("resp_mock{n}"), body);
    lock(&shared.reasoning_links).extend(links);
}

/// Frames generated as they are sent.
type Frames = Box<dyn Iterator<Item = String> + Send>;

/// [`Reply::PaddedEvent`]: the first event that carries JSON, `lines × line_bytes` longer.
fn padded(wire: Wire, frames: Vec<String>, lines: usize, line_bytes: usize) -> Frames {
    let ndjson = wire == Wire::CommandCode;
    let carries_json = |f: &String| {
        if ndjson {
            f.trim_start().starts_with('{')
        } else {
            f.contains("data: {")
        }
    };
    let Some(at) = frames.iter().position(carries_json) else {
        return Box::new(frames.into_iter());
    };
    let mut before = frames;
    let mut after = before.split_off(at);
    let first = after.remove(0);
    let (head, pad, end) = if ndjson {
        // The line goes on, longer, and ends with its newline.
        let head = first.trim_end_matches('\n').to_owned();
        (head, " ".repeat(line_bytes), "\n")
    } else {
        // More `data:` lines of the same event, which the blank line then ends.
        let head = format!("{}\n", first.trim_end_matches('\n'));
        let pad = format!("data: {}\n", " ".repeat(line_bytes.saturating_sub(7)));
        (head, pad, "\n")
    };
    Box::new(
        before
            .into_iter()
            .chain(std::iter::once(head))
            .chain(std::iter::repeat_n(pad, lines))
            .chain(std::iter::once(end.to_owned()))
            .chain(after),
    )
}

/// [`Reply::EndlessEvent`]: one event (NDJSON: one line) that never ends.
fn endless(wire: Wire, line_bytes: usize, total_bytes: Option<u64>) -> Frames {
    let piece = if wire == Wire::CommandCode {
        "x".repeat(line_bytes)
    } else {
        format!("data: {}\n", "x".repeat(line_bytes.saturating_sub(7)))
    };
    match total_bytes {
        Some(total) => {
            let n = usize::try_from(total / piece.len().max(1) as u64).unwrap_or(usize::MAX);
            Box::new(std::iter::repeat_n(piece, n))
        }
        None => Box::new(std::iter::repeat(piece)),
    }
}

/// Counts a streamed body as open while its sending task runs.
struct OpenStream(Arc<Shared>);

impl OpenStream {
    fn new(shared: Arc<Shared>) -> OpenStream {
        shared.open_streams.fetch_add(1, Ordering::SeqCst);
        OpenStream(shared)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A 200 stream of frames, paced by `chunk_interval`, optionally pausing once, and ending
/// cleanly or by dropping the connection mid-body.
fn streamed(
    shared: &Arc<Shared>,
    wire: Wire,
    cfg: &MockConfig,
    frames: Vec<String>,
    ending: Ending,
    stall: Option<(usize, Duration)>,
) -> Response {
    streamed_lazy(
        shared,
        wire,
        cfg,
        Box::new(frames.into_iter()),
        ending,
        stall,
    )
}

/// [`streamed`], with frames made as they are sent: the sending stops as soon as the client
/// hangs up, so an endless answer costs what the client read.
fn streamed_lazy(
    shared: &Arc<Shared>,
    wire: Wire,
    cfg: &MockConfig,
    frames: Frames,
    ending: Ending,
    stall: Option<(usize, Duration)>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(16);
    let interval = cfg.chunk_interval;
    let open = OpenStream::new(shared.clone());
    tokio::spawn(async move {
        let open = open;
        for (i, f) in frames.enumerate() {
            if let Some((at, pause)) = stall
                && at == i
            {
                tokio::time::sleep(pause).await;
            }
            if i > 0
                && let Some(d) = interval
            {
                tokio::time::sleep(d).await;
            }
            let len = f.len() as u64;
            if tx.send(Ok(Bytes::from(f))).await.is_err() {
                return;
            }
            open.0.streamed_bytes.fetch_add(len, Ordering::SeqCst);
        }
        if let Ending::Cut = ending {
            // Let hyper write out what was sent first: it discards buffered frames when it
            // aborts, and a provider's dropped connection still delivered its bytes. While the
            // body waits here, hyper flushes.
            tokio::time::sleep(Duration::from_millis(50)).await;
            // An error item makes hyper abort the connection: the body ends without its
            // terminating chunk, as when a provider's load balancer drops the stream.
            let _ = tx
                .send(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "mock: stream cut",
                )))
                .await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", wire.content_type())
        .header("cache-control", "no-cache")
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_padded_event_stays_one_valid_event_and_an_endless_one_never_ends() {
        let turn = Turn {
            text: Some("hi".into()),
            ..Turn::default()
        };
        let cfg = MockConfig::default();
        let body = serde_json::json!({"model": "m", "stream": true});
        for wire in [
            Wire::Chat,
            Wire::Anthropic,
            Wire::CommandCode,
            Wire::Responses,
        ] {
            let plain = frames(wire, &cfg, &body, &turn, 1, None).concat();
            let f = frames(wire, &cfg, &body, &turn, 1, None);
            let all: String = padded(wire, f, 10, 100).collect();
            assert_eq!(all.len(), plain.len() + 10 * 100, "{wire:?}");
            // Every event (line) still parses once its data lines are joined.
            let events: Vec<String> = if wire == Wire::CommandCode {
                all.lines().map(str::to_owned).collect()
            } else {
                all.split("\n\n")
                    .map(|e| {
                        e.lines()
                            .filter_map(|l| l.strip_prefix("data: "))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .collect()
            };
            let padded_ok = events
                .iter()
                .filter(|e| e.len() > 1000)
                .all(|e| serde_json::from_str::<Value>(e).is_ok());
            assert!(padded_ok, "{wire:?}: {all}");
            assert_eq!(events.iter().filter(|e| e.len() > 1000).count(), 1);

            let mut endless = endless(wire, 64, None);
            let some: String = endless.by_ref().take(1000).collect();
            assert!(
                !some.contains("\n\n") && endless.next().is_some(),
                "{wire:?}"
            );
            assert_eq!(
                super::endless(wire, 64, Some(64 * 5)).count(),
                5,
                "{wire:?}: bounded when asked"
            );
        }
    }

    #[test]
    fn cut_before_end_keeps_every_item_and_no_end() {
        let turn = Turn {
            text: Some("hi".into()),
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: r#"{"a":1}"#.into(),
            }],
            ..Turn::default()
        };
        let cfg = MockConfig::default();
        let body = serde_json::json!({"model": "m", "stream": true});
        for (wire, call_done, end) in [
            (Wire::Chat, "\"call_1\"", "\"finish_reason\":\"tool_calls\""),
            (Wire::Anthropic, "content_block_stop", "message_delta"),
            (Wire::CommandCode, "\"tool-call\"", "finish"),
            (
                Wire::Responses,
                "response.output_item.done",
                "response.completed",
            ),
        ] {
            let mut f = frames(wire, &cfg, &body, &turn, 1, None);
            let all = f.len();
            f.truncate(end_of_turn(wire, &f));
            let kept = f.concat();
            assert!(f.len() < all, "{wire:?}: something is cut");
            assert!(kept.contains(call_done), "{wire:?}: the call is complete");
            assert!(!kept.contains(end), "{wire:?}: no end of turn:\n{kept}");
        }
    }
}
