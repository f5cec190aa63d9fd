//! `codex-launcherd proxy`: the translation proxy for one upstream, configured by flags
//! and/or a JSON or TOML file with the same field names.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use codex_launcher_proxy::ProxyState;
use codex_launcher_proxy::config::{ProxyConfig, Standalone, split_pair};

/// Flags of `codex-launcherd proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// Upstream protocol: openai-compat (Chat Completions), anthropic (Messages),
    /// command-code (/alpha/generate) or openai-responses (pass-through).
    #[arg(long)]
    backend: Option<String>,
    /// Upstream base URL, e.g. https://api.deepseek.com/v1 (a pasted /chat/completions is removed).
    #[arg(long)]
    target_url: Option<String>,
    /// Upstream API key. Prefer --api-key-env: a flag is visible to other users in `ps`.
    #[arg(long, conflicts_with = "api_key_env")]
    api_key: Option<String>,
    /// Name of the environment variable holding the upstream API key.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Address to listen on (loopback only unless --allow-non-loopback).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Send a browser User-Agent upstream (Cloudflare-fronted providers such as OpenCode).
    #[arg(long)]
    browser_ua: bool,
    /// Codex model catalog (a ModelsResponse JSON file) to serve at /v1/models.
    #[arg(long)]
    model_catalog: Option<PathBuf>,
    /// Provider quirks to apply (deepseek, kimi, zai, openrouter, nim, groq, ollama, ...);
    /// detected from the URL when absent.
    #[arg(long)]
    provider: Option<String>,
    /// Map a Codex model slug to an upstream model id: SLUG=UPSTREAM (repeatable).
    #[arg(long = "model-map", value_name = "SLUG=UPSTREAM")]
    model_map: Vec<String>,
    /// Extra upstream header: NAME=VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// Allow listening on a non-loopback address. Anyone who can reach it uses your key.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Prompt caching: 5m (default), 1h or off. Sets Anthropic `cache_control` breakpoints
    /// (and OpenRouter/Kilo ones for Claude and Gemini models) with that TTL, or none.
    #[arg(long, value_name = "5m|1h|off")]
    cache: Option<String>,
    /// Read these settings from a JSON or TOML file; flags given on the command line win.
    #[arg(long)]
    config: Option<PathBuf>,
}

impl ProxyArgs {
    /// The flags as settings, to lay over the config file's.
    fn settings(&self) -> anyhow::Result<ProxyConfig> {
        let pairs = |list: &[String], what: &str| -> anyhow::Result<Vec<(String, String)>> {
            Ok(list
                .iter()
                .map(|p| split_pair(p, what))
                .collect::<Result<_, _>>()?)
        };
        Ok(ProxyConfig {
            backend: self.backend.clone(),
            target_url: self.target_url.clone(),
            api_key: self.api_key.clone(),
            api_key_env: self.api_key_env.clone(),
            listen: self.listen,
            browser_ua: self.browser_ua,
            model_catalog: self.model_catalog.clone(),
            provider: self.provider.clone(),
            model_map: pairs(&self.model_map, "--model-map")?.into_iter().collect(),
            headers: pairs(&self.headers, "--header")?,
            allow_non_loopback: self.allow_non_loopback,
            cache: self.cache.clone(),
            ..ProxyConfig::default()
        })
    }
}

fn resolve(args: &ProxyArgs) -> anyhow::Result<Standalone> {
    let file = match &args.config {
        Some(path) => ProxyConfig::load(path)?,
        None => ProxyConfig::default(),
    };
    Ok(args
        .settings()?
        .over(file)
        .build(|var| std::env::var(var).ok())?)
}

/// The async runtime of the standalone proxy.
///
/// One thread (blocking work goes to `spawn_blocking`). With two workers, each hand-off
/// between a stream's tasks (hyper passes an upstream body over one chunk at a time) woke the
/// parked worker: an eventfd write, an `epoll_wait` and often a futex per chunk, about 90
/// syscalls for a 64-chunk answer, and the tasks of one stream bounced between threads. On
/// one thread they are plain queue pushes, and the pump can take every chunk already received
/// before it writes (BENCHMARKS.md, "Streaming hot path").
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Run the standalone proxy until SIGTERM or SIGINT.
pub fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let resolved = resolve(&args)?;
    let runtime = runtime()?;
    runtime.block_on(serve(resolved))
}

async fn serve(r: Standalone) -> anyhow::Result<()> {
    // Before the ready line: a SIGTERM sent as soon as we say we are ready must find the
    // handler in place, not the default action (death without draining).
    let signals = Signals::new()?;
    let listener = tokio::net::TcpListener::bind(r.listen)
        .await
        .with_context(|| format!("cannot listen on {}", r.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        backend = r.endpoint.backend.name(),
        provider = r.endpoint.provider.name(),
        cache = r.endpoint.cache.name(),
        upstream = %r.endpoint.base_url,
        "proxy ready"
    );
    let state = Arc::new(ProxyState::new(r.settings)?);
    state.set_endpoints(vec![r.endpoint], Some("default".into()));
    announce(addr)?;

    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(codex_launcher_proxy::serve(
        listener,
        state.clone(),
        async {
            let _ = rx.await;
        },
    ));
    signals.wait().await;
    tracing::info!(
        active_streams = state.stats().snapshot().active_streams,
        "shutting down; draining streams"
    );
    let _ = tx.send(());
    // In-flight streams finish on their own; a stuck upstream must not hold the exit forever.
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(joined) => joined
            .context("server task failed")?
            .context("server failed")?,
        Err(_) => tracing::warn!("drain timed out after 30 s; exiting"),
    }
    Ok(())
}

/// Tell whoever started us where we listen, on stdout, once we accept connections.
#[expect(
    clippy::print_stdout,
    reason = "the ready line on stdout is this command's interface"
)]
fn announce(addr: SocketAddr) -> anyhow::Result<()> {
    println!("listening on http://{addr}/v1");
    std::io::stdout().flush()?;
    Ok(())
}

/// SIGTERM and SIGINT, handled from creation on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
