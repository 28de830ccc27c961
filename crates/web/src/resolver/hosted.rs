//! The hosted product page (docs/spec.md §5): what a shopper sees after scanning when the brand chose
//! prodlink's page. Server-rendered HTML that needs no JavaScript, mobile-first, with
//! landmarks, one `h1`, alt text, `lang`, inline CSS; schema.org `Product` JSON-LD and Open
//! Graph tags so links preview well; an ETag so repeat visits get 304; a friendly 404 page for
//! products the catalog does not have. Nearby availability: one small inline script (allowed
//! by its hash in the CSP) asks the browser for its location when the shopper presses the
//! button and reloads the page with `?lat=…&lng=…` rounded to about 100 m; the server renders
//! the nearest stores that have the product.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use catalog::model::LabelFormat;
use catalog::service::ProductDetailOutput;
use maud::{Markup, PreEscaped, html};
use serde_json::json;
use sha2::Digest as _;

use crate::AppState;

const CSS: &str = "\
:root{color-scheme:light dark;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0b57d0}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--line:#30363d;--bg:#0d1117;--accent:#6ea8fe}}
*{box-sizing:border-box}body{margin:0;font:16px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:46rem;margin:0 auto;padding:1rem}
header{border-bottom:1px solid var(--line);font-weight:600}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.brand{color:var(--muted);margin:0}
.hero{display:grid;gap:1rem}
@media (min-width:40rem){.hero{grid-template-columns:14rem 1fr;align-items:start}}
.hero img{width:100%;max-width:14rem;height:auto;border-radius:.5rem;background:#fff}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .25rem;border-bottom:1px solid var(--line)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0}
footer{color:var(--muted);font-size:.875rem;border-top:1px solid var(--line)}
a{color:var(--accent)}
ol.stores{padding-left:1.25rem}ol.stores li{margin:.5rem 0}.stock{font-weight:600}
button{font:inherit;padding:.5rem 1rem;border-radius:.5rem;border:1px solid var(--accent);background:var(--accent);color:var(--bg);cursor:pointer}
button:disabled{opacity:.6}
";

/// The page's only script: shows the location button and, when pressed, reloads the page with
/// the browser's position (rounded to 3 decimals, about 100 m).
const LOCATE_JS: &str = "(()=>{const b=document.getElementById('locate'),s=document.getElementById('locate-status');\
if(!b||!navigator.geolocation)return;b.hidden=false;b.addEventListener('click',()=>{b.disabled=true;s.textContent='Finding your location…';\
navigator.geolocation.getCurrentPosition(p=>{const u=new URL(location.href);u.searchParams.set('lat',p.coords.latitude.toFixed(3));\
u.searchParams.set('lng',p.coords.longitude.toFixed(3));u.hash='nearby';location.assign(u.href)},\
e=>{b.disabled=false;s.textContent='Your location is not available ('+e.message+').'},{timeout:15000,maximumAge:600000})})})();";

/// The pages' Content-Security-Policy: inline styles, images from anywhere, and the one
/// script above by its hash.
static CSP: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    use base64::Engine as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(LOCATE_JS));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; img-src https: http: data:; base-uri 'none'; form-action 'none'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// How many stores the page lists.
const NEARBY_LIMIT: usize = 10;

/// The shopper's position from `?lat=…&lng=…`, as sent.
#[derive(Debug, Clone, Copy)]
pub struct Near<'a> {
    /// Latitude text.
    pub lat: &'a str,
    /// Longitude text.
    pub lng: &'a str,
}

/// What the nearby section shows.
enum Nearby {
    /// No position yet: the button.
    Ask,
    /// The stores found.
    Found(catalog::service::AvailabilityOutput),
    /// The position was unusable.
    Bad(String),
}

fn label_basis(f: LabelFormat) -> &'static str {
    match f {
        LabelFormat::Per100g => "per 100 g",
        LabelFormat::Per100ml => "per 100 ml",
        LabelFormat::PerServing | LabelFormat::UsFda => "per serving",
    }
}

/// `saturated-fat` → `Saturated fat`.
fn nutrient_name(raw: &str) -> String {
    let spaced = raw.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

fn amount(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn shell(title: &str, head_extra: Markup, body: Markup) -> Markup {
    crate::html::document(
        html! { (title) },
        html! {
            style { (PreEscaped(CSS)) }
            (head_extra)
        },
        html! {
            header { "prodlink" }
            main id="main" { (body) }
            footer {
                p { "Product data: Open Food Facts contributors (ODbL) and the brand. Served by prodlink." }
            }
        },
    )
}

fn respond(page: &Rendered, head: bool, private: bool) -> Response {
    let len = page.body.len();
    let mut r = Response::new(if head { Body::empty() } else { Body::from(page.body.clone()) });
    *r.status_mut() = page.status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    // A page showing where the shopper is stays out of shared caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if private { "private, no-store" } else { "public, max-age=60" }),
    );
    if let Some(tag) = page.etag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
        h.insert(header::ETAG, tag);
    }
    r
}

