//! Command Code's CLI route, `POST {base}/alpha/generate`: the whole mapping in one file,
//! because the envelope is undocumented and will change. Fix it here when it does.
//!
//! # The envelope (as used by the public clients of this route)
//!
//! Request headers: `Authorization: Bearer <key>`, `x-command-code-version: <CLI version>`
//! (required; configurable), `x-cli-environment: production`, `Accept: application/x-ndjson`,
//! optional `x-session-id: <thread>`.
//!
//! Request body (all top-level fields required):
//! - `config`: `{workingDir, date, environment, structure: [], isGitRepo, currentBranch,
//!   mainBranch, gitStatus, recentCommits: []}`
//! - `memory`, `taste`, `skills`: `null`
//! - `permissionMode`: `"standard"`
//! - `params`: `{model, system, messages, tools, max_tokens (≤ 64000), stream: true,
//!   reasoning_effort?}`; `reasoning_effort` only for models with selectable efforts
//! - `threadId`: a UUID
//!
//! Messages are Vercel AI SDK `ModelMessage`s with roles `user`, `assistant`, `tool` only:
//! - user: `[{type:"text",text}, {type:"image", image:<data URL>, mediaType}]` (never empty)
//! - assistant: `[{type:"text",text}, {type:"tool-call", toolCallId, toolName, input:{…}}]`
//! - tool: `[{type:"tool-result", toolCallId, toolName, output:{type:"text"|"error-text", value}}]`
//!
//! Rules: every tool call answered and every result paired (the conversation module repairs
//! that); reasoning history is never sent back; images from tool results go in a user message
//! after the results; tools are `{type:"function", name, description, input_schema}`.
//!
//! Response: NDJSON (tolerate `data:` prefixes, comments, `[DONE]`), AI SDK stream parts:
//! `reasoning-start/-delta{text}/-end`, `text-start/-delta{text}/-end`,
//! `tool-input-start{id,toolName}/-delta{id,delta}/-end`, `tool-call{toolCallId,toolName,input}`
//! (may repeat; its input replaces the deltas), `finish-step`, `finish{finishReason,
//! rawFinishReason, totalUsage}`, `abort`, `error`. `totalUsage.inputTokens` includes cached
//! tokens. A stream without `finish` is an error.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::Transducer;
use crate::builder::{CallHandle, Finish, ResponseBuilder, ResponseContext};
use crate::conversation::{AssistantBlock, Conversation, Image, Turn, UserPart};
use crate::error::{Failure, FailureKind, Limit};
use crate::events::ResponseEvent;
use crate::provider::clamp_effort;
use crate::responses::{
    InputItem, InputTokensDetails, OutputTokensDetails, Response, ResponseUsage, ResponsesRequest,
};
use crate::tools::{LoweredTools, ToolMap, lower_tools};

/// The gateway's hard output cap.
pub const MAX_TOKENS_CAP: u64 = 64_000;

/// Default `x-command-code-version`.
pub const DEFAULT_CLI_VERSION: &str = "1.65.0";

/// Efforts per model family (substring of the lowercased model id → accepted efforts, lowest
/// first). Models that think on their own take no effort at all (empty list). Unknown models
/// get no effort: sending one to a model that refuses it fails the request.
const EFFORTS: &[(&str, &[&str])] = &[
    ("deepseek-v4", &["high", "max"]),
    ("glm-5.2-fast", &[]),
    ("glm-5.2", &["high", "max"]),
    ("gpt-5", &["low", "medium", "high", "xhigh"]),
    ("claude", &["low", "medium", "high", "max"]),
    ("kimi-k3", &[]),
    ("minimax-m3", &[]),
];

/// Per-request values the pure core cannot know (clock, cwd).
#[derive(Debug, Clone)]
pub struct CommandCodeContext {
    /// Working directory to report (`config.workingDir`).
    pub working_dir: String,
    /// Today's date, `YYYY-MM-DD`.
    pub date: String,
}

/// A translated request.
#[derive(Debug, Clone)]
pub struct CommandCodeTranslation {
    /// The body.
    pub body: Value,
    /// Thread id (also for `x-session-id`).
    pub thread_id: String,
    /// Wire tool names ⇄ Codex tools.
    pub tool_map: ToolMap,
    /// What was dropped.
    pub dropped: Vec<String>,
}

