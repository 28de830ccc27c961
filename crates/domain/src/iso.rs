//! ISO 3166-1 alpha-2 country codes and ISO 4217 currency codes: validated newtypes and name
//! lookups (the tables are generated into `iso_data.rs` by `scripts/gen-iso-tables.py`; the same
//! lists seed the `countries` and `currencies` tables that the schema references).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::iso_data::{COUNTRIES, CURRENCIES};

/// An ISO 3166-1 alpha-2 country code known to the ISO table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

impl CountryCode {
    /// Parses a two-letter code (case-insensitive) that ISO 3166-1 assigns.
    pub fn parse(code: &str) -> Result<Self, String> {
        let upper = code.trim().to_ascii_uppercase();
        if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "{code:?} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. \"US\")"
            ));
        }
        COUNTRIES
            .binary_search_by(|(c, _, _)| (*c).cmp(upper.as_str()))
            .map(|i| Self(COUNTRIES[i].0))
            .map_err(|_| format!("{code:?} is not an assigned ISO 3166-1 alpha-2 country code"))
    }

    /// Finds a country by English name or Open Food Facts tag (`"United States"`,
    /// `"en:united-states"`, `"USA"`); `None` when the name is not a country.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        let name = name.strip_prefix("en:").unwrap_or(name);
        if name.len() == 2
            && let Ok(c) = Self::parse(name)
        {
            return Some(c);
        }
        let slug = slugify(name);
        if slug.is_empty() {
            return None;
        }
        COUNTRIES
            .iter()
            .find(|(_, _, slugs)| slugs.contains(&slug.as_str()))
            .map(|(code, _, _)| Self(code))
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The English display name.
    pub fn name(&self) -> &'static str {
        COUNTRIES.iter().find(|(c, _, _)| *c == self.0).map(|(_, n, _)| *n).unwrap_or(self.0)
    }
}

/// Lower-case ASCII slug: letters and digits kept, every other run becomes one `-`.
pub fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(ch.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.0)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An ISO 4217 currency code with its number of minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyCode {
    code: &'static str,
    minor_units: u8,
}

impl CurrencyCode {
    /// Parses a three-letter ISO 4217 code (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, String> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .binary_search_by(|(c, _, _)| (*c).cmp(upper.as_str()))
            .map(|i| Self { code: CURRENCIES[i].0, minor_units: CURRENCIES[i].2 })
            .map_err(|_| {
                format!("{code:?} is not an ISO 4217 currency code (e.g. \"USD\", \"EUR\")")
            })
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    /// Converts a decimal amount to exact minor units, refusing negative amounts, amounts with
    /// more decimals than the currency has, and amounts too large to represent.
    pub fn to_minor(&self, amount: &str) -> Result<i64, String> {
        let amount = amount.trim();
        let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
        let valid = !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(format!("{amount:?} is not a non-negative decimal amount"));
        }
        let units = usize::from(self.minor_units);
        if frac.len() > units {
            return Err(format!(
                "{amount:?} has {} decimals; {} allows at most {units}",
                frac.len(),
                self.code
            ));
        }
        let digits = format!("{int}{frac:0<units$}");
        digits
            .parse::<i64>()
            .ok()
            .filter(|v| *v < 1_000_000_000_000)
            .ok_or_else(|| format!("{amount:?} is too large"))
    }

    /// Converts minor units back to a decimal number for output.
    pub fn from_minor(&self, minor: i64) -> f64 {
        minor as f64 / 10f64.powi(i32::from(self.minor_units))
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurrencyCode({})", self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_by_code_and_name() {
        assert_eq!(CountryCode::parse("us").unwrap().as_str(), "US");
        assert!(CountryCode::parse("XX").unwrap_err().contains("not an assigned"));
        assert!(CountryCode::parse("USA").unwrap_err().contains("two letters"));
        assert_eq!(CountryCode::from_name("United States").unwrap().as_str(), "US");
        assert_eq!(CountryCode::from_name("en:united-kingdom").unwrap().as_str(), "GB");
        assert_eq!(CountryCode::from_name("France").unwrap().as_str(), "FR");
        assert_eq!(CountryCode::from_name("Deutschland"), None);
        assert_eq!(CountryCode::from_name("en:world"), None);
    }

    #[test]
    fn currency_amounts_are_exact() {
        let usd = CurrencyCode::parse("usd").unwrap();
        assert_eq!(usd.to_minor("3.49").unwrap(), 349);
        assert_eq!(usd.to_minor("3.5").unwrap(), 350);
        assert_eq!(usd.to_minor("12").unwrap(), 1200);
        assert!(usd.to_minor("3.499").unwrap_err().contains("at most 2"));
        assert!(usd.to_minor("-1").is_err());
        assert!(usd.to_minor("1e3").is_err());
        let jpy = CurrencyCode::parse("JPY").unwrap();
        assert_eq!(jpy.to_minor("120").unwrap(), 120);
        assert!(jpy.to_minor("1.5").is_err());
        assert!((usd.from_minor(349) - 3.49).abs() < 1e-9);
        assert!(CurrencyCode::parse("EURO").unwrap_err().contains("ISO 4217"));
    }
}
