//! Fallback groups with the real Codex: a first member that fails before the first byte
//! (refused, 503, 429 with Retry-After, 402 out of quota) is passed over and the task
//! completes with no error shown; a 401 is shown, and the second member hears nothing; a
//! session moved from an Anthropic member to a DeepSeek one and back completes against the
//! strict mocks, its reasoning handed over.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use codex_launcher_dbus::{Backend, BreakerState, EndpointSpec, ManagerProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus, refused_port};
use codex_launcher_e2e::{codex_bin, scratch_dir, workspace_bin};
use codex_launcher_mock_upstream::{Failure, Flavor, MockConfig, MockUpstream, Reply, StrictRules};
use serde_json::json;

struct World {
    bus: PrivateBus,
    daemon: DaemonProcess,
    m: ManagerProxy<'static>,
    _conn: zbus::Connection,
    work: tempfile::TempDir,
}

async fn world() -> World {
    let bus = PrivateBus::start(None, &[]);
    let codex = codex_bin();
    let daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", codex.to_str().expect("utf-8 path"))],
    );
    daemon.wait_notify("READY=1");
    let conn = bus.connect().await;
    let m = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("manager");
    World {
        bus,
        daemon,
        m,
        _conn: conn,
        work: scratch_dir("groups-work"),
    }
}

impl World {
    async fn endpoint(&self, name: &str, backend: Backend, url: String, key: &str) -> String {
        let spec = EndpointSpec {
            name: name.into(),
            backend,
            base_url: url,
            default_model: "mock-model".into(),
            ..EndpointSpec::default()
        };
        self.m.add_endpoint(spec, key).await.expect("add endpoint")
    }

    async fn group(&self, name: &str, members: &[&str]) {
        let members = members
            .iter()
            .map(|e| ((*e).to_owned(), String::new()))
            .collect();
        self.m.add_group(name, members).await.expect("add group");
    }

    /// `codexctl run -e GROUP -- exec …` in the work directory: what the user types.
    fn run(&self, group: &str, codex_args: &[&str]) -> Output {
        let mut args = vec!["run", "-e", group, "--"];
        args.extend_from_slice(codex_args);
        Command::new(workspace_bin("codexctl"))
            .args(&args)
            .current_dir(self.work.path())
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::null())
            .output()
            .expect("codexctl run")
    }

    fn exec(&self, group: &str, prompt: &str) -> Output {
        self.run(
            group,
            &[
                "exec",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                prompt,
            ],
        )
    }
}

fn explain(out: &Output, daemon: &DaemonProcess) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}\ndaemon:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        daemon.stderr()
    )
}

