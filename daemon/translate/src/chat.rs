//! Chat Completions wire types (OpenAI `CreateChatCompletionRequest` and stream chunks), with
//! the fields the OpenAI-compatible providers add: `reasoning_content` (DeepSeek, Kimi, GLM,
//! NIM), `reasoning` / `reasoning_details` (OpenRouter, Ollama, Groq), `thinking`,
//! `chat_template_kwargs`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

impl ChatPart {
    /// A text part without a breakpoint.
    pub fn text(text: impl Into<String>) -> ChatPart {
        ChatPart::Text {
            text: text.into(),
            cache_control: None,
        }
    }
}

/// `POST /chat/completions` body.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChatRequest {
    /// Model id.
    pub model: String,
    /// Conversation.
    pub messages: Vec<ChatMessage>,
    /// Always true: we stream from upstreams even for non-stream clients.
    pub stream: bool,
    /// `{include_usage: true}` where the provider supports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<ChatStreamOptions>,
    /// Functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ChatTool>>,
    /// `"none"`, `"required"` or `{type:"function", function:{name}}`; `"auto"` is left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Only for providers known to accept it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Output cap for most providers (counts reasoning on DeepSeek).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Output cap for OpenAI proper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// OpenAI / DeepSeek / Groq / Ollama effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// OpenRouter / Kilo `{effort}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Value>,
    /// DeepSeek / Z.AI / Kimi `{type: enabled|disabled}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// NVIDIA NIM (vLLM) template switches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<Value>,
    /// Structured output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// OpenAI `store` (only where accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// OpenAI prompt cache routing key (only where accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// Provider-specific extras from the endpoint configuration.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `stream_options`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChatStreamOptions {
    /// Ask for a final usage chunk.
    pub include_usage: bool,
}

/// One message.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ChatMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text or parts; `null` on assistant messages that only call tools.
    pub content: Option<ChatContent>,
    /// Calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChatToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// DeepSeek/Kimi/GLM reasoning to hand back on assistant messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// OpenRouter reasoning details to hand back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_details: Option<Vec<Value>>,
}

/// Message content.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ChatContent {
    /// Plain text (what every provider accepts).
    Text(String),
    /// Parts (needed for images).
    Parts(Vec<ChatPart>),
}

/// A content part.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatPart {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// A cache breakpoint (OpenRouter / Kilo, for Anthropic and Gemini models).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<crate::cache::CacheControl>,
    },
    /// Image by URL or data URL.
    ImageUrl {
        /// `{url, detail?}`.
        image_url: ChatImageUrl,
    },
}

/// `image_url` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatImageUrl {
    /// URL or `data:` URL.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tool call on an assistant message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatToolCall {
    /// Call id.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name and JSON arguments.
    pub function: ChatFunctionCall,
}

/// `function` of a tool call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatFunctionCall {
    /// Wire name.
    pub name: String,
    /// JSON text.
    pub arguments: String,
}

/// A declared tool.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChatTool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: ChatFunctionDef,
}

/// A declared function.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChatFunctionDef {
    /// Wire name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema.
    pub parameters: Value,
    /// Only sent when true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Stream chunks.

/// One `chat.completion.chunk` (fields every provider agrees on, plus the known extras).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatChunk {
    /// Choices; empty on usage-only chunks.
    #[serde(default)]
    pub choices: Vec<ChatChoiceDelta>,
    /// Usage (final chunk with `include_usage`).
    #[serde(default)]
    pub usage: Option<ChatUsage>,
    /// Mid-stream error object (OpenRouter and others send these).
    #[serde(default)]
    pub error: Option<ChatStreamError>,
}

/// One choice of a chunk.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatChoiceDelta {
    /// Choice index (we only use 0).
    #[serde(default)]
    pub index: u32,
    /// The increment.
    #[serde(default)]
    pub delta: ChatDelta,
    /// Why it ended; may be `""` on intermediate chunks (OpenRouter/Claude quirk).
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Kimi puts usage inside the final choice.
    #[serde(default)]
    pub usage: Option<ChatUsage>,
}

/// The increment of a chunk.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatDelta {
    /// Text: usually a string, some hosts send `[{type:"text", text}]`.
    #[serde(default)]
    pub content: Option<Value>,
    /// DeepSeek / Kimi / GLM / NIM reasoning.
    #[serde(default)]
    pub reasoning_content: Option<String>,
    /// OpenRouter / Ollama / Groq reasoning: a string (or `{text}` on some hosts).
    #[serde(default)]
    pub reasoning: Option<Value>,
    /// OpenRouter structured reasoning.
    #[serde(default)]
    pub reasoning_details: Option<Vec<Value>>,
    /// Tool-call fragments.
    #[serde(default)]
    pub tool_calls: Option<Vec<ChatToolCallDelta>>,
    /// Refusal text.
    #[serde(default)]
    pub refusal: Option<String>,
}

