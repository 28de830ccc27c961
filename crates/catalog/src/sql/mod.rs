//! The SQL of the catalog store's roles, one module per role: each holds the role's statements
//! that read the same on both backends (`pub(crate) const`, `$N` placeholders) and the one
//! macro that generates the role's implementation for a backend from one body. Each backend's
//! role file (`sqlite/read.rs`, `postgres/read.rs`, …) keeps only what it does its own way.

pub(crate) mod embeddings;
pub(crate) mod read;
pub(crate) mod search;
