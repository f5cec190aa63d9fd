//! Per-provider capabilities of Chat Completions hosts: which fields they accept, how they
//! take reasoning settings, and what reasoning they need handed back.
//!
//! Fields a provider rejects are never sent blindly; everything a request translation
//! decides per provider is a field of [`ChatQuirks`], so a new host is a table row and an
//! endpoint can override any row (the daemon's doctor records what it finds).

use serde::{Deserialize, Serialize};

use crate::schema::ToolSchemaDialect;

/// Known Chat Completions hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChatProvider {
    /// api.openai.com.
    OpenAi,
    /// api.deepseek.com.
    DeepSeek,
    /// Moonshot / Kimi.
    Kimi,
    /// Z.AI / BigModel (GLM).
    Zai,
    /// OpenRouter.
    OpenRouter,
    /// Kilo Gateway (OpenRouter-like).
    Kilo,
    /// NVIDIA NIM.
    Nim,
    /// Groq.
    Groq,
    /// Ollama.
    Ollama,
    /// OpenCode Zen / Go.
    OpenCode,
    /// Crof.ai.
    Crof,
    /// Together.
    Together,
    /// Mistral.
    Mistral,
    /// Anything else that speaks the OpenAI format.
    Generic,
}

/// Which field carries the output token cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// `max_tokens` (nearly everyone).
    MaxTokens,
    /// `max_completion_tokens` (OpenAI proper).
    MaxCompletionTokens,
}

/// How the provider takes a reasoning effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningControl {
    /// Not at all.
    None,
    /// `reasoning_effort: low|medium|high` (OpenAI, Groq, Ollama, Together).
    ReasoningEffort,
    /// `reasoning: {effort}` (OpenRouter, Kilo).
    OpenRouter,
    /// `thinking: {type}` + `reasoning_effort: high|max` (DeepSeek).
    DeepSeek,
    /// `thinking: {type: enabled|disabled}` (Z.AI, Kimi).
    Thinking,
    /// `chat_template_kwargs: {enable_thinking}` (NVIDIA NIM, vLLM).
    TemplateKwargs,
}

/// Which reasoning the provider wants back on assistant messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEcho {
    /// Never send reasoning back.
    None,
    /// `reasoning_content` (DeepSeek, Kimi, GLM, NIM and the vLLM/SGLang hosts).
    ReasoningContent,
    /// `reasoning_details` (OpenRouter, Kilo).
    ReasoningDetails,
}

/// Everything a Chat request translation decides per provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatQuirks {
    /// Accepts `role: developer` (else sent as `system`).
    pub developer_role: bool,
    /// Accepts `store`.
    pub store: bool,
    /// Accepts `parallel_tool_calls`.
    pub parallel_tool_calls: bool,
    /// Accepts `stream_options.include_usage`.
    pub stream_usage: bool,
    /// Accepts `prompt_cache_key`.
    pub prompt_cache_key: bool,
    /// Accepts an explicit `tool_choice`.
    pub tool_choice: bool,
    /// Output cap field.
    pub max_tokens_field: MaxTokensField,
    /// Cap to send when the client sent none (Kimi's own default is far too low).
    pub default_max_tokens: Option<u64>,
    /// Upper bound the provider accepts.
    pub max_tokens_cap: Option<u64>,
    /// How to pass the effort.
    pub reasoning_control: ReasoningControl,
    /// Efforts the provider accepts, lowest first; others are clamped onto this list.
    pub efforts: Vec<String>,
    /// What to hand back.
    pub reasoning_echo: ReasoningEcho,
    /// Assistant tool-call messages must carry `reasoning_content`, `""` if there was none
    /// (DeepSeek thinking mode answers 400 otherwise).
    pub reasoning_required_on_tool_calls: bool,
    /// Accepts images in user messages.
    pub vision: bool,
    /// The rule set tool schemas and names are adapted to (see [`crate::schema`]).
    pub tool_schema: ToolSchemaDialect,
    /// Which models take explicit `cache_control` breakpoints on content parts.
    pub cache_control: ChatCacheControl,
}

/// Where a Chat Completions host takes explicit `cache_control` breakpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatCacheControl {
    /// Nowhere: the host caches a repeated prefix by itself, or not at all.
    #[default]
    None,
    /// On text parts, for Anthropic (Claude) and Google Gemini models, in Anthropic's form
    /// (OpenRouter: <https://openrouter.ai/docs/guides/best-practices/prompt-caching>).
    ClaudeAndGemini,
}

