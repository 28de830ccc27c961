//! The image routes of the REST API: `GET /api/v1/qr` and `GET /api/v1/datamatrix` render a
//! product's GS1 Digital Link as a QR code or a Data Matrix (the URI, or the GS1 element
//! string with FNC1 first) in SVG or PNG for a signed-in user — behind the `qr:generate`
//! scope, counted against the user's QR quota and recorded in `audit_events` exactly like the
//! MCP tool (the [`gate`] the Digital Link URL route shares).

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use barcode::datamatrix::{self as datamatrix_image, Content, Payload};
use barcode::qr::{self as qr_image, ErrorCorrection};
use catalog::ServiceError;
use mcp::{GateEvent, Principal, ToolGate};
use serde_json::{Map, Value};

use super::caller::{Caller, Refusal};
use super::input::Input;
use super::params::{Kind, ParamSpec};
use super::{Endpoint, Success, fail};
use crate::AppState;

const FORMAT: ParamSpec =
    ParamSpec::optional("format", Kind::OneOf(&["svg", "png"]), "Image format.")
        .with_default("svg");
const SIZE: ParamSpec = ParamSpec::optional(
    "size",
    Kind::Integer { min: 64, max: qr_image::MAX_PNG_PIXELS as i64 },
    "Image side in pixels (PNG: rounded down to whole modules).",
)
.with_default("512");
const GTIN: ParamSpec =
    ParamSpec::required("gtin", Kind::Text { max: 64 }, "The product's GTIN-8, -12, -13 or -14.")
        .with_example(super::read::EXAMPLE_GTIN);
const BATCH: ParamSpec =
    ParamSpec::optional("batch", Kind::Text { max: 20 }, "Batch/lot number (GS1 AI 10).");
const SERIAL: ParamSpec =
    ParamSpec::optional("serial", Kind::Text { max: 20 }, "Serial number (GS1 AI 21).");
const QR_PARAMS: &[ParamSpec] = &[
    GTIN,
    BATCH,
    SERIAL,
    FORMAT,
    SIZE,
    ParamSpec::optional(
        "error_correction",
        Kind::OneOf(&["L", "M", "Q", "H"]),
        "QR error-correction level.",
    )
    .with_default("M"),
];
const DATAMATRIX_PARAMS: &[ParamSpec] = &[
    GTIN,
    BATCH,
    SERIAL,
    FORMAT,
    SIZE,
    ParamSpec::optional(
        "content",
        Kind::OneOf(&["uri", "element_string"]),
        "What the symbol holds: the Digital Link URI, or the GS1 element string (FNC1 first).",
    )
    .with_default("uri"),
];

/// The image endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/api/v1/qr",
            operation_id: "renderQrCode",
            tag: "QR codes",
            summary: "Render a product's QR code",
            description: "The product's GS1 Digital Link URI as a QR code, SVG or PNG. Needs a user's token with qr:generate; counts against the user's QR quota and is recorded in the audit log. The URI is also in the X-Digital-Link header.",
            scope: Some(auth::QR_SCOPE),
            params: QR_PARAMS,
            body: None,
            success: Success::Media(&["image/svg+xml", "image/png"]),
            success_headers: &["X-Digital-Link"],
            errors: &[401, 403, 422, 429],
            route: get(qr),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/datamatrix",
            operation_id: "renderDataMatrix",
            tag: "QR codes",
            summary: "Render a product's GS1 Data Matrix",
            description: "The product's GS1 Digital Link URI, or its GS1 element string, as a Data Matrix (ECC 200), SVG or PNG. Same authorization, quota and audit as the QR code.",
            scope: Some(auth::QR_SCOPE),
            params: DATAMATRIX_PARAMS,
            body: None,
            success: Success::Media(&["image/svg+xml", "image/png"]),
            success_headers: &["X-Digital-Link"],
            errors: &[401, 403, 422, 429],
            route: get(datamatrix),
        },
    ]
}

/// `Ok` for a signed-in user's token with `qr:generate`; the 401/403 otherwise.
pub fn require_qr_user(caller: &Caller, resource_metadata: &str) -> Result<(), Refusal> {
    caller.require(auth::QR_SCOPE, resource_metadata)?;
    if caller.principal.user_id.is_none() {
        return Err(Refusal {
            error: ServiceError::Forbidden(
                "qr:generate is a user's permission; this token was not issued to a user".into(),
            ),
            challenge: Some(mcp::step_up_challenge(resource_metadata)),
        });
    }
    Ok(())
}

