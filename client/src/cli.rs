//! The command line (clap derive). Every command carries examples in its help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use codex_launcher_dbus::{Backend, CacheTtl};

/// Control codex-launcherd, the daemon that lets Codex use any model provider.
#[derive(Debug, Parser)]
#[command(
    name = "codexctl",
    version,
    about = "Control codex-launcherd, the daemon that lets Codex use any model provider",
    long_about = "codexctl talks to codex-launcherd over the session D-Bus \
(io.github.CodexLauncher1). The first call starts the daemon when it is installed \
(./install.sh). Read commands print tables, or JSON with --json.",
    after_help = concat!(
        "Examples:\n",
        "  codexctl status\n",
        "  codexctl endpoint add --preset deepseek --api-key-env DEEPSEEK_API_KEY\n",
        "  codexctl endpoint list --json\n",
        "  codexctl model fetch deepseek\n",
        "  codexctl doctor\n\n",
        crate::exit_codes_help!(),
    ),
)]
pub struct Cli {
    /// Print JSON instead of tables (read commands, and results of the others).
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Daemon version, proxy address, counters, endpoints.
    #[command(after_help = "Examples:\n  codexctl status\n  codexctl status --json")]
    Status,

    /// List, show, add, edit and remove endpoints.
    #[command(subcommand)]
    Endpoint(EndpointCommand),

    /// Fallback groups: one id for several endpoints, tried in order.
    #[command(subcommand)]
    Group(GroupCommand),

    /// Provider presets the daemon knows.
    #[command(subcommand)]
    Preset(PresetCommand),

    /// Fetch, import and list an endpoint's models.
    #[command(subcommand)]
    Model(ModelCommand),

    /// Export or import all endpoints as a portable JSON bundle.
    #[command(subcommand)]
    Profile(ProfileCommand),

