//! codex-launcher-keyring: API keys in the Secret Service (GNOME Keyring, KWallet,
//! KeePassXC…) when one runs on the session bus, else in a 0600 file in the state
//! directory. The daemon says which at start and in every reply that stores a key.
//!
//! # Architecture invariant
//! An edge: it speaks D-Bus to the Secret Service and implements the state owner's
//! [`keystore::KeyStore`]; it decides nothing about endpoints.
//!
//! A small client over zbus speaks the Secret Service API directly (a "plain" session: the
//! secret travels over the user's own session bus, which only the user can connect to), so
//! the workspace compiles one zbus and no extra crypto stack.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use codex_launcher_engine::keys::FileKeys;
use codex_launcher_state::keystore::{self, FileKeyStore, KeyError};
use codex_launcher_types::KeyStorage;
use futures::future::BoxFuture;
use zbus::{OwnedObjectPath, OwnedVariant as OwnedValue, Variant as Value};

const SERVICE: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";
const ITEM_IFACE: &str = "org.freedesktop.Secret.Item";
const COLLECTION_IFACE: &str = "org.freedesktop.Secret.Collection";
const APP: &str = "codex-launcher";

/// `(session, parameters, value, content_type)`.
type Secret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

/// Where keys are kept.
pub enum KeyStore {
    /// The Secret Service (unlocked, or locked: see [`SecretService::state`]).
    SecretService(SecretService),
    /// The 0600 file: no Secret Service runs on this session at all.
    File(FileKeyStore),
}

/// A Secret Service session. Its keyring may be locked when the daemon starts, or locked
/// and unlocked while it runs: [`Monitor`] keeps [`SecretService::state`] current, and a
/// locked keyring is never replaced by the file (keys already in it would go invisible, and
/// new ones would land in plain text without anyone being told).
pub struct SecretService {
    conn: zbus::Connection,
    session: OwnedObjectPath,
    shared: Arc<Shared>,
    /// The 0600 file of a time there was no keyring: read when the keyring lacks a key, so
    /// those keys never go invisible, and emptied as they move into the keyring.
    file: FileKeyStore,
}

struct Shared {
    /// The default collection (`/` while there is none).
    collection: std::sync::Mutex<OwnedObjectPath>,
    /// It is locked, or there is none.
    locked: AtomicBool,
}

/// Why a Secret Service call is refused while the keyring is locked.
pub const LOCKED: &str =
    "the keyring is locked: unlock it (the launcher picks its keys up as soon as it is)";

impl KeyStore {
    /// The Secret Service if one runs on the session bus (locked or not), else the file;
    /// the second value says which, for the journal.
    pub async fn open(conn: Option<&zbus::Connection>, file: FileKeys) -> (KeyStore, String) {
        let file_store = |why: String| {
            let why = format!(
                "{why}; keys are kept in {} (mode 0600)",
                file.path().display()
            );
            (KeyStore::File(FileKeyStore(file.clone())), why)
        };
        let Some(conn) = conn else {
            return file_store("no session bus".into());
        };
        match SecretService::connect(conn, FileKeyStore(file.clone())).await {
            // No default keyring at all (a headless session, a desktop that never made one):
            // nothing can be hidden in a keyring that does not exist, and creating one needs
            // a password prompt a daemon cannot show. The file it is, said as such; once the
            // user makes a keyring, the next start moves these keys into it (`get`).
            Ok(ss) if !ss.has_collection() => file_store(
                "the Secret Service has no default keyring yet (create one, e.g. with Seahorse, \
                 and restart the daemon to move the keys into it)"
                    .into(),
            ),
            Ok(ss) => {
                let why = match ss.state() {
                    KeyStorage::Locked => {
                        format!("keys are kept in the Secret Service keyring, which is {LOCKED}")
                    }
                    _ => "keys are kept in the Secret Service keyring".into(),
                };
                (KeyStore::SecretService(ss), why)
            }
            Err(e) => file_store(format!("no Secret Service on this session ({e})")),
        }
    }

    /// What keeps the keyring's locked state current (`None` for the file).
    pub fn monitor(&self) -> Option<Monitor> {
        match self {
            KeyStore::SecretService(ss) => Some(Monitor {
                conn: ss.conn.clone(),
                shared: ss.shared.clone(),
            }),
            KeyStore::File(_) => None,
        }
    }
}

