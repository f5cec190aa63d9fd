//! `loadbench`: how much latency the proxy adds, measured against the mock upstream, and how
//! it holds up under long load.
//!
//! It starts the mock upstream and `codex-launcherd proxy` as separate processes (so the
//! proxy's RSS, file descriptors and CPU time are its own), then times whole streamed
//! requests:
//! - direct: `POST mock/v1/chat/completions` (the upstream alone);
//! - through the proxy: `POST proxy/v1/responses` (translation both ways + one more hop);
//!
//! in these phases, each optional:
//! - sequential (`--requests`): one request at a time, median of medians style;
//! - closed loop (`--concurrency`): N clients, each sending its next request when the last
//!   ends: saturated throughput, not latency at a given load;
//! - fixed rate (`--rate`): open loop, requests started on a schedule whatever the answers
//!   do, so the added latency is measured at an offered load below saturation;
//! - streaming sessions (`--streams N --stream-secs S`): N clients holding slow streams
//!   (`--stream-interval-ms` between chunks) open for S seconds, against a fresh mock and
//!   proxy: errors, the proxy's RSS and open fds before, at peak and after;
//! - soak (`--soak-secs S --soak-rate R`): a fresh pair under steady open-loop load for S
//!   seconds, RSS and fds sampled every `--sample-secs`: start/end, errors.
//!
//! It prints a Markdown report. Loopback only; every loop is bounded by a count or a
//! duration.

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
    /// A Responses request body (JSON) to send through the proxy instead of the minimal one,
    /// or a capture record holding one in `body`, e.g. a captured Codex turn
    /// (`/work/shared/fixtures/codex-0.169.0/turn1-request-mock-model.json`: 40 KB of
    /// instructions, tools and context). The direct target still gets the minimal Chat
    /// request, so "added" then includes translating the large request.
    #[arg(long)]
    request_file: Option<PathBuf>,
    /// Skip the closed-loop concurrent phases.
    #[arg(long)]
    no_closed_loop: bool,
    /// Fixed offered rates, requests/s (repeatable): open-loop phases.
    #[arg(long)]
    rate: Vec<f64>,
    /// Seconds per fixed-rate phase.
    #[arg(long, default_value_t = 10.0)]
    rate_secs: f64,
    /// Concurrent streaming sessions (0: no streaming phase).
    #[arg(long, default_value_t = 0)]
    streams: usize,
    /// How long the streaming sessions run.
    #[arg(long, default_value_t = 60.0)]
    stream_secs: f64,
    /// Pause between two chunks of a streaming session's answer (20 chunks: ~1 s a stream).
    #[arg(long, default_value_t = 50)]
    stream_interval_ms: u64,
    /// Soak duration in seconds (0: no soak).
    #[arg(long, default_value_t = 0.0)]
    soak_secs: f64,
    /// Offered rate during the soak, requests/s.
    #[arg(long, default_value_t = 200.0)]
    soak_rate: f64,
    /// Concurrent slow streams held open during the soak, besides the fixed-rate requests.
    #[arg(long, default_value_t = 100)]
    soak_streams: usize,
    /// Seconds between two RSS/fd samples during the soak.
    #[arg(long, default_value_t = 30.0)]
    sample_secs: f64,
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

/// Open file descriptors of a process.
fn fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// CPU time (user + system) a process has used so far.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// One process's resource use at a moment.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    cpu: Duration,
}

fn sample(pid: u32, since: Instant) -> Sample {
    Sample {
        at: since.elapsed(),
        rss_kib: rss_kib(pid).unwrap_or(0),
        fds: fds(pid).unwrap_or(0),
        cpu: cpu_time(pid).unwrap_or_default(),
    }
}

struct Target {
    name: &'static str,
    url: String,
    body: String,
    /// Ask the mock to pace this answer's chunks (`x-mock-interval-ms`, which the proxy
    /// passes upstream like any header it has no reason to drop).
    pace_ms: Option<u64>,
}

/// One answer's timing.
#[derive(Clone, Copy)]
struct Timing {
    /// Until the end of the body.
    total: Duration,
    /// Until the first chunk carrying answer text (the mock's "lorem" words: a Chat
    /// `delta.content` direct, an `output_text.delta` through the proxy). The proxy's
    /// `response.created`, sent before the upstream answers, is not a token.
    first_token: Duration,
}

async fn one(client: &reqwest::Client, t: &Target) -> anyhow::Result<Duration> {
    Ok(timed(client, t).await?.total)
}

