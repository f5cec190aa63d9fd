//! Golden tests of tool schema adaptation, one golden per provider row and backend.
//!
//! `fixtures/schemas/request.json` is one Responses request with the hard cases: Codex's own
//! tools (which must come out unchanged), an MCP tool with an `anyOf` root, a nullable root, a
//! `null` root, `$ref`/`$defs`/`definitions` with nesting and a cycle, `format`/`pattern`/
//! `minLength`/`const`/`uniqueItems`/… keywords, a strict tool outside the strict subset, a
//! 100-character name with dots and slashes, a name starting with a digit, history calls and a
//! `tool_choice` naming tools. For every row in [`ROWS`] the tools, history call names and
//! `tool_choice` of the translated request are compared with
//! `fixtures/schemas/<row>.json`, together with the name each host name maps back to.
//!
//! `UPDATE_EXPECT=1 cargo test -p codex-launcher-translate --test schema_golden` rewrites the
//! goldens. Besides the comparison, each output is checked against the rules its host
//! documents (`host_problems`), so a golden blessed while wrong still fails.

#![cfg(test)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use codex_launcher_translate::anthropic::{AnthropicBlock, to_anthropic};
use codex_launcher_translate::command_code::{CommandCodeContext, to_command_code};
use codex_launcher_translate::provider::ChatProvider;
use codex_launcher_translate::responses::ResponsesRequest;
use codex_launcher_translate::schema::ToolSchemaDialect;
use codex_launcher_translate::to_chat::to_chat;
use codex_launcher_translate::tools::ToolMap;

