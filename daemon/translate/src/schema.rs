//! Tool schemas as each host documents it accepts them.
//!
//! Codex passes tool schemas on as their authors wrote them: its own tools are tidy, but MCP
//! servers send `$ref`/`$defs`, `anyOf` or nullable roots, `format`s and keywords some hosts'
//! validators refuse, and a refused schema fails every request of the session (400), since
//! the tool list goes with each one. This module rewrites each tool's JSON Schema into what
//! the host's rule set ([`ToolSchemaDialect`], a field of the provider's capability row)
//! accepts, keeping the meaning where it can: a constraint the host cannot express moves into
//! the schema's `description`, a root it cannot take becomes an object root with the
//! alternatives described in the tool's description. Tool names a host refuses are renamed
//! deterministically through [`ToolMap::rename_wire`], so calls map back to Codex's names.
//!
//! Pure, and bounded: `$ref` cycles end in a placeholder, and the output of one schema is
//! capped in depth ([`MAX_DEPTH`]), nodes ([`MAX_NODES`]) and bytes ([`MAX_BYTES`]), so a
//! hostile or huge schema (a `$ref` fan-out doubling at each level) cannot blow up.
//!
//! Rule sets, with their sources (each rule also cites its source where it is applied):
//! - every set but [`ToolSchemaDialect::Passthrough`]: the root is an object schema. OpenAI's
//!   Chat Completions `FunctionParameters` is "a JSON Schema object"
//!   (<https://github.com/openai/openai-openapi>, `FunctionObject.parameters`), which the
//!   OpenAI-compatible hosts copy; Anthropic's `input_schema` must have `type: object`
//!   (<https://platform.claude.com/docs/en/agents-and-tools/tool-use/define-tools>).
//! - [`ToolSchemaDialect::Standard`]: only that. The hosts on it (Z.AI, NVIDIA NIM, Groq,
//!   Ollama, Together, Mistral, Crof, generic) document no further limit on tool schemas, so
//!   the rest passes through unchanged.
//! - [`ToolSchemaDialect::OpenAi`], [`ToolSchemaDialect::DeepSeek`]: plus their strict-mode
//!   subsets: a tool sent with `strict: true` whose schema is outside the subset goes without
//!   `strict` (non-strict mode takes any schema), instead of a 400.
//! - [`ToolSchemaDialect::Anthropic`]: plus no `anyOf`/`oneOf`/`allOf` at the top level.
//! - [`ToolSchemaDialect::Kimi`]: Moonshot's "moonshot flavored JSON schema" validator.
//! - [`ToolSchemaDialect::Gemini`]: Gemini's OpenAPI 3.0 subset `Schema` object.
//! - [`ToolSchemaDialect::ByModel`]: gateways that front several model families (OpenRouter,
//!   Kilo, OpenCode, Command Code) take the rules of the family the model id names.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::anthropic::AnthropicRequest;
use crate::chat::ChatRequest;
use crate::tools::{MAX_TOOL_NAME, ToolMap, shorten_with_hash};

/// Deepest nesting of the adapted schema; deeper parts become a placeholder.
pub const MAX_DEPTH: usize = 32;
/// Most schema nodes in one adapted schema (counts every `$ref` expansion).
pub const MAX_NODES: usize = 10_000;
/// Most bytes of keyword values (texts, enums, defaults) copied into one adapted schema.
pub const MAX_BYTES: usize = 1 << 20;

/// The documented rule set a host's tool schemas follow. A field of the capability row
/// ([`crate::provider::ChatQuirks::tool_schema`]), so an endpoint can override it
/// (`"tool_schema": "gemini"` in its quirks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolSchemaDialect {
    /// Schemas exactly as Codex sent them (an escape hatch: not even the root is touched).
    Passthrough,
    /// An object root; nothing else is documented.
    #[default]
    Standard,
    /// OpenAI: an object root, and the Structured Outputs subset when `strict` is on.
    OpenAi,
    /// DeepSeek: an object root, and its strict-mode (beta) subset when `strict` is on.
    DeepSeek,
    /// Anthropic `input_schema`: an object root without top-level combinators.
    Anthropic,
    /// Moonshot Kimi's schema validator.
    Kimi,
    /// Gemini's OpenAPI subset (also behind OpenRouter and Command Code).
    Gemini,
    /// The rules of the model family the model id names (gateways).
    ByModel,
}

impl ToolSchemaDialect {
    /// The concrete rule set for `model` ([`ToolSchemaDialect::ByModel`] picks one by the model
    /// id; the others are already concrete).
    pub fn resolve(self, model: &str) -> ToolSchemaDialect {
        if self != ToolSchemaDialect::ByModel {
            return self;
        }
        let id = model.to_ascii_lowercase();
        if id.contains("gemini") {
            ToolSchemaDialect::Gemini
        } else if id.contains("kimi") || id.contains("moonshot") {
            ToolSchemaDialect::Kimi
        } else if id.contains("claude") {
            ToolSchemaDialect::Anthropic
        } else {
            ToolSchemaDialect::Standard
        }
    }
}

/// One tool schema, adapted.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptedSchema {
    /// The schema to send.
    pub schema: Value,
    /// Whether `strict` may stay on (false when the host's strict subset cannot express it).
    pub strict: bool,
    /// What the schema could not say at its root, for the tool's description.
    pub notes: Vec<String>,
}

