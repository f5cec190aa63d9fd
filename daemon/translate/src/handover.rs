//! Reasoning hand-over: a conversation that moves to another provider mid-session (failover,
//! a group member change) carries reasoning only the previous provider understands. This
//! module decides, per target, what becomes of it: kept (native), turned into plain text, or
//! left out. [`hand_over`] is one pure function over the input items; the result is fed to the
//! target's request translation as usual.
//!
//! Where reasoning came from is read from the item itself: our `encrypted_content` payloads
//! ([`crate::reasoning_codec`]) record their origin, or imply it by their kind (signed thinking
//! comes from Anthropic, `reasoning_content` text from a Chat host); any other
//! `encrypted_content` is OpenAI's ciphertext; an item without one is visible text only.
//!
//! Rules, per target:
//! - **Chat Completions host.** Anthropic signed thinking and OpenAI ciphertext are foreign.
//!   DeepSeek thinking mode requires `reasoning_content` on every assistant message that made
//!   tool calls: "for turns that do perform tool calls, the reasoning_content must be fully
//!   passed back to the API in all subsequent requests", while for turns without tool calls
//!   it is not concatenated and ignored (<https://api-docs.deepseek.com/guides/thinking_mode>): on a
//!   message with tool calls, foreign reasoning becomes its plain text (the thinking text,
//!   never the signature; redacted thinking and ciphertext have none, so the translation sends
//!   `""`); on a message without calls it is left out. Kimi and GLM take the same field and get
//!   the same. OpenRouter `reasoning_details` produced by another host or model are reduced to
//!   their text (their signatures and encrypted parts belong to that model).
//! - **Anthropic.** Only its own signed `thinking` / `redacted_thinking` blocks are accepted,
//!   "complete and unmodified", and "a tool-use loop is one assistant turn, so change the
//!   configuration only between turns"
//!   (<https://platform.claude.com/docs/build-with-claude/thinking-tool-workflows>); with
//!   thinking on, the last assistant message of a tool loop must start with a thinking block
//!   (the API's 400 "Expected `thinking` or `redacted_thinking`, but found `tool_use`").
//!   Foreign reasoning is left out. Tool calls of the current turn made under foreign
//!   reasoning cannot stand as `tool_use` blocks without that thinking, so they and their
//!   results become plain text (an assistant message saying what was called, a user message
//!   with the results): Anthropic then starts a fresh tool loop of its own. Earlier, finished
//!   turns keep their tool calls (their thinking is not required any more).
//! - **Command Code.** Reasoning is never sent back to that route: all left out.
//! - **Responses (pass-through).** Only the upstream's own ciphertext is valid there; our
//!   `clr1:` payloads would fail its decryption, so they are left out.

use crate::provider::{ChatProvider, ChatQuirks, ReasoningEcho};
use crate::reasoning_codec::{OriginBackend, ReasoningOrigin, ReasoningPayload};
use crate::responses::{
    ContentPart, InputItem, MessageContent, MessageItem, ReasoningItem, ReasoningPart,
};

/// Where the conversation goes next.
#[derive(Debug, Clone, Copy)]
pub enum HandoverTarget<'a> {
    /// A Chat Completions host.
    Chat {
        /// The host's row.
        provider: ChatProvider,
        /// Its capabilities (the endpoint's overrides applied).
        quirks: &'a ChatQuirks,
        /// The upstream model id.
        model: &'a str,
    },
    /// Anthropic Messages.
    Anthropic,
    /// Command Code `/alpha/generate`.
    CommandCode,
    /// An upstream that speaks Responses itself (items pass through).
    Responses,
}

/// What a reasoning item carries.
#[derive(Debug, Clone, PartialEq)]
enum Carried {
    /// One of our payloads, with its origin (recorded or implied).
    Ours(ReasoningPayload, ReasoningOrigin),
    /// Someone else's ciphertext (OpenAI's).
    Ciphertext,
    /// No `encrypted_content`: visible text only, which every target can read.
    Plain,
}

