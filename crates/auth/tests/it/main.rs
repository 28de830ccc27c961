//! The auth crate's integration tests, in one test binary: each module runs the authorization
//! server and its store on both backends.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[macro_use]
mod common;

mod apikeys;
mod cimd;
mod flows;
mod storage;
