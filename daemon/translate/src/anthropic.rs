//! Anthropic Messages wire types (`POST /v1/messages`), the per-model thinking table, and the
//! request translation from Responses.
//!
//! Thinking round trip: every `thinking` / `redacted_thinking` block the model streams
//! becomes a Codex reasoning item whose `encrypted_content` carries the block, signature
//! included ([`ReasoningPayload::Thinking`] / [`ReasoningPayload::RedactedThinking`]). On the
//! next request the block is rebuilt unchanged, in its original position before the
//! `tool_use` of the same assistant message, as the API requires.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::conversation::{AssistantBlock, Conversation, Image, Turn, UserPart};
use crate::reasoning_codec::ReasoningPayload;
use crate::responses::{InputItem, ResponsesRequest};
use crate::tools::{LoweredTools, ToolMap, lower_tools};

/// `anthropic-version` header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `max_tokens` when neither the client nor the model table gives one.
pub const DEFAULT_MAX_TOKENS: u64 = 32_000;

/// `POST /v1/messages` body.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AnthropicRequest {
    /// Model id.
    pub model: String,
    /// Required output cap.
    pub max_tokens: u64,
    /// System prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Strictly alternating user/assistant messages, starting with user.
    pub messages: Vec<AnthropicMessage>,
    /// Tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<AnthropicTool>,
    /// `{type: auto|any|tool|none, name?, disable_parallel_tool_use?}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// `{type: enabled, budget_tokens}` or `{type: adaptive}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// `{effort}` for adaptive thinking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<Value>,
    /// Sampling temperature (not allowed with thinking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling (not allowed with thinking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Always true.
    pub stream: bool,
}

/// A message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnthropicMessage {
    /// `user` or `assistant`.
    pub role: &'static str,
    /// Content blocks.
    pub content: Vec<AnthropicBlock>,
}

/// A content block.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicBlock {
    /// Text.
    Text {
        /// The text (never empty: the API rejects empty text blocks).
        text: String,
    },
    /// Image.
    Image {
        /// `{type: base64, media_type, data}` or `{type: url, url}`.
        source: Value,
    },
    /// Signed thinking, replayed unchanged.
    Thinking {
        /// The thinking text.
        thinking: String,
        /// Its signature.
        signature: String,
    },
    /// Redacted thinking, replayed unchanged.
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
    /// A tool call.
    ToolUse {
        /// Call id.
        id: String,
        /// Wire name.
        name: String,
        /// Arguments object.
        input: Value,
    },
    /// A tool result.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// Text and image blocks.
        content: Vec<AnthropicBlock>,
        /// Set for results we had to make up.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

/// A tool.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnthropicTool {
    /// Wire name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema.
    pub input_schema: Value,
}

/// How a model takes extended thinking. Data, not code: a new model is a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingStyle {
    /// `thinking: {type: enabled, budget_tokens}` (Claude 4.5 and earlier).
    Budget,
    /// `thinking: {type: adaptive}` + `output_config.effort` (Opus 4.6+, Claude 5 family).
    Adaptive,
    /// No extended thinking.
    None,
}

/// What we know about an Anthropic model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnthropicModel {
    /// Thinking form.
    pub thinking: ThinkingStyle,
    /// Default output cap.
    pub max_tokens: u64,
    /// Accepts `effort: max`.
    pub max_effort: bool,
}

