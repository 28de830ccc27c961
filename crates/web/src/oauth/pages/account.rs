//! The account page (`/o/account/`): the clients a signed-in user consented to, each with a
//! form that revokes its access.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::{error_page, form, layout, login_location, page, param, redirect, signed_in};
use crate::AppState;

pub(super) async fn account_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

pub(super) async fn account_revoke(State(state): State<AppState>, request: Request) -> Response {
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
