//! Unit tests of `catalog/src/rules_admin.rs`.

#![allow(clippy::unwrap_used)]
use super::*;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn fields(e: ServiceError) -> Vec<(String, String)> {
    e.field_errors().iter().map(|f| (f.field.clone(), f.message.clone())).collect()
}

fn names(e: ServiceError) -> Vec<String> {
    fields(e).into_iter().map(|(f, _)| f).collect()
}

#[test]
fn a_complete_rule_validates() {
    let d = validate(&obj(json!({
        "scope": "BATCH", "gtin": "9506000134352", "batch": "LOT-9",
        "link_type": "https://ref.gs1.org/voc/recallStatus",
        "custom_url": "https://brand.example/recall", "countries": ["us", "CA"],
        "annual_start": "12-01", "annual_end": "01-15", "days_of_week": ["mon", "fri"],
        "time_start": "09:00", "time_end": "17:00", "time_zone": "America/New_York",
        "languages": ["pt-BR"], "title": "Recall", "metadata": {"campaign": "x"},
        "enabled": false, "order_index": 3
    })))
    .unwrap();
    assert_eq!(d.scope.key(), "09506000134352/10/LOT-9");
    assert_eq!(d.order_index, Some(3));
    assert_eq!(d.write.link_type.as_deref(), Some("gs1:recallStatus"));
    assert_eq!(d.write.countries, Some(vec!["US".to_owned(), "CA".to_owned()]));
    assert_eq!(d.write.days_of_week, Some(0b1_0001));
    assert!(!d.write.enabled);
    let c = d.columns();
    assert_eq!((c.scope, c.destination_type), ("BATCH", "CUSTOM_URL"));
    assert_eq!(c.metadata, r#"{"campaign":"x"}"#);
    let brand = validate(&obj(json!({"scope": "BRAND", "brand_id": 4}))).unwrap();
    assert_eq!(brand.scope.key(), "brand:4");
    assert_eq!(brand.order_index, None);
    assert_eq!(brand.columns().brand_id, Some(4));
}

#[test]
fn every_wrong_field_is_named() {
    let e = validate(&obj(json!({
        "scope": "PRODUCT", "gtin": "9506000134353",
        "annual_start": "13-01", "annual_end": "01-15",
        "time_zone": "Mars/Olympus", "countries": ["XX"],
        "custom_url": "ftp://brand.example", "languages": ["english!"],
        "starts_at": "yesterday", "title": "a\nb", "metadata": {"k": ""}
    })))
    .unwrap_err();
    let got = names(e);
    for f in [
        "gtin",
        "annual_start",
        "time_zone",
        "countries",
        "custom_url",
        "languages",
        "starts_at",
        "title",
        "metadata",
    ] {
        assert!(got.contains(&f.to_owned()), "{f} in {got:?}");
    }
    let e =
        validate(&obj(json!({"scope": "PRODUCT", "destination_type": "CUSTOM_URL"}))).unwrap_err();
    assert_eq!(
        fields(e),
        [
            ("gtin".to_owned(), "is required for PRODUCT rules".to_owned()),
            ("custom_url".to_owned(), "required when destination_type is CUSTOM_URL".to_owned())
        ]
    );
    let e = validate(&obj(json!({"scope": "BRAND", "brand_id": 3, "gtin": "9506000134352"})))
        .unwrap_err();
    assert_eq!(names(e), ["gtin"]);
    let e = validate(&obj(json!({"gtin": "9506000134352"}))).unwrap_err();
    assert_eq!(names(e), ["scope"]);
}

#[test]
fn types_unknown_and_read_only_fields_are_refused_by_name() {
    let e = validate(&obj(json!({
        "scope": "SOMEWHERE", "enabled": "yes", "order_index": -1, "bogus": 1, "id": 4,
        "days_of_week": ["someday"], "brand_id": "x"
    })))
    .unwrap_err();
    let f = fields(e);
    let by = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, m)| m.clone()).unwrap();
    assert!(by("scope").contains("unknown variant `SOMEWHERE`"), "{f:?}");
    assert!(by("enabled").contains("expected a boolean"), "{f:?}");
    assert!(by("order_index").contains("-1"), "{f:?}");
    assert!(by("bogus").starts_with("is not a field here"), "{f:?}");
    assert_eq!(by("id"), "is read-only");
    assert!(by("days_of_week").contains("someday"), "{f:?}");
    assert!(by("brand_id").contains("expected i64"), "{f:?}");
    let e = validate(&obj(json!({"scope": null, "enabled": null}))).unwrap_err();
    assert_eq!(names(e), ["enabled", "scope"]);
}

