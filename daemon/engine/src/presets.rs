//! Provider presets: base URL, backend, capability row, known quirks and starter models.
//! Starter models are examples; "Fetch models" reads the provider's live list.

use codex_launcher_types::Backend;

use crate::model::{Endpoint, Model};
use crate::pricing::Prices;

/// A preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// Id (`deepseek`).
    pub id: &'static str,
    /// The endpoint it creates (no key).
    pub endpoint: Endpoint,
    /// Known quirks, for people.
    pub notes: &'static str,
}

fn model(id: &str, context: u64, efforts: &[&str], vision: bool) -> Model {
    Model {
        id: id.to_owned(),
        context_window: context,
        reasoning_efforts: efforts.iter().map(|s| (*s).to_owned()).collect(),
        default_effort: efforts
            .get(efforts.len() / 2)
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
        input_modalities: if vision {
            vec!["text".into(), "image".into()]
        } else {
            vec!["text".into()]
        },
        parallel_tool_calls: true,
        ..Model::default()
    }
}

fn priced(model: Model, prices: Prices) -> Model {
    Model { prices, ..model }
}

/// When the Anthropic list prices below were read.
const ANTHROPIC_PRICES_READ: &str = "2026-12-02";

// Prices: only where the provider's own documentation gives list prices we could read.
// None for the rest: OpenAI's and Moonshot's pricing pages were not readable here; DeepSeek
// bills by time of day (peak / off-peak), which one price cannot say; OpenRouter, Kilo,
// OpenCode, Crof and NIM price per routed model; Command Code bills credits; Ollama is local.

struct Row {
    id: &'static str,
    name: &'static str,
    backend: Backend,
    url: &'static str,
    provider: &'static str,
    browser_ua: bool,
    notes: &'static str,
    models: fn() -> Vec<Model>,
}

