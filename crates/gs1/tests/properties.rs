//! Property tests for the `gs1` crate (docs/spec.md §1): GTIN normalization and separators, the check
//! digit, and Digital Link build → parse round trips over all of GS1 CSET 82 and random stems.
//!
//! With `--features record-uris` and `PRODLINK_DL_URI_LOG` set, every URI built here is also
//! recorded for the digital-link.js cross-check (`tests/external/digital-link/check-uris.js`).

// Test code: `allow-unwrap-in-tests` covers `#[test]` functions but not the strategy helpers.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use gs1::{DigitalLink, DlError, Gtin14, GtinError, LinkType, ParseMode, check_digit, validate};
use proptest::prelude::*;

/// GS1 AI encodable character set 82.
const CSET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// The CSET 82 characters that need percent-encoding or are URI delimiters.
const SPECIALS: &str = "!\"%&'()*+,/:;<=>?";

/// Data digits plus their check digit, for a GTIN of `len` digits (not all zeros).
fn gtin_digits() -> impl Strategy<Value = String> {
    prop::sample::select(vec![8usize, 12, 13, 14])
        .prop_flat_map(|len| {
            proptest::string::string_regex(&format!("[0-9]{{{}}}", len - 1)).unwrap()
        })
        .prop_filter("not all zeros", |data| data.bytes().any(|b| b != b'0'))
        .prop_map(|data| {
            let cd = check_digit(&data).unwrap();
            format!("{data}{cd}")
        })
}

fn gtin() -> impl Strategy<Value = Gtin14> {
    gtin_digits().prop_map(|s| Gtin14::parse(&s).unwrap())
}

fn cset82_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(CSET82.chars().collect::<Vec<_>>()),
        1 => prop::sample::select(SPECIALS.chars().collect::<Vec<_>>()),
    ]
}

fn qualifier(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(cset82_char(), 1..=max).prop_map(|v| v.into_iter().collect())
}

