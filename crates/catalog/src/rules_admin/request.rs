//! What a client sends to manage rules and how it is checked: the request bodies
//! ([`NewRule`], [`RulePatch`], [`ReorderRules`]) and their validation, one `errors[]` entry per
//! wrong field (the criteria through the rule importer's own checks), into a [`RuleDraft`] or
//! a reorder.

use std::collections::{BTreeMap, BTreeSet};

use gs1::Gtin14;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{
    Destination, ManagedRule, OnDeadUrl, READ_ONLY, RuleDraft, ScopeKind, ScopeRef, Weekday,
};
use crate::error::{FieldError, ServiceError};
use crate::import::records::Record;
use crate::model::{Metadata, MetadataPatch, RuleTarget, RuleWrite};
use crate::write_plan::{RuleLookup, RuleScope as ScopeRow};

/// The identifiers that name a scope's instance; which are required depends on the scope.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ScopeTarget {
    /// The product (any GTIN form) of SERIAL, BATCH and PRODUCT rules; it must belong to one
    /// of the organization's brands.
    #[schemars(length(min = 1, max = 64))]
    pub gtin: Option<String>,
    /// The batch/lot (GS1 AI 10) of BATCH rules.
    #[schemars(length(min = 1, max = 20))]
    pub batch: Option<String>,
    /// The serial number (GS1 AI 21) of SERIAL rules.
    #[schemars(length(min = 1, max = 20))]
    pub serial: Option<String>,
    /// The brand of BRAND rules: one of the organization's brands.
    #[schemars(range(min = 1))]
    pub brand_id: Option<i64>,
    /// The organization of ORGANIZATION rules: the caller's.
    #[schemars(range(min = 1))]
    pub organization_id: Option<i64>,
}

/// A rule's writable fields besides its scope.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct RuleFields {
    /// The scope's instance.
    #[serde(flatten)]
    pub target: ScopeTarget,
    /// Position within the scope (unique there); default: after the scope's last rule.
    pub order_index: Option<u32>,
    /// Whether it takes part (default true).
    pub enabled: Option<bool>,
    /// A GS1 link type as a CURIE or URI (`gs1:pip`); omit for the default link.
    #[schemars(length(min = 1, max = 200))]
    pub link_type: Option<String>,
    /// Default: `CUSTOM_URL` when `custom_url` is given, else `HOSTED_PAGE`.
    pub destination_type: Option<Destination>,
    /// An http(s) URL (at most 2000 characters); required for `CUSTOM_URL`, refused for
    /// `HOSTED_PAGE`.
    #[schemars(length(min = 1, max = 2000))]
    pub custom_url: Option<String>,
    /// Default `FALLBACK_TO_HOSTED`.
    pub on_custom_url_dead: Option<OnDeadUrl>,
    /// The link's human-readable title (at most 200 characters, one line).
    #[schemars(length(min = 1, max = 200))]
    pub title: Option<String>,
    /// RFC 3339 start of the absolute window.
    pub starts_at: Option<String>,
    /// RFC 3339 end (exclusive), after `starts_at`.
    pub ends_at: Option<String>,
    /// `MM-DD` first day of the annual window; with `annual_end`.
    #[schemars(regex(pattern = r"^\d\d-\d\d$"))]
    pub annual_start: Option<String>,
    /// `MM-DD` last day of the annual window; may be before the start (wraps the year).
    #[schemars(regex(pattern = r"^\d\d-\d\d$"))]
    pub annual_end: Option<String>,
    /// Days of the week it applies on.
    #[schemars(length(min = 1, max = 7))]
    pub days_of_week: Option<Vec<Weekday>>,
    /// `HH:MM` start of the daily window; with `time_end` and `time_zone`.
    #[schemars(regex(pattern = r"^\d\d:\d\d$"))]
    pub time_start: Option<String>,
    /// `HH:MM` end (exclusive) of the daily window; may be before the start (wraps midnight).
    #[schemars(regex(pattern = r"^\d\d:\d\d$"))]
    pub time_end: Option<String>,
    /// IANA time zone (`Europe/Paris`) of the calendar criteria; UTC when omitted.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: Option<String>,
    /// ISO 3166-1 alpha-2 countries it applies in.
    #[schemars(length(min = 1, max = 250))]
    pub countries: Option<Vec<String>>,
    /// Language tags it serves (`en`, `pt-BR`).
    #[schemars(length(min = 1, max = 50))]
    pub languages: Option<Vec<String>>,
    /// String metadata (at most 50 keys; keys 1-40, values 1-500 characters).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The body of a rule creation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NewRule {
    /// SERIAL, BATCH, PRODUCT, BRAND or ORGANIZATION (GLOBAL rules are the operator's).
    pub scope: ScopeKind,
    /// Everything else.
    #[serde(flatten)]
    pub fields: RuleFields,
}

