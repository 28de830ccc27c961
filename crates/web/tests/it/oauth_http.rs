//! The authorization server and resource server over real HTTP on 127.0.0.1 (docs/spec.md §4), on
//! SQLite and on PostgreSQL: the discovery documents, the browser flow (sign-in, consent with
//! CSRF and Origin checks, code, token, refresh), the page security headers, and every way the
//! MCP endpoint answers a caller: 401 for a bad token, 403 step-up without the scope, success
//! plus a durable audit row with it, -32003 when the quota or a rate limit is used up. The REST
//! image routes (`/api/v1/qr`, `/api/v1/datamatrix`) answer the same way, and their images are
//! decoded with independent readers (rqrr for QR, rxing for Data Matrix).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use std::sync::Arc;

use auth::{AuthConfig, AuthServer};
use base64::Engine as _;
use catalog::Catalog;
use common::{Backend, TestDb, on_both_backends};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::{Value, json};
use sha2::Digest as _;
use web::health::ModelStatus;
use web::security::RateLimits;
use web::{AppState, HttpSettings};

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery";
const CALLBACK: &str = "http://127.0.0.1:9/callback";

on_both_backends!(
    discovery_documents_agree_with_each_other,
    browser_flow_issues_tokens_that_unlock_generate_qr_url,
    pages_refuse_cross_site_posts_and_framing,
    bad_tokens_get_401_with_a_challenge_on_every_method,
    step_up_without_the_scope_and_quota_when_used_up,
    rate_limits_answer_32003_with_retry_after,
    token_endpoint_errors_are_oauth_errors,
    account_page_lists_and_revokes_consents,
    sign_up_is_off_unless_enabled,
    rest_qr_images_need_the_scope_and_count_against_the_quota,
    rest_datamatrix_images_decode_to_the_link_or_the_element_string,
);

struct Server {
    base: String,
    auth: Arc<AuthServer>,
    db: TestDb,
}

async fn start_with(
    backend: Backend,
    configure: impl FnOnce(&mut AuthConfig, &mut HttpSettings),
) -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDb::new(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = AuthConfig::new(&base);
    let mut http = HttpSettings::default();
    configure(&mut config, &mut http);
    let auth = Arc::new(db.auth(config).await);
    auth.create_user(EMAIL, PASSWORD).await.unwrap();
    let catalog = Catalog::new(db.store(), &base);
    let origins = web::mcp_http::OriginPolicy::new(&base, &[], &[]);
    let state =
        AppState::new(catalog, auth.clone(), origins, http, ModelStatus::not_loaded(None, "test"));
    tokio::spawn(web::serve(listener, web::app(state), std::future::pending()));
    Server { base, auth, db }
}

async fn start(backend: Backend) -> Server {
    start_with(backend, |_, _| {}).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Decodes the few entities maud writes in attribute values.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The hidden fields of the form posting to `action` in `html`.
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("action=\"{action}\"")).unwrap();
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let mut out = Vec::new();
    for chunk in form.split("<input").skip(1) {
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            chunk.find(&key).map(|i| {
                let rest = &chunk[i + key.len()..];
                unescape(&rest[..rest.find('"').unwrap()])
            })
        };
        if attr("type").as_deref() == Some("hidden") {
            out.push((attr("name").unwrap(), attr("value").unwrap_or_default()));
        }
    }
    out
}

/// Decodes the one QR code in a greyscale PNG (rqrr, a QR decoder independent of the encoder).
fn decode_qr_png(bytes: &[u8]) -> String {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

/// Decodes the one Data Matrix in a greyscale PNG with rxing (the zxing port, independent of
/// the encoder): the text, and the symbology identifier (`]d1` plain data, `]d2` FNC1 first).
fn decode_datamatrix_png(bytes: &[u8]) -> (String, String) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    decode_datamatrix_pixels(buf, info.width, info.height)
}

