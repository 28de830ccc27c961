//! Fixtures of the web HTTP tests on top of the workspace's test kit (`testkit`: the backends,
//! [`on_both_backends!`], the test databases and templates): a live REST server ([`rest`]).

#![allow(dead_code, clippy::unwrap_used)]

pub mod rest;

pub use testkit::*;
