//! The Codex model catalog (`model_catalog_json`) built from an endpoint's [`Model`]s.
//!
//! Codex 0.169.0 knows only its own models. For any other slug it warns ("Model metadata for
//! … not found. Defaulting to fallback metadata") and runs with generic settings: no
//! `apply_patch` tool, a guessed context window, no reasoning effort. A `ModelsResponse` file
//! named by `model_catalog_json` replaces its catalog, so each launcher model gets its real
//! context window, reasoning efforts, input modalities and the freeform `apply_patch` tool.
//!
//! What 0.169.0 requires of every entry (checked against the binary: a missing one makes Codex
//! refuse to start): `slug`, `display_name`, `supported_reasoning_levels`, `shell_type`,
//! `visibility`, `supported_in_api`, `priority`, `support_verbosity`, `truncation_policy`,
//! `experimental_supported_tools`, and `base_instructions` (or a `model_messages` template).
//! An empty `base_instructions` is accepted but sends no system prompt at all, which is why
//! [`build`] takes the instructions explicitly: [`instructions_from_codex_catalog`] picks them
//! from the running Codex's own catalog (`codex debug models --bundled`), and
//! [`FALLBACK_INSTRUCTIONS`] is the launcher's own text for when that is unavailable.
//!
//! Codex Desktop reads the same file through its app server, whose model objects are
//! camelCase (`model`, `displayName`, `supportedReasoningEfforts`, …); each entry carries both
//! spellings. Codex ignores fields it does not know, so neither side trips on the other's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{AtomicError, write_atomic};
use crate::model::{Endpoint, Group, Model};
use crate::paths::Paths;

/// Catalog errors.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Codex's own catalog could not be read.
    #[error("the Codex model catalog is not a models list: {0}")]
    CodexCatalog(String),
    /// Codex's catalog has no entry whose instructions suit a launcher model.
    #[error("the Codex model catalog has no model with usable base instructions")]
    NoInstructions,
    /// Serialisation.
    #[error("cannot encode the model catalog: {0}")]
    Encode(String),
    /// Writing the file.
    #[error(transparent)]
    Write(#[from] AtomicError),
}

/// `{"models": [...]}`: the file `model_catalog_json` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelsResponse {
    /// One entry per model.
    pub models: Vec<ModelInfo>,
}

/// One catalog entry: Codex CLI's `ModelInfo` (snake_case) and, in the same object, the
/// fields Codex Desktop's app server reads (camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model id Codex sends as `model`.
    pub slug: String,
    /// Shown in pickers.
    pub display_name: String,
    /// Shown in pickers (shared by both spellings).
    pub description: Option<String>,
    /// Effort used when the user chose none; absent for models without efforts, so Codex
    /// sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reasoning_level: Option<String>,
    /// Efforts the model takes (empty: Codex offers no effort).
    pub supported_reasoning_levels: Vec<ReasoningLevel>,
    /// Which shell tool Codex offers.
    pub shell_type: ShellType,
    /// `list` shows the model in pickers.
    pub visibility: Visibility,
    /// Codex hides models not "supported in the API" from API-key users.
    pub supported_in_api: bool,
    /// Picker order (lower first).
    pub priority: i32,
    /// Always null: no upgrade nags for launcher models (shared by both spellings).
    pub upgrade: Option<ModelUpgrade>,
    /// The system prompt (the first `developer` message of every request).
    pub base_instructions: String,
    /// Codex sends `reasoning.summary` only when true.
    pub supports_reasoning_summaries: bool,
    /// `text.verbosity` is an OpenAI-only parameter.
    pub support_verbosity: bool,
    /// Always null (see `support_verbosity`).
    pub default_verbosity: Option<String>,
    /// `freeform`: Codex offers `apply_patch` as a custom tool (the proxy turns it into a
    /// function with one string argument and back).
    pub apply_patch_tool_type: Option<ApplyPatchToolType>,
    /// How Codex shortens tool output before sending it.
    pub truncation_policy: TruncationPolicy,
    /// Several tool calls per turn.
    pub supports_parallel_tool_calls: bool,
    /// Tokens (absent: Codex's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Same as `context_window`: launcher models have no larger opt-in window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_context_window: Option<u64>,
    /// When Codex compacts the history (absent: 90% of the window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_compact_token_limit: Option<u64>,
    /// Always empty: OpenAI-internal tools.
    pub experimental_supported_tools: Vec<String>,
    /// `text`, `image`.
    pub input_modalities: Vec<String>,

    /// Desktop: the model id.
    pub id: String,
    /// Desktop: the model id.
    pub model: String,
    /// Desktop: shown in pickers.
    #[serde(rename = "displayName")]
    pub display_name_camel: String,
    /// Desktop: `visibility` ≠ list.
    pub hidden: bool,
    /// Desktop: the model a new thread starts with.
    #[serde(rename = "isDefault")]
    pub is_default: bool,
    /// Desktop: efforts.
    #[serde(rename = "supportedReasoningEfforts")]
    pub supported_reasoning_efforts: Vec<ReasoningEffortOption>,
    /// Desktop: default effort (`none` for models without efforts).
    #[serde(rename = "defaultReasoningEffort")]
    pub default_reasoning_effort: String,
    /// Desktop: `text`, `image`.
    #[serde(rename = "inputModalities")]
    pub input_modalities_camel: Vec<String>,
    /// Desktop: personalities need OpenAI's instruction templates.
    #[serde(rename = "supportsPersonality")]
    pub supports_personality: bool,
}

