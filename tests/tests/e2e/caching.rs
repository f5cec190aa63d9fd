//! Prompt caching with the real Codex CLI: a three-turn session (`codex exec` with a parallel
//! tool turn, then `codex exec resume --last` twice) through `codex-launcherd proxy --backend
//! anthropic` against the mock's simulation of Anthropic's prompt cache.
//!
//! With caching on (the default, `cache = "5m"`), at least 80 % of the input tokens of
//! requests 2..N must be read from cache by the mock's own accounting, and Codex's own turn
//! usage must show the cached tokens. With `cache = "off"` nothing is cached. Each run also
//! prints its token and cost figures (at Anthropic's list prices for the upstream model), the
//! numbers of the "cost" table in BENCHMARKS.md:
//! `cargo test -p codex-launcher-e2e --test e2e caching:: -- --nocapture`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use codex_launcher_e2e::{StandaloneProxy, codex_bin, scratch_dir};
use codex_launcher_engine::pricing::{Prices, Tokens};
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply, ToolCall};
use serde_json::{Value, json};

const UPSTREAM_KEY: &str = "sk-test-caching-upstream-key";
/// The upstream model: Claude Sonnet 4.6 (minimum cacheable prompt 1,024 tokens).
const UPSTREAM_MODEL: &str = "claude-sonnet-4-6";

/// Claude Sonnet 4.6 list prices per million tokens (input, cache hit, 5-minute cache write,
/// output), as in the engine's Anthropic preset.
fn list_prices() -> Prices {
    Prices::list(3.0, 0.30, 3.75, 15.0, "2026-12-02")
}

/// One `codex exec` (or `exec resume --last`) in a session's home and work directory.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Codex's `turn.completed` usage (`codex exec --json`).
    fn turn_usage(&self) -> Value {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["type"] == "turn.completed")
            .map(|e| e["usage"].clone())
            .unwrap_or_else(|| panic!("no turn.completed in\n{}", self.stdout))
    }
}

async fn codex(home: &Path, work: &Path, resume: bool, prompt: &str) -> Run {
    let mut cmd = Command::new(codex_bin());
    cmd.args([
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "--color",
        "never",
    ])
    .arg("-C")
    .arg(work);
    if resume {
        cmd.args(["resume", "--last"]);
    }
    let child = cmd
        .arg(prompt)
        .env("CODEX_HOME", home)
        .env("CODEX_LAUNCHER_TOKEN", "local-test-token")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codex");
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    match waited {
        Ok(joined) => {
            let out = joined.expect("codex thread").expect("codex output");
            Run {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
        Err(_) => {
            // Ours: the process this test started, by its pid.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("codex did not finish within 180 s");
        }
    }
}

fn exec(id: &str, cmd: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "exec_command".into(),
        arguments: json!({"cmd": cmd}).to_string(),
    }
}

/// What the session cost, from the mock's side of the wire.
struct Session {
    /// Input of every request: (whole prompt, read from cache, written to cache).
    inputs: Vec<(u64, u64, u64)>,
    /// Output tokens of the session (Codex's count).
    output: u64,
    /// Codex's `turn.completed` usage of each run (cumulative over the session).
    turn_usage: Vec<Value>,
    /// The bodies the upstream received.
    bodies: Vec<Value>,
}

async fn three_turn_session(cache: &str) -> Session {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some(UPSTREAM_KEY.into()),
        ..MockConfig::default()
    })
    .await
    .expect("start mock");
    let proxy = StandaloneProxy::start(json!({
        "backend": "anthropic",
        "target_url": mock.root_url(),
        "api_key": UPSTREAM_KEY,
        "model_map": {"mock-model": UPSTREAM_MODEL},
        "cache": cache,
    }));
    // Turn 1: two parallel calls, then the answer; turns 2 and 3: an answer each.
    mock.push(Reply::tool_calls(vec![
        exec("toolu_01MockA000000000001", "echo one > one.txt"),
        exec("toolu_01MockB000000000002", "echo two > two.txt"),
    ]));
    mock.push(Reply::text("Both files written."));
    mock.push(Reply::text("They say one and two."));
    mock.push(Reply::text("Nothing else to do."));

    let home = scratch_dir("caching-home");
    let work = scratch_dir("caching-work");
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "model = \"mock-model\"\nmodel_provider = \"launcher\"\n\n[model_providers.launcher]\nname = \"codex-launcher test\"\nbase_url = \"{}\"\nenv_key = \"CODEX_LAUNCHER_TOKEN\"\nwire_api = \"responses\"\n",
            proxy.base_url()
        ),
    )
    .expect("config.toml");
    let prompts = [
        (false, "Create one.txt and two.txt."),
        (true, "What do they say?"),
        (true, "Anything left?"),
    ];
    let mut turn_usage = Vec::new();
    for (resume, prompt) in prompts {
        let run = codex(home.path(), work.path(), resume, prompt).await;
        assert_eq!(
            run.code,
            Some(0),
            "codex failed\n--- stdout\n{}\n--- stderr\n{}\n--- proxy\n{}\n--- mock rejections\n{:?}",
            run.stdout,
            run.stderr,
            proxy.stderr(),
            mock.rejections()
        );
        turn_usage.push(run.turn_usage());
    }
    assert!(
        mock.rejections().is_empty(),
        "the mock refused a request: {:?}",
        mock.rejections()
    );
    assert_eq!(
        std::fs::read_to_string(work.path().join("two.txt"))
            .ok()
            .as_deref(),
        Some("two\n")
    );
    let bodies: Vec<Value> = mock.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies.len(),
        4,
        "two requests in turn 1, one in each resumed turn"
    );
    // The mock's accounting, the same token count with and without breakpoints.
    let accounts = mock.cache_accounts();
    assert_eq!(accounts.len(), bodies.len(), "every request accounted");
    let inputs = accounts
        .iter()
        .map(|a| {
            (
                a.total_input_tokens(),
                a.cache_read_input_tokens,
                a.cache_creation_input_tokens,
            )
        })
        .collect();
    let output = turn_usage
        .last()
        .and_then(|u| u["output_tokens"].as_u64())
        .expect("output_tokens");
    Session {
        inputs,
        output,
        turn_usage,
        bodies,
    }
}

