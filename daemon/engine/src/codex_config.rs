//! What a launcher session tells Codex: which provider, model, catalog and effort.
//!
//! Three ways, same content:
//! - [`cli_overrides`]: `-c key=value` arguments for the CLI. Nothing on disk changes, so a
//!   crash leaves nothing to clean up; this is the default for `codex` sessions.
//! - [`apply_to_config`] / [`remove_managed`]: edit `config.toml` (Codex Desktop reads only
//!   the file). Edits go through `toml_edit`, so the user's comments, ordering and unrelated
//!   keys stay byte for byte; [`crate::backup`] brackets them with a backup and restore.
//! - [`profile_config`]: a profile file, `$CODEX_HOME/codex-launcher-<endpoint>.config.toml`,
//!   for `codex --profile codex-launcher-<endpoint>` by hand.
//!
//! # Profiles in Codex 0.169.0
//! Profiles are separate files layered by `--profile <name>`. The old forms in config.toml are
//! refused: a top-level `profile = "…"` stops Codex at start ("legacy `profile` config is no
//! longer supported"), and a `[profiles.<name>]` table makes `--profile <name>` fail. So the
//! launcher writes neither (and neither `-c profile=…`); [`remove_managed`] still removes
//! `[profiles.codex-launcher-…]` tables an older launcher may have left.
//!
//! # What the launcher manages in config.toml
//! - `[model_providers.codex-launcher-<endpoint>]`: ours by name. The prefix keeps clear of
//!   Codex's reserved ids (`openai`, `ollama`, `lmstudio`), which a config cannot redefine.
//! - Top-level `model`, `model_provider`, `model_catalog_json`, `model_reasoning_effort`.
//!   Each value we set carries a trailing comment `# codex-launcher: was …` holding the user's
//!   previous value with its formatting, so [`remove_managed`] puts it back exactly even
//!   without the backup (a crash, "Codex Default" mode, or a merge after the user edited the
//!   file). Delete that comment to make a value your own.
//!
//! # Native OpenAI endpoints
//! An `openai-responses` endpoint on api.openai.com needs no translation: Codex talks to
//! OpenAI directly, the key comes from the environment variable named by `env_key`
//! ([`OPENAI_KEY_ENV`]) and is never written anywhere. The provider is still a custom one
//! (never named "OpenAI": Codex switches on OpenAI-account behaviour by that name).

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, Value};

use codex_launcher_translate::base_url::host;
use codex_launcher_types::Backend;

use crate::model::Endpoint;

/// Every launcher provider id (and profile name) starts with this.
pub const PROVIDER_PREFIX: &str = "codex-launcher-";

/// Provider ids Codex reserves for its built-in providers.
pub const RESERVED_PROVIDER_IDS: [&str; 3] = ["openai", "ollama", "lmstudio"];

/// Env var holding the proxy's access token for proxied sessions (`env_key`).
pub const PROXY_TOKEN_ENV: &str = "CODEX_LAUNCHER_TOKEN";

/// Env var holding the OpenAI key for native OpenAI sessions (`env_key`). Not
/// `OPENAI_API_KEY`: Codex reads that one for its own login flow.
pub const OPENAI_KEY_ENV: &str = "CODEX_LAUNCHER_OPENAI_API_KEY";

/// Codex's idle timer on a stream. Above its 300 s default: a slow provider's first token
/// can take minutes on a long prompt, and the proxy sends keep-alives anyway.
pub const STREAM_IDLE_TIMEOUT_MS: i64 = 600_000;

/// Top-level keys the launcher may set (see the module docs).
pub const MANAGED_KEYS: [&str; 4] = [
    "model",
    "model_provider",
    "model_catalog_json",
    "model_reasoning_effort",
];

/// Start of the trailing comment on a value we set.
const MARKER: &str = "# codex-launcher: was ";
const MARKER_UNSET: &str = "unset";
/// Comment above the tables we write.
const TABLE_NOTE: &str = "\n# Managed by codex-launcher: removed when the session ends.\n";
/// The same, remembering that the user's file did not end with a newline: `toml_edit` ends
/// every line it writes with one, and [`remove_managed`] takes it off again.
const TABLE_NOTE_NO_EOL: &str = "\n# Managed by codex-launcher: removed when the session ends (the file had no final newline).\n";

/// Config errors; whenever one is returned, nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The user's config.toml does not parse.
    #[error("config.toml is not valid TOML, so it was left as it is: {0}")]
    InvalidToml(String),
    /// The user's config.toml has a key we need in a shape we cannot edit safely.
    #[error(
        "config.toml has `{key}` as {found}; the launcher needs it to be {wanted}, so it left the file as it is"
    )]
    Unexpected {
        /// The key.
        key: String,
        /// What it is.
        found: &'static str,
        /// What we need.
        wanted: &'static str,
    },
    /// The endpoint id cannot name a Codex provider.
    #[error(
        "endpoint id `{0}` cannot name a Codex provider (letters, digits, - and _ only, at most 64)"
    )]
    EndpointId(String),
    /// A reserved provider id (cannot happen with the prefix; checked anyway).
    #[error("`{0}` is one of Codex's built-in providers and cannot be redefined")]
    Reserved(String),
    /// A bad session parameter.
    #[error("{0}")]
    Invalid(String),
}

