//! GTIN parsing, validation and normalization to GTIN-14 (docs/spec.md §1 "GTIN"; GS1 General
//! Specifications 7.9.1 check digit, 2.1.11–2.1.12 restricted circulation numbers).
//!
//! Owns [`Gtin14`], the only way a GTIN enters the rest of prodlink: every constructor validates,
//! so holding a `Gtin14` proves the number is well formed. Also owns [`check_digit`] (GS1 mod-10
//! for any key length), [`validate`] (the report behind the `validate_gtin` tool) and the
//! restricted-circulation classification ([`RestrictedCirculation`]).
//!
//! Input rules (docs/spec.md §1):
//! - surrounding whitespace is trimmed; every space (`' '`) and hyphen (`'-'`) left inside is a
//!   visual separator and is dropped; any other character is an error;
//! - 8, 12, 13 or 14 digits, correct check digit, not all zeros;
//! - the result is left-padded with zeros to 14 digits.
//!
//! [`Gtin14::parse`] does not allocate, on success or on failure: it runs for every row of an
//! import.

use std::fmt;
use std::str::FromStr;

/// Lengths a GTIN may have, in digits.
pub const ALLOWED_LENGTHS: [usize; 4] = [8, 12, 13, 14];

/// A valid GTIN, normalized to 14 ASCII digits (GTIN-8/12/13 are left-padded with zeros).
///
/// Construct it with [`Gtin14::parse`] (or [`FromStr`], `TryFrom<&str>`, serde); there is no
/// unchecked constructor. Ordering is the numeric order of the 14-digit form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin14([u8; 14]);

/// Why a string is not a valid GTIN. The `Display` text is written for end users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GtinError {
    /// Nothing is left after trimming whitespace and dropping spaces and hyphens.
    Empty,
    /// A character that is not a digit (and not a space or hyphen separator).
    NonDigit {
        /// The first offending character.
        ch: char,
        /// Its 1-based position, counted in characters of the input exactly as given
        /// (leading whitespace and separators included).
        position: usize,
    },
    /// The number of digits is not 8, 12, 13 or 14.
    BadLength {
        /// How many digits were given (after dropping separators).
        len: usize,
    },
    /// The last digit is not the GS1 mod-10 check digit of the others.
    BadCheckDigit {
        /// The check digit the other digits call for.
        expected: u8,
        /// The check digit that was given.
        found: u8,
    },
    /// Every digit is zero: arithmetically valid, but a placeholder, never a real GTIN.
    AllZeros,
}

impl fmt::Display for GtinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => f.write_str("GTIN is empty: no digits were given"),
            Self::NonDigit { ch, position } => write!(
                f,
                "GTIN contains the non-digit character {ch:?} at position {position}; \
                 only digits are allowed (spaces and hyphens between digits are ignored)"
            ),
            Self::BadLength { len } => write!(
                f,
                "GTIN has {len} digit{s}, but a GTIN must have 8, 12, 13 or 14 digits",
                s = if len == 1 { "" } else { "s" }
            ),
            Self::BadCheckDigit { expected, found } => {
                write!(f, "GTIN check digit is wrong: expected {expected}, found {found}")
            }
            Self::AllZeros => f.write_str("GTIN is all zeros, which is not a real GTIN"),
        }
    }
}

impl std::error::Error for GtinError {}

/// Is `c` a visual separator that GTIN input may contain between digits?
const fn is_separator(c: char) -> bool {
    c == ' ' || c == '-'
}

