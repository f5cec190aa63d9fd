//! The OpenAI Responses API as Codex speaks it: the request it sends, the items in its
//! `input`, the tools it declares, and the response objects and stream events it reads.
//!
//! Requests are parsed tolerantly: unknown fields land in `extra`, unknown item and tool types
//! in `Other` variants, so a newer Codex never gets a 400 from us for something we merely do
//! not understand. A *known* item that is malformed (a `function_call` without `call_id`) is an
//! error, because translating it would silently lose part of the conversation.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// `POST /v1/responses` body.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ResponsesRequest {
    /// Model slug as configured in Codex.
    pub model: String,
    /// Conversation so far: a bare string (one user message) or a list of items.
    #[serde(default)]
    pub input: Input,
    /// System prompt. Codex 0.169.0 sends it as a `developer` item instead, older versions here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// `"auto"`, `"none"`, `"required"` or `{type, name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Whether several tool calls may come in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning effort and summary settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningParam>,
    /// Output token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Server-sent events (Codex: always true). The API default is false.
    #[serde(default)]
    pub stream: bool,
    /// Whether the server may keep the response for `previous_response_id` (API default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Continue from a response this server produced earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// `{verbosity?, format?}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Value>,
    /// Stable per-thread key; also a good session key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// Everything else (`include`, `client_metadata`, `service_tier`, ...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `reasoning` request parameter.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ReasoningParam {
    /// `none`, `minimal`, `low`, `medium`, `high`, `xhigh`, `max` or a custom string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto`, `concise`, `detailed` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// The `input` field.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A single user message.
    Text(String),
    /// A list of conversation items.
    Items(Vec<InputItem>),
}

impl Default for Input {
    fn default() -> Self {
        Input::Items(Vec::new())
    }
}

impl Input {
    /// The input as a list of items (a bare string becomes one user message).
    pub fn into_items(self) -> Vec<InputItem> {
        match self {
            Input::Text(text) => vec![InputItem::Message(MessageItem {
                id: None,
                role: "user".to_owned(),
                content: MessageContent::Text(text),
                status: None,
            })],
            Input::Items(items) => items,
        }
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Input::Text(s)),
            Value::Array(items) => items
                .into_iter()
                .map(|v| InputItem::from_value(v).map_err(D::Error::custom))
                .collect::<Result<Vec<_>, _>>()
                .map(Input::Items),
            Value::Null => Ok(Input::default()),
            other => Err(D::Error::custom(format!(
                "`input` must be a string or an array, got {}",
                json_kind(&other)
            ))),
        }
    }
}

impl Serialize for Input {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Input::Text(t) => s.serialize_str(t),
            Input::Items(items) => items.serialize(s),
        }
    }
}

/// One conversation item of `input` (and, for the output kinds, of a response's `output`).
#[derive(Debug, Clone, PartialEq)]
pub enum InputItem {
    /// `message` (also the type-less "easy input message").
    Message(MessageItem),
    /// `function_call`: a call the model made earlier.
    FunctionCall(FunctionCallItem),
    /// `function_call_output`: its result.
    FunctionCallOutput(ToolOutputItem),
    /// `custom_tool_call` (freeform tools such as `apply_patch`).
    CustomToolCall(CustomToolCallItem),
    /// `custom_tool_call_output`.
    CustomToolCallOutput(ToolOutputItem),
    /// `reasoning` from an earlier turn.
    Reasoning(ReasoningItem),
    /// Anything else (`web_search_call`, `compaction`, `local_shell_call`, ...), kept verbatim.
    Other {
        /// The item's `type`.
        kind: String,
        /// The item as sent.
        raw: Value,
    },
}

