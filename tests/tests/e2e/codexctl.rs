//! codexctl, the real binary, against a real codex-launcherd on a private bus: every command,
//! JSON output against golden files (`tests/fixtures/codexctl/`, `UPDATE_EXPECT=1` rewrites
//! them), the exit code of each error kind, a key given on stdin never printed, models fetched
//! from a mock provider, `logs` and `doctor` with stand-in `journalctl`/`systemctl`/`codex`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{scratch_dir, workspace_bin};
use codex_launcher_mock_upstream::{MockConfig, MockUpstream, Reply, Usage};
use serde_json::Value;

const KEY: &str = "sk-ctl-secret-key-0001";
const SECOND_KEY: &str = "sk-ctl-second-key-0002";

/// One codexctl run.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "codexctl failed: {self:?}");
        self
    }
}

/// How codexctl is run: which bus, environment and directory.
#[derive(Clone)]
struct Ctl {
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    /// Everything every run printed, to check no key ever shows.
    printed: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Ctl {
    fn on(bus: &PrivateBus) -> Ctl {
        Ctl {
            env: vec![
                ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()),
                ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
                ("HOME".into(), bus.dir().display().to_string()),
            ],
            cwd: None,
            printed: Default::default(),
        }
    }

    fn with_env(mut self, key: &str, value: impl Into<String>) -> Ctl {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    fn without_env(mut self, key: &str) -> Ctl {
        self.env.retain(|(k, _)| k != key);
        self
    }

    fn in_dir(mut self, dir: &Path) -> Ctl {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = tokio::process::Command::new(workspace_bin("codexctl"));
        cmd.args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("spawn codexctl");
        if let Some(text) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(text.as_bytes()).await.expect("write stdin");
            drop(pipe);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("codexctl {args:?} did not finish within 60 s"))
            .expect("codexctl output");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let mut printed = self.printed.lock().expect("lock");
        printed.push_str(&run.stdout);
        printed.push_str(&run.stderr);
        run
    }
}

/// Volatile parts of the output and what they become in golden files.
struct Normalise(Vec<(String, String)>);

