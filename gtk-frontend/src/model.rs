//! The view model: plain Rust, no GTK. Everything the widgets show that needs a decision
//! (ordering, preselection, labels, number formatting, what a launch button sends) is a
//! function here, unit-tested without a display.
//!
//! The panel decides nothing the daemon decides: it never validates an endpoint, parses a
//! model list or guesses a session's state. These functions only turn what the daemon said
//! into text and back.

use codex_launcher_dbus::{
    Backend, BreakerState, CacheTtl, CleanupAction, CleanupItem, CleanupKind, EndpointInfo,
    EndpointSpec, GroupInfo, GroupMemberInfo, KeyStorage, Mode, ModelPrices, ModelSpec,
    PICO_USD_PER_USD, Preset, ReplayOutcome, SessionState, TurnDetail, TurnInfo, TurnOutcome,
    UsageCost,
};

/// One session as the panel shows it, built from the Session object's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Object path.
    pub path: String,
    /// Endpoint id (empty for Codex Default).
    pub endpoint: String,
    /// Model slug (empty for Codex Default).
    pub model: String,
    /// How it runs.
    pub mode: Mode,
    /// Where it is.
    pub state: SessionState,
    /// Start time, seconds since the epoch.
    pub started: u64,
    /// When the panel saw it end (seconds since the epoch); `None` while it runs or when it
    /// had ended before the panel started (the daemon does not say when).
    pub ended: Option<u64>,
    /// Exit code, -1 before the end.
    pub exit_code: i32,
    /// Requests through the proxy.
    pub requests: u64,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Of the input tokens, read from the provider's cache.
    pub cached_tokens_in: u64,
    /// What the priced requests cost, pico-dollars.
    pub cost_pico_usd: u64,
    /// Requests that had a price.
    pub priced_requests: u64,
}

/// A session's traffic counters, as its object reports them (read on demand: the contract
/// emits no change signal for them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionTraffic {
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Of the input tokens, read from the provider's cache.
    pub cached_tokens_in: u64,
    /// What the priced requests cost, pico-dollars.
    pub cost_pico_usd: u64,
    /// Requests that had a price.
    pub priced_requests: u64,
}

impl Default for SessionView {
    /// A row before its first read of the session's properties.
    fn default() -> Self {
        SessionView {
            path: String::new(),
            endpoint: String::new(),
            model: String::new(),
            mode: Mode::Cli,
            state: SessionState::Starting,
            started: 0,
            ended: None,
            exit_code: -1,
            requests: 0,
            tokens_in: 0,
            tokens_out: 0,
            cached_tokens_in: 0,
            cost_pico_usd: 0,
            priced_requests: 0,
        }
    }
}

impl SessionView {
    /// The session's number: the last element of its path (`…/session/7` → 7).
    pub fn number(&self) -> u64 {
        session_number(&self.path)
    }

    /// Whether it still runs (a Stop button makes sense).
    pub fn is_live(&self) -> bool {
        self.state != SessionState::Exited
    }

    /// `deepseek · deepseek-chat`, or `Codex's own login` for Codex Default.
    pub fn target_label(&self) -> String {
        match (self.endpoint.is_empty(), self.model.is_empty()) {
            (true, _) => "Codex's own login".to_owned(),
            (false, true) => self.endpoint.clone(),
            (false, false) => format!("{} · {}", self.endpoint, self.model),
        }
    }

    /// Take the counters the session object reported.
    pub fn set_traffic(&mut self, t: SessionTraffic) {
        self.requests = t.requests;
        self.tokens_in = t.tokens_in;
        self.tokens_out = t.tokens_out;
        self.cached_tokens_in = t.cached_tokens_in;
        self.cost_pico_usd = t.cost_pico_usd;
        self.priced_requests = t.priced_requests;
    }

    /// `12.3k in · 950 out · 60 % cached · $0.0030`; `no traffic` before the first request.
    /// A session whose requests had no price says so (`no price set`), never $0.
    pub fn traffic_label(&self) -> String {
        let mut label = tokens_label(self.requests, self.tokens_in, self.tokens_out);
        for part in [
            cache_hit_label(self.cached_tokens_in, self.tokens_in),
            cost_label(self.cost_pico_usd, self.priced_requests, self.requests),
        ]
        .into_iter()
        .flatten()
        {
            label.push_str(" · ");
            label.push_str(&part);
        }
        label
    }

    /// The duration label at `now`.
    pub fn duration_label(&self, now: u64) -> String {
        match (self.is_live(), self.ended) {
            (true, _) => duration_label(now.saturating_sub(self.started)),
            (false, Some(end)) => duration_label(end.saturating_sub(self.started)),
            (false, None) => "—".to_owned(),
        }
    }
}

/// The number at the end of a session path (0 when there is none).
pub fn session_number(path: &str) -> u64 {
    path.rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Newest session first.
pub fn session_order(a: &SessionView, b: &SessionView) -> std::cmp::Ordering {
    b.number().cmp(&a.number())
}

/// `45 s`, `3 min 05 s`, `2 h 07 min`.
pub fn duration_label(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// `950`, `12.3k`, `4.1M` (one decimal below 100 of a unit).
pub fn compact_count(n: u64) -> String {
    fn scaled(n: u64, unit: u64, suffix: &str) -> String {
        let whole = n / unit;
        if whole >= 100 {
            format!("{whole}{suffix}")
        } else {
            let tenths = (n % unit) * 10 / unit;
            format!("{whole}.{tenths}{suffix}")
        }
    }
    match n {
        n if n < 1_000 => n.to_string(),
        n if n < 1_000_000 => scaled(n, 1_000, "k"),
        n if n < 1_000_000_000 => scaled(n, 1_000_000, "M"),
        n => scaled(n, 1_000_000_000, "G"),
    }
}

/// `12.3k in · 950 out`; `no traffic` before the first request (and always for Codex
/// Default, which does not use the proxy).
pub fn tokens_label(requests: u64, tokens_in: u64, tokens_out: u64) -> String {
    if requests == 0 && tokens_in == 0 && tokens_out == 0 {
        return "no traffic".to_owned();
    }
    format!(
        "{} in · {} out",
        compact_count(tokens_in),
        compact_count(tokens_out)
    )
}

/// What a mode is called on screen.
pub fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::Cli => "CLI",
        Mode::Exec => "Headless",
        Mode::Desktop => "Desktop",
        Mode::DefaultCli => "Codex Default (CLI)",
        Mode::DefaultDesktop => "Codex Default (Desktop)",
        Mode::Run => "CLI (codexctl run)",
    }
}

/// What a state is called on screen. The exit code tells how it ended: `Exited (0)`,
/// `Killed (signal 9)` (128 + signal, the contract's convention).
pub fn state_label(state: SessionState, exit_code: i32) -> String {
    match state {
        SessionState::Starting => "Starting".to_owned(),
        SessionState::Running => "Running".to_owned(),
        SessionState::Stalled => "Stalled".to_owned(),
        SessionState::Stopping => "Stopping".to_owned(),
        SessionState::Exited if exit_code > 128 => {
            format!("Killed (signal {})", exit_code - 128)
        }
        SessionState::Exited if exit_code >= 0 => format!("Exited ({exit_code})"),
        SessionState::Exited => "Exited".to_owned(),
    }
}

/// The CSS class of a state label (libadwaita's `success`, `warning`, `error`, `dim-label`).
pub fn state_style(state: SessionState, exit_code: i32) -> &'static str {
    match state {
        SessionState::Running => "success",
        SessionState::Stalled | SessionState::Stopping | SessionState::Starting => "warning",
        SessionState::Exited if exit_code == 0 => "dim-label",
        SessionState::Exited => "error",
    }
}

/// What the four launch buttons send as `Launch(endpoint, model, mode, …)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchKind {
    /// Codex CLI in a terminal, through the chosen endpoint and model.
    Cli,
    /// Codex Desktop through the chosen endpoint and model.
    Desktop,
    /// Codex CLI on its own login.
    DefaultCli,
    /// Codex Desktop on its own login.
    DefaultDesktop,
}

impl LaunchKind {
    /// The contract's mode.
    pub fn mode(self) -> Mode {
        match self {
            LaunchKind::Cli => Mode::Cli,
            LaunchKind::Desktop => Mode::Desktop,
            LaunchKind::DefaultCli => Mode::DefaultCli,
            LaunchKind::DefaultDesktop => Mode::DefaultDesktop,
        }
    }

