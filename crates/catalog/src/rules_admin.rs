//! Resolver-rule management for brand owners (docs/spec.md §5 rules, §7 REST): the rule as clients
//! read and write it ([`ManagedRule`], [`NewRule`], [`RulePatch`], [`ReorderRules`]), the
//! validation of every field with one `errors[]` entry per wrong field (the criteria through
//! the rule importer's own checks), ownership (an organization acts only on rules of its
//! products, brands and itself — never on GLOBAL rules), entity tags, and the service
//! functions on [`Catalog`] that the REST endpoints call. The backends write each change and
//! its `audit_events` row (who, what, before, after) in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use gs1::Gtin14;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::{FieldError, ServiceError};
use crate::import::records::Record;
use crate::model::{Metadata, MetadataPatch, RuleTarget, RuleWrite};
use crate::service::Catalog;
use crate::store::StoreError;
use crate::write_plan::{RuleLookup, RuleScope as ScopeRow, StoredRow};

/// Who makes a change, as recorded in `audit_events`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The signed-in user, when the credential has one.
    pub user_id: Option<i64>,
    /// The OAuth client (or API key) acting.
    pub client_id: Option<String>,
    /// The request id, to find the request in the logs.
    pub request_id: Option<String>,
}

/// A rule's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScopeKind {
    /// One serialized item of a product (`gtin` + `serial`).
    Serial,
    /// One batch/lot of a product (`gtin` + `batch`).
    Batch,
    /// One product (`gtin`).
    Product,
    /// Every product of a brand (`brand_id`).
    Brand,
    /// Every product of the organization's brands (`organization_id`).
    Organization,
    /// Everything (the operator's; organizations cannot manage these).
    Global,
}

impl ScopeKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serial => "SERIAL",
            Self::Batch => "BATCH",
            Self::Product => "PRODUCT",
            Self::Brand => "BRAND",
            Self::Organization => "ORGANIZATION",
            Self::Global => "GLOBAL",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Serial, Self::Batch, Self::Product, Self::Brand, Self::Organization, Self::Global]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a matching rule sends the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Destination {
    /// prodlink's hosted product page.
    HostedPage,
    /// The rule's `custom_url`.
    CustomUrl,
}

/// What to do when the health check finds the custom URL dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OnDeadUrl {
    /// Ignore the rule; the next one decides.
    SkipRule,
    /// Send the scan to the hosted page.
    FallbackToHosted,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// A resolver rule as an organization sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ManagedRule {
    /// The rule's id.
    pub id: i64,
    /// Its scope.
    pub scope: ScopeKind,
    /// The product (GTIN-14) of SERIAL, BATCH and PRODUCT rules.
    pub gtin: Option<String>,
    /// The batch/lot of BATCH rules.
    pub batch: Option<String>,
    /// The serial number of SERIAL rules.
    pub serial: Option<String>,
    /// The brand of BRAND rules.
    pub brand_id: Option<i64>,
    /// The organization of ORGANIZATION rules.
    pub organization_id: Option<i64>,
    /// Position within its scope: the lowest matching one wins.
    pub order_index: i64,
    /// Whether the rule takes part in resolution.
    pub enabled: bool,
    /// GS1 link type (CURIE, e.g. `gs1:pip`); null for the default link.
    pub link_type: Option<String>,
    /// `HOSTED_PAGE` or `CUSTOM_URL`.
    pub destination_type: Destination,
    /// The brand's URL, for `CUSTOM_URL`.
    pub custom_url: Option<String>,
    /// What happens when the custom URL is found dead.
    pub on_custom_url_dead: OnDeadUrl,
    /// Human-readable title of the link.
    pub title: Option<String>,
    /// RFC 3339 start of the rule's absolute window.
    pub starts_at: Option<String>,
    /// RFC 3339 end (exclusive) of the absolute window.
    pub ends_at: Option<String>,
    /// `MM-DD` first day of the annual window.
    pub annual_start: Option<String>,
    /// `MM-DD` last day of the annual window (before the start: it wraps the year).
    pub annual_end: Option<String>,
    /// Days of the week it applies on.
    pub days_of_week: Option<Vec<Weekday>>,
    /// `HH:MM` start of the daily window.
    pub time_start: Option<String>,
    /// `HH:MM` end (exclusive) of the daily window (before the start: it wraps midnight).
    pub time_end: Option<String>,
    /// IANA time zone of the calendar criteria (UTC when null).
    pub time_zone: Option<String>,
    /// ISO 3166-1 alpha-2 countries it applies in.
    pub countries: Option<Vec<String>>,
    /// Language tags it serves (`en`, `pt-br`).
    pub languages: Option<Vec<String>>,
    /// Free-form string metadata.
    pub metadata: BTreeMap<String, String>,
    /// The custom URL's health: `unknown`, `alive` or `dead` (read-only).
    pub url_status: String,
    /// When it was created (read-only).
    pub created_at: String,
    /// When it last changed (read-only).
    pub updated_at: String,
}