/// A reasoning effort as the CLI reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningLevel {
    /// `low`, `high`, … (Codex 0.169.0 takes any string and sends it as is).
    pub effort: String,
    /// Shown next to the effort.
    pub description: String,
}

/// A reasoning effort as Desktop reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningEffortOption {
    /// `low`, `high`, …
    #[serde(rename = "reasoningEffort")]
    pub reasoning_effort: String,
    /// Shown next to the effort.
    pub description: String,
}

/// Codex's shell tool choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShellType {
    /// What Codex's own current models use (0.169.0 offers `exec_command` for it).
    ShellCommand,
}

/// Picker visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Shown.
    List,
    /// Hidden.
    Hide,
}

/// How Codex offers `apply_patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyPatchToolType {
    /// A custom tool with a grammar: the form Codex's prompts and parser are written for.
    Freeform,
}

/// An upgrade suggestion (never set; the type exists so `upgrade` serialises as null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUpgrade {
    /// Suggested model.
    pub model: String,
    /// Why.
    pub migration_markdown: String,
}

/// Tool-output truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruncationPolicy {
    /// `tokens` or `bytes`.
    pub mode: TruncationMode,
    /// Limit in that unit.
    pub limit: u64,
}

/// Unit of [`TruncationPolicy::limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TruncationMode {
    /// Tokens.
    Tokens,
    /// Bytes.
    Bytes,
}

/// The tool-output limit Codex's own models use.
const TRUNCATION: TruncationPolicy = TruncationPolicy {
    mode: TruncationMode::Tokens,
    limit: 10_000,
};

/// The launcher's system prompt for when Codex's own catalog cannot be read. Codex's prompts
/// are better tuned, so this is a last resort; it covers what a model must know to drive
/// Codex's tools, above all the patch format `apply_patch` parses.
pub const FALLBACK_INSTRUCTIONS: &str = "\
You are a coding agent working inside Codex, a command-line coding assistant, on the user's \
computer. You and the user share one workspace. Carry the user's task through to the end: read \
the code, make the changes, check them, and then report briefly.

# How you work
- Start by looking around: list files, read the relevant code, search with `rg` (faster than \
`grep`). Do not guess at code you have not read.
- Keep changes focused on the task. Follow the style and conventions of the surrounding code. \
Fix the cause of a problem rather than its symptom. Do not add license headers, and do not \
rename or reformat code the task does not touch.
- When the task has several steps, keep a short plan and work through it.
- After changing code, run the tests, the build or a quick check that exercises the change, if \
the project has them. Say so plainly if you could not verify something.
- Never undo changes you did not make; the user may be editing files at the same time. Do not \
run destructive commands (such as `git reset --hard` or deleting files outside the task) unless \
the user asked for them.

# Tools
Run shell commands with the shell tool: give the command and, where it matters, the working \
directory. Prefer commands that finish on their own; avoid interactive programs and pagers.

Edit files with the `apply_patch` tool. Its input is a patch in this format, and nothing else:

