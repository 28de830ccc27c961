//! The catalog's domain, free of I/O and SQL: the product, store, offer and rule model with its
//! limits and write patches ([`model`]), the error contract every surface maps from
//! ([`error`]), geography ([`geo`]), ISO 3166 / ISO 4217 codes ([`iso`]) and the write planner that
//! validates and merges writes into stored rows ([`write_plan`]). The `catalog` crate re-exports
//! `model`, `error`, `geo` and `iso` under the same names.

pub mod error;
pub mod geo;
pub mod iso;
mod iso_data;
pub mod model;
pub mod write_plan;

pub use error::{ErrorCode, FieldError, ServiceError};
pub use model::Metadata;
