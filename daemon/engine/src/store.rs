//! The endpoint store: `$XDG_CONFIG_HOME/codex-launcher/endpoints.json`.
//!
//! Every change is validated first and written atomically (see [`crate::atomic`]); if the
//! file changed on disk since we read it, the write is refused ([`StoreError::Conflict`]) and
//! the in-memory copy is left as it was, so nothing is half-written and nobody's edit is lost.
//! Keys are never stored here.

use std::path::{Path, PathBuf};

use codex_launcher_translate::base_url::normalize_base_url;
use serde::{Deserialize, Serialize};

use crate::atomic::{AtomicError, Stamp, write_atomic};
use crate::model::{Endpoint, Group, GroupMember, Model};

const MAX_NAME: usize = 100;
const MAX_MODEL_ID: usize = 200;
const MAX_MODELS: usize = 2_000;
const MAX_HEADERS: usize = 32;
/// Members a group may have (failover walks them in order; more would only add latency).
pub const MAX_MEMBERS: usize = 16;

/// The file's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreFile {
    /// Format version.
    #[serde(default = "one")]
    pub version: u32,
    /// Default endpoint id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Endpoints in display order.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Fallback groups (ids shared with endpoints').
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
}

fn one() -> u32 {
    1
}

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Bad input; nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// No such endpoint.
    #[error("no endpoint `{0}`")]
    NotFound(String),
    /// Duplicate id.
    #[error("an endpoint `{0}` exists already")]
    Exists(String),
    /// The file is not valid JSON for us; we do not overwrite it.
    #[error(
        "{path} cannot be read as an endpoint store ({reason}); fix or move it, it was not changed"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// Someone else changed the file.
    #[error(
        "{0} was changed by another program since it was read; reload and try again (nothing was written)"
    )]
    Conflict(PathBuf),
    /// IO.
    #[error("{0}")]
    Io(String),
}

impl From<AtomicError> for StoreError {
    fn from(e: AtomicError) -> Self {
        match e {
            AtomicError::Conflict(p) => StoreError::Conflict(p),
            other => StoreError::Io(other.to_string()),
        }
    }
}

/// The store. Cloning copies the in-memory state (the owner changes a copy and keeps it
/// only once the file is written).
#[derive(Debug, Clone)]
pub struct EndpointStore {
    path: PathBuf,
    file: StoreFile,
    stamp: Stamp,
}

