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
mod percent;

use std::collections::BTreeMap;
use std::fmt;

use crate::gtin::{Gtin14, GtinError};

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

/// Refuses characters that may not appear raw in a URI (GS1 syntax engine's first check).
fn check_uri_characters(s: &str) -> Result<(), DlError> {
    match s.chars().enumerate().find(|&(_, c)| !(c.is_ascii() && percent::is_uri_char(c as u8))) {
        Some((i, ch)) => Err(DlError::IllegalCharacter { ch, position: i + 1 }),
        None => Ok(()),
    }
}

/// Decodes a component; `what` names it in errors.
fn decode(
    raw: &str,
    plus_as_space: bool,
    what: impl FnOnce() -> String,
) -> Result<Vec<u8>, DlError> {
    percent::decode(raw, plus_as_space).map_err(|e| match e {
        percent::DecodeError::Malformed(escape) => {
            DlError::BadPercentEncoding { field: what(), escape }
        }
        percent::DecodeError::Nul => DlError::NulCharacter { field: what() },
    })
}

/// Decodes an AI value; invalid UTF-8 becomes U+FFFD, which the CSET 82 check then reports.
fn decode_value(raw: &str, plus_as_space: bool, ai: &str) -> Result<String, DlError> {
    let bytes = decode(raw, plus_as_space, || label(ai))?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Decodes a non-AI query component, which must be UTF-8.
fn decode_text(raw: &str, what: impl Fn() -> String) -> Result<String, DlError> {
    let bytes = decode(raw, true, &what)?;
    String::from_utf8(bytes).map_err(|_| DlError::InvalidUtf8 { field: what() })
}

/// Rank of a GTIN path qualifier in the fixed order 22 → 10 → 21 (235 stands alone).
fn qualifier_rank(ai: &str) -> Option<u8> {
    match ai {
        CPV => Some(1),
        BATCH => Some(2),
        SERIAL => Some(3),
        TPX => Some(4),
        _ => None,
    }
}

/// Parses `/…[?…][#…]` (already checked for URI characters and a leading `/`).
fn parse_target(target: &str, mode: ParseMode) -> Result<ParsedDigitalLink, DlError> {
    // A fragment is not sent to servers and carries no GS1 meaning: ignore it.
    let target = target.split_once('#').map_or(target, |(t, _)| t);
    let (mut path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut leniency = Leniency::default();
    if path.len() > 1 && path.ends_with('/') {
        // DL syntax forbids it; Resolver 2.13 says resolvers SHOULD tolerate it.
        match mode {
            ParseMode::Strict => return Err(DlError::TrailingSlash),
            ParseMode::Lenient => {
                path = &path[..path.len() - 1];
                leniency.trailing_slash = true;
            }
        }
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    let n = segments.len();

    // Find the primary key from the right, stepping over `/AI/value` pairs.
    let pk = (0..n.saturating_sub(1)).rev().step_by(2).find(|&i| ai::is_primary_key(segments[i]));
    let Some(pk) = pk else {
        // Perhaps the DL part has an odd number of segments: a value or an AI is missing.
        let odd = (0..n).rev().step_by(2).find(|&i| ai::is_primary_key(segments[i]));
        let Some(odd) = odd else {
            return Err(DlError::NoPrimaryKey);
        };
        let last = segments[n - 1];
        return Err(if segments[odd..].iter().any(|s| s.is_empty()) {
            DlError::EmptySegment
        } else if last.bytes().all(|b| b.is_ascii_digit()) {
            DlError::MissingValue { ai: last.to_owned() }
        } else {
            DlError::UnexpectedSegment { segment: ai::show(last) }
        });
    };
    if segments[pk] != ai::GTIN {
        return Err(DlError::UnsupportedPrimaryKey { ai: segments[pk].to_owned() });
    }
    let stem: String = segments[..pk].iter().flat_map(|s| ["/", s]).collect();
    let dl = &segments[pk..];
    if dl.iter().any(|s| s.is_empty()) {
        return Err(DlError::EmptySegment);
    }

    // The GTIN: digits only; exactly 14 in strict mode, 8/12/13 padded in lenient mode.
    let digits = decode_value(dl[1], false, ai::GTIN)?;
    if let Some((i, ch)) = digits.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(DlError::Gtin(GtinError::NonDigit { ch, position: i + 1 }));
    }
    if digits.len() != 14 {
        match mode {
            ParseMode::Strict => return Err(DlError::GtinNot14Digits { len: digits.len() }),
            ParseMode::Lenient => leniency.padded_gtin_digits = Some(digits.len()),
        }
    }
    let gtin = Gtin14::parse(&digits).map_err(DlError::Gtin)?;

    // Qualifiers: 22 → 10 → 21, or 235 alone; no duplicates.
    let mut link = DigitalLink::new(gtin);
    let mut last: Option<&str> = None;
    for pair in dl[2..].chunks(2) {
        let (code, raw) = (pair[0], pair[1]);
        let Some(rank) = qualifier_rank(code) else {
            return Err(if ai::is_data_attribute(code) {
                DlError::AttributeInPath { ai: code.to_owned() }
            } else if code.bytes().all(|b| b.is_ascii_digit()) {
                DlError::NotAQualifier { ai: code.to_owned() }
            } else {
                DlError::UnexpectedSegment { segment: ai::show(code) }
            });
        };
        if link.qualifiers().any(|(q, _)| q == code) {
            return Err(DlError::DuplicateAi { ai: code.to_owned() });
        }
        if let Some(prev) = last {
            if code == TPX || prev == TPX {
                let other = if code == TPX { prev } else { code };
                return Err(DlError::TpxWithQualifier { other: other.to_owned() });
            }
            if qualifier_rank(prev).is_some_and(|p| p > rank) {
                return Err(DlError::QualifierOrder {
                    ai: code.to_owned(),
                    after: prev.to_owned(),
                });
            }
        }
        let value = decode_value(raw, false, code)?;
        ai::check_cset82(code, &value, if code == TPX { TPX_MAX } else { QUALIFIER_MAX })?;
        let slot = match code {
            CPV => &mut link.cpv,
            BATCH => &mut link.batch,
            SERIAL => &mut link.serial,
            _ => &mut link.tpx,
        };
        *slot = Some(value);
        last = Some(code);
    }

    // Query: numeric keys are AIs (data attributes); others are kept for the caller.
    let shape = PathShape {
        cpv: link.cpv.is_some(),
        batch: link.batch.is_some(),
        serial: link.serial.is_some(),
        tpx: link.tpx.is_some(),
    };
    let mut other_params = Vec::new();
    for part in query.unwrap_or("").split('&') {
        let Some((raw_key, raw_value)) = part.split_once('=') else {
            continue; // empty pair or singleton: ignored, as GS1's engine does
        };
        let key = decode_text(raw_key, || "a query parameter name".to_owned())?;
        if key.is_empty() {
            continue;
        }
        if key.bytes().all(|b| b.is_ascii_digit()) {
            let value = decode_value(raw_value, true, &key)?;
            insert_attribute(&mut link.attributes, key, value, shape)?;
        } else {
            let value = decode_text(raw_value, || format!("query parameter {key:?}"))?;
            other_params.push((key, value));
        }
    }
    check_measure_conflicts(&link.attributes)?;

    Ok(ParsedDigitalLink { link, stem, other_params, leniency })
}

/// How forgiving [`DigitalLink::parse`] and [`DigitalLink::parse_path`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ParseMode {
    /// DL URI Syntax as written: exactly 14 GTIN digits (4.1), no trailing slash. For
    /// validators, which report legacy forms as invalid.
    #[default]
    Strict,
    /// For the resolver: one trailing slash is removed (Resolver 2.13) and GTIN-8/12/13 are
    /// padded to 14 (the legacy zero-suppressed form existing infrastructure should accept).
    Lenient,
}

/// What [`ParseMode::Lenient`] had to forgive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Leniency {
    /// A trailing slash was removed.
    pub trailing_slash: bool,
    /// The GTIN had this many digits (8, 12 or 13) and was padded to 14.
    pub padded_gtin_digits: Option<usize>,
}