    /// Whether it goes through an endpoint (the Codex Default modes take none).
    pub fn needs_endpoint(self) -> bool {
        matches!(self, LaunchKind::Cli | LaunchKind::Desktop)
    }

    /// `(endpoint, model, mode)` for `Manager.Launch`. Codex Default gets empty endpoint
    /// and model: it runs Codex on its own login, with none of the launcher's settings.
    pub fn request<'a>(
        self,
        endpoint: &'a str,
        model: &'a str,
    ) -> (&'a str, &'a str, &'static str) {
        if self.needs_endpoint() {
            (endpoint, model, self.mode().as_str())
        } else {
            ("", "", self.mode().as_str())
        }
    }
}

/// The endpoint picker: labels in the daemon's order, and which one to preselect (the
/// default endpoint, else the one chosen before if still there, else the first).
pub fn endpoint_choices(endpoints: &[EndpointInfo], previous: Option<&str>) -> (Vec<String>, u32) {
    let labels = endpoints.iter().map(endpoint_label).collect();
    let index = |pred: &dyn Fn(&EndpointInfo) -> bool| endpoints.iter().position(pred);
    let selected = previous
        .and_then(|prev| index(&|e| e.id == prev))
        .or_else(|| index(&|e| e.is_default))
        .unwrap_or(0);
    (labels, u32::try_from(selected).unwrap_or(0))
}

/// `DeepSeek (deepseek)`; the name alone when it is the id.
pub fn endpoint_label(e: &EndpointInfo) -> String {
    if e.spec.name.is_empty() || e.spec.name == e.id {
        e.id.clone()
    } else {
        format!("{} ({})", e.spec.name, e.id)
    }
}

/// The model picker for an endpoint: its model ids, the one chosen before preselected when
/// still there, else the default model (listed first when it is not among the models).
pub fn model_choices(e: &EndpointInfo, previous: Option<&str>) -> (Vec<String>, u32) {
    let (ids, default) = default_model_choices(&e.spec.models, &e.spec.default_model);
    let selected = previous
        .and_then(|p| ids.iter().position(|id| id == p))
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(default);
    (ids, selected)
}

/// One line under an endpoint's name in the endpoint manager.
pub fn endpoint_subtitle(e: &EndpointInfo) -> String {
    let models = match e.spec.models.len() {
        1 => "1 model".to_owned(),
        n => format!("{n} models"),
    };
    let key = if e.has_key {
        match e.key_storage.as_str() {
            "" => "key stored".to_owned(),
            s => format!("key in {s}"),
        }
    } else {
        "no key".to_owned()
    };
    format!(
        "{} · {} · {models} · {key}",
        e.spec.backend, e.spec.base_url
    )
}

/// A D-Bus error as the panel shows it: the short name and the daemon's message
/// (`InvalidArgument: base URL must be http or https`).
pub fn error_text(name: &str, message: &str) -> String {
    let short = name
        .strip_prefix(codex_launcher_dbus::ERROR_PREFIX)
        .map(|s| s.trim_start_matches('.'))
        .or_else(|| name.rsplit('.').next())
        .unwrap_or(name);
    match (short.is_empty(), message.is_empty()) {
        (true, _) => message.to_owned(),
        (false, true) => short.to_owned(),
        (false, false) => format!("{short}: {message}"),
    }
}

/// `low, medium, high` → the efforts list (the model's metadata field).
pub fn parse_efforts(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The efforts list as the entry shows it.
pub fn efforts_text(efforts: &[String]) -> String {
    efforts.join(", ")
}

/// A model with the metadata typed into its row: the context window and the efforts list.
/// A default effort no longer in the list is dropped (it would name an effort the model
/// no longer takes).
pub fn with_edits(spec: &ModelSpec, context_window: u64, efforts: &str) -> ModelSpec {
    let reasoning_efforts = parse_efforts(efforts);
    let default_effort = if reasoning_efforts.contains(&spec.default_effort) {
        spec.default_effort.clone()
    } else {
        String::new()
    };
    ModelSpec {
        context_window,
        reasoning_efforts,
        default_effort,
        ..spec.clone()
    }
}

/// The default-model picker of the endpoint dialog: the models' ids, `default` preselected
/// (listed first when it is not among them). Shared with [`model_choices`].
pub fn default_model_choices(models: &[ModelSpec], default: &str) -> (Vec<String>, u32) {
    let mut ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
    if !default.is_empty() && !ids.iter().any(|id| id == default) {
        ids.insert(0, default.to_owned());
    }
    let selected = ids.iter().position(|id| id == default).unwrap_or(0);
    (ids, u32::try_from(selected).unwrap_or(0))
}

/// Fill a new endpoint's form from a preset. What the user typed into the name is kept
/// unless it is still the previous preset's name (or empty).
pub fn apply_preset(
    form: &EndpointSpec,
    previous: Option<&Preset>,
    preset: &Preset,
) -> EndpointSpec {
    let name_untouched =
        form.name.trim().is_empty() || previous.is_some_and(|p| p.spec.name == form.name);
    EndpointSpec {
        name: if name_untouched {
            preset.spec.name.clone()
        } else {
            form.name.clone()
        },
        ..preset.spec.clone()
    }
}

/// The position of a backend in the picker, which lists [`Backend::ALL`] in order.
pub fn backend_index(backend: Backend) -> u32 {
    Backend::ALL
        .iter()
        .position(|b| *b == backend)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(0)
}

/// The backend at a picker position (the first for a position past the end).
pub fn backend_at(index: u32) -> Backend {
    usize::try_from(index)
        .ok()
        .and_then(|i| Backend::ALL.get(i))
        .copied()
        .unwrap_or_default()
}

/// Models after a fetch or import: the daemon's merged list, with the per-model metadata
/// the user set in the form (not yet saved) kept for models still there.
pub fn merge_edited_models(daemon: &[ModelSpec], edited: &[ModelSpec]) -> Vec<ModelSpec> {
    daemon
        .iter()
        .map(|m| {
            edited
                .iter()
                .find(|e| e.id == m.id)
                .cloned()
                .unwrap_or_else(|| m.clone())
        })
        .collect()
}

/// `2 models added`, `no new models`.
pub fn imported_label(new: u32) -> String {
    match new {
        0 => "no new models".to_owned(),
        1 => "1 model added".to_owned(),
        n => format!("{n} models added"),
    }
}

/// A bar of the usage chart.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageBar {
    /// `endpoint / model`.
    pub label: String,
    /// `1.2k in · 300 out · 12 requests · 1 error · 60 % cached · $0.0030`.
    pub detail: String,
    /// Input tokens as a share of the largest total (0..=1).
    pub input: f64,
    /// Output tokens as a share of the largest total (0..=1).
    pub output: f64,
    /// Whether some requests failed.
    pub has_errors: bool,
}

/// The usage chart: one bar per endpoint and model, most tokens first, scaled to the largest.
pub fn usage_bars(usage: &[UsageCost]) -> Vec<UsageBar> {
    let mut rows: Vec<&UsageCost> = usage.iter().collect();
    rows.sort_by(|a, b| {
        (b.input_tokens + b.output_tokens)
            .cmp(&(a.input_tokens + a.output_tokens))
            .then(b.requests.cmp(&a.requests))
            .then(a.endpoint.cmp(&b.endpoint))
            .then(a.model.cmp(&b.model))
    });
    let max = rows
        .iter()
        .map(|u| u.input_tokens + u.output_tokens)
        .max()
        .unwrap_or(0);
    let share = |n: u64| if max == 0 { 0.0 } else { n as f64 / max as f64 };
    rows.into_iter()
        .map(|u| {
            let plural = |n: u64, one: &str, many: &str| {
                if n == 1 {
                    format!("1 {one}")
                } else {
                    format!("{n} {many}")
                }
            };
            let mut detail = format!(
                "{} in · {} out · {}",
                compact_count(u.input_tokens),
                compact_count(u.output_tokens),
                plural(u.requests, "request", "requests")
            );
            if u.errors > 0 {
                detail.push_str(&format!(" · {}", plural(u.errors, "error", "errors")));
            }
            for part in [
                cache_hit_label(u.cached_input_tokens, u.input_tokens),
                cost_label(u.cost_pico_usd, u.priced_requests, u.requests),
            ]
            .into_iter()
            .flatten()
            {
                detail.push_str(" · ");
                detail.push_str(&part);
            }
            UsageBar {
                label: format!("{} / {}", u.endpoint, u.model),
                detail,
                input: share(u.input_tokens),
                output: share(u.output_tokens),
                has_errors: u.errors > 0,
            }
        })
        .collect()
}

