//! Anthropic Messages wire types (`POST /v1/messages`), the per-model thinking table, and the
//! request translation from Responses.
//!
//! Thinking round trip: every `thinking` / `redacted_thinking` block the model streams
//! becomes a Codex reasoning item whose `encrypted_content` carries the block, signature
//! included ([`ReasoningPayload::Thinking`] / [`ReasoningPayload::RedactedThinking`]). On the
//! next request the block is rebuilt unchanged, in its original position before the
//! `tool_use` of the same assistant message, as the API requires.
//!
//! Prompt caching (on by default, [`CacheTtl`]): explicit `cache_control` breakpoints at the
//! end of the tools, at the end of the leading system prompt, on the last block of the
//! conversation and on the last block of the previous turn; see [`place_breakpoints`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::cache::{CacheControl, CacheTtl, MAX_BREAKPOINTS};
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
    /// System prompt: a string, or text blocks when they carry a cache breakpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<AnthropicSystem>,
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

/// `system`: a string or an array of text blocks (only the blocks can carry `cache_control`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum AnthropicSystem {
    /// Plain text (caching off).
    Text(String),
    /// Text blocks: the leading system prompt, then each later developer message.
    Blocks(Vec<AnthropicSystemBlock>),
}

/// A `system` text block.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnthropicSystemBlock {
    /// Always `text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text (never empty: empty text blocks are refused and cannot be cached).
    pub text: String,
    /// A cache breakpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
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
        /// A cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// Image.
    Image {
        /// `{type: base64, media_type, data}` or `{type: url, url}`.
        source: Value,
        /// A cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
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
        /// A cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
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
        /// A cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
}

impl AnthropicBlock {
    /// A text block without a breakpoint.
    pub fn text(text: impl Into<String>) -> AnthropicBlock {
        AnthropicBlock::Text {
            text: text.into(),
            cache_control: None,
        }
    }

    /// The block's breakpoint slot; `None` for thinking blocks, which cannot carry one
    /// ("Thinking blocks cannot be cached directly with `cache_control`",
    /// prompt-caching#what-cannot-be-cached).
    pub fn cache_control_mut(&mut self) -> Option<&mut Option<CacheControl>> {
        match self {
            AnthropicBlock::Text { cache_control, .. }
            | AnthropicBlock::Image { cache_control, .. }
            | AnthropicBlock::ToolUse { cache_control, .. }
            | AnthropicBlock::ToolResult { cache_control, .. } => Some(cache_control),
            AnthropicBlock::Thinking { .. } | AnthropicBlock::RedactedThinking { .. } => None,
        }
    }