/// `codex-launcher-<endpoint id>`.
pub fn provider_id(endpoint_id: &str) -> Result<String, ConfigError> {
    let ok = !endpoint_id.is_empty()
        && endpoint_id.len() <= 64
        && endpoint_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(ConfigError::EndpointId(endpoint_id.to_owned()));
    }
    let id = format!("{PROVIDER_PREFIX}{endpoint_id}");
    if RESERVED_PROVIDER_IDS.contains(&id.to_ascii_lowercase().as_str()) {
        return Err(ConfigError::Reserved(id));
    }
    Ok(id)
}

/// The daemon's route for an endpoint: `http://127.0.0.1:PORT/e/<id>/v1`.
pub fn proxy_url(port: u16, endpoint_id: &str) -> String {
    format!("http://127.0.0.1:{port}/e/{endpoint_id}/v1")
}

/// An `openai-responses` endpoint on OpenAI itself: Codex can talk to it without the proxy.
pub fn is_native_openai(endpoint: &Endpoint) -> bool {
    endpoint.backend == Backend::OpenaiResponses
        && endpoint.base_url.trim().starts_with("https://")
        && host(&endpoint.base_url).as_deref() == Some("api.openai.com")
}

/// The provider's display name: the endpoint's, never "OpenAI" (Codex turns on OpenAI-only
/// behaviour, such as remote compaction, for a provider of that name).
pub fn provider_name(endpoint_name: &str) -> String {
    let name: String = endpoint_name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        "codex-launcher".to_owned()
    } else if name.eq_ignore_ascii_case("openai") {
        format!("{name} (codex-launcher)")
    } else {
        name.to_owned()
    }
}

/// Everything Codex needs for one session: built by [`Target::new`], read by
/// [`cli_overrides`] and [`apply_to_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    provider_id: String,
    provider_name: String,
    base_url: String,
    env_key: &'static str,
    native: bool,
    model: String,
    catalog: Option<PathBuf>,
    reasoning_effort: Option<String>,
}

impl Target {
    /// A session on `endpoint` with `model`; `proxy_url` is the daemon's route for the
    /// endpoint ([`proxy_url`]), ignored for native OpenAI endpoints.
    pub fn new(endpoint: &Endpoint, model: &str, proxy_url: &str) -> Result<Target, ConfigError> {
        let provider_id = provider_id(&endpoint.id)?;
        let model = model.trim();
        if model.is_empty() || model.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::Invalid(format!("invalid model id `{model}`")));
        }
        let native = is_native_openai(endpoint);
        let base_url = if native {
            endpoint.base_url.trim_end_matches('/').to_owned()
        } else {
            proxy_url.trim_end_matches('/').to_owned()
        };
        let scheme_ok = base_url.starts_with("http://") || base_url.starts_with("https://");
        if !scheme_ok
            || base_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ConfigError::Invalid(format!(
                "invalid provider URL `{base_url}`"
            )));
        }
        Ok(Target {
            provider_id,
            provider_name: provider_name(&endpoint.name),
            base_url,
            env_key: if native {
                OPENAI_KEY_ENV
            } else {
                PROXY_TOKEN_ENV
            },
            native,
            model: model.to_owned(),
            catalog: None,
            reasoning_effort: None,
        })
    }

    /// Hand Codex this model catalog (`model_catalog_json`); must be an absolute UTF-8 path
    /// (Codex resolves a relative one against its own working directory).
    pub fn with_catalog(mut self, path: &Path) -> Result<Target, ConfigError> {
        if !path.is_absolute() || path.to_str().is_none() {
            return Err(ConfigError::Invalid(format!(
                "the model catalog path {} must be absolute and UTF-8",
                path.display()
            )));
        }
        self.catalog = Some(path.to_path_buf());
        Ok(self)
    }

    /// The effort the user chose (`model_reasoning_effort`).
    pub fn with_reasoning_effort(mut self, effort: &str) -> Result<Target, ConfigError> {
        let effort = effort.trim().to_ascii_lowercase();
        if effort.is_empty()
            || !effort
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::Invalid(format!(
                "invalid reasoning effort `{effort}`"
            )));
        }
        self.reasoning_effort = Some(effort);
        Ok(self)
    }

    /// `codex-launcher-<endpoint id>`: provider id and profile name.
    pub fn provider_id(&self) -> &str {
        &self.provider_id
    }

    /// The provider's `base_url`: the proxy route, or OpenAI's URL for native endpoints.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The env var Codex reads the bearer token from; the session must set it.
    pub fn env_key(&self) -> &'static str {
        self.env_key
    }

    /// Codex talks to OpenAI directly (no proxy).
    pub fn is_native(&self) -> bool {
        self.native
    }

    /// The model slug.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// `(key, value)` pairs of the provider table, in the order written.
    fn provider_entries(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("name", Value::from(self.provider_name.as_str())),
            ("base_url", Value::from(self.base_url.as_str())),
            ("env_key", Value::from(self.env_key)),
            ("wire_api", Value::from("responses")),
            (
                "stream_idle_timeout_ms",
                Value::from(STREAM_IDLE_TIMEOUT_MS),
            ),
        ]
    }

    /// Top-level `(key, value)` pairs (`None`: not chosen).
    fn selection_entries(&self) -> Vec<(&'static str, Option<Value>)> {
        vec![
            ("model", Some(Value::from(self.model.as_str()))),
            (
                "model_provider",
                Some(Value::from(self.provider_id.as_str())),
            ),
            (
                "model_catalog_json",
                self.catalog
                    .as_deref()
                    .and_then(Path::to_str)
                    .map(Value::from),
            ),
            (
                "model_reasoning_effort",
                self.reasoning_effort.as_deref().map(Value::from),
            ),
        ]
    }
}

