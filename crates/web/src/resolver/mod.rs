//! The GS1 Digital Link resolver surface (docs/spec.md §5): the `/01/…` routes and
//! `/.well-known/gs1resolver` ([`resolve`]), and the hosted product page a scan shows when the
//! brand chose prodlink's page ([`hosted`]).

pub mod hosted;
pub mod resolve;

pub use resolve::{LINKSET_CONTEXT, routes};
