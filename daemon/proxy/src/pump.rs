//! The response body: drives a [`Transducer`] from the upstream's byte stream, with
//! keep-alives while the upstream is silent, and turns its events into SSE bytes.
//!
//! It is a plain `Stream` owned by the HTTP response: when the client disconnects, hyper drops
//! it, which drops the upstream response and so cancels the upstream request. The upstream
//! body is also dropped (its connection closed) as soon as the response ends, before the
//! client has read the end: an upstream that passed a bound (`max_event_bytes`) and keeps
//! sending is cut off at once.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use codex_launcher_translate::{Failure, FailureKind, Response, ResponseEvent, Transducer};
use futures::{Stream, StreamExt};

use crate::endpoint::Endpoint;
use crate::record::{self, Tap};
use crate::upstream::content_coding_failure;

/// The upstream's answer, still to come.
pub type PendingResponse =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, reqwest::Error>> + Send>>;
type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

enum Phase {
    /// Waiting for the upstream's response headers.
    Waiting(PendingResponse),
    /// Reading the upstream's body.
    Streaming(ByteStream),
    /// Terminal event sent.
    Done,
}

/// Called once with the terminal response.
pub type OnDone = Box<dyn FnOnce(&Response) + Send>;

/// Upstream bytes whose events may go out in one write: past this, what is ready is sent
/// before more is taken, so a fast upstream cannot grow one write without bound.
const BATCH_BYTES: usize = 64 * 1024;

/// How many times the pump lets the other tasks run before it decides no upstream chunk is
/// ready: hyper's client connection needs two scheduler rounds to decode and hand over the
/// next chunk of its read buffer (measured with hyper 1.12: after one round the chunk was
/// never there, after two it always was). Fewer would only cost writes, more only polls.
const CONNECTION_ROUNDS: u32 = 2;

/// Pending once, after asking to be polled again: the tasks woken before this one (the
/// upstream connection's) run first. Unlike `tokio::task::yield_now`, which defers the wake
/// until the runtime has polled its I/O driver (an `epoll_wait` each time), this only
/// requeues the task.
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The body's next item if it can be had without waiting for the network: it is polled,
/// and the other tasks are let run up to [`CONNECTION_ROUNDS`] times for it. `None` when
/// nothing came (the caller hands out what it has, and waits later).
async fn next_if_ready(body: &mut ByteStream) -> Option<Option<Result<Bytes, reqwest::Error>>> {
    let mut rounds = 0;
    loop {
        if let Poll::Ready(item) =
            std::future::poll_fn(|cx| Poll::Ready(body.poll_next_unpin(cx))).await
        {
            return Some(item);
        }
        if rounds == CONNECTION_ROUNDS {
            return None;
        }
        rounds += 1;
        YieldOnce::default().await;
    }
}

/// The pump.
pub struct Pump {
    transducer: Box<dyn Transducer>,
    endpoint: std::sync::Arc<Endpoint>,
    phase: Phase,
    keepalive: Duration,
    events: Vec<ResponseEvent>,
    on_done: Option<OnDone>,
    started: bool,
    /// While streaming: fires at the earliest moment a keep-alive could be due. It is not
    /// re-armed per chunk (a timer per chunk was a measurable share of a stream's CPU); when
    /// it fires, `last_activity` says whether the stream was really silent that long.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    last_activity: tokio::time::Instant,
    /// The turn recorder's capture of this turn (issue 18), if a recorder is set.
    tap: Option<Tap>,
}

impl Pump {
    /// A pump still waiting for the upstream's headers.
    pub fn waiting(
        transducer: Box<dyn Transducer>,
        endpoint: std::sync::Arc<Endpoint>,
        pending: PendingResponse,
        keepalive: Duration,
        on_done: OnDone,
    ) -> Pump {
        Pump {
            transducer,
            endpoint,
            phase: Phase::Waiting(pending),
            keepalive,
            events: Vec::new(),
            on_done: Some(on_done),
            started: false,
            idle: None,
            last_activity: tokio::time::Instant::now(),
            tap: None,
        }
    }

