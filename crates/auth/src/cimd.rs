//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
//! "Client ID Metadata Documents"): a `client_id` that is an https URL names a JSON document the
//! client publishes there. prodlink validates the URL, fetches the document with SSRF
//! protection, checks it, and caches it within bounds.
//!
//! SSRF protection: only https (http only in a test-only mode), no redirects, a 3 s total
//! timeout, at most 5 KiB read (counted while streaming), and every address the host resolves
//! to is checked against the special-use ranges of RFC 6890 (private, loopback, link-local and
//! cloud metadata addresses, …). The checked addresses are the ones connected to (the resolver
//! hands them to the HTTP client), so DNS rebinding cannot slip a second answer in between.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use crate::redirect;

/// Most bytes of a document read.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// Cache lifetime bounds for documents.
pub const MIN_CACHE: Duration = Duration::from_secs(60);
/// Upper bound on caching a document.
pub const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);
/// Cache lifetime when the server says nothing.
pub const DEFAULT_CACHE: Duration = Duration::from_secs(3600);

/// Whether an address is special-use (RFC 6890 and friends) and so never fetched from.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_loopback()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xff00) == 0xff00 // multicast
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || s[0] == 0x2002 // 6to4
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments, Teredo
                || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::a.b.c.d
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224
}

/// What the fetcher may do beyond the production rules (tests only), and its time limit.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Allow http (not only https).
    pub allow_http: bool,
    /// Allow special-use addresses (loopback test servers).
    pub allow_private: bool,
    /// An extra root certificate (PEM) to trust, e.g. a test CA.
    pub extra_root_pem: Option<Vec<u8>>,
    /// Total time allowed for one fetch (connect, headers and body).
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_private: false,
            extra_root_pem: None,
            timeout: Duration::from_secs(3),
        }
    }
}

/// Checks a URL-shaped client id before anything is fetched.
pub fn check_client_id_url(id: &str, policy: &FetchPolicy) -> Result<Url, String> {
    let url = Url::parse(id).map_err(|e| format!("client_id {id:?} is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        s => return Err(format!("client_id URLs must use https, not {s}")),
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err("client_id URLs must have a path".into());
    }
    let raw_path = id.splitn(4, '/').nth(3).unwrap_or("");
    let lowered = raw_path.to_ascii_lowercase();
    if lowered
        .split(['/', '?'])
        .any(|seg| matches!(seg, "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."))
    {
        return Err("client_id URLs must not contain dot segments".into());
    }
    if url.as_str() != id {
        return Err(format!("client_id {id:?} is not in normalized form ({})", url.as_str()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("client_id URLs must not contain credentials".into());
    }
    if url.fragment().is_some() {
        return Err("client_id URLs must not contain a fragment".into());
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal
        && !policy.allow_private
        && is_forbidden_ip(ip)
    {
        return Err(format!("client_id URL points at a special-use address {ip}"));
    }
    Ok(url)
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body (at most [`MAX_DOCUMENT_BYTES`]).
    pub body: Vec<u8>,
    /// How long it may be cached, clamped to [`MIN_CACHE`]..[`MAX_CACHE`].
    pub max_age: Duration,
}

/// Fetches client metadata documents. The HTTP implementation is [`HttpFetcher`]; tests inject
/// their own.
#[async_trait]
pub trait Fetcher: Send + Sync + 'static {
    /// Fetches the document at an already checked URL.
    async fn fetch(&self, url: &Url) -> Result<Fetched, String>;
}

/// Turns a host name into addresses. The system resolver is [`SystemLookup`]; tests inject
/// their own to play DNS tricks (private answers, mixed answers).
#[async_trait]
pub trait Lookup: Send + Sync + 'static {
    /// Every address `host` resolves to.
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

#[async_trait]
impl Lookup for SystemLookup {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0)).await?.map(|a| a.ip()).collect())
    }
}

/// Resolves host names and refuses special-use addresses; reqwest connects to exactly the
/// addresses this returns.
struct GuardedResolver {
    allow_private: bool,
    lookup: Arc<dyn Lookup>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let lookup = Arc::clone(&self.lookup);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                lookup.lookup(&host).await?.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| allow_private || !is_forbidden_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(
                    format!("{host} resolves only to special-use addresses {addrs:?}").into()
                );
            }
            if allowed.len() != addrs.len() {
                // A host with both public and special-use answers is refused outright.
                return Err(format!("{host} resolves to special-use addresses {addrs:?}").into());
            }
            let it: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(it)
        })
    }
}