/// Model id prefix → capabilities, most specific first. Unknown ids get the last row.
const MODEL_TABLE: &[(&str, AnthropicModel)] = &[
    (
        "claude-opus-5",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: true,
        },
    ),
    (
        "claude-sonnet-5",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: true,
        },
    ),
    (
        "claude-fable-5",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: true,
        },
    ),
    (
        "claude-haiku-5",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: false,
        },
    ),
    (
        "claude-opus-4-8",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: true,
        },
    ),
    (
        "claude-opus-4-7",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: true,
        },
    ),
    (
        "claude-opus-4-6",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: true,
        },
    ),
    (
        "claude-sonnet-4-6",
        AnthropicModel {
            thinking: ThinkingStyle::Adaptive,
            max_tokens: 64_000,
            max_effort: false,
        },
    ),
    (
        "claude-haiku-4-5",
        AnthropicModel {
            thinking: ThinkingStyle::Budget,
            max_tokens: 64_000,
            max_effort: false,
        },
    ),
    (
        "claude-opus-4",
        AnthropicModel {
            thinking: ThinkingStyle::Budget,
            max_tokens: 32_000,
            max_effort: false,
        },
    ),
    (
        "claude-sonnet-4",
        AnthropicModel {
            thinking: ThinkingStyle::Budget,
            max_tokens: 64_000,
            max_effort: false,
        },
    ),
    (
        "claude-3-7-sonnet",
        AnthropicModel {
            thinking: ThinkingStyle::Budget,
            max_tokens: 64_000,
            max_effort: false,
        },
    ),
    (
        "claude-3",
        AnthropicModel {
            thinking: ThinkingStyle::None,
            max_tokens: 8_192,
            max_effort: false,
        },
    ),
    (
        "",
        AnthropicModel {
            thinking: ThinkingStyle::Budget,
            max_tokens: DEFAULT_MAX_TOKENS,
            max_effort: false,
        },
    ),
];

/// Look a model up (by id prefix, ignoring a `provider/` prefix).
pub fn model_info(model: &str) -> AnthropicModel {
    let id = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    MODEL_TABLE
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map(|(_, m)| *m)
        .unwrap_or(AnthropicModel {
            thinking: ThinkingStyle::Budget,
            max_tokens: DEFAULT_MAX_TOKENS,
            max_effort: false,
        })
}

/// A translated request.
#[derive(Debug, Clone)]
pub struct AnthropicTranslation {
    /// The body.
    pub request: AnthropicRequest,
    /// Wire tool names ⇄ Codex tools.
    pub tool_map: ToolMap,
    /// What was dropped.
    pub dropped: Vec<String>,
}

/// Responses → Anthropic Messages.
pub fn to_anthropic(
    req: &ResponsesRequest,
    items: &[InputItem],
    upstream_model: &str,
) -> AnthropicTranslation {
    let LoweredTools {
        tools,
        map,
        dropped: dropped_tools,
    } = lower_tools(&req.tools);
    let conv = Conversation::from_items(req.instructions.as_deref(), items);
    let mut dropped = conv.dropped.clone();
    dropped.extend(dropped_tools);
    let info = model_info(upstream_model);

    // Anthropic has no system turns mid-conversation; later developer messages join the
    // system prompt (they carry standing instructions, not dialogue).
    let mut system = conv.system.clone().unwrap_or_default();
    for t in &conv.turns {
        if let Turn::System(text) = t {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(text);
        }
    }
    let messages = render_messages(&conv.turns);

    let mut request = AnthropicRequest {
        model: upstream_model.to_owned(),
        max_tokens: req.max_output_tokens.unwrap_or(info.max_tokens).max(1),
        system: (!system.is_empty()).then_some(system),
        messages,
        tools: tools
            .into_iter()
            .map(|t| AnthropicTool {
                name: t.name,
                description: t.description,
                input_schema: t.parameters,
            })
            .collect(),
        tool_choice: None,
        thinking: None,
        output_config: None,
        temperature: req.temperature,
        top_p: req.top_p,
        stream: true,
    };
    let effort = req
        .reasoning
        .as_ref()
        .and_then(|r| r.effort.as_deref())
        .filter(|e| *e != "none");
    let thinking_on = apply_thinking(&mut request, effort, info);
    if !request.tools.is_empty() {
        request.tool_choice = tool_choice(
            req.tool_choice.as_ref(),
            req.parallel_tool_calls,
            thinking_on,
            info,
        );
    }
    crate::schema::adapt_anthropic_request(&mut request);
    AnthropicTranslation {
        request,
        tool_map: map,
        dropped,
    }
}

fn apply_thinking(
    request: &mut AnthropicRequest,
    effort: Option<&str>,
    info: AnthropicModel,
) -> bool {
    let Some(effort) = effort else { return false };
    match info.thinking {
        ThinkingStyle::None => return false,
        ThinkingStyle::Adaptive => {
            let effort = match effort {
                "minimal" | "low" => "low",
                "medium" => "medium",
                "xhigh" | "max" if info.max_effort => "max",
                _ => "high",
            };
            request.thinking = Some(json!({"type": "adaptive"}));
            request.output_config = Some(json!({"effort": effort}));
        }
        ThinkingStyle::Budget => {
            let budget: u64 = match effort {
                "minimal" => 1_024,
                "low" => 4_096,
                "medium" => 10_000,
                "high" => 16_000,
                _ => 32_000,
            };
            // budget_tokens must stay below max_tokens.
            if request.max_tokens <= budget {
                request.max_tokens = budget + 4_096;
            }
            request.thinking = Some(json!({"type": "enabled", "budget_tokens": budget}));
        }
    }
    // Sampling parameters are not allowed together with thinking.
    request.temperature = None;
    request.top_p = None;
    true
}

