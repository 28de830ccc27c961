//! The GS1 Application Identifiers a GTIN Digital Link may carry, and their value formats
//! (GS1 Barcode Syntax Dictionary entries for 01, 10, 11–17, 21, 22, 235, 30, 31nn–36nn, 7003;
//! DL URI Syntax 4.9–4.10).
//!
//! Owns the qualifier rules (CSET 82, 1–20 characters, 235: 1–28) and the small table of data
//! attributes prodlink accepts in the query string. Anything outside the table is refused rather
//! than passed through, so a URI we accept always means what it says.

use super::DlError;

/// AI of the GTIN primary key.
pub(crate) const GTIN: &str = "01";
/// AI of the consumer product variant qualifier.
pub(crate) const CPV: &str = "22";
/// AI of the batch/lot qualifier.
pub(crate) const BATCH: &str = "10";
/// AI of the serial number qualifier.
pub(crate) const SERIAL: &str = "21";
/// AI of the third-party controlled serial number (TPX) qualifier.
pub(crate) const TPX: &str = "235";

/// Longest value of 22, 10 and 21 (`X..20`).
pub(crate) const QUALIFIER_MAX: usize = 20;
/// Longest value of 235 (`X..28`).
pub(crate) const TPX_MAX: usize = 28;

/// Every GS1 Digital Link primary-key AI (Syntax Dictionary `dlpkey`). Only 01 is served; the
/// others are recognised so that the error can say "unsupported" instead of "malformed".
const PRIMARY_KEYS: [&str; 16] = [
    "00", "01", "253", "255", "401", "402", "414", "415", "417", "8003", "8004", "8006", "8010",
    "8013", "8017", "8018",
];

/// Measure families 31nn–36nn (`N6`, the last AI digit = decimal places 0–5), with titles.
const MEASURES: [(&str, &str); 53] = [
    ("310", "net weight (kg)"),
    ("311", "length (m)"),
    ("312", "width (m)"),
    ("313", "height (m)"),
    ("314", "area (m²)"),
    ("315", "net volume (l)"),
    ("316", "net volume (m³)"),
    ("320", "net weight (lb)"),
    ("321", "length (in)"),
    ("322", "length (ft)"),
    ("323", "length (yd)"),
    ("324", "width (in)"),
    ("325", "width (ft)"),
    ("326", "width (yd)"),
    ("327", "height (in)"),
    ("328", "height (ft)"),
    ("329", "height (yd)"),
    ("330", "logistic gross weight (kg)"),
    ("331", "logistic length (m)"),
    ("332", "logistic width (m)"),
    ("333", "logistic height (m)"),
    ("334", "logistic area (m²)"),
    ("335", "logistic volume (l)"),
    ("336", "logistic volume (m³)"),
    ("337", "kilograms per square metre"),
    ("340", "logistic gross weight (lb)"),
    ("341", "logistic length (in)"),
    ("342", "logistic length (ft)"),
    ("343", "logistic length (yd)"),
    ("344", "logistic width (in)"),
    ("345", "logistic width (ft)"),
    ("346", "logistic width (yd)"),
    ("347", "logistic height (in)"),
    ("348", "logistic height (ft)"),
    ("349", "logistic height (yd)"),
    ("350", "area (in²)"),
    ("351", "area (ft²)"),
    ("352", "area (yd²)"),
    ("353", "logistic area (in²)"),
    ("354", "logistic area (ft²)"),
    ("355", "logistic area (yd²)"),
    ("356", "net weight (troy oz)"),
    ("357", "net volume (oz)"),
    ("360", "net volume (qt)"),
    ("361", "net volume (gal)"),
    ("362", "logistic volume (qt)"),
    ("363", "logistic volume (gal)"),
    ("364", "volume (in³)"),
    ("365", "volume (ft³)"),
    ("366", "volume (yd³)"),
    ("367", "logistic volume (in³)"),
    ("368", "logistic volume (ft³)"),
    ("369", "logistic volume (yd³)"),
];

/// Human text listing the supported data attributes, for error messages.
pub(crate) const SUPPORTED_ATTRIBUTES: &str = "11, 13, 15, 16, 17 (dates YYMMDD), 7003 \
     (date and time YYMMDDHHMM), 30 (count) and the measures 310n–369n (6 digits); 10 only \
     together with 235";

/// Whether `ai` is a GS1 Digital Link primary key.
pub(crate) fn is_primary_key(ai: &str) -> bool {
    PRIMARY_KEYS.contains(&ai)
}

/// Whether `b` is in GS1 AI encodable character set 82 (GenSpecs figure 7.11-1).
pub(crate) const fn is_cset82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.'
        | b'/' | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_'
        | b'a'..=b'z')
}

