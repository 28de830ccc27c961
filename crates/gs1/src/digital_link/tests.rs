//! Unit tests for Digital Link building and parsing: URI Syntax 4.9 paths, what GS1's syntax
//! engine rejects, and digital-link.js's examples.

use super::*;
use crate::gtin::GtinError;

const G: &str = "09506000134352";

fn gtin(s: &str) -> Gtin14 {
    Gtin14::parse(s).unwrap()
}

fn strict(uri: &str) -> Result<ParsedDigitalLink, DlError> {
    DigitalLink::parse(uri, ParseMode::Strict)
}

fn lenient(uri: &str) -> Result<ParsedDigitalLink, DlError> {
    DigitalLink::parse(uri, ParseMode::Lenient)
}

fn err(uri: &str) -> DlError {
    match strict(uri) {
        Ok(p) => panic!("{uri} should be rejected, parsed as {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn valid_gtin_paths_of_uri_syntax_4_9() {
    let cases: &[(&str, [Option<&str>; 4])] = &[
        ("", [None, None, None, None]),
        ("/22/v", [Some("v"), None, None, None]),
        ("/10/b", [None, Some("b"), None, None]),
        ("/21/s", [None, None, Some("s"), None]),
        ("/22/v/10/b", [Some("v"), Some("b"), None, None]),
        ("/22/v/21/s", [Some("v"), None, Some("s"), None]),
        ("/10/b/21/s", [None, Some("b"), Some("s"), None]),
        ("/22/v/10/b/21/s", [Some("v"), Some("b"), Some("s"), None]),
        ("/235/t", [None, None, None, Some("t")]),
    ];
    for (tail, [cpv, batch, serial, tpx]) in cases {
        let uri = format!("https://id.gs1.org/01/{G}{tail}");
        let p = strict(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let l = p.link();
        assert_eq!(l.gtin().as_str(), G);
        assert_eq!((l.cpv(), l.batch(), l.serial(), l.tpx()), (*cpv, *batch, *serial, *tpx));
        assert_eq!(p.stem(), "https://id.gs1.org");
        assert!(!p.leniency_applied());
        // Canonical re-encoding is the input.
        assert_eq!(l.to_uri(p.stem()), uri);
        assert_eq!(l.path(), format!("/01/{G}{tail}"));
        // The same path through the resolver entry point.
        let pp = DigitalLink::parse_path(&format!("/01/{G}{tail}"), ParseMode::Strict).unwrap();
        assert_eq!(pp.link(), l);
        assert_eq!(pp.stem(), "");
    }
}

#[test]
fn invalid_gtin_paths_of_uri_syntax_4_9() {
    let u = |tail: &str| format!("https://id.gs1.org/01/{G}{tail}");
    assert_eq!(
        err(&u("/21/s/10/b")),
        DlError::QualifierOrder { ai: "10".into(), after: "21".into() }
    );
    assert_eq!(
        err(&u("/10/b/22/v")),
        DlError::QualifierOrder { ai: "22".into(), after: "10".into() }
    );
    assert_eq!(err(&u("/22/v/235/t")), DlError::TpxWithQualifier { other: "22".into() });
    assert_eq!(err(&u("/235/t/21/s")), DlError::TpxWithQualifier { other: "21".into() });
    assert_eq!(err(&u("/17/261231")), DlError::AttributeInPath { ai: "17".into() });
    assert_eq!(err(&u("/3103/000500")), DlError::AttributeInPath { ai: "3103".into() });
    assert_eq!(err(&u("/12/261231")), DlError::AttributeInPath { ai: "12".into() });
    assert_eq!(err(&u("/99/x")), DlError::NotAQualifier { ai: "99".into() });
    assert_eq!(err(&u("/foo/x")), DlError::UnexpectedSegment { segment: "\"foo\"".into() });
}

#[test]
fn syntax_engine_rejects() {
    let u = |tail: &str| format!("https://a.example/01/{G}{tail}");
    // Trailing slash (strict), empty segments, NUL.
    assert_eq!(err(&u("/")), DlError::TrailingSlash);
    assert_eq!(err(&u("/10/ABC/")), DlError::TrailingSlash);
    assert_eq!(err("https://a.example/01//10/x"), DlError::EmptySegment);
    assert_eq!(err(&u("//10/x")), DlError::EmptySegment);
    assert_eq!(err(&u("/10//21/x")), DlError::EmptySegment);
    assert_eq!(err(&u("/10/A%00B")), DlError::NulCharacter { field: "AI 10 (batch/lot)".into() });
    // Query: empty AI value, unknown numeric key, duplicates, AIs that belong in the path.
    assert_eq!(err(&u("?99=")), DlError::UnsupportedAttribute { ai: "99".into() });
    assert_eq!(err(&u("?17=")), DlError::EmptyValue { ai: "17".into() });
    assert_eq!(err(&u("?999=x")), DlError::UnsupportedAttribute { ai: "999".into() });
    assert_eq!(err(&u("?17=261231&17=261231")), DlError::DuplicateAi { ai: "17".into() });
    assert_eq!(err(&u("/10/ABC?10=ABC")), DlError::DuplicateAi { ai: "10".into() });
    assert_eq!(err(&u(&format!("?01={G}"))), DlError::DuplicateAi { ai: "01".into() });
    assert_eq!(err(&u("/10/A/10/B")), DlError::DuplicateAi { ai: "10".into() });
    assert_eq!(err(&u("?10=ABC")), DlError::AttributeBelongsInPath { ai: "10".into() });
    assert_eq!(err(&u("?21=")), DlError::AttributeBelongsInPath { ai: "21".into() });
    assert_eq!(err(&u("?21=S1")), DlError::AttributeBelongsInPath { ai: "21".into() });
    assert_eq!(err(&u("?22=V")), DlError::AttributeBelongsInPath { ai: "22".into() });
    assert_eq!(err(&u("?235=T")), DlError::AttributeBelongsInPath { ai: "235".into() });
    // A bad GTIN with a query attribute.
    assert_eq!(
        err("https://example.com/01/x?10=ABC"),
        DlError::Gtin(GtinError::NonDigit { ch: 'x', position: 1 })
    );
    // Values: too long, outside CSET 82, raw characters that must be encoded.
    assert_eq!(
        err(&u("/10/ABCDEFGHIJKLMNOPQRSTU")),
        DlError::TooLong { ai: "10".into(), max: 20, len: 21 }
    );
    assert_eq!(
        err(&u(&format!("/235/{}", "T".repeat(29)))),
        DlError::TooLong { ai: "235".into(), max: 28, len: 29 }
    );
    assert_eq!(
        err(&u("/10/AB~C")),
        DlError::InvalidCharacter { ai: "10".into(), ch: '~', position: 3 }
    );
    assert_eq!(
        err(&u("/21/%7E")),
        DlError::InvalidCharacter { ai: "21".into(), ch: '~', position: 1 }
    );
    assert_eq!(
        err(&u("/21/A%20B")),
        DlError::InvalidCharacter { ai: "21".into(), ch: ' ', position: 2 }
    );
    assert_eq!(
        err(&u("/21/%C3%A9")),
        DlError::InvalidCharacter { ai: "21".into(), ch: 'é', position: 1 }
    );
    assert_eq!(
        err(&u("/21/%FF")),
        DlError::InvalidCharacter { ai: "21".into(), ch: '\u{FFFD}', position: 1 }
    );
    // "https://a.example/01/{G}/21/A" is 40 characters long.
    assert_eq!(err(&u("/21/A B")), DlError::IllegalCharacter { ch: ' ', position: 41 });
    assert_eq!(err(&u("/21/A\"B")), DlError::IllegalCharacter { ch: '"', position: 41 });
    assert_eq!(err(&u("/21/Aé")), DlError::IllegalCharacter { ch: 'é', position: 41 });
    assert_eq!(err(&u("/21/A<B")), DlError::IllegalCharacter { ch: '<', position: 41 });
    assert_eq!(err(&u("/21/A{B")), DlError::IllegalCharacter { ch: '{', position: 41 });
    assert!(matches!(err(&u("/21/A%2")), DlError::BadPercentEncoding { .. }));
    assert!(matches!(err(&u("/21/A%zzB")), DlError::BadPercentEncoding { .. }));
    // The GS1 check digit.
    assert_eq!(
        err("https://id.gs1.org/01/09506000134353"),
        DlError::Gtin(GtinError::BadCheckDigit { expected: 2, found: 3 })
    );
    assert_eq!(err("https://id.gs1.org/01/00000000000000"), DlError::Gtin(GtinError::AllZeros));
}

#[test]
fn scheme_and_host() {
    let path = format!("/01/{G}");
    assert!(strict(&format!("http://localhost:8080{path}")).is_ok());
    assert!(strict(&format!("https://192.0.2.1{path}")).is_ok());
    assert!(strict(&format!("https://[2001:db8::1]{path}")).is_ok());
    // All capitals is accepted (GS1's syntax engine does); the stem comes back lowercase.
    let p = strict(&format!("HTTPS://id.gs1.org{path}")).unwrap();
    assert_eq!(p.stem(), "https://id.gs1.org");
    assert!(strict(&format!("HTTP://id.gs1.org{path}")).is_ok());
    for bad in ["HtTp://a", "ftp://a", "//a", "", "https:/a", "nonsense"] {
        assert_eq!(err(&format!("{bad}{path}")), DlError::InvalidScheme, "{bad}");
    }
    assert_eq!(err(&format!("https://{path}")), DlError::InvalidHost { host: String::new() });
    assert!(matches!(err(&format!("https://a_b{path}")), DlError::InvalidHost { .. }));
    assert!(matches!(err(&format!("https://user@a{path}")), DlError::InvalidHost { .. }));
    assert_eq!(err("https://a.example"), DlError::MissingPath);
    assert_eq!(err("https://a.example?01=1"), DlError::MissingPath);
    assert_eq!(err("https://a.example/"), DlError::NoPrimaryKey);
    assert_eq!(err("https://a.example/foo/bar"), DlError::NoPrimaryKey);
    assert_eq!(
        DigitalLink::parse_path("01/09506000134352", ParseMode::Strict),
        Err(DlError::NotAbsolutePath)
    );
}

#[test]
fn primary_key_from_the_right_and_stems() {
    let p =
        strict(&format!("https://example.com/some/01/other/path/info/01/{G}/21/12345")).unwrap();
    assert_eq!(p.stem(), "https://example.com/some/01/other/path/info");
    assert_eq!(p.link().serial(), Some("12345"));
    // A qualifier value that looks like an AI does not confuse the search.
    let p = strict(&format!("https://example.com/01/{G}/10/01/21/01")).unwrap();
    assert_eq!((p.link().batch(), p.link().serial()), (Some("01"), Some("01")));
    assert_eq!(p.stem(), "https://example.com");
    let p = strict(&format!("https://example.com/01/01/{G}")).unwrap();
    assert_eq!(p.stem(), "https://example.com/01");
    // Other primary keys are recognised and refused.
    for (path, key) in [
        ("/00/006141411234567890", "00"),
        ("/414/9520123456788", "414"),
        ("/8004/9520614141234567", "8004"),
        (&format!("/01/{G}/414/9520123456788") as &str, "414"),
    ] {
        assert_eq!(
            err(&format!("https://id.gs1.org{path}")),
            DlError::UnsupportedPrimaryKey { ai: key.into() },
            "{path}"
        );
    }
    // A dangling AI or a stray segment after the key.
    assert_eq!(
        err(&format!("https://a.example/01/{G}/10")),
        DlError::MissingValue { ai: "10".into() }
    );
    assert_eq!(err("https://a.example/01"), DlError::MissingValue { ai: "01".into() });
    assert_eq!(
        err(&format!("https://a.example/01/{G}/foo")),
        DlError::UnexpectedSegment { segment: "\"foo\"".into() }
    );
}

#[test]
fn lenient_mode_for_the_resolver() {
    // Trailing slash: strict rejects, lenient removes one.
    let uri = format!("https://id.gs1.org/01/{G}/10/ABC/");
    assert_eq!(err(&uri), DlError::TrailingSlash);
    let p = lenient(&uri).unwrap();
    assert_eq!(p.link().batch(), Some("ABC"));
    assert_eq!(p.leniency(), Leniency { trailing_slash: true, padded_gtin_digits: None });
    assert!(p.leniency_applied());
    assert_eq!(
        DigitalLink::parse_path(&format!("/01/{G}//"), ParseMode::Lenient),
        Err(DlError::EmptySegment)
    );
    assert!(DigitalLink::parse_path(&format!("/01/{G}/?17=261231"), ParseMode::Lenient).is_ok());
    // Zero-suppressed GTINs: strict reports them, lenient pads them.
    for (short, len) in [("9506000134352", 13), ("614141000036", 12), ("02345673", 8)] {
        let uri = format!("https://brand.example.com/01/{short}");
        assert_eq!(err(&uri), DlError::GtinNot14Digits { len }, "{short}");
        let p = lenient(&uri).unwrap();
        assert_eq!(p.link().gtin(), gtin(short));
        assert_eq!(p.leniency().padded_gtin_digits, Some(len));
    }
    let p = lenient("https://brand.example.com/some-extra/pathinfo/01/9520123456788").unwrap();
    assert_eq!(p.link().gtin().as_str(), "09520123456788");
    assert_eq!(p.stem(), "https://brand.example.com/some-extra/pathinfo");
    // Other lengths stay errors in both modes.
    assert_eq!(
        lenient("https://a.example/01/1234567890"),
        Err(DlError::Gtin(GtinError::BadLength { len: 10 }))
    );
    assert_eq!(err("https://a.example/01/1234567890"), DlError::GtinNot14Digits { len: 10 });
    // Everything else is as strict as strict mode.
    assert!(lenient(&format!("https://a.example/01/{G}/21/s/10/b")).is_err());
    assert!(lenient(&format!("https://a.example/01/{G}?99=")).is_err());
}

#[test]
fn query_parameters() {
    let p = strict(&format!(
        "https://id.gs1.org/01/{G}?&&linkType=gs1%3Apip&17=261231&flag&&context=us&foo=a+b&linkType=x&=y#frag"
    ))
    .unwrap();
    assert_eq!(p.link().attribute("17"), Some("261231"));
    assert_eq!(
        p.other_params(),
        [
            ("linkType".to_owned(), "gs1:pip".to_owned()),
            ("context".to_owned(), "us".to_owned()),
            ("foo".to_owned(), "a b".to_owned()),
            ("linkType".to_owned(), "x".to_owned()),
        ]
    );
    assert_eq!(p.other_param("linkType"), Some("gs1:pip"));
    assert_eq!(p.other_param("linktype"), None);
    // Empty query and a fragment after the path are fine.
    assert!(strict(&format!("https://a.example/01/{G}?")).is_ok());
    assert!(strict(&format!("https://a.example/01/{G}/10/abc#fragment")).is_ok());
    // Non-numeric keys are free-form, but still must be well-formed percent-encoding.
    assert!(matches!(
        err(&format!("https://a.example/01/{G}?foo=%zz")),
        DlError::BadPercentEncoding { .. }
    ));
    assert_eq!(
        err(&format!("https://a.example/01/{G}?foo=%FF")),
        DlError::InvalidUtf8 { field: "query parameter \"foo\"".into() }
    );
    // `+` is a space in the query, so it never reaches a numeric attribute as a plus.
    assert!(matches!(
        err(&format!("https://a.example/01/{G}?17=26+231")),
        DlError::InvalidAttribute { .. }
    ));
    // `;` is not a separator (GS1's engine splits on `&` only).
    assert!(matches!(
        err(&format!("https://a.example/01/{G}?17=261231;3103=000500")),
        DlError::InvalidAttribute { .. }
    ));
    // With 235 the path cannot hold a batch, so 10 is a data attribute (syntax engine test).
    let p = strict(&format!("https://id.gs1.org/01/{G}/235/XYZ?10=ABC123")).unwrap();
    assert_eq!((p.link().tpx(), p.link().attribute("10")), (Some("XYZ"), Some("ABC123")));
    assert_eq!(p.link().to_uri(p.stem()), format!("https://id.gs1.org/01/{G}/235/XYZ?10=ABC123"));
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{G}/235/XYZ?10=A~B")),
        DlError::InvalidCharacter { ai: "10".into(), ch: '~', position: 2 }
    );
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{G}/235/XYZ?21=S")),
        DlError::AttributeBelongsInPath { ai: "21".into() }
    );
}

#[test]
fn data_attribute_formats() {
    let q = |query: &str| strict(&format!("https://id.gs1.org/01/{G}?{query}"));
    for ok in [
        "17=261231",
        "17=260600",
        "11=240229",
        "13=000229",
        "15=991231",
        "16=010101",
        "7003=2612312359",
        "30=1",
        "30=12345678",
        "3103=000195",
        "3100=000001",
        "3695=123456",
        "3575=000010",
        "3370=000001",
        "17=261231&3103=000500&7003=2612310000&30=5",
    ] {
        assert!(q(ok).is_ok(), "{ok}: {:?}", q(ok));
    }
    let reason = |query: &str| match q(query) {
        Err(DlError::InvalidAttribute { reason, .. }) => reason,
        other => panic!("{query}: {other:?}"),
    };
    assert_eq!(reason("17=2601"), "must be a date YYMMDD (6 digits); got \"2601\"");
    assert_eq!(reason("17=261301"), "has month 13; months are 01–12");
    assert_eq!(reason("17=260001"), "has month 00; months are 01–12");
    assert_eq!(
        reason("17=260132"),
        "has day 32; month 01 of year 26 allows 00 (day not specified) or 01–31"
    );
    assert_eq!(
        reason("17=250229"),
        "has day 29; month 02 of year 25 allows 00 (day not specified) or 01–28"
    );
    assert_eq!(reason("15=26123A"), "must be a date YYMMDD (6 digits); got \"26123A\"");
    assert_eq!(
        reason("7003=2612310000X"),
        "must be a date and time YYMMDDHHMM (10 digits); got \"2612310000X\""
    );
    assert_eq!(reason("7003=2612000000"), "has day 00; month 12 of year 26 allows 01–31");
    assert_eq!(reason("7003=2612312400"), "has hour 24; hours are 00–23");
    assert_eq!(reason("7003=2612312360"), "has minute 60; minutes are 00–59");
    assert_eq!(reason("30=123456789"), "must be 1 to 8 digits; got \"123456789\"");
    assert_eq!(reason("30=-1"), "must be 1 to 8 digits; got \"-1\"");
    assert_eq!(reason("3103=1234567"), "must be exactly 6 digits; got \"1234567\"");
    assert_eq!(reason("3103=12345"), "must be exactly 6 digits; got \"12345\"");
    // Measures exist only with decimal indicator 0–5 and in the dictionary's families.
    for unknown in ["3106=000001", "3170=000001", "3380=000001", "3700=000001", "8200=x"] {
        assert!(matches!(q(unknown), Err(DlError::UnsupportedAttribute { .. })), "{unknown}");
    }
    // One decimal variant per measure.
    assert_eq!(
        q("3103=000500&3102=005000").unwrap_err(),
        DlError::ConflictingAttributes { ai: "3103".into(), other: "3102".into() }
    );
    assert!(q("3103=000500&3203=000500").is_ok());
    // 12 (due date) requires 8020 (payment slips): never with a GTIN.
    assert_eq!(q("12=261231").unwrap_err(), DlError::AttributeNotWithGtin { ai: "12".into() });
}

#[test]
fn builder_produces_exact_uris() {
    let g = gtin(G);
    assert_eq!(
        DigitalLink::new(g).to_uri("http://localhost:8080"),
        format!("http://localhost:8080/01/{G}")
    );
    let link = DigitalLink::builder(g)
        .serial("S/1")
        .batch("ABC")
        .cpv("2A")
        .attribute("3103", "000195")
        .expiry("261231")
        .attribute("11", "260100")
        .build()
        .unwrap();
    // Path order 22, 10, 21; attributes sorted by AI.
    assert_eq!(
        link.to_uri("https://example.com/stem/"),
        format!(
            "https://example.com/stem/01/{G}/22/2A/10/ABC/21/S%2F1?11=260100&17=261231&3103=000195"
        )
    );
    assert_eq!(
        link.path(),
        format!("/01/{G}/22/2A/10/ABC/21/S%2F1?11=260100&17=261231&3103=000195")
    );
    assert_eq!(
        link.to_canonical_uri(),
        format!("https://id.gs1.org/01/{G}/22/2A/10/ABC/21/S%2F1?11=260100&17=261231&3103=000195")
    );
    assert_eq!(link.qualifiers().collect::<Vec<_>>(), [("22", "2A"), ("10", "ABC"), ("21", "S/1")]);
    assert_eq!(
        link.attributes().collect::<Vec<_>>(),
        [("11", "260100"), ("17", "261231"), ("3103", "000195")]
    );
    assert_eq!(link.to_builder().build().unwrap(), link);
    // Every CSET 82 symbol, minimally encoded with uppercase hex.
    let link =
        DigitalLink::builder(g).batch("!\"%&'()*+,-./:;<=").serial("<=>?_Az09").build().unwrap();
    assert_eq!(
        link.path(),
        format!("/01/{G}/10/%21%22%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D/21/%3C%3D%3E%3F_Az09")
    );
    let back = DigitalLink::parse(&link.to_uri("https://example.com"), ParseMode::Strict).unwrap();
    assert_eq!(back.link(), &link);
    // GS1's sample from digital-link.js.
    let link =
        DigitalLink::builder(g).batch("ABC/1").serial("S1").expiry("261231").build().unwrap();
    assert_eq!(
        link.to_canonical_uri(),
        "https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/S1?17=261231"
    );
    // 235 alone, with a batch as a data attribute.
    let link = DigitalLink::builder(g).tpx("X".repeat(28)).attribute("10", "L1").build().unwrap();
    assert_eq!(link.path(), format!("/01/{G}/235/{}?10=L1", "X".repeat(28)));
}

#[test]
fn builder_rejects_instead_of_mangling() {
    let b = || DigitalLink::builder(gtin(G));
    assert_eq!(b().batch("").build(), Err(DlError::EmptyValue { ai: "10".into() }));
    assert_eq!(
        b().serial("x".repeat(21)).build(),
        Err(DlError::TooLong { ai: "21".into(), max: 20, len: 21 })
    );
    assert_eq!(
        b().cpv("a b").build(),
        Err(DlError::InvalidCharacter { ai: "22".into(), ch: ' ', position: 2 })
    );
    assert_eq!(
        b().batch("naïve").build(),
        Err(DlError::InvalidCharacter { ai: "10".into(), ch: 'ï', position: 3 })
    );
    assert_eq!(
        b().tpx("T").batch("B").build(),
        Err(DlError::TpxWithQualifier { other: "10".into() })
    );
    assert_eq!(
        b().tpx("T").cpv("V").build(),
        Err(DlError::TpxWithQualifier { other: "22".into() })
    );
    assert_eq!(
        b().attribute("10", "B").build(),
        Err(DlError::AttributeBelongsInPath { ai: "10".into() })
    );
    assert_eq!(
        b().attribute("21", "S").build(),
        Err(DlError::AttributeBelongsInPath { ai: "21".into() })
    );
    assert_eq!(
        b().batch("B").attribute("10", "B").build(),
        Err(DlError::DuplicateAi { ai: "10".into() })
    );
    assert_eq!(b().attribute("01", G).build(), Err(DlError::DuplicateAi { ai: "01".into() }));
    assert_eq!(
        b().expiry("261231").attribute("17", "261230").build(),
        Err(DlError::DuplicateAi { ai: "17".into() })
    );
    assert_eq!(
        b().attribute("99", "x").build(),
        Err(DlError::UnsupportedAttribute { ai: "99".into() })
    );
    assert_eq!(
        b().attribute("linkType", "gs1:pip").build(),
        Err(DlError::InvalidAttributeKey { key: "linkType".into() })
    );
    assert_eq!(
        b().attribute("", "x").build(),
        Err(DlError::InvalidAttributeKey { key: String::new() })
    );
    assert_eq!(b().expiry("").build(), Err(DlError::EmptyValue { ai: "17".into() }));
    assert!(matches!(b().expiry("261331").build(), Err(DlError::InvalidAttribute { .. })));
}

#[test]
fn error_messages_name_the_field_and_what_is_allowed() {
    let msg = |uri: &str| err(uri).to_string();
    let u = |tail: &str| format!("https://id.gs1.org/01/{G}{tail}");
    assert_eq!(
        msg(&u("/10/ABCDEFGHIJKLMNOPQRSTU")),
        "AI 10 (batch/lot) is 21 characters long; at most 20 are allowed"
    );
    assert_eq!(
        msg(&u("/10/AB~C")),
        "AI 10 (batch/lot) contains '~' at position 3, which is not in GS1's 82-character set \
         (letters, digits and !\"%&'()*+,-./:;<=>?_)"
    );
    assert_eq!(
        msg(&u("/21/s/10/b")),
        "AI 10 (batch/lot) must not come after AI 21 (serial number): GTIN qualifiers go in the \
         order 22, 10, 21"
    );
    assert_eq!(
        msg(&u("/22/v/235/t")),
        "AI 235 (third-party controlled serial number) cannot be combined with AI 22 (consumer \
         product variant) in the path: a GTIN takes 22, 10, 21 or 235 alone"
    );
    assert_eq!(
        msg(&u("/17/261231")),
        "AI 17 (expiration date) is a data attribute: put it in the query (?17=…), not in the path"
    );
    assert_eq!(
        msg(&u("?10=ABC")),
        "AI 10 (batch/lot) belongs in the path (/10/…), not in the query string"
    );
    assert_eq!(
        msg(&u("?999=x")),
        "AI 999 is not a supported data attribute; supported: 11, 13, 15, 16, 17 (dates YYMMDD), \
         7003 (date and time YYMMDDHHMM), 30 (count) and the measures 310n–369n (6 digits); 10 \
         only together with 235"
    );
    assert_eq!(msg(&u("?17=261231&17=261231")), "AI 17 (expiration date) appears more than once");
    assert_eq!(msg(&u("?17=261301")), "AI 17 (expiration date) has month 13; months are 01–12");
    assert_eq!(
        msg(&u("/")),
        "a GS1 Digital Link URI must not end with '/' (remove the trailing slash)"
    );
    assert_eq!(
        msg("https://id.gs1.org/01/9506000134352"),
        "AI 01 (GTIN) in a Digital Link URI must be exactly 14 digits (pad a GTIN-8, -12 or -13 \
         with leading zeros); got 13"
    );
    assert_eq!(
        msg("https://id.gs1.org/01/09506000134353"),
        "AI 01 (GTIN): GTIN check digit is wrong: expected 2, found 3"
    );
    assert_eq!(
        msg("https://id.gs1.org/01/0950600013435x"),
        "AI 01 (GTIN) must contain only digits; found 'x' at position 14"
    );
    assert_eq!(
        msg("https://id.gs1.org/414/9520123456788"),
        "primary key AI 414 (GLN of a physical location) is not supported: prodlink only serves \
         GTINs (/01/{gtin})"
    );
    assert_eq!(
        msg(&u("/21/A B")),
        "character ' ' at position 42 is not allowed in a URI; it must be percent-encoded"
    );
    assert_eq!(
        msg(&u("/21/A%2")),
        "malformed percent-encoding \"%2\" in AI 21 (serial number): '%' must be followed by two \
         hexadecimal digits"
    );
    assert_eq!(msg(&u("/21/A%00")), "AI 21 (serial number) contains %00, which is not allowed");
    assert_eq!(
        msg(&u("?3103=000500&3102=005000")),
        "AI 3103 (net weight (kg), 3 decimal places) conflicts with AI 3102 (net weight (kg), 2 \
         decimal places): give each measure once, with one decimal position"
    );
    assert_eq!(
        msg(&u("?12=261231")),
        "AI 12 (due date) cannot be used with a GTIN: GS1 allows it only with a payment slip \
         reference (AI 8020)"
    );
    assert_eq!(
        msg("https://a.example/foo"),
        "no GS1 primary key found in the path; expected /01/{14-digit GTIN}"
    );
    assert_eq!(
        msg("ftp://a.example/01/09506000134352"),
        "a GS1 Digital Link URI must start with http:// or https://"
    );
}

#[test]
fn percent_decoding_accepts_any_hex_case() {
    let p = strict(&format!("https://a.example/01/{G}/22/ABC%2d123/10/a%2fb%2F")).unwrap();
    assert_eq!((p.link().cpv(), p.link().batch()), (Some("ABC-123"), Some("a/b/")));
    // `+` in the path is a literal plus (GS1 syntax engine test).
    let p = strict(&format!("https://a.example/01/{G}/22/ABC+123")).unwrap();
    assert_eq!(p.link().cpv(), Some("ABC+123"));
    assert_eq!(p.link().path(), format!("/01/{G}/22/ABC%2B123"));
    // Raw sub-delimiters are legal in a path and in CSET 82.
    let p = strict(&format!("https://a.example/01/{G}/21/a!b'c(d)e*f,g;h:i=j&")).unwrap();
    assert_eq!(p.link().serial(), Some("a!b'c(d)e*f,g;h:i=j&"));
}

#[test]
fn engine_examples_from_the_dl_specification() {
    for uri in [
        "https://id.gs1.org/01/09520123456788",
        "https://id.gs1.org/01/09520123456788/22/2A",
        "https://id.gs1.org/01/09520123456788/10/ABC123",
        "https://id.gs1.org/01/09520123456788/21/12345",
        "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426",
        "https://id.gs1.org/01/09520123456788?3103=000195",
        "https://id.gs1.org/01/09520123456788?17=201225&3103=000195",
        "https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ",
        "https://a/01/12312312312333/235/TEST",
        "https://xn--fsq.xn--0zwm56d/01/12312312312333",
        "https://a./01/12312312312333",
        "https://a:65535/01/12312312312333",
        "https://a/01/12312312312333/22/test/10/abc/21/xyz#",
    ] {
        assert!(strict(uri).is_ok(), "{uri}: {:?}", strict(uri));
    }
}