/// The body of a rule update: any subset of the fields; `null` clears an optional field.
/// Changing `scope` or its identifiers moves the rule to another (owned) scope.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RulePatch {
    /// SERIAL, BATCH, PRODUCT, BRAND or ORGANIZATION.
    pub scope: Option<ScopeKind>,
    /// Everything else.
    #[serde(flatten)]
    pub fields: RuleFields,
}

/// The body of a reorder: a scope's instance and every one of its rules, in the new order
/// (they get `order_index` 0, 1, 2, …).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReorderRules {
    /// The scope.
    #[schemars(required)]
    pub scope: Option<ScopeKind>,
    /// The scope's instance.
    #[serde(flatten)]
    pub target: ScopeTarget,
    /// Every rule id of the scope's instance, each once, first = order_index 0.
    #[schemars(required, length(min = 1, max = 1000))]
    pub rule_ids: Option<Vec<i64>>,
}

/// The rule fields a client may send.
const RULE_FIELDS: [&str; 24] = [
    "scope",
    "gtin",
    "batch",
    "serial",
    "brand_id",
    "organization_id",
    "order_index",
    "enabled",
    "link_type",
    "destination_type",
    "custom_url",
    "on_custom_url_dead",
    "title",
    "starts_at",
    "ends_at",
    "annual_start",
    "annual_end",
    "days_of_week",
    "time_start",
    "time_end",
    "time_zone",
    "countries",
    "languages",
    "metadata",
];

/// Fields that cannot be null (they have no "unset" state).
const NOT_NULL: [&str; 3] = ["scope", "order_index", "enabled"];

const REORDER_FIELDS: [&str; 7] =
    ["scope", "gtin", "batch", "serial", "brand_id", "organization_id", "rule_ids"];

/// A JSON request body as an object: 400 when it is not JSON or not an object.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ServiceError::BadRequest("the body must be a JSON object".into())),
        Err(e) => Err(ServiceError::BadRequest(format!("the body is not valid JSON: {e}"))),
    }
}

/// serde's message without its position (`… at line 1 column 9`).
fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Checks an object's keys against `allowed` and each value's type against `T` (all of whose
/// fields must be optional), one error per wrong field, and returns it typed (nulls left out).
fn typed<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let before = errors.len();
    for (k, v) in obj {
        if !allowed.contains(&k.as_str()) {
            let message = if READ_ONLY.contains(&k.as_str()) {
                "is read-only".to_owned()
            } else {
                let mut names: Vec<&str> = allowed.to_vec();
                names.sort_unstable();
                names.dedup();
                format!("is not a field here; allowed: {}", names.join(", "))
            };
            errors.push(FieldError::new(k.clone(), message));
        } else if v.is_null() {
            if NOT_NULL.contains(&k.as_str()) {
                errors.push(FieldError::new(k.clone(), "cannot be null; give a value"));
            }
        } else if let Err(e) =
            serde_json::from_value::<T>(Value::Object(Map::from_iter([(k.clone(), v.clone())])))
        {
            errors.push(FieldError::new(k.clone(), serde_message(&e)));
        }
    }
    if errors.len() > before {
        return None;
    }
    let present: Map<String, Value> =
        obj.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
    match serde_json::from_value::<T>(Value::Object(present)) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(FieldError::new("body", serde_message(&e)));
            None
        }
    }
}