/// Watches the keyring for being locked or unlocked.
pub struct Monitor {
    conn: zbus::Connection,
    shared: Arc<Shared>,
}

/// How often the locked state is read again when no signal said it changed (not every
/// Secret Service announces it).
const RECHECK: Duration = Duration::from_secs(2);

impl Monitor {
    /// Until the bus goes: call `changed` with the new state whenever it changes.
    pub async fn run<F, Fut>(self, changed: F)
    where
        F: Fn(KeyStorage) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut signals =
            match zbus::Proxy::new(&self.conn, SERVICE, SERVICE_PATH, SERVICE_IFACE).await {
                Ok(service) => service.receive_signal("CollectionChanged").await.ok(),
                Err(_) => None,
            };
        loop {
            match signals.as_mut() {
                Some(s) => {
                    let _ = tokio::time::timeout(RECHECK, futures::StreamExt::next(s)).await;
                }
                None => tokio::time::sleep(RECHECK).await,
            }
            let was = self.shared.locked.load(Ordering::SeqCst);
            let Some(now) = read_locked(&self.conn, &self.shared).await else {
                continue;
            };
            if now != was {
                self.shared.locked.store(now, Ordering::SeqCst);
                changed(state_of(now)).await;
            }
        }
    }
}

fn state_of(locked: bool) -> KeyStorage {
    if locked {
        KeyStorage::Locked
    } else {
        KeyStorage::SecretService
    }
}

/// Whether the default collection is locked (or missing) now; `None` when the Secret
/// Service does not answer.
async fn read_locked(conn: &zbus::Connection, shared: &Shared) -> Option<bool> {
    let service = zbus::Proxy::new(conn, SERVICE, SERVICE_PATH, SERVICE_IFACE)
        .await
        .ok()?;
    let collection: OwnedObjectPath = service.call("ReadAlias", &("default",)).await.ok()?;
    *shared.collection.lock().unwrap_or_else(|p| p.into_inner()) = collection.clone();
    if collection.as_str() == "/" {
        // Creating a collection needs a password prompt, which a daemon cannot show: the
        // user creates one (Seahorse, their desktop's first login) and it is used then.
        return Some(true);
    }
    let locked: bool = zbus::Proxy::new(conn, SERVICE, collection, COLLECTION_IFACE)
        .await
        .ok()?
        .get_property("Locked")
        .await
        .ok()?;
    Some(locked)
}

fn key_error(e: zbus::Error) -> KeyError {
    KeyError(e.to_string())
}

impl keystore::KeyStore for KeyStore {
    fn storage(&self) -> KeyStorage {
        match self {
            KeyStore::SecretService(ss) => ss.state(),
            KeyStore::File(_) => KeyStorage::File,
        }
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, KeyError>> {
        match self {
            KeyStore::SecretService(ss) => Box::pin(async move {
                ss.unlocked()?;
                if let Some(key) = ss.get(id).await.map_err(key_error)? {
                    return Ok(Some(key));
                }
                ss.adopt_from_file(id).await
            }),
            KeyStore::File(f) => f.get(id),
        }
    }

    fn set<'a>(
        &'a self,
        id: &'a str,
        label: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), KeyError>> {
        match self {
            KeyStore::SecretService(ss) => Box::pin(async move {
                ss.unlocked()?;
                ss.set(id, label, key).await.map_err(key_error)
            }),
            KeyStore::File(f) => f.set(id, label, key),
        }
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), KeyError>> {
        match self {
            KeyStore::SecretService(ss) => Box::pin(async move {
                ss.unlocked()?;
                ss.delete(id).await.map_err(key_error)?;
                keystore::KeyStore::delete(&ss.file, id).await
            }),
            KeyStore::File(f) => f.delete(id),
        }
    }
}