/// Fields a client cannot write.
const READ_ONLY: [&str; 4] = ["id", "url_status", "created_at", "updated_at"];

impl ManagedRule {
    /// The strong entity tag of the rule's JSON representation (the bytes a GET returns).
    pub fn etag(&self) -> String {
        let body = serde_json::to_vec(self).unwrap_or_default();
        format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
    }

    /// The audit target, `rule:ID`.
    pub fn target(&self) -> String {
        format!("rule:{}", self.id)
    }

    /// The rule as a client would write it: its writable fields, nulls left out, and without
    /// `destination_type` (derived from `custom_url` unless a patch names it).
    fn writable(&self) -> Map<String, Value> {
        let Ok(Value::Object(mut m)) = serde_json::to_value(self) else { return Map::new() };
        for k in READ_ONLY.iter().chain(&["destination_type"]) {
            m.remove(*k);
        }
        m.retain(|_, v| !v.is_null());
        m
    }
}

/// A rule with the organization that owns it (`None`: GLOBAL, or a product or brand of no
/// organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRule {
    /// The rule.
    pub rule: ManagedRule,
    /// Its owner.
    pub owner: Option<i64>,
}

/// The instance of a scope a rule belongs to (the product with its batch or serial, the
/// brand, the organization): what `order_index` is unique within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRef {
    pub(crate) kind: ScopeKind,
    pub(crate) row: ScopeRow,
}

impl ScopeRef {
    /// The scope.
    pub fn kind(&self) -> ScopeKind {
        self.kind
    }

    /// The stored key of the instance (`0061…/10/LOT`, `brand:4`, …).
    pub fn key(&self) -> &str {
        &self.row.key
    }

    /// The audit target of a reorder, `rules:SCOPE:KEY`.
    pub(crate) fn target(&self) -> String {
        format!("rules:{}:{}", self.kind.as_str(), self.row.key)
    }
}

/// A validated rule, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDraft {
    pub(crate) scope: ScopeRef,
    pub(crate) write: RuleWrite,
    /// `None`: after the scope's last rule.
    pub(crate) order_index: Option<u32>,
}

impl RuleDraft {
    /// Where it applies.
    pub fn scope(&self) -> &ScopeRef {
        &self.scope
    }
}

/// Why a rule change was not made (the caller's side of it; failures are [`StoreError`]s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRefusal {
    /// No such rule of the organization.
    NotFound,
    /// The target is not the organization's.
    Forbidden(String),
    /// The rule changed since it was read.
    Stale,
    /// The `order_index` is taken in the scope.
    Conflict(String),
    /// A field is wrong in a way only the stored rules show (a reorder list).
    Invalid(FieldError),
}

/// The outcome of a rule change: done, refused, or failed.
pub type RuleResult<T> = Result<Result<T, RuleRefusal>, StoreError>;

// ---------------------------------------------------------------------------------------------
// Request bodies.

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

/// The refusal of a target the organization does not own, or `None` when it owns it.
pub(crate) fn ownership(
    scope: &ScopeRef,
    owner: Option<i64>,
    organization: i64,
) -> Option<RuleRefusal> {
    if owner == Some(organization) {
        return None;
    }
    let what = match scope.kind {
        ScopeKind::Global => {
            return Some(RuleRefusal::Forbidden(
                "GLOBAL rules apply to every product and are managed by the operator, not by an organization".into(),
            ));
        }
        ScopeKind::Serial | ScopeKind::Batch | ScopeKind::Product => format!(
            "the product {} is not one of your organization's products (it must be in the catalog under one of its brands)",
            scope.row.gtin.as_deref().unwrap_or_default()
        ),
        ScopeKind::Brand => format!(
            "brand {} is not one of your organization's brands",
            scope.row.brand_id.unwrap_or_default()
        ),
        ScopeKind::Organization => format!(
            "organization {} is not your organization ({organization})",
            scope.row.organization_id.unwrap_or_default()
        ),
    };
    Some(RuleRefusal::Forbidden(what))
}

