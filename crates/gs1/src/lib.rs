//! GS1 identifiers for prodlink (docs/spec.md §1 "Identifiers"; GS1 General Specifications, GS1
//! Digital Link URI Syntax, GS1 Web Vocabulary): the core layer, pure functions and no I/O (the only exception is the
//! test-only URI recorder behind the `record-uris` feature).
//!
//! - [`gtin`]: parse, validate and normalize GTIN-8/12/13/14 to [`Gtin14`]; GS1 mod-10
//!   [`check_digit`]; the [`validate`] report with restricted-circulation warnings.
//! - [`digital_link`]: build and parse GS1 Digital Link URIs for the GTIN key (AI 01) with
//!   qualifiers 22/10/21 or 235 and data attributes ([`DigitalLink`]).
//! - [`link_type`]: the GS1 Web Vocabulary v1.16 link types ([`LinkType`]).
//!
//! ```
//! use gs1::{DigitalLink, Gtin14, LinkType, ParseMode};
//!
//! let gtin = Gtin14::parse(" 6141 4112-3452 ").unwrap();
//! assert_eq!(gtin.as_str(), "00614141123452");
//!
//! let link = DigitalLink::builder(gtin).batch("ABC/1").expiry("261231").build().unwrap();
//! let uri = link.to_uri("https://example.com/");
//! assert_eq!(uri, "https://example.com/01/00614141123452/10/ABC%2F1?17=261231");
//!
//! let parsed = DigitalLink::parse(&uri, ParseMode::Strict).unwrap();
//! assert_eq!(parsed.link(), &link);
//!
//! assert_eq!(LinkType::parse("https://ref.gs1.org/voc/pip").unwrap().curie(), "gs1:pip");
//! ```

#![deny(missing_docs)]

pub mod digital_link;
pub mod gtin;
pub mod link_type;

pub use digital_link::{
    DigitalLink, DigitalLinkBuilder, DlError, Leniency, ParseMode, ParsedDigitalLink,
};
pub use gtin::{Gtin14, GtinError, GtinValidation, RestrictedCirculation, check_digit, validate};
pub use link_type::{LinkType, LinkTypeError};
