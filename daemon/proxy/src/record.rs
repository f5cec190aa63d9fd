//! The turn recorder's tap (issue 18): what one turn looked like on both sides — Codex's
//! Responses request, each upstream request as we sent it, what came back, what we answered,
//! where and why it failed, the timings — captured while the proxy serves it and handed to a
//! [`Recorder`] at the end. The recorder (the daemon's state owner) redacts, writes and keeps
//! the records; the proxy only captures.
//!
//! # Cost on the hot path
//! A turn is captured in one of two [`Scope`]s, settled once its endpoint is known:
//! - [`Scope::Failures`] (the default): the turn is kept only if it fails, and capturing it
//!   copies nothing. The two request bodies are reference-counted [`Bytes`] (the same buffers
//!   the proxy parses and sends), the client's headers are moved in after their last use, the
//!   upstream headers are not kept but recomputed from those at the end (the same pure
//!   function built them), and the upstream's answer is kept only when it is an error (read
//!   anyway to build the message). Nothing is done per chunk. The price is memory: both
//!   bodies stay alive until the stream ends instead of until the send (one Codex history per
//!   open stream).
//! - [`Scope::All`] (the user opted in: every turn, or every turn of an endpoint): every
//!   chunk received and every chunk sent is kept too, up to [`KEEP_STREAM_BYTES`] each, again
//!   by reference (one `Bytes` clone per chunk), and the answer's headers are copied.
//!
//! The draft becomes a record ([`TurnDraft::into_record`]: JSON, secret headers blanked) on
//! the recorder's side, off the proxy's workers; [`Recorder::hand_over`] must not block.
//!
//! # Attempts
//! A turn holds a list of upstream attempts, so a turn that tries several upstreams (failover)
//! records each exchange: every [`Tap::sending`] starts one, and what follows belongs to it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use bytes::Bytes;
use codex_launcher_translate::responses::{OutputItem, ResponseStatus};
use codex_launcher_translate::{Failure, FailureKind, Response};
use codex_launcher_types::{Backend, TurnOrigin, TurnOutcome};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::endpoint::Endpoint;
use crate::error::ProxyError;
use crate::upstream::{self, error_chain, failure_from_transport, request_headers};
use crate::{Caller, ProxyState, UsageCounters};

/// The request header by which the launcher marks the requests it sends itself through the
/// proxy (a probe, a replay): `probe[;ticket=T]` or `replay;of=N[;ticket=T]`. Honoured only
/// with the install token, and never forwarded upstream (`x-codex-` headers are dropped).
pub const ORIGIN_HEADER: &str = "x-codex-launcher-origin";

/// What a secret header's value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// A request body larger than this is not kept (a record of it would not fit the default
/// size bound of the recorder anyway); the record says how large it was.
pub const KEEP_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Bytes kept of a stream, each way (what the upstream sent, what we sent Codex); the
/// record says how much more there was.
pub const KEEP_STREAM_BYTES: usize = 1024 * 1024;

/// Format name of a record file.
pub const FORMAT: &str = "codex-launcher-turn";

/// Who keeps recorded turns (the daemon's state owner). Implementations must not block:
/// both methods run on the proxy's workers.
pub trait Recorder: Send + Sync + fmt::Debug {
    /// Whether successful turns on `endpoint` are recorded too (asked once per request).
    fn records_all(&self, endpoint: &str) -> bool;
    /// Take a finished turn (queue it; if the queue is full, drop it, count and log it).
    fn hand_over(&self, turn: TurnDraft);
}

/// How much of a turn is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Kept only if it fails; nothing copied while it runs.
    Failures,
    /// Kept whatever the outcome, with the streams both ways.
    All,
}

/// Who sent the turn, with the ticket a waiting caller recognises its record by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Codex.
    Codex,
    /// A probe exchange.
    Probe {
        /// Set by the prober to find the record afterwards.
        ticket: Option<String>,
    },
    /// A replay of recorded turn `of`.
    Replay {
        /// The turn replayed.
        of: u64,
        /// Set by the replayer to find the record afterwards.
        ticket: Option<String>,
    },
}

impl Origin {
    /// The contract's name.
    pub fn kind(&self) -> TurnOrigin {
        match self {
            Origin::Codex => TurnOrigin::Codex,
            Origin::Probe { .. } => TurnOrigin::Probe,
            Origin::Replay { .. } => TurnOrigin::Replay,
        }
    }

    /// The ticket, if any.
    pub fn ticket(&self) -> Option<&str> {
        match self {
            Origin::Codex => None,
            Origin::Probe { ticket } | Origin::Replay { ticket, .. } => ticket.as_deref(),
        }
    }

    /// The turn this replays.
    pub fn replay_of(&self) -> Option<u64> {
        match self {
            Origin::Replay { of, .. } => Some(*of),
            Origin::Codex | Origin::Probe { .. } => None,
        }
    }

    /// The value of [`ORIGIN_HEADER`] that says this (`None` for Codex).
    pub fn header_value(&self) -> Option<String> {
        let (mut value, ticket) = match self {
            Origin::Codex => return None,
            Origin::Probe { ticket } => ("probe".to_owned(), ticket),
            Origin::Replay { of, ticket } => (format!("replay;of={of}"), ticket),
        };
        if let Some(t) = ticket {
            value.push_str(";ticket=");
            value.push_str(t);
        }
        Some(value)
    }

