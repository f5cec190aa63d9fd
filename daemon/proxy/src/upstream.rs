//! Talking to upstreams: one pooled reqwest client (rustls, HTTP/2 where offered), header
//! filtering, key injection, and turning a failed answer into a [`Failure`].
//!
//! # Content codings
//! Bodies travel uncompressed in both directions. reqwest is built without its `gzip`,
//! `brotli`, `zstd` and `deflate` features, so it decodes nothing: every upstream request says
//! `Accept-Encoding: identity` (with no such header any coding would be acceptable, RFC 9110
//! §12.5.3, <https://www.rfc-editor.org/rfc/rfc9110#section-12.5.3>), and an answer that is
//! encoded anyway is refused with a message ([`content_coding_failure`]) instead of being fed
//! to a parser as garbage. The client's own `Accept-Encoding` (Codex 0.171.0 sends
//! `zstd,gzip`, 0.169.0 none and cannot decode) is never forwarded, since it speaks for the
//! client, not for us; and the server has no compression layer, so Codex gets plain SSE
//! whatever it asked for. A compressed SSE stream would gain little here anyway: the events
//! are small and a compressor holds them back until its block fills.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use codex_launcher_translate::{Failure, FailureKind};

use codex_launcher_translate::anthropic::ANTHROPIC_VERSION;
use codex_launcher_translate::command_code::DEFAULT_CLI_VERSION as COMMAND_CODE_VERSION;

use crate::endpoint::{Backend, Endpoint};

/// Our honest User-Agent.
pub const USER_AGENT: &str = concat!("codex-launcher/", env!("CARGO_PKG_VERSION"));

/// A common desktop browser User-Agent, only for endpoints that opt in (Cloudflare-fronted
/// hosts that answer unknown clients with "error code: 1010").
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0 Safari/537.36";

/// Largest error body we read from an upstream.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Client timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Longest silence between two reads of a body. Reasoning models pause for minutes.
    pub read_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(15),
            read_idle: Duration::from_secs(600),
        }
    }
}

/// Build the shared client.
pub fn client(timeouts: Timeouts) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a bundled crypto provider; install ring once (idempotent: a
    // second install just returns Err, which we ignore).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read_idle)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
}

