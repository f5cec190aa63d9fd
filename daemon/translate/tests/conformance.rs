//! Conformance of our goldens with the OpenAI OpenAPI specification.
//!
//! - every event of `fixtures/streams/*.events.sse` is validated against the variant of
//!   `components.schemas.ResponseStreamEvent` whose `properties.type.enum` holds its type;
//! - every `fixtures/requests/*.chat.json` is validated against `CreateChatCompletionRequest`,
//!   leniently: provider extras (`reasoning_content`, `thinking`, ...) are not in OpenAI's
//!   schema, so unknown properties are allowed and only `type`, `required`, `enum` and `const`
//!   violations on known fields count.
//!
//! The specification is not part of the project: it is read from
//! `../shared/spec/openai-openapi.json` beside the workspace (or the file `OPENAI_OPENAPI_SPEC`
//! names) when that file exists; otherwise the test says it was skipped and passes.
//!
//! The validator is a small one written here for the subset of JSON Schema the specification
//! uses (`$ref`, `type`, OpenAPI's `nullable`, `required`, `properties`, `additionalProperties`,
//! `enum`, `const`, `anyOf` / `oneOf` / `allOf`, `items`, `minItems` / `maxItems`, `minimum` /
//! `maximum`). A general JSON Schema 2020-12 validator would read the spec's 110 OpenAPI-3.0
//! style `nullable: true` as "null is invalid", and its `anyOf` errors do not say which branch
//! was meant; this one picks the branch whose `type` discriminator matches, so a violation reads
//! as a path and a reason.

// An integration-test crate: tests only, so the test allowances (unwrap, print) apply to its
// helpers too.
#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `OPENAI_OPENAPI_SPEC` names the file when the workspace is not beside `../shared` (a git
/// worktree elsewhere).
fn spec_path() -> PathBuf {
    match std::env::var_os("OPENAI_OPENAPI_SPEC") {
        Some(p) => PathBuf::from(p),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec/openai-openapi.json")
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn goldens(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// The validator.

/// How strictly to read a schema.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything the validator knows, `additionalProperties: false` included.
    Strict,
    /// Only `type`, `required`, `enum` and `const`; unknown properties are fine.
    Lenient,
}

struct Validator<'a> {
    spec: &'a Value,
    mode: Mode,
}

/// One violation: where in the instance, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    path: String,
    message: String,
}