impl EndpointStore {
    /// Load `path` (a missing file is an empty store).
    pub fn load(path: &Path) -> Result<EndpointStore, StoreError> {
        let stamp = Stamp::of(path)
            .map_err(|e| StoreError::Io(format!("cannot read {}: {e}", path.display())))?;
        let file = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoreFile {
                version: 1,
                ..StoreFile::default()
            },
            Err(e) => {
                return Err(StoreError::Io(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(EndpointStore {
            path: path.to_path_buf(),
            file,
            stamp,
        })
    }

    /// Endpoints in order.
    pub fn list(&self) -> &[Endpoint] {
        &self.file.endpoints
    }

    /// One endpoint.
    pub fn get(&self, id: &str) -> Result<&Endpoint, StoreError> {
        self.file
            .endpoints
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))
    }

    /// The default endpoint id, if any.
    pub fn default_id(&self) -> Option<&str> {
        self.file.default.as_deref()
    }

    /// Apply `change` to a copy, validate, write; only then keep it.
    fn commit(
        &mut self,
        change: impl FnOnce(&mut StoreFile) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut next = self.file.clone();
        change(&mut next)?;
        if next
            .default
            .as_ref()
            .is_some_and(|d| !next.endpoints.iter().any(|e| &e.id == d))
        {
            next.default = None;
        }
        if next.default.is_none() {
            next.default = next.endpoints.first().map(|e| e.id.clone());
        }
        let bytes = serde_json::to_vec_pretty(&next).map_err(|e| StoreError::Io(e.to_string()))?;
        self.stamp = write_atomic(&self.path, &bytes, Some(self.stamp))?;
        self.file = next;
        Ok(())
    }

    /// Add an endpoint; its id is derived from the name when empty. Returns the id.
    pub fn add(&mut self, mut endpoint: Endpoint) -> Result<String, StoreError> {
        validate(&mut endpoint)?;
        if endpoint.id.is_empty() {
            endpoint.id = unique_id(&slug(&endpoint.name), &self.file);
        } else if self.taken(&endpoint.id) {
            return Err(StoreError::Exists(endpoint.id));
        }
        let id = endpoint.id.clone();
        self.commit(|f| {
            f.endpoints.push(endpoint);
            Ok(())
        })?;
        Ok(id)
    }

    /// Replace an endpoint's settings, keeping its id.
    pub fn update(&mut self, id: &str, mut endpoint: Endpoint) -> Result<(), StoreError> {
        endpoint.id = id.to_owned();
        validate(&mut endpoint)?;
        self.commit(|f| {
            let slot = f
                .endpoints
                .iter_mut()
                .find(|e| e.id == id)
                .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
            *slot = endpoint;
            Ok(())
        })
    }

    /// Change one endpoint in place (e.g. merge fetched models).
    pub fn modify(&mut self, id: &str, f: impl FnOnce(&mut Endpoint)) -> Result<(), StoreError> {
        let mut endpoint = self.get(id)?.clone();
        f(&mut endpoint);
        self.update(id, endpoint)
    }

    /// Delete an endpoint (not one a group still uses).
    pub fn remove(&mut self, id: &str) -> Result<(), StoreError> {
        self.get(id)?;
        if let Some(g) = self
            .file
            .groups
            .iter()
            .find(|g| g.members.iter().any(|m| m.endpoint == id))
        {
            return Err(StoreError::Invalid(format!(
                "endpoint `{id}` is a member of group `{}`: remove it there first",
                g.id
            )));
        }
        self.commit(|f| {
            f.endpoints.retain(|e| e.id != id);
            Ok(())
        })
    }

    /// Make an endpoint the default.
    pub fn set_default(&mut self, id: &str) -> Result<(), StoreError> {
        self.get(id)?;
        self.commit(|f| {
            f.default = Some(id.to_owned());
            Ok(())
        })
    }
}

impl EndpointStore {
    /// Whether `id` names an endpoint or a group.
    fn taken(&self, id: &str) -> bool {
        self.file.endpoints.iter().any(|e| e.id == id)
            || self.file.groups.iter().any(|g| g.id == id)
    }

    /// Groups in order.
    pub fn groups(&self) -> &[Group] {
        &self.file.groups
    }

    /// One group.
    pub fn group(&self, id: &str) -> Result<&Group, StoreError> {
        self.file
            .groups
            .iter()
            .find(|g| g.id == id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))
    }

    /// Add a group; its id is its name, under the endpoint id rules. Returns the id.
    pub fn add_group(&mut self, mut group: Group) -> Result<String, StoreError> {
        self.check_group(&mut group)?;
        if self.taken(&group.id) {
            return Err(StoreError::Exists(group.id));
        }
        let id = group.id.clone();
        self.commit(|f| {
            f.groups.push(group);
            Ok(())
        })?;
        Ok(id)
    }

    /// Replace a group's name and members.
    pub fn update_group(&mut self, id: &str, mut group: Group) -> Result<(), StoreError> {
        self.group(id)?;
        group.id = id.to_owned();
        self.check_group(&mut group)?;
        self.commit(|f| {
            if let Some(slot) = f.groups.iter_mut().find(|g| g.id == id) {
                *slot = group;
            }
            Ok(())
        })
    }

    /// Delete a group.
    pub fn remove_group(&mut self, id: &str) -> Result<(), StoreError> {
        self.group(id)?;
        self.commit(|f| {
            f.groups.retain(|g| g.id != id);
            Ok(())
        })
    }

