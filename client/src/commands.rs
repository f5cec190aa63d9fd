//! The commands that are one or two D-Bus calls: status, presets, models, profiles, usage.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use codex_launcher_dbus::{KeyStorage, ManagerProxy, ModelSpec, PricedModel, ProbeVerdict};
use futures::StreamExt;
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::output::{self, Table, or_dash};

/// `codexctl status --json`.
#[derive(Debug, Serialize)]
struct StatusJson {
    daemon_version: String,
    proxy_address: String,
    requests: u64,
    active_streams: u64,
    errors: u64,
    endpoints: usize,
    default_endpoint: String,
    /// `secret-service`, `locked` or `file`.
    key_storage: String,
    /// Fallback groups, each member's breaker and cooldown.
    groups: Vec<codex_launcher_dbus::GroupInfo>,
}

/// `codexctl status`
pub async fn status(m: &ManagerProxy<'_>, json: bool) -> Result<()> {
    let version = m.version().await?;
    let status = m.proxy_status().await?;
    let endpoints = m.endpoint_ids().await?.len();
    let default_endpoint = m.default_endpoint().await?;
    let key_storage = m.key_storage().await?;
    let groups = m.list_groups().await?;
    let s = StatusJson {
        daemon_version: version,
        proxy_address: status.address,
        requests: status.requests,
        active_streams: status.active_streams,
        errors: status.errors,
        endpoints,
        default_endpoint,
        key_storage,
        groups,
    };
    if json {
        return output::json(&s);
    }
    output::key_values(&[
        ("daemon", format!("codex-launcherd {}", s.daemon_version)),
        ("proxy", s.proxy_address),
        ("requests", s.requests.to_string()),
        ("active streams", s.active_streams.to_string()),
        ("errors", s.errors.to_string()),
        ("endpoints", s.endpoints.to_string()),
        ("default endpoint", or_dash(&s.default_endpoint)),
        ("keys", key_storage_label(&s.key_storage)),
        ("groups", groups_label(&s.groups)),
    ]);
    Ok(())
}