fn carried(r: &ReasoningItem) -> Carried {
    match r.encrypted_content.as_deref() {
        None | Some("") => Carried::Plain,
        Some(enc) => match ReasoningPayload::decode_with_origin(enc) {
            Some((payload, origin)) => {
                let origin = origin.unwrap_or_else(|| ReasoningOrigin::implied(&payload));
                Carried::Ours(payload, origin)
            }
            None => Carried::Ciphertext,
        },
    }
}

/// Hand the conversation `items` over to `target`: foreign reasoning becomes plain text or is
/// left out, per the rules in the module docs. Items the target understands are returned
/// unchanged, so a conversation that stays on one provider is not touched.
pub fn hand_over(items: &[InputItem], target: &HandoverTarget<'_>) -> Vec<InputItem> {
    let segments = segments(items);
    let turn_start = items
        .iter()
        .rposition(|i| matches!(i, InputItem::Message(m) if m.role == "user"))
        .map_or(0, |p| p + 1);
    let mut out: Vec<InputItem> = Vec::with_capacity(items.len());
    let mut i = 0;
    while i < items.len() {
        let seg = segments.iter().find(|s| s.start == i);
        if let (HandoverTarget::Anthropic, Some(seg)) = (target, seg)
            && seg.start >= turn_start
            && seg.has_calls
            && seg.foreign_for_anthropic(items)
        {
            textualize(
                &items[seg.start..seg.end],
                &items[seg.end..seg.outputs_end],
                &mut out,
            );
            i = seg.outputs_end;
            continue;
        }
        let item = &items[i];
        i += 1;
        let InputItem::Reasoning(r) = item else {
            out.push(item.clone());
            continue;
        };
        let with_calls = segments
            .iter()
            .any(|s| s.start < i && i <= s.end && s.has_calls);
        if let Some(kept) = reasoning_for(r, with_calls, target) {
            out.push(InputItem::Reasoning(kept));
        }
    }
    out
}

/// One reasoning item for `target`: `None` to leave it out.
fn reasoning_for(
    r: &ReasoningItem,
    with_calls: bool,
    target: &HandoverTarget<'_>,
) -> Option<ReasoningItem> {
    let carried = carried(r);
    match target {
        HandoverTarget::CommandCode => None,
        HandoverTarget::Responses => match carried {
            Carried::Ours(..) => None,
            Carried::Ciphertext | Carried::Plain => Some(r.clone()),
        },
        HandoverTarget::Anthropic => match carried {
            Carried::Ours(
                ReasoningPayload::Thinking { .. } | ReasoningPayload::RedactedThinking { .. },
                _,
            ) => Some(r.clone()),
            _ => None,
        },
        HandoverTarget::Chat {
            provider,
            quirks,
            model,
        } => match carried {
            Carried::Plain => Some(r.clone()),
            Carried::Ours(ReasoningPayload::Chat { text, details }, origin) => {
                let foreign_details = details.is_some()
                    && quirks.reasoning_echo == ReasoningEcho::ReasoningDetails
                    && origin.backend == OriginBackend::Chat
                    && (origin.provider.is_some_and(|p| p != *provider)
                        || origin.model.as_deref().is_some_and(|m| m != *model));
                if !foreign_details {
                    return Some(r.clone());
                }
                let mut kept = r.clone();
                let payload = ReasoningPayload::Chat {
                    text,
                    details: None,
                };
                kept.encrypted_content = Some(payload.encode_with_origin(Some(&origin)));
                Some(kept)
            }
            Carried::Ours(ReasoningPayload::Thinking { thinking, .. }, _) if with_calls => {
                Some(plain(r, &thinking))
            }
            Carried::Ciphertext if with_calls => {
                let text = r.visible_text();
                Some(plain(r, &text))
            }
            // Redacted thinking has no text; foreign reasoning without calls is ignored by the
            // hosts anyway.
            _ => None,
        },
    }
}

/// A reasoning item reduced to plain text (no `encrypted_content`).
fn plain(r: &ReasoningItem, text: &str) -> ReasoningItem {
    ReasoningItem {
        id: r.id.clone(),
        summary: vec![ReasoningPart {
            kind: "summary_text".into(),
            text: text.to_owned(),
        }],
        content: None,
        encrypted_content: None,
    }
}

