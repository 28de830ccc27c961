//! The nine tools of docs/spec.md §3: names, titles, agent-oriented descriptions, input schemas
//! (written out, so the published contract is exactly what the argument parser accepts),
//! output schemas (generated from the service output types, so they cannot drift from what is
//! serialized), annotations, and dispatch to the catalog service functions. Nothing here
//! computes anything itself.

use catalog::search::SearchRequest;
use catalog::{Catalog, ServiceError};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::args::Args;

/// The scope `generate_qr_url` needs (docs/spec.md §4).
pub const QR_SCOPE: &str = "qr:generate";

/// A tool's published definition.
#[derive(Debug, Clone)]
pub struct ToolDef {
    /// Tool name.
    pub name: &'static str,
    /// Display name.
    pub title: &'static str,
    /// What it does, written for an agent.
    pub description: &'static str,
    /// JSON Schema of the arguments.
    pub input_schema: Value,
    /// JSON Schema of `structuredContent`.
    pub output_schema: Value,
    /// Reads only.
    pub read_only: bool,
    /// May destroy data.
    pub destructive: bool,
    /// Repeating a call has no further effect.
    pub idempotent: bool,
    /// Reaches outside prodlink's own catalog.
    pub open_world: bool,
    /// OAuth scope required, if any.
    pub scope: Option<&'static str>,
}

/// Generates the JSON Schema of an output type: draft 2020-12 (MCP's default dialect) with
/// subschemas inlined, without `$schema`, the root title or Rust numeric formats, which some
/// client validators reject.
pub fn output_schema<T: JsonSchema>() -> Value {
    let mut generator =
        SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator();
    let mut schema = serde_json::to_value(generator.root_schema_for::<T>()).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut schema {
        m.remove("$schema");
        m.remove("title");
    }
    strip_formats(&mut schema);
    schema
}

fn strip_formats(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("format").and_then(Value::as_str).is_some_and(|f| {
                matches!(
                    f,
                    "double"
                        | "float"
                        | "int"
                        | "int8"
                        | "int16"
                        | "int32"
                        | "int64"
                        | "uint"
                        | "uint8"
                        | "uint16"
                        | "uint32"
                        | "uint64"
                )
            }) {
                m.remove("format");
            }
            m.values_mut().for_each(strip_formats);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_formats),
        _ => {}
    }
}

const GTIN_DESC: &str = "A GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14 barcode number, with or without leading zeros; spaces and hyphens between digits are ignored. Example: \"614141123452\".";

fn gtin_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "description": GTIN_DESC})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// Every tool, in the order `tools/list` shows them.
pub fn definitions() -> Vec<ToolDef> {
    product_tools()
}