/// What the Kill & Cleanup confirmation lists: one line per leftover a dry run found
/// (the live sessions it would stop are counted apart, [`sessions_to_stop`]).
pub fn cleanup_lines(items: &[CleanupItem]) -> Vec<String> {
    items
        .iter()
        .filter(|i| i.kind != CleanupKind::Session)
        .map(|i| {
            if i.pid > 0 {
                format!("{} {} ({}): {}", i.kind, i.pid, i.path, i.description)
            } else {
                format!("{} {}: {}", i.kind, i.path, i.description)
            }
        })
        .collect()
}

/// The toast after Kill & Cleanup (`KillAndCleanup` with sessions stopped): sessions
/// stopped, then what was done with the leftovers, by action.
pub fn cleanup_summary(items: &[CleanupItem]) -> String {
    let mut parts = Vec::new();
    let sessions_stopped = items
        .iter()
        .filter(|i| i.kind == CleanupKind::Session && i.action == CleanupAction::Stopped)
        .count();
    if sessions_stopped > 0 {
        parts.push(match sessions_stopped {
            1 => "1 session stopped".to_owned(),
            n => format!("{n} sessions stopped"),
        });
    }
    let count =
        |pred: &dyn Fn(&CleanupAction) -> bool| items.iter().filter(|i| pred(&i.action)).count();
    let terminated = count(&|a| matches!(a, CleanupAction::Terminated | CleanupAction::Killed));
    let removed = count(&|a| *a == CleanupAction::Removed);
    let restored = count(&|a| *a == CleanupAction::Restored);
    let failed = count(&CleanupAction::is_failed);
    if terminated > 0 {
        parts.push(format!(
            "{terminated} stray process{} ended",
            plural_es(terminated)
        ));
    }
    if removed > 0 {
        parts.push(format!("{removed} stale file{} removed", plural_s(removed)));
    }
    if restored > 0 {
        parts.push("config.toml backup restored".to_owned());
    }
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if parts.is_empty() {
        "Nothing to clean up".to_owned()
    } else {
        let mut s = parts.join(", ");
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + s.get(1..).unwrap_or("");
        }
        s
    }
}

/// How many live sessions a Kill & Cleanup dry run would stop.
pub fn sessions_to_stop(items: &[CleanupItem]) -> usize {
    items
        .iter()
        .filter(|i| i.kind == CleanupKind::Session)
        .count()
}

fn plural_s(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_es(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}

/// The proxy summary above the usage chart.
pub fn proxy_summary(address: &str, requests: u64, active: u64, errors: u64) -> String {
    format!(
        "{address} · {} request{} · {active} open stream{} · {errors} error{}",
        requests,
        if requests == 1 { "" } else { "s" },
        if active == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
    )
}

// ---- cost and prices (issue 14) ----

/// Pico-dollars in a ten-thousandth of a dollar (the last decimal shown below a dollar).
const PICO_PER_BASIS: u64 = PICO_USD_PER_USD / 10_000;

/// A cost as the panel shows it: four decimals below a dollar (`$0.0503`), two from a dollar
/// (`$12.34`), rounded to the nearest, halves up; a non-zero cost too small to show is
/// `< $0.0001`.
pub fn usd_label(pico: u64) -> String {
    let round = |unit: u64| pico / unit + u64::from(pico % unit >= unit / 2);
    if pico >= PICO_USD_PER_USD {
        let cents = round(PICO_USD_PER_USD / 100);
        return format!("${}.{:02}", cents / 100, cents % 100);
    }
    let basis = round(PICO_PER_BASIS);
    if basis == 0 && pico > 0 {
        return "< $0.0001".to_owned();
    }
    format!("${}.{:04}", basis / 10_000, basis % 10_000)
}

/// The cost of some requests: `None` before the first; `no price set` when none had a
/// price (never $0); `$0.0503 + 2 unpriced` when some had none.
pub fn cost_label(pico: u64, priced_requests: u64, requests: u64) -> Option<String> {
    let unpriced = requests.saturating_sub(priced_requests);
    match (requests, priced_requests) {
        (0, _) => None,
        (_, 0) => Some("no price set".to_owned()),
        _ if unpriced > 0 => Some(format!("{} + {unpriced} unpriced", usd_label(pico))),
        _ => Some(usd_label(pico)),
    }
}

/// `60 % cached`: the input tokens read from the provider's cache (cached ÷ input, rounded
/// down, so 100 % means all of them); `None` without input.
pub fn cache_hit_label(cached: u64, input: u64) -> Option<String> {
    if input == 0 {
        return None;
    }
    let percent = u128::from(cached.min(input)) * 100 / u128::from(input);
    Some(format!("{percent} % cached"))
}

/// The prompt-cache picker of the endpoint editor, in [`CacheTtl::ALL`] order.
pub fn cache_labels() -> Vec<&'static str> {
    CacheTtl::ALL
        .iter()
        .map(|c| match c {
            CacheTtl::FiveMinutes => "5 minutes",
            CacheTtl::OneHour => "1 hour",
            CacheTtl::Off => "Off",
        })
        .collect()
}

/// The position of a cache setting in the picker.
pub fn cache_index(cache: CacheTtl) -> u32 {
    CacheTtl::ALL
        .iter()
        .position(|c| *c == cache)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(0)
}

/// The cache setting at a picker position (the default past the end).
pub fn cache_at(index: u32) -> CacheTtl {
    usize::try_from(index)
        .ok()
        .and_then(|i| CacheTtl::ALL.get(i))
        .copied()
        .unwrap_or_default()
}

/// A model's prices as its row's four entries show them: input, cached input, cache write,
/// output (empty: not set).
pub fn price_texts(p: &ModelPrices) -> [String; 4] {
    [&p.input, &p.cached_input, &p.cache_write, &p.output].map(|v| v.clone().unwrap_or_default())
}

/// What to send as `SetModelPrices` for what was typed into a model row's entries (input,
/// cached input, cache write, output) over the prices it showed: only the entries changed
/// (an emptied one unsets its price), `None` when nothing changed. The daemon checks the
/// numbers.
pub fn price_edit(shown: &ModelPrices, typed: [&str; 4]) -> Option<ModelPrices> {
    let was = price_texts(shown);
    let change = |i: usize| {
        let now = typed[i].trim();
        (now != was[i]).then(|| now.to_owned())
    };
    let edit = ModelPrices {
        input: change(0),
        cached_input: change(1),
        cache_write: change(2),
        output: change(3),
        as_of: None,
    };
    (edit != ModelPrices::default()).then_some(edit)
}

/// Where a model's prices come from, under its entries.
pub fn prices_note(p: &ModelPrices) -> String {
    match &p.as_of {
        Some(day) => format!("List prices per million tokens, read {day}"),
        None if price_texts(p).iter().all(String::is_empty) => {
            "No price set: cost shows as \u{201c}no price set\u{201d}".to_owned()
        }
        None => "Your prices per million tokens".to_owned(),
    }
}

// ---- turns (issue 18) ----

/// How many failures the main window lists.
pub const RECENT_FAILURES: usize = 8;

/// One row of "Recent failures".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureLine {
    /// The turn's number.
    pub id: u64,
    /// Its endpoint (what "Replay on…" starts from).
    pub endpoint: String,
    /// `deepseek · deepseek-chat`.
    pub title: String,
    /// `3 min ago · The endpoint … answered HTTP 400: …` (the error in one line, clipped).
    pub subtitle: String,
    /// The whole one-line error (the row's tooltip).
    pub error: String,
}