/// The QR gate the MCP tool uses: the user's quota first, the audit row after (whatever the
/// outcome).
pub async fn gate(
    state: &AppState,
    principal: &Principal,
    arguments: Map<String, Value>,
    gtin14: &str,
    request_id: Option<&str>,
) -> Result<(), ServiceError> {
    let gate = &state.inner.gate;
    let admitted = gate.admit("generate_qr_url", principal).await;
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
        gtins: &[gtin14.to_owned()],
    })
    .await;
    admitted
}

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

/// `GET /api/v1/qr?gtin=…[&batch=…][&serial=…][&format=svg|png][&size=PX][&error_correction=L|M|Q|H]`.
async fn qr(state: State<AppState>, input: Input) -> Response {
    image(state, input, Symbology::Qr).await
}

/// `GET /api/v1/datamatrix?gtin=…[&batch=…][&serial=…][&format=svg|png][&size=PX][&content=uri|element_string]`.
async fn datamatrix(state: State<AppState>, input: Input) -> Response {
    image(state, input, Symbology::DataMatrix).await
}

/// Both image routes: the caller's permission, the parameters, then [`render`].
async fn image(State(state): State<AppState>, input: Input, symbology: Symbology) -> Response {
    let metadata = state.auth().resource_metadata_url();
    let Some(caller) = input.caller.clone() else {
        return fail(&state, ServiceError::Internal("no caller on a REST request".into()));
    };
    if let Err(refusal) = require_qr_user(&caller, &metadata) {
        return fail(&state, refusal);
    }
    let specs = match symbology {
        Symbology::Qr => QR_PARAMS,
        Symbology::DataMatrix => DATAMATRIX_PARAMS,
    };
    let p = match input.check(specs) {
        Ok(p) => p,
        Err(e) => return fail(&state, e),
    };
    let query = ImageQuery {
        gtin: p.text("gtin"),
        batch: p.text("batch"),
        serial: p.text("serial"),
        format: p.text("format"),
        size: p.integer("size"),
        error_correction: p.text("error_correction"),
        content: p.text("content"),
    };
    match render(&state, &caller.principal, symbology, &query, input.request_id()).await {
        Ok(r) => r,
        Err(e) => fail(&state, e),
    }
}

/// The query of an image request.
struct ImageQuery<'a> {
    gtin: Option<&'a str>,
    batch: Option<&'a str>,
    serial: Option<&'a str>,
    format: Option<&'a str>,
    size: Option<i64>,
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
    let gtin = q.gtin.unwrap_or_default();
    let format = q.format.unwrap_or("svg");
    // Bounds were checked against the declaration (64..=MAX_PNG_PIXELS).
    let size = q.size.and_then(|s| u32::try_from(s).ok()).unwrap_or(512);
    let link = catalog::qr::digital_link(gtin, q.batch, q.serial)?;
    let out = state.catalog().qr_url_output(&link);
    let symbol = match symbology {
        Symbology::Qr => {
            let ec = q.error_correction.map(ErrorCorrection::parse).transpose()?;
            Symbol::Qr(ec.unwrap_or(ErrorCorrection::M))
        }
        Symbology::DataMatrix => {
            let content = q.content.map(Content::parse).transpose()?.unwrap_or_default();
            let payload = match content {
                Content::Uri => Payload::uri(&out.qr_url)?,
                Content::ElementString => Payload::element_string(&link)?,
            };
            Symbol::DataMatrix(content, payload)
        }
    };
    let mut arguments = Map::from_iter([
        ("gtin".to_owned(), Value::from(gtin)),
        ("format".to_owned(), Value::from(format)),
        ("symbology".to_owned(), Value::from(symbology.name())),
        ("via".to_owned(), Value::from("rest")),
    ]);
    if let Symbol::DataMatrix(content, _) = &symbol {
        arguments.insert("content".to_owned(), Value::from(content.as_str()));
    }
    gate(state, principal, arguments, &out.gtin14, request_id).await?;
    let body = match (&symbol, format) {
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
