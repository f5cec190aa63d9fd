//! Codex tools as plain functions any upstream understands, and the way back.
//!
//! - `function` tools pass through.
//! - `custom` (freeform) tools such as `apply_patch` become a function with one string
//!   argument `input`; a call to it comes back as a `custom_tool_call` with that string.
//! - `namespace` tools (MCP servers) are flattened to `<namespace><name>`; names longer than
//!   64 characters or with characters upstreams refuse are shortened with a stable hash.
//!   [`ToolMap`] splits them back exactly.
//! - Hosted tools the upstream cannot run (`web_search`, `tool_search`, image generation, ...)
//!   are dropped and reported in the notes.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::responses::{CustomTool, FunctionTool, Tool};

/// Longest tool name Chat Completions and Anthropic accept.
pub const MAX_TOOL_NAME: usize = 64;

/// A tool as a plain function: the common denominator of every upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct WireTool {
    /// Name on the wire (flattened, shortened).
    pub name: String,
    /// Description for the model.
    pub description: Option<String>,
    /// JSON Schema of the arguments (always an object schema).
    pub parameters: Value,
    /// Strict schema adherence, only when the client asked for it.
    pub strict: bool,
}

/// What a wire name stands for in Codex's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTarget {
    /// Function or freeform.
    pub kind: ToolKind,
    /// Name without namespace.
    pub name: String,
    /// Namespace, for namespaced tools.
    pub namespace: Option<String>,
}

/// Function or freeform tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// Arguments are a JSON object.
    Function,
    /// Input is raw text, wrapped as `{"input": "..."}` on the wire.
    Custom,
}

/// Wire name ⇄ Codex tool, for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolMap {
    by_wire: HashMap<String, ToolTarget>,
}

impl ToolMap {
    /// What a wire name the model called stands for. Unknown names (the model invented a
    /// tool) are treated as plain functions so Codex can answer "unsupported call" itself.
    pub fn resolve(&self, wire: &str) -> ToolTarget {
        self.by_wire
            .get(wire)
            .cloned()
            .unwrap_or_else(|| ToolTarget {
                kind: ToolKind::Function,
                name: wire.to_owned(),
                namespace: None,
            })
    }

    /// The wire name of a Codex tool (for history items), computed the same way as for
    /// declared tools so calls from earlier turns keep matching.
    pub fn wire_name(namespace: Option<&str>, name: &str) -> String {
        wire_name(namespace, name)
    }

    fn insert(&mut self, wire: String, target: ToolTarget) {
        self.by_wire.insert(wire, target);
    }

    /// Apply a host's own name rules on top of ours: every wire name becomes `rename(wire)`,
    /// pointing at the same Codex tool, so a call under the host's name maps back to the name
    /// Codex knows. `rename` must be deterministic (history items are renamed the same way).
    pub fn rename_wire(&mut self, rename: impl Fn(&str) -> String) {
        let by_wire = std::mem::take(&mut self.by_wire);
        self.by_wire = by_wire
            .into_iter()
            .map(|(wire, target)| (rename(&wire), target))
            .collect();
    }

    /// Number of declared tools.
    pub fn len(&self) -> usize {
        self.by_wire.len()
    }

    /// Whether no tool was declared.
    pub fn is_empty(&self) -> bool {
        self.by_wire.is_empty()
    }
}

/// Result of lowering a request's tools.
#[derive(Debug, Clone, Default)]
pub struct LoweredTools {
    /// Functions to send.
    pub tools: Vec<WireTool>,
    /// How to map calls back.
    pub map: ToolMap,
    /// Tools we dropped, for a debug log.
    pub dropped: Vec<String>,
}

/// Lower Codex tools to plain functions.
pub fn lower_tools(tools: &[Tool]) -> LoweredTools {
    let mut out = LoweredTools::default();
    for tool in tools {
        lower_one(tool, None, &mut out);
    }
    out
}

fn lower_one(tool: &Tool, namespace: Option<&str>, out: &mut LoweredTools) {
    match tool {
        Tool::Function(f) => push_function(f, namespace, out),
        Tool::Custom(c) => push_custom(c, namespace, out),
        Tool::Namespace(ns) => {
            for inner in &ns.tools {
                lower_one(inner, Some(&ns.name), out);
            }
        }
        Tool::Other { kind, .. } => out.dropped.push(kind.clone()),
    }
}