*** Begin Patch
*** Add File: path/to/new_file.py
+every line of the new file, each starting with +
*** Update File: path/to/existing.py
@@ def the_function():
 an unchanged line, starting with a space, to anchor the change
-a line to remove
+a line to add
*** Delete File: path/to/obsolete.txt
*** End Patch

Rules for patches:
- Paths are relative to the working directory; never absolute.
- In an Update section, give about three unchanged context lines before and after each change, \
each starting with a space. Use an `@@` line naming the enclosing function or class when the \
context alone would match more than one place.
- To rename a file, follow `*** Update File: old/path` with `*** Move to: new/path`.
- One patch may touch several files. Do not use the shell (sed, echo, cat with redirection) to \
edit files; use `apply_patch`.

# Answering
Be concise and concrete. When you are done, summarise what you changed and where (file paths), \
what you checked, and anything left for the user. Use Markdown sparingly: short bullet lists \
and `code` for paths and commands. For questions that need no changes, just answer.
";

/// Where the catalog for an endpoint lives: `$XDG_STATE_HOME/codex-launcher/catalogs/<id>.json`.
pub fn catalog_file(paths: &Paths, endpoint_id: &str) -> PathBuf {
    paths
        .state
        .join("catalogs")
        .join(format!("{endpoint_id}.json"))
}

/// The catalog for a session on `endpoint` with `model` (added when the endpoint does not
/// list it, and marked as Desktop's default), every entry with `base_instructions`.
pub fn build(endpoint: &Endpoint, model: &str, base_instructions: &str) -> ModelsResponse {
    let mut models: Vec<Model> = endpoint.models.clone();
    if !model.is_empty() && !models.iter().any(|m| m.id == model) {
        models.insert(0, Model::bare(model));
    }
    let models = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let priority = i32::try_from(i).unwrap_or(i32::MAX);
            model_info(
                m,
                &endpoint.name,
                priority,
                m.id == model,
                base_instructions,
            )
        })
        .collect();
    ModelsResponse { models }
}

/// A group as the one endpoint Codex sees: one model, named after the group, whose
/// metadata every member can honour — the smallest context window and output cap among
/// them, the reasoning efforts and input kinds they all accept, parallel tool calls only if
/// all take them. A member's model is its `model`, else its endpoint's default.
pub fn group_endpoint(group: &Group, endpoints: &[Endpoint]) -> Endpoint {
    let members: Vec<Model> = group
        .members
        .iter()
        .filter_map(|m| {
            let e = endpoints.iter().find(|e| e.id == m.endpoint)?;
            let id = if m.model.is_empty() {
                &e.default_model
            } else {
                &m.model
            };
            Some(
                e.models
                    .iter()
                    .find(|x| &x.id == id)
                    .cloned()
                    .unwrap_or_else(|| Model::bare(id)),
            )
        })
        .collect();
    let smallest =
        |f: fn(&Model) -> u64| members.iter().map(f).filter(|n| *n > 0).min().unwrap_or(0);
    let all_take = |list: fn(&Model) -> &Vec<String>| -> Vec<String> {
        let mut common: Vec<String> = members.first().map(|m| list(m).clone()).unwrap_or_default();
        common.retain(|x| members.iter().all(|m| list(m).contains(x)));
        common
    };
    let efforts = all_take(|m| &m.reasoning_efforts);
    let default_effort = members
        .first()
        .map(|m| m.default_effort.clone())
        .filter(|d| efforts.contains(d))
        .or_else(|| efforts.get(efforts.len() / 2).cloned())
        .unwrap_or_default();
    let model = Model {
        id: group.id.clone(),
        display_name: group.name.clone(),
        context_window: smallest(|m| m.context_window),
        max_output_tokens: smallest(|m| m.max_output_tokens),
        reasoning_efforts: efforts,
        default_effort,
        input_modalities: all_take(|m| &m.input_modalities),
        parallel_tool_calls: !members.is_empty() && members.iter().all(|m| m.parallel_tool_calls),
        ..Model::default()
    };
    Endpoint {
        id: group.id.clone(),
        name: group.name.clone(),
        // Never reached: sessions on a group talk to the proxy's route for it.
        backend: codex_launcher_types::Backend::OpenaiCompat,
        base_url: format!("http://127.0.0.1/e/{}/v1", group.id),
        default_model: group.id.clone(),
        models: vec![model],
        ..Endpoint::default()
    }
}