    /// Parse a [`ORIGIN_HEADER`] value (`None`: not one we send).
    pub fn parse(value: &str) -> Option<Origin> {
        let mut parts = value.split(';').map(str::trim);
        let kind = parts.next()?;
        let (mut of, mut ticket) = (None, None);
        for part in parts {
            match part.split_once('=') {
                Some(("of", n)) => of = n.parse().ok(),
                // A ticket is ours (hex); anything else is not kept.
                Some(("ticket", t))
                    if !t.is_empty()
                        && t.len() <= 64
                        && t.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    ticket = Some(t.to_owned())
                }
                _ => {}
            }
        }
        match kind {
            "probe" => Some(Origin::Probe { ticket }),
            "replay" => Some(Origin::Replay { of: of?, ticket }),
            _ => None,
        }
    }
}

/// Whether a header's value is a secret: the auth headers and any header whose name says
/// auth, key, token, secret, cookie or session. The rule is by name because the values are
/// anything (a provider's own key header, a gateway's session cookie); a value equal to a
/// stored key is caught by the recorder's own pass over the whole record.
pub fn is_secret_header(name: &str) -> bool {
    const WORDS: [&str; 6] = ["auth", "key", "token", "secret", "cookie", "session"];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|w| name.contains(w))
}

/// Header pairs for a record, secret values blanked.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if is_secret_header(name.as_str()) || value.is_sensitive() {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// A stream's bytes as received or sent, copied up to a bound. Copied, not kept by
/// reference: a chunk of the upstream's body is a slice of hyper's read buffer, and while a
/// slice lives the buffer cannot be reused, so every read then allocated and copied a new
/// one (`BytesMut` reserve on a shared buffer) — dearer than copying the chunk here.
#[derive(Debug, Default)]
struct Chunks {
    bytes: Vec<u8>,
    total: u64,
}

impl Chunks {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEEP_STREAM_BYTES - self.bytes.len();
        self.bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn kept(&self) -> usize {
        self.bytes.len()
    }

    /// The text (lossy UTF-8; the bound may cut a character); `None` when nothing came.
    fn take_text(&mut self) -> Option<String> {
        if self.bytes.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.bytes);
        Some(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }
}

/// One upstream exchange of a turn.
#[derive(Debug)]
struct Attempt {
    endpoint: Arc<Endpoint>,
    url: String,
    /// Per-request headers on top of the endpoint's (`Prepared::headers`).
    extra: Vec<(&'static str, String)>,
    /// The headers as sent, when they were not built from Codex's (a replay's).
    headers: Option<HeaderMap>,
    body: Bytes,
    sent: Duration,
    status: Option<u16>,
    answered: Option<Duration>,
    /// Copied only for errors, or in [`Scope::All`].
    response_headers: Option<HeaderMap>,
    first_byte: Option<Duration>,
    received: Chunks,
    error_body: Option<String>,
    transport_error: Option<String>,
}

/// The end of the response as the translation saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Terminal {
    /// `completed`, `failed`, `incomplete`, `in_progress`.
    pub status: String,
    /// `error.code` of a failed response.
    pub error_code: Option<String>,
    /// `error.message` of a failed response.
    pub error_message: Option<String>,
    /// Token counts.
    pub usage: UsageCounters,
    /// Output item types, in order.
    pub output: Vec<String>,
}

impl Terminal {
    fn of(resp: &Response) -> Terminal {
        let status = match resp.status {
            ResponseStatus::InProgress => "in_progress",
            ResponseStatus::Completed => "completed",
            ResponseStatus::Failed => "failed",
            ResponseStatus::Incomplete => "incomplete",
        };
        Terminal {
            status: status.to_owned(),
            error_code: resp.error.as_ref().map(|e| e.code.clone()),
            error_message: resp.error.as_ref().map(|e| e.message.clone()),
            usage: UsageCounters::of(resp.usage.as_ref(), resp.status == ResponseStatus::Failed),
            output: resp
                .output
                .iter()
                .map(|o| {
                    match o {
                        OutputItem::Message { .. } => "message",
                        OutputItem::FunctionCall { .. } => "function_call",
                        OutputItem::CustomToolCall { .. } => "custom_tool_call",
                        OutputItem::Reasoning { .. } => "reasoning",
                    }
                    .to_owned()
                })
                .collect(),
        }
    }
}

/// Where a turn failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The proxy refused Codex's request before sending anything upstream (unreadable or
    /// malformed, unknown endpoint, untranslatable).
    Proxy,
    /// The upstream could not be reached (connect, timeout, reset) before it answered.
    Connect,
    /// The upstream answered with an error status.
    Status,
    /// After the upstream answered 2xx: the stream broke, carried an error, passed a bound,
    /// or could not be read.
    Stream,
}

impl Stage {
    /// The name in records and on the bus.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Proxy => "proxy",
            Stage::Connect => "connect",
            Stage::Status => "status",
            Stage::Stream => "stream",
        }
    }

    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Proxy => "refused by the proxy before anything was sent upstream",
            Stage::Connect => "the upstream could not be reached",
            Stage::Status => "the upstream answered with an error status",
            Stage::Stream => "after the upstream started answering",
        }
    }
}

