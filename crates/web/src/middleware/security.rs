//! The resource server's side of every MCP request (docs/spec.md §4): who is calling (bearer token →
//! [`Principal`]), whether they may (rate limits per IP for anonymous callers, per client for
//! authenticated ones), and the gate around protected tools (per-user QR quota before the
//! call, a durable `audit_events` row after it).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use auth::AuthServer;
use auth::store::AuditRecord;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use catalog::ServiceError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mcp::{BoxFuture, GateEvent, Principal, Rejection, ToolGate};
use serde_json::Value;

/// Rate-limit settings: requests per minute (bursts up to the same number); 0 turns a limit
/// off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Anonymous MCP requests per minute per client IP address.
    pub anonymous_per_minute: u32,
    /// Authenticated MCP requests per minute per OAuth client.
    pub client_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { anonymous_per_minute: 600, client_per_minute: 1200 }
    }
}

/// The keyed limiters.
pub struct Limiters {
    anonymous: Option<DefaultKeyedRateLimiter<IpAddr>>,
    client: Option<DefaultKeyedRateLimiter<String>>,
    settings: RateLimits,
    /// Made once: building a quanta clock calibrates it (measured at 10 % of a request's CPU
    /// when it was made per call).
    clock: governor::clock::DefaultClock,
}

fn quota(per_minute: u32) -> Option<Quota> {
    NonZeroU32::new(per_minute).map(Quota::per_minute)
}

impl Limiters {
    /// Limiters for the settings.
    pub fn new(settings: RateLimits) -> Self {
        Self {
            anonymous: quota(settings.anonymous_per_minute).map(RateLimiter::keyed),
            client: quota(settings.client_per_minute).map(RateLimiter::keyed),
            settings,
            clock: governor::clock::DefaultClock::default(),
        }
    }

    /// Checks one request; `Err` is the rejection to send.
    pub fn check(&self, principal: &Principal, ip: IpAddr) -> Result<(), Rejection> {
        let refused = |not_until: governor::NotUntil<governor::clock::QuantaInstant>,
                       what: String| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            Rejection::RateLimited { detail: what, retry_after: wait.as_secs().max(1) }
        };
        match &principal.client_id {
            Some(client) => match &self.client {
                Some(l) => l.check_key(client).map_err(|n| {
                    refused(n, format!("this client is over its limit of {} requests per minute", self.settings.client_per_minute))
                }),
                None => Ok(()),
            },
            None => match &self.anonymous {
                Some(l) => l.check_key(&ip).map_err(|n| {
                    refused(n, format!("this address is over the anonymous limit of {} requests per minute; authorize for a higher limit", self.settings.anonymous_per_minute))
                }),
                None => Ok(()),
            },
        }
    }

    /// Forgets idle keys (called periodically so the maps stay small).
    pub fn upkeep(&self) {
        if let Some(l) = &self.anonymous {
            l.retain_recent();
        }
        if let Some(l) = &self.client {
            l.retain_recent();
        }
    }
}

/// The caller's IP address: the peer, or with `trust_forwarded_for` the last address a
/// trusted proxy appended to `X-Forwarded-For`.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    trust_forwarded_for: bool,
) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return ip;
    }
    extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip())
}

/// The `WWW-Authenticate` value for a refused token.
pub fn invalid_token_challenge(resource_metadata: &str, description: &str) -> String {
    let clean: String =
        description.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    format!(
        "Bearer error=\"invalid_token\", error_description=\"{clean}\", resource_metadata=\"{resource_metadata}\""
    )
}

/// Turns the `Authorization` header into a principal: anonymous without one, the token's
/// client, user and scopes with a valid bearer token, a 401 rejection otherwise.
pub async fn authenticate(
    auth: &AuthServer,
    headers: &HeaderMap,
    resource_metadata: &str,
) -> Result<Principal, Rejection> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Principal::anonymous()) };
    let reject = |description: &str| Rejection::InvalidToken {
        description: description.to_owned(),
        challenge: invalid_token_challenge(resource_metadata, description),
    };
    let text = value.to_str().map_err(|_| reject("the Authorization header is not ASCII"))?;
    let token = match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => return Err(reject("send the access token as `Authorization: Bearer <token>`")),
    };
    match auth.validate_bearer(token).await {
        Ok(info) => Ok(Principal {
            client_id: Some(info.client_id),
            user_id: info.user_id,
            scopes: info.scopes,
        }),
        Err(e) => Err(reject(&e.0)),
    }
}

/// The gate around protected tools: quota before, audit row after.
pub struct AuthGate {
    auth: Arc<AuthServer>,
}

impl AuthGate {
    /// A gate over the authorization server's store.
    pub fn new(auth: Arc<AuthServer>) -> Self {
        Self { auth }
    }
}

impl ToolGate for AuthGate {
    fn admit<'a>(
        &'a self,
        tool: &'static str,
        principal: &'a Principal,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let Some(user) = principal.user_id else { return Ok(()) };
            match self.auth.check_qr_quota(user).await {
                Ok(()) => Ok(()),
                Err(retry_after) => {
                    let c = self.auth.config();
                    Err(ServiceError::RateLimited {
                        detail: format!(
                            "{tool}: your quota of {} per day and {} per month is used up",
                            c.qr_per_day, c.qr_per_month
                        ),
                        retry_after,
                    })
                }
            }
        })
    }

    fn record<'a>(&'a self, event: GateEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.auth
                .audit(AuditRecord {
                    occurred_at: String::new(),
                    request_id: event.request_id.map(str::to_owned),
                    action: event.tool.to_owned(),
                    outcome: event.outcome.to_owned(),
                    user_id: event.principal.user_id,
                    client_id: event.principal.client_id.clone(),
                    target: (!event.gtins.is_empty()).then(|| event.gtins.join(",")),
                    arguments: Value::Object(event.arguments.clone()),
                })
                .await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_never_break_quoting() {
        let c = invalid_token_challenge(
            "https://x/.well-known/oauth-protected-resource",
            "bad \"token\"\n",
        );
        assert_eq!(
            c,
            "Bearer error=\"invalid_token\", error_description=\"bad token\", resource_metadata=\"https://x/.well-known/oauth-protected-resource\""
        );
    }

    #[test]
    fn limits_are_per_key() {
        let l = Limiters::new(RateLimits { anonymous_per_minute: 2, client_per_minute: 3 });
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let anon = Principal::anonymous();
        assert!(l.check(&anon, a).is_ok());
        assert!(l.check(&anon, a).is_ok());
        match l.check(&anon, a) {
            Err(Rejection::RateLimited { retry_after, detail }) => {
                assert!(retry_after >= 1);
                assert!(detail.contains("2 requests per minute"));
            }
            other => panic!("{other:?}"),
        }
        assert!(l.check(&anon, b).is_ok());
        let client = Principal { client_id: Some("c".into()), user_id: None, scopes: vec![] };
        for _ in 0..3 {
            assert!(l.check(&client, a).is_ok());
        }
        assert!(l.check(&client, b).is_err(), "a client's limit follows it across addresses");
        let off = Limiters::new(RateLimits { anonymous_per_minute: 0, client_per_minute: 0 });
        for _ in 0..100 {
            assert!(off.check(&anon, a).is_ok());
        }
    }
}