impl Validator<'_> {
    fn resolve(&self, reference: &str) -> &Value {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are supported: {reference}"));
        self.spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolved reference {reference}"))
    }

    fn schema<'s>(&'s self, name: &str) -> &'s Value {
        self.resolve(&format!("#/components/schemas/{name}"))
    }

    fn validate(&self, schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
        let Some(s) = schema.as_object() else {
            return; // `true` / `{}`-like schemas accept everything.
        };
        let fail = |out: &mut Vec<Violation>, message: String| {
            out.push(Violation {
                path: if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                },
                message,
            });
        };
        // OpenAPI 3.0 `nullable: true` next to a `type`: null is valid, nothing else applies.
        if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(Value::String(r)) = s.get("$ref") {
            self.validate(self.resolve(r), value, path, out);
        }
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sub in all {
                self.validate(sub, value, path, out);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = s.get(key) {
                self.validate_branches(key, branches, value, path, out);
            }
        }
        if let Some(t) = s.get("type")
            && !type_matches(t, value)
        {
            fail(
                out,
                format!("expected type {}, got {}", compact(t), kind_of(value)),
            );
            return; // Nothing below makes sense on the wrong type.
        }
        if let Some(Value::Array(choices)) = s.get("enum")
            && !choices.contains(value)
        {
            fail(
                out,
                format!("{} is not one of {}", compact(value), compact(&s["enum"])),
            );
        }
        if let Some(c) = s.get("const")
            && c != value
        {
            fail(
                out,
                format!("{} is not the constant {}", compact(value), compact(c)),
            );
        }
        if let Value::Object(obj) = value {
            if let Some(Value::Array(required)) = s.get("required") {
                for r in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        fail(out, format!("missing required property `{r}`"));
                    }
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, v) in obj {
                let child = format!("{path}/{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => self.validate(sub, v, &child, out),
                    None if self.mode == Mode::Strict => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            fail(out, format!("property `{k}` is not allowed here"));
                        }
                        Some(sub @ Value::Object(_)) => self.validate(sub, v, &child, out),
                        _ => {}
                    },
                    None => {}
                }
            }
        }
        if let Value::Array(items) = value {
            if let Some(sub) = s.get("items") {
                for (n, v) in items.iter().enumerate() {
                    self.validate(sub, v, &format!("{path}/{n}"), out);
                }
            }
            if self.mode == Mode::Strict {
                let len = items.len() as u64;
                if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                    && len < min
                {
                    fail(out, format!("{len} items, at least {min} required"));
                }
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                    && len > max
                {
                    fail(out, format!("{len} items, at most {max} allowed"));
                }
            }
        }
        if let (Some(n), Mode::Strict) = (value.as_f64(), self.mode) {
            if let Some(min) = s.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                fail(out, format!("{n} is below the minimum {min}"));
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                fail(out, format!("{n} is above the maximum {max}"));
            }
        }
    }

    /// `anyOf` / `oneOf`: valid if one branch is. Otherwise report the branch that was meant:
    /// the one whose `type` discriminator (`properties.type.enum`) names the value's `type`, else
    /// the one with the fewest violations. (`oneOf`'s "exactly one" is not checked: the spec's
    /// `oneOf`s are discriminated unions, and overlapping branches would only add noise.)
    fn validate_branches(
        &self,
        key: &str,
        branches: &[Value],
        value: &Value,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let mut best: Option<(bool, Vec<Violation>, String)> = None;
        for branch in branches {
            let mut errs = Vec::new();
            self.validate(branch, value, path, &mut errs);
            if errs.is_empty() {
                return;
            }
            let meant = self.discriminates(branch, value);
            let better = match &best {
                None => true,
                Some((m, e, _)) => (meant && !m) || (meant == *m && errs.len() < e.len()),
            };
            if better {
                best = Some((meant, errs, branch_name(branch)));
            }
        }
        if let Some((_, errs, name)) = best {
            out.push(Violation {
                path: if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                },
                message: format!("matches no {key} branch; closest is {name}"),
            });
            out.extend(errs);
        }
    }

    /// Whether `branch` declares the discriminator value `value` carries: its `type` (items,
    /// events, tools) or its `role` (chat messages).
    fn discriminates(&self, branch: &Value, value: &Value) -> bool {
        let mut schema = branch;
        while let Some(Value::String(r)) = schema.get("$ref") {
            schema = self.resolve(r);
        }
        let in_props = |s: &Value| {
            ["type", "role"].iter().any(|key| {
                let Some(v) = value.get(key) else {
                    return false;
                };
                let p = &s["properties"][key];
                p["enum"].as_array().is_some_and(|e| e.contains(v)) || p.get("const") == Some(v)
            })
        };
        in_props(schema)
            || schema["allOf"]
                .as_array()
                .is_some_and(|all| all.iter().any(|s| self.discriminates(s, value)))
    }
}

fn branch_name(branch: &Value) -> String {
    match branch.get("$ref").and_then(Value::as_str) {
        Some(r) => r.rsplit('/').next().unwrap_or(r).to_owned(),
        None => match branch.get("type") {
            Some(t) => format!("an inline {} schema", compact(t)),
            None => "an inline schema".to_owned(),
        },
    }
}

fn type_matches(t: &Value, value: &Value) -> bool {
    let one = |name: &str| match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    };
    match t {
        Value::String(name) => one(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let head: String = s.chars().take(120).collect();
        format!("{head}…")
    } else {
        s
    }
}

/// `/response/output/3/content/0` → `/response/output/*/content/*`, so one bug repeated over
/// many events and files is listed once.
fn generic_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
                "*"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------------------------
// What we validate.

/// Violations found, deduplicated: `"<what> <path>: <message>"` → first golden showing it.
type Found = BTreeMap<String, String>;

fn record(found: &mut Found, what: &str, golden: &Path, violations: Vec<Violation>) {
    let name = golden
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for v in violations {
        let key = format!("{what} {}: {}", generic_path(&v.path), v.message);
        found
            .entry(key)
            .or_insert_with(|| format!("{name} at {}", v.path));
    }
}

fn stream_violations(spec: &Value) -> Found {
    let v = Validator {
        spec,
        mode: Mode::Strict,
    };
    let variants = v.schema("ResponseStreamEvent")["anyOf"]
        .as_array()
        .expect("ResponseStreamEvent is an anyOf");
    let mut found = Found::new();
    let dir = fixtures().join("streams");
    let files = goldens(&dir, ".events.sse");
    assert!(!files.is_empty(), "no stream goldens in {}", dir.display());
    for golden in files {
        let text = fs::read_to_string(&golden).unwrap();
        for data in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
            let event: Value = serde_json::from_str(data).unwrap();
            let kind = event["type"].as_str().unwrap_or_default().to_owned();
            let variant = variants.iter().find(|r| {
                let s = v.resolve(r["$ref"].as_str().unwrap_or_default());
                s["properties"]["type"]["enum"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|t| t == kind.as_str()))
            });
            let mut errs = Vec::new();
            match variant {
                Some(schema) => v.validate(schema, &event, "", &mut errs),
                None => errs.push(Violation {
                    path: "/type".into(),
                    message: format!("no ResponseStreamEvent variant for `{kind}`"),
                }),
            }
            record(&mut found, &kind, &golden, errs);
        }
    }
    found
}

