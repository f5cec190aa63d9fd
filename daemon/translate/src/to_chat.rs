//! Responses request → Chat Completions request.

use serde_json::{Map, Value, json};

use crate::cache::{CacheControl, CacheTtl};
use crate::chat::{
    ChatContent, ChatFunctionCall, ChatFunctionDef, ChatImageUrl, ChatMessage, ChatPart,
    ChatRequest, ChatStreamOptions, ChatTool, ChatToolCall,
};
use crate::conversation::{AssistantBlock, Conversation, Image, Turn, UserPart};
use crate::provider::{ChatQuirks, MaxTokensField, ReasoningControl, ReasoningEcho, clamp_effort};
use crate::reasoning_codec::ReasoningPayload;
use crate::responses::{InputItem, ResponsesRequest};
use crate::tools::{LoweredTools, ToolMap, lower_tools};

/// A translated request and what the stream translator needs to map the answer back.
#[derive(Debug, Clone)]
pub struct ChatTranslation {
    /// The body to POST.
    pub request: ChatRequest,
    /// Wire tool names ⇄ Codex tools.
    pub tool_map: ToolMap,
    /// What we dropped (item kinds, tool kinds), for a debug log.
    pub dropped: Vec<String>,
}

/// Translate. `items` is the full input (after any `previous_response_id` expansion);
/// `upstream_model` is the provider's model id (may differ from the slug Codex uses). The
/// default cache setting (five-minute breakpoints where the host takes them) applies.
pub fn to_chat(
    req: &ResponsesRequest,
    items: &[InputItem],
    upstream_model: &str,
    quirks: &ChatQuirks,
) -> ChatTranslation {
    to_chat_with_cache(req, items, upstream_model, quirks, CacheTtl::default())
}

/// [`to_chat`] with the endpoint's cache setting.
pub fn to_chat_with_cache(
    req: &ResponsesRequest,
    items: &[InputItem],
    upstream_model: &str,
    quirks: &ChatQuirks,
    cache: CacheTtl,
) -> ChatTranslation {
    let LoweredTools {
        tools,
        map,
        dropped: dropped_tools,
    } = lower_tools(&req.tools);
    let conv = Conversation::from_items(req.instructions.as_deref(), items);
    let mut dropped = conv.dropped.clone();
    dropped.extend(dropped_tools);

    let mut messages = render_messages(&conv, quirks);
    if let Some(control) = crate::cache::control(cache)
        && quirks.cache_control.applies_to(upstream_model)
    {
        place_breakpoints(&mut messages, control);
    }
    let has_tools = !tools.is_empty();
    let chat_tools: Option<Vec<ChatTool>> = has_tools.then(|| {
        tools
            .into_iter()
            .map(|t| ChatTool {
                kind: "function",
                function: ChatFunctionDef {
                    name: t.name,
                    description: t.description,
                    parameters: t.parameters,
                    strict: t.strict.then_some(true),
                },
            })
            .collect()
    });

    let mut request = ChatRequest {
        model: upstream_model.to_owned(),
        messages,
        stream: true,
        stream_options: quirks.stream_usage.then_some(ChatStreamOptions {
            include_usage: true,
        }),
        tools: chat_tools,
        tool_choice: if has_tools && quirks.tool_choice {
            tool_choice(req.tool_choice.as_ref())
        } else {
            None
        },
        parallel_tool_calls: if has_tools && quirks.parallel_tool_calls {
            req.parallel_tool_calls
        } else {
            None
        },
        temperature: req.temperature,
        top_p: req.top_p,
        store: if quirks.store { req.store } else { None },
        prompt_cache_key: if quirks.prompt_cache_key {
            req.prompt_cache_key.clone()
        } else {
            None
        },
        response_format: response_format(req.text.as_ref()),
        ..ChatRequest::default()
    };

    let cap = req.max_output_tokens.or(quirks.default_max_tokens);
    let cap = match (cap, quirks.max_tokens_cap) {
        (Some(c), Some(limit)) => Some(c.min(limit)),
        (c, _) => c,
    };
    match quirks.max_tokens_field {
        MaxTokensField::MaxTokens => request.max_tokens = cap,
        MaxTokensField::MaxCompletionTokens => request.max_completion_tokens = cap,
    }

    apply_effort(
        &mut request,
        req.reasoning.as_ref().and_then(|r| r.effort.as_deref()),
        quirks,
    );
    let map =
        crate::schema::adapt_chat_request(&mut request, map, quirks.tool_schema, upstream_model);
    ChatTranslation {
        request,
        tool_map: map,
        dropped,
    }
}