    fn check_group(&self, g: &mut Group) -> Result<(), StoreError> {
        let invalid = |m: String| Err(StoreError::Invalid(m));
        g.id = g.id.trim().to_owned();
        if !valid_id(&g.id) {
            return invalid(format!(
                "the group name `{}` may hold only letters, digits, - and _ (at most 64)",
                g.id
            ));
        }
        g.name = g.name.trim().to_owned();
        if g.name.is_empty() {
            g.name = g.id.clone();
        }
        if g.name.chars().count() > MAX_NAME || g.name.chars().any(char::is_control) {
            return invalid(format!(
                "the group's name must be at most {MAX_NAME} printable characters"
            ));
        }
        if g.members.is_empty() || g.members.len() > MAX_MEMBERS {
            return invalid(format!("a group has 1 to {MAX_MEMBERS} members"));
        }
        let mut seen: Vec<&GroupMember> = Vec::new();
        for m in &mut g.members {
            m.endpoint = m.endpoint.trim().to_owned();
            m.model = m.model.trim().to_owned();
            if self.file.groups.iter().any(|other| other.id == m.endpoint) {
                return invalid(format!(
                    "`{}` is a group: a group's members are endpoints",
                    m.endpoint
                ));
            }
            if !self.file.endpoints.iter().any(|e| e.id == m.endpoint) {
                return Err(StoreError::NotFound(m.endpoint.clone()));
            }
            if m.model.len() > MAX_MODEL_ID || m.model.chars().any(|c| c.is_whitespace()) {
                return invalid(format!("invalid model id `{}`", m.model));
            }
        }
        for m in &g.members {
            if seen.contains(&m) {
                return invalid(format!("member `{}` is listed twice", m.label()));
            }
            seen.push(m);
        }
        Ok(())
    }
}

/// An id as endpoints and groups have them.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Check and normalise an endpoint.
pub fn validate(e: &mut Endpoint) -> Result<(), StoreError> {
    let invalid = |m: String| Err(StoreError::Invalid(m));
    e.name = e.name.trim().to_owned();
    if e.name.is_empty() {
        return invalid("the endpoint name must not be empty".into());
    }
    if e.name.chars().count() > MAX_NAME || e.name.chars().any(char::is_control) {
        return invalid(format!(
            "the endpoint name must be at most {MAX_NAME} printable characters"
        ));
    }
    if !e.id.is_empty()
        && (e.id.len() > 64
            || !e
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return invalid(format!(
            "the endpoint id `{}` may hold only letters, digits, - and _ (at most 64)",
            e.id
        ));
    }
    e.base_url =
        normalize_base_url(&e.base_url).map_err(|err| StoreError::Invalid(err.to_string()))?;
    if e.base_url.contains(char::is_whitespace) {
        return invalid(format!("the URL `{}` contains spaces", e.base_url));
    }
    if e.models.len() > MAX_MODELS {
        return invalid(format!("at most {MAX_MODELS} models per endpoint"));
    }
    let mut seen = std::collections::HashSet::new();
    e.models.retain(|m| seen.insert(m.id.clone()));
    for m in &mut e.models {
        m.id = m.id.trim().to_owned();
        if m.id.is_empty()
            || m.id.len() > MAX_MODEL_ID
            || m.id.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid(format!("invalid model id `{}`", m.id));
        }
    }
    e.default_model = e.default_model.trim().to_owned();
    if e.default_model.is_empty() {
        e.default_model = e.models.first().map(|m| m.id.clone()).unwrap_or_default();
    } else if !e.models.iter().any(|m| m.id == e.default_model) {
        e.models.insert(0, Model::bare(&e.default_model));
    }
    if e.extra_headers.len() > MAX_HEADERS {
        return invalid(format!("at most {MAX_HEADERS} extra headers"));
    }
    for (name, value) in &e.extra_headers {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
        if !token {
            return invalid(format!("invalid header name `{name}`"));
        }
        if value.chars().any(|c| c == '\r' || c == '\n') {
            return invalid(format!(
                "the value of header `{name}` contains a line break"
            ));
        }
    }
    if !e.provider.is_empty()
        && codex_launcher_translate::provider::ChatProvider::from_name(&e.provider).is_none()
    {
        return invalid(format!("unknown provider quirks row `{}`", e.provider));
    }
    Ok(())
}

/// `My DeepSeek!` → `my-deepseek`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(48).collect();
    if out.is_empty() {
        "endpoint".to_owned()
    } else {
        out
    }
}

fn unique_id(base: &str, file: &StoreFile) -> String {
    let taken = |id: &str| {
        file.endpoints.iter().any(|e| e.id == id) || file.groups.iter().any(|g| g.id == id)
    };
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or_else(|| base.to_owned())
}

