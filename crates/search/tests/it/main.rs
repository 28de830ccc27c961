//! The search crate's integration tests, in one test binary: the embedding models against
//! their reference outputs.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod reference;
mod static_reference;