async fn timed(client: &reqwest::Client, t: &Target) -> anyhow::Result<Timing> {
    let start = Instant::now();
    let mut req = client
        .post(&t.url)
        .header("content-type", "application/json")
        .body(t.body.clone());
    if let Some(ms) = t.pace_ms {
        req = req.header("x-mock-interval-ms", ms.to_string());
    }
    let mut resp = req.send().await?;
    if !resp.status().is_success() {
        bail!("{} answered {}", t.url, resp.status());
    }
    let mut first_token = None;
    while let Some(chunk) = resp.chunk().await? {
        if first_token.is_none() && chunk.windows(5).any(|w| w == b"lorem") {
            first_token = Some(start.elapsed());
        }
    }
    let total = start.elapsed();
    Ok(Timing {
        total,
        first_token: first_token.unwrap_or(total),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Requests a sequential phase sends before the measured ones.
const WARM_UP: usize = 50;

/// `n` requests one after another (after up to [`WARM_UP`] unmeasured ones): the sorted
/// totals and the sorted first-token times.
async fn sequential(
    client: &reqwest::Client,
    t: &Target,
    n: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    // Warm the connection pool and both processes first.
    for _ in 0..WARM_UP.min(n) {
        one(client, t).await?;
    }
    let mut totals = Vec::with_capacity(n);
    let mut firsts = Vec::with_capacity(n);
    for _ in 0..n {
        let timing = timed(client, t).await?;
        totals.push(timing.total);
        firsts.push(timing.first_token);
    }
    totals.sort();
    firsts.sort();
    Ok((totals, firsts))
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

/// Open loop: start a request every `1/rate` s for `secs`, whatever the answers do.
/// Returns the sorted latencies (from each request's actual start), the errors, and how far
/// the schedule slipped at worst (the client's own lateness, e.g. starved of CPU).
async fn fixed_rate(
    client: &reqwest::Client,
    t: Arc<Target>,
    rate: f64,
    secs: f64,
) -> (Vec<Duration>, usize, Duration) {
    let n = (rate * secs).round().max(1.0) as usize;
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(n);
    let mut slip = Duration::ZERO;
    for i in 0..n {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        slip = slip.max(Instant::now().saturating_duration_since(at));
        let client = client.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move { one(&client, &t).await }));
    }
    let mut v = Vec::with_capacity(n);
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(d)) => v.push(d),
            _ => errors += 1,
        }
    }
    v.sort();
    (v, errors, slip)
}

/// A mock and a proxy in front of it.
struct Pair {
    mock: Proc,
    proxy: Proc,
}

fn start_pair(bin_dir: &std::path::Path, chunks: usize) -> anyhow::Result<Pair> {
    let mock_args = [
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--chunks".into(),
        chunks.to_string(),
    ];
    let mock = spawn(bin_dir.join("codex-launcher-mock-upstream"), &mock_args)?;
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
    Ok(Pair { mock, proxy })
}

fn responses_target(pair: &Pair, pace_ms: Option<u64>) -> Arc<Target> {
    Arc::new(Target {
        name: "via codex-launcher",
        url: format!("{}/responses", pair.proxy.url),
        body: serde_json::json!({"model": "bench", "stream": true, "input": "hello"}).to_string(),
        pace_ms,
    })
}

fn client(idle_per_host: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(idle_per_host)
        .tcp_nodelay(true)
        .build()?)
}

