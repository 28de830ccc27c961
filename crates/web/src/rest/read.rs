//! The REST twins of the MCP tools (docs/spec.md §7): validate, resolve, product, detail,
//! availability, search (GET with simple filters, POST with the tool's own arguments),
//! compare and the Digital Link URL. Each calls the same `catalog` service function as its
//! tool and returns the same output type, so the JSON is identical; an unknown product is a
//! 404 problem here (REST) where the tool answers `found: false`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use catalog::ServiceError;
use catalog::search::SearchRequest;
use serde_json::{Map, Value};

use super::input::Input;
use super::params::{Kind, ParamSpec};
use super::response::{json, json_tagged, tagged};
use super::{Endpoint, Success, fail, schema};
use crate::AppState;

fn respond(state: &AppState, result: Result<Response, ServiceError>) -> Response {
    result.unwrap_or_else(|e| fail(state, e))
}

const GTIN_DESC: &str = "A GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14, with or without leading zeros; spaces and hyphens between digits are ignored. Example: 614141123452.";
const GTIN: Kind = Kind::Text { max: 64 };
/// Example GTINs, from the bundled demo catalog (`prodlink serve --demo`), so the documented
/// examples answer there: Lindt's Lindor truffles (resolver rules, images, nutrition) and a
/// cranberry sauce with an offer at the Walmart Supercenter in Bentonville, AR.
pub const EXAMPLE_GTIN: &str = "00009542009069";
const EXAMPLE_GTIN_IN_STORES: &str = "00000790440024";
const GTIN_PATH: ParamSpec = ParamSpec::path("gtin", GTIN, GTIN_DESC).with_example(EXAMPLE_GTIN);
const LAT: Kind = Kind::Number { min: -90.0, max: 90.0, min_exclusive: false };
const LNG: Kind = Kind::Number { min: -180.0, max: 180.0, min_exclusive: false };

const VALIDATE: &[ParamSpec] = &[ParamSpec::path(
    "gtin",
    GTIN,
    "The barcode number to check (any text up to 64 characters; it is reported on, not rejected).",
)
.with_example(EXAMPLE_GTIN)];
const RESOLVE: &[ParamSpec] = &[
    GTIN_PATH,
    ParamSpec::optional(
        "link_type",
        Kind::Text { max: 200 },
        "A GS1 Web Vocabulary link type as a CURIE (gs1:pip) or full URI (https://ref.gs1.org/voc/pip). Omit for the default destination.",
    ),
];
const PRODUCT: &[ParamSpec] = &[GTIN_PATH];
const AVAILABILITY: &[ParamSpec] = &[
    ParamSpec::path("gtin", GTIN, GTIN_DESC).with_example(EXAMPLE_GTIN_IN_STORES),
    ParamSpec::required("lat", LAT, "Latitude of the search origin (WGS 84).")
        .with_example("36.3625"),
    ParamSpec::required("lng", LNG, "Longitude of the search origin (WGS 84).")
        .with_example("-94.2331"),
    ParamSpec::optional(
        "radius_km",
        Kind::Number { min: 0.0, max: 500.0, min_exclusive: true },
        "Search radius in kilometres (above 0, at most 500).",
    )
    .with_default("25"),
];
const SEARCH: &[ParamSpec] = &[
    ParamSpec::required(
        "query",
        Kind::NonBlank { max: 500 },
        "What to look for in natural language, e.g. gluten-free pasta.",
    )
    .with_example("cranberry sauce"),
    ParamSpec::optional(
        "brand",
        Kind::NonBlank { max: 200 },
        "Only this brand (exact name, case-insensitive).",
    ),
    ParamSpec::optional(
        "category_id",
        Kind::NonBlank { max: 200 },
        "Only products with this category anywhere in their category path (or one of its subcategories), e.g. en:pastas.",
    ),
    ParamSpec::optional(
        "label",
        Kind::NonBlank { max: 200 },
        "Only products carrying this label, e.g. en:organic or en:no-gluten.",
    ),
    ParamSpec::optional(
        "country_of_origin",
        Kind::Text { max: 2 },
        "Only products from this country (ISO 3166-1 alpha-2, e.g. IT).",
    ),
    ParamSpec::optional(
        "geo_lat",
        LAT,
        "Shopper latitude; with geo_lng, includes and favours products sold within 50 km and reports the distance.",
    ),
    ParamSpec::optional("geo_lng", LNG, "Shopper longitude; requires geo_lat."),
    ParamSpec::optional("limit", Kind::Integer { min: 1, max: 100 }, "Most results to return.")
        .with_default("20"),
];
const COMPARE: &[ParamSpec] = &[ParamSpec::required(
    "gtins",
    Kind::List { min: 2, max: 5, item_max: 64 },
    "2 to 5 GTINs separated by commas; the columns keep this order.",
)
.with_example("00009542009069,00000790440024")];
const QR_URL: &[ParamSpec] = &[
    ParamSpec::required("gtin", GTIN, GTIN_DESC).with_example(EXAMPLE_GTIN),
    ParamSpec::optional(
        "batch",
        Kind::Text { max: 20 },
        "Batch/lot number (GS1 AI 10): 1-20 characters of GS1's character set.",
    ),
    ParamSpec::optional(
        "serial",
        Kind::Text { max: 20 },
        "Serial number (GS1 AI 21): 1-20 characters of GS1's character set.",
    ),
];

