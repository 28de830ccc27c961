//! Prometheus metrics (`GET /metrics`, text exposition format): request counts and latency
//! histograms per route (the matched route pattern, never the raw path, so cardinality stays
//! bounded), recorded by a middleware ([`crate::middleware::metrics`]). Later layers add per-tool
//! series.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: 0.25 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use. `None` if another recorder was installed
/// first (then `/metrics` says so instead of failing).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(BUCKETS).ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Drains histogram data periodically (call from a background task).
pub fn run_upkeep() {
    if let Some(h) = handle() {
        h.run_upkeep();
    }
}

/// `GET /metrics`.
pub async fn render() -> Response {
    let body =
        handle().map_or_else(|| "# metrics recorder unavailable\n".to_owned(), |h| h.render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
