//! The authorization server's browser pages (docs/spec.md §4), server-rendered HTML without scripts:
//! sign-in, optional sign-up, sign-out, the consent page of `/o/authorize/`, and the account
//! page where a user sees and revokes the clients they consented to.
//!
//! Every page is sent with `Content-Security-Policy` (no scripts, `frame-ancestors 'none'`),
//! `X-Frame-Options: DENY`, `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
//! Every POST checks `Origin` (when the browser sends it) against the site's origin and a CSRF
//! token: for consent an HMAC bound to the session and to every parameter of the request, for
//! the other forms one bound to the session and the form. Successful POSTs answer 303.

mod account;
mod consent;
mod sign_in;

use std::net::IpAddr;

use auth::params::Params;
use auth::store::UserRecord;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use crate::AppState;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/o/authorize/", get(consent::authorize_get).post(consent::authorize_post))
        .route("/o/login/", get(sign_in::login_get).post(sign_in::login_post))
        .route("/o/signup/", get(sign_in::signup_get).post(sign_in::signup_post))
        .route("/o/logout/", get(sign_in::logout_get).post(sign_in::logout_post))
        .route("/o/account/", get(account::account_get))
        .route("/o/account/revoke/", axum::routing::post(account::account_revoke))
        .route("/o/style.css", get(stylesheet))
}

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "\
:root{color-scheme:light dark;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5}
body{margin:0;display:flex;justify-content:center;padding:2rem 1rem}
main{max-width:32rem;width:100%}
h1{font-size:1.5rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;margin-top:.25rem;border:1px solid #888;border-radius:.3rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.3rem;border:1px solid #444;cursor:pointer;margin:1rem .5rem 0 0}
button.primary{background:#1a56db;color:#fff;border-color:#1a56db}
.note{border-left:4px solid #c27803;padding:.5rem .8rem;background:rgba(194,120,3,.1)}
.error{border-left:4px solid #c81e1e;padding:.5rem .8rem;background:rgba(200,30,30,.1)}
.muted{opacity:.75;font-size:.9rem}
code{word-break:break-all}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #8884;vertical-align:top}
:focus-visible{outline:3px solid #1a56db;outline-offset:2px}
";

async fn stylesheet() -> Response {
    let mut r = Response::new(Body::from(STYLE));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    r
}

fn layout(title: &str, body: Markup) -> Markup {
    crate::html::document(
        html! { (title) " · prodlink" },
        html! {
            meta name="referrer" content="no-referrer";
            link rel="stylesheet" href="/o/style.css";
        },
        html! { main { (body) } },
    )
}

/// An HTML response with the page security headers.
fn page(status: StatusCode, markup: Markup) -> Response {
    let mut r = Response::new(Body::from(markup.into_string()));
    *r.status_mut() = status;
    secure_headers(r.headers_mut());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        layout(
            title,
            html! {
                h1 { (title) }
                p.error role="alert" { (message) }
                p.muted { "Nothing was shared. You can close this page and start again from the application." }
            },
        ),
    )
}

/// A redirect: 303 after a POST, 302 for a GET.
fn redirect(status: StatusCode, location: &str) -> Response {
    let mut r = status.into_response();
    secure_headers(r.headers_mut());
    match HeaderValue::from_str(location) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "Cannot redirect",
            "the redirect address is not valid",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Cookies, sessions and request checks.

fn cookie_name(state: &AppState) -> &'static str {
    // `__Host-` pins the cookie to this host, path / and Secure (only possible over https).
    if state.auth().config().https() { "__Host-prodlink_session" } else { "prodlink_session" }
}

fn session_cookie(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

fn set_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.auth().config().https() { "; Secure" } else { "" };
    let v = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("prodlink_session=; Max-Age=0"))
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<(String, UserRecord)> {
    let cookie = session_cookie(state, headers)?;
    let user = state.auth().session_user(&cookie).await?;
    Some((cookie, user))
}

/// The site's origin (`scheme://host[:port]`).
fn site_origin(state: &AppState) -> String {
    state.auth().config().issuer.split('/').take(3).collect::<Vec<_>>().join("/")
}

/// Refuses cross-site form posts: `Origin` (or, without it, `Sec-Fetch-Site`) must say the
/// post came from prodlink's own pages.
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let forbidden = || {
        Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was submitted from another site. Open the page on prodlink itself and try again.",
        )))
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin.eq_ignore_ascii_case(&site_origin(state)) {
            return forbidden();
        }
        return Ok(());
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin" | "none") => Ok(()),
        Some(_) => forbidden(),
    }
}

/// A posted form (bounded) as parameters, after refusing cross-site posts ([`check_origin`]):
/// every form handler reads its body through here.
async fn form(state: &AppState, request: Request) -> Result<(HeaderMap, Params), Response> {
    check_origin(state, request.headers()).map_err(|r| *r)?;
    let (headers, params, _) = super::endpoints::form_request(request).await.map_err(|_| {
        error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form could not be read; submit it from the page again.",
        )
    })?;
    Ok((headers, params))
}

async fn form_with_ip(state: &AppState, request: Request) -> Result<(IpAddr, Params), Response> {
    let ip = crate::middleware::security::client_ip(
        request.headers(),
        request.extensions(),
        state.http().trust_forwarded_for,
    );
    let (_, p) = form(state, request).await?;
    Ok((ip, p))
}

fn param<'a>(p: &'a Params, name: &str) -> &'a str {
    p.get(name).ok().flatten().unwrap_or("")
}

/// Only local pages are valid `next` targets (no open redirects).
fn safe_next(next: &str) -> &str {
    let local = (next.starts_with("/o/authorize/?") || next == "/o/account/")
        && !next.contains(['\\', '\r', '\n'])
        && !next.starts_with("//");
    if local { next } else { "/o/account/" }
}

fn login_location(next: &str) -> String {
    let mut s = String::from("/o/login/?next=");
    s.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_local() {
        assert_eq!(safe_next("/o/authorize/?client_id=x"), "/o/authorize/?client_id=x");
        assert_eq!(safe_next("/o/account/"), "/o/account/");
        for bad in [
            "https://evil.example/",
            "//evil.example/o/authorize/?",
            "/o/authorize/?\r\nSet-Cookie: x",
            "/elsewhere",
            "",
        ] {
            assert_eq!(safe_next(bad), "/o/account/", "{bad:?}");
        }
    }
}