impl SecretService {
    async fn proxy(
        &self,
        path: &OwnedObjectPath,
        iface: &'static str,
    ) -> zbus::Result<zbus::Proxy<'static>> {
        zbus::Proxy::new(&self.conn, SERVICE, path.clone(), iface).await
    }

    /// `secret-service`, or `locked`.
    pub fn state(&self) -> KeyStorage {
        state_of(self.shared.locked.load(Ordering::SeqCst))
    }

    /// Whether a default keyring exists (locked or not).
    fn has_collection(&self) -> bool {
        self.collection().as_str() != "/"
    }

    /// A key the file holds from a time there was no keyring: moved into the keyring (and
    /// out of the file) on first use. A failed move still answers with the key; the file
    /// keeps it until the next try.
    async fn adopt_from_file(&self, id: &str) -> Result<Option<String>, KeyError> {
        use keystore::KeyStore as _;
        let Some(key) = self.file.get(id).await? else {
            return Ok(None);
        };
        match self.set(id, id, &key).await {
            Ok(()) => {
                if let Err(e) = self.file.delete(id).await {
                    tracing::warn!(endpoint = id, error = %e, "a key moved into the keyring stays in the file too");
                }
            }
            Err(e) => {
                tracing::warn!(endpoint = id, error = %e, "a key in the file could not move into the keyring")
            }
        }
        Ok(Some(key))
    }

    fn unlocked(&self) -> Result<(), KeyError> {
        match self.state() {
            KeyStorage::Locked => Err(KeyError(LOCKED.into())),
            _ => Ok(()),
        }
    }

    fn collection(&self) -> OwnedObjectPath {
        self.shared
            .collection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A session with the Secret Service, if one runs (its keyring may be locked).
    async fn connect(conn: &zbus::Connection, file: FileKeyStore) -> zbus::Result<SecretService> {
        let service = zbus::Proxy::new(conn, SERVICE, SERVICE_PATH, SERVICE_IFACE).await?;
        let (_, session): (OwnedValue, OwnedObjectPath) = service
            .call("OpenSession", &("plain", Value::from("")))
            .await?;
        let shared = Arc::new(Shared {
            collection: std::sync::Mutex::new(OwnedObjectPath::try_from("/")?),
            locked: AtomicBool::new(true),
        });
        let locked = read_locked(conn, &shared).await.unwrap_or(true);
        shared.locked.store(locked, Ordering::SeqCst);
        Ok(SecretService {
            conn: conn.clone(),
            session,
            shared,
            file,
        })
    }

    fn attributes(id: &str) -> HashMap<&'static str, String> {
        HashMap::from([("application", APP.to_owned()), ("endpoint", id.to_owned())])
    }

    async fn find(&self, id: &str) -> zbus::Result<Option<OwnedObjectPath>> {
        let service = self
            .proxy(&OwnedObjectPath::try_from(SERVICE_PATH)?, SERVICE_IFACE)
            .await?;
        let (unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) = service
            .call("SearchItems", &(Self::attributes(id),))
            .await?;
        if unlocked.is_empty() && !locked.is_empty() {
            return Err(zbus::Error::Failure(
                "the key is in a locked keyring; unlock it and retry".into(),
            ));
        }
        Ok(unlocked.into_iter().next())
    }

    async fn get(&self, id: &str) -> zbus::Result<Option<String>> {
        let Some(item) = self.find(id).await? else {
            return Ok(None);
        };
        let item = self.proxy(&item, ITEM_IFACE).await?;
        let secret: Secret = item.call("GetSecret", &(&self.session,)).await?;
        Ok(Some(String::from_utf8_lossy(&secret.2).into_owned()))
    }

    async fn set(&self, id: &str, label: &str, key: &str) -> zbus::Result<()> {
        let collection = self.proxy(&self.collection(), COLLECTION_IFACE).await?;
        let mut props: HashMap<&str, Value<'_>> = HashMap::new();
        props.insert(
            "org.freedesktop.Secret.Item.Label",
            Value::from(format!("codex-launcher: {label}")),
        );
        props.insert(
            "org.freedesktop.Secret.Item.Attributes",
            Value::from(Self::attributes(id)),
        );
        let secret: Secret = (
            self.session.clone(),
            Vec::new(),
            key.as_bytes().to_vec(),
            "text/plain".into(),
        );
        let (_item, prompt): (OwnedObjectPath, OwnedObjectPath) = collection
            .call("CreateItem", &(props, secret, true))
            .await?;
        if prompt.as_str() != "/" {
            return Err(zbus::Error::Failure(
                "the keyring asked for a confirmation prompt; unlock it and retry".into(),
            ));
        }
        Ok(())
    }

    async fn delete(&self, id: &str) -> zbus::Result<()> {
        if let Some(item) = self.find(id).await? {
            let item = self.proxy(&item, ITEM_IFACE).await?;
            let _prompt: OwnedObjectPath = item.call("Delete", &()).await?;
        }
        Ok(())
    }
}