/// A rendered page: status, HTML and (for product pages) its ETag.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    status: StatusCode,
    body: Bytes,
    etag: Option<String>,
}

/// How long a rendered page (without a location) is reused: no staler than the store's own
/// product cache, and long enough that a burst of scans of one product renders it once.
const PAGE_TTL: Duration = Duration::from_secs(1);

/// Recently rendered product pages by GTIN (pages with a location are never kept).
pub(crate) struct PageCache {
    pages: quick_cache::sync::Cache<gs1::Gtin14, (Instant, Arc<Rendered>)>,
}

impl PageCache {
    /// A cache of at most `capacity` pages.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { pages: quick_cache::sync::Cache::new(capacity.max(1)) }
    }

    fn fresh(&self, gtin: gs1::Gtin14) -> Option<Arc<Rendered>> {
        self.pages.get(&gtin).filter(|(at, _)| at.elapsed() < PAGE_TTL).map(|(_, page)| page)
    }
}

/// The page for a GTIN: 200 with the product (304 when `if_none_match` names its current
/// ETag), a friendly 404 page without. With `near`, the stores nearest to it that have the
/// product are listed.
pub async fn page(
    state: &AppState,
    gtin: gs1::Gtin14,
    head: bool,
    if_none_match: Option<&str>,
    near: Option<Near<'_>>,
) -> Response {
    let cache = &state.inner.pages;
    let page = match near.is_none().then(|| cache.fresh(gtin)).flatten() {
        Some(page) => page,
        None => match render_page(state, gtin, near).await {
            Ok(page) => {
                let page = Arc::new(page);
                if near.is_none() {
                    cache.pages.insert(gtin, (Instant::now(), Arc::clone(&page)));
                }
                page
            }
            Err(problem) => return problem,
        },
    };
    if let Some(etag) = &page.etag
        && if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        if let Ok(v) = HeaderValue::from_str(etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return r;
    }
    respond(&page, head, near.is_some())
}

async fn render_page(
    state: &AppState,
    gtin: gs1::Gtin14,
    near: Option<Near<'_>>,
) -> Result<Rendered, Response> {
    let detail = match state.catalog().get_product_detail(gtin.as_str()).await {
        Ok(d) => d,
        Err(e) => {
            return Err(crate::middleware::problem::problem(
                state.catalog().site_url(),
                e.code(),
                &e.public_detail(),
            ));
        }
    };
    let Some(p) = &detail.product else {
        let body = html! {
            h1 { "We don't know this product yet" }
            p { "The code you scanned (GTIN " code { (gtin.as_str()) } ") is valid, but this catalog has no information about it." }
            p { "Check the package for the brand's website, or try again later." }
        };
        return Ok(Rendered {
            status: StatusCode::NOT_FOUND,
            body: Bytes::from(shell("Product not found", html! {}, body).into_string()),
            etag: None,
        });
    };
    let nearby = match near {
        None => Nearby::Ask,
        Some(n) => match (n.lat.trim().parse::<f64>(), n.lng.trim().parse::<f64>()) {
            (Ok(lat), Ok(lng)) => {
                match state.catalog().check_availability(gtin.as_str(), lat, lng, None).await {
                    Ok(found) => Nearby::Found(found),
                    Err(e) if e.code() == catalog::ErrorCode::ValidationError => {
                        Nearby::Bad("That location is not a valid latitude and longitude.".into())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "hosted page: availability failed");
                        Nearby::Bad("Stores near you cannot be shown right now.".into())
                    }
                }
            }
            _ => Nearby::Bad("That location is not a valid latitude and longitude.".into()),
        },
    };
    let body = render(state, &detail, p, &nearby).into_string();
    let etag = format!("\"{}\"", &hex::encode(sha2::Sha256::digest(body.as_bytes()))[..20]);
    Ok(Rendered { status: StatusCode::OK, body: Bytes::from(body), etag: Some(etag) })
}

fn stock_label(status: &str) -> &'static str {
    match status {
        "in_stock" => "In stock",
        "low_stock" => "Low stock",
        "out_of_stock" => "Out of stock",
        _ => "Stock unknown",
    }
}