/// Responses → `/alpha/generate` envelope.
pub fn to_command_code(
    req: &ResponsesRequest,
    items: &[InputItem],
    upstream_model: &str,
    ctx: &CommandCodeContext,
    response_id: &str,
) -> CommandCodeTranslation {
    let LoweredTools {
        tools,
        map,
        dropped: dropped_tools,
    } = lower_tools(&req.tools);
    let conv = Conversation::from_items(req.instructions.as_deref(), items);
    let mut dropped = conv.dropped.clone();
    dropped.extend(dropped_tools);

    let mut system = conv.system.clone().unwrap_or_default();
    let mut messages: Vec<Value> = Vec::new();
    for turn in &conv.turns {
        match turn {
            // Only user/assistant/tool roles exist; standing instructions join the system text.
            Turn::System(text) => {
                if !system.is_empty() {
                    system.push_str("\n\n");
                }
                system.push_str(text);
            }
            Turn::User(parts) => {
                messages.push(json!({"role": "user", "content": user_content(parts)}))
            }
            Turn::Assistant(blocks) => {
                let content: Vec<Value> = blocks
                    .iter()
                    .filter_map(|b| match b {
                        AssistantBlock::Text(t) if !t.is_empty() => {
                            Some(json!({"type": "text", "text": t}))
                        }
                        AssistantBlock::Call(c) => Some(json!({
                            "type": "tool-call",
                            "toolCallId": c.call_id,
                            "toolName": c.wire_name,
                            "input": arguments_object(&c.arguments),
                        })),
                        // Reasoning history is never sent back to this route.
                        _ => None,
                    })
                    .collect();
                if !content.is_empty() {
                    messages.push(json!({"role": "assistant", "content": content}));
                }
            }
            Turn::ToolResults(results) => {
                let content: Vec<Value> = results
                    .iter()
                    .map(|r| {
                        let kind = if r.synthetic { "error-text" } else { "text" };
                        json!({
                            "type": "tool-result",
                            "toolCallId": r.call_id,
                            "toolName": r.wire_name,
                            "output": {"type": kind, "value": r.text},
                        })
                    })
                    .collect();
                messages.push(json!({"role": "tool", "content": content}));
                let images: Vec<UserPart> = results
                    .iter()
                    .flat_map(|r| r.images.iter().cloned().map(UserPart::Image))
                    .collect();
                if !images.is_empty() {
                    messages.push(json!({"role": "user", "content": user_content(&images)}));
                }
            }
        }
    }

    let thread_id = req
        .prompt_cache_key
        .clone()
        .filter(|k| is_uuid(k))
        .unwrap_or_else(|| uuid_from(response_id));
    let mut params = json!({
        "model": upstream_model,
        "system": system,
        "messages": messages,
        "tools": tools.into_iter().map(|t| json!({
            "type": "function",
            "name": t.name,
            "description": t.description.unwrap_or_default(),
            "input_schema": t.parameters,
        })).collect::<Vec<_>>(),
        "max_tokens": req.max_output_tokens.unwrap_or(MAX_TOKENS_CAP).min(MAX_TOKENS_CAP),
        "stream": true,
    });
    if let Some(t) = req.temperature {
        params["temperature"] = json!(t);
    }
    let effort = req
        .reasoning
        .as_ref()
        .and_then(|r| r.effort.as_deref())
        .filter(|e| *e != "none");
    if let Some(effort) = effort.and_then(|e| model_effort(upstream_model, e)) {
        params["reasoning_effort"] = json!(effort);
    }
    let map = crate::schema::adapt_command_code_params(&mut params, map, upstream_model);
    let body = json!({
        "config": {
            "workingDir": ctx.working_dir,
            "date": ctx.date,
            "environment": "linux",
            "structure": [],
            "isGitRepo": false,
            "currentBranch": "",
            "mainBranch": "",
            "gitStatus": "",
            "recentCommits": [],
        },
        "memory": null,
        "taste": null,
        "skills": null,
        "permissionMode": "standard",
        "params": params,
        "threadId": thread_id,
    });
    CommandCodeTranslation {
        body,
        thread_id,
        tool_map: map,
        dropped,
    }
}

fn model_effort(model: &str, effort: &str) -> Option<String> {
    let id = model.to_ascii_lowercase();
    let (_, accepted) = EFFORTS.iter().find(|(needle, _)| id.contains(needle))?;
    if accepted.is_empty() {
        return None;
    }
    let accepted: Vec<String> = accepted.iter().map(|s| (*s).to_owned()).collect();
    clamp_effort(effort, &accepted)
}

