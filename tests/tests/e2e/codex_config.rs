//! The config engine against the real Codex CLI: a model catalog and `-c` overrides built by
//! `codex-launcher-engine`, then `codex exec` through the standalone proxy to a mock Chat
//! upstream. Assertions are on Codex's stderr and on what the mock received.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codex_launcher_e2e::{Codex, StandaloneProxy, codex_bin, scratch_dir};
use codex_launcher_engine::backup::{Backups, Outcome, Release};
use codex_launcher_engine::catalog;
use codex_launcher_engine::codex_config::{
    Target, apply_to_config, cli_overrides, profile_config, profile_file,
};
use codex_launcher_engine::model::{Endpoint, Model};
use codex_launcher_mock_upstream::{Flavor, MockConfig, MockUpstream, RecordedRequest, Reply};
use codex_launcher_types::Backend;
use serde_json::{Value, json};

/// A slug Codex (0.171.0, 0.169.0) does not know: without a catalog it gets fallback metadata.
const MODEL: &str = "launcher-test-model";
const PATCH: &str =
    "*** Begin Patch\n*** Add File: hello.txt\n+hello from the catalog\n*** End Patch\n";

fn endpoint() -> Endpoint {
    Endpoint {
        id: "mock".into(),
        name: "Mock provider".into(),
        backend: Backend::OpenaiCompat,
        base_url: "http://127.0.0.1:1/v1".into(),
        default_model: MODEL.into(),
        models: vec![Model {
            id: MODEL.into(),
            display_name: "Launcher test model".into(),
            context_window: 200_000,
            max_output_tokens: 32_000,
            reasoning_efforts: vec!["low".into(), "medium".into(), "high".into()],
            default_effort: "medium".into(),
            input_modalities: vec!["text".into()],
            parallel_tool_calls: true,
            prices: Default::default(),
        }],
        ..Endpoint::default()
    }
}

struct Setup {
    mock: MockUpstream,
    proxy: StandaloneProxy,
}

async fn setup() -> Setup {
    let mock = MockUpstream::start(MockConfig {
        flavor: Flavor::OpenAi,
        api_key: Some("sk-upstream-test-key".into()),
        ..MockConfig::default()
    })
    .await
    .expect("start mock");
    // The `openai` quirks row passes `reasoning_effort` through, so the mock sees what
    // Codex chose.
    let proxy = StandaloneProxy::start(json!({
        "backend": "openai-compat",
        "target_url": mock.base_url(),
        "api_key": "sk-upstream-test-key",
        "provider": "openai",
    }));
    Setup { mock, proxy }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `codex <args>` with `CODEX_HOME=home`, killed after two minutes.
fn codex(home: &Path, args: &[String], envs: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(codex_bin());
    cmd.args(args)
        .env("CODEX_HOME", home)
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn codex");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let code = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

fn exec_args(workdir: &Path, overrides: &[String], prompt: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["exec".into()];
    args.extend(overrides.iter().cloned());
    args.extend(
        [
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            "--color",
            "never",
            "-C",
        ]
        .map(String::from),
    );
    args.push(workdir.display().to_string());
    args.push(prompt.into());
    args
}

/// Base instructions from this Codex's own catalog (`codex debug models --bundled`).
fn codex_instructions() -> String {
    let home = scratch_dir("codex-catalog");
    let run = codex(
        home.path(),
        &["debug".into(), "models".into(), "--bundled".into()],
        &[],
    );
    assert_eq!(run.code, Some(0), "codex debug models: {}", run.stderr);
    catalog::instructions_from_codex_catalog(run.stdout.as_bytes())
        .expect("instructions in Codex's catalog")
}

fn write_catalog(dir: &Path) -> PathBuf {
    let path = dir.join("catalog.json");
    catalog::build(&endpoint(), MODEL, &codex_instructions())
        .write(&path)
        .expect("write catalog");
    path
}

/// Text of the first system/developer message, and of all of them.
fn instructions(req: &RecordedRequest) -> (String, String) {
    let texts: Vec<String> = req.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "system" || m["role"] == "developer")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        })
        .collect();
    (texts.first().cloned().unwrap_or_default(), texts.join("\n"))
}

fn apply_patch_tool(req: &RecordedRequest) -> Option<&Value> {
    req.body["tools"]
        .as_array()?
        .iter()
        .find(|t| t["function"]["name"] == "apply_patch")
}