fn nearby_section(nearby: &Nearby) -> Markup {
    html! {
        section aria-labelledby="nearby" {
            h2 #nearby { "Nearby stores" }
            @match nearby {
                Nearby::Ask => {
                    p { "Share your location to see which stores near you have it." }
                }
                Nearby::Bad(msg) => { p role="alert" { (msg) } }
                Nearby::Found(a) if a.locations.is_empty() => {
                    p { "No store within " (amount(a.radius_km)) " km of you has it." }
                }
                Nearby::Found(a) => {
                    p { "Nearest stores that have it, within " (amount(a.radius_km)) " km:" }
                    ol.stores {
                        @for l in a.locations.iter().take(NEARBY_LIMIT) {
                            li {
                                strong { (l.store_name) } " (" (l.retailer) ") — " (amount(l.distance_km)) " km"
                                br;
                                @let place = [l.address.as_deref(), l.city.as_deref(), l.region.as_deref(), l.postal_code.as_deref()]
                                    .into_iter().flatten().collect::<Vec<_>>().join(", ");
                                @if !place.is_empty() { (place) br; }
                                (format!("{:.2}", l.price)) " " (l.currency) " · "
                                span.stock { (stock_label(&l.inventory_status)) }
                            }
                        }
                    }
                }
            }
            p {
                button type="button" id="locate" hidden {
                    @if matches!(nearby, Nearby::Found(_)) { "Update my location" } @else { "Find stores near me" }
                }
            }
            p id="locate-status" aria-live="polite" {}
            noscript { p { "Finding stores near you needs JavaScript and your permission to share your location." } }
        }
    }
}

fn render(
    state: &AppState,
    d: &ProductDetailOutput,
    p: &catalog::service::ProductSummary,
    nearby: &Nearby,
) -> Markup {
    let site = state.catalog().site_url();
    let url = format!("{site}/01/{}", p.gtin);
    let image = d.images.first().map(|i| i.url.clone()).or_else(|| p.image_url.clone());
    let title = match &p.brand {
        Some(b) => format!("{} — {b}", p.name),
        None => p.name.clone(),
    };
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "gtin": p.gtin,
        "url": url,
    });
    if let Some(b) = &p.brand {
        ld["brand"] = json!({"@type": "Brand", "name": b});
    }
    if let Some(desc) = &p.description {
        ld["description"] = json!(desc);
    }
    if let Some(img) = &image {
        ld["image"] = json!(img);
    }
    // `</` cannot end the script element early once escaped.
    let ld_text = ld.to_string().replace("</", "<\\/");
    let description =
        p.description.clone().unwrap_or_else(|| format!("{} — product information", p.name));
    let head_extra = html! {
        meta name="description" content=(description);
        link rel="canonical" href=(url);
        meta property="og:type" content="product";
        meta property="og:title" content=(title);
        meta property="og:description" content=(description);
        meta property="og:url" content=(url);
        @if let Some(img) = &image { meta property="og:image" content=(img); }
        script type="application/ld+json" { (PreEscaped(ld_text)) }
    };
    let body = html! {
        article {
            div.hero {
                @if let Some(img) = &image {
                    img src=(img) alt=(format!("Package of {}", p.name)) width="224" height="224" loading="eager";
                }
                div {
                    @if let Some(b) = &p.brand { p.brand { (b) } }
                    h1 { (p.name) }
                    @if let Some(desc) = &p.description { p { (desc) } }
                    dl {
                        dt { "GTIN" } dd { code { (p.gtin) } }
                        @if let Some(n) = &p.net_content { dt { "Net content" } dd { (n) } }
                        @if let Some(c) = &p.category { dt { "Category" } dd { (c) } }
                        @if let Some(c) = &p.country_of_origin { dt { "Origin" } dd { (c) } }
                    }
                }
            }
            @if !d.ingredients.is_empty() {
                section aria-labelledby="ingredients" {
                    h2 #ingredients { "Ingredients" }
                    p {
                        @for (i, ing) in d.ingredients.iter().enumerate() {
                            @if i > 0 { ", " }
                            (ing.name)
                            @if let Some(pct) = ing.percentage_of_weight { " (" (amount(pct)) " %)" }
                        }
                    }
                }
            }
            @if let Some(n) = &d.nutrition {
                @let with_dv = n.nutrients.iter().any(|x| x.daily_value_pct.is_some());
                section aria-labelledby="nutrition" {
                    h2 #nutrition { "Nutrition " span.brand { (label_basis(n.label_format)) } }
                    table {
                        caption.brand style="text-align:left" {
                            @if let Some(s) = &n.serving_size { "Serving size " (s) }
                        }
                        thead { tr {
                            th scope="col" { "Nutrient" }
                            th scope="col" class="num" { "Amount" }
                            @if with_dv { th scope="col" class="num" { abbr title="Daily value" { "% DV" } } }
                        } }
                        tbody {
                            @for x in &n.nutrients {
                                tr {
                                    th scope="row" { (nutrient_name(&x.name)) }
                                    td.num { (amount(x.amount)) " " (x.unit) }
                                    @if with_dv { td.num { @if let Some(dv) = x.daily_value_pct { (amount(dv)) " %" } } }
                                }
                            }
                        }
                    }
                }
            }
            (nearby_section(nearby))
        }
        script { (PreEscaped(LOCATE_JS)) }
    };
    shell(&title, head_extra, body)
}
