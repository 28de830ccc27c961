//! The web crate's integration tests, in one test binary (one link, one set of fixtures):
//! each module drives a live server over real HTTP on 127.0.0.1 on both backends.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[macro_use]
mod common;

mod http;
mod mcp_http;
mod oauth_http;
mod resolver_http;
mod rest_accounts;
mod rest_api;
mod rest_products;
mod rest_retail;
mod rest_rules;
mod url_health;