fn assert_metadata_found(stderr: &str) {
    for warning in ["fallback metadata", "Model metadata", "metadata for"] {
        assert!(
            !stderr.contains(warning),
            "Codex fell back to generic metadata:\n{stderr}"
        );
    }
}

fn assert_reasoning(req: &RecordedRequest, effort: &str) {
    assert_eq!(
        req.body["reasoning_effort"], effort,
        "effort upstream: {}",
        req.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_and_cli_overrides_give_codex_real_metadata() {
    let s = setup().await;
    s.mock.push(Reply::tool_call(
        "call_patch",
        "apply_patch",
        json!({"input": PATCH}),
    ));
    s.mock.push(Reply::text("PATCHED"));
    // Baseline: the same unknown slug without a catalog, for the instructions' size.
    s.mock.push(Reply::text("BASELINE"));

    let home = scratch_dir("codex-home");
    let work = scratch_dir("codex-work");
    // The user's own config selects another provider, model and effort; the overrides must
    // win without touching the file.
    let user_config = "# the user's\nmodel = \"gpt-5.5\"\nmodel_provider = \"mine\"\nmodel_reasoning_effort = \"minimal\"\n\n[model_providers.mine]\nname = \"Mine\"\nbase_url = \"http://127.0.0.1:9/v1\"\nenv_key = \"MINE_KEY_UNSET\"\n";
    let config_path = home.path().join("config.toml");
    std::fs::write(&config_path, user_config).expect("write config.toml");
    let catalog_path = write_catalog(home.path());
    let target = Target::new(&endpoint(), MODEL, &s.proxy.base_url())
        .and_then(|t| t.with_catalog(&catalog_path))
        .and_then(|t| t.with_reasoning_effort("high"))
        .expect("target");
    let overrides = cli_overrides(&target);
    let args = exec_args(work.path(), &overrides.args, "Add hello.txt");
    let home_path = home.path().to_path_buf();
    let env_key = overrides.env_key;
    let run = tokio::task::spawn_blocking(move || {
        codex(&home_path, &args, &[(env_key, "local-test-token")])
    })
    .await
    .expect("codex thread");
    assert_eq!(
        run.code,
        Some(0),
        "codex failed\n--- stdout\n{}\n--- stderr\n{}\n--- proxy\n{}\n--- mock\n{:?}",
        run.stdout,
        run.stderr,
        s.proxy.stderr(),
        s.mock.rejections()
    );
    assert_eq!(run.stdout.trim(), "PATCHED");
    assert_metadata_found(&run.stderr);
    assert_eq!(
        std::fs::read_to_string(work.path().join("hello.txt")).ok(),
        Some("hello from the catalog\n".into()),
        "the freeform apply_patch call was applied"
    );
    assert_eq!(
        std::fs::read_to_string(&config_path).expect("config.toml"),
        user_config,
        "a CLI launch leaves config.toml alone"
    );

    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 2, "one request per model turn");
    let first = &reqs[0];
    assert_eq!(first.body["model"], MODEL);
    // Codex offered apply_patch as its freeform (custom) tool; the proxy made it a function
    // with one string argument.
    let tool = apply_patch_tool(first).expect("apply_patch offered");
    let params = &tool["function"]["parameters"];
    assert_eq!(params["required"], json!(["input"]), "{tool}");
    assert_eq!(params["properties"]["input"]["type"], "string", "{tool}");
    assert_eq!(
        params["properties"].as_object().map(|p| p.len()),
        Some(1),
        "{tool}"
    );
    assert_reasoning(first, "high");
    let (catalog_first, catalog_all) = instructions(first);

    // The baseline run, no catalog: Codex's fallback prompt for an unknown slug.
    let baseline = tokio::task::spawn_blocking({
        let url = s.proxy.base_url();
        move || Codex::new(url).model(MODEL).prompt("Say hi").run()
    })
    .await
    .expect("codex thread");
    assert_eq!(baseline.code, Some(0), "{}", baseline.stderr);
    assert!(
        baseline.stderr.contains("fallback metadata"),
        "the baseline is the fallback run: {}",
        baseline.stderr
    );
    let reqs = s.mock.requests();
    let base = reqs.last().expect("baseline request");
    assert!(
        apply_patch_tool(base).is_none(),
        "no apply_patch without metadata"
    );
    let (base_first, _) = instructions(base);
    // The catalog's instructions are Codex's own, not a degraded stub: same order of
    // magnitude as the fallback prompt, and they teach apply_patch.
    assert!(
        catalog_first.len() * 3 > base_first.len() && catalog_first.len() < base_first.len() * 3,
        "instructions {} bytes with the catalog, {} without",
        catalog_first.len(),
        base_first.len()
    );
    assert!(catalog_all.contains("apply_patch"), "{catalog_first}");
}

#[tokio::test(flavor = "multi_thread")]
async fn edited_config_toml_drives_codex_and_is_restored() {
    let s = setup().await;
    s.mock.push(Reply::text("FROM THE FILE"));
    let home = scratch_dir("codex-home");
    let work = scratch_dir("codex-work");
    let state = scratch_dir("launcher-state");
    let config_path = home.path().join("config.toml");
    let original = "# my settings\nmodel = \"gpt-5.5\"   # usual\n\n[tui]\nnotifications = false\n";
    std::fs::write(&config_path, original).expect("write config.toml");
    let catalog_path = write_catalog(state.path());
    let target = Target::new(&endpoint(), MODEL, &s.proxy.base_url())
        .and_then(|t| t.with_catalog(&catalog_path))
        .and_then(|t| t.with_reasoning_effort("low"))
        .expect("target");

    let backups = Backups::at(state.path());
    backups.acquire("session-1", &config_path).expect("acquire");
    backups
        .update("session-1", |text| apply_to_config(text, &target))
        .expect("update");

    // No -c overrides: everything comes from the file (as for Codex Desktop).
    let args = exec_args(work.path(), &[], "Say hi");
    let home_path = home.path().to_path_buf();
    let env_key = target.env_key();
    let run = tokio::task::spawn_blocking(move || {
        codex(&home_path, &args, &[(env_key, "local-test-token")])
    })
    .await
    .expect("codex thread");
    assert_eq!(
        run.code,
        Some(0),
        "codex failed\n--- stderr\n{}\n--- config.toml\n{}\n--- proxy\n{}",
        run.stderr,
        std::fs::read_to_string(&config_path).unwrap_or_default(),
        s.proxy.stderr()
    );
    assert_eq!(run.stdout.trim(), "FROM THE FILE");
    assert_metadata_found(&run.stderr);
    let reqs = s.mock.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body["model"], MODEL);
    assert_reasoning(&reqs[0], "low");
    assert!(apply_patch_tool(&reqs[0]).is_some());

    let Release::Restored(report) = backups.release("session-1").expect("release") else {
        panic!("the last session restores");
    };
    assert_eq!(report.outcome, Outcome::Restored, "{report}");
    assert_eq!(
        std::fs::read_to_string(&config_path).expect("config.toml"),
        original,
        "byte-identical after the session"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_file_works_with_codex_profile_flag() {
    let s = setup().await;
    s.mock.push(Reply::text("FROM THE PROFILE"));
    let home = scratch_dir("codex-home");
    let work = scratch_dir("codex-work");
    std::fs::write(home.path().join("config.toml"), "model = \"gpt-5.5\"\n").expect("config");
    let catalog_path = write_catalog(home.path());
    let target = Target::new(&endpoint(), MODEL, &s.proxy.base_url())
        .and_then(|t| t.with_catalog(&catalog_path))
        .and_then(|t| t.with_reasoning_effort("medium"))
        .expect("target");
    std::fs::write(profile_file(home.path(), &target), profile_config(&target))
        .expect("profile file");
    let overrides = vec!["--profile".to_owned(), target.provider_id().to_owned()];
    let args = exec_args(work.path(), &overrides, "Say hi");
    let home_path = home.path().to_path_buf();
    let env_key = target.env_key();
    let run = tokio::task::spawn_blocking(move || {
        codex(&home_path, &args, &[(env_key, "local-test-token")])
    })
    .await
    .expect("codex thread");
    assert_eq!(
        run.code,
        Some(0),
        "codex failed\n--- stderr\n{}",
        run.stderr
    );
    assert_eq!(run.stdout.trim(), "FROM THE PROFILE");
    assert_metadata_found(&run.stderr);
    let reqs = s.mock.requests();
    assert_eq!(reqs[0].body["model"], MODEL);
    assert_reasoning(&reqs[0], "medium");
}