/// The measure family of a 4-digit AI 31nn–36nn with decimal indicator 0–5, if it is one.
fn measure(ai: &str) -> Option<(&'static str, &'static str, u8)> {
    let b = ai.as_bytes();
    if b.len() != 4 || !b.iter().all(u8::is_ascii_digit) || !(b'0'..=b'5').contains(&b[3]) {
        return None;
    }
    MEASURES.iter().find(|(family, _)| *family == &ai[..3]).map(|&(f, t)| (f, t, b[3] - b'0'))
}

/// A short title for an AI (for messages), if prodlink knows it.
pub(crate) fn title(ai: &str) -> Option<String> {
    let t = match ai {
        "00" => "SSCC",
        "01" => "GTIN",
        "10" => "batch/lot",
        "11" => "production date",
        "12" => "due date",
        "13" => "packaging date",
        "15" => "best before date",
        "16" => "sell by date",
        "17" => "expiration date",
        "21" => "serial number",
        "22" => "consumer product variant",
        "235" => "third-party controlled serial number",
        "30" => "variable count",
        "253" => "GDTI",
        "255" => "GCN",
        "401" => "GINC",
        "402" => "GSIN",
        "414" => "GLN of a physical location",
        "415" => "GLN of the invoicing party",
        "417" => "party GLN",
        "7003" => "expiration date and time",
        "8003" => "GRAI",
        "8004" => "GIAI",
        "8006" => "ITIP",
        "8010" => "CPID",
        "8013" => "GMN",
        "8017" => "GSRN of a service provider",
        "8018" => "GSRN of a service recipient",
        _ => {
            let (_, t, n) = measure(ai)?;
            let s = if n == 1 { "" } else { "s" };
            return Some(format!("{t}, {n} decimal place{s}"));
        }
    };
    Some(t.to_owned())
}

/// Formats an AI for messages: `AI 10 (batch/lot)`, or `AI 999` when unknown.
pub(crate) fn label(ai: &str) -> String {
    match title(ai) {
        Some(t) => format!("AI {ai} ({t})"),
        None => format!("AI {ai}"),
    }
}

/// How a data attribute's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `N6,yymmd0`: YYMMDD, day 00 = unspecified.
    Date,
    /// `N6,yymmdd N4,hhmm` (7003).
    DateTime,
    /// `N..8` (30).
    Count,
    /// `N6` (31nn–36nn).
    Measure,
    /// `X..20` (10 as an attribute, only beside 235).
    Batch,
}

/// The format of a data attribute AI prodlink accepts, if any.
fn format_of(ai: &str) -> Option<Format> {
    match ai {
        "11" | "13" | "15" | "16" | "17" => Some(Format::Date),
        "7003" => Some(Format::DateTime),
        "30" => Some(Format::Count),
        BATCH => Some(Format::Batch),
        _ => measure(ai).map(|_| Format::Measure),
    }
}

/// Whether `ai` is a data attribute (so it belongs in the query, not the path). Includes 12,
/// which is a data attribute but not one a GTIN may carry.
pub(crate) fn is_data_attribute(ai: &str) -> bool {
    ai == "12" || (ai != BATCH && format_of(ai).is_some())
}

/// Checks a qualifier value (or 10 as an attribute): 1..=`max` characters of CSET 82.
pub(crate) fn check_cset82(ai: &str, value: &str, max: usize) -> Result<(), DlError> {
    let len = value.chars().count();
    if len == 0 {
        return Err(DlError::EmptyValue { ai: ai.to_owned() });
    }
    if len > max {
        return Err(DlError::TooLong { ai: ai.to_owned(), max, len });
    }
    if let Some((i, ch)) =
        value.chars().enumerate().find(|&(_, c)| !(c.is_ascii() && is_cset82(c as u8)))
    {
        return Err(DlError::InvalidCharacter { ai: ai.to_owned(), ch, position: i + 1 });
    }
    Ok(())
}

/// Which path qualifiers a link has, for the attribute rules.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PathShape {
    pub(crate) cpv: bool,
    pub(crate) batch: bool,
    pub(crate) serial: bool,
    pub(crate) tpx: bool,
}

impl PathShape {
    fn has(self, ai: &str) -> bool {
        match ai {
            CPV => self.cpv,
            BATCH => self.batch,
            SERIAL => self.serial,
            TPX => self.tpx,
            _ => false,
        }
    }
}

