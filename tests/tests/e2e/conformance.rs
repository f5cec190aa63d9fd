//! One conformance suite for every backend: the same scenarios, run through the standalone
//! proxy (`codex-launcherd proxy --backend …`) against the mock of each upstream wire, speaking
//! HTTP to the proxy's `/v1/responses` the way Codex 0.171.0 and 0.169.0 do (`stream: true`, SSE, the
//! full history in `input`, `store: false`, reasoning asked back as `encrypted_content`).
//!
//! The table at the bottom is the suite: one row per scenario, one cell per backend, `run` or
//! `skip("why")`. A cell that runs asserts what that backend must do, in its provider's terms
//! (where the upstream forms differ, `Backend` reads each wire back into one neutral view).
//! Follow-up turns are built as Codex builds them: the previous request's `input`, then the
//! items of the previous response's `output`, then the tool outputs.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use codex_launcher_e2e::StandaloneProxy;
use codex_launcher_mock_upstream::{
    Flavor, MockConfig, MockUpstream, RecordedRequest, Reply, StrictRules, ToolCall, Turn,
};
use serde_json::{Value, json};

/// The key the mocks expect. A test key, but the proxy must still never print it.
const UPSTREAM_KEY: &str = "sk-test-conformance-upstream-key";
/// What Codex authenticates to the proxy with; it must never travel upstream.
const CODEX_TOKEN: &str = "codex-local-token";
/// The freeform patch the apply_patch scenarios send through.
const PATCH: &str =
    "*** Begin Patch\n*** Add File: hello.txt\n+hello from apply_patch\n*** End Patch\n";

// ---------------------------------------------------------------------------------------------
// Backends.

/// The four upstream wires the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// `openai-compat` against a DeepSeek-flavoured Chat Completions mock (its reasoning
    /// hand-back rule is the strictest of the Chat providers).
    Chat,
    /// `anthropic`: Messages.
    Anthropic,
    /// `command-code`: `/alpha/generate`, NDJSON.
    CommandCode,
    /// `openai-responses`: passed through.
    Responses,
}

/// A tool call as the upstream saw it in the history it was sent.
#[derive(Debug, Clone, PartialEq)]
struct SentCall {
    id: String,
    name: String,
    /// Function arguments as JSON; for a Responses `custom_tool_call`, its raw input string.
    input: Value,
}