/// Arguments for a CLI launch that leaves config.toml alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliOverrides {
    /// `-c`, `key=value`, `-c`, … to put before the user's own arguments.
    pub args: Vec<String>,
    /// The env var the session must set to the bearer token (proxy token, or OpenAI key).
    pub env_key: &'static str,
}

/// `-c key=value` arguments selecting the target: the top-level keys and the provider
/// table. Values are TOML (Codex parses them so), quoted by `toml_edit`. They sit above
/// config.toml, so the user's file may choose anything else and still lose to them.
pub fn cli_overrides(target: &Target) -> CliOverrides {
    let pid = &target.provider_id;
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for (key, value) in target.selection_entries() {
        if let Some(value) = value {
            pairs.push((key.to_owned(), value));
        }
    }
    for (key, value) in target.provider_entries() {
        pairs.push((format!("model_providers.{pid}.{key}"), value));
    }
    let mut args = Vec::with_capacity(pairs.len() * 2);
    for (key, value) in pairs {
        args.push("-c".to_owned());
        args.push(format!("{key}={value}"));
    }
    CliOverrides {
        args,
        env_key: target.env_key,
    }
}

/// Where [`profile_config`] goes: `$CODEX_HOME/codex-launcher-<endpoint>.config.toml`, the
/// file `codex --profile codex-launcher-<endpoint>` layers on config.toml.
pub fn profile_file(codex_home: &Path, target: &Target) -> PathBuf {
    codex_home.join(format!("{}.config.toml", target.provider_id))
}

/// A Codex 0.169.0 profile file selecting `target`: the same keys as [`cli_overrides`].
pub fn profile_config(target: &Target) -> String {
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(format!(
        "# Written by codex-launcher for `codex --profile {}`; regenerated when the endpoint changes, so edits here do not last.\n",
        target.provider_id
    ));
    let root = doc.as_table_mut();
    for (key, value) in target.selection_entries() {
        if let Some(value) = value {
            root.insert(key, Item::Value(value));
        }
    }
    let mut providers = Table::new();
    providers.set_implicit(true);
    let mut table = Table::new();
    for (key, value) in target.provider_entries() {
        table.insert(key, Item::Value(value));
    }
    providers.insert(&target.provider_id, Item::Table(table));
    root.insert("model_providers", Item::Table(providers));
    doc.to_string()
}

fn parse(text: &str) -> Result<DocumentMut, ConfigError> {
    text.parse::<DocumentMut>()
        .map_err(|e| ConfigError::InvalidToml(e.to_string()))
}

/// `doc` as text with `original`'s line endings and byte-order mark: `toml_edit` writes `\n`
/// everywhere, which would rewrite every line of a Windows-edited (CRLF) file, and drops a
/// BOM. A file mixing both line endings comes out with `\n`.
fn render(doc: &DocumentMut, original: &str) -> String {
    let mut out = doc.to_string();
    let newlines = original.matches('\n').count();
    if newlines > 0 && original.matches("\r\n").count() == newlines {
        out = out.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    if original.starts_with('\u{feff}') && !out.starts_with('\u{feff}') {
        out.insert(0, '\u{feff}');
    }
    out
}

fn kind(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(Value::InlineTable(_)) => "an inline table",
        Item::Value(_) => "a value",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

/// `root[name]` as a table, created (implicit: no header of its own) when missing.
fn child_table<'a>(root: &'a mut Table, name: &str) -> Result<&'a mut Table, ConfigError> {
    let item = root.entry(name).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let found = kind(item);
    item.as_table_mut().ok_or_else(|| ConfigError::Unexpected {
        key: name.to_owned(),
        found,
        wanted: "a table",
    })
}