impl Leniency {
    /// Whether anything was forgiven (the URI is not valid in strict mode).
    pub fn applied(&self) -> bool {
        self.trailing_slash || self.padded_gtin_digits.is_some()
    }
}

/// The result of parsing: the link plus what surrounded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDigitalLink {
    link: DigitalLink,
    stem: String,
    other_params: Vec<(String, String)>,
    leniency: Leniency,
}

impl ParsedDigitalLink {
    /// The Digital Link.
    pub fn link(&self) -> &DigitalLink {
        &self.link
    }

    /// The Digital Link, by value.
    pub fn into_link(self) -> DigitalLink {
        self.link
    }

    /// Everything before `/01/`: `scheme://host[:port][/stem…]` for a full URI (scheme in
    /// lowercase), or the stem path (`""` or `/stem…`) for [`DigitalLink::parse_path`].
    /// `link().to_uri(stem())` rebuilds the canonical form of the parsed URI.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Query parameters whose names are not all digits (`linkType`, `context`, …), decoded
    /// (`+` as space), in request order, duplicates kept.
    pub fn other_params(&self) -> &[(String, String)] {
        &self.other_params
    }

    /// The first value of a non-AI query parameter, by exact name.
    pub fn other_param(&self, name: &str) -> Option<&str> {
        self.other_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// What lenient parsing forgave.
    pub fn leniency(&self) -> Leniency {
        self.leniency
    }

    /// Whether lenient parsing forgave anything (the input is not strictly valid).
    pub fn leniency_applied(&self) -> bool {
        self.leniency.applied()
    }
}

/// Why a Digital Link could not be built or parsed. `Display` names the AI or the part of the
/// URI and says what is allowed; messages are written for end users.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DlError {
    /// The URI does not start with `http://` or `https://` (or all-capital `HTTP(S)://`).
    InvalidScheme,
    /// The host is empty or has characters a host name cannot have.
    InvalidHost {
        /// The host as given.
        host: String,
    },
    /// A full URI with nothing after the host.
    MissingPath,
    /// A request target that does not start with `/`.
    NotAbsolutePath,
    /// A character that may not appear raw in a URI.
    IllegalCharacter {
        /// The character.
        ch: char,
        /// Its 1-based position in the input.
        position: usize,
    },
    /// A `%` not followed by two hex digits.
    BadPercentEncoding {
        /// The part of the URI, e.g. `AI 10 (batch/lot)`.
        field: String,
        /// The malformed escape.
        escape: String,
    },
    /// `%00`.
    NulCharacter {
        /// The part of the URI.
        field: String,
    },
    /// Percent-encoded bytes of a non-AI query parameter are not UTF-8.
    InvalidUtf8 {
        /// The part of the URI.
        field: String,
    },
    /// Strict mode: the path ends with `/`.
    TrailingSlash,
    /// An empty path segment (`//`) after the primary key.
    EmptySegment,
    /// No `/01/{gtin}` (or other primary key) in the path.
    NoPrimaryKey,
    /// A GS1 primary key other than the GTIN (01).
    UnsupportedPrimaryKey {
        /// The primary key AI.
        ai: String,
    },
    /// The path ends with an AI that has no value.
    MissingValue {
        /// The AI.
        ai: String,
    },
    /// A path segment after the GTIN that is not a GS1 AI.
    UnexpectedSegment {
        /// The segment, quoted (and shortened if long).
        segment: String,
    },
    /// A numeric AI in the path that is not a GTIN qualifier.
    NotAQualifier {
        /// The AI.
        ai: String,
    },
    /// A data attribute AI (e.g. 17) in the path.
    AttributeInPath {
        /// The AI.
        ai: String,
    },
    /// Qualifiers out of the order 22 → 10 → 21.
    QualifierOrder {
        /// The qualifier that came too late.
        ai: String,
        /// The qualifier it followed.
        after: String,
    },
    /// 235 together with 22, 10 or 21 in the path.
    TpxWithQualifier {
        /// The other qualifier.
        other: String,
    },
    /// An AI given twice (including 01 or a path qualifier repeated in the query).
    DuplicateAi {
        /// The AI.
        ai: String,
    },
    /// A qualifier (22, 10, 21, 235) given as a query parameter.
    AttributeBelongsInPath {
        /// The AI.
        ai: String,
    },
    /// A data attribute that GS1 does not allow with a GTIN (12, due date, requires 8020).
    AttributeNotWithGtin {
        /// The AI.
        ai: String,
    },
    /// A numeric query key that is not a supported data attribute.
    UnsupportedAttribute {
        /// The AI.
        ai: String,
    },
    /// A builder attribute key that is not a numeric AI.
    InvalidAttributeKey {
        /// The key.
        key: String,
    },
    /// Two decimal variants of the same measure (e.g. 3102 and 3103).
    ConflictingAttributes {
        /// The later AI.
        ai: String,
        /// The AI it conflicts with.
        other: String,
    },
    /// An empty value.
    EmptyValue {
        /// The AI.
        ai: String,
    },
    /// A value longer than the AI allows.
    TooLong {
        /// The AI.
        ai: String,
        /// The most characters allowed.
        max: usize,
        /// Characters given.
        len: usize,
    },
    /// A character outside GS1 CSET 82 in a qualifier value.
    InvalidCharacter {
        /// The AI.
        ai: String,
        /// The character (after percent-decoding).
        ch: char,
        /// Its 1-based position in the decoded value.
        position: usize,
    },
    /// A data attribute value with the wrong format.
    InvalidAttribute {
        /// The AI.
        ai: String,
        /// What is wrong, e.g. `has month 13; months are 01–12`.
        reason: String,
    },
    /// Strict mode: the GTIN in the path is not 14 digits.
    GtinNot14Digits {
        /// Digits given.
        len: usize,
    },
    /// The GTIN is not valid (non-digit, length, check digit, all zeros).
    Gtin(GtinError),
}