/// A tool result as the upstream saw it.
#[derive(Debug, Clone, PartialEq)]
struct SentResult {
    call_id: String,
    text: String,
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").or_else(|| p.get("value")))
            .filter_map(Value::as_str)
            .collect(),
        Value::Object(_) => content
            .get("value")
            .or_else(|| content.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn array<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn args_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl Backend {
    /// The standalone proxy's config for this backend in front of `mock`.
    fn proxy_config(self, mock: &MockUpstream, key: &str) -> Value {
        let (backend, url, provider) = match self {
            Backend::Chat => ("openai-compat", mock.base_url(), Some("deepseek")),
            // Anthropic's and Command Code's documented bases have no `/v1`.
            Backend::Anthropic => ("anthropic", mock.root_url(), None),
            Backend::CommandCode => ("command-code", mock.root_url(), None),
            Backend::Responses => ("openai-responses", mock.base_url(), None),
        };
        let mut cfg = json!({"backend": backend, "target_url": url, "api_key": key});
        if let Some(p) = provider {
            cfg["provider"] = json!(p);
        }
        cfg
    }

    /// The Chat dialect (and context-overflow wording) of the mock.
    fn flavor(self) -> Flavor {
        match self {
            Backend::Chat => Flavor::DeepSeek,
            _ => Flavor::OpenAi,
        }
    }

    /// The header that carries the upstream key, and its value.
    fn auth_header(self) -> (&'static str, String) {
        match self {
            Backend::Anthropic => ("x-api-key", UPSTREAM_KEY.to_owned()),
            _ => ("authorization", format!("Bearer {UPSTREAM_KEY}")),
        }
    }

    /// Tool names offered upstream.
    fn sent_tools(self, body: &Value) -> Vec<String> {
        let (pointer, name) = match self {
            Backend::Chat => ("/tools", "/function/name"),
            Backend::Anthropic => ("/tools", "/name"),
            Backend::CommandCode => ("/params/tools", "/name"),
            Backend::Responses => ("/tools", "/name"),
        };
        array(body, pointer)
            .iter()
            .filter_map(|t| t.pointer(name).and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// The messages (items, for Responses) of a request body.
    fn history(self, body: &Value) -> &[Value] {
        match self {
            Backend::Chat | Backend::Anthropic => array(body, "/messages"),
            Backend::CommandCode => array(body, "/params/messages"),
            Backend::Responses => array(body, "/input"),
        }
    }

    /// Tool calls in the history, in order.
    fn sent_calls(self, body: &Value) -> Vec<SentCall> {
        let mut out = Vec::new();
        for m in self.history(body) {
            match self {
                Backend::Chat => {
                    for c in array(m, "/tool_calls") {
                        out.push(SentCall {
                            id: c["id"].as_str().unwrap_or_default().to_owned(),
                            name: c["function"]["name"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            input: args_json(c["function"]["arguments"].as_str().unwrap_or("")),
                        });
                    }
                }
                Backend::Anthropic => {
                    for b in array(m, "/content")
                        .iter()
                        .filter(|b| b["type"] == "tool_use")
                    {
                        out.push(SentCall {
                            id: b["id"].as_str().unwrap_or_default().to_owned(),
                            name: b["name"].as_str().unwrap_or_default().to_owned(),
                            input: b["input"].clone(),
                        });
                    }
                }
                Backend::CommandCode => {
                    for p in array(m, "/content")
                        .iter()
                        .filter(|p| p["type"] == "tool-call")
                    {
                        out.push(SentCall {
                            id: p["toolCallId"].as_str().unwrap_or_default().to_owned(),
                            name: p["toolName"].as_str().unwrap_or_default().to_owned(),
                            input: p["input"].clone(),
                        });
                    }
                }
                Backend::Responses => {
                    let input = match m["type"].as_str() {
                        Some("function_call") => args_json(m["arguments"].as_str().unwrap_or("")),
                        Some("custom_tool_call") => m["input"].clone(),
                        _ => continue,
                    };
                    out.push(SentCall {
                        id: m["call_id"].as_str().unwrap_or_default().to_owned(),
                        name: m["name"].as_str().unwrap_or_default().to_owned(),
                        input,
                    });
                }
            }
        }
        out
    }

    /// Tool results in the history, in order.
    fn sent_results(self, body: &Value) -> Vec<SentResult> {
        let mut out = Vec::new();
        for m in self.history(body) {
            match self {
                Backend::Chat if m["role"] == "tool" => out.push(SentResult {
                    call_id: m["tool_call_id"].as_str().unwrap_or_default().to_owned(),
                    text: text_of(&m["content"]),
                }),
                Backend::Anthropic => {
                    for b in array(m, "/content")
                        .iter()
                        .filter(|b| b["type"] == "tool_result")
                    {
                        out.push(SentResult {
                            call_id: b["tool_use_id"].as_str().unwrap_or_default().to_owned(),
                            text: text_of(&b["content"]),
                        });
                    }
                }
                Backend::CommandCode if m["role"] == "tool" => {
                    for p in array(m, "/content") {
                        out.push(SentResult {
                            call_id: p["toolCallId"].as_str().unwrap_or_default().to_owned(),
                            text: text_of(&p["output"]),
                        });
                    }
                }
                Backend::Responses
                    if matches!(
                        m["type"].as_str(),
                        Some("function_call_output" | "custom_tool_call_output")
                    ) =>
                {
                    out.push(SentResult {
                        call_id: m["call_id"].as_str().unwrap_or_default().to_owned(),
                        text: text_of(&m["output"]),
                    });
                }
                _ => {}
            }
        }
        out
    }

    /// How many assistant messages carry tool calls (parallel calls belong in one).
    fn call_messages(self, body: &Value) -> usize {
        self.history(body)
            .iter()
            .filter(|m| match self {
                Backend::Chat => m["tool_calls"].is_array(),
                Backend::Anthropic => array(m, "/content").iter().any(|b| b["type"] == "tool_use"),
                Backend::CommandCode => array(m, "/content")
                    .iter()
                    .any(|p| p["type"] == "tool-call"),
                // Items are flat on this wire; a turn is a run of them.
                Backend::Responses => false,
            })
            .count()
    }

    /// The reasoning handed back upstream, in the provider's required form, one entry per
    /// place it must appear: DeepSeek's `reasoning_content` on each assistant tool-call
    /// message; Anthropic's signed `thinking` block leading the assistant message of each
    /// `tool_use`; Command Code's reasoning parts (it must get none); the Responses reasoning
    /// items with their `encrypted_content`.
    fn sent_reasoning(self, body: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for m in self.history(body) {
            match self {
                Backend::Chat if m["tool_calls"].is_array() => out.push(
                    m["reasoning_content"]
                        .as_str()
                        .unwrap_or("<reasoning_content missing>")
                        .to_owned(),
                ),
                Backend::Anthropic => {
                    let blocks = array(m, "/content");
                    let Some(first_use) = blocks.iter().position(|b| b["type"] == "tool_use")
                    else {
                        continue;
                    };
                    let first = &blocks[0];
                    let signed = first["type"] == "thinking"
                        && first["signature"].as_str().is_some_and(|s| !s.is_empty());
                    out.push(if signed && first_use > 0 {
                        first["thinking"].as_str().unwrap_or_default().to_owned()
                    } else {
                        format!("<no signed thinking before tool_use: {first}>")
                    });
                }
                Backend::CommandCode => out.extend(
                    array(m, "/content")
                        .iter()
                        .filter(|p| p["type"] == "reasoning")
                        .map(text_of),
                ),
                Backend::Responses if m["type"] == "reasoning" => {
                    assert!(
                        m["encrypted_content"].is_string(),
                        "reasoning item sent back without its encrypted_content: {m}"
                    );
                    out.push(text_of(&m["summary"]));
                }
                _ => {}
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP to the proxy, the way Codex talks to it.

/// What the proxy answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Whether the body ended properly (a chunked body's last chunk arrived). A relayed
    /// connection reset shows up as `false`.
    terminated: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The SSE events' JSON payloads, in order.
    fn events(&self) -> Vec<Value> {
        self.body
            .replace("\r\n", "\n")
            .split("\n\n")
            .filter_map(|block| {
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                serde_json::from_str(&data.join("\n")).ok()
            })
            .collect()
    }

    /// The OpenAI-style error body of a refused request.
    fn error(&self) -> Value {
        let v: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {}", self.body));
        v["error"].clone()
    }

    /// The terminal event of a stream.
    fn terminal(&self) -> Option<Value> {
        self.events().into_iter().find(|e| {
            matches!(
                e["type"].as_str(),
                Some("response.completed" | "response.failed" | "response.incomplete")
            )
        })
    }

    /// The completed response, asserting the stream is well-formed and completed.
    fn completed(&self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        let events = self.events();
        check_stream(&events);
        let last = events.last().cloned().unwrap_or_default();
        assert_eq!(last["type"], "response.completed", "{}", self.body);
        last["response"].clone()
    }
}

fn post(addr: SocketAddr, body: &Value) -> Answer {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).expect("connect to the proxy");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    // Codex's own headers ride along; none of them may reach the upstream.
    write!(
        s,
        "POST /v1/responses HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: text/event-stream\r\nauthorization: Bearer {CODEX_TOKEN}\r\n\
         originator: codex_exec\r\nsession-id: 01a20afb-5f70-7fa2-918c-d55058e2ead5\r\n\
         x-codex-turn-metadata: {{\"turn_id\":\"t1\"}}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Read until EOF or a reset: a relayed cut is a result to inspect, not a harness error.
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    parse_http(&raw)
}

fn parse_http(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let (body, terminated) = if chunked {
        dechunk(rest)
    } else {
        (rest.to_vec(), true)
    };
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        terminated,
    }
}

/// Decode a chunked body; `false` when it stops before the last (empty) chunk.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return (out, false);
        };
        rest = &rest[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if rest.len() < size {
            out.extend_from_slice(rest);
            return (out, false);
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

/// Event order Codex relies on: `response.created` first, sequence numbers increasing, every
/// item's deltas between its `added` and its `done`, exactly one terminal event, last, and a
/// completed response whose output is the items that were `done`.
fn check_stream(events: &[Value]) {
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"response.created"), "{types:?}");
    let mut last_seq: Option<u64> = None;
    for e in events {
        let seq = e["sequence_number"]
            .as_u64()
            .unwrap_or_else(|| panic!("event without sequence_number: {e}"));
        assert!(
            last_seq.is_none_or(|l| seq > l),
            "sequence numbers must increase: {last_seq:?} then {seq} in {types:?}"
        );
        last_seq = Some(seq);
    }
    let terminals: Vec<usize> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            matches!(
                **t,
                "response.completed" | "response.failed" | "response.incomplete"
            )
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        terminals,
        [events.len() - 1],
        "one terminal event, last: {types:?}"
    );
    let mut added = BTreeSet::new();
    let mut done: Vec<Value> = Vec::new();
    for e in events {
        let ty = e["type"].as_str().unwrap_or_default();
        let Some(index) = e["output_index"].as_u64() else {
            continue;
        };
        match ty {
            "response.output_item.added" => {
                assert!(added.insert(index), "item {index} added twice: {types:?}");
            }
            "response.output_item.done" => {
                assert!(added.contains(&index), "item {index} done before added");
                done.push(e["item"].clone());
            }
            _ => {
                assert!(
                    added.contains(&index),
                    "{ty} for item {index} before it was added"
                );
                assert!(
                    !done.iter().any(|d| d["id"] == e["item_id"]),
                    "{ty} for item {index} after it was done"
                );
            }
        }
    }
    let last = &events[events.len() - 1];
    if last["type"] == "response.completed" {
        let output = array(last, "/response/output");
        assert_eq!(
            output,
            done.as_slice(),
            "completed output = the items that were done"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Codex-shaped requests.

fn tools() -> Value {
    json!([
        {"type": "function", "name": "exec_command", "strict": false,
         "description": "Runs a command in a PTY, returning output or a session ID for ongoing interaction.",
         "parameters": {"type": "object", "properties": {
             "cmd": {"type": "string", "description": "Shell command to execute."},
             "workdir": {"type": "string", "description": "Working directory for the command."}},
             "required": ["cmd"], "additionalProperties": false}},
        {"type": "custom", "name": "apply_patch",
         "description": "The `apply_patch` tool can be used to edit files. This is a FREEFORM tool, so do not wrap the patch in JSON.",
         "format": {"type": "grammar", "syntax": "lark",
             "definition": "start: begin_patch hunk+ end_patch\nbegin_patch: \"*** Begin Patch\" LF\nend_patch: \"*** End Patch\" LF?\nhunk: add_hunk\nadd_hunk: \"*** Add File: \" filename LF add_line+\nfilename: /(.+)/\nadd_line: \"+\" /(.*)/ LF -> line\n%import common.LF\n"}},
        {"type": "web_search", "external_web_access": true}
    ])
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

/// Codex's first input (0.171.0 and 0.169.0): developer instructions, environment context, the prompt.
fn first_input(prompt: &str) -> Vec<Value> {
    vec![
        json!({"type": "message", "role": "developer", "content": [{"type": "input_text",
            "text": "You are Codex, a coding agent. Use the tools to do the task."}]}),
        user(
            "<environment_context>\n  <cwd>/home/user/project</cwd>\n  <shell>bash</shell>\n</environment_context>",
        ),
        user(prompt),
    ]
}

/// A request as Codex sends it. `effort` is what a catalog model with reasoning sends.
fn codex_request(input: &[Value], effort: Option<&str>) -> Value {
    let mut reasoning = json!({"summary": "auto"});
    if let Some(e) = effort {
        reasoning["effort"] = json!(e);
    }
    json!({
        "model": "mock-model",
        "input": input,
        "tools": tools(),
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": reasoning,
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "01a20afb-5f70-7fa2-918c-d55058e2ead5",
    })
}

/// The next turn's input: what was sent, what came back, and the tool outputs.
fn follow_up(input: &[Value], response: &Value, outputs: &[(&str, &str)]) -> Vec<Value> {
    let mut next = input.to_vec();
    next.extend(array(response, "/output").iter().cloned());
    for (call_id, output) in outputs {
        let custom = array(response, "/output")
            .iter()
            .any(|i| i["call_id"] == *call_id && i["type"] == "custom_tool_call");
        let kind = if custom {
            "custom_tool_call_output"
        } else {
            "function_call_output"
        };
        next.push(json!({"type": kind, "call_id": call_id, "output": output}));
    }
    next
}

fn items_of<'a>(response: &'a Value, kind: &str) -> Vec<&'a Value> {
    array(response, "/output")
        .iter()
        .filter(|i| i["type"] == kind)
        .collect()
}

fn call(id: &str, cmd: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "exec_command".into(),
        arguments: json!({"cmd": cmd}).to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// A mock upstream for one backend and the proxy in front of it.
struct Harness {
    backend: Backend,
    mock: MockUpstream,
    proxy: StandaloneProxy,
    proxy_key: String,
}

impl Harness {
    async fn start(backend: Backend, rules: StrictRules) -> Harness {
        Harness::with_proxy_key(backend, rules, UPSTREAM_KEY).await
    }

    /// The proxy holds `proxy_key`; the mock accepts only [`UPSTREAM_KEY`].
    async fn with_proxy_key(backend: Backend, rules: StrictRules, proxy_key: &str) -> Harness {
        let mock = MockUpstream::start(MockConfig {
            flavor: backend.flavor(),
            api_key: Some(UPSTREAM_KEY.into()),
            rules,
            ..MockConfig::default()
        })
        .await
        .expect("start mock");
        let proxy = StandaloneProxy::start(backend.proxy_config(&mock, proxy_key));
        Harness {
            backend,
            mock,
            proxy,
            proxy_key: proxy_key.to_owned(),
        }
    }

    async fn send(&self, body: &Value) -> Answer {
        let addr = self.proxy.addr();
        let body = body.clone();
        tokio::task::spawn_blocking(move || post(addr, &body))
            .await
            .expect("client thread")
    }

    fn upstream(&self) -> Vec<RecordedRequest> {
        self.mock.requests()
    }

    fn assert_no_rejections(&self) {
        assert!(
            self.mock.rejections().is_empty(),
            "{:?} mock refused requests: {:?}\n--- proxy\n{}",
            self.backend,
            self.mock.rejections(),
            self.proxy.stderr()
        );
    }

    /// Checks every scenario ends with: the script used up, no key in the proxy's log.
    fn finish(self) {
        assert_eq!(self.mock.pending(), 0, "scripted replies left unused");
        let log = self.proxy.stderr();
        for key in [UPSTREAM_KEY, self.proxy_key.as_str()] {
            assert!(!log.contains(key), "the proxy printed a key:\n{log}");
        }
    }
}

/// A refused request: the status, and the error body naming this proxy's endpoint.
fn assert_refused(answer: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(answer.status, status, "{answer:?}");
    let err = answer.error();
    assert_eq!(err["code"], code, "{err}");
    err
}

/// A stream that failed in a way Codex retries: a well-formed stream ending in
/// `response.failed` with a code Codex does not treat as fatal, and — for the translating
/// backends, which hold every `done` back to the end of the turn — no committed item. Returns
/// the failure's message. A relayed Responses stream that the upstream ended cleanly without
/// a terminal event is relayed as such (Codex: "stream closed before response.completed",
/// retried); that case returns `None`.
fn assert_retryable_failure(h: &Harness, answer: &Answer) -> Option<String> {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer.terminated,
        "the body must end properly:\n{}",
        answer.body
    );
    let events = answer.events();
    assert!(
        !events.iter().any(|e| e["type"] == "response.completed"),
        "a failed turn must never look completed:\n{}",
        answer.body
    );
    if answer.terminal().is_none() && h.backend == Backend::Responses {
        return None;
    }
    check_stream(&events);
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "response.failed", "{}", answer.body);
    let code = last["response"]["error"]["code"]
        .as_str()
        .unwrap_or_default();
    // Codex retries every code but a short fatal list.
    assert!(
        !matches!(
            code,
            "context_length_exceeded"
                | "insufficient_quota"
                | "usage_not_included"
                | "invalid_prompt"
                | "cyber_policy"
                | "server_is_overloaded"
                | "slow_down"
        ),
        "code {code} is fatal in Codex"
    );
    // Relayed bytes are the upstream's: what it marked done before failing, it committed,
    // as it would talking to Codex directly.
    if h.backend != Backend::Responses {
        assert!(
            !events
                .iter()
                .any(|e| e["type"] == "response.output_item.done"),
            "a failed turn must commit no item (Codex acts on every done item):\n{}",
            answer.body
        );
    }
    last["response"]["error"]["message"]
        .as_str()
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Scenarios. Each takes the backend and asserts in that backend's terms.

mod scenarios {
    use super::*;

    /// A plain answer; the upstream gets our key in its own header and none of Codex's.
    pub async fn text(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::text("Hello from the mock upstream."));
        let input = first_input("Say hello.");
        let answer = h.send(&codex_request(&input, None)).await;
        assert_eq!(answer.header("content-type"), Some("text/event-stream"));
        let resp = answer.completed();
        let messages = items_of(&resp, "message");
        assert_eq!(messages.len(), 1, "{resp}");
        assert_eq!(
            messages[0]["content"][0]["text"],
            "Hello from the mock upstream."
        );
        let usage = &resp["usage"];
        let (i, o) = (
            usage["input_tokens"].as_u64(),
            usage["output_tokens"].as_u64(),
        );
        assert!(
            i.is_some_and(|i| i > 0) && o.is_some_and(|o| o > 0),
            "{usage}"
        );
        assert_eq!(
            usage["total_tokens"].as_u64(),
            Some(i.unwrap_or(0) + o.unwrap_or(0))
        );
        if b != Backend::Responses {
            // The OpenAI spec requires both details, and Codex shows both per turn.
            let d = &usage["input_tokens_details"];
            assert!(
                d["cached_tokens"].is_u64() && d["cache_write_tokens"].is_u64(),
                "{usage}"
            );
        }
        h.assert_no_rejections();
        let reqs = h.upstream();
        assert_eq!(reqs.len(), 1);
        let (name, value) = b.auth_header();
        assert_eq!(reqs[0].header(name), Some(value.as_str()));
        for (k, v) in &reqs[0].headers {
            assert!(
                !v.contains(CODEX_TOKEN),
                "Codex's token went upstream in {k}"
            );
            assert!(
                !k.starts_with("x-codex-") && k != "session-id" && k != "originator",
                "Codex header {k} went upstream"
            );
        }
        assert!(reqs[0].body.to_string().contains("Say hello."));
        h.finish();
    }

    /// Reasoning, text and a call streamed in small fragments: the whole event grammar.
    pub async fn stream(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        let text = "Let me look at the files in this directory first.";
        h.mock.push(
            Reply::tool_call("call_s1", "exec_command", json!({"cmd": "ls -la"}))
                .with_reasoning("The user wants a listing.")
                .with_text(text)
                .chunked(3),
        );
        let answer = h
            .send(&codex_request(&first_input("List files."), None))
            .await;
        let resp = answer.completed();
        let events = answer.events();
        let deltas: String = events
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .filter_map(|e| e["delta"].as_str())
            .collect();
        assert_eq!(deltas, text, "text deltas add up to the message");
        assert!(
            events
                .iter()
                .filter(|e| e["type"] == "response.output_text.delta")
                .count()
                > 5,
            "the text streamed in fragments"
        );
        let args: String = events
            .iter()
            .filter(|e| e["type"] == "response.function_call_arguments.delta")
            .filter_map(|e| e["delta"].as_str())
            .collect();
        assert_eq!(args_json(&args), json!({"cmd": "ls -la"}));
        let kinds: Vec<&str> = array(&resp, "/output")
            .iter()
            .filter_map(|i| i["type"].as_str())
            .collect();
        assert_eq!(kinds, ["reasoning", "message", "function_call"]);
        if b != Backend::Responses {
            // Translating backends hold every `done` back to the end of the turn, so that a
            // stream failing late commits nothing.
            let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
            let first_done = types
                .iter()
                .position(|t| *t == "response.output_item.done")
                .unwrap_or(0);
            assert!(
                types[first_done..]
                    .iter()
                    .all(|t| t.ends_with(".done") || *t == "response.completed"),
                "done events only after the last delta: {types:?}"
            );
        }
        h.assert_no_rejections();
        h.finish();
    }

    /// One call out, its result back in the provider's pairing.
    pub async fn tool_call(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::tool_call(
            "call_t1",
            "exec_command",
            json!({"cmd": "echo hi > out.txt"}),
        ));
        h.mock.push(Reply::text("DONE"));
        let input = first_input("Create out.txt.");
        let resp = h.send(&codex_request(&input, None)).await.completed();
        let calls = items_of(&resp, "function_call");
        assert_eq!(calls.len(), 1, "{resp}");
        assert_eq!(calls[0]["call_id"], "call_t1");
        assert_eq!(calls[0]["name"], "exec_command");
        assert_eq!(
            args_json(calls[0]["arguments"].as_str().unwrap_or_default()),
            json!({"cmd": "echo hi > out.txt"})
        );
        let tools = b.sent_tools(&h.upstream()[0].body);
        assert!(tools.contains(&"exec_command".to_owned()), "{tools:?}");
        assert!(
            !tools.iter().any(|t| t == "web_search") || b == Backend::Responses,
            "hosted tools the provider cannot run are dropped: {tools:?}"
        );

        let next = follow_up(&input, &resp, &[("call_t1", "Exit code: 0\nOutput:\n")]);
        let resp = h.send(&codex_request(&next, None)).await.completed();
        assert_eq!(items_of(&resp, "message")[0]["content"][0]["text"], "DONE");
        h.assert_no_rejections();
        let second = &h.upstream()[1].body;
        assert_eq!(
            b.sent_calls(second),
            [SentCall {
                id: "call_t1".into(),
                name: "exec_command".into(),
                input: json!({"cmd": "echo hi > out.txt"}),
            }]
        );
        assert_eq!(
            b.sent_results(second),
            [SentResult {
                call_id: "call_t1".into(),
                text: "Exit code: 0\nOutput:\n".into(),
            }]
        );
        h.finish();
    }

    /// Two calls in one turn: both come back in order, and go back as one assistant turn.
    pub async fn parallel_tool_calls(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::tool_calls(vec![
            call("call_p1", "echo one > one.txt"),
            call("call_p2", "echo two > two.txt"),
        ]));
        h.mock.push(Reply::text("BOTH DONE"));
        let input = first_input("Create two files.");
        let resp = h.send(&codex_request(&input, None)).await.completed();
        let ids: Vec<&str> = items_of(&resp, "function_call")
            .iter()
            .filter_map(|c| c["call_id"].as_str())
            .collect();
        assert_eq!(ids, ["call_p1", "call_p2"]);

        let next = follow_up(&input, &resp, &[("call_p1", "ok 1"), ("call_p2", "ok 2")]);
        let request = codex_request(&next, None);
        h.send(&request).await.completed();
        h.assert_no_rejections();
        let second = &h.upstream()[1].body;
        let ids: Vec<String> = b.sent_calls(second).into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["call_p1", "call_p2"]);
        let results: Vec<(String, String)> = b
            .sent_results(second)
            .into_iter()
            .map(|r| (r.call_id, r.text))
            .collect();
        assert_eq!(
            results,
            [
                ("call_p1".to_owned(), "ok 1".to_owned()),
                ("call_p2".to_owned(), "ok 2".to_owned())
            ]
        );
        match b {
            // Passed through: the upstream gets exactly what Codex sent.
            Backend::Responses => assert_eq!(second, &request),
            _ => assert_eq!(
                b.call_messages(second),
                1,
                "both calls in one assistant turn"
            ),
        }
        h.finish();
    }

    /// Codex's freeform apply_patch: offered as a one-string function where the wire has no
    /// freeform tools, and always handed back to Codex as a `custom_tool_call`.
    pub async fn apply_patch(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::tool_call(
            "call_patch",
            "apply_patch",
            json!({"input": PATCH}),
        ));
        h.mock.push(Reply::text("PATCHED"));
        let input = first_input("Add hello.txt.");
        let resp = h.send(&codex_request(&input, None)).await.completed();
        let custom = items_of(&resp, "custom_tool_call");
        assert_eq!(custom.len(), 1, "{resp}");
        assert_eq!(custom[0]["call_id"], "call_patch");
        assert_eq!(custom[0]["name"], "apply_patch");
        assert_eq!(custom[0]["input"], PATCH);
        assert!(items_of(&resp, "function_call").is_empty());
        let first = &h.upstream()[0].body;
        let offered = match b {
            Backend::Chat => array(first, "/tools")
                .iter()
                .find(|t| t["function"]["name"] == "apply_patch")
                .map(|t| t["function"]["parameters"]["required"].clone()),
            Backend::Anthropic => array(first, "/tools")
                .iter()
                .find(|t| t["name"] == "apply_patch")
                .map(|t| t["input_schema"]["required"].clone()),
            Backend::CommandCode => array(first, "/params/tools")
                .iter()
                .find(|t| t["name"] == "apply_patch")
                .map(|t| t["input_schema"]["required"].clone()),
            Backend::Responses => array(first, "/tools")
                .iter()
                .find(|t| t["name"] == "apply_patch")
                .map(|t| t["type"].clone()),
        };
        let expected = match b {
            Backend::Responses => json!("custom"),
            _ => json!(["input"]),
        };
        assert_eq!(offered, Some(expected), "how apply_patch was offered");

        let output = "Success. Updated the following files:\nA hello.txt\n";
        let next = follow_up(&input, &resp, &[("call_patch", output)]);
        assert_eq!(
            next.last().map(|i| i["type"].clone()),
            Some(json!("custom_tool_call_output"))
        );
        h.send(&codex_request(&next, None)).await.completed();
        h.assert_no_rejections();
        let second = &h.upstream()[1].body;
        let patch_input = match b {
            Backend::Responses => json!(PATCH),
            _ => json!({"input": PATCH}),
        };
        assert_eq!(
            b.sent_calls(second),
            [SentCall {
                id: "call_patch".into(),
                name: "apply_patch".into(),
                input: patch_input,
            }]
        );
        assert_eq!(b.sent_results(second)[0].text, output);
        h.finish();
    }

    /// Three turns with reasoning: each turn's reasoning goes back in the provider's form,
    /// under a mock that refuses a tool loop whose reasoning was lost.
    pub async fn reasoning_three_turns(b: Backend) {
        let rules = StrictRules {
            require_reasoning_passback: true,
            ..StrictRules::default()
        };
        let h = Harness::start(b, rules).await;
        let (r1, r2, r3) = ("First I write a.", "Now b.", "Both are written.");
        h.mock.push(
            Reply::tool_call("call_r1", "exec_command", json!({"cmd": "echo 1 > a.txt"}))
                .with_reasoning(r1),
        );
        h.mock.push(
            Reply::tool_call("call_r2", "exec_command", json!({"cmd": "echo 2 > b.txt"}))
                .with_reasoning(r2),
        );
        h.mock.push(Reply::text("ALL DONE").with_reasoning(r3));
        let effort = Some("high");
        let input = first_input("Write a.txt, then b.txt.");
        let resp1 = h.send(&codex_request(&input, effort)).await.completed();
        let reasoning = items_of(&resp1, "reasoning");
        assert_eq!(reasoning.len(), 1, "{resp1}");
        assert!(
            reasoning[0]["encrypted_content"].is_string(),
            "the reasoning item carries what the provider needs back: {}",
            reasoning[0]
        );
        let shown = format!("{}{}", reasoning[0]["summary"], reasoning[0]["content"]);
        assert!(shown.contains(r1), "Codex shows the reasoning: {shown}");

        let input2 = follow_up(&input, &resp1, &[("call_r1", "ok")]);
        let resp2 = h.send(&codex_request(&input2, effort)).await.completed();
        let input3 = follow_up(&input2, &resp2, &[("call_r2", "ok")]);
        let resp3 = h.send(&codex_request(&input3, effort)).await.completed();
        assert_eq!(
            items_of(&resp3, "message")[0]["content"][0]["text"],
            "ALL DONE"
        );
        h.assert_no_rejections();

        let reqs = h.upstream();
        assert_eq!(reqs.len(), 3);
        let (second, third) = (&reqs[1].body, &reqs[2].body);
        match b {
            // Command Code's generate route refuses reasoning history (providers.md §1.1):
            // it is shown to the user but never sent back.
            Backend::CommandCode => {
                assert!(b.sent_reasoning(second).is_empty());
                assert!(b.sent_reasoning(third).is_empty());
                for text in [r1, r2] {
                    assert!(
                        !third.to_string().contains(text),
                        "reasoning sent back: {third}"
                    );
                }
            }
            _ => {
                assert_eq!(b.sent_reasoning(second), [r1]);
                assert_eq!(b.sent_reasoning(third), [r1, r2]);
            }
        }
        if b == Backend::Responses {
            // Passed through: the upstream's own encrypted_content, byte for byte.
            let sent: Vec<&Value> = b
                .history(third)
                .iter()
                .filter(|i| i["type"] == "reasoning")
                .map(|i| &i["encrypted_content"])
                .collect();
            let issued: Vec<&Value> = [&resp1, &resp2]
                .iter()
                .flat_map(|r| items_of(r, "reasoning"))
                .map(|i| &i["encrypted_content"])
                .collect();
            assert_eq!(sent, issued);
        }
        h.finish();
    }

    /// An upstream 429 reaches Codex as 429 with Retry-After (Codex waits, then retries).
    pub async fn rate_limit(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::rate_limited(3));
        let answer = h.send(&codex_request(&first_input("hi"), None)).await;
        let err = assert_refused(&answer, 429, "rate_limit_exceeded");
        assert_eq!(answer.header("retry-after"), Some("3"), "{answer:?}");
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(msg.contains("try again in 3"), "{msg}");
        h.finish();
    }

    /// 5xx and overload: statuses Codex retries, never its fatal "at capacity" code.
    pub async fn server_error(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::server_error());
        h.mock.push(Reply::overloaded());
        let request = codex_request(&first_input("hi"), None);
        let answer = h.send(&request).await;
        let err = assert_refused(&answer, 502, "upstream_error");
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("`default`") && msg.contains("500"),
            "the message names the endpoint and the status: {msg}"
        );
        let answer = h.send(&request).await;
        assert_refused(&answer, 503, "upstream_overloaded");
        assert!(answer.header("retry-after").is_some(), "{answer:?}");
        h.finish();
    }

    /// A connection reset mid-text, and one after every item but before the end of the turn.
    pub async fn cut_stream(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::Cut {
            turn: Turn {
                text: Some("this answer will be cut short".into()),
                ..Turn::default()
            },
            after_chunks: 4,
        });
        let Reply::Turn(turn) =
            Reply::tool_call("call_c1", "exec_command", json!({"cmd": "rm -rf build"}))
        else {
            unreachable!("tool_call builds a turn")
        };
        h.mock.push(Reply::CutBeforeEnd(turn));
        let request = codex_request(&first_input("hi"), None);
        for _ in 0..2 {
            let answer = h.send(&request).await;
            // Every backend, the relaying one included, turns the reset into a failed
            // response that names the endpoint (rather than a broken connection).
            let message = assert_retryable_failure(&h, &answer).unwrap_or_default();
            assert!(message.contains("`default`"), "{message}");
        }
        h.finish();
    }

    /// The provider's own error event mid-stream (Anthropic `overloaded_error`, Command Code
    /// `error`, an OpenAI-style error chunk, Responses `response.failed`).
    pub async fn mid_stream_error(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::ErrorAfter {
            turn: Turn {
                text: Some("partial output before the error".into()),
                ..Turn::default()
            },
            after_chunks: 4,
        });
        let answer = h.send(&codex_request(&first_input("hi"), None)).await;
        assert_retryable_failure(&h, &answer);
        let t = answer.terminal().expect("a terminal event");
        assert_eq!(t["type"], "response.failed", "{}", answer.body);
        h.finish();
    }

    /// The stream stops early without a reset: Command Code's `abort` part, a clean EOF
    /// before the end of the turn elsewhere.
    pub async fn early_end(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::Abort {
            turn: Turn {
                text: Some("an answer that stops early".into()),
                ..Turn::default()
            },
            after_chunks: 4,
        });
        let answer = h.send(&codex_request(&first_input("hi"), None)).await;
        assert_retryable_failure(&h, &answer);
        if b == Backend::Responses {
            assert!(answer.terminated, "a clean EOF is relayed as one");
            assert!(answer.terminal().is_none(), "{}", answer.body);
        }
        h.finish();
    }

    /// A key the upstream refuses: a clear, non-retryable error naming the endpoint.
    pub async fn bad_key(b: Backend) {
        let wrong = "sk-test-wrong-key-0000";
        let h = Harness::with_proxy_key(b, StrictRules::default(), wrong).await;
        let answer = h.send(&codex_request(&first_input("hi"), None)).await;
        // 400: Codex shows the message and stops (a 401 would send it to refresh its own
        // credentials, a 5xx into a retry loop).
        let err = assert_refused(&answer, 400, "upstream_auth_failed");
        assert!(answer.header("retry-after").is_none());
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("`default`") && msg.contains(&h.mock.addr().to_string()),
            "the message names the endpoint and its URL: {msg}"
        );
        assert!(msg.contains("API key") && msg.contains("401"), "{msg}");
        assert!(!answer.body.contains(wrong), "the key was echoed: {msg}");
        assert_eq!(
            h.mock.rejections().len(),
            1,
            "one refused request, no retries"
        );
        h.finish();
    }

    /// The provider's context-overflow wording becomes Codex's `context_length_exceeded`.
    pub async fn context_overflow(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::context_overflow(b.flavor()));
        let answer = h.send(&codex_request(&first_input("hi"), None)).await;
        assert_refused(&answer, 400, "context_length_exceeded");
        assert!(answer.header("retry-after").is_none());
        h.finish();
    }

    /// Command Code's `finish` with `rawFinishReason: network_error`: the model provider
    /// failed after partial output; nothing may be committed.
    pub async fn failed_finish(b: Backend) {
        let h = Harness::start(b, StrictRules::default()).await;
        h.mock.push(Reply::Turn(Turn {
            text: Some("partial".into()),
            tool_calls: vec![call("call_f1", "touch half-done")],
            finish_reason: Some("network_error".into()),
            ..Turn::default()
        }));
        let answer = h.send(&codex_request(&first_input("hi"), None)).await;
        assert_retryable_failure(&h, &answer);
        h.finish();
    }

    /// Anthropic's `redacted_thinking` goes back unchanged before the `tool_use`.
    pub async fn redacted_thinking(b: Backend) {
        let rules = StrictRules {
            require_reasoning_passback: true,
            ..StrictRules::default()
        };
        let h = Harness::start(b, rules).await;
        let Reply::Turn(mut turn) =
            Reply::tool_call("call_x1", "exec_command", json!({"cmd": "true"}))
        else {
            unreachable!("tool_call builds a turn")
        };
        turn.redacted_thinking = Some("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw".into());
        h.mock.push(Reply::Turn(turn));
        h.mock.push(Reply::text("OK"));
        let input = first_input("hi");
        let resp = h
            .send(&codex_request(&input, Some("high")))
            .await
            .completed();
        assert_eq!(items_of(&resp, "reasoning").len(), 1, "{resp}");
        let next = follow_up(&input, &resp, &[("call_x1", "ok")]);
        h.send(&codex_request(&next, Some("high")))
            .await
            .completed();
        h.assert_no_rejections();
        let second = &h.upstream()[1].body;
        let assistant = b
            .history(second)
            .iter()
            .find(|m| m["role"] == "assistant")
            .expect("assistant message");
        assert_eq!(
            assistant["content"][0],
            json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"})
        );
        assert_eq!(assistant["content"][1]["type"], "tool_use");
        h.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// The table.

macro_rules! backend_test {
    ($scenario:ident, $test:ident, $variant:ident, run) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn $test() {
            super::scenarios::$scenario(super::Backend::$variant).await;
        }
    };
    ($scenario:ident, $test:ident, $variant:ident, skip($why:literal)) => {
        // An opt-out is documentation; it must say why.
        const _: () = assert!(!$why.is_empty());
    };
}

