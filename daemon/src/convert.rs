//! D-Bus types to the state owner's typed values and back, and its errors to the contract's
//! error names. Nothing here decides anything.

use codex_launcher_dbus as api;
use codex_launcher_engine::model::{Endpoint, Group, GroupMember, Model};
use codex_launcher_engine::pricing::Prices;
use codex_launcher_state::StateError;
use codex_launcher_state::cost::PriceEdit;
use codex_launcher_state::views::{
    CleanupItem, CodexInfo, EndpointView, GroupView, ProbeReport, ProxyStatus, RecordingView,
    ReplayReport, RunPlan, SessionView, TurnDetail,
};

/// `/io/github/CodexLauncher1/session/<id>`.
pub fn session_path(id: u64) -> Result<zbus::OwnedObjectPath, api::Error> {
    zbus::OwnedObjectPath::try_from(format!("{}/{id}", api::SESSION_PATH_PREFIX))
        .map_err(|e| api::Error::Internal(format!("session path: {e}")))
}

/// The contract's error for a failed command.
pub fn error(e: StateError) -> api::Error {
    match e {
        StateError::InvalidArgument(m) => api::Error::InvalidArgument(m),
        StateError::NotFound(m) => api::Error::NotFound(m),
        StateError::AlreadyExists(m) => api::Error::AlreadyExists(m),
        StateError::Keyring(m) => api::Error::Keyring(m),
        StateError::Upstream(m) => api::Error::Upstream(m),
        StateError::Io(m) => api::Error::Io(m),
        StateError::Conflict(m) => api::Error::Conflict(m),
        StateError::Internal(m) => api::Error::Internal(m),
    }
}

/// A command's answer as the contract has it.
pub trait Bus<T> {
    /// The value, or the contract's error.
    fn bus(self) -> Result<T, api::Error>;
}

impl<T> Bus<T> for Result<T, StateError> {
    fn bus(self) -> Result<T, api::Error> {
        self.map_err(error)
    }
}

/// A model as the contract has it.
pub fn model_spec(m: &Model) -> api::ModelSpec {
    api::ModelSpec {
        id: m.id.clone(),
        display_name: m.display_name.clone(),
        context_window: m.context_window,
        max_output_tokens: m.max_output_tokens,
        reasoning_efforts: m.reasoning_efforts.clone(),
        default_effort: m.default_effort.clone(),
        input_modalities: m.input_modalities.clone(),
        parallel_tool_calls: m.parallel_tool_calls,
    }
}

fn model(m: api::ModelSpec) -> Model {
    Model {
        id: m.id,
        display_name: m.display_name,
        context_window: m.context_window,
        max_output_tokens: m.max_output_tokens,
        reasoning_efforts: m.reasoning_efforts,
        default_effort: m.default_effort,
        input_modalities: m.input_modalities,
        parallel_tool_calls: m.parallel_tool_calls,
        // Not in the contract's model spec: the owner keeps each model's prices across
        // updates (see `Handle::update_endpoint`).
        prices: Default::default(),
    }
}

/// An endpoint's settings as the contract has them.
pub fn spec(e: &Endpoint) -> api::EndpointSpec {
    api::EndpointSpec {
        name: e.name.clone(),
        preset: e.preset.clone(),
        backend: e.backend,
        base_url: e.base_url.clone(),
        default_model: e.default_model.clone(),
        models: e.models.iter().map(model_spec).collect(),
        browser_ua: e.browser_ua,
        extra_headers: e.extra_headers.clone(),
        provider: e.provider.clone(),
        quirks_json: e
            .quirks
            .as_ref()
            .map(|q| serde_json::Value::Object(q.clone()).to_string())
            .unwrap_or_default(),
    }
}

