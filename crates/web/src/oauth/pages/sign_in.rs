//! Sign-in, sign-up and sign-out (`/o/login/`, `/o/signup/`, `/o/logout/`): the session cookie
//! is set after a successful sign-in (or sign-up, when it is open) and cleared on sign-out.

use auth::LoginError;
use auth::params::Params;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};

use super::{
    error_page, form, form_with_ip, layout, login_location, page, param, redirect, safe_next,
    session_cookie, set_cookie, signed_in,
};
use crate::AppState;

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

pub(super) async fn login_get(
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

pub(super) async fn login_post(State(state): State<AppState>, request: Request) -> Response {
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

pub(super) async fn signup_get(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Response {
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

pub(super) async fn signup_post(State(state): State<AppState>, request: Request) -> Response {
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

pub(super) async fn logout_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

pub(super) async fn logout_post(State(state): State<AppState>, request: Request) -> Response {
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