/// The refusal of a reorder list that is not exactly the scope's rules.
pub(crate) fn reorder_mismatch(stored: &[i64], asked: &[i64]) -> Option<RuleRefusal> {
    let stored_set: BTreeSet<i64> = stored.iter().copied().collect();
    let asked_set: BTreeSet<i64> = asked.iter().copied().collect();
    if stored_set == asked_set {
        return None;
    }
    let list = |s: Vec<&i64>| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let missing = list(stored_set.difference(&asked_set).collect());
    let unknown = list(asked_set.difference(&stored_set).collect());
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {missing}"));
    }
    if !unknown.is_empty() {
        parts.push(format!("not rules of this scope: {unknown}"));
    }
    Some(RuleRefusal::Invalid(FieldError::new(
        "rule_ids",
        format!("must list every rule of the scope exactly once ({})", parts.join("; ")),
    )))
}

/// The audit `before_state` / `after_state` of a reorder: the rules' ids and positions.
pub(crate) fn order_state(order: &[(i64, i64)]) -> String {
    let list: Vec<Value> =
        order.iter().map(|(id, i)| json!({"id": id, "order_index": i})).collect();
    Value::Array(list).to_string()
}

/// A rule as JSON text, for the audit log.
pub(crate) fn state(rule: &ManagedRule) -> String {
    serde_json::to_string(rule).unwrap_or_else(|_| "{}".into())
}

/// The columns a [`ManagedRule`] is read from (`r` is `resolver_rules`).
macro_rules! rule_columns {
    () => {
        "r.id, r.scope, r.scope_gtin, r.scope_qualifier, r.brand_id, r.organization_id, \
         r.order_index, r.enabled, r.link_type, r.destination_type, r.custom_url, \
         r.on_custom_url_dead, r.title, r.starts_at, r.ends_at, r.annual_start, r.annual_end, \
         r.days_of_week, r.time_start, r.time_end, r.time_zone, r.countries, r.languages, \
         r.metadata, r.url_status, r.created_at, r.updated_at"
    };
}

/// The organization that owns rule `r`, as an SQL expression (both backends).
macro_rules! rule_owner {
    () => {
        "CASE WHEN r.scope IN ('SERIAL', 'BATCH', 'PRODUCT') THEN \
             (SELECT b.organization_id FROM products p JOIN brands b ON b.id = p.brand_id WHERE p.gtin = r.scope_gtin) \
         WHEN r.scope = 'BRAND' THEN (SELECT b.organization_id FROM brands b WHERE b.id = r.brand_id) \
         WHEN r.scope = 'ORGANIZATION' THEN r.organization_id END"
    };
}

/// The ids of the rules organization `$1` owns (both backends, through their indexes).
macro_rules! owned_rule_ids {
    () => {
        "SELECT r.id FROM resolver_rules r JOIN products p ON p.gtin = r.scope_gtin \
             JOIN brands b ON b.id = p.brand_id \
             WHERE b.organization_id = $1 AND r.scope IN ('SERIAL', 'BATCH', 'PRODUCT') \
         UNION ALL SELECT r.id FROM resolver_rules r JOIN brands b ON b.id = r.brand_id \
             WHERE b.organization_id = $1 AND r.scope = 'BRAND' \
         UNION ALL SELECT r.id FROM resolver_rules r \
             WHERE r.organization_id = $1 AND r.scope = 'ORGANIZATION'"
    };
}