/// Why a turn failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailureNote {
    /// Where.
    pub stage: Stage,
    /// The failure's kind (`invalid_request`, `stream_cut`, …; `None` for the proxy's own
    /// refusals).
    pub kind: Option<String>,
    /// The message Codex was given (never a key: upstream bodies are redacted before).
    pub message: String,
}

/// The name of a failure kind in records.
pub fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::RateLimited => "rate_limited",
        FailureKind::ContextLength => "context_length",
        FailureKind::Auth => "auth",
        FailureKind::InvalidRequest => "invalid_request",
        FailureKind::Overloaded => "overloaded",
        FailureKind::Server => "server",
        FailureKind::StreamCut => "stream_cut",
        FailureKind::Quota => "quota",
        FailureKind::Oversized => "oversized",
    }
}

/// A finished turn, as the proxy captured it. Becomes a [`TurnRecord`] on the recorder's
/// side ([`TurnDraft::into_record`]).
#[derive(Debug)]
pub struct TurnDraft {
    /// How much was captured.
    pub scope: Scope,
    /// Whose token it carried.
    pub caller: Caller,
    /// Who sent it.
    pub origin: Origin,
    /// How it ended.
    pub outcome: TurnOutcome,
    /// The endpoint id the request named (`None`: the default route).
    pub requested_endpoint: Option<String>,
    /// The endpoint it was served by, once known.
    pub endpoint: Option<Arc<Endpoint>>,
    /// When it arrived.
    pub started: SystemTime,
    /// Why it failed.
    pub failure: Option<FailureNote>,
    codex_headers: Option<HeaderMap>,
    codex_body: Option<Bytes>,
    codex_bytes: u64,
    attempts: Vec<Attempt>,
    emitted: Chunks,
    client_status: u16,
    client_error: Option<String>,
    terminal: Option<Terminal>,
    duration: Duration,
}

/// A turn being captured. Lives with the request: in the handler, then in the response body
/// (the pump or the relay). Dropped before it is finished (the client went away), it is
/// handed over as cancelled, in [`Scope::All`] only.
#[derive(Debug)]
pub struct Tap {
    recorder: Arc<dyn Recorder>,
    draft: Option<TurnDraft>,
    t0: Instant,
}