/// Settings a client sent (the id is the store's to give).
pub fn endpoint(s: api::EndpointSpec) -> Result<Endpoint, api::Error> {
    let quirks = match s.quirks_json.trim() {
        "" => None,
        json => match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => {
                return Err(api::Error::InvalidArgument(
                    "quirks must be a JSON object".into(),
                ));
            }
        },
    };
    Ok(Endpoint {
        id: String::new(),
        name: s.name,
        preset: s.preset,
        backend: s.backend,
        base_url: s.base_url,
        default_model: s.default_model,
        models: s.models.into_iter().map(model).collect(),
        browser_ua: s.browser_ua,
        extra_headers: s.extra_headers,
        // Not in the contract's spec: set by SetHeader and SetKeySource, kept by updates.
        secret_headers: Vec::new(),
        key_env: String::new(),
        provider: s.provider,
        quirks,
        note: String::new(),
        // Not in the contract's spec (`SetEndpointOptions` sets it): the owner keeps it
        // across updates.
        cache: Default::default(),
    })
}

/// An endpoint as clients see it.
pub fn info(v: EndpointView) -> api::EndpointInfo {
    api::EndpointInfo {
        id: v.endpoint.id.clone(),
        spec: spec(&v.endpoint),
        has_key: v.key.is_some(),
        key_storage: v.key.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        is_default: v.is_default,
        proxy_url: v.proxy_url,
    }
}

/// What `PrepareRun` answers.
pub fn run_plan(p: RunPlan) -> Result<api::RunPlan, api::Error> {
    Ok(api::RunPlan {
        session: session_path(p.session)?.to_string(),
        program: p.program.display().to_string(),
        args: p.args,
        env: p.env,
        env_remove: p.env_remove,
    })
}

/// One cleanup item.
pub fn cleanup_item(i: CleanupItem) -> api::CleanupItem {
    api::CleanupItem {
        kind: i.kind,
        pid: i.pid,
        path: i.path.display().to_string(),
        description: i.description,
        action: i.action,
    }
}

/// A probe's report.
pub fn probe_report(r: ProbeReport) -> api::ProbeReport {
    api::ProbeReport {
        endpoint: r.endpoint,
        model: r.model,
        checks: r
            .checks
            .into_iter()
            .map(|c| api::ProbeCheck {
                name: c.name.to_owned(),
                verdict: c.verdict,
                detail: c.detail,
            })
            .collect(),
        quirks_json: r
            .quirks
            .map(|q| serde_json::Value::Object(q).to_string())
            .unwrap_or_default(),
    }
}

/// The proxy's counters and usage.
pub fn proxy_status(s: ProxyStatus) -> api::ProxyStatus {
    api::ProxyStatus {
        address: format!("http://{}", s.address),
        requests: s.requests,
        active_streams: s.active_streams,
        errors: s.errors,
        usage: s
            .usage
            .into_iter()
            .map(|u| api::Usage {
                endpoint: u.endpoint,
                model: u.model,
                requests: u.traffic.requests,
                input_tokens: u.traffic.input_tokens,
                output_tokens: u.traffic.output_tokens,
                errors: u.traffic.errors,
            })
            .collect(),
    }
}

/// A group as the contract has it.
pub fn group_info(v: GroupView) -> api::GroupInfo {
    api::GroupInfo {
        id: v.group.id,
        name: v.group.name,
        members: v
            .members
            .into_iter()
            .map(|m| api::GroupMemberInfo {
                endpoint: m.member.endpoint,
                model: m.member.model,
                upstream_model: m.model,
                breaker: m.breaker,
                cooldown_secs: m.cooldown.map_or(0, |d| d.as_secs().max(1)),
                last_error: m.last_error,
            })
            .collect(),
        proxy_url: v.proxy_url,
    }
}

/// A group a client sent: its id and `(endpoint, model)` members.
pub fn group(id: &str, members: Vec<(String, String)>) -> Group {
    Group {
        id: id.to_owned(),
        name: id.to_owned(),
        members: members
            .into_iter()
            .map(|(endpoint, model)| GroupMember { endpoint, model })
            .collect(),
    }
}