impl InputItem {
    /// Parse one item, dispatching on `type`.
    pub fn from_value(value: Value) -> Result<InputItem, serde_json::Error> {
        let kind = match value.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            // The API accepts `{role, content}` without a type as a message.
            None if value.get("role").is_some() => "message".to_owned(),
            _ => {
                return Err(serde_json::Error::custom(
                    "input item has no string `type` and no `role`",
                ));
            }
        };
        let item = match kind.as_str() {
            "message" => InputItem::Message(serde_json::from_value(value)?),
            "function_call" => InputItem::FunctionCall(serde_json::from_value(value)?),
            "function_call_output" => InputItem::FunctionCallOutput(serde_json::from_value(value)?),
            "custom_tool_call" => InputItem::CustomToolCall(serde_json::from_value(value)?),
            "custom_tool_call_output" => {
                InputItem::CustomToolCallOutput(serde_json::from_value(value)?)
            }
            "reasoning" => InputItem::Reasoning(serde_json::from_value(value)?),
            _ => InputItem::Other { kind, raw: value },
        };
        Ok(item)
    }

    /// The item's `type` as it appears on the wire.
    pub fn kind(&self) -> &str {
        match self {
            InputItem::Message(_) => "message",
            InputItem::FunctionCall(_) => "function_call",
            InputItem::FunctionCallOutput(_) => "function_call_output",
            InputItem::CustomToolCall(_) => "custom_tool_call",
            InputItem::CustomToolCallOutput(_) => "custom_tool_call_output",
            InputItem::Reasoning(_) => "reasoning",
            InputItem::Other { kind, .. } => kind,
        }
    }
}

impl Serialize for InputItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            InputItem::Message(m) => serde_json::to_value(m),
            InputItem::FunctionCall(m) => serde_json::to_value(m),
            InputItem::FunctionCallOutput(m) => serde_json::to_value(m),
            InputItem::CustomToolCall(m) => serde_json::to_value(m),
            InputItem::CustomToolCallOutput(m) => serde_json::to_value(m),
            InputItem::Reasoning(m) => serde_json::to_value(m),
            InputItem::Other { raw, .. } => return raw.serialize(s),
        };
        let mut value = value.map_err(serde::ser::Error::custom)?;
        if let Value::Object(map) = &mut value {
            map.insert("type".to_owned(), Value::String(self.kind().to_owned()));
        }
        value.serialize(s)
    }
}

impl<'de> Deserialize<'de> for InputItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        InputItem::from_value(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `message` item.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct MessageItem {
    /// Item id (`msg_…`), when the client sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `user`, `assistant`, `system` or `developer`.
    pub role: String,
    /// Text or content parts.
    pub content: MessageContent,
    /// Item status, echoed by some clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Message content: a string or a list of parts.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Typed parts.
    Parts(Vec<ContentPart>),
}

/// One content part. Kept flat and loose so new part types pass through as `kind` + fields.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ContentPart {
    /// `input_text`, `output_text`, `input_image`, `refusal`, `input_file`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of `input_text` / `output_text` / `text` parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// URL (usually a `data:` URL) of an `input_image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// `auto`, `low`, `high` or `original`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Refusal text of a `refusal` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

impl MessageContent {
    /// All text of the message, parts joined by blank lines; images and files are skipped.
    pub fn text(&self) -> String {
        match self {
            MessageContent::Text(t) => t.clone(),
            MessageContent::Parts(parts) => join_texts(parts.iter().filter_map(ContentPart::text)),
        }
    }
}

impl ContentPart {
    /// The part's text (`text` or `refusal`), if it has any.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref().or(self.refusal.as_deref())
    }

    /// Whether this part is an image.
    pub fn is_image(&self) -> bool {
        self.kind == "input_image" && self.image_url.is_some()
    }
}

/// Join text fragments with blank lines, as separate paragraphs.
pub fn join_texts<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for t in texts {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(t);
    }
    out
}