fn push_function(f: &FunctionTool, namespace: Option<&str>, out: &mut LoweredTools) {
    let wire = wire_name(namespace, &f.name);
    let parameters = match &f.parameters {
        // Some hosts (Kimi) demand `type: object` at the root.
        Some(Value::Object(map)) if map.contains_key("type") => Value::Object(map.clone()),
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            map.insert("type".into(), json!("object"));
            Value::Object(map)
        }
        _ => json!({"type": "object", "properties": {}}),
    };
    out.map.insert(
        wire.clone(),
        ToolTarget {
            kind: ToolKind::Function,
            name: f.name.clone(),
            namespace: namespace.map(str::to_owned),
        },
    );
    out.tools.push(WireTool {
        name: wire,
        description: f.description.clone(),
        parameters,
        strict: f.strict == Some(true),
    });
}

fn push_custom(c: &CustomTool, namespace: Option<&str>, out: &mut LoweredTools) {
    let wire = wire_name(namespace, &c.name);
    let mut description = c.description.clone().unwrap_or_default();
    if let Some(format) = &c.format {
        let definition = format.get("definition").and_then(Value::as_str);
        let syntax = format
            .get("syntax")
            .and_then(Value::as_str)
            .unwrap_or("grammar");
        if let Some(definition) = definition {
            description.push_str(&format!(
                "\n\nPass the tool's raw input text in the `input` argument (not JSON-encoded \
                 beyond the string itself). The input must follow this {syntax} grammar:\n{definition}"
            ));
        }
    }
    out.map.insert(
        wire.clone(),
        ToolTarget {
            kind: ToolKind::Custom,
            name: c.name.clone(),
            namespace: namespace.map(str::to_owned),
        },
    );
    out.tools.push(WireTool {
        name: wire,
        description: (!description.is_empty()).then_some(description),
        parameters: json!({
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The raw input text for this tool."}},
            "required": ["input"],
            "additionalProperties": false
        }),
        strict: false,
    });
}

fn wire_name(namespace: Option<&str>, name: &str) -> String {
    let full = match namespace {
        Some(ns) => format!("{ns}{name}"),
        None => name.to_owned(),
    };
    let clean: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean == full && clean.len() <= MAX_TOOL_NAME {
        return clean;
    }
    shorten_with_hash(&clean, &full)
}

/// `clean` (already in the wire charset) cut to fit [`MAX_TOOL_NAME`] with a hash of
/// `original` appended, so two tools rewritten to the same text never collide.
pub(crate) fn shorten_with_hash(clean: &str, original: &str) -> String {
    let hash = format!("{:08x}", fnv1a(original.as_bytes()));
    let keep = MAX_TOOL_NAME - hash.len() - 1;
    let head: String = clean.chars().take(keep).collect();
    format!("{head}_{hash}")
}

/// FNV-1a, 32 bit: tiny, stable across versions and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Arguments JSON for a custom tool call's raw input.
pub fn custom_arguments(input: &str) -> String {
    json!({ "input": input }).to_string()
}

/// The raw input out of a custom tool call's arguments. Models sometimes answer with the
/// text itself instead of the object; then the text is the input.
pub fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => match map.get("input") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => map
                .values()
                .find_map(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| arguments.to_owned()),
        },
        Ok(Value::String(s)) => s,
        _ => arguments.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tools(v: Value) -> Vec<Tool> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn flattens_namespaces_and_maps_back() {
        let long_ns = "mcp__a_very_long_server_name_that_goes_on_and_on__";
        let lowered = lower_tools(&tools(json!([
            {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}},
            {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            {"type": "namespace", "name": "mcp__srv__", "tools": [{"type": "function", "name": "read"}]},
            {"type": "namespace", "name": long_ns, "tools": [{"type": "function", "name": "fetch.page"}]},
            {"type": "web_search"}
        ])));
        let names: Vec<_> = lowered.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            &names[..3],
            ["exec_command", "apply_patch", "mcp__srv__read"]
        );
        assert!(names[3].len() <= MAX_TOOL_NAME, "{}", names[3]);
        assert_eq!(lowered.dropped, ["web_search"]);
        let t = lowered.map.resolve(names[3]);
        assert_eq!(
            (t.name.as_str(), t.namespace.as_deref()),
            ("fetch.page", Some(long_ns))
        );
        assert_eq!(lowered.map.resolve("apply_patch").kind, ToolKind::Custom);
        assert!(
            lowered.tools[1]
                .description
                .as_deref()
                .unwrap()
                .contains("start: x")
        );
        assert_eq!(ToolMap::wire_name(Some(long_ns), "fetch.page"), names[3]);
    }

    #[test]
    fn custom_input_tolerates_raw_text() {
        assert_eq!(
            custom_input(&custom_arguments("*** Begin Patch\n")),
            "*** Begin Patch\n"
        );
        assert_eq!(custom_input("*** Begin Patch"), "*** Begin Patch");
    }
}
