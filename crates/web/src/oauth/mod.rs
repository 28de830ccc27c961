//! The OAuth 2.1 authorization server over HTTP (docs/spec.md §4): the machine endpoints that
//! clients call ([`endpoints`]: discovery, token, registration, revocation, introspection) and
//! the browser pages people see ([`pages`]: sign-in, sign-up, consent, account). Both are thin
//! adapters over [`auth::AuthServer`].

pub mod endpoints;
pub mod pages;