fn product_tools() -> Vec<ToolDef> {
    let read = |name, title, description, input_schema, output_schema| ToolDef {
        name,
        title,
        description,
        input_schema,
        output_schema,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
        scope: None,
    };
    vec![
        read(
            "ping",
            "Ping",
            "Health probe: answers \"pong\". Call it first to check that the prodlink connection works.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            json!({"type": "object", "properties": {"message": {"type": "string", "const": "pong"}}, "required": ["message"]}),
        ),
        read(
            "validate_gtin",
            "Validate a GTIN barcode",
            "Checks whether a barcode number is a valid GTIN (length 8, 12, 13 or 14 and a correct GS1 check digit) without looking anything up. Returns valid, the reason when invalid (e.g. which check digit was expected), the normalized 14-digit form, the number of digits sent, and a warning for restricted-circulation numbers (store-internal codes that are not globally unique). Use it to clean up a barcode before other calls; invalid input is reported in the result, not as an error.",
            object(
                json!({"gtin": {"type": "string", "maxLength": 64, "description": "The barcode number to check (any text; it is reported on, not rejected)."}}),
                &["gtin"],
            ),
            output_schema::<catalog::service::ValidateGtinOutput>(),
        ),
        read(
            "resolve_gtin",
            "Resolve a GTIN to its destination",
            "Returns where a scan of this product's GS1 Digital Link QR code would take a shopper, by applying the brand's resolver rules (most specific first) without following the redirect: the destination URL, whether it is prodlink's hosted product page or a brand's custom URL, whether the built-in default applied, whether the product is in the catalog, and which rule scope matched. Optionally ask for a specific GS1 link type (e.g. gs1:pip for the product information page, gs1:recallStatus, gs1:nutritionalInfo).",
            object(
                json!({
                    "gtin": gtin_schema(),
                    "link_type": {"type": "string", "description": "A GS1 Web Vocabulary link type as a CURIE (\"gs1:pip\") or full URI (\"https://ref.gs1.org/voc/pip\"). Omit for the default destination."}
                }),
                &["gtin"],
            ),
            output_schema::<catalog::resolve::ResolveOutput>(),
        ),
        read(
            "lookup_product",
            "Look up a product",
            "Returns the catalog record for a barcode: name, brand, description, where the data came from, and the brand's metadata. Unknown GTINs are not an error: found is false, so you can branch on it. Use get_product_detail for images, ingredients and nutrition.",
            object(json!({"gtin": gtin_schema()}), &["gtin"]),
            output_schema::<catalog::service::LookupProductOutput>(),
        ),
        read(
            "search_products",
            "Search products",
            "Finds products matching a shopper's question in natural language (English, French or German; misspellings are corrected): a product, a brand, an attribute (\"gluten-free pasta\", \"organic tea\") or a need (\"a snack for a kid's lunchbox\"); name, brand, category path, labels, description and ingredients are searched, best match first. Narrow the results with filters (brand, category_id at any level of the category path, label such as \"en:organic\", country_of_origin, or any metadata key, all exact matches applied before ranking). Give the shopper's location (geo_lat and geo_lng together) to include and favour products sold in stores within 50 km and get the distance to the nearest one. Each result has the GTIN, name, brand, most specific category, net content, country of origin, price range from current offers, a relevance score comparable across queries and distance; index_coverage says whether the search indexes held the whole catalog (right after a start they may still be building).",
            object(
                json!({
                    "query": {"type": "string", "minLength": 1, "maxLength": 500, "description": "What to look for, e.g. \"gluten-free pasta\" or \"dark chocolate 70%\"."},
                    "filters": {
                        "type": "object",
                        "description": "Flat {key: value} exact-match filters: brand (brand name, case-insensitive), category_id (e.g. \"en:pastas\"; matches any level of a product's category path, subcategories included), label (e.g. \"en:organic\", \"en:no-gluten\"), country_of_origin (ISO 3166-1 alpha-2, e.g. \"IT\"); any other key matches the product metadata (e.g. {\"nutriscore_grade\": \"a\"}).",
                        "additionalProperties": {"type": ["string", "number", "boolean"]},
                        "maxProperties": 10
                    },
                    "geo_lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "Shopper latitude (WGS 84); requires geo_lng."},
                    "geo_lng": {"type": "number", "minimum": -180, "maximum": 180, "description": "Shopper longitude (WGS 84); requires geo_lat."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20, "description": "Most results to return (1–100, default 20)."}
                }),
                &["query"],
            ),
            output_schema::<catalog::search::SearchOutput>(),
        ),
        read(
            "get_product_detail",
            "Get full product details",
            "Returns everything the catalog has on one product in one call: a summary (name, brand, category, description, image, net content, country of origin), the whole category path and the labels (organic, gluten-free, certifications), all images, the ingredient list in label order with percentages where printed, the nutrition panel, and the URL of its hosted product page. Unknown GTINs give found: false.",
            object(json!({"gtin": gtin_schema()}), &["gtin"]),
            output_schema::<catalog::service::ProductDetailOutput>(),
        ),
        read(
            "compare_products",
            "Compare products side by side",
            "Compares 2 to 5 products. Returns one column per GTIN in the order given (unknown or invalid GTINs become found: false columns with a note, so a partial comparison still works) and aligned attribute rows: brand, category, net_content, country_of_origin, price_min, price_max.",
            object(
                json!({"gtins": {"type": "array", "items": gtin_schema(), "minItems": 2, "maxItems": 5, "description": "2 to 5 GTINs; the output keeps this order."}}),
                &["gtins"],
            ),
            output_schema::<catalog::service::CompareOutput>(),
        ),
        read(
            "check_availability",
            "Find nearby stores with the product",
            "Lists physical stores within radius_km of a location that have an active offer for the product, nearest first, with retailer, address, distance, price, currency and stock status (in_stock, low_stock, out_of_stock, unknown). No nearby offers gives an empty list, not an error.",
            object(
                json!({
                    "gtin": gtin_schema(),
                    "lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "Latitude of the search origin (WGS 84)."},
                    "lng": {"type": "number", "minimum": -180, "maximum": 180, "description": "Longitude of the search origin (WGS 84)."},
                    "radius_km": {"type": "number", "exclusiveMinimum": 0, "maximum": 500, "default": 25, "description": "Search radius in kilometres (default 25, at most 500)."}
                }),
                &["gtin", "lat", "lng"],
            ),
            output_schema::<catalog::service::AvailabilityOutput>(),
        ),
        ToolDef {
            name: "generate_qr_url",
            title: "Generate a QR code URL (GS1 Digital Link)",
            description: "Builds the GS1 Digital Link URL to print as a QR code (or Data Matrix) for a product, optionally for one batch/lot and one serialized item. Needs the user's consent: the first call without a token carrying the qr:generate scope is refused with an authorization challenge (HTTP 403, JSON-RPC -32002); authorize, then call again. Returns the URL, and the QR code itself as a PNG image and an SVG document (error correction M). Each successful call counts against the user's QR quota.",
            input_schema: object(
                json!({
                    "gtin": gtin_schema(),
                    "batch": {"type": "string", "minLength": 1, "maxLength": 20, "description": "Batch/lot number (GS1 AI 10): 1–20 characters of GS1's character set (letters, digits and !\"%&'()*+,-./:;<=>?_)."},
                    "serial": {"type": "string", "minLength": 1, "maxLength": 20, "description": "Serial number (GS1 AI 21): 1–20 characters of GS1's character set."}
                }),
                &["gtin"],
            ),
            output_schema: output_schema::<catalog::qr::QrUrlOutput>(),
            read_only: false,
            destructive: false,
            idempotent: true,
            open_world: false,
            scope: Some(QR_SCOPE),
        },
    ]
}