/// The read endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/api/v1/gtins/{gtin}/validation",
            operation_id: "validateGtin",
            tag: "GTINs",
            summary: "Validate a GTIN",
            description: "Checks length and GS1 check digit without looking anything up: valid, the reason when invalid, the normalized GTIN-14, the digit count, and a warning for restricted-circulation numbers. Invalid input is reported in the body (200), like the validate_gtin tool.",
            scope: None,
            params: VALIDATE,
            body: None,
            success: Success::Json(schema::<catalog::service::ValidateGtinOutput>),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(validate),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/gtins/{gtin}/resolution",
            operation_id: "resolveGtin",
            tag: "GTINs",
            summary: "Resolve a GTIN to its destination",
            description: "Where a scan of the product's GS1 Digital Link would go, by the resolver rules (most specific scope first), without following it: destination URL and type, whether the built-in default applied, whether the product is in the catalog, and the matching rule scope. The same engine as the resolver and the resolve_gtin tool.",
            scope: None,
            params: RESOLVE,
            body: None,
            success: Success::Json(schema::<catalog::resolve::ResolveOutput>),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(resolve),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/products/{gtin}",
            operation_id: "getProduct",
            tag: "Products",
            summary: "Look up a product",
            description: "The catalog record of a product: name, brand, description, data source and metadata (the lookup_product tool's output). 404 when the GTIN is valid but not in the catalog. Carries an ETag; send it in If-None-Match to get 304 when unchanged.",
            scope: None,
            params: PRODUCT,
            body: None,
            success: Success::Json(schema::<catalog::service::LookupProductOutput>),
            success_headers: &["ETag"],
            errors: &[401, 404, 422, 429],
            route: get(lookup),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/products/{gtin}/detail",
            operation_id: "getProductDetail",
            tag: "Products",
            summary: "Get full product details",
            description: "Everything the catalog has on one product: summary, all images, ingredients in label order, the nutrition panel and the hosted page URL (the get_product_detail tool's output). 404 when not in the catalog. Carries an ETag.",
            scope: None,
            params: PRODUCT,
            body: None,
            success: Success::Json(schema::<catalog::service::ProductDetailOutput>),
            success_headers: &["ETag"],
            errors: &[401, 404, 422, 429],
            route: get(detail),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/products/{gtin}/availability",
            operation_id: "checkAvailability",
            tag: "Products",
            summary: "Find nearby stores with the product",
            description: "Stores within radius_km of a point with an active offer for the product, nearest first, with price, currency and stock status. No offers nearby is an empty list.",
            scope: None,
            params: AVAILABILITY,
            body: None,
            success: Success::Json(schema::<catalog::service::AvailabilityOutput>),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(availability),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/search",
            operation_id: "searchProducts",
            tag: "Search",
            summary: "Search products",
            description: "Hybrid natural-language search (full text and sentence embeddings), best match first, with optional exact filters applied before ranking and a proximity boost. For metadata filters use POST /api/v1/search.",
            scope: None,
            params: SEARCH,
            body: None,
            success: Success::Json(schema::<catalog::search::SearchOutput>),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(search),
        },
        Endpoint {
            method: Method::POST,
            path: "/api/v1/search",
            operation_id: "searchProductsWithArguments",
            tag: "Search",
            summary: "Search products (tool arguments)",
            description: "The search_products tool's exact arguments as a JSON body: query, filters (brand, category_id, country_of_origin, or any metadata key), geo_lat, geo_lng, limit. Same output as GET /api/v1/search.",
            scope: None,
            params: &[],
            body: Some(schema::<SearchArguments>),
            success: Success::Json(schema::<catalog::search::SearchOutput>),
            success_headers: &[],
            errors: &[400, 401, 422, 429],
            route: post(search_post),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/compare",
            operation_id: "compareProducts",
            tag: "Products",
            summary: "Compare products side by side",
            description: "One column per GTIN in the order given (unknown or invalid GTINs are found: false columns with a note) and aligned attribute rows: brand, category, net_content, country_of_origin, price_min, price_max.",
            scope: None,
            params: COMPARE,
            body: None,
            success: Success::Json(schema::<catalog::service::CompareOutput>),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(compare),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/qr-url",
            operation_id: "generateQrUrl",
            tag: "QR codes",
            summary: "Build a product's GS1 Digital Link URL",
            description: "The GS1 Digital Link URI to print as a QR code or Data Matrix, optionally for one batch and one serial (the generate_qr_url tool's output). Needs a user's token with qr:generate; each call counts against the user's QR quota and is recorded in the audit log.",
            scope: Some(auth::QR_SCOPE),
            params: QR_URL,
            body: None,
            success: Success::Json(schema::<catalog::qr::QrUrlOutput>),
            success_headers: &[],
            errors: &[401, 403, 422, 429],
            route: get(qr_url),
        },
    ]
}

