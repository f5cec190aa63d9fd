//! The daemon as the panel sees it: the session bus connection, the manager proxy and the
//! D-Bus errors turned into something a label can show.
//!
//! Every method here is `async` and is awaited from `glib::spawn_future_local`: zbus runs
//! its own (async-io) executor thread for the socket, so its futures make progress while
//! the GLib main loop waits, and the UI never blocks on the bus (STYLE.md Hazard 1).

use std::collections::HashMap;
use std::fmt;

use codex_launcher_dbus::{
    CacheTtl, CleanupItem, EndpointInfo, EndpointOptions, EndpointSpec, GroupInfo, ManagerProxy,
    ModelPrices, ModelSpec, Preset, PricedModel, ProxyStatus, ReplayOutcome, SessionProxy,
    TurnDetail, TurnInfo, UsageCost,
};
use zbus::OwnedObjectPath;

use crate::model;

/// A failed call: the D-Bus error name (empty when the bus itself failed) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusError {
    /// `io.github.CodexLauncher1.Error.InvalidArgument`, `org.freedesktop.DBus.Error.*`, or
    /// empty for a transport failure.
    pub name: String,
    /// The daemon's message.
    pub message: String,
}

impl BusError {
    /// A failure that is not a D-Bus error (a file the panel could not read, ...).
    pub fn local(message: impl Into<String>) -> BusError {
        BusError {
            name: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&model::error_text(&self.name, &self.message))
    }
}

impl From<zbus::Error> for BusError {
    fn from(err: zbus::Error) -> BusError {
        use zbus::DBusError;
        match err {
            zbus::Error::MethodError(name, message, _) => BusError {
                name: name.to_string(),
                message: message.unwrap_or_default(),
            },
            zbus::Error::FDO(fdo) => BusError {
                name: fdo.name().to_string(),
                message: fdo.description().unwrap_or_default().to_owned(),
            },
            other => BusError::local(other.to_string()),
        }
    }
}

/// Result of a bus call.
pub type Result<T> = std::result::Result<T, BusError>;

/// The connection and the manager proxy. Cheap to clone (both are reference-counted).
#[derive(Clone, Debug)]
pub struct Client {
    conn: zbus::Connection,
    manager: ManagerProxy<'static>,
}

impl Client {
    /// Connect to the session bus and make sure the daemon answers (`Ping`, which starts it
    /// through D-Bus activation when it is installed but not running).
    pub async fn connect() -> Result<Client> {
        let conn = zbus::Connection::session()
            .await
            .map_err(|e| BusError::local(format!("cannot connect to the session bus: {e}")))?;
        // Cached properties: the proxy follows PropertiesChanged, which is what the
        // `receive_*_changed` streams the window watches are built on.
        let manager = ManagerProxy::new(&conn).await?;
        manager.ping().await?;
        Ok(Client { conn, manager })
    }

