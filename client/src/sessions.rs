//! `codexctl launch`, `run`, `sessions`, `stop`, `cleanup`: Codex sessions the daemon
//! supervises, and what old ones left behind.

use std::collections::HashMap;
use std::path::PathBuf;

use codex_launcher_dbus::{
    CleanupAction, CleanupKind, ManagerProxy, Mode, SESSION_PATH_PREFIX, SessionProxy,
    SessionState, UnknownName,
};
use serde::Serialize;

use crate::error::{CliError, Kind, Result};
use crate::output::{self, Table};

/// What `codexctl launch` was asked.
pub struct LaunchArgs {
    pub mode: String,
    pub endpoint: Option<String>,
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub workdir: Option<PathBuf>,
    pub effort: Option<String>,
}

/// What `codexctl run` was asked.
pub struct RunArgs {
    pub endpoint: Option<String>,
    pub model: Option<String>,
    pub effort: Option<String>,
    pub codex_args: Vec<String>,
}

/// One session, as `sessions --json` prints it (stable field names).
#[derive(Debug, Serialize)]
struct SessionJson {
    session: String,
    path: String,
    endpoint: String,
    model: String,
    mode: Mode,
    pid: u32,
    state: SessionState,
    started: u64,
    exit_code: Option<i32>,
    requests: u64,
    tokens_in: u64,
    tokens_out: u64,
    /// Of `tokens_in`, read from the provider's cache.
    cached_tokens_in: u64,
    /// Of `tokens_in`, written to the provider's cache.
    cache_write_tokens_in: u64,
    /// Six decimals as text; `null` when no request had a price.
    cost_usd: Option<String>,
    /// Requests that had a price.
    priced_requests: u64,
    #[serde(skip)]
    cost_pico_usd: u64,
}

async fn session_proxy(conn: &zbus::Connection, path: &str) -> Result<SessionProxy<'static>> {
    Ok(SessionProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?)
}

/// A mode or state the daemon reported.
fn contract_name<T: std::str::FromStr<Err = UnknownName>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: UnknownName| CliError::new(Kind::Other, format!("the daemon said: {e}")))
}

/// The number at the end of a session path.
fn number(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

async fn describe(conn: &zbus::Connection, path: &str) -> Result<SessionJson> {
    let s = session_proxy(conn, path).await?;
    let exit_code = s.exit_code().await?;
    let (cost_pico_usd, priced_requests) = (s.cost_pico_usd().await?, s.priced_requests().await?);
    Ok(SessionJson {
        session: number(path),
        path: path.to_owned(),
        endpoint: s.endpoint().await?,
        model: s.model().await?,
        mode: contract_name(&s.mode().await?)?,
        pid: s.pid().await?,
        state: contract_name(&s.state().await?)?,
        started: s.started().await?,
        // -1 while running.
        exit_code: (exit_code >= 0).then_some(exit_code),
        requests: s.requests().await?,
        tokens_in: s.tokens_in().await?,
        tokens_out: s.tokens_out().await?,
        cached_tokens_in: s.cached_tokens_in().await?,
        cache_write_tokens_in: s.cache_write_tokens_in().await?,
        cost_usd: crate::cost::cost_json(cost_pico_usd, priced_requests),
        priced_requests,
        cost_pico_usd,
    })
}

async fn default_endpoint(m: &ManagerProxy<'_>) -> Result<String> {
    let d = m.default_endpoint().await?;
    if d.is_empty() {
        return Err(CliError::new(
            Kind::Usage,
            "no default endpoint: pass -e ENDPOINT (codexctl endpoint list)",
        ));
    }
    Ok(d)
}

/// `codexctl run [-e E] [-m M] [-- ARGS…]`: Codex in this terminal, supervised by the
/// daemon. Returns Codex's exit code (128 + signal after a signal).
pub async fn run_here(conn: &zbus::Connection, m: &ManagerProxy<'_>, args: RunArgs) -> Result<u8> {
    let endpoint = match args.endpoint {
        Some(e) => e,
        None => default_endpoint(m).await?,
    };
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(Kind::Io, format!("no current directory: {e}")))?;
    let mut options = HashMap::from([("workdir".to_owned(), cwd.display().to_string())]);
    if let Some(e) = args.effort {
        options.insert("effort".to_owned(), e);
    }
    if !args.codex_args.is_empty() {
        let json = serde_json::to_string(&args.codex_args)
            .map_err(|e| CliError::new(Kind::Other, format!("arguments: {e}")))?;
        options.insert("args".to_owned(), json);
    }
    let model = args.model.unwrap_or_default();
    let plan = m.prepare_run(&endpoint, &model, options).await?;
    let session = session_proxy(conn, &plan.session).await?;
    // Our environment is what Codex gets: the daemon says which of it holds provider
    // credentials (it sees only digests of the values, we never see the keys).
    let remove = match scrub_list(m).await {
        Ok(names) => names,
        Err(e) => {
            let _ = session.stop().await;
            return Err(e);
        }
    };

    let mut cmd = std::process::Command::new(&plan.program);
    cmd.args(&plan.args);
    for var in plan.env_remove.iter().chain(&remove) {
        cmd.env_remove(var);
    }
    cmd.envs(plan.env.iter().map(|(k, v)| (k, v)));
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            // Gives the registration up at once.
            let _ = session.stop().await;
            return Err(CliError::new(
                Kind::Io,
                format!(
                    "cannot start {}: {e} (set CODEX_BIN or CODEX_LAUNCHER_CODEX_CMD for the daemon)",
                    plan.program
                ),
            ));
        }
    };
    if let Err(e) = session.attach(child.id()).await {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e.into());
    }
    // Ctrl-C belongs to Codex (it reads it in raw mode; a stray SIGINT must not take this
    // process, which reports the exit, down first).
    let swallow = tokio::spawn(async { while tokio::signal::ctrl_c().await.is_ok() {} });
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .map_err(|e| CliError::new(Kind::Other, format!("waiting for Codex: {e}")))?
        .map_err(|e| CliError::new(Kind::Io, format!("waiting for Codex: {e}")))?;
    swallow.abort();
    let code = status
        .code()
        .or_else(|| std::os::unix::process::ExitStatusExt::signal(&status).map(|s| 128 + s))
        .unwrap_or(1);
    let _ = session.report_exit(code).await;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// The variables of this process's environment the daemon says hold provider
