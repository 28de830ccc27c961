//! The REST API (`/api/v1/…`, SPEC §7). So far: `GET /api/v1/qr`, which renders the QR code
//! of a product's GS1 Digital Link as SVG or PNG for a signed-in user — behind the
//! `qr:generate` scope, counted against the user's QR quota and recorded in `audit_events`
//! exactly like the MCP tool. Errors are `application/problem+json`.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog::ServiceError;
use catalog::qr_image::{self, ErrorCorrection};
use mcp::{GateEvent, Principal, Rejection, ToolGate};

use crate::AppState;

/// API routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/qr", get(qr))
}

fn problem_with(state: &AppState, e: &ServiceError, challenge: Option<String>) -> Response {
    let mut r = crate::problem::problem_response(
        e.code().http_status(),
        e.problem(state.catalog().site_url()),
    );
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    r
}

/// `GET /api/v1/qr?gtin=…[&batch=…][&serial=…][&format=svg|png][&size=PX][&error_correction=L|M|Q|H]`.
async fn qr(State(state): State<AppState>, request: Request) -> Response {
    let metadata = state.auth().resource_metadata_url();
    let principal = match crate::security::authenticate(state.auth(), request.headers(), &metadata)
        .await
    {
        Ok(p) => p,
        Err(Rejection::InvalidToken { description, challenge }) => {
            return problem_with(&state, &ServiceError::Unauthorized(description), Some(challenge));
        }
        Err(Rejection::RateLimited { detail, retry_after }) => {
            return problem_with(&state, &ServiceError::RateLimited { detail, retry_after }, None);
        }
    };
    let step_up = mcp::step_up_challenge(&metadata);
    if principal.client_id.is_none() {
        return problem_with(
            &state,
            &ServiceError::Unauthorized("send an access token with the qr:generate scope".into()),
            Some(format!("Bearer scope=\"{}\", resource_metadata=\"{metadata}\"", auth::QR_SCOPE)),
        );
    }
    if !principal.scopes.iter().any(|s| s == auth::QR_SCOPE) || principal.user_id.is_none() {
        return problem_with(
            &state,
            &ServiceError::Forbidden("this token lacks the qr:generate scope of a user".into()),
            Some(step_up),
        );
    }
    let params = auth::params::Params::parse(request.uri().query().unwrap_or("").as_bytes());
    const NAMES: [&str; 6] = ["gtin", "batch", "serial", "format", "size", "error_correction"];
    if let Some(name) = NAMES.iter().find(|n| params.get(n).is_err()) {
        return problem_with(
            &state,
            &ServiceError::invalid(*name, "is repeated: give it once"),
            None,
        );
    }
    let get = |name: &str| params.get(name).ok().flatten().map(str::to_owned);
    let result = render(
        &state,
        &principal,
        get("gtin"),
        get("batch"),
        get("serial"),
        get("format"),
        get("size"),
        get("error_correction"),
        request.headers().get(&crate::REQUEST_ID).and_then(|v| v.to_str().ok()),
    )
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_with(&state, &e, None),
    }
}

#[allow(clippy::too_many_arguments)] // one per query parameter
async fn render(
    state: &AppState,
    principal: &Principal,
    gtin: Option<String>,
    batch: Option<String>,
    serial: Option<String>,
    format: Option<String>,
    size: Option<String>,
    ec: Option<String>,
    request_id: Option<&str>,
) -> Result<Response, ServiceError> {
    let gtin = gtin.ok_or_else(|| ServiceError::invalid("gtin", "is required"))?;
    let format = format.unwrap_or_else(|| "svg".into()).to_ascii_lowercase();
    if !matches!(format.as_str(), "svg" | "png") {
        return Err(ServiceError::invalid("format", format!("{format:?} is not svg or png")));
    }
    let size: u32 = match size {
        None => 512,
        Some(s) => {
            s.parse().ok().filter(|n| (64..=qr_image::MAX_PNG_PIXELS).contains(n)).ok_or_else(
                || {
                    ServiceError::invalid(
                        "size",
                        format!(
                            "{s:?} is not a whole number of pixels from 64 to {}",
                            qr_image::MAX_PNG_PIXELS
                        ),
                    )
                },
            )?
        }
    };
    let ec = ec.as_deref().map(ErrorCorrection::parse).transpose()?.unwrap_or(ErrorCorrection::M);
    let out = state.catalog().generate_qr_url(&gtin, batch.as_deref(), serial.as_deref())?;
    // The same gate as the MCP tool: quota first, audit row after.
    let gate = &state.inner.gate;
    let admitted = gate.admit("generate_qr_url", principal).await;
    let arguments = serde_json::Map::from_iter([
        ("gtin".to_owned(), serde_json::Value::String(gtin.clone())),
        ("format".to_owned(), serde_json::Value::String(format.clone())),
        ("via".to_owned(), serde_json::Value::String("rest".into())),
    ]);
    let outcome = match &admitted {
        Ok(()) => "ok",
        Err(e) => e.code().as_str(),
    };
    gate.record(GateEvent {
        tool: "generate_qr_url",
        principal,
        outcome,
        request_id,
        arguments: &arguments,
        gtins: std::slice::from_ref(&out.gtin14),
    })
    .await;
    admitted?;
    let mut r = if format == "png" {
        let side = qr_image::png_side(&out.qr_url, ec, 1)?;
        let module_px = (size / side.max(1)).max(1);
        (StatusCode::OK, qr_image::png(&out.qr_url, ec, module_px)?).into_response()
    } else {
        (StatusCode::OK, qr_image::svg(&out.qr_url, ec, size)?).into_response()
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if format == "png" { "image/png" } else { "image/svg+xml" }),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&out.qr_url) {
        h.insert("x-digital-link", v);
    }
    Ok(r)
}
