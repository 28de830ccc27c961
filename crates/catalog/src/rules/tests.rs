//! Unit tests of `catalog/src/rules.rs`.

#![allow(clippy::unwrap_used)]
use super::*;

fn record(id: i64, scope: &str, order: i64) -> RuleRecord {
    RuleRecord {
        id,
        scope: scope.into(),
        order_index: order,
        enabled: true,
        link_type: None,
        destination_type: "CUSTOM_URL".into(),
        custom_url: Some(format!("https://brand.example/{id}")),
        on_custom_url_dead: "FALLBACK_TO_HOSTED".into(),
        starts_at: None,
        ends_at: None,
        annual_start: None,
        annual_end: None,
        days_of_week: None,
        time_start: None,
        time_end: None,
        time_zone: None,
        countries: None,
        languages: None,
        url_status: "alive".into(),
        title: None,
    }
}

fn at(s: &str) -> RequestContext {
    RequestContext::at(s.parse().unwrap())
}

fn holds(r: RuleRecord, ctx: &RequestContext) -> bool {
    Rule::parse(&r).unwrap().criteria.hold(ctx)
}

#[test]
fn most_specific_scope_then_lowest_order_wins() {
    let rules: Vec<Rule> = [
        record(1, "GLOBAL", 0),
        record(2, "BRAND", 5),
        record(3, "BRAND", 1),
        record(4, "PRODUCT", 9),
    ]
    .iter()
    .map(|r| Rule::parse(r).unwrap())
    .collect();
    let ctx = at("2026-06-01T12:00:00Z");
    assert_eq!(choose(&rules, None, &ctx).unwrap().rule_id, 4);
    assert_eq!(choose(&rules[..3], None, &ctx).unwrap().rule_id, 3);
    assert_eq!(choose(&rules[..1], None, &ctx).unwrap().scope, RuleScope::Global);
    assert_eq!(choose(&[], None, &ctx), None);
}

#[test]
fn link_types_are_separate() {
    let mut recall = record(1, "PRODUCT", 0);
    recall.link_type = Some("gs1:recallStatus".into());
    let rules = vec![Rule::parse(&recall).unwrap(), Rule::parse(&record(2, "GLOBAL", 0)).unwrap()];
    let ctx = at("2026-06-01T12:00:00Z");
    assert_eq!(
        choose(&rules, None, &ctx).unwrap().rule_id,
        2,
        "the default link ignores typed rules"
    );
    assert_eq!(choose(&rules, Some("gs1:recallStatus"), &ctx).unwrap().rule_id, 1);
    assert_eq!(choose(&rules, Some("gs1:pip"), &ctx), None);
}

#[test]
fn dead_urls_skip_or_fall_back() {
    let mut skip = record(1, "PRODUCT", 0);
    skip.url_status = "dead".into();
    skip.on_custom_url_dead = "SKIP_RULE".into();
    let mut fallback = record(2, "PRODUCT", 1);
    fallback.url_status = "dead".into();
    let ctx = at("2026-06-01T12:00:00Z");
    let rules = vec![Rule::parse(&skip).unwrap(), Rule::parse(&fallback).unwrap()];
    let d = choose(&rules, None, &ctx).unwrap();
    assert_eq!((d.rule_id, d.destination, d.custom_url), (2, DestinationType::HostedPage, None));
    let mut alive = record(3, "PRODUCT", 0);
    alive.url_status = "unknown".into();
    let d = choose(&[Rule::parse(&alive).unwrap()], None, &ctx).unwrap();
    assert_eq!(
        d.custom_url.as_deref(),
        Some("https://brand.example/3"),
        "unchecked URLs are followed"
    );
}

#[test]
fn absolute_window_is_half_open() {
    let mut r = record(1, "PRODUCT", 0);
    r.starts_at = Some("2026-03-01T00:00:00Z".into());
    r.ends_at = Some("2026-04-01T00:00:00Z".into());
    assert!(!holds(r.clone(), &at("2026-02-28T23:59:59Z")));
    assert!(holds(r.clone(), &at("2026-03-01T00:00:00Z")));
    assert!(holds(r.clone(), &at("2026-03-31T23:59:59Z")));
    assert!(!holds(r, &at("2026-04-01T00:00:00Z")));
}