impl ChatCacheControl {
    /// Whether requests for `model` (the upstream id) get breakpoints.
    pub fn applies_to(self, model: &str) -> bool {
        match self {
            ChatCacheControl::None => false,
            ChatCacheControl::ClaudeAndGemini => {
                let id = model.trim_start_matches('~').to_ascii_lowercase();
                id.starts_with("anthropic/")
                    || id.starts_with("google/gemini")
                    || id.contains("claude")
            }
        }
    }
}

impl Default for ChatQuirks {
    fn default() -> Self {
        ChatProvider::Generic.quirks()
    }
}

impl ChatQuirks {
    /// This row with an endpoint's per-field overrides (a JSON object of `ChatQuirks`
    /// fields) laid over it; an unknown field or a wrong type is an error. The one place
    /// overrides are merged (the endpoint store, the daemon and the standalone proxy use it).
    pub fn with_overrides(
        &self,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ChatQuirks, serde_json::Error> {
        let mut merged = serde_json::to_value(self)?;
        if let Some(fields) = merged.as_object_mut() {
            for (name, value) in overrides {
                if !fields.contains_key(name) {
                    return Err(serde::de::Error::custom(format_args!(
                        "unknown capability `{name}`"
                    )));
                }
                fields.insert(name.clone(), value.clone());
            }
        }
        serde_json::from_value(merged)
    }
}

fn efforts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl ChatProvider {
    /// Every known provider, for listings.
    pub const ALL: [ChatProvider; 14] = [
        ChatProvider::OpenAi,
        ChatProvider::DeepSeek,
        ChatProvider::Kimi,
        ChatProvider::Zai,
        ChatProvider::OpenRouter,
        ChatProvider::Kilo,
        ChatProvider::Nim,
        ChatProvider::Groq,
        ChatProvider::Ollama,
        ChatProvider::OpenCode,
        ChatProvider::Crof,
        ChatProvider::Together,
        ChatProvider::Mistral,
        ChatProvider::Generic,
    ];

    /// The provider's row of the capability table.
    pub fn quirks(self) -> ChatQuirks {
        // The generic row is conservative: only fields every OpenAI-compatible host accepts,
        // `reasoning_content` handed back (vLLM/SGLang hosts need it, others ignore it).
        let generic = ChatQuirks {
            developer_role: false,
            store: false,
            parallel_tool_calls: false,
            stream_usage: true,
            // Codex's `prompt_cache_key` is OpenAI's field; a host that documents none gets
            // none (strict schemas such as NIM's refuse unknown fields).
            prompt_cache_key: false,
            tool_choice: true,
            max_tokens_field: MaxTokensField::MaxTokens,
            default_max_tokens: None,
            max_tokens_cap: None,
            reasoning_control: ReasoningControl::None,
            efforts: Vec::new(),
            reasoning_echo: ReasoningEcho::ReasoningContent,
            reasoning_required_on_tool_calls: false,
            vision: true,
            tool_schema: ToolSchemaDialect::Standard,
            cache_control: ChatCacheControl::None,
        };
        match self {
            ChatProvider::OpenAi => ChatQuirks {
                developer_role: true,
                store: true,
                parallel_tool_calls: true,
                // Caching is automatic from 1,024 tokens; `prompt_cache_key` routes requests
                // sharing a prefix to the same cache
                // (https://platform.openai.com/docs/guides/prompt-caching).
                prompt_cache_key: true,
                max_tokens_field: MaxTokensField::MaxCompletionTokens,
                reasoning_control: ReasoningControl::ReasoningEffort,
                efforts: efforts(&["minimal", "low", "medium", "high"]),
                reasoning_echo: ReasoningEcho::None,
                tool_schema: ToolSchemaDialect::OpenAi,
                ..generic
            },
            // Caching is automatic on the prefix (context caching on disk, hits reported as
            // `prompt_cache_hit_tokens`); no cache key in the API
            // (https://api-docs.deepseek.com/guides/kv_cache).
            ChatProvider::DeepSeek => ChatQuirks {
                reasoning_control: ReasoningControl::DeepSeek,
                efforts: efforts(&["high", "max"]),
                reasoning_required_on_tool_calls: true,
                vision: false,
                tool_schema: ToolSchemaDialect::DeepSeek,
                ..generic
            },
            // Caching is automatic on the prefix ("automated and does not require any
            // additional configuration": OpenRouter's Moonshot notes,
            // https://openrouter.ai/docs/guides/best-practices/prompt-caching); no documented
            // `prompt_cache_key` on Chat Completions.
            ChatProvider::Kimi => ChatQuirks {
                default_max_tokens: Some(32_000),
                reasoning_control: ReasoningControl::Thinking,
                tool_schema: ToolSchemaDialect::Kimi,
                ..generic
            },
            // Implicit context caching, hits in `prompt_tokens_details.cached_tokens`; no
            // cache key (https://docs.z.ai/guides/capabilities/cache).
            ChatProvider::Zai => ChatQuirks {
                reasoning_control: ReasoningControl::Thinking,
                ..generic
            },
            // Anthropic and Gemini models cache only at explicit `cache_control` breakpoints
            // on content parts, which OpenRouter passes to any of their providers (the
            // top-level automatic form would pin the request to Anthropic itself); other
            // models cache automatically
            // (https://openrouter.ai/docs/guides/best-practices/prompt-caching). Kilo's
            // gateway fronts OpenRouter with the same model ids and request shape
            // (https://kilo.ai/docs/gateway); its API reference does not list the marker.
            ChatProvider::OpenRouter | ChatProvider::Kilo => ChatQuirks {
                parallel_tool_calls: true,
                reasoning_control: ReasoningControl::OpenRouter,
                efforts: efforts(&["minimal", "low", "medium", "high", "xhigh"]),
                reasoning_echo: ReasoningEcho::ReasoningDetails,
                // A gateway: "tool calling … passed down as-is for providers implementing
                // OpenAI's interface; for providers with custom interfaces, we transform"
                // (https://openrouter.ai/docs/api-reference/overview). Gemini and Kimi models
                // behind it still refuse what their own validators refuse.
                tool_schema: ToolSchemaDialect::ByModel,
                cache_control: ChatCacheControl::ClaudeAndGemini,
                ..generic
            },
            ChatProvider::Nim => ChatQuirks {
                // NIM's schema is additionalProperties:false and some models reject an
                // explicit tool_choice; send the bare minimum.
                stream_usage: false,
                tool_choice: false,
                reasoning_control: ReasoningControl::TemplateKwargs,
                ..generic
            },
            // Automatic prefix caching, no configuration
            // (https://console.groq.com/docs/prompt-caching).
            ChatProvider::Groq => ChatQuirks {
                parallel_tool_calls: true,
                reasoning_control: ReasoningControl::ReasoningEffort,
                efforts: efforts(&["low", "medium", "high"]),
                reasoning_echo: ReasoningEcho::None,
                ..generic
            },
            ChatProvider::Ollama => ChatQuirks {
                reasoning_control: ReasoningControl::ReasoningEffort,
                efforts: efforts(&["low", "medium", "high"]),
                reasoning_echo: ReasoningEcho::None,
                ..generic
            },
            ChatProvider::Together => ChatQuirks {
                reasoning_control: ReasoningControl::ReasoningEffort,
                efforts: efforts(&["low", "medium", "high", "max"]),
                ..generic
            },
            ChatProvider::Mistral => ChatQuirks {
                reasoning_echo: ReasoningEcho::None,
                ..generic
            },
            // OpenCode Go forwards Kimi models to Moonshot, whose validator refuses `$ref`
            // (anomalyco/opencode#39995): the rules follow the model.
            ChatProvider::OpenCode => ChatQuirks {
                tool_schema: ToolSchemaDialect::ByModel,
                ..generic
            },
            ChatProvider::Crof | ChatProvider::Generic => generic,
        }
    }

    /// Guess the provider from a base URL's host.
    pub fn detect(base_url: &str) -> ChatProvider {
        let host = crate::base_url::host(base_url).unwrap_or_default();
        let table: &[(&str, ChatProvider)] = &[
            ("api.openai.com", ChatProvider::OpenAi),
            ("deepseek.com", ChatProvider::DeepSeek),
            ("moonshot.ai", ChatProvider::Kimi),
            ("moonshot.cn", ChatProvider::Kimi),
            ("kimi.com", ChatProvider::Kimi),
            ("z.ai", ChatProvider::Zai),
            ("bigmodel.cn", ChatProvider::Zai),
            ("openrouter.ai", ChatProvider::OpenRouter),
            ("kilo.ai", ChatProvider::Kilo),
            ("nvidia.com", ChatProvider::Nim),
            ("groq.com", ChatProvider::Groq),
            ("ollama.com", ChatProvider::Ollama),
            ("opencode.ai", ChatProvider::OpenCode),
            ("crof.ai", ChatProvider::Crof),
            ("nahcrof.com", ChatProvider::Crof),
            ("together.xyz", ChatProvider::Together),
            ("mistral.ai", ChatProvider::Mistral),
        ];
        for (suffix, provider) in table {
            if host == *suffix || host.ends_with(&format!(".{suffix}")) {
                return *provider;
            }
        }
        if crate::base_url::port(base_url) == Some(11434) {
            return ChatProvider::Ollama;
        }
        ChatProvider::Generic
    }

    /// The provider's kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            ChatProvider::OpenAi => "open-ai",
            ChatProvider::DeepSeek => "deep-seek",
            ChatProvider::Kimi => "kimi",
            ChatProvider::Zai => "zai",
            ChatProvider::OpenRouter => "open-router",
            ChatProvider::Kilo => "kilo",
            ChatProvider::Nim => "nim",
            ChatProvider::Groq => "groq",
            ChatProvider::Ollama => "ollama",
            ChatProvider::OpenCode => "open-code",
            ChatProvider::Crof => "crof",
            ChatProvider::Together => "together",
            ChatProvider::Mistral => "mistral",
            ChatProvider::Generic => "generic",
        }
    }

    /// Parse a name; accepts the kebab-case names and common spellings (`openai`, `deepseek`).
    pub fn from_name(name: &str) -> Option<ChatProvider> {
        let squashed: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let alias = match squashed.as_str() {
            "moonshot" => "kimi",
            "glm" | "zhipu" | "bigmodel" => "zai",
            "nvidia" | "nvidianim" => "nim",
            "opencodezen" | "opencodego" => "opencode",
            "crofai" => "crof",
            "custom" | "openaicompat" => "generic",
            other => other,
        };
        ChatProvider::ALL
            .into_iter()
            .find(|p| p.name().replace('-', "") == alias)
    }
}