impl Gtin14 {
    /// Parses a GTIN-8, GTIN-12, GTIN-13 or GTIN-14 and normalizes it to 14 digits.
    ///
    /// Surrounding whitespace is trimmed and spaces/hyphens inside are dropped, so
    /// `" 0614 1412-3452 "` gives `00614141234520`… only if its check digit is right; see the
    /// module docs for the full rules. Errors report the first problem in this order: empty,
    /// non-digit, length, all zeros, check digit. Never allocates.
    pub fn parse(input: &str) -> Result<Self, GtinError> {
        let trimmed = input.trim();
        let mut buf = [b'0'; 14];
        let mut len = 0usize;
        for (i, ch) in trimmed.chars().enumerate() {
            if is_separator(ch) {
                continue;
            }
            if !ch.is_ascii_digit() {
                // Error path only: count the characters trimmed off the front.
                let lead = input[..input.len() - input.trim_start().len()].chars().count();
                return Err(GtinError::NonDigit { ch, position: lead + i + 1 });
            }
            if len < buf.len() {
                // `ch` is an ASCII digit, so this cast is lossless.
                buf[len] = ch as u8;
            }
            len += 1;
        }
        if len == 0 {
            return Err(GtinError::Empty);
        }
        if !ALLOWED_LENGTHS.contains(&len) {
            return Err(GtinError::BadLength { len });
        }
        // Right-align the digits: left-pad with zeros to 14.
        buf.copy_within(0..len, 14 - len);
        buf[..14 - len].fill(b'0');
        if buf.iter().all(|&b| b == b'0') {
            return Err(GtinError::AllZeros);
        }
        let expected = mod10(&buf[..13]);
        let found = buf[13] - b'0';
        if expected != found {
            return Err(GtinError::BadCheckDigit { expected, found });
        }
        Ok(Self(buf))
    }

    /// The 14 digits, e.g. `"00614141123452"`.
    pub fn as_str(&self) -> &str {
        // Invariant: `self.0` holds ASCII digits only (checked by `parse`), so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The number in its shortest GTIN form, following biip's rule (the open-source GS1 parser):
    /// at most 8 significant digits → GTIN-8 (all 8 digits, with their own leading zeros);
    /// 9–12 → GTIN-12; otherwise the GTIN-13 or GTIN-14 without leading zeros.
    pub fn short_form(&self) -> &str {
        let s = self.as_str();
        let significant = 14 - self.0.iter().take_while(|&&b| b == b'0').count();
        let len = match significant {
            0..=8 => 8,
            9..=12 => 12,
            n => n,
        };
        &s[14 - len..]
    }

    /// The check digit (the last digit), as a number 0–9.
    pub fn check_digit(&self) -> u8 {
        self.0[13] - b'0'
    }

    /// Whether this is a restricted circulation number (RCN): a valid GTIN that is only unique
    /// within a geographic region or within one company, not globally.
    ///
    /// Classification by the [`short_form`](Self::short_form) (GenSpecs 2.1.11–2.1.12, biip
    /// `rcn.py`, GS1-8 prefix table):
    /// - GTIN-8: first digit `0` or `2` → [`RestrictedCirculation::Company`] (RCN-8; the GS1-8
    ///   prefixes 000–099 and 200–299);
    /// - GTIN-12: first digit `2` → geographic, `4` → company (GS1 prefixes 020–029 and 040–049
    ///   in the GTIN-13 view, i.e. GTIN-13 prefixes `02` and `04`);
    /// - GTIN-13: GS1 prefixes 200–299 (first digit `2`) → geographic;
    /// - GTIN-14: never (there is no RCN-14).
    ///
    /// The GTIN-13 prefixes 400–499 are *not* RCNs: 400–440 belong to GS1 Germany, 450–499 to
    /// other Member Organisations (biip's prefix table). The company range is the three-digit
    /// GS1 prefix 040–049 (the usual note "RCN-13 prefix 04 or 40–49" reads those three digits
    /// without the leading zero). GTIN-13s whose GTIN-13 view starts with
    /// `0000000` (company RCNs) have at most 6 significant digits, so they land in the GTIN-8
    /// branch with first digit `0`.
    pub fn restricted_circulation(&self) -> Option<RestrictedCirculation> {
        let short = self.short_form().as_bytes();
        match (short.len(), short.first()) {
            (8, Some(b'0' | b'2')) | (12, Some(b'4')) => Some(RestrictedCirculation::Company),
            (12 | 13, Some(b'2')) => Some(RestrictedCirculation::Geographic),
            _ => None,
        }
    }
}

/// GS1 mod-10 over ASCII digits (caller guarantees they are digits).
fn mod10(data: &[u8]) -> u8 {
    let sum: u32 = data
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // `sum % 10` is below 10, so the result fits in a u8.
    ((10 - sum % 10) % 10) as u8
}

/// Computes the GS1 mod-10 check digit of `data_digits` (GenSpecs 7.9.1): weights 3, 1, 3, 1, …
/// starting from the **rightmost** data digit; check digit = (10 − sum mod 10) mod 10.
///
/// Works for every GS1 key length: pass the digits *without* the check digit (13 for a GTIN-14,
/// 7 for a GTIN-8, 17 for an SSCC). No separators are accepted here.
///
/// # Errors
/// [`GtinError::Empty`] for an empty string, [`GtinError::NonDigit`] (1-based position within
/// `data_digits`) for anything that is not an ASCII digit.
pub fn check_digit(data_digits: &str) -> Result<u8, GtinError> {
    if data_digits.is_empty() {
        return Err(GtinError::Empty);
    }
    if let Some((i, ch)) = data_digits.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(GtinError::NonDigit { ch, position: i + 1 });
    }
    Ok(mod10(data_digits.as_bytes()))
}