fn report(cache: &str, s: &Session) {
    let (input, read, write) = s
        .inputs
        .iter()
        .fold((0, 0, 0), |a, i| (a.0 + i.0, a.1 + i.1, a.2 + i.2));
    let tokens = Tokens {
        input,
        cached_input: read,
        cache_write_input: write,
        output: s.output,
    };
    let cost = list_prices().cost(&tokens).expect("priced");
    // Straight to stdout: the figures of BENCHMARKS.md's cost table.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stdout().lock(),
        "cost: cache={cache} requests=4 input={input} uncached={} cache_read={read} cache_write={write} output={} usd={}",
        tokens.uncached_input(),
        s.output,
        cost.format(6)
    );
    let _ = writeln!(
        std::io::stdout().lock(),
        "cost: cache={cache} per request (input, cache_read, cache_write): {:?}",
        s.inputs
    );
}

/// `v` without its `cache_control` members.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| *k != "cache_control")
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

/// Real Codex traffic keeps its prefix: each body repeats the previous one's tools, system
/// and content blocks byte for byte (markers aside).
fn assert_prefix_stable(bodies: &[Value]) {
    let blocks = |b: &Value| -> Vec<String> {
        b["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .flat_map(|m| {
                let role = m["role"].as_str().unwrap_or_default().to_owned();
                m["content"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |c| format!("{role}:{}", strip(&c)))
            })
            .collect()
    };
    for (n, pair) in bodies.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(
            strip(&a["tools"]),
            strip(&b["tools"]),
            "tools of request {}",
            n + 2
        );
        assert_eq!(
            strip(&a["system"]),
            strip(&b["system"]),
            "system of request {}",
            n + 2
        );
        let (x, y) = (blocks(a), blocks(b));
        assert!(x.len() < y.len());
        for (i, (p, q)) in x.iter().zip(&y).enumerate() {
            assert_eq!(p, q, "request {} changed block {i}", n + 2);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_three_turn_session_reads_the_cache() {
    let s = three_turn_session("5m").await;
    report("5m", &s);
    assert_prefix_stable(&s.bodies);
    for body in &s.bodies {
        let n = body.to_string().matches("\"cache_control\"").count();
        assert!((1..=4).contains(&n), "{n} breakpoints");
        assert!(
            body.get("cache_control").is_none(),
            "explicit breakpoints only"
        );
    }
    // Requests 2..N: at least 80 % of their input read from cache (the mock's accounting).
    let later = &s.inputs[1..];
    let total: u64 = later.iter().map(|i| i.0).sum();
    let read: u64 = later.iter().map(|i| i.1).sum();
    assert!(
        read * 100 >= total * 80,
        "only {read} of {total} input tokens of requests 2..4 read from cache: {:?}",
        s.inputs
    );
    // The first request wrote the prefix the others read.
    assert_eq!(s.inputs[0].1, 0);
    assert!(s.inputs[0].2 > 1_024, "{:?}", s.inputs[0]);
    // Codex's own usage shows the cached tokens (0.169.0 reports the session's running
    // totals on every `turn.completed`), and the cache writes.
    let mut last_cached = 0;
    for (turn, u) in s.turn_usage.iter().enumerate() {
        let cached = u["cached_input_tokens"]
            .as_u64()
            .expect("cached_input_tokens");
        assert!(
            cached > last_cached,
            "turn {}: Codex shows no new cached tokens: {u}",
            turn + 1
        );
        last_cached = cached;
        assert!(cached <= u["input_tokens"].as_u64().unwrap_or(0), "{u}");
    }
    let final_usage = s.turn_usage.last().expect("usage");
    assert_eq!(
        final_usage["cached_input_tokens"].as_u64(),
        Some(s.inputs.iter().map(|i| i.1).sum()),
        "Codex's cached tokens are the upstream's cache reads"
    );
    assert_eq!(
        final_usage["cache_write_input_tokens"].as_u64(),
        Some(s.inputs.iter().map(|i| i.2).sum()),
        "Codex's cache writes are the upstream's: {final_usage}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_three_turn_session_without_cache() {
    let s = three_turn_session("off").await;
    report("off", &s);
    for body in &s.bodies {
        assert!(!body.to_string().contains("cache_control"), "{body}");
    }
    for u in &s.turn_usage {
        assert_eq!(u["cached_input_tokens"].as_u64(), Some(0), "{u}");
    }
}