fn tool_choice(
    choice: Option<&Value>,
    parallel: Option<bool>,
    thinking: bool,
    info: AnthropicModel,
) -> Option<Value> {
    let mut out: Map<String, Value> = Map::new();
    match choice {
        Some(Value::String(s)) if s == "required" => out.insert("type".into(), json!("any")),
        Some(Value::String(s)) if s == "none" => out.insert("type".into(), json!("none")),
        Some(Value::Object(o)) => match o.get("name").and_then(Value::as_str) {
            Some(name) => {
                let ns = o.get("namespace").and_then(Value::as_str);
                out.insert("name".into(), json!(ToolMap::wire_name(ns, name)));
                out.insert("type".into(), json!("tool"))
            }
            None => out.insert("type".into(), json!("auto")),
        },
        _ => out.insert("type".into(), json!("auto")),
    };
    // Budget thinking only allows auto/none.
    if thinking
        && info.thinking == ThinkingStyle::Budget
        && matches!(
            out.get("type").and_then(Value::as_str),
            Some("any" | "tool")
        )
    {
        out.remove("name");
        out.insert("type".into(), json!("auto"));
    }
    if parallel == Some(false) && out.get("type").and_then(Value::as_str) != Some("none") {
        out.insert("disable_parallel_tool_use".into(), json!(true));
    }
    if out.len() == 1 && out.get("type").and_then(Value::as_str) == Some("auto") {
        return None; // the default
    }
    Some(Value::Object(out))
}

fn render_messages(turns: &[Turn]) -> Vec<AnthropicMessage> {
    let mut out: Vec<AnthropicMessage> = Vec::new();
    let mut push = |role: &'static str, blocks: Vec<AnthropicBlock>| {
        if blocks.is_empty() {
            return;
        }
        match out.last_mut() {
            // Roles must alternate: merge consecutive same-role turns.
            Some(last) if last.role == role => {
                if role == "user" {
                    // tool_result blocks must come first in a user message.
                    let (mut results, others): (Vec<_>, Vec<_>) = std::mem::take(&mut last.content)
                        .into_iter()
                        .chain(blocks)
                        .partition(|b| matches!(b, AnthropicBlock::ToolResult { .. }));
                    results.extend(others);
                    last.content = results;
                } else {
                    last.content.extend(blocks);
                }
            }
            _ => out.push(AnthropicMessage {
                role,
                content: blocks,
            }),
        }
    };
    for turn in turns {
        match turn {
            Turn::System(_) => {}
            Turn::User(parts) => push("user", user_blocks(parts)),
            Turn::Assistant(blocks) => push("assistant", assistant_blocks(blocks)),
            Turn::ToolResults(results) => {
                let blocks = results
                    .iter()
                    .map(|r| {
                        let mut content = Vec::new();
                        if !r.text.is_empty() {
                            content.push(AnthropicBlock::Text {
                                text: r.text.clone(),
                            });
                        }
                        content.extend(r.images.iter().filter_map(image_block));
                        if content.is_empty() {
                            content.push(AnthropicBlock::Text {
                                text: "(no output)".into(),
                            });
                        }
                        AnthropicBlock::ToolResult {
                            tool_use_id: r.call_id.clone(),
                            content,
                            is_error: r.synthetic,
                        }
                    })
                    .collect();
                push("user", blocks);
            }
        }
    }
    if out.first().is_some_and(|m| m.role == "assistant") {
        out.insert(
            0,
            AnthropicMessage {
                role: "user",
                content: vec![AnthropicBlock::Text {
                    text: "(continuing the conversation)".into(),
                }],
            },
        );
    }
    out
}

