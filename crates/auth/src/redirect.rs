//! Redirect URI rules (OAuth 2.1 §2.3.1, RFC 8252 §7.3, RFC 9700 §4.1): registered URIs must
//! be https, or http on a loopback host; no fragments. A request's `redirect_uri` must equal a
//! registered one exactly, except that the port of a loopback redirect may differ (native
//! apps listen on ephemeral ports; Claude Code registers `http://localhost/callback` and
//! comes back on `http://localhost:53682/callback`). `localhost` and `127.0.0.1` are never
//! interchangeable, and scheme, host, path and query always match exactly.

use url::Url;

/// Loopback hosts, as they appear in a URL's host.
fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Checks a URI a client wants to register; the error says what is wrong.
pub fn check_registrable(uri: &str) -> Result<(), String> {
    let u = Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if u.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment; redirect URIs must not"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("{uri:?} carries credentials"));
    }
    let host = u.host_str().unwrap_or("");
    match u.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_loopback_host(host) => Ok(()),
        "http" => Err(format!(
            "{uri:?} uses http on a non-loopback host; use https, or http://127.0.0.1, http://[::1] or http://localhost"
        )),
        other => Err(format!(
            "{uri:?} uses the scheme {other:?}; only https (or http on loopback) is allowed"
        )),
    }
}

/// Whether the requested redirect URI matches a registered one (exact, or loopback with any
/// port).
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(r), Ok(q)) = (Url::parse(registered), Url::parse(requested)) else { return false };
    r.scheme() == "http"
        && q.scheme() == "http"
        && r.host_str().is_some_and(is_loopback_host)
        && r.host_str() == q.host_str()
        && r.path() == q.path()
        && r.query() == q.query()
        && q.fragment().is_none()
        && q.username().is_empty()
        && q.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_uris() {
        assert!(check_registrable("https://app.example.com/cb").is_ok());
        assert!(check_registrable("http://127.0.0.1/callback").is_ok());
        assert!(check_registrable("http://localhost:3000/cb").is_ok());
        assert!(check_registrable("http://[::1]/cb").is_ok());
        assert!(check_registrable("http://example.com/cb").unwrap_err().contains("non-loopback"));
        assert!(check_registrable("https://x.example/cb#frag").unwrap_err().contains("fragment"));
        assert!(check_registrable("myapp://cb").unwrap_err().contains("scheme"));
        assert!(check_registrable("https://u:p@x.example/cb").is_err());
        assert!(check_registrable("/relative").is_err());
    }

    #[test]
    fn loopback_ports_float_nothing_else_does() {
        assert!(matches("http://localhost/callback", "http://localhost:53682/callback"));
        assert!(matches("http://127.0.0.1:1/cb", "http://127.0.0.1:9999/cb"));
        assert!(!matches("http://localhost/callback", "http://127.0.0.1:53682/callback"));
        assert!(!matches("http://127.0.0.1/callback", "http://localhost/callback"));
        assert!(!matches("http://localhost/callback", "http://localhost:1/callback2"));
        assert!(!matches("http://localhost/cb?a=1", "http://localhost:5/cb?a=2"));
        assert!(!matches("http://localhost/callback", "https://localhost/callback"));
        assert!(!matches("https://app.example.com/cb", "https://app.example.com:8443/cb"));
        assert!(!matches("https://app.example.com/cb", "https://app.example.com/cb/"));
        assert!(matches("https://app.example.com/cb", "https://app.example.com/cb"));
        assert!(!matches("http://localhost/cb", "http://localhost:5/cb#x"));
    }
}
