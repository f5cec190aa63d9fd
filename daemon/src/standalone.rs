//! `codex-launcherd proxy`: the translation proxy for one upstream, configured by flags
//! and/or a JSON or TOML file with the same field names.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use codex_launcher_proxy::{ApiKey, Backend, Endpoint, ProxyState, Settings};
use codex_launcher_translate::cache::CacheTtl;
use codex_launcher_translate::provider::ChatProvider;
use serde::Deserialize;

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

/// The same settings, from a file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    backend: Option<String>,
    target_url: Option<String>,
    api_key: Option<String>,
    api_key_env: Option<String>,
    listen: Option<SocketAddr>,
    #[serde(default)]
    browser_ua: bool,
    model_catalog: Option<PathBuf>,
    provider: Option<String>,
    #[serde(default)]
    model_map: HashMap<String, String>,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    allow_non_loopback: bool,
    /// Per-field overrides of the provider's capability row.
    quirks: Option<serde_json::Map<String, serde_json::Value>>,
    /// Prompt caching: `5m`, `1h` or `off`.
    cache: Option<String>,
    first_byte_grace_ms: Option<u64>,
    keepalive_ms: Option<u64>,
    /// Longest silence between two reads of an upstream body (default 600 s: reasoning
    /// models pause for minutes).
    read_idle_ms: Option<u64>,
    /// TCP + TLS connect timeout (default 15 s).
    connect_timeout_ms: Option<u64>,
    /// Largest upstream event (SSE event or NDJSON line; default 16 MiB). Tool-call
    /// arguments, output items and a response's output are bounded by the same number.
    max_event_bytes: Option<usize>,
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_json =
        path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if is_json {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid proxy config (JSON)", path.display()))
    } else {
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid proxy config (TOML)", path.display()))
    }
}

fn split_pair(s: &str, what: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => bail!("{what} must look like KEY=VALUE, got `{s}`"),
    }
}

struct Resolved {
    endpoint: Endpoint,
    listen: SocketAddr,
    settings: Settings,
}

fn resolve(args: ProxyArgs) -> anyhow::Result<Resolved> {
    let file = match &args.config {
        Some(p) => read_file_config(p)?,
        None => FileConfig::default(),
    };
    let backend_name = args
        .backend
        .or(file.backend)
        .unwrap_or_else(|| "openai-compat".into());
    let backend = Backend::from_name(&backend_name)
        .with_context(|| format!("unknown backend `{backend_name}` (supported: openai-compat, anthropic, command-code, openai-responses)"))?;
    let target = args
        .target_url
        .or(file.target_url)
        .context("--target-url is required")?;

    let key_env = args.api_key_env.or(file.api_key_env);
    let api_key = match (args.api_key.or(file.api_key), key_env) {
        (Some(k), _) => ApiKey::new(k),
        (None, Some(var)) => {
            let value = std::env::var(&var).with_context(|| {
                format!("environment variable {var} (--api-key-env) is not set")
            })?;
            Some(
                ApiKey::new(value)
                    .with_context(|| format!("environment variable {var} is empty"))?,
            )
        }
        (None, None) => None,
    };
    if api_key.is_none() {
        tracing::warn!(
            "no upstream API key given (--api-key-env VAR); requests go out without Authorization"
        );
    }

    let mut endpoint =
        Endpoint::openai_compat("default", &target, api_key).context("invalid --target-url")?;
    endpoint.backend = backend;
    if let Some(name) = args.provider.or(file.provider) {
        let provider = ChatProvider::from_name(&name).with_context(|| {
            let known: Vec<_> = ChatProvider::ALL.iter().map(|p| p.name()).collect();
            format!("unknown provider `{name}` (known: {})", known.join(", "))
        })?;
        endpoint.provider = provider;
        endpoint.quirks = provider.quirks();
    }
    if let Some(overrides) = file.quirks {
        endpoint.quirks = endpoint
            .quirks
            .with_overrides(&overrides)
            .context("invalid `quirks` in the config file")?;
    }
    if let Some(name) = args.cache.or(file.cache) {
        endpoint.cache = CacheTtl::from_name(&name)
            .with_context(|| format!("unknown cache setting `{name}` (5m, 1h or off)"))?;
    }
    endpoint.browser_ua = args.browser_ua || file.browser_ua;
    endpoint.model_map = file.model_map;
    for m in &args.model_map {
        let (k, v) = split_pair(m, "--model-map")?;
        endpoint.model_map.insert(k, v);
    }
    endpoint.extra_headers = file.headers.into_iter().collect();
    for h in &args.headers {
        endpoint.extra_headers.push(split_pair(h, "--header")?);
    }
    if let Some(path) = args.model_catalog.or(file.model_catalog) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read model catalog {}", path.display()))?;
        let catalog: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("model catalog {} is not JSON", path.display()))?;
        if !catalog
            .get("models")
            .is_some_and(serde_json::Value::is_array)
        {
            bail!(
                "model catalog {} must be an object with a `models` array (a Codex ModelsResponse)",
                path.display()
            );
        }
        endpoint.catalog = Some(catalog);
    }

    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787)));
    if !listen.ip().is_loopback() {
        if !(args.allow_non_loopback || file.allow_non_loopback) {
            bail!(
                "refusing to listen on {listen}: not a loopback address (pass --allow-non-loopback to override)"
            );
        }
        tracing::warn!(%listen, "listening beyond loopback: anyone who can reach this address uses your upstream key");
    }
    let mut settings = Settings::default();
    if let Some(ms) = file.first_byte_grace_ms {
        settings.first_byte_grace = Duration::from_millis(ms);
    }
    if let Some(ms) = file.keepalive_ms {
        settings.keepalive = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = file.read_idle_ms {
        settings.timeouts.read_idle = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = file.connect_timeout_ms {
        settings.timeouts.connect = Duration::from_millis(ms.max(1));
    }
    if let Some(bytes) = file.max_event_bytes {
        settings.max_event_bytes = bytes.max(1);
    }
    Ok(Resolved {
        endpoint,
        listen,
        settings,
    })
}

/// Run the standalone proxy until SIGTERM or SIGINT.
pub fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let resolved = resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(resolved))
}

async fn serve(r: Resolved) -> anyhow::Result<()> {
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
