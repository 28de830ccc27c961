//! The GS1 Digital Link resolver (docs/spec.md §5, GS1-Conformant Resolver 1.2): `/01/{gtin}[/22/…]
//! [/10/…][/21/…]` for GET, HEAD and OPTIONS with CORS on every answer; 400 for bad syntax, 404
//! for identifiers prodlink knows nothing about and for link types it has no link of; 307
//! redirects carrying the query string on, with a `Link` to the linkset; RFC 9264 linksets for
//! `?linkType=linkset` or `Accept: application/linkset+json`; the product record for an explicit
//! `Accept: application/json`; the hosted page when the destination is prodlink itself; and
//! `/.well-known/gs1resolver`. The destination comes from the same rule engine as
//! `resolve_gtin`.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog::ErrorCode;
use catalog::resolve::{DestinationType, ResolveKey, ResolveOutput, RuleScope};
use catalog::rules::RequestContext;
use gs1::{DigitalLink, LinkType, ParseMode};
use serde_json::{Map, Value, json};

use crate::AppState;

/// The JSON-LD context GS1 publishes for linksets (Resolver 1.2 §5.13).
pub const LINKSET_CONTEXT: &str = "https://ref.gs1.org/standards/resolver/linkset-context";

/// Resolver routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/01/{*rest}", get(resolve).options(preflight))
        .route("/.well-known/gs1resolver", get(description).options(preflight))
}

fn cors(h: &mut HeaderMap) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Accept, Accept-Language, Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Link, Location, Content-Type"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    h.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Language"));
}

fn with_cors(mut r: Response) -> Response {
    cors(r.headers_mut());
    r
}

async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    cors(r.headers_mut());
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    r
}