/// SQL shared by both backends (`$N` placeholders, which SQLite reads too).
pub(crate) mod sql {
    /// One rule with its owner (`$1` = id).
    pub(crate) const RULE: &str = concat!(
        "SELECT ",
        rule_columns!(),
        ", ",
        rule_owner!(),
        " AS owner FROM resolver_rules r WHERE r.id = $1"
    );
    /// [`RULE`], locking the rule (PostgreSQL).
    pub(crate) const RULE_FOR_UPDATE: &str = concat!(
        "SELECT ",
        rule_columns!(),
        ", ",
        rule_owner!(),
        " AS owner FROM resolver_rules r WHERE r.id = $1 FOR UPDATE OF r"
    );
    /// A page of an organization's rules (`$1` = organization, `$2` = limit, `$3` = offset).
    pub(crate) const PAGE: &str = concat!(
        "SELECT ",
        rule_columns!(),
        ", $1 AS owner FROM resolver_rules r WHERE r.id IN (",
        owned_rule_ids!(),
        ") ORDER BY r.id LIMIT $2 OFFSET $3"
    );
    /// How many rules an organization owns (`$1`).
    pub(crate) const COUNT: &str = concat!("SELECT count(*) FROM (", owned_rule_ids!(), ") owned");
    /// The rules of one scope instance, by position (`$1` scope, `$2` key).
    pub(crate) const SCOPE_RULES: &str = concat!(
        "SELECT ",
        rule_columns!(),
        ", CAST(NULL AS BIGINT) AS owner FROM resolver_rules r WHERE r.scope = $1 AND r.scope_key = $2 \
         ORDER BY r.order_index, r.id"
    );
    /// [`SCOPE_RULES`], locking the rules (PostgreSQL).
    pub(crate) const SCOPE_RULES_FOR_UPDATE: &str = concat!(
        "SELECT ",
        rule_columns!(),
        ", CAST(NULL AS BIGINT) AS owner FROM resolver_rules r WHERE r.scope = $1 AND r.scope_key = $2 \
         ORDER BY r.order_index, r.id FOR UPDATE OF r"
    );
    /// The owner of a product (`$1` GTIN-14).
    pub(crate) const PRODUCT_OWNER: &str = "SELECT b.organization_id FROM products p \
         JOIN brands b ON b.id = p.brand_id WHERE p.gtin = $1";
    /// The owner of a brand (`$1`).
    pub(crate) const BRAND_OWNER: &str = "SELECT organization_id FROM brands WHERE id = $1";
    /// The position after the last rule of a scope instance (`$1` scope, `$2` key).
    pub(crate) const NEXT_INDEX: &str = "SELECT COALESCE(MAX(order_index) + 1, 0) \
         FROM resolver_rules WHERE scope = $1 AND scope_key = $2";
    /// A new rule; returns its id. `$1`-`$23` as in [`super::RuleColumns`], `$24` now.
    pub(crate) const INSERT: &str = "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, brand_id, \
             organization_id, scope_key, order_index, enabled, link_type, destination_type, custom_url, \
             on_custom_url_dead, starts_at, ends_at, annual_start, annual_end, days_of_week, time_start, \
             time_end, time_zone, countries, languages, metadata, title, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21, $22, $23, $25, $24, $24) RETURNING id";
    /// Every writable column of rule `$26`; the URL's health restarts when the URL changes.
    pub(crate) const UPDATE: &str = "UPDATE resolver_rules SET scope = $1, scope_gtin = $2, scope_qualifier = $3, \
             brand_id = $4, organization_id = $5, scope_key = $6, order_index = $7, enabled = $8, \
             link_type = $9, destination_type = $10, \
             url_status = CASE WHEN custom_url IS NOT DISTINCT FROM $11 THEN url_status ELSE 'unknown' END, \
             url_failures = CASE WHEN custom_url IS NOT DISTINCT FROM $11 THEN url_failures ELSE 0 END, \
             url_checked_at = CASE WHEN custom_url IS NOT DISTINCT FROM $11 THEN url_checked_at ELSE NULL END, \
             custom_url = $11, on_custom_url_dead = $12, starts_at = $13, ends_at = $14, \
             annual_start = $15, annual_end = $16, days_of_week = $17, time_start = $18, time_end = $19, \
             time_zone = $20, countries = $21, languages = $22, metadata = $23, title = $25, updated_at = $24 \
         WHERE id = $26";
    /// Deletes rule `$1`.
    pub(crate) const DELETE: &str = "DELETE FROM resolver_rules WHERE id = $1";
    /// Moves rule `$2` to position `$1` (`$3` now).
    pub(crate) const MOVE: &str =
        "UPDATE resolver_rules SET order_index = $1, updated_at = $3 WHERE id = $2";
    /// One audit row.
    pub(crate) const AUDIT: &str = "INSERT INTO audit_events (occurred_at, request_id, action, outcome, user_id, \
             client_id, target, arguments, before_state, after_state) \
         VALUES ($1, $2, $3, 'ok', $4, $5, $6, $7, $8, $9)";
}

