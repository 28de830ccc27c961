//! The authorization endpoint's page and consent (`/o/authorize/`): the request is validated
//! first, a signed-out user is sent to sign in, and a signed-in user approves or denies the
//! client's scopes on the consent page (or is sent straight back when consent was given before).

use auth::params::Params;
use auth::store::UserRecord;
use auth::{AuthorizeError, AuthorizeRequest};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::{error_page, form, layout, login_location, page, param, redirect, signed_in};
use crate::AppState;

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

pub(super) async fn authorize_get(
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

pub(super) async fn authorize_post(State(state): State<AppState>, request: Request) -> Response {
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
