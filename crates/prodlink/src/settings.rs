//! Settings: every flag has an environment variable `PRODLINK_<FLAG>` and a key in an optional
//! TOML file (`--config FILE`). Precedence is file < environment < flags (docs/spec.md §9): clap
//! resolves flag-then-environment, and a value clap did not find falls back to the file, then to
//! the built-in default. Parsing here is pure; opening databases happens in the commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// The optional TOML configuration file. Keys are the long flag names with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// `database`
    pub database: Option<String>,
    /// `addr`
    pub addr: Option<String>,
    /// `site_url`
    pub site_url: Option<String>,
    /// `demo`
    pub demo: Option<bool>,
    /// `wait_for_index`
    pub wait_for_index: Option<bool>,
    /// `db_pool_size`
    pub db_pool_size: Option<u32>,
    /// `db_acquire_timeout_secs`
    pub db_acquire_timeout_secs: Option<u64>,
    /// `db_statement_timeout_secs`
    pub db_statement_timeout_secs: Option<u64>,
    /// `db_vector_index`
    pub db_vector_index: Option<bool>,
    /// `model_dir`
    pub model_dir: Option<PathBuf>,
    /// `semantic_ratio`
    pub semantic_ratio: Option<f64>,
    /// `log`
    pub log: Option<String>,
    /// `log_format`
    pub log_format: Option<String>,
    /// `allowed_hosts`
    pub allowed_hosts: Option<Vec<String>>,
    /// `allowed_origins`
    pub allowed_origins: Option<Vec<String>>,
    /// `max_body_bytes`
    pub max_body_bytes: Option<usize>,
    /// `request_timeout_secs`
    pub request_timeout_secs: Option<u64>,
    /// `report_dir` (imports)
    pub report_dir: Option<PathBuf>,
    /// `no_progress` (imports)
    pub no_progress: Option<bool>,
    /// `as_user` (mcp-stdio)
    pub as_user: Option<String>,
    /// `allow_signup`
    pub allow_signup: Option<bool>,
    /// `qr_per_day`
    pub qr_per_day: Option<u32>,
    /// `qr_per_month`
    pub qr_per_month: Option<u32>,
    /// `rate_limit_anonymous`
    pub rate_limit_anonymous: Option<u32>,
    /// `rate_limit_client`
    pub rate_limit_client: Option<u32>,
    /// `trust_forwarded_for`
    pub trust_forwarded_for: Option<bool>,
    /// `country_header`
    pub country_header: Option<String>,
    /// `url_check_interval_secs`
    pub url_check_interval_secs: Option<u64>,
    /// `url_check_failures`
    pub url_check_failures: Option<u32>,
    /// `[[clients]]`: pre-registered OAuth clients, created or updated at start.
    #[serde(default)]
    pub clients: Vec<ClientSettings>,
}

/// One `[[clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// The client_id.
    pub client_id: String,
    /// Name shown on the consent page.
    pub name: String,
    /// Allowed redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Scopes, space-separated (default `qr:generate`).
    pub scope: Option<String>,
    /// For a confidential client: the environment variable holding its secret (secrets do
    /// not belong in configuration files).
    pub secret_env: Option<String>,
}

impl FileSettings {
    /// Reads the file, refusing unknown keys (a typo should not be silently ignored).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("parsing the configuration file {}", path.display()))
    }
}

/// Default database URL.
pub const DEFAULT_DATABASE: &str = "sqlite://prodlink.db";
/// Default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default public base URL.
pub const DEFAULT_SITE_URL: &str = "http://127.0.0.1:8080";

/// Resolved settings for `serve`.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Database URL.
    pub database: String,
    /// Listen address.
    pub addr: SocketAddr,
    /// Public base URL (no trailing slash).
    pub site_url: String,
    /// Load the demo catalog into an empty database.
    pub demo: bool,
    /// Serve only once the search indexes are complete.
    pub wait_for_index: bool,
    /// Sentence-embedding model directory.
    pub model_dir: Option<PathBuf>,
    /// Weight of the semantic leg, 0–1.
    pub semantic_ratio: f64,
    /// Extra hosts allowed in MCP requests.
    pub allowed_hosts: Vec<String>,
    /// Extra origins allowed in MCP requests.
    pub allowed_origins: Vec<String>,
    /// Request body limit.
    pub max_body_bytes: usize,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Whether the site URL was given (else it follows the bound port).
    pub site_url_given: bool,
    /// Self-service accounts.
    pub allow_signup: bool,
    /// QR quota per day and month.
    pub qr_per_day: u32,
    /// QR quota per month.
    pub qr_per_month: u32,
    /// MCP rate limits.
    pub rate_limits: web::security::RateLimits,
    /// Trust X-Forwarded-For.
    pub trust_forwarded_for: bool,
    /// The country header for resolver rules.
    pub country_header: Option<String>,
    /// Custom-URL health checks (`None` = off).
    pub url_health: Option<web::url_health::UrlHealthSettings>,
    /// Metadata-document fetch rules (tests relax them).
    pub fetch_policy: auth::cimd::FetchPolicy,
}