impl Normalise {
    fn apply(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                for (from, to) in &self.0 {
                    *s = s.replace(from.as_str(), to);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.apply(i)),
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if key == "daemon_version" {
                        *value = Value::String("VERSION".into());
                    } else {
                        self.apply(value);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Compare JSON output with `tests/fixtures/codexctl/<name>.json`.
fn golden(name: &str, mut got: Value, norm: &Normalise) {
    norm.apply(&mut got);
    let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/codexctl")
        .join(format!("{name}.json"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("fixtures dir");
        std::fs::write(&path, &text).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run with UPDATE_EXPECT=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        text,
        want,
        "codexctl output differs from {}; run with UPDATE_EXPECT=1 if intended",
        path.display()
    );
}

fn port_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .split(['/', ':'])
        .nth(1)
        .expect("port")
        .to_owned()
}

/// One Responses request through the daemon's proxy; the HTTP status.
fn proxy_request(address: &str, endpoint: &str, token: &str) -> u16 {
    let host = address.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).expect("connect to proxy");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let body = r#"{"model":"mock-model","input":"hi","stream":true,"store":false}"#;
    write!(
        s,
        "POST /e/{endpoint}/v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn started() -> (PrivateBus, DaemonProcess) {
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");
    (bus, daemon)
}

#[tokio::test(flavor = "multi_thread")]
async fn codexctl_drives_every_daemon_command() {
    let mock = MockUpstream::start(MockConfig {
        api_key: Some(KEY.into()),
        models: vec!["alpha-1".into(), "beta-2".into()],
        ..MockConfig::default()
    })
    .await
    .expect("mock");
    let (bus, daemon) = started().await;
    let ctl = Ctl::on(&bus);

    let status = ctl.run(&["status", "--json"]).await.ok().json();
    let address = status["proxy_address"]
        .as_str()
        .expect("address")
        .to_owned();
    let norm = Normalise(vec![
        (format!(":{}", port_of(&address)), ":PROXY_PORT".into()),
        (format!(":{}", mock.addr().port()), ":MOCK_PORT".into()),
    ]);
    golden("status-empty", status, &norm);
    let human = ctl.run(&["status"]).await.ok();
    assert!(
        human.stdout.contains("codex-launcherd") && human.stdout.contains(&address),
        "{human:?}"
    );

    // Presets: the daemon's list, as JSON with the contract's field names, and as a table.
    let presets = ctl.run(&["preset", "list", "--json"]).await.ok().json();
    let deepseek = presets
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["id"] == "deepseek")
        .expect("deepseek preset");
    assert!(deepseek["spec"]["base_url"].is_string() && deepseek["notes"].is_string());
    let table = ctl.run(&["preset", "list"]).await.ok();
    assert!(table.stdout.starts_with("ID "), "{table:?}");
    assert!(table.stdout.lines().any(|l| l.starts_with("deepseek ")));

    // Add with the key on stdin; then from a preset, without a key.
    let added = ctl
        .run_with_stdin(
            &[
                "endpoint",
                "add",
                "--name",
                "Mock",
                "--url",
                &mock.base_url(),
                "--model",
                "mock-model",
                "--header",
                "X-Test=1",
                "--api-key-stdin",
                "--json",
            ],
            Some(&format!("{KEY}\n")),
        )
        .await
        .ok()
        .json();
    golden("endpoint-add", added, &norm);
    let preset_added = ctl
        .run(&["endpoint", "add", "--preset", "deepseek"])
        .await
        .ok();
    assert_eq!(preset_added.stdout.trim(), "added deepseek (no key)");

    golden(
        "endpoint-list",
        ctl.run(&["endpoint", "list", "--json"]).await.ok().json(),
        &norm,
    );
    let table = ctl.run(&["endpoint", "list"]).await.ok();
    let mock_row = table
        .stdout
        .lines()
        .find(|l| l.contains(" mock "))
        .expect("mock row");
    assert!(
        mock_row.starts_with('*') && mock_row.contains("file"),
        "{table:?}"
    );
    let show = ctl.run(&["endpoint", "show", "mock"]).await.ok();
    assert!(show.stdout.contains("X-Test=1"), "{show:?}");

    // Models: fetched from the mock (which checks the key), imported three ways, listed.
    let fetched = ctl
        .run(&["model", "fetch", "mock", "--json"])
        .await
        .ok()
        .json();
    golden("model-fetch", fetched, &norm);
    let fetched = ctl.run(&["model", "fetch", "mock"]).await.ok();
    assert!(
        fetched.stderr.contains("2 models from mock") && fetched.stdout.contains("alpha-1"),
        "{fetched:?}"
    );
    golden(
        "model-import",
        ctl.run(&[
            "model",
            "import",
            "mock",
            "--text",
            "gamma, delta",
            "--json",
        ])
        .await
        .ok()
        .json(),
        &norm,
    );
    let dir = scratch_dir("ctl-files");
    std::fs::write(dir.path().join("models.txt"), "epsilon\nzeta\n").expect("write");
    let from_file = ctl
        .clone()
        .in_dir(dir.path())
        .run(&["model", "import", "mock", "--file", "models.txt"])
        .await
        .ok();
    assert_eq!(from_file.stdout.trim(), "added 2 new model(s) to mock");
    let from_stdin = ctl
        .run_with_stdin(&["model", "import", "mock", "-"], Some("eta"))
        .await
        .ok();
    assert_eq!(from_stdin.stdout.trim(), "added 1 new model(s) to mock");
    golden(
        "model-list",
        ctl.run(&["model", "list", "mock", "--json"])
            .await
            .ok()
            .json(),
        &norm,
    );
    let models = ctl.run(&["model", "list", "mock"]).await.ok();
    assert!(
        models
            .stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains("mock-model")),
        "{models:?}"
    );

    // Edit settings, then the key (from stdin again).
    ctl.run(&[
        "endpoint",
        "edit",
        "mock",
        "--name",
        "Mock Renamed",
        "--browser-ua",
        "--remove-header",
        "X-Test",
        "--header",
        "X-Other=2",
        "--cache",
        "1h",
    ])
    .await
    .ok();
    // The cache setting alone is a change; naming the current one is not.
    let same = ctl
        .run(&["endpoint", "edit", "mock", "--cache", "1h"])
        .await;
    assert_eq!(same.code, 2, "nothing to change: {same:?}");
    let typo = ctl
        .run(&["endpoint", "edit", "mock", "--cache", "2h"])
        .await;
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(typo.stderr.contains("5m, 1h, off"), "{typo:?}");
    let edited = ctl
        .run_with_stdin(
            &["endpoint", "edit", "mock", "--api-key-stdin", "--json"],
            Some(SECOND_KEY),
        )
        .await
        .ok()
        .json();
    assert_eq!(edited["key_storage"], "file");
    // And back to the key the mock wants, from a variable this time.
    ctl.clone()
        .with_env("CTL_TEST_KEY", KEY)
        .run(&["endpoint", "edit", "mock", "--api-key-env", "CTL_TEST_KEY"])
        .await
        .ok();
    golden(
        "endpoint-show",
        ctl.run(&["endpoint", "show", "mock", "--json"])
            .await
            .ok()
            .json(),
        &norm,
    );
    let show = ctl.run(&["endpoint", "show", "mock"]).await.ok();
    assert!(
        show.stdout
            .lines()
            .any(|l| l.starts_with("cache") && l.ends_with("1h")),
        "{show:?}"
    );

    // Prices: none yet ("no price set", never $0), then set per model and shown.
    let none = ctl
        .run(&["model", "price", "mock", "mock-model"])
        .await
        .ok();
    assert!(
        none.stdout
            .lines()
            .any(|l| l.starts_with("input") && l.ends_with("no price set")),
        "{none:?}"
    );
    golden(
        "model-price",
        ctl.run(&[
            "model",
            "price",
            "mock",
            "mock-model",
            "--input",
            "3",
            "--cached",
            "0.30",
            "--output",
            "$15",
            "--json",
        ])
        .await
        .ok()
        .json(),
        &norm,
    );
    let shown = ctl
        .run(&["model", "price", "mock", "mock-model"])
        .await
        .ok();
    assert!(shown.stdout.contains("set by you"), "{shown:?}");
    let models = ctl.run(&["model", "list", "mock"]).await.ok();
    assert!(
        models
            .stdout
            .lines()
            .any(|l| l.contains("mock-model") && l.contains("in $3 · cached $0.3 · out $15")),
        "{models:?}"
    );
    let bad = ctl
        .run(&["model", "price", "mock", "mock-model", "--input=-1"])
        .await;
    assert_eq!(bad.code, 4, "an invalid argument: {bad:?}");
    let missing = ctl
        .run(&["model", "price", "mock", "nope", "--input", "1"])
        .await;
    assert_eq!(missing.code, 3, "not found: {missing:?}");

    // Default.
    let out = ctl.run(&["endpoint", "default", "deepseek"]).await.ok();
    assert_eq!(out.stdout.trim(), "deepseek is the default endpoint");
    let status = ctl.run(&["status", "--json"]).await.ok().json();
    assert_eq!(status["default_endpoint"], "deepseek");
    assert_eq!(status["endpoints"], 2);

    // Usage after one request through the proxy.
    let usage = ctl.run(&["usage"]).await.ok();
    assert_eq!(usage.stdout.trim(), "no requests yet");
    mock.push(Reply::text("hello there").with_usage(Usage {
        input_tokens: 11,
        cached_tokens: 4,
        output_tokens: 7,
        reasoning_tokens: 0,
    }));
    let token = daemon.token();
    let addr = address.clone();
    let code = tokio::task::spawn_blocking(move || proxy_request(&addr, "mock", &token))
        .await
        .expect("join");
    assert_eq!(code, 200, "{}", daemon.stderr());
    golden(
        "usage",
        ctl.run(&["usage", "--json"]).await.ok().json(),
        &norm,
    );
    let usage = ctl.run(&["usage"]).await.ok();
    assert!(
        usage.stdout.starts_with("ENDPOINT ") && usage.stdout.contains("mock-model"),
        "{usage:?}"
    );
    // 7 × $3 + 4 × $0.30 + 7 × $15 per million tokens; 4 of 11 input tokens from the cache.
    let row = usage
        .stdout
        .lines()
        .find(|l| l.contains("mock-model"))
        .expect("usage row");
    assert!(
        row.contains("36%") && row.ends_with("$0.000127"),
        "{usage:?}"
    );

    // Profiles: without keys to stdout; with keys to a 0600 file; imported back.
    let bundle = ctl.run(&["profile", "export"]).await.ok();
    let bundle_json: Value = serde_json::from_str(&bundle.stdout).expect("bundle is JSON");
    golden("profile-export", bundle_json, &norm);
    let keyed = dir.path().join("keyed.json");
    let keyed_arg = keyed.to_str().expect("utf8");
    ctl.run(&["profile", "export", "--include-keys", "-o", keyed_arg])
        .await
        .ok();
    let mode = std::fs::metadata(&keyed)
        .expect("bundle")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a bundle with keys is private");
    assert!(std::fs::read_to_string(&keyed).expect("read").contains(KEY));
    golden(
        "profile-import",
        ctl.run(&["profile", "import", keyed_arg, "--json"])
            .await
            .ok()
            .json(),
        &norm,
    );
    let from_stdin = ctl
        .run_with_stdin(&["profile", "import", "-"], Some(&bundle.stdout))
        .await
        .ok();
    assert!(
        from_stdin.stdout.starts_with("imported 2 endpoint(s)"),
        "{from_stdin:?}"
    );

    // Legacy import with a path relative to codexctl's directory, not the daemon's.
    std::fs::write(
        dir.path().join("endpoints.json"),
        r#"{"endpoints":[{"name":"Old DS","backend_type":"openai","base_url":"https://api.deepseek.com","api_key":"sk-legacy","default_model":"deepseek-chat","models":["deepseek-chat"]}],"default":"Old DS"}"#,
    )
    .expect("write legacy");
    golden(
        "import-legacy",
        ctl.clone()
            .in_dir(dir.path())
            .run(&["import-legacy", "endpoints.json", "--json"])
            .await
            .ok()
            .json(),
        &norm,
    );

    // Remove.
    let out = ctl.run(&["endpoint", "rm", "old-ds"]).await.ok();
    assert_eq!(out.stdout.trim(), "removed old-ds");
    let again = ctl.run(&["endpoint", "rm", "old-ds"]).await;
    assert_eq!(again.code, 3, "{again:?}");

    let printed = ctl.printed.lock().expect("lock").clone();
    for key in [KEY, SECOND_KEY] {
        assert!(!printed.contains(key), "a key was printed:\n{printed}");
        assert!(!daemon.stderr().contains(key), "a key was logged");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codexctl_exit_codes_name_each_error_kind() {
    let (bus, daemon) = started().await;
    let ctl = Ctl::on(&bus);

    // 2: usage, from clap and from codexctl itself (no terminal to ask on).
    let run = ctl.run(&["endpoint", "frobnicate"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = ctl.run(&["endpoint", "add", "--url", "http://x/v1"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("missing --name"), "{run:?}");
    let run = ctl.run(&["endpoint", "add", "--name", "No URL"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = ctl
        .run(&[
            "endpoint",
            "add",
            "--name",
            "Env",
            "--url",
            "http://x/v1",
            "--api-key-env",
            "CTL_UNSET_VAR",
        ])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = ctl
        .run(&[
            "endpoint",
            "add",
            "--name",
            "Plain",
            "--url",
            "http://x/v1",
            "--api-key",
            "sk-x",
        ])
        .await;
    assert_eq!(run.code, 2, "the key is never a plain argument: {run:?}");
    // 3: not found (an endpoint, a preset).
    let run = ctl.run(&["endpoint", "show", "nope"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("codexctl endpoint list"), "{run:?}");
    let run = ctl.run(&["endpoint", "add", "--preset", "nope"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    // 4: invalid argument.
    let run = ctl
        .run(&["endpoint", "add", "--name", "Bad", "--url", "ftp://x"])
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    let run = ctl
        .run_with_stdin(&["profile", "import", "-"], Some("{}"))
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    // 7: upstream (nothing listens on port 9).
    ctl.run(&[
        "endpoint",
        "add",
        "--name",
        "Dead",
        "--url",
        "http://127.0.0.1:9/v1",
    ])
    .await
    .ok();
    let run = ctl.run(&["model", "fetch", "dead"]).await;
    assert_eq!(run.code, 7, "{run:?}");
    // 8: io, in the daemon and here.
    let run = ctl
        .run(&["import-legacy", "/nonexistent/endpoints.json"])
        .await;
    assert_eq!(run.code, 8, "{run:?}");
    let run = ctl
        .run(&["profile", "import", "/nonexistent/bundle.json"])
        .await;
    assert_eq!(run.code, 8, "{run:?}");
    // 6: keyring: the key file the daemon falls back to cannot be written.
    let keys = daemon
        .home
        .path()
        .join(".local/state/codex-launcher/keys.json");
    let _ = std::fs::remove_file(&keys);
    std::fs::create_dir_all(&keys).expect("block the key file");
    let run = ctl
        .run_with_stdin(
            &["endpoint", "edit", "dead", "--api-key-stdin"],
            Some("sk-k"),
        )
        .await;
    assert_eq!(run.code, 6, "{run:?}");
    // 5 (AlreadyExists, Conflict) and 1 (Internal) cannot be provoked from outside the daemon
    // (ids are made unique, the store conflict needs a race): the name → code table is
    // unit-tested in client/src/error.rs.

    // 9: no daemon on the bus, and no bus at all.
    let empty_bus = PrivateBus::start(None, &[]);
    let run = Ctl::on(&empty_bus).run(&["status"]).await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(run.stderr.contains("systemctl --user start"), "{run:?}");
    let runtime = scratch_dir("runtime");
    let run = ctl
        .clone()
        .without_env("DBUS_SESSION_BUS_ADDRESS")
        .with_env("XDG_RUNTIME_DIR", runtime.path().display().to_string())
        .run(&["endpoint", "list"])
        .await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(run.stderr.contains("DBUS_SESSION_BUS_ADDRESS"), "{run:?}");

    // The table is documented where people look.
    let help = ctl.run(&["--help"]).await.ok();
    assert!(help.stdout.contains("Exit codes:") && help.stdout.contains("9  daemon unreachable"));
    let man = ctl.run(&["man"]).await.ok();
    assert!(man.stdout.contains(".TH codexctl") && man.stdout.contains("Exit codes:"));
}

/// A directory of stand-in programs.
fn fake_bin(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[tokio::test(flavor = "multi_thread")]
async fn codexctl_logs_doctor_completions() {
    let bin = scratch_dir("fake-bin");
    // The daemon's Codex, as its sessions would run it (the doctor's version check asks the
    // daemon, whose PATH may not be the shell's).
    fake_bin(bin.path(), "daemon-codex", "echo codex-cli 0.171.0");
    let daemon_codex = bin.path().join("daemon-codex");
    let bus = PrivateBus::start(None, &[]);
    let _daemon = DaemonProcess::start_with_env(
        &bus,
        Listen::Own,
        &[("CODEX_BIN", daemon_codex.to_str().expect("utf-8"))],
    );
    _daemon.wait_notify("READY=1");
    fake_bin(bin.path(), "journalctl", r#"echo "journalctl $*""#);
    fake_bin(
        bin.path(),
        "systemctl",
        r#"case "$*" in *is-enabled*) echo enabled;; *is-active*) echo active;; *) echo Version=252;; esac"#,
    );
    fake_bin(bin.path(), "codex", "echo codex-cli 0.171.0");
    let system_path = std::env::var("PATH").unwrap_or_default();
    let ctl = Ctl::on(&bus).with_env("PATH", format!("{}:{system_path}", bin.path().display()));

    let run = ctl.run(&["logs", "-f"]).await.ok();
    assert_eq!(run.stdout.trim(), "journalctl --user -u codex-launcherd -f");
    let run = ctl.run(&["logs"]).await.ok();
    assert_eq!(run.stdout.trim(), "journalctl --user -u codex-launcherd");
    // Without journalctl (an empty PATH), say so and point at the daemon's stderr.
    let empty = scratch_dir("empty-path");
    let run = ctl
        .clone()
        .with_env("PATH", empty.path().display().to_string())
        .run(&["logs"])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("journalctl is not installed") && run.stderr.contains("stderr"),
        "{run:?}"
    );

    // Doctor: everything in place (the stand-ins say the units are enabled and active).
    let doctor = ctl.run(&["doctor", "--json"]).await;
    assert_eq!(doctor.code, 0, "{doctor:?}");
    let report = doctor.json();
    let verdicts: Vec<(String, String)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().expect("name").to_owned(),
                c["verdict"].as_str().expect("verdict").to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("codex", "ok"),
        ("daemon", "ok"),
        ("version", "ok"),
        ("units", "ok"),
        ("port", "ok"),
        ("keyring", "skip"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(verdicts, want, "{report:#}");
    assert!(
        report["checks"][0]["detail"]
            .as_str()
            .expect("detail")
            .starts_with("codex-cli 0.171.0")
    );
    assert_eq!(report["ok"], true);
    let version = report["checks"][2]["detail"].as_str().expect("detail");
    assert!(
        version.starts_with("Codex 0.171.0: tested") && version.contains("daemon-codex"),
        "{report:#}"
    );
    // An untested Codex (here newer than the tested releases) is a warning, not a failure.
    fake_bin(bin.path(), "newer-codex", "echo codex-cli 0.999.0");
    let newer = bin.path().join("newer-codex");
    let newer_bus = PrivateBus::start(None, &[]);
    let newer_daemon = DaemonProcess::start_with_env(
        &newer_bus,
        Listen::Own,
        &[("CODEX_BIN", newer.to_str().expect("utf-8"))],
    );
    newer_daemon.wait_notify("READY=1");
    let run = Ctl::on(&newer_bus)
        .with_env("PATH", format!("{}:{system_path}", bin.path().display()))
        .run(&["doctor"])
        .await;
    assert_eq!(run.code, 0, "untested is no failure: {run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("warn  version") && l.contains("untested")),
        "{run:?}"
    );
    drop(newer_daemon);
    // CODEX_BIN overrides PATH; a missing Codex fails the run with a fix.
    let run = ctl
        .clone()
        .with_env("CODEX_BIN", "/nonexistent/codex")
        .run(&["doctor"])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("fail  codex")),
        "{run:?}"
    );
    assert!(run.stdout.contains("fix: "), "{run:?}");
    // No daemon on the bus: the daemon check fails, the keyring check is skipped.
    let empty_bus = PrivateBus::start(None, &[]);
    let run = Ctl::on(&empty_bus)
        .with_env("PATH", format!("{}:{system_path}", bin.path().display()))
        .run(&["doctor", "--json"])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    assert_eq!(report["checks"][1]["verdict"], "fail");
    assert_eq!(
        report["checks"][2]["verdict"], "skip",
        "no daemon, no version"
    );
    assert_eq!(report["checks"][5]["verdict"], "skip");

    for shell in ["bash", "zsh", "fish"] {
        let run = ctl.run(&["completions", shell]).await.ok();
        assert!(
            run.stdout.contains("codexctl") && run.stdout.contains("import-legacy"),
            "{shell}: {run:?}"
        );
    }
}