/// `function_call` item.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct FunctionCallItem {
    /// Item id (`fc_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The id that pairs the call with its output.
    pub call_id: String,
    /// Function name (without namespace).
    pub name: String,
    /// Namespace of a namespaced (MCP) tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON text of the arguments.
    #[serde(default)]
    pub arguments: String,
    /// Item status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `custom_tool_call` item.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct CustomToolCallItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The id that pairs the call with its output.
    pub call_id: String,
    /// Tool name (`apply_patch`).
    pub name: String,
    /// Namespace, for namespaced custom tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Raw freeform input (a patch for `apply_patch`).
    #[serde(default)]
    pub input: String,
    /// Item status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `function_call_output` / `custom_tool_call_output` item.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ToolOutputItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call this answers.
    pub call_id: String,
    /// A string, or content parts (text and images).
    pub output: ToolOutput,
}

/// Tool output payload.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ToolOutput {
    /// Plain text.
    Text(String),
    /// Content parts (`input_text`, `input_image`, ...).
    Parts(Vec<ContentPart>),
}

impl ToolOutput {
    /// The text of the output; images are not included.
    pub fn text(&self) -> String {
        match self {
            ToolOutput::Text(t) => t.clone(),
            ToolOutput::Parts(parts) => join_texts(parts.iter().filter_map(ContentPart::text)),
        }
    }

    /// Image parts of the output.
    pub fn images(&self) -> Vec<&ContentPart> {
        match self {
            ToolOutput::Text(_) => Vec::new(),
            ToolOutput::Parts(parts) => parts.iter().filter(|p| p.is_image()).collect(),
        }
    }
}

/// `reasoning` item.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ReasoningItem {
    /// Item id (`rs_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Summary parts (`summary_text`).
    #[serde(default)]
    pub summary: Vec<ReasoningPart>,
    /// Raw reasoning parts (`reasoning_text`).
    #[serde(default)]
    pub content: Option<Vec<ReasoningPart>>,
    /// Opaque payload; ours carries what the provider needs back (see `reasoning_codec`).
    #[serde(default)]
    pub encrypted_content: Option<String>,
}

/// A `summary_text` or `reasoning_text` part.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ReasoningPart {
    /// `summary_text`, `reasoning_text` or `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    #[serde(default)]
    pub text: String,
}

impl ReasoningItem {
    /// Visible reasoning text: raw content if present, else the summary.
    pub fn visible_text(&self) -> String {
        let content = self.content.as_deref().unwrap_or_default();
        let parts = if content.is_empty() {
            &self.summary[..]
        } else {
            content
        };
        parts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("")
    }
}

/// A declared tool.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    /// `function`.
    Function(FunctionTool),
    /// `custom` (freeform, e.g. `apply_patch` with a Lark grammar).
    Custom(CustomTool),
    /// `namespace`: a group of functions (MCP servers).
    Namespace(NamespaceTool),
    /// Hosted or unknown tools (`web_search`, `tool_search`, `image_generation`, ...).
    Other {
        /// The tool's `type`.
        kind: String,
        /// The tool as sent.
        raw: Value,
    },
}

impl Tool {
    /// Parse one tool, dispatching on `type`.
    pub fn from_value(value: Value) -> Result<Tool, serde_json::Error> {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function")
            .to_owned();
        Ok(match kind.as_str() {
            "function" => Tool::Function(serde_json::from_value(value)?),
            "custom" => Tool::Custom(serde_json::from_value(value)?),
            "namespace" => Tool::Namespace(serde_json::from_value(value)?),
            _ => Tool::Other { kind, raw: value },
        })
    }

    /// The tool's `type`.
    pub fn kind(&self) -> &str {
        match self {
            Tool::Function(_) => "function",
            Tool::Custom(_) => "custom",
            Tool::Namespace(_) => "namespace",
            Tool::Other { kind, .. } => kind,
        }
    }
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Tool::from_value(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

impl Serialize for Tool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            Tool::Function(t) => serde_json::to_value(t),
            Tool::Custom(t) => serde_json::to_value(t),
            Tool::Namespace(t) => serde_json::to_value(t),
            Tool::Other { raw, .. } => return raw.serialize(s),
        };
        let mut value = value.map_err(serde::ser::Error::custom)?;
        if let Value::Object(map) = &mut value {
            map.insert("type".to_owned(), Value::String(self.kind().to_owned()));
        }
        value.serialize(s)
    }
}

