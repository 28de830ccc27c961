//! Request ids: the `x-request-id` header, set when the client did not send one and echoed on
//! the response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The request-id header (`x-request-id`), set when the client did not send one and echoed on
/// the response.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a per-process random prefix plus a counter — unique, cheap, not guessable
/// across restarts.
#[derive(Clone)]
pub(crate) struct MakeId {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl MakeId {
    pub(crate) fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let prefix = nanos ^ u64::from(std::process::id()).rotate_left(32);
        Self { prefix, next: Arc::new(AtomicU64::new(1)) }
    }
}

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:x}", self.prefix & 0xffff_ffff).parse().ok().map(RequestId::new)
    }
}