fn render_messages(conv: &Conversation, quirks: &ChatQuirks) -> Vec<ChatMessage> {
    let system_role = if quirks.developer_role {
        "developer"
    } else {
        "system"
    };
    let mut out = Vec::with_capacity(conv.turns.len() + 1);
    if let Some(system) = &conv.system {
        out.push(text_message(system_role, system.clone()));
    }
    for turn in &conv.turns {
        match turn {
            Turn::System(text) => out.push(text_message(system_role, text.clone())),
            Turn::User(parts) => out.push(user_message(parts, quirks.vision)),
            Turn::Assistant(blocks) => out.push(assistant_message(blocks, quirks)),
            Turn::ToolResults(results) => {
                let mut images = Vec::new();
                for r in results {
                    let mut text = r.text.clone();
                    if !r.images.is_empty() {
                        text.push_str(
                            "\n[The images of this output follow in the next user message.]",
                        );
                        images.extend(r.images.iter().cloned().map(UserPart::Image));
                    }
                    out.push(ChatMessage {
                        role: "tool".into(),
                        content: Some(ChatContent::Text(text)),
                        tool_call_id: Some(r.call_id.clone()),
                        ..ChatMessage::default()
                    });
                }
                // Tool messages cannot carry images on Chat Completions; a user message right
                // after the results can.
                if !images.is_empty() {
                    out.push(user_message(&images, quirks.vision));
                }
            }
        }
    }
    out
}

fn text_message(role: &str, text: String) -> ChatMessage {
    ChatMessage {
        role: role.into(),
        content: Some(ChatContent::Text(text)),
        ..ChatMessage::default()
    }
}

fn user_message(parts: &[UserPart], vision: bool) -> ChatMessage {
    let has_images = parts.iter().any(|p| matches!(p, UserPart::Image(_)));
    if !has_images {
        let texts = parts.iter().filter_map(|p| match p {
            UserPart::Text(t) => Some(t.as_str()),
            UserPart::Image(_) => None,
        });
        return text_message("user", crate::responses::join_texts(texts));
    }
    let parts = parts
        .iter()
        .map(|p| match p {
            UserPart::Text(text) => ChatPart::text(text.clone()),
            UserPart::Image(Image { url, detail }) if vision => ChatPart::ImageUrl {
                image_url: ChatImageUrl {
                    url: url.clone(),
                    detail: detail.clone(),
                },
            },
            // A text-only model fails hard on image parts; say what was there instead.
            UserPart::Image(_) => {
                ChatPart::text("[image omitted: this model does not accept images]")
            }
        })
        .collect();
    ChatMessage {
        role: "user".into(),
        content: Some(ChatContent::Parts(parts)),
        ..ChatMessage::default()
    }
}