/// Adapt one tool's parameter schema to a concrete rule set (`dialect` after
/// [`ToolSchemaDialect::resolve`]; an unresolved `ByModel` is treated as `Standard`).
/// `strict` is whether the client asked for strict adherence.
pub fn adapt_schema(schema: Value, dialect: ToolSchemaDialect, strict: bool) -> AdaptedSchema {
    let mut notes = Vec::new();
    let adapted = match dialect {
        ToolSchemaDialect::Passthrough => schema,
        ToolSchemaDialect::Kimi | ToolSchemaDialect::Gemini => {
            let walked = Walker::new(&schema, dialect).walk_root();
            let mut root = object_root(walked, &Value::Null, dialect, &mut notes);
            if dialect == ToolSchemaDialect::Gemini
                && let Value::Object(obj) = &mut root
            {
                // The root merge may have named required fields its properties lack.
                gemini_required(obj);
            }
            root
        }
        _ => {
            // Root-level references resolve against the schema as sent; a copy is kept only
            // when there are any (rare: most schemas pass here without one).
            let refs = if root_references(&schema) {
                schema.clone()
            } else {
                Value::Null
            };
            object_root(schema, &refs, dialect, &mut notes)
        }
    };
    let strict = strict
        && match dialect {
            ToolSchemaDialect::OpenAi => strict_compatible(&adapted, StrictSubset::OpenAi),
            ToolSchemaDialect::DeepSeek => strict_compatible(&adapted, StrictSubset::DeepSeek),
            _ => true,
        };
    AdaptedSchema {
        schema: adapted,
        strict,
        notes,
    }
}

/// A wire tool name as the host accepts it. Our own wire names already match
/// `^[a-zA-Z0-9_-]{1,64}$`, which OpenAI
/// (<https://github.com/openai/openai-openapi>, `FunctionObject.name`), Anthropic
/// (<https://platform.claude.com/docs/en/agents-and-tools/tool-use/define-tools>) and DeepSeek
/// (<https://api-docs.deepseek.com/api/create-chat-completion>) document; only Gemini adds a
/// rule: the name "must start with a letter or an underscore"
/// (<https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/FunctionDeclaration>).
/// Deterministic, so history items and `tool_choice` get the same name as the declaration.
pub fn host_tool_name(dialect: ToolSchemaDialect, wire: &str) -> Cow<'_, str> {
    let starts_ok = wire
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if dialect != ToolSchemaDialect::Gemini || starts_ok {
        return Cow::Borrowed(wire);
    }
    let prefixed = format!("_{wire}");
    if prefixed.len() <= MAX_TOOL_NAME {
        Cow::Owned(prefixed)
    } else {
        Cow::Owned(shorten_with_hash(&prefixed, wire))
    }
}

/// Adapt a translated Chat Completions request for its host: tool schemas, `strict`, names
/// (declarations, history calls, `tool_choice`), and the tool map that maps calls back.
pub fn adapt_chat_request(
    request: &mut ChatRequest,
    mut map: ToolMap,
    dialect: ToolSchemaDialect,
    model: &str,
) -> ToolMap {
    let dialect = dialect.resolve(model);
    for tool in request.tools.iter_mut().flatten() {
        let f = &mut tool.function;
        let strict = f.strict == Some(true);
        let adapted = adapt_schema(std::mem::take(&mut f.parameters), dialect, strict);
        f.parameters = adapted.schema;
        if !adapted.strict {
            f.strict = None;
        }
        append_notes(&mut f.description, &adapted.notes);
        rename(&mut f.name, dialect);
    }
    for message in &mut request.messages {
        for call in message.tool_calls.iter_mut().flatten() {
            rename(&mut call.function.name, dialect);
        }
    }
    if let Some(name) = request
        .tool_choice
        .as_mut()
        .and_then(|c| c.pointer_mut("/function/name"))
    {
        rename_value(name, dialect);
    }
    map.rename_wire(|w| host_tool_name(dialect, w).into_owned());
    map
}

/// Adapt a translated Anthropic Messages request: `input_schema`s follow
/// [`ToolSchemaDialect::Anthropic`]; names need nothing beyond ours.
pub fn adapt_anthropic_request(request: &mut AnthropicRequest) {
    for tool in &mut request.tools {
        let schema = std::mem::take(&mut tool.input_schema);
        let adapted = adapt_schema(schema, ToolSchemaDialect::Anthropic, false);
        tool.input_schema = adapted.schema;
        append_notes(&mut tool.description, &adapted.notes);
    }
}

/// Adapt Command Code `params` (`{tools: [{name, description, input_schema}], messages}`):
/// the gateway fronts several model families, so the rules follow the model id.
pub fn adapt_command_code_params(params: &mut Value, mut map: ToolMap, model: &str) -> ToolMap {
    let dialect = ToolSchemaDialect::ByModel.resolve(model);
    if let Some(tools) = params.get_mut("tools").and_then(Value::as_array_mut) {
        for tool in tools {
            let Some(obj) = tool.as_object_mut() else {
                continue;
            };
            if let Some(schema) = obj.remove("input_schema") {
                let adapted = adapt_schema(schema, dialect, false);
                obj.insert("input_schema".into(), adapted.schema);
                if !adapted.notes.is_empty() {
                    let mut description = obj
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    append_notes(&mut description, &adapted.notes);
                    obj.insert("description".into(), json!(description.unwrap_or_default()));
                }
            }
            if let Some(name) = obj.get_mut("name") {
                rename_value(name, dialect);
            }
        }
    }
    if let Some(messages) = params.get_mut("messages").and_then(Value::as_array_mut) {
        for part in messages
            .iter_mut()
            .filter_map(|m| m.get_mut("content").and_then(Value::as_array_mut))
            .flatten()
        {
            if let Some(name) = part.get_mut("toolName") {
                rename_value(name, dialect);
            }
        }
    }
    map.rename_wire(|w| host_tool_name(dialect, w).into_owned());
    map
}