/// A run of assistant items (reasoning, assistant messages, tool calls) and the tool outputs
/// right after it: `items[start..end]` and `items[end..outputs_end]`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: usize,
    end: usize,
    outputs_end: usize,
    has_calls: bool,
}

impl Segment {
    /// Whether the calls of this segment were made under reasoning Anthropic cannot take.
    fn foreign_for_anthropic(&self, items: &[InputItem]) -> bool {
        items[self.start..self.end].iter().any(|item| match item {
            InputItem::Reasoning(r) => match carried(r) {
                Carried::Ours(ReasoningPayload::Chat { .. }, _) | Carried::Ciphertext => true,
                Carried::Ours(..) | Carried::Plain => false,
            },
            _ => false,
        })
    }
}

fn is_assistant_item(item: &InputItem) -> bool {
    match item {
        InputItem::Reasoning(_) | InputItem::FunctionCall(_) | InputItem::CustomToolCall(_) => true,
        InputItem::Message(m) => m.role == "assistant",
        _ => false,
    }
}

fn is_output(item: &InputItem) -> bool {
    matches!(
        item,
        InputItem::FunctionCallOutput(_) | InputItem::CustomToolCallOutput(_)
    )
}

fn segments(items: &[InputItem]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if !is_assistant_item(&items[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < items.len() && is_assistant_item(&items[i]) {
            i += 1;
        }
        let end = i;
        while i < items.len() && is_output(&items[i]) {
            i += 1;
        }
        let has_calls = items[start..end].iter().any(|item| {
            matches!(
                item,
                InputItem::FunctionCall(_) | InputItem::CustomToolCall(_)
            )
        });
        out.push(Segment {
            start,
            end,
            outputs_end: i,
            has_calls,
        });
    }
    out
}

/// A foreign tool loop as text: the assistant's messages as they were, one assistant message
/// saying which tools it called, one user message with their results (images included).
fn textualize(assistant: &[InputItem], outputs: &[InputItem], out: &mut Vec<InputItem>) {
    let mut calls: Vec<String> = Vec::new();
    for item in assistant {
        match item {
            InputItem::Message(_) => out.push(item.clone()),
            InputItem::FunctionCall(c) => calls.push(format!(
                "- {}: `{}` with arguments {}",
                c.call_id,
                qualified(c.namespace.as_deref(), &c.name),
                c.arguments
            )),
            InputItem::CustomToolCall(c) => calls.push(format!(
                "- {}: `{}` with input:\n{}",
                c.call_id,
                qualified(c.namespace.as_deref(), &c.name),
                c.input
            )),
            _ => {}
        }
    }
    if calls.is_empty() {
        return;
    }
    out.push(message(
        "assistant",
        vec![text_part(
            "output_text",
            format!(
                "(Earlier in this turn, another model made these tool calls:)\n{}",
                calls.join("\n")
            ),
        )],
    ));
    let mut parts = Vec::new();
    for item in outputs {
        let (InputItem::FunctionCallOutput(o) | InputItem::CustomToolCallOutput(o)) = item else {
            continue;
        };
        parts.push(text_part(
            "input_text",
            format!("(Result of {}:)\n{}", o.call_id, o.output.text()),
        ));
        parts.extend(o.output.images().into_iter().cloned());
    }
    if parts.is_empty() {
        parts.push(text_part(
            "input_text",
            "(Those tool calls returned no results.)".into(),
        ));
    }
    out.push(message("user", parts));
}

fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}{name}"),
        None => name.to_owned(),
    }
}

fn text_part(kind: &str, text: String) -> ContentPart {
    ContentPart {
        kind: kind.into(),
        text: Some(text),
        image_url: None,
        detail: None,
        refusal: None,
    }
}