/// Request headers from the client that must not travel upstream: hop-by-hop headers, our
/// own auth, and Codex's session and telemetry headers (a third-party provider has no use for
/// the user's installation id or turn metadata).
fn is_dropped(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-type",
        "accept",
        "accept-encoding",
        "cookie",
        "originator",
        "session-id",
        "session_id",
        "thread-id",
        "thread_id",
        "conversation_id",
        "x-client-request-id",
        "version",
        "user-agent",
        "x-api-key",
        "api-key",
    ];
    const PREFIXES: &[&str] = &[
        "x-codex-",
        "x-openai-",
        "openai-",
        "proxy-",
        "chatgpt-",
        "x-stainless-",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Headers for an upstream request.
pub fn upstream_headers(endpoint: &Endpoint, client_headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in client_headers {
        if !is_dropped(name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert("content-type", HeaderValue::from_static("application/json"));
    out.insert("accept", HeaderValue::from_static("text/event-stream"));
    match endpoint.backend {
        Backend::Anthropic => {
            out.insert(
                "anthropic-version",
                HeaderValue::from_static(ANTHROPIC_VERSION),
            );
        }
        Backend::CommandCode => {
            out.insert("accept", HeaderValue::from_static("application/x-ndjson"));
            out.insert("x-cli-environment", HeaderValue::from_static("production"));
            out.insert(
                "x-command-code-version",
                HeaderValue::from_static(COMMAND_CODE_VERSION),
            );
        }
        Backend::OpenaiCompat | Backend::OpenaiResponses => {}
    }
    let ua = if endpoint.browser_ua {
        BROWSER_USER_AGENT
    } else {
        USER_AGENT
    };
    out.insert("user-agent", HeaderValue::from_static(ua));
    for (name, value) in &endpoint.extra_headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            out.insert(n, v);
        }
    }
    for (name, value) in &endpoint.secret_headers {
        if let (Ok(n), Ok(mut v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value.expose()),
        ) {
            v.set_sensitive(true);
            out.insert(n, v);
        }
    }
    // Last, above the endpoint's extra headers: we decode no content coding (module docs).
    out.insert(
        reqwest::header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    if let Some(key) = &endpoint.api_key {
        let (name, value) = match endpoint.backend {
            Backend::Anthropic => ("x-api-key", key.expose().to_owned()),
            Backend::OpenaiCompat | Backend::CommandCode | Backend::OpenaiResponses => {
                ("authorization", format!("Bearer {}", key.expose()))
            }
        };
        if let Ok(mut v) = HeaderValue::from_str(&value) {
            v.set_sensitive(true);
            out.insert(name, v);
        }
    }
    out
}

/// Every header of one upstream request: [`upstream_headers`] and the request's own
/// (`Prepared::headers`) on top. The turn recorder recomputes a request's headers with this
/// same function instead of copying them on the hot path.
pub fn request_headers(
    endpoint: &Endpoint,
    client_headers: &HeaderMap,
    extra: &[(&'static str, String)],
) -> HeaderMap {
    let mut out = upstream_headers(endpoint, client_headers);
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(*name, v);
        }
    }
    out
}

/// A 2xx answer whose body is encoded (`Content-Encoding` other than `identity`) although
/// we asked for `identity`: we cannot decode it, so it is a failure naming the coding. Not
/// retryable: the same upstream will encode the next answer the same way.
pub fn content_coding_failure(
    endpoint: &Endpoint,
    headers: &reqwest::header::HeaderMap,
) -> Option<Failure> {
    let codings: Vec<&str> = headers
        .get_all(reqwest::header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("(not text)").split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .collect();
    if codings.is_empty() {
        return None;
    }
    Some(Failure::new(
        FailureKind::InvalidRequest,
        format!(
            "The endpoint `{}` ({}) sent a `{}`-encoded body although the proxy asked for none (Accept-Encoding: identity), and the proxy cannot decode it. A proxy or CDN in front of the provider may be compressing; this cannot be fixed by retrying.",
            endpoint.name,
            endpoint.base_url,
            truncate(&codings.join(", "), 100)
        ),
    ))
}

/// A non-2xx upstream answer as a [`Failure`] with a message naming the endpoint.
pub async fn failure_from_response(endpoint: &Endpoint, resp: reqwest::Response) -> Failure {
    failure_and_body(endpoint, resp).await.0
}

/// [`failure_from_response`], and the error body it read (bounded, the key redacted).
pub async fn failure_and_body(endpoint: &Endpoint, resp: reqwest::Response) -> (Failure, String) {
    let status = resp.status();
    let retry_after_ms = retry_after(resp.headers());
    let body = endpoint.redact(&read_bounded(resp).await);
    tracing::debug!(status = status.as_u16(), body = %body, "upstream error body");
    let kind = FailureKind::from_status(status.as_u16(), &body);
    let detail = error_detail(status.as_u16(), &body);
    let reason = status.canonical_reason().unwrap_or("error");
    let message = match kind {
        FailureKind::Auth => format!(
            "The endpoint `{}` ({}) refused the API key: HTTP {} {reason}{detail}. Check the key configured for this endpoint.",
            endpoint.name,
            endpoint.base_url,
            status.as_u16()
        ),
        FailureKind::RateLimited => format!(
            "The endpoint `{}` is rate limited (HTTP 429){detail}.",
            endpoint.name
        ),
        _ => format!(
            "The endpoint `{}` ({}) answered HTTP {} {reason}{detail}.",
            endpoint.name,
            endpoint.base_url,
            status.as_u16()
        ),
    };
    let failure = Failure {
        kind,
        message,
        retry_after_ms,
    };
    (failure, body)
}

/// A transport error (connect, timeout, reset) as a retryable [`Failure`].
pub fn failure_from_transport(endpoint: &Endpoint, err: &reqwest::Error) -> Failure {
    let what = if err.is_connect() {
        "could not connect"
    } else if err.is_timeout() {
        "timed out"
    } else {
        "failed"
    };
    // reqwest's Display includes the URL but never headers, so the key cannot leak here.
    Failure::new(
        FailureKind::Server,
        format!(
            "The request to endpoint `{}` ({}) {what}: {}",
            endpoint.name,
            endpoint.base_url,
            error_chain(err)
        ),
    )
}

pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}

async fn read_bounded(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = MAX_ERROR_BODY.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The provider's own message out of an error body (OpenAI / Anthropic / plain shapes), for
/// the user. HTML pages (Cloudflare) are summarised instead of dumped.
fn error_detail(status: u16, body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let msg = v
            .pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str().map(str::to_owned))
            .or_else(|| v.get("detail").map(|d| d.to_string()));
        if let Some(msg) = msg {
            return format!(": {}", truncate(&msg, 500));
        }
        return format!(": {}", truncate(trimmed, 300));
    }
    if trimmed.starts_with('<') {
        let cloudflare = trimmed.to_ascii_lowercase().contains("cloudflare");
        // A block (403, "error code: 1010") is about this client; a 5xx page (520–526) is
        // the provider's origin failing behind the CDN, which a User-Agent does not change.
        let hint = if (status == 403 && cloudflare) || trimmed.contains("1010") {
            " (a Cloudflare block page; enabling the browser User-Agent for this endpoint may help)"
        } else if cloudflare {
            " (a Cloudflare error page: the provider's servers behind Cloudflare failed or could not be reached)"
        } else {
            " (an HTML page instead of an API error)"
        };
        return hint.to_owned();
    }
    format!(": {}", truncate(trimmed, 300))
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// How long the upstream asked us to wait: `Retry-After` (seconds or HTTP date),
/// `retry-after-ms`, or the `x-ratelimit-reset-*` family (`1s`, `6m0s`, `250ms`).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(ms.max(0.0) as u64);
    }
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            return Some((secs.max(0.0) * 1000.0) as u64);
        }
        if let Ok(when) = httpdate::parse_http_date(v) {
            let ms = when
                .duration_since(SystemTime::now())
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            return Some(ms);
        }
    }
    [
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
        "x-ratelimit-reset",
    ]
    .iter()
    .filter_map(|h| get(h).and_then(parse_go_duration))
    .max()
}

