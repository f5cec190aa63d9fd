//! `daemonbench`: the daemon's own numbers, on this machine, loopback only.
//!
//! - socket-activation cold start: `systemd-socket-activate` holds the socket; the clock runs
//!   from the first connection (which makes it start `codex-launcherd`) to the first byte of a
//!   proxied `/responses` stream from the mock upstream; repeated N times, fresh process each;
//! - D-Bus method round trip: `Ping` over a private `dbus-daemon`, N calls, p50/p99;
//! - idle RSS of the daemon after start;
//! - the turn recorder's cost (`--record-requests N`, issue 18): streamed turns (20 chunks)
//!   through the daemon's proxy with recording off (failed turns only, the default) and on
//!   for every turn, alternated in the same run (`--record-rounds` times each), one client
//!   at a time and 8 at once: latency, throughput, and the daemon's CPU time per turn (the
//!   recorder's writer runs in the daemon, so its work is counted).
//!
//! Prints Markdown tables.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    about = "Measure codex-launcherd: cold start, D-Bus round trip, idle RSS (loopback only)"
)]
struct Args {
    /// Cold starts to measure.
    #[arg(long, default_value_t = 20)]
    starts: usize,
    /// D-Bus round trips to measure.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Directory holding codex-launcherd and codex-launcher-mock-upstream (default: next to this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Streamed turns per phase of the recorder comparison (0: skip it).
    #[arg(long, default_value_t = 0)]
    record_requests: usize,
    /// Rounds of the comparison (each runs recording off, then on for every turn).
    #[arg(long, default_value_t = 3)]
    record_rounds: usize,
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // Quietly: the process may have exited already.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

fn tmpdir(label: &str) -> anyhow::Result<PathBuf> {
    let base =
        PathBuf::from(std::env::var("HOME").context("HOME")?).join(".cache/codex-launcher/bench");
    let dir = base.join(format!(
        "{label}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A bus with the policy of Debian's session bus (`eavesdrop="true"` included: without it
/// replies to the daemon's own calls were not delivered and every call hung).
fn start_bus(dir: &std::path::Path) -> anyhow::Result<(Killed, String)> {
    let conf = dir.join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\"><busconfig><type>session</type><listen>unix:path={}/bus.sock</listen><policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
            dir.display()
        ),
    )?;
    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("dbus-daemon")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    Ok((Killed(child), line.trim().to_owned()))
}

fn spawn_ready_line(cmd: &mut Command) -> anyhow::Result<(Killed, String)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    Ok((Killed(child), line.trim().to_owned()))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// CPU time (user + system) a process has used so far, dead threads included.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// One streamed turn through the daemon's proxy, read to the end.
async fn stream_once(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &'static str,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut resp = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("{url} answered {}", resp.status());
    }
    while resp.chunk().await?.is_some() {}
    Ok(t.elapsed())
}

/// One phase: `n` turns, `clients` at a time. (sorted latencies, wall time, daemon CPU).
async fn record_phase(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    pid: u32,
    n: usize,
    clients: usize,
) -> anyhow::Result<(Vec<Duration>, Duration, Duration)> {
    const BODY: &str = r#"{"model":"m","stream":true,"store":false,"input":"hello"}"#;
    let cpu0 = cpu_time(pid).unwrap_or_default();
    let t0 = Instant::now();
    let per = n / clients.max(1);
    let runs = (0..clients).map(|_| async {
        let mut v = Vec::with_capacity(per);
        for _ in 0..per {
            v.push(stream_once(client, url, token, BODY).await?);
        }
        anyhow::Ok(v)
    });
    let mut all = Vec::with_capacity(n);
    for v in futures::future::join_all(runs).await {
        all.extend(v?);
    }
    let wall = t0.elapsed();
    let cpu = cpu_time(pid).unwrap_or_default().saturating_sub(cpu0);
    all.sort();
    Ok((all, wall, cpu))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Recording off vs every turn, alternated, against the running daemon.
async fn record_comparison(
    args: &Args,
    manager: &codex_launcher_dbus::ManagerProxy<'_>,
    pid: u32,
    token: &str,
    mock_url: &str,
) -> anyhow::Result<Vec<String>> {
    let id = manager
        .add_endpoint(
            codex_launcher_dbus::EndpointSpec {
                name: "Stream".into(),
                backend: codex_launcher_dbus::Backend::OpenaiCompat,
                base_url: mock_url.to_owned(),
                default_model: "m".into(),
                ..Default::default()
            },
            "sk-bench-recorder",
        )
        .await?;
    let address = manager.proxy_address().await?;
    let url = format!("{address}/e/{id}/v1/responses");
    // reqwest is built without a bundled crypto provider (the workspace's choice).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()?;
    // Warm up: connections, allocator, the blocking pool's threads.
    manager.set_turn_recording("", true).await?;
    record_phase(&client, &url, token, pid, 300, 8).await?;
    let n = args.record_requests;
    // [mode][measure]: medians over the rounds.
    let mut seq_p50 = [Vec::new(), Vec::new()];
    let mut seq_p99 = [Vec::new(), Vec::new()];
    let mut seq_cpu = [Vec::new(), Vec::new()];
    let mut conc_rps = [Vec::new(), Vec::new()];
    let mut conc_cpu = [Vec::new(), Vec::new()];
    for _ in 0..args.record_rounds {
        for (mode, all) in [(0, false), (1, true)] {
            manager.set_turn_recording("", all).await?;
            let (v, _, cpu) = record_phase(&client, &url, token, pid, n, 1).await?;
            seq_p50[mode].push(pct(&mut v.clone(), 0.5));
            seq_p99[mode].push(pct(&mut v.clone(), 0.99));
            seq_cpu[mode].push(cpu.as_secs_f64() * 1e6 / n as f64);
            let (v, wall, cpu) = record_phase(&client, &url, token, pid, n, 8).await?;
            conc_rps[mode].push(v.len() as f64 / wall.as_secs_f64());
            conc_cpu[mode].push(cpu.as_secs_f64() * 1e6 / v.len() as f64);
        }
    }
    let recording = manager.turn_recording().await?;
    manager.set_turn_recording("", false).await?;
    let m = |v: &mut Vec<f64>| median(v);
    let change = |off: f64, on: f64| format!("{:+.1} %", (on - off) / off.max(1e-9) * 100.0);
    let (p50_off, p50_on) = (m(&mut seq_p50[0]), m(&mut seq_p50[1]));
    let (p99_off, p99_on) = (m(&mut seq_p99[0]), m(&mut seq_p99[1]));
    let (cpu_off, cpu_on) = (m(&mut seq_cpu[0]), m(&mut seq_cpu[1]));
    let (rps_off, rps_on) = (m(&mut conc_rps[0]), m(&mut conc_rps[1]));
    let (ccpu_off, ccpu_on) = (m(&mut conc_cpu[0]), m(&mut conc_cpu[1]));
    Ok(vec![
        String::new(),
        format!(
            "Turn recorder: {n} streamed turns (20 chunks) per phase, recording off / every turn alternated {} times; medians over the rounds:",
            args.record_rounds
        ),
        String::new(),
        "| measure | failed turns only (default) | every turn | change |".into(),
        "|---|---|---|---|".into(),
        format!(
            "| sequential p50 | {p50_off:.3} ms | {p50_on:.3} ms | {} |",
            change(p50_off, p50_on)
        ),
        format!(
            "| sequential p99 | {p99_off:.3} ms | {p99_on:.3} ms | {} |",
            change(p99_off, p99_on)
        ),
        format!(
            "| daemon CPU per turn, sequential | {cpu_off:.0} µs | {cpu_on:.0} µs | {} |",
            change(cpu_off, cpu_on)
        ),
        format!(
            "| 8 clients: turns/s | {rps_off:.0} | {rps_on:.0} | {} |",
            change(rps_off, rps_on)
        ),
        format!(
            "| daemon CPU per turn, 8 clients | {ccpu_off:.0} µs | {ccpu_on:.0} µs | {} |",
            change(ccpu_off, ccpu_on)
        ),
        String::new(),
        format!(
            "Recorder after the run: {} records kept ({} KiB), {} turns dropped (queue full).",
            recording.turns,
            recording.bytes / 1024,
            recording.dropped
        ),
    ])
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[expect(
    clippy::print_stdout,
    reason = "the report on stdout is this tool's output"
)]
fn report(lines: &[String]) {
    for l in lines {
        println!("{l}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin_dir = match args.bin_dir.clone() {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .context("exe dir")?
            .to_path_buf(),
    };
    let daemon_bin = bin_dir.join("codex-launcherd");
    let (_mock, mock_line) = spawn_ready_line(
        Command::new(bin_dir.join("codex-launcher-mock-upstream")).args([
            "--listen",
            "127.0.0.1:0",
            "--chunks",
            "5",
        ]),
    )?;
    let mock_url = mock_line
        .strip_prefix("listening on ")
        .context("mock address")?
        .to_owned();

    // A home with one endpoint pointing at the mock, and a known token.
    let home = tmpdir("home")?;
    let cfg = home.join(".config/codex-launcher");
    std::fs::create_dir_all(&cfg)?;
    std::fs::write(
        cfg.join("endpoints.json"),
        serde_json::to_vec(
            &serde_json::json!({"version": 1, "default": "mock", "endpoints": [
                {"id": "mock", "name": "Mock", "backend": "openai-compat", "base_url": mock_url, "models": []}
            ]}),
        )?,
    )?;
    let state = home.join(".local/state/codex-launcher");
    std::fs::create_dir_all(&state)?;
    let token = "b".repeat(64);
    std::fs::write(state.join("token"), &token)?;
    let body = r#"{"model":"m","stream":true,"input":"hi"}"#;
    let request = format!(
        "POST /e/mock/v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );

    let mut cold = Vec::new();
    let mut idle_rss = Vec::new();
    for _ in 0..args.starts {
        let dir = tmpdir("bus")?;
        let (_bus, address) = start_bus(&dir)?;
        let port = free_port()?;
        let mut child = Killed(
            Command::new("systemd-socket-activate")
                .arg("-l")
                .arg(format!("127.0.0.1:{port}"))
                // It passes the service only the variables named with -E.
                .args([
                    "-E",
                    "HOME",
                    "-E",
                    "DBUS_SESSION_BUS_ADDRESS",
                    "-E",
                    "RUST_LOG",
                ])
                .arg(&daemon_bin)
                .env("HOME", &home)
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        // systemd-socket-activate binds at once and starts the daemon on the first connection;
        // the pause only lets it bind and is not part of the measurement.
        std::thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.write_all(request.as_bytes())?;
        let mut first = [0u8; 1];
        s.read_exact(&mut first)?;
        cold.push(t0.elapsed());
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        std::thread::sleep(Duration::from_millis(300));
        if let Some(r) = rss_kib(child.0.id()) {
            idle_rss.push(r);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.0.id().to_string())
            .status();
        let _ = child.0.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }

    // D-Bus round trip against a running daemon.
    let dir = tmpdir("bus")?;
    let (_bus, address) = start_bus(&dir)?;
    let daemon = Killed(
        Command::new(&daemon_bin)
            .env("HOME", &home)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("CODEX_LAUNCHER_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let conn = zbus::connection::Builder::address(address.as_str())
        .build()
        .await?;
    // Uncached: a cached proxy would first fetch properties from a daemon not yet on the bus.
    let manager = codex_launcher_dbus::ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while manager.ping().await.is_err() {
        if Instant::now() > deadline {
            bail!("daemon did not come up on the bus");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rtt = Vec::with_capacity(args.calls);
    for _ in 0..args.calls {
        let t = Instant::now();
        manager.ping().await?;
        rtt.push(t.elapsed());
    }
    let idle_min = idle_rss.iter().min().copied().unwrap_or(0);
    let idle_max = idle_rss.iter().max().copied().unwrap_or(0);
    report(&[
        "| measure | p50 | p99 / max | target |".into(),
        "|---|---|---|---|".into(),
        format!(
            "| socket-activation cold start → first proxied byte ({} starts) | {:.1} ms | {:.1} ms | ≤ 50 ms |",
            cold.len(),
            pct(&mut cold.clone(), 0.5),
            pct(&mut cold, 1.0)
        ),
        format!(
            "| D-Bus `Ping` round trip ({} calls) | {:.3} ms | {:.3} ms | ≤ 5 ms |",
            rtt.len(),
            pct(&mut rtt.clone(), 0.5),
            pct(&mut rtt, 0.99)
        ),
        format!("| daemon RSS after one request | {idle_min} KiB | {idle_max} KiB | ≤ 12 MiB |"),
    ]);
    if args.record_requests > 0 {
        let (_mock20, line) = spawn_ready_line(
            Command::new(bin_dir.join("codex-launcher-mock-upstream")).args([
                "--listen",
                "127.0.0.1:0",
                "--chunks",
                "20",
            ]),
        )?;
        let url = line
            .strip_prefix("listening on ")
            .context("mock address")?
            .to_owned();
        report(&record_comparison(&args, &manager, daemon.0.id(), &token, &url).await?);
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}