fn assistant_message(blocks: &[AssistantBlock], quirks: &ChatQuirks) -> ChatMessage {
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut details: Vec<Value> = Vec::new();
    let mut calls = Vec::new();
    for block in blocks {
        match block {
            AssistantBlock::Text(t) => {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(t);
            }
            AssistantBlock::Reasoning {
                payload,
                text: visible,
            } => {
                let (t, d) = match payload {
                    Some(ReasoningPayload::Chat { text, details }) => {
                        (text.as_str(), details.clone())
                    }
                    Some(ReasoningPayload::Thinking { thinking, .. }) => (thinking.as_str(), None),
                    Some(ReasoningPayload::RedactedThinking { .. }) => ("", None),
                    None => (visible.as_str(), None),
                };
                reasoning.get_or_insert_with(String::new).push_str(t);
                details.extend(d.unwrap_or_default());
            }
            AssistantBlock::Call(c) => calls.push(ChatToolCall {
                id: c.call_id.clone(),
                kind: "function".into(),
                function: ChatFunctionCall {
                    name: c.wire_name.clone(),
                    arguments: c.arguments.clone(),
                },
            }),
        }
    }
    let mut msg = ChatMessage {
        role: "assistant".into(),
        content: (!text.is_empty() || calls.is_empty()).then_some(ChatContent::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..ChatMessage::default()
    };
    match quirks.reasoning_echo {
        ReasoningEcho::None => {}
        ReasoningEcho::ReasoningContent => {
            msg.reasoning_content = reasoning;
            if quirks.reasoning_required_on_tool_calls && msg.tool_calls.is_some() {
                msg.reasoning_content.get_or_insert_with(String::new);
            }
        }
        ReasoningEcho::ReasoningDetails => {
            if !details.is_empty() {
                msg.reasoning_details = Some(details);
            } else if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
                msg.reasoning_details = Some(vec![
                    json!({"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}),
                ]);
            }
        }
    }
    msg
}

/// Explicit breakpoints for a host that takes Anthropic's `cache_control` on content parts
/// (OpenRouter and Kilo, for Claude and Gemini models): the end of the leading system
/// message, the last message, and the previous turn's last message (the one before the last
/// assistant message), the same places and reasons as the Anthropic backend's
/// (`anthropic::place_breakpoints`; there is no tools breakpoint: Chat tools take no marker,
/// and the system breakpoint covers them). Three at most, under Anthropic's limit of four;
/// Gemini on OpenRouter uses only the last one
/// (<https://openrouter.ai/docs/guides/best-practices/prompt-caching>).
///
/// Every system, user and tool message is written as text parts, not a string, so a message
/// has the same shape whether or not it carries a breakpoint this turn: only the markers
/// move between turns, and they are not part of the cached prefix.
fn place_breakpoints(messages: &mut [ChatMessage], control: CacheControl) {
    for m in messages.iter_mut() {
        if m.role != "assistant"
            && let Some(ChatContent::Text(text)) = &mut m.content
        {
            let text = std::mem::take(text);
            m.content = Some(ChatContent::Parts(vec![ChatPart::text(text)]));
        }
    }
    let mark = |m: &mut ChatMessage| {
        if let Some(ChatContent::Parts(parts)) = &mut m.content
            && let Some(ChatPart::Text { cache_control, .. }) = parts
                .iter_mut()
                .rev()
                .find(|p| matches!(p, ChatPart::Text { text, .. } if !text.is_empty()))
        {
            *cache_control = Some(control);
        }
    };
    if let Some(first) = messages.first_mut()
        && matches!(first.role.as_str(), "system" | "developer")
    {
        mark(first);
    }
    let Some(last) = messages.len().checked_sub(1) else {
        return;
    };
    if messages[last].role != "assistant" {
        mark(&mut messages[last]);
    }
    if let Some(a) = messages[..last].iter().rposition(|m| m.role == "assistant")
        && a >= 1
        && !matches!(messages[a - 1].role.as_str(), "system" | "developer")
    {
        mark(&mut messages[a - 1]);
    }
}

fn tool_choice(choice: Option<&Value>) -> Option<Value> {
    match choice? {
        Value::String(s) => match s.as_str() {
            // "auto" is the default whenever tools are present; leaving it out keeps hosts
            // that reject an explicit tool_choice working.
            "auto" => None,
            "none" | "required" => Some(Value::String(s.clone())),
            _ => None,
        },
        Value::Object(obj) => {
            let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
            let name = obj.get("name").and_then(Value::as_str);
            match (kind, name) {
                ("function" | "custom", Some(name)) => {
                    let namespace = obj.get("namespace").and_then(Value::as_str);
                    let wire = ToolMap::wire_name(namespace, name);
                    Some(json!({"type": "function", "function": {"name": wire}}))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn response_format(text: Option<&Value>) -> Option<Value> {
    let format = text?.get("format")?;
    match format.get("type").and_then(Value::as_str)? {
        "json_schema" => {
            let mut schema = Map::new();
            schema.insert(
                "name".into(),
                format
                    .get("name")
                    .cloned()
                    .unwrap_or_else(|| json!("output")),
            );
            if let Some(s) = format.get("schema") {
                schema.insert("schema".into(), s.clone());
            }
            if let Some(s) = format.get("strict") {
                schema.insert("strict".into(), s.clone());
            }
            Some(json!({"type": "json_schema", "json_schema": schema}))
        }
        "json_object" => Some(json!({"type": "json_object"})),
        _ => None,
    }
}

fn apply_effort(request: &mut ChatRequest, effort: Option<&str>, quirks: &ChatQuirks) {
    let Some(effort) = effort else { return };
    let off = effort == "none";
    let clamped = if off {
        None
    } else {
        clamp_effort(effort, &quirks.efforts)
    };
    match quirks.reasoning_control {
        ReasoningControl::None => {}
        ReasoningControl::ReasoningEffort => request.reasoning_effort = clamped,
        ReasoningControl::OpenRouter => {
            request.reasoning = Some(if off {
                json!({"effort": "none"})
            } else {
                json!({"effort": clamped})
            });
        }
        ReasoningControl::DeepSeek => {
            request.thinking = Some(json!({"type": if off { "disabled" } else { "enabled" }}));
            request.reasoning_effort = clamped;
        }
        ReasoningControl::Thinking => {
            request.thinking = Some(json!({"type": if off { "disabled" } else { "enabled" }}));
        }
        ReasoningControl::TemplateKwargs => {
            // Only switch thinking off on request: Mistral-tokenizer models on NIM reject any
            // chat_template_kwargs, so we do not send them to turn on what is usually on.
            if off {
                request.chat_template_kwargs = Some(json!({"enable_thinking": false}));
            }
        }
    }
}
