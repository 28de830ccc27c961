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
mod tests {
    //! GTIN vectors (GS1's published examples and edge cases) and the docs/spec.md §1 error messages.

    use super::*;

    fn ok(s: &str) -> Gtin14 {
        Gtin14::parse(s).unwrap_or_else(|e| panic!("{s:?} should be valid: {e}"))
    }

    #[test]
    fn reference_vectors_are_valid_and_normalize_to_14() {
        // Valid GTINs of every length (GS1's published examples among them).
        let cases: &[(&str, &str)] = &[
            ("09506000134352", "09506000134352"),
            ("95012345678903", "95012345678903"),
            ("09520123456788", "09520123456788"),
            ("9506000134352", "09506000134352"),
            ("9780345418913", "09780345418913"),
            ("4012345000009", "04012345000009"),
            ("2112345678900", "02112345678900"),
            ("614141000036", "00614141000036"),
            ("036000291452", "00036000291452"),
            ("416000336108", "00416000336108"),
            ("95012346", "00000095012346"),
            ("96385074", "00000096385074"),
            ("40123455", "00000040123455"),
            ("02345673", "00000002345673"),
            ("614141123452", "00614141123452"),
        ];
        for &(input, want) in cases {
            let g = ok(input);
            assert_eq!(g.as_str(), want, "{input}");
            assert_eq!(g.to_string(), want);
            // Re-validating the normalized form gives the same value.
            assert_eq!(ok(g.as_str()), g);
        }
    }

    #[test]
    fn sscc_check_digit() {
        // SSCC 106141411234567897: 17 data digits, check digit 7.
        assert_eq!(check_digit("10614141123456789"), Ok(7));
        assert_eq!(check_digit("0950600013435"), Ok(2));
        assert_eq!(check_digit("9501234"), Ok(6));
        assert_eq!(check_digit(""), Err(GtinError::Empty));
        assert_eq!(check_digit("12a4"), Err(GtinError::NonDigit { ch: 'a', position: 3 }));
        assert_eq!(check_digit("0000000000000"), Ok(0));
    }

    #[test]
    fn invalid_reference_vector() {
        assert_eq!(
            Gtin14::parse("09506000134353"),
            Err(GtinError::BadCheckDigit { expected: 2, found: 3 })
        );
    }

    #[test]
    fn all_zeros_rejected_for_every_length() {
        for s in ["00000000", "000000000000", "0000000000000", "00000000000000", "0000 0000"] {
            assert_eq!(Gtin14::parse(s), Err(GtinError::AllZeros), "{s}");
        }
    }

    #[test]
    fn separators_and_whitespace() {
        assert_eq!(ok(" 6141 4112-3452 "), ok("614141123452"));
        assert_eq!(ok(" 0614 1411-2345 2 "), ok("614141123452"));
        // The separator example of the brief: the separators go, then the digits
        // 061414123452 fail on their check digit (it would be 7).
        assert_eq!(
            Gtin14::parse(" 0614 1412-3452 "),
            Err(GtinError::BadCheckDigit { expected: 7, found: 2 })
        );
        assert_eq!(ok("\t9506000-134352\n"), ok("9506000134352"));
        assert_eq!(ok("0-9-5-0-6-0-0-0-1-3-4-3-5-2").as_str(), "09506000134352");
        // Separators at the edges are still "inside" once whitespace is trimmed: dropped.
        assert_eq!(ok("-95012346-"), ok("95012346"));
        // Other whitespace inside is not a separator.
        assert_eq!(Gtin14::parse("9501\t2346"), Err(GtinError::NonDigit { ch: '\t', position: 5 }));
        assert_eq!(Gtin14::parse(" - - "), Err(GtinError::Empty));
    }

