//! The REST API (`/api/v1/…`, SPEC §7). So far: `GET /api/v1/qr` and `GET /api/v1/datamatrix`,
//! which render a product's GS1 Digital Link as a QR code or a Data Matrix (the URI, or the GS1
//! element string with FNC1 first) in SVG or PNG for a signed-in user — behind the
//! `qr:generate` scope, counted against the user's QR quota and recorded in `audit_events`
//! exactly like the MCP tool. Errors are `application/problem+json`.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog::ServiceError;
use catalog::datamatrix_image::{self, Content, Payload};
use catalog::qr_image::{self, ErrorCorrection};
use mcp::{GateEvent, Principal, Rejection, ToolGate};

use crate::AppState;

/// API routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/qr", get(qr)).route("/api/v1/datamatrix", get(datamatrix))
}

/// The query parameters of the image routes; each may be given once. `error_correction` is
/// QR's only, `content` Data Matrix's only.
const PARAMS: [&str; 7] =
    ["gtin", "batch", "serial", "format", "size", "error_correction", "content"];

/// The symbol an image route draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symbology {
    Qr,
    DataMatrix,
}

impl Symbology {
    fn name(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::DataMatrix => "datamatrix",
        }
    }
}

/// The symbol with its options.
enum Symbol {
    Qr(ErrorCorrection),
    DataMatrix(Content, Payload),
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
async fn qr(state: State<AppState>, request: Request) -> Response {
    image(state, request, Symbology::Qr).await
}

/// `GET /api/v1/datamatrix?gtin=…[&batch=…][&serial=…][&format=svg|png][&size=PX][&content=uri|element_string]`.
async fn datamatrix(state: State<AppState>, request: Request) -> Response {
    image(state, request, Symbology::DataMatrix).await
}

/// Both image routes: the token, the parameters, then [`render`].
async fn image(State(state): State<AppState>, request: Request, symbology: Symbology) -> Response {
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
    if let Some(name) = PARAMS.iter().find(|n| params.get(n).is_err()) {
        return problem_with(
            &state,
            &ServiceError::invalid(*name, "is repeated: give it once"),
            None,
        );
    }
    let get = |name: &str| params.get(name).ok().flatten();
    let query = ImageQuery {
        gtin: get("gtin"),
        batch: get("batch"),
        serial: get("serial"),
        format: get("format"),
        size: get("size"),
        error_correction: get("error_correction"),
        content: get("content"),
    };
    let request_id = request.headers().get(&crate::REQUEST_ID).and_then(|v| v.to_str().ok());
    match render(&state, &principal, symbology, &query, request_id).await {
        Ok(r) => r,
        Err(e) => problem_with(&state, &e, None),
    }
}

/// The query of an image request.
struct ImageQuery<'a> {
    gtin: Option<&'a str>,
    batch: Option<&'a str>,
    serial: Option<&'a str>,
    format: Option<&'a str>,
    size: Option<&'a str>,
    error_correction: Option<&'a str>,
    content: Option<&'a str>,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    symbology: Symbology,
    q: &ImageQuery<'_>,
    request_id: Option<&str>,
) -> Result<Response, ServiceError> {
    let gtin = q.gtin.ok_or_else(|| ServiceError::invalid("gtin", "is required"))?;
    let format = q.format.unwrap_or("svg").to_ascii_lowercase();
    if !matches!(format.as_str(), "svg" | "png") {
        return Err(ServiceError::invalid("format", format!("{format:?} is not svg or png")));
    }
    let size: u32 = match q.size {
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
    let link = catalog::qr::digital_link(gtin, q.batch, q.serial)?;
    let out = state.catalog().qr_url_output(&link);
    let symbol = match symbology {
        Symbology::Qr => {
            if q.content.is_some() {
                return Err(ServiceError::invalid(
                    "content",
                    "applies to Data Matrix only (/api/v1/datamatrix); a QR code holds the URI",
                ));
            }
            let ec = q.error_correction.map(ErrorCorrection::parse).transpose()?;
            Symbol::Qr(ec.unwrap_or(ErrorCorrection::M))
        }
        Symbology::DataMatrix => {
            if q.error_correction.is_some() {
                return Err(ServiceError::invalid(
                    "error_correction",
                    "applies to QR codes only; Data Matrix (ECC 200) fixes it for each symbol size",
                ));
            }
            let content = q.content.map(Content::parse).transpose()?.unwrap_or_default();
            let payload = match content {
                Content::Uri => Payload::uri(&out.qr_url)?,
                Content::ElementString => Payload::element_string(&link)?,
            };
            Symbol::DataMatrix(content, payload)
        }
    };
    // The same gate as the MCP tool: quota first, audit row after.
    let gate = &state.inner.gate;
    let admitted = gate.admit("generate_qr_url", principal).await;
    let mut arguments = serde_json::Map::from_iter([
        ("gtin".to_owned(), serde_json::Value::String(gtin.to_owned())),
        ("format".to_owned(), serde_json::Value::String(format.clone())),
        ("symbology".to_owned(), serde_json::Value::String(symbology.name().into())),
        ("via".to_owned(), serde_json::Value::String("rest".into())),
    ]);
    if let Symbol::DataMatrix(content, _) = &symbol {
        arguments.insert("content".to_owned(), serde_json::Value::String(content.as_str().into()));
    }
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
    let body = match (&symbol, format.as_str()) {
        (Symbol::Qr(ec), "png") => {
            let side = qr_image::png_side(&out.qr_url, *ec, 1)?;
            qr_image::png(&out.qr_url, *ec, (size / side.max(1)).max(1))?
        }
        (Symbol::Qr(ec), _) => qr_image::svg(&out.qr_url, *ec, size)?.into_bytes(),
        (Symbol::DataMatrix(_, payload), "png") => {
            let side = datamatrix_image::png_side(payload, 1)?;
            datamatrix_image::png(payload, (size / side.max(1)).max(1))?
        }
        (Symbol::DataMatrix(_, payload), _) => datamatrix_image::svg(payload, size)?.into_bytes(),
    };
    let mut r = (StatusCode::OK, body).into_response();
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