/// The production fetcher.
pub struct HttpFetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpFetcher {
    /// A fetcher with the given policy and the system resolver.
    pub fn new(policy: &FetchPolicy) -> Result<Self, String> {
        Self::with_lookup(policy, Arc::new(SystemLookup))
    }

    /// A fetcher with the given policy and resolver.
    pub fn with_lookup(policy: &FetchPolicy, lookup: Arc<dyn Lookup>) -> Result<Self, String> {
        Ok(Self {
            client: guarded_client(
                policy,
                lookup,
                concat!("prodlink/", env!("CARGO_PKG_VERSION"), " (client metadata fetch)"),
            )?,
            timeout: policy.timeout,
        })
    }
}

/// An HTTP client for URLs prodlink fetches on someone else's say-so (metadata documents,
/// brands' custom URLs): it connects only to the addresses `lookup` returns after refusing
/// special-use ones (unless `policy.allow_private`), so a name cannot be re-pointed between
/// the check and the connection; it follows no redirects, uses no proxy and gives up after
/// `policy.timeout`. URLs with a literal IP host never reach the resolver: check them with
/// [`url_host_allowed`] first.
pub fn guarded_client(
    policy: &FetchPolicy,
    lookup: Arc<dyn Lookup>,
    user_agent: &str,
) -> Result<reqwest::Client, String> {
    // One process-wide TLS crypto provider (ring); installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(policy.timeout)
        .timeout(policy.timeout)
        .user_agent(user_agent)
        .dns_resolver(Arc::new(GuardedResolver { allow_private: policy.allow_private, lookup }));
    if let Some(pem) = &policy.extra_root_pem {
        let cert =
            reqwest::Certificate::from_pem(pem).map_err(|e| format!("test CA certificate: {e}"))?;
        b = b.tls_certs_merge([cert]);
    }
    b.build().map_err(|e| format!("HTTP client: {e}"))
}

/// Whether a URL's host may be fetched under `policy`: names go through the guarded resolver;
/// literal IP addresses are checked here.
pub fn url_host_allowed(url: &Url, policy: &FetchPolicy) -> bool {
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return true,
        None => return false,
    };
    policy.allow_private || !is_forbidden_ip(literal)
}

fn max_age(headers: &reqwest::header::HeaderMap) -> Duration {
    let secs =
        headers.get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).and_then(|v| {
            v.split(',').find_map(|d| {
                d.trim().strip_prefix("max-age=").and_then(|n| n.trim().parse::<u64>().ok())
            })
        });
    secs.map_or(DEFAULT_CACHE, Duration::from_secs).clamp(MIN_CACHE, MAX_CACHE)
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, url: &Url) -> Result<Fetched, String> {
        let timeout = self.timeout;
        let describe = move |e: reqwest::Error| {
            if e.is_timeout() {
                return format!(
                    "the client metadata document did not arrive within the time limit of {} ms",
                    timeout.as_millis()
                );
            }
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg = format!("{msg}: {s}");
                source = s.source();
            }
            format!("fetching the client metadata document failed: {msg}")
        };
        let mut res = self
            .client
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(describe)?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "the client metadata document answered HTTP {} (only 200 is accepted; redirects are not followed)",
                res.status().as_u16()
            ));
        }
        if res.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(format!(
                "the client metadata document is larger than {MAX_DOCUMENT_BYTES} bytes"
            ));
        }
        let age = max_age(res.headers());
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(describe)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(format!(
                    "the client metadata document is larger than {MAX_DOCUMENT_BYTES} bytes"
                ));
            }
        }
        Ok(Fetched { body, max_age: age })
    }
}

/// The parts of a document prodlink uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Display name (self-asserted; the consent page also shows the client_id host).
    pub client_name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types (authorization_code, optionally refresh_token).
    pub grant_types: Vec<String>,
    /// Requested scope, if any.
    pub scope: Option<String>,
}

