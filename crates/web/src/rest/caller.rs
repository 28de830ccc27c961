//! Who is calling the REST API and how much they may: the credential (an OAuth bearer token,
//! or nothing) becomes a [`Caller`]; REST rate limits (per IP address for anonymous callers,
//! per OAuth client for tokens) are applied, and every REST response carries `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (429s add `Retry-After`). Runs as a layer on the
//! REST routes only, so handlers receive a checked [`Caller`] in the request extensions.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use catalog::ServiceError;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use mcp::{Principal, Rejection};

use crate::AppState;
use crate::middleware::security::{self, RateLimits};

/// The authenticated (or anonymous) caller of a REST request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Client, user and scopes, as the MCP gate sees them.
    pub principal: Principal,
    /// The caller's address.
    pub ip: IpAddr,
    /// The organization the caller acts for: the token user's organization (or, for API
    /// keys, the key's). Management endpoints act only on this organization's resources.
    pub organization_id: Option<i64>,
    /// The API key used, if the caller sent one (its id and per-key rate limit).
    pub api_key: Option<KeyUse>,
}

/// The API key a request authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    /// The key's id.
    pub id: i64,
    /// Its own requests-per-minute limit, if it has one.
    pub rate_limit_per_minute: Option<u32>,
}

impl Caller {
    /// `Ok` when the caller holds `scope`; otherwise the 401 (no credentials) or 403 (a
    /// credential without it) to send.
    pub fn require(&self, scope: &str, resource_metadata: &str) -> Result<(), Refusal> {
        if self.principal.client_id.is_none() {
            return Err(Refusal {
                error: ServiceError::Unauthorized(format!(
                    "this endpoint needs an access token with the {scope} scope"
                )),
                challenge: Some(format!(
                    "Bearer scope=\"{scope}\", resource_metadata=\"{resource_metadata}\""
                )),
            });
        }
        if self.principal.has_scope(scope) {
            return Ok(());
        }
        Err(Refusal {
            error: ServiceError::Forbidden(format!("this credential lacks the {scope} scope")),
            challenge: Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{resource_metadata}\""
            )),
        })
    }
}

impl Caller {
    /// The organization the caller acts for; 403 when it acts for none.
    pub fn organization(&self) -> Result<i64, Refusal> {
        self.organization_id.ok_or_else(|| Refusal {
            error: ServiceError::Forbidden(
                "this credential acts for no organization: ask an administrator to add your account to one (prodlink user set-organization)".into(),
            ),
            challenge: None,
        })
    }
}

/// An authorization failure with its `WWW-Authenticate` challenge.
#[derive(Debug)]
pub struct Refusal {
    /// The error (401 or 403).
    pub error: ServiceError,
    /// The challenge header value.
    pub challenge: Option<String>,
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One API key's limit (requests per minute) and bucket.
type KeyLimiter = (u32, std::sync::Arc<Keyed<()>>);

/// Where a request stands against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests per minute.
    pub limit: u32,
    /// Requests left in the current burst.
    pub remaining: u32,
    /// Seconds until the full burst is available again.
    pub reset: u64,
}

