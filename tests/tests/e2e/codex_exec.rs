//! The real Codex CLI (`codex exec`) through the standalone proxy to a mock Chat Completions
//! upstream. Assertions are on what Codex did (files, exit code, output) and on what the mock
//! received.

use codex_launcher_e2e::{Codex, CodexRun, StandaloneProxy, codex_label};
use codex_launcher_mock_upstream::{
    Flavor, MockConfig, MockUpstream, Reply, StrictRules, ToolCall,
};
use serde_json::{Value, json};

/// A mock upstream, the proxy in front of it, and a way to run Codex through both.
struct Setup {
    mock: MockUpstream,
    proxy: StandaloneProxy,
}

async fn setup(flavor: Flavor, provider: &str, rules: StrictRules) -> Setup {
    let mock = MockUpstream::start(MockConfig {
        flavor,
        api_key: Some("sk-upstream-test-key".into()),
        rules,
        ..MockConfig::default()
    })
    .await
    .expect("start mock");
    let proxy = StandaloneProxy::start(json!({
        "backend": "openai-compat",
        "target_url": mock.base_url(),
        "api_key": "sk-upstream-test-key",
        "provider": provider,
    }));
    Setup { mock, proxy }
}

async fn run(codex: Codex) -> CodexRun {
    tokio::task::spawn_blocking(move || codex.run())
        .await
        .expect("codex thread")
}

fn assert_ok(run: &CodexRun, setup: &Setup) {
    assert_eq!(
        run.code,
        Some(0),
        "codex failed ({})\n--- stdout\n{}\n--- stderr\n{}\n--- proxy\n{}\n--- mock rejections\n{:?}",
        codex_label(),
        run.stdout,
        run.stderr,
        setup.proxy.stderr(),
        setup.mock.rejections()
    );
}

