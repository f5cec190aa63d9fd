//! Where API keys are kept, behind one trait: the daemon's edge implements it over the
//! Secret Service (D-Bus), and [`FileKeyStore`] over the 0600 file. The owner awaits these
//! calls; file IO runs on the blocking pool.

use codex_launcher_engine::keys::FileKeys;
use codex_launcher_types::KeyStorage;
use futures::future::BoxFuture;

/// A key store refused or failed; the message is for the user (it never holds a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// A place for keys, by endpoint id.
pub trait KeyStore: Send + Sync + 'static {
    /// What it is now (a Secret Service can be locked and unlocked while we run).
    fn storage(&self) -> KeyStorage;
    /// One key (`None`: none stored).
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, KeyError>>;
    /// Store a key under a label people see in their keyring manager.
    fn set<'a>(
        &'a self,
        id: &'a str,
        label: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), KeyError>>;
    /// Delete a key (none stored is fine).
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), KeyError>>;
}

/// The 0600 file (no Secret Service on this session).
#[derive(Debug, Clone)]
pub struct FileKeyStore(pub FileKeys);

impl FileKeyStore {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&FileKeys) -> Result<T, codex_launcher_engine::keys::KeyFileError>
        + Send
        + 'static,
    ) -> Result<T, KeyError> {
        let keys = self.0.clone();
        tokio::task::spawn_blocking(move || f(&keys))
            .await
            .map_err(|e| KeyError(format!("the key file job failed: {e}")))?
            .map_err(|e| KeyError(e.to_string()))
    }
}

impl KeyStore for FileKeyStore {
    fn storage(&self) -> KeyStorage {
        KeyStorage::File
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, KeyError>> {
        let id = id.to_owned();
        Box::pin(self.blocking(move |k| k.get(&id)))
    }

    fn set<'a>(
        &'a self,
        id: &'a str,
        _label: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), KeyError>> {
        let (id, key) = (id.to_owned(), key.to_owned());
        Box::pin(self.blocking(move |k| k.set(&id, &key)))
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), KeyError>> {
        let id = id.to_owned();
        Box::pin(self.blocking(move |k| k.delete(&id)))
    }
}