/// The kind of restricted circulation number (RCN), see [`Gtin14::restricted_circulation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestrictedCirculation {
    /// Assigned by a GS1 Member Organisation for use within a geographic region, often a
    /// variable-measure item with the price or weight embedded (GTIN-13 prefixes 02, 20–29).
    Geographic,
    /// For use within one company, e.g. a store's own items (GS1 prefixes 040–049, i.e. GTIN-13
    /// prefix 04 / GTIN-12 prefix 4; RCN-8 with GS1-8 prefix 0 or 2).
    Company,
}

impl RestrictedCirculation {
    /// The user-facing warning that [`validate`] reports for such a number.
    pub fn warning(self) -> String {
        format!("{self}: a valid GTIN, but not globally unique")
    }
}

impl fmt::Display for RestrictedCirculation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Geographic => {
                "restricted circulation number for use within a geographic region \
                 (often a variable-measure item with the price or weight embedded)"
            }
            Self::Company => "restricted circulation number for use within a single company",
        })
    }
}

/// The outcome of [`validate`]: everything the `validate_gtin` tool reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtinValidation {
    /// Whether the input is a valid GTIN (restricted-circulation numbers are valid).
    pub valid: bool,
    /// Why it is not valid; `None` when valid.
    pub error: Option<GtinError>,
    /// The GTIN-14 when valid.
    pub normalized: Option<Gtin14>,
    /// How many characters the caller sent after trimming and dropping spaces and hyphens,
    /// e.g. `"614141123452"` → 12 (for invalid input this counts non-digits too).
    pub length: usize,
    /// Set for valid numbers that are not globally unique (restricted circulation numbers).
    pub warning: Option<String>,
}

/// Validates `input` as a GTIN and reports the outcome without failing (docs/spec.md §1,
/// `validate_gtin`).
pub fn validate(input: &str) -> GtinValidation {
    let length = input.trim().chars().filter(|&c| !is_separator(c)).count();
    match Gtin14::parse(input) {
        Ok(gtin) => GtinValidation {
            valid: true,
            error: None,
            normalized: Some(gtin),
            length,
            warning: gtin.restricted_circulation().map(RestrictedCirculation::warning),
        },
        Err(e) => {
            GtinValidation { valid: false, error: Some(e), normalized: None, length, warning: None }
        }
    }
}

impl fmt::Display for Gtin14 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Gtin14 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin14({})", self.as_str())
    }
}

impl FromStr for Gtin14 {
    type Err = GtinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Gtin14 {
    type Error = GtinError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl AsRef<str> for Gtin14 {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for Gtin14 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Gtin14 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Gtin14;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a GTIN-8, GTIN-12, GTIN-13 or GTIN-14 as a string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Gtin14, E> {
                Gtin14::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests;