fn rename(name: &mut String, dialect: ToolSchemaDialect) {
    if let Cow::Owned(renamed) = host_tool_name(dialect, name) {
        *name = renamed;
    }
}

fn rename_value(name: &mut Value, dialect: ToolSchemaDialect) {
    if let Value::String(s) = name {
        rename(s, dialect);
    }
}

fn append_notes(description: &mut Option<String>, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    let text = description.get_or_insert_with(String::new);
    for note in notes {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(note);
    }
}

// ---------------------------------------------------------------------------------------------
// The root.

/// Whether the root, or a branch of a combinator at the root, is a `$ref`.
fn root_references(schema: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return false;
    };
    obj.contains_key("$ref")
        || ["allOf", "anyOf", "oneOf"].iter().any(|k| {
            obj.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|b| b.get("$ref").is_some()))
        })
}

/// Make the root an object schema (the rule every set but `Passthrough` shares, see the module
/// docs). A root that needs nothing is returned unchanged. `refs` is the schema `$ref`s at the
/// root resolve against (`Null` when they were inlined already).
fn object_root(
    schema: Value,
    refs: &Value,
    dialect: ToolSchemaDialect,
    notes: &mut Vec<String>,
) -> Value {
    let Value::Object(mut obj) = schema else {
        if !schema.is_null() {
            notes.push(format!(
                "(This tool's declared input schema is not an object schema: {}. Its input \
                 is passed as an object here.)",
                compact(&schema)
            ));
        }
        return json!({"type": "object", "properties": {}});
    };
    // A root that is a reference: take the referenced object's keywords (siblings win).
    if let Some(Value::String(r)) = obj.get("$ref").cloned()
        && let Some(Value::Object(def)) = resolve_ref(refs, &r)
    {
        obj.remove("$ref");
        for (k, v) in def {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }

    match obj.get("type").cloned() {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == "object" => {}
        // A nullable object root (`["object", "null"]`): arguments are always an object.
        Some(Value::Array(types)) if types.iter().any(|t| t == "object") => {
            obj.insert("type".into(), json!("object"));
        }
        Some(t) => {
            let only_null =
                t == "null" || t.as_array().is_some_and(|a| a.iter().all(|x| x == "null"));
            if !only_null {
                notes.push(format!(
                    "(This tool's declared input schema is not an object schema (type {}). \
                     Its input is passed as an object here.)",
                    compact(&t)
                ));
            }
            let mut root = Map::new();
            root.insert("type".into(), json!("object"));
            root.insert("properties".into(), json!({}));
            if let Some(d) = obj.remove("description") {
                root.insert("description".into(), d);
            }
            return Value::Object(root);
        }
    }

    // Combinators at the root: OpenAI strict mode refuses an `anyOf` root
    // (<https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>),
    // Anthropic answers "input_schema does not support oneOf, allOf, or anyOf at the top
    // level" (the API's 400, e.g. anthropics/claude-code#5319; not in its docs), Kimi "when
    // using anyOf, type should be defined in anyOf items instead of the parent schema"
    // (FTShare-Lab/FTShare-MCP#7), Gemini parameters must describe an object. The branches'
    // properties are merged into one object; which sets of them are required goes to the
    // description.
    if dialect != ToolSchemaDialect::Passthrough {
        if let Some(Value::Array(all)) = obj.remove("allOf") {
            for branch in &all {
                if let Some(b) = resolved_object(refs, branch) {
                    merge_object(&mut obj, b, true);
                }
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = obj.remove(key) {
                merge_alternatives(&mut obj, &branches, refs, key, notes);
            }
        }
    }
    if !obj.contains_key("type") {
        // Some hosts (Kimi) demand `type: object` at the root; every host accepts it.
        obj.insert("type".into(), json!("object"));
    }
    // Arguments are always an object, never null (Gemini's nullable root, from a
    // `["object", "null"]` type or a null branch).
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        obj.remove("nullable");
    }
    Value::Object(obj)
}

/// Merge `anyOf`/`oneOf` object branches into `obj`: all their properties, required only
/// what every branch requires; the alternatives are described in a note.
fn merge_alternatives(
    obj: &mut Map<String, Value>,
    branches: &[Value],
    refs: &Value,
    key: &str,
    notes: &mut Vec<String>,
) {
    let mut sets: Vec<Vec<String>> = Vec::new();
    let mut others = Vec::new();
    for branch in branches {
        if is_null_schema(branch) {
            continue;
        }
        let Some(b) = resolved_object(refs, branch) else {
            others.push(compact(branch));
            continue;
        };
        let is_object = b.get("type").is_none_or(|t| t == "object");
        if !is_object {
            others.push(compact(branch));
            continue;
        }
        sets.push(string_list(b.get("required")));
        merge_object(obj, b, false);
    }
    // Required in every alternative: still required.
    let mut common: Vec<String> = sets.first().cloned().unwrap_or_default();
    common.retain(|r| sets.iter().all(|s| s.contains(r)));
    let mut required = string_list(obj.get("required"));
    for r in &common {
        if !required.contains(r) {
            required.push(r.clone());
        }
    }
    if required.is_empty() {
        obj.remove("required");
    } else {
        obj.insert("required".into(), json!(required));
    }
    let differ = sets.iter().any(|s| {
        let mut a = s.clone();
        let mut b = sets[0].clone();
        a.sort();
        b.sort();
        a != b
    });
    if differ {
        let quantifier = if key == "oneOf" {
            "exactly one"
        } else {
            "at least one"
        };
        let alternatives: Vec<String> = sets
            .iter()
            .map(|s| {
                if s.is_empty() {
                    "(no required arguments)".to_owned()
                } else {
                    s.iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" + ")
                }
            })
            .collect();
        notes.push(format!(
            "Arguments: give {quantifier} of these combinations: {}.",
            alternatives.join("; or ")
        ));
    }
    if !others.is_empty() {
        notes.push(format!(
            "(Alternative input shapes this host cannot take were left out: {}.)",
            others.join(", ")
        ));
    }
}