/// `just now`, `3 min ago`, `2 h ago`, `4 d ago`.
pub fn age_label(started: u64, now: u64) -> String {
    match now.saturating_sub(started) {
        s if s < 10 => "just now".to_owned(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The newest failed turns (at most [`RECENT_FAILURES`]), newest first, as rows show them.
pub fn failure_lines(turns: &[TurnInfo], now: u64) -> Vec<FailureLine> {
    let mut failed: Vec<&TurnInfo> = turns
        .iter()
        .filter(|t| t.outcome == TurnOutcome::Failed)
        .collect();
    failed.sort_by_key(|t| std::cmp::Reverse(t.id));
    failed
        .into_iter()
        .take(RECENT_FAILURES)
        .map(|t| {
            let title = match t.model.as_str() {
                "" => t.endpoint.clone(),
                m => format!("{} · {m}", t.endpoint),
            };
            let error = match t.error.as_str() {
                "" => "failed".to_owned(),
                e => e.to_owned(),
            };
            let mut when = age_label(t.started, now);
            if t.replay_of != 0 {
                when.push_str(&format!(" · replay of #{}", t.replay_of));
            } else if t.origin == codex_launcher_dbus::TurnOrigin::Probe {
                when.push_str(" · probe");
            }
            FailureLine {
                id: t.id,
                endpoint: t.endpoint.clone(),
                title: format!("#{} · {title}", t.id),
                subtitle: format!("{when} · {}", clip(&error, 140)),
                error,
            }
        })
        .collect()
}

/// The "Replay on…" picker: every endpoint, the first one that is not the failed turn's
/// preselected (the point is usually to try another provider), else the turn's own.
pub fn replay_choices(endpoints: &[EndpointInfo], failed_on: &str) -> (Vec<String>, u32) {
    let labels = endpoints.iter().map(endpoint_label).collect();
    let other = endpoints
        .iter()
        .position(|e| e.is_default && e.id != failed_on)
        .or_else(|| endpoints.iter().position(|e| e.id != failed_on))
        .unwrap_or(0);
    (labels, u32::try_from(other).unwrap_or(0))
}

/// The toast after a replay.
pub fn replay_summary(o: &ReplayOutcome, on: &str) -> String {
    let verdict = if o.ok { "succeeded" } else { "failed" };
    let recorded = match o.turn {
        0 => String::new(),
        n => format!(" (turn #{n})"),
    };
    format!(
        "Replay of #{} on {on} {verdict}{recorded}: {}",
        o.of,
        clip(&o.message, 160)
    )
}

/// A recorded turn as the Show window's text: one block per section, `what: value` lines,
/// values spanning lines indented.
pub fn turn_text(d: &TurnDetail) -> String {
    let mut out = String::new();
    for (i, section) in d.sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&section.title);
        out.push('\n');
        let width = section
            .lines
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (key, value) in &section.lines {
            let mut lines = value.lines();
            let first = lines.next().unwrap_or("");
            out.push_str(&format!("  {key:width$}  {first}\n"));
            for more in lines {
                out.push_str(&format!("  {:width$}  {more}\n", ""));
            }
        }
    }
    out
}

/// The file name the export offers.
pub fn turn_file_name(id: u64, redact_text: bool) -> String {
    if redact_text {
        format!("codex-turn-{id}-redacted.json")
    } else {
        format!("codex-turn-{id}.json")
    }
}

// ---- fallback groups (issue 15) ----

/// What a position of the main window's endpoint picker means: the endpoints come first, in
/// the daemon's order, then the fallback groups. A group id goes wherever an endpoint id
/// does (`Launch`), so both are only an id to launch with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerEntry<'a> {
    /// An endpoint.
    Endpoint(&'a EndpointInfo),
    /// A fallback group.
    Group(&'a GroupInfo),
}

impl PickerEntry<'_> {
    /// The id `Launch` takes.
    pub fn id(&self) -> &str {
        match self {
            PickerEntry::Endpoint(e) => &e.id,
            PickerEntry::Group(g) => &g.id,
        }
    }
}

/// The picker entry at `index` (`None` past the end).
pub fn picker_entry<'a>(
    endpoints: &'a [EndpointInfo],
    groups: &'a [GroupInfo],
    index: u32,
) -> Option<PickerEntry<'a>> {
    let i = usize::try_from(index).ok()?;
    match endpoints.get(i) {
        Some(e) => Some(PickerEntry::Endpoint(e)),
        None => groups.get(i - endpoints.len()).map(PickerEntry::Group),
    }
}

/// The endpoint picker with the groups after the endpoints: labels, and which to preselect
/// (the one chosen before if still there, endpoint or group, else as [`endpoint_choices`]).
pub fn launch_choices(
    endpoints: &[EndpointInfo],
    groups: &[GroupInfo],
    previous: Option<&str>,
) -> (Vec<String>, u32) {
    let (mut labels, mut selected) = endpoint_choices(endpoints, previous);
    labels.extend(groups.iter().map(group_label));
    let previous_group = previous.and_then(|p| groups.iter().position(|g| g.id == p));
    let on_endpoint = previous.is_some_and(|p| endpoints.iter().any(|e| e.id == p));
    if let Some(g) = previous_group
        && !on_endpoint
    {
        selected = u32::try_from(endpoints.len() + g).unwrap_or(0);
    }
    (labels, selected)
}

/// `plan-first (group: plan → paygo)`; `Plan First (plan-first, group: …)` when the name is
/// not the id.
pub fn group_label(g: &GroupInfo) -> String {
    let members: Vec<&str> = g.members.iter().map(|m| m.endpoint.as_str()).collect();
    let members = if members.is_empty() {
        "no members".to_owned()
    } else {
        members.join(" → ")
    };
    if g.name.is_empty() || g.name == g.id {
        format!("{} (group: {members})", g.id)
    } else {
        format!("{} ({}, group: {members})", g.name, g.id)
    }
}

/// `deepseek · deepseek-chat`: the member's endpoint and the model it asks for (the model as
/// configured, else the one the daemon resolved, else the endpoint alone).
pub fn member_target(m: &GroupMemberInfo) -> String {
    let model = [&m.model, &m.upstream_model]
        .into_iter()
        .find(|s| !s.is_empty());
    match model {
        Some(model) => format!("{} · {model}", m.endpoint),
        None => m.endpoint.clone(),
    }
}

/// What the breaker states are called on screen: the daemon's words (`codexctl group`
/// shows the same), so a member reads alike in both.
pub fn breaker_label(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half-open",
    }
}

/// One member's line in the Groups list:
/// `deepseek · deepseek-chat — open, 42 s cooldown: HTTP 429`.
pub fn member_line(m: &GroupMemberInfo) -> String {
    let mut line = format!("{} — {}", member_target(m), breaker_label(m.breaker));
    if m.cooldown_secs > 0 {
        line.push_str(&format!(", {} cooldown", duration_label(m.cooldown_secs)));
    }
    if !m.last_error.is_empty() {
        line.push_str(": ");
        line.push_str(&clip(&m.last_error, 160));
    }
    line
}

/// The members' lines, in the order they are tried, numbered (`1. …`), one a line.
pub fn group_subtitle(g: &GroupInfo) -> String {
    if g.members.is_empty() {
        return "No members".to_owned();
    }
    g.members
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{}. {}", i + 1, member_line(m)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A member as the group editor holds it: an endpoint id and an optional model (empty: the
/// endpoint's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDraft {
    /// Endpoint id.
    pub endpoint: String,
    /// Model (empty: the endpoint's default).
    pub model: String,
}

impl MemberDraft {
    /// `ENDPOINT[:MODEL]`, as `codexctl group add` takes it.
    pub fn spec(&self) -> String {
        let (endpoint, model) = (self.endpoint.trim(), self.model.trim());
        if model.is_empty() {
            endpoint.to_owned()
        } else {
            format!("{endpoint}:{model}")
        }
    }
}

/// The editor's drafts of a group's members, in order.
pub fn member_drafts(g: &GroupInfo) -> Vec<MemberDraft> {
    g.members
        .iter()
        .map(|m| MemberDraft {
            endpoint: m.endpoint.clone(),
            model: m.model.clone(),
        })
        .collect()
}

/// Move member `i` one place up (`up`) or down; `false` (nothing moved) at either end.
pub fn move_member(members: &mut [MemberDraft], i: usize, up: bool) -> bool {
    let j = if up {
        i.checked_sub(1)
    } else {
        i.checked_add(1).filter(|j| *j < members.len())
    };
    match j {
        Some(j) if i < members.len() => {
            members.swap(i, j);
            true
        }
        _ => false,
    }
}

/// What `AddGroup`/`UpdateGroup` take: `(endpoint, model)` pairs in order, trimmed, or why
/// not (no member, or a member with no endpoint). The daemon checks the rest (that the
/// endpoints exist, the name).
pub fn group_members(members: &[MemberDraft]) -> Result<Vec<(String, String)>, String> {
    if members.is_empty() {
        return Err("A group needs at least one member".to_owned());
    }
    members
        .iter()
        .enumerate()
        .map(|(i, m)| match m.endpoint.trim() {
            "" => Err(format!("Member {} has no endpoint", i + 1)),
            e => Ok((e.to_owned(), m.model.trim().to_owned())),
        })
        .collect()
}