fn days_in(month: u32, yy: u32) -> u32 {
    match month {
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A valid YYMMDD; day 00 allowed when `day_zero`.
fn date(day_zero: bool) -> impl Strategy<Value = String> {
    (0u32..100, 1u32..=12).prop_flat_map(move |(yy, mm)| {
        let lo = u32::from(!day_zero);
        (Just(yy), Just(mm), lo..=days_in(mm, yy))
            .prop_map(|(yy, mm, dd)| format!("{yy:02}{mm:02}{dd:02}"))
    })
}

/// A set of valid data attributes (at most one decimal variant per measure family).
fn attributes() -> impl Strategy<Value = BTreeMap<String, String>> {
    let dates =
        prop::sample::subsequence(vec!["11", "13", "15", "16", "17"], 0..=2).prop_flat_map(|ais| {
            let n = ais.len();
            (Just(ais), prop::collection::vec(date(true), n))
        });
    let families = prop::sample::subsequence(
        vec!["310", "311", "315", "320", "330", "337", "341", "356", "357", "360", "369"],
        0..=2,
    )
    .prop_flat_map(|fams| {
        let n = fams.len();
        (
            Just(fams),
            prop::collection::vec(
                (0u8..=5, proptest::string::string_regex("[0-9]{6}").unwrap()),
                n,
            ),
        )
    });
    let expiry_time = prop::option::of(
        (date(false), 0u32..24, 0u32..60).prop_map(|(d, h, m)| format!("{d}{h:02}{m:02}")),
    );
    let count = prop::option::of(proptest::string::string_regex("[0-9]{1,8}").unwrap());
    (dates, families, expiry_time, count).prop_map(|((dais, dvals), (fams, mvals), et, count)| {
        let mut map = BTreeMap::new();
        for (ai, v) in dais.into_iter().zip(dvals) {
            map.insert(ai.to_owned(), v);
        }
        for (fam, (dec, v)) in fams.into_iter().zip(mvals) {
            map.insert(format!("{fam}{dec}"), v);
        }
        if let Some(v) = et {
            map.insert("7003".to_owned(), v);
        }
        if let Some(v) = count {
            map.insert("30".to_owned(), v);
        }
        map
    })
}

/// Path qualifiers: 22/10/21 (each optional) or 235 (with an optional batch attribute).
#[derive(Debug, Clone)]
enum Qualifiers {
    Gs1 { cpv: Option<String>, batch: Option<String>, serial: Option<String> },
    Tpx { tpx: String, batch_attr: Option<String> },
}

fn qualifiers() -> impl Strategy<Value = Qualifiers> {
    prop_oneof![
        4 => (
            prop::option::of(qualifier(20)),
            prop::option::of(qualifier(20)),
            prop::option::of(qualifier(20)),
        )
            .prop_map(|(cpv, batch, serial)| Qualifiers::Gs1 { cpv, batch, serial }),
        1 => (qualifier(28), prop::option::of(qualifier(20)))
            .prop_map(|(tpx, batch_attr)| Qualifiers::Tpx { tpx, batch_attr }),
    ]
}

fn build(gtin: Gtin14, q: &Qualifiers, attrs: &BTreeMap<String, String>) -> DigitalLink {
    let mut b = DigitalLink::builder(gtin);
    match q {
        Qualifiers::Gs1 { cpv, batch, serial } => {
            if let Some(v) = cpv {
                b = b.cpv(v.clone());
            }
            if let Some(v) = batch {
                b = b.batch(v.clone());
            }
            if let Some(v) = serial {
                b = b.serial(v.clone());
            }
        }
        Qualifiers::Tpx { tpx, batch_attr } => {
            b = b.tpx(tpx.clone());
            if let Some(v) = batch_attr {
                b = b.attribute("10", v.clone());
            }
        }
    }
    for (ai, v) in attrs {
        b = b.attribute(ai.clone(), v.clone());
    }
    b.build().unwrap_or_else(|e| panic!("valid parts must build: {e}"))
}

/// `scheme://host[/stem…]` with random stem segments (which may look like AIs).
fn base() -> impl Strategy<Value = String> {
    let host =
        prop::sample::select(vec!["example.com", "localhost:8080", "id.gs1.org", "a.b-c.example"]);
    let scheme = prop::sample::select(vec!["https", "http"]);
    let segment = prop_oneof![
        4 => proptest::string::string_regex("[A-Za-z0-9._~-]{1,8}").unwrap(),
        1 => prop::sample::select(vec!["01", "00", "414", "10", "21", "235", "17"]).prop_map(str::to_owned),
    ];
    (scheme, host, prop::collection::vec(segment, 0..4), any::<bool>()).prop_map(
        |(scheme, host, segs, slash)| {
            // GS1's own resolver has no stem and is https only.
            let (scheme, segs) =
                if host == "id.gs1.org" { ("https", Vec::new()) } else { (scheme, segs) };
            let mut b = format!("{scheme}://{host}");
            for s in segs {
                b.push('/');
                b.push_str(&s);
            }
            if slash {
                b.push('/');
            }
            b
        },
    )
}

/// Inserts separators (spaces/hyphens) between characters and whitespace around.
fn with_separators(digits: &str, seps: &[u8], pad: (usize, usize)) -> String {
    let mut out = " ".repeat(pad.0);
    for (i, ch) in digits.chars().enumerate() {
        out.push(ch);
        match seps.get(i).copied().unwrap_or(0) % 5 {
            1 => out.push(' '),
            2 => out.push('-'),
            3 => out.push_str(" - "),
            _ => {}
        }
    }
    out.push_str(&"\t".repeat(pad.1));
    out
}

proptest! {
    #[test]
    fn valid_gtins_normalize_to_14_and_revalidate(digits in gtin_digits()) {
        let g = Gtin14::parse(&digits).unwrap();
        prop_assert_eq!(g.as_str().len(), 14);
        prop_assert_eq!(g.as_str(), format!("{digits:0>14}"));
        prop_assert_eq!(Gtin14::parse(g.as_str()), Ok(g));
        prop_assert_eq!(Gtin14::parse(g.short_form()), Ok(g));
        let v = validate(&digits);
        prop_assert!(v.valid);
        prop_assert_eq!(v.normalized, Some(g));
        prop_assert_eq!(v.length, digits.len());
        prop_assert_eq!(v.warning.is_some(), g.restricted_circulation().is_some());
        let json = serde_json::to_string(&g).unwrap();
        prop_assert_eq!(serde_json::from_str::<Gtin14>(&json).unwrap(), g);
    }

    #[test]
    fn separators_never_change_the_result(
        digits in "[0-9]{0,18}",
        seps in prop::collection::vec(any::<u8>(), 18),
        pad in (0usize..3, 0usize..3),
    ) {
        let spaced = with_separators(&digits, &seps, pad);
        prop_assert_eq!(Gtin14::parse(&spaced), Gtin14::parse(&digits), "{:?}", spaced);
        let (a, b) = (validate(&spaced), validate(&digits));
        prop_assert_eq!((a.valid, a.error, a.normalized, a.length), (b.valid, b.error, b.normalized, b.length));
    }

    #[test]
    fn a_wrong_check_digit_is_always_rejected(digits in gtin_digits(), delta in 1u8..10) {
        let (data, cd) = digits.split_at(digits.len() - 1);
        let expected = cd.parse::<u8>().unwrap();
        let found = (expected + delta) % 10;
        let wrong = format!("{data}{found}");
        prop_assert_eq!(Gtin14::parse(&wrong), Err(GtinError::BadCheckDigit { expected, found }));
        prop_assert_eq!(check_digit(data), Ok(expected));
    }

    #[test]
    fn non_digits_are_reported_at_their_position(
        digits in gtin_digits(),
        at in any::<prop::sample::Index>(),
        ch in prop::char::any().prop_filter("not a digit or separator", |c| {
            !c.is_ascii_digit() && *c != ' ' && *c != '-' && !c.is_whitespace()
        }),
    ) {
        let i = at.index(digits.len());
        let mut s: String = digits.chars().take(i).collect();
        s.push(ch);
        s.extend(digits.chars().skip(i));
        prop_assert_eq!(Gtin14::parse(&s), Err(GtinError::NonDigit { ch, position: i + 1 }));
    }

    #[test]
    fn build_then_parse_round_trips(
        gtin in gtin(),
        q in qualifiers(),
        attrs in attributes(),
        base in base(),
    ) {
        let link = build(gtin, &q, &attrs);
        let uri = link.to_uri(&base);
        let stem = base.strip_suffix('/').unwrap_or(&base);
        prop_assert!(uri.starts_with(stem));
        // Minimal encoding: after the stem only unreserved characters, delimiters and %XX.
        let tail = &uri[stem.len()..];
        let bytes = tail.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let ok = b.is_ascii_alphanumeric() || b"-._/?&=".contains(&b)
                || (b == b'%' && bytes.len() > i + 2
                    && bytes[i + 1..i + 3].iter().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h)));
            prop_assert!(ok, "unexpected {:?} in {}", char::from(b), uri);
        }
        let parsed = DigitalLink::parse(&uri, ParseMode::Strict).unwrap();
        prop_assert_eq!(parsed.link(), &link);
        prop_assert_eq!(parsed.stem(), stem);
        prop_assert!(parsed.other_params().is_empty());
        prop_assert!(!parsed.leniency_applied());
        let by_path = DigitalLink::parse_path(&link.path(), ParseMode::Strict).unwrap();
        prop_assert_eq!(by_path.link(), &link);
        // The resolver tolerates one trailing slash on the same URI (no query).
        if !tail.contains('?') {
            let p = DigitalLink::parse(&format!("{uri}/"), ParseMode::Lenient).unwrap();
            prop_assert_eq!(p.link(), &link);
            prop_assert!(p.leniency().trailing_slash);
            prop_assert_eq!(
                DigitalLink::parse(&format!("{uri}/"), ParseMode::Strict).unwrap_err(),
                DlError::TrailingSlash
            );
        }
        // Canonical form under GS1's own stem.
        let canonical = link.to_canonical_uri();
        let canonical = DigitalLink::parse(&canonical, ParseMode::Strict).unwrap();
        prop_assert_eq!(canonical.link(), &link);
    }

    #[test]
    fn lenient_pads_zero_suppressed_gtins(digits in gtin_digits(), batch in qualifier(20)) {
        let mut encoded = String::new();
        for b in batch.bytes() {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                encoded.push(char::from(b));
            } else {
                encoded.push_str(&format!("%{b:02x}")); // lowercase hex is accepted too
            }
        }
        let uri = format!("https://example.com/01/{digits}/10/{encoded}");
        let p = DigitalLink::parse(&uri, ParseMode::Lenient).unwrap();
        prop_assert_eq!(p.link().gtin(), Gtin14::parse(&digits).unwrap());
        prop_assert_eq!(p.link().batch(), Some(batch.as_str()));
        prop_assert_eq!(p.leniency().padded_gtin_digits, (digits.len() != 14).then_some(digits.len()));
        prop_assert_eq!(DigitalLink::parse(&uri, ParseMode::Strict).is_ok(), digits.len() == 14);
    }

    #[test]
    fn values_outside_cset82_are_rejected_not_mangled(
        gtin in gtin(),
        prefix in qualifier(5),
        bad in prop::char::any().prop_filter("outside CSET 82", |c| !(c.is_ascii() && CSET82.contains(*c))),
    ) {
        let value = format!("{prefix}{bad}");
        let position = prefix.chars().count() + 1;
        let err = DigitalLink::builder(gtin).serial(value.clone()).build().unwrap_err();
        prop_assert_eq!(err, DlError::InvalidCharacter { ai: "21".into(), ch: bad, position });
        // The same value percent-encoded in a URI is refused the same way.
        let mut enc = String::new();
        for b in value.bytes() {
            enc.push_str(&format!("%{b:02X}"));
        }
        let uri = format!("https://example.com/01/{gtin}/21/{enc}");
        let err = DigitalLink::parse(&uri, ParseMode::Lenient).unwrap_err();
        prop_assert!(matches!(err, DlError::InvalidCharacter { .. } | DlError::NulCharacter { .. }), "{:?}", err);
    }

    #[test]
    fn parsing_arbitrary_input_never_panics_and_accepted_input_is_stable(
        s in prop_oneof![
            any::<String>(),
            "https://[a-z.]{1,8}(/[0-9A-Za-z%~!*'();:@&=+$,?#]{0,6}){0,8}",
            "/01/[0-9]{8,14}(/[0-9]{2,3}/[!-~]{0,6}){0,4}(\\?[0-9a-zA-Z=&%+]{0,20})?",
        ],
    ) {
        let _ = DigitalLink::parse_path(&s, ParseMode::Lenient);
        if let Ok(p) = DigitalLink::parse(&s, ParseMode::Strict) {
            let again = DigitalLink::parse(&p.link().to_uri(p.stem()), ParseMode::Strict).unwrap();
            prop_assert_eq!(again.link(), p.link());
        }
        if let Ok(p) = DigitalLink::parse_path(&s, ParseMode::Strict) {
            let again = DigitalLink::parse_path(&p.link().path(), ParseMode::Strict).unwrap();
            prop_assert_eq!(again.link(), p.link());
        }
    }

    #[test]
    fn link_types_parse_in_any_case_and_form(
        i in any::<prop::sample::Index>(),
        upper in prop::collection::vec(any::<bool>(), 40),
        form in 0usize..4,
    ) {
        let lt = LinkType::all()[i.index(LinkType::all().len())];
        let term: String = lt.term().chars().zip(upper.iter().cycle())
            .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        let input = match form {
            0 => format!("gs1:{term}"),
            1 => format!("https://ref.gs1.org/voc/{term}"),
            2 => format!("http://www.gs1.org/voc/{term}"),
            _ => term,
        };
        prop_assert_eq!(LinkType::parse(&input), Ok(lt));
        prop_assert_eq!(LinkType::parse(&lt.curie()), Ok(lt));
    }
}