fn user_blocks(parts: &[UserPart]) -> Vec<AnthropicBlock> {
    parts
        .iter()
        .filter_map(|p| match p {
            UserPart::Text(t) if t.is_empty() => None,
            UserPart::Text(t) => Some(AnthropicBlock::Text { text: t.clone() }),
            UserPart::Image(img) => image_block(img),
        })
        .collect()
}

fn assistant_blocks(blocks: &[AssistantBlock]) -> Vec<AnthropicBlock> {
    blocks
        .iter()
        .filter_map(|b| match b {
            AssistantBlock::Reasoning {
                payload:
                    Some(ReasoningPayload::Thinking {
                        thinking,
                        signature,
                    }),
                ..
            } => Some(AnthropicBlock::Thinking {
                thinking: thinking.clone(),
                signature: signature.clone(),
            }),
            AssistantBlock::Reasoning {
                payload: Some(ReasoningPayload::RedactedThinking { data }),
                ..
            } => Some(AnthropicBlock::RedactedThinking { data: data.clone() }),
            // Reasoning from another provider has no signature Anthropic would accept.
            AssistantBlock::Reasoning { .. } => None,
            AssistantBlock::Text(t) if t.is_empty() => None,
            AssistantBlock::Text(t) => Some(AnthropicBlock::Text { text: t.clone() }),
            AssistantBlock::Call(c) => {
                let input = match serde_json::from_str::<Value>(&c.arguments) {
                    Ok(v @ Value::Object(_)) => v,
                    Ok(other) => json!({ "value": other }),
                    Err(_) => json!({ "raw_arguments": c.arguments }),
                };
                Some(AnthropicBlock::ToolUse {
                    id: c.call_id.clone(),
                    name: c.wire_name.clone(),
                    input,
                })
            }
        })
        .collect()
}

fn image_block(img: &Image) -> Option<AnthropicBlock> {
    let source = match img.url.strip_prefix("data:") {
        Some(rest) => {
            let (meta, data) = rest.split_once(',')?;
            let media_type = meta.strip_suffix(";base64")?;
            json!({"type": "base64", "media_type": media_type, "data": data})
        }
        None => json!({"type": "url", "url": img.url}),
    };
    Some(AnthropicBlock::Image { source })
}

// ---------------------------------------------------------------------------------------------
// Stream events.

/// One streamed event (`data` of an SSE event; the `type` field decides).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicEvent {
    /// Start: carries input usage.
    MessageStart {
        /// The message shell.
        message: AnthropicMessageStart,
    },
    /// A block starts.
    ContentBlockStart {
        /// Block index.
        index: u32,
        /// The block shell.
        content_block: Value,
    },
    /// A block grows.
    ContentBlockDelta {
        /// Block index.
        index: u32,
        /// The increment.
        delta: AnthropicDelta,
    },
    /// A block ends.
    ContentBlockStop {
        /// Block index.
        index: u32,
    },
    /// Stop reason and cumulative usage.
    MessageDelta {
        /// `{stop_reason, stop_sequence}`.
        #[serde(default)]
        delta: AnthropicMessageDelta,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<AnthropicUsage>,
    },
    /// End.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// Mid-stream error.
    Error {
        /// `{type, message}`.
        error: AnthropicError,
    },
    /// Anything newer.
    #[serde(other)]
    Unknown,
}

/// `message_start.message`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AnthropicMessageStart {
    /// Input usage.
    #[serde(default)]
    pub usage: Option<AnthropicUsage>,
}

/// `message_delta.delta`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AnthropicMessageDelta {
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// Deltas.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicDelta {
    /// Text.
    TextDelta {
        /// Fragment.
        text: String,
    },
    /// Tool input JSON fragment.
    InputJsonDelta {
        /// Fragment.
        partial_json: String,
    },
    /// Thinking text.
    ThinkingDelta {
        /// Fragment.
        thinking: String,
    },
    /// Thinking signature.
    SignatureDelta {
        /// Signature (whole or fragment).
        signature: String,
    },
    /// Anything newer (citations, ...).
    #[serde(other)]
    Unknown,
}

/// Usage counters (cumulative).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AnthropicUsage {
    /// Uncached input.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output.
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Input read from cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// Input written to cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
}

/// `error` object.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AnthropicError {
    /// `overloaded_error`, `rate_limit_error`, ...
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}