    /// A pump whose upstream already answered 2xx.
    pub fn streaming(
        transducer: Box<dyn Transducer>,
        endpoint: std::sync::Arc<Endpoint>,
        resp: reqwest::Response,
        keepalive: Duration,
        on_done: OnDone,
    ) -> Pump {
        Pump {
            transducer,
            endpoint,
            phase: Phase::Streaming(Box::pin(resp.bytes_stream())),
            keepalive,
            events: Vec::new(),
            on_done: Some(on_done),
            started: false,
            idle: None,
            last_activity: tokio::time::Instant::now(),
            tap: None,
        }
    }

    /// Hand the turn's capture to the pump, which feeds and finishes it.
    pub fn with_tap(mut self, tap: Option<Tap>) -> Pump {
        self.tap = tap;
        self
    }

    /// The response ended: the capture gets the terminal response (once).
    fn finish_tap(&mut self) {
        if let Some(tap) = self.tap.take() {
            tap.finish(self.transducer.final_response(), self.transducer.failure());
        }
    }

    /// Advance until some events are ready; `None` after the terminal event.
    ///
    /// While streaming, the events of every upstream chunk that has already arrived go out
    /// together, so the client gets one write per upstream read instead of one per chunk (a
    /// 64-chunk answer cost 67 `writev`s). Nothing waits for the network to fill a batch:
    /// once events are ready, a chunk is taken only if it can be had without waiting
    /// ([`next_if_ready`]: hyper hands its decoded body over one chunk at a time, so the next
    /// chunk is not there until the upstream connection's task ran).
    pub async fn next_events(&mut self) -> Option<Vec<ResponseEvent>> {
        // Upstream bytes taken into the events not yet handed out.
        let mut batched = 0usize;
        loop {
            if !self.started {
                self.started = true;
                self.transducer.start(&mut self.events);
            }
            let streaming = matches!(self.phase, Phase::Streaming(_));
            if !self.events.is_empty() && (!streaming || batched >= BATCH_BYTES) {
                return Some(self.take_events());
            }
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Waiting(pending) => {
                    match tokio::time::timeout(self.keepalive, pending.as_mut()).await {
                        Err(_) => self.transducer.keepalive(&mut self.events),
                        Ok(Ok(resp)) if resp.status().is_success() => {
                            if let Some(t) = &mut self.tap {
                                t.answered(resp.status(), resp.headers());
                            }
                            match content_coding_failure(&self.endpoint, resp.headers()) {
                                Some(failure) => self.transducer.fail(failure, &mut self.events),
                                None => {
                                    self.phase = Phase::Streaming(Box::pin(resp.bytes_stream()));
                                    self.last_activity = tokio::time::Instant::now();
                                }
                            }
                        }
                        Ok(Ok(resp)) => {
                            let failure =
                                record::failure_of(&self.endpoint, resp, self.tap.as_mut()).await;
                            self.transducer.fail(failure, &mut self.events);
                        }
                        Ok(Err(e)) => {
                            let failure =
                                record::transport_failure(&self.endpoint, &e, self.tap.as_mut());
                            self.transducer.fail(failure, &mut self.events);
                        }
                    }
                }
                Phase::Streaming(body) => {
                    let keepalive = self.keepalive;
                    let last = self.last_activity;
                    let idle = self.idle.get_or_insert_with(|| {
                        Box::pin(tokio::time::sleep_until(last + keepalive))
                    });
                    let next = if self.events.is_empty() {
                        tokio::select! {
                            biased;
                            next = body.next() => Some(next),
                            () = idle.as_mut() => None,
                        }
                    } else {
                        match next_if_ready(body).await {
                            Some(next) => Some(next),
                            None => return Some(self.take_events()),
                        }
                    };
                    match next {
                        None => {
                            let now = tokio::time::Instant::now();
                            let due = self.last_activity + keepalive;
                            if now >= due {
                                self.transducer.keepalive(&mut self.events);
                                self.last_activity = now;
                                idle.as_mut().reset(now + keepalive);
                            } else {
                                idle.as_mut().reset(due);
                            }
                        }
                        Some(Some(Ok(bytes))) => {
                            batched += bytes.len();
                            self.last_activity = tokio::time::Instant::now();
                            if let Some(t) = &mut self.tap {
                                t.received(&bytes);
                            }
                            self.transducer.feed(&bytes, &mut self.events);
                        }
                        Some(Some(Err(e))) => {
                            let mut failure =
                                record::transport_failure(&self.endpoint, &e, self.tap.as_mut());
                            failure.kind = codex_launcher_translate::FailureKind::StreamCut;
                            self.transducer.fail(failure, &mut self.events);
                        }
                        Some(None) => self.transducer.end_of_stream(&mut self.events),
                    }
                }
            }
            if self.transducer.is_finished() && !matches!(self.phase, Phase::Done) {
                // Dropping the phase drops the upstream body: its connection is closed now.
                self.phase = Phase::Done;
                if let Some(failure) = self.transducer.failure()
                    && failure.kind == FailureKind::Oversized
                {
                    tracing::warn!(
                        endpoint = %self.endpoint.id,
                        endpoint_name = %self.endpoint.name,
                        error = %failure.message,
                        "the upstream passed a bound; its connection is closed"
                    );
                }
                if let (Some(done), Some(resp)) =
                    (self.on_done.take(), self.transducer.final_response())
                {
                    done(resp);
                }
            }
        }
    }

    fn take_events(&mut self) -> Vec<ResponseEvent> {
        std::mem::take(&mut self.events)
    }

    /// Run to the end (non-stream clients): the terminal response, or why it failed.
    pub async fn collect(mut self) -> Option<Result<Response, Failure>> {
        while self.next_events().await.is_some() {}
        self.finish_tap();
        if let Some(failure) = self.transducer.failure() {
            return Some(Err(failure.clone()));
        }
        self.transducer.final_response().cloned().map(Ok)
    }

    /// The SSE body.
    pub fn into_sse(self) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
        futures::stream::unfold(self, |mut pump| async move {
            let mut events = pump.next_events().await?;
            let mut buf = Vec::with_capacity(events.len() * 256);
            for e in &events {
                e.write_sse(&mut buf);
            }
            // Hand the (emptied) vector back so the next chunk's events reuse its capacity.
            events.clear();
            if pump.events.is_empty() {
                pump.events = events;
            }
            let bytes = Bytes::from(buf);
            if let Some(t) = &mut pump.tap {
                t.emitted(&bytes);
                // After the terminal events went out, so the record holds them.
                if matches!(pump.phase, Phase::Done) {
                    pump.finish_tap();
                }
            }
            Some((Ok(bytes), pump))
        })
    }
}

