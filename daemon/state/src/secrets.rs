//! Secret header values are kept like keys: in the key store under an id of their own, never
//! in endpoints.json, never in a reply (shown as `***`), in a profile only with its keys.
//! And the environment a Codex session starts with holds none of the user's provider
//! credentials (the rules are [`codex_launcher_engine::credentials`]).

use std::collections::BTreeSet;

use codex_launcher_engine::credentials::{HIDDEN, is_secret_header};
use codex_launcher_engine::model::Endpoint;
use sha2::{Digest, Sha256};

/// The key store id of an endpoint's secret header (endpoint ids hold no `:`).
pub fn header_id(endpoint: &str, name: &str) -> String {
    format!("{endpoint}:header:{}", name.to_ascii_lowercase())
}

/// The secret headers of an endpoint: `(name, key store id)`.
pub fn secret_headers(e: &Endpoint) -> Vec<(String, String)> {
    e.extra_headers
        .iter()
        .filter(|(name, _)| is_secret_header(name, &e.secret_headers))
        .map(|(name, _)| (name.clone(), header_id(&e.id, name)))
        .collect()
}

/// A secret value to put in the key store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToStore {
    /// Key store id.
    pub id: String,
    /// The header's name (for the keyring's label).
    pub name: String,
    /// The value.
    pub value: String,
}

/// Take the values of `e`'s secret headers out (the endpoint keeps their names with empty
/// values), returning the new ones to store. A value of `***` (what every view shows) or an
/// empty one means "keep what is stored". `e.id` must be set.
pub fn take_secrets(e: &mut Endpoint) -> Vec<ToStore> {
    let marked = e.secret_headers.clone();
    let mut out = Vec::new();
    for (name, value) in &mut e.extra_headers {
        if !is_secret_header(name, &marked) {
            continue;
        }
        let value = std::mem::take(value);
        if !value.is_empty() && value != HIDDEN {
            out.push(ToStore {
                id: header_id(&e.id, name),
                name: name.clone(),
                value,
            });
        }
    }
    out
}

/// `e` as clients see it: secret header values as `***` where one is stored (`stored`).
pub fn hide(e: &mut Endpoint, stored: impl Fn(&str) -> bool) {
    let marked = e.secret_headers.clone();
    let id = e.id.clone();
    for (name, value) in &mut e.extra_headers {
        if is_secret_header(name, &marked) {
            *value = if stored(&header_id(&id, name)) {
                HIDDEN.to_owned()
            } else {
                String::new()
            };
        }
    }
}

/// Whether an endpoint as loaded still holds a secret header's value in the file (saved
/// by a launcher from before secret headers): it is moved to the key store.
pub fn needs_migration(e: &Endpoint) -> bool {
    e.extra_headers
        .iter()
        .any(|(name, value)| is_secret_header(name, &e.secret_headers) && !value.is_empty())
}

/// A value's digest as the contract has callers send it (`Manager.ScrubEnvironment`):
/// hex SHA-256 of the salt, a NUL, and the value. The daemon never sees the caller's
/// values, the caller never sees the keys.
pub fn digest(salt: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The variable names endpoints' keys were read from.
pub fn key_envs<'a>(endpoints: impl IntoIterator<Item = &'a Endpoint>) -> BTreeSet<String> {
    endpoints
        .into_iter()
        .filter(|e| !e.key_env.is_empty())
        .map(|e| e.key_env.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "or".into(),
            extra_headers: vec![
                ("HTTP-Referer".into(), "https://me.example".into()),
                ("X-Api-Token".into(), "tok-123".into()),
                ("X-Team".into(), "red".into()),
            ],
            secret_headers: vec!["x-team".into()],
            ..Endpoint::default()
        }
    }

    #[test]
    fn secret_values_go_to_the_key_store_and_show_as_stars() {
        let mut e = endpoint();
        assert!(needs_migration(&e));
        let stored = take_secrets(&mut e);
        assert_eq!(
            stored
                .iter()
                .map(|s| (s.id.as_str(), s.value.as_str()))
                .collect::<Vec<_>>(),
            [
                ("or:header:x-api-token", "tok-123"),
                ("or:header:x-team", "red")
            ]
        );
        assert_eq!(e.extra_headers[0].1, "https://me.example", "not a secret");
        assert_eq!(e.extra_headers[1].1, "", "the file keeps the name only");
        assert!(!needs_migration(&e));
        let mut shown = e.clone();
        hide(&mut shown, |id| id == "or:header:x-api-token");
        assert_eq!(shown.extra_headers[1].1, HIDDEN);
        assert_eq!(shown.extra_headers[2].1, "", "nothing stored for it");
        // What a client sends back unchanged keeps the stored value.
        let mut echoed = shown;
        assert!(take_secrets(&mut echoed).is_empty());
    }

    #[test]
    fn digests_are_salted_sha256() {
        assert_eq!(digest("s", "v"), digest("s", "v"));
        assert_ne!(digest("s", "v"), digest("t", "v"));
        assert_eq!(digest("", "").len(), 64);
    }
}
