//! `codexctl endpoint ...`: list, show, add (scripted or interactive), edit, rm, default.

use std::io::{BufRead, IsTerminal, Read, Write};

use codex_launcher_dbus::{
    CacheTtl, EndpointInfo, EndpointOptions, EndpointSpec, ManagerProxy, Preset,
};
use serde::Serialize;

use crate::cli::{AddArgs, EditArgs, EndpointCommand, KeySource};
use crate::error::{CliError, Kind, Result};
use crate::output::{self, Table, or_dash};

/// Run one endpoint command.
pub async fn run(m: &ManagerProxy<'_>, cmd: EndpointCommand, json: bool) -> Result<()> {
    match cmd {
        EndpointCommand::List => list(m, json).await,
        EndpointCommand::Show { id } => show(m, &id, json).await,
        EndpointCommand::Add(args) => add(m, args, json).await,
        EndpointCommand::Edit(args) => edit(m, args, json).await,
        EndpointCommand::Rm { id } => {
            m.remove_endpoint(&id).await?;
            done(json, &id, "removed", format!("removed {id}"))
        }
        EndpointCommand::Default { id } => {
            m.set_default_endpoint(&id).await?;
            done(
                json,
                &id,
                "default",
                format!("{id} is the default endpoint"),
            )
        }
    }
}

/// The result of a write command.
#[derive(Debug, Serialize)]
struct DoneJson<'a> {
    id: &'a str,
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_storage: Option<String>,
}

fn done(json: bool, id: &str, action: &str, human: String) -> Result<()> {
    if json {
        return output::json(&DoneJson {
            id,
            action,
            key_storage: None,
        });
    }
    output::out(&human);
    Ok(())
}

fn key_cell(info: &EndpointInfo) -> String {
    if info.has_key {
        or_dash(&info.key_storage)
    } else {
        "none".to_owned()
    }
}

async fn list(m: &ManagerProxy<'_>, json: bool) -> Result<()> {
    let endpoints = m.list_endpoints().await?;
    if json {
        return output::json(&endpoints);
    }
    if endpoints.is_empty() {
        output::out("no endpoints; add one with `codexctl endpoint add`");
        return Ok(());
    }
    let mut t = Table::new(&["", "ID", "NAME", "BACKEND", "MODEL", "MODELS", "KEY", "URL"]);
    for e in &endpoints {
        t.row(vec![
            if e.is_default { "*" } else { "" }.to_owned(),
            e.id.clone(),
            e.spec.name.clone(),
            e.spec.backend.to_string(),
            or_dash(&e.spec.default_model),
            e.spec.models.len().to_string(),
            key_cell(e),
            e.spec.base_url.clone(),
        ]);
    }
    t.print();
    Ok(())
}

/// `endpoint show --json`: the endpoint, and its options beside its settings.
#[derive(Debug, Serialize)]
struct ShowJson {
    #[serde(flatten)]
    info: EndpointInfo,
    /// Prompt caching (`5m`, `1h`, `off`).
    cache: Option<CacheTtl>,
}

async fn show(m: &ManagerProxy<'_>, id: &str, json: bool) -> Result<()> {
    let e = m.get_endpoint(id).await?;
    let options = m.get_endpoint_options(id).await?;
    if json {
        return output::json(&ShowJson {
            info: e,
            cache: options.cache,
        });
    }
    let headers = e
        .spec
        .extra_headers
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let models = e
        .spec
        .models
        .iter()
        .map(|m| m.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    output::key_values(&[
        ("id", e.id.clone()),
        ("name", e.spec.name.clone()),
        ("preset", or_dash(&e.spec.preset)),
        ("backend", e.spec.backend.to_string()),
        ("url", e.spec.base_url.clone()),
        ("default model", or_dash(&e.spec.default_model)),
        (
            "models",
            format!("{} ({})", e.spec.models.len(), or_dash(&models)),
        ),
        (
            "browser UA",
            if e.spec.browser_ua { "yes" } else { "no" }.to_owned(),
        ),
        ("headers", or_dash(&headers)),
        (
            "provider",
            if e.spec.provider.is_empty() {
                "(from the URL)".to_owned()
            } else {
                e.spec.provider.clone()
            },
        ),
        ("quirks", or_dash(&e.spec.quirks_json)),
        (
            "cache",
            options
                .cache
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
        ),
        ("key", key_cell(&e)),
        (
            "default",
            if e.is_default { "yes" } else { "no" }.to_owned(),
        ),
        ("proxy URL", e.proxy_url.clone()),
    ]);
    Ok(())
}

fn parse_header(h: &str) -> Result<(String, String)> {
    match h.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(CliError::usage(format!(
            "--header takes NAME=VALUE, got `{h}`"
        ))),
    }
}