/// The endpoint dropdown of a member row: the endpoints' labels, `endpoint` preselected
/// (listed first, as its id, when it is not among them: a member whose endpoint was
/// deleted still shows what it names).
pub fn member_endpoint_choices(
    endpoints: &[EndpointInfo],
    endpoint: &str,
) -> (Vec<String>, Vec<String>, u32) {
    let mut ids: Vec<String> = endpoints.iter().map(|e| e.id.clone()).collect();
    let mut labels: Vec<String> = endpoints.iter().map(endpoint_label).collect();
    if !endpoint.is_empty() && !ids.iter().any(|id| id == endpoint) {
        ids.insert(0, endpoint.to_owned());
        labels.insert(0, endpoint.to_owned());
    }
    let selected = ids.iter().position(|id| id == endpoint).unwrap_or(0);
    (ids, labels, u32::try_from(selected).unwrap_or(0))
}

// ---- extra headers (issue 13) ----

/// Whether a header name says it is a credential: `auth`, `key`, `token`, `secret`,
/// `cookie` or `session` anywhere in it, case-insensitive. The daemon's rule
/// (`codex_launcher_engine::credentials::is_secret_header`, which the panel cannot depend
/// on): the daemon refuses such a header as not secret, so the switch turns on by itself.
pub fn is_secret_header_name(name: &str) -> bool {
    const WORDS: [&str; 6] = ["auth", "key", "token", "secret", "cookie", "session"];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|w| name.contains(w))
}

/// How the daemon shows a secret header's value (it never sends it).
pub const HIDDEN_VALUE: &str = "***";

/// One header as the editor lists it: `X-Title: codex` or `Authorization: *** (secret)`.
pub fn header_line(name: &str, value: &str) -> String {
    if value == HIDDEN_VALUE {
        format!("{name}: {HIDDEN_VALUE} (secret)")
    } else {
        format!("{name}: {value}")
    }
}

/// A header change the editor will send with `SetHeader(id, name, value, secret)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderChange {
    /// Header name.
    pub name: String,
    /// Its value (empty: remove it).
    pub value: String,
    /// Keep it with the keys.
    pub secret: bool,
}

impl HeaderChange {
    /// Remove header `name`. `secret` is what the daemon accepts for it: a name that says it
    /// is a credential must be sent as secret, any other as not (which also drops the
    /// "secret" mark the daemon kept for it).
    pub fn remove(name: &str) -> HeaderChange {
        HeaderChange {
            name: name.trim().to_owned(),
            value: String::new(),
            secret: is_secret_header_name(name),
        }
    }

    /// Set header `name` to `value`; secret when asked or when its name says so. `None`
    /// without a name or a value (an empty value would remove it).
    pub fn set(name: &str, value: &str, secret: bool) -> Option<HeaderChange> {
        let (name, value) = (name.trim(), value.trim());
        (!name.is_empty() && !value.is_empty()).then(|| HeaderChange {
            name: name.to_owned(),
            value: value.to_owned(),
            secret: secret || is_secret_header_name(name),
        })
    }
}

/// The headers the editor lists after its pending changes: the endpoint's own, minus the
/// removed ones, with the added ones last (a secret one's value shown as `***`). Names
/// compare case-insensitively, as HTTP's do.
pub fn headers_after(
    shown: &[(String, String)],
    changes: &[HeaderChange],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = shown.to_vec();
    for c in changes {
        out.retain(|(n, _)| !n.eq_ignore_ascii_case(&c.name));
        if !c.value.is_empty() {
            let value = if c.secret {
                HIDDEN_VALUE.to_owned()
            } else {
                c.value.clone()
            };
            out.push((c.name.clone(), value));
        }
    }
    out
}

// ---- key storage ----

/// Where the daemon keeps keys (`KeyStorage`), for people; empty for a value this panel does
/// not know (an older or newer daemon).
pub fn key_storage_text(storage: &str) -> String {
    match storage.parse::<KeyStorage>() {
        Ok(KeyStorage::SecretService) => "Keys: in the keyring".to_owned(),
        Ok(KeyStorage::Locked) => {
            "Keyring locked: unlock it (e.g. with Seahorse) to use stored keys".to_owned()
        }
        Ok(KeyStorage::File) => "Keys: in a 0600 file (no Secret Service)".to_owned(),
        Err(_) => String::new(),
    }
}