/// One entry.
pub fn model_info(
    m: &Model,
    endpoint_name: &str,
    priority: i32,
    is_default: bool,
    base_instructions: &str,
) -> ModelInfo {
    let display = if m.display_name.trim().is_empty() {
        m.id.clone()
    } else {
        m.display_name.clone()
    };
    let efforts = efforts(&m.reasoning_efforts);
    let default_effort = default_effort(&efforts, &m.default_effort);
    // Codex knows text and images; anything else (audio, video) it cannot send anyway. An
    // unknown list means text only: offering images to a text model fails the request.
    let mut modalities: Vec<String> = m
        .input_modalities
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| s == "text" || s == "image")
        .collect();
    modalities.dedup();
    if !modalities.iter().any(|s| s == "text") {
        modalities.insert(0, "text".to_owned());
    }
    let window = (m.context_window > 0).then_some(m.context_window);
    let description = if endpoint_name.trim().is_empty() {
        "Served through codex-launcher".to_owned()
    } else {
        format!("{} through codex-launcher", endpoint_name.trim())
    };
    ModelInfo {
        slug: m.id.clone(),
        display_name: display.clone(),
        description: Some(description),
        default_reasoning_level: default_effort.clone(),
        supported_reasoning_levels: efforts
            .iter()
            .map(|e| ReasoningLevel {
                effort: e.clone(),
                description: effort_description(e),
            })
            .collect(),
        shell_type: ShellType::ShellCommand,
        visibility: Visibility::List,
        supported_in_api: true,
        priority,
        upgrade: None,
        base_instructions: base_instructions.to_owned(),
        supports_reasoning_summaries: !efforts.is_empty(),
        support_verbosity: false,
        default_verbosity: None,
        apply_patch_tool_type: Some(ApplyPatchToolType::Freeform),
        truncation_policy: TRUNCATION,
        supports_parallel_tool_calls: m.parallel_tool_calls,
        context_window: window,
        max_context_window: window,
        auto_compact_token_limit: compact_limit(m.context_window, m.max_output_tokens),
        experimental_supported_tools: Vec::new(),
        input_modalities: modalities.clone(),
        id: m.id.clone(),
        model: m.id.clone(),
        display_name_camel: display,
        hidden: false,
        is_default,
        supported_reasoning_efforts: efforts
            .iter()
            .map(|e| ReasoningEffortOption {
                reasoning_effort: e.clone(),
                description: effort_description(e),
            })
            .collect(),
        default_reasoning_effort: default_effort.unwrap_or_else(|| "none".to_owned()),
        input_modalities_camel: modalities,
        supports_personality: false,
    }
}

