//! The catalog crate's integration tests, in one test binary: each module runs the catalog on a
//! real SQLite file and on PostgreSQL.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod import;
mod rules_admin;
mod search;
mod semantic;
mod service;
mod store;
mod vector_index;