    /// Import the old launcher's endpoints.json (default: ~/.codex/endpoints.json).
    #[command(
        after_help = "Examples:\n  codexctl import-legacy\n  codexctl import-legacy ~/backup/endpoints.json"
    )]
    ImportLegacy {
        /// The file (default: ~/.codex/endpoints.json of the daemon's user).
        path: Option<PathBuf>,
    },

    /// Requests, tokens and errors per endpoint and model since the daemon started.
    #[command(after_help = "Examples:\n  codexctl usage\n  codexctl usage --json")]
    Usage,

    /// Start Codex on an endpoint, supervised by the daemon.
    #[command(
        after_help = "Modes:\n  cli   Codex in a terminal emulator (x-terminal-emulator, gnome-terminal, kgx, konsole,\n        xfce4-terminal, xterm; CODEX_LAUNCHER_TERMINAL overrides)\n  exec  headless `codex exec` on one prompt, without approvals or sandbox (automation)\n  desktop  Codex Desktop (config.toml is backed up, set for the session, restored after)\n  default-cli, default-desktop  \"Codex Default\": Codex on its own OpenAI login, without the\n        launcher's settings (taken out of config.toml for the session, put back after)\n\nExamples:\n  codexctl launch cli\n  codexctl launch cli -e deepseek -m deepseek-chat\n  codexctl launch exec -e deepseek --prompt 'Add a README' --workdir ~/src/app"
    )]
    Launch {
        /// `cli`, `exec`, `desktop`, `default-cli` or `default-desktop`.
        mode: String,
        /// Endpoint id (default: the default endpoint).
        #[arg(short, long)]
        endpoint: Option<String>,
        /// Model (default: the endpoint's default model).
        #[arg(short, long)]
        model: Option<String>,
        /// The prompt (`exec` mode).
        #[arg(long)]
        prompt: Option<String>,
        /// Directory Codex works in (default: your home).
        #[arg(long)]
        workdir: Option<PathBuf>,
        /// Reasoning effort (e.g. low, medium, high).
        #[arg(long)]
        effort: Option<String>,
    },

    /// Run Codex here, in this terminal, on an endpoint; the daemon supervises it.
    #[command(
        after_help = "The daemon prepares the session (model catalog, its own proxy token, no provider key\nin Codex's environment) and watches the Codex this command starts. config.toml is not\nchanged. The exit code is Codex's.\n\nExamples:\n  codexctl run\n  codexctl run -e deepseek -m deepseek-reasoner\n  codexctl run -e kimi -- --full-auto \"fix the failing test\""
    )]
    Run {
        /// Endpoint id (default: the default endpoint).
        #[arg(short, long)]
        endpoint: Option<String>,
        /// Model (default: the endpoint's default model).
        #[arg(short, long)]
        model: Option<String>,
        /// Reasoning effort (e.g. low, medium, high).
        #[arg(long)]
        effort: Option<String>,
        /// Arguments for Codex, after `--`.
        #[arg(last = true)]
        codex_args: Vec<String>,
    },

    /// Sessions the daemon started, running and ended.
    #[command(after_help = "Examples:\n  codexctl sessions\n  codexctl sessions --json")]
    Sessions,

    /// Stop a session: SIGTERM to its processes, SIGKILL after the grace period.
    #[command(after_help = "Examples:\n  codexctl stop 3")]
    Stop {
        /// Session number (from `codexctl sessions`) or object path.
        session: String,
    },

    /// Kill & Cleanup: stop what earlier sessions left behind and remove stale files (with
    /// --stop-sessions, stop the running sessions first, as the panel's button does).
    #[command(
        after_help = "Finds Codex Desktop, Electron helper and `codex app-server` processes of yours that no\nlive session owns (matched by executable path, never by name), sessions a crashed daemon\nleft running, stale pid files, Codex Desktop singleton locks of dead processes, and\nconfig.toml backups no session holds (restored). Processes get SIGTERM, then SIGKILL.\nWith --stop-sessions the daemon's running sessions are stopped first (SIGTERM, then SIGKILL\nafter their grace period), then what they left is cleaned up too.\nExits 1 when something could not be removed.\n\nExamples:\n  codexctl cleanup --dry-run\n  codexctl cleanup\n  codexctl cleanup --stop-sessions\n  codexctl cleanup --json"
    )]
    Cleanup {
        /// Only list what would be stopped or removed.
        #[arg(long)]
        dry_run: bool,
        /// Stop this daemon's running sessions first (what the panel's Kill & Cleanup does).
        #[arg(long)]
        stop_sessions: bool,
    },

    /// Show the daemon's log (journalctl --user -u codex-launcherd).
    #[command(
        after_help = "Examples:\n  codexctl logs\n  codexctl logs -f\n\nWithout journalctl or a systemd user manager the daemon logs to the stderr of whoever\nstarted it (the terminal running `codex-launcherd`, or the session bus)."
    )]
    Logs {
        /// Keep printing new entries.
        #[arg(short, long)]
        follow: bool,
    },

    /// Check the set-up: Codex CLI and its version, daemon, units, port, keyring; or probe an
    /// endpoint.
    #[command(
        after_help = "Each check prints ok, warn, fail or skip, with a fix for the ones that are not ok.\nExits 1 when a check fails. The version check asks the daemon which Codex its sessions run\nand whether this launcher is tested with it: an untested version (older or newer than the\ntested releases) is a warning, never a failure.\n\nWith --probe, real round trips to the endpoint's provider through the proxy: a text turn,\na tool call, parallel tool calls and a reasoning turn handed back with the tool result.\nQuirks found (a refused field, no parallel calls, reasoning required back) are recorded\ninto the endpoint, so the proxy adapts. This sends a few small requests you may pay for.\n\nExamples:\n  codexctl doctor\n  CODEX_BIN=~/bin/codex codexctl doctor --json\n  codexctl doctor --probe deepseek\n  codexctl doctor --probe openrouter qwen/qwen3-coder"
    )]
    Doctor {
        /// Probe ENDPOINT [MODEL] (default model: the endpoint's).
        #[arg(long, num_args = 1..=2, value_names = ["ENDPOINT", "MODEL"])]
        probe: Option<Vec<String>>,
    },

    /// Recorded turns: every failed turn is kept (redacted) to show, replay on any endpoint
    /// and export for a bug report.
    #[command(subcommand)]
    Turns(TurnsCommand),

    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  codexctl completions bash > ~/.local/share/bash-completion/completions/codexctl\n  codexctl completions zsh > ~/.zfunc/_codexctl\n  codexctl completions fish > ~/.config/fish/completions/codexctl.fish"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff).
    #[command(
        after_help = "Examples:\n  codexctl man > ~/.local/share/man/man1/codexctl.1\n  codexctl man | man -l -"
    )]
    Man,
}