    #[test]
    fn non_digit_position_counts_the_input_as_given() {
        assert_eq!(Gtin14::parse("12x4"), Err(GtinError::NonDigit { ch: 'x', position: 3 }));
        // Leading whitespace and separators count.
        assert_eq!(Gtin14::parse("  1-2x4"), Err(GtinError::NonDigit { ch: 'x', position: 6 }));
        // Non-ASCII characters are counted as one character each.
        assert_eq!(Gtin14::parse("ü1x"), Err(GtinError::NonDigit { ch: 'ü', position: 1 }));
        assert_eq!(Gtin14::parse("\u{3000}٣"), Err(GtinError::NonDigit { ch: '٣', position: 2 }));
        // The first offending character wins, even before a length problem.
        assert_eq!(
            Gtin14::parse("1234567890123456789a"),
            Err(GtinError::NonDigit { ch: 'a', position: 20 })
        );
    }

    #[test]
    fn lengths() {
        for (s, len) in [("1", 1), ("1234567", 7), ("123456789", 9), ("1234567890", 10)] {
            assert_eq!(Gtin14::parse(s), Err(GtinError::BadLength { len }), "{s}");
        }
        assert_eq!(Gtin14::parse("123456789012345"), Err(GtinError::BadLength { len: 15 }));
        let long = "1".repeat(100);
        assert_eq!(Gtin14::parse(&long), Err(GtinError::BadLength { len: 100 }));
        assert_eq!(Gtin14::parse("   "), Err(GtinError::Empty));
        assert_eq!(Gtin14::parse(""), Err(GtinError::Empty));
    }

    #[test]
    fn exact_error_messages() {
        let msg = |s: &str| Gtin14::parse(s).map(|_| ()).unwrap_err().to_string();
        assert_eq!(msg(""), "GTIN is empty: no digits were given");
        assert_eq!(
            msg("12x4"),
            "GTIN contains the non-digit character 'x' at position 3; only digits are allowed \
             (spaces and hyphens between digits are ignored)"
        );
        assert_eq!(
            msg("12\u{a0}4"),
            "GTIN contains the non-digit character '\\u{a0}' at position 3; only digits are \
             allowed (spaces and hyphens between digits are ignored)"
        );
        assert_eq!(
            msg("1234567890"),
            "GTIN has 10 digits, but a GTIN must have 8, 12, 13 or 14 digits"
        );
        assert_eq!(msg("7"), "GTIN has 1 digit, but a GTIN must have 8, 12, 13 or 14 digits");
        assert_eq!(msg("09506000134353"), "GTIN check digit is wrong: expected 2, found 3");
        assert_eq!(msg("0000 0000"), "GTIN is all zeros, which is not a real GTIN");
    }

    #[test]
    fn short_form_follows_biip() {
        assert_eq!(ok("00000095012346").short_form(), "95012346");
        assert_eq!(ok("02345673").short_form(), "02345673");
        assert_eq!(ok("614141000036").short_form(), "614141000036");
        assert_eq!(ok("036000291452").short_form(), "036000291452");
        assert_eq!(ok("9506000134352").short_form(), "9506000134352");
        assert_eq!(ok("95012345678903").short_form(), "95012345678903");
        // A GTIN-13 with a leading zero reads back as the GTIN-12 it is.
        assert_eq!(ok("0614141000036").short_form(), "614141000036");
    }