/// The scope's instance named by `scope` and `t`, each missing, extra or wrong identifier an
/// error. GLOBAL is accepted here (ownership refuses it later).
fn scope_ref(
    scope: Option<ScopeKind>,
    t: &ScopeTarget,
    errors: &mut Vec<FieldError>,
) -> Option<(ScopeRef, RuleTarget)> {
    let Some(kind) = scope else {
        errors.push(FieldError::new(
            "scope",
            "is required: SERIAL, BATCH, PRODUCT, BRAND or ORGANIZATION",
        ));
        return None;
    };
    let needed: &[&str] = match kind {
        ScopeKind::Serial => &["gtin", "serial"],
        ScopeKind::Batch => &["gtin", "batch"],
        ScopeKind::Product => &["gtin"],
        ScopeKind::Brand => &["brand_id"],
        ScopeKind::Organization => &["organization_id"],
        ScopeKind::Global => &[],
    };
    let given = [
        ("gtin", t.gtin.is_some()),
        ("batch", t.batch.is_some()),
        ("serial", t.serial.is_some()),
        ("brand_id", t.brand_id.is_some()),
        ("organization_id", t.organization_id.is_some()),
    ];
    let before = errors.len();
    for (name, present) in given {
        match (needed.contains(&name), present) {
            (true, false) => errors
                .push(FieldError::new(name, format!("is required for {} rules", kind.as_str()))),
            (false, true) => errors
                .push(FieldError::new(name, format!("is not allowed for {} rules", kind.as_str()))),
            _ => {}
        }
    }
    let gtin = match t.gtin.as_deref() {
        Some(g) => match Gtin14::parse(g) {
            Ok(g) => Some(g),
            Err(e) => {
                errors.push(FieldError::new("gtin", format!("{g:?}: {e}")));
                None
            }
        },
        None => None,
    };
    // Checked as GS1 does (CSET 82, 1-20 characters) by building the Digital Link.
    for (name, value) in [("batch", &t.batch), ("serial", &t.serial)] {
        if let (Some(v), Some(g)) = (value, gtin) {
            let b = gs1::DigitalLink::builder(g);
            let b = if name == "batch" { b.batch(v.clone()) } else { b.serial(v.clone()) };
            if let Err(e) = b.build() {
                errors.push(FieldError::new(name, format!("{v:?}: {e}")));
            }
        }
    }
    for (name, id) in [("brand_id", t.brand_id), ("organization_id", t.organization_id)] {
        if id.is_some_and(|id| id < 1) {
            errors.push(FieldError::new(name, "must be a positive id"));
        }
    }
    if errors.len() > before {
        return None;
    }
    let target = match (kind, gtin) {
        (ScopeKind::Serial, Some(g)) => RuleTarget::Serial(g, t.serial.clone()?),
        (ScopeKind::Batch, Some(g)) => RuleTarget::Batch(g, t.batch.clone()?),
        (ScopeKind::Product, Some(g)) => RuleTarget::Product(g),
        (ScopeKind::Brand, _) => RuleTarget::Brand(format!("#{}", t.brand_id?)),
        (ScopeKind::Organization, _) => {
            RuleTarget::Organization(format!("#{}", t.organization_id?))
        }
        (ScopeKind::Global, _) => RuleTarget::Global,
        _ => return None,
    };
    let row = match (&target, ScopeRow::of(&target)) {
        (_, RuleLookup::Ready(row)) => row,
        (RuleTarget::Brand(_), _) => ScopeRow::brand(t.brand_id?),
        (_, _) => ScopeRow::organization(t.organization_id?),
    };
    Some((ScopeRef { kind, row }, target))
}

/// The criteria groups checked one at a time by the rule importer, so every wrong group is
/// reported (the importer stops at its first problem).
const CRITERIA_GROUPS: [&[&str]; 12] = [
    &["order_index"],
    &["enabled"],
    &["link_type"],
    &["destination_type", "custom_url"],
    &["on_custom_url_dead"],
    &["starts_at", "ends_at"],
    &["annual_start", "annual_end"],
    &["days_of_week"],
    &["time_start", "time_end", "time_zone"],
    &["countries"],
    &["languages"],
    &["title"],
];

