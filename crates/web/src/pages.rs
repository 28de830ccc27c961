//! The authorization server's browser pages (docs/spec.md §4), server-rendered HTML without scripts:
//! sign-in, optional sign-up, sign-out, the consent page of `/o/authorize/`, and the account
//! page where a user sees and revokes the clients they consented to.
//!
//! Every page is sent with `Content-Security-Policy` (no scripts, `frame-ancestors 'none'`),
//! `X-Frame-Options: DENY`, `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
//! Every POST checks `Origin` (when the browser sends it) against the site's origin and a CSRF
//! token: for consent an HMAC bound to the session and to every parameter of the request, for
//! the other forms one bound to the session and the form. Successful POSTs answer 303.

use std::net::IpAddr;

use auth::params::Params;
use auth::store::UserRecord;
use auth::{AuthorizeError, AuthorizeRequest, LoginError};
use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::AppState;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/o/authorize/", get(authorize_get).post(authorize_post))
        .route("/o/login/", get(login_get).post(login_post))
        .route("/o/signup/", get(signup_get).post(signup_post))
        .route("/o/logout/", get(logout_get).post(logout_post))
        .route("/o/account/", get(account_get))
        .route("/o/account/revoke/", axum::routing::post(account_revoke))
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
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · prodlink" }
                link rel="stylesheet" href="/o/style.css";
            }
            body { main { (body) } }
        }
    }
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
    let (headers, params, _) = crate::oauth::form_request(request).await.map_err(|_| {
        error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form could not be read; submit it from the page again.",
        )
    })?;
    Ok((headers, params))
}

async fn form_with_ip(state: &AppState, request: Request) -> Result<(IpAddr, Params), Response> {
    let ip = crate::security::client_ip(
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

// ---------------------------------------------------------------------------------------------
// Authorization endpoint and consent.

fn scope_text(scope: &str) -> &'static str {
    match scope {
        "qr:generate" => {
            "Generate GS1 Digital Link QR code URLs for products in your name (they count against your quota and are recorded in the audit log)"
        }
        "products:read" => "Read the product catalog through the REST API",
        "products:write" => "Create and change products through the REST API",
        "rules:write" => "Change resolver redirect rules",
        "accounts:read" => "Read account information",
        _ => "An access right prodlink does not describe",
    }
}

fn consent_page(
    state: &AppState,
    cookie: &str,
    user: &UserRecord,
    req: &AuthorizeRequest,
) -> Response {
    let name = req.client.client_name.clone().unwrap_or_else(|| "An unnamed application".into());
    let client_host = req.client_host();
    let csrf = state.auth().consent_token(cookie, req);
    let loopback = req.redirect_host() == "localhost"
        || req.redirect_host() == "127.0.0.1"
        || req.redirect_host() == "[::1]";
    let logout_token = state.auth().form_token(cookie, "logout");
    let body = html! {
        h1 { "Allow " (name) " to use prodlink?" }
        p {
            strong { (name) }
            @match &client_host {
                Some(h) => { " (published at " strong { (h) } ")" }
                None => { " (" span.muted { "client id " code { (req.client.client_id) } } ")" }
            }
            " is asking for access to your prodlink account " strong { (user.email) } "."
        }
        @if client_host.is_none() {
            p.muted { "The application named itself; prodlink has not verified the name." }
        }
        h2 { "It will be able to" }
        ul {
            @for s in req.scope.split_whitespace() {
                li { strong { code { (s) } } ": " (scope_text(s)) }
            }
        }
        p {
            "Afterwards your browser goes to " strong { (req.redirect_host()) } "."
        }
        @if loopback {
            p.note role="note" {
                "This application receives the answer on your own computer (" (req.redirect_host()) "). "
                "Continue only if you started this sign-in yourself just now."
            }
        }
        form method="post" action="/o/authorize/" {
            @for (k, v) in req.params() {
                input type="hidden" name=(k) value=(v);
            }
            input type="hidden" name="csrf_token" value=(csrf);
            button.primary type="submit" name="decision" value="allow" { "Allow" }
            button type="submit" name="decision" value="deny" { "Deny" }
        }
        form method="post" action="/o/logout/" {
            input type="hidden" name="csrf_token" value=(logout_token);
            p.muted { "Not " (user.email) "? " button type="submit" { "Sign out" } }
        }
    };
    page(StatusCode::OK, layout("Authorize", body))
}

async fn validated(
    state: &AppState,
    params: &Params,
    method_status: StatusCode,
) -> Result<AuthorizeRequest, Response> {
    state.auth().authorize(params).await.map_err(|e| match e {
        AuthorizeError::Page(m) => {
            error_page(StatusCode::BAD_REQUEST, "This authorization request cannot be used", &m)
        }
        AuthorizeError::Redirect(url) => redirect(method_status, &url),
    })
}

async fn authorize_get(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(uri.query().unwrap_or("").as_bytes());
    let req = match validated(&state, &params, StatusCode::FOUND).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some((cookie, user)) = signed_in(&state, &headers).await else {
        let next = format!("/o/authorize/?{}", uri.query().unwrap_or(""));
        return redirect(StatusCode::FOUND, &login_location(&next));
    };
    if !state.auth().needs_consent(&user, &req).await {
        return match state.auth().approve(&user, &req).await {
            Ok(url) => redirect(StatusCode::FOUND, &url),
            Err(_) => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "prodlink could not record the authorization; try again.",
            ),
        };
    }
    consent_page(&state, &cookie, &user, &req)
}

