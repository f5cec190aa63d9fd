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
}

/// A Codex Desktop stand-in: copies the config.toml it starts with next to itself
/// (`<name>.seen.<pid>`), then waits to be stopped.
const DESKTOP: &str =
    "#!/bin/sh\ncp \"$CODEX_HOME/config.toml\" \"$0.seen.$$\" 2>/dev/null\nexec sleep 60\n";

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
        proxy,
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