const ROWS: &[Row] = &[
    Row {
        id: "openai",
        name: "OpenAI",
        backend: Backend::OpenaiResponses,
        url: "https://api.openai.com/v1",
        provider: "openai",
        browser_ua: false,
        notes: "Native Responses API: Codex needs no translation; the key goes to the launched Codex only.",
        models: || {
            vec![
                model(
                    "gpt-5.5",
                    272_000,
                    &["low", "medium", "high", "xhigh"],
                    true,
                ),
                model("gpt-5.4-mini", 272_000, &["low", "medium", "high"], true),
            ]
        },
    },
    Row {
        id: "anthropic",
        name: "Anthropic",
        backend: Backend::Anthropic,
        url: "https://api.anthropic.com",
        provider: "",
        browser_ua: false,
        notes: "Messages API; signed thinking blocks are handed back unchanged; newer models take adaptive thinking only.",
        // List prices per million tokens (input, cache hit, 5-minute cache write, output),
        // read on 2026-12-02 from the pricing table of
        // https://platform.claude.com/docs/en/build-with-claude/prompt-caching#pricing.
        models: || {
            vec![
                priced(
                    model(
                        "claude-sonnet-4-6",
                        200_000,
                        &["low", "medium", "high"],
                        true,
                    ),
                    Prices::list(3.0, 0.30, 3.75, 15.0, ANTHROPIC_PRICES_READ),
                ),
                priced(
                    model(
                        "claude-opus-4-7",
                        200_000,
                        &["low", "medium", "high", "max"],
                        true,
                    ),
                    Prices::list(5.0, 0.50, 6.25, 25.0, ANTHROPIC_PRICES_READ),
                ),
                priced(
                    model(
                        "claude-haiku-4-5",
                        200_000,
                        &["low", "medium", "high"],
                        true,
                    ),
                    Prices::list(1.0, 0.10, 1.25, 5.0, ANTHROPIC_PRICES_READ),
                ),
            ]
        },
    },
    Row {
        id: "opencode-zen",
        name: "OpenCode Zen",
        backend: Backend::OpenaiCompat,
        url: "https://opencode.ai/zen/v1",
        provider: "opencode",
        browser_ua: true,
        notes: "Cloudflare-fronted: a browser User-Agent avoids 'error code: 1010'. Free models answer only OpenCode's own client.",
        models: || {
            vec![
                model("glm-4.6", 200_000, &[], false),
                model("kimi-k2", 256_000, &[], false),
            ]
        },
    },
    Row {
        id: "opencode-go",
        name: "OpenCode Go",
        backend: Backend::OpenaiCompat,
        url: "https://opencode.ai/zen/go/v1",
        provider: "opencode",
        browser_ua: true,
        notes: "Like Zen; Go also wants an x-opencode-session header per conversation.",
        models: || vec![model("glm-4.6", 200_000, &[], false)],
    },
    Row {
        id: "command-code",
        name: "Command Code",
        backend: Backend::CommandCode,
        url: "https://api.commandcode.ai",
        provider: "",
        browser_ua: false,
        notes: "CLI route /alpha/generate (every plan); x-command-code-version required; reasoning is never sent back; max_tokens ≤ 64000.",
        models: || {
            vec![
                model("deepseek/deepseek-v4-pro", 128_000, &["high", "max"], false),
                model("moonshotai/Kimi-K3", 256_000, &[], false),
                model("zai-org/GLM-5.2", 200_000, &["high", "max"], false),
            ]
        },
    },
    Row {
        id: "crof",
        name: "Crof.ai",
        backend: Backend::OpenaiCompat,
        url: "https://crof.ai/v1",
        provider: "crof",
        browser_ua: false,
        notes: "Generic OpenAI-compatible host; reasoning_content is handed back.",
        models: || {
            vec![
                model("deepseek-v4-pro", 128_000, &[], false),
                model("kimi-k2.6", 256_000, &[], false),
                model("glm-5.1", 200_000, &[], false),
            ]
        },
    },
    Row {
        id: "nvidia-nim",
        name: "NVIDIA NIM",
        backend: Backend::OpenaiCompat,
        url: "https://integrate.api.nvidia.com/v1",
        provider: "nim",
        browser_ua: false,
        notes: "Strict schema (unknown fields are 400/422); thinking switches go in chat_template_kwargs; some models reject tool_choice.",
        models: || {
            vec![
                model("moonshotai/kimi-k2-instruct", 128_000, &[], false),
                model("deepseek-ai/deepseek-v3.1", 128_000, &[], false),
            ]
        },
    },
    Row {
        id: "kilo",
        name: "Kilo.ai Gateway",
        backend: Backend::OpenaiCompat,
        url: "https://api.kilo.ai/api/gateway",
        provider: "kilo",
        browser_ua: false,
        notes: "OpenRouter-style ids and reasoning fields.",
        models: || {
            vec![
                model(
                    "anthropic/claude-sonnet-4.5",
                    200_000,
                    &["low", "medium", "high"],
                    true,
                ),
                model("kilo/auto", 200_000, &[], false),
            ]
        },
    },
    Row {
        id: "openrouter",
        name: "OpenRouter",
        backend: Backend::OpenaiCompat,
        url: "https://openrouter.ai/api/v1",
        provider: "openrouter",
        browser_ua: false,
        notes: "reasoning:{effort}; reasoning_details are handed back unchanged (signatures, encrypted blobs).",
        models: || {
            vec![
                model(
                    "anthropic/claude-sonnet-4.5",
                    200_000,
                    &["low", "medium", "high"],
                    true,
                ),
                model(
                    "deepseek/deepseek-v3.2",
                    128_000,
                    &["low", "medium", "high"],
                    false,
                ),
                model("z-ai/glm-4.6", 200_000, &[], false),
            ]
        },
    },
    Row {
        id: "zai-coding",
        name: "Z.AI (coding plan)",
        backend: Backend::OpenaiCompat,
        url: "https://api.z.ai/api/coding/paas/v4",
        provider: "zai",
        browser_ua: false,
        notes: "Thinking on by default (thinking:{type}); preserved thinking needs reasoning_content back unchanged.",
        models: || {
            vec![
                model("glm-5.1", 200_000, &["high"], false),
                model("glm-4.7", 200_000, &["high"], false),
            ]
        },
    },
    Row {
        id: "deepseek",
        name: "DeepSeek",
        backend: Backend::OpenaiCompat,
        url: "https://api.deepseek.com/v1",
        provider: "deepseek",
        browser_ua: false,
        notes: "Thinking mode: reasoning_content must come back on every assistant tool-call message; effort high|max.",
        models: || {
            vec![
                model("deepseek-chat", 128_000, &[], false),
                model("deepseek-reasoner", 128_000, &["high", "max"], false),
            ]
        },
    },
    Row {
        id: "moonshot",
        name: "Moonshot / Kimi",
        backend: Backend::OpenaiCompat,
        url: "https://api.moonshot.ai/v1",
        provider: "kimi",
        browser_ua: false,
        notes: "Always send max_tokens (its default is tiny); keep reasoning_content on tool-call turns.",
        models: || {
            vec![
                model("kimi-k2.6", 256_000, &[], true),
                model("kimi-k2-thinking", 256_000, &[], false),
            ]
        },
    },
    Row {
        id: "groq",
        name: "Groq",
        backend: Backend::OpenaiCompat,
        url: "https://api.groq.com/openai/v1",
        provider: "groq",
        browser_ua: false,
        notes: "400 on logprobs, logit_bias, messages[].name, n>1.",
        models: || {
            vec![
                model(
                    "openai/gpt-oss-120b",
                    131_072,
                    &["low", "medium", "high"],
                    false,
                ),
                model("moonshotai/kimi-k2-instruct-0905", 262_144, &[], false),
            ]
        },
    },
    Row {
        id: "ollama",
        name: "Ollama (local)",
        backend: Backend::OpenaiCompat,
        url: "http://localhost:11434/v1",
        provider: "ollama",
        browser_ua: false,
        notes: "No key needed locally; reasoning arrives in `reasoning` or <think> tags.",
        models: || {
            vec![
                model("qwen3-coder", 262_144, &[], false),
                model("gpt-oss:20b", 131_072, &["low", "medium", "high"], false),
            ]
        },
    },
    Row {
        id: "custom",
        name: "Custom",
        backend: Backend::OpenaiCompat,
        url: "http://127.0.0.1:8000/v1",
        provider: "",
        browser_ua: false,
        notes: "Any OpenAI-compatible Chat Completions host.",
        models: Vec::new,
    },
];