fn stored() -> ManagedRule {
    ManagedRule {
        id: 7,
        scope: ScopeKind::Product,
        gtin: Some("09506000134352".into()),
        batch: None,
        serial: None,
        brand_id: None,
        organization_id: None,
        order_index: 2,
        enabled: true,
        link_type: None,
        destination_type: Destination::CustomUrl,
        custom_url: Some("https://brand.example/a".into()),
        on_custom_url_dead: OnDeadUrl::SkipRule,
        title: Some("T".into()),
        starts_at: None,
        ends_at: None,
        annual_start: None,
        annual_end: None,
        days_of_week: Some(vec![Weekday::Sat, Weekday::Sun]),
        time_start: None,
        time_end: None,
        time_zone: None,
        countries: Some(vec!["US".into()]),
        languages: None,
        metadata: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
        url_status: "alive".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
    }
}

#[test]
fn patches_merge_into_the_stored_rule() {
    let current = stored();
    let d = patched(&current, &obj(json!({"enabled": false}))).unwrap();
    assert!(!d.write.enabled);
    assert_eq!(d.order_index, Some(2));
    assert_eq!(d.write.custom_url.as_deref(), Some("https://brand.example/a"));
    assert_eq!(d.write.on_custom_url_dead, "SKIP_RULE");
    assert_eq!(d.write.days_of_week, Some(0b110_0000));
    assert_eq!(d.write.title.as_deref(), Some("T"));
    // null clears; clearing the URL makes it a hosted-page rule.
    let d = patched(&current, &obj(json!({"custom_url": null, "countries": null}))).unwrap();
    assert_eq!(d.columns().destination_type, "HOSTED_PAGE");
    assert_eq!(d.write.countries, None);
    // A scope change drops the old identifiers.
    let d = patched(&current, &obj(json!({"scope": "BRAND", "brand_id": 9}))).unwrap();
    assert_eq!(d.scope.key(), "brand:9");
    let e = patched(&current, &obj(json!({"destination_type": "HOSTED_PAGE"}))).unwrap_err();
    assert_eq!(names(e), ["custom_url"]);
    let e = patched(&current, &obj(json!({"url_status": "dead"}))).unwrap_err();
    assert_eq!(names(e), ["url_status"]);
}

#[test]
fn entity_tags_follow_the_representation() {
    let a = stored();
    let mut b = stored();
    assert_eq!(a.etag(), b.etag());
    b.enabled = false;
    assert_ne!(a.etag(), b.etag());
    assert!(if_match_admits(&a.etag(), &a.etag()));
    assert!(if_match_admits(&format!("\"x\", {}", a.etag()), &a.etag()));
    assert!(if_match_admits("*", &a.etag()));
    assert!(!if_match_admits(&format!("W/{}", a.etag()), &a.etag()));
    assert!(!if_match_admits(&b.etag(), &a.etag()));
}

#[test]
fn reorders_name_every_rule_once() {
    let (scope, ids) = reorder_request(&obj(json!({
        "scope": "PRODUCT", "gtin": "9506000134352", "rule_ids": [3, 1, 2]
    })))
    .unwrap();
    assert_eq!((scope.key(), ids), ("09506000134352", vec![3, 1, 2]));
    let e = reorder_request(&obj(
        json!({"scope": "PRODUCT", "gtin": "9506000134352", "rule_ids": [1, 1]}),
    ))
    .unwrap_err();
    assert_eq!(names(e), ["rule_ids"]);
    let e = reorder_request(&obj(json!({"scope": "BRAND"}))).unwrap_err();
    assert_eq!(names(e), ["brand_id", "rule_ids"]);
    assert_eq!(reorder_mismatch(&[1, 2], &[2, 1]), None);
    let Some(RuleRefusal::Invalid(e)) = reorder_mismatch(&[1, 2], &[2, 5]) else {
        panic!("a mismatch")
    };
    assert!(e.message.contains("missing 1") && e.message.contains("5"), "{e:?}");
}