/// `branch` as an object, a local `$ref` resolved (shallowly) against `refs`.
fn resolved_object<'a>(refs: &'a Value, branch: &'a Value) -> Option<&'a Map<String, Value>> {
    let obj = branch.as_object()?;
    match obj.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve_ref(refs, r).and_then(Value::as_object),
        None => Some(obj),
    }
}

/// Merge an object schema's keywords into `obj`: properties union (`obj`'s win), `required`
/// union when `required` (allOf), other keywords only where `obj` has none.
fn merge_object(obj: &mut Map<String, Value>, branch: &Map<String, Value>, required: bool) {
    for (k, v) in branch {
        match k.as_str() {
            "properties" => {
                let Value::Object(props) = v else { continue };
                let target = obj
                    .entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(target) = target {
                    for (name, schema) in props {
                        target.entry(name.clone()).or_insert_with(|| schema.clone());
                    }
                }
            }
            "required" => {
                if required {
                    let mut list = string_list(obj.get("required"));
                    for r in string_list(Some(v)) {
                        if !list.contains(&r) {
                            list.push(r);
                        }
                    }
                    obj.insert("required".into(), json!(list));
                }
            }
            // A branch's own `type` and descriptions do not override the merged root's.
            "type" | "description" | "title" | "$ref" => {}
            _ => {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").is_some_and(|t| t == "null")
}

// ---------------------------------------------------------------------------------------------
// The walk (Kimi, Gemini): `$ref`s inlined, keywords rewritten node by node.

struct Walker<'a> {
    root: &'a Value,
    dialect: ToolSchemaDialect,
    nodes: usize,
    bytes: usize,
    /// References being expanded, innermost last: one seen again is a cycle.
    expanding: Vec<String>,
}

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];

/// Keywords whose value is a list of schemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];

impl<'a> Walker<'a> {
    fn new(root: &'a Value, dialect: ToolSchemaDialect) -> Self {
        Walker {
            root,
            dialect,
            nodes: MAX_NODES,
            bytes: MAX_BYTES,
            expanding: Vec::new(),
        }
    }

    fn walk_root(mut self) -> Value {
        // `#` is the root itself: a reference to it from inside is a cycle.
        self.expanding.push("#".into());
        let root = self.root;
        self.walk(root, None, 0)
    }

    /// Walk one schema; `overlay` are keywords that win over `schema`'s (the siblings of the
    /// `$ref` that led here).
    fn walk(
        &mut self,
        schema: &Value,
        overlay: Option<&Map<String, Value>>,
        depth: usize,
    ) -> Value {
        let Value::Object(base) = schema else {
            // Boolean schemas (`true`/`false`) pass as they are.
            return self.copy(schema);
        };
        if depth > MAX_DEPTH || self.nodes == 0 || self.bytes == 0 {
            return self.placeholder(
                "(Part of this schema was left out: it is too deep or too large for this host.)",
            );
        }
        self.nodes -= 1;
        let reference = overlay
            .and_then(|o| o.get("$ref"))
            .or_else(|| base.get("$ref"))
            .and_then(Value::as_str);
        if let Some(r) = reference {
            return self.expand(r, base, overlay, depth);
        }
        let mut out = Map::new();
        let entries = base
            .iter()
            .filter(|(k, _)| overlay.is_none_or(|o| !o.contains_key(*k)))
            .chain(overlay.into_iter().flatten());
        for (k, v) in entries {
            let key = k.as_str();
            // Inlined, so no longer needed (and both hosts refuse them).
            if key == "$defs" || key == "definitions" {
                continue;
            }
            let walked = if SCHEMA_MAP_KEYWORDS.contains(&key) && v.is_object() {
                let mut m = Map::new();
                for (name, s) in v.as_object().into_iter().flatten() {
                    m.insert(name.clone(), self.walk(s, None, depth + 1));
                }
                Value::Object(m)
            } else if SCHEMA_LIST_KEYWORDS.contains(&key) || (key == "items" && v.is_array()) {
                let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
                Value::Array(list.iter().map(|s| self.walk(s, None, depth + 1)).collect())
            } else if (SCHEMA_KEYWORDS.contains(&key) || key == "items") && v.is_object() {
                self.walk(v, None, depth + 1)
            } else {
                self.copy(v)
            };
            out.insert(k.clone(), walked);
        }
        match self.dialect {
            ToolSchemaDialect::Gemini => gemini_node(&mut out),
            ToolSchemaDialect::Kimi => kimi_node(&mut out),
            _ => {}
        }
        Value::Object(out)
    }

    /// Inline the target of `reference`, the keywords next to it winning over the target's.
    fn expand(
        &mut self,
        reference: &str,
        base: &Map<String, Value>,
        overlay: Option<&Map<String, Value>>,
        depth: usize,
    ) -> Value {
        // The siblings of `$ref` (description, type, ...): `overlay` over `base`, minus `$ref`.
        let mut siblings: Map<String, Value> = base
            .iter()
            .filter(|(k, _)| *k != "$ref")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in overlay.into_iter().flatten() {
            if k != "$ref" {
                siblings.insert(k.clone(), v.clone());
            }
        }
        let reference = reference.to_owned();
        let Some(target) = resolve_ref(self.root, &reference) else {
            let mut out = self.walk(&Value::Object(siblings), None, depth);
            add_note(
                &mut out,
                &format!("(The schema reference `{reference}` could not be resolved.)"),
            );
            return out;
        };
        if self.expanding.contains(&reference) {
            // A cycle: say what it is instead of expanding forever.
            let ty = target
                .get("type")
                .filter(|t| t.is_string())
                .cloned()
                .unwrap_or_else(|| json!("object"));
            let name = reference
                .rsplit('/')
                .next()
                .unwrap_or(&reference)
                .to_owned();
            let mut out = Map::new();
            out.insert("type".into(), ty);
            if let Some(d) = siblings.get("description") {
                out.insert("description".into(), self.copy(d));
            }
            let mut out = Value::Object(out);
            add_note(
                &mut out,
                &format!("(Recursive: the same shape as `{name}` above.)"),
            );
            return out;
        }
        self.expanding.push(reference);
        let out = self.walk(target, Some(&siblings), depth + 1);
        self.expanding.pop();
        out
    }

    /// A keyword value copied into the output, within the byte budget.
    fn copy(&mut self, v: &Value) -> Value {
        let size = approx_size(v, self.bytes.saturating_add(1));
        if size > self.bytes {
            self.bytes = 0;
            return Value::Null;
        }
        self.bytes -= size;
        v.clone()
    }

    fn placeholder(&self, text: &str) -> Value {
        json!({"type": "object", "description": text})
    }
}

/// Roughly how many bytes `v` takes as JSON, counting no further than `limit`.
fn approx_size(v: &Value, limit: usize) -> usize {
    let mut size = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        size = size.saturating_add(match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(a) => {
                stack.extend(a.iter());
                2
            }
            Value::Object(o) => {
                for (k, v) in o {
                    size = size.saturating_add(k.len() + 3);
                    stack.push(v);
                }
                2
            }
        });
        if size > limit {
            break;
        }
    }
    size
}