/// The column values of a draft, in the order of [`sql::INSERT`] and [`sql::UPDATE`]'s `$1`-`$23`
/// and `$25` (the title).
pub(crate) struct RuleColumns<'r> {
    pub(crate) scope: &'static str,
    pub(crate) gtin: Option<&'r str>,
    pub(crate) qualifier: Option<&'r str>,
    pub(crate) brand_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) key: &'r str,
    pub(crate) enabled: bool,
    pub(crate) link_type: Option<&'r str>,
    pub(crate) destination_type: &'static str,
    pub(crate) custom_url: Option<&'r str>,
    pub(crate) on_custom_url_dead: &'r str,
    pub(crate) starts_at: Option<&'r str>,
    pub(crate) ends_at: Option<&'r str>,
    pub(crate) annual_start: Option<&'r str>,
    pub(crate) annual_end: Option<&'r str>,
    pub(crate) days_of_week: Option<i64>,
    pub(crate) time_start: Option<&'r str>,
    pub(crate) time_end: Option<&'r str>,
    pub(crate) time_zone: Option<&'r str>,
    pub(crate) countries: Option<String>,
    pub(crate) languages: Option<String>,
    pub(crate) metadata: String,
    pub(crate) title: Option<&'r str>,
}

impl RuleDraft {
    /// The stored column values (the planner's [`crate::write_plan::RuleRow`] of the write).
    pub(crate) fn columns(&self) -> RuleColumns<'_> {
        let row = crate::write_plan::RuleRow::new(&self.write, self.scope.row.clone());
        let w = &self.write;
        RuleColumns {
            scope: row.scope_name,
            gtin: self.scope.row.gtin.as_deref(),
            qualifier: self.scope.row.qualifier.as_deref(),
            brand_id: row.scope.brand_id,
            organization_id: row.scope.organization_id,
            key: &self.scope.row.key,
            enabled: w.enabled,
            link_type: w.link_type.as_deref(),
            destination_type: row.destination_type,
            custom_url: w.custom_url.as_deref(),
            on_custom_url_dead: &w.on_custom_url_dead,
            starts_at: w.starts_at.as_deref(),
            ends_at: w.ends_at.as_deref(),
            annual_start: w.annual.as_ref().map(|a| a.0.as_str()),
            annual_end: w.annual.as_ref().map(|a| a.1.as_str()),
            days_of_week: row.days_of_week,
            time_start: w.daily.as_ref().map(|d| d.0.as_str()),
            time_end: w.daily.as_ref().map(|d| d.1.as_str()),
            time_zone: w.time_zone.as_deref(),
            countries: row.countries,
            languages: row.languages,
            metadata: row.metadata,
            title: w.title.as_deref(),
        }
    }
}

fn list_column(json: Option<String>, column: &str) -> Result<Option<Vec<String>>, StoreError> {
    json.map(|j| {
        serde_json::from_str(&j)
            .map_err(|e| StoreError::Corrupt(format!("resolver_rules.{column} {j:?}: {e}")))
    })
    .transpose()
}

