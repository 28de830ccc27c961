//! GS1 Digital Link URIs for the GTIN primary key, AI (01): building and parsing (docs/spec.md §1 "GS1
//! Digital Link URIs"; GS1 Digital Link URI Syntax 1.7 clauses 4.1, 4.8–4.12; GS1-Conformant
//! Resolver 1.2 clause 2.13 for the trailing slash).
//!
//! Owns [`DigitalLink`] (a GTIN plus its optional qualifiers and data attributes, valid by
//! construction), its builder, [`DigitalLink::to_uri`] and the two parsers the resolver and the
//! validators use. The QR generator, the resolver and the MCP tools all go through here, so a URI
//! prodlink emits is always one it would accept back.
//!
//! Shape: `{stem}/01/{gtin14}[/22/{cpv}][/10/{batch}][/21/{serial}]` or
//! `{stem}/01/{gtin14}/235/{tpx}`, then `?AI=value&…` data attributes sorted by AI.
//!
//! Parsing decisions (each documented where it is implemented):
//! - the primary key is found from the right, in `/AI/value` pairs, so a stem may carry its own
//!   path segments; any GS1 primary key other than 01 is an "unsupported primary key" error;
//! - the scheme must be `http` or `https`, lowercase or all capitals (`HTTPS://`, which GS1's
//!   syntax engine accepts); mixed case is refused; [`ParsedDigitalLink::stem`] reports the
//!   scheme in lowercase;
//! - characters that may not appear raw in a URI (space, `"`, `<`, `>`, `{`, non-ASCII, …) are
//!   refused anywhere in the input; `%XX` is decoded in either hex case; malformed escapes and
//!   `%00` are refused; a `+` is a literal plus in the path and a space in the query;
//! - query keys that are all digits are AIs and must be valid data attributes; other keys
//!   (`linkType`, `context`, …) are kept, decoded, in [`ParsedDigitalLink::other_params`];
//!   singletons (`?flag`), empty keys and empty `&&` pairs are ignored; `;` is not a separator
//!   (as in GS1's syntax engine); a fragment (`#…`) is ignored;
//! - [`ParseMode::Strict`] demands exactly 14 GTIN digits and no trailing slash;
//!   [`ParseMode::Lenient`] (the resolver) removes one trailing slash and pads GTIN-8/12/13,
//!   and says so in [`ParsedDigitalLink::leniency`].

mod ai;
mod error;
mod parse;
mod percent;

use std::collections::BTreeMap;

use crate::gtin::Gtin14;

pub use error::DlError;
pub use parse::{Leniency, ParseMode, ParsedDigitalLink};
use parse::{check_uri_characters, parse_target};

use ai::{BATCH, CPV, PathShape, QUALIFIER_MAX, SERIAL, TPX, TPX_MAX, label};

/// The stem of GS1's own resolver, used by [`DigitalLink::to_canonical_uri`] (URI Syntax 4.12).
pub const CANONICAL_STEM: &str = "https://id.gs1.org";

/// A GS1 Digital Link for a GTIN: the GTIN, its optional path qualifiers and its data attributes.
///
/// Always valid: it can only be made by [`DigitalLinkBuilder::build`] or by parsing, both of
/// which check every rule of the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigitalLink {
    gtin: Gtin14,
    cpv: Option<String>,
    batch: Option<String>,
    serial: Option<String>,
    tpx: Option<String>,
    attributes: BTreeMap<String, String>,
}

/// Builds a [`DigitalLink`]; every check happens in [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct DigitalLinkBuilder {
    gtin: Gtin14,
    cpv: Option<String>,
    batch: Option<String>,
    serial: Option<String>,
    tpx: Option<String>,
    attributes: Vec<(String, String)>,
}

impl DigitalLinkBuilder {
    /// Sets the consumer product variant, AI (22): 1–20 characters of GS1 CSET 82.
    pub fn cpv(mut self, value: impl Into<String>) -> Self {
        self.cpv = Some(value.into());
        self
    }

    /// Sets the batch/lot number, AI (10): 1–20 characters of GS1 CSET 82.
    pub fn batch(mut self, value: impl Into<String>) -> Self {
        self.batch = Some(value.into());
        self
    }

    /// Sets the serial number, AI (21): 1–20 characters of GS1 CSET 82.
    pub fn serial(mut self, value: impl Into<String>) -> Self {
        self.serial = Some(value.into());
        self
    }

    /// Sets the third-party controlled serial number, AI (235): 1–28 characters of GS1 CSET 82.
    /// It cannot be combined with 22, 10 or 21 in the path.
    pub fn tpx(mut self, value: impl Into<String>) -> Self {
        self.tpx = Some(value.into());
        self
    }

    /// Adds a data attribute `ai=value` (a query parameter), e.g. `("17", "261231")`.
    ///
    /// Accepted AIs: 11, 13, 15, 16, 17 (`YYMMDD`, day `00` = unspecified), 7003
    /// (`YYMMDDHHMM`), 30 (1–8 digits), 310n–369n measures (6 digits; at most one decimal
    /// variant per measure), and 10 only together with [`tpx`](Self::tpx) (where the path
    /// cannot carry it). Adding the same AI twice is an error, not an overwrite.
    pub fn attribute(mut self, ai: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((ai.into(), value.into()));
        self
    }