/// The site URL prodlink uses when none is given, for the address it listens on: the address
/// itself (`http://127.0.0.1:PORT`, what `listening on` prints and what clients then use, so
/// OAuth resource and issuer match the URL they connect to), or `http://localhost:PORT` for an
/// unspecified address (0.0.0.0 / ::). Behind a domain, give `--site-url`.
pub fn default_site_url(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        format!("http://localhost:{}", bound.port())
    } else {
        format!("http://{bound}")
    }
}

/// The site URL from the flag/environment, else the file, else the default; validated.
pub fn site_url(arg: Option<String>, file: &FileSettings) -> anyhow::Result<String> {
    check_site_url(&arg.or(file.site_url.clone()).unwrap_or_else(|| DEFAULT_SITE_URL.into()))
}

/// Validates a site URL: absolute http(s), no query or fragment; returned without a trailing
/// slash.
pub fn check_site_url(url: &str) -> anyhow::Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .with_context(|| format!("site URL {url:?} must start with http:// or https://"))?;
    anyhow::ensure!(!rest.is_empty() && !rest.starts_with('/'), "site URL {url:?} has no host");
    anyhow::ensure!(
        !rest.contains(['?', '#', ' ']),
        "site URL {url:?} must not contain a query, a fragment or spaces"
    );
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls() {
        assert_eq!(check_site_url("https://example.com/").unwrap(), "https://example.com");
        assert_eq!(check_site_url("http://localhost:8080").unwrap(), "http://localhost:8080");
        assert_eq!(check_site_url("https://x.test/stem").unwrap(), "https://x.test/stem");
        assert!(check_site_url("example.com").is_err());
        assert!(check_site_url("https://").is_err());
        assert!(check_site_url("https://x.test/?a=1").is_err());
    }

    #[test]
    fn default_site_url_follows_the_bound_port() {
        assert_eq!(default_site_url("127.0.0.1:8080".parse().unwrap()), "http://127.0.0.1:8080");
        assert_eq!(default_site_url("0.0.0.0:9000".parse().unwrap()), "http://localhost:9000");
        assert_eq!(default_site_url("[::1]:81".parse().unwrap()), "http://[::1]:81");
        assert_eq!(default_site_url("192.0.2.7:80".parse().unwrap()), "http://192.0.2.7:80");
    }

    #[test]
    fn file_clients() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[[clients]]\nclient_id = \"app\"\nname = \"App\"\nredirect_uris = [\"https://app.example/cb\"]\nsecret_env = \"APP_SECRET\"\n",
        )
        .unwrap();
        let f = FileSettings::load(&p).unwrap();
        assert_eq!(f.clients.len(), 1);
        assert_eq!(f.clients[0].secret_env.as_deref(), Some("APP_SECRET"));
        std::fs::write(&p, "[[clients]]\nclient_id = \"app\"\nname = \"App\"\nredirect_uris = []\nsecret = \"x\"\n").unwrap();
        let e = format!("{:#}", FileSettings::load(&p).unwrap_err());
        assert!(e.contains("unknown field `secret`"), "{e}");
    }

    #[test]
    fn file_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "adr = \"1.2.3.4:1\"\n").unwrap();
        let e = format!("{:#}", FileSettings::load(&p).unwrap_err());
        assert!(e.contains("unknown field"), "{e}");
        std::fs::write(&p, "addr = \"1.2.3.4:1\"\ndemo = true\n").unwrap();
        let f = FileSettings::load(&p).unwrap();
        assert_eq!(f.addr.as_deref(), Some("1.2.3.4:1"));
        assert_eq!(f.demo, Some(true));
    }
}
