//! Why a Digital Link could not be built or parsed ([`DlError`]), with messages for end users.

use std::fmt;

use crate::gtin::GtinError;

use super::*;

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
