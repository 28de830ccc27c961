//! Parsing a Digital Link URI or resolver path: the characters a URI may hold, percent
//! decoding, the path's primary key and qualifiers, the query's attributes, and how lenient the
//! parse was ([`ParseMode`], [`Leniency`], [`ParsedDigitalLink`]).

use crate::gtin::{Gtin14, GtinError};

use super::ai::{BATCH, CPV, PathShape, QUALIFIER_MAX, SERIAL, TPX, TPX_MAX, label};
use super::*;

/// Refuses characters that may not appear raw in a URI (GS1 syntax engine's first check).
pub(super) fn check_uri_characters(s: &str) -> Result<(), DlError> {
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
pub(super) fn parse_target(target: &str, mode: ParseMode) -> Result<ParsedDigitalLink, DlError> {
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
    pub(super) link: DigitalLink,
    pub(super) stem: String,
    pub(super) other_params: Vec<(String, String)>,
    pub(super) leniency: Leniency,
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