/// How a long phase went.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// `n` clients, each streaming one answer after another until `until`.
fn stream_clients(
    client: &reqwest::Client,
    t: &Arc<Target>,
    n: usize,
    until: Instant,
) -> Vec<tokio::task::JoinHandle<Tally>> {
    (0..n)
        .map(|_| {
            let client = client.clone();
            let t = t.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < until {
                    match one(&client, &t).await {
                        Ok(_) => tally.ok += 1,
                        Err(e) => {
                            tally.errors += 1;
                            tally.first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                tally
            })
        })
        .collect()
}

fn kib(s: &Sample) -> String {
    format!("{} KiB", s.rss_kib)
}

/// N concurrent streaming sessions for `secs` against a fresh pair.
async fn streaming_phase(args: &Args, bin_dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let pair = start_pair(bin_dir, args.chunks)?;
    let pid = pair.proxy.child.id();
    let t = responses_target(&pair, Some(args.stream_interval_ms));
    let client = client(args.streams * 2)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let since = Instant::now();
    let before = sample(pid, since);
    let until = Instant::now() + Duration::from_secs_f64(args.stream_secs);
    let tasks = stream_clients(&client, &t, args.streams, until);
    let mut peak = before;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while Instant::now() < until {
        tick.tick().await;
        let s = sample(pid, since);
        if s.rss_kib > peak.rss_kib {
            peak.rss_kib = s.rss_kib;
            peak.at = s.at;
        }
        peak.fds = peak.fds.max(s.fds);
    }
    let mut tally = Tally::default();
    for task in tasks {
        tally.add(task.await?);
    }
    let end = sample(pid, since);
    drop(client);
    // The client's connections close; the proxy keeps its idle upstream connections pooled
    // (90 s), so its fd count after is about one per upstream connection.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = sample(pid, since);
    let cpu = end.cpu.saturating_sub(before.cpu);
    let total = tally.ok + tally.errors;
    let mut out = vec![
        String::new(),
        format!(
            "{} concurrent streaming sessions for {:.0} s ({} chunks per answer, {} ms apart), fresh mock + proxy:",
            args.streams, args.stream_secs, args.chunks, args.stream_interval_ms
        ),
        String::new(),
        "| streams completed | errors | proxy RSS before | peak | per open stream | after | fds before | peak | after (client gone) | proxy CPU per stream |".into(),
        "|---|---|---|---|---|---|---|---|---|---|".into(),
        format!(
            "| {} | {} | {} | {} | {:.1} KiB | {} | {} | {} | {} | {:.1} µs |",
            tally.ok,
            tally.errors,
            kib(&before),
            kib(&peak),
            peak.rss_kib.saturating_sub(before.rss_kib) as f64 / args.streams.max(1) as f64,
            kib(&after),
            before.fds,
            peak.fds,
            after.fds,
            cpu.as_secs_f64() * 1e6 / total.max(1) as f64
        ),
    ];
    if let Some(e) = tally.first_error {
        out.push(format!("\nFirst error: {e}"));
    }
    drop(pair);
    Ok(out)
}

/// Steady open-loop load plus some held streams for `secs` against a fresh pair.
async fn soak_phase(args: &Args, bin_dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let pair = start_pair(bin_dir, args.chunks)?;
    let pid = pair.proxy.child.id();
    let t = responses_target(&pair, None);
    let client = client(1024)?;
    // Warm up (pool, allocator), then the start sample.
    for _ in 0..200 {
        one(&client, &t).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let since = Instant::now();
    let start = sample(pid, since);
    let until = Instant::now() + Duration::from_secs_f64(args.soak_secs);
    // Held streams: slow answers (paced by the mock) back to back, beside the fast requests.
    let slow_t = responses_target(&pair, Some(args.stream_interval_ms));
    let holders = stream_clients(&client, &slow_t, args.soak_streams, until);
    let rate = args.soak_rate;
    let load = {
        let client = client.clone();
        let t = t.clone();
        let secs = args.soak_secs;
        tokio::spawn(async move { fixed_rate(&client, t, rate, secs).await })
    };
    let mut samples = vec![start];
    let mut tick = tokio::time::interval(Duration::from_secs_f64(args.sample_secs));
    tick.tick().await;
    while Instant::now() < until {
        tick.tick().await;
        samples.push(sample(pid, since));
    }
    let (lat, rate_errors, slip) = load.await?;
    let mut tally = Tally::default();
    for h in holders {
        tally.add(h.await?);
    }
    let end = sample(pid, since);
    samples.push(end);
    let requests = lat.len() as u64 + rate_errors as u64 + tally.ok + tally.errors;
    let cpu = end.cpu.saturating_sub(start.cpu);
    let mut out = vec![
        String::new(),
        format!(
            "Soak: {:.0} s at {:.0} requests/s offered (open loop) plus {} clients holding slow streams ({} ms between chunks) back to back, fresh mock + proxy, after 200 warm-up requests:",
            args.soak_secs, args.soak_rate, args.soak_streams, args.stream_interval_ms
        ),
        String::new(),
        "| requests | errors | fixed-rate p50 | p99 | max schedule slip | RSS start | RSS end | fds start | fds end | proxy CPU per request |".into(),
        "|---|---|---|---|---|---|---|---|---|---|".into(),
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} µs |",
            requests,
            rate_errors as u64 + tally.errors,
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            ms(slip),
            kib(&start),
            kib(&end),
            start.fds,
            end.fds,
            cpu.as_secs_f64() * 1e6 / requests.max(1) as f64
        ),
        String::new(),
        "Samples (s: RSS KiB / fds): ".to_owned()
            + &samples
                .iter()
                .map(|s| format!("{:.0}: {}/{}", s.at.as_secs_f64(), s.rss_kib, s.fds))
                .collect::<Vec<_>>()
                .join(", "),
    ];
    if let Some(e) = tally.first_error {
        out.push(format!("\nFirst error: {e}"));
    }
    Ok(out)
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
    let mut out = Vec::new();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    if args.requests > 0
        || (!args.no_closed_loop && !args.concurrency.is_empty())
        || !args.rate.is_empty()
    {
        out.extend(short_phases(&args, &bin_dir).await?);
    }
    if args.streams > 0 {
        out.extend(streaming_phase(&args, &bin_dir).await?);
    }
    if args.soak_secs > 0.0 {
        out.extend(soak_phase(&args, &bin_dir).await?);
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    out.push(String::new());
    out.push(format!(
        "Load average (1/5/15 min) before: {}, after: {}.",
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        load_after
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    report(&out);
    Ok(())
}

/// The same request body with `"stream": false`.
fn unstreamed(body: &str) -> anyhow::Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(body)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("stream".into(), serde_json::Value::Bool(false));
    }
    Ok(v.to_string())
}

/// One sequential table: each target in turn, "added" against the first (direct) one, and
/// the proxy's CPU time over the requests through it (from `/proc`, user + system).
async fn sequential_table(
    client: &reqwest::Client,
    targets: &[Arc<Target>],
    pid: u32,
    args: &Args,
) -> anyhow::Result<Vec<String>> {
    let mut out = vec![
        "| target | p50 | p99 | added p50 | added p50 ÷ direct p50 | added p99 | first token p50 | added first token | proxy CPU per request | per chunk |".into(),
        "|---|---|---|---|---|---|---|---|---|---|".into(),
    ];
    let mut base: Option<(Duration, Duration, Duration)> = None;
    for t in targets {
        let cpu0 = cpu_time(pid).unwrap_or_default();
        let (v, firsts) = sequential(client, t, args.requests).await?;
        // The warm-up requests count too.
        let cpu = cpu_time(pid).unwrap_or_default().saturating_sub(cpu0);
        let sent = (args.requests + WARM_UP.min(args.requests)).max(1) as f64;
        let (p50, p99, f50) = (
            percentile(&v, 0.5),
            percentile(&v, 0.99),
            percentile(&firsts, 0.5),
        );
        let cells = match base {
            None => ["—".into(), "—".into(), "—".into(), "—".into()],
            Some((b50, b99, bf)) => {
                let added = p50.saturating_sub(b50);
                [
                    ms(added),
                    format!("{:.2}×", added.as_secs_f64() / b50.as_secs_f64().max(1e-9)),
                    ms(p99.saturating_sub(b99)),
                    ms(f50.saturating_sub(bf)),
                ]
            }
        };
        let (per_request, per_chunk) = if base.is_some() {
            let us = cpu.as_secs_f64() * 1e6 / sent;
            (
                format!("{us:.0} µs"),
                format!("{:.1} µs", us / args.chunks.max(1) as f64),
            )
        } else {
            ("—".into(), "—".into())
        };
        out.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.name,
            ms(p50),
            ms(p99),
            cells[0],
            cells[1],
            cells[2],
            ms(f50),
            cells[3],
            per_request,
            per_chunk
        ));
        base.get_or_insert((p50, p99, f50));
    }
    Ok(out)
}