    /// Shorthand for [`attribute`](Self::attribute)`("17", yymmdd)`, the expiration date.
    pub fn expiry(self, yymmdd: impl Into<String>) -> Self {
        self.attribute("17", yymmdd)
    }

    /// Validates everything and returns the link.
    ///
    /// # Errors
    /// The first problem found, checking 22, 10, 21, 235, their combination, then the
    /// attributes in the order they were added.
    pub fn build(self) -> Result<DigitalLink, DlError> {
        for (ai, value, max) in [
            (CPV, &self.cpv, QUALIFIER_MAX),
            (BATCH, &self.batch, QUALIFIER_MAX),
            (SERIAL, &self.serial, QUALIFIER_MAX),
            (TPX, &self.tpx, TPX_MAX),
        ] {
            if let Some(v) = value {
                ai::check_cset82(ai, v, max)?;
            }
        }
        if self.tpx.is_some() {
            let other = [(CPV, &self.cpv), (BATCH, &self.batch), (SERIAL, &self.serial)]
                .into_iter()
                .find(|(_, v)| v.is_some());
            if let Some((other, _)) = other {
                return Err(DlError::TpxWithQualifier { other: other.to_owned() });
            }
        }
        let shape = PathShape {
            cpv: self.cpv.is_some(),
            batch: self.batch.is_some(),
            serial: self.serial.is_some(),
            tpx: self.tpx.is_some(),
        };
        let mut attributes = BTreeMap::new();
        for (key, value) in self.attributes {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DlError::InvalidAttributeKey { key });
            }
            insert_attribute(&mut attributes, key, value, shape)?;
        }
        check_measure_conflicts(&attributes)?;
        Ok(DigitalLink {
            gtin: self.gtin,
            cpv: self.cpv,
            batch: self.batch,
            serial: self.serial,
            tpx: self.tpx,
            attributes,
        })
    }
}

/// Checks and inserts one data attribute (numeric `ai`), refusing duplicates.
fn insert_attribute(
    attributes: &mut BTreeMap<String, String>,
    ai: String,
    value: String,
    shape: PathShape,
) -> Result<(), DlError> {
    ai::check_attribute(&ai, &value, shape)?;
    if attributes.contains_key(&ai) {
        return Err(DlError::DuplicateAi { ai });
    }
    attributes.insert(ai, value);
    Ok(())
}

/// At most one decimal variant per measure (Syntax Dictionary `ex=310n` and so on).
fn check_measure_conflicts(attributes: &BTreeMap<String, String>) -> Result<(), DlError> {
    let mut prev: Option<(&str, &str)> = None;
    // BTreeMap order puts AIs of one family next to each other.
    for ai in attributes.keys() {
        let family = ai::measure_family(ai);
        if let (Some(f), Some((pf, pai))) = (family, prev)
            && f == pf
        {
            return Err(DlError::ConflictingAttributes { ai: ai.clone(), other: pai.to_owned() });
        }
        prev = family.map(|f| (f, ai.as_str()));
    }
    Ok(())
}

impl DigitalLink {
    /// A link to the GTIN alone (`/01/{gtin14}`).
    pub fn new(gtin: Gtin14) -> Self {
        Self { gtin, cpv: None, batch: None, serial: None, tpx: None, attributes: BTreeMap::new() }
    }

    /// Starts a builder for a link to `gtin`.
    pub fn builder(gtin: Gtin14) -> DigitalLinkBuilder {
        DigitalLinkBuilder {
            gtin,
            cpv: None,
            batch: None,
            serial: None,
            tpx: None,
            attributes: Vec::new(),
        }
    }

    /// A builder holding this link's parts, e.g. to derive a less specific link.
    pub fn to_builder(&self) -> DigitalLinkBuilder {
        DigitalLinkBuilder {
            gtin: self.gtin,
            cpv: self.cpv.clone(),
            batch: self.batch.clone(),
            serial: self.serial.clone(),
            tpx: self.tpx.clone(),
            attributes: self.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }

    /// The GTIN (AI 01).
    pub fn gtin(&self) -> Gtin14 {
        self.gtin
    }

    /// The consumer product variant (AI 22), decoded.
    pub fn cpv(&self) -> Option<&str> {
        self.cpv.as_deref()
    }

    /// The batch/lot number (AI 10) in the path, decoded. (With 235, a batch can only be a data
    /// attribute: see [`attribute`](Self::attribute).)
    pub fn batch(&self) -> Option<&str> {
        self.batch.as_deref()
    }

    /// The serial number (AI 21), decoded.
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// The third-party controlled serial number (AI 235), decoded.
    pub fn tpx(&self) -> Option<&str> {
        self.tpx.as_deref()
    }

    /// The path qualifiers present, in path order, as `(AI, decoded value)`.
    pub fn qualifiers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [(CPV, &self.cpv), (BATCH, &self.batch), (SERIAL, &self.serial), (TPX, &self.tpx)]
            .into_iter()
            .filter_map(|(ai, v)| v.as_deref().map(|v| (ai, v)))
    }

