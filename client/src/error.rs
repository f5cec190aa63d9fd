//! What can go wrong, what the user should do about it, and the exit code that says which.
//!
//! Every D-Bus error name of the contract (`io.github.CodexLauncher1.Error.*`) and the bus's
//! own errors map to one [`Kind`]; the kind decides the exit code, so scripts can branch on it.
//! The table is printed by `codexctl --help` and the man page ([`EXIT_CODES_HELP`]).

use std::fmt;

use codex_launcher_dbus::ERROR_PREFIX;

/// Why a command failed; each kind has one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else, including a bug in the daemon.
    Other,
    /// Bad or missing command-line arguments.
    Usage,
    /// No such endpoint.
    NotFound,
    /// The daemon refused an argument (bad URL, empty name, malformed bundle, ...).
    InvalidArgument,
    /// An endpoint with that id exists, or the store changed meanwhile.
    Conflict,
    /// The keyring refused or is unavailable.
    Keyring,
    /// The provider could not be reached or answered an error.
    Upstream,
    /// A file could not be read or written (here or in the daemon).
    Io,
    /// No session bus, or the daemon is not running and cannot be started.
    Unreachable,
}

impl Kind {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Usage => 2,
            Kind::NotFound => 3,
            Kind::InvalidArgument => 4,
            Kind::Conflict => 5,
            Kind::Keyring => 6,
            Kind::Upstream => 7,
            Kind::Io => 8,
            Kind::Unreachable => 9,
        }
    }
}

/// The exit-code table as a literal, so `concat!` can put it into clap's help text.
#[macro_export]
macro_rules! exit_codes_help {
    () => {
        "\
Exit codes:
  0  success
  1  other failure (daemon bug, `doctor` found a problem, no journal for `logs`)
  2  usage: bad or missing arguments (in a script, pass every required flag)
  3  not found: no endpoint with that id (see `codexctl endpoint list`)
  4  invalid argument: the daemon refused a value (URL, name, bundle, model list)
  5  already exists / conflict: the id is taken, or the store changed meanwhile (retry)
  6  keyring: the Secret Service refused or is locked (unlock it, or run `codexctl doctor`)
  7  upstream: the provider could not be reached or answered an error
  8  io: a file could not be read or written
  9  daemon unreachable: no session bus, or codex-launcherd is not installed/running

Environment:
  DBUS_SESSION_BUS_ADDRESS  the session bus (else $XDG_RUNTIME_DIR/bus)
  NO_COLOR                  set to disable colours (they are only used on a terminal)
  CODEX_BIN                 the Codex CLI `doctor` checks (else `codex` on PATH)"
    };
}

/// The exit-code table, for `--help` and the man page. Keep in step with [`Kind::exit_code`]
/// (a unit test checks every code appears).
#[cfg(test)]
pub const EXIT_CODES_HELP: &str = exit_codes_help!();

/// A failed command: its kind and a message that says what to do.
#[derive(Debug)]
pub struct CliError {
    /// Decides the exit code.
    pub kind: Kind,
    /// Printed after `error: `.
    pub message: String,
}