/// A tool-call fragment.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatToolCallDelta {
    /// Which call (absent on some hosts).
    #[serde(default)]
    pub index: Option<u32>,
    /// Only on the first fragment, usually.
    #[serde(default)]
    pub id: Option<String>,
    /// Name and argument fragment.
    #[serde(default)]
    pub function: Option<ChatFunctionDelta>,
}

/// `function` of a tool-call fragment.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatFunctionDelta {
    /// Name (first fragment).
    #[serde(default)]
    pub name: Option<String>,
    /// Arguments fragment.
    #[serde(default)]
    pub arguments: Option<String>,
}

/// Token usage.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatUsage {
    /// Prompt tokens (OpenAI: cached included).
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Completion tokens (reasoning included).
    #[serde(default)]
    pub completion_tokens: u64,
    /// Sum.
    #[serde(default)]
    pub total_tokens: Option<u64>,
    /// `{cached_tokens}`.
    #[serde(default)]
    pub prompt_tokens_details: Option<ChatPromptDetails>,
    /// `{reasoning_tokens}`.
    #[serde(default)]
    pub completion_tokens_details: Option<ChatCompletionDetails>,
    /// DeepSeek's name for cached prompt tokens (`prompt_tokens` = hit + miss;
    /// <https://api-docs.deepseek.com/guides/kv_cache>).
    #[serde(default)]
    pub prompt_cache_hit_tokens: Option<u64>,
    /// DeepSeek's uncached prompt tokens.
    #[serde(default)]
    pub prompt_cache_miss_tokens: Option<u64>,
    /// Kimi (Moonshot) reports its automatic cache hits at the top of `usage`
    /// (`usage.cached_tokens`, a subset of `prompt_tokens`); Z.AI uses
    /// `prompt_tokens_details.cached_tokens` (<https://docs.z.ai/guides/capabilities/cache>).
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Anthropic-style cache writes, passed through by gateways in front of Claude
    /// (LiteLLM-style hosts); OpenRouter uses `prompt_tokens_details.cache_write_tokens`.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
}

/// `prompt_tokens_details`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatPromptDetails {
    /// Cached prompt tokens (OpenAI, Groq, OpenRouter, Z.AI).
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Prompt tokens written to the cache (OpenRouter, for providers that bill writes:
    /// <https://openrouter.ai/docs/guides/best-practices/prompt-caching>).
    #[serde(default)]
    pub cache_write_tokens: Option<u64>,
}

/// `completion_tokens_details`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatCompletionDetails {
    /// Reasoning tokens.
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

/// A mid-stream error.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatStreamError {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Code: a string or a number depending on the host.
    #[serde(default)]
    pub code: Option<Value>,
    /// Type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl ChatUsage {
    /// As Responses usage, without double counting cached tokens. Every host here counts
    /// cache reads and writes inside `prompt_tokens`, as Responses counts them inside
    /// `input_tokens`; DeepSeek's `prompt_tokens` is hit + miss.
    pub fn to_responses(&self) -> crate::responses::ResponseUsage {
        use crate::responses::{InputTokensDetails, OutputTokensDetails, ResponseUsage};
        let details = self.prompt_tokens_details.as_ref();
        // A host that reports only the DeepSeek split still has a prompt size.
        let split = self
            .prompt_cache_hit_tokens
            .unwrap_or(0)
            .saturating_add(self.prompt_cache_miss_tokens.unwrap_or(0));
        let input = self.prompt_tokens.max(split);
        let cached = details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .or(self.cached_tokens)
            .unwrap_or(0)
            .min(input);
        let written = details
            .and_then(|d| d.cache_write_tokens)
            .or(self.cache_creation_input_tokens)
            .unwrap_or(0)
            .min(input - cached);
        let reasoning = self
            .completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0);
        ResponseUsage {
            input_tokens: input,
            input_tokens_details: InputTokensDetails {
                cached_tokens: cached,
                cache_write_tokens: written,
            },
            output_tokens: self.completion_tokens,
            output_tokens_details: OutputTokensDetails {
                reasoning_tokens: reasoning,
            },
            // Saturating: the counts are the upstream's, and an absurd one must not panic.
            total_tokens: input.saturating_add(self.completion_tokens),
        }
    }
}
