//! `ProbeEndpoint`: real round trips to a provider through the proxy's own translation.

use codex_launcher_dbus::{Error, ProbeReport};

use crate::service::Service;

/// Run the probe.
pub async fn run(_service: &Service, id: &str, model: &str) -> Result<ProbeReport, Error> {
    Err(Error::Internal(format!(
        "probing {id}/{model} is not available yet"
    )))
}