fn good(flavor: Flavor, key: &str) -> MockConfig {
    MockConfig {
        flavor,
        api_key: Some(key.into()),
        ..MockConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_fails_over_before_the_first_byte() {
    let w = world().await;
    let second = MockUpstream::start(good(Flavor::OpenAi, "sk-test-second"))
        .await
        .expect("mock");
    let healthy = w
        .endpoint(
            "Second",
            Backend::OpenaiCompat,
            second.base_url(),
            "sk-test-second",
        )
        .await;
    // Nothing listens on this port, and nothing can while `_reserved` lives: connection
    // refused. (A released port could be given to another test's mock, which would answer.)
    let (port, _reserved) = refused_port();
    let refused = w
        .endpoint(
            "Refused",
            Backend::OpenaiCompat,
            format!("http://127.0.0.1:{port}/v1"),
            "sk-test-refused",
        )
        .await;
    let failing = |reply: Reply| async move {
        let mock = MockUpstream::start(good(Flavor::OpenAi, "sk-test-first"))
            .await
            .expect("mock");
        mock.push(reply);
        mock
    };
    let unavailable = failing(Reply::Fail(Failure::Overloaded)).await;
    let limited = failing(Reply::Fail(Failure::RateLimited {
        retry_after_secs: 7,
    }))
    .await;
    let broke = failing(Reply::Status {
        status: 402,
        headers: Vec::new(),
        body: json!({"error": {"message": "You exceeded your current quota.",
            "type": "insufficient_quota", "code": "insufficient_quota"}})
        .to_string(),
    })
    .await;
    let mut cases = vec![("refused", refused, None)];
    for (name, mock) in [
        ("unavailable", &unavailable),
        ("limited", &limited),
        ("broke", &broke),
    ] {
        let id = w
            .endpoint(
                name,
                Backend::OpenaiCompat,
                mock.base_url(),
                "sk-test-first",
            )
            .await;
        cases.push((name, id, Some(mock)));
    }
    for (name, first, mock) in &cases {
        let group = format!("g-{name}");
        w.group(&group, &[first, &healthy]).await;
        second.push(Reply::text(format!("SERVED FOR {name}")));
        let out = w.exec(&group, "Answer briefly.");
        assert!(out.status.success(), "{name}: {}", explain(&out, &w.daemon));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("SERVED FOR {name}")),
            "{name}: {}",
            explain(&out, &w.daemon)
        );
        if let Some(mock) = mock {
            assert_eq!(
                mock.requests().len(),
                1,
                "{name}: the first member was tried once"
            );
        }
    }
    assert_eq!(
        second.requests().len(),
        4,
        "the second member served every task"
    );
    // The 429 member cools down for its Retry-After, the one out of quota for an hour.
    let show = |group: &str| {
        let w = &w;
        let group = group.to_owned();
        async move { w.m.get_group(&group).await.expect("group") }
    };
    let limited = show("g-limited").await;
    assert!(
        (1..=7).contains(&limited.members[0].cooldown_secs),
        "{limited:?}"
    );
    let broke = show("g-broke").await;
    assert!(broke.members[0].cooldown_secs > 3000, "{broke:?}");
    assert_eq!(broke.members[1].breaker, BreakerState::Closed);
    let log = w.daemon.stderr();
    assert!(
        log.contains("group member failed before the first byte; trying the next"),
        "every failover is in the journal: {log}"
    );
    let status = Command::new(workspace_bin("codexctl"))
        .args(["group", "show", "g-broke"])
        .env("DBUS_SESSION_BUS_ADDRESS", &w.bus.address)
        .output()
        .expect("codexctl group show");
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("quota"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_shown_and_not_failed_over() {
    let w = world().await;
    let first = MockUpstream::start(good(Flavor::OpenAi, "sk-test-right"))
        .await
        .expect("mock");
    let second = MockUpstream::start(good(Flavor::OpenAi, "sk-test-second"))
        .await
        .expect("mock");
    let wrong = w
        .endpoint(
            "Wrong key",
            Backend::OpenaiCompat,
            first.base_url(),
            "sk-test-wrong",
        )
        .await;
    let healthy = w
        .endpoint(
            "Second",
            Backend::OpenaiCompat,
            second.base_url(),
            "sk-test-second",
        )
        .await;
    w.group("coding", &[&wrong, &healthy]).await;
    let out = w.exec("coding", "Answer briefly.");
    assert!(!out.status.success(), "{}", explain(&out, &w.daemon));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("refused the API key") && all.contains("Wrong key"),
        "the auth error, naming the member: {}",
        explain(&out, &w.daemon)
    );
    assert!(
        second.requests().is_empty(),
        "the second member received no request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_moves_between_anthropic_and_deepseek_with_its_reasoning_handed_over() {
    let w = world().await;
    let strict = StrictRules {
        require_reasoning_passback: true,
        ..StrictRules::default()
    };
    let anthropic = MockUpstream::start(MockConfig {
        rules: strict.clone(),
        ..good(Flavor::OpenAi, "sk-ant-test-handover")
    })
    .await
    .expect("anthropic mock");
    let deepseek = MockUpstream::start(MockConfig {
        rules: strict,
        ..good(Flavor::DeepSeek, "sk-test-deepseek-handover")
    })
    .await
    .expect("deepseek mock");
    let claude = w
        .endpoint(
            "Claude",
            Backend::Anthropic,
            anthropic.root_url(),
            "sk-ant-test-handover",
        )
        .await;
    let ds = w
        .endpoint(
            "DeepSeek",
            Backend::OpenaiCompat,
            deepseek.base_url(),
            "sk-test-deepseek-handover",
        )
        .await;
    w.m.update_endpoint(&ds, {
        let mut s = w.m.get_endpoint(&ds).await.expect("get").spec;
        s.provider = "deepseek".into();
        s
    })
    .await
    .expect("deepseek row");
    w.group("pair", &[&claude, &ds]).await;

    // Turn 1: Claude thinks and calls a tool, then fails before the tool result's answer:
    // DeepSeek finishes the loop, and requires the call's reasoning back.
    anthropic.push(
        Reply::tool_call(
            "call_h1",
            "exec_command",
            json!({"cmd": "echo one > one.txt"}),
        )
        .with_reasoning("Claude plans to write one."),
    );
    anthropic.push(Reply::Fail(Failure::Overloaded));
    deepseek.push(Reply::text("TURN ONE DONE").with_reasoning("The file is written."));
    let out = w.exec("pair", "Write one.txt.");
    assert!(out.status.success(), "turn 1: {}", explain(&out, &w.daemon));
    assert!(String::from_utf8_lossy(&out.stdout).contains("TURN ONE DONE"));
    assert_eq!(read(w.work.path(), "one.txt").as_deref(), Some("one\n"));

    // Turn 2 (`exec resume`: a new launch on the same thread): the thread stays on DeepSeek,
    // which calls a tool, then fails;
    // Claude takes over and must not be sent DeepSeek's reasoning as its own thinking.
    deepseek.push(
        Reply::tool_call(
            "call_h2",
            "exec_command",
            json!({"cmd": "echo two > two.txt"}),
        )
        .with_reasoning("DeepSeek writes two."),
    );
    deepseek.push(Reply::Fail(Failure::Overloaded));
    anthropic.push(Reply::text("TURN TWO DONE").with_reasoning("Both written."));
    let out = w.run(
        "pair",
        &[
            "exec",
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            "resume",
            "--last",
            "Now write two.txt.",
        ],
    );
    assert!(out.status.success(), "turn 2: {}", explain(&out, &w.daemon));
    assert!(String::from_utf8_lossy(&out.stdout).contains("TURN TWO DONE"));
    assert_eq!(
        read(w.work.path(), "two.txt").as_deref(),
        Some("two\n"),
        "the resumed thread stays on DeepSeek: {}",
        explain(&out, &w.daemon)
    );

    assert!(
        anthropic.rejections().is_empty(),
        "{:?}",
        anthropic.rejections()
    );
    assert!(
        deepseek.rejections().is_empty(),
        "{:?}",
        deepseek.rejections()
    );
    // DeepSeek got Claude's thinking as plain reasoning_content, never its signature.
    let ds_reqs = deepseek.requests();
    let handed = ds_reqs[0].body.to_string();
    assert!(handed.contains("Claude plans to write one."), "{handed}");
    assert!(!handed.contains("signature"), "{handed}");
    // Claude, taking over turn 2, got no foreign thinking block.
    let last = anthropic
        .requests()
        .last()
        .expect("claude request")
        .body
        .clone();
    let thinking: Vec<&serde_json::Value> = last["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .filter(|b| b["type"] == "thinking")
        .filter(|b| {
            b["thinking"]
                .as_str()
                .is_some_and(|t| t.contains("DeepSeek"))
        })
        .collect();
    assert!(
        thinking.is_empty(),
        "foreign thinking sent to Claude: {last}"
    );
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}