/// Groups in one line: each with the members not serving now.
fn groups_label(groups: &[codex_launcher_dbus::GroupInfo]) -> String {
    if groups.is_empty() {
        return "-".into();
    }
    groups
        .iter()
        .map(|g| {
            let down: Vec<String> = g
                .members
                .iter()
                .filter(|m| {
                    m.breaker != codex_launcher_dbus::BreakerState::Closed || m.cooldown_secs > 0
                })
                .map(|m| {
                    format!(
                        "{} {}",
                        m.endpoint,
                        if m.cooldown_secs > 0 {
                            format!("cooling {} s", m.cooldown_secs)
                        } else {
                            m.breaker.to_string()
                        }
                    )
                })
                .collect();
            if down.is_empty() {
                format!("{} ({} members, all healthy)", g.id, g.members.len())
            } else {
                format!("{} ({})", g.id, down.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where the daemon keeps keys, for people.
pub fn key_storage_label(storage: &str) -> String {
    match storage.parse::<KeyStorage>() {
        Ok(KeyStorage::SecretService) => "Secret Service keyring".into(),
        Ok(KeyStorage::Locked) => "Secret Service keyring, locked: unlock it".into(),
        Ok(KeyStorage::File) => {
            "0600 file (~/.local/state/codex-launcher/keys.json): no Secret Service on this session"
                .into()
        }
        Err(_) => or_dash(storage),
    }
}

/// `codexctl preset list`
pub async fn preset_list(m: &ManagerProxy<'_>, json: bool) -> Result<()> {
    let presets = m.list_presets().await?;
    if json {
        return output::json(&presets);
    }
    let mut t = Table::new(&["ID", "NAME", "BACKEND", "URL", "MODELS"]);
    for p in &presets {
        t.row(vec![
            p.id.clone(),
            p.spec.name.clone(),
            p.spec.backend.to_string(),
            or_dash(&p.spec.base_url),
            p.spec.models.len().to_string(),
        ]);
    }
    t.print();
    Ok(())
}

fn print_models(models: &[ModelSpec], default_model: &str, prices: &[PricedModel]) {
    if models.is_empty() {
        output::out("no models");
        return;
    }
    let mut t = Table::new(&["", "ID", "NAME", "CONTEXT", "MAX OUT", "EFFORTS", "PRICES"]);
    for model in models {
        let count = |n: u64| {
            if n == 0 {
                "-".to_owned()
            } else {
                n.to_string()
            }
        };
        t.row(vec![
            if model.id == default_model { "*" } else { "" }.to_owned(),
            model.id.clone(),
            or_dash(&model.display_name),
            count(model.context_window),
            count(model.max_output_tokens),
            or_dash(&model.reasoning_efforts.join(",")),
            prices
                .iter()
                .find(|p| p.model == model.id)
                .map_or_else(|| "-".to_owned(), |p| crate::cost::prices_cell(&p.prices)),
        ]);
    }
    t.print();
}

/// `codexctl model list`
pub async fn model_list(m: &ManagerProxy<'_>, endpoint: &str, json: bool) -> Result<()> {
    let info = m.get_endpoint(endpoint).await?;
    if json {
        return output::json(&info.spec.models);
    }
    let prices = m.list_model_prices(endpoint).await?;
    print_models(&info.spec.models, &info.spec.default_model, &prices);
    Ok(())
}

/// A one-line spinner on stderr; does nothing off a terminal.
struct Spinner {
    active: bool,
    frame: usize,
    message: String,
}

impl Spinner {
    fn new(message: String) -> Spinner {
        Spinner {
            active: std::io::stderr().is_terminal(),
            frame: 0,
            message,
        }
    }

    fn tick(&mut self) {
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        if !self.active {
            return;
        }
        self.frame = (self.frame + 1) % FRAMES.len();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K{} {}", FRAMES[self.frame], self.message);
        let _ = stderr.flush();
    }

    fn clear(&self) {
        if self.active {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

/// `codexctl model fetch`: the call, with a spinner that follows `FetchProgress`.
pub async fn model_fetch(m: &ManagerProxy<'_>, endpoint: &str, json: bool) -> Result<()> {
    // Subscribe first so the `started` signal of our own call is not missed.
    let mut progress = m.receive_fetch_progress().await?;
    let mut spinner = Spinner::new(format!("asking {endpoint} for its models"));
    let fetch = m.fetch_models(endpoint);
    tokio::pin!(fetch);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let result = loop {
        tokio::select! {
            result = &mut fetch => break result,
            _ = tick.tick() => spinner.tick(),
            Some(signal) = progress.next() => {
                if let Ok(args) = signal.args()
                    && *args.id() == endpoint
                    && !args.message().is_empty()
                {
                    spinner.message = format!("{endpoint}: {} {}", args.stage(), args.message());
                }
            }
        }
    };
    spinner.clear();
    let models = result?;
    if json {
        return output::json(&models);
    }
    let info = m.get_endpoint(endpoint).await?;
    output::err(&format!(
        "{} models from {endpoint}; the endpoint now offers {}",
        models.len(),
        info.spec.models.len()
    ));
    let prices = m.list_model_prices(endpoint).await?;
    print_models(&models, &info.spec.default_model, &prices);
    Ok(())
}

/// `codexctl doctor --probe ENDPOINT [MODEL]`: real round trips, with a spinner on a TTY.
pub async fn probe(m: &ManagerProxy<'_>, endpoint: &str, model: &str, json: bool) -> Result<()> {
    let mut spinner = Spinner::new(format!(
        "probing {endpoint}: text, tool call, parallel calls, reasoning"
    ));
    let call = m.probe_endpoint(endpoint, model);
    tokio::pin!(call);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let result = loop {
        tokio::select! {
            result = &mut call => break result,
            _ = tick.tick() => spinner.tick(),
        }
    };
    spinner.clear();
    let report = result?;
    let failed = report
        .checks
        .iter()
        .filter(|c| c.verdict == ProbeVerdict::Failed)
        .count();
    if json {
        output::json(&serde_json::json!({
            "endpoint": report.endpoint,
            "model": report.model,
            "ok": failed == 0,
            "checks": report.checks.iter().map(|c| serde_json::json!({
                "check": c.name, "verdict": c.verdict, "detail": c.detail,
            })).collect::<Vec<_>>(),
            "quirks": serde_json::from_str::<serde_json::Value>(&report.quirks_json)
                .unwrap_or(serde_json::Value::Null),
        }))?;
    } else {
        let style = crate::output::Style::stdout();
        output::out(&format!(
            "probe of {} with {}",
            report.endpoint, report.model
        ));
        for c in &report.checks {
            let verdict = match c.verdict {
                ProbeVerdict::Ok => style.green("ok   "),
                ProbeVerdict::Quirk => style.yellow("quirk"),
                ProbeVerdict::Failed => style.red("fail "),
            };
            output::out(&format!("{verdict}  {:<20} {}", c.name, c.detail));
        }
        if !report.quirks_json.is_empty() {
            output::out(&format!("quirks recorded: {}", report.quirks_json));
        }
    }
    if failed > 0 {
        return Err(CliError::new(
            crate::error::Kind::Upstream,
            format!("{failed} probe check(s) failed"),
        ));
    }
    Ok(())
}

/// Read a file, or stdin for `-`.
pub fn read_input(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::io("read", Path::new("stdin"), &e))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| CliError::io("read", path, &e))
}

#[derive(Debug, Serialize)]
struct AddedJson {
    endpoint: String,
    added: u32,
}

/// `codexctl model import`
pub async fn model_import(
    m: &ManagerProxy<'_>,
    args: &crate::cli::ImportModelArgs,
    json: bool,
) -> Result<()> {
    let text = match (&args.text, &args.file) {
        (Some(text), _) => text.clone(),
        (None, Some(file)) => read_input(file)?,
        (None, None) => read_input(Path::new("-"))?,
    };
    let added = m.import_models(&args.endpoint, &text).await?;
    if json {
        return output::json(&AddedJson {
            endpoint: args.endpoint.clone(),
            added,
        });
    }
    output::out(&format!("added {added} new model(s) to {}", args.endpoint));
    Ok(())
}

/// `codexctl profile export`
pub async fn profile_export(
    m: &ManagerProxy<'_>,
    include_keys: bool,
    output_file: Option<&Path>,
) -> Result<()> {
    let mut bundle = m.export_profile(include_keys).await?;
    if !bundle.ends_with('\n') {
        bundle.push('\n');
    }
    let Some(path) = output_file else {
        output::out_raw(&bundle);
        return Ok(());
    };
    use std::os::unix::fs::OpenOptionsExt;
    // 0600 from the start: with --include-keys the bundle holds every key, and a file
    // created wider and narrowed afterwards could be read in between.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::io("create", path, &e))?;
    file.write_all(bundle.as_bytes())
        .map_err(|e| CliError::io("write", path, &e))?;
    output::err(&format!(
        "wrote {}{}",
        path.display(),
        if include_keys {
            " (with keys: keep it private)"
        } else {
            " (no keys)"
        }
    ));
    Ok(())
}

#[derive(Debug, Serialize)]
struct IdsJson {
    ids: Vec<String>,
}

fn print_ids(verb: &str, ids: Vec<String>, json: bool) -> Result<()> {
    if json {
        return output::json(&IdsJson { ids });
    }
    if ids.is_empty() {
        output::out(&format!("{verb} no endpoints"));
    } else {
        output::out(&format!(
            "{verb} {} endpoint(s): {}",
            ids.len(),
            ids.join(", ")
        ));
    }
    Ok(())
}

/// `codexctl profile import`
pub async fn profile_import(m: &ManagerProxy<'_>, file: &Path, json: bool) -> Result<()> {
    let bundle = read_input(file)?;
    let ids = m.import_profile(&bundle).await?;
    print_ids("imported", ids, json)
}

/// `codexctl import-legacy`
pub async fn import_legacy(m: &ManagerProxy<'_>, path: Option<&Path>, json: bool) -> Result<()> {
    // The daemon resolves paths against its own working directory, not ours.
    let path = match path {
        Some(p) => std::path::absolute(p)
            .map_err(|e| CliError::io("resolve", p, &e))?
            .to_string_lossy()
            .into_owned(),
        None => String::new(),
    };
    let ids = m.import_legacy(&path).await?;
    print_ids("imported", ids, json)
}

/// `codexctl usage --json`: one row per endpoint and model. `cost_usd` is six decimals as
/// text (exact), `null` when no request had a price; `priced_requests` says how many did.
#[derive(Debug, Serialize)]
struct UsageJson {
    endpoint: String,
    model: String,
    requests: u64,
    input_tokens: u64,
    cached_input_tokens: u64,
    cache_write_input_tokens: u64,
    output_tokens: u64,
    errors: u64,
    cost_usd: Option<String>,
    priced_requests: u64,
}

/// `codexctl usage`
pub async fn usage(m: &ManagerProxy<'_>, json: bool) -> Result<()> {
    let usage = m.usage_costs().await?;
    if json {
        let rows: Vec<UsageJson> = usage
            .into_iter()
            .map(|u| UsageJson {
                cost_usd: crate::cost::cost_json(u.cost_pico_usd, u.priced_requests),
                endpoint: u.endpoint,
                model: u.model,
                requests: u.requests,
                input_tokens: u.input_tokens,
                cached_input_tokens: u.cached_input_tokens,
                cache_write_input_tokens: u.cache_write_input_tokens,
                output_tokens: u.output_tokens,
                errors: u.errors,
                priced_requests: u.priced_requests,
            })
            .collect();
        return output::json(&rows);
    }
    if usage.is_empty() {
        output::out("no requests yet");
        return Ok(());
    }
    let mut t = Table::new(&[
        "ENDPOINT",
        "MODEL",
        "REQUESTS",
        "TOKENS IN",
        "CACHED",
        "CACHE WRITE",
        "TOKENS OUT",
        "ERRORS",
        "COST",
    ]);
    for u in &usage {
        t.row(vec![
            u.endpoint.clone(),
            u.model.clone(),
            u.requests.to_string(),
            u.input_tokens.to_string(),
            crate::cost::hit_cell(u.cached_input_tokens, u.input_tokens),
            u.cache_write_input_tokens.to_string(),
            u.output_tokens.to_string(),
            u.errors.to_string(),
            crate::cost::cost_cell(u.cost_pico_usd, u.priced_requests, u.requests),
        ]);
    }
    t.print();
    Ok(())
}