/// Read the key as the flags say; `None` when no flag asks for one.
fn key_from_flags(key: &KeySource) -> Result<Option<String>> {
    if key.api_key_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::new(Kind::Io, format!("cannot read the key from stdin: {e}")))?;
        // One line is expected; a trailing newline from `echo` or `pass` is not part of it.
        let key = text.lines().next().unwrap_or("").trim().to_owned();
        if key.is_empty() {
            return Err(CliError::usage("--api-key-stdin: stdin held no key"));
        }
        return Ok(Some(key));
    }
    if let Some(var) = &key.api_key_env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_owned())),
            _ => Err(CliError::usage(format!(
                "--api-key-env {var}: the variable is unset or empty"
            ))),
        };
    }
    Ok(None)
}

/// Ask on stderr, read a line from stdin; empty input gives `default`.
fn prompt(question: &str, default: &str) -> Result<String> {
    let shown = if default.is_empty() {
        format!("{question}: ")
    } else {
        format!("{question} [{default}]: ")
    };
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(shown.as_bytes());
    let _ = stderr.flush();
    drop(stderr);
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new(Kind::Io, format!("cannot read the answer: {e}")))?;
    if n == 0 {
        return Err(CliError::usage("no answer (end of input)"));
    }
    let answer = line.trim();
    Ok(if answer.is_empty() {
        default.to_owned()
    } else {
        answer.to_owned()
    })
}

fn pick_preset(presets: &[Preset]) -> Result<Option<Preset>> {
    output::err("Presets:");
    for (i, p) in presets.iter().enumerate() {
        output::err(&format!(
            "  {:>2}) {:<16} {}",
            i + 1,
            p.id,
            or_dash(&p.spec.base_url)
        ));
    }
    loop {
        let answer = prompt("Preset number or id (empty: custom)", "")?;
        if answer.is_empty() {
            return Ok(None);
        }
        let by_number = answer
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| presets.get(i));
        let by_id = presets.iter().find(|p| p.id == answer);
        if let Some(p) = by_number.or(by_id) {
            return Ok(Some(p.clone()));
        }
        output::err(&format!("no preset `{answer}`"));
    }
}

/// `--secret-header K=V` values.
fn secret_headers(flags: &[String]) -> Result<Vec<(String, String)>> {
    flags.iter().map(|h| parse_header(h)).collect()
}

/// What `add` and `edit` tell the daemon beyond the endpoint's settings: headers whose
/// values are secrets, and the variable a key was read from (Codex sessions drop it).
async fn after_save(
    m: &ManagerProxy<'_>,
    id: &str,
    secret: &[(String, String)],
    key_env: Option<&str>,
) -> Result<()> {
    for (name, value) in secret {
        m.set_header(id, name, value, true).await?;
    }
    if let Some(var) = key_env {
        m.set_key_source(id, var).await?;
    }
    Ok(())
}

