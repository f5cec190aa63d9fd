//! Per-backend request preparation: translate the body, pick the URL and the transducer.
//! Adding a backend means one arm here and one transducer in the translate crate.

use codex_launcher_translate::anthropic::to_anthropic;
use codex_launcher_translate::anthropic_stream::AnthropicStreamTranslator;
use codex_launcher_translate::chat_stream::ChatStreamTranslator;
use codex_launcher_translate::responses::{InputItem, ResponsesRequest};
use codex_launcher_translate::to_chat::to_chat;
use codex_launcher_translate::{ResponseContext, Transducer};

use crate::endpoint::{Backend, Endpoint};
use crate::error::ProxyError;

/// A request ready to send, and the machine that will translate its answer.
pub struct Prepared {
    /// Where to POST.
    pub url: String,
    /// JSON body.
    pub body: Vec<u8>,
    /// Upstream stream → Responses events.
    pub transducer: Box<dyn Transducer>,
    /// Item and tool kinds we dropped, for the debug log.
    pub dropped: Vec<String>,
}

/// Translate `req` (whose full input is `items`) for `endpoint`.
pub fn prepare(
    endpoint: &Endpoint,
    req: &ResponsesRequest,
    items: &[InputItem],
    response_id: String,
    created_at: u64,
) -> Result<Prepared, ProxyError> {
    match endpoint.backend {
        Backend::OpenaiCompat => {
            let upstream_model = endpoint.upstream_model(&req.model);
            let t = to_chat(req, items, upstream_model, &endpoint.quirks);
            let body =
                serde_json::to_vec(&t.request).map_err(|e| ProxyError::Internal(e.to_string()))?;
            let ctx = ResponseContext::new(req, response_id, created_at, t.tool_map);
            Ok(Prepared {
                url: endpoint.request_url(),
                body,
                transducer: Box::new(ChatStreamTranslator::new(ctx)),
                dropped: t.dropped,
            })
        }
        Backend::Anthropic => {
            let upstream_model = endpoint.upstream_model(&req.model);
            let t = to_anthropic(req, items, upstream_model);
            let body = serde_json::to_vec(&t.request).map_err(|e| ProxyError::Internal(e.to_string()))?;
            let ctx = ResponseContext::new(req, response_id, created_at, t.tool_map);
            Ok(Prepared {
                url: endpoint.request_url(),
                body,
                transducer: Box::new(AnthropicStreamTranslator::new(ctx)),
                dropped: t.dropped,
            })
        }
    }
}