/// `codexctl endpoint ...`
#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// All endpoints (the default one is marked `*`).
    #[command(after_help = "Examples:\n  codexctl endpoint list\n  codexctl endpoint list --json")]
    List,

    /// One endpoint's settings (never its key).
    #[command(after_help = "Examples:\n  codexctl endpoint show deepseek")]
    Show {
        /// Endpoint id.
        id: String,
    },

    /// Create an endpoint. In a terminal, asks for what is missing.
    #[command(after_help = "\
The key is never taken as an argument value (it would show in `ps` and the shell history):
read it from stdin (--api-key-stdin), from a variable (--api-key-env VAR), or type it at the
prompt. Without a terminal every missing required value is an error (exit 2).

Examples:
  codexctl endpoint add                       # interactive: pick a preset, type the key
  codexctl endpoint add --preset deepseek --api-key-env DEEPSEEK_API_KEY
  pass show openrouter | codexctl endpoint add --preset openrouter --api-key-stdin
  codexctl endpoint add --name 'Local vLLM' --url http://127.0.0.1:8000/v1 --model qwen3")]
    Add(AddArgs),

    /// Change an endpoint's settings or key; only the given values change.
    #[command(
        after_help = "Examples:\n  codexctl endpoint edit deepseek --model deepseek-reasoner\n  codexctl endpoint edit opencode --browser-ua --header X-Team=core\n  printf %s \"$KEY\" | codexctl endpoint edit deepseek --api-key-stdin\n  codexctl endpoint edit ollama --remove-key"
    )]
    Edit(EditArgs),

    /// Delete an endpoint and its key.
    #[command(after_help = "Examples:\n  codexctl endpoint rm old-ds")]
    Rm {
        /// Endpoint id.
        id: String,
    },

    /// Make an endpoint the default.
    #[command(after_help = "Examples:\n  codexctl endpoint default deepseek")]
    Default {
        /// Endpoint id.
        id: String,
    },
}

/// Where a key comes from (never a plain argument value).
#[derive(Debug, Args)]
pub struct KeySource {
    /// Read the API key from stdin (one line, or everything up to EOF).
    #[arg(long, conflicts_with = "api_key_env")]
    pub api_key_stdin: bool,

    /// Take the API key from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
}

/// `codexctl endpoint add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Start from a preset (`codexctl preset list`): backend, URL and models.
    #[arg(long, value_name = "ID")]
    pub preset: Option<String>,

    /// Display name; the id is derived from it.
    #[arg(long)]
    pub name: Option<String>,

    /// Base URL (http or https).
    #[arg(long)]
    pub url: Option<String>,

    /// openai-compat, anthropic, command-code or openai-responses (default: the preset's,
    /// else openai-compat).
    #[arg(long)]
    pub backend: Option<Backend>,

    /// Default model id.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Send a browser User-Agent upstream (Cloudflare-fronted hosts).
    #[arg(long)]
    pub browser_ua: bool,

    /// Extra upstream header (repeatable). One whose name says it is a credential (auth,
    /// key, token, secret, cookie, session) is kept with the keys and shown as K=***.
    #[arg(long = "header", value_name = "K=V")]
    pub headers: Vec<String>,

    /// Extra upstream header whose value is a secret whatever its name (repeatable): kept
    /// with the keys, shown as K=***, exported only with --include-keys.
    #[arg(long = "secret-header", value_name = "K=V")]
    pub secret_headers: Vec<String>,

    /// Capability-table row (deepseek, kimi, ...; default: detected from the URL).
    #[arg(long)]
    pub provider: Option<String>,

    /// Prompt caching: 5m (the default), 1h (writes cost twice the input price) or off.
    #[arg(long, value_name = "TTL")]
    pub cache: Option<CacheTtl>,

    /// The key.
    #[command(flatten)]
    pub key: KeySource,
}