/// One module per scenario, one test per backend that runs it: `conformance::<scenario>::<backend>`.
/// Every row names all four backends, in this order.
macro_rules! conformance {
    ($(
        $scenario:ident {
            chat: $chat:ident $(($chat_why:literal))?,
            anthropic: $anthropic:ident $(($anthropic_why:literal))?,
            command_code: $cc:ident $(($cc_why:literal))?,
            responses: $responses:ident $(($responses_why:literal))? $(,)?
        }
    )*) => {$(
        mod $scenario {
            backend_test!($scenario, chat, Chat, $chat $(($chat_why))?);
            backend_test!($scenario, anthropic, Anthropic, $anthropic $(($anthropic_why))?);
            backend_test!($scenario, command_code, CommandCode, $cc $(($cc_why))?);
            backend_test!($scenario, responses, Responses, $responses $(($responses_why))?);
        }
    )*};
}

// Per-backend forms inside a `run` cell (asserted by the scenario, not opt-outs):
// - reasoning_three_turns: Command Code gets no reasoning back (its route refuses reasoning
//   history); Responses gets its own reasoning items, `encrypted_content` byte for byte.
// - parallel_tool_calls: Responses is passed through, so the upstream body is Codex's own.
// - cut_stream / early_end / mid_stream_error: Responses relays the upstream's bytes. A reset
//   ends with the proxy's own `response.failed` (as for every backend); a clean EOF is relayed
//   as a stream without `response.completed`, which Codex retries; items the upstream already
//   marked done are the upstream's to commit, exactly as when Codex talks to it directly, so
//   the "no committed item" check applies to the translating backends only.
// - stream: the "every done held back to the end" check applies to the translating backends
//   only; Responses event order is the upstream's, checked for the same grammar.
conformance! {
    text {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    stream {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    tool_call {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    parallel_tool_calls {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    apply_patch {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    reasoning_three_turns {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    rate_limit {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    server_error {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    cut_stream {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    mid_stream_error {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    early_end {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    bad_key {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    context_overflow {
        chat: run, anthropic: run, command_code: run, responses: run,
    }
    failed_finish {
        chat: skip("Chat Completions has no finish reason that reports an upstream failure; its failures arrive as error chunks (mid_stream_error)"),
        anthropic: skip("Messages has no failing stop_reason; failures arrive as `error` events (mid_stream_error)"),
        command_code: run,
        responses: skip("a failed Responses turn ends with response.failed, which mid_stream_error covers"),
    }
    redacted_thinking {
        chat: skip("redacted_thinking is an Anthropic content block; Chat reasoning is plain text (reasoning_three_turns)"),
        anthropic: run,
        command_code: skip("redacted_thinking is an Anthropic content block, and Command Code takes no reasoning back"),
        responses: skip("redacted_thinking is an Anthropic content block; Responses reasoning is opaque encrypted_content (reasoning_three_turns)"),
    }
}