/// The body of a Responses-native upstream, relayed byte for byte.
///
/// One thing is added. When the upstream connection breaks before its terminal event, the
/// client gets a retryable `response.failed` and a clean end of body instead of a broken
/// connection: hyper aborts a response whose body stream errors, and when that happens before
/// its first write even the status line is lost, so Codex saw a transport error with no word
/// of the endpoint. The bytes are watched (not changed) to number the event after the last
/// one and to know whether a terminal event already went by.
///
/// The watching is bounded like the translating backends: an event over `max_event_bytes`
/// ends the relay with a `response.failed` naming the bound (not retried), and the upstream
/// connection is closed.
pub fn relay(
    endpoint: std::sync::Arc<Endpoint>,
    resp: reqwest::Response,
    max_event_bytes: usize,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    relay_tapped(endpoint, resp, max_event_bytes, None)
}

/// [`relay`], feeding the turn recorder's capture (issue 18) and finishing it at the end.
pub fn relay_tapped(
    endpoint: std::sync::Arc<Endpoint>,
    resp: reqwest::Response,
    max_event_bytes: usize,
    tap: Option<Tap>,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    let relay = Relay {
        endpoint,
        body: Some(Box::pin(resp.bytes_stream())),
        sse: codex_launcher_translate::sse::SseParser::new(max_event_bytes),
        watch: RelayWatch::default(),
        tap,
    };
    futures::stream::unfold(relay, |mut relay| async move {
        let chunk = relay.next_chunk().await?;
        Some((Ok(chunk), relay))
    })
}

