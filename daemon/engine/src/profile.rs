//! Portable profile bundles: endpoints (and keys only when the user asks) as one JSON file.

use serde::{Deserialize, Serialize};

use crate::model::Endpoint;

/// Bundle format identifier.
pub const FORMAT: &str = "codex-launcher-profile";

/// A bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// Bundle version.
    pub version: u32,
    /// Default endpoint id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Endpoints.
    pub endpoints: Vec<BundleEndpoint>,
}

/// An endpoint in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleEndpoint {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// Its key, only in bundles exported with keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// Parse a bundle, checking its format marker.
pub fn parse_bundle(text: &str) -> Result<Bundle, String> {
    let b: Bundle = serde_json::from_str(text).map_err(|e| format!("not a profile bundle: {e}"))?;
    if b.format != FORMAT {
        return Err(format!("not a profile bundle (format `{}`)", b.format));
    }
    if b.version != 1 {
        return Err(format!("unsupported bundle version {}", b.version));
    }
    Ok(b)
}
