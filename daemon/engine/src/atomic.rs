//! Atomic file writes that never clobber a concurrent edit.
//!
//! Order: create a uniquely named temp file in the same directory (`create_new`, mode 0600), write, `fsync`,
//! check the target still has the stamp we read (else [`AtomicError::Conflict`]: someone else
//! wrote it meanwhile), `rename` over the target, `fsync` the directory. Parents are created
//! with mode 0700.

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What we saw of a file when we read it: enough to notice someone else wrote it since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    mtime: Option<SystemTime>,
    len: u64,
    exists: bool,
}

impl Stamp {
    /// The stamp of `path` now (a missing file has a stamp too).
    pub fn of(path: &Path) -> std::io::Result<Stamp> {
        match fs::metadata(path) {
            Ok(m) => Ok(Stamp {
                mtime: m.modified().ok(),
                len: m.len(),
                exists: true,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stamp {
                mtime: None,
                len: 0,
                exists: false,
            }),
            Err(e) => Err(e),
        }
    }
}

/// A write failed.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// IO.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file changed since it was read; nothing was written.
    #[error("{0} was changed by someone else since it was read; nothing was written")]
    Conflict(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AtomicError + '_ {
    move |source| AtomicError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create `dir` and its missing parents with mode 0700.
pub fn ensure_dir(dir: &Path) -> Result<(), AtomicError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

/// Write `bytes` to `path` atomically with mode 0600; `expected` is the stamp read earlier
/// (`None`: overwrite whatever is there).
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    expected: Option<Stamp>,
) -> Result<Stamp, AtomicError> {
    let dir = path.parent().ok_or_else(|| AtomicError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other("no parent directory"),
    })?;
    ensure_dir(dir)?;
    // A unique temp name per write (`tempfile`: random suffix, `O_EXCL`, mode 0600), so two
    // writers in one process never share a temp file; it is removed if anything fails.
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    if let Some(expected) = expected
        && Stamp::of(path).map_err(io(path))? != expected
    {
        return Err(AtomicError::Conflict(path.to_path_buf()));
    }
    tmp.persist(path).map_err(|e| AtomicError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Stamp::of(path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_0600_and_detects_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f.json");
        let s0 = Stamp::of(&path).unwrap();
        let s1 = write_atomic(&path, b"one", Some(s0)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        // Someone else writes a different length: our stale stamp must refuse.
        fs::write(&path, b"someone else").unwrap();
        assert!(matches!(
            write_atomic(&path, b"two", Some(s1)),
            Err(AtomicError::Conflict(_))
        ));
        assert_eq!(fs::read(&path).unwrap(), b"someone else");
        assert_eq!(
            fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    /// Regression: the temp file was `.{name}.{pid}.tmp`, so two threads writing the same
    /// file at once shared it and one rename found it gone (or renamed the other's bytes).
    #[test]
    fn concurrent_writers_in_one_process_do_not_share_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..50u8 {
                        let bytes = vec![t; 1000 + usize::from(i)];
                        write_atomic(path, &bytes, None).expect("every write lands");
                    }
                });
            }
        });
        let last = fs::read(&path).unwrap();
        assert!(
            last.iter().all(|b| *b == last[0]),
            "one writer's bytes, whole"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