/// Clamp a Codex effort onto a provider's accepted list (lowest first).
/// `none` is handled by the caller (it means "thinking off").
pub fn clamp_effort(effort: &str, accepted: &[String]) -> Option<String> {
    if accepted.is_empty() {
        return Some(effort.to_owned());
    }
    if accepted.iter().any(|a| a == effort) {
        return Some(effort.to_owned());
    }
    const SCALE: [&str; 6] = ["minimal", "low", "medium", "high", "xhigh", "max"];
    let rank = SCALE.iter().position(|s| *s == effort)?;
    // The accepted value closest in rank; ties go up (more effort, not less).
    accepted
        .iter()
        .filter_map(|a| SCALE.iter().position(|s| s == a).map(|r| (r, a)))
        .min_by_key(|(r, _)| (r.abs_diff(rank), usize::MAX - r))
        .map(|(_, a)| a.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_over_the_row_and_unknown_fields_are_refused() {
        let row = ChatProvider::DeepSeek.quirks();
        let mut o = serde_json::Map::new();
        o.insert("parallel_tool_calls".into(), serde_json::Value::Bool(false));
        let merged = row.with_overrides(&o).expect("merge");
        assert!(!merged.parallel_tool_calls);
        assert_eq!(merged.reasoning_echo, row.reasoning_echo);
        o.insert("paralel_tool_calls".into(), serde_json::Value::Bool(false));
        let err = row.with_overrides(&o).expect_err("typo");
        assert_eq!(err.to_string(), "unknown capability `paralel_tool_calls`");
        let mut o = serde_json::Map::new();
        o.insert("vision".into(), serde_json::Value::from("yes"));
        assert!(row.with_overrides(&o).is_err(), "wrong type");
    }

    #[test]
    fn detects_hosts() {
        assert_eq!(
            ChatProvider::detect("https://api.deepseek.com/v1"),
            ChatProvider::DeepSeek
        );
        assert_eq!(
            ChatProvider::detect("https://api.z.ai/api/coding/paas/v4"),
            ChatProvider::Zai
        );
        assert_eq!(
            ChatProvider::detect("http://localhost:11434/v1"),
            ChatProvider::Ollama
        );
        assert_eq!(
            ChatProvider::detect("http://127.0.0.1:9/v1"),
            ChatProvider::Generic
        );
        assert_eq!(
            ChatProvider::from_name("deepseek"),
            Some(ChatProvider::DeepSeek)
        );
        assert_eq!(
            ChatProvider::from_name("OpenRouter"),
            Some(ChatProvider::OpenRouter)
        );
        assert_eq!(ChatProvider::from_name("nope"), None);
    }

    #[test]
    fn clamps_efforts() {
        let ds = efforts(&["high", "max"]);
        assert_eq!(clamp_effort("low", &ds).as_deref(), Some("high"));
        assert_eq!(clamp_effort("xhigh", &ds).as_deref(), Some("max"));
        let oa = efforts(&["minimal", "low", "medium", "high"]);
        assert_eq!(clamp_effort("xhigh", &oa).as_deref(), Some("high"));
        assert_eq!(clamp_effort("medium", &oa).as_deref(), Some("medium"));
    }
}
