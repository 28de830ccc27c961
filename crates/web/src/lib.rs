//! prodlink's HTTP edge: [`app`] builds the axum router every surface hangs off (health,
//! metrics, MCP, the OAuth authorization server and its pages; the resolver and REST in later
//! layers), the REST API, with the cross-cutting
//! middleware: request ids, tracing spans, per-route metrics, body-size limits, timeouts and
//! panic containment. `main` and the tests use the same function, and [`serve`] runs it with
//! graceful shutdown.
//!
//! Surfaces stay thin: parse input, call one `catalog` service function, shape the output.
//!
//! One folder per surface: [`mcp`](crate::mcp) (MCP over Streamable HTTP), [`oauth`] (the
//! authorization server's endpoints and pages), [`resolver`] (the GS1 Digital Link resolver and
//! the hosted product page), [`rest`] (the REST API) and [`ops`] (health and metrics); what
//! they share around their handlers is in [`middleware`], and background work in [`jobs`].
//! This file holds the shared state and assembles the router.

mod html;
pub mod jobs;
pub mod mcp;
pub mod middleware;
pub mod oauth;
pub mod ops;
pub mod resolver;
pub mod rest;

// Paths of the flat layout that other crates (and this crate's tests and examples) use.
pub use self::mcp::http as mcp_http;
pub use jobs::url_health;
pub use middleware::security;
pub use ops::{health, metrics};

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::AuthServer;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use catalog::Catalog;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use middleware::problem;
use middleware::request_id::{MakeId, REQUEST_ID};

/// The crate version reported by health and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// MCP rate limits.
    pub rate_limits: security::RateLimits,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// A request header carrying the client's country (e.g. `CF-IPCountry`), for resolver
    /// rules with countries; without it the `Accept-Language` region stands in.
    pub country_header: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            rate_limits: security::RateLimits::default(),
            trust_forwarded_for: false,
            country_header: None,
        }
    }
}

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    mcp: ::mcp::McpServer,
    auth: Arc<AuthServer>,
    /// Quota and audit around QR generation, shared by the MCP tool and the REST API.
    gate: Arc<security::AuthGate>,
    limiters: security::Limiters,
    /// REST rate limits (their own buckets, the same settings).
    rest_limiters: rest::caller::RestLimiters,
    /// The OpenAPI document, built on first use.
    openapi: std::sync::OnceLock<serde_json::Value>,
    origins: mcp_http::OriginPolicy,
    http: HttpSettings,
    started: Instant,
    model: health::ModelStatus,
    /// Recently rendered hosted pages.
    pages: resolver::hosted::PageCache,
}

impl AppState {
    /// State over the catalog services and the authorization server.
    pub fn new(
        catalog: Catalog,
        auth: Arc<AuthServer>,
        origins: mcp_http::OriginPolicy,
        http: HttpSettings,
        model: health::ModelStatus,
    ) -> Self {
        let mcp = ::mcp::McpServer::new(catalog.clone(), VERSION);
        Self::with_mcp(catalog, mcp, auth, origins, http, model)
    }

    /// State whose MCP server also has the official conformance suite's fixture tools: for the
    /// `conformance_server` example only.
    pub fn with_conformance_fixtures(
        catalog: Catalog,
        auth: Arc<AuthServer>,
        origins: mcp_http::OriginPolicy,
        http: HttpSettings,
        model: health::ModelStatus,
    ) -> Self {
        let mcp = ::mcp::McpServer::with_conformance_fixtures(catalog.clone(), VERSION);
        Self::with_mcp(catalog, mcp, auth, origins, http, model)
    }

    fn with_mcp(
        catalog: Catalog,
        mcp: ::mcp::McpServer,
        auth: Arc<AuthServer>,
        origins: mcp_http::OriginPolicy,
        http: HttpSettings,
        model: health::ModelStatus,
    ) -> Self {
        let gate = Arc::new(security::AuthGate::new(auth.clone()));
        let mcp = mcp.with_gate(gate.clone());
        let limiters = security::Limiters::new(http.rate_limits);
        let rest_limiters = rest::caller::RestLimiters::new(http.rate_limits);
        Self {
            inner: Arc::new(Inner {
                catalog,
                mcp,
                auth,
                gate,
                limiters,
                rest_limiters,
                openapi: std::sync::OnceLock::new(),
                origins,
                http,
                started: Instant::now(),
                model,
                pages: resolver::hosted::PageCache::new(10_000),
            }),
        }
    }

    /// The authorization server.
    pub fn auth(&self) -> &AuthServer {
        &self.inner.auth
    }

    /// Forgets idle rate-limit keys; call every minute or so.
    pub fn upkeep(&self) {
        self.inner.limiters.upkeep();
        self.inner.rest_limiters.upkeep();
    }

    /// The catalog services.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The REST rate limiters.
    pub fn rest_limiters(&self) -> &rest::caller::RestLimiters {
        &self.inner.rest_limiters
    }

    /// HTTP settings.
    pub fn http(&self) -> &HttpSettings {
        &self.inner.http
    }
}

/// Builds the application router.
pub fn app(state: AppState) -> Router {
    let http = state.http().clone();
    Router::new()
        .route("/mcp/health", get(health::health))
        .route("/mcp/http", post(mcp_http::post).get(mcp_http::method_not_allowed).delete(mcp_http::method_not_allowed))
        .route("/mcp", post(mcp_http::post).get(mcp_http::method_not_allowed).delete(mcp_http::method_not_allowed))
        .route("/metrics", get(metrics::render))
        .merge(oauth::endpoints::routes())
        .merge(oauth::pages::routes())
        .merge(resolver::routes())
        .merge(rest::routes(&state))
        .fallback(problem::not_found)
        .with_state(state.clone())
        // Layers wrap inside-out: the last added runs first. Errors produced by the layers
        // (405, 408, 413, panics) get problem documents, and metrics count them all.
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, http.request_timeout))
        .layer(DefaultBodyLimit::max(http.max_body_bytes))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(axum::middleware::from_fn_with_state(state, problem::fill_empty_errors))
        .layer(axum::middleware::from_fn(middleware::metrics::track))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeId::new()))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