/// A [`ManagedRule`] (and the `owner` column) from a row of [`sql::RULE`], [`sql::PAGE`] or
/// [`sql::SCOPE_RULES`], on either backend.
pub(crate) fn decode(r: &impl StoredRow) -> Result<OwnedRule, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("resolver rule: {what}"));
    let scope_name = r.text("scope")?;
    let scope =
        ScopeKind::parse(&scope_name).ok_or_else(|| corrupt(format!("scope {scope_name:?}")))?;
    let qualifier = r.opt_text("scope_qualifier")?;
    let destination_type = match r.text("destination_type")?.as_str() {
        "CUSTOM_URL" => Destination::CustomUrl,
        "HOSTED_PAGE" => Destination::HostedPage,
        other => return Err(corrupt(format!("destination_type {other:?}"))),
    };
    let on_custom_url_dead = match r.text("on_custom_url_dead")?.as_str() {
        "SKIP_RULE" => OnDeadUrl::SkipRule,
        _ => OnDeadUrl::FallbackToHosted,
    };
    let days_of_week = r.opt_int("days_of_week")?.map(|bits| {
        WEEKDAYS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, d)| *d).collect()
    });
    let metadata_text = r.text("metadata")?;
    let metadata = serde_json::from_str(&metadata_text)
        .map_err(|e| corrupt(format!("metadata {metadata_text:?}: {e}")))?;
    let rule = ManagedRule {
        id: r.int("id")?,
        scope,
        gtin: r.opt_text("scope_gtin")?,
        batch: if scope == ScopeKind::Batch { qualifier.clone() } else { None },
        serial: if scope == ScopeKind::Serial { qualifier } else { None },
        brand_id: r.opt_int("brand_id")?,
        organization_id: r.opt_int("organization_id")?,
        order_index: r.int("order_index")?,
        enabled: r.flag("enabled")?,
        link_type: r.opt_text("link_type")?,
        destination_type,
        custom_url: r.opt_text("custom_url")?,
        on_custom_url_dead,
        title: r.opt_text("title")?,
        starts_at: r.opt_text("starts_at")?,
        ends_at: r.opt_text("ends_at")?,
        annual_start: r.opt_text("annual_start")?,
        annual_end: r.opt_text("annual_end")?,
        days_of_week,
        time_start: r.opt_text("time_start")?,
        time_end: r.opt_text("time_end")?,
        time_zone: r.opt_text("time_zone")?,
        countries: list_column(r.opt_text("countries")?, "countries")?,
        languages: list_column(r.opt_text("languages")?, "languages")?,
        metadata,
        url_status: r.text("url_status")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    };
    Ok(OwnedRule { rule, owner: r.opt_int("owner")? })
}

// ---------------------------------------------------------------------------------------------
// Service.

/// A page of an organization's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RulePage {
    /// The rules of this page, by id.
    pub items: Vec<ManagedRule>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// The position of a page in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Pagination {
    /// This page (from 1).
    pub page: u64,
    /// Items per page.
    pub page_size: u64,
    /// Items in the whole list.
    pub total: u64,
    /// Pages in the whole list (0 when it is empty).
    pub total_pages: u64,
}

impl Pagination {
    /// The offset of page `page` (from 1) of `page_size` (1-100) items; a validation error
    /// naming the parameter otherwise. Every paginated list uses it.
    pub fn offset(page: u64, page_size: u64) -> Result<u64, ServiceError> {
        if page == 0 {
            return Err(ServiceError::invalid("page", "must be 1 or more"));
        }
        if !(1..=100).contains(&page_size) {
            return Err(ServiceError::invalid("page_size", "give 1 to 100"));
        }
        Ok((page - 1).saturating_mul(page_size))
    }

    /// Where page `page` of `page_size` items is in a list of `total`.
    pub fn new(page: u64, page_size: u64, total: u64) -> Self {
        Self { page, page_size, total, total_pages: total.div_ceil(page_size.max(1)) }
    }
}

/// The rules of one scope instance after a reorder, in their new order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReorderedRules {
    /// The rules, `order_index` 0 first.
    pub items: Vec<ManagedRule>,
}

/// A rule management failure: a service error, or an `If-Match` that no longer matches.
#[derive(Debug, thiserror::Error)]
pub enum RuleAdminError {
    /// The usual errors (404, 403, 409, 422, …).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// `If-Match` named another version of the rule (HTTP 412, error code `conflict`).
    #[error("{0}")]
    PreconditionFailed(String),
}

impl From<StoreError> for RuleAdminError {
    fn from(e: StoreError) -> Self {
        Self::Service(e.into())
    }
}

/// Whether an `If-Match` value admits the current entity tag (`*`, or the tag in its list;
/// weak tags never match, RFC 9110 §13.1.1).
pub fn if_match_admits(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t == etag)
}

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("no resolver rule {id} belongs to your organization"))
}