/// All presets.
pub fn presets() -> Vec<Preset> {
    ROWS.iter()
        .map(|r| {
            let models = (r.models)();
            Preset {
                id: r.id,
                notes: r.notes,
                endpoint: Endpoint {
                    name: r.name.to_owned(),
                    preset: r.id.to_owned(),
                    backend: r.backend,
                    base_url: r.url.to_owned(),
                    default_model: models.first().map(|m| m.id.clone()).unwrap_or_default(),
                    models,
                    browser_ua: r.browser_ua,
                    provider: r.provider.to_owned(),
                    ..Endpoint::default()
                },
            }
        })
        .collect()
}

/// One preset by id.
pub fn preset(id: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates() {
        for p in presets() {
            let mut e = p.endpoint.clone();
            crate::store::validate(&mut e).unwrap_or_else(|err| panic!("{}: {err}", p.id));
        }
        assert!(preset("deepseek").is_some());
    }

    #[test]
    fn anthropic_models_carry_dated_list_prices() {
        let anthropic = preset("anthropic").expect("anthropic preset");
        for m in &anthropic.endpoint.models {
            let p = &m.prices;
            assert!(
                p.input.is_some() && p.cached_input.is_some() && p.cache_write.is_some(),
                "{}",
                m.id
            );
            assert_eq!(p.as_of, ANTHROPIC_PRICES_READ);
        }
        let sonnet = &anthropic.endpoint.models[0];
        assert_eq!(
            sonnet.prices.output.map(|p| p.to_string()).as_deref(),
            Some("15")
        );
        // Presets without published prices say so: nothing set, never $0.
        let deepseek = preset("deepseek").expect("deepseek preset");
        assert!(deepseek.endpoint.models.iter().all(|m| m.prices.is_empty()));
    }
}
