//! A REST request's inputs, as every handler takes them: path values, the URI (query),
//! headers and the caller the REST layer identified, with the checks handlers share (declared
//! parameters, scopes, the caller's organization, `If-Match`).

use std::convert::Infallible;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use catalog::ServiceError;

use super::caller::{Caller, Refusal};
use super::params::{Checked, ParamSpec};
use crate::AppState;

/// A request's inputs: path values, the URI (query), headers and the caller.
pub struct Input {
    path: Result<Vec<String>, String>,
    uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// Who is calling (set by the REST layer).
    pub caller: Option<Caller>,
}

impl<S: Send + Sync> FromRequestParts<S> for Input {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let path = match RawPathParams::from_request_parts(parts, state).await {
            Ok(p) => Ok(p.iter().map(|(_, v)| v.to_owned()).collect()),
            Err(e) => Err(e.body_text()),
        };
        Ok(Self {
            path,
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            caller: parts.extensions.get::<Caller>().cloned(),
        })
    }
}

impl Input {
    /// The parameters, checked against the endpoint's declaration.
    pub fn check(&self, specs: &[ParamSpec]) -> Result<Checked, ServiceError> {
        let path = self
            .path
            .as_ref()
            .map_err(|e| ServiceError::invalid("path", format!("cannot be decoded: {e}")))?;
        Checked::new(specs, path, &self.uri)
    }

    /// The request id (set by the request-id layer).
    pub fn request_id(&self) -> Option<&str> {
        self.headers.get(&crate::middleware::request_id::REQUEST_ID).and_then(|v| v.to_str().ok())
    }

    /// The caller, once it holds `scope` (else the refusal: 401 without credentials, 403
    /// `insufficient_scope` with a challenge naming the scope).
    pub fn authorized(&self, state: &AppState, scope: &str) -> Result<&Caller, Refusal> {
        let caller = self.caller.as_ref().ok_or_else(|| {
            Refusal::from(ServiceError::Internal("no caller on a REST request".into()))
        })?;
        caller.require(scope, &state.auth().resource_metadata_url())?;
        Ok(caller)
    }

    /// The organization the caller acts for, once it holds `scope`; management endpoints act
    /// only on its resources.
    pub fn organization(&self, state: &AppState, scope: &str) -> Result<i64, Refusal> {
        self.authorized(state, scope)?.organization()
    }

    /// The `If-Match` value; a header that is not visible ASCII names no entity tag, so it
    /// matches nothing.
    pub fn if_match(&self) -> Option<&str> {
        self.headers.get(header::IF_MATCH).map(|v| v.to_str().unwrap_or(""))
    }
}
