//! `codexctl launch`, `sessions`, `stop`: Codex sessions the daemon supervises.

use std::collections::HashMap;
use std::path::PathBuf;

use codex_launcher_dbus::{ManagerProxy, SESSION_PATH_PREFIX, SessionProxy};
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

/// One session, as `sessions --json` prints it (stable field names).
#[derive(Debug, Serialize)]
struct SessionJson {
    session: String,
    path: String,
    endpoint: String,
    model: String,
    mode: String,
    pid: u32,
    state: String,
    started: u64,
    exit_code: Option<i32>,
    requests: u64,
    tokens_in: u64,
    tokens_out: u64,
}

async fn session_proxy(conn: &zbus::Connection, path: &str) -> Result<SessionProxy<'static>> {
    Ok(SessionProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?)
}

/// The number at the end of a session path.
fn number(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

async fn describe(conn: &zbus::Connection, path: &str) -> Result<SessionJson> {
    let s = session_proxy(conn, path).await?;
    let exit_code = s.exit_code().await?;
    Ok(SessionJson {
        session: number(path),
        path: path.to_owned(),
        endpoint: s.endpoint().await?,
        model: s.model().await?,
        mode: s.mode().await?,
        pid: s.pid().await?,
        state: s.state().await?,
        started: s.started().await?,
        // -1 while running.
        exit_code: (exit_code >= 0).then_some(exit_code),
        requests: s.requests().await?,
        tokens_in: s.tokens_in().await?,
        tokens_out: s.tokens_out().await?,
    })
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
    ]);
    for s in &all {
        t.row(vec![
            s.session.clone(),
            s.endpoint.clone(),
            s.model.clone(),
            s.mode.clone(),
            s.pid.to_string(),
            s.state.clone(),
            s.exit_code.map_or("-".to_owned(), |c| c.to_string()),
            s.requests.to_string(),
            format!("{}/{}", s.tokens_in, s.tokens_out),
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