/// `codexctl endpoint edit`
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Endpoint id.
    pub id: String,

    /// New display name (the id stays).
    #[arg(long)]
    pub name: Option<String>,

    /// New base URL.
    #[arg(long)]
    pub url: Option<String>,

    /// New backend.
    #[arg(long)]
    pub backend: Option<Backend>,

    /// New default model.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Send a browser User-Agent upstream.
    #[arg(long, conflicts_with = "no_browser_ua")]
    pub browser_ua: bool,

    /// Stop sending a browser User-Agent.
    #[arg(long)]
    pub no_browser_ua: bool,

    /// Add or replace an extra header (repeatable).
    #[arg(long = "header", value_name = "K=V")]
    pub headers: Vec<String>,

    /// Add or replace an extra header whose value is a secret (repeatable).
    #[arg(long = "secret-header", value_name = "K=V")]
    pub secret_headers: Vec<String>,

    /// Remove an extra header by name (repeatable).
    #[arg(long = "remove-header", value_name = "K")]
    pub remove_headers: Vec<String>,

    /// New capability-table row (empty string: detect from the URL).
    #[arg(long)]
    pub provider: Option<String>,

    /// Prompt caching: 5m, 1h or off.
    #[arg(long, value_name = "TTL")]
    pub cache: Option<CacheTtl>,

    /// The new key.
    #[command(flatten)]
    pub key: KeySource,

    /// Delete the stored key.
    #[arg(long, conflicts_with_all = ["api_key_stdin", "api_key_env"])]
    pub remove_key: bool,
}

/// `codexctl group ...`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group: its members are tried in order; a session uses it as an endpoint.
    #[command(
        after_help = "A member is ENDPOINT or ENDPOINT:MODEL (default: the endpoint's default model).\n\
                      Requests go to the first healthy member; before anything reaches Codex, a refused\n\
                      connection, a timeout, a 5xx, a 429 or an exhausted quota moves to the next one; a 400,\n\
                      401 or 403 does not (it is the request's or the key's problem, shown as it is).\n\n\
                      Examples:\n  codexctl group add coding --member plan:glm-5.1 --member paygo:deepseek-chat\n  \
                      codexctl run -e coding"
    )]
    Add {
        /// The group's name, which is its id (letters, digits, - and _).
        name: String,
        /// A member, ENDPOINT[:MODEL], in the order to try them (repeatable).
        #[arg(long = "member", value_name = "ENDPOINT[:MODEL]", required = true)]
        members: Vec<String>,
    },
    /// Replace a group's members.
    #[command(after_help = "Examples:\n  codexctl group edit coding --member paygo --member plan")]
    Edit {
        /// Group id.
        name: String,
        /// A member, ENDPOINT[:MODEL], in the order to try them (repeatable).
        #[arg(long = "member", value_name = "ENDPOINT[:MODEL]", required = true)]
        members: Vec<String>,
    },
    /// All groups.
    #[command(after_help = "Examples:\n  codexctl group list\n  codexctl group list --json")]
    List,
    /// One group, with each member's circuit breaker and cooldown.
    #[command(after_help = "Examples:\n  codexctl group show coding")]
    Show {
        /// Group id.
        name: String,
    },
    /// Delete a group (its members stay).
    #[command(after_help = "Examples:\n  codexctl group rm coding")]
    Rm {
        /// Group id.
        name: String,
    },
}

/// `codexctl preset ...`
#[derive(Debug, Subcommand)]
pub enum PresetCommand {
    /// All presets.
    #[command(after_help = "Examples:\n  codexctl preset list\n  codexctl preset list --json")]
    List,
}