/// Resolve a local reference (`#`, `#/$defs/x`, `#/definitions/x`, any JSON pointer into the
/// schema). Remote references (`https://…`, `other.json#…`) and anchors are not followed.
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    if !pointer.starts_with('/') {
        return None;
    }
    root.pointer(&percent_decode(pointer)?)
}

/// `%XX` escapes in a URI fragment (JSON pointer `~0`/`~1` are left to `Value::pointer`).
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Append a note to a schema's `description`.
fn add_note(schema: &mut Value, note: &str) {
    let Value::Object(obj) = schema else { return };
    let text = match obj.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d} {note}"),
        _ => note.to_owned(),
    };
    obj.insert("description".into(), Value::String(text));
}

/// A value as short JSON for a description.
fn compact(v: &Value) -> String {
    const MAX: usize = 200;
    let text = v.to_string();
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

// ---------------------------------------------------------------------------------------------
// Kimi.

/// One node under Moonshot's validator. Its rules are documented only by its 400s ("is not a
/// valid moonshot flavored json schema, details: …"); the API docs say tool parameters are a
/// JSON Schema subset without listing it. What it refuses, and what we do:
/// - `$ref` other than `#/$defs/…` ("references must start with #/$defs/", farion1231/cc-switch
///   #4618), `type` beside `$ref` ("when using $ref, type should be defined in the referenced
///   schema instead of the parent schema", router-for-me/CLIProxyAPI#5316), keywords beside it
///   ("conflicting keywords found after $ref expansion", MoonshotAI/kimi-cli#2061), and on
///   kimi-k3 any `$ref` (anomalyco/opencode#39995): every reference is inlined (the walk).
/// - `type` beside `anyOf` ("when using anyOf, type should be defined in anyOf items instead of
///   the parent schema", FTShare-Lab/FTShare-MCP#7): the type moves into the branches.
/// - tuple `items` (an array, anomalyco/opencode#39995): one `items` schema, `anyOf` the
///   positions.
fn kimi_node(out: &mut Map<String, Value>) {
    for key in ["anyOf", "oneOf"] {
        if !out.get(key).is_some_and(Value::is_array) {
            continue;
        }
        let Some(ty) = out.remove("type") else {
            continue;
        };
        if let Some(Value::Array(branches)) = out.get_mut(key) {
            for b in branches.iter_mut() {
                if let Value::Object(b) = b {
                    b.entry("type").or_insert_with(|| ty.clone());
                }
            }
        }
    }
    tuple_items(out);
}

/// Tuple `items: [a, b]` → `items: {anyOf: [a, b]}` (or the one schema when all are equal),
/// the positions described.
fn tuple_items(out: &mut Map<String, Value>) {
    let Some(Value::Array(items)) = out.get("items").cloned() else {
        return;
    };
    let mut distinct: Vec<Value> = Vec::new();
    for item in &items {
        if !distinct.contains(item) {
            distinct.push(item.clone());
        }
    }
    let one = match distinct.len() {
        0 => json!({}),
        1 => distinct.remove(0),
        _ => json!({"anyOf": distinct}),
    };
    out.insert("items".into(), one);
    let mut schema = Value::Object(std::mem::take(out));
    add_note(
        &mut schema,
        &format!(
            "(Positional items, in this order: {}.)",
            items.iter().map(compact).collect::<Vec<_>>().join(", ")
        ),
    );
    if let Value::Object(obj) = schema {
        *out = obj;
    }
}

// ---------------------------------------------------------------------------------------------
// Gemini.

/// The fields of Gemini's `Schema` object, "a select subset of an OpenAPI 3.0 schema object"
/// (<https://ai.google.dev/api/caching#Schema>; the same list in Google's generated client,
/// <https://docs.cloud.google.com/nodejs/docs/reference/generativelanguage/latest/generativelanguage/protos.google.ai.generativelanguage.v1beta.ischema>).
/// Anything else is an `Invalid JSON payload received. Unknown name "…"` 400 (for `$ref`,
/// `$schema`, `additionalProperties`, `const`, `propertyNames`, `uniqueItems`, `examples`,
/// `$defs` seen in decolua/9router#1036, router-for-me/CLIProxyAPI#97, openswarm-ai/openswarm
/// #24, zed-industries/zed#44875, diegosouzapw/OmniRoute#9617, datastax/astra-assistants-api
/// #73).
const GEMINI_KEYWORDS: &[&str] = &[
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

/// Keywords dropped without a word: annotations, or constraints the model honours anyway
/// (no extra properties) that would only add noise to every description.
const GEMINI_SILENT: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$defs",
    "definitions",
    "additionalProperties",
    "unevaluatedProperties",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
];

/// One node as a Gemini `Schema`.
fn gemini_node(out: &mut Map<String, Value>) {
    let mut constraints: Vec<String> = Vec::new();

    // `type` is one enum value, never a list; nullability is `nullable`
    // (<https://ai.google.dev/api/caching#Schema>). Gemini refuses nullable type arrays with an
    // `any_of` validation error (patlux CHANGELOG 0.7.1, in docs/providers.md).
    if let Some(Value::Array(types)) = out.get("type").cloned() {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() < types.len() {
            out.insert("nullable".into(), json!(true));
        }
        match non_null.len() {
            0 => {
                out.remove("type");
            }
            1 => {
                out.insert("type".into(), non_null[0].clone());
            }
            _ if !out.contains_key("anyOf") => {
                out.remove("type");
                let branches: Vec<Value> = non_null.iter().map(|t| json!({"type": t})).collect();
                out.insert("anyOf".into(), Value::Array(branches));
            }
            _ => {
                out.remove("type");
                constraints.push(format!("type: {}", compact(&Value::Array(non_null))));
            }
        }
    }
    // Only `anyOf` exists; `oneOf` is the closest.
    if let Some(one) = out.remove("oneOf") {
        if out.contains_key("anyOf") {
            constraints.push(format!("exactly one of: {}", compact(&one)));
        } else {
            out.insert("anyOf".into(), one);
        }
    }
    if let Some(Value::Array(all)) = out.remove("allOf") {
        for branch in &all {
            if let Value::Object(b) = branch {
                merge_object(out, b, true);
                if let Some(t) = b.get("type") {
                    out.entry("type").or_insert_with(|| t.clone());
                }
            }
        }
    }
    // `anyOf: [X, {type: null}]` is a nullable X.
    if let Some(Value::Array(branches)) = out.get("anyOf").cloned() {
        let rest: Vec<Value> = branches
            .iter()
            .filter(|b| !is_null_schema(b))
            .cloned()
            .collect();
        if rest.len() < branches.len() {
            out.insert("nullable".into(), json!(true));
        }
        match rest.len() {
            0 => {
                out.remove("anyOf");
            }
            1 => {
                out.remove("anyOf");
                if let Value::Object(b) = &rest[0] {
                    for (k, v) in b {
                        out.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            _ => {
                out.insert("anyOf".into(), Value::Array(rest));
            }
        }
    }
    // A string `const` is a one-value enum.
    if let Some(c) = out.remove("const") {
        if c.is_string() {
            out.insert("enum".into(), json!([c]));
            out.entry("type").or_insert_with(|| json!("string"));
        } else {
            constraints.push(format!("must be {}", compact(&c)));
        }
    }
    // `enum` lists strings only ("Possible values of the element of Type.STRING with enum
    // format", <https://ai.google.dev/api/caching#Schema>).
    if let Some(Value::Array(values)) = out.get("enum").cloned()
        && values.iter().any(Value::is_null)
    {
        // `null` among the values is nullability.
        let rest: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
        out.insert("nullable".into(), json!(true));
        out.insert("enum".into(), Value::Array(rest));
    }
    if let Some(Value::Array(values)) = out.get("enum")
        && !values.iter().all(Value::is_string)
    {
        let list = values.iter().map(compact).collect::<Vec<_>>().join(", ");
        out.remove("enum");
        constraints.push(format!("one of {list}"));
    }
    if let Some(Value::Array(examples)) = out.remove("examples")
        && let Some(first) = examples.into_iter().next()
    {
        out.entry("example").or_insert(first);
    }
    // Formats Gemini supports: "NUMBER type: float, double; INTEGER type: int32, int64; STRING
    // type: enum, date-time" (<https://ai.google.dev/api/caching#Schema>, `format`).
    if let Some(Value::String(f)) = out.get("format") {
        let supported = match out.get("type").and_then(Value::as_str) {
            Some("string") => matches!(f.as_str(), "enum" | "date-time"),
            Some("number") => matches!(f.as_str(), "float" | "double"),
            Some("integer") => matches!(f.as_str(), "int32" | "int64"),
            _ => false,
        };
        if !supported {
            constraints.push(format!("format {f}"));
            out.remove("format");
        }
    }
    // Exclusive bounds become inclusive ones, the difference said.
    for (key, bound, word) in [
        ("exclusiveMinimum", "minimum", "greater than"),
        ("exclusiveMaximum", "maximum", "less than"),
    ] {
        if let Some(v) = out.remove(key) {
            if v.is_number() {
                out.entry(bound).or_insert_with(|| v.clone());
                constraints.push(format!("{word} {v}"));
            } else {
                constraints.push(format!("{key}: {}", compact(&v)));
            }
        }
    }
    tuple_items(out);
    gemini_required(out);
    // Everything outside the subset: dropped, constraints described.
    let unknown: Vec<String> = out
        .keys()
        .filter(|k| !GEMINI_KEYWORDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        let Some(v) = out.remove(&k) else { continue };
        if !GEMINI_SILENT.contains(&k.as_str()) {
            constraints.push(format!("{k}: {}", compact(&v)));
        }
    }
    // "type must be specified when not using one_of" (Gemini's 400, lobehub/lobehub#5255).
    if !out.contains_key("type") && !out.contains_key("anyOf") {
        let inferred = if out.contains_key("properties") {
            Some("object")
        } else if out.contains_key("items") {
            Some("array")
        } else if out.contains_key("enum") {
            Some("string")
        } else {
            None
        };
        if let Some(t) = inferred {
            out.insert("type".into(), json!(t));
        }
    }
    if !constraints.is_empty() {
        let mut schema = Value::Object(std::mem::take(out));
        add_note(
            &mut schema,
            &format!("(Constraints: {}.)", constraints.join("; ")),
        );
        if let Value::Object(obj) = schema {
            *out = obj;
        }
    }
}

/// `required` may only name declared properties: "Unable to submit request because required
/// fields […] are not defined in the schema properties" (Gemini's 400, BoltAI/BoltAI#375).
fn gemini_required(out: &mut Map<String, Value>) {
    let Some(Value::Array(required)) = out.get("required") else {
        return;
    };
    let props = out.get("properties").and_then(Value::as_object);
    let kept: Vec<Value> = required
        .iter()
        .filter(|r| {
            r.as_str()
                .is_some_and(|name| props.is_some_and(|p| p.contains_key(name)))
        })
        .cloned()
        .collect();
    if kept.len() == required.len() {
        return;
    }
    if kept.is_empty() {
        out.remove("required");
    } else {
        out.insert("required".into(), Value::Array(kept));
    }
}

// ---------------------------------------------------------------------------------------------
// Strict mode.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrictSubset {
    OpenAi,
    DeepSeek,
}

/// Whether the host's strict mode can take `schema` as it is. Both hosts demand
/// `additionalProperties: false` and every property in `required` on each object, and refuse
/// keywords outside their subset:
/// - OpenAI: <https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>
///   (`allOf`, `not`, `if`/`then`/`else`, `dependent*`, `patternProperties`,
///   `unevaluated*`, `propertyNames`, `contains`, `prefixItems`, `min/maxProperties` and
///   string lengths are outside it);
/// - DeepSeek: <https://api-docs.deepseek.com/guides/tool_calls> ("strict mode (beta)": no
///   `minLength`/`maxLength`, no `minItems`/`maxItems`; formats email, hostname, ipv4, ipv6,
///   uuid only).
fn strict_compatible(schema: &Value, subset: StrictSubset) -> bool {
    const OUTSIDE: &[&str] = &[
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "propertyNames",
        "contains",
        "prefixItems",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
    ];
    const DEEPSEEK_OUTSIDE: &[&str] = &["minItems", "maxItems"];
    let mut stack = vec![schema];
    let mut visited = 0usize;
    while let Some(s) = stack.pop() {
        visited += 1;
        if visited > MAX_NODES {
            return false;
        }
        let Value::Object(obj) = s else { continue };
        for k in obj.keys() {
            if OUTSIDE.contains(&k.as_str())
                || (subset == StrictSubset::DeepSeek && DEEPSEEK_OUTSIDE.contains(&k.as_str()))
            {
                return false;
            }
        }
        if subset == StrictSubset::DeepSeek
            && let Some(Value::String(f)) = obj.get("format")
            && !matches!(f.as_str(), "email" | "hostname" | "ipv4" | "ipv6" | "uuid")
        {
            return false;
        }
        let is_object = obj.get("type").is_some_and(|t| t == "object");
        if is_object {
            if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
                return false;
            }
            let required = string_list(obj.get("required"));
            let all_required = obj
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(|p| p.keys().all(|k| required.contains(k)));
            if !all_required {
                return false;
            }
        }
        for (k, v) in obj {
            if SCHEMA_MAP_KEYWORDS.contains(&k.as_str()) || k == "$defs" || k == "definitions" {
                stack.extend(v.as_object().into_iter().flat_map(|m| m.values()));
            } else if SCHEMA_LIST_KEYWORDS.contains(&k.as_str()) {
                stack.extend(v.as_array().into_iter().flatten());
            } else if SCHEMA_KEYWORDS.contains(&k.as_str()) || k == "items" {
                match v {
                    Value::Array(a) => stack.extend(a.iter()),
                    other => stack.push(other),
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapt(schema: Value, dialect: ToolSchemaDialect) -> AdaptedSchema {
        adapt_schema(schema, dialect, false)
    }

    #[test]
    fn tidy_schemas_pass_unchanged() {
        let s = json!({"type": "object", "properties": {"cmd": {"type": "string", "description": "x"}}, "required": ["cmd"], "additionalProperties": false});
        for d in [
            ToolSchemaDialect::Standard,
            ToolSchemaDialect::OpenAi,
            ToolSchemaDialect::DeepSeek,
            ToolSchemaDialect::Anthropic,
            ToolSchemaDialect::Kimi,
        ] {
            let a = adapt(s.clone(), d);
            assert_eq!(a.schema, s, "{d:?}");
            assert!(a.notes.is_empty());
        }
    }

    #[test]
    fn any_of_root_becomes_an_object_with_a_note() {
        let s = json!({"anyOf": [
            {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
            {"type": "object", "properties": {"name": {"type": "string"}, "id": {"type": "integer"}}, "required": ["name"]},
            {"type": "null"}
        ]});
        let a = adapt(s, ToolSchemaDialect::Anthropic);
        assert_eq!(
            a.schema,
            json!({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}})
        );
        assert_eq!(
            a.notes,
            ["Arguments: give at least one of these combinations: `id`; or `name`."]
        );
    }

    #[test]
    fn nullable_and_scalar_roots() {
        let a = adapt(
            json!({"type": ["object", "null"], "properties": {}}),
            ToolSchemaDialect::Standard,
        );
        assert_eq!(a.schema, json!({"type": "object", "properties": {}}));
        let a = adapt(json!({"type": "null"}), ToolSchemaDialect::Standard);
        assert_eq!(a.schema, json!({"type": "object", "properties": {}}));
        assert!(a.notes.is_empty());
        let a = adapt(json!({"type": "string"}), ToolSchemaDialect::Standard);
        assert_eq!(a.schema["type"], "object");
        assert_eq!(a.notes.len(), 1);
        assert_eq!(
            adapt(Value::Null, ToolSchemaDialect::Standard).schema,
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn cycles_and_fan_outs_stay_bounded() {
        // A tree node referring to itself.
        let s = json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/node"}},
            "$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}});
        let a = adapt(s, ToolSchemaDialect::Kimi);
        let text = a.schema.to_string();
        assert!(!text.contains("$ref") && !text.contains("$defs"), "{text}");
        assert!(text.contains("Recursive"), "{text}");
        // Each level refers to the next twice: 2^40 nodes if expanded naively.
        let mut defs = Map::new();
        for i in 0..40 {
            defs.insert(
                format!("d{i}"),
                json!({"type": "object", "properties": {
                    "a": {"$ref": format!("#/$defs/d{}", i + 1)},
                    "b": {"$ref": format!("#/$defs/d{}", i + 1)}}}),
            );
        }
        defs.insert("d40".into(), json!({"type": "string"}));
        let s =
            json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs});
        for d in [ToolSchemaDialect::Kimi, ToolSchemaDialect::Gemini] {
            let out = adapt(s.clone(), d).schema;
            assert!(approx_size(&out, usize::MAX) < 4 * MAX_BYTES, "{d:?}");
            assert!(out.to_string().contains("left out"), "{d:?}");
        }
    }

    #[test]
    fn gemini_rewrites_to_its_subset() {
        let s = json!({"type": "object", "$schema": "https://json-schema.org/draft/2020-12/schema",
            "properties": {
                "url": {"type": ["string", "null"], "format": "uri", "minLength": 1},
                "mode": {"const": "fast"},
                "n": {"type": "integer", "exclusiveMinimum": 0, "enum": [1, 2]},
                "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
            },
            "required": ["url", "missing"], "additionalProperties": false});
        let a = adapt(s, ToolSchemaDialect::Gemini).schema;
        assert_eq!(a["properties"]["url"]["type"], "string");
        assert_eq!(a["properties"]["url"]["nullable"], true);
        assert!(a["properties"]["url"].get("format").is_none());
        assert_eq!(a["properties"]["mode"]["enum"], json!(["fast"]));
        assert_eq!(a["properties"]["n"]["minimum"], 0);
        assert!(a["properties"]["n"].get("enum").is_none());
        assert!(
            a["properties"]["tags"]["description"]
                .as_str()
                .unwrap()
                .contains("uniqueItems")
        );
        assert_eq!(a["required"], json!(["url"]));
        assert!(a.get("$schema").is_none() && a.get("additionalProperties").is_none());
    }

    #[test]
    fn strict_is_dropped_when_the_subset_cannot_say_it() {
        let tidy = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
        assert!(adapt_schema(tidy.clone(), ToolSchemaDialect::OpenAi, true).strict);
        let loose = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert!(!adapt_schema(loose, ToolSchemaDialect::OpenAi, true).strict);
        let lengths = json!({"type": "object", "properties": {"a": {"type": "array", "maxItems": 2}}, "required": ["a"], "additionalProperties": false});
        assert!(adapt_schema(lengths.clone(), ToolSchemaDialect::OpenAi, true).strict);
        assert!(!adapt_schema(lengths.clone(), ToolSchemaDialect::DeepSeek, true).strict);
    }

    #[test]
    fn gemini_names_start_with_a_letter() {
        assert_eq!(host_tool_name(ToolSchemaDialect::Gemini, "read"), "read");
        assert_eq!(
            host_tool_name(ToolSchemaDialect::Gemini, "1password__get"),
            "_1password__get"
        );
        assert_eq!(host_tool_name(ToolSchemaDialect::Kimi, "1p"), "1p");
        let long = format!("9{}", "x".repeat(63));
        let renamed = host_tool_name(ToolSchemaDialect::Gemini, &long);
        assert!(renamed.len() <= MAX_TOOL_NAME && renamed.starts_with('_'));
    }

    #[test]
    fn by_model_picks_the_family() {
        let d = ToolSchemaDialect::ByModel;
        assert_eq!(
            d.resolve("google/gemini-2.5-pro"),
            ToolSchemaDialect::Gemini
        );
        assert_eq!(d.resolve("moonshotai/kimi-k2"), ToolSchemaDialect::Kimi);
        assert_eq!(d.resolve("claude-sonnet-4-6"), ToolSchemaDialect::Anthropic);
        assert_eq!(d.resolve("qwen3-coder"), ToolSchemaDialect::Standard);
    }
}
