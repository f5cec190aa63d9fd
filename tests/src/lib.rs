//! End-to-end test harness: runs the real binaries (`codex-launcherd`) and the real Codex CLI
//! against mock upstreams.
//!
//! - Binaries are found next to the test executable's target directory (ripgrep style) or
//!   through `CODEX_LAUNCHERD_BIN`; `cargo build --workspace --bins` (done by `./test.sh`)
//!   puts them there.
//! - The Codex CLI comes from `CODEX_BIN`, else the install of `CODEX_VERSION` (default: the
//!   pinned [`CODEX_VERSION`]) that `scripts/install-test-deps.sh` makes under
//!   `~/.cache/codex-launcher/codex-<version>/`. `./test.sh` runs every test on the pinned
//!   release and the Codex-facing core (`codex_exec`, `codex_backends`) again on
//!   [`CODEX_PREVIOUS_VERSION`].
//! - Every Codex run gets its own `CODEX_HOME` and work directory under
//!   `~/.cache/codex-launcher/e2e/` (Codex refuses helper binaries under /tmp), removed after.

// A test harness: a broken set-up must stop the test at once with a message saying what
// failed, which is what `expect` does.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod daemon;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Pinned Codex CLI version the suite is written against: the newest tested release
/// (`codex_launcher_engine::codex_version::NEWEST_TESTED`).
pub const CODEX_VERSION: &str = "0.171.0";

/// The previous release, also tested (`./test.sh` runs `codex_exec` and `codex_backends` on
/// it): `codex_launcher_engine::codex_version::OLDEST_TESTED`.
pub const CODEX_PREVIOUS_VERSION: &str = "0.169.0";