/// `1s`, `1.5s`, `6m0s`, `250ms`, `2h` → milliseconds.
fn parse_go_duration(s: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += num.parse::<f64>().ok()? * unit;
        num.clear();
        any = true;
    }
    if !num.is_empty() {
        // A bare number: seconds.
        total += num.parse::<f64>().ok()?;
        any = true;
    }
    any.then_some((total * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(2000));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "x-ratelimit-reset-requests",
            HeaderValue::from_static("1.5s"),
        );
        h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("6m0s"));
        assert_eq!(retry_after(&h), Some(360_000));
        assert_eq!(parse_go_duration("250ms"), Some(250));
        let t = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            784_111_777
        );
    }

    #[test]
    fn drops_codex_and_hop_headers() {
        let ep = Endpoint::openai_compat(
            "t",
            "http://127.0.0.1:1/v1",
            crate::secret::ApiKey::new("sk-x"),
        )
        .unwrap();
        let mut client = HeaderMap::new();
        client.insert(
            "authorization",
            HeaderValue::from_static("Bearer codex-token"),
        );
        client.insert("x-codex-turn-metadata", HeaderValue::from_static("{}"));
        client.insert("session-id", HeaderValue::from_static("abc"));
        client.insert("x-custom", HeaderValue::from_static("kept"));
        let out = upstream_headers(&ep, &client);
        assert_eq!(out["authorization"], "Bearer sk-x");
        assert!(out.get("x-codex-turn-metadata").is_none() && out.get("session-id").is_none());
        assert_eq!(out["x-custom"], "kept");
        assert_eq!(out["user-agent"], USER_AGENT);
    }

    #[test]
    fn never_forwards_the_clients_accept_encoding() {
        let mut ep = Endpoint::openai_compat(
            "t",
            "http://127.0.0.1:1/v1",
            crate::secret::ApiKey::new("sk-x"),
        )
        .unwrap();
        // Codex 0.171.0 asks for zstd or gzip; 0.169.0 sends no Accept-Encoding.
        let mut codex_171 = HeaderMap::new();
        codex_171.insert("accept-encoding", HeaderValue::from_static("zstd,gzip"));
        for client in [codex_171, HeaderMap::new()] {
            let out = upstream_headers(&ep, &client);
            let values: Vec<_> = out.get_all("accept-encoding").iter().collect();
            assert_eq!(values, ["identity"], "client headers {client:?}");
        }
        // Not even a configured extra header can ask for a coding we cannot decode.
        ep.extra_headers
            .push(("Accept-Encoding".into(), "gzip".into()));
        let out = upstream_headers(&ep, &HeaderMap::new());
        let values: Vec<_> = out.get_all("accept-encoding").iter().collect();
        assert_eq!(values, ["identity"]);
    }

    #[test]
    fn refuses_an_encoded_answer() {
        let ep = Endpoint::openai_compat("t", "http://127.0.0.1:1/v1", None).unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(content_coding_failure(&ep, &h), None);
        h.insert("content-encoding", HeaderValue::from_static("identity"));
        assert_eq!(content_coding_failure(&ep, &h), None);
        h.insert("content-encoding", HeaderValue::from_static("gzip"));
        let failure = content_coding_failure(&ep, &h).expect("gzip is refused");
        assert_eq!(failure.kind, FailureKind::InvalidRequest);
        assert!(
            failure.message.contains("`gzip`-encoded"),
            "{}",
            failure.message
        );
        h.insert(
            "content-encoding",
            HeaderValue::from_static("identity, zstd"),
        );
        let failure = content_coding_failure(&ep, &h).expect("zstd is refused");
        assert!(
            failure.message.contains("`zstd`-encoded"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn summarises_html_and_json_errors() {
        assert!(error_detail(403, "<html>error code: 1010</html>").contains("block page"));
        let origin = error_detail(520, "<html><p>Cloudflare Ray ID: 8f</p></html>");
        assert!(origin.contains("Cloudflare error page") && !origin.contains("User-Agent"));
        assert!(error_detail(502, "<html>nginx</html>").contains("an HTML page"));
        assert_eq!(error_detail(400, r#"{"error":{"message":"bad"}}"#), ": bad");
    }
}