/// Whether the key-storage line is a warning (a locked keyring stops every keyed launch).
pub fn key_storage_is_warning(storage: &str) -> bool {
    storage.parse::<KeyStorage>() == Ok(KeyStorage::Locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: &str, default: bool, models: &[&str], default_model: &str) -> EndpointInfo {
        EndpointInfo {
            id: id.into(),
            is_default: default,
            spec: EndpointSpec {
                name: id.to_uppercase(),
                backend: Backend::OpenaiCompat,
                base_url: format!("https://{id}.example/v1"),
                default_model: default_model.into(),
                models: models
                    .iter()
                    .map(|m| ModelSpec {
                        id: (*m).into(),
                        ..ModelSpec::default()
                    })
                    .collect(),
                ..EndpointSpec::default()
            },
            ..EndpointInfo::default()
        }
    }

    fn session(n: u64, state: &str, code: i32) -> SessionView {
        SessionView {
            path: format!("/io/github/CodexLauncher1/session/{n}"),
            endpoint: "ds".into(),
            model: "deepseek-chat".into(),
            mode: Mode::Cli,
            state: state.parse().expect("a state"),
            started: 1_000,
            exit_code: code,
            ..SessionView::default()
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_label(0), "0 s");
        assert_eq!(duration_label(59), "59 s");
        assert_eq!(duration_label(60), "1 min 00 s");
        assert_eq!(duration_label(185), "3 min 05 s");
        assert_eq!(duration_label(3600), "1 h 00 min");
        assert_eq!(duration_label(7620), "2 h 07 min");
    }

    #[test]
    fn a_running_session_counts_up_and_an_ended_one_stops() {
        let mut s = session(1, "running", -1);
        assert_eq!(s.duration_label(1_042), "42 s");
        s.state = SessionState::Exited;
        s.exit_code = 0;
        assert_eq!(s.duration_label(1_042), "—", "end unknown");
        s.ended = Some(1_010);
        assert_eq!(s.duration_label(5_000), "10 s");
        // A clock that went backwards shows 0, not a wrapped number.
        let s = session(2, "running", -1);
        assert_eq!(s.duration_label(10), "0 s");
    }

    #[test]
    fn counts_are_compact() {
        assert_eq!(compact_count(0), "0");
        assert_eq!(compact_count(999), "999");
        assert_eq!(compact_count(1_000), "1.0k");
        assert_eq!(compact_count(12_345), "12.3k");
        assert_eq!(compact_count(123_456), "123k");
        assert_eq!(compact_count(4_150_000), "4.1M");
        assert_eq!(compact_count(7_000_000_000), "7.0G");
    }

    #[test]
    fn tokens_say_when_there_was_no_traffic() {
        assert_eq!(tokens_label(0, 0, 0), "no traffic");
        assert_eq!(tokens_label(3, 12_345, 950), "12.3k in · 950 out");
        assert_eq!(tokens_label(1, 0, 0), "0 in · 0 out");
    }

    #[test]
    fn states_and_modes_have_labels() {
        assert_eq!(state_label(SessionState::Running, -1), "Running");
        assert_eq!(state_label(SessionState::Stalled, -1), "Stalled");
        assert_eq!(state_label(SessionState::Exited, 0), "Exited (0)");
        assert_eq!(state_label(SessionState::Exited, 1), "Exited (1)");
        assert_eq!(state_label(SessionState::Exited, 137), "Killed (signal 9)");
        assert_eq!(state_label(SessionState::Exited, -1), "Exited");
        assert_eq!(state_style(SessionState::Running, -1), "success");
        assert_eq!(state_style(SessionState::Exited, 0), "dim-label");
        assert_eq!(state_style(SessionState::Exited, 2), "error");
        assert_eq!(mode_label(Mode::DefaultDesktop), "Codex Default (Desktop)");
        assert_eq!(mode_label(Mode::Cli), "CLI");
    }

    #[test]
    fn sessions_are_newest_first_and_numbered_from_their_path() {
        let mut list = [
            session(2, "exited", 0),
            session(10, "running", -1),
            session(1, "running", -1),
        ];
        list.sort_by(session_order);
        let numbers: Vec<u64> = list.iter().map(SessionView::number).collect();
        assert_eq!(numbers, [10, 2, 1]);
        assert_eq!(session_number("/x/session/abc"), 0);
    }

    #[test]
    fn a_codex_default_session_names_no_endpoint() {
        let mut s = session(1, "running", -1);
        assert_eq!(s.target_label(), "ds · deepseek-chat");
        s.endpoint.clear();
        s.model.clear();
        assert_eq!(s.target_label(), "Codex's own login");
    }

    #[test]
    fn codex_default_launches_take_no_endpoint() {
        assert_eq!(LaunchKind::Cli.request("ds", "m"), ("ds", "m", "cli"));
        assert_eq!(
            LaunchKind::Desktop.request("ds", "m"),
            ("ds", "m", "desktop")
        );
        assert_eq!(
            LaunchKind::DefaultCli.request("ds", "m"),
            ("", "", "default-cli")
        );
        assert_eq!(
            LaunchKind::DefaultDesktop.request("ds", "m"),
            ("", "", "default-desktop")
        );
    }

    #[test]
    fn the_default_endpoint_and_model_are_preselected() {
        let eps = [
            endpoint("a", false, &["a1"], "a1"),
            endpoint("b", true, &["b1", "b2", "b3"], "b2"),
        ];
        let (labels, selected) = endpoint_choices(&eps, None);
        assert_eq!(labels, ["A (a)", "B (b)"]);
        assert_eq!(selected, 1);
        // A choice the user made survives a reload while the endpoint exists.
        assert_eq!(endpoint_choices(&eps, Some("a")).1, 0);
        assert_eq!(endpoint_choices(&eps, Some("gone")).1, 1);
        assert_eq!(endpoint_choices(&[], None), (vec![], 0));

        let b = vec!["b1".to_owned(), "b2".into(), "b3".into()];
        assert_eq!(model_choices(&eps[1], None), (b.clone(), 1));
        assert_eq!(model_choices(&eps[1], Some("b3")), (b.clone(), 2));
        assert_eq!(model_choices(&eps[1], Some("gone")), (b, 1));
        // A default model the list lacks is offered first.
        let odd = endpoint("c", false, &["c1"], "c0");
        assert_eq!(
            model_choices(&odd, None),
            (vec!["c0".into(), "c1".into()], 0)
        );
        let none = endpoint("d", false, &[], "");
        assert_eq!(model_choices(&none, None), (vec![], 0));
    }

    #[test]
    fn endpoint_subtitles_say_where_the_key_is() {
        let mut e = endpoint("ds", true, &["x"], "x");
        assert_eq!(
            endpoint_subtitle(&e),
            "openai-compat · https://ds.example/v1 · 1 model · no key"
        );
        e.has_key = true;
        e.key_storage = "secret-service".into();
        e.spec.models.push(ModelSpec::default());
        assert!(endpoint_subtitle(&e).ends_with("2 models · key in secret-service"));
    }

    #[test]
    fn errors_show_the_short_name_and_the_daemons_message() {
        assert_eq!(
            error_text(
                "io.github.CodexLauncher1.Error.InvalidArgument",
                "base URL must be http or https"
            ),
            "InvalidArgument: base URL must be http or https"
        );
        assert_eq!(
            error_text("org.freedesktop.DBus.Error.ServiceUnknown", "no such name"),
            "ServiceUnknown: no such name"
        );
        assert_eq!(error_text("", "connection refused"), "connection refused");
        assert_eq!(
            error_text("io.github.CodexLauncher1.Error.NotFound", ""),
            "NotFound"
        );
    }

    #[test]
    fn efforts_round_trip_through_the_entry() {
        assert_eq!(
            parse_efforts(" low, medium ,high "),
            ["low", "medium", "high"]
        );
        assert_eq!(parse_efforts("low high"), ["low", "high"]);
        assert!(parse_efforts(" , ").is_empty());
        assert_eq!(efforts_text(&parse_efforts("low,high")), "low, high");
    }

    #[test]
    fn a_preset_fills_the_form_but_keeps_a_typed_name() {
        let preset = |id: &str, name: &str| Preset {
            id: id.into(),
            spec: EndpointSpec {
                name: name.into(),
                preset: id.into(),
                backend: Backend::OpenaiCompat,
                base_url: format!("https://{id}.example/v1"),
                default_model: format!("{id}-chat"),
                ..EndpointSpec::default()
            },
            notes: String::new(),
        };
        let ds = preset("deepseek", "DeepSeek");
        let kimi = preset("kimi", "Kimi");
        let filled = apply_preset(&EndpointSpec::default(), None, &ds);
        assert_eq!(filled, ds.spec);
        // Switching presets replaces the preset's own name...
        let switched = apply_preset(&filled, Some(&ds), &kimi);
        assert_eq!(switched.name, "Kimi");
        assert_eq!(switched.base_url, "https://kimi.example/v1");
        // ...but not one the user typed.
        let typed = EndpointSpec {
            name: "My work account".into(),
            ..filled
        };
        assert_eq!(
            apply_preset(&typed, Some(&ds), &kimi).name,
            "My work account"
        );
    }

    #[test]
    fn a_models_row_edits_its_metadata_only() {
        let spec = ModelSpec {
            id: "k2".into(),
            display_name: "Kimi K2".into(),
            context_window: 0,
            reasoning_efforts: vec!["low".into(), "high".into()],
            default_effort: "high".into(),
            parallel_tool_calls: true,
            ..ModelSpec::default()
        };
        let kept = with_edits(&spec, 131_072, "low, high");
        assert_eq!(kept.context_window, 131_072);
        assert_eq!(kept.default_effort, "high");
        assert!(kept.parallel_tool_calls);
        assert_eq!(kept.display_name, "Kimi K2");
        let dropped = with_edits(&spec, 0, "low");
        assert_eq!(dropped.reasoning_efforts, ["low"]);
        assert_eq!(dropped.default_effort, "", "high is no longer offered");
    }

    #[test]
    fn backends_have_fixed_positions() {
        assert_eq!(backend_index(Backend::Anthropic), 1);
        assert_eq!(backend_index(Backend::OpenaiResponses), 3);
        assert_eq!(backend_at(3), Backend::OpenaiResponses);
        assert_eq!(backend_at(99), Backend::OpenaiCompat);
    }

    #[test]
    fn a_fetch_keeps_unsaved_model_edits() {
        let m = |id: &str, ctx: u64| ModelSpec {
            id: id.into(),
            context_window: ctx,
            ..ModelSpec::default()
        };
        let merged = merge_edited_models(
            &[m("a", 0), m("b", 0), m("c", 9)],
            &[m("b", 128_000), m("gone", 1)],
        );
        assert_eq!(merged, [m("a", 0), m("b", 128_000), m("c", 9)]);
        assert_eq!(imported_label(0), "no new models");
        assert_eq!(imported_label(1), "1 model added");
        assert_eq!(imported_label(3), "3 models added");
    }

    #[test]
    fn usage_bars_are_scaled_to_the_busiest_model() {
        let u = |ep: &str, model: &str, i: u64, o: u64, req: u64, err: u64| UsageCost {
            endpoint: ep.into(),
            model: model.into(),
            requests: req,
            input_tokens: i,
            output_tokens: o,
            errors: err,
            ..UsageCost::default()
        };
        let bars = usage_bars(&[
            u("ds", "chat", 100, 100, 2, 0),
            u("kimi", "k2", 3_000, 1_000, 1, 1),
        ]);
        assert_eq!(bars[0].label, "kimi / k2");
        assert_eq!(bars[0].input, 0.75);
        assert_eq!(bars[0].output, 0.25);
        assert_eq!(
            bars[0].detail,
            "3.0k in · 1.0k out · 1 request · 1 error · 0 % cached · no price set"
        );
        assert!(bars[0].has_errors);
        assert_eq!(
            bars[1].detail,
            "100 in · 100 out · 2 requests · 0 % cached · no price set"
        );
        let priced = UsageCost {
            cached_input_tokens: 75,
            cost_pico_usd: 50_300_000_000,
            priced_requests: 2,
            ..u("ds", "chat", 100, 100, 2, 0)
        };
        assert_eq!(
            usage_bars(&[priced])[0].detail,
            "100 in · 100 out · 2 requests · 75 % cached · $0.0503"
        );
        assert_eq!(bars[1].input, 0.025);
        // Nothing yet: bars of zero, not a division by zero.
        let idle = usage_bars(&[u("ds", "chat", 0, 0, 0, 0)]);
        assert_eq!((idle[0].input, idle[0].output), (0.0, 0.0));
    }

    #[test]
    fn cleanup_is_summed_up_by_what_was_done() {
        let item = |kind: &str, pid: u32, action: &str| CleanupItem {
            kind: kind.parse().expect("a kind"),
            pid,
            path: "/opt/codex-desktop/codex-desktop".into(),
            description: "no session owns it".into(),
            action: action.parse().expect("an action"),
        };
        assert_eq!(cleanup_summary(&[]), "Nothing to clean up");
        assert_eq!(
            cleanup_summary(&[
                item("session", 7, "stopped"),
                item("session", 8, "stopped"),
                item("process", 42, "terminated"),
                item("process", 43, "killed"),
                item("pid-file", 0, "removed"),
                item("backup", 0, "restored"),
                item("socket", 0, "failed: busy"),
            ]),
            "2 sessions stopped, 2 stray processes ended, 1 stale file removed, config.toml backup restored, 1 failed"
        );
        assert_eq!(
            cleanup_summary(&[item("session", 7, "stopped")]),
            "1 session stopped"
        );
        let dry = [
            item("session", 7, "found"),
            item("process", 42, "found"),
            item("socket", 0, "found"),
        ];
        assert_eq!(sessions_to_stop(&dry), 1);
        assert_eq!(
            cleanup_lines(&dry),
            [
                "process 42 (/opt/codex-desktop/codex-desktop): no session owns it",
                "socket /opt/codex-desktop/codex-desktop: no session owns it"
            ]
        );
    }

    #[test]
    fn the_proxy_summary_counts_in_words() {
        assert_eq!(
            proxy_summary("http://127.0.0.1:47821", 1, 0, 2),
            "http://127.0.0.1:47821 · 1 request · 0 open streams · 2 errors"
        );
    }

    #[test]
    fn costs_read_as_dollars_and_no_price_is_never_zero() {
        assert_eq!(usd_label(0), "$0.0000");
        assert_eq!(usd_label(50_250_000_000), "$0.0503", "halves up");
        assert_eq!(usd_label(50_249_999_999), "$0.0502");
        assert_eq!(usd_label(1), "< $0.0001");
        assert_eq!(usd_label(12_345_000_000_000), "$12.35");
        assert_eq!(usd_label(PICO_USD_PER_USD), "$1.00");
        assert_eq!(cost_label(0, 0, 0), None, "no requests, no cost");
        assert_eq!(cost_label(0, 0, 4).as_deref(), Some("no price set"));
        assert_eq!(
            cost_label(0, 4, 4).as_deref(),
            Some("$0.0000"),
            "a price of $0 is a price"
        );
        assert_eq!(
            cost_label(50_300_000_000, 3, 4).as_deref(),
            Some("$0.0503 + 1 unpriced")
        );
        assert_eq!(cache_hit_label(0, 0), None);
        assert_eq!(cache_hit_label(600, 1_000).as_deref(), Some("60 % cached"));
        assert_eq!(cache_hit_label(999, 1_000).as_deref(), Some("99 % cached"));
    }

    #[test]
    fn a_session_shows_its_cache_hits_and_cost_next_to_its_tokens() {
        let mut s = session(1, "running", -1);
        assert_eq!(s.traffic_label(), "no traffic");
        s.set_traffic(SessionTraffic {
            requests: 2,
            tokens_in: 2_000,
            tokens_out: 100,
            cached_tokens_in: 1_200,
            cost_pico_usd: 3_000_000_000,
            priced_requests: 2,
        });
        assert_eq!(
            s.traffic_label(),
            "2.0k in · 100 out · 60 % cached · $0.0030"
        );
        s.priced_requests = 0;
        assert_eq!(
            s.traffic_label(),
            "2.0k in · 100 out · 60 % cached · no price set"
        );
    }

    #[test]
    fn the_cache_picker_has_fixed_positions() {
        assert_eq!(cache_labels().len(), CacheTtl::ALL.len());
        assert_eq!(cache_index(CacheTtl::FiveMinutes), 0);
        assert_eq!(cache_at(cache_index(CacheTtl::Off)), CacheTtl::Off);
        assert_eq!(cache_at(99), CacheTtl::FiveMinutes);
    }

    #[test]
    fn a_model_rows_price_entries_send_only_what_changed() {
        let shown = ModelPrices {
            input: Some("3".into()),
            cached_input: Some("0.3".into()),
            cache_write: Some("3.75".into()),
            output: Some("15".into()),
            as_of: Some("2026-12-02".into()),
        };
        assert_eq!(price_texts(&shown), ["3", "0.3", "3.75", "15"]);
        assert_eq!(price_edit(&shown, ["3", "0.3", "3.75", " 15 "]), None);
        assert_eq!(
            price_edit(&shown, ["2.5", "0.3", "", "15"]),
            Some(ModelPrices {
                input: Some("2.5".into()),
                cache_write: Some(String::new()),
                ..ModelPrices::default()
            }),
            "a changed price, and an emptied one to unset"
        );
        assert_eq!(
            prices_note(&shown),
            "List prices per million tokens, read 2026-12-02"
        );
        assert!(prices_note(&ModelPrices::default()).starts_with("No price set"));
        let mine = ModelPrices {
            input: Some("1".into()),
            ..ModelPrices::default()
        };
        assert_eq!(prices_note(&mine), "Your prices per million tokens");
    }

    fn turn(id: u64, outcome: TurnOutcome, error: &str) -> TurnInfo {
        TurnInfo {
            id,
            started: 1_000,
            endpoint: "ds".into(),
            model: "deepseek-chat".into(),
            session: 0,
            origin: codex_launcher_dbus::TurnOrigin::Codex,
            outcome,
            status: 400,
            failure_kind: "invalid_request".into(),
            stage: "status".into(),
            error: error.into(),
            replay_of: 0,
            duration_ms: 12,
            bytes: 4096,
        }
    }

    #[test]
    fn recent_failures_are_the_newest_failed_turns_in_one_line() {
        let mut turns: Vec<TurnInfo> = (1..=12)
            .map(|i| {
                turn(
                    i,
                    TurnOutcome::Failed,
                    "The endpoint answered HTTP 400: bad schema",
                )
            })
            .collect();
        turns.push(turn(13, TurnOutcome::Completed, ""));
        let mut long = turn(14, TurnOutcome::Failed, &"x".repeat(400));
        long.replay_of = 3;
        turns.push(long);
        let lines = failure_lines(&turns, 1_000 + 180);
        assert_eq!(lines.len(), RECENT_FAILURES);
        assert_eq!(
            lines[0].id, 14,
            "newest first; the completed turn is not a failure"
        );
        assert_eq!(lines[1].id, 12);
        assert_eq!(lines[1].title, "#12 · ds · deepseek-chat");
        assert_eq!(
            lines[1].subtitle,
            "3 min ago · The endpoint answered HTTP 400: bad schema"
        );
        assert!(
            lines[0]
                .subtitle
                .starts_with("3 min ago · replay of #3 · xxx")
        );
        assert!(lines[0].subtitle.chars().count() < 200, "clipped");
        assert_eq!(lines[0].error.len(), 400, "the tooltip has it all");
        assert_eq!(age_label(1_000, 1_005), "just now");
        assert_eq!(age_label(1_000, 1_000 + 7_200), "2 h ago");
    }

    #[test]
    fn replay_offers_another_endpoint_first() {
        let eps = [
            endpoint("ds", true, &[], ""),
            endpoint("kimi", false, &[], ""),
            endpoint("or", false, &[], ""),
        ];
        let (labels, selected) = replay_choices(&eps, "ds");
        assert_eq!(labels, ["DS (ds)", "KIMI (kimi)", "OR (or)"]);
        assert_eq!(selected, 1, "not the endpoint that failed");
        assert_eq!(
            replay_choices(&eps, "kimi").1,
            0,
            "the default, when it did not fail"
        );
        assert_eq!(
            replay_choices(&eps[..1], "ds").1,
            0,
            "the only one there is"
        );
        let o = ReplayOutcome {
            of: 4,
            turn: 9,
            ok: true,
            status: 200,
            message: "endpoint `kimi` completed the response".into(),
        };
        assert_eq!(
            replay_summary(&o, "kimi"),
            "Replay of #4 on kimi succeeded (turn #9): endpoint `kimi` completed the response"
        );
        assert_eq!(turn_file_name(4, true), "codex-turn-4-redacted.json");
    }

    #[test]
    fn the_turn_text_aligns_each_section() {
        let d = TurnDetail {
            info: turn(4, TurnOutcome::Failed, "bad"),
            sections: vec![
                codex_launcher_dbus::TurnSection {
                    title: "Turn".into(),
                    lines: vec![
                        ("turn".into(), "4".into()),
                        ("endpoint".into(), "ds".into()),
                    ],
                },
                codex_launcher_dbus::TurnSection {
                    title: "Upstream answer".into(),
                    lines: vec![("body".into(), "12 bytes:\n{\"error\":1}".into())],
                },
            ],
            record_json: "{}".into(),
        };
        assert_eq!(
            turn_text(&d),
            "Turn\n  turn      4\n  endpoint  ds\n\nUpstream answer\n  body  12 bytes:\n        {\"error\":1}\n"
        );
    }

    // ---- fallback groups, headers, key storage ----

    fn member(endpoint: &str, model: &str, breaker: BreakerState) -> GroupMemberInfo {
        GroupMemberInfo {
            endpoint: endpoint.into(),
            model: model.into(),
            upstream_model: String::new(),
            breaker,
            cooldown_secs: 0,
            last_error: String::new(),
        }
    }

    fn group(id: &str, members: &[&str]) -> GroupInfo {
        GroupInfo {
            id: id.into(),
            name: id.into(),
            members: members
                .iter()
                .map(|e| member(e, "", BreakerState::Closed))
                .collect(),
            proxy_url: format!("http://127.0.0.1:1/e/{id}/v1"),
        }
    }

    #[test]
    fn groups_come_after_the_endpoints_in_the_picker() {
        let eps = [
            endpoint("plan", false, &[], ""),
            endpoint("paygo", true, &[], ""),
        ];
        let groups = [group("plan-first", &["plan", "paygo"])];
        let (labels, selected) = launch_choices(&eps, &groups, None);
        assert_eq!(
            labels,
            [
                "PLAN (plan)",
                "PAYGO (paygo)",
                "plan-first (group: plan → paygo)"
            ]
        );
        assert_eq!(selected, 1, "the default endpoint");
        assert_eq!(launch_choices(&eps, &groups, Some("plan-first")).1, 2);
        assert_eq!(launch_choices(&eps, &groups, Some("plan")).1, 0);
        assert_eq!(launch_choices(&eps, &groups, Some("gone")).1, 1);
        assert_eq!(launch_choices(&[], &groups, Some("plan-first")).1, 0);

        let id = |i| picker_entry(&eps, &groups, i).map(|e| e.id().to_owned());
        assert_eq!(id(0).as_deref(), Some("plan"));
        assert_eq!(
            id(2).as_deref(),
            Some("plan-first"),
            "a group launches by its id"
        );
        assert_eq!(id(3), None);
        assert!(matches!(
            picker_entry(&eps, &groups, 2),
            Some(PickerEntry::Group(_))
        ));
        assert_eq!(
            picker_entry(&[], &groups, 0)
                .map(|e| e.id().to_owned())
                .as_deref(),
            Some("plan-first")
        );

        let mut named = group("pf", &[]);
        named.name = "Plan First".into();
        assert_eq!(group_label(&named), "Plan First (pf, group: no members)");
    }

    #[test]
    fn a_member_line_shows_its_breaker_cooldown_and_error() {
        let mut m = member("deepseek", "deepseek-chat", BreakerState::Open);
        m.cooldown_secs = 42;
        m.last_error = "HTTP 429: slow down".into();
        assert_eq!(
            member_line(&m),
            "deepseek · deepseek-chat — open, 42 s cooldown: HTTP 429: slow down"
        );
        let mut m = member("kimi", "", BreakerState::Closed);
        assert_eq!(member_line(&m), "kimi — closed");
        m.upstream_model = "kimi-k2".into();
        assert_eq!(
            member_line(&m),
            "kimi · kimi-k2 — closed",
            "the resolved default"
        );
        let g = GroupInfo {
            members: vec![m, member("ds", "", BreakerState::HalfOpen)],
            ..group("g", &[])
        };
        assert_eq!(
            group_subtitle(&g),
            "1. kimi · kimi-k2 — closed\n2. ds — half-open"
        );
        assert_eq!(group_subtitle(&group("g", &[])), "No members");
    }

    #[test]
    fn members_move_and_are_checked_before_saving() {
        let draft = |e: &str, m: &str| MemberDraft {
            endpoint: e.into(),
            model: m.into(),
        };
        let mut ms = vec![draft("a", ""), draft("b", " b1 "), draft("c", "")];
        assert!(!move_member(&mut ms, 0, true), "the first cannot go up");
        assert!(!move_member(&mut ms, 2, false), "the last cannot go down");
        assert!(!move_member(&mut ms, 7, true), "past the end");
        assert!(move_member(&mut ms, 2, true));
        assert!(move_member(&mut ms, 0, false));
        let order: Vec<&str> = ms.iter().map(|m| m.endpoint.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
        assert_eq!(ms[2].spec(), "b:b1");
        assert_eq!(ms[0].spec(), "c");
        assert_eq!(
            group_members(&ms),
            Ok(vec![
                ("c".into(), String::new()),
                ("a".into(), String::new()),
                ("b".into(), "b1".into())
            ])
        );
        assert_eq!(
            group_members(&[]),
            Err("A group needs at least one member".into())
        );
        assert_eq!(
            group_members(&[draft("a", ""), draft(" ", "m")]),
            Err("Member 2 has no endpoint".into())
        );
        let g = GroupInfo {
            members: vec![member("a", "m", BreakerState::Open)],
            ..group("g", &[])
        };
        assert_eq!(member_drafts(&g), [draft("a", "m")]);
    }

    #[test]
    fn a_member_keeps_an_endpoint_that_is_gone() {
        let eps = [endpoint("a", false, &[], ""), endpoint("b", false, &[], "")];
        let (ids, labels, selected) = member_endpoint_choices(&eps, "b");
        assert_eq!(
            (ids.as_slice(), selected),
            (&["a".to_owned(), "b".to_owned()][..], 1)
        );
        assert_eq!(labels, ["A (a)", "B (b)"]);
        let (ids, _, selected) = member_endpoint_choices(&eps, "gone");
        assert_eq!((ids[0].as_str(), selected), ("gone", 0));
        assert_eq!(member_endpoint_choices(&eps, "").2, 0);
    }

    #[test]
    fn credential_header_names_are_secret() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "x-api-token",
            "X-Client-Secret",
            "Cookie",
            "X-Session-Id",
        ] {
            assert!(is_secret_header_name(name), "{name}");
        }
        for name in ["X-Title", "HTTP-Referer", "User-Agent", ""] {
            assert!(!is_secret_header_name(name), "{name}");
        }
    }

    #[test]
    fn header_changes_follow_the_daemons_rules() {
        assert_eq!(
            HeaderChange::set(" X-Api-Key ", " k ", false),
            Some(HeaderChange {
                name: "X-Api-Key".into(),
                value: "k".into(),
                secret: true
            }),
            "a credential name is secret whatever the switch says"
        );
        assert_eq!(HeaderChange::set("X-Title", "", false), None);
        assert_eq!(HeaderChange::set("", "v", false), None);
        assert!(HeaderChange::set("X-Org", "o", true).is_some_and(|c| c.secret));
        assert!(HeaderChange::remove("Cookie").secret);
        assert!(!HeaderChange::remove("X-Org").secret);
        assert_eq!(HeaderChange::remove("X-Org").value, "");

        let shown = vec![
            ("X-Title".to_owned(), "codex".to_owned()),
            ("Authorization".to_owned(), "***".to_owned()),
        ];
        let changes = [
            HeaderChange::remove("x-title"),
            HeaderChange::set("X-Org", "acme", true).expect("a change"),
            HeaderChange::set("X-Ref", "r", false).expect("a change"),
        ];
        assert_eq!(
            headers_after(&shown, &changes),
            [
                ("Authorization".to_owned(), "***".to_owned()),
                ("X-Org".to_owned(), "***".to_owned()),
                ("X-Ref".to_owned(), "r".to_owned()),
            ]
        );
        assert_eq!(
            header_line("Authorization", "***"),
            "Authorization: *** (secret)"
        );
        assert_eq!(header_line("X-Title", "codex"), "X-Title: codex");
    }

    #[test]
    fn key_storage_says_where_keys_live() {
        assert_eq!(key_storage_text("secret-service"), "Keys: in the keyring");
        assert_eq!(
            key_storage_text("locked"),
            "Keyring locked: unlock it (e.g. with Seahorse) to use stored keys"
        );
        assert_eq!(
            key_storage_text("file"),
            "Keys: in a 0600 file (no Secret Service)"
        );
        assert_eq!(key_storage_text("tpm"), "");
        assert!(key_storage_is_warning("locked"));
        assert!(!key_storage_is_warning("file"));
    }
}