fn refused(id: Option<i64>, r: RuleRefusal, if_match: bool) -> RuleAdminError {
    match r {
        RuleRefusal::NotFound => not_found(id.unwrap_or_default()).into(),
        RuleRefusal::Forbidden(m) => ServiceError::Forbidden(m).into(),
        RuleRefusal::Conflict(m) => ServiceError::Conflict(m).into(),
        RuleRefusal::Invalid(e) => ServiceError::invalid_fields(vec![e]).into(),
        RuleRefusal::Stale if if_match => RuleAdminError::PreconditionFailed(
            "the rule changed after the version named in If-Match; GET it again and reapply the change".into(),
        ),
        RuleRefusal::Stale => ServiceError::Conflict(
            "the rule changed while this request was applied; retry".into(),
        )
        .into(),
    }
}

impl Catalog {
    /// A page (`page` from 1, `page_size` 1-100) of the rules organization `organization`
    /// owns: those of its products (through their brands), its brands and itself.
    pub async fn list_rules(
        &self,
        organization: i64,
        page: u64,
        page_size: u64,
    ) -> Result<RulePage, ServiceError> {
        let offset = Pagination::offset(page, page_size)?;
        let (items, total) =
            self.store().organization_rules(organization, offset, page_size).await?;
        Ok(RulePage { items, pagination: Pagination::new(page, page_size, total) })
    }

    /// One of the organization's rules; 404 for another organization's (ids do not leak).
    pub async fn managed_rule(
        &self,
        organization: i64,
        id: i64,
    ) -> Result<ManagedRule, ServiceError> {
        match self.store().managed_rule(id).await? {
            Some(o) if o.owner == Some(organization) => Ok(o.rule),
            _ => Err(not_found(id)),
        }
    }

    /// Creates a rule from a request body for the organization, recording it in the audit log.
    pub async fn create_rule(
        &self,
        organization: i64,
        body: &Map<String, Value>,
        actor: &Actor,
    ) -> Result<ManagedRule, RuleAdminError> {
        let draft = validate(body)?;
        self.store()
            .create_rule(organization, &draft, actor)
            .await?
            .map_err(|r| refused(None, r, false))
    }

    /// Applies a patch to one of the organization's rules. With `if_match`, the rule must
    /// still be the version it names (else [`RuleAdminError::PreconditionFailed`]).
    pub async fn update_rule(
        &self,
        organization: i64,
        id: i64,
        if_match: Option<&str>,
        patch: &Map<String, Value>,
        actor: &Actor,
    ) -> Result<ManagedRule, RuleAdminError> {
        let current = self.managed_rule(organization, id).await?;
        check_if_match(&current, if_match)?;
        let draft = patched(&current, patch)?;
        self.store()
            .update_rule(organization, &current, &draft, actor)
            .await?
            .map_err(|r| refused(Some(id), r, if_match.is_some()))
    }

    /// Deletes one of the organization's rules (with `if_match` as in
    /// [`Catalog::update_rule`]).
    pub async fn delete_rule(
        &self,
        organization: i64,
        id: i64,
        if_match: Option<&str>,
        actor: &Actor,
    ) -> Result<(), RuleAdminError> {
        let current = self.managed_rule(organization, id).await?;
        check_if_match(&current, if_match)?;
        self.store()
            .delete_rule(organization, &current, actor)
            .await?
            .map_err(|r| refused(Some(id), r, if_match.is_some()))
    }

    /// Reorders every rule of one of the organization's scope instances at once.
    pub async fn reorder_rules(
        &self,
        organization: i64,
        body: &Map<String, Value>,
        actor: &Actor,
    ) -> Result<ReorderedRules, RuleAdminError> {
        let (scope, ids) = reorder_request(body)?;
        let items = self
            .store()
            .reorder_rules(organization, &scope, &ids, actor)
            .await?
            .map_err(|r| refused(None, r, false))?;
        Ok(ReorderedRules { items })
    }
}

fn check_if_match(current: &ManagedRule, if_match: Option<&str>) -> Result<(), RuleAdminError> {
    match if_match {
        Some(h) if !if_match_admits(h, &current.etag()) => {
            Err(RuleAdminError::PreconditionFailed(format!(
                "If-Match {h} does not match the rule's current entity tag {}; GET it again and reapply the change",
                current.etag()
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