fn messages(body: &Value) -> &Vec<Value> {
    body["messages"].as_array().expect("messages array")
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_call_creates_file_then_final_message() {
    let s = setup(Flavor::OpenAi, "generic", StrictRules::default()).await;
    s.mock.push(Reply::tool_call(
        "call_a1",
        "exec_command",
        json!({"cmd": "echo hello-from-tool > out.txt"}),
    ));
    s.mock.push(Reply::text("DONE"));
    let r = run(Codex::new(s.proxy.base_url()).prompt("Create out.txt")).await;
    assert_ok(&r, &s);
    assert_eq!(r.stdout.trim(), "DONE");
    assert_eq!(r.file("out.txt").as_deref(), Some("hello-from-tool\n"));
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 2, "one request per model turn");
    // The upstream got our key, not Codex's token, and no Codex session headers.
    let auth = reqs[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer sk-upstream-test-key"));
    assert!(
        !reqs[0]
            .headers
            .iter()
            .any(|(k, _)| k.starts_with("x-codex-"))
    );
    let second = messages(&reqs[1].body);
    let tool = second
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("tool result sent back");
    assert_eq!(tool["tool_call_id"], "call_a1");
    let call = second
        .iter()
        .find(|m| m["tool_calls"].is_array())
        .expect("assistant call replayed");
    assert_eq!(call["tool_calls"][0]["function"]["name"], "exec_command");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_parallel_tool_calls() {
    let s = setup(Flavor::OpenAi, "generic", StrictRules::default()).await;
    s.mock.push(Reply::tool_calls(vec![
        ToolCall {
            id: "call_p1".into(),
            name: "exec_command".into(),
            arguments: json!({"cmd": "echo one > one.txt"}).to_string(),
        },
        ToolCall {
            id: "call_p2".into(),
            name: "exec_command".into(),
            arguments: json!({"cmd": "echo two > two.txt"}).to_string(),
        },
    ]));
    s.mock.push(Reply::text("BOTH DONE"));
    let r = run(Codex::new(s.proxy.base_url()).prompt("Create two files")).await;
    assert_ok(&r, &s);
    assert_eq!(r.file("one.txt").as_deref(), Some("one\n"));
    assert_eq!(r.file("two.txt").as_deref(), Some("two\n"));
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 2);
    let msgs = messages(&reqs[1].body);
    let assistant = msgs
        .iter()
        .find(|m| m["tool_calls"].is_array())
        .expect("assistant with calls");
    assert_eq!(
        assistant["tool_calls"].as_array().map(Vec::len),
        Some(2),
        "both calls in one assistant message"
    );
    let ids: Vec<&str> = msgs
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["tool_call_id"].as_str())
        .collect();
    assert_eq!(ids, ["call_p1", "call_p2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_patch_through_the_custom_tool() {
    let s = setup(Flavor::OpenAi, "generic", StrictRules::default()).await;
    let patch =
        "*** Begin Patch\n*** Add File: hello.txt\n+hello from apply_patch\n*** End Patch\n";
    s.mock.push(Reply::tool_call(
        "call_patch",
        "apply_patch",
        json!({"input": patch}),
    ));
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
    let tools = reqs[0].body["tools"].as_array().expect("tools");
    let apply = tools
        .iter()
        .find(|t| t["function"]["name"] == "apply_patch")
        .expect("apply_patch offered as a function");
    assert_eq!(
        apply["function"]["parameters"]["required"],
        json!(["input"])
    );
    let msgs = messages(&reqs[1].body);
    let tool = msgs
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("patch result");
    assert_eq!(tool["tool_call_id"], "call_patch");
    assert!(
        tool["content"]
            .as_str()
            .unwrap_or_default()
            .contains("hello.txt"),
        "{tool}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reasoning_passed_back_over_three_turns() {
    let rules = StrictRules {
        require_reasoning_passback: true,
        ..StrictRules::default()
    };
    let s = setup(Flavor::DeepSeek, "deepseek", rules).await;
    s.mock.push(
        Reply::tool_call("call_r1", "exec_command", json!({"cmd": "echo 1 > a.txt"}))
            .with_reasoning("First I write a."),
    );
    s.mock.push(
        Reply::tool_call("call_r2", "exec_command", json!({"cmd": "echo 2 > b.txt"}))
            .with_reasoning("Now b."),
    );
    s.mock
        .push(Reply::text("ALL DONE").with_reasoning("Both written."));
    let r = run(Codex::new(s.proxy.base_url()).prompt("Write a and b")).await;
    assert_ok(&r, &s);
    assert_eq!(r.stdout.trim(), "ALL DONE");
    assert_eq!(r.file("b.txt").as_deref(), Some("2\n"));
    assert!(s.mock.rejections().is_empty(), "{:?}", s.mock.rejections());
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 3);
    let third = messages(&reqs[2].body);
    let reasoning: Vec<&str> = third
        .iter()
        .filter(|m| m["tool_calls"].is_array())
        .filter_map(|m| m["reasoning_content"].as_str())
        .collect();
    assert_eq!(reasoning, ["First I write a.", "Now b."]);
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_429_then_success() {
    let s = setup(Flavor::OpenAi, "generic", StrictRules::default()).await;
    s.mock.push(Reply::rate_limited(1));
    s.mock.push(Reply::text("AFTER WAIT"));
    let r = run(Codex::new(s.proxy.base_url())).await;
    assert_ok(&r, &s);
    assert_eq!(r.stdout.trim(), "AFTER WAIT");
    assert_eq!(
        s.mock.requests().len(),
        2,
        "Codex retried once after the Retry-After delay"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_stream_then_success() {
    let s = setup(Flavor::OpenAi, "generic", StrictRules::default()).await;
    let cut = codex_launcher_mock_upstream::Turn {
        text: Some("this answer will be cut short".into()),
        ..Default::default()
    };
    s.mock.push(Reply::Cut {
        turn: cut,
        after_chunks: 3,
    });
    s.mock.push(Reply::text("WHOLE ANSWER"));
    let r = run(Codex::new(s.proxy.base_url())).await;
    assert_ok(&r, &s);
    assert_eq!(
        r.stdout.trim(),
        "WHOLE ANSWER",
        "the cut answer must not count as a success"
    );
    assert_eq!(s.mock.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn context_overflow_stops_without_retry_loop() {
    let s = setup(Flavor::DeepSeek, "deepseek", StrictRules::default()).await;
    s.mock.push(Reply::context_overflow(Flavor::DeepSeek));
    let r = run(Codex::new(s.proxy.base_url())).await;
    assert_ne!(
        r.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(r.code.is_some(), "Codex must stop by itself, not hang");
    assert!(
        r.stderr.contains("context window"),
        "Codex should report the context window; stderr:\n{}",
        r.stderr
    );
    assert_eq!(
        s.mock.requests().len(),
        1,
        "no retries for a context overflow"
    );
}