    /// The manager proxy (for its signal and property streams).
    pub fn manager(&self) -> &ManagerProxy<'static> {
        &self.manager
    }

    /// A proxy for one session object. Its state and exit code are cached and followed;
    /// traffic counters are read on demand (the contract emits no change signal for them).
    pub async fn session(&self, path: &OwnedObjectPath) -> Result<SessionProxy<'static>> {
        Ok(SessionProxy::builder(&self.conn)
            .path(path.clone())
            .build()
            .await?)
    }

    /// Daemon version.
    pub async fn version(&self) -> Result<String> {
        Ok(self.manager.version().await?)
    }

    /// All endpoints, in the daemon's order.
    pub async fn endpoints(&self) -> Result<Vec<EndpointInfo>> {
        Ok(self.manager.list_endpoints().await?)
    }

    /// One endpoint.
    pub async fn endpoint(&self, id: &str) -> Result<EndpointInfo> {
        Ok(self.manager.get_endpoint(id).await?)
    }

    /// Create an endpoint (with its key when one was typed); its id.
    pub async fn add_endpoint(&self, spec: EndpointSpec, api_key: &str) -> Result<String> {
        Ok(self.manager.add_endpoint(spec, api_key).await?)
    }

    /// Replace an endpoint's settings.
    pub async fn update_endpoint(&self, id: &str, spec: EndpointSpec) -> Result<()> {
        Ok(self.manager.update_endpoint(id, spec).await?)
    }

    /// Store an endpoint's key; where it went.
    pub async fn set_api_key(&self, id: &str, api_key: &str) -> Result<String> {
        Ok(self.manager.set_api_key(id, api_key).await?)
    }

    /// Delete an endpoint and its key.
    pub async fn remove_endpoint(&self, id: &str) -> Result<()> {
        Ok(self.manager.remove_endpoint(id).await?)
    }

    /// Make an endpoint the default.
    pub async fn set_default(&self, id: &str) -> Result<()> {
        Ok(self.manager.set_default_endpoint(id).await?)
    }

    /// Provider presets.
    pub async fn presets(&self) -> Result<Vec<Preset>> {
        Ok(self.manager.list_presets().await?)
    }

    /// Ask the provider for its models (merged into the endpoint by the daemon).
    pub async fn fetch_models(&self, id: &str) -> Result<Vec<ModelSpec>> {
        Ok(self.manager.fetch_models(id).await?)
    }

    /// Add pasted model ids; how many were new.
    pub async fn import_models(&self, id: &str, text: &str) -> Result<u32> {
        Ok(self.manager.import_models(id, text).await?)
    }

    /// The profile bundle.
    pub async fn export_profile(&self, include_keys: bool) -> Result<String> {
        Ok(self.manager.export_profile(include_keys).await?)
    }

    /// Import a bundle; the ids created or updated.
    pub async fn import_profile(&self, bundle: &str) -> Result<Vec<String>> {
        Ok(self.manager.import_profile(bundle).await?)
    }

    /// Import the legacy launcher's endpoints.json (empty path: the daemon's default).
    pub async fn import_legacy(&self, path: &str) -> Result<Vec<String>> {
        Ok(self.manager.import_legacy(path).await?)
    }

    /// Proxy counters and usage.
    pub async fn proxy_status(&self) -> Result<ProxyStatus> {
        Ok(self.manager.proxy_status().await?)
    }

    /// Start a session; its object path.
    pub async fn launch(
        &self,
        kind: model::LaunchKind,
        endpoint: &str,
        model: &str,
    ) -> Result<OwnedObjectPath> {
        let (endpoint, model, mode) = kind.request(endpoint, model);
        Ok(self
            .manager
            .launch(endpoint, model, mode, HashMap::new())
            .await?)
    }

    /// Every session of this daemon run.
    pub async fn sessions(&self) -> Result<Vec<OwnedObjectPath>> {
        Ok(self.manager.list_sessions().await?)
    }

    // ---- cost and prices (issue 14) ----

    /// An endpoint's prompt-cache setting.
    pub async fn cache(&self, id: &str) -> Result<CacheTtl> {
        let options = self.manager.get_endpoint_options(id).await?;
        Ok(options.cache.unwrap_or_default())
    }

    /// Change an endpoint's prompt-cache setting.
    pub async fn set_cache(&self, id: &str, cache: CacheTtl) -> Result<()> {
        let options = EndpointOptions { cache: Some(cache) };
        Ok(self.manager.set_endpoint_options(id, options).await?)
    }

    /// The prices of an endpoint's models.
    pub async fn model_prices(&self, id: &str) -> Result<Vec<PricedModel>> {
        Ok(self.manager.list_model_prices(id).await?)
    }

    /// Change one model's prices (the keys given).
    pub async fn set_model_prices(&self, id: &str, model: &str, prices: ModelPrices) -> Result<()> {
        Ok(self.manager.set_model_prices(id, model, prices).await?)
    }

    /// Usage with the cache figures and the cost.
    pub async fn usage_costs(&self) -> Result<Vec<UsageCost>> {
        Ok(self.manager.usage_costs().await?)
    }

    /// Find (dry run) or remove what earlier sessions left behind.
    /// Kill & Cleanup as every client does it: the daemon stops the live sessions and
    /// then what earlier ones left (`dry_run`: only lists them).
    pub async fn kill_and_cleanup(&self, dry_run: bool) -> Result<Vec<CleanupItem>> {
        Ok(self.manager.kill_and_cleanup(dry_run, true).await?)
    }

    // ---- fallback groups (issue 15) ----

    /// Every fallback group, with its members' health.
    pub async fn groups(&self) -> Result<Vec<GroupInfo>> {
        Ok(self.manager.list_groups().await?)
    }

    /// One group.
    pub async fn group(&self, id: &str) -> Result<GroupInfo> {
        Ok(self.manager.get_group(id).await?)
    }

    /// Create a group from `(endpoint, model)` members in the order to try them; its id.
    pub async fn add_group(&self, name: &str, members: Vec<(String, String)>) -> Result<String> {
        Ok(self.manager.add_group(name, members).await?)
    }

    /// Replace a group's members.
    pub async fn update_group(&self, id: &str, members: Vec<(String, String)>) -> Result<()> {
        Ok(self.manager.update_group(id, members).await?)
    }

    /// Delete a group.
    pub async fn remove_group(&self, id: &str) -> Result<()> {
        Ok(self.manager.remove_group(id).await?)
    }

    // ---- credential hygiene (issue 13) ----

    /// Set (or, with an empty value, remove) one extra header of an endpoint.
    pub async fn set_header(&self, id: &str, change: &model::HeaderChange) -> Result<()> {
        Ok(self
            .manager
            .set_header(id, &change.name, &change.value, change.secret)
            .await?)
    }

    /// Where the daemon keeps keys (`secret-service`, `locked`, `file`).
    pub async fn key_storage(&self) -> Result<String> {
        Ok(self.manager.key_storage().await?)
    }

    // ---- turns (issue 18) ----

    /// Recorded failed turns, newest first.
    pub async fn failed_turns(&self) -> Result<Vec<TurnInfo>> {
        Ok(self.manager.list_turns(true, "", 0).await?)
    }

    /// One recorded turn, readable.
    pub async fn turn(&self, id: u64) -> Result<TurnDetail> {
        Ok(self.manager.get_turn(id).await?)
    }

    /// Replay a turn on `endpoint` (empty: as recorded).
    pub async fn replay_turn(&self, id: u64, endpoint: &str) -> Result<ReplayOutcome> {
        Ok(self.manager.replay_turn(id, endpoint, "").await?)
    }

    /// A turn's bundle (no keys, no secret headers; `redact_text`: no conversation text).
    pub async fn export_turn(&self, id: u64, redact_text: bool) -> Result<String> {
        Ok(self.manager.export_turn(id, redact_text).await?)
    }
}