impl Tap {
    /// Start capturing a request, if a recorder is set.
    pub fn begin(
        state: &ProxyState,
        caller: Caller,
        requested_endpoint: Option<&str>,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> Option<Tap> {
        let recorder = state.recorder()?.clone();
        // Only the launcher itself (the install token) can say a request is a probe or a
        // replay; a session's Codex cannot make its turns look like ours.
        let origin = match caller {
            Caller::Launcher => headers
                .get(ORIGIN_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(Origin::parse)
                .unwrap_or(Origin::Codex),
            Caller::Anyone | Caller::Session(_) => Origin::Codex,
        };
        Some(Tap::new(
            recorder,
            caller,
            origin,
            requested_endpoint.map(str::to_owned),
            body.cloned(),
        ))
    }

    fn new(
        recorder: Arc<dyn Recorder>,
        caller: Caller,
        origin: Origin,
        requested_endpoint: Option<String>,
        body: Option<Bytes>,
    ) -> Tap {
        // A replay is recorded whatever its outcome: its caller prints it.
        let scope = match origin {
            Origin::Replay { .. } => Scope::All,
            Origin::Codex | Origin::Probe { .. } => Scope::Failures,
        };
        let codex_bytes = body.as_ref().map_or(0, |b| b.len() as u64);
        Tap {
            recorder,
            t0: Instant::now(),
            draft: Some(TurnDraft {
                scope,
                caller,
                origin,
                outcome: TurnOutcome::Cancelled,
                requested_endpoint,
                endpoint: None,
                started: SystemTime::now(),
                failure: None,
                codex_headers: None,
                codex_body: body.filter(|b| b.len() <= KEEP_BODY_BYTES),
                codex_bytes,
                attempts: Vec::new(),
                emitted: Chunks::default(),
                client_status: 200,
                client_error: None,
                terminal: None,
                duration: Duration::ZERO,
            }),
        }
    }

    fn draft(&mut self) -> Option<&mut TurnDraft> {
        self.draft.as_mut()
    }

    fn attempt(&mut self) -> Option<&mut Attempt> {
        self.draft.as_mut()?.attempts.last_mut()
    }

    fn all(&self) -> bool {
        self.draft.as_ref().is_some_and(|d| d.scope == Scope::All)
    }

    /// The endpoint is known: settle the scope.
    pub fn endpoint(&mut self, endpoint: &Arc<Endpoint>) {
        let recorder = self.recorder.clone();
        if let Some(d) = self.draft() {
            if d.scope == Scope::Failures && recorder.records_all(&endpoint.id) {
                d.scope = Scope::All;
            }
            d.endpoint = Some(endpoint.clone());
        }
    }

    /// Codex's headers, after their last use (moved, not copied).
    pub fn codex_headers(&mut self, headers: HeaderMap) {
        if let Some(d) = self.draft() {
            d.codex_headers = Some(headers);
        }
    }

    /// An upstream request is being sent (a new attempt).
    pub fn sending(
        &mut self,
        endpoint: &Arc<Endpoint>,
        url: String,
        extra: Vec<(&'static str, String)>,
        body: Bytes,
    ) {
        let sent = self.t0.elapsed();
        if let Some(d) = self.draft() {
            let body = if body.len() <= KEEP_BODY_BYTES {
                body
            } else {
                Bytes::new()
            };
            d.attempts.push(Attempt {
                endpoint: endpoint.clone(),
                url,
                extra,
                headers: None,
                body,
                sent,
                status: None,
                answered: None,
                response_headers: None,
                first_byte: None,
                received: Chunks::default(),
                error_body: None,
                transport_error: None,
            });
        }
    }

    /// The upstream answered (2xx): its status, and its headers in [`Scope::All`].
    pub fn answered(&mut self, status: StatusCode, headers: &HeaderMap) {
        let all = self.all();
        let at = self.t0.elapsed();
        if let Some(a) = self.attempt() {
            a.status = Some(status.as_u16());
            a.answered = Some(at);
            if all {
                a.response_headers = Some(headers.clone());
            }
        }
    }

    /// The upstream could not be reached, or its stream broke.
    pub fn transport_error(&mut self, err: &reqwest::Error) {
        let at = self.t0.elapsed();
        if let Some(a) = self.attempt() {
            a.transport_error = Some(error_chain(err));
            a.answered.get_or_insert(at);
        }
    }

    /// A chunk of the upstream's body ([`Scope::All`] keeps it).
    #[inline]
    pub fn received(&mut self, bytes: &Bytes) {
        let Some(d) = self.draft.as_mut() else { return };
        let Some(a) = d.attempts.last_mut() else {
            return;
        };
        if a.first_byte.is_none() {
            a.first_byte = Some(self.t0.elapsed());
        }
        if d.scope == Scope::All {
            a.received.push(bytes);
        }
    }

    /// A chunk sent to the client ([`Scope::All`] keeps it).
    #[inline]
    pub fn emitted(&mut self, bytes: &Bytes) {
        if let Some(d) = self.draft.as_mut()
            && d.scope == Scope::All
        {
            d.emitted.push(bytes);
        }
    }

    /// The turn ended before streaming began, with this error as the client's answer.
    pub fn finish_rejected(mut self, err: &ProxyError) {
        let duration = self.t0.elapsed();
        let Some(mut d) = self.draft.take() else {
            return;
        };
        d.duration = duration;
        d.outcome = TurnOutcome::Failed;
        d.client_status = err.status_code().as_u16();
        d.client_error = Some(err.client_message());
        let kind = match err {
            ProxyError::Upstream(f) => Some(kind_name(f.kind).to_owned()),
            _ => None,
        };
        d.failure = Some(FailureNote {
            stage: stage_of(&d.attempts, matches!(err, ProxyError::Upstream(_))),
            kind,
            message: err.client_message(),
        });
        self.recorder.hand_over(d);
    }

    /// The response ended (the translation's terminal response, or why it failed).
    pub fn finish(mut self, response: Option<&Response>, failure: Option<&Failure>) {
        let failed =
            failure.is_some() || response.is_some_and(|r| r.status == ResponseStatus::Failed);
        let Some(scope) = self.draft.as_ref().map(|d| d.scope) else {
            return;
        };
        if !failed && scope == Scope::Failures {
            // Nothing to keep: the draft goes without a copy having been made.
            self.draft = None;
            return;
        }
        let duration = self.t0.elapsed();
        let Some(mut d) = self.draft.take() else {
            return;
        };
        d.duration = duration;
        d.terminal = response.map(Terminal::of);
        d.outcome = if failed {
            TurnOutcome::Failed
        } else {
            TurnOutcome::Completed
        };
        if failed {
            let message = failure
                .map(|f| f.codex_message())
                .or_else(|| d.terminal.as_ref().and_then(|t| t.error_message.clone()))
                .unwrap_or_else(|| "the response failed".to_owned());
            d.failure = Some(FailureNote {
                stage: stage_of(&d.attempts, true),
                kind: failure.map(|f| kind_name(f.kind).to_owned()),
                message,
            });
        }
        self.recorder.hand_over(d);
    }

    /// A relayed Responses stream ended. `saw_terminal`: a terminal event went by;
    /// `failure`: the upstream's own `response.failed`, or ours.
    pub(crate) fn finish_relayed(
        mut self,
        saw_terminal: bool,
        failure: Option<(Option<FailureKind>, String)>,
    ) {
        // A stream that ends without a terminal event leaves Codex without an answer.
        let failure = failure.or_else(|| {
            (!saw_terminal).then(|| {
                (
                    Some(FailureKind::StreamCut),
                    "the upstream's stream ended without a terminal event".to_owned(),
                )
            })
        });
        let Some(scope) = self.draft.as_ref().map(|d| d.scope) else {
            return;
        };
        if failure.is_none() && scope == Scope::Failures {
            self.draft = None;
            return;
        }
        let duration = self.t0.elapsed();
        let Some(mut d) = self.draft.take() else {
            return;
        };
        d.duration = duration;
        d.outcome = if failure.is_some() {
            TurnOutcome::Failed
        } else {
            TurnOutcome::Completed
        };
        d.failure = failure.map(|(kind, message)| FailureNote {
            stage: stage_of(&d.attempts, true),
            kind: kind.map(|k| kind_name(k).to_owned()),
            message,
        });
        self.recorder.hand_over(d);
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // Not finished: the client went away (or a path forgot to finish, which then reads
        // as a cancel). Worth a record only when every turn is recorded.
        if let Some(mut d) = self.draft.take()
            && d.scope == Scope::All
        {
            d.duration = self.t0.elapsed();
            d.outcome = TurnOutcome::Cancelled;
            self.recorder.hand_over(d);
        }
    }
}

fn stage_of(attempts: &[Attempt], upstream: bool) -> Stage {
    let Some(a) = attempts.last().filter(|_| upstream) else {
        return Stage::Proxy;
    };
    match (a.status, &a.transport_error) {
        (Some(s), _) if s >= 300 => Stage::Status,
        (Some(_), _) => Stage::Stream,
        (None, Some(_)) => Stage::Connect,
        (None, None) => Stage::Stream,
    }
}

/// [`upstream::failure_from_response`], telling `tap` what came back (the error path: the
/// status, headers and body are copied, which costs nothing a success pays).
pub async fn failure_of(
    endpoint: &Endpoint,
    resp: reqwest::Response,
    tap: Option<&mut Tap>,
) -> Failure {
    let Some(tap) = tap else {
        return upstream::failure_from_response(endpoint, resp).await;
    };
    let at = tap.t0.elapsed();
    if let Some(a) = tap.attempt() {
        a.status = Some(resp.status().as_u16());
        a.answered = Some(at);
        a.response_headers = Some(resp.headers().clone());
    }
    let (failure, body) = upstream::failure_and_body(endpoint, resp).await;
    if let Some(a) = tap.attempt() {
        a.error_body = Some(body);
    }
    failure
}

/// [`failure_from_transport`], telling `tap`.
pub fn transport_failure(
    endpoint: &Endpoint,
    err: &reqwest::Error,
    tap: Option<&mut Tap>,
) -> Failure {
    if let Some(tap) = tap {
        tap.transport_error(err);
    }
    failure_from_transport(endpoint, err)
}

// ---- the record ------------------------------------------------------------------------

/// A body in a record: JSON kept as it was sent (byte for byte, so a replay sends the same
/// bytes), anything else as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// Valid JSON, verbatim.
    Json(Box<RawValue>),
    /// Not JSON (lossy UTF-8).
    Text(String),
}

impl Payload {
    /// From bytes as sent or received.
    pub fn of(bytes: &[u8]) -> Payload {
        match serde_json::from_slice::<Box<RawValue>>(bytes) {
            Ok(raw) => Payload::Json(raw),
            Err(_) => Payload::Text(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// From text.
    pub fn of_text(text: String) -> Payload {
        match serde_json::from_str::<Box<RawValue>>(&text) {
            Ok(raw) => Payload::Json(raw),
            Err(_) => Payload::Text(text),
        }
    }

    /// The bytes.
    pub fn as_str(&self) -> &str {
        match self {
            Payload::Json(raw) => raw.get(),
            Payload::Text(t) => t,
        }
    }

    /// Parsed, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        match self {
            Payload::Json(raw) => serde_json::from_str(raw.get()).ok(),
            Payload::Text(_) => None,
        }
    }
}

/// The index line of a record: what a list shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TurnSummary {
    /// The recorder's number (0 until it assigns one).
    pub id: u64,
    /// Arrival, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Endpoint id (as requested when it was unknown).
    pub endpoint: String,
    /// Model slug as Codex sent it.
    pub model: String,
    /// Codex asked for a stream.
    pub stream: bool,
    /// The session whose token it carried.
    pub session: Option<u64>,
    /// Who sent it.
    pub origin: TurnOrigin,
    /// The turn this replays.
    pub replay_of: Option<u64>,
    /// How it ended.
    pub outcome: TurnOutcome,
    /// The last upstream status, if one answered.
    pub status: Option<u16>,
    /// Why it failed.
    pub failure: Option<FailureNote>,
    /// From arrival to the end.
    pub duration_ms: u64,
    /// How much was captured.
    pub scope: Scope,
    /// The record file's size (set by the recorder).
    #[serde(default)]
    pub bytes: u64,
}

/// The endpoint as it served the turn (never its key; secret header values blanked).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedEndpoint {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Wire protocol.
    pub backend: Backend,
    /// Base URL.
    pub base_url: String,
    /// Capability-table row (Chat hosts).
    pub provider: String,
    /// The quirk row used, overrides applied.
    pub quirks: serde_json::Value,
    /// Extra headers.
    pub extra_headers: Vec<(String, String)>,
}

impl RecordedEndpoint {
    fn of(e: &Endpoint) -> RecordedEndpoint {
        RecordedEndpoint {
            id: e.id.clone(),
            name: e.name.clone(),
            backend: e.backend,
            base_url: e.base_url.clone(),
            provider: e.provider.name().to_owned(),
            quirks: serde_json::to_value(&e.quirks).unwrap_or_default(),
            extra_headers: e
                .extra_headers
                .iter()
                .map(|(k, v)| {
                    let v = if is_secret_header(k) {
                        REDACTED.to_owned()
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        }
    }
}

/// Codex's request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Its headers (captured once the request was translated; secrets blanked).
    pub headers: Vec<(String, String)>,
    /// Its body (`None`: over [`KEEP_BODY_BYTES`], or unreadable).
    pub body: Option<Payload>,
    /// Its size.
    pub bytes: u64,
}

/// One upstream exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedAttempt {
    /// The endpoint it went to.
    pub endpoint: String,
    /// Where.
    pub url: String,
    /// The headers as sent (secrets blanked).
    pub headers: Vec<(String, String)>,
    /// The body as sent (`None`: over [`KEEP_BODY_BYTES`]).
    pub body: Option<Payload>,
    /// Milliseconds from arrival to sending.
    pub sent_ms: u64,
    /// The status, if it answered.
    pub status: Option<u16>,
    /// Milliseconds from arrival to the answer's headers (or the transport error).
    pub answered_ms: Option<u64>,
    /// Milliseconds from arrival to the first body chunk.
    pub first_byte_ms: Option<u64>,
    /// The answer's headers (kept for errors, and when every turn is recorded).
    pub response_headers: Vec<(String, String)>,
    /// The answer's body: the error body, or the stream as received (bounded).
    pub response: Option<Payload>,
    /// Body bytes received in all.
    pub response_bytes: u64,
    /// More was received than kept.
    pub response_truncated: bool,
    /// Why it could not be reached or broke off.
    pub transport_error: Option<String>,
}

/// What we answered Codex.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedAnswer {
    /// HTTP status.
    pub status: u16,
    /// The error message of an error status.
    pub error: Option<String>,
    /// The events as sent (kept when every turn is recorded; bounded).
    pub stream: Option<String>,
    /// Bytes sent in all (streams).
    pub stream_bytes: u64,
    /// More was sent than kept.
    pub stream_truncated: bool,
}

/// A recorded turn: the file's content. Never holds a key (the recorder redacts the text
/// before writing) nor a secret header's value (blanked here).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TurnRecord {
    /// [`FORMAT`].
    pub format: String,
    /// 1.
    pub version: u32,
    /// The launcher that recorded it.
    pub recorded_by: String,
    /// What a list shows.
    pub summary: TurnSummary,
    /// The endpoint that served it.
    pub endpoint: Option<RecordedEndpoint>,
    /// Codex's request.
    pub codex_request: RecordedRequest,
    /// The upstream exchanges, in order.
    pub attempts: Vec<RecordedAttempt>,
    /// What Codex got.
    pub answer: RecordedAnswer,
    /// The translation's terminal response.
    pub terminal: Option<Terminal>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl TurnDraft {
    /// The secrets the turn was sent with: the keys and secret header values of the
    /// endpoints it used, for the recorder to remove from the record (a key rotated since
    /// is no longer in the recorder's own list).
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let endpoints = self
            .endpoint
            .iter()
            .chain(self.attempts.iter().map(|a| &a.endpoint));
        for e in endpoints {
            if let Some(k) = &e.api_key {
                out.push(k.expose().to_owned());
            }
            for (name, value) in &e.extra_headers {
                if is_secret_header(name) {
                    out.push(value.clone());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The record (secret headers blanked; keys are the recorder's to remove). Runs off the
    /// hot path: here the kept bytes are copied and parsed, and the upstream headers are
    /// recomputed from Codex's exactly as they were built for the send.
    pub fn into_record(mut self) -> TurnRecord {
        let request = self.codex_body.as_deref().map(Payload::of);
        let parsed = self
            .codex_body
            .as_deref()
            .and_then(|b| serde_json::from_slice::<RequestHead>(b).ok())
            .unwrap_or_default();
        let empty = HeaderMap::new();
        let codex_headers = self.codex_headers.as_ref().unwrap_or(&empty);
        let attempts: Vec<RecordedAttempt> = self
            .attempts
            .into_iter()
            .map(|mut a| {
                let sent = match &a.headers {
                    Some(h) => h.clone(),
                    None => request_headers(&a.endpoint, codex_headers, &a.extra),
                };
                let response = match &a.error_body {
                    Some(body) => Some(Payload::of_text(body.clone())),
                    None => a.received.take_text().map(Payload::Text),
                };
                RecordedAttempt {
                    endpoint: a.endpoint.id.clone(),
                    url: a.url.clone(),
                    headers: header_pairs(&sent),
                    body: (!a.body.is_empty()).then(|| Payload::of(&a.body)),
                    sent_ms: ms(a.sent),
                    status: a.status,
                    answered_ms: a.answered.map(ms),
                    first_byte_ms: a.first_byte.map(ms),
                    response_headers: a
                        .response_headers
                        .as_ref()
                        .map(header_pairs)
                        .unwrap_or_default(),
                    response,
                    response_bytes: match &a.error_body {
                        Some(b) => b.len() as u64,
                        None => a.received.total,
                    },
                    response_truncated: a.received.total > a.received.kept() as u64,
                    transport_error: a.transport_error,
                }
            })
            .collect();
        let endpoint_id = self
            .endpoint
            .as_ref()
            .map(|e| e.id.clone())
            .or(self.requested_endpoint.clone())
            .unwrap_or_else(|| "default".to_owned());
        let summary = TurnSummary {
            id: 0,
            started_ms: self.started.duration_since(UNIX_EPOCH).map_or(0, ms),
            endpoint: endpoint_id,
            model: parsed.model.unwrap_or_default(),
            stream: parsed.stream.unwrap_or(false),
            session: match self.caller {
                Caller::Session(id) => Some(id),
                Caller::Anyone | Caller::Launcher => None,
            },
            origin: self.origin.kind(),
            replay_of: self.origin.replay_of(),
            outcome: self.outcome,
            status: attempts.last().and_then(|a| a.status),
            failure: self.failure.clone(),
            duration_ms: ms(self.duration),
            scope: self.scope,
            bytes: 0,
        };
        TurnRecord {
            format: FORMAT.to_owned(),
            version: 1,
            recorded_by: concat!("codex-launcher ", env!("CARGO_PKG_VERSION")).to_owned(),
            summary,
            endpoint: self.endpoint.as_deref().map(RecordedEndpoint::of),
            codex_request: RecordedRequest {
                headers: self
                    .codex_headers
                    .as_ref()
                    .map(header_pairs)
                    .unwrap_or_default(),
                body: request,
                bytes: self.codex_bytes,
            },
            attempts,
            answer: RecordedAnswer {
                status: self.client_status,
                error: self.client_error,
                stream_truncated: self.emitted.total > self.emitted.bytes.len() as u64,
                stream_bytes: self.emitted.total,
                stream: self.emitted.take_text(),
            },
            terminal: self.terminal,
        }
    }
}

/// The two fields of Codex's request a summary needs.
#[derive(Debug, Default, Deserialize)]
struct RequestHead {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
}

// ---- replay ----------------------------------------------------------------------------

/// How a replay went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayAnswer {
    /// The upstream finished the response.
    pub ok: bool,
    /// The upstream's HTTP status (0: it could not be reached).
    pub status: u16,
    /// What happened, for people.
    pub message: String,
}

/// Send a recorded turn's last upstream request again, as recorded, to `endpoint` with its
/// current key and secret headers (the recorded ones are redacted), and read the answer
/// through the same translation as the original turn. The exchange is recorded as a new
/// turn (origin `origin`, every turn's scope), handed to the proxy's recorder.
pub async fn replay(
    state: &Arc<ProxyState>,
    endpoint: Arc<Endpoint>,
    record: &TurnRecord,
    origin: Origin,
) -> Result<ReplayAnswer, String> {
    let attempt = record
        .attempts
        .last()
        .ok_or("nothing was sent upstream in that turn")?;
    let body = attempt
        .body
        .as_ref()
        .ok_or("the recorded upstream request was too large to keep")?;
    let codex = record
        .codex_request
        .body
        .as_ref()
        .ok_or("the recorded Codex request was too large to keep")?;
    let codex_bytes = Bytes::copy_from_slice(codex.as_str().as_bytes());
    let mut req =
        codex_launcher_translate::parse_request(&codex_bytes).map_err(|e| e.to_string())?;
    let items = std::mem::take(&mut req.input).into_items();
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Only for the answer's translation (tool names, limits); the body sent is the recorded one.
    let prepared = crate::backend::prepare(
        &endpoint,
        &req,
        &codex_bytes,
        &items,
        format!("resp_replay_{created_at:x}"),
        created_at,
        state.settings().stream_limits(),
    )
    .map_err(|e| e.to_string())?;

    let mut headers = HeaderMap::new();
    let mut redacted = Vec::new();
    for (name, value) in &attempt.headers {
        let Ok(name) = axum::http::HeaderName::try_from(name.as_str()) else {
            continue;
        };
        if value == REDACTED {
            redacted.push(name);
        } else if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(name, v);
        }
    }
    // The endpoint's headers as they are now: its key, its secret headers (recorded
    // redacted), and whatever it sends that the recording lacks.
    for (name, value) in &request_headers(&endpoint, &HeaderMap::new(), &[]) {
        if redacted.contains(name) || !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    let body = Bytes::copy_from_slice(body.as_str().as_bytes());
    let mut tap = state.recorder().map(|r| {
        let mut t = Tap::new(
            r.clone(),
            Caller::Launcher,
            origin,
            Some(endpoint.id.clone()),
            Some(codex_bytes.clone()),
        );
        t.endpoint(&endpoint);
        t.sending(&endpoint, attempt.url.clone(), Vec::new(), body.clone());
        // The headers really sent (recorded ones and the endpoint's), not recomputed.
        if let Some(a) = t.attempt() {
            a.headers = Some(headers.clone());
        }
        t
    });
    let resp = match state
        .client()
        .post(&attempt.url)
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(resp) => resp,
        Err(e) => {
            let failure = transport_failure(&endpoint, &e, tap.as_mut());
            let message = failure.message.clone();
            if let Some(t) = tap {
                t.finish_rejected(&ProxyError::Upstream(failure));
            }
            return Ok(ReplayAnswer {
                ok: false,
                status: 0,
                message,
            });
        }
    };
    let status = resp.status().as_u16();
    if !resp.status().is_success() {
        let failure = failure_of(&endpoint, resp, tap.as_mut()).await;
        let message = failure.message.clone();
        if let Some(t) = tap {
            t.finish_rejected(&ProxyError::Upstream(failure));
        }
        return Ok(ReplayAnswer {
            ok: false,
            status,
            message,
        });
    }
    if let Some(t) = tap.as_mut() {
        t.answered(resp.status(), resp.headers());
    }
    match prepared.answer {
        crate::backend::Answer::Translate(transducer) => {
            let pump = crate::pump::Pump::streaming(
                transducer,
                endpoint.clone(),
                resp,
                state.settings().keepalive,
                Box::new(|_| {}),
            )
            .with_tap(tap);
            Ok(match pump.collect().await {
                Some(Ok(r)) if r.status != ResponseStatus::Failed => ReplayAnswer {
                    ok: true,
                    status,
                    message: answered_with(&Terminal::of(&r)),
                },
                Some(Ok(r)) => ReplayAnswer {
                    ok: false,
                    status,
                    message: r
                        .error
                        .map(|e| e.message)
                        .unwrap_or_else(|| "the response failed".into()),
                },
                Some(Err(f)) => ReplayAnswer {
                    ok: false,
                    status,
                    message: f.codex_message(),
                },
                None => ReplayAnswer {
                    ok: false,
                    status,
                    message: "the stream ended without a final event".into(),
                },
            })
        }
        crate::backend::Answer::Passthrough => {
            let relayed: Vec<Bytes> = crate::pump::relay_tapped(
                endpoint.clone(),
                resp,
                state.settings().max_event_bytes,
                tap,
            )
            .filter_map(|c| async move { c.ok() })
            .collect()
            .await;
            let text: String = relayed.iter().map(|b| String::from_utf8_lossy(b)).collect();
            Ok(match sse_terminal(&text) {
                Ok(()) => ReplayAnswer {
                    ok: true,
                    status,
                    message: "the upstream completed the response".into(),
                },
                Err(message) => ReplayAnswer {
                    ok: false,
                    status,
                    message,
                },
            })
        }
    }
}

/// `completed: 1 message, 2 function_call (312 output tokens)`.
pub fn answered_with(t: &Terminal) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for kind in &t.output {
        match counts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind.clone(), 1)),
        }
    }
    let items = if counts.is_empty() {
        "no output".to_owned()
    } else {
        counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}: {items} ({} output tokens)",
        t.status, t.usage.output_tokens
    )
}

