//! `loadbench`: how much latency the proxy adds, measured against the mock upstream.
//!
//! It starts the mock upstream and `codex-launcherd proxy` as separate processes (so the
//! proxy's RSS is its own), then times whole streamed requests:
//! - direct: `POST mock/v1/chat/completions` (the upstream alone);
//! - through the proxy: `POST proxy/v1/responses` (translation both ways + one more hop);
//!
//! sequentially and with N concurrent clients, and prints a Markdown table with p50/p99 of
//! each and the difference, plus the proxy's RSS idle and after the load. Loopback only;
//! every loop is bounded by a request count.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Measure the latency the proxy adds (loopback only)")]
struct Args {
    /// Sequential requests per target.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrent clients for the concurrent phase (repeatable, e.g. --concurrency 32 --concurrency 256).
    #[arg(long, default_value = "32")]
    concurrency: Vec<usize>,
    /// Requests per client in the concurrent phase.
    #[arg(long, default_value_t = 100)]
    per_client: usize,
    /// Content chunks the mock streams per answer.
    #[arg(long, default_value_t = 20)]
    chunks: usize,
    /// Directory holding codex-launcherd and codex-launcher-mock-upstream (default: next to this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Also measure another Responses proxy at this URL (e.g. a LiteLLM proxy pointed at the same mock).
    #[arg(long)]
    peer_url: Option<String>,
}

struct Proc {
    child: Child,
    url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn spawn(bin: PathBuf, args: &[String]) -> anyhow::Result<Proc> {
    let mut child = Command::new(&bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line.trim().strip_prefix("listening on ").map(str::to_owned);
    match url {
        Some(url) => Ok(Proc { child, url }),
        None => bail!(
            "{} did not announce its address (got {line:?})",
            bin.display()
        ),
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Target {
    name: &'static str,
    url: String,
    body: String,
}

async fn one(client: &reqwest::Client, t: &Target) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut resp = client
        .post(&t.url)
        .header("content-type", "application/json")
        .body(t.body.clone())
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("{} answered {}", t.url, resp.status());
    }
    while resp.chunk().await?.is_some() {}
    Ok(start.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn sequential(
    client: &reqwest::Client,
    t: &Target,
    n: usize,
) -> anyhow::Result<Vec<Duration>> {
    // Warm the connection pool and both processes first.
    for _ in 0..50.min(n) {
        one(client, t).await?;
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(one(client, t).await?);
    }
    v.sort();
    Ok(v)
}

async fn concurrent(
    client: &reqwest::Client,
    t: Arc<Target>,
    clients: usize,
    per: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            let t = t.clone();
            tokio::spawn(async move {
                let mut v = Vec::with_capacity(per);
                for _ in 0..per {
                    v.push(one(&client, &t).await?);
                }
                anyhow::Ok(v)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(clients * per);
    for t in tasks {
        all.extend(t.await??);
    }
    let wall = start.elapsed();
    all.sort();
    Ok((all, wall))
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin_dir = match args.bin_dir.clone() {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .context("no exe dir")?
            .to_path_buf(),
    };
    let mock = spawn(
        bin_dir.join("codex-launcher-mock-upstream"),
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--chunks".into(),
            args.chunks.to_string(),
        ],
    )?;
    let proxy = spawn(
        bin_dir.join("codex-launcherd"),
        &[
            "proxy".into(),
            "--target-url".into(),
            mock.url.clone(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--api-key".into(),
            "bench-key".into(),
        ],
    )?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .tcp_nodelay(true)
        .build()?;
    let chat_body = serde_json::json!({"model": "bench", "stream": true, "messages": [{"role": "user", "content": "hello"}]}).to_string();
    let responses_body =
        serde_json::json!({"model": "bench", "stream": true, "input": "hello"}).to_string();
    let mut targets = vec![
        Arc::new(Target {
            name: "direct (mock)",
            url: format!("{}/chat/completions", mock.url),
            body: chat_body,
        }),
        Arc::new(Target {
            name: "via codex-launcher",
            url: format!("{}/responses", proxy.url),
            body: responses_body.clone(),
        }),
    ];
    if let Some(peer) = &args.peer_url {
        targets.push(Arc::new(Target {
            name: "via peer",
            url: format!("{}/responses", peer.trim_end_matches('/')),
            body: responses_body,
        }));
    }
    // Let the proxy settle, then read its idle RSS.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = rss_kib(proxy.child.id());

    let mut out = vec![
        format!(
            "Sequential, {} requests each, {} content chunks per answer (times in ms, whole stream):",
            args.requests, args.chunks
        ),
        String::new(),
        "| target | p50 | p99 | added p50 | added p99 |".into(),
        "|---|---|---|---|---|".into(),
    ];
    let mut base: Option<(Duration, Duration)> = None;
    for t in &targets {
        let v = sequential(&client, t, args.requests).await?;
        let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
        let added = base
            .map(|(b50, b99)| (ms(p50.saturating_sub(b50)), ms(p99.saturating_sub(b99))))
            .unwrap_or(("—".into(), "—".into()));
        out.push(format!(
            "| {} | {} | {} | {} | {} |",
            t.name,
            ms(p50),
            ms(p99),
            added.0,
            added.1
        ));
        base.get_or_insert((p50, p99));
    }
    for &c in &args.concurrency {
        out.push(String::new());
        out.push(format!(
            "{c} concurrent clients × {} requests:",
            args.per_client
        ));
        out.push(String::new());
        out.push("| target | p50 | p99 | req/s | added p50 | added p99 |".into());
        out.push("|---|---|---|---|---|---|".into());
        let mut base: Option<(Duration, Duration)> = None;
        for t in &targets {
            let (v, wall) = concurrent(&client, t.clone(), c, args.per_client).await?;
            let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
            let rps = v.len() as f64 / wall.as_secs_f64();
            let added = base
                .map(|(b50, b99)| (ms(p50.saturating_sub(b50)), ms(p99.saturating_sub(b99))))
                .unwrap_or(("—".into(), "—".into()));
            out.push(format!(
                "| {} | {} | {} | {:.0} | {} | {} |",
                t.name,
                ms(p50),
                ms(p99),
                rps,
                added.0,
                added.1
            ));
            base.get_or_insert((p50, p99));
        }
    }
    let loaded_rss = rss_kib(proxy.child.id());
    out.push(String::new());
    out.push(format!(
        "Proxy RSS: idle {} KiB, after load {} KiB.",
        idle_rss
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        loaded_rss
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into())
    ));
    report(&out);
    Ok(())
}