/// The rule importer's verdict on the `keys` of `obj`, as a GLOBAL rule (the scope is checked
/// by [`scope_ref`]).
fn import_check(obj: &Map<String, Value>, keys: &[&str]) -> Result<RuleWrite, FieldError> {
    let mut rec: Map<String, Value> = keys
        .iter()
        .filter_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    rec.insert("scope".into(), Value::from("GLOBAL"));
    crate::import::rules::rule(&Record::Json(rec)).map_err(|reason| {
        // The importer's reasons start with the field: "field: …" or "field \"value\": …".
        let field: String =
            reason.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        let field = if keys.contains(&field.as_str()) { field } else { keys[0].to_owned() };
        let message = reason.strip_prefix(&format!("{field}: ")).unwrap_or(&reason).to_owned();
        FieldError::new(field, message)
    })
}

/// Validates a complete rule (a creation, or a rule with a patch applied): every wrong field
/// is reported.
pub fn validate(obj: &Map<String, Value>) -> Result<RuleDraft, ServiceError> {
    let mut errors = Vec::new();
    let Some(body) = typed::<RulePatch>(obj, &RULE_FIELDS, &mut errors) else {
        return Err(ServiceError::invalid_fields(errors));
    };
    let scope = scope_ref(body.scope, &body.fields.target, &mut errors);
    for group in CRITERIA_GROUPS {
        if let Err(e) = import_check(obj, group) {
            errors.push(e);
        }
    }
    let metadata = match Metadata::try_from_map(body.fields.metadata.clone().unwrap_or_default()) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.push(FieldError::new("metadata", e.to_string()));
            None
        }
    };
    let all: Vec<&str> = CRITERIA_GROUPS.iter().flat_map(|g| g.iter().copied()).collect();
    let write = match import_check(obj, &all) {
        Ok(w) => Some(w),
        Err(e) => {
            if !errors.iter().any(|x| x.field == e.field) {
                errors.push(e);
            }
            None
        }
    };
    match (scope, metadata, write) {
        (Some((scope, target)), Some(metadata), Some(mut write)) if errors.is_empty() => {
            write.target = target;
            write.metadata = MetadataPatch::replace(metadata);
            Ok(RuleDraft { scope, write, order_index: body.fields.order_index })
        }
        _ => Err(ServiceError::invalid_fields(errors)),
    }
}

/// Applies a patch (JSON merge patch, RFC 7396, on the top-level fields: `null` clears) to a
/// rule and validates the result.
pub fn patched(
    current: &ManagedRule,
    patch: &Map<String, Value>,
) -> Result<RuleDraft, ServiceError> {
    let mut errors = Vec::new();
    if typed::<RulePatch>(patch, &RULE_FIELDS, &mut errors).is_none() {
        return Err(ServiceError::invalid_fields(errors));
    }
    let mut merged = current.writable();
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    // A scope change drops the old scope's identifiers unless the patch restates them.
    if patch.contains_key("scope") {
        for k in ["gtin", "batch", "serial", "brand_id", "organization_id"] {
            if !patch.contains_key(k) {
                merged.remove(k);
            }
        }
    }
    validate(&merged)
}

/// A validated reorder: the scope's instance and the rule ids in their new order.
pub fn reorder_request(obj: &Map<String, Value>) -> Result<(ScopeRef, Vec<i64>), ServiceError> {
    let mut errors = Vec::new();
    let Some(body) = typed::<ReorderRules>(obj, &REORDER_FIELDS, &mut errors) else {
        return Err(ServiceError::invalid_fields(errors));
    };
    let scope = scope_ref(body.scope, &body.target, &mut errors);
    let ids = body.rule_ids.unwrap_or_default();
    if !obj.contains_key("rule_ids") {
        errors.push(FieldError::new(
            "rule_ids",
            "is required: every rule id of the scope, in the new order",
        ));
    } else if ids.is_empty() || ids.len() > 1000 {
        errors.push(FieldError::new("rule_ids", "give 1 to 1000 rule ids"));
    } else {
        let mut seen = BTreeSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
            errors.push(FieldError::new("rule_ids", format!("rule {dup} is listed twice")));
        }
    }
    match scope {
        Some((scope, _)) if errors.is_empty() => Ok((scope, ids)),
        _ => Err(ServiceError::invalid_fields(errors)),
    }
}