#[test]
fn annual_window_wraps_the_year_in_the_rules_zone() {
    let mut r = record(1, "PRODUCT", 0);
    r.annual_start = Some("12-01".into());
    r.annual_end = Some("01-15".into());
    assert!(holds(r.clone(), &at("2026-12-24T12:00:00Z")));
    assert!(holds(r.clone(), &at("2027-01-15T12:00:00Z")));
    assert!(!holds(r.clone(), &at("2027-01-16T12:00:00Z")));
    assert!(!holds(r.clone(), &at("2026-11-30T12:00:00Z")));
    // 30 Nov 23:30 UTC is already 1 Dec in Tokyo.
    r.time_zone = Some("Asia/Tokyo".into());
    assert!(holds(r, &at("2026-11-30T23:30:00Z")));
    let mut summer = record(2, "PRODUCT", 0);
    summer.annual_start = Some("06-01".into());
    summer.annual_end = Some("08-31".into());
    assert!(holds(summer.clone(), &at("2026-07-04T00:00:00Z")));
    assert!(!holds(summer, &at("2026-12-04T00:00:00Z")));
}

#[test]
fn days_and_hours_in_a_named_zone() {
    // Weekdays 09:00–17:00 in New York.
    let mut r = record(1, "PRODUCT", 0);
    r.days_of_week = Some(0b001_1111);
    r.time_start = Some("09:00".into());
    r.time_end = Some("17:00".into());
    r.time_zone = Some("America/New_York".into());
    // Monday 2026-06-01 14:00 UTC = 10:00 EDT.
    assert!(holds(r.clone(), &at("2026-06-01T14:00:00Z")));
    // 21:30 UTC = 17:30 EDT: after hours.
    assert!(!holds(r.clone(), &at("2026-06-01T21:30:00Z")));
    // Saturday.
    assert!(!holds(r.clone(), &at("2026-06-06T14:00:00Z")));
    // Tuesday 02:00 UTC is still Monday 22:00 in New York, after hours; a night window
    // that wraps midnight includes it.
    r.time_start = Some("22:00".into());
    r.time_end = Some("06:00".into());
    assert!(holds(r.clone(), &at("2026-06-02T02:00:00Z")));
    assert!(!holds(r, &at("2026-06-02T12:00:00Z")));
}