/// Sequential, closed-loop and fixed-rate phases, direct and through the proxy.
async fn short_phases(args: &Args, bin_dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let pair = start_pair(bin_dir, args.chunks)?;
    let (mock, proxy) = (&pair.mock, &pair.proxy);
    let pid = proxy.child.id();
    let client = client(512)?;
    let chat_body = serde_json::json!({"model": "bench", "stream": true, "messages": [{"role": "user", "content": "hello"}]}).to_string();
    let responses_body = match &args.request_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            // A capture record (`{method, path, headers, body}`) or the body itself.
            match v.get("body") {
                Some(body) if v.get("path").is_some() => body.to_string(),
                _ => text,
            }
        }
        None => serde_json::json!({"model": "bench", "stream": true, "input": "hello"}).to_string(),
    };
    let mut targets = vec![
        Arc::new(Target {
            name: "direct (mock)",
            url: format!("{}/chat/completions", mock.url),
            body: chat_body,
            pace_ms: None,
        }),
        Arc::new(Target {
            name: "via codex-launcher",
            url: format!("{}/responses", proxy.url),
            body: responses_body.clone(),
            pace_ms: None,
        }),
    ];
    if let Some(peer) = &args.peer_url {
        targets.push(Arc::new(Target {
            name: "via peer",
            url: format!("{}/responses", peer.trim_end_matches('/')),
            body: responses_body,
            pace_ms: None,
        }));
    }
    // Let the proxy settle, then read its idle RSS.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = rss_kib(pid);
    let mut out = Vec::new();
    if args.requests > 0 {
        out.extend([
            format!(
                "Sequential, {} requests each, {} content chunks per answer (times in ms, whole stream; first token: the first chunk with answer text):",
                args.requests, args.chunks
            ),
            String::new(),
        ]);
        out.extend(sequential_table(&client, &targets, pid, args).await?);
        let non_stream = [
            Arc::new(Target {
                name: "direct (mock), non-stream",
                url: targets[0].url.clone(),
                body: unstreamed(&targets[0].body)?,
                pace_ms: None,
            }),
            Arc::new(Target {
                name: "via codex-launcher, non-stream",
                url: targets[1].url.clone(),
                body: unstreamed(&targets[1].body)?,
                pace_ms: None,
            }),
        ];
        out.extend([
            String::new(),
            format!(
                "Non-stream (`\"stream\": false` both ways), {} requests each:",
                args.requests
            ),
            String::new(),
        ]);
        out.extend(sequential_table(&client, &non_stream, pid, args).await?);
    }
    for &c in &args.concurrency {
        if args.no_closed_loop {
            break;
        }
        out.push(String::new());
        out.push(format!(
            "{c} concurrent clients × {} requests (closed loop):",
            args.per_client
        ));
        out.push(String::new());
        out.push(
            "| target | p50 | p99 | req/s | share of direct | added p50 | added p99 | proxy CPU (of one core) |"
                .into(),
        );
        out.push("|---|---|---|---|---|---|---|---|".into());
        let mut base: Option<(Duration, Duration, f64)> = None;
        for t in &targets {
            let cpu0 = cpu_time(pid).unwrap_or_default();
            let (v, wall) = concurrent(&client, t.clone(), c, args.per_client).await?;
            let cpu = cpu_time(pid).unwrap_or_default().saturating_sub(cpu0);
            let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
            let rps = v.len() as f64 / wall.as_secs_f64();
            let (share, a50, a99, busy) = match base {
                None => ("—".into(), "—".into(), "—".into(), "—".into()),
                Some((b50, b99, brps)) => (
                    format!("{:.0} %", rps * 100.0 / brps.max(1e-9)),
                    ms(p50.saturating_sub(b50)),
                    ms(p99.saturating_sub(b99)),
                    format!("{:.0} %", cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()),
                ),
            };
            out.push(format!(
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} |",
                t.name,
                ms(p50),
                ms(p99),
                rps,
                share,
                a50,
                a99,
                busy
            ));
            base.get_or_insert((p50, p99, rps));
        }
    }
    for &rate in &args.rate {
        out.push(String::new());
        out.push(format!(
            "Fixed rate (open loop), {rate:.0} requests/s offered for {:.0} s:",
            args.rate_secs
        ));
        out.push(String::new());
        out.push(
            "| target | p50 | p99 | p99.9 | errors | max schedule slip | added p50 | added p99 | proxy CPU per request |"
                .into(),
        );
        out.push("|---|---|---|---|---|---|---|---|---|".into());
        let mut base: Option<(Duration, Duration)> = None;
        for t in &targets {
            let cpu0 = cpu_time(pid).unwrap_or_default();
            let (v, errors, slip) = fixed_rate(&client, t.clone(), rate, args.rate_secs).await;
            let cpu = cpu_time(pid).unwrap_or_default().saturating_sub(cpu0);
            let (p50, p99, p999) = (
                percentile(&v, 0.5),
                percentile(&v, 0.99),
                percentile(&v, 0.999),
            );
            let added = base
                .map(|(b50, b99)| (ms(p50.saturating_sub(b50)), ms(p99.saturating_sub(b99))))
                .unwrap_or(("—".into(), "—".into()));
            let cpu_cell = if t.name == "via codex-launcher" {
                format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / v.len().max(1) as f64)
            } else {
                "—".into()
            };
            out.push(format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                t.name,
                ms(p50),
                ms(p99),
                ms(p999),
                errors,
                ms(slip),
                added.0,
                added.1,
                cpu_cell
            ));
            base.get_or_insert((p50, p99));
        }
    }
    let loaded_rss = rss_kib(pid);
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
    Ok(out)
}