/// Trimmed, lowercased, deduplicated, order kept.
fn efforts(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in list {
        let e = e.trim().to_ascii_lowercase();
        if !e.is_empty() && !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// The stored default when the model takes it, else `medium`, else the first effort: Codex
/// would otherwise send its own default, which the model may refuse.
fn default_effort(efforts: &[String], stored: &str) -> Option<String> {
    let stored = stored.trim().to_ascii_lowercase();
    if efforts.contains(&stored) {
        return Some(stored);
    }
    efforts
        .iter()
        .find(|e| *e == "medium")
        .or_else(|| efforts.first())
        .cloned()
}

fn effort_description(effort: &str) -> String {
    match effort {
        "none" => "No reasoning".to_owned(),
        "minimal" => "Barely any reasoning, fastest".to_owned(),
        "low" => "Light reasoning, quick answers".to_owned(),
        "medium" => "Balanced reasoning for everyday work".to_owned(),
        "high" => "Deep reasoning for hard problems".to_owned(),
        "xhigh" => "Extra-deep reasoning, slowest".to_owned(),
        "max" => "The provider's maximum reasoning".to_owned(),
        other => format!("Provider effort `{other}`"),
    }
}

/// Compact before the prompt leaves too little room for the model's output: providers that
/// reserve the whole output cap refuse a prompt longer than window − cap, while Codex's
/// default (90% of the window) ignores the cap.
fn compact_limit(window: u64, max_output: u64) -> Option<u64> {
    if window == 0 || max_output == 0 || max_output >= window {
        return None;
    }
    Some((window - max_output).min(window / 10 * 9))
}

impl ModelsResponse {
    /// Pretty JSON, as written to the file.
    pub fn to_json(&self) -> Result<Vec<u8>, CatalogError> {
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|e| CatalogError::Encode(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Write to `path` atomically (0600; Codex runs as the same user).
    pub fn write(&self, path: &Path) -> Result<(), CatalogError> {
        write_atomic(path, &self.to_json()?, None)?;
        Ok(())
    }
}

/// The parts of an entry of Codex's own catalog that decide whether its instructions suit a
/// launcher model. Everything is optional: the shape changes between Codex releases.
#[derive(Debug, Deserialize)]
struct CodexEntry {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    base_instructions: Option<String>,
    #[serde(default)]
    model_messages: Option<CodexMessages>,
    #[serde(default)]
    apply_patch_tool_type: Option<String>,
    #[serde(default)]
    tool_mode: Option<String>,
    #[serde(default)]
    use_responses_lite: Option<bool>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    priority: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct CodexMessages {
    #[serde(default)]
    instructions_template: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CodexCatalog {
    models: Vec<CodexEntry>,
}

/// Pick base instructions from Codex's own catalog (the JSON `codex debug models --bundled`
/// prints), so launcher models get the prompt Codex's current release is written around.
///
/// Only entries that drive tools the way launcher models are offered them qualify: freeform
/// `apply_patch`, direct tool calls (not `code_mode`, whose prompt describes a JavaScript tool
/// runtime), no "responses lite" (an OpenAI-internal request shape). Among those, listed
/// models first, then by Codex's priority (lower first). Templates with a `{{ personality }}`
/// placeholder are skipped: the rendered `base_instructions` is used instead.
pub fn instructions_from_codex_catalog(json: &[u8]) -> Result<String, CatalogError> {
    let catalog: CodexCatalog =
        serde_json::from_slice(json).map_err(|e| CatalogError::CodexCatalog(e.to_string()))?;
    // (hidden, priority, slug): listed before hidden, then Codex's order, then a stable tie.
    let mut best: Option<((bool, i64, String), String)> = None;
    for entry in catalog.models {
        let direct = entry
            .tool_mode
            .as_deref()
            .is_none_or(|m| m.is_empty() || m == "direct");
        if entry.apply_patch_tool_type.as_deref() != Some("freeform")
            || !direct
            || entry.use_responses_lite == Some(true)
        {
            continue;
        }
        let text = entry
            .base_instructions
            .filter(|t| !t.trim().is_empty())
            .or_else(|| {
                entry
                    .model_messages
                    .and_then(|m| m.instructions_template)
                    .filter(|t| !t.trim().is_empty() && !t.contains("{{"))
            });
        let Some(text) = text else { continue };
        let hidden = entry.visibility.as_deref().is_some_and(|v| v != "list");
        let key = (hidden, entry.priority.unwrap_or(i64::MAX), entry.slug);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, text));
        }
    }
    best.map(|(_, text)| text)
        .ok_or(CatalogError::NoInstructions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_launcher_types::Backend;
    use serde_json::{Value, json};

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "ds".into(),
            name: "DeepSeek".into(),
            backend: Backend::OpenaiCompat,
            base_url: "https://api.deepseek.com/v1".into(),
            default_model: "deepseek-reasoner".into(),
            models: vec![
                Model {
                    id: "deepseek-reasoner".into(),
                    display_name: "DeepSeek Reasoner".into(),
                    context_window: 128_000,
                    max_output_tokens: 64_000,
                    reasoning_efforts: vec!["High".into(), "max".into(), "high".into()],
                    default_effort: "max".into(),
                    input_modalities: vec!["text".into()],
                    parallel_tool_calls: true,
                    prices: Default::default(),
                },
                Model::bare("deepseek-chat"),
            ],
            ..Endpoint::default()
        }
    }

    #[test]
    fn entry_has_every_field_codex_requires_in_both_spellings() {
        let cat = build(&endpoint(), "deepseek-reasoner", "Be useful.");
        let v: Value = serde_json::from_slice(&cat.to_json().unwrap()).unwrap();
        let m = &v["models"][0];
        for key in [
            "slug",
            "display_name",
            "supported_reasoning_levels",
            "shell_type",
            "visibility",
            "supported_in_api",
            "priority",
            "support_verbosity",
            "truncation_policy",
            "experimental_supported_tools",
            "base_instructions",
            "supports_parallel_tool_calls",
            "apply_patch_tool_type",
            "model",
            "displayName",
            "supportedReasoningEfforts",
            "defaultReasoningEffort",
            "inputModalities",
            "isDefault",
        ] {
            assert!(m.get(key).is_some(), "missing {key}: {m}");
        }
        assert_eq!(m["slug"], "deepseek-reasoner");
        assert_eq!(m["model"], "deepseek-reasoner");
        assert_eq!(m["displayName"], "DeepSeek Reasoner");
        assert_eq!(m["apply_patch_tool_type"], "freeform");
        assert_eq!(m["shell_type"], "shell_command");
        assert_eq!(m["visibility"], "list");
        assert_eq!(m["context_window"], 128_000);
        assert_eq!(
            m["truncation_policy"],
            json!({"mode": "tokens", "limit": 10000})
        );
        assert_eq!(m["base_instructions"], "Be useful.");
        assert_eq!(m["upgrade"], Value::Null);
        // Efforts normalised and deduplicated; the stored default kept.
        assert_eq!(
            m["supported_reasoning_levels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["effort"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["high", "max"]
        );
        assert_eq!(m["default_reasoning_level"], "max");
        assert_eq!(m["defaultReasoningEffort"], "max");
        assert_eq!(
            m["supportedReasoningEfforts"][1],
            json!({"reasoningEffort": "max", "description": "The provider's maximum reasoning"})
        );
        assert_eq!(m["supports_reasoning_summaries"], true);
        assert_eq!(m["isDefault"], true);
        assert_eq!(m["input_modalities"], json!(["text"]));
        // 128k window, 64k output cap: compact before the prompt passes 64k.
        assert_eq!(m["auto_compact_token_limit"], 64_000);
    }

    #[test]
    fn model_without_efforts_sends_none() {
        let cat = build(&endpoint(), "deepseek-reasoner", "x");
        let chat = &cat.models[1];
        assert_eq!(chat.slug, "deepseek-chat");
        assert!(chat.supported_reasoning_levels.is_empty());
        assert_eq!(chat.default_reasoning_level, None);
        assert_eq!(chat.default_reasoning_effort, "none");
        assert!(!chat.supports_reasoning_summaries);
        assert!(!chat.is_default);
        assert_eq!(chat.context_window, None);
        assert_eq!(chat.auto_compact_token_limit, None);
        assert_eq!(chat.priority, 1);
        let v = serde_json::to_value(chat).unwrap();
        assert!(v.get("default_reasoning_level").is_none());
        assert!(v.get("context_window").is_none());
    }

    #[test]
    fn session_model_missing_from_the_endpoint_is_added_first() {
        let cat = build(&endpoint(), "deepseek-v4", "x");
        assert_eq!(cat.models.len(), 3);
        assert_eq!(cat.models[0].slug, "deepseek-v4");
        assert!(cat.models[0].is_default);
        assert_eq!(cat.models[0].input_modalities, ["text"]);
        assert!(cat.models.iter().filter(|m| m.is_default).count() == 1);
    }

    #[test]
    fn default_effort_falls_back_to_medium_then_first() {
        let e = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            default_effort(&e(&["low", "medium", "high"]), "bogus").as_deref(),
            Some("medium")
        );
        assert_eq!(
            default_effort(&e(&["high", "max"]), "").as_deref(),
            Some("high")
        );
        assert_eq!(default_effort(&[], "high"), None);
    }

    #[test]
    fn modalities_keep_images_and_always_text() {
        let mut m = Model::bare("v");
        m.input_modalities = vec!["image".into(), "audio".into(), "TEXT".into()];
        let info = model_info(&m, "E", 0, false, "x");
        assert_eq!(info.input_modalities, ["image", "text"]);
        m.input_modalities.clear();
        assert_eq!(
            model_info(&m, "E", 0, false, "x").input_modalities,
            ["text"]
        );
    }

    #[test]
    fn round_trips_through_serde() {
        let cat = build(&endpoint(), "deepseek-chat", "x");
        let back: ModelsResponse = serde_json::from_slice(&cat.to_json().unwrap()).unwrap();
        assert_eq!(back, cat);
    }

    #[test]
    fn instructions_come_from_a_direct_freeform_codex_model() {
        let codex = json!({"models": [
            {"slug": "code-mode", "priority": 1, "visibility": "list", "tool_mode": "code_mode_only",
             "apply_patch_tool_type": "freeform", "base_instructions": "CODE MODE"},
            {"slug": "lite", "priority": 2, "visibility": "list", "use_responses_lite": true,
             "apply_patch_tool_type": "freeform", "base_instructions": "LITE"},
            {"slug": "hidden", "priority": 3, "visibility": "hide", "tool_mode": null,
             "apply_patch_tool_type": "freeform", "base_instructions": "HIDDEN"},
            {"slug": "nopatch", "priority": 4, "visibility": "list",
             "apply_patch_tool_type": null, "base_instructions": "NOPATCH"},
            {"slug": "good-late", "priority": 9, "visibility": "list",
             "apply_patch_tool_type": "freeform", "base_instructions": "LATE"},
            {"slug": "good", "priority": 5, "visibility": "list", "tool_mode": null,
             "apply_patch_tool_type": "freeform", "base_instructions": "",
             "model_messages": {"instructions_template": "GOOD", "approvals": {}}},
        ]});
        let text = instructions_from_codex_catalog(codex.to_string().as_bytes()).unwrap();
        assert_eq!(text, "GOOD");
        let none = json!({"models": [{"slug": "x", "apply_patch_tool_type": "freeform",
            "model_messages": {"instructions_template": "Hi {{ personality }}"}}]});
        assert!(matches!(
            instructions_from_codex_catalog(none.to_string().as_bytes()),
            Err(CatalogError::NoInstructions)
        ));
        assert!(matches!(
            instructions_from_codex_catalog(b"[]"),
            Err(CatalogError::CodexCatalog(_))
        ));
    }

    #[test]
    fn fallback_instructions_teach_the_patch_format() {
        for needle in [
            "apply_patch",
            "*** Begin Patch",
            "*** Update File:",
            "*** End Patch",
        ] {
            assert!(FALLBACK_INSTRUCTIONS.contains(needle), "{needle}");
        }
    }

    #[test]
    fn writes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let path = catalog_file(&paths, "ds");
        assert!(path.ends_with("state/codex-launcher/catalogs/ds.json"));
        build(&endpoint(), "deepseek-chat", "x")
            .write(&path)
            .unwrap();
        let back: ModelsResponse = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back.models.len(), 2);
    }

    #[test]
    fn a_group_offers_what_every_member_can_honour() {
        use crate::model::GroupMember;
        let model = |id: &str, ctx: u64, efforts: &[&str], vision: bool| Model {
            id: id.into(),
            context_window: ctx,
            reasoning_efforts: efforts.iter().map(|e| (*e).to_owned()).collect(),
            default_effort: "high".into(),
            input_modalities: if vision {
                vec!["text".into(), "image".into()]
            } else {
                vec!["text".into()]
            },
            parallel_tool_calls: true,
            ..Model::default()
        };
        let plan = Endpoint {
            id: "plan".into(),
            default_model: "glm".into(),
            models: vec![model("glm", 200_000, &["low", "medium", "high"], true)],
            ..Endpoint::default()
        };
        let paygo = Endpoint {
            id: "paygo".into(),
            default_model: "ds".into(),
            models: vec![
                model("ds", 128_000, &["medium", "high"], false),
                model("other", 1_000, &[], false),
            ],
            ..Endpoint::default()
        };
        let group = Group {
            id: "coding".into(),
            name: "Coding".into(),
            members: vec![
                GroupMember {
                    endpoint: "plan".into(),
                    model: String::new(),
                },
                GroupMember {
                    endpoint: "paygo".into(),
                    model: "ds".into(),
                },
            ],
        };
        let e = group_endpoint(&group, &[plan, paygo]);
        assert_eq!(
            (e.id.as_str(), e.default_model.as_str()),
            ("coding", "coding")
        );
        let m = &e.models[0];
        assert_eq!(m.context_window, 128_000, "the smallest window");
        assert_eq!(
            m.reasoning_efforts,
            ["medium", "high"],
            "efforts all accept"
        );
        assert_eq!(m.default_effort, "high");
        assert_eq!(
            m.input_modalities,
            ["text"],
            "no images: one member takes none"
        );
        assert!(m.parallel_tool_calls);
    }
}