/// Parse pasted model ids (commas, newlines, spaces, tabs, semicolons).
pub fn parse_model_list(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|s| !s.is_empty())
        .filter(|s| seen.insert(s.to_string()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_launcher_types::Backend;

    fn ep(name: &str) -> Endpoint {
        Endpoint {
            name: name.into(),
            backend: Backend::OpenaiCompat,
            base_url: "https://api.deepseek.com/v1/chat/completions/".into(),
            models: vec![Model::bare("deepseek-chat")],
            ..Endpoint::default()
        }
    }

    #[test]
    fn add_update_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        let mut s = EndpointStore::load(&path).unwrap();
        let id = s.add(ep("My DeepSeek")).unwrap();
        assert_eq!(id, "my-deepseek");
        assert_eq!(s.add(ep("My DeepSeek")).unwrap(), "my-deepseek-2");
        assert_eq!(s.get(&id).unwrap().base_url, "https://api.deepseek.com/v1");
        assert_eq!(s.default_id(), Some("my-deepseek"));
        let again = EndpointStore::load(&path).unwrap();
        assert_eq!(again.list().len(), 2);
        s.remove(&id).unwrap();
        assert_eq!(s.default_id(), Some("my-deepseek-2"));
    }

    #[test]
    fn bad_input_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        let mut s = EndpointStore::load(&path).unwrap();
        let mut bad = ep("x");
        bad.base_url = "ftp://nope".into();
        assert!(matches!(s.add(bad), Err(StoreError::Invalid(_))));
        let bad = ep("");
        assert!(matches!(s.add(bad), Err(StoreError::Invalid(_))));
        assert!(!path.exists(), "nothing written");
    }

    #[test]
    fn concurrent_edit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        let mut s = EndpointStore::load(&path).unwrap();
        s.add(ep("a")).unwrap();
        std::fs::write(&path, br#"{"version":1,"endpoints":[]}   "#).unwrap();
        assert!(matches!(s.add(ep("b")), Err(StoreError::Conflict(_))));
        assert_eq!(s.list().len(), 1, "in-memory copy unchanged");
    }

    #[test]
    fn corrupt_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            EndpointStore::load(&path),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn model_lists() {
        assert_eq!(parse_model_list("a, b\nc;a  'd'"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn groups_share_the_id_space_and_name_real_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        let mut s = EndpointStore::load(&path).unwrap();
        let a = s.add(ep("Plan")).unwrap();
        let b = s.add(ep("Paygo")).unwrap();
        let member = |e: &str, m: &str| GroupMember {
            endpoint: e.into(),
            model: m.into(),
        };
        let group = Group {
            id: "coding".into(),
            members: vec![member(&a, ""), member(&b, "m2")],
            ..Group::default()
        };
        assert_eq!(s.add_group(group.clone()).unwrap(), "coding");
        assert_eq!(
            s.group("coding").unwrap().name,
            "coding",
            "named after its id"
        );
        assert!(matches!(
            s.add_group(group.clone()),
            Err(StoreError::Exists(_))
        ));
        let mut clash = group.clone();
        clash.id = a.clone();
        assert!(matches!(s.add_group(clash), Err(StoreError::Exists(_))));
        let mut named_like_group = ep("Coding");
        named_like_group.id.clear();
        assert_ne!(
            s.add(named_like_group).unwrap(),
            "coding",
            "a new endpoint's id avoids it"
        );
        let mut bad = group.clone();
        bad.id = "other".into();
        bad.members.push(member("nope", ""));
        assert!(matches!(s.add_group(bad), Err(StoreError::NotFound(_))));
        let mut twice = group.clone();
        twice.id = "twice".into();
        twice.members.push(member(&a, ""));
        assert!(matches!(s.add_group(twice), Err(StoreError::Invalid(_))));
        let mut spaced = group;
        spaced.id = "has space".into();
        assert!(matches!(s.add_group(spaced), Err(StoreError::Invalid(_))));
        assert!(
            matches!(s.remove(&a), Err(StoreError::Invalid(m)) if m.contains("member of group `coding`")),
            "a member cannot go while its group uses it"
        );
        let again = EndpointStore::load(&path).unwrap();
        assert_eq!(again.groups().len(), 1, "written to the file");
        s.remove_group("coding").unwrap();
        s.remove(&a).unwrap();
    }
}