    #[test]
    fn restricted_circulation_numbers() {
        use RestrictedCirculation::{Company, Geographic};
        let rc = |s: &str| ok(s).restricted_circulation();
        // GTIN-13 view prefixes 20–29: geographic (reference example 2112345678900).
        assert_eq!(rc("2112345678900"), Some(Geographic));
        let g20 = format!("200000000001{}", check_digit("200000000001").unwrap());
        let g29 = format!("299999999999{}", check_digit("299999999999").unwrap());
        assert_eq!(rc(&g20), Some(Geographic));
        assert_eq!(rc(&g29), Some(Geographic));
        // Prefix 02 in the GTIN-13 view = GTIN-12 starting with 2.
        let g02 = format!("21234567890{}", check_digit("21234567890").unwrap());
        assert_eq!(rc(&g02), Some(Geographic));
        assert_eq!(rc(&format!("0{g02}")), Some(Geographic));
        // GS1 prefix 040–049 (GTIN-13 "04…", GTIN-12 "4…"): company.
        let c04 = format!("41234567890{}", check_digit("41234567890").unwrap());
        assert_eq!(rc(&c04), Some(Company));
        assert_eq!(rc(&format!("0{c04}")), Some(Company));
        // GTIN-13 prefixes 400–499 are Member Organisations (400–440 = GS1 Germany), not RCNs.
        assert_eq!(rc("4012345000009"), None);
        let c49 = format!("499999999999{}", check_digit("499999999999").unwrap());
        assert_eq!(rc(&c49), None);
        // GTIN-13 view "0000000…" (company RCN) reads as an RCN-8 with first digit 0.
        let z7 = format!("000000012345{}", check_digit("000000012345").unwrap());
        assert_eq!(rc(&z7), Some(Company));
        // RCN-8: GS1-8 prefix 0xx or 2xx.
        assert_eq!(rc("02345673"), Some(Company));
        let r8 = format!("2000001{}", check_digit("2000001").unwrap());
        assert_eq!(rc(&r8), Some(Company));
        // Not restricted: ordinary GTIN-8/12/13, ISBN, and every GTIN-14 with an indicator.
        for s in ["95012346", "96385074", "40123455", "614141000036", "036000291452"] {
            assert_eq!(rc(s), None, "{s}");
        }
        for s in ["9506000134352", "9780345418913", "95012345678903", "09520123456788"] {
            assert_eq!(rc(s), None, "{s}");
        }
        let ind1 = format!("1211234567890{}", check_digit("1211234567890").unwrap());
        assert_eq!(rc(&ind1), None);
    }

    #[test]
    fn validate_reports() {
        let v = validate("614141123452");
        assert!(v.valid);
        assert_eq!(v.length, 12);
        assert_eq!(v.normalized.map(|g| g.to_string()).as_deref(), Some("00614141123452"));
        assert_eq!(v.error, None);
        assert_eq!(v.warning, None);

        let v = validate(" 0614 1412-3452 ");
        assert!(!v.valid);
        assert_eq!(v.length, 12);
        assert_eq!(v.error, Some(GtinError::BadCheckDigit { expected: 7, found: 2 }));

        let v = validate(" 6141 4112-3452 ");
        assert!(v.valid);
        assert_eq!(v.length, 12);

        let v = validate("09506000134353");
        assert!(!v.valid);
        assert_eq!(v.length, 14);
        assert_eq!(v.normalized, None);
        assert_eq!(v.error, Some(GtinError::BadCheckDigit { expected: 2, found: 3 }));

        let v = validate(" 12-ab ");
        assert_eq!(v.length, 4);
        assert_eq!(v.error, Some(GtinError::NonDigit { ch: 'a', position: 5 }));

        let v = validate("2112345678900");
        assert!(v.valid);
        assert_eq!(v.length, 13);
        let w = v.warning.unwrap();
        assert!(w.contains("geographic region") && w.contains("not globally unique"), "{w}");

        let v = validate("02345673");
        assert!(v.valid);
        assert!(v.warning.unwrap().contains("single company"));

        let v = validate("");
        assert_eq!((v.valid, v.length, v.error), (false, 0, Some(GtinError::Empty)));
    }

    #[test]
    fn traits_and_serde() {
        let g: Gtin14 = "9506000134352".parse().unwrap();
        assert_eq!(format!("{g:?}"), "Gtin14(09506000134352)");
        assert_eq!(Gtin14::try_from("09506000134352"), Ok(g));
        assert_eq!(serde_json::to_string(&g).unwrap(), "\"09506000134352\"");
        let back: Gtin14 = serde_json::from_str("\"9506000134352\"").unwrap();
        assert_eq!(back, g);
        let err = serde_json::from_str::<Gtin14>("\"09506000134353\"").unwrap_err();
        assert!(err.to_string().contains("expected 2, found 3"), "{err}");
        assert!(serde_json::from_str::<Gtin14>("9506000134352").is_err());
        assert_eq!(g.check_digit(), 2);
        assert!(ok("00000095012346") < ok("09506000134352"));
    }
}