/// The REST rate limiters (separate buckets from MCP's, same settings).
pub struct RestLimiters {
    anonymous: Option<(u32, Keyed<IpAddr>)>,
    client: Option<(u32, Keyed<String>)>,
    /// API keys, each with its own quota (the key's limit, or the client default).
    keys: std::sync::Mutex<std::collections::HashMap<i64, KeyLimiter>>,
    client_per_minute: u32,
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<(u32, Keyed<K>)> {
    NonZeroU32::new(per_minute)
        .map(|n| (per_minute, RateLimiter::keyed(Quota::per_minute(n)).with_middleware()))
}

/// Seconds until `remaining` of `limit` per minute refills completely.
fn refill_secs(limit: u32, remaining: u32) -> u64 {
    let missing = u64::from(limit.saturating_sub(remaining));
    (missing * 60).div_ceil(u64::from(limit.max(1)))
}

impl RestLimiters {
    /// Limiters for the settings (0 turns one off).
    pub fn new(settings: RateLimits) -> Self {
        Self {
            anonymous: limiter(settings.anonymous_per_minute),
            client: limiter(settings.client_per_minute),
            keys: std::sync::Mutex::default(),
            client_per_minute: settings.client_per_minute,
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `caller`: its allowance (`None` when unlimited), or the rate-limit
    /// error with the limit it hit.
    pub fn check(&self, caller: &Caller) -> Result<Option<Allowance>, (ServiceError, u32)> {
        macro_rules! check {
            ($limiter:expr, $key:expr, $what:expr) => {
                match $limiter {
                    None => Ok(None),
                    Some((limit, l)) => match l.check_key($key) {
                        Ok(s) => Ok(Some(Allowance {
                            limit: *limit,
                            remaining: s.remaining_burst_capacity(),
                            reset: refill_secs(*limit, s.remaining_burst_capacity()),
                        })),
                        Err(n) => {
                            let wait = n.wait_time_from(self.clock.now()).as_secs().max(1);
                            Err((
                                ServiceError::RateLimited {
                                    detail: format!(
                                        "{} over its limit of {limit} requests per minute",
                                        $what
                                    ),
                                    retry_after: wait,
                                },
                                *limit,
                            ))
                        }
                    },
                }
            };
        }
        if let Some(key) = caller.api_key {
            let per_minute = key.rate_limit_per_minute.unwrap_or(self.client_per_minute);
            let limiter = NonZeroU32::new(per_minute).map(|n| {
                let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match keys.get(&key.id) {
                    Some(held) if held.0 == per_minute => held.clone(),
                    _ => {
                        let fresh = (
                            per_minute,
                            std::sync::Arc::new(
                                RateLimiter::keyed(Quota::per_minute(n)).with_middleware(),
                            ),
                        );
                        keys.insert(key.id, fresh.clone());
                        fresh
                    }
                }
            });
            return check!(&limiter, &(), "this API key is");
        }
        match &caller.principal.client_id {
            Some(client) => check!(&self.client, client, "this client is"),
            None => check!(
                &self.anonymous,
                &caller.ip,
                "this address is (anonymous callers are counted by address; authenticate for a higher limit)"
            ),
        }
    }

    /// Forgets idle keys.
    pub fn upkeep(&self) {
        if let Some((_, l)) = &self.anonymous {
            l.retain_recent();
        }
        if let Some((_, l)) = &self.client {
            l.retain_recent();
        }
        // Keys idle for long lose their bucket (and start full, which is what idle means).
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() > 10_000 {
            keys.clear();
        }
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, v);
    }
}

/// The `WWW-Authenticate` challenge for a refused API key.
const API_KEY_CHALLENGE: &str = "ApiKey realm=\"prodlink\", header=\"X-API-Key\"";

/// The API key of a request: the `X-API-Key` header, or a bearer token that is an API key.
fn api_key_of(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let header_key = match headers.get("x-api-key") {
        Some(v) => Some(v.to_str().map(|s| s.trim().to_owned()).map_err(|_| {
            Refusal::from(ServiceError::BadRequest("the X-API-Key header is not ASCII".into()))
        })?),
        None => None,
    };
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match (header_key, bearer) {
        (Some(_), Some(_)) => Err(ServiceError::BadRequest(
            "send one credential: an Authorization header or an X-API-Key header, not both".into(),
        )
        .into()),
        (Some(k), None) => Ok(Some(k)),
        (None, Some(t)) if t.starts_with(auth::apikey::PREFIX) => Ok(Some(t.to_owned())),
        _ => Ok(None),
    }
}

/// Who is calling: an API key's organization, a token's client and user, or nobody.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
    metadata: &str,
) -> Result<Caller, Refusal> {
    if let Some(key) = api_key_of(headers)? {
        return match state.auth().validate_api_key(&key).await {
            Ok(info) => Ok(Caller {
                principal: Principal {
                    client_id: Some(format!("apikey:{}", info.id)),
                    user_id: None,
                    scopes: info.scopes,
                },
                ip,
                organization_id: Some(info.organization_id),
                api_key: Some(KeyUse {
                    id: info.id,
                    rate_limit_per_minute: info.rate_limit_per_minute,
                }),
            }),
            Err(auth::InvalidApiKey::Unavailable) => {
                Err(ServiceError::Internal("the API key store is unavailable".into()).into())
            }
            Err(e) => Err(Refusal {
                error: ServiceError::Unauthorized(e.to_string()),
                challenge: Some(API_KEY_CHALLENGE.to_owned()),
            }),
        };
    }
    let principal = match security::authenticate(state.auth(), headers, metadata).await {
        Ok(p) => p,
        Err(Rejection::InvalidToken { description, challenge }) => {
            return Err(Refusal {
                error: ServiceError::Unauthorized(description),
                challenge: Some(challenge),
            });
        }
        Err(Rejection::RateLimited { detail, retry_after }) => {
            return Err(ServiceError::RateLimited { detail, retry_after }.into());
        }
    };
    let organization_id = match principal.user_id {
        Some(user) => state
            .auth()
            .user_organization(user)
            .await
            .map_err(|e| Refusal::from(ServiceError::Internal(Box::new(e))))?,
        None => None,
    };
    Ok(Caller { principal, ip, organization_id, api_key: None })
}

/// Whether an operation of the endpoint table serves `method` at the matched route (HEAD is
/// served wherever GET is); without a matched route (not seen on the REST routes) it assumes so.
fn is_served(method: &Method, route: Option<&MatchedPath>) -> bool {
    static OPERATIONS: OnceLock<Vec<(Method, &'static str)>> = OnceLock::new();
    let Some(route) = route else { return true };
    let method = if method == Method::HEAD { &Method::GET } else { method };
    OPERATIONS
        .get_or_init(|| super::endpoints().into_iter().map(|e| (e.method, e.path)).collect())
        .iter()
        .any(|(m, p)| m == method && *p == route.as_str())
}

/// The layer on the REST routes: authenticate, count, run the handler, add the headers.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // A method the path does not serve is axum's 405 with `Allow`, whatever the credentials
    // (which would otherwise be judged first: two at once are a 400).
    if !is_served(request.method(), request.extensions().get::<MatchedPath>()) {
        return next.run(request).await;
    }
    let metadata = state.auth().resource_metadata_url();
    let ip = security::client_ip(
        request.headers(),
        request.extensions(),
        state.http().trust_forwarded_for,
    );
    let headers = request.headers().clone();
    let caller = match identify(&state, &headers, ip, &metadata).await {
        Ok(c) => c,
        Err(refusal) => return super::fail(&state, refusal),
    };
    let allowance = match state.rest_limiters().check(&caller) {
        Ok(a) => a,
        Err((error, limit)) => {
            let retry_after = match &error {
                ServiceError::RateLimited { retry_after, .. } => *retry_after,
                _ => 1,
            };
            let mut r = super::fail(&state, error);
            let h = r.headers_mut();
            set(h, "ratelimit-limit", limit);
            set(h, "ratelimit-remaining", 0);
            set(h, "ratelimit-reset", retry_after);
            set(h, "retry-after", retry_after);
            return r;
        }
    };
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    if let Some(a) = allowance {
        let h = response.headers_mut();
        set(h, "ratelimit-limit", a.limit);
        set(h, "ratelimit-remaining", a.remaining);
        set(h, "ratelimit-reset", a.reset);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(client: Option<&str>, ip: [u8; 4]) -> Caller {
        Caller {
            principal: Principal {
                client_id: client.map(str::to_owned),
                user_id: None,
                scopes: vec![],
            },
            ip: IpAddr::from(ip),
            organization_id: None,
            api_key: None,
        }
    }

    #[test]
    fn allowances_count_down_then_refuse_with_a_wait() {
        let l = RestLimiters::new(RateLimits { anonymous_per_minute: 3, client_per_minute: 0 });
        let a = caller(None, [192, 0, 2, 1]);
        let seen: Vec<_> = (0..3).map(|_| l.check(&a)).collect();
        let remaining: Vec<u32> = seen
            .iter()
            .filter_map(|r| r.as_ref().ok().copied().flatten())
            .map(|x| x.remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        match l.check(&a) {
            Err((ServiceError::RateLimited { retry_after, .. }, 3)) => assert!(retry_after >= 1),
            other => panic!("{other:?}"),
        }
        assert!(l.check(&caller(None, [192, 0, 2, 2])).is_ok(), "per address");
        assert!(
            matches!(l.check(&caller(Some("c"), [192, 0, 2, 1])), Ok(None)),
            "clients unlimited"
        );
    }

    #[test]
    fn reset_is_the_time_to_refill() {
        assert_eq!(refill_secs(60, 60), 0);
        assert_eq!(refill_secs(60, 59), 1);
        assert_eq!(refill_secs(600, 0), 60);
        assert_eq!(refill_secs(7, 6), 9);
    }
}
