//! The real Codex CLI (`codex exec`) through the standalone proxy to the Anthropic Messages
//! and Command Code `/alpha/generate` mocks. Assertions are on what Codex did (files, exit
//! code, output) and on what the mock received, in each provider's own terms.

use codex_launcher_e2e::{Codex, CodexRun, StandaloneProxy, codex_label};
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply, StrictRules, ToolCall};
use serde_json::{Value, json};

/// The non-Chat backends driven by the real Codex here (Chat is `codex_exec`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Anthropic,
    CommandCode,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Anthropic => "anthropic",
            Backend::CommandCode => "command-code",
        }
    }

    /// A tool-call id in the provider's own style.
    fn call_id(self, n: u32) -> String {
        match self {
            Backend::Anthropic => format!("toolu_01Mock{n:012}"),
            Backend::CommandCode => format!("call_mock{n:08}"),
        }
    }

    fn messages(self, body: &Value) -> &[Value] {
        let pointer = match self {
            Backend::Anthropic => "/messages",
            Backend::CommandCode => "/params/messages",
        };
        body.pointer(pointer)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .expect("messages array")
    }

    /// Assistant messages that make tool calls, each as its list of (call id, tool name).
    fn call_turns(self, body: &Value) -> Vec<Vec<(String, String)>> {
        let (kind, id, name) = match self {
            Backend::Anthropic => ("tool_use", "id", "name"),
            Backend::CommandCode => ("tool-call", "toolCallId", "toolName"),
        };
        self.messages(body)
            .iter()
            .filter(|m| m["role"] == "assistant")
            .map(|m| {
                blocks(m)
                    .iter()
                    .filter(|b| b["type"] == kind)
                    .map(|b| (str_of(&b[id]), str_of(&b[name])))
                    .collect::<Vec<_>>()
            })
            .filter(|calls| !calls.is_empty())
            .collect()
    }

    /// Tool results in order, as (call id, output text).
    fn results(self, body: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for m in self.messages(body) {
            for b in blocks(m) {
                match self {
                    Backend::Anthropic if b["type"] == "tool_result" => {
                        let text = blocks_text(&b["content"]);
                        out.push((str_of(&b["tool_use_id"]), text));
                    }
                    Backend::CommandCode if b["type"] == "tool-result" => {
                        out.push((str_of(&b["toolCallId"]), str_of(&b["output"]["value"])));
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn blocks(m: &Value) -> &[Value] {
    m["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn blocks_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        other => other
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect(),
    }
}

/// A mock upstream, the proxy in front of it, and a way to run Codex through both.
struct Setup {
    backend: Backend,
    mock: MockUpstream,
    proxy: StandaloneProxy,
}

const UPSTREAM_KEY: &str = "sk-test-backends-upstream-key";

async fn setup(backend: Backend, rules: StrictRules) -> Setup {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some(UPSTREAM_KEY.into()),
        rules,
        ..MockConfig::default()
    })
    .await
    .expect("start mock");
    // Both providers' documented bases have no `/v1`: the proxy adds `/v1/messages` or
    // `/alpha/generate`.
    let proxy = StandaloneProxy::start(json!({
        "backend": backend.name(),
        "target_url": mock.root_url(),
        "api_key": UPSTREAM_KEY,
    }));
    Setup {
        backend,
        mock,
        proxy,
    }
}

async fn run(codex: Codex) -> CodexRun {
    tokio::task::spawn_blocking(move || codex.run())
        .await
        .expect("codex thread")
}

fn assert_ok(run: &CodexRun, s: &Setup) {
    assert_eq!(
        run.code,
        Some(0),
        "codex failed ({:?}, {})\n--- stdout\n{}\n--- stderr\n{}\n--- proxy\n{}\n--- mock rejections\n{:?}",
        s.backend,
        codex_label(),
        run.stdout,
        run.stderr,
        s.proxy.stderr(),
        s.mock.rejections()
    );
    assert!(
        s.mock.rejections().is_empty(),
        "the mock refused a request: {:?}",
        s.mock.rejections()
    );
    assert!(
        !s.proxy.stderr().contains(UPSTREAM_KEY),
        "the proxy printed the upstream key"
    );
}

fn exec(id: String, cmd: &str) -> ToolCall {
    ToolCall {
        id,
        name: "exec_command".into(),
        arguments: json!({"cmd": cmd}).to_string(),
    }
}

async fn tool_call_creates_file(backend: Backend) {
    let s = setup(backend, StrictRules::default()).await;
    let id = backend.call_id(1);
    s.mock.push(Reply::tool_calls(vec![exec(
        id.clone(),
        "echo hello-from-tool > out.txt",
    )]));
    s.mock.push(Reply::text("DONE"));
    let r = run(Codex::new(s.proxy.base_url()).prompt("Create out.txt")).await;
    assert_ok(&r, &s);
    assert_eq!(r.stdout.trim(), "DONE");
    assert_eq!(r.file("out.txt").as_deref(), Some("hello-from-tool\n"));
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 2, "one request per model turn");
    // Our key in the provider's header, not Codex's token.
    let (header, value) = match backend {
        Backend::Anthropic => ("x-api-key", UPSTREAM_KEY.to_owned()),
        Backend::CommandCode => ("authorization", format!("Bearer {UPSTREAM_KEY}")),
    };
    assert_eq!(reqs[0].header(header), Some(value.as_str()));
    assert!(
        !reqs[0]
            .headers
            .iter()
            .any(|(k, _)| k.starts_with("x-codex-"))
    );
    let second = &reqs[1].body;
    assert_eq!(
        backend.call_turns(second),
        [vec![(id.clone(), "exec_command".to_owned())]]
    );
    let results = backend.results(second);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, id);
}

async fn two_parallel_calls(backend: Backend) {
    let s = setup(backend, StrictRules::default()).await;
    let (a, b) = (backend.call_id(1), backend.call_id(2));
    s.mock.push(Reply::tool_calls(vec![
        exec(a.clone(), "echo one > one.txt"),
        exec(b.clone(), "echo two > two.txt"),
    ]));
    s.mock.push(Reply::text("BOTH DONE"));
    let r = run(Codex::new(s.proxy.base_url()).prompt("Create two files")).await;
    assert_ok(&r, &s);
    assert_eq!(r.file("one.txt").as_deref(), Some("one\n"));
    assert_eq!(r.file("two.txt").as_deref(), Some("two\n"));
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 2);
    let second = &reqs[1].body;
    // Both calls in one assistant message, both results in the one message after it.
    assert_eq!(
        backend.call_turns(second),
        [vec![
            (a.clone(), "exec_command".to_owned()),
            (b.clone(), "exec_command".to_owned())
        ]]
    );
    let ids: Vec<String> = backend.results(second).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, [a, b]);
}

