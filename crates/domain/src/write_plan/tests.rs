//! Unit tests of the write planner.

use std::collections::HashMap;

use gs1::Gtin14;

use super::*;
use crate::iso::CurrencyCode;
use crate::model::{DataSource, MetadataPatch, Patch, ProductWrite, RuleTarget};

fn metadata(pairs: &[(&str, &str)]) -> MetadataPatch {
    MetadataPatch::new(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()).unwrap()
}

fn product(name: Option<&str>) -> ProductWrite {
    let mut w = ProductWrite::new(Gtin14::parse("95012346").unwrap(), DataSource::Manual);
    if let Some(n) = name {
        w.name = Patch::Set(n.to_owned());
    }
    w
}

fn stored_product() -> StoredProduct {
    StoredProduct {
        id: 7,
        source_hash: Some("old".into()),
        fields: ProductFields {
            name: "Stored".into(),
            brand_id: Some(3),
            category_id: Some("en:snacks".into()),
            description: Some("Kept".into()),
            net_content: None,
            country_of_origin: Some("CH".into()),
            image_url: None,
            metadata: r#"{"a":"1","b":"2"}"#.into(),
        },
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        category_path: "en:snacks".into(),
        labels: String::new(),
    }
}

#[test]
fn metadata_merges_deletes_and_reports_which_side_is_bad() {
    let merged =
        merge_metadata(Some(r#"{"a":"1","b":"2"}"#), &metadata(&[("a", ""), ("c", "3")])).unwrap();
    assert_eq!(merged.to_json(), r#"{"b":"2","c":"3"}"#);
    assert_eq!(merge_metadata(None, &metadata(&[])).unwrap().to_json(), "{}");
    let bad = merge_metadata(Some("[1]"), &metadata(&[])).unwrap_err();
    assert!(bad.starts_with("stored metadata: "), "{bad}");
    let full: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
    let stored = Metadata::try_from_map(full.into_iter().collect()).unwrap().to_json();
    let over = merge_metadata(Some(&stored), &metadata(&[("one", "more")])).unwrap_err();
    assert!(over.starts_with("metadata: metadata has 51 keys"), "{over}");
}

#[test]
fn products_are_checked_then_merged_into_the_stored_row() {
    let nameless = product(None);
    assert!(matches!(
        check_product(&nameless, None),
        Some(WriteOutcome::Rejected(r)) if r == "name: a new product needs a name"
    ));
    assert_eq!(check_product(&nameless, Some(&stored_product())), None);
    let mut same = stored_product();
    same.source_hash = Some(nameless.digest().to_owned());
    assert_eq!(check_product(&nameless, Some(&same)), Some(WriteOutcome::Unchanged));

    let mut w = product(Some("  New name "));
    w.brand = Patch::Set(" ACME  Foods".into());
    w.description = Patch::Set("   ".into());
    w.country_of_origin = Patch::Clear;
    w.metadata = metadata(&[("b", ""), ("c", "3")]);
    let brands = HashMap::from([("acme foods".to_owned(), 11)]);
    let row = merge_product(&w, Some(&stored_product()), &brands).unwrap();
    assert_eq!(row.stored_id, Some(7));
    assert_eq!((row.fields.name.as_str(), row.fields.brand_id), ("New name", Some(11)));
    assert_eq!(row.fields.category_id.as_deref(), Some("en:snacks"));
    assert_eq!((row.fields.description, row.fields.country_of_origin), (None, None));
    assert_eq!(row.fields.metadata, r#"{"a":"1","c":"3"}"#);
    assert_eq!(row.source_hash, w.digest());

    let batch = [product(Some("A")), nameless, product(Some("C"))];
    let mut plan = ProductPlan::new(&batch);
    plan.skip_unchanged(&HashMap::new());
    plan.check(&HashMap::new());
    assert_eq!(plan.pending().count(), 2);
    let rows = plan.merge(&HashMap::new(), &HashMap::new());
    assert_eq!(rows.len(), 2);
    let children = ChildRows::collect(&rows, &[1, 2]);
    assert!(children.gone_images.is_empty() && children.images.is_empty());
    let out = plan.outcomes();
    assert_eq!(out[0], WriteOutcome::Inserted);
    assert!(matches!(out[1], WriteOutcome::Rejected(_)));
}

#[test]
fn offers_keep_left_out_fields_and_recognize_unchanged_writes() {
    let o = OfferWrite {
        gtin: Gtin14::parse("95012346").unwrap(),
        retailer: " Acme ".into(),
        store_ref: "s1".into(),
        price_minor: 349,
        currency: CurrencyCode::parse("USD").unwrap(),
        inventory_status: None,
        active: None,
        metadata: MetadataPatch::default(),
    };
    let stored = StoredOffer {
        id: 5,
        price_minor: 349,
        currency: "USD".into(),
        inventory_status: "low_stock".into(),
        active: false,
        metadata: "{}".into(),
    };
    assert!(matches!(plan_offer(&o, 1, 2, Some(&stored)), Decision::Done(WriteOutcome::Unchanged)));
    let Decision::Write(row) = plan_offer(&o, 1, 2, None) else { panic!("a new offer") };
    assert_eq!((row.stored_id, row.status, row.active), (None, "unknown", true));
    let retailers = HashMap::from([("Acme".to_owned(), 9)]);
    let stores = HashMap::from([((9, "s1".to_owned()), 2)]);
    assert!(
        offer_target(&o, &retailers, &stores, &HashMap::new()).unwrap_err().starts_with("gtin: ")
    );
    let products = HashMap::from([("00000095012346".to_owned(), 1)]);
    assert_eq!(offer_target(&o, &retailers, &stores, &products), Ok((1, 2)));
}

#[test]
fn rule_scopes_and_outcomes() {
    let g = Gtin14::parse("95012346").unwrap();
    let RuleLookup::Ready(s) = RuleScope::of(&RuleTarget::Serial(g, "S1".into())) else {
        panic!("a serial rule needs no lookup")
    };
    assert_eq!((s.key.as_str(), s.qualifier.as_deref()), ("00000095012346/21/S1", Some("S1")));
    let target = RuleTarget::Brand(" Acme  Foods".into());
    let brand = RuleScope::of(&target);
    assert!(matches!(&brand, RuleLookup::Brand { name_key, .. } if name_key == "acme foods"));
    assert!(
        matches!(brand.unknown(), WriteOutcome::Rejected(r) if r.starts_with("brand: no brand"))
    );
    assert_eq!(RuleScope::brand(4).key, "brand:4");
    assert_eq!(RuleRow::outcome(true, 0), WriteOutcome::Unchanged);
    assert_eq!(RuleRow::outcome(false, 0), WriteOutcome::Inserted);
}
