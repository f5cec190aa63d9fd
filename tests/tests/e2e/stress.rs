//! Desktop launches, Kill & Cleanup and a crash, all at once, twenty times: the state owner's
//! promise that no command sees another half done.
//!
//! Each round: a burst of 8 Codex Desktop launches on two endpoints with 4 Cleanups
//! alongside; every Desktop that started must have seen its own provider in config.toml (the
//! other endpoint's launches are refused while config.toml holds the first one's), no
//! Cleanup restores a backup under a live session, and config.toml comes back byte for byte
//! when they end. Then a Codex Default session, then a second burst during which the daemon
//! is SIGKILLed; restarted, it restores config.toml before READY, and Kill & Cleanup stops
//! everything the crashed daemon left running.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use codex_launcher_dbus::{Backend, EndpointSpec, ManagerProxy, SESSION_INTERFACE, SessionProxy};
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::{alive, scratch_dir, stub};
use futures::StreamExt;

/// A Codex Desktop stand-in: saves the config.toml it starts with as `<script>.seen.<pid>`
/// (written whole, then renamed), then blocks on a FIFO of its own until it is stopped. It
/// stays a shell running this script, so Kill & Cleanup can match it by its path.
const DESKTOP: &str = "#!/bin/sh\n\
cp \"$CODEX_HOME/config.toml\" \"$0.part.$$\" 2>/dev/null || : > \"$0.part.$$\"\n\
mv \"$0.part.$$\" \"$0.seen.$$\"\n\
mkfifo \"$0.wait.$$\"\n\
exec 3<>\"$0.wait.$$\"\n\
read -r _ <&3\n";

/// CRLF, no final newline, a comment and non-ASCII: every byte must come back.
const ORIGINAL: &[u8] =
    b"# my settings \xc3\xa9\r\nmodel = \"gpt-5.5\"\r\n[tui]\r\nanimations = false";

const ROUNDS: usize = 20;

fn options() -> std::collections::HashMap<String, String> {
    [("grace_ms".to_owned(), "300".to_owned())].into()
}

async fn add(m: &ManagerProxy<'_>, name: &str) -> String {
    let spec = EndpointSpec {
        name: name.into(),
        backend: Backend::OpenaiCompat,
        base_url: "http://127.0.0.1:9/v1".into(),
        default_model: "m".into(),
        ..EndpointSpec::default()
    };
    m.add_endpoint(spec, "").await.expect("add endpoint")
}

async fn session(conn: &zbus::Connection, path: &zbus::OwnedObjectPath) -> SessionProxy<'static> {
    SessionProxy::builder(conn)
        .path(path.clone())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("session proxy")
}

/// The stand-ins that have written what they saw, by pid.
fn seen(dir: &Path) -> Vec<(u32, String)> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            let pid = name.strip_prefix("codex-desktop.seen.")?.parse().ok()?;
            Some((pid, std::fs::read_to_string(&path).ok()?))
        })
        .collect()
}

fn what_pid_saw(dir: &Path, pid: u32) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((_, text)) = seen(dir).into_iter().find(|(p, _)| *p == pid) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "Desktop stand-in {pid} never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Exited signals of every session.
async fn exits(conn: &zbus::Connection) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(SESSION_INTERFACE)
        .member("Exited")
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, std::num::NonZeroUsize::new(64))
        .await
        .expect("subscribe")
}

async fn wait_exited(stream: &mut zbus::MessageStream, paths: &mut HashSet<String>) {
    while !paths.is_empty() {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("Exited in time")
            .expect("stream")
            .expect("signal");
        if let Some(p) = msg.header().path() {
            paths.remove(p.as_str());
        }
    }
}

fn config_bytes(home: &Path) -> Vec<u8> {
    std::fs::read(home.join(".codex/config.toml")).expect("config.toml")
}

fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn desktop_bursts_cleanups_and_a_crash_leave_config_toml_as_it_was() {
    let dir = scratch_dir("stress");
    let desktop = stub(dir.path(), "codex-desktop", DESKTOP);
    let env = [(
        "CODEX_LAUNCHER_DESKTOP_CMD",
        desktop.to_str().expect("utf-8 path"),
    )];
    let bus = PrivateBus::start(None, &[]);
    let home = scratch_dir("stress-home");
    let home_path = home.path().to_path_buf();
    std::fs::create_dir_all(home_path.join(".codex")).expect("mkdir");
    std::fs::write(home_path.join(".codex/config.toml"), ORIGINAL).expect("config");

    let mut daemon = DaemonProcess::start_full(&bus, Listen::Own, home, &env);
    daemon.wait_notify("READY=1");
    let conn = bus.connect().await;
    let m = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("manager");
    let alpha = add(&m, "alpha").await;
    let beta = add(&m, "beta").await;
    let mut exited = exits(&conn).await;
    let mut every_pid = Vec::new();

    for round in 0..ROUNDS {
        // Burst 1: 8 Desktop launches on two endpoints, 4 Cleanups alongside.
        let targets: Vec<&str> = (0..8)
            .map(|i| {
                if i % 2 == 0 {
                    alpha.as_str()
                } else {
                    beta.as_str()
                }
            })
            .collect();
        let launches = futures::future::join_all(
            targets
                .iter()
                .map(|id| m.launch(id, "", "desktop", options())),
        );
        let cleanups = futures::future::join_all((0..4).map(|_| m.cleanup(false)));
        let (launched, cleaned) = futures::future::join(launches, cleanups).await;
        let mut started = Vec::new();
        for (target, result) in targets.iter().zip(launched) {
            match result {
                Ok(path) => started.push((*target, path)),
                Err(e) => assert_eq!(
                    error_name(&e),
                    "io.github.CodexLauncher1.Error.Conflict",
                    "round {round}: a launch fails only because config.toml is taken: {e}"
                ),
            }
        }
        assert!(!started.is_empty(), "round {round}: nothing started");
        let holder = started[0].0;
        assert!(
            started.iter().all(|(t, _)| *t == holder),
            "round {round}: config.toml held for two providers at once"
        );
        for items in cleaned {
            let items = items.expect("cleanup");
            assert!(
                items.iter().all(|i| i.kind != "backup"),
                "round {round}: a Cleanup touched a backup a live session holds: {items:#?}"
            );
        }
        let mut paths = HashSet::new();
        for (target, path) in &started {
            let s = session(&conn, path).await;
            let pid = s.pid().await.expect("pid");
            let saw = what_pid_saw(dir.path(), pid);
            assert!(
                saw.contains(&format!("model_provider = \"codex-launcher-{target}\"")),
                "round {round}: Desktop {pid} on {target} saw:\n{saw}"
            );
            every_pid.push(pid);
            paths.insert(path.to_string());
        }
        for (_, path) in &started {
            session(&conn, path).await.stop().await.expect("stop");
        }
        wait_exited(&mut exited, &mut paths).await;
        assert_eq!(
            config_bytes(&home_path),
            ORIGINAL,
            "round {round}: config.toml back byte for byte\n{}",
            daemon.stderr()
        );

        // Codex Default: none of the launcher's settings.
        let path = m
            .launch("", "", "default-desktop", options())
            .await
            .expect("codex default");
        let s = session(&conn, &path).await;
        let pid = s.pid().await.expect("pid");
        let saw = what_pid_saw(dir.path(), pid);
        assert!(!saw.contains("codex-launcher-"), "round {round}: {saw}");
        every_pid.push(pid);
        s.stop().await.expect("stop");
        wait_exited(&mut exited, &mut [path.to_string()].into()).await;
        assert_eq!(config_bytes(&home_path), ORIGINAL, "round {round}");

        // Burst 2, and the daemon is killed in the middle of it.
        let before: HashSet<u32> = seen(dir.path()).into_iter().map(|(p, _)| p).collect();
        let burst: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                let id = alpha.clone();
                tokio::spawn(async move { m.launch(&id, "", "desktop", options()).await })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen(dir.path())
            .iter()
            .filter(|(p, _)| !before.contains(p))
            .count()
            < 2
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: burst 2 never started"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Those that had started by then saw their provider; the rest may start after the
        // new daemon restored config.toml, which is what a crash means for them.
        let started_before: Vec<(u32, String)> = seen(dir.path())
            .into_iter()
            .filter(|(p, _)| !before.contains(p))
            .collect();
        let home = daemon.crash();
        for launch in burst {
            // Answered before the crash, or failed by it: either is fine.
            let _ = launch.await.expect("join");
        }
        for (pid, saw) in &started_before {
            assert!(
                saw.contains(&format!("model_provider = \"codex-launcher-{alpha}\"")),
                "round {round}: Desktop {pid} saw:\n{saw}"
            );
        }
        daemon = DaemonProcess::start_full(&bus, Listen::Own, home, &env);
        daemon.wait_notify("READY=1");
        assert_eq!(
            config_bytes(&home_path),
            ORIGINAL,
            "round {round}: restored before READY\n{}",
            daemon.stderr()
        );
        let items = m.kill_and_cleanup(false, true).await.expect("cleanup");
        assert!(
            items.iter().all(|i| !i.action.is_failed()),
            "round {round}: {items:#?}"
        );
        let left = running(&desktop);
        assert!(
            left.is_empty(),
            "round {round}: Desktop stand-ins {left:?} outlived the crash and Kill & Cleanup: {items:#?}"
        );
        assert_eq!(config_bytes(&home_path), ORIGINAL, "round {round}");
    }
    let _home = daemon.stop();
    assert!(
        every_pid.iter().all(|p| !alive(*p)) && running(&desktop).is_empty(),
        "nothing is left running"
    );
    assert_eq!(config_bytes(&home_path), ORIGINAL);
}

/// Live processes running `script` (a shell with the script's path as its argument).
fn running(script: &Path) -> Vec<u32> {
    let want = script.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == want))
        })
        .filter(|pid| alive(*pid))
        .collect()
}
