//! `codexctl turns …`: the turn recorder (issue 18). Every failed turn is kept by the daemon,
//! redacted; these commands list, show, replay and export them, and say what is recorded.

use std::io::Write;
use std::path::Path;

use codex_launcher_dbus::{ManagerProxy, TurnInfo, TurnOutcome, TurnRecording};
use serde::Serialize;

use crate::cli::TurnsCommand;
use crate::error::{CliError, Kind, Result};
use crate::output::{self, Style, Table, or_dash};

/// Run one `turns` command; the exit code (a replay the upstream refused again: 7).
pub async fn run(m: &ManagerProxy<'_>, cmd: TurnsCommand, json: bool) -> Result<u8> {
    let done = match cmd {
        TurnsCommand::List {
            failed,
            endpoint,
            session,
        } => list(m, failed, endpoint.as_deref(), session, json).await,
        TurnsCommand::Show { id } => show(m, id, json).await,
        TurnsCommand::Replay {
            id,
            endpoint,
            model,
        } => return replay(m, id, endpoint.as_deref(), model.as_deref(), json).await,
        TurnsCommand::Export {
            id,
            output,
            redact_text,
        } => export(m, id, output.as_deref(), redact_text).await,
        TurnsCommand::Record {
            all,
            failed,
            endpoint,
        } => record(m, all, failed, endpoint.as_deref(), json).await,
        TurnsCommand::Retention {
            failures,
            successes,
            max_size,
        } => retention(m, failures, successes, max_size.as_deref(), json).await,
    };
    done.map(|()| 0)
}

/// `200MiB`, `64KiB`, `1G`, `4096` (bytes) → bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// `3 s ago`, `4 min ago`, `2 h ago`, `5 d ago`.
pub fn age(started: u64, now: u64) -> String {
    match now.saturating_sub(started) {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// At most `max` characters.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// What the OUTCOME column says: `failed (400)`, `completed`, `replay of 3: failed`.
fn outcome_label(t: &TurnInfo) -> String {
    let mut s = t.outcome.to_string();
    if t.status != 0 && t.outcome == TurnOutcome::Failed {
        s.push_str(&format!(" ({})", t.status));
    }
    s
}

fn from_label(t: &TurnInfo) -> String {
    match (t.replay_of, t.session) {
        (0, 0) => t.origin.to_string(),
        (0, n) => format!("session {n}"),
        (of, _) => format!("replay of {of}"),
    }
}

async fn list(
    m: &ManagerProxy<'_>,
    failed: bool,
    endpoint: Option<&str>,
    session: Option<u64>,
    json: bool,
) -> Result<()> {
    let turns = m
        .list_turns(failed, endpoint.unwrap_or(""), session.unwrap_or(0))
        .await?;
    if json {
        return output::json(&turns);
    }
    if turns.is_empty() {
        output::out(if failed {
            "no failed turns recorded"
        } else {
            "no turns recorded"
        });
        return Ok(());
    }
    let now = now();
    let mut t = Table::new(&[
        "ID", "WHEN", "ENDPOINT", "MODEL", "FROM", "OUTCOME", "ERROR",
    ]);
    for turn in &turns {
        t.row(vec![
            turn.id.to_string(),
            age(turn.started, now),
            turn.endpoint.clone(),
            or_dash(&turn.model),
            from_label(turn),
            outcome_label(turn),
            or_dash(&clip(&turn.error, 100)),
        ]);
    }
    t.print();
    Ok(())
}

/// `codexctl turns show --json`: the readable view and the whole record.
#[derive(Serialize)]
struct ShowJson {
    info: TurnInfo,
    sections: Vec<codex_launcher_dbus::TurnSection>,
    record: serde_json::Value,
}

async fn show(m: &ManagerProxy<'_>, id: u64, json: bool) -> Result<()> {
    let detail = m.get_turn(id).await?;
    if json {
        let record = serde_json::from_str(&detail.record_json).unwrap_or_default();
        return output::json(&ShowJson {
            info: detail.info,
            sections: detail.sections,
            record,
        });
    }
    let style = Style::stdout();
    for (i, section) in detail.sections.iter().enumerate() {
        if i > 0 {
            output::out("");
        }
        output::out(&style.bold(&section.title));
        let width = section
            .lines
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (key, value) in &section.lines {
            let mut lines = value.lines();
            let first = lines.next().unwrap_or("");
            output::out(&format!("  {key:width$}  {first}"));
            for more in lines {
                output::out(&format!("  {:width$}  {more}", ""));
            }
        }
    }
    output::out("");
    output::out(&style.dim(&format!(
        "replay: codexctl turns replay {id} [-e ENDPOINT [-m MODEL]]; share: codexctl turns export {id} --redact-text -o turn-{id}.json"
    )));
    Ok(())
}

async fn replay(
    m: &ManagerProxy<'_>,
    id: u64,
    endpoint: Option<&str>,
    model: Option<&str>,
    json: bool,
) -> Result<u8> {
    if model.is_some() && endpoint.is_none() {
        // The model only changes with a re-translation, which is what -e does; the same
        // endpoint is allowed there.
        return Err(CliError::usage(
            "--model needs --endpoint (use the turn's own endpoint to change only the model)",
        ));
    }
    let outcome = m
        .replay_turn(id, endpoint.unwrap_or(""), model.unwrap_or(""))
        .await?;
    if json {
        output::json(&outcome)?;
    } else {
        let style = Style::stdout();
        let how = match endpoint {
            Some(e) => format!("turn {id} on `{e}`"),
            None => format!("turn {id} as recorded"),
        };
        let status = match outcome.status {
            0 => String::new(),
            s => format!(" (HTTP {s})"),
        };
        let verdict = if outcome.ok {
            style.green("succeeded")
        } else {
            style.red("failed")
        };
        output::out(&format!(
            "replay of {how} {verdict}{status}: {}",
            outcome.message
        ));
        match outcome.turn {
            0 => {
                output::err("the replay could not be recorded (`codexctl turns record` shows why)")
            }
            n => output::out(&format!("recorded as turn {n}: codexctl turns show {n}")),
        }
    }
    // The outcome is printed either way; a replay the upstream refused exits like any
    // upstream failure, so scripts can tell.
    Ok(if outcome.ok {
        0
    } else {
        Kind::Upstream.exit_code()
    })
}

async fn export(
    m: &ManagerProxy<'_>,
    id: u64,
    path: Option<&Path>,
    redact_text: bool,
) -> Result<()> {
    let mut bundle = m.export_turn(id, redact_text).await?;
    if !bundle.ends_with('\n') {
        bundle.push('\n');
    }
    let Some(path) = path else {
        output::out_raw(&bundle);
        return Ok(());
    };
    use std::os::unix::fs::OpenOptionsExt;
    // 0600 like the daemon's own records: even redacted, a turn holds the user's work.
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
        "wrote {} (no keys, no secret headers{})",
        path.display(),
        if redact_text {
            ", text replaced by placeholders"
        } else {
            "; it still holds the conversation: --redact-text replaces it"
        }
    ));
    Ok(())
}