/// credentials (`Manager.ScrubEnvironment`).
async fn scrub_list(m: &ManagerProxy<'_>) -> Result<Vec<String>> {
    use sha2::{Digest, Sha256};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| CliError::new(Kind::Other, format!("no randomness from the system: {e}")))?;
    let salt: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .map(|(name, value)| {
            let mut h = Sha256::new();
            h.update(salt.as_bytes());
            h.update([0u8]);
            h.update(value.trim().as_bytes());
            let digest = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            (name, digest)
        })
        .collect();
    Ok(m.scrub_environment(&salt, vars).await?)
}

/// One cleanup item, as `cleanup --json` prints it.
#[derive(Debug, Serialize)]
struct CleanupJson {
    kind: CleanupKind,
    pid: u32,
    path: String,
    description: String,
    action: CleanupAction,
}

/// `codexctl cleanup [--dry-run] [--stop-sessions]`: the daemon's one Kill & Cleanup rule,
/// as the panel uses it.
pub async fn cleanup(
    m: &ManagerProxy<'_>,
    dry_run: bool,
    stop_sessions: bool,
    json: bool,
) -> Result<()> {
    let items = m.kill_and_cleanup(dry_run, stop_sessions).await?;
    let failed = items.iter().filter(|i| i.action.is_failed()).count();
    if json {
        let out: Vec<CleanupJson> = items
            .into_iter()
            .map(|i| CleanupJson {
                kind: i.kind,
                pid: i.pid,
                path: i.path,
                description: i.description,
                action: i.action,
            })
            .collect();
        output::json(&out)?;
    } else if items.is_empty() {
        output::out("nothing to clean up");
    } else {
        let mut t = Table::new(&["KIND", "PID", "ACTION", "PATH", "WHAT"]);
        for i in &items {
            t.row(vec![
                i.kind.to_string(),
                if i.pid == 0 {
                    "-".into()
                } else {
                    i.pid.to_string()
                },
                i.action.to_string(),
                i.path.clone(),
                i.description.clone(),
            ]);
        }
        t.print();
        if dry_run {
            output::out("(dry run: nothing was changed; run `codexctl cleanup` to do it)");
        }
    }
    if failed > 0 {
        return Err(CliError::new(
            Kind::Other,
            format!("{failed} item(s) could not be cleaned up (see above)"),
        ));
    }
    Ok(())
}