fn decode_datamatrix_pixels(pixels: Vec<u8>, w: u32, h: u32) -> (String, String) {
    use rxing::{RXingResultMetadataType, RXingResultMetadataValue, Reader as _};
    let source = rxing::Luma8LuminanceSource::new(pixels, w, h).unwrap();
    let mut image = rxing::BinaryBitmap::new(rxing::common::HybridBinarizer::new(source));
    let result = rxing::datamatrix::DataMatrixReader.decode(&mut image).unwrap();
    let metadata = result.getRXingResultMetadata();
    let id = match metadata.get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER) {
        Some(RXingResultMetadataValue::SymbologyIdentifier(id)) => id.clone(),
        other => panic!("no symbology identifier: {other:?}"),
    };
    (result.getText().to_owned(), id)
}

/// Draws an image SVG (a viewBox `0 0 N N` and one path of `M{x} {y}h{n}v1h-{n}z` runs) at
/// `scale` pixels per module: its side in modules and the greyscale pixels.
fn rasterize_svg(svg: &str, scale: usize) -> (usize, Vec<u8>) {
    let attr = |name: &str| svg.split(&format!(" {name}=\"")).nth(1).unwrap().split('"').next();
    let view_box: Vec<usize> =
        attr("viewBox").unwrap().split(' ').map(|n| n.parse().unwrap()).collect();
    assert_eq!(view_box[..3], [0, 0, view_box[2]]);
    assert_eq!(view_box[2], view_box[3], "square");
    let (side, big) = (view_box[2], view_box[2] * scale);
    let mut pixels = vec![255u8; big * big];
    for run in attr("d").unwrap().split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let n: usize = rest.split_once('v').unwrap().0.parse().unwrap();
        assert_eq!(rest, format!("{n}v1h-{n}z"));
        assert!(x + n <= side && y < side, "inside the viewBox");
        for py in y * scale..(y + 1) * scale {
            pixels[py * big + x * scale..py * big + (x + n) * scale].fill(0);
        }
    }
    (side, pixels)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).unwrap();
    parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy-0123".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A browser: follows nothing by itself, keeps the session cookie.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self { http: client(), base: base.to_owned(), cookie: None }
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') { format!("{}{location}", self.base) } else { location.into() }
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        let mut r = self.http.get(self.absolute(url));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        r.send().await.unwrap()
    }

    async fn post_form(
        &mut self,
        path: &str,
        fields: &[(String, String)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut r = self.http.post(self.absolute(path)).form(fields);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let res = r.send().await.unwrap();
        if let Some(set) = res.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        res
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

async fn register_public_client(base: &str) -> String {
    let res = client()
        .post(format!("{base}/o/register/"))
        .json(&json!({
            "client_name": "Test Agent",
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "qr:generate",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    v["client_id"].as_str().unwrap().to_owned()
}

/// Walks the browser flow to an authorization code.
async fn authorize(s: &Server, client_id: &str, challenge: &str) -> String {
    let mut b = Browser::new(&s.base);
    let resource = format!("{}/mcp/http", s.base);
    let authorize_url = format!(
        "/o/authorize/?response_type=code&client_id={}&redirect_uri={}&scope=qr%3Agenerate&state=st-1&code_challenge={challenge}&code_challenge_method=S256&resource={}",
        urlencode(client_id),
        urlencode(CALLBACK),
        urlencode(&resource)
    );
    let res = b.get(&authorize_url).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let login = location(&res);
    assert!(login.starts_with("/o/login/?next="), "{login}");
    let page = b.get(&login).await;
    assert_eq!(page.status(), 200);
    let fields = hidden_fields(&page.text().await.unwrap(), "/o/login/");
    let mut form = fields.clone();
    form.push(("email".into(), EMAIL.into()));
    form.push(("password".into(), PASSWORD.into()));
    let res = b.post_form("/o/login/", &form, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = location(&res);
    assert!(back.starts_with("/o/authorize/?"), "{back}");
    let consent = b.get(&back).await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(html.contains("Test Agent") && html.contains("qr:generate"), "{html}");
    let mut form = hidden_fields(&html, "/o/authorize/");
    form.push(("decision".into(), "allow".into()));
    let res = b.post_form("/o/authorize/", &form, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let redirect = location(&res);
    assert!(redirect.starts_with(CALLBACK), "{redirect}");
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-1"));
    assert_eq!(query_param(&redirect, "iss").as_deref(), Some(s.base.as_str()));
    query_param(&redirect, "code").unwrap()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn token_request(base: &str, form: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let res = client().post(format!("{base}/o/token/")).form(form).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap())
}

/// The token request exchanging an authorization code (redirected to [`CALLBACK`]) with its
/// PKCE verifier, then `extra` form fields.
async fn exchange_code(
    base: &str,
    client_id: &str,
    code: &str,
    verifier: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("client_id", client_id),
        ("code_verifier", verifier),
    ];
    form.extend_from_slice(extra);
    token_request(base, &form).await
}

async fn mcp(
    base: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut r = client()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap())
}

fn qr_call(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "generate_qr_url", "arguments": {"gtin": "614141123452", "batch": "LOT-1"}}})
}

async fn discovery_documents_agree_with_each_other(backend: Backend) {
    let s = start(backend).await;
    let get = |path: &str| {
        let url = format!("{}{path}", s.base);
        async move {
            let res =
                client().get(url).header("origin", "https://agent.example").send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(
                res.headers()["access-control-allow-origin"],
                "*",
                "discovery is CORS-readable"
            );
            res.json::<Value>().await.unwrap()
        }
    };
    let meta = get("/.well-known/oauth-authorization-server").await;
    assert_eq!(meta["issuer"], s.base);
    assert_eq!(meta["token_endpoint"], format!("{}/o/token/", s.base));
    assert_eq!(meta["authorization_endpoint"], format!("{}/o/authorize/", s.base));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    assert_eq!(get("/.well-known/openid-configuration").await["issuer"], s.base);
    let prm = get("/.well-known/oauth-protected-resource").await;
    assert_eq!(prm["resource"], format!("{}/mcp/http", s.base));
    assert_eq!(prm["authorization_servers"], json!([s.base]));
    assert_eq!(prm["scopes_supported"], json!(["qr:generate"]));
    let suffixed = get("/.well-known/oauth-protected-resource/mcp/http").await;
    assert_eq!(suffixed, prm);
    let alias = get("/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(alias["resource"], format!("{}/mcp", s.base));
}

async fn browser_flow_issues_tokens_that_unlock_generate_qr_url(backend: Backend) {
    let s = start(backend).await;
    let client_id = register_public_client(&s.base).await;
    let (verifier, challenge) = pkce();
    let code = authorize(&s, &client_id, &challenge).await;
    let resource = format!("{}/mcp/http", s.base);

    let (status, headers, t) =
        exchange_code(&s.base, &client_id, &code, &verifier, &[("resource", &resource)]).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "qr:generate");
    let access = t["access_token"].as_str().unwrap().to_owned();
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();

    // The token unlocks the protected tool, and the call leaves a durable audit row.
    let (status, _, v) = mcp(&s.base, "/mcp/http", Some(&access), qr_call(3)).await;
    assert_eq!(status, 200, "{v}");
    let url = v["result"]["structuredContent"]["qr_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/01/00614141123452/10/LOT-1", s.base)), "{url}");
    // The QR code comes along: a PNG that decodes to the URL, and an SVG document.
    let content = v["result"]["content"].as_array().unwrap();
    assert_eq!(content[1]["type"], "image");
    assert_eq!(content[1]["mimeType"], "image/png");
    let png = base64::engine::general_purpose::STANDARD
        .decode(content[1]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(decode_qr_png(&png), url);
    assert_eq!(content[2]["type"], "text");
    assert!(content[2]["text"].as_str().unwrap().contains("<svg"));
    let (action, outcome, who, target): (String, String, Option<String>, Option<String>) =
        s.db.row("SELECT action, outcome, client_id, target FROM audit_events", &[]).await;
    assert_eq!((action.as_str(), outcome.as_str()), ("generate_qr_url", "ok"));
    assert_eq!(who.as_deref(), Some(client_id.as_str()));
    assert_eq!(target.as_deref(), Some("00614141123452"));

    // Refresh rotates; replaying the old refresh token is refused and ends the family.
    let (status, _, t2) = token_request(
        &s.base,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)],
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    let access2 = t2["access_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    assert_ne!(t2["refresh_token"], refresh.as_str());
    let (status, _, e) = token_request(
        &s.base,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(e["error"], "invalid_grant");
    // Tokens are cached for a few seconds by the resource server; wait that out.
    tokio::time::sleep(s.auth.config().token_cache_ttl + std::time::Duration::from_millis(200))
        .await;
    let (status, headers, v) = mcp(&s.base, "/mcp/http", Some(&access2), qr_call(4)).await;
    assert_eq!(status, 401, "reuse of a rotated refresh token revokes the family: {v}");
    assert!(headers["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    // The code is single-use; replaying it also revokes what it issued (RFC 6749 §4.1.2).
    let (status, _, e) = exchange_code(&s.base, &client_id, &code, &verifier, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(e["error"], "invalid_grant");
}

async fn pages_refuse_cross_site_posts_and_framing(backend: Backend) {
    let s = start(backend).await;
    let client_id = register_public_client(&s.base).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new(&s.base);

    let login = b.get("/o/login/").await;
    let h = login.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");

    // A login posted from another site is refused before credentials are looked at.
    let form =
        vec![("email".to_owned(), EMAIL.to_owned()), ("password".to_owned(), PASSWORD.to_owned())];
    let res = b.post_form("/o/login/", &form, Some("https://evil.example")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(b.cookie.is_none());
    let res = b.post_form("/o/login/", &form, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );

    let url = format!(
        "/o/authorize/?response_type=code&client_id={}&redirect_uri={}&scope=qr%3Agenerate&state=s&code_challenge={challenge}&code_challenge_method=S256",
        urlencode(&client_id),
        urlencode(CALLBACK)
    );
    let html = b.get(&url).await.text().await.unwrap();
    let fields = hidden_fields(&html, "/o/authorize/");

    // Without the CSRF token.
    let mut no_csrf: Vec<_> = fields.iter().filter(|(k, _)| k != "csrf_token").cloned().collect();
    no_csrf.push(("decision".into(), "allow".into()));
    let res = b.post_form("/o/authorize/", &no_csrf, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // With the token but a changed request (another scope).
    let mut changed = fields.clone();
    for (k, v) in &mut changed {
        if k == "state" {
            *v = "other".into();
        }
    }
    changed.push(("decision".into(), "allow".into()));
    let res = b.post_form("/o/authorize/", &changed, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // From another origin.
    let mut allow = fields.clone();
    allow.push(("decision".into(), "allow".into()));
    let res = b.post_form("/o/authorize/", &allow, Some("https://evil.example")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Deny sends the user back with access_denied.
    let mut deny = fields.clone();
    deny.push(("decision".into(), "deny".into()));
    let res = b.post_form("/o/authorize/", &deny, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = location(&res);
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&back, "state").as_deref(), Some("s"));

    // An unregistered redirect URI is never redirected to.
    let bad = url.replace(&urlencode(CALLBACK), &urlencode("https://evil.example/cb"));
    let res = b.get(&bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get(LOCATION).is_none());
}

async fn bad_tokens_get_401_with_a_challenge_on_every_method(backend: Backend) {
    let s = start(backend).await;
    for (path, metadata) in [
        ("/mcp/http", "/.well-known/oauth-protected-resource\""),
        ("/mcp", "/.well-known/oauth-protected-resource/mcp\""),
    ] {
        for body in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "validate_gtin", "arguments": {"gtin": "614141123452"}}}),
        ] {
            let (status, headers, v) = mcp(&s.base, path, Some("not-a-token"), body).await;
            assert_eq!(status, 401, "{v}");
            let challenge = headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer error=\"invalid_token\""), "{challenge}");
            assert!(
                challenge.ends_with(&format!("resource_metadata=\"{}{metadata}", s.base)),
                "{challenge}"
            );
            assert_eq!(v["error"]["code"], -32001, "{v}");
        }
    }
    // A token for another audience is refused too: mint one, then revoke it.
    let t = s.auth.mint_token(EMAIL, "qr:generate").await.unwrap();
    let (status, _, _) = mcp(&s.base, "/mcp/http", Some(&t.access_token), qr_call(1)).await;
    assert_eq!(status, 200);
    let res = client()
        .post(format!("{}/o/revoke/", s.base))
        .form(&[("token", t.access_token.as_str()), ("client_id", auth::server::CLI_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::sleep(s.auth.config().token_cache_ttl + std::time::Duration::from_millis(200))
        .await;
    let (status, _, v) = mcp(&s.base, "/mcp/http", Some(&t.access_token), qr_call(2)).await;
    assert_eq!(status, 401, "a revoked token stops working: {v}");
}

async fn step_up_without_the_scope_and_quota_when_used_up(backend: Backend) {
    let s = start_with(backend, |c, _| {
        c.qr_per_day = 2;
    })
    .await;
    // Anonymous and under-scoped callers both get the step-up challenge.
    let narrow = s.auth.mint_token(EMAIL, "products:read").await.unwrap();
    for token in [None, Some(narrow.access_token.as_str())] {
        let (status, headers, v) = mcp(&s.base, "/mcp/http", token, qr_call(1)).await;
        assert_eq!(status, 403, "{v}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"")
                && challenge.contains("scope=\"qr:generate\"")
        );
        assert_eq!(v["error"]["code"], -32002);
    }
    // Other tools work with any valid token.
    let (status, _, v) = mcp(
        &s.base,
        "/mcp/http",
        Some(&narrow.access_token),
        json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "validate_gtin", "arguments": {"gtin": "614141123452"}}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    let t = s.auth.mint_token(EMAIL, "qr:generate").await.unwrap();
    for id in 0..2 {
        let (status, _, v) = mcp(&s.base, "/mcp/http", Some(&t.access_token), qr_call(id)).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["result"]["structuredContent"]["qr_url"].is_string(), "{v}");
    }
    let (status, _, v) = mcp(&s.base, "/mcp/http", Some(&t.access_token), qr_call(3)).await;
    assert_eq!(status, 200);
    assert_eq!(v["error"]["code"], -32003, "{v}");
    let retry = v["error"]["data"]["retry_after"].as_u64().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert!(v["error"]["message"].as_str().unwrap().contains("2 per day"), "{v}");
    let (ok, limited): (i64, i64) = s
        .db
        .row(
            "SELECT count(*) FILTER (WHERE outcome = 'ok'), count(*) FILTER (WHERE outcome <> 'ok') \
             FROM audit_events WHERE action = 'generate_qr_url'",
            &[],
        )
        .await;
    assert_eq!(ok, 2);
    assert!(limited >= 1, "refused calls are audited too");
}

async fn rate_limits_answer_32003_with_retry_after(backend: Backend) {
    let s = start_with(backend, |_, h| {
        h.rate_limits = RateLimits { anonymous_per_minute: 3, client_per_minute: 4 };
    })
    .await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    for _ in 0..3 {
        let (status, _, v) = mcp(&s.base, "/mcp/http", None, ping.clone()).await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, headers, v) = mcp(&s.base, "/mcp/http", None, ping.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(v["error"]["code"], -32003, "{v}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(v["error"]["data"]["retry_after"].as_u64(), Some(retry));
    // An authenticated client has its own budget.
    let t = s.auth.mint_token(EMAIL, "qr:generate").await.unwrap();
    for _ in 0..4 {
        let (_, _, v) = mcp(&s.base, "/mcp/http", Some(&t.access_token), ping.clone()).await;
        assert!(v.get("result").is_some(), "{v}");
    }
    let (_, _, v) = mcp(&s.base, "/mcp/http", Some(&t.access_token), ping).await;
    assert_eq!(v["error"]["code"], -32003, "{v}");
}

async fn token_endpoint_errors_are_oauth_errors(backend: Backend) {
    let s = start(backend).await;
    let res = client()
        .post(format!("{}/o/token/", s.base))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request");
    assert!(v["error_description"].as_str().unwrap().contains("x-www-form-urlencoded"), "{v}");
    let (status, _, v) =
        token_request(&s.base, &[("grant_type", "authorization_code"), ("client_id", "x")]).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"], "invalid_client");
    let client_id = register_public_client(&s.base).await;
    let (status, _, v) = token_request(
        &s.base,
        &[("grant_type", "password"), ("client_id", &client_id), ("username", EMAIL)],
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"], "unsupported_grant_type");
    // Registration refuses non-JSON and bad redirect URIs with the RFC 7591 codes.
    let res = client()
        .post(format!("{}/o/register/", s.base))
        .json(&json!({"redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "invalid_redirect_uri", "{v}");
}

async fn account_page_lists_and_revokes_consents(backend: Backend) {
    let s = start(backend).await;
    let client_id = register_public_client(&s.base).await;
    let (verifier, challenge) = pkce();
    let code = authorize(&s, &client_id, &challenge).await;
    let (_, _, t) = exchange_code(&s.base, &client_id, &code, &verifier, &[]).await;
    let access = t["access_token"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&s.base);
    let res = b.get("/o/account/").await;
    assert_eq!(res.status(), StatusCode::FOUND, "signed-out visitors are sent to sign in");
    let form =
        vec![("email".to_owned(), EMAIL.to_owned()), ("password".to_owned(), PASSWORD.to_owned())];
    assert_eq!(b.post_form("/o/login/", &form, Some(&s.base)).await.status(), 303);
    let html = b.get("/o/account/").await.text().await.unwrap();
    assert!(html.contains("Test Agent") && html.contains(&client_id), "{html}");
    let fields = hidden_fields(&html, "/o/account/revoke/");

    // A forged revoke (no token) is refused; the real one ends the client's tokens.
    let forged: Vec<_> = fields.iter().filter(|(k, _)| k != "csrf_token").cloned().collect();
    assert_eq!(b.post_form("/o/account/revoke/", &forged, Some(&s.base)).await.status(), 403);
    let res = b.post_form("/o/account/revoke/", &fields, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = b.get("/o/account/").await.text().await.unwrap();
    assert!(!html.contains(&client_id), "{html}");
    tokio::time::sleep(s.auth.config().token_cache_ttl + std::time::Duration::from_millis(200))
        .await;
    let (status, _, _) = mcp(&s.base, "/mcp/http", Some(&access), qr_call(1)).await;
    assert_eq!(status, 401);

    // Sign-out needs its token too, then the session is gone.
    let html = b.get("/o/logout/").await.text().await.unwrap();
    let fields = hidden_fields(&html, "/o/logout/");
    assert_eq!(b.post_form("/o/logout/", &[], Some(&s.base)).await.status(), 403);
    let res = b.post_form("/o/logout/", &fields, Some(&s.base)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(b.get("/o/account/").await.status(), StatusCode::FOUND);
}

async fn sign_up_is_off_unless_enabled(backend: Backend) {
    let closed = start(backend).await;
    let b = Browser::new(&closed.base);
    assert_eq!(b.get("/o/signup/").await.status(), StatusCode::NOT_FOUND);
    let login = b.get("/o/login/").await.text().await.unwrap();
    assert!(!login.contains("/o/signup/"));

    let open = start_with(backend, |c, _| c.allow_signup = true).await;
    let mut b = Browser::new(&open.base);
    let form = |email: &str, password: &str| {
        vec![
            ("email".to_owned(), email.to_owned()),
            ("password".to_owned(), password.to_owned()),
            ("next".to_owned(), "/o/account/".to_owned()),
        ]
    };
    let res = b.post_form("/o/signup/", &form("bob@example.com", "short"), Some(&open.base)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("at least"));
    let res = b.post_form("/o/signup/", &form(EMAIL, PASSWORD), Some(&open.base)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "existing accounts are not taken over");
    let res = b
        .post_form(
            "/o/signup/",
            &form("bob@example.com", "a long enough password"),
            Some(&open.base),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/o/account/");
    let html = b.get("/o/account/").await.text().await.unwrap();
    assert!(html.contains("bob@example.com"), "{html}");
}

async fn rest_qr_images_need_the_scope_and_count_against_the_quota(backend: Backend) {
    let s = start_with(backend, |c, _| c.qr_per_day = 2).await;
    let get = |token: Option<String>, query: &str| {
        let url = format!("{}/api/v1/qr?{query}", s.base);
        async move {
            let mut r = client().get(url);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send().await.unwrap()
        }
    };
    let r = get(None, "gtin=614141123452").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("resource_metadata="));
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let narrow = s.auth.mint_token(EMAIL, "products:read").await.unwrap().access_token;
    let r = get(Some(narrow), "gtin=614141123452").await;
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));

    let token = s.auth.mint_token(EMAIL, "qr:generate").await.unwrap().access_token;
    for (query, field) in [
        ("gtin=614141123453", "gtin"),
        ("gtin=614141123452&format=gif", "format"),
        ("gtin=614141123452&size=10", "size"),
        ("gtin=614141123452&error_correction=Z", "error_correction"),
        ("gtin=614141123452&gtin=614141123452", "gtin"),
    ] {
        let r = get(Some(token.clone()), query).await;
        assert_eq!(r.status(), 422, "{query}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_code"], "validation_error");
        assert_eq!(v["errors"][0]["field"], field, "{query}: {v}");
    }
    let r = get(
        Some(token.clone()),
        "gtin=614141123452&batch=AB-1&format=png&size=400&error_correction=H",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let want = format!("{}/01/00614141123452/10/AB-1", s.base);
    assert_eq!(r.headers()["x-digital-link"], want.as_str());
    assert_eq!(decode_qr_png(&r.bytes().await.unwrap()), want);
    let r = get(Some(token.clone()), "gtin=614141123452").await;
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().contains("<svg"));
    // The quota (2 a day) is shared with the MCP tool and now used up.
    let r = get(Some(token), "gtin=614141123452").await;
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert!(v["retry_after"].as_u64().unwrap() >= 1, "{v}");
    let (rows,): (i64,) = s
        .db
        .row("SELECT count(*) FROM audit_events WHERE arguments LIKE '%\"via\":\"rest\"%'", &[])
        .await;
    assert_eq!(rows, 3, "two images and one refusal are audited");
}

async fn rest_datamatrix_images_decode_to_the_link_or_the_element_string(backend: Backend) {
    let s = start_with(backend, |c, _| c.qr_per_day = 4).await;
    let get = |token: Option<String>, path: &str, query: &str| {
        let url = format!("{}/api/v1/{path}?{query}", s.base);
        async move {
            let mut r = client().get(url);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send().await.unwrap()
        }
    };
    let r = get(None, "datamatrix", "gtin=614141123452").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("resource_metadata="));
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let narrow = s.auth.mint_token(EMAIL, "products:read").await.unwrap().access_token;
    let r = get(Some(narrow), "datamatrix", "gtin=614141123452").await;
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));

    let token = s.auth.mint_token(EMAIL, "qr:generate").await.unwrap().access_token;
    for (path, query, field, says) in [
        ("datamatrix", "gtin=614141123453", "gtin", ""),
        ("datamatrix", "gtin=614141123452&format=gif", "format", "svg or png"),
        ("datamatrix", "gtin=614141123452&size=10", "size", "64"),
        ("datamatrix", "gtin=614141123452&content=ean", "content", "element_string"),
        ("datamatrix", "gtin=614141123452&content=uri&content=uri", "content", "repeated"),
        ("datamatrix", "gtin=614141123452&batch=a%20b", "batch", ""),
        (
            "datamatrix",
            "gtin=614141123452&error_correction=H",
            "error_correction",
            "not a parameter here",
        ),
        ("qr", "gtin=614141123452&content=uri", "content", "not a parameter here"),
    ] {
        let r = get(Some(token.clone()), path, query).await;
        assert_eq!(r.status(), 422, "{path}?{query}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_code"], "validation_error");
        assert_eq!(v["errors"][0]["field"], field, "{path}?{query}: {v}");
        assert!(v["errors"][0]["message"].as_str().unwrap().contains(says), "{v}");
    }

    // URI mode (the default): the Digital Link as plain data, `]d1`.
    let want = format!("{}/01/00614141123452/10/AB-1/21/SN9", s.base);
    let r = get(
        Some(token.clone()),
        "datamatrix",
        "gtin=614141123452&batch=AB-1&serial=SN9&format=png&size=300",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-digital-link"], want.as_str());
    let png = r.bytes().await.unwrap();
    assert_eq!(decode_datamatrix_png(&png), (want.clone(), "]d1".to_owned()));
    let png_side =
        png::Decoder::new(std::io::Cursor::new(&png[..])).read_info().unwrap().info().width;
    assert!(png_side <= 300, "{png_side}");

    // Element-string mode: FNC1 first (`]d2`), GS after the batch/lot.
    let r = get(
        Some(token.clone()),
        "datamatrix",
        "gtin=614141123452&batch=AB-1&serial=SN9&format=PNG&content=element_string",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-digital-link"], want.as_str());
    let (text, id) = decode_datamatrix_png(&r.bytes().await.unwrap());
    assert_eq!(id, "]d2");
    assert_eq!(text, "010061414112345210AB-1\u{1d}21SN9", "AI 01, AI 10, GS, AI 21");

    // SVG: one square document whose viewBox is the symbol (a square ECC 200 size) plus a
    // 2-module quiet zone on each side, the same symbol as the PNG, and it decodes.
    let r = get(Some(token.clone()), "datamatrix", "gtin=614141123452&batch=AB-1&serial=SN9").await;
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<?xml ") && svg.ends_with("</svg>"), "{svg}");
    assert_eq!(svg.matches("<svg ").count(), 1, "{svg}");
    assert_eq!(svg.matches("/>").count(), 2, "a rect and a path: {svg}");
    let (side, pixels) = rasterize_svg(&svg, 4);
    let square_sizes = [10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52, 64, 72, 80];
    assert!(square_sizes.contains(&(side - 4)), "{side}");
    assert_eq!(png_side as usize, side * (300 / side), "the PNG has the same module count");
    assert!(svg.contains(&format!(" width=\"{}\"", 512_usize.div_ceil(side) * side)), "{svg}");
    assert!(pixels[..side * 4 * 4 * 2].iter().all(|p| *p == 255), "quiet zone");
    let big = (side * 4) as u32;
    assert_eq!(decode_datamatrix_pixels(pixels, big, big), (want, "]d1".to_owned()));

    // The quota (4 a day) is shared with the QR route and the MCP tool.
    let r = get(Some(token.clone()), "qr", "gtin=614141123452").await;
    assert_eq!(r.status(), 200);
    let r = get(Some(token), "datamatrix", "gtin=614141123452").await;
    assert_eq!(r.status(), 429);
    let rows: Vec<String> = s
        .db
        .rows::<(String,)>(
            "SELECT arguments FROM audit_events WHERE arguments LIKE '%\"via\":\"rest\"%' ORDER BY id",
            &[],
        )
        .await
        .into_iter()
        .map(|(a,)| a)
        .collect();
    assert_eq!(rows.len(), 5, "four images and one refusal are audited: {rows:?}");
    assert!(
        rows[1].contains("\"symbology\":\"datamatrix\"")
            && rows[1].contains("\"content\":\"element_string\""),
        "{rows:?}"
    );
    assert!(rows[3].contains("\"symbology\":\"qr\""), "{rows:?}");
}