/// `function` tool.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct FunctionTool {
    /// Name.
    pub name: String,
    /// Description for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `custom` tool.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct CustomTool {
    /// Name.
    pub name: String,
    /// Description for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `{type:"grammar", syntax, definition}` or `{type:"text"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
}

/// `namespace` tool.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NamespaceTool {
    /// Namespace name, e.g. `mcp__server__`.
    pub name: String,
    /// Description of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member tools (functions, possibly custom).
    #[serde(default)]
    pub tools: Vec<Tool>,
}

// ---------------------------------------------------------------------------------------------
// Output side: what we send back.

/// The request's `tools` as a [`Response`] repeats them: serialized once, shared by every
/// snapshot. Codex sends about 18 KB of tools, and a stream carries three snapshots
/// (`created`, `in_progress`, `completed`) plus the kept final response: cloning and
/// re-serializing the tool trees for each was most of the CPU a Codex request cost the proxy.
#[derive(Debug, Clone, Default)]
pub struct EchoedTools(Option<std::sync::Arc<serde_json::value::RawValue>>);

impl EchoedTools {
    /// Serialize `tools` once (none: `[]`).
    pub fn new(tools: &[Tool]) -> EchoedTools {
        if tools.is_empty() {
            return EchoedTools(None);
        }
        // Tools came from JSON and serialize back to it: this cannot fail.
        EchoedTools(
            serde_json::value::to_raw_value(tools)
                .ok()
                .map(std::sync::Arc::from),
        )
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0
            .as_deref()
            .map_or("[]", serde_json::value::RawValue::get)
    }
}

impl PartialEq for EchoedTools {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for EchoedTools {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(raw) => raw.serialize(serializer),
            None => serializer.collect_seq(std::iter::empty::<()>()),
        }
    }
}

/// A `response` object (OpenAPI `Response`), as sent in lifecycle events and non-stream replies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Response {
    /// `resp_…`.
    pub id: String,
    /// Always `response`.
    pub object: &'static str,
    /// Unix seconds.
    pub created_at: u64,
    /// Lifecycle status.
    pub status: ResponseStatus,
    /// Unix seconds when it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<u64>,
    /// Error for `failed` responses.
    pub error: Option<ResponseError>,
    /// Why a response is `incomplete`.
    pub incomplete_details: Option<IncompleteDetails>,
    /// Echo of the request's instructions.
    pub instructions: Option<String>,
    /// Echo of the request's output cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Always `{}` (we keep no metadata).
    pub metadata: Map<String, Value>,
    /// The model slug as requested.
    pub model: String,
    /// Output items.
    pub output: Vec<OutputItem>,
    /// Echo of the request.
    pub parallel_tool_calls: bool,
    /// Id of the response this continued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// Echo of the request's reasoning settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningParam>,
    /// Whether the response is kept for `previous_response_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Echo of the request.
    pub temperature: Option<f64>,
    /// Echo of the request.
    pub tool_choice: Value,
    /// Echo of the request.
    pub tools: EchoedTools,
    /// Echo of the request.
    pub top_p: Option<f64>,
    /// Token usage, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResponseUsage>,
}

/// `Response.status`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Still streaming.
    InProgress,
    /// Finished normally.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cut short (token cap, content filter).
    Incomplete,
}

/// `Response.error`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResponseError {
    /// Machine-readable code; Codex acts on it (see `error::FailureKind::code`).
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// `Response.incomplete_details`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: String,
}

/// `ResponseUsage`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ResponseUsage {
    /// Whole prompt, cached part included.
    pub input_tokens: u64,
    /// Breakdown of the prompt.
    pub input_tokens_details: InputTokensDetails,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Breakdown of the output.
    pub output_tokens_details: OutputTokensDetails,
    /// input + output.
    pub total_tokens: u64,
}