/// Checks one data attribute `ai=value` of a GTIN Digital Link whose path has `shape`.
///
/// `ai` must already be known to be all digits. Duplicates among attributes are the caller's
/// business; a duplicate of the primary key or of a path qualifier is reported here.
pub(crate) fn check_attribute(ai: &str, value: &str, shape: PathShape) -> Result<(), DlError> {
    if ai == GTIN || shape.has(ai) {
        return Err(DlError::DuplicateAi { ai: ai.to_owned() });
    }
    // 22, 21 and 235 are never data attributes; 10 only where the path cannot hold it (235).
    if matches!(ai, CPV | SERIAL | TPX) || (ai == BATCH && !shape.tpx) {
        return Err(DlError::AttributeBelongsInPath { ai: ai.to_owned() });
    }
    if ai == "12" {
        return Err(DlError::AttributeNotWithGtin { ai: ai.to_owned() });
    }
    let Some(format) = format_of(ai) else {
        return Err(DlError::UnsupportedAttribute { ai: ai.to_owned() });
    };
    if value.is_empty() {
        return Err(DlError::EmptyValue { ai: ai.to_owned() });
    }
    let bad = |reason: String| Err(DlError::InvalidAttribute { ai: ai.to_owned(), reason });
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    match format {
        Format::Batch => check_cset82(ai, value, QUALIFIER_MAX),
        Format::Count => {
            if digits && value.len() <= 8 {
                Ok(())
            } else {
                bad(format!("must be 1 to 8 digits; got {}", show(value)))
            }
        }
        Format::Measure => {
            if digits && value.len() == 6 {
                Ok(())
            } else {
                bad(format!("must be exactly 6 digits; got {}", show(value)))
            }
        }
        Format::Date => {
            if !(digits && value.len() == 6) {
                return bad(format!("must be a date YYMMDD (6 digits); got {}", show(value)));
            }
            check_date(value, true).or_else(bad)
        }
        Format::DateTime => {
            if !(digits && value.len() == 10) {
                return bad(format!(
                    "must be a date and time YYMMDDHHMM (10 digits); got {}",
                    show(value)
                ));
            }
            check_date(&value[..6], false).or_else(bad)?;
            let hh = two(&value[6..8]);
            let mm = two(&value[8..10]);
            if hh > 23 {
                return bad(format!("has hour {hh:02}; hours are 00–23"));
            }
            if mm > 59 {
                return bad(format!("has minute {mm:02}; minutes are 00–59"));
            }
            Ok(())
        }
    }
}

/// Two ASCII digits as a number (caller checked they are digits).
fn two(s: &str) -> u32 {
    s.bytes().fold(0, |n, b| n * 10 + u32::from(b - b'0'))
}

/// Checks a YYMMDD of digits: month 01–12, day within the month (Feb 29 only when YY is a
/// multiple of 4, as GS1's `yymmd0` linter does), day 00 allowed when `day_zero_ok`.
fn check_date(yymmdd: &str, day_zero_ok: bool) -> Result<(), String> {
    let yy = two(&yymmdd[0..2]);
    let mm = two(&yymmdd[2..4]);
    let dd = two(&yymmdd[4..6]);
    if !(1..=12).contains(&mm) {
        return Err(format!("has month {mm:02}; months are 01–12"));
    }
    let days = match mm {
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if dd == 0 && day_zero_ok {
        return Ok(());
    }
    if dd == 0 || dd > days {
        let zero = if day_zero_ok { "00 (day not specified) or " } else { "" };
        return Err(format!(
            "has day {dd:02}; month {mm:02} of year {yy:02} allows {zero}01–{days}"
        ));
    }
    Ok(())
}

/// Quotes a value for a message, cut to a readable length.
pub(crate) fn show(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// The measure family (first three digits) of `ai` if it is a measure, for the rule that one
/// link carries at most one decimal variant per measure (Syntax Dictionary `ex=310n` etc.).
pub(crate) fn measure_family(ai: &str) -> Option<&'static str> {
    measure(ai).map(|(family, _, _)| family)
}

#[cfg(test)]
mod tests {
    //! AI table checks: CSET 82, measure families, `yymmd0` dates (Syntax Dictionary).

    use super::*;

    #[test]
    fn cset82_is_exactly_82_characters() {
        let set: String = (0u8..=127).filter(|&b| is_cset82(b)).map(char::from).collect();
        assert_eq!(set.len(), 82);
        assert_eq!(
            set,
            "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
        );
    }

    #[test]
    fn measures() {
        assert_eq!(title("3103").as_deref(), Some("net weight (kg), 3 decimal places"));
        assert_eq!(title("3101").as_deref(), Some("net weight (kg), 1 decimal place"));
        assert_eq!(title("3695").as_deref(), Some("logistic volume (yd³), 5 decimal places"));
        assert!(title("3106").is_none());
        assert!(title("3170").is_none());
        assert!(title("3380").is_none());
        assert_eq!(measure_family("3572"), Some("357"));
        assert_eq!(MEASURES.len(), 53);
    }

    #[test]
    fn dates() {
        assert_eq!(check_date("261231", true), Ok(()));
        assert_eq!(check_date("260600", true), Ok(()));
        assert_eq!(check_date("240229", true), Ok(()));
        assert_eq!(check_date("000229", true), Ok(()));
        assert!(check_date("250229", true).is_err());
        assert!(check_date("260431", true).is_err());
        assert!(check_date("261301", true).is_err());
        assert!(check_date("260001", true).is_err());
        assert!(check_date("260132", true).is_err());
        assert!(check_date("260100", false).is_err());
    }
}