#[test]
fn countries_and_languages() {
    let mut r = record(1, "PRODUCT", 0);
    r.countries = Some(r#"["us","CA"]"#.into());
    let t: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let ctx = |c: Option<&str>, al: Option<&str>| RequestContext::from_request(t, c, al);
    assert!(holds(r.clone(), &ctx(Some("ca"), None)));
    assert!(
        !holds(r.clone(), &ctx(Some("FR"), Some("en-US"))),
        "the header wins over the language"
    );
    assert!(holds(r.clone(), &ctx(None, Some("fr-CA,fr;q=0.8"))), "region from Accept-Language");
    assert!(!holds(r, &ctx(None, Some("en"))), "no country known: no match");
    let mut l = record(2, "PRODUCT", 0);
    l.languages = Some(r#"["pt","fr-CA"]"#.into());
    assert!(holds(l.clone(), &ctx(None, Some("pt-BR"))));
    assert!(holds(l.clone(), &ctx(None, Some("de;q=0.9, fr-CA;q=0.5"))));
    assert!(!holds(l.clone(), &ctx(None, Some("fr-FR"))));
    assert!(!holds(l.clone(), &ctx(None, Some("pt;q=0"))), "q=0 means not acceptable");
    assert!(!holds(l, &ctx(None, None)));
}

#[test]
fn accept_language_is_ordered_by_quality() {
    let t: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let c = RequestContext::from_request(t, None, Some("fr;q=0.5, en-GB, de;q=0.9, *;q=0.1"));
    assert_eq!(c.languages, ["en-gb", "de", "fr"]);
    assert_eq!(c.country.as_deref(), Some("GB"));
}

#[test]
fn broken_rules_are_reported() {
    let mut r = record(7, "PRODUCT", 0);
    r.time_zone = Some("Mars/Olympus".into());
    let e = Rule::parse(&r).unwrap_err();
    assert_eq!(e.id, 7);
    assert!(e.reason.contains("Mars/Olympus"), "{e}");
}

fn lang(id: i64, scope: &str, order: i64, languages: Option<&str>) -> Rule {
    let mut r = record(id, scope, order);
    r.languages = languages.map(str::to_owned);
    Rule::parse(&r).unwrap()
}

fn winner(rules: &[Rule], accept_language: Option<&str>) -> Option<i64> {
    let t: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let c = RequestContext::from_request(t, None, accept_language);
    choose(rules, None, &c).map(|d| d.rule_id)
}

#[test]
fn languages_are_negotiated_within_a_scope() {
    // One link in three languages: the request's most preferred language that a rule
    // serves wins, whatever the rules' order.
    let rules = [
        lang(1, "PRODUCT", 0, Some(r#"["en"]"#)),
        lang(2, "PRODUCT", 1, Some(r#"["fr"]"#)),
        lang(3, "PRODUCT", 2, Some(r#"["pt"]"#)),
    ];
    assert_eq!(winner(&rules, Some("fr, en;q=0.5")), Some(2));
    assert_eq!(winner(&rules, Some("en;q=0.4, fr;q=0.9")), Some(2));
    assert_eq!(winner(&rules, Some("de, en;q=0.5")), Some(1), "de is served by nobody");
    assert_eq!(winner(&rules, Some("pt-BR")), Some(3), "BCP 47 lookup: pt serves pt-BR");
    assert_eq!(winner(&rules, Some("ja")), None, "no language served: no rule applies");
    assert_eq!(winner(&rules, None), None);
    // A language-neutral rule is the fallback when the request's languages are not served
    // — and, being first by order_index, it wins outright where it comes first.
    let mut with_neutral = rules.to_vec();
    with_neutral.push(lang(4, "PRODUCT", 9, None));
    assert_eq!(winner(&with_neutral, Some("ja")), Some(4));
    assert_eq!(winner(&with_neutral, None), Some(4));
    assert_eq!(winner(&with_neutral, Some("fr")), Some(2));
    let first_neutral = [lang(5, "PRODUCT", 0, None), lang(6, "PRODUCT", 1, Some(r#"["fr"]"#))];
    assert_eq!(winner(&first_neutral, Some("fr")), Some(5), "order_index decides first");
    // The rule's region-specific language serves only that region.
    let regional =
        [lang(7, "PRODUCT", 0, Some(r#"["en-gb"]"#)), lang(8, "PRODUCT", 1, Some(r#"["en"]"#))];
    assert_eq!(winner(&regional, Some("en-GB")), Some(7));
    assert_eq!(winner(&regional, Some("en-US")), Some(8));
    assert_eq!(winner(&regional, Some("en-US, en-GB;q=0.5")), Some(8));
}

#[test]
fn the_most_specific_scope_decides_before_languages() {
    // The product's own French link beats the brand's English one even for a request that
    // prefers English: the most specific scope offering any served language decides.
    let rules = [lang(1, "BRAND", 0, Some(r#"["en"]"#)), lang(2, "PRODUCT", 0, Some(r#"["fr"]"#))];
    assert_eq!(winner(&rules, Some("en, fr;q=0.5")), Some(2));
    assert_eq!(winner(&rules, Some("en")), Some(1), "the product scope serves no en");
}

#[test]
fn decisions_carry_title_and_languages() {
    let mut r = record(1, "PRODUCT", 0);
    r.languages = Some(r#"["fr","fr-CA"]"#.into());
    r.title = Some("Informations produit".into());
    let rules = [Rule::parse(&r).unwrap()];
    let t: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let d = choose(&rules, None, &RequestContext::from_request(t, None, Some("fr-CA"))).unwrap();
    assert_eq!(d.title.as_deref(), Some("Informations produit"));
    assert_eq!(d.languages, Some(vec!["fr".to_owned(), "fr-ca".to_owned()]));
}