/// `/.well-known/gs1resolver` (Resolver 1.2 §3).
async fn description(State(state): State<AppState>) -> Response {
    let site = state.catalog().site_url();
    let body = json!({
        "name": "prodlink",
        "resolverRoot": site,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": "https://ref.gs1.org/voc/", "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": false,
        "jsonLdContextLocation": LINKSET_CONTEXT,
        "contact": {"fn": "prodlink operator"},
    });
    let mut r = (StatusCode::OK, axum::Json(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    with_cors(r)
}

fn problem(state: &AppState, code: ErrorCode, detail: &str) -> Response {
    with_cors(crate::middleware::problem::problem(state.catalog().site_url(), code, detail))
}

/// The media types of `Accept`, in order, without parameters (q=0 dropped).
fn accepted(headers: &HeaderMap) -> Vec<String> {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .filter(|p| {
            !p.split(';')
                .skip(1)
                .any(|x| matches!(x.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
        })
        .map(|p| p.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

async fn resolve(State(state): State<AppState>, request: Request) -> Response {
    let head = request.method() == Method::HEAD;
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let headers = request.headers().clone();
    let parsed = match DigitalLink::parse_path(&target, ParseMode::Lenient) {
        Ok(p) => p,
        Err(e) => return problem(&state, ErrorCode::BadRequest, &e.to_string()),
    };
    if !parsed.stem().is_empty() {
        return problem(
            &state,
            ErrorCode::NotFound,
            "this resolver serves GS1 Digital Links at the root path only",
        );
    }
    let link = parsed.link();
    let key = ResolveKey {
        batch: link.batch().map(str::to_owned),
        serial: link.serial().map(str::to_owned),
        ..ResolveKey::gtin(link.gtin())
    };
    let site = state.catalog().site_url().to_owned();
    // The canonical URI of what was asked for (qualifiers only; data attributes are the
    // query's business), built by the same code as every other Digital Link prodlink emits.
    let canonical = {
        let b = DigitalLink::builder(link.gtin());
        let b = match link.batch() {
            Some(v) => b.batch(v),
            None => b,
        };
        let b = match link.serial() {
            Some(v) => b.serial(v),
            None => b,
        };
        b.build().unwrap_or_else(|_| DigitalLink::new(link.gtin())).to_uri(&site)
    };
    let linkset_link = format!(
        "<{canonical}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\""
    );
    let ctx = RequestContext::from_request(
        jiff::Timestamp::now(),
        state
            .http()
            .country_header
            .as_deref()
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok()),
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    );
    let default = match state.catalog().resolve_rules(&key, &ctx).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return problem(&state, ErrorCode::InternalError, "the default link did not resolve");
        }
        Err(e) => return problem(&state, e.code(), &e.public_detail()),
    };
    let known = default.product_found
        || matches!(
            default.matched_rule_scope,
            Some(RuleScope::Serial | RuleScope::Batch | RuleScope::Product)
        );
    if !known {
        return problem(
            &state,
            ErrorCode::NotFound,
            &format!("GTIN {} is not known to this resolver", link.gtin().as_str()),
        );
    }
    let accept = accepted(&headers);
    let link_type_param = parsed.other_param("linkType").map(str::to_owned);
    let wants_linkset = matches!(link_type_param.as_deref(), Some("linkset" | "all"))
        || accept.iter().any(|t| t == "application/linkset+json");
    if wants_linkset {
        return linkset(&state, &key, &ctx, head).await;
    }
    let chosen = match link_type_param.as_deref() {
        None => default,
        Some(raw) => {
            let Ok(lt) = LinkType::parse(raw) else {
                return problem(
                    &state,
                    ErrorCode::NotFound,
                    &format!("no link of type {raw:?} for this item"),
                );
            };
            let typed = ResolveKey { link_type: Some(lt), ..key.clone() };
            match state.catalog().resolve_rules(&typed, &ctx).await {
                Ok(Some(d)) => d,
                Ok(None) if lt == LinkType::DEFAULT_LINK || lt == LinkType::DEFAULT_LINK_MULTI => {
                    default
                }
                // No rule names a product information page: prodlink's own page is one.
                Ok(None) if lt == LinkType::PIP => ResolveOutput {
                    destination_url: canonical.clone(),
                    destination_type: DestinationType::HostedPage,
                    fallback_applied: true,
                    matched_rule_scope: None,
                    ..default
                },
                Ok(None) => {
                    return problem(
                        &state,
                        ErrorCode::NotFound,
                        &format!("no link of type {} for this item", lt.curie()),
                    );
                }
                Err(e) => return problem(&state, e.code(), &e.public_detail()),
            }
        }
    };
    let query = request.uri().query().map(str::to_owned);
    let etag = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    let near = match (parsed.other_param("lat"), parsed.other_param("lng")) {
        (Some(lat), Some(lng)) => Some(super::hosted::Near { lat, lng }),
        _ => None,
    };
    let asked = Asked { query: query.as_deref(), accept: &accept, head, if_none_match: etag, near };
    let mut res = answer(&state, &chosen, link.gtin(), &asked).await;
    if let Ok(v) = HeaderValue::from_str(&linkset_link) {
        res.headers_mut().insert(header::LINK, v);
    }
    with_cors(res)
}

/// What the request asked for, beyond the item and link type.
#[derive(Clone, Copy)]
struct Asked<'a> {
    /// The raw query string, carried on to redirect targets.
    query: Option<&'a str>,
    /// `Accept` media types, in order.
    accept: &'a [String],
    /// A HEAD request.
    head: bool,
    /// `If-None-Match`.
    if_none_match: Option<&'a str>,
    /// The shopper's position, for the hosted page's nearby stores.
    near: Option<super::hosted::Near<'a>>,
}

async fn answer(
    state: &AppState,
    out: &ResolveOutput,
    gtin: gs1::Gtin14,
    asked: &Asked<'_>,
) -> Response {
    let Asked { query, accept, head, if_none_match, near } = *asked;
    match out.destination_type {
        DestinationType::CustomUrl => {
            let mut location = out.destination_url.clone();
            if let Some(q) = query.filter(|q| !q.is_empty()) {
                location.push(if location.contains('?') { '&' } else { '?' });
                location.push_str(q);
            }
            let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        DestinationType::HostedPage => {
            // An explicit JSON request (not */*) gets the product record.
            if accept.first().is_some_and(|t| t == "application/json") {
                return match state.catalog().get_product_detail(gtin.as_str()).await {
                    Ok(d) => {
                        let mut r = (StatusCode::OK, axum::Json(d)).into_response();
                        r.headers_mut().insert(
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, max-age=60"),
                        );
                        r
                    }
                    Err(e) => crate::middleware::problem::problem(
                        state.catalog().site_url(),
                        e.code(),
                        &e.public_detail(),
                    ),
                };
            }
            super::hosted::page(state, gtin, head, if_none_match, near).await
        }
    }
}

async fn linkset(state: &AppState, key: &ResolveKey, ctx: &RequestContext, head: bool) -> Response {
    let set = match state.catalog().linkset(key, ctx).await {
        Ok(s) => s,
        Err(e) => return problem(state, e.code(), &e.public_detail()),
    };
    let site = state.catalog().site_url();
    let objects: Vec<Value> = set
        .levels
        .iter()
        .map(|level| {
            let mut o = Map::new();
            o.insert("anchor".into(), Value::String(level.anchor.clone()));
            o.insert("itemDescription".into(), Value::String(set.item_description.clone()));
            for l in &level.links {
                // `defaultLink` carries a title only (Resolver 2.5.8); prodlink's own pages
                // are known to be HTML, a brand's URL may be anything.
                let mut target = Map::new();
                target.insert("href".into(), Value::String(l.href.clone()));
                target.insert("title".into(), Value::String(l.title.clone()));
                if l.link_type != LinkType::DEFAULT_LINK {
                    if l.href.starts_with(site) {
                        target.insert("type".into(), Value::String("text/html".into()));
                    }
                    if !l.hreflang.is_empty() {
                        target.insert("hreflang".into(), json!(l.hreflang));
                    }
                }
                let target = Value::Object(target);
                match o.entry(l.link_type.uri()) {
                    serde_json::map::Entry::Vacant(v) => {
                        v.insert(Value::Array(vec![target]));
                    }
                    serde_json::map::Entry::Occupied(mut e) => {
                        if let Value::Array(a) = e.get_mut() {
                            a.push(target);
                        }
                    }
                }
            }
            Value::Object(o)
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "linkset": objects })).unwrap_or_default();
    let len = body.len();
    let mut r = if head {
        Response::new(axum::body::Body::empty())
    } else {
        Response::new(axum::body::Body::from(body))
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/linkset+json"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::LINK,
        HeaderValue::from_static(
            "<https://ref.gs1.org/standards/resolver/linkset-context>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    with_cors(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;q=0.9, text/html, application/xml;q=0"),
        );
        assert_eq!(accepted(&h), ["application/json", "text/html"]);
        assert!(accepted(&HeaderMap::new()).is_empty());
    }
}
