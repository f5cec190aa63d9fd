//! `codexctl doctor --probe`: real round trips through a real daemon to mock providers with
//! quirks — one whose schema refuses `parallel_tool_calls` and whose model makes one call
//! when asked for two, one that insists on getting `reasoning_content` back (DeepSeek's
//! thinking-mode rule), one with Moonshot's schema validator — and the quirks recorded into
//! the endpoint.

use codex_launcher_dbus::{Backend, EndpointSpec, ManagerProxy, ModelSpec};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::workspace_bin;
use codex_launcher_mock_upstream::{
    Flavor, MockConfig, MockUpstream, Reply, StrictRules, ToolCall,
};
use serde_json::{Value, json};

async fn endpoint(m: &ManagerProxy<'_>, name: &str, url: &str, provider: &str) -> String {
    let spec = EndpointSpec {
        provider: provider.into(),
        name: name.into(),
        backend: Backend::OpenaiCompat,
        base_url: url.into(),
        default_model: "probe-model".into(),
        models: vec![ModelSpec {
            id: "probe-model".into(),
            parallel_tool_calls: true,
            ..ModelSpec::default()
        }],
        ..EndpointSpec::default()
    };
    m.add_endpoint(spec, "sk-test-probe-key")
        .await
        .expect("add")
}