async fn validate(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(VALIDATE)?;
        json(&state.catalog().validate_gtin(p.text("gtin").unwrap_or_default()))
    };
    respond(&state, r.await)
}

async fn resolve(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(RESOLVE)?;
        let out = state
            .catalog()
            .resolve_gtin(p.text("gtin").unwrap_or_default(), p.text("link_type"))
            .await?;
        json(&out)
    };
    respond(&state, r.await)
}

fn not_in_catalog(gtin: Option<&str>) -> ServiceError {
    ServiceError::NotFound(format!(
        "no product with GTIN {} is in the catalog",
        gtin.unwrap_or("(unknown)")
    ))
}

async fn lookup(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(PRODUCT)?;
        let gtin = p.text("gtin").unwrap_or_default();
        // The tag management writes check If-Match against (see products::current).
        let Some(current) = super::products::current(&state, gtin).await? else {
            let normalized = gs1::Gtin14::parse(gtin).ok().map(|g| g.as_str().to_owned());
            return Err(not_in_catalog(normalized.as_deref()));
        };
        Ok(tagged(current.body, &current.tag, &input.headers))
    };
    respond(&state, r.await)
}

async fn detail(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(PRODUCT)?;
        let gtin = p.text("gtin").unwrap_or_default();
        let out = state.catalog().get_product_detail(gtin).await?;
        if !out.found {
            let normalized = gs1::Gtin14::parse(gtin).ok().map(|g| g.as_str().to_owned());
            return Err(not_in_catalog(normalized.as_deref()));
        }
        json_tagged(&out, &input.headers)
    };
    respond(&state, r.await)
}

async fn availability(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(AVAILABILITY)?;
        let out = state
            .catalog()
            .check_availability(
                p.text("gtin").unwrap_or_default(),
                p.number("lat").unwrap_or_default(),
                p.number("lng").unwrap_or_default(),
                p.number("radius_km"),
            )
            .await?;
        json(&out)
    };
    respond(&state, r.await)
}

