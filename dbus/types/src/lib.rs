//! codex-launcher-types: the product's closed vocabularies, one list each.
//!
//! Backends, launch modes, session states, cleanup kinds and actions, probe verdicts, cache
//! settings, Codex version verdicts: every one is an `enum` here, used by the endpoint store
//! (`engine`), the translation core, the proxy, the daemon's state owner and, through the
//! D-Bus contract (`codex-launcher-dbus` re-exports them), by `codexctl` and the panel.
//! Before, each was a string matched in three places.
//!
//! # Architecture invariant
//! Depends on serde only (and, with the `dbus` feature the contract crate turns on, on
//! zbus for the wire signature), so the pure translation core and the proxy can use these
//! types without knowing D-Bus.
//!
//! # Wire form
//! Every enum travels as the same string it always did (D-Bus signature `s`, JSON string):
//! the introspection XML and older clients see no change. Parsing is strict ([`UnknownName`]
//! lists what is accepted), because a typo must not pass as a default.

#![deny(missing_docs)]

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A name that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}` (known: {})", known.join(", "))]
pub struct UnknownName {
    /// What was being named (`backend`, `mode`, …).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The accepted names.
    pub known: Vec<&'static str>,
}

/// A string-valued enum: `as_str`, `ALL`, strict `FromStr`, `Display`, serde as the string,
/// comparison with `&str` (so `state == "running"` reads as before), and with the `dbus`
/// feature the D-Bus signature `s`.
macro_rules! names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "dbus", derive(zbus::Type), zbus(signature = "s"))]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire and in files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        name: s.to_owned(),
                        known: $name::ALL.iter().map(|v| v.as_str()).collect(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

names! {
    /// An upstream's wire protocol: what the proxy translates Responses into.
    pub enum Backend ("backend") {
        /// OpenAI-compatible Chat Completions (`POST {base}/chat/completions`).
        OpenaiCompat = "openai-compat",
        /// Anthropic Messages (`POST {base}/v1/messages`, `x-api-key`).
        Anthropic = "anthropic",
        /// Command Code's CLI route (`POST {base}/alpha/generate`, NDJSON).
        CommandCode = "command-code",
        /// Providers that already speak the Responses API: passed through.
        OpenaiResponses = "openai-responses",
    }
}

impl Backend {
    /// The name (as [`Backend::as_str`]; the proxy's historical spelling).
    pub fn name(self) -> &'static str {
        self.as_str()
    }

    /// Parse a name or one of the aliases the standalone proxy has always taken on its
    /// command line (`openai`, `chat`, `messages`, `responses`, …).
    pub fn from_name(name: &str) -> Option<Backend> {
        match name {
            "openai-compat" | "openai" | "chat" | "chat-completions" => Some(Backend::OpenaiCompat),
            "anthropic" | "anthropic-messages" | "messages" => Some(Backend::Anthropic),
            "command-code" | "commandcode" => Some(Backend::CommandCode),
            "openai-responses" | "responses" => Some(Backend::OpenaiResponses),
            _ => None,
        }
    }

    /// Whether the proxy translates for it (every backend but the Responses pass-through).
    pub fn translates(self) -> bool {
        self != Backend::OpenaiResponses
    }
}

impl Default for Backend {
    /// Chat Completions: what nearly every provider speaks.
    fn default() -> Self {
        Backend::OpenaiCompat
    }
}

names! {
    /// How a session runs Codex.
    pub enum Mode ("mode") {
        /// Interactive `codex` in a terminal emulator.
        Cli = "cli",
        /// Headless `codex exec` on one prompt.
        Exec = "exec",
        /// Codex Desktop (it reads config.toml, which the daemon edits for the session).
        Desktop = "desktop",
        /// "Codex Default": Codex in a terminal on its own OpenAI login.
        DefaultCli = "default-cli",
        /// "Codex Default" for Codex Desktop.
        DefaultDesktop = "default-desktop",
        /// `codexctl run`: Codex the caller starts in its own terminal and hands over. Not
        /// a `Launch` mode.
        Run = "run",
    }
}

impl Mode {
    /// The modes `Manager.Launch` takes.
    pub const LAUNCH: [Mode; 5] = [
        Mode::Cli,
        Mode::Exec,
        Mode::Desktop,
        Mode::DefaultCli,
        Mode::DefaultDesktop,
    ];

    /// "Codex Default": no endpoint, no proxy, Codex's own login.
    pub fn is_default(self) -> bool {
        matches!(self, Mode::DefaultCli | Mode::DefaultDesktop)
    }

    /// Codex Desktop (reads config.toml only).
    pub fn is_desktop(self) -> bool {
        matches!(self, Mode::Desktop | Mode::DefaultDesktop)
    }
}

names! {
    /// Where a session is in its life.
    pub enum SessionState ("session state") {
        /// Registered (`codexctl run`) and waiting for its process, or launched and not yet
        /// settled; never cleaned up.
        Starting = "starting",
        /// Running.
        Running = "running",
        /// Running, but neither traffic nor CPU for the stall time. Reported only.
        Stalled = "stalled",
        /// SIGTERM sent; SIGKILL follows after the grace period.
        Stopping = "stopping",
        /// Exited and reaped.
        Exited = "exited",
    }
}

impl SessionState {
    /// Alive: not yet stopping or exited.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SessionState::Starting | SessionState::Running | SessionState::Stalled
        )
    }
}

names! {
    /// What Kill & Cleanup found.
    pub enum CleanupKind ("cleanup kind") {
        /// A process (or a process group an earlier daemon run left).
        Process = "process",
        /// A pid file, or an Electron singleton lock or cookie.
        PidFile = "pid-file",
        /// An Electron singleton socket.
        Socket = "socket",
        /// A config.toml backup no session holds.
        Backup = "backup",
        /// A live session of this daemon (only when asked to stop sessions too).
        Session = "session",
    }
}

names! {
    /// A probe check's outcome.
    pub enum ProbeVerdict ("probe verdict") {
        /// Worked as asked.
        Ok = "ok",
        /// Worked once adapted; the quirk was recorded into the endpoint.
        Quirk = "quirk",
        /// Did not work.
        Failed = "failed",
    }
}

names! {
    /// Where the daemon keeps API keys (and secret header values).
    pub enum KeyStorage ("key storage") {
        /// The Secret Service (GNOME Keyring, KWallet, KeePassXC…), unlocked.
        SecretService = "secret-service",
        /// A Secret Service runs but its keyring is locked: nothing can be read or stored
        /// until the user unlocks it.
        Locked = "locked",
        /// No Secret Service on this session: a 0600 file in the state directory.
        File = "file",
    }
}

names! {
    /// A group member's circuit breaker.
    pub enum BreakerState ("breaker state") {
        /// Healthy: requests go to it.
        Closed = "closed",
        /// Failed several times in a row: skipped until its time is up.
        Open = "open",
        /// Its time is up: the next request is a probe (success closes it, failure reopens).
        HalfOpen = "half-open",
    }
}

names! {
    /// An endpoint's prompt-cache setting: how long the cache entries its breakpoints write
    /// live, or no breakpoints at all. Written `cache = "5m" | "1h" | "off"` in files and on
    /// the command line.
    pub enum CacheTtl ("cache setting") {
        /// Five minutes, refreshed by every hit (Anthropic's `ephemeral` default); writes cost
        /// 1.25 × the input price.
        FiveMinutes = "5m",
        /// One hour; writes cost 2 × the input price, reads the same as for five minutes.
        OneHour = "1h",
        /// No breakpoints (a host's automatic prefix caching still happens).
        Off = "off",
    }
}

impl CacheTtl {
    /// The name (as [`CacheTtl::as_str`]).
    pub fn name(self) -> &'static str {
        self.as_str()
    }

    /// Parse a name or one of the spellings config files and the standalone proxy's command
    /// line have taken (`5min`, `1hour`, `60m`, `none`, `false`, …), any case.
    pub fn from_name(name: &str) -> Option<CacheTtl> {
        match name.trim().to_ascii_lowercase().as_str() {
            "5m" | "5min" | "5 min" | "default" | "on" | "true" => Some(CacheTtl::FiveMinutes),
            "1h" | "1hour" | "60m" => Some(CacheTtl::OneHour),
            "off" | "none" | "false" | "no" => Some(CacheTtl::Off),
            _ => None,
        }
    }
}

impl Default for CacheTtl {
    /// Five minutes: caching is on unless turned off.
    fn default() -> Self {
        CacheTtl::FiveMinutes
    }
}

names! {
    /// Where the installed Codex CLI stands against the releases the launcher is tested with.
    pub enum CodexVerdict ("Codex verdict") {
        /// Within the tested range.
        Tested = "tested",
        /// Older than the oldest tested release: untested, may lack what the launcher uses.
        Older = "older",
        /// Newer than the newest tested release: untested, usually fine.
        Newer = "newer",
        /// `codex --version` could not be run or read.
        Unknown = "unknown",
    }
}

impl CodexVerdict {
    /// Outside the tested range, or unknown: worth a warning, never a failure.
    pub fn is_untested(self) -> bool {
        self != CodexVerdict::Tested
    }
}

names! {
    /// How a recorded turn ended (issue 18, the turn recorder).
    pub enum TurnOutcome ("turn outcome") {
        /// The upstream finished the response.
        Completed = "completed",
        /// It failed: refused by the proxy, by the upstream, or cut mid-stream.
        Failed = "failed",
        /// The client went away before the end (recorded only when every turn is).
        Cancelled = "cancelled",
    }
}

names! {
    /// Who sent a recorded turn.
    pub enum TurnOrigin ("turn origin") {
        /// Codex (a session's token or the install token).
        Codex = "codex",
        /// `codexctl doctor --probe` (`ProbeEndpoint`).
        Probe = "probe",
        /// `codexctl turns replay` (`ReplayTurn`) of an earlier turn.
        Replay = "replay",
    }
}

/// What Kill & Cleanup did with one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "dbus", derive(zbus::Type), zbus(signature = "s"))]
pub enum CleanupAction {
    /// Dry run: found, nothing done.
    Found,
    /// The process ended after SIGTERM.
    Terminated,
    /// The process needed SIGKILL.
    Killed,
    /// The file was removed.
    Removed,
    /// The config.toml backup was restored.
    Restored,
    /// The session was stopped (SIGTERM, then SIGKILL after its grace period).
    Stopped,
    /// It could not be done; why.
    Failed(String),
}

impl CleanupAction {
    const PLAIN: [(CleanupAction, &'static str); 6] = [
        (CleanupAction::Found, "found"),
        (CleanupAction::Terminated, "terminated"),
        (CleanupAction::Killed, "killed"),
        (CleanupAction::Removed, "removed"),
        (CleanupAction::Restored, "restored"),
        (CleanupAction::Stopped, "stopped"),
    ];

    /// Whether it failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, CleanupAction::Failed(_))
    }

    /// A failure with its reason.
    pub fn failed(reason: impl fmt::Display) -> CleanupAction {
        CleanupAction::Failed(reason.to_string())
    }
}

impl fmt::Display for CleanupAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CleanupAction::Failed(reason) => write!(f, "failed: {reason}"),
            plain => {
                let name = CleanupAction::PLAIN
                    .iter()
                    .find(|(a, _)| a == plain)
                    .map_or("", |(_, n)| n);
                f.write_str(name)
            }
        }
    }
}

impl FromStr for CleanupAction {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        if let Some((_, reason)) = s.split_once("failed:") {
            return Ok(CleanupAction::Failed(reason.trim().to_owned()));
        }
        CleanupAction::PLAIN
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(a, _)| a.clone())
            .ok_or_else(|| UnknownName {
                what: "cleanup action",
                name: s.to_owned(),
                known: CleanupAction::PLAIN
                    .iter()
                    .map(|(_, n)| *n)
                    .chain(["failed: <reason>"])
                    .collect(),
            })
    }
}

impl Serialize for CleanupAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CleanupAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl PartialEq<&str> for CleanupAction {
    fn eq(&self, other: &&str) -> bool {
        match self {
            CleanupAction::Failed(reason) => {
                other.strip_prefix("failed: ").is_some_and(|r| r == reason)
            }
            plain => CleanupAction::PLAIN
                .iter()
                .any(|(a, n)| a == plain && n == other),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for b in Backend::ALL {
            assert_eq!(b.as_str().parse::<Backend>().unwrap(), *b);
        }
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), *m);
        }
        let err = "chat".parse::<Backend>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown backend `chat` (known: openai-compat, anthropic, command-code, openai-responses)"
        );
        assert_eq!(Backend::from_name("chat"), Some(Backend::OpenaiCompat));
        assert!(SessionState::Stalled.is_live());
        assert!(!SessionState::Stopping.is_live());
        assert_eq!(SessionState::Running, "running");
    }

    #[test]
    fn serde_uses_the_wire_strings() {
        let json = serde_json::to_string(&(Backend::CommandCode, Mode::DefaultCli)).unwrap();
        assert_eq!(json, r#"["command-code","default-cli"]"#);
        let back: (Backend, Mode) = serde_json::from_str(&json).unwrap();
        assert_eq!(back, (Backend::CommandCode, Mode::DefaultCli));
        assert!(serde_json::from_str::<Backend>(r#""gemini""#).is_err());
    }

    #[test]
    fn cache_settings_parse_their_spellings_and_default_to_five_minutes() {
        for ttl in CacheTtl::ALL {
            assert_eq!(CacheTtl::from_name(ttl.name()), Some(*ttl));
            assert_eq!(ttl.as_str().parse::<CacheTtl>().unwrap(), *ttl);
        }
        assert_eq!(CacheTtl::from_name(" 1Hour "), Some(CacheTtl::OneHour));
        assert_eq!(CacheTtl::from_name("none"), Some(CacheTtl::Off));
        assert_eq!(CacheTtl::from_name("2h"), None);
        assert!(
            "5min".parse::<CacheTtl>().is_err(),
            "the wire form is strict"
        );
        assert_eq!(CacheTtl::default(), CacheTtl::FiveMinutes);
        assert_eq!(
            serde_json::to_string(&CacheTtl::OneHour).unwrap(),
            r#""1h""#
        );
        assert!(CodexVerdict::Newer.is_untested() && !CodexVerdict::Tested.is_untested());
    }

    #[test]
    fn cleanup_actions_keep_their_reason() {
        let failed = CleanupAction::failed("Permission denied (os error 13)");
        assert_eq!(
            failed.to_string(),
            "failed: Permission denied (os error 13)"
        );
        assert_eq!(failed.to_string().parse::<CleanupAction>().unwrap(), failed);
        assert_eq!(
            "killed".parse::<CleanupAction>().unwrap(),
            CleanupAction::Killed
        );
        assert!(failed.is_failed());
        assert_eq!(CleanupAction::Stopped, "stopped");
        assert!("gone".parse::<CleanupAction>().is_err());
    }
}