fn message(role: &str, parts: Vec<ContentPart>) -> InputItem {
    InputItem::Message(MessageItem {
        id: None,
        role: role.into(),
        content: MessageContent::Parts(parts),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn items(v: Value) -> Vec<InputItem> {
        serde_json::from_value(v).unwrap()
    }

    fn chat_reasoning(details: Option<Vec<Value>>, origin: Option<ReasoningOrigin>) -> Value {
        let p = ReasoningPayload::Chat {
            text: "plan".into(),
            details,
        };
        json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}],
            "encrypted_content": p.encode_with_origin(origin.as_ref())})
    }

    fn loop_with(reasoning: Value) -> Vec<InputItem> {
        items(json!([
            {"type": "message", "role": "user", "content": "go"},
            reasoning,
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"}
        ]))
    }

    #[test]
    fn native_reasoning_is_untouched() {
        let deepseek = ChatProvider::DeepSeek.quirks();
        let h = loop_with(chat_reasoning(None, None));
        let target = HandoverTarget::Chat {
            provider: ChatProvider::DeepSeek,
            quirks: &deepseek,
            model: "deepseek-v4-pro",
        };
        assert_eq!(hand_over(&h, &target), h);
        let thinking = ReasoningPayload::Thinking {
            thinking: "t".into(),
            signature: "s".into(),
        };
        let h = loop_with(json!({"type": "reasoning", "summary": [],
            "encrypted_content": thinking.encode()}));
        assert_eq!(hand_over(&h, &HandoverTarget::Anthropic), h);
    }

    #[test]
    fn command_code_and_responses_get_no_foreign_reasoning() {
        let h = loop_with(chat_reasoning(None, None));
        let out = hand_over(&h, &HandoverTarget::CommandCode);
        assert!(!out.iter().any(|i| matches!(i, InputItem::Reasoning(_))));
        let out = hand_over(&h, &HandoverTarget::Responses);
        assert!(!out.iter().any(|i| matches!(i, InputItem::Reasoning(_))));
        // OpenAI's own ciphertext stays for a Responses upstream.
        let h = loop_with(
            json!({"type": "reasoning", "summary": [], "encrypted_content": "gAAAA-openai"}),
        );
        assert_eq!(hand_over(&h, &HandoverTarget::Responses), h);
    }

    #[test]
    fn openrouter_details_of_another_model_are_reduced_to_text() {
        let openrouter = ChatProvider::OpenRouter.quirks();
        let origin = ReasoningOrigin {
            backend: OriginBackend::Chat,
            provider: Some(ChatProvider::OpenRouter),
            model: Some("anthropic/claude-sonnet-4.5".into()),
        };
        let details = vec![json!({"type": "reasoning.text", "text": "plan", "signature": "sig"})];
        let h = loop_with(chat_reasoning(Some(details), Some(origin.clone())));
        let same = HandoverTarget::Chat {
            provider: ChatProvider::OpenRouter,
            quirks: &openrouter,
            model: "anthropic/claude-sonnet-4.5",
        };
        assert_eq!(hand_over(&h, &same), h);
        let other = HandoverTarget::Chat {
            provider: ChatProvider::OpenRouter,
            quirks: &openrouter,
            model: "google/gemini-2.5-pro",
        };
        let out = hand_over(&h, &other);
        let InputItem::Reasoning(r) = &out[1] else {
            panic!("the reasoning item stays")
        };
        let (payload, kept_origin) =
            ReasoningPayload::decode_with_origin(r.encrypted_content.as_deref().unwrap()).unwrap();
        assert_eq!(
            payload,
            ReasoningPayload::Chat {
                text: "plan".into(),
                details: None
            }
        );
        assert_eq!(kept_origin, Some(origin));
    }

    #[test]
    fn foreign_reasoning_without_calls_is_left_out() {
        let deepseek = ChatProvider::DeepSeek.quirks();
        let thinking = ReasoningPayload::Thinking {
            thinking: "t".into(),
            signature: "s".into(),
        };
        let h = items(json!([
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "reasoning", "summary": [], "encrypted_content": thinking.encode()},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]}
        ]));
        let target = HandoverTarget::Chat {
            provider: ChatProvider::DeepSeek,
            quirks: &deepseek,
            model: "deepseek-v4-pro",
        };
        let out = hand_over(&h, &target);
        assert_eq!(out.len(), 2);
        assert!(!out.iter().any(|i| matches!(i, InputItem::Reasoning(_))));
    }
}