    /// Whether the block carries a breakpoint (nested tool-result blocks included).
    fn breakpoints(&self) -> usize {
        match self {
            AnthropicBlock::ToolResult {
                content,
                cache_control,
                ..
            } => {
                usize::from(cache_control.is_some())
                    + content
                        .iter()
                        .map(AnthropicBlock::breakpoints)
                        .sum::<usize>()
            }
            AnthropicBlock::Text { cache_control, .. }
            | AnthropicBlock::Image { cache_control, .. }
            | AnthropicBlock::ToolUse { cache_control, .. } => usize::from(cache_control.is_some()),
            AnthropicBlock::Thinking { .. } | AnthropicBlock::RedactedThinking { .. } => 0,
        }
    }
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
    /// A cache breakpoint (on the last tool: it caches every tool definition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
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

/// Responses → Anthropic Messages, with the default cache setting (five-minute breakpoints).
pub fn to_anthropic(
    req: &ResponsesRequest,
    items: &[InputItem],
    upstream_model: &str,
) -> AnthropicTranslation {
    to_anthropic_with_cache(req, items, upstream_model, CacheTtl::default())
}

/// Responses → Anthropic Messages, with the endpoint's cache setting.
pub fn to_anthropic_with_cache(
    req: &ResponsesRequest,
    items: &[InputItem],
    upstream_model: &str,
    cache: CacheTtl,
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
    // system prompt (they carry standing instructions, not dialogue). With caching on each
    // is a block of its own after the leading prompt, so one arriving mid-session leaves the
    // cached tools + leading system prefix intact.
    let parts: Vec<&str> = conv
        .system
        .iter()
        .map(String::as_str)
        .chain(conv.turns.iter().filter_map(|t| match t {
            Turn::System(text) => Some(text.as_str()),
            _ => None,
        }))
        .filter(|t| !t.is_empty())
        .collect();
    let system = match (parts.is_empty(), cache) {
        (true, _) => None,
        (false, CacheTtl::Off) => Some(AnthropicSystem::Text(parts.join("\n\n"))),
        (false, _) => Some(AnthropicSystem::Blocks(
            parts
                .iter()
                .map(|t| AnthropicSystemBlock {
                    kind: "text",
                    text: (*t).to_owned(),
                    cache_control: None,
                })
                .collect(),
        )),
    };
    let messages = render_messages(&conv.turns);

    let mut request = AnthropicRequest {
        model: upstream_model.to_owned(),
        max_tokens: req.max_output_tokens.unwrap_or(info.max_tokens).max(1),
        system,
        messages,
        tools: tools
            .into_iter()
            .map(|t| AnthropicTool {
                name: t.name,
                description: t.description,
                input_schema: t.parameters,
                cache_control: None,
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
    place_breakpoints(&mut request, cache);
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
                            content.push(AnthropicBlock::text(r.text.clone()));
                        }
                        content.extend(r.images.iter().filter_map(image_block));
                        if content.is_empty() {
                            content.push(AnthropicBlock::text("(no output)"));
                        }
                        AnthropicBlock::ToolResult {
                            tool_use_id: r.call_id.clone(),
                            content,
                            is_error: r.synthetic,
                            cache_control: None,
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
                content: vec![AnthropicBlock::text("(continuing the conversation)")],
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
            UserPart::Text(t) => Some(AnthropicBlock::text(t.clone())),
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
            AssistantBlock::Text(t) => Some(AnthropicBlock::text(t.clone())),
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
                    cache_control: None,
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
    Some(AnthropicBlock::Image {
        source,
        cache_control: None,
    })
}

/// Put the cache breakpoints on a built request (nothing when `cache` is off).
///
/// Rules, from <https://platform.claude.com/docs/en/build-with-claude/prompt-caching>:
/// - The cached prefix is `tools`, `system`, `messages` in that order, up to and including the
///   marked block; a write happens only at a breakpoint, and a read looks back at most 20
///   blocks from each breakpoint for an entry an earlier request wrote.
/// - At most [`MAX_BREAKPOINTS`] per request (a fifth is a 400); the ones already present are
///   counted first, and ours are added in order of value until the limit.
/// - Thinking blocks and empty text blocks cannot carry a breakpoint; a message's last block
///   that is one is skipped for the nearest block before it.
/// - A prompt shorter than the model's minimum (512 to 4,096 tokens by model,
///   `#cache-limitations`) is simply not cached, without an error, so breakpoints are placed
///   without counting tokens.
/// - Longer TTLs must come before shorter ones; every breakpoint here has the endpoint's one
///   TTL, so the order holds by construction.
///
/// Where they go, most valuable first:
/// 1. the last block of the conversation: the next request (a tool-result follow-up or the
///    next user turn) repeats everything up to it, so it reads this write back;
/// 2. the end of the leading system prompt: covers tools and system, so a branched or edited
///    conversation still reads them;
/// 3. the last block of the previous turn (the message before the last assistant message):
///    that is where the previous request wrote, so a retried turn, or one whose new blocks
///    exceed the 20-block lookback (a wide parallel tool turn), still reads it;
/// 4. the last tool: caches the tool definitions alone, for when the system prompt changes.
///
/// Why not the top-level automatic `cache_control`: it places one breakpoint on the last
/// cacheable block, which is exactly breakpoint 1, so it adds nothing we cannot place
/// ourselves, while the `anthropic` backend also serves Anthropic-compatible hosts that
/// document only block-level markers, and Amazon Bedrock's legacy integration answers a
/// top-level `cache_control` with a 400 (prompt-caching#automatic-caching). Explicit markers
/// also let breakpoint 3 exist, which automatic caching has no notion of.
pub fn place_breakpoints(request: &mut AnthropicRequest, cache: CacheTtl) {
    let Some(control) = crate::cache::control(cache) else {
        return;
    };
    let mut budget = MAX_BREAKPOINTS.saturating_sub(count_breakpoints(request));
    let mut mark = |slot: Option<&mut Option<CacheControl>>| {
        if let Some(slot) = slot
            && slot.is_none()
            && budget > 0
        {
            *slot = Some(control);
            budget -= 1;
        }
    };
    let last = request.messages.len().checked_sub(1);
    // 1. The conversation's last block.
    if let Some(i) = last {
        mark(last_cacheable(&mut request.messages[i]));
    }
    // 2. The leading system prompt (later developer messages are blocks after it).
    if let Some(AnthropicSystem::Blocks(blocks)) = &mut request.system {
        mark(blocks.first_mut().map(|b| &mut b.cache_control));
    }
    // 3. The previous turn's end: the message before the last assistant message.
    if let Some(i) = last
        && i >= 2
        && request.messages[i - 1].role == "assistant"
    {
        mark(last_cacheable(&mut request.messages[i - 2]));
    }
    // 4. The tool definitions.
    mark(request.tools.last_mut().map(|t| &mut t.cache_control));
}

/// The breakpoint slot of a message's last block that can carry one.
fn last_cacheable(message: &mut AnthropicMessage) -> Option<&mut Option<CacheControl>> {
    message
        .content
        .iter_mut()
        .rev()
        .find_map(AnthropicBlock::cache_control_mut)
}

/// How many `cache_control` breakpoints a request carries.
pub fn count_breakpoints(request: &AnthropicRequest) -> usize {
    let tools = request
        .tools
        .iter()
        .filter(|t| t.cache_control.is_some())
        .count();
    let system = match &request.system {
        Some(AnthropicSystem::Blocks(b)) => b.iter().filter(|b| b.cache_control.is_some()).count(),
        _ => 0,
    };
    let messages: usize = request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .map(AnthropicBlock::breakpoints)
        .sum();
    tools + system + messages
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
