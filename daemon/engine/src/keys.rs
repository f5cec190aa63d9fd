//! The fallback key store: a 0600 JSON file in the state directory, used when no Secret
//! Service runs. Written atomically; never logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::atomic::{AtomicError, write_atomic};

/// The key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// It is there but not ours to read.
    #[error("{path} is not valid: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// It cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It cannot be written.
    #[error(transparent)]
    Write(#[from] AtomicError),
}

/// Keys by endpoint id, in a file.
#[derive(Debug, Clone)]
pub struct FileKeys {
    path: PathBuf,
}

impl FileKeys {
    /// Keys in `path`.
    pub fn new(path: &Path) -> FileKeys {
        FileKeys {
            path: path.to_path_buf(),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<BTreeMap<String, String>, KeyFileError> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| KeyFileError::Invalid {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(KeyFileError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn write(&self, keys: &BTreeMap<String, String>) -> Result<(), KeyFileError> {
        // A map of strings always serializes.
        let bytes = serde_json::to_vec_pretty(keys).unwrap_or_default();
        write_atomic(&self.path, &bytes, None)?;
        Ok(())
    }

    /// Every key, by endpoint id.
    pub fn all(&self) -> Result<BTreeMap<String, String>, KeyFileError> {
        self.read()
    }

    /// A key.
    pub fn get(&self, id: &str) -> Result<Option<String>, KeyFileError> {
        Ok(self.read()?.get(id).cloned())
    }

    /// Store a key.
    pub fn set(&self, id: &str, key: &str) -> Result<(), KeyFileError> {
        let mut keys = self.read()?;
        keys.insert(id.to_owned(), key.to_owned());
        self.write(&keys)
    }

    /// Delete a key.
    pub fn delete(&self, id: &str) -> Result<(), KeyFileError> {
        let mut keys = self.read()?;
        if keys.remove(id).is_some() {
            self.write(&keys)?;
        }
        Ok(())
    }
}
