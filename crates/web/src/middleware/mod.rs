//! What every surface shares around its handlers: request ids ([`request_id`]), per-route
//! metrics ([`metrics`]), problem documents for errors and the layers that give every error
//! one ([`problem`]), and who is calling with their rate limits and tool gate ([`security`]).

pub mod metrics;
pub mod problem;
pub mod request_id;
pub mod security;