async fn add(m: &ManagerProxy<'_>, args: AddArgs, json: bool) -> Result<()> {
    // Prompts need a person at stdin; with --api-key-stdin stdin holds the key instead.
    let interactive = std::io::stdin().is_terminal() && !args.key.api_key_stdin;
    let mut key = key_from_flags(&args.key)?;
    let presets_needed = args.preset.is_some() || (interactive && args.url.is_none());
    let presets = if presets_needed {
        m.list_presets().await?
    } else {
        Vec::new()
    };
    let preset = match &args.preset {
        Some(id) => Some(
            presets
                .iter()
                .find(|p| &p.id == id)
                .cloned()
                .ok_or_else(|| {
                    CliError::new(
                        Kind::NotFound,
                        format!("no preset `{id}` (`codexctl preset list` shows them)"),
                    )
                })?,
        ),
        None if interactive && args.url.is_none() => pick_preset(&presets)?,
        None => None,
    };
    let mut spec = match &preset {
        Some(p) => {
            let mut spec = p.spec.clone();
            spec.preset = p.id.clone();
            spec
        }
        None => EndpointSpec::default(),
    };
    // What the flags leave open is asked for in a terminal, with the preset's value offered.
    let (ask_name, ask_url, ask_model) = (
        args.name.is_none(),
        args.url.is_none(),
        args.model.is_none(),
    );
    if let Some(name) = args.name {
        spec.name = name;
    }
    if let Some(url) = args.url {
        spec.base_url = url;
    }
    if let Some(backend) = args.backend {
        spec.backend = backend;
    }
    if let Some(model) = args.model {
        spec.default_model = model;
    }
    if let Some(provider) = args.provider {
        spec.provider = provider;
    }
    spec.browser_ua |= args.browser_ua;
    for h in &args.headers {
        let (k, v) = parse_header(h)?;
        spec.extra_headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        spec.extra_headers.push((k, v));
    }
    if interactive {
        if ask_name {
            spec.name = prompt("Name", &spec.name)?;
        }
        if ask_url {
            spec.base_url = prompt("Base URL", &spec.base_url)?;
        }
        if ask_model {
            spec.default_model = prompt("Default model (empty: none)", &spec.default_model)?;
        }
        if key.is_none() {
            let typed = rpassword::prompt_password("API key (not shown; empty: none): ")
                .map_err(|e| CliError::new(Kind::Io, format!("cannot read the key: {e}")))?;
            let typed = typed.trim();
            if !typed.is_empty() {
                key = Some(typed.to_owned());
            }
        }
    }
    if spec.name.is_empty() {
        return Err(CliError::usage(
            "missing --name (or --preset); run in a terminal to be asked",
        ));
    }
    if spec.base_url.is_empty() {
        return Err(CliError::usage(
            "missing --url (the preset has no fixed URL); run in a terminal to be asked",
        ));
    }
    let secret = secret_headers(&args.secret_headers)?;
    let id = m
        .add_endpoint(spec, key.as_deref().unwrap_or_default())
        .await?;
    if let Some(cache) = args.cache.filter(|c| *c != CacheTtl::default()) {
        set_cache(m, &id, cache).await?;
    }
    after_save(m, &id, &secret, args.key.api_key_env.as_deref()).await?;
    let storage = if key.is_some() {
        Some(m.get_endpoint(&id).await?.key_storage)
    } else {
        None
    };
    if json {
        return output::json(&DoneJson {
            id: &id,
            action: "added",
            key_storage: storage,
        });
    }
    match storage {
        Some(s) => output::out(&format!("added {id} (key stored: {})", or_dash(&s))),
        None => output::out(&format!("added {id} (no key)")),
    }
    Ok(())
}

async fn edit(m: &ManagerProxy<'_>, args: EditArgs, json: bool) -> Result<()> {
    let current = m.get_endpoint(&args.id).await?;
    let mut spec = current.spec.clone();
    if let Some(name) = args.name {
        spec.name = name;
    }
    if let Some(url) = args.url {
        spec.base_url = url;
    }
    if let Some(backend) = args.backend {
        spec.backend = backend;
    }
    if let Some(model) = args.model {
        spec.default_model = model;
    }
    if let Some(provider) = args.provider {
        spec.provider = provider;
    }
    if args.browser_ua {
        spec.browser_ua = true;
    }
    if args.no_browser_ua {
        spec.browser_ua = false;
    }
    for k in &args.remove_headers {
        spec.extra_headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(k));
    }
    for h in &args.headers {
        let (k, v) = parse_header(h)?;
        spec.extra_headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        spec.extra_headers.push((k, v));
    }
    let key = key_from_flags(&args.key)?;
    let secret = secret_headers(&args.secret_headers)?;
    let cache = match args.cache {
        Some(cache) if m.get_endpoint_options(&args.id).await?.cache != Some(cache) => Some(cache),
        _ => None,
    };
    if spec == current.spec
        && key.is_none()
        && !args.remove_key
        && secret.is_empty()
        && cache.is_none()
    {
        return Err(CliError::usage(
            "nothing to change: give at least one of --name, --url, --backend, --model, \
             --browser-ua, --no-browser-ua, --header, --secret-header, --remove-header, \
             --provider, --cache, --api-key-stdin, --api-key-env, --remove-key",
        ));
    }
    if spec != current.spec {
        m.update_endpoint(&args.id, spec).await?;
    }
    if let Some(cache) = cache {
        set_cache(m, &args.id, cache).await?;
    }
    after_save(m, &args.id, &secret, args.key.api_key_env.as_deref()).await?;
    let mut storage = None;
    if let Some(key) = key {
        storage = Some(m.set_api_key(&args.id, &key).await?);
    } else if args.remove_key {
        m.set_api_key(&args.id, "").await?;
    }
    if json {
        return output::json(&DoneJson {
            id: &args.id,
            action: "edited",
            key_storage: storage,
        });
    }
    match storage {
        Some(s) => output::out(&format!("edited {} (key stored: {})", args.id, or_dash(&s))),
        None if args.remove_key => output::out(&format!("edited {} (key removed)", args.id)),
        None => output::out(&format!("edited {}", args.id)),
    }
    Ok(())
}

/// The endpoint's prompt-cache setting (an option beside its settings).
async fn set_cache(m: &ManagerProxy<'_>, id: &str, cache: CacheTtl) -> Result<()> {
    m.set_endpoint_options(id, EndpointOptions { cache: Some(cache) })
        .await?;
    Ok(())
}