async fn search(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(SEARCH)?;
        let filters: Map<String, Value> = ["brand", "category_id", "label", "country_of_origin"]
            .into_iter()
            .filter_map(|k| p.text(k).map(|v| (k.to_owned(), Value::from(v))))
            .collect();
        let req = SearchRequest {
            query: p.text("query").unwrap_or_default().to_owned(),
            filters: (!filters.is_empty()).then_some(filters),
            geo_lat: p.number("geo_lat"),
            geo_lng: p.number("geo_lng"),
            limit: p.integer("limit"),
        };
        json(&state.catalog().search_products(&req).await.map_err(filters_as_parameters)?)
    };
    respond(&state, r.await)
}

/// The search service names a wrong filter `filters.brand`, as the tool's arguments nest it;
/// here it is the query parameter `brand`.
fn filters_as_parameters(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Validation { errors, .. } => ServiceError::invalid_fields(
            errors
                .into_iter()
                .map(|mut f| {
                    if let Some(name) = f.field.strip_prefix("filters.") {
                        f.field = name.to_owned();
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

/// The body of `POST /api/v1/search`: the `search_products` tool's arguments.
#[derive(Debug, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SearchArguments {
    /// What to look for, in natural language (1-500 characters).
    #[schemars(length(min = 1, max = 500))]
    query: String,
    /// Exact-match filters: brand, category_id, label, country_of_origin, any metadata key
    /// (1-40 chars).
    #[schemars(extend("maxProperties" = 10, "propertyNames" = {"minLength": 1, "maxLength": 40}))]
    filters: Option<std::collections::BTreeMap<String, FilterValue>>,
    /// Shopper latitude (WGS 84); requires geo_lng.
    #[schemars(range(min = -90.0, max = 90.0))]
    geo_lat: Option<f64>,
    /// Shopper longitude (WGS 84); requires geo_lat.
    #[schemars(range(min = -180.0, max = 180.0))]
    geo_lng: Option<f64>,
    /// Most results (1-100, default 20).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u8>,
}

/// A filter value.
#[derive(Debug, schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum FilterValue {
    /// Text (not blank).
    #[schemars(extend("minLength" = 1, "pattern" = "\\S"))]
    Text(String),
    /// Number.
    Number(f64),
    /// Boolean.
    Flag(bool),
}

async fn search_post(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        input.check(&[])?;
        let arguments: Map<String, Value> = match serde_json::from_slice(&body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(ServiceError::BadRequest("the body must be a JSON object".into())),
            Err(e) => {
                return Err(ServiceError::BadRequest(format!("the body is not valid JSON: {e}")));
            }
        };
        let out = mcp::tools::call(state.catalog(), "search_products", &arguments)
            .await
            .ok_or_else(|| ServiceError::Internal("search_products is not a tool".into()))??;
        let body = out.structured.map(|s| s.get().to_owned()).unwrap_or_default();
        Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
    };
    respond(&state, r.await)
}

async fn compare(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let p = input.check(COMPARE)?;
        json(&state.catalog().compare_products(&p.list("gtins").unwrap_or_default()).await?)
    };
    respond(&state, r.await)
}

async fn qr_url(State(state): State<AppState>, input: Input) -> Response {
    let metadata = state.auth().resource_metadata_url();
    let Some(caller) = input.caller.clone() else {
        return fail(&state, ServiceError::Internal("no caller on a REST request".into()));
    };
    if let Err(refusal) = super::images::require_qr_user(&caller, &metadata) {
        return fail(&state, refusal);
    }
    let r = async {
        let p = input.check(QR_URL)?;
        let gtin = p.text("gtin").unwrap_or_default();
        let link = catalog::qr::digital_link(gtin, p.text("batch"), p.text("serial"))?;
        let out = state.catalog().qr_url_output(&link);
        let arguments = Map::from_iter(
            [("gtin", Some(gtin)), ("batch", p.text("batch")), ("serial", p.text("serial"))]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), Value::from(v))))
                .chain([("via".to_owned(), Value::from("rest"))]),
        );
        super::images::gate(&state, &caller.principal, arguments, &out.gtin14, input.request_id())
            .await?;
        json(&out)
    };
    respond(&state, r.await)
}