struct Relay {
    endpoint: std::sync::Arc<Endpoint>,
    /// `None` once the body ended.
    body: Option<ByteStream>,
    sse: codex_launcher_translate::sse::SseParser,
    watch: RelayWatch,
    tap: Option<Tap>,
}

/// What the relayed events told us.
#[derive(Default)]
struct RelayWatch {
    last_sequence: Option<u64>,
    response_id: Option<String>,
    terminal: bool,
    /// The upstream's own `response.failed`: (code, message).
    failed: Option<(String, String)>,
}

/// The few fields of a relayed event we look at.
#[derive(serde::Deserialize)]
struct WatchedEvent {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    sequence_number: Option<u64>,
    #[serde(default)]
    response: Option<WatchedResponse>,
}

#[derive(serde::Deserialize)]
struct WatchedResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    error: Option<WatchedError>,
}

#[derive(serde::Deserialize)]
struct WatchedError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl RelayWatch {
    fn see(&mut self, data: &str) {
        let Ok(ev) = serde_json::from_str::<WatchedEvent>(data) else {
            return;
        };
        if ev.sequence_number.is_some() {
            self.last_sequence = ev.sequence_number;
        }
        if let Some(r) = ev.response {
            if ev.kind == "response.failed"
                && let Some(e) = r.error
            {
                self.failed = Some((
                    e.code.unwrap_or_default(),
                    e.message.unwrap_or_else(|| "the response failed".into()),
                ));
            }
            if let Some(id) = r.id {
                self.response_id.get_or_insert(id);
            }
        }
        self.terminal |= matches!(
            ev.kind.as_str(),
            "response.completed" | "response.failed" | "response.incomplete"
        );
    }
}