impl CliError {
    /// A failure of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(Kind::Usage, message)
    }

    /// A local file error (exit 8), naming the file.
    pub fn io(what: &str, path: &std::path::Path, err: &std::io::Error) -> CliError {
        CliError::new(Kind::Io, format!("cannot {what} {}: {err}", path.display()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The result of a command.
pub type Result<T> = std::result::Result<T, CliError>;

const DAEMON_HINT: &str = "start it with `systemctl --user start codex-launcherd.socket` \
(install it with ./install.sh), or run `codex-launcherd` in a terminal; `codexctl doctor` \
checks the set-up";

/// Map a D-Bus error name and its message to a kind and a message saying what to do.
pub fn from_error_name(name: &str, message: &str) -> CliError {
    if let Some(variant) = name
        .strip_prefix(ERROR_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        let (kind, hint) = match variant {
            "InvalidArgument" => (Kind::InvalidArgument, "check the value and try again"),
            "NotFound" => (
                Kind::NotFound,
                "`codexctl endpoint list` shows the endpoint ids",
            ),
            "AlreadyExists" => (
                Kind::Conflict,
                "choose another name, or edit the existing endpoint",
            ),
            "Conflict" => (
                Kind::Conflict,
                "the endpoint store was changed meanwhile; nothing was written, try again",
            ),
            "Keyring" => (
                Kind::Keyring,
                "the key store failed: unlock the Secret Service keyring (or start one), or \
                 fix ~/.local/state/codex-launcher/keys.json, then retry; `codexctl doctor` \
                 shows where keys are stored",
            ),
            "Upstream" => (
                Kind::Upstream,
                "check the endpoint's URL and key, and that the provider is up",
            ),
            "Io" => (Kind::Io, "check the path and its permissions"),
            "Internal" => (
                Kind::Other,
                "this is a bug in codex-launcherd; `codexctl logs` shows its log",
            ),
            _ => (
                Kind::Other,
                "codexctl and codex-launcherd may be different versions",
            ),
        };
        return CliError::new(kind, format!("{message} ({hint})"));
    }
    match name {
        // No daemon owns the name and the bus cannot start one (or it failed to start).
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner"
        | "org.freedesktop.DBus.Error.NoReply"
        | "org.freedesktop.DBus.Error.Timeout"
        | "org.freedesktop.DBus.Error.TimedOut"
        | "org.freedesktop.DBus.Error.Disconnected" => CliError::new(
            Kind::Unreachable,
            format!(
                "codex-launcherd is not reachable on the session bus: {message}; {DAEMON_HINT}"
            ),
        ),
        _ if name.starts_with("org.freedesktop.DBus.Error.Spawn") => CliError::new(
            Kind::Unreachable,
            format!(
                "the bus could not start codex-launcherd: {message}; `codexctl logs` or \
                 `journalctl --user -u codex-launcherd` says why"
            ),
        ),
        "org.freedesktop.DBus.Error.UnknownMethod"
        | "org.freedesktop.DBus.Error.UnknownInterface"
        | "org.freedesktop.DBus.Error.UnknownObject"
        | "org.freedesktop.DBus.Error.UnknownProperty" => CliError::new(
            Kind::Other,
            format!(
                "{message} (codexctl and codex-launcherd are different versions: restart the \
                 daemon with `systemctl --user restart codex-launcherd` after an upgrade)"
            ),
        ),
        _ => CliError::new(Kind::Other, format!("{name}: {message}")),
    }
}

impl From<zbus::Error> for CliError {
    fn from(err: zbus::Error) -> CliError {
        match err {
            zbus::Error::MethodError(name, message, _) => {
                from_error_name(name.as_str(), message.as_deref().unwrap_or(""))
            }
            zbus::Error::FDO(fdo) => {
                // The bus itself answered (`org.freedesktop.DBus.Error.*`).
                use zbus::DBusError;
                from_error_name(fdo.name().as_str(), fdo.description().unwrap_or(""))
            }
            zbus::Error::InputOutput(e) | zbus::Error::Connection(e, _) => CliError::new(
                Kind::Unreachable,
                format!("the session bus connection failed: {e}; {DAEMON_HINT}"),
            ),
            zbus::Error::Handshake(e) => CliError::new(
                Kind::Unreachable,
                format!("the session bus refused the connection: {e}"),
            ),
            other => CliError::new(Kind::Other, format!("D-Bus: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_error_has_its_exit_code() {
        let cases = [
            ("InvalidArgument", 4),
            ("NotFound", 3),
            ("AlreadyExists", 5),
            ("Conflict", 5),
            ("Keyring", 6),
            ("Upstream", 7),
            ("Io", 8),
            ("Internal", 1),
            ("SomethingNew", 1),
        ];
        for (variant, code) in cases {
            let err = from_error_name(&format!("{ERROR_PREFIX}.{variant}"), "boom");
            assert_eq!(err.kind.exit_code(), code, "{variant}");
            assert!(
                err.message.starts_with("boom ("),
                "{variant}: {}",
                err.message
            );
        }
        let err = from_error_name("org.freedesktop.DBus.Error.ServiceUnknown", "x");
        assert_eq!(err.kind.exit_code(), 9);
        let err = from_error_name("org.freedesktop.DBus.Error.Spawn.ChildExited", "x");
        assert_eq!(err.kind.exit_code(), 9);
        let err = from_error_name("org.freedesktop.DBus.Error.UnknownMethod", "x");
        assert_eq!(err.kind.exit_code(), 1);
    }

    #[test]
    fn the_help_lists_every_exit_code() {
        let kinds = [
            Kind::Other,
            Kind::Usage,
            Kind::NotFound,
            Kind::InvalidArgument,
            Kind::Conflict,
            Kind::Keyring,
            Kind::Upstream,
            Kind::Io,
            Kind::Unreachable,
        ];
        for kind in kinds {
            let line = format!("\n  {}  ", kind.exit_code());
            assert!(EXIT_CODES_HELP.contains(&line), "{kind:?} missing");
        }
    }
}
