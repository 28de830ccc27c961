//! The operator's endpoints: `GET /mcp/health` ([`health`]) and the Prometheus exposition at
//! `GET /metrics` with the process-wide recorder behind it ([`metrics`]).

pub mod health;
pub mod metrics;