/// A tool's result before framing.
#[derive(Debug)]
pub struct ToolOutput {
    /// `structuredContent`, already serialized (absent for tools without an output schema).
    pub structured: Option<Box<RawValue>>,
    /// The first, text content block (the structured JSON, or `pong`).
    pub text: String,
    /// Further content blocks (images, …).
    pub extra: Vec<Value>,
    /// A tool-level failure (`isError: true`); prodlink's own tools report failures as
    /// JSON-RPC errors instead (docs/spec.md §3).
    pub is_error: bool,
    /// GTIN-14s involved, for the audit line.
    pub gtins: Vec<String>,
}

fn output(value: &impl Serialize, gtins: Vec<String>) -> Result<ToolOutput, ServiceError> {
    let structured =
        serde_json::value::to_raw_value(value).map_err(|e| ServiceError::Internal(Box::new(e)))?;
    let text = structured.get().to_owned();
    Ok(ToolOutput { structured: Some(structured), text, extra: Vec::new(), is_error: false, gtins })
}

/// `generate_qr_url`'s result: the structured URL, then the QR code as a PNG image block and
/// as an SVG document (text), both error-correction level M.
fn qr_output(out: &catalog::qr::QrUrlOutput) -> Result<ToolOutput, ServiceError> {
    use barcode::qr::{self as qr_image, ErrorCorrection};
    use base64::Engine as _;
    let mut result = output(out, vec![out.gtin14.clone()])?;
    let png = qr_image::png(&out.qr_url, ErrorCorrection::M, 8)?;
    let svg = qr_image::svg(&out.qr_url, ErrorCorrection::M, 256)?;
    result.extra.push(serde_json::json!({
        "type": "image",
        "data": base64::engine::general_purpose::STANDARD.encode(png),
        "mimeType": "image/png",
    }));
    result.extra.push(serde_json::json!({"type": "text", "text": svg}));
    Ok(result)
}

fn invalid(errors: Vec<catalog::FieldError>) -> ServiceError {
    ServiceError::invalid_fields(errors)
}

fn normalized(gtin: &str) -> Vec<String> {
    gs1::Gtin14::parse(gtin).map(|g| vec![g.as_str().to_owned()]).unwrap_or_default()
}

