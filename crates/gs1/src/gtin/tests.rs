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