async fn apply_patch_creates_file(backend: Backend) {
    let s = setup(backend, StrictRules::default()).await;
    let patch =
        "*** Begin Patch\n*** Add File: hello.txt\n+hello from apply_patch\n*** End Patch\n";
    let id = backend.call_id(7);
    let mut reply = Reply::tool_calls(vec![ToolCall {
        id: id.clone(),
        name: "apply_patch".into(),
        arguments: json!({"input": patch}).to_string(),
    }]);
    if backend == Backend::Anthropic {
        // gpt-5.5 asks for reasoning effort, which turns Anthropic thinking on; a thinking
        // model always thinks before its tool_use, and the mock then holds the tool loop to
        // Anthropic's signed-thinking rule.
        reply = reply.with_reasoning("A new file: one Add File hunk.");
    }
    s.mock.push(reply);
    s.mock.push(Reply::text("PATCHED"));
    // gpt-5.5 is in the bundled catalog of both tested releases with the freeform
    // apply_patch tool.
    let r = run(Codex::new(s.proxy.base_url())
        .model("gpt-5.5")
        .prompt("Add hello.txt"))
    .await;
    assert_ok(&r, &s);
    assert_eq!(
        r.file("hello.txt").as_deref(),
        Some("hello from apply_patch\n")
    );
    let reqs = s.mock.requests();
    let first = &reqs[0].body;
    let tools = match backend {
        Backend::Anthropic => &first["tools"],
        Backend::CommandCode => &first["params"]["tools"],
    };
    let apply = tools
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "apply_patch")
        .expect("apply_patch offered as a function");
    assert_eq!(apply["input_schema"]["required"], json!(["input"]));
    if backend == Backend::Anthropic {
        assert_eq!(
            first["thinking"]["type"], "enabled",
            "{}",
            first["thinking"]
        );
    }
    let second = &reqs[1].body;
    assert_eq!(
        backend.call_turns(second),
        [vec![(id.clone(), "apply_patch".to_owned())]]
    );
    let results = backend.results(second);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, id);
    assert!(results[0].1.contains("hello.txt"), "{results:?}");
}