/// `codexctl launch MODE …`
pub async fn launch(
    conn: &zbus::Connection,
    m: &ManagerProxy<'_>,
    args: LaunchArgs,
    json: bool,
) -> Result<()> {
    let endpoint = match args.endpoint {
        Some(e) => e,
        // Codex Default uses Codex's own login: no endpoint.
        None if args.mode.starts_with("default-") => String::new(),
        None => {
            let d = m.default_endpoint().await?;
            if d.is_empty() {
                return Err(CliError::new(
                    Kind::Usage,
                    "no default endpoint: pass -e ENDPOINT (codexctl endpoint list)",
                ));
            }
            d
        }
    };
    let mut options = HashMap::new();
    if let Some(p) = args.prompt {
        options.insert("prompt".to_owned(), p);
    }
    if let Some(dir) = args.workdir {
        // The daemon resolves paths in its own directory: send an absolute one.
        let dir = std::path::absolute(&dir).map_err(|e| {
            CliError::new(Kind::Io, format!("cannot resolve {}: {e}", dir.display()))
        })?;
        options.insert("workdir".to_owned(), dir.display().to_string());
    }
    if let Some(e) = args.effort {
        options.insert("effort".to_owned(), e);
    }
    let model = args.model.unwrap_or_default();
    let path = m.launch(&endpoint, &model, &args.mode, options).await?;
    let info = describe(conn, path.as_str()).await?;
    if json {
        return output::json(&info);
    }
    output::out(&format!(
        "session {} started: Codex ({}) on {} with {}, pid {} (stop it with `codexctl stop {}`)",
        info.session, info.mode, info.endpoint, info.model, info.pid, info.session
    ));
    Ok(())
}

/// `codexctl sessions`
pub async fn list(conn: &zbus::Connection, m: &ManagerProxy<'_>, json: bool) -> Result<()> {
    let mut all = Vec::new();
    for path in m.list_sessions().await? {
        all.push(describe(conn, path.as_str()).await?);
    }
    if json {
        return output::json(&all);
    }
    if all.is_empty() {
        output::out("no sessions (start one with `codexctl launch cli`)");
        return Ok(());
    }
    let mut t = Table::new(&[
        "SESSION", "ENDPOINT", "MODEL", "MODE", "PID", "STATE", "EXIT", "REQUESTS", "TOKENS",
        "CACHED", "COST",
    ]);
    for s in &all {
        t.row(vec![
            s.session.clone(),
            s.endpoint.clone(),
            s.model.clone(),
            s.mode.to_string(),
            s.pid.to_string(),
            s.state.to_string(),
            s.exit_code.map_or("-".to_owned(), |c| c.to_string()),
            s.requests.to_string(),
            format!("{}/{}", s.tokens_in, s.tokens_out),
            crate::cost::hit_cell(s.cached_tokens_in, s.tokens_in),
            crate::cost::cost_cell(s.cost_pico_usd, s.priced_requests, s.requests),
        ]);
    }
    t.print();
    Ok(())
}

/// `codexctl stop SESSION` (its number, or its object path).
pub async fn stop(
    conn: &zbus::Connection,
    m: &ManagerProxy<'_>,
    session: &str,
    json: bool,
) -> Result<()> {
    let path = if session.starts_with('/') {
        session.to_owned()
    } else if !session.is_empty() && session.chars().all(|c| c.is_ascii_digit()) {
        format!("{SESSION_PATH_PREFIX}/{session}")
    } else {
        return Err(CliError::new(
            Kind::Usage,
            format!("`{session}` is not a session number (see `codexctl sessions`)"),
        ));
    };
    // Ask the daemon which sessions exist: a stop of an unknown one is "not found", not a
    // bus error about objects.
    if !m.list_sessions().await?.iter().any(|p| p.as_str() == path) {
        return Err(CliError::new(
            Kind::NotFound,
            format!("no session {session} (see `codexctl sessions`)"),
        ));
    }
    session_proxy(conn, &path).await?.stop().await?;
    if json {
        return output::json(&serde_json::json!({"session": number(&path), "stopping": true}));
    }
    output::out(&format!("session {} is stopping", number(&path)));
    Ok(())
}
