//! `codex-launcher-mock-upstream`: the mock provider as a process, for benchmarks and manual
//! trials. Prints `listening on http://ADDR/v1` once it serves, then runs until killed.
//!
//! Every unscripted request gets the same streamed answer: `--chunks` text fragments.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use codex_launcher_mock_upstream::{Flavor, MockConfig, MockUpstream, Reply};

const USAGE: &str = "usage: codex-launcher-mock-upstream [--listen 127.0.0.1:PORT] [--chunks N] \
[--interval-ms MS] [--flavor openai|deepseek|kimi|glm|openrouter] [--api-key KEY]";

fn main() {
    if let Err(e) = run() {
        let _ = writeln!(
            std::io::stderr(),
            "codex-launcher-mock-upstream: {e}\n{USAGE}"
        );
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut chunks: usize = 20;
    let mut config = MockConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--chunks" => chunks = value()?.parse().map_err(|e| format!("--chunks: {e}"))?,
            "--interval-ms" => {
                let ms: u64 = value()?
                    .parse()
                    .map_err(|e| format!("--interval-ms: {e}"))?;
                config.chunk_interval = Some(Duration::from_millis(ms));
            }
            "--api-key" => config.api_key = Some(value()?),
            "--flavor" => {
                config.flavor = match value()?.as_str() {
                    "openai" => Flavor::OpenAi,
                    "deepseek" => Flavor::DeepSeek,
                    "kimi" => Flavor::Kimi,
                    "glm" => Flavor::Glm,
                    "openrouter" => Flavor::OpenRouter,
                    other => return Err(format!("unknown flavor {other}")),
                }
            }
            "-h" | "--help" => {
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    // Six-character words streamed six characters at a time: exactly `chunks` fragments.
    config.default_reply = Some(Reply::text("lorem ".repeat(chunks.max(1))).chunked(6));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mock = MockUpstream::start_on(listen, config)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let mut out = std::io::stdout();
        writeln!(out, "listening on {}", mock.base_url()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        let _ = tokio::signal::ctrl_c().await;
        drop(mock);
        Ok(())
    })
}