/// The workspace's target directory for this build profile.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/e2e-<hash>
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Path of one of our binaries.
pub fn workspace_bin(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.replace('-', "_").to_ascii_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --workspace --bins` first (./test.sh does), or set {var}",
        path.display()
    );
    path
}

/// Path of the real Codex CLI: `CODEX_BIN`, else the cached install of `CODEX_VERSION` (the
/// environment variable), else of the pinned [`CODEX_VERSION`].
pub fn codex_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CODEX_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let version = std::env::var("CODEX_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| CODEX_VERSION.to_owned());
    let cache = std::env::var_os("CODEX_LAUNCHER_CACHE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/codex-launcher")
        });
    let path = cache
        .join(format!("codex-{version}"))
        .join("node_modules/.bin/codex");
    assert!(
        path.exists(),
        "the Codex CLI {version} is not installed at {}: run `CODEX_VERSION={version} scripts/install-test-deps.sh` (./test.sh does)",
        path.display()
    );
    path
}

/// The Codex under test as `codex --version` names it (`codex-cli 0.171.0`), read once per
/// test binary, for failure messages: with two releases tested, a failure must say which.
pub fn codex_label() -> &'static str {
    static LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LABEL.get_or_init(|| {
        let bin = codex_bin();
        let version = Command::new(&bin)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "codex (version unknown)".to_owned());
        format!("{version} at {}", bin.display())
    })
}

/// An X server of our own, stopped on drop; `-displayfd` has it pick a free display and
/// say which once it accepts connections.
pub struct Xvfb {
    child: Child,
    /// `:N`, for `DISPLAY`.
    pub display: String,
}

impl Xvfb {
    /// Start one with a screen of `geometry` (`WIDTHxHEIGHTxDEPTH`).
    pub fn start(geometry: &str) -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                geometry,
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn Xvfb (apt install xvfb; scripts/install-test-deps.sh does)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("Xvfb display number");
        let number: u32 = line.trim().parse().expect("a display number from Xvfb");
        Xvfb {
            child,
            display: format!(":{number}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a stand-in for the Codex CLI says to `--version`: the daemon asks at every launch.
pub const STUB_CODEX_VERSION: &str = "codex-cli 0.171.0";

/// An executable stand-in script `name` in `dir`. A `#!` script answers `--version` as the
/// pinned Codex release does (the daemon runs `codex --version` at every launch), before its
/// own body runs, so a stand-in that records its arguments or waits only sees the session's
/// run.
pub fn stub(dir: &Path, name: &str, body: &str) -> PathBuf {
    let script = dir.join(name);
    let body = match body.split_once('\n') {
        Some((shebang, rest)) if shebang.starts_with("#!") => format!(
            "{shebang}\n[ \"$1\" = --version ] && {{ echo '{STUB_CODEX_VERSION}'; exit 0; }}\n{rest}"
        ),
        _ => body.to_owned(),
    };
    std::fs::write(&script, body).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    script
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// A scratch directory outside /tmp, removed on drop.
pub fn scratch_dir(label: &str) -> tempfile::TempDir {
    let home = std::env::var_os("HOME").expect("HOME");
    let base = PathBuf::from(home).join(".cache/codex-launcher/e2e");
    std::fs::create_dir_all(&base).expect("create e2e scratch base");
    tempfile::Builder::new()
        .prefix(&format!("{label}-"))
        .tempdir_in(base)
        .expect("scratch dir")
}

/// `codex-launcherd proxy` running in the background; stopped with SIGTERM on drop.
pub struct StandaloneProxy {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    stderr_path: PathBuf,
}

impl StandaloneProxy {
    /// Start with a config file holding `config` (JSON, same fields as the flags); the
    /// listen address defaults to 127.0.0.1:0.
    pub fn start(mut config: serde_json::Value) -> StandaloneProxy {
        let dir = scratch_dir("proxy");
        if config.get("listen").is_none() {
            config["listen"] = serde_json::json!("127.0.0.1:0");
        }
        let cfg = dir.path().join("proxy.json");
        std::fs::write(&cfg, serde_json::to_vec_pretty(&config).expect("json"))
            .expect("write config");
        let stderr_path = dir.path().join("proxy.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut child = Command::new(workspace_bin("codex-launcherd"))
            .arg("proxy")
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", "info,codex_launcher_proxy=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn codex-launcherd proxy");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read ready line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|s| s.strip_suffix("/v1"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("proxy did not announce its address (got {line:?}); stderr:\n{err}")
            });
        StandaloneProxy {
            child,
            addr,
            _dir: dir,
            stderr_path,
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id (to read its `/proc/PID/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the proxy logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Send SIGTERM and wait; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for StandaloneProxy {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}

/// One `codex exec` run.
pub struct CodexRun {
    /// Exit code (`None` when killed by the timeout).
    pub code: Option<i32>,
    /// Final message (stdout).
    pub stdout: String,
    /// Banner, tool runs, errors.
    pub stderr: String,
    /// The work directory Codex ran in (kept until the run is dropped).
    pub workdir: tempfile::TempDir,
    _home: tempfile::TempDir,
}

impl CodexRun {
    /// A file Codex should have written.
    pub fn file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.workdir.path().join(name)).ok()
    }
}

/// Options for a `codex exec` run through a provider at `base_url`.
pub struct Codex {
    base_url: String,
    model: String,
    prompt: String,
    catalog: Option<serde_json::Value>,
    extra_config: String,
    timeout: Duration,
    token: String,
}

impl Codex {
    /// A run against a Responses endpoint (our proxy).
    pub fn new(base_url: impl Into<String>) -> Codex {
        Codex {
            base_url: base_url.into(),
            model: "mock-model".into(),
            prompt: "Do the task.".into(),
            catalog: None,
            extra_config: String::new(),
            timeout: Duration::from_secs(120),
            token: "local-test-token".into(),
        }
    }

    /// Model slug.
    pub fn model(mut self, model: &str) -> Self {
        self.model = model.into();
        self
    }

    /// The user prompt.
    pub fn prompt(mut self, prompt: &str) -> Self {
        self.prompt = prompt.into();
        self
    }

    /// A model catalog (ModelsResponse) to hand Codex via `model_catalog_json`.
    pub fn catalog(mut self, catalog: serde_json::Value) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The proxy access token Codex sends (`env_key`); the standalone proxy takes any.
    pub fn token(mut self, token: &str) -> Self {
        self.token = token.into();
        self
    }

    /// Extra lines appended to the provider table of config.toml.
    pub fn provider_config(mut self, lines: &str) -> Self {
        self.extra_config.push_str(lines);
        self.extra_config.push('\n');
        self
    }

    /// Run it (blocking: call from `spawn_blocking` inside async tests).
    pub fn run(self) -> CodexRun {
        let home = scratch_dir("codex-home");
        let workdir = scratch_dir("codex-work");
        let mut config = format!(
            "model = \"{model}\"\nmodel_provider = \"launcher\"\n",
            model = self.model
        );
        if let Some(catalog) = &self.catalog {
            let path = home.path().join("catalog.json");
            std::fs::write(&path, serde_json::to_vec(catalog).expect("json"))
                .expect("write catalog");
            config.push_str(&format!("model_catalog_json = \"{}\"\n", path.display()));
        }
        config.push_str(&format!(
            "\n[model_providers.launcher]\nname = \"codex-launcher test\"\nbase_url = \"{}\"\nenv_key = \"CODEX_LAUNCHER_TOKEN\"\nwire_api = \"responses\"\n{}",
            self.base_url, self.extra_config
        ));
        std::fs::write(home.path().join("config.toml"), config).expect("write config.toml");
        let mut child = Command::new(codex_bin())
            .args([
                "exec",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "--color",
                "never",
            ])
            .arg("-C")
            .arg(workdir.path())
            .arg(&self.prompt)
            .env("CODEX_HOME", home.path())
            .env("CODEX_LAUNCHER_TOKEN", &self.token)
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn codex");
        let out = wait_with_timeout(&mut child, self.timeout);
        CodexRun {
            code: out.0,
            stdout: out.1,
            stderr: out.2,
            workdir,
            _home: home,
        }
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> (Option<i32>, String, String) {
    use std::io::Read;
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + timeout;
    let code = loop {
        match child.try_wait().expect("try_wait") {
            Some(status) => break status.code(),
            None if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    (
        code,
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default(),
    )
}

/// Read a file if it exists.
pub fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[cfg(test)]
mod tests {
    use codex_launcher_engine::codex_version::{NEWEST_TESTED, OLDEST_TESTED};

    #[test]
    fn the_tested_releases_are_the_engines_range() {
        // `codexctl doctor` calls a version outside this range untested: the range must be
        // what `./test.sh` really runs.
        assert_eq!(super::CODEX_VERSION, NEWEST_TESTED.to_string());
        assert_eq!(super::CODEX_PREVIOUS_VERSION, OLDEST_TESTED.to_string());
        // And what scripts/install-test-deps.sh installs and test.sh runs.
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts/install-test-deps.sh");
        let script = std::fs::read_to_string(&script).expect("install-test-deps.sh");
        let pinned = format!("\nCODEX_PINNED={}\n", super::CODEX_VERSION);
        let previous = format!("\nCODEX_PREVIOUS={}\n", super::CODEX_PREVIOUS_VERSION);
        assert!(
            script.contains(&pinned) && script.contains(&previous),
            "scripts/install-test-deps.sh must pin {} and {}",
            super::CODEX_VERSION,
            super::CODEX_PREVIOUS_VERSION
        );
    }
}