/// A table of `entries` under `parent[id]`, replacing ours from an earlier session in place
/// (same position, same note).
fn put_table(parent: &mut Table, id: &str, note: &str, entries: Vec<(&'static str, Value)>) {
    let mut table = Table::new();
    match parent.get(id) {
        Some(Item::Table(old)) => {
            table.set_position(old.position());
            *table.decor_mut() = old.decor().clone();
        }
        _ => table.decor_mut().set_prefix(note),
    }
    for (key, value) in entries {
        table.insert(key, Item::Value(value));
    }
    parent.insert(id, Item::Table(table));
}

/// What a managed value replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Was {
    /// The key was absent.
    Unset,
    /// The value's text, decor (spacing, trailing comment) included.
    Raw(String),
}

fn marker_of(value: &Value) -> Option<Was> {
    let suffix = value.decor().suffix()?.as_str()?;
    let rest = suffix.trim_start().strip_prefix(MARKER)?.trim_end();
    if rest == MARKER_UNSET {
        return Some(Was::Unset);
    }
    let raw: String = serde_json::from_str(rest).ok()?;
    // Only a value that parses back counts: a damaged marker is treated as no marker.
    restored_value(&raw).map(|_| Was::Raw(raw))
}

fn encode_marker(was: &Was) -> String {
    match was {
        Was::Unset => format!(" {MARKER}{MARKER_UNSET}"),
        // JSON escapes every control character, so the comment stays on one line and valid.
        Was::Raw(raw) => format!(
            " {MARKER}{}",
            serde_json::to_string(raw).unwrap_or_else(|_| "\"\"".to_owned())
        ),
    }
}

/// The value `raw` (as captured with its decor) parses to, decor included.
fn restored_value(raw: &str) -> Option<Value> {
    let doc = format!("k ={raw}\n").parse::<DocumentMut>().ok()?;
    match doc.as_table().get("k")? {
        Item::Value(v) if doc.as_table().len() == 1 => Some(v.clone()),
        _ => None,
    }
}

/// Set (`Some`) or release (`None`) a managed top-level key.
fn set_managed(root: &mut Table, key: &str, want: Option<Value>) -> Result<(), ConfigError> {
    if let Some(item) = root.get(key)
        && !item.is_value()
    {
        return match want {
            Some(_) => Err(ConfigError::Unexpected {
                key: key.to_owned(),
                found: kind(item),
                wanted: "a string",
            }),
            None => Ok(()),
        };
    }
    let current = root.get(key).and_then(Item::as_value);
    match want {
        Some(mut value) => {
            // The first launcher edit records the user's value; later ones pass it on.
            let was = match current {
                Some(v) => marker_of(v).unwrap_or_else(|| Was::Raw(v.to_string())),
                None => Was::Unset,
            };
            value.decor_mut().set_prefix(" ");
            value.decor_mut().set_suffix(encode_marker(&was));
            match root.get_mut(key) {
                // Replace the value only: the key keeps its decor (comment lines above it).
                Some(Item::Value(slot)) => *slot = value,
                _ => {
                    root.insert(key, Item::Value(value));
                }
            }
        }
        None => {
            if let Some(was) = current.and_then(marker_of) {
                restore(root, key, was);
            }
        }
    }
    Ok(())
}

fn restore(root: &mut Table, key: &str, was: Was) {
    match was {
        Was::Unset => {
            root.remove(key);
        }
        Was::Raw(raw) => {
            if let (Some(value), Some(Item::Value(current))) =
                (restored_value(&raw), root.get_mut(key))
            {
                *current = value;
            }
        }
    }
}

/// `config.toml` text selecting `target`: writes `[model_providers.<id>]` and the top-level
/// keys, keeping everything else byte for byte. Applying on top of an earlier launcher edit
/// keeps the user's original values.
pub fn apply_to_config(text: &str, target: &Target) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let root = doc.as_table_mut();
    // Check every shape before changing anything, so an error leaves no half-edit (the
    // document is dropped anyway, but the order makes the rule obvious).
    for key in MANAGED_KEYS {
        if let Some(item) = root.get(key)
            && !item.is_value()
        {
            return Err(ConfigError::Unexpected {
                key: key.to_owned(),
                found: kind(item),
                wanted: "a string",
            });
        }
    }
    let note = if text.is_empty() || text.ends_with('\n') {
        TABLE_NOTE
    } else {
        TABLE_NOTE_NO_EOL
    };
    put_table(
        child_table(root, "model_providers")?,
        &target.provider_id,
        note,
        target.provider_entries(),
    );
    for (key, value) in target.selection_entries() {
        set_managed(root, key, value)?;
    }
    Ok(render(&doc, text))
}