fn request_violations(spec: &Value) -> Found {
    let v = Validator {
        spec,
        mode: Mode::Lenient,
    };
    let schema = v.schema("CreateChatCompletionRequest");
    let mut found = Found::new();
    let dir = fixtures().join("requests");
    let files = goldens(&dir, ".chat.json");
    assert!(!files.is_empty(), "no request goldens in {}", dir.display());
    for golden in files {
        let request: Value = serde_json::from_str(&fs::read_to_string(&golden).unwrap()).unwrap();
        let mut errs = Vec::new();
        v.validate(schema, &request, "", &mut errs);
        record(&mut found, "ChatRequest", &golden, errs);
    }
    found
}

/// Violations of today's output, each a bug to fix in `src/`. When one is fixed, the test
/// fails until its line is removed here; a new one fails until it is fixed (or listed with a
/// FIXME saying what the correct output is).
const KNOWN_VIOLATIONS: &[&str] = &[];

#[test]
fn goldens_conform_to_the_openapi_spec() {
    let path = spec_path();
    let Ok(text) = fs::read_to_string(&path) else {
        // Straight to stdout rather than `println!`, which the test harness captures: the skip
        // must show in a normal `cargo test` run.
        let _ = writeln!(
            std::io::stdout().lock(),
            "conformance: SKIPPED (../shared/spec/openai-openapi.json not found)"
        );
        return;
    };
    let spec: Value = serde_json::from_str(&text).expect("the OpenAPI spec is JSON");
    let mut found = stream_violations(&spec);
    found.extend(request_violations(&spec));

    for (violation, first_seen) in &found {
        println!("conformance: {violation}   [first in {first_seen}]");
    }
    let known: BTreeSet<&str> = KNOWN_VIOLATIONS.iter().copied().collect();
    let new: Vec<&String> = found
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    let fixed: Vec<&&str> = known.iter().filter(|k| !found.contains_key(**k)).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "conformance changed.\nnew violations (bugs in our output):\n{}\n\
         no longer found (remove them from KNOWN_VIOLATIONS):\n{}",
        new.iter()
            .map(|k| format!("  {k}   [first in {}]", found[*k]))
            .collect::<Vec<_>>()
            .join("\n"),
        fixed
            .iter()
            .map(|k| format!("  {k}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

// ---------------------------------------------------------------------------------------------
// The validator itself, on small schemas (these run with or without the spec).

fn check(schema: Value, value: Value, mode: Mode) -> Vec<String> {
    let spec = serde_json::json!({
        "components": {"schemas": {
            "A": {"type": "object", "properties": {"type": {"enum": ["a"]}, "n": {"type": "integer"}}, "required": ["type", "n"]},
            "B": {"type": "object", "properties": {"type": {"enum": ["b"]}, "s": {"type": "string"}}, "required": ["type", "s"]},
            "Target": schema,
        }}
    });
    let v = Validator { spec: &spec, mode };
    let mut out = Vec::new();
    v.validate(v.schema("Target"), &value, "", &mut out);
    out.into_iter()
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect()
}

#[test]
fn validator_reports_paths_and_reasons() {
    use serde_json::json;
    let schema = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "n": {"type": "integer", "nullable": true},
            "status": {"type": "string", "enum": ["ok"]},
            "items": {"type": "array", "items": {"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}}
        },
        "required": ["id"],
        "additionalProperties": false
    });
    assert!(check(schema.clone(), json!({"id": "x", "n": null}), Mode::Strict).is_empty());
    assert_eq!(
        check(
            schema.clone(),
            json!({"n": 1.5, "status": "bad", "extra": 1, "items": [{"type": "a", "n": 1}, {"type": "b", "s": 2}]}),
            Mode::Strict
        ),
        [
            "/: missing required property `id`",
            "/: property `extra` is not allowed here",
            "/items/1: matches no oneOf branch; closest is B",
            "/items/1/s: expected type \"string\", got integer",
            "/n: expected type \"integer\", got number",
            "/status: \"bad\" is not one of [\"ok\"]",
        ]
    );
    // Lenient: unknown properties pass.
    assert!(check(schema, json!({"id": "x", "extra": 1}), Mode::Lenient).is_empty());
    assert_eq!(generic_path("/a/12/b/0"), "/a/*/b/*");
}