/// `codexctl model ...`
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Ask the provider for its models and store them in the endpoint.
    #[command(after_help = "Examples:\n  codexctl model fetch openrouter")]
    Fetch {
        /// Endpoint id.
        endpoint: String,
    },

    /// Add model ids from text (comma or newline separated).
    #[command(
        after_help = "Examples:\n  codexctl model import kimi --text 'kimi-k2, kimi-k2-thinking'\n  codexctl model import kimi --file models.txt\n  curl -s https://example.com/models.txt | codexctl model import kimi -"
    )]
    Import(ImportModelArgs),

    /// The endpoint's models.
    #[command(
        after_help = "Examples:\n  codexctl model list deepseek\n  codexctl model list deepseek --json"
    )]
    List {
        /// Endpoint id.
        endpoint: String,
    },

    /// Show or set a model's prices, US dollars per million tokens (cost in `usage`,
    /// `sessions` and the panel).
    #[command(after_help = "\
Only the prices given change; an empty value unsets one. A cached-input or cache-write price
left unset costs the input price. Without a price, cost shows as \"no price set\", never $0.
Presets carry published list prices where the provider gives them (`as of` the day read).

Examples:
  codexctl model price anthropic claude-sonnet-4-6
  codexctl model price deepseek deepseek-chat --input 0.28 --cached 0.028 --output 0.42
  codexctl model price local qwen3 --input 0 --output 0
  codexctl model price kimi kimi-k2 --cache-write ''")]
    Price(PriceArgs),
}

/// `codexctl model price`
#[derive(Debug, Args)]
pub struct PriceArgs {
    /// Endpoint id.
    pub endpoint: String,

    /// Model id.
    pub model: String,

    /// Uncached input.
    #[arg(long, value_name = "USD")]
    pub input: Option<String>,

    /// Input read from the provider's cache.
    #[arg(long, value_name = "USD")]
    pub cached: Option<String>,

    /// Input written to the cache (five-minute writes; one-hour ones cost twice the input).
    #[arg(long, value_name = "USD")]
    pub cache_write: Option<String>,

    /// Output.
    #[arg(long, value_name = "USD")]
    pub output: Option<String>,
}

/// `codexctl model import`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["text", "file", "stdin"])))]
pub struct ImportModelArgs {
    /// Endpoint id.
    pub endpoint: String,

    /// The ids.
    #[arg(long)]
    pub text: Option<String>,

    /// A file holding the ids.
    #[arg(long)]
    pub file: Option<PathBuf>,

    /// Read the ids from stdin (write `-`).
    #[arg(value_name = "-", value_parser = clap::builder::PossibleValuesParser::new(["-"]))]
    pub stdin: Option<String>,
}

/// `codexctl profile ...`
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Write every endpoint to a JSON bundle (stdout or -o FILE).
    #[command(
        after_help = "Without --include-keys the bundle holds no key and is safe to share; with it the file\nis created mode 0600.\n\nExamples:\n  codexctl profile export -o endpoints.bundle.json\n  codexctl profile export --include-keys -o ~/backup/codex-launcher.json"
    )]
    Export {
        /// Include the API keys.
        #[arg(long)]
        include_keys: bool,

        /// Write to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },

    /// Create or update endpoints from a bundle (`-`: stdin).
    #[command(
        after_help = "Examples:\n  codexctl profile import endpoints.bundle.json\n  ssh old-laptop codexctl profile export --include-keys | codexctl profile import -"
    )]
    Import {
        /// The bundle file, or `-` for stdin.
        file: PathBuf,
    },
}

