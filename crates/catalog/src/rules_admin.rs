//! Resolver-rule management for brand owners (docs/spec.md §5 rules, §7 REST): the rule as clients
//! read and write it ([`ManagedRule`]; the request bodies [`NewRule`], [`RulePatch`],
//! [`ReorderRules`] and the validation of every field are in `rules_admin/request.rs`),
//! ownership (an organization acts only on rules of its products, brands and itself — never on
//! GLOBAL rules), entity tags, and the service functions on [`Catalog`] that the REST
//! endpoints call. The backends write each change and its `audit_events` row (who, what,
//! before, after) in one transaction, with the statements of `sql/rules.rs`.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::{FieldError, ServiceError};
use crate::model::RuleWrite;
use crate::service::Catalog;
use crate::store::StoreError;
use crate::write_plan::RuleScope as ScopeRow;

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

    /// The scope of a stored name.
    pub(crate) fn parse(s: &str) -> Option<Self> {
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

/// The days of the week in the order of the stored `days_of_week` bits.
pub(crate) const WEEKDAYS: [Weekday; 7] = [
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

mod request;
pub use request::{
    NewRule, ReorderRules, RuleFields, RulePatch, ScopeTarget, parse_body, patched,
    reorder_request, validate,
};

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