async fn authorize_post(State(state): State<AppState>, request: Request) -> Response {
    let (headers, params) = match form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let req = match validated(&state, &params, StatusCode::SEE_OTHER).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some((cookie, user)) = signed_in(&state, &headers).await else {
        return error_page(
            StatusCode::UNAUTHORIZED,
            "Your session ended",
            "Sign in again from the application to continue.",
        );
    };
    if !state.auth().check_consent_token(&cookie, &req, param(&params, "csrf_token")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The consent form is missing its security token or was changed. Start again from the application.",
        );
    }
    match param(&params, "decision") {
        "allow" => match state.auth().approve(&user, &req).await {
            Ok(url) => redirect(StatusCode::SEE_OTHER, &url),
            Err(_) => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "prodlink could not record the authorization; try again.",
            ),
        },
        "deny" => redirect(StatusCode::SEE_OTHER, &state.auth().deny(&req)),
        _ => error_page(StatusCode::BAD_REQUEST, "Bad request", "Choose Allow or Deny."),
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in, sign-up, sign-out.

fn login_form(state: &AppState, next: &str, message: Option<&str>, email: &str) -> Markup {
    html! {
        h1 { "Sign in to prodlink" }
        @if let Some(m) = message { p.error role="alert" { (m) } }
        form method="post" action="/o/login/" {
            input type="hidden" name="next" value=(next);
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button.primary type="submit" { "Sign in" }
        }
        @if state.auth().signup_allowed() {
            p { "No account? " a href=(format!("/o/signup/?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())) { "Create one" } }
        }
    }
}

async fn login_get(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let q = Params::parse(uri.query().unwrap_or("").as_bytes());
    let next = safe_next(param(&q, "next")).to_owned();
    if signed_in(&state, &headers).await.is_some() {
        return redirect(StatusCode::FOUND, &next);
    }
    page(StatusCode::OK, layout("Sign in", login_form(&state, &next, None, "")))
}

fn signed_in_redirect(state: &AppState, cookie: &str, next: &str) -> Response {
    let mut r = redirect(StatusCode::SEE_OTHER, next);
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(state, cookie, state.auth().config().session_ttl.as_secs()),
    );
    r
}

async fn login_post(State(state): State<AppState>, request: Request) -> Response {
    let (ip, params) = match form_with_ip(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let next = safe_next(param(&params, "next")).to_owned();
    let email = param(&params, "email");
    match state.auth().login(email, param(&params, "password"), ip).await {
        Ok(session) => {
            tracing::info!(user_id = session.user.id, "signed in");
            signed_in_redirect(&state, &session.cookie, &next)
        }
        Err(LoginError::BadCredentials) => page(
            StatusCode::UNAUTHORIZED,
            layout("Sign in", login_form(&state, &next, Some("Wrong email or password."), email)),
        ),
        Err(LoginError::Throttled(secs)) => {
            let msg = format!("Too many sign-in attempts. Try again in {secs} seconds.");
            let mut r = page(
                StatusCode::TOO_MANY_REQUESTS,
                layout("Sign in", login_form(&state, &next, Some(&msg), email)),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(LoginError::Server) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Signing in failed; try again.",
        ),
    }
}

fn signup_form(next: &str, message: Option<&str>, email: &str) -> Markup {
    html! {
        h1 { "Create a prodlink account" }
        @if let Some(m) = message { p.error role="alert" { (m) } }
        form method="post" action="/o/signup/" {
            input type="hidden" name="next" value=(next);
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
            label for="password" { "Password " span.muted { "(at least " (auth::password::MIN_PASSWORD_CHARS) " characters)" } }
            input #password type="password" name="password" autocomplete="new-password" minlength=(auth::password::MIN_PASSWORD_CHARS) required;
            button.primary type="submit" { "Create account" }
        }
        p { "Have an account? " a href=(login_location(next)) { "Sign in" } }
    }
}

async fn signup_get(State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> Response {
    if !state.auth().signup_allowed() {
        return error_page(
            StatusCode::NOT_FOUND,
            "Sign-up is closed",
            "Ask the operator of this prodlink server for an account.",
        );
    }
    let q = Params::parse(uri.query().unwrap_or("").as_bytes());
    page(
        StatusCode::OK,
        layout("Create account", signup_form(safe_next(param(&q, "next")), None, "")),
    )
}

async fn signup_post(State(state): State<AppState>, request: Request) -> Response {
    if !state.auth().signup_allowed() {
        return error_page(
            StatusCode::NOT_FOUND,
            "Sign-up is closed",
            "Ask the operator of this prodlink server for an account.",
        );
    }
    let (ip, params) = match form_with_ip(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let next = safe_next(param(&params, "next")).to_owned();
    let (email, password) = (param(&params, "email"), param(&params, "password"));
    if let Err(m) = state.auth().create_user(email, password).await {
        // Existing accounts get the same answer as a fresh one would not: say only what to fix.
        let m = if m.contains("exists") {
            "An account with this email cannot be created; sign in instead.".to_owned()
        } else {
            m
        };
        return page(
            StatusCode::BAD_REQUEST,
            layout("Create account", signup_form(&next, Some(&m), email)),
        );
    }
    match state.auth().login(email, password, ip).await {
        Ok(session) => signed_in_redirect(&state, &session.cookie, &next),
        Err(_) => redirect(StatusCode::SEE_OTHER, &login_location(&next)),
    }
}

async fn logout_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((cookie, user)) = signed_in(&state, &headers).await else {
        return redirect(StatusCode::FOUND, "/o/login/");
    };
    let token = state.auth().form_token(&cookie, "logout");
    page(
        StatusCode::OK,
        layout(
            "Sign out",
            html! {
                h1 { "Sign out" }
                p { "You are signed in as " strong { (user.email) } "." }
                form method="post" action="/o/logout/" {
                    input type="hidden" name="csrf_token" value=(token);
                    button.primary type="submit" { "Sign out" }
                }
            },
        ),
    )
}

async fn logout_post(State(state): State<AppState>, request: Request) -> Response {
    let (headers, params) = match form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(cookie) = session_cookie(&state, &headers) {
        if !state.auth().check_form_token(&cookie, "logout", param(&params, "csrf_token")) {
            return error_page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "The sign-out form is missing its security token.",
            );
        }
        state.auth().logout(&cookie).await;
    }
    let mut r = redirect(StatusCode::SEE_OTHER, "/o/login/");
    r.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, "", 0));
    r
}

// ---------------------------------------------------------------------------------------------
// Account: consented clients.

async fn account_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((cookie, user)) = signed_in(&state, &headers).await else {
        return redirect(StatusCode::FOUND, &login_location("/o/account/"));
    };
    let Ok(consents) = state.auth().consents(user.id).await else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Your authorizations could not be listed.",
        );
    };
    let token = state.auth().form_token(&cookie, "account");
    let logout_token = state.auth().form_token(&cookie, "logout");
    let body = html! {
        h1 { "Your prodlink account" }
        p { "Signed in as " strong { (user.email) } "." }
        h2 { "Applications you authorized" }
        @if consents.is_empty() {
            p { "None." }
        } @else {
            table {
                thead { tr { th scope="col" { "Application" } th scope="col" { "Access" } th scope="col" { "Since" } th scope="col" { span.muted { "Action" } } } }
                tbody {
                    @for c in &consents {
                        tr {
                            td { (c.client_name.as_deref().unwrap_or("Unnamed application")) br; span.muted { code { (c.client_id) } } }
                            td { code { (c.scope) } }
                            td { (c.granted_at.get(..10).unwrap_or(&c.granted_at)) }
                            td {
                                form method="post" action="/o/account/revoke/" {
                                    input type="hidden" name="csrf_token" value=(token);
                                    input type="hidden" name="client_id" value=(c.client_id);
                                    button type="submit" aria-label=(format!("Revoke access of {}", c.client_name.as_deref().unwrap_or(&c.client_id))) { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/o/logout/" {
            input type="hidden" name="csrf_token" value=(logout_token);
            button type="submit" { "Sign out" }
        }
    };
    page(StatusCode::OK, layout("Account", body))
}

async fn account_revoke(State(state): State<AppState>, request: Request) -> Response {
    let (headers, params) = match form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some((cookie, user)) = signed_in(&state, &headers).await else {
        return redirect(StatusCode::SEE_OTHER, &login_location("/o/account/"));
    };
    if !state.auth().check_form_token(&cookie, "account", param(&params, "csrf_token")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form is missing its security token.",
        );
    }
    let client = param(&params, "client_id");
    match state.auth().revoke_consent(user.id, client).await {
        Ok(_) => {
            tracing::info!(user_id = user.id, client_id = client, "consent revoked");
            redirect(StatusCode::SEE_OTHER, "/o/account/")
        }
        Err(_) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The authorization could not be revoked; try again.",
        ),
    }
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