/// The terminal event of a Responses SSE text: `Ok` for completed or incomplete, else the
/// failure's message.
pub fn sse_terminal(sse: &str) -> Result<(), String> {
    for block in sse.split("\n\n") {
        let data: String = block
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&data) else {
            continue;
        };
        match event["type"].as_str() {
            Some("response.completed" | "response.incomplete") => return Ok(()),
            Some("response.failed") => {
                return Err(event["response"]["error"]["message"]
                    .as_str()
                    .unwrap_or("the response failed")
                    .to_owned());
            }
            Some("error") => {
                return Err(event["message"]
                    .as_str()
                    .unwrap_or("stream error")
                    .to_owned());
            }
            _ => {}
        }
    }
    Err("the stream ended without a final event".into())
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod served;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_round_trip_through_the_header() {
        for o in [
            Origin::Probe { ticket: None },
            Origin::Probe {
                ticket: Some("ab12".into()),
            },
            Origin::Replay {
                of: 7,
                ticket: Some("ff00".into()),
            },
        ] {
            let v = o.header_value().expect("a header");
            assert_eq!(Origin::parse(&v), Some(o));
        }
        assert_eq!(Origin::Codex.header_value(), None);
        assert_eq!(Origin::parse("replay"), None, "a replay names its turn");
        assert_eq!(Origin::parse("codex"), None);
        assert_eq!(
            Origin::parse("probe;ticket=not hex!"),
            Some(Origin::Probe { ticket: None }),
            "only our own tickets are kept"
        );
    }

    #[test]
    fn secret_headers_are_known_by_name() {
        for name in [
            "authorization",
            "Authorization",
            "x-api-key",
            "api-key",
            "X-Goog-Api-Key",
            "proxy-authorization",
            "x-auth-token",
            "cookie",
            "set-cookie",
            "x-session-id",
            "X-Client-Secret",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [
            "content-type",
            "user-agent",
            "x-request-id",
            "anthropic-version",
            "accept",
        ] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    #[test]
    fn chunks_keep_a_bounded_prefix_and_count_the_rest() {
        let mut c = Chunks::default();
        let big = Bytes::from(vec![b'a'; KEEP_STREAM_BYTES - 10]);
        c.push(&big);
        c.push(&Bytes::from_static(b"0123456789abcdef"));
        c.push(&Bytes::from_static(b"more"));
        assert_eq!(c.kept(), KEEP_STREAM_BYTES);
        assert_eq!(c.total, KEEP_STREAM_BYTES as u64 + 10);
        assert!(c.take_text().is_some_and(|t| t.ends_with("0123456789")));
    }

    #[test]
    fn payloads_keep_json_verbatim() {
        let body = br#"{"b":1,  "a":[2]}"#;
        let p = Payload::of(body);
        assert!(matches!(p, Payload::Json(_)));
        assert_eq!(
            p.as_str().as_bytes(),
            body,
            "byte for byte, key order and spaces kept"
        );
        let text = serde_json::to_string(&p).expect("json");
        let back: Payload = serde_json::from_str(&text).expect("back");
        assert_eq!(back.as_str().as_bytes(), body);
        let t = Payload::of(b"data: not json\n\n");
        assert!(matches!(t, Payload::Text(_)));
    }

    #[test]
    fn sse_terminal_reads_the_end() {
        assert_eq!(
            sse_terminal("event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n"),
            Ok(())
        );
        assert_eq!(
            sse_terminal(
                "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"message\":\"no\"}}}\n\n"
            ),
            Err("no".into())
        );
        assert!(sse_terminal("").is_err());
    }
}
