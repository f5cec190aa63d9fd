//! `codexctl group …`: fallback groups.

use codex_launcher_dbus::{GroupInfo, ManagerProxy};
use serde::Serialize;

use crate::cli::GroupCommand;
use crate::error::{CliError, Result};
use crate::output::{self, Table, or_dash};

/// `ENDPOINT[:MODEL]`: endpoint ids hold no `:`, model ids may (`gpt-oss:20b`), so the first
/// one separates them.
fn member(s: &str) -> Result<(String, String)> {
    let (endpoint, model) = s.split_once(':').unwrap_or((s, ""));
    if endpoint.trim().is_empty() {
        return Err(CliError::usage(format!(
            "--member takes ENDPOINT[:MODEL], got `{s}`"
        )));
    }
    Ok((endpoint.trim().to_owned(), model.trim().to_owned()))
}

fn members(list: &[String]) -> Result<Vec<(String, String)>> {
    list.iter().map(|m| member(m)).collect()
}

#[derive(Serialize)]
struct DoneJson<'a> {
    id: &'a str,
    action: &'a str,
}

/// Run a `group` subcommand.
pub async fn run(m: &ManagerProxy<'_>, cmd: GroupCommand, json: bool) -> Result<()> {
    match cmd {
        GroupCommand::Add {
            name,
            members: list,
        } => {
            let id = m.add_group(&name, members(&list)?).await?;
            done(&id, "added", json)
        }
        GroupCommand::Edit {
            name,
            members: list,
        } => {
            m.update_group(&name, members(&list)?).await?;
            done(&name, "edited", json)
        }
        GroupCommand::Rm { name } => {
            m.remove_group(&name).await?;
            done(&name, "removed", json)
        }
        GroupCommand::List => {
            let groups = m.list_groups().await?;
            if json {
                return output::json(&groups);
            }
            if groups.is_empty() {
                output::out(
                    "no groups (create one with `codexctl group add NAME --member ENDPOINT`)",
                );
                return Ok(());
            }
            let mut t = Table::new(&["GROUP", "MEMBERS", "PROXY URL"]);
            for g in &groups {
                t.row(vec![g.id.clone(), member_list(g), g.proxy_url.clone()]);
            }
            t.print();
            Ok(())
        }
        GroupCommand::Show { name } => {
            let g = m.get_group(&name).await?;
            if json {
                return output::json(&g);
            }
            output::key_values(&[
                ("id", g.id.clone()),
                ("name", g.name.clone()),
                ("proxy URL", g.proxy_url.clone()),
            ]);
            let mut t = Table::new(&[
                "#",
                "ENDPOINT",
                "MODEL",
                "BREAKER",
                "COOLDOWN",
                "LAST ERROR",
            ]);
            for (i, mem) in g.members.iter().enumerate() {
                t.row(vec![
                    (i + 1).to_string(),
                    mem.endpoint.clone(),
                    or_dash(&mem.upstream_model),
                    mem.breaker.to_string(),
                    if mem.cooldown_secs == 0 {
                        "-".into()
                    } else {
                        format!("{} s", mem.cooldown_secs)
                    },
                    or_dash(&mem.last_error),
                ]);
            }
            t.print();
            Ok(())
        }
    }
}

fn member_list(g: &GroupInfo) -> String {
    g.members
        .iter()
        .map(|m| {
            if m.model.is_empty() {
                m.endpoint.clone()
            } else {
                format!("{}:{}", m.endpoint, m.model)
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

fn done(id: &str, action: &str, json: bool) -> Result<()> {
    if json {
        return output::json(&DoneJson { id, action });
    }
    output::out(&format!("{action} group {id}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_split_at_the_first_colon() {
        assert_eq!(member("ds").unwrap(), ("ds".to_owned(), String::new()));
        assert_eq!(
            member("ollama:gpt-oss:20b").unwrap(),
            ("ollama".to_owned(), "gpt-oss:20b".to_owned())
        );
        assert!(member(":m").is_err());
    }
}