/// `codexctl turns ...` (issue 18)
#[derive(Debug, Subcommand)]
pub enum TurnsCommand {
    /// Recorded turns, newest first.
    #[command(
        after_help = "Every failed turn is recorded: refused by the proxy, refused by the provider (a 400 about\na tool schema, a missing reasoning hand-back), or a stream that broke off. Successful turns\nare recorded only when asked (`codexctl turns record --all`).\n\nExamples:\n  codexctl turns list --failed\n  codexctl turns list -e deepseek --json\n  codexctl turns list --session 3"
    )]
    List {
        /// Failed turns only.
        #[arg(long)]
        failed: bool,
        /// One endpoint's turns.
        #[arg(short, long, value_name = "ID")]
        endpoint: Option<String>,
        /// One session's turns (its number, from `codexctl sessions`).
        #[arg(long, value_name = "N")]
        session: Option<u64>,
    },

    /// One turn, readable: Codex's request in short, our upstream request, the provider's
    /// answer, where and why it failed, and the quirk row used.
    #[command(
        after_help = "Keys and secret headers never appear: they are removed before a turn is written.\n\nExamples:\n  codexctl turns show 12\n  codexctl turns show 12 --json"
    )]
    Show {
        /// Turn number (from `codexctl turns list`).
        id: u64,
    },

    /// Send a recorded turn again and record the outcome as a new turn linked to it.
    #[command(
        after_help = "Without -e the upstream request is sent again exactly as recorded, with the endpoint's\ncurrent key (the recorded one was redacted). With -e, Codex's recorded request is\ntranslated afresh for that endpoint (and model, with -m) and sent: does another provider\naccept what this one refused? Exits 7 when the replay fails too.\n\nExamples:\n  codexctl turns replay 12\n  codexctl turns replay 12 -e openrouter\n  codexctl turns replay 12 -e openrouter -m qwen/qwen3-coder"
    )]
    Replay {
        /// Turn number.
        id: u64,
        /// Replay on this endpoint instead (re-translated for it).
        #[arg(short, long, value_name = "ID")]
        endpoint: Option<String>,
        /// With --endpoint: this model.
        #[arg(short, long)]
        model: Option<String>,
    },

    /// Write a self-contained, redacted bundle of a turn (stdout or -o FILE).
    #[command(
        after_help = "The bundle never holds a key or a secret header value. It does hold the conversation:\nwith --redact-text every message, tool output and reasoning text is replaced by a\nplaceholder of the same length (tool declarations are kept), for a public bug report.\n\nExamples:\n  codexctl turns export 12 -o turn-12.json\n  codexctl turns export 12 --redact-text -o turn-12.json"
    )]
    Export {
        /// Turn number.
        id: u64,
        /// Write to this file (0600) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace message, tool-output and reasoning text with placeholders.
        #[arg(long)]
        redact_text: bool,
    },

    /// What is recorded: failed turns only (the default) or every turn, everywhere or on one
    /// endpoint. Without a flag, prints the settings.
    #[command(
        after_help = "Recording every turn keeps the streams both ways (up to 1 MiB each) and costs daemon\nCPU per turn (0.3 to 0.6 ms on the benchmark machine, BENCHMARKS.md); failed turns cost\nnothing until they fail.\n\nExamples:\n  codexctl turns record\n  codexctl turns record --all\n  codexctl turns record --all -e deepseek\n  codexctl turns record --failed"
    )]
    Record {
        /// Record successful turns too.
        #[arg(long, conflicts_with = "failed")]
        all: bool,
        /// Record failed turns only.
        #[arg(long)]
        failed: bool,
        /// Only on this endpoint.
        #[arg(short, long, value_name = "ID")]
        endpoint: Option<String>,
    },

    /// How many turns are kept (oldest go first). Without a flag, prints the settings.
    #[command(
        after_help = "Defaults: the last 100 failed turns, 100 others, 200 MiB in all.\n\nExamples:\n  codexctl turns retention\n  codexctl turns retention --failures 500 --max-size 1GiB"
    )]
    Retention {
        /// Failed turns kept.
        #[arg(long, value_name = "N")]
        failures: Option<u32>,
        /// Other turns kept (successful, cancelled).
        #[arg(long, value_name = "N")]
        successes: Option<u32>,
        /// All records together (e.g. 200MiB, 512KiB, 1G; a bare number is bytes).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
    },
}
