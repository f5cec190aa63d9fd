//! What counts as a credential: the environment variables that carry provider keys, and the
//! extra headers whose values are secrets. One list each, used by launch planning (what a
//! Codex session must not inherit), the endpoint store (what is kept with the keys) and
//! every view of an endpoint (what is shown as `***`).
//!
//! Codex's shell tool shows its environment to the model, so a provider key left in
//! Codex's environment is a key handed to whichever provider the session talks to.

use std::collections::BTreeSet;

/// Variables that hold provider credentials by convention: each preset's (see
/// [`crate::presets`]) and the ones other coding tools read, so a user who exported them
/// for those tools does not hand them to a session.
pub const PROVIDER_KEY_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "DEEPSEEK_API_KEY",
    "MOONSHOT_API_KEY",
    "KIMI_API_KEY",
    "ZAI_API_KEY",
    "ZHIPUAI_API_KEY",
    "OPENROUTER_API_KEY",
    "GROQ_API_KEY",
    "NVIDIA_API_KEY",
    "KILO_API_KEY",
    "OPENCODE_API_KEY",
    "CROF_API_KEY",
    "COMMAND_CODE_API_KEY",
    "OLLAMA_API_KEY",
    "TOGETHER_API_KEY",
    "MISTRAL_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "XAI_API_KEY",
];

/// The daemon's own systemd variables: a child writing to `NOTIFY_SOCKET` would speak for
/// the daemon, and the rest describe the daemon's sockets and watchdog, not the child's.
pub const DAEMON_VARS: &[&str] = &[
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
];

/// Words that make a header name a credential by default (case-insensitive, anywhere in
/// the name): `Authorization`, `X-Api-Key`, `X-Api-Token`, `Cookie`, `X-Session-Id`, ….
const SECRET_HEADER_WORDS: [&str; 6] = ["auth", "key", "token", "secret", "cookie", "session"];

/// Whether a header's value is a secret: its name says so, or the user marked it.
pub fn is_secret_header(name: &str, marked: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_HEADER_WORDS.iter().any(|w| lower.contains(w))
        || marked.iter().any(|m| m.eq_ignore_ascii_case(name))
}

/// How a secret header value is shown (it is never shown).
pub const HIDDEN: &str = "***";

/// The variables of an environment that must not reach Codex: systemd's, the conventional
/// provider-key ones, those endpoints' keys were read from (`key_envs`), and any whose value
/// is a stored key (`holds_key`). Everything else stays: a user's `GITHUB_TOKEN` is theirs.
pub fn to_remove<'a>(
    vars: impl IntoIterator<Item = (&'a str, bool)>,
    key_envs: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for (name, holds_key) in vars {
        if holds_key
            || DAEMON_VARS.contains(&name)
            || PROVIDER_KEY_VARS.contains(&name)
            || key_envs.contains(name)
        {
            out.insert(name.to_owned());
        }
    }
    out.into_iter().collect()
}

/// The names to remove whatever the environment holds (for a caller whose environment the
/// daemon cannot see: it removes these and asks about the rest).
pub fn always_removed(key_envs: &BTreeSet<String>) -> Vec<String> {
    let mut out: BTreeSet<String> = DAEMON_VARS
        .iter()
        .chain(PROVIDER_KEY_VARS)
        .map(|s| (*s).to_owned())
        .collect();
    out.extend(key_envs.iter().cloned());
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_secret_by_name_or_by_mark() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "x-api-token",
            "Cookie",
            "X-Session-Id",
            "Proxy-Authorization",
            "X-Client-Secret",
        ] {
            assert!(is_secret_header(name, &[]), "{name}");
        }
        for name in ["HTTP-Referer", "X-Title", "Accept-Language"] {
            assert!(!is_secret_header(name, &[]), "{name}");
        }
        assert!(is_secret_header("X-Title", &["x-title".into()]));
    }

    #[test]
    fn only_credentials_are_removed() {
        let key_envs: BTreeSet<String> = ["MY_DS_KEY".to_owned()].into();
        let vars = [
            ("OPENAI_API_KEY", false),
            ("DEEPSEEK_API_KEY", false),
            ("MY_DS_KEY", false),
            ("SOMETHING", true),
            ("GITHUB_TOKEN", false),
            ("MY_SERVICE_API_KEY", false),
            ("NOTIFY_SOCKET", false),
            ("PATH", false),
        ];
        assert_eq!(
            to_remove(vars, &key_envs),
            [
                "DEEPSEEK_API_KEY",
                "MY_DS_KEY",
                "NOTIFY_SOCKET",
                "OPENAI_API_KEY",
                "SOMETHING"
            ]
        );
        assert!(always_removed(&key_envs).contains(&"MY_DS_KEY".to_owned()));
    }
}