/// A session's start time as the contract has it: seconds since the epoch.
pub fn started_secs(s: &SessionView) -> u64 {
    s.started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---- cost and prices (issue 14) ----

/// An endpoint's options as the contract has them.
pub fn endpoint_options(e: &Endpoint) -> api::EndpointOptions {
    api::EndpointOptions {
        cache: Some(e.cache),
    }
}

/// Options a client sent.
pub fn options(o: api::EndpointOptions) -> codex_launcher_state::views::EndpointOptions {
    codex_launcher_state::views::EndpointOptions { cache: o.cache }
}

/// A model's prices as the contract has them: decimal dollars per million tokens, unset
/// prices left out.
pub fn model_prices(p: &Prices) -> api::ModelPrices {
    let text =
        |price: Option<codex_launcher_engine::pricing::PerMillion>| price.map(|p| p.to_string());
    api::ModelPrices {
        input: text(p.input),
        cached_input: text(p.cached_input),
        cache_write: text(p.cache_write),
        output: text(p.output),
        as_of: (!p.as_of.is_empty()).then(|| p.as_of.clone()),
    }
}

/// Prices a client sent, checked (`as_of` is the daemon's to set).
pub fn price_edit(p: &api::ModelPrices) -> Result<PriceEdit, api::Error> {
    PriceEdit::parse(
        p.input.as_deref(),
        p.cached_input.as_deref(),
        p.cache_write.as_deref(),
        p.output.as_deref(),
    )
    .map_err(error)
}

/// Usage with the cache figures and the cost.
pub fn usage_costs(s: ProxyStatus) -> Vec<api::UsageCost> {
    s.usage
        .into_iter()
        .map(|u| api::UsageCost {
            endpoint: u.endpoint,
            model: u.model,
            requests: u.traffic.requests,
            input_tokens: u.traffic.input_tokens,
            cached_input_tokens: u.traffic.cached_input_tokens,
            cache_write_input_tokens: u.traffic.cache_write_input_tokens,
            output_tokens: u.traffic.output_tokens,
            errors: u.traffic.errors,
            cost_pico_usd: u.traffic.cost.usd.pico_usd(),
            priced_requests: u.traffic.cost.priced_requests,
        })
        .collect()
}

// ---- Codex version (issue 17) ----

/// The Codex CLI, as the contract has it.
pub fn codex_info(i: CodexInfo) -> api::CodexInfo {
    api::CodexInfo {
        program: i.program.display().to_string(),
        version: i.version.unwrap_or_default(),
        verdict: i.verdict,
        message: i.message,
    }
}

// ---- turns (issue 18) ----

/// A recorded turn's list entry.
pub fn turn_info(s: &codex_launcher_proxy::record::TurnSummary) -> api::TurnInfo {
    api::TurnInfo {
        id: s.id,
        started: s.started_ms / 1000,
        endpoint: s.endpoint.clone(),
        model: s.model.clone(),
        session: s.session.unwrap_or(0),
        origin: s.origin,
        outcome: s.outcome,
        status: s.status.map_or(0, u32::from),
        failure_kind: s
            .failure
            .as_ref()
            .and_then(|f| f.kind.clone())
            .unwrap_or_default(),
        stage: s
            .failure
            .as_ref()
            .map(|f| f.stage.as_str().to_owned())
            .unwrap_or_default(),
        error: codex_launcher_state::turns::one_line(s.failure.as_ref()),
        replay_of: s.replay_of.unwrap_or(0),
        duration_ms: s.duration_ms,
        bytes: s.bytes,
    }
}

/// A recorded turn, readable.
pub fn turn_detail(d: TurnDetail) -> api::TurnDetail {
    api::TurnDetail {
        info: turn_info(&d.summary),
        sections: d
            .sections
            .into_iter()
            .map(|s| api::TurnSection {
                title: s.title,
                lines: s.lines,
            })
            .collect(),
        record_json: d.record_json,
    }
}

/// How a replay went.
pub fn replay_outcome(r: ReplayReport) -> api::ReplayOutcome {
    api::ReplayOutcome {
        of: r.of,
        turn: r.turn.map_or(0, |t| t.id),
        ok: r.ok,
        status: u32::from(r.status),
        message: r.message,
    }
}

/// What the recorder records and keeps.
pub fn turn_recording(v: RecordingView) -> api::TurnRecording {
    api::TurnRecording {
        record_all: v.record_all,
        endpoints: v.endpoints,
        max_failures: v.max_failures,
        max_successes: v.max_successes,
        max_bytes: v.max_bytes,
        turns: v.turns,
        bytes: v.bytes,
        dropped: v.dropped,
        dir: v.dir.display().to_string(),
    }
}
