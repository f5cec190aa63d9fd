//! Per-backend request preparation: translate the body, pick the URL and what handles the
//! answer. Adding a backend means one arm here and one transducer in the translate crate.

use std::time::{SystemTime, UNIX_EPOCH};

use codex_launcher_translate::anthropic::to_anthropic_with_cache;
use codex_launcher_translate::anthropic_stream::AnthropicStreamTranslator;
use codex_launcher_translate::chat_stream::ChatStreamTranslator;
use codex_launcher_translate::command_code::{
    CommandCodeContext, CommandCodeStreamTranslator, to_command_code,
};
use codex_launcher_translate::reasoning_codec::{OriginBackend, ReasoningOrigin};
use codex_launcher_translate::responses::{InputItem, MessageContent, ResponsesRequest};
use codex_launcher_translate::to_chat::to_chat_with_cache;
use codex_launcher_translate::{ResponseContext, StreamLimits, Transducer};

use crate::endpoint::{Backend, Endpoint};
use crate::error::ProxyError;

/// What turns the upstream's answer into the client's.
pub enum Answer {
    /// A translating state machine.
    Translate(Box<dyn Transducer>),
    /// The upstream speaks Responses already: bytes pass through unchanged.
    Passthrough,
}

/// A request ready to send.
pub struct Prepared {
    /// Where to POST.
    pub url: String,
    /// JSON body.
    pub body: Vec<u8>,
    /// Per-request upstream headers (on top of the endpoint's).
    pub headers: Vec<(&'static str, String)>,
    /// How to handle the answer.
    pub answer: Answer,
    /// Item and tool kinds we dropped, for the debug log.
    pub dropped: Vec<String>,
}

fn json_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ProxyError> {
    serde_json::to_vec(value).map_err(|e| ProxyError::Internal(e.to_string()))
}

/// Translate `req` (whose full input is `items`; `raw` is the body as received) for `endpoint`;
/// the answer's transducer enforces `limits`.
pub fn prepare(
    endpoint: &Endpoint,
    req: &ResponsesRequest,
    raw: &[u8],
    items: &[InputItem],
    response_id: String,
    created_at: u64,
    limits: StreamLimits,
) -> Result<Prepared, ProxyError> {
    let upstream_model = endpoint.upstream_model(&req.model);
    let url = endpoint.request_url();
    match endpoint.backend {
        Backend::OpenaiCompat => {
            let t =
                to_chat_with_cache(req, items, upstream_model, &endpoint.quirks, endpoint.cache);
            let mut ctx =
                ResponseContext::new(req, response_id, created_at, t.tool_map).with_limits(limits);
            // Chat reasoning says whose it is, so a fallback group moving the conversation to
            // another host or model knows what that one cannot read (signed details).
            ctx.reasoning_origin = Some(ReasoningOrigin {
                backend: OriginBackend::Chat,
                provider: Some(endpoint.provider),
                model: Some(upstream_model.to_owned()),
            });
            Ok(Prepared {
                url,
                body: json_body(&t.request)?,
                headers: Vec::new(),
                answer: Answer::Translate(Box::new(ChatStreamTranslator::new(ctx))),
                dropped: t.dropped,
            })
        }
        Backend::Anthropic => {
            let t = to_anthropic_with_cache(req, items, upstream_model, endpoint.cache);
            let ctx =
                ResponseContext::new(req, response_id, created_at, t.tool_map).with_limits(limits);
            Ok(Prepared {
                url,
                body: json_body(&t.request)?,
                headers: Vec::new(),
                answer: Answer::Translate(Box::new(AnthropicStreamTranslator::new(ctx))),
                dropped: t.dropped,
            })
        }
        Backend::CommandCode => {
            let cc = CommandCodeContext {
                working_dir: codex_cwd(items),
                date: civil_date(created_at),
            };
            let t = to_command_code(req, items, upstream_model, &cc, &response_id);
            let ctx =
                ResponseContext::new(req, response_id, created_at, t.tool_map).with_limits(limits);
            Ok(Prepared {
                url,
                body: json_body(&t.body)?,
                headers: vec![("x-session-id", t.thread_id)],
                answer: Answer::Translate(Box::new(CommandCodeStreamTranslator::new(ctx))),
                dropped: t.dropped,
            })
        }
        Backend::OpenaiResponses => {
            // Byte-for-byte unless the model id must change.
            let body = if upstream_model != req.model {
                let mut v: serde_json::Value =
                    serde_json::from_slice(raw).map_err(|e| ProxyError::Internal(e.to_string()))?;
                v["model"] = serde_json::Value::String(upstream_model.to_owned());
                json_body(&v)?
            } else {
                raw.to_vec()
            };
            Ok(Prepared {
                url,
                body,
                headers: Vec::new(),
                answer: Answer::Passthrough,
                dropped: Vec::new(),
            })
        }
    }
}

/// The working directory Codex reports in its `<environment_context>` message.
fn codex_cwd(items: &[InputItem]) -> String {
    for item in items {
        if let InputItem::Message(m) = item {
            let text = match &m.content {
                MessageContent::Text(t) => t.clone(),
                MessageContent::Parts(_) => m.content.text(),
            };
            if let Some(rest) = text.split("<cwd>").nth(1)
                && let Some(cwd) = rest.split("</cwd>").next()
            {
                return cwd.trim().to_owned();
            }
        }
    }
    std::env::var("HOME").unwrap_or_else(|_| "/".into())
}

/// `YYYY-MM-DD` of a Unix time (UTC; 0: now), from `httpdate`'s IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) rather than a calendar computation of our own.
fn civil_date(unix: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let when = if unix == 0 {
        SystemTime::now()
    } else {
        UNIX_EPOCH + std::time::Duration::from_secs(unix)
    };
    let imf = httpdate::fmt_http_date(when);
    match imf.split(' ').collect::<Vec<_>>().as_slice() {
        [_, day, month, year, ..] => {
            let month = MONTHS.iter().position(|m| m == month).map_or(0, |i| i + 1);
            format!("{year}-{month:02}-{day}")
        }
        _ => imf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared_body(endpoint: &Endpoint) -> serde_json::Value {
        let req: ResponsesRequest = serde_json::from_value(serde_json::json!({
            "model": "claude-sonnet-4-6", "instructions": "be brief", "input": "hi"
        }))
        .expect("request");
        let items = req.input.clone().into_items();
        let p = prepare(
            endpoint,
            &req,
            b"{}",
            &items,
            "resp_1".into(),
            1,
            StreamLimits::default(),
        )
        .expect("prepared");
        serde_json::from_slice(&p.body).expect("json body")
    }

    #[test]
    fn the_endpoint_cache_setting_reaches_the_translation() {
        use codex_launcher_translate::cache::CacheTtl;
        let mut ep = Endpoint::openai_compat("a", "http://127.0.0.1:9", None).expect("endpoint");
        ep.backend = Backend::Anthropic;
        assert_eq!(ep.cache, CacheTtl::FiveMinutes, "on by default");
        let on = prepared_body(&ep).to_string();
        assert_eq!(
            on.matches("\"cache_control\":{\"type\":\"ephemeral\"}")
                .count(),
            2
        );
        ep.cache = CacheTtl::OneHour;
        assert!(prepared_body(&ep).to_string().contains("\"ttl\":\"1h\""));
        ep.cache = CacheTtl::Off;
        assert!(!prepared_body(&ep).to_string().contains("cache_control"));
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(784_111_777), "1994-11-06");
        assert_eq!(civil_date(1_795_488_919), "2026-11-24");
    }
}