/// Golden name, backend, upstream model.
enum Row {
    Chat(ChatProvider, &'static str),
    Anthropic(&'static str),
    CommandCode(&'static str),
}

const ROWS: &[(&str, Row)] = &[
    ("openai", Row::Chat(ChatProvider::OpenAi, "gpt-5-mini")),
    (
        "deepseek",
        Row::Chat(ChatProvider::DeepSeek, "deepseek-v4-pro"),
    ),
    ("kimi", Row::Chat(ChatProvider::Kimi, "kimi-k3")),
    ("zai", Row::Chat(ChatProvider::Zai, "glm-5.1")),
    (
        "openrouter-gemini",
        Row::Chat(ChatProvider::OpenRouter, "google/gemini-2.5-pro"),
    ),
    (
        "openrouter-claude",
        Row::Chat(ChatProvider::OpenRouter, "anthropic/claude-sonnet-4.5"),
    ),
    (
        "kilo-kimi",
        Row::Chat(ChatProvider::Kilo, "moonshotai/kimi-k2.6"),
    ),
    (
        "nim",
        Row::Chat(ChatProvider::Nim, "moonshotai/kimi-k2-instruct"),
    ),
    ("groq", Row::Chat(ChatProvider::Groq, "openai/gpt-oss-120b")),
    ("ollama", Row::Chat(ChatProvider::Ollama, "qwen3-coder")),
    (
        "opencode-kimi",
        Row::Chat(ChatProvider::OpenCode, "kimi-k3"),
    ),
    ("crof", Row::Chat(ChatProvider::Crof, "deepseek-v4-pro")),
    ("together", Row::Chat(ChatProvider::Together, "qwen3-coder")),
    (
        "mistral",
        Row::Chat(ChatProvider::Mistral, "devstral-medium"),
    ),
    ("generic", Row::Chat(ChatProvider::Generic, "qwen3-coder")),
    ("anthropic", Row::Anthropic("claude-sonnet-4-6")),
    ("command-code-gemini", Row::CommandCode("gemini-3.5-flash")),
    ("command-code-kimi", Row::CommandCode("kimi-k3")),
    ("command-code-claude", Row::CommandCode("claude-sonnet-4-6")),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn request() -> ResponsesRequest {
    let path = dir().join("request.json");
    let text = fs::read_to_string(&path).expect("the schema fixture is readable");
    serde_json::from_str(&text).expect("the schema fixture is a Responses request")
}

/// What a row's request says about tools: declarations, history call names, `tool_choice`,
/// and what each declared name maps back to.
struct Out {
    dialect: ToolSchemaDialect,
    /// `[{name, description, schema, strict}]`.
    tools: Vec<Value>,
    history: Vec<String>,
    tool_choice: Value,
    map: ToolMap,
}

fn translate(row: &Row, req: &ResponsesRequest) -> Out {
    let items = req.input.clone().into_items();
    match row {
        Row::Chat(provider, model) => {
            let quirks = provider.quirks();
            let t = to_chat(req, &items, model, &quirks);
            let tools = t
                .request
                .tools
                .iter()
                .flatten()
                .map(|tool| {
                    json!({"name": tool.function.name, "description": tool.function.description,
                        "schema": tool.function.parameters, "strict": tool.function.strict})
                })
                .collect();
            let history = t
                .request
                .messages
                .iter()
                .flat_map(|m| m.tool_calls.iter().flatten())
                .map(|c| c.function.name.clone())
                .collect();
            Out {
                dialect: quirks.tool_schema.resolve(model),
                tools,
                history,
                tool_choice: t.request.tool_choice.clone().unwrap_or(Value::Null),
                map: t.tool_map,
            }
        }
        Row::Anthropic(model) => {
            let t = to_anthropic(req, &items, model);
            let tools = t
                .request
                .tools
                .iter()
                .map(|tool| {
                    json!({"name": tool.name, "description": tool.description,
                        "schema": tool.input_schema, "strict": null})
                })
                .collect();
            let history = t
                .request
                .messages
                .iter()
                .flat_map(|m| m.content.iter())
                .filter_map(|b| match b {
                    AnthropicBlock::ToolUse { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect();
            Out {
                dialect: ToolSchemaDialect::Anthropic,
                tools,
                history,
                tool_choice: t.request.tool_choice.clone().unwrap_or(Value::Null),
                map: t.tool_map,
            }
        }
        Row::CommandCode(model) => {
            let ctx = CommandCodeContext {
                working_dir: "/work".into(),
                date: "2026-12-01".into(),
            };
            let t = to_command_code(req, &items, model, &ctx, "resp_schema");
            let params = &t.body["params"];
            let tools = params["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|tool| {
                    json!({"name": tool["name"], "description": tool["description"],
                        "schema": tool["input_schema"], "strict": null})
                })
                .collect();
            let history = params["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["content"].as_array())
                .flatten()
                .filter(|p| p["type"] == "tool-call")
                .filter_map(|p| p["toolName"].as_str().map(str::to_owned))
                .collect();
            Out {
                dialect: ToolSchemaDialect::ByModel.resolve(model),
                tools,
                history,
                tool_choice: Value::Null,
                map: t.tool_map,
            }
        }
    }
}

fn golden_text(out: &Out) -> String {
    let maps_back: serde_json::Map<String, Value> = out
        .tools
        .iter()
        .filter_map(|t| t["name"].as_str())
        .map(|name| {
            let target = out.map.resolve(name);
            let original = match &target.namespace {
                Some(ns) => format!("{ns} / {}", target.name),
                None => target.name.clone(),
            };
            (name.to_owned(), json!(original))
        })
        .collect();
    let doc = json!({
        "dialect": out.dialect,
        "tools": out.tools,
        "history_calls": out.history,
        "tool_choice": out.tool_choice,
        "maps_back": maps_back,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    text.push('\n');
    text
}

#[test]
fn schema_goldens() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let req = request();
    let mut failures = Vec::new();
    for (name, row) in ROWS {
        let out = translate(row, &req);
        let actual = golden_text(&out);
        let path = dir().join(format!("{name}.json"));
        let expected = fs::read_to_string(&path).ok();
        if expected.as_deref() != Some(actual.as_str()) {
            if update {
                fs::write(&path, &actual).expect("golden written");
                println!("updated {}", path.display());
            } else {
                failures.push(format!(
                    "{}: differs from the golden (UPDATE_EXPECT=1 rewrites it); actual:\n{actual}",
                    path.display()
                ));
            }
        }
        for problem in host_problems(&out, &req) {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Codex's own tools are tidy: every row sends them exactly as Codex wrote them.
#[test]
fn codex_tools_are_unchanged_everywhere() {
    let req = request();
    let own = |out: &Out, name: &str| -> Value {
        out.tools
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["schema"].clone())
            .unwrap_or(Value::Null)
    };
    let reference = translate(&Row::Chat(ChatProvider::Generic, "qwen3-coder"), &req);
    for (name, row) in ROWS {
        let out = translate(row, &req);
        if out.dialect == ToolSchemaDialect::Gemini {
            // Gemini's subset has no `additionalProperties`: the one documented change.
            continue;
        }
        for tool in ["exec_command", "apply_patch", "1password__get_item"] {
            assert_eq!(own(&out, tool), own(&reference, tool), "{name}: {tool}");
        }
    }
}

/// What the host's documented rules (see `schema.rs`) say about this output.
fn host_problems(out: &Out, req: &ResponsesRequest) -> Vec<String> {
    let mut problems = Vec::new();
    let declared = out.tools.len();
    // Every declared Codex function or custom tool is sent (hosted ones are dropped).
    let expected = count_tools(&req.tools);
    if declared != expected {
        problems.push(format!("{declared} tools sent, {expected} declared"));
    }
    for tool in &out.tools {
        let name = tool["name"].as_str().unwrap_or_default();
        let charset = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !charset {
            problems.push(format!("name {name:?} is not ^[a-zA-Z0-9_-]{{1,64}}$"));
        }
        if out.dialect == ToolSchemaDialect::Gemini
            && !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            problems.push(format!("name {name:?} does not start with a letter or _"));
        }
        let schema = &tool["schema"];
        if schema["type"] != "object" {
            problems.push(format!("{name}: the root is not `type: object`"));
        }
        for k in ["anyOf", "oneOf", "allOf"] {
            if schema.get(k).is_some() {
                problems.push(format!("{name}: `{k}` at the root"));
            }
        }
        if out.dialect == ToolSchemaDialect::OpenAi && tool["strict"] == true {
            let props = schema["properties"]
                .as_object()
                .map(|p| p.len())
                .unwrap_or(0);
            let required = schema["required"].as_array().map(Vec::len).unwrap_or(0);
            if props != required {
                problems.push(format!("{name}: strict with optional properties"));
            }
        }
        let mut nodes = Vec::new();
        collect_nodes(schema, &mut nodes);
        for node in nodes {
            let Some(obj) = node.as_object() else {
                continue;
            };
            match out.dialect {
                ToolSchemaDialect::Kimi => {
                    for k in ["$ref", "$defs", "definitions"] {
                        if obj.contains_key(k) {
                            problems.push(format!("{name}: `{k}` sent to Kimi"));
                        }
                    }
                    if obj.contains_key("type")
                        && (obj.contains_key("anyOf") || obj.contains_key("oneOf"))
                    {
                        problems.push(format!("{name}: `type` beside `anyOf` sent to Kimi"));
                    }
                    if obj.get("items").is_some_and(Value::is_array) {
                        problems.push(format!("{name}: tuple `items` sent to Kimi"));
                    }
                }
                ToolSchemaDialect::Gemini => {
                    const ALLOWED: &[&str] = &[
                        "type",
                        "format",
                        "title",
                        "description",
                        "nullable",
                        "enum",
                        "maxItems",
                        "minItems",
                        "properties",
                        "required",
                        "minProperties",
                        "maxProperties",
                        "minLength",
                        "maxLength",
                        "pattern",
                        "example",
                        "anyOf",
                        "propertyOrdering",
                        "default",
                        "items",
                        "minimum",
                        "maximum",
                    ];
                    for k in obj.keys() {
                        if !ALLOWED.contains(&k.as_str()) {
                            problems.push(format!("{name}: `{k}` sent to Gemini"));
                        }
                    }
                    if obj.get("type").is_some_and(|t| !t.is_string()) {
                        problems.push(format!("{name}: a type list sent to Gemini"));
                    }
                    if obj
                        .get("enum")
                        .and_then(Value::as_array)
                        .is_some_and(|e| !e.iter().all(Value::is_string))
                    {
                        problems.push(format!("{name}: a non-string enum sent to Gemini"));
                    }
                    if !obj.contains_key("type") && !obj.contains_key("anyOf") {
                        problems.push(format!("{name}: a Gemini schema without a type"));
                    }
                }
                _ => {}
            }
        }
        // The host's name maps back to the tool Codex declared.
        let target = out.map.resolve(name);
        let wire = ToolMap::wire_name(target.namespace.as_deref(), &target.name);
        let again = codex_launcher_translate::schema::host_tool_name(out.dialect, &wire);
        if again != name {
            problems.push(format!(
                "{name} maps back to {wire}, which is sent as {again}"
            ));
        }
    }
    for call in &out.history {
        if !out.tools.iter().any(|t| t["name"] == call.as_str()) {
            problems.push(format!("history call {call} names no declared tool"));
        }
    }
    if let Some(choice) = out
        .tool_choice
        .pointer("/function/name")
        .or(out.tool_choice.get("name"))
        .and_then(Value::as_str)
        && !out.tools.iter().any(|t| t["name"] == choice)
    {
        problems.push(format!("tool_choice names {choice}, which is not declared"));
    }
    problems
}

fn count_tools(tools: &[codex_launcher_translate::responses::Tool]) -> usize {
    use codex_launcher_translate::responses::Tool;
    tools
        .iter()
        .map(|t| match t {
            Tool::Function(_) | Tool::Custom(_) => 1,
            Tool::Namespace(ns) => count_tools(&ns.tools),
            Tool::Other { .. } => 0,
        })
        .sum()
}

/// Every schema node below (and including) `schema`.
fn collect_nodes<'a>(schema: &'a Value, out: &mut Vec<&'a Value>) {
    let Value::Object(obj) = schema else { return };
    out.push(schema);
    for (k, v) in obj {
        match k.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" => {
                for s in v.as_object().into_iter().flat_map(|m| m.values()) {
                    collect_nodes(s, out);
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                for s in v.as_array().into_iter().flatten() {
                    collect_nodes(s, out);
                }
            }
            "items" | "additionalProperties" | "not" => match v {
                Value::Array(a) => a.iter().for_each(|s| collect_nodes(s, out)),
                s => collect_nodes(s, out),
            },
            _ => {}
        }
    }
}