/// `config.toml` text without anything the launcher manages: its provider tables (and legacy
/// profile tables) go, and managed top-level keys get the user's previous values back (or go,
/// if there were none). A `model_provider` (or legacy `profile`) still naming a launcher id
/// without its marker goes too: the table it names is gone. Everything else stays byte for
/// byte.
pub fn remove_managed(text: &str) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let root = doc.as_table_mut();
    for key in MANAGED_KEYS.into_iter().chain(["profile"]) {
        let Some(Item::Value(value)) = root.get(key) else {
            continue;
        };
        if let Some(was) = marker_of(value) {
            restore(root, key, was);
        }
        let dangling = matches!(key, "model_provider" | "profile")
            && root
                .get(key)
                .and_then(Item::as_str)
                .is_some_and(|v| v.starts_with(PROVIDER_PREFIX));
        if dangling {
            root.remove(key);
        }
    }
    let mut no_final_newline = false;
    for parent in ["model_providers", "profiles"] {
        let Some(Item::Table(table)) = root.get_mut(parent) else {
            continue;
        };
        table.retain(|k, item| {
            let ours = k.starts_with(PROVIDER_PREFIX);
            if ours
                && let Item::Table(t) = item
                && t.decor().prefix().and_then(|p| p.as_str()) == Some(TABLE_NOTE_NO_EOL)
            {
                no_final_newline = true;
            }
            !ours
        });
        if table.is_empty() && (table.is_implicit() || table.is_dotted()) {
            root.remove(parent);
        }
    }
    let mut out = render(&doc, text);
    if no_final_newline {
        if out.ends_with("\r\n") {
            out.truncate(out.len() - 2);
        } else if out.ends_with('\n') {
            out.pop();
        }
    }
    Ok(out)
}