impl DlError {
    /// The Application Identifier the error is about (`"10"`, `"21"`, …), when it concerns one.
    pub fn ai(&self) -> Option<&str> {
        match self {
            Self::UnsupportedPrimaryKey { ai, .. }
            | Self::MissingValue { ai, .. }
            | Self::NotAQualifier { ai, .. }
            | Self::AttributeInPath { ai, .. }
            | Self::QualifierOrder { ai, .. }
            | Self::DuplicateAi { ai, .. }
            | Self::AttributeBelongsInPath { ai, .. }
            | Self::AttributeNotWithGtin { ai, .. }
            | Self::UnsupportedAttribute { ai, .. }
            | Self::ConflictingAttributes { ai, .. }
            | Self::EmptyValue { ai, .. }
            | Self::TooLong { ai, .. }
            | Self::InvalidCharacter { ai, .. }
            | Self::InvalidAttribute { ai, .. } => Some(ai),
            _ => None,
        }
    }
}

impl fmt::Display for DlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidScheme => {
                f.write_str("a GS1 Digital Link URI must start with http:// or https://")
            }
            Self::InvalidHost { host } => write!(
                f,
                "URI host {host:?} is not valid: it must be a non-empty host name or address \
                 (letters, digits, '-', '.', and ':' before a port)"
            ),
            Self::MissingPath => {
                f.write_str("URI has no path; a GS1 Digital Link needs /01/{14-digit GTIN}")
            }
            Self::NotAbsolutePath => f.write_str("request path must start with '/'"),
            Self::IllegalCharacter { ch, position } => write!(
                f,
                "character {ch:?} at position {position} is not allowed in a URI; \
                 it must be percent-encoded"
            ),
            Self::BadPercentEncoding { field, escape } => write!(
                f,
                "malformed percent-encoding {escape:?} in {field}: '%' must be followed by \
                 two hexadecimal digits"
            ),
            Self::NulCharacter { field } => write!(f, "{field} contains %00, which is not allowed"),
            Self::InvalidUtf8 { field } => {
                write!(f, "{field} contains percent-encoded bytes that are not valid UTF-8")
            }
            Self::TrailingSlash => f.write_str(
                "a GS1 Digital Link URI must not end with '/' (remove the trailing slash)",
            ),
            Self::EmptySegment => f.write_str(
                "empty path segment ('//') in the Digital Link path; every AI needs a value",
            ),
            Self::NoPrimaryKey => {
                f.write_str("no GS1 primary key found in the path; expected /01/{14-digit GTIN}")
            }
            Self::UnsupportedPrimaryKey { ai } => write!(
                f,
                "primary key {} is not supported: prodlink only serves GTINs (/01/{{gtin}})",
                label(ai)
            ),
            Self::MissingValue { ai } => write!(f, "{} has no value in the path", label(ai)),
            Self::UnexpectedSegment { segment } => write!(
                f,
                "path segment {segment} after the GTIN is not a GS1 AI; after /01/{{gtin}} the \
                 path may only hold 22, 10, 21 (in that order) or 235"
            ),
            Self::NotAQualifier { ai } => write!(
                f,
                "{} cannot qualify a GTIN in the path; after /01/{{gtin}} the path may only hold \
                 22, 10, 21 (in that order) or 235",
                label(ai)
            ),
            Self::AttributeInPath { ai } => write!(
                f,
                "{} is a data attribute: put it in the query (?{ai}=…), not in the path",
                label(ai)
            ),
            Self::QualifierOrder { ai, after } => write!(
                f,
                "{} must not come after {}: GTIN qualifiers go in the order 22, 10, 21",
                label(ai),
                label(after)
            ),
            Self::TpxWithQualifier { other } => write!(
                f,
                "{} cannot be combined with {} in the path: a GTIN takes 22, 10, 21 or 235 alone",
                label(TPX),
                label(other)
            ),
            Self::DuplicateAi { ai } => write!(f, "{} appears more than once", label(ai)),
            Self::AttributeBelongsInPath { ai } => {
                write!(f, "{} belongs in the path (/{ai}/…), not in the query string", label(ai))
            }
            Self::AttributeNotWithGtin { ai } => write!(
                f,
                "{} cannot be used with a GTIN: GS1 allows it only with a payment slip \
                 reference (AI 8020)",
                label(ai)
            ),
            Self::UnsupportedAttribute { ai } => write!(
                f,
                "{} is not a supported data attribute; supported: {}",
                label(ai),
                ai::SUPPORTED_ATTRIBUTES
            ),
            Self::InvalidAttributeKey { key } => write!(
                f,
                "data attribute key {} is not a GS1 AI: keys must be digits, e.g. \"17\"",
                ai::show(key)
            ),
            Self::ConflictingAttributes { ai, other } => write!(
                f,
                "{} conflicts with {}: give each measure once, with one decimal position",
                label(ai),
                label(other)
            ),
            Self::EmptyValue { ai } => write!(f, "{} is empty; it needs a value", label(ai)),
            Self::TooLong { ai, max, len } => {
                write!(f, "{} is {len} characters long; at most {max} are allowed", label(ai))
            }
            Self::InvalidCharacter { ai, ch, position } => write!(
                f,
                "{} contains {ch:?} at position {position}, which is not in GS1's 82-character \
                 set (letters, digits and !\"%&'()*+,-./:;<=>?_)",
                label(ai)
            ),
            Self::InvalidAttribute { ai, reason } => write!(f, "{} {reason}", label(ai)),
            Self::GtinNot14Digits { len } => write!(
                f,
                "{} in a Digital Link URI must be exactly 14 digits (pad a GTIN-8, -12 or -13 \
                 with leading zeros); got {len}",
                label(ai::GTIN)
            ),
            Self::Gtin(GtinError::NonDigit { ch, position }) => write!(
                f,
                "{} must contain only digits; found {ch:?} at position {position}",
                label(ai::GTIN)
            ),
            Self::Gtin(e) => write!(f, "{}: {e}", label(ai::GTIN)),
        }
    }
}

impl std::error::Error for DlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Gtin(e) => Some(e),
            _ => None,
        }
    }
}

impl From<GtinError> for DlError {
    fn from(e: GtinError) -> Self {
        Self::Gtin(e)
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