/// Three model turns with reasoning. Anthropic: every tool loop must keep its signed thinking
/// block, first in the assistant message (the mock refuses the request otherwise). Command
/// Code: reasoning history must never be sent back (the mock refuses reasoning parts).
async fn thinking_three_turns(backend: Backend) {
    let rules = StrictRules {
        require_reasoning_passback: backend == Backend::Anthropic,
        ..StrictRules::default()
    };
    let s = setup(backend, rules).await;
    let (first, second) = ("First I write a.", "Now b.");
    let (a, b) = (backend.call_id(1), backend.call_id(2));
    s.mock
        .push(Reply::tool_calls(vec![exec(a.clone(), "echo 1 > a.txt")]).with_reasoning(first));
    s.mock
        .push(Reply::tool_calls(vec![exec(b.clone(), "echo 2 > b.txt")]).with_reasoning(second));
    s.mock
        .push(Reply::text("ALL DONE").with_reasoning("Both written."));
    let r = run(Codex::new(s.proxy.base_url()).prompt("Write a and b")).await;
    assert_ok(&r, &s);
    assert_eq!(r.stdout.trim(), "ALL DONE");
    assert_eq!(r.file("a.txt").as_deref(), Some("1\n"));
    assert_eq!(r.file("b.txt").as_deref(), Some("2\n"));
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 3, "no request was refused and retried");
    let third = &reqs[2].body;
    assert_eq!(
        backend.call_turns(third),
        [
            vec![(a, "exec_command".to_owned())],
            vec![(b, "exec_command".to_owned())]
        ]
    );
    let assistants: Vec<&Value> = backend
        .messages(third)
        .iter()
        .filter(|m| m["role"] == "assistant")
        .collect();
    match backend {
        Backend::Anthropic => {
            let leading: Vec<(&str, bool)> = assistants
                .iter()
                .map(|m| {
                    let b = &blocks(m)[0];
                    assert_eq!(b["type"], "thinking", "thinking leads the message: {m}");
                    let signed = b["signature"].as_str().is_some_and(|s| !s.is_empty());
                    (b["thinking"].as_str().unwrap_or_default(), signed)
                })
                .collect();
            assert_eq!(leading, [(first, true), (second, true)]);
        }
        Backend::CommandCode => {
            for m in &assistants {
                assert!(
                    !blocks(m).iter().any(|p| p["type"] == "reasoning"),
                    "reasoning sent back: {m}"
                );
            }
            let text = third.to_string();
            assert!(!text.contains(first) && !text.contains(second), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_tool_call_creates_file() {
    tool_call_creates_file(Backend::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn command_code_tool_call_creates_file() {
    tool_call_creates_file(Backend::CommandCode).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_two_parallel_calls() {
    two_parallel_calls(Backend::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn command_code_two_parallel_calls() {
    two_parallel_calls(Backend::CommandCode).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_apply_patch_creates_file() {
    apply_patch_creates_file(Backend::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn command_code_apply_patch_creates_file() {
    apply_patch_creates_file(Backend::CommandCode).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_thinking_three_turns() {
    thinking_three_turns(Backend::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn command_code_thinking_three_turns() {
    thinking_three_turns(Backend::CommandCode).await;
}