/// Launcher provider ids present in `text` (for status and "Codex Default" checks).
pub fn managed_providers(text: &str) -> Result<Vec<String>, ConfigError> {
    let doc = parse(text)?;
    Ok(doc
        .get("model_providers")
        .and_then(Item::as_table_like)
        .map(|t| {
            t.iter()
                .map(|(k, _)| k.to_owned())
                .filter(|k| k.starts_with(PROVIDER_PREFIX))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "ds".into(),
            name: "DeepSeek".into(),
            backend: Backend::OpenaiCompat,
            base_url: "https://api.deepseek.com/v1".into(),
            models: vec![Model::bare("deepseek-chat")],
            ..Endpoint::default()
        }
    }

    fn target() -> Target {
        Target::new(&endpoint(), "deepseek-chat", &proxy_url(47821, "ds")).unwrap()
    }

    fn full_target() -> Target {
        target()
            .with_catalog(Path::new(
                "/home/u/.local/state/codex-launcher/catalogs/ds.json",
            ))
            .unwrap()
            .with_reasoning_effort("high")
            .unwrap()
    }

    const USER: &str = r#"# My Codex settings
model = "gpt-5.5"   # the default
approval_policy = "on-request"

[tui]
# keep it quiet
notifications = false

[model_providers.mine]
name = "Mine"
base_url = "http://localhost:9000/v1"

[profiles.work]
model = "gpt-5.5"
"#;

    fn parsed(text: &str) -> DocumentMut {
        text.parse().unwrap()
    }

    #[test]
    fn provider_ids_are_prefixed_and_checked() {
        assert_eq!(provider_id("ds").unwrap(), "codex-launcher-ds");
        assert!(matches!(provider_id(""), Err(ConfigError::EndpointId(_))));
        assert!(matches!(
            provider_id("a.b"),
            Err(ConfigError::EndpointId(_))
        ));
        assert!(matches!(
            provider_id(&"x".repeat(65)),
            Err(ConfigError::EndpointId(_))
        ));
        // An endpoint literally called `openai` still gets a non-reserved id.
        for reserved in RESERVED_PROVIDER_IDS {
            let id = provider_id(reserved).unwrap();
            assert!(!RESERVED_PROVIDER_IDS.contains(&id.as_str()), "{id}");
        }
    }

    #[test]
    fn display_name_is_never_openai() {
        assert_eq!(provider_name("DeepSeek"), "DeepSeek");
        assert_eq!(provider_name("OpenAI"), "OpenAI (codex-launcher)");
        assert_eq!(provider_name(" openai "), "openai (codex-launcher)");
        assert_eq!(provider_name("  "), "codex-launcher");
        let mut e = endpoint();
        e.name = "OpenAI".into();
        let t = Target::new(&e, "m", &proxy_url(1, "ds")).unwrap();
        let doc = parsed(&apply_to_config("", &t).unwrap());
        assert_ne!(
            doc["model_providers"]["codex-launcher-ds"]["name"].as_str(),
            Some("OpenAI")
        );
    }

    #[test]
    fn cli_overrides_select_everything() {
        let o = cli_overrides(&full_target());
        assert_eq!(o.env_key, PROXY_TOKEN_ENV);
        let pairs: Vec<&str> = o
            .args
            .iter()
            .skip(1)
            .step_by(2)
            .map(String::as_str)
            .collect();
        assert!(o.args.iter().step_by(2).all(|a| a == "-c"));
        for want in [
            r#"model="deepseek-chat""#,
            r#"model_provider="codex-launcher-ds""#,
            r#"model_providers.codex-launcher-ds.name="DeepSeek""#,
            r#"model_providers.codex-launcher-ds.base_url="http://127.0.0.1:47821/e/ds/v1""#,
            r#"model_providers.codex-launcher-ds.env_key="CODEX_LAUNCHER_TOKEN""#,
            r#"model_providers.codex-launcher-ds.wire_api="responses""#,
            "model_providers.codex-launcher-ds.stream_idle_timeout_ms=600000",
            r#"model_catalog_json="/home/u/.local/state/codex-launcher/catalogs/ds.json""#,
            r#"model_reasoning_effort="high""#,
        ] {
            assert!(pairs.contains(&want), "missing {want} in {pairs:#?}");
        }
        // Codex 0.169.0 refuses `profile = …` and legacy profile tables break `--profile`.
        assert!(
            !pairs.iter().any(|p| p.starts_with("profile")),
            "{pairs:#?}"
        );
        // Without an effort or catalog, neither is mentioned.
        let o = cli_overrides(&target());
        assert!(!o.args.iter().any(|a| a.contains("model_reasoning_effort")));
        assert!(!o.args.iter().any(|a| a.contains("model_catalog_json")));
    }

    #[test]
    fn cli_values_are_toml_quoted() {
        let mut e = endpoint();
        e.name = r#"My "quoted" \ name"#.into();
        let o = cli_overrides(&Target::new(&e, "m", &proxy_url(1, "ds")).unwrap());
        let name = o
            .args
            .iter()
            .find_map(|a| a.strip_prefix("model_providers.codex-launcher-ds.name="))
            .unwrap();
        let doc = parsed(&format!("v = {name}"));
        assert_eq!(doc["v"].as_str(), Some(r#"My "quoted" \ name"#));
    }

    #[test]
    fn native_openai_has_no_proxy_and_no_key_in_the_file() {
        let e = Endpoint {
            id: "oa".into(),
            name: "OpenAI".into(),
            backend: Backend::OpenaiResponses,
            base_url: "https://api.openai.com/v1".into(),
            ..Endpoint::default()
        };
        assert!(is_native_openai(&e));
        let t = Target::new(&e, "gpt-5.5", &proxy_url(47821, "oa")).unwrap();
        assert!(t.is_native());
        assert_eq!(t.base_url(), "https://api.openai.com/v1");
        assert_eq!(t.env_key(), OPENAI_KEY_ENV);
        let text = apply_to_config("", &t).unwrap();
        let doc = parsed(&text);
        let p = &doc["model_providers"]["codex-launcher-oa"];
        assert_eq!(p["base_url"].as_str(), Some("https://api.openai.com/v1"));
        assert_eq!(p["env_key"].as_str(), Some(OPENAI_KEY_ENV));
        assert_eq!(p["name"].as_str(), Some("OpenAI (codex-launcher)"));
        assert!(!text.contains("127.0.0.1"));
        for secretish in ["experimental_bearer_token", "api_key", "sk-"] {
            assert!(!text.contains(secretish), "{secretish} in\n{text}");
        }
        assert_eq!(cli_overrides(&t).env_key, OPENAI_KEY_ENV);
        // Another host, or another backend, goes through the proxy.
        let mut other = e.clone();
        other.base_url = "https://api.openai.com.evil.example/v1".into();
        assert!(!is_native_openai(&other));
        let mut other = e.clone();
        other.backend = Backend::OpenaiCompat;
        assert!(!is_native_openai(&other));
        let mut other = e;
        other.base_url = "http://api.openai.com/v1".into();
        assert!(!is_native_openai(&other));
    }

    #[test]
    fn apply_writes_tables_and_selection_keeping_the_rest() {
        let out = apply_to_config(USER, &full_target()).unwrap();
        let doc = parsed(&out);
        let p = &doc["model_providers"]["codex-launcher-ds"];
        assert_eq!(p["name"].as_str(), Some("DeepSeek"));
        assert_eq!(
            p["base_url"].as_str(),
            Some("http://127.0.0.1:47821/e/ds/v1")
        );
        assert_eq!(p["env_key"].as_str(), Some("CODEX_LAUNCHER_TOKEN"));
        assert_eq!(p["wire_api"].as_str(), Some("responses"));
        assert_eq!(p["stream_idle_timeout_ms"].as_integer(), Some(600_000));
        assert!(
            !doc["profiles"]
                .as_table()
                .unwrap()
                .contains_key("codex-launcher-ds"),
            "no legacy profile table"
        );
        assert!(!doc.contains_key("profile"));
        assert_eq!(doc["model"].as_str(), Some("deepseek-chat"));
        assert_eq!(doc["model_provider"].as_str(), Some("codex-launcher-ds"));
        assert_eq!(doc["model_reasoning_effort"].as_str(), Some("high"));
        // The user's comments, keys and tables are untouched, in their order.
        for kept in [
            "# My Codex settings\n",
            "approval_policy = \"on-request\"\n",
            "[tui]\n# keep it quiet\nnotifications = false\n",
            "[model_providers.mine]\nname = \"Mine\"\nbase_url = \"http://localhost:9000/v1\"\n",
            "[profiles.work]\nmodel = \"gpt-5.5\"\n",
        ] {
            assert!(out.contains(kept), "lost {kept:?} in\n{out}");
        }
        assert!(out.find("[tui]") < out.find("[model_providers.mine]"));
        // The user's previous model is kept next to ours.
        assert!(
            out.contains(
                r#"model = "deepseek-chat" # codex-launcher: was " \"gpt-5.5\"   # the default""#
            ),
            "{out}"
        );
        // Our provider sits with the user's providers.
        assert!(
            out.find("[model_providers.codex-launcher-ds]") < out.find("[profiles.work]"),
            "{out}"
        );
    }

    #[test]
    fn apply_then_remove_gives_back_the_original_bytes() {
        let cases = [
            USER,
            "",
            "\n",
            "# only a comment\n",
            "model = 'o3'\n",
            "model = \"o3\"",
            "profile = \"work\"\n\n[profiles.work]\nmodel_provider = \"openai\"\n",
            "model_provider = \"mine\" # mine\nmodel_reasoning_effort = \"low\"\n\n[model_providers]\n",
            "[model_providers]\nmine = { name = \"x\", base_url = \"http://h/v1\" }\n",
            "model_providers.mine.name = \"dotted\"\nmodel_providers.mine.base_url = \"http://h/v1\"\n",
            "a = 1\r\nb = [\r\n  1,\r\n]\r\n[t]\r\nc = 2\r\n",
            "\u{feff}# bom\nx = \"é\"\n# trailing comment\n",
        ];
        for original in cases {
            for t in [target(), full_target()] {
                let applied = apply_to_config(original, &t).unwrap();
                assert_ne!(applied, original);
                let doc = parsed(&applied);
                assert_eq!(doc["model_provider"].as_str(), Some("codex-launcher-ds"));
                assert_eq!(
                    managed_providers(&applied).unwrap(),
                    ["codex-launcher-ds"],
                    "{applied}"
                );
                let removed = remove_managed(&applied).unwrap();
                assert_eq!(removed, original, "applied:\n{applied}");
                assert!(managed_providers(&removed).unwrap().is_empty());
            }
        }
    }

    #[test]
    fn legacy_launcher_profile_tables_are_removed_and_never_written() {
        let old = "model = \"x\"\n\n[profiles.work]\nmodel = \"gpt-5.5\"\n\n[profiles.codex-launcher-old]\nmodel = \"m\"\n";
        assert_eq!(
            remove_managed(old).unwrap(),
            "model = \"x\"\n\n[profiles.work]\nmodel = \"gpt-5.5\"\n"
        );
        let only_ours = "[profiles.codex-launcher-old]\nmodel = \"m\"\n";
        assert_eq!(remove_managed(only_ours).unwrap(), "");
        let applied = apply_to_config("", &full_target()).unwrap();
        assert!(!applied.contains("profile"), "{applied}");
    }

    #[test]
    fn profile_file_selects_the_same_as_the_overrides() {
        let t = full_target();
        let path = profile_file(Path::new("/home/u/.codex"), &t);
        assert_eq!(
            path,
            Path::new("/home/u/.codex/codex-launcher-ds.config.toml")
        );
        let text = profile_config(&t);
        assert!(text.starts_with("# Written by codex-launcher"), "{text}");
        let doc = parsed(&text);
        assert_eq!(doc["model"].as_str(), Some("deepseek-chat"));
        assert_eq!(doc["model_provider"].as_str(), Some("codex-launcher-ds"));
        assert_eq!(doc["model_reasoning_effort"].as_str(), Some("high"));
        assert!(doc["model_catalog_json"].as_str().is_some());
        let p = &doc["model_providers"]["codex-launcher-ds"];
        assert_eq!(
            p["base_url"].as_str(),
            Some("http://127.0.0.1:47821/e/ds/v1")
        );
        assert_eq!(p["env_key"].as_str(), Some(PROXY_TOKEN_ENV));
        assert!(!doc.contains_key("profile"));
        assert!(
            text.contains("[model_providers.codex-launcher-ds]\n"),
            "{text}"
        );
    }

    #[test]
    fn second_apply_keeps_the_first_original() {
        let other = Endpoint {
            id: "kimi".into(),
            name: "Kimi".into(),
            ..endpoint()
        };
        let t2 = Target::new(&other, "kimi-k2", &proxy_url(47821, "kimi")).unwrap();
        let once = apply_to_config(USER, &full_target()).unwrap();
        let twice = apply_to_config(&once, &t2).unwrap();
        let doc = parsed(&twice);
        assert_eq!(doc["model"].as_str(), Some("kimi-k2"));
        assert_eq!(doc["model_provider"].as_str(), Some("codex-launcher-kimi"));
        // t2 chose no effort or catalog: the first session's are released.
        assert!(!doc.contains_key("model_reasoning_effort"));
        assert!(!doc.contains_key("model_catalog_json"));
        assert_eq!(
            managed_providers(&twice).unwrap(),
            ["codex-launcher-ds", "codex-launcher-kimi"]
        );
        assert_eq!(remove_managed(&twice).unwrap(), USER);
        // Re-applying the same target is stable.
        assert_eq!(apply_to_config(&once, &full_target()).unwrap(), once);
    }

    #[test]
    fn remove_keeps_user_edits_made_during_the_session() {
        let applied = apply_to_config(USER, &full_target()).unwrap();
        let edited = applied.replace(
            "approval_policy = \"on-request\"",
            "approval_policy = \"never\"\n# added by the user\nhide_agent_reasoning = true",
        );
        let removed = remove_managed(&edited).unwrap();
        let expected = USER.replace(
            "approval_policy = \"on-request\"",
            "approval_policy = \"never\"\n# added by the user\nhide_agent_reasoning = true",
        );
        assert_eq!(removed, expected);
    }

    #[test]
    fn a_value_whose_marker_the_user_deleted_is_theirs() {
        let applied = apply_to_config("", &full_target()).unwrap();
        let mine = applied
            .lines()
            .map(|l| {
                if l.starts_with("model_reasoning_effort") {
                    "model_reasoning_effort = \"low\"".to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let doc = parsed(&remove_managed(&mine).unwrap());
        assert_eq!(doc["model_reasoning_effort"].as_str(), Some("low"));
        assert!(!doc.contains_key("model"));
        assert!(!doc.contains_key("model_providers"));
    }

    #[test]
    fn dangling_launcher_selection_is_removed_even_without_marker() {
        let text = "model_provider = \"codex-launcher-gone\"\nprofile = \"codex-launcher-gone\"\nmodel = \"x\"\n";
        assert_eq!(remove_managed(text).unwrap(), "model = \"x\"\n");
    }

    #[test]
    fn damaged_marker_counts_as_none() {
        let text = "model = \"m\" # codex-launcher: was \"unterminated\n";
        assert_eq!(remove_managed(text).unwrap(), text);
    }

    #[test]
    fn invalid_toml_is_an_error() {
        for bad in ["model = ", "[a]\n[a]\n", "x = \"unterminated"] {
            assert!(matches!(
                apply_to_config(bad, &target()),
                Err(ConfigError::InvalidToml(_))
            ));
            assert!(matches!(
                remove_managed(bad),
                Err(ConfigError::InvalidToml(_))
            ));
        }
    }

    #[test]
    fn unexpected_shapes_are_refused() {
        for bad in [
            "model_providers = 3\n",
            "[model_reasoning_effort]\nx = 1\n",
            "[model]\nx = 1\n",
            "model_providers = { mine = { name = \"x\" } }\n",
        ] {
            let err = apply_to_config(bad, &target()).unwrap_err();
            assert!(
                matches!(err, ConfigError::Unexpected { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("left the file as it is"));
        }
    }

    #[test]
    fn bad_session_parameters_are_refused() {
        assert!(Target::new(&endpoint(), " ", &proxy_url(1, "ds")).is_err());
        assert!(Target::new(&endpoint(), "a b", &proxy_url(1, "ds")).is_err());
        assert!(Target::new(&endpoint(), "m", "ftp://x").is_err());
        assert!(target().with_catalog(Path::new("rel/cat.json")).is_err());
        assert!(target().with_reasoning_effort("hi gh").is_err());
        assert!(target().with_reasoning_effort("").is_err());
        let mut e = endpoint();
        e.id = "bad id".into();
        assert!(matches!(
            Target::new(&e, "m", "http://x/v1"),
            Err(ConfigError::EndpointId(_))
        ));
    }

    #[test]
    fn managed_values_carry_a_readable_marker() {
        let out = apply_to_config("", &target()).unwrap();
        assert!(
            out.starts_with(
                "model = \"deepseek-chat\" # codex-launcher: was unset\nmodel_provider = \"codex-launcher-ds\" # codex-launcher: was unset\n"
            ),
            "{out}"
        );
        assert!(out.contains("# Managed by codex-launcher"));
    }
}
