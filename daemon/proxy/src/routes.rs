//! HTTP routes. Handlers are thin: parse, prepare, send, pump.
//!
//! - `POST /v1/responses`, `POST /responses`: the default endpoint.
//! - `POST /e/{endpoint}/v1/responses`: a named endpoint (several providers side by side).
//! - `GET /v1/models`, `GET /e/{endpoint}/v1/models`: the endpoint's Codex model catalog.
//! - `GET /healthz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use codex_launcher_translate::responses::{InputItem, ResponseStatus};
use codex_launcher_translate::{Response, ResponsesRequest, parse_request};
use serde_json::json;
use tracing::Instrument;

use crate::backend::{Answer, prepare};
use crate::error::ProxyError;
use crate::failover;
use crate::pump::{OnDone, Pump};
use crate::record::{self, Tap};
use crate::upstream::{content_coding_failure, request_headers};
use crate::{Caller, Endpoint, ProxyState, UsageCounters};
use codex_launcher_translate::handover::hand_over;

/// The router.
pub fn router(state: Arc<ProxyState>) -> Router {
    let limit = state.settings.max_body_bytes;
    Router::new()
        .route("/v1/responses", post(responses_default))
        .route("/responses", post(responses_default))
        .route("/e/{endpoint}/v1/responses", post(responses_named))
        .route("/e/{endpoint}/responses", post(responses_named))
        .route("/v1/models", get(models_default))
        .route("/models", get(models_default))
        .route("/e/{endpoint}/v1/models", get(models_named))
        .route("/e/{endpoint}/models", get(models_named))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn not_found() -> HttpResponse {
    let body = json!({"error": {"message": "no such route", "type": "invalid_request_error", "param": null, "code": "not_found"}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn method_not_allowed(uri: axum::http::Uri) -> HttpResponse {
    // Every route takes one method: the models routes and /healthz GET, the rest POST.
    let path = uri.path();
    let allowed = if path.ends_with("/models") || path == "/healthz" {
        "GET"
    } else {
        "POST"
    };
    let mut resp = ProxyError::MethodNotAllowed(allowed).into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    resp
}

async fn models_default(State(state): State<Arc<ProxyState>>, headers: HeaderMap) -> HttpResponse {
    if !authorized(&state, &headers) {
        return forbidden();
    }
    models(&state, None)
}

async fn models_named(
    State(state): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> HttpResponse {
    if !authorized(&state, &headers) {
        return forbidden();
    }
    models(&state, Some(&id))
}

fn authorized(state: &ProxyState, headers: &HeaderMap) -> bool {
    state.authorized(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
}

fn forbidden() -> HttpResponse {
    let body = json!({"error": {
        "message": "this proxy belongs to another user or session: missing or wrong access token",
        "type": "invalid_request_error", "param": null, "code": "forbidden"}});
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

fn models(state: &ProxyState, id: Option<&str>) -> HttpResponse {
    let Some(endpoint) = state.endpoint(id) else {
        return ProxyError::UnknownEndpoint(id.unwrap_or("default").to_owned()).into_response();
    };
    // Codex reads `models` (ModelsResponse); OpenAI-style clients read `data`.
    let mut body = endpoint
        .catalog
        .clone()
        .unwrap_or_else(|| json!({"models": []}));
    let slugs: Vec<serde_json::Value> = body
        .get("models")
        .and_then(|m| m.as_array())
        .map(|models| {
            models
                .iter()
                .filter_map(|m| m.get("slug").and_then(|s| s.as_str()))
                .map(|slug| json!({"id": slug, "object": "model", "owned_by": endpoint.name}))
                .collect()
        })
        .unwrap_or_default();
    if let Some(obj) = body.as_object_mut() {
        obj.entry("object").or_insert(json!("list"));
        obj.entry("data").or_insert(serde_json::Value::Array(slugs));
    }
    axum::Json(body).into_response()
}

async fn responses_default(
    State(state): State<Arc<ProxyState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResponse {
    responses(state, None, headers, body).await
}

async fn responses_named(
    State(state): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResponse {
    responses(state, Some(id), headers, body).await
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);

async fn responses(
    state: Arc<ProxyState>,
    endpoint_id: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResponse {
    let Some(caller) = state.caller(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return forbidden();
    };
    if let Some(observer) = state.observer() {
        observer.request_started(caller);
    }
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "request",
        request_id = n,
        endpoint = tracing::field::Empty,
        model = tracing::field::Empty,
        stream = tracing::field::Empty,
    );
    let started = Instant::now();
    // The turn recorder's capture (issue 18); `None` without a recorder. Handlers hand it
    // to the response body, or leave it here when they answer an error.
    let mut tap = Tap::begin(
        &state,
        caller,
        endpoint_id.as_deref(),
        &headers,
        body.as_ref().ok(),
    );
    let result = handle(
        state.clone(),
        endpoint_id,
        headers,
        body,
        n,
        caller,
        &mut tap,
    )
    .instrument(span.clone())
    .await;
    match result {
        Ok(resp) => resp,
        Err(err) => {
            if let Some(tap) = tap.take() {
                tap.finish_rejected(&err);
            }
            state.stats.errors.fetch_add(1, Ordering::Relaxed);
            let status = err.status_code().as_u16();
            let ms = started.elapsed().as_millis() as u64;
            let _g = span.enter();
            match err.level() {
                tracing::Level::ERROR => {
                    tracing::error!(status, duration_ms = ms, error = %err, "request failed")
                }
                tracing::Level::WARN => {
                    tracing::warn!(status, duration_ms = ms, error = %err, "request failed")
                }
                _ => tracing::info!(status, duration_ms = ms, error = %err, "request rejected"),
            }
            err.into_response()
        }
    }
}

async fn handle(
    state: Arc<ProxyState>,
    endpoint_id: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    n: u64,
    caller: Caller,
    tap: &mut Option<Tap>,
) -> Result<HttpResponse, ProxyError> {
    let body = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ProxyError::PayloadTooLarge
        } else {
            ProxyError::UnreadableBody(rej.body_text())
        }
    })?;
    let single = state.endpoint(endpoint_id.as_deref());
    let unknown =
        || ProxyError::UnknownEndpoint(endpoint_id.clone().unwrap_or_else(|| "default".into()));
    if single.is_none() && (state.router().is_none() || endpoint_id.is_none()) {
        return Err(unknown());
    }
    let mut req = parse_request(&body)?;
    let span = tracing::Span::current();
    span.record("model", req.model.as_str());
    span.record("stream", req.stream);
    let items = expand_input(&state, &mut req)?;
    let response_id = new_response_id(n);
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    // A group's stickiness follows Codex's thread, which `codex exec resume` keeps.
    let affinity = crate::Affinity {
        caller,
        thread: if single.is_none() {
            req.prompt_cache_key.clone()
        } else {
            None
        },
    };
    // One endpoint, or a fallback group's members in the router's order.
    let (attempts, group) = match single {
        Some(endpoint) => (vec![(endpoint, None)], None),
        None => {
            let (Some(router), Some(id)) = (state.router(), endpoint_id.as_deref()) else {
                return Err(unknown());
            };
            let route = router.route(id, &affinity).await.ok_or_else(unknown)?;
            if route.members.is_empty() {
                return Err(ProxyError::Upstream(failover::none_available(
                    &route.name,
                    route.retry_after,
                )));
            }
            let members = route
                .members
                .iter()
                .filter_map(|m| Some((state.endpoint(Some(&m.endpoint))?, Some(m.clone()))))
                .collect();
            (members, Some((id.to_owned(), route)))
        }
    };

    let total = attempts.len();
    // One endpoint takes the request as it is; group members get copies (their model, their
    // hand-over), so a single endpoint's request is never copied.
    let (mut req, mut items) = (Some(req), Some(items));
    // The attempts, in order, until one gets as far as the client's answer; an error is the
    // client's (one endpoint, or a group out of members or told to stop).
    let chosen = 'pick: {
        for (i, (endpoint, member)) in attempts.into_iter().enumerate() {
            span.record("endpoint", endpoint.id.as_str());
            if let Some(t) = tap.as_mut() {
                t.endpoint(&endpoint);
            }
            // A group member answers for its own model; reasoning only the provider the
            // session moved away from understands is handed over (plain text or left out).
            let moved = member.is_some()
                && (i > 0 || group.as_ref().is_some_and(|(_, r)| r.moved_from.is_some()));
            let (member_req, member_items) = match (&member, req.as_ref(), items.as_ref()) {
                (Some(m), Some(req), Some(items)) => {
                    let mut r = req.clone();
                    r.model.clone_from(&m.model);
                    let it = if moved {
                        hand_over(items, &failover::target(&endpoint, &m.model))
                    } else {
                        items.clone()
                    };
                    (r, it)
                }
                _ => match (req.take(), items.take()) {
                    (Some(r), Some(it)) => (r, it),
                    _ => {
                        break 'pick Err(ProxyError::Internal(
                            "the request was already used".into(),
                        ));
                    }
                },
            };
            if let (Some((group_id, _)), Some(m), Some(why)) =
                (&group, &member, &endpoint.key_unavailable)
                && i + 1 < total
            {
                // Its key cannot be had (a locked keyring): not the provider's fault, and
                // another member can serve.
                if let Some(r) = state.router() {
                    r.attempted(
                        group_id,
                        &affinity,
                        m,
                        crate::Attempt::Failed {
                            reason: why.clone(),
                            cooldown: None,
                        },
                    );
                }
                tracing::warn!(group = %group_id, member = %endpoint.id, reason = %why, "group member unusable; trying the next");
                continue;
            }
            let attempt = begin_attempt(
                &state,
                &endpoint,
                &member_req,
                &body,
                &member_items,
                &response_id,
                created_at,
                &headers,
                tap,
            )
            .await;
            let (Some((group_id, _)), Some(m)) = (&group, &member) else {
                // One endpoint: its outcome is the client's.
                break 'pick attempt.map(|ready| (endpoint, member_req, member_items, ready));
            };
            let router = state.router();
            match attempt {
                Ok(ready) => break 'pick Ok((endpoint, member_req, member_items, ready)),
                Err(ProxyError::Upstream(failure)) => {
                    let decision = failover::decide(&failure);
                    if let Some(r) = router {
                        let cooldown = match decision {
                            failover::Decision::Next { cooldown } => cooldown,
                            failover::Decision::Stop => None,
                        };
                        r.attempted(
                            group_id,
                            &affinity,
                            m,
                            crate::Attempt::Failed {
                                reason: failure.message.clone(),
                                cooldown,
                            },
                        );
                    }
                    if decision == failover::Decision::Stop || i + 1 == total {
                        break 'pick Err(ProxyError::Upstream(failure));
                    }
                    tracing::warn!(group = %group_id, member = %endpoint.id, model = %m.model, reason = %failure.message, attempt = i + 1, "group member failed before the first byte; trying the next");
                }
                Err(other) => break 'pick Err(other),
            }
        }
        Err(ProxyError::Internal(
            "no group member could be tried".into(),
        ))
    };
    // Codex's headers, after their last use (moved into the capture, not copied).
    if let Some(t) = tap.as_mut() {
        t.codex_headers(headers);
    }
    let (endpoint, req, items, mut ready) = chosen?;
    if let Some((_, route)) = &group {
        ready.member = route
            .members
            .iter()
            .find(|m| m.endpoint == endpoint.id)
            .cloned();
    }
    let store = req.store != Some(false);
    let on_done = completion_hook(
        state.clone(),
        crate::RequestRecord {
            request_id: n,
            caller,
            endpoint: endpoint.id.clone(),
            model: req.model.clone(),
            usage: UsageCounters::default(),
        },
        store,
        // Kept for the whole stream only when the response will be stored: Codex sends
        // `store: false` and its whole history every turn, which need not stay in memory.
        if store { items } else { Vec::new() },
        tracing::Span::current(),
        group
            .map(|(id, _)| id)
            .zip(ready.member)
            .map(|(id, m)| (id, m, affinity)),
    );
    let keepalive = state.settings.keepalive;
    let transducer = match ready.answer {
        Answer::Translate(t) => t,
        Answer::Passthrough => match ready.upstream {
            Upstream::Arrived(resp) => {
                return Ok(passthrough(
                    &endpoint,
                    resp,
                    state.settings.max_event_bytes,
                    tap,
                ));
            }
            Upstream::Pending(_) => {
                return Err(ProxyError::Internal(
                    "a pass-through answer still pending".into(),
                ));
            }
        },
    };
    let pump = match ready.upstream {
        Upstream::Arrived(resp) => {
            Pump::streaming(transducer, endpoint.clone(), resp, keepalive, on_done)
        }
        Upstream::Pending(pending) => {
            tracing::info!("upstream slow to answer; streaming keep-alives meanwhile");
            Pump::waiting(transducer, endpoint.clone(), pending, keepalive, on_done)
        }
    }
    .with_tap(tap.take());
    if !req.stream {
        return match pump.collect().await {
            Some(Ok(response)) => Ok(axum::Json(response).into_response()),
            // The failure's own kind decides the status (a bound passed is a 502 naming it).
            Some(Err(failure)) => Err(ProxyError::Upstream(failure)),
            None => Err(ProxyError::Internal("no terminal event".into())),
        };
    }
    let guard = ActiveStream::new(state.clone());
    let body = futures::StreamExt::map(pump.into_sse(), move |chunk| {
        let _keep = &guard;
        chunk
    });
    // No Content-Encoding, whatever the client's Accept-Encoding: the events go out as
    // written (the router has no compression layer; Codex 0.169.0 cannot decode one).
    let mut resp = HttpResponse::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// A Responses-native upstream whose 2xx answer arrived: its bytes go to the client
/// unchanged (bounded by the relay).
fn passthrough(
    endpoint: &Arc<Endpoint>,
    resp: reqwest::Response,
    max_event_bytes: usize,
    tap: &mut Option<Tap>,
) -> HttpResponse {
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    let mut out = HttpResponse::new(Body::from_stream(crate::pump::relay_tapped(
        endpoint.clone(),
        resp,
        max_event_bytes,
        tap.take(),
    )));
    out.headers_mut().insert(header::CONTENT_TYPE, content_type);
    out
}

/// The upstream's answer to an attempt.
enum Upstream {
    /// Its 2xx headers arrived.
    Arrived(reqwest::Response),
    /// Still pending after the first-byte grace (streaming clients only): the client's
    /// stream starts with keep-alives, so later failures arrive as `response.failed`.
    Pending(crate::pump::PendingResponse),
}

/// An attempt that got as far as the client's answer can start.
struct Ready {
    answer: Answer,
    upstream: Upstream,
    /// The group member it went to, if any.
    member: Option<crate::RouteMember>,
}

/// Translate and send the request to `endpoint`, and wait for its answer's headers: as long
/// as they take for a non-streaming client or a pass-through, else for the first-byte grace.
/// Every failure up to here is an HTTP status for the client — or, in a group, a reason to
/// try the next member.
#[allow(clippy::too_many_arguments)]
async fn begin_attempt(
    state: &Arc<ProxyState>,
    endpoint: &Arc<Endpoint>,
    req: &ResponsesRequest,
    body: &[u8],
    items: &[InputItem],
    response_id: &str,
    created_at: u64,
    client_headers: &HeaderMap,
    tap: &mut Option<Tap>,
) -> Result<Ready, ProxyError> {
    if let Some(why) = &endpoint.key_unavailable {
        // Sending without the key would only earn the provider's 401.
        return Err(ProxyError::Upstream(
            codex_launcher_translate::Failure::new(
                codex_launcher_translate::FailureKind::Auth,
                format!("The endpoint `{}` cannot be used now: {why}", endpoint.name),
            ),
        ));
    }
    let prepared = prepare(
        endpoint,
        req,
        body,
        items,
        response_id.to_owned(),
        created_at,
        state.settings.stream_limits(),
    )?;
    if !prepared.dropped.is_empty() {
        tracing::debug!(dropped = ?prepared.dropped, "items and tools the upstream cannot take were dropped");
    }
    tracing::debug!(url = %prepared.url, bytes = prepared.body.len(), "sending upstream");
    let upstream = request_headers(endpoint, client_headers, &prepared.headers);
    // `Bytes`: the capture below shares this buffer with reqwest instead of copying it.
    let upstream_body = Bytes::from(prepared.body);
    let send = state
        .client
        .post(&prepared.url)
        .headers(upstream)
        .body(upstream_body.clone())
        .send();
    if let Some(t) = tap.as_mut() {
        t.sending(endpoint, prepared.url, prepared.headers, upstream_body);
    }
    let mut pending: crate::pump::PendingResponse = Box::pin(send);
    let wait_all = !req.stream || matches!(prepared.answer, Answer::Passthrough);
    let answered = if wait_all {
        Some(pending.as_mut().await)
    } else {
        tokio::time::timeout(state.settings.first_byte_grace, pending.as_mut())
            .await
            .ok()
    };
    let upstream = match answered {
        None => Upstream::Pending(pending),
        Some(Err(e)) => {
            return Err(ProxyError::Upstream(record::transport_failure(
                endpoint,
                &e,
                tap.as_mut(),
            )));
        }
        Some(Ok(resp)) if !resp.status().is_success() => {
            return Err(ProxyError::Upstream(
                record::failure_of(endpoint, resp, tap.as_mut()).await,
            ));
        }
        Some(Ok(resp)) => {
            if let Some(t) = tap.as_mut() {
                t.answered(resp.status(), resp.headers());
            }
            if let Some(failure) = content_coding_failure(endpoint, resp.headers()) {
                return Err(ProxyError::Upstream(failure));
            }
            Upstream::Arrived(resp)
        }
    };
    Ok(Ready {
        answer: prepared.answer,
        upstream,
        member: None,
    })
}

/// Input items, with the chain of `previous_response_id` in front. Takes `req.input` (nothing
/// reads it afterwards: translation gets the items), so a long history is not copied.
fn expand_input(
    state: &ProxyState,
    req: &mut ResponsesRequest,
) -> Result<Vec<InputItem>, ProxyError> {
    let own = std::mem::take(&mut req.input).into_items();
    let Some(prev) = &req.previous_response_id else {
        return Ok(own);
    };
    let stored = state
        .store
        .get(prev)
        .ok_or_else(|| ProxyError::PreviousResponseNotFound(prev.clone()))?;
    let mut items = Vec::with_capacity(stored.input.len() + stored.output.len() + own.len());
    items.extend(stored.input.iter().cloned());
    items.extend(stored.output.iter().cloned());
    items.extend(own);
    Ok(items)
}

/// Log the outcome, count tokens, keep the response for `previous_response_id`, and tell
/// a group's router how its member did. `request` says which request it is; its usage is
/// filled in from the response.
fn completion_hook(
    state: Arc<ProxyState>,
    request: crate::RequestRecord,
    store: bool,
    items: Vec<InputItem>,
    span: tracing::Span,
    group: Option<(String, crate::RouteMember, crate::Affinity)>,
) -> OnDone {
    let started = Instant::now();
    Box::new(move |resp: &Response| {
        let _g = span.enter();
        let ms = started.elapsed().as_millis() as u64;
        let failed = resp.status == ResponseStatus::Failed;
        if let (Some((group, member, who)), Some(router)) = (&group, state.router()) {
            let attempt = match (&resp.status, &resp.error) {
                (ResponseStatus::Failed, Some(err)) => crate::Attempt::Failed {
                    reason: err.message.clone(),
                    cooldown: None,
                },
                _ => crate::Attempt::Served,
            };
            router.attempted(group, who, member, attempt);
        }
        let usage = UsageCounters::of(resp.usage.as_ref(), failed);
        let (input, output) = (usage.input_tokens, usage.output_tokens);
        if let Some(observer) = state.observer() {
            observer.request_finished(crate::RequestRecord {
                usage,
                ..request.clone()
            });
        }
        state.stats.input_tokens.fetch_add(input, Ordering::Relaxed);
        state
            .stats
            .output_tokens
            .fetch_add(output, Ordering::Relaxed);
        match (&resp.status, &resp.error) {
            (ResponseStatus::Failed, Some(err)) => {
                state.stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(duration_ms = ms, code = %err.code, error = %err.message, "response failed");
            }
            _ => tracing::info!(
                duration_ms = ms,
                status = ?resp.status,
                input_tokens = input,
                cached_input_tokens = usage.cached_input_tokens,
                cache_write_input_tokens = usage.cache_write_input_tokens,
                output_tokens = output,
                items = resp.output.len(),
                "response finished"
            ),
        }
        if store && resp.status == ResponseStatus::Completed {
            let output = resp
                .output
                .iter()
                .filter_map(|o| o.to_input().ok())
                .collect();
            state.store.put(resp.id.clone(), items, output);
        }
    })
}

fn new_response_id(n: u64) -> String {
    use std::hash::BuildHasher;
    // Unique per process (counter) and unguessable across processes (random keys of
    // RandomState); no rand dependency needed for an id.
    let h = std::collections::hash_map::RandomState::new().hash_one((n, SystemTime::now()));
    format!("resp_{h:016x}{n:08x}")
}

/// Counts a stream as active while its body is alive.
struct ActiveStream(Arc<ProxyState>);

impl ActiveStream {
    fn new(state: Arc<ProxyState>) -> Self {
        state.stats.active_streams.fetch_add(1, Ordering::Relaxed);
        ActiveStream(state)
    }
}

impl Drop for ActiveStream {
    fn drop(&mut self) {
        self.0.stats.active_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    //! Content codings end to end: the proxy served in-process between a client and the mock
    //! upstream, on every backend.

    use std::net::SocketAddr;

    use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply};
    use serde_json::json;

    use crate::{ApiKey, Backend, Endpoint, ProxyState, Settings};

    const BACKENDS: [Backend; 4] = [
        Backend::OpenaiCompat,
        Backend::Anthropic,
        Backend::CommandCode,
        Backend::OpenaiResponses,
    ];

    /// The proxy on a loopback port in front of `mock`, speaking `backend` to it; stops when
    /// the sender is dropped.
    async fn proxy(
        backend: Backend,
        mock: &MockUpstream,
    ) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        proxy_with(backend, mock, Settings::default()).await
    }

    async fn proxy_with(
        backend: Backend,
        mock: &MockUpstream,
        settings: Settings,
    ) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let base = match backend {
            Backend::Anthropic | Backend::CommandCode => mock.root_url(),
            Backend::OpenaiCompat | Backend::OpenaiResponses => mock.base_url(),
        };
        let mut endpoint =
            Endpoint::openai_compat("default", &base, ApiKey::new("sk-test")).expect("endpoint");
        endpoint.backend = backend;
        let state = std::sync::Arc::new(ProxyState::new(settings).expect("state"));
        state.set_endpoints(vec![endpoint], Some("default".into()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::serve(listener, state, async {
            let _ = rx.await;
        }));
        (addr, tx)
    }

    /// A streamed turn as Codex sends it, with the client's `Accept-Encoding`, if any.
    async fn send(addr: SocketAddr, accept_encoding: Option<&str>) -> reqwest::Response {
        let body = json!({
            "model": "mock-model",
            "stream": true,
            "store": false,
            "input": [{"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": "hi"}]}],
        });
        // Built without reqwest's decompression features, this client neither asks for nor
        // decodes a coding by itself: what arrives is what the proxy sent.
        let mut req = reqwest::Client::new()
            .post(format!("http://{addr}/v1/responses"))
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(value) = accept_encoding {
            req = req.header("accept-encoding", value);
        }
        req.send().await.expect("proxy answers")
    }

    #[tokio::test]
    async fn plain_streams_whatever_the_client_accepts() {
        // Codex 0.171.0 sends `zstd,gzip` and decodes either; 0.169.0 sends nothing and
        // decodes nothing ("UTF8 error").
        for backend in BACKENDS {
            for accept_encoding in [Some("zstd,gzip"), None] {
                let mock = MockUpstream::start(MockConfig::default())
                    .await
                    .expect("mock");
                mock.push(Reply::text("plain words"));
                let (addr, _stop) = proxy(backend, &mock).await;
                let resp = send(addr, accept_encoding).await;
                let what = format!("{backend:?}, client Accept-Encoding {accept_encoding:?}");
                assert_eq!(resp.status(), 200, "{what}");
                assert_eq!(resp.headers().get("content-encoding"), None, "{what}");
                let bytes = resp.bytes().await.expect("body");
                let text = std::str::from_utf8(&bytes).expect("an uncompressed, UTF-8 stream");
                assert!(
                    text.contains("plain words") && text.contains("response.completed"),
                    "{what}: {text}"
                );
                let seen = mock.requests();
                assert_eq!(seen.len(), 1, "{what}");
                let upstream: Vec<&str> = seen[0]
                    .headers
                    .iter()
                    .filter(|(k, _)| k == "accept-encoding")
                    .map(|(_, v)| v.as_str())
                    .collect();
                assert_eq!(
                    upstream,
                    ["identity"],
                    "{what}: the upstream is asked for what we can decode, not what the client can"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_encoded_answer_is_refused_not_relayed() {
        for backend in BACKENDS {
            let mock = MockUpstream::start(MockConfig::default())
                .await
                .expect("mock");
            // A misbehaving upstream (or a CDN in front of it) compressing anyway.
            mock.push(Reply::Status {
                status: 200,
                headers: vec![("content-encoding".into(), "gzip".into())],
                body: "\u{1f}\u{8b}not really gzip".into(),
            });
            let (addr, _stop) = proxy(backend, &mock).await;
            let resp = send(addr, Some("zstd,gzip")).await;
            assert_eq!(resp.status(), 400, "{backend:?}");
            assert_eq!(resp.headers().get("content-encoding"), None, "{backend:?}");
            let body: serde_json::Value = resp.json().await.expect("an OpenAI-style error");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("`gzip`-encoded") && message.contains("`default`"),
                "{backend:?}: {body}"
            );
        }
    }

    #[tokio::test]
    async fn an_encoded_answer_after_the_grace_fails_the_stream() {
        let mock = MockUpstream::start(MockConfig::default())
            .await
            .expect("mock");
        // Headers only after the grace: the client already has a stream of keep-alives, so
        // the refusal arrives as `response.failed`.
        mock.push(Reply::Delay {
            millis: 500,
            then: Box::new(Reply::Status {
                status: 200,
                headers: vec![("content-encoding".into(), "zstd".into())],
                body: "not really zstd".into(),
            }),
        });
        let settings = Settings {
            first_byte_grace: std::time::Duration::from_millis(20),
            ..Settings::default()
        };
        let (addr, _stop) = proxy_with(Backend::OpenaiCompat, &mock, settings).await;
        let resp = send(addr, None).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers().get("content-encoding"), None);
        let text = resp.text().await.expect("body");
        assert!(
            text.contains("response.failed") && text.contains("`zstd`-encoded"),
            "{text}"
        );
        assert!(!text.contains("response.completed"), "{text}");
    }
}