fn ctl(bus: &PrivateBus, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(workspace_bin("codexctl"))
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("run codexctl");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap_or_default().to_owned(),
                c["verdict"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn weather(id: &str, city: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "probe_weather".into(),
        arguments: json!({"city": city}).to_string(),
    }
}

/// A mock host of `flavor` under `rules`, with the first two probe turns queued (a text
/// answer, then one tool call), which every probe here starts with.
async fn quirky_host(flavor: Flavor, rules: StrictRules) -> MockUpstream {
    let mock = MockUpstream::start(MockConfig {
        flavor,
        api_key: Some("sk-test-probe-key".into()),
        rules,
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    mock.push(Reply::text("OK"));
    mock.push(paris("c1"));
    mock
}

/// The model calling the probe's tool for Paris.
fn paris(id: &str) -> Reply {
    Reply::tool_call(id, "probe_weather", json!({"city": "Paris"}))
}

/// A daemon on its own private bus, ready, and its manager.
async fn ready_daemon() -> (PrivateBus, DaemonProcess, ManagerProxy<'static>) {
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    let m = bus.manager().await.1;
    (bus, daemon, m)
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_records_a_refused_field_and_missing_parallel_calls() {
    let mock = quirky_host(
        Flavor::OpenAi,
        StrictRules {
            reject_fields: vec!["parallel_tool_calls".into()],
            ..StrictRules::default()
        },
    )
    .await;
    // Asked for two calls, the model makes one.
    mock.push(paris("c2"));
    mock.push(paris("c3"));
    mock.push(Reply::text("It is sunny."));
    mock.push(Reply::text("Sunny in Paris."));

    let (bus, daemon, m) = ready_daemon().await;
    // Set up as OpenAI proper, which takes `parallel_tool_calls`: this host's closed schema
    // refuses it.
    let id = endpoint(&m, "NIM-like", &mock.base_url(), "openai").await;

    let (code, out, err) = ctl(&bus, &["doctor", "--probe", &id, "--json"]);
    assert_eq!(code, Some(0), "{out}{err}\n{}", daemon.stderr());
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        verdicts(&report),
        [
            ("text".into(), "ok".into()),
            ("tool-call".into(), "quirk".into()),
            ("parallel-tool-calls".into(), "quirk".into()),
            ("reasoning-pass-back".into(), "ok".into()),
            ("tool-schema".into(), "ok".into()),
        ],
        "{report:#}"
    );
    assert_eq!(report["quirks"]["parallel_tool_calls"], false, "{report:#}");
    let info = m.get_endpoint(&id).await.expect("endpoint");
    assert!(
        info.spec
            .quirks_json
            .contains("\"parallel_tool_calls\":false")
    );
    assert!(
        !info.spec.models[0].parallel_tool_calls,
        "the model makes one call per turn"
    );
    // After the quirk, the field is not sent any more.
    let bodies: Vec<Value> = mock.requests().iter().map(|r| r.body.clone()).collect();
    assert!(
        bodies
            .last()
            .is_some_and(|b| b.get("parallel_tool_calls").is_none())
    );
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer sk-test-probe-key"))
    );

    // The table, for people.
    let (code, table, err) = ctl(&bus, &["doctor", "--probe", &id]);
    assert_eq!(
        code,
        Some(7),
        "the mock is out of replies: probe checks fail\n{table}{err}"
    );
    assert!(table.contains("fail") && table.contains("text"), "{table}");
    assert!(err.contains("probe check(s) failed"), "{err}");
    let (code, _, err) = ctl(&bus, &["doctor", "--probe", "no-such-endpoint"]);
    assert_eq!(code, Some(3), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_finds_that_reasoning_must_be_passed_back() {
    let mock = quirky_host(
        Flavor::DeepSeek,
        StrictRules {
            require_reasoning_passback: true,
            ..StrictRules::default()
        },
    )
    .await;
    mock.push(Reply::tool_calls(vec![
        weather("c2", "Paris"),
        weather("c3", "Tokyo"),
    ]));
    // Reasoning turn: the follow-up without `reasoning_content` is refused by the rule
    // (no reply consumed), the probe records the quirk and starts the turn again.
    mock.push(paris("c4").with_reasoning("The user wants Paris."));
    mock.push(paris("c5").with_reasoning("Paris again."));
    mock.push(Reply::text("Sunny in Paris."));
    mock.push(Reply::text("Sunny."));

    let (_bus, _daemon, m) = ready_daemon().await;
    // Set up as OpenAI proper, which never gets reasoning back: the probe finds out.
    let id = endpoint(&m, "DeepSeek-like", &mock.base_url(), "openai").await;

    let report = m.probe_endpoint(&id, "").await.expect("probe");
    let got: Vec<(&str, &str)> = report
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.verdict.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("text", "ok"),
            ("tool-call", "ok"),
            ("parallel-tool-calls", "ok"),
            ("reasoning-pass-back", "quirk"),
            ("tool-schema", "ok"),
        ],
        "{report:#?}\nrejections: {:?}",
        mock.rejections()
    );
    assert_eq!(report.model, "probe-model");
    let quirks: Value = serde_json::from_str(&report.quirks_json).expect("quirks");
    assert_eq!(quirks["reasoning_echo"], "reasoning_content");
    assert_eq!(quirks["reasoning_required_on_tool_calls"], true);
    assert_eq!(mock.rejections().len(), 1, "refused once, then accepted");
    let info = m.get_endpoint(&id).await.expect("endpoint");
    assert!(
        info.spec.models[0].parallel_tool_calls,
        "two calls came back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_records_the_schema_rules_a_refusal_names() {
    let mock = quirky_host(
        Flavor::Kimi,
        StrictRules {
            reject_tool_schemas: true,
            ..StrictRules::default()
        },
    )
    .await;
    mock.push(Reply::tool_calls(vec![
        weather("c2", "Paris"),
        weather("c3", "Tokyo"),
    ]));
    mock.push(paris("c4"));
    mock.push(Reply::text("Sunny in Paris."));
    // The MCP-style schema is refused (no reply used), then taken under Moonshot's rules.
    mock.push(paris("c5"));

    let (bus, daemon, m) = ready_daemon().await;
    // Set up as a generic host (schemas passed on as written): the probe finds the validator.
    let id = endpoint(&m, "Kimi-like", &mock.base_url(), "generic").await;

    let (code, out, err) = ctl(&bus, &["doctor", "--probe", &id, "--json"]);
    assert_eq!(code, Some(0), "{out}{err}\n{}", daemon.stderr());
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        verdicts(&report).last(),
        Some(&("tool-schema".into(), "quirk".into())),
        "{report:#}\nrejections: {:?}",
        mock.rejections()
    );
    assert_eq!(report["quirks"]["tool_schema"], "kimi", "{report:#}");
    assert_eq!(mock.rejections().len(), 1, "refused once, then accepted");
    let info = m.get_endpoint(&id).await.expect("endpoint");
    assert!(
        info.spec.quirks_json.contains("\"tool_schema\":\"kimi\""),
        "{}",
        info.spec.quirks_json
    );
    // The accepted declaration has no `$ref` left.
    let last = mock.requests().last().expect("request").body.clone();
    assert!(!last["tools"].to_string().contains("$ref"), "{last}");
}