impl Relay {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let chunk = self.next_relayed().await;
        // The relayed bytes are what was received (kept there); only our own failure event
        // is recorded as sent.
        if chunk.is_none()
            && let Some(tap) = self.tap.take()
        {
            let failure = self.watch.failed.clone().map(|(code, message)| {
                let kind = codex_launcher_translate::FailureKind::from_stream_error(
                    Some(code.as_str()).filter(|c| !c.is_empty()),
                    &message,
                );
                (Some(kind), message)
            });
            tap.finish_relayed(self.watch.terminal, failure);
        }
        chunk
    }

    fn fail_tap(&mut self, failure: &codex_launcher_translate::Failure) {
        if let Some(tap) = self.tap.take() {
            tap.finish_relayed(true, Some((Some(failure.kind), failure.codex_message())));
        }
    }

    /// The next bytes for the client: what the upstream sent, every chunk already received
    /// in one piece (one write, as the pump does; never waiting for more to fill it).
    async fn next_relayed(&mut self) -> Option<Bytes> {
        let item = self.body.as_mut()?.next().await;
        let first = self.relay_item(item)?;
        let mut joined: Option<bytes::BytesMut> = None;
        while let Some(body) = self.body.as_mut() {
            let len = joined.as_ref().map_or(first.len(), bytes::BytesMut::len);
            if len >= BATCH_BYTES {
                break;
            }
            let Some(item) = next_if_ready(body).await else {
                break;
            };
            let Some(more) = self.relay_item(item) else {
                break;
            };
            joined
                .get_or_insert_with(|| bytes::BytesMut::from(&first[..]))
                .extend_from_slice(&more);
        }
        Some(joined.map_or(first, bytes::BytesMut::freeze))
    }

    /// What one item of the upstream body gives the client: its bytes, or the failure event
    /// that ends the relay; `None` at the end (the body is let go).
    fn relay_item(&mut self, item: Option<Result<Bytes, reqwest::Error>>) -> Option<Bytes> {
        match item {
            Some(Ok(bytes)) => {
                if let Some(t) = &mut self.tap {
                    t.received(&bytes);
                }
                let watch = &mut self.watch;
                let Err(e) = self.sse.feed(&bytes, |ev| watch.see(ev.data)) else {
                    return Some(bytes);
                };
                // Past the bound: this chunk is not passed on, the upstream is let go, and the
                // client gets the failure (unless the response had already ended).
                self.body = None;
                let failure = e.failure();
                tracing::warn!(
                    endpoint = %self.endpoint.id,
                    endpoint_name = %self.endpoint.name,
                    error = %failure.message,
                    "the upstream passed a bound; its connection is closed"
                );
                if self.watch.terminal {
                    return None;
                }
                let event = self.failed_event(&failure);
                if let Some(t) = &mut self.tap {
                    t.emitted(&event);
                }
                self.fail_tap(&failure);
                Some(event)
            }
            Some(Err(e)) => {
                self.body = None;
                if self.watch.terminal {
                    return None;
                }
                let mut failure = record::transport_failure(&self.endpoint, &e, self.tap.as_mut());
                failure.kind = codex_launcher_translate::FailureKind::StreamCut;
                tracing::warn!(error = %failure.message, "upstream stream broke; answering response.failed");
                let event = self.failed_event(&failure);
                if let Some(t) = &mut self.tap {
                    t.emitted(&event);
                }
                self.fail_tap(&failure);
                Some(event)
            }
            None => {
                self.body = None;
                None
            }
        }
    }

    fn failed_event(&self, failure: &codex_launcher_translate::Failure) -> Bytes {
        let data = serde_json::json!({
            "type": "response.failed",
            "sequence_number": self.watch.last_sequence.map_or(0, |s| s + 1),
            "response": {
                "id": self.watch.response_id.as_deref().unwrap_or("resp_relay_failed"),
                "object": "response",
                "status": "failed",
                "output": [],
                "error": {"code": failure.kind.code(), "message": failure.codex_message()},
            },
        });
        // The leading blank line ends an event the cut left half-written (Codex skips a data
        // payload that is not JSON); after a complete event it is an empty, ignored line.
        Bytes::from(format!("\n\nevent: response.failed\ndata: {data}\n\n"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A 200 answer whose body is `body`.
    fn answer(
        body: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) -> reqwest::Response {
        reqwest::Response::from(
            http::Response::builder()
                .status(200)
                .body(reqwest::Body::wrap_stream(body))
                .expect("response"),
        )
    }

    fn endpoint() -> Arc<Endpoint> {
        Arc::new(Endpoint::openai_compat("e", "http://127.0.0.1:9/v1", None).expect("endpoint"))
    }

    /// A Responses upstream's body: `head`, then `data:` lines forever (never a blank line),
    /// counting how many were taken.
    fn endless_body(head: &'static str, taken: Arc<AtomicUsize>) -> reqwest::Response {
        let line = Bytes::from(format!("data: {}\n", "x".repeat(1017)));
        let lines = futures::stream::repeat_with(move || {
            taken.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(line.clone())
        });
        let body = futures::stream::once(async move { Ok(Bytes::from_static(head.as_bytes())) })
            .chain(lines);
        answer(body)
    }

    /// A Chat upstream's answer: `chunks` content chunks, each its own body frame, the
    /// frames after the first `ready` ones never arriving.
    fn chat_body(chunks: usize, ready: usize) -> reqwest::Response {
        let frames: Vec<Result<Bytes, std::io::Error>> = (0..chunks)
            .map(|k| {
                Ok(Bytes::from(format!(
                    "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{k} \"}}}}]}}\n\n"
                )))
            })
            .chain(std::iter::once(Ok(Bytes::from_static(b"data: [DONE]\n\n"))))
            .collect();
        let taken = frames.into_iter().take(ready).collect::<Vec<_>>();
        let body = futures::stream::iter(taken).chain(futures::stream::pending());
        answer(body)
    }

    fn chat_pump(resp: reqwest::Response) -> Pump {
        let req: codex_launcher_translate::ResponsesRequest =
            serde_json::from_str(r#"{"model":"m","input":"hi","stream":true}"#).expect("request");
        let ctx = codex_launcher_translate::ResponseContext::new(
            &req,
            "resp_t".into(),
            1,
            codex_launcher_translate::tools::ToolMap::default(),
        );
        Pump::streaming(
            Box::new(codex_launcher_translate::chat_stream::ChatStreamTranslator::new(ctx)),
            endpoint(),
            resp,
            Duration::from_secs(3600),
            Box::new(|_| ()),
        )
    }

    fn deltas(events: &[ResponseEvent]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e, ResponseEvent::OutputTextDelta { .. }))
            .count()
    }

    /// Chunks that have all arrived go out in one batch of events (one write), with the
    /// start of the response and its end.
    #[tokio::test]
    async fn chunks_already_received_go_out_together() {
        let mut pump = chat_pump(chat_body(64, 65));
        let first = pump.next_events().await.expect("events");
        assert_eq!(deltas(&first), 64);
        assert!(
            matches!(first.last(), Some(ResponseEvent::Completed { .. })),
            "{:?}",
            first.last()
        );
        assert!(pump.next_events().await.is_none());
    }

    /// Ready events never wait for a chunk that has not arrived: the first token goes out
    /// although the rest of the answer never comes.
    #[tokio::test]
    async fn ready_events_do_not_wait_for_the_next_chunk() {
        let mut pump = chat_pump(chat_body(64, 3));
        let first = tokio::time::timeout(Duration::from_secs(30), pump.next_events())
            .await
            .expect("the ready events were handed out")
            .expect("events");
        assert_eq!(deltas(&first), 3);
        assert!(
            first
                .iter()
                .any(|e| matches!(e, ResponseEvent::Created { .. }))
        );
    }

    /// A fast upstream cannot grow one batch without bound.
    #[tokio::test]
    async fn one_batch_is_bounded() {
        let mut pump = chat_pump(chat_body(4000, 4001));
        let first = pump.next_events().await.expect("events");
        let n = deltas(&first);
        assert!(n > 1 && n < 4000, "{n} deltas in the first batch");
    }

    /// A relayed answer's chunks that have arrived go out in one piece, byte for byte, and
    /// the relay does not wait for one that has not.
    #[tokio::test]
    async fn the_relay_joins_chunks_already_received() {
        let events: Vec<String> = (0..3)
            .map(|k| format!("event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{k},\"delta\":\"w{k}\"}}\n\n"))
            .collect();
        let frames: Vec<Result<Bytes, std::io::Error>> =
            events.iter().map(|e| Ok(Bytes::from(e.clone()))).collect();
        let body = futures::stream::iter(frames).chain(futures::stream::pending());
        let mut out = Box::pin(relay(endpoint(), answer(body), 64 * 1024));
        let first = tokio::time::timeout(Duration::from_secs(30), out.next())
            .await
            .expect("the received chunks were handed out")
            .expect("bytes")
            .unwrap_or_default();
        assert_eq!(first, Bytes::from(events.concat()));
    }

    /// The relay passes events through unchanged, and ends an event over the bound with a
    /// `response.failed` naming it, reading no further.
    #[tokio::test]
    async fn relay_ends_an_event_over_the_bound() {
        let head = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_up\"}}\n\n";
        let taken = Arc::new(AtomicUsize::new(0));
        let out: Vec<Bytes> = relay(endpoint(), endless_body(head, taken.clone()), 64 * 1024)
            .map(|c| c.unwrap_or_default())
            .collect()
            .await;
        let text: String = out.iter().map(|b| String::from_utf8_lossy(b)).collect();
        assert!(text.starts_with(head), "{text:.300}");
        let failed = text.rsplit("data: ").next().unwrap_or_default().trim();
        let failed: serde_json::Value = serde_json::from_str(failed).expect("a JSON event");
        assert_eq!(failed["type"], "response.failed");
        assert_eq!(failed["sequence_number"], 1);
        assert_eq!(failed["response"]["id"], "resp_up");
        assert_eq!(failed["response"]["error"]["code"], "invalid_prompt");
        let message = failed["response"]["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.starts_with("the upstream sent an event over 64 KiB"),
            "{message}"
        );
        // 64 lines of 1 KiB reach the bound; the stream is not polled much beyond.
        assert!(taken.load(Ordering::SeqCst) <= 65, "{taken:?}");
    }
}
