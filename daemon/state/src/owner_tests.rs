//! The owner's rules, driven through its [`Handle`] the way the daemon's bus adapters drive
//! it: no bus, no display, temp directories, stand-in programs, a fake clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use codex_launcher_engine::backup::{self, Backups};
use codex_launcher_engine::keys::FileKeys;
use codex_launcher_engine::model::{Endpoint, Model};
use codex_launcher_engine::paths::Paths;
use codex_launcher_proxy::{ProxyState, Settings};
use codex_launcher_types::{Backend, CleanupAction, CleanupKind, Mode, SessionState};
use tokio::sync::broadcast;

use super::*;
use crate::clock::Clock;
use crate::keystore::FileKeyStore;
use crate::planning::LaunchOptions;
use codex_launcher_types::CacheTtl;

struct FakeClock(Mutex<Instant>);

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }
}

struct World {
    dir: tempfile::TempDir,
    paths: Paths,
    handle: Handle,
    events: broadcast::Receiver<Event>,
    proxy: Arc<ProxyState>,
}

/// A Codex Desktop stand-in: copies the config.toml it starts with next to itself
/// (`<name>.seen.<pid>`), then waits to be stopped. As the Codex CLI it answers `--version`
/// (read at every launch) as the newest tested release does.
const DESKTOP: &str = "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'codex-cli 0.171.0'; exit 0; }\ncp \"$CODEX_HOME/config.toml\" \"$0.seen.$$\" 2>/dev/null\nexec sleep 60\n";

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    let desktop = script(dir.path(), "desktop", DESKTOP);
    let env: HashMap<String, String> = HashMap::from([
        ("PATH".into(), "/usr/bin:/bin".into()),
        (
            supervisor::DESKTOP_ENV.into(),
            desktop.display().to_string(),
        ),
        ("CODEX_BIN".into(), desktop.display().to_string()),
    ]);
    let proxy = Arc::new(ProxyState::new(Settings::default()).unwrap());
    let started = start(Deps {
        keys: Box::new(FileKeyStore(FileKeys::new(&paths.keys_file()))),
        paths: paths.clone(),
        proxy: proxy.clone(),
        proxy_addr: "127.0.0.1:9".parse().unwrap(),
        token: "t".repeat(32),
        env: Arc::new(env),
        clock: Arc::new(FakeClock(Mutex::new(Instant::now()))),
        stall: Duration::from_secs(600),
    })
    .await
    .unwrap();
    let events = started.handle.subscribe();
    World {
        dir,
        paths,
        handle: started.handle,
        events,
        proxy,
    }
}

fn endpoint(name: &str) -> Endpoint {
    Endpoint {
        name: name.into(),
        backend: Backend::OpenaiCompat,
        base_url: format!("https://api.{name}.example/v1"),
        default_model: "m".into(),
        models: vec![Model::bare("m")],
        ..Endpoint::default()
    }
}

fn desktop_on(endpoint: &str) -> LaunchRequest {
    LaunchRequest {
        endpoint: endpoint.into(),
        model: String::new(),
        mode: Mode::Desktop,
        options: LaunchOptions::parse(&HashMap::from([("grace_ms".to_owned(), "200".to_owned())]))
            .unwrap(),
    }
}

impl World {
    fn config(&self) -> PathBuf {
        backup::config_file(&self.paths)
    }

    fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.paths.codex_home.clone()).unwrap();
        std::fs::write(self.config(), text).unwrap();
    }

    fn read_config(&self) -> String {
        std::fs::read_to_string(self.config()).unwrap_or_default()
    }

    async fn exited(&mut self, id: u64) -> i32 {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(20), self.events.recv())
                .await
                .expect("an event in time")
                .expect("events");
            if let Event::SessionExited { id: got, code } = event
                && got == id
            {
                return code;
            }
        }
    }

    /// What the stand-in of session `pid` saw when it started.
    fn seen(&self, pid: u32) -> String {
        let path = self.dir.path().join(format!("desktop.seen.{pid}"));
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the stand-in never wrote {}", path.display());
    }
}

