//! Interactive `codexctl endpoint add` in a real pseudo-terminal: the preset picker, the
//! prompts with the preset's values offered, and the key typed without echo.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codex_launcher_dbus::ManagerProxy;
use codex_launcher_e2e::daemon::{DaemonProcess, Listen, PrivateBus};
use codex_launcher_e2e::workspace_bin;

/// The master side of a pty whose slave is a child's controlling terminal.
struct Terminal {
    master: std::fs::File,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    /// `command` on a new pty, as the leader of a new session with the pty as its terminal
    /// (`setsid --ctty`), so it reads `/dev/tty` as a person's terminal.
    fn spawn(command: &mut Command) -> (Terminal, std::process::Child) {
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().expect("pts path"))
            .expect("open the pty slave");
        let child = command
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("spawn on the pty");
        let master = std::fs::File::from(master);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup master");
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the last slave handle closes: the child is done.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        (Terminal { master, seen }, child)
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().expect("lock")).into_owned()
    }

    /// Wait until the screen shows `text` after what was already consumed.
    fn expect(&self, text: &str, from: &mut usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all = self.transcript();
            if let Some(at) = all.get(*from..).and_then(|rest| rest.find(text)) {
                *from += at + text.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no `{text}` on the terminal:\n{all}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\r").as_bytes())
            .expect("type");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn interactive_add_picks_a_preset_and_reads_the_key_without_echo() {
    let bus = PrivateBus::start(None, &[]);
    let daemon = DaemonProcess::start(&bus, Listen::Own);
    daemon.wait_notify("READY=1");

    let mut cmd = Command::new("setsid");
    cmd.args(["--ctty", "--wait"])
        .arg(workspace_bin("codexctl"))
        .args(["endpoint", "add"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("NO_COLOR", "1");
    let (mut term, mut child) = Terminal::spawn(&mut cmd);
    let mut at = 0;
    term.expect("Presets:", &mut at);
    term.expect("deepseek", &mut at);
    term.expect("Preset number or id (empty: custom): ", &mut at);
    term.type_line("no-such-preset");
    term.expect("no preset `no-such-preset`", &mut at);
    term.expect("Preset number or id (empty: custom): ", &mut at);
    term.type_line("deepseek");
    term.expect("Name [", &mut at);
    term.type_line("");
    term.expect("Base URL [https://", &mut at);
    term.type_line("");
    term.expect("Default model (empty: none) [", &mut at);
    term.type_line("");
    term.expect("API key (not shown; empty: none): ", &mut at);
    term.type_line("sk-test-typed-secret");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "codexctl did not finish:\n{}",
            term.transcript()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let transcript = term.transcript();
    assert!(status.success(), "{transcript}\n{}", daemon.stderr());
    assert!(
        !transcript.contains("sk-test-typed-secret"),
        "the key was echoed:\n{transcript}"
    );

    let conn = bus.connect().await;
    let m = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("manager");
    let endpoints = m.list_endpoints().await.expect("list");
    assert_eq!(endpoints.len(), 1, "{transcript}");
    let e = &endpoints[0];
    assert_eq!(e.spec.preset, "deepseek");
    assert!(e.spec.base_url.starts_with("https://"), "{:?}", e.spec);
    assert!(e.has_key, "the typed key was stored");
    assert!(
        transcript.contains(&e.id),
        "the new id is shown:\n{transcript}"
    );
}