/// Validates a document against the URL it came from.
pub fn parse_document(url: &str, body: &[u8]) -> Result<Document, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the client metadata document is not JSON: {e}"))?;
    let Value::Object(o) = v else {
        return Err("the client metadata document is not a JSON object".into());
    };
    let id = o.get("client_id").and_then(Value::as_str).ok_or("the document has no client_id")?;
    if id != url {
        return Err(format!(
            "the document's client_id {id:?} is not the URL it was fetched from ({url:?})"
        ));
    }
    let client_name =
        o.get("client_name").and_then(Value::as_str).ok_or("the document has no client_name")?;
    if client_name.trim().is_empty() || client_name.chars().count() > 200 {
        return Err("client_name must have 1 to 200 characters".into());
    }
    for forbidden in ["client_secret", "client_secret_expires_at"] {
        if o.contains_key(forbidden) {
            return Err(format!("a client metadata document must not contain {forbidden}"));
        }
    }
    match o.get("token_endpoint_auth_method").and_then(Value::as_str) {
        None | Some("none") => {}
        Some(m) => {
            return Err(format!(
                "token_endpoint_auth_method {m:?} is not supported for metadata-document clients; use \"none\""
            ));
        }
    }
    let redirect_uris: Vec<String> = o
        .get("redirect_uris")
        .and_then(Value::as_array)
        .ok_or("the document has no redirect_uris array")?
        .iter()
        .map(|u| u.as_str().map(str::to_owned).ok_or("redirect_uris must be strings"))
        .collect::<Result<_, _>>()?;
    if redirect_uris.is_empty() || redirect_uris.len() > 10 {
        return Err("redirect_uris must list 1 to 10 URIs".into());
    }
    for u in &redirect_uris {
        redirect::check_registrable(u)?;
    }
    let grant_types = match o.get("grant_types").and_then(Value::as_array) {
        None => vec!["authorization_code".to_owned()],
        Some(g) => g
            .iter()
            .filter_map(Value::as_str)
            .filter(|g| matches!(*g, "authorization_code" | "refresh_token"))
            .map(str::to_owned)
            .collect(),
    };
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err("grant_types must include authorization_code".into());
    }
    let scope = o.get("scope").and_then(Value::as_str).map(str::to_owned);
    Ok(Document { client_name: client_name.trim().to_owned(), redirect_uris, grant_types, scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_use_addresses() {
        for bad in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.2",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "2002:a00:1::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
        ] {
            assert!(is_forbidden_ip(bad.parse().unwrap()), "{bad} should be refused");
        }
        for good in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
        {
            assert!(!is_forbidden_ip(good.parse().unwrap()), "{good} should be allowed");
        }
    }

    #[test]
    fn client_id_urls() {
        let p = FetchPolicy::default();
        assert!(check_client_id_url("https://app.example.com/oauth/client.json", &p).is_ok());
        for (bad, why) in [
            ("http://app.example.com/c.json", "https"),
            ("https://app.example.com", "path"),
            ("https://app.example.com/", "path"),
            ("https://u:p@app.example.com/c.json", "credentials"),
            ("https://app.example.com/c.json#x", "fragment"),
            ("https://app.example.com/a/../c.json", "dot segments"),
            ("https://APP.example.com/c.json", "normalized"),
            ("https://app.example.com/a/%2e%2e/c.json", "dot segments"),
            ("https://127.0.0.1/c.json", "special-use"),
            ("https://[::1]/c.json", "special-use"),
            ("https://169.254.169.254/latest", "special-use"),
            ("not a url", "not a URL"),
        ] {
            let e = check_client_id_url(bad, &p).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let test = FetchPolicy { allow_http: true, allow_private: true, ..FetchPolicy::default() };
        assert!(check_client_id_url("http://127.0.0.1:4000/c.json", &test).is_ok());
    }

    #[test]
    fn documents() {
        let url = "https://app.example.com/c.json";
        let ok = br#"{"client_id":"https://app.example.com/c.json","client_name":"App","redirect_uris":["http://localhost/callback"],"grant_types":["authorization_code","refresh_token"]}"#;
        let d = parse_document(url, ok).unwrap();
        assert_eq!(d.client_name, "App");
        assert_eq!(d.grant_types.len(), 2);
        for (body, why) in [
            (
                r#"{"client_id":"https://other/c.json","client_name":"A","redirect_uris":["http://localhost/cb"]}"#,
                "not the URL",
            ),
            (
                r#"{"client_id":"https://app.example.com/c.json","redirect_uris":["http://localhost/cb"]}"#,
                "client_name",
            ),
            (
                r#"{"client_id":"https://app.example.com/c.json","client_name":"A","redirect_uris":["http://evil.example/cb"]}"#,
                "non-loopback",
            ),
            (
                r#"{"client_id":"https://app.example.com/c.json","client_name":"A","redirect_uris":["http://localhost/cb"],"client_secret":"x"}"#,
                "client_secret",
            ),
            (
                r#"{"client_id":"https://app.example.com/c.json","client_name":"A","redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#,
                "not supported",
            ),
            ("[]", "not a JSON object"),
            ("nope", "not JSON"),
        ] {
            let e = parse_document(url, body.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
    }
}
