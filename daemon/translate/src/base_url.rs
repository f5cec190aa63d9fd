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
    if host(&url).is_none() {
        return Err(UrlError::NoHost(url));
    }
    Ok(url)
}

/// The host of an http(s) URL, lower case, without a trailing dot; `None` when there is
/// none. Userinfo (`user:pass@`), ports and IPv6 brackets are handled by the `url` crate, so
/// every host check in the product agrees on what the host is.
pub fn host(url: &str) -> Option<String> {
    let url = url.trim();
    // The WHATWG parser skips extra slashes (`http:///v1` has host `v1`); a pasted URL with
    // an empty authority is a typo, not a host.
    if url
        .split_once("://")
        .is_none_or(|(_, rest)| rest.starts_with('/'))
    {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed
        .host_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The port of an http(s) URL, explicit or the scheme's default.
pub fn port(url: &str) -> Option<u16> {
    url::Url::parse(url.trim()).ok()?.port_or_known_default()
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

    #[test]
    fn hosts_agree_on_userinfo_ports_and_case() {
        assert_eq!(
            host("https://user:pw@API.DeepSeek.com:8443/v1").as_deref(),
            Some("api.deepseek.com")
        );
        assert_eq!(
            host("https://api.openai.com./v1").as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(host("http://[::1]:11434/v1").as_deref(), Some("[::1]"));
        assert_eq!(host("ftp://x.com"), None);
        assert_eq!(host("https://"), None);
        assert_eq!(port("http://localhost:11434/v1"), Some(11434));
        assert_eq!(port("https://api.x.com/v1"), Some(443));
    }
}
