//! The fallback key store: a 0600 JSON file in the state directory, used when no Secret
//! Service runs. Written atomically; never logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;

/// Keys by endpoint id, in a file.
#[derive(Debug)]
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

    fn read(&self) -> Result<BTreeMap<String, String>, String> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| format!("{} is not valid: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    fn write(&self, keys: &BTreeMap<String, String>) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(keys).map_err(|e| e.to_string())?;
        write_atomic(&self.path, &bytes, None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// A key.
    pub fn get(&self, id: &str) -> Result<Option<String>, String> {
        Ok(self.read()?.get(id).cloned())
    }

    /// Store a key.
    pub fn set(&self, id: &str, key: &str) -> Result<(), String> {
        let mut keys = self.read()?;
        keys.insert(id.to_owned(), key.to_owned());
        self.write(&keys)
    }

    /// Delete a key.
    pub fn delete(&self, id: &str) -> Result<(), String> {
        let mut keys = self.read()?;
        if keys.remove(id).is_some() {
            self.write(&keys)?;
        }
        Ok(())
    }
}