    /// The data attributes as `(AI, value)`, sorted by AI.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of one data attribute.
    pub fn attribute(&self, ai: &str) -> Option<&str> {
        self.attributes.get(ai).map(String::as_str)
    }

    /// The URI under `base`, a site URL such as `http://localhost:8080` or
    /// `https://example.com/stem` (one trailing slash is removed; `base` is used verbatim
    /// otherwise, so it must be a valid `http(s)` URL: prodlink's `site_url` setting is checked
    /// where it is loaded).
    ///
    /// With the `record-uris` feature (tests only), also appends the URI to the file named by
    /// `PRODLINK_DL_URI_LOG`, for the digital-link.js cross-check in
    /// `tests/external/digital-link/`.
    pub fn to_uri(&self, base: &str) -> String {
        let base = base.strip_suffix('/').unwrap_or(base);
        let mut uri = String::with_capacity(base.len() + 40);
        uri.push_str(base);
        self.write_path(&mut uri);
        #[cfg(feature = "record-uris")]
        record::record(&uri);
        uri
    }

    /// The URI under GS1's canonical stem `https://id.gs1.org` (URI Syntax 4.12).
    pub fn to_canonical_uri(&self) -> String {
        self.to_uri(CANONICAL_STEM)
    }

    /// Just the path and query: `/01/{gtin14}[/22/…][/10/…][/21/…]` or `/01/{gtin14}/235/…`,
    /// then `?AI=value&…` sorted by AI; values minimally percent-encoded.
    pub fn path(&self) -> String {
        let mut path = String::with_capacity(40);
        self.write_path(&mut path);
        path
    }

    fn write_path(&self, out: &mut String) {
        out.push_str("/01/");
        out.push_str(self.gtin.as_str());
        for (ai, value) in self.qualifiers() {
            out.push('/');
            out.push_str(ai);
            out.push('/');
            percent::encode_into(out, value);
        }
        for (i, (ai, value)) in self.attributes.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(ai);
            out.push('=');
            percent::encode_into(out, value);
        }
    }

    /// Parses a full GS1 Digital Link URI (`http(s)://host[/stem…]/01/…`).
    ///
    /// # Errors
    /// A [`DlError`] naming the part that is wrong.
    pub fn parse(uri: &str, mode: ParseMode) -> Result<ParsedDigitalLink, DlError> {
        check_uri_characters(uri)?;
        let (scheme, rest) = if let Some(rest) = uri.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = uri.strip_prefix("http://") {
            ("http", rest)
        } else if let Some(rest) = uri.strip_prefix("HTTPS://") {
            ("https", rest)
        } else if let Some(rest) = uri.strip_prefix("HTTP://") {
            ("http", rest)
        } else {
            return Err(DlError::InvalidScheme);
        };
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (host, target) = rest.split_at(host_end);
        if host.is_empty()
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        {
            return Err(DlError::InvalidHost { host: host.to_owned() });
        }
        if !target.starts_with('/') {
            return Err(DlError::MissingPath);
        }
        let mut parsed = parse_target(target, mode)?;
        parsed.stem = format!("{scheme}://{host}{}", parsed.stem);
        Ok(parsed)
    }

    /// Parses a request target (path and query, no scheme or host), as the resolver receives
    /// it: e.g. `/01/09506000134352/10/ABC?17=261231&linkType=gs1:pip`. Pass the raw target,
    /// before any percent-decoding, so that `%2F` inside a value stays inside the value.
    ///
    /// # Errors
    /// A [`DlError`] naming the part that is wrong.
    pub fn parse_path(path_and_query: &str, mode: ParseMode) -> Result<ParsedDigitalLink, DlError> {
        check_uri_characters(path_and_query)?;
        if !path_and_query.starts_with('/') {
            return Err(DlError::NotAbsolutePath);
        }
        parse_target(path_and_query, mode)
    }
}

#[cfg(feature = "record-uris")]
mod record {
    //! Test-only recording of built URIs (feature `record-uris`; docs/spec.md §1 "Build" is checked
    //! against GS1's digital-link.js by `tests/external/digital-link/check-uris.js`). The
    //! crate's only I/O, compiled out without the feature.

    use std::io::Write as _;

    /// Environment variable naming the file URIs are appended to.
    const VAR: &str = "PRODLINK_DL_URI_LOG";

    /// Appends `uri` and a newline to the file named by `PRODLINK_DL_URI_LOG`, if set.
    ///
    /// One `write` call per line on a file opened for append, so concurrent test processes
    /// and threads do not interleave. Failures are ignored: the checker's minimum-count guard
    /// catches a recorder that silently wrote nothing.
    pub(super) fn record(uri: &str) {
        let Some(path) = std::env::var_os(VAR) else {
            return;
        };
        let mut line = String::with_capacity(uri.len() + 1);
        line.push_str(uri);
        line.push('\n');
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests;