const USER: &str = "# my own settings\nmodel = \"gpt-5.5\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_sessions_hold_config_toml_for_one_provider_at_a_time() {
    let mut w = world().await;
    w.write_config(USER);
    let a = w.handle.add_endpoint(endpoint("alpha"), "").await.unwrap();
    let b = w.handle.add_endpoint(endpoint("beta"), "").await.unwrap();

    let first = w.handle.launch(desktop_on(&a)).await.unwrap();
    let pid = w.handle.session(first).await.unwrap().unwrap().pid;
    assert!(
        w.seen(pid).contains("codex-launcher-alpha"),
        "it started with its provider"
    );
    assert!(
        w.read_config()
            .contains("model_provider = \"codex-launcher-alpha\"")
    );

    // The same provider shares the backup; another one, or Codex Default, must wait.
    let second = w.handle.launch(desktop_on(&a)).await.unwrap();
    let err = w.handle.launch(desktop_on(&b)).await.unwrap_err();
    assert!(
        matches!(&err, StateError::Conflict(m) if m.contains(&format!("session {first}"))),
        "{err}"
    );
    let mut default = desktop_on("");
    default.mode = Mode::DefaultDesktop;
    assert!(matches!(
        w.handle.launch(default.clone()).await,
        Err(StateError::Conflict(_))
    ));

    w.handle.stop(first).await.unwrap();
    w.exited(first).await;
    assert!(
        w.read_config().contains("codex-launcher-alpha"),
        "still held by the second session"
    );
    w.handle.stop(second).await.unwrap();
    w.exited(second).await;
    assert_eq!(
        w.read_config(),
        USER,
        "back byte for byte with the last holder"
    );

    // Free again: the other provider now gets it.
    let third = w.handle.launch(desktop_on(&b)).await.unwrap();
    let pid = w.handle.session(third).await.unwrap().unwrap().pid;
    assert!(w.seen(pid).contains("codex-launcher-beta"));
    w.handle.stop(third).await.unwrap();
    w.exited(third).await;
    assert_eq!(w.read_config(), USER);
    w.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_restores_only_backups_no_live_session_holds_and_says_how_it_went() {
    let mut w = world().await;
    w.write_config(USER);
    let a = w.handle.add_endpoint(endpoint("alpha"), "").await.unwrap();
    let live = w.handle.launch(desktop_on(&a)).await.unwrap();
    // A hold whose session is gone (its release failed): in the journal, held by no one.
    let journal = Backups::at(&w.paths.state);
    journal.acquire("desktop-0-gone-99", &w.config()).unwrap();

    let dry = w.handle.cleanup(true, false).await.unwrap();
    let backups: Vec<&CleanupItem> = dry
        .iter()
        .filter(|i| i.kind == CleanupKind::Backup)
        .collect();
    assert_eq!(backups.len(), 1, "{dry:#?}");
    assert!(backups[0].description.contains("desktop-0-gone-99"));
    assert_eq!(backups[0].action, CleanupAction::Found);

    let done = w.handle.cleanup(false, false).await.unwrap();
    let item = done.iter().find(|i| i.kind == CleanupKind::Backup).unwrap();
    assert_eq!(
        item.action,
        CleanupAction::Removed,
        "the live session still holds config.toml: only the stale hold goes"
    );
    assert!(
        w.read_config().contains("codex-launcher-alpha"),
        "not restored under it"
    );
    assert_eq!(
        w.handle.session(live).await.unwrap().unwrap().state,
        SessionState::Running
    );

    // A hold that cannot be restored is reported as failed, not as restored.
    w.handle.stop(live).await.unwrap();
    w.exited(live).await;
    assert_eq!(w.read_config(), USER);
    journal.acquire("desktop-0-gone-100", &w.config()).unwrap();
    for entry in std::fs::read_dir(w.paths.state.join("config-backup")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("original")
        {
            std::fs::write(&path, "damaged").unwrap();
        }
    }
    let done = w.handle.cleanup(false, false).await.unwrap();
    let item = done.iter().find(|i| i.kind == CleanupKind::Backup).unwrap();
    assert!(item.action.is_failed(), "{item:?}");
    w.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_cleanup_stops_live_sessions_first_and_spares_none() {
    let mut w = world().await;
    w.write_config(USER);
    let a = w.handle.add_endpoint(endpoint("alpha"), "").await.unwrap();
    let desktop = w.handle.launch(desktop_on(&a)).await.unwrap();
    let mut run = desktop_on(&a);
    run.mode = Mode::Run;
    let registered = w.handle.prepare_run(run).await.unwrap().session;
    assert_eq!(
        w.handle.session(registered).await.unwrap().unwrap().state,
        SessionState::Starting
    );

    // Without stop_sessions, nothing live (or starting) is touched.
    let items = w.handle.cleanup(false, false).await.unwrap();
    assert!(
        items.iter().all(|i| i.kind != CleanupKind::Session),
        "{items:#?}"
    );
    assert!(w.read_config().contains("codex-launcher-alpha"));

    let dry = w.handle.cleanup(true, true).await.unwrap();
    let sessions: Vec<u32> = dry
        .iter()
        .filter(|i| i.kind == CleanupKind::Session)
        .map(|i| i.pid)
        .collect();
    assert_eq!(sessions.len(), 2, "{dry:#?}");
    let done = w.handle.cleanup(false, true).await.unwrap();
    assert_eq!(
        done.iter()
            .filter(|i| i.kind == CleanupKind::Session && i.action == CleanupAction::Stopped)
            .count(),
        2,
        "{done:#?}"
    );
    // The reply comes once they have ended and config.toml is back.
    assert_eq!(w.read_config(), USER);
    for id in [desktop, registered] {
        assert_eq!(
            w.handle.session(id).await.unwrap().unwrap().state,
            SessionState::Exited
        );
    }
    w.exited(desktop).await;
    w.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probes_recording_keeps_an_edit_made_while_it_ran() {
    let w = world().await;
    let id = w.handle.add_endpoint(endpoint("alpha"), "").await.unwrap();
    // The probe read the endpoint, then the user renamed it and added a model...
    let mut edited = w.handle.endpoint(&id).await.unwrap().endpoint;
    edited.name = "Alpha (renamed)".into();
    edited.models.push(Model::bare("m2"));
    w.handle.update_endpoint(&id, edited).await.unwrap();
    // ...then the probe recorded what it found.
    let mut quirks = serde_json::Map::new();
    quirks.insert("parallel_tool_calls".into(), false.into());
    w.handle
        .record_quirks(&id, "m", quirks, Some(false))
        .await
        .unwrap();
    let now = w.handle.endpoint(&id).await.unwrap().endpoint;
    assert_eq!(now.name, "Alpha (renamed)", "the edit stays");
    assert_eq!(now.models.len(), 2);
    assert!(!now.models[0].parallel_tool_calls);
    assert_eq!(
        now.quirks.unwrap().get("parallel_tool_calls"),
        Some(&serde_json::Value::Bool(false))
    );
    w.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_is_counted_per_session_and_usage_by_known_model() {
    let w = world().await;
    let id = w.handle.add_endpoint(endpoint("alpha"), "").await.unwrap();
    let mut run = desktop_on(&id);
    run.mode = Mode::Run;
    let session = w.handle.prepare_run(run).await.unwrap().session;
    let done = |model: &str, session: Option<u64>| RequestDone {
        session,
        endpoint: id.clone(),
        model: model.into(),
        input_tokens: 100,
        output_tokens: 7,
        failed: false,
        request_id: 1,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
    };
    w.handle
        .send(Command::RequestStarted(Some(session), Instant::now()));
    w.handle
        .send(Command::RequestFinished(done("m", Some(session))));
    w.handle
        .send(Command::RequestFinished(done("made-up", None)));
    let view = w.handle.session(session).await.unwrap().unwrap();
    assert_eq!((view.traffic.requests, view.traffic.input_tokens), (1, 100));
    let usage = w.handle.proxy_status().await.unwrap().usage;
    let models: Vec<&str> = usage.iter().map(|u| u.model.as_str()).collect();
    assert_eq!(models, [crate::usage::OTHER_MODEL, "m"]);
    w.handle.shutdown().await;
}

// ---- cost and prices (issue 14) ----

/// A request of `tokens` (input, cached, cache write, output) on `model`.
fn request(
    endpoint: &str,
    model: &str,
    session: Option<u64>,
    (input, cached, written, output): (u64, u64, u64, u64),
) -> RequestDone {
    RequestDone {
        session,
        endpoint: endpoint.into(),
        model: model.into(),
        input_tokens: input,
        output_tokens: output,
        failed: false,
        request_id: 7,
        cached_input_tokens: cached,
        cache_write_input_tokens: written,
    }
}

fn prices(input: &str, cached: &str, write: &str, output: &str) -> PriceEdit {
    PriceEdit::parse(Some(input), Some(cached), Some(write), Some(output)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_is_summed_exactly_per_session_and_per_model_and_no_price_is_not_zero() {
    let w = world().await;
    let mut e = endpoint("claude");
    e.models.push(Model::bare("unpriced"));
    let id = w.handle.add_endpoint(e, "").await.unwrap();
    w.handle
        .set_prices(&id, "m", prices("3", "0.30", "3.75", "15"))
        .await
        .unwrap();
    let mut run = desktop_on(&id);
    run.mode = Mode::Run;
    let session = w.handle.prepare_run(run).await.unwrap().session;

    // Three priced requests: 1,000 × 3 + 20,000 × 0.30 + 9,000 × 3.75 + 500 × 15 micro-dollars
    // each; one on a model without prices; one on a model the endpoint does not list.
    let tokens = (30_000, 20_000, 9_000, 500);
    for _ in 0..3 {
        w.handle.send(Command::RequestFinished(request(
            &id,
            "m",
            Some(session),
            tokens,
        )));
    }
    w.handle.send(Command::RequestFinished(request(
        &id,
        "unpriced",
        Some(session),
        tokens,
    )));
    w.handle.send(Command::RequestFinished(request(
        &id, "made-up", None, tokens,
    )));

    let view = w.handle.session(session).await.unwrap().unwrap();
    let t = view.traffic;
    assert_eq!(t.requests, 4);
    assert_eq!(
        (t.cached_input_tokens, t.cache_write_input_tokens),
        (80_000, 36_000)
    );
    assert_eq!(t.cost.priced_requests, 3, "the unpriced request is not $0");
    assert_eq!(t.cost.usd.micro_usd(), 3 * 50_250);
    assert_eq!(t.cost.usd.to_string(), "$0.150750");

    let usage = w.handle.proxy_status().await.unwrap().usage;
    let row = |model: &str| {
        usage
            .iter()
            .find(|u| u.model == model)
            .unwrap_or_else(|| panic!("no row for {model}: {usage:?}"))
            .traffic
    };
    assert_eq!(row("m").cost.usd.micro_usd(), 3 * 50_250);
    assert_eq!(row("m").cost.priced_requests, 3);
    assert_eq!(row("m").cached_input_tokens, 60_000);
    for unpriced in ["unpriced", crate::usage::OTHER_MODEL] {
        assert_eq!(row(unpriced).requests, 1);
        assert_eq!(
            row(unpriced).cost,
            crate::cost::Cost::default(),
            "{unpriced}"
        );
    }

    // A price set later counts from then on: the earlier requests stay unpriced.
    w.handle
        .set_prices(&id, "unpriced", prices("1", "", "", "1"))
        .await
        .unwrap();
    w.handle.send(Command::RequestFinished(request(
        &id,
        "unpriced",
        None,
        (1_000_000, 0, 0, 0),
    )));
    let usage = w.handle.proxy_status().await.unwrap().usage;
    let later = usage
        .iter()
        .find(|u| u.model == "unpriced")
        .unwrap()
        .traffic;
    assert_eq!((later.requests, later.cost.priced_requests), (2, 1));
    assert_eq!(later.cost.usd.format(2), "1.00");
    w.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hour_caching_charges_writes_at_twice_the_input_price() {
    let w = world().await;
    let id = w.handle.add_endpoint(endpoint("claude"), "").await.unwrap();
    w.handle
        .set_prices(&id, "m", prices("3", "0.30", "3.75", "15"))
        .await
        .unwrap();
    w.handle
        .set_endpoint_options(
            &id,
            EndpointOptions {
                cache: Some(CacheTtl::OneHour),
            },
        )
        .await
        .unwrap();
    w.handle.send(Command::RequestFinished(request(
        &id,
        "m",
        None,
        (1_000, 0, 1_000, 0),
    )));
    let usage = w.handle.proxy_status().await.unwrap().usage;
    assert_eq!(usage[0].traffic.cost.usd.micro_usd(), 6_000, "1,000 × $6");
    w.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_and_options_survive_an_update_and_reach_the_proxy() {
    let w = world().await;
    let id = w.handle.add_endpoint(endpoint("claude"), "").await.unwrap();
    assert_eq!(
        w.proxy.endpoint(Some(&id)).unwrap().cache,
        CacheTtl::FiveMinutes,
        "on by default"
    );
    let mut listed = w.handle.endpoint(&id).await.unwrap().endpoint;
    listed.models[0].prices =
        codex_launcher_engine::pricing::Prices::list(3.0, 0.3, 3.75, 15.0, "2026-12-02");
    w.handle.update_endpoint(&id, listed).await.unwrap();
    w.handle
        .set_endpoint_options(
            &id,
            EndpointOptions {
                cache: Some(CacheTtl::Off),
            },
        )
        .await
        .unwrap();
    assert_eq!(w.proxy.endpoint(Some(&id)).unwrap().cache, CacheTtl::Off);

    // A client's update carries neither prices nor options (the contract's spec has none):
    // both stay.
    let mut edit = w.handle.endpoint(&id).await.unwrap().endpoint;
    edit.name = "Renamed".into();
    edit.models[0].prices = Default::default();
    edit.cache = CacheTtl::default();
    w.handle.update_endpoint(&id, edit).await.unwrap();
    let now = w.handle.endpoint(&id).await.unwrap().endpoint;
    assert_eq!(now.name, "Renamed");
    assert_eq!(now.cache, CacheTtl::Off);
    assert_eq!(now.models[0].prices.as_of, "2026-12-02");

    // A user's edit replaces what it names, and the prices are no longer the dated list's.
    w.handle
        .set_prices(
            &id,
            "m",
            PriceEdit::parse(Some("2"), None, None, None).unwrap(),
        )
        .await
        .unwrap();
    let p = w.handle.endpoint(&id).await.unwrap().endpoint.models[0]
        .prices
        .clone();
    assert_eq!(p.input.unwrap().to_string(), "2");
    assert_eq!(p.output.unwrap().to_string(), "15");
    assert_eq!(p.as_of, "");

    let err = w
        .handle
        .set_prices(&id, "nope", PriceEdit::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::NotFound(_)), "{err}");
    let err = w
        .handle
        .set_endpoint_options("nope", EndpointOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::NotFound(_)), "{err}");
    w.handle.shutdown().await;
}

// ---- Codex version (issue 17) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_info_reads_the_version_sessions_would_run() {
    let w = world().await;
    let info = w.handle.codex_info().await.unwrap();
    assert_eq!(info.program, w.dir.path().join("desktop"));
    assert_eq!(info.version.as_deref(), Some("0.171.0"));
    assert_eq!(info.verdict, codex_launcher_types::CodexVerdict::Tested);
    w.handle.shutdown().await;
}