/// Runs a tool (authorization has been checked by the caller). `None` for an unknown tool.
pub async fn call(
    catalog: &Catalog,
    name: &str,
    arguments: &Map<String, Value>,
) -> Option<Result<ToolOutput, ServiceError>> {
    Some(match name {
        "ping" => {
            let a = Args::new(arguments, &[]);
            match a.finish() {
                Ok(()) => output(&json!({"message": "pong"}), Vec::new()).map(|mut o| {
                    o.text = "pong".to_owned();
                    o
                }),
                Err(e) => Err(invalid(e)),
            }
        }
        "validate_gtin" => {
            let mut a = Args::new(arguments, &["gtin"]);
            let gtin = a.string("gtin");
            match (a.finish(), gtin) {
                (Ok(()), Some(g)) => {
                    let out = catalog.validate_gtin(g);
                    let gtins = out.normalized.iter().cloned().collect();
                    output(&out, gtins)
                }
                (Err(e), _) => Err(invalid(e)),
                (Ok(()), None) => Err(ServiceError::invalid("gtin", "is required")),
            }
        }
        "resolve_gtin" => {
            let mut a = Args::new(arguments, &["gtin", "link_type"]);
            let (gtin, link_type) = (a.string("gtin"), a.opt_string("link_type"));
            match (a.finish(), gtin) {
                (Ok(()), Some(g)) => match catalog.resolve_gtin(g, link_type).await {
                    Ok(out) => output(&out, normalized(g)),
                    Err(e) => Err(e),
                },
                (Err(e), _) => Err(invalid(e)),
                (Ok(()), None) => Err(ServiceError::invalid("gtin", "is required")),
            }
        }
        "lookup_product" | "get_product_detail" => {
            let mut a = Args::new(arguments, &["gtin"]);
            let gtin = a.string("gtin");
            match (a.finish(), gtin) {
                (Ok(()), Some(g)) => {
                    if name == "lookup_product" {
                        match catalog.lookup_product(g).await {
                            Ok(out) => output(&out, normalized(g)),
                            Err(e) => Err(e),
                        }
                    } else {
                        match catalog.get_product_detail(g).await {
                            Ok(out) => output(&out, normalized(g)),
                            Err(e) => Err(e),
                        }
                    }
                }
                (Err(e), _) => Err(invalid(e)),
                (Ok(()), None) => Err(ServiceError::invalid("gtin", "is required")),
            }
        }
        "search_products" => {
            let mut a = Args::new(arguments, &["query", "filters", "geo_lat", "geo_lng", "limit"]);
            let req = SearchRequest {
                query: a.string("query").unwrap_or_default().to_owned(),
                filters: a.opt_object("filters"),
                geo_lat: a.opt_f64("geo_lat"),
                geo_lng: a.opt_f64("geo_lng"),
                limit: a.opt_i64("limit"),
            };
            match a.finish() {
                Ok(()) => match catalog.search_products(&req).await {
                    Ok(out) => {
                        let gtins = out.items.iter().map(|i| i.gtin.clone()).collect();
                        // While the indexes are being built, a line says so beside the JSON.
                        let note = out.index_coverage.note();
                        output(&out, gtins).map(|mut o| {
                            if let Some(note) = note {
                                o.extra.push(json!({"type": "text", "text": note}));
                            }
                            o
                        })
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(invalid(e)),
            }
        }
        "compare_products" => {
            let mut a = Args::new(arguments, &["gtins"]);
            let gtins = a.strings("gtins");
            match (a.finish(), gtins) {
                (Ok(()), Some(list)) => match catalog.compare_products(&list).await {
                    Ok(out) => {
                        let gtins = out
                            .items
                            .iter()
                            .filter(|i| i.error.is_none())
                            .map(|i| i.gtin.clone())
                            .collect();
                        output(&out, gtins)
                    }
                    Err(e) => Err(e),
                },
                (Err(e), _) => Err(invalid(e)),
                (Ok(()), None) => Err(ServiceError::invalid("gtins", "is required")),
            }
        }
        "check_availability" => {
            let mut a = Args::new(arguments, &["gtin", "lat", "lng", "radius_km"]);
            let (gtin, lat, lng, radius) =
                (a.string("gtin"), a.f64("lat"), a.f64("lng"), a.opt_f64("radius_km"));
            match (a.finish(), gtin, lat, lng) {
                (Ok(()), Some(g), Some(lat), Some(lng)) => {
                    match catalog.check_availability(g, lat, lng, radius).await {
                        Ok(out) => output(&out, normalized(g)),
                        Err(e) => Err(e),
                    }
                }
                (Err(e), ..) => Err(invalid(e)),
                _ => Err(ServiceError::invalid("gtin", "gtin, lat and lng are required")),
            }
        }
        "generate_qr_url" => {
            let mut a = Args::new(arguments, &["gtin", "batch", "serial"]);
            let (gtin, batch, serial) =
                (a.string("gtin"), a.opt_string("batch"), a.opt_string("serial"));
            match (a.finish(), gtin) {
                (Ok(()), Some(g)) => match catalog.generate_qr_url(g, batch, serial) {
                    Ok(out) => qr_output(&out),
                    Err(e) => Err(e),
                },
                (Err(e), _) => Err(invalid(e)),
                (Ok(()), None) => Err(ServiceError::invalid("gtin", "is required")),
            }
        }
        _ => return None,
    })
}
