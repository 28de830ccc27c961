//! prodlink's catalog: the domain types of docs/spec.md §2, the service functions every surface calls
//! (docs/spec.md §3: lookup, detail, compare, availability), the storage traits with their SQLite
//! implementation, and the importers (docs/spec.md §9 `prodlink import …`).
//!
//! Layering (ARCHITECTURE.md): surfaces → [`service`] → [`store::CatalogStore`] → SQL. Services
//! never see HTTP; surfaces never run SQL. A PostgreSQL backend implements the same trait.

pub mod cache;
pub mod copy;
pub mod demo;
pub mod import;
pub mod lexical;
pub mod manage;
mod migrations;
pub mod orgs;
mod orgs_store;
pub mod postgres;
pub mod qr;
pub mod resolve;
pub mod retail;
mod retail_store;
pub mod rules;
pub mod rules_admin;
mod rules_admin_store;
pub mod search;
pub mod semantic;
pub mod service;
mod sql;
pub mod sqlite;
pub mod store;
mod write_plan;

pub use domain::{error, geo, iso, model};
pub use error::{ErrorCode, FieldError, ServiceError};
pub use model::Metadata;
pub use service::Catalog;
pub use store::{CatalogStore, StoreError};