fn print_recording(r: &TurnRecording, json: bool) -> Result<()> {
    if json {
        return output::json(r);
    }
    let what = match (r.record_all, r.endpoints.is_empty()) {
        (true, _) => "every turn".to_owned(),
        (false, true) => "failed turns only".to_owned(),
        (false, false) => format!("failed turns; every turn on {}", r.endpoints.join(", ")),
    };
    output::key_values(&[
        ("recording", what),
        (
            "kept",
            format!(
                "{} turns, {} KiB (at most {} failed, {} others, {} MiB)",
                r.turns,
                r.bytes / 1024,
                r.max_failures,
                r.max_successes,
                r.max_bytes / (1024 * 1024)
            ),
        ),
        ("dropped", r.dropped.to_string()),
        ("directory", r.dir.clone()),
    ]);
    Ok(())
}

async fn record(
    m: &ManagerProxy<'_>,
    all: bool,
    failed: bool,
    endpoint: Option<&str>,
    json: bool,
) -> Result<()> {
    if all || failed {
        m.set_turn_recording(endpoint.unwrap_or(""), all).await?;
    } else if endpoint.is_some() {
        return Err(CliError::usage(
            "say what to record on that endpoint: --all or --failed",
        ));
    }
    print_recording(&m.turn_recording().await?, json)
}

async fn retention(
    m: &ManagerProxy<'_>,
    failures: Option<u32>,
    successes: Option<u32>,
    max_size: Option<&str>,
    json: bool,
) -> Result<()> {
    let bytes = match max_size {
        Some(text) => Some(parse_size(text).filter(|&b| b > 0).ok_or_else(|| {
            CliError::usage(format!(
                "--max-size {text}: a size such as 200MiB, 512KiB or 1G"
            ))
        })?),
        None => None,
    };
    if failures == Some(0) || successes == Some(0) {
        return Err(CliError::usage(
            "a bound must be at least 1 (to record no successful turn, `codexctl turns record --failed`)",
        ));
    }
    if failures.is_some() || successes.is_some() || bytes.is_some() {
        m.set_turn_retention(
            failures.unwrap_or(0),
            successes.unwrap_or(0),
            bytes.unwrap_or(0),
        )
        .await?;
    }
    print_recording(&m.turn_recording().await?, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_clips_read_well() {
        assert_eq!(age(100, 103), "3 s ago");
        assert_eq!(age(0, 3 * 60 + 5), "3 min ago");
        assert_eq!(age(0, 2 * 3600), "2 h ago");
        assert_eq!(age(0, 3 * 86_400), "3 d ago");
        assert_eq!(age(10, 5), "0 s ago", "a clock that went back");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(parse_size("200MiB"), Some(200 * 1024 * 1024));
        assert_eq!(parse_size("64k"), Some(64 * 1024));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1 G"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
    }
}