fn user_content(parts: &[UserPart]) -> Vec<Value> {
    let mut out: Vec<Value> = parts
        .iter()
        .map(|p| match p {
            UserPart::Text(t) => json!({"type": "text", "text": t}),
            UserPart::Image(Image { url, .. }) => {
                let media = url
                    .strip_prefix("data:")
                    .and_then(|r| r.split([';', ',']).next())
                    .unwrap_or("image/png");
                json!({"type": "image", "image": url, "mediaType": media})
            }
        })
        .collect();
    if out.is_empty() {
        // Empty user content is rejected.
        out.push(json!({"type": "text", "text": ""}));
    }
    out
}

fn arguments_object(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => json!({ "value": other }),
        Err(_) => json!({ "raw_arguments": arguments }),
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A UUID-shaped id derived from our response id (stable, no randomness here).
fn uuid_from(seed: &str) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in seed.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

// ---------------------------------------------------------------------------------------------
// Stream.

/// NDJSON stream → Responses events.
#[derive(Debug)]
pub struct CommandCodeStreamTranslator {
    builder: ResponseBuilder,
    /// Bytes of a line not yet complete.
    partial: Vec<u8>,
    calls: HashMap<String, CallHandle>,
    finalized: HashSet<String>,
    finished: Option<(String, Option<String>)>,
}

impl CommandCodeStreamTranslator {
    /// A transducer for one response.
    pub fn new(ctx: ResponseContext) -> Self {
        CommandCodeStreamTranslator {
            builder: ResponseBuilder::new(ctx),
            partial: Vec::new(),
            calls: HashMap::new(),
            finalized: HashSet::new(),
            finished: None,
        }
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<ResponseEvent>) {
        if self.builder.is_finished() {
            return;
        }
        let line = line.trim();
        if line.is_empty() || line == "[DONE]" {
            return;
        }
        let Ok(part) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
        let s = |k: &str| part.get(k).and_then(Value::as_str).unwrap_or_default();
        match kind {
            "reasoning-start" | "reasoning-end" => self.builder.close_reasoning(),
            "reasoning-delta" => self.builder.reasoning_delta(s("text"), out),
            "text-delta" => {
                let text = part
                    .get("text")
                    .or_else(|| part.get("delta"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.builder.text_delta(text, out);
            }
            "tool-input-start" => {
                let id = s("id").to_owned();
                if !self.calls.contains_key(&id) {
                    let handle = self.builder.call_start(&id, s("toolName"), out);
                    self.calls.insert(id, handle);
                }
            }
            "tool-input-delta" => {
                if let Some(handle) = self.calls.get(s("id")).copied() {
                    let delta = part
                        .get("delta")
                        .or_else(|| part.get("inputTextDelta"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    self.builder.call_args(handle, delta, out);
                }
            }
            "tool-call" => {
                let id = s("toolCallId").to_owned();
                if !self.finalized.insert(id.clone()) {
                    return; // a repeat
                }
                let handle = match self.calls.get(&id) {
                    Some(h) => *h,
                    None => {
                        let h = self.builder.call_start(&id, s("toolName"), out);
                        self.calls.insert(id, h);
                        h
                    }
                };
                let input = part
                    .get("input")
                    .or_else(|| part.get("args"))
                    .or_else(|| part.get("arguments"));
                match input {
                    Some(Value::String(text)) => {
                        self.builder.call_set_args(handle, text.clone(), out)
                    }
                    Some(v @ Value::Object(_)) => {
                        self.builder.call_set_args(handle, v.to_string(), out)
                    }
                    _ => {}
                }
            }
            "finish" => {
                if let Some(usage) = part.get("totalUsage").or_else(|| part.get("usage")) {
                    self.builder.set_usage(usage_from(usage));
                }
                let reason = s("finishReason").to_owned();
                let raw = part
                    .get("rawFinishReason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.finished = Some((reason, raw));
                self.complete(out);
            }
            "abort" => self.builder.fail(
                Failure::new(FailureKind::Server, "the upstream aborted the response"),
                out,
            ),
            "error" => {
                let message = part
                    .get("error")
                    .and_then(|e| {
                        e.as_str()
                            .map(str::to_owned)
                            .or_else(|| e.get("message").and_then(Value::as_str).map(str::to_owned))
                    })
                    .or_else(|| {
                        part.get("message")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "the upstream reported an error".to_owned());
                let kind = FailureKind::from_stream_error(None, &message);
                self.builder.fail(Failure::new(kind, message), out);
            }
            _ => {}
        }
    }

    /// One NDJSON line; tolerates SSE framing (`data:` prefix, `event:` and comment lines).
    fn on_raw_line(&mut self, line: &[u8], out: &mut Vec<ResponseEvent>) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.starts_with("event:") || line.starts_with(':') {
            return;
        }
        let line = line.strip_prefix("data:").unwrap_or(line);
        self.on_line(line, out);
    }

    fn complete(&mut self, out: &mut Vec<ResponseEvent>) {
        let Some((reason, raw)) = self.finished.clone() else {
            return;
        };
        let raw_norm: String = raw
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(
            raw_norm.as_str(),
            "networkerror" | "connectionerror" | "upstreamerror"
        ) {
            self.builder.fail(
                Failure::new(
                    FailureKind::Server,
                    format!("the upstream model failed mid-response ({raw_norm})"),
                ),
                out,
            );
            return;
        }
        let finish = match reason.as_str() {
            "length" | "max_tokens" | "max-tokens" | "max_output_tokens" => Finish::Length,
            "content-filter" | "content_filter" => Finish::ContentFilter,
            "error" => {
                self.builder.fail(
                    Failure::new(FailureKind::Server, "the upstream finished with an error"),
                    out,
                );
                return;
            }
            _ if self.builder.call_count() > 0 => Finish::ToolCalls,
            _ => Finish::Stop,
        };
        self.builder.finish(finish, out);
    }
}

fn usage_from(u: &Value) -> ResponseUsage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let input = n(u.get("inputTokens"));
    let output = n(u.get("outputTokens"));
    let cached = n(u
        .pointer("/inputTokenDetails/cacheReadTokens")
        .or_else(|| u.get("cachedInputTokens")))
    .min(input);
    // AI-SDK naming: `inputTokens` includes reads and writes, as Responses' `input_tokens`.
    let written = n(u.pointer("/inputTokenDetails/cacheWriteTokens")).min(input - cached);
    let reasoning = n(u
        .pointer("/outputTokenDetails/reasoningTokens")
        .or_else(|| u.get("reasoningTokens")));
    ResponseUsage {
        input_tokens: input,
        input_tokens_details: InputTokensDetails {
            cached_tokens: cached,
            cache_write_tokens: written,
        },
        output_tokens: output,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: reasoning,
        },
        // Saturating: the counts are the upstream's, and an absurd one must not panic.
        total_tokens: input.saturating_add(output),
    }
}

impl Transducer for CommandCodeStreamTranslator {
    fn start(&mut self, out: &mut Vec<ResponseEvent>) {
        self.builder.start(out);
    }

    fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<ResponseEvent>) {
        // One line is one event: bounded by the same number as an SSE event, checked before
        // the bytes are buffered, so an endless line holds at most that much.
        let limit = self.builder.limits().event_bytes;
        while !bytes.is_empty() && !self.builder.is_finished() {
            let (piece, complete) = match memchr::memchr(b'\n', bytes) {
                Some(nl) => (&bytes[..nl], true),
                None => (bytes, false),
            };
            if self.partial.len().saturating_add(piece.len()) > limit {
                self.partial = Vec::new();
                self.builder
                    .fail(Failure::over_limit(Limit::Event, limit), out);
                return;
            }
            if !complete {
                self.partial.extend_from_slice(bytes);
                return;
            }
            bytes = &bytes[piece.len() + 1..];
            if self.partial.is_empty() {
                self.on_raw_line(piece, out);
            } else {
                self.partial.extend_from_slice(piece);
                let line = std::mem::take(&mut self.partial);
                self.on_raw_line(&line, out);
            }
        }
    }

    fn end_of_stream(&mut self, out: &mut Vec<ResponseEvent>) {
        let line = std::mem::take(&mut self.partial);
        self.on_raw_line(&line, out);
        if !self.builder.is_finished() {
            self.builder.fail(
                Failure::new(
                    FailureKind::StreamCut,
                    "the upstream stream ended without a finish event",
                ),
                out,
            );
        }
    }

    fn fail(&mut self, failure: Failure, out: &mut Vec<ResponseEvent>) {
        self.builder.fail(failure, out);
    }

    fn keepalive(&mut self, out: &mut Vec<ResponseEvent>) {
        self.builder.keepalive(out);
    }

    fn is_finished(&self) -> bool {
        self.builder.is_finished()
    }

    fn final_response(&self) -> Option<&Response> {
        self.builder.final_response()
    }

    fn failure(&self) -> Option<&Failure> {
        self.builder.failure()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> ResponsesRequest {
        serde_json::from_value(json!({
            "model": "deepseek/deepseek-v4-pro",
            "reasoning": {"effort": "medium"},
            "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}],
            "input": [
                {"type": "message", "role": "developer", "content": "rules"},
                {"type": "message", "role": "user", "content": "go"},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "secret thoughts"}]},
                {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
            ]
        }))
        .unwrap()
    }

    #[test]
    fn envelope_and_messages() {
        let req = request();
        let items = req.input.clone().into_items();
        let ctx = CommandCodeContext {
            working_dir: "/w".into(),
            date: "2026-11-24".into(),
        };
        let t = to_command_code(&req, &items, "deepseek/deepseek-v4-pro", &ctx, "resp_x");
        let p = &t.body["params"];
        assert_eq!(p["system"], "rules");
        assert_eq!(p["reasoning_effort"], "high");
        assert_eq!(p["max_tokens"], 64_000);
        assert_eq!(p["tools"][0]["input_schema"]["type"], "object");
        let msgs = p["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1]["content"][0]["input"], json!({"cmd": "ls"}));
        assert_eq!(
            msgs[2]["content"][0]["output"],
            json!({"type": "text", "value": "a.txt"})
        );
        assert!(
            !t.body.to_string().contains("secret thoughts"),
            "reasoning is never sent back"
        );
        assert!(is_uuid(&t.thread_id), "{}", t.thread_id);
    }

    #[test]
    fn ndjson_stream_with_tool_call_and_usage() {
        let req = request();
        let map = lower_tools(&req.tools).map;
        let mut t =
            CommandCodeStreamTranslator::new(ResponseContext::new(&req, "resp_t".into(), 0, map));
        let stream = [
            json!({"type": "start"}),
            json!({"type": "reasoning-start", "id": "reasoning-0"}),
            json!({"type": "reasoning-delta", "id": "reasoning-0", "text": "hmm"}),
            json!({"type": "tool-input-start", "id": "call_9", "toolName": "exec_command"}),
            json!({"type": "tool-input-delta", "id": "call_9", "delta": "{\"cmd\":"}),
            json!({"type": "tool-input-delta", "id": "call_9", "delta": "\"pwd\"}"}),
            json!({"type": "tool-call", "toolCallId": "call_9", "toolName": "exec_command", "input": {"cmd": "pwd"}}),
            json!({"type": "tool-call", "toolCallId": "call_9", "toolName": "exec_command", "input": {"cmd": "pwd"}}),
            json!({"type": "finish", "finishReason": "tool-calls", "totalUsage": {"inputTokens": 10, "outputTokens": 3, "inputTokenDetails": {"cacheReadTokens": 4}}}),
        ]
        .iter()
        .map(|v| format!("{v}\n"))
        .collect::<String>();
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(9) {
            t.feed(piece, &mut out);
        }
        t.end_of_stream(&mut out);
        let last = out.last().unwrap();
        assert_eq!(last.kind(), "response.completed");
        let resp = serde_json::to_value(last.response().unwrap()).unwrap();
        assert_eq!(resp["output"].as_array().unwrap().len(), 2);
        assert_eq!(resp["output"][1]["arguments"], "{\"cmd\":\"pwd\"}");
        assert_eq!(resp["usage"]["input_tokens_details"]["cached_tokens"], 4);
    }

    #[test]
    fn no_finish_is_a_cut() {
        let req = request();
        let mut t = CommandCodeStreamTranslator::new(ResponseContext::new(
            &req,
            "resp_t".into(),
            0,
            ToolMap::default(),
        ));
        let mut out = Vec::new();
        t.feed(
            b"{\"type\":\"text-delta\",\"id\":\"t\",\"text\":\"hi\"}\n",
            &mut out,
        );
        t.end_of_stream(&mut out);
        assert_eq!(out.last().unwrap().kind(), "response.failed");
    }
}
