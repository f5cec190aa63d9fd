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

/// A bundle we cannot import.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not a bundle's JSON.
    #[error("not a profile bundle: {0}")]
    NotJson(#[from] serde_json::Error),
    /// Another format marker.
    #[error("not a profile bundle (format `{0}`)")]
    Format(String),
    /// A version we do not know.
    #[error("unsupported bundle version {0}")]
    Version(u32),
}

/// Parse a bundle, checking its format marker.
pub fn parse_bundle(text: &str) -> Result<Bundle, ProfileError> {
    let b: Bundle = serde_json::from_str(text)?;
    if b.format != FORMAT {
        return Err(ProfileError::Format(b.format));
    }
    if b.version != 1 {
        return Err(ProfileError::Version(b.version));
    }
    Ok(b)
}
