//! Base URLs as users paste them, made usable: trimmed, no trailing slash, no pasted
//! endpoint path (`/chat/completions`, `/responses`, `/messages`, `/alpha/generate`), so a
//! request never goes to a doubled path. Pure string logic, shared by the proxy and the
//! endpoint store.

/// A base URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not http(s).
    #[error("the URL `{0}` must start with http:// or https://")]
    Scheme(String),
    /// No host.
    #[error("the URL `{0}` has no host")]
    NoHost(String),
}

/// Normalise a user-supplied base URL: trim, drop trailing slashes and a pasted
/// `/chat/completions` (or `/responses`, `/messages`) so we never request a doubled path.
pub fn normalize_base_url(url: &str) -> Result<String, UrlError> {
    let mut url = url.trim().trim_end_matches('/').to_owned();
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(UrlError::Scheme(url));
    }
    for suffix in [
        "/chat/completions",
        "/completions",
        "/responses",
        "/messages",
    ] {
        if url.to_ascii_lowercase().ends_with(suffix) {
            url.truncate(url.len() - suffix.len());
            url = url.trim_end_matches('/').to_owned();
        }
    }
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    if host.is_empty() {
        return Err(UrlError::NoHost(url));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_urls() {
        assert_eq!(
            normalize_base_url(" https://api.x.com/v1/ ").unwrap(),
            "https://api.x.com/v1"
        );
        assert_eq!(
            normalize_base_url("https://api.x.com/v1/chat/completions").unwrap(),
            "https://api.x.com/v1"
        );
        assert!(matches!(
            normalize_base_url("api.x.com"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            normalize_base_url("http:///v1"),
            Err(UrlError::NoHost(_))
        ));
    }
}
