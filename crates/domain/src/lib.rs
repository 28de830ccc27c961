//! The catalog's domain, free of I/O and SQL: the product, store, offer and rule model with its
//! limits and write patches ([`model`]), the error contract every surface maps from
//! ([`error`]), geography ([`geo`]) and ISO 3166 / ISO 4217 codes ([`iso`]). The `catalog`
//! crate re-exports each module under the same name.

pub mod error;
pub mod geo;
pub mod iso;
mod iso_data;
pub mod model;

pub use error::{ErrorCode, FieldError, ServiceError};
pub use model::Metadata;