/// Read what the panel shows of a session from its proxy.
pub async fn session_view(
    path: &OwnedObjectPath,
    s: &SessionProxy<'_>,
) -> Result<model::SessionView> {
    Ok(model::SessionView {
        path: path.to_string(),
        endpoint: s.endpoint().await?,
        model: s.model().await?,
        mode: parse(&s.mode().await?)?,
        state: parse(&s.state().await?)?,
        started: s.started().await?,
        ended: None,
        exit_code: s.exit_code().await?,
        requests: s.requests().await.unwrap_or(0),
        tokens_in: s.tokens_in().await.unwrap_or(0),
        tokens_out: s.tokens_out().await.unwrap_or(0),
        cached_tokens_in: s.cached_tokens_in().await.unwrap_or(0),
        cost_pico_usd: s.cost_pico_usd().await.unwrap_or(0),
        priced_requests: s.priced_requests().await.unwrap_or(0),
    })
}

/// A contract name (mode, state) the daemon sent.
fn parse<T: std::str::FromStr<Err = codex_launcher_dbus::UnknownName>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: codex_launcher_dbus::UnknownName| BusError::local(e.to_string()))
}

/// The traffic counters of a session (the cache and cost ones read as 0 from a daemon
/// without them).
pub async fn session_traffic(s: &SessionProxy<'_>) -> Result<model::SessionTraffic> {
    Ok(model::SessionTraffic {
        requests: s.requests().await?,
        tokens_in: s.tokens_in().await?,
        tokens_out: s.tokens_out().await?,
        cached_tokens_in: s.cached_tokens_in().await.unwrap_or(0),
        cost_pico_usd: s.cost_pico_usd().await.unwrap_or(0),
        priced_requests: s.priced_requests().await.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_errors_keep_the_name_and_message() {
        let e = BusError::from(zbus::Error::FDO(Box::new(
            zbus::fdo::Error::ServiceUnknown(
                "The name io.github.CodexLauncher1 was not provided by any .service files".into(),
            ),
        )));
        assert_eq!(e.name, "org.freedesktop.DBus.Error.ServiceUnknown");
        assert_eq!(
            e.to_string(),
            "ServiceUnknown: The name io.github.CodexLauncher1 was not provided by any .service files"
        );
        let e = BusError::from(zbus::Error::InterfaceNotFound);
        assert_eq!(e.name, "", "not a D-Bus error name");
        assert!(!e.to_string().is_empty());
        assert_eq!(
            BusError::local("cannot read x").to_string(),
            "cannot read x"
        );
    }
}