/// `ResponseUsage.input_tokens_details`. Both fields are always written: the OpenAI spec
/// requires them, and Codex shows them per turn (`cached_input_tokens`,
/// `cache_write_input_tokens` in `codex exec --json`).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct InputTokensDetails {
    /// Prompt tokens read from the provider's cache (a subset of `input_tokens`).
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's cache by this request (a subset of
    /// `input_tokens`, disjoint from `cached_tokens`); 0 where the host does not report
    /// writes or does not bill them.
    pub cache_write_tokens: u64,
}

/// `ResponseUsage.output_tokens_details`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OutputTokensDetails {
    /// Tokens spent on reasoning.
    pub reasoning_tokens: u64,
}

/// An item of `Response.output`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    /// Assistant text.
    Message {
        /// `msg_…`.
        id: String,
        /// `in_progress`, `completed` or `incomplete`.
        status: &'static str,
        /// Always `assistant`.
        role: &'static str,
        /// Text parts.
        content: Vec<OutputContent>,
    },
    /// A function call.
    FunctionCall {
        /// `fc_…`.
        id: String,
        /// Pairs the call with its output.
        call_id: String,
        /// Function name, namespace removed.
        name: String,
        /// Namespace of a namespaced tool.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        /// JSON text.
        arguments: String,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
    /// A freeform tool call.
    CustomToolCall {
        /// `ctc_…`.
        id: String,
        /// Pairs the call with its output.
        call_id: String,
        /// Tool name.
        name: String,
        /// Namespace of a namespaced tool.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        /// Raw input.
        input: String,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
    /// Reasoning, carrying the provider-native payload in `encrypted_content`.
    Reasoning {
        /// `rs_…`.
        id: String,
        /// Summary text parts.
        summary: Vec<SummaryPart>,
        /// Raw reasoning parts, when not shown as summary.
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<Vec<ReasoningTextPart>>,
        /// Opaque round-trip payload.
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
}

impl OutputItem {
    /// The item as an input item, for rebuilding a conversation from stored responses.
    pub fn to_input(&self) -> Result<InputItem, serde_json::Error> {
        InputItem::from_value(serde_json::to_value(self)?)
    }
}

/// `output_text` part of an output message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputContent {
    /// Always `output_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text.
    pub text: String,
    /// Always empty.
    pub annotations: Vec<Value>,
    /// Always empty.
    pub logprobs: Vec<Value>,
}

impl OutputContent {
    /// An `output_text` part.
    pub fn text(text: String) -> Self {
        OutputContent {
            kind: "output_text",
            text,
            annotations: Vec::new(),
            logprobs: Vec::new(),
        }
    }
}

/// `summary_text` part.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryPart {
    /// Always `summary_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

/// `reasoning_text` part.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReasoningTextPart {
    /// Always `reasoning_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_known_and_unknown_items() {
        let req: ResponsesRequest = serde_json::from_value(json!({
            "model": "m",
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"role": "user", "content": "typeless"},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "ghost_snapshot", "x": 1},
            ],
            "tools": [{"type": "web_search", "external_web_access": true}],
            "client_metadata": {"a": "b"}
        }))
        .unwrap();
        let Input::Items(items) = &req.input else {
            panic!("items")
        };
        assert_eq!(items.len(), 4);
        assert_eq!(items[1].kind(), "message");
        assert_eq!(items[3].kind(), "ghost_snapshot");
        assert!(req.extra.contains_key("client_metadata"));
        assert_eq!(req.tools[0].kind(), "web_search");
        // Round trip keeps unknown items verbatim.
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["input"][3], json!({"type": "ghost_snapshot", "x": 1}));
    }

    #[test]
    fn malformed_known_item_is_an_error() {
        let err = serde_json::from_value::<ResponsesRequest>(json!({
            "model": "m", "input": [{"type": "function_call", "name": "f"}]
        }))
        .unwrap_err();
        assert!(err.to_string().contains("call_id"), "{err}");
    }
}
