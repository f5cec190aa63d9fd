//! How a command fails. One variant per kind the contract names (the daemon maps each to
//! `io.github.CodexLauncher1.Error.<Kind>` one to one); the message is for the user.

use codex_launcher_engine::backup::BackupError;
use codex_launcher_engine::store::StoreError;

/// A failed command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// An argument is invalid (bad URL, empty name, unknown option, …).
    #[error("{0}")]
    InvalidArgument(String),
    /// No such endpoint or session.
    #[error("{0}")]
    NotFound(String),
    /// An endpoint with that id exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The keyring refused, is locked, or is unavailable.
    #[error("{0}")]
    Keyring(String),
    /// The provider could not be reached or answered an error.
    #[error("{0}")]
    Upstream(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// Someone else changed a file meanwhile, or what is asked conflicts with what runs.
    #[error("{0}")]
    Conflict(String),
    /// A bug, or the daemon is shutting down.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for StateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => StateError::InvalidArgument(m),
            StoreError::NotFound(_) => StateError::NotFound(e.to_string()),
            StoreError::Exists(_) => StateError::AlreadyExists(e.to_string()),
            StoreError::Conflict(_) => StateError::Conflict(e.to_string()),
            StoreError::Corrupt { .. } | StoreError::Io(_) => StateError::Io(e.to_string()),
        }
    }
}

impl From<BackupError> for StateError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Conflict(_) | BackupError::OtherConfig { .. } => {
                StateError::Conflict(e.to_string())
            }
            BackupError::Config(_) | BackupError::NotText(_) => {
                StateError::InvalidArgument(e.to_string())
            }
            _ => StateError::Io(e.to_string()),
        }
    }
}

/// What a blocking job's panic or cancellation looks like to the caller.
pub(crate) fn join_error(e: tokio::task::JoinError) -> StateError {
    StateError::Internal(format!("a background job failed: {e}"))
}
