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
    /// The Secret Service.
    SecretService(SecretService),
    /// The fallback file.
    File(FileKeyStore),
}

/// A connected Secret Service session.
pub struct SecretService {
    conn: zbus::Connection,
    session: OwnedObjectPath,
    collection: OwnedObjectPath,
}

impl KeyStore {
    /// Use the Secret Service if it answers, else the file; the second value says why.
    pub async fn open(conn: Option<&zbus::Connection>, file: FileKeys) -> (KeyStore, String) {
        let Some(conn) = conn else {
            let why = format!(
                "no session bus; keys are kept in {} (mode 0600)",
                file.path().display()
            );
            return (KeyStore::File(FileKeyStore(file)), why);
        };
        match SecretService::connect(conn).await {
            Ok(ss) => (
                KeyStore::SecretService(ss),
                "keys are kept in the Secret Service keyring".into(),
            ),
            Err(e) => {
                let why = format!(
                    "no usable Secret Service ({e}); keys are kept in {} (mode 0600)",
                    file.path().display()
                );
                (KeyStore::File(FileKeyStore(file)), why)
            }
        }
    }
}

fn key_error(e: zbus::Error) -> KeyError {
    KeyError(e.to_string())
}

impl keystore::KeyStore for KeyStore {
    fn storage(&self) -> KeyStorage {
        match self {
            KeyStore::SecretService(_) => KeyStorage::SecretService,
            KeyStore::File(_) => KeyStorage::File,
        }
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, KeyError>> {
        match self {
            KeyStore::SecretService(ss) => {
                Box::pin(async move { ss.get(id).await.map_err(key_error) })
            }
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
            KeyStore::SecretService(ss) => {
                Box::pin(async move { ss.set(id, label, key).await.map_err(key_error) })
            }
            KeyStore::File(f) => f.set(id, label, key),
        }
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), KeyError>> {
        match self {
            KeyStore::SecretService(ss) => {
                Box::pin(async move { ss.delete(id).await.map_err(key_error) })
            }
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

    async fn connect(conn: &zbus::Connection) -> Result<SecretService, String> {
        let service = zbus::Proxy::new(conn, SERVICE, SERVICE_PATH, SERVICE_IFACE)
            .await
            .map_err(|e| e.to_string())?;
        let (_, session): (OwnedValue, OwnedObjectPath) = service
            .call("OpenSession", &("plain", Value::from("")))
            .await
            .map_err(|e| e.to_string())?;
        let collection: OwnedObjectPath = service
            .call("ReadAlias", &("default",))
            .await
            .map_err(|e| e.to_string())?;
        if collection.as_str() == "/" {
            // Creating a collection needs a password prompt; we cannot show one from a daemon.
            return Err("the keyring has no default collection".into());
        }
        let locked: bool = zbus::Proxy::new(conn, SERVICE, collection.clone(), COLLECTION_IFACE)
            .await
            .map_err(|e| e.to_string())?
            .get_property("Locked")
            .await
            .map_err(|e| e.to_string())?;
        if locked {
            return Err("the default keyring is locked".into());
        }
        Ok(SecretService {
            conn: conn.clone(),
            session,
            collection,
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
        let collection = self.proxy(&self.collection, COLLECTION_IFACE).await?;
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
