//! Resolver rule writes (imports): where a rule applies as stored, how its target is looked
//! up, and the row to write.

use gs1::Gtin14;

use super::json_string_list;
use crate::model::{RuleTarget, RuleWrite, WriteOutcome, fold_name};

/// Where a rule applies, as stored: the product (with batch or serial), brand or organization,
/// and the key rules are unique by within their scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleScope {
    pub gtin: Option<String>,
    pub qualifier: Option<String>,
    pub brand_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub key: String,
}

/// A rule's scope, or the name the backend must look up first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleLookup<'r> {
    /// Known from the target alone.
    Ready(RuleScope),
    /// The brand with this name key ([`fold_name`]); the rule names it `name`.
    Brand { name: &'r str, name_key: String },
    /// The organization with this (trimmed) name; the rule names it `name`.
    Organization { name: &'r str, trimmed: &'r str },
}

impl RuleScope {
    /// The scope of a target, or what to look up for it.
    pub fn of(target: &RuleTarget) -> RuleLookup<'_> {
        let product = |g: &Gtin14, qualifier: Option<&String>, key: String| {
            RuleLookup::Ready(RuleScope {
                gtin: Some(g.as_str().to_owned()),
                qualifier: qualifier.cloned(),
                key,
                ..RuleScope::default()
            })
        };
        match target {
            RuleTarget::Serial(g, s) => product(g, Some(s), format!("{}/21/{s}", g.as_str())),
            RuleTarget::Batch(g, b) => product(g, Some(b), format!("{}/10/{b}", g.as_str())),
            RuleTarget::Product(g) => product(g, None, g.as_str().to_owned()),
            RuleTarget::Brand(name) => RuleLookup::Brand { name, name_key: fold_name(name) },
            RuleTarget::Organization(name) => {
                RuleLookup::Organization { name, trimmed: name.trim() }
            }
            RuleTarget::Global => RuleLookup::Ready(RuleScope::default()),
        }
    }

    /// The scope of a brand rule, by the brand's id.
    pub fn brand(id: i64) -> Self {
        Self { brand_id: Some(id), key: format!("brand:{id}"), ..Self::default() }
    }

    /// The scope of an organization rule, by the organization's id.
    pub fn organization(id: i64) -> Self {
        Self { organization_id: Some(id), key: format!("organization:{id}"), ..Self::default() }
    }
}

impl RuleLookup<'_> {
    /// The outcome of a rule whose brand or organization is not in the catalog.
    pub fn unknown(&self) -> WriteOutcome {
        WriteOutcome::Rejected(match self {
            Self::Brand { name, .. } => format!("brand: no brand named {name:?} in the catalog"),
            Self::Organization { name, .. } => {
                format!("organization: no organization named {name:?}")
            }
            Self::Ready(_) => "the rule's target is unknown".to_owned(),
        })
    }
}

/// A resolver rule to write: the values stored besides the write's own.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow<'r> {
    pub rule: &'r RuleWrite,
    /// `SERIAL`, `BATCH`, `PRODUCT`, `BRAND`, `ORGANIZATION` or `GLOBAL`.
    pub scope_name: &'static str,
    pub scope: RuleScope,
    pub order_index: i64,
    /// `CUSTOM_URL` or `HOSTED_PAGE`.
    pub destination_type: &'static str,
    pub annual_start: Option<&'r str>,
    pub annual_end: Option<&'r str>,
    pub days_of_week: Option<i64>,
    pub time_start: Option<&'r str>,
    pub time_end: Option<&'r str>,
    /// JSON lists.
    pub countries: Option<String>,
    pub languages: Option<String>,
    /// The metadata entries, JSON.
    pub metadata: String,
}

impl<'r> RuleRow<'r> {
    /// The row of a rule in its resolved scope.
    pub fn new(rule: &'r RuleWrite, scope: RuleScope) -> Self {
        let list = |v: &Option<Vec<String>>| {
            v.as_ref().map(|l| json_string_list(l.iter().map(String::as_str)))
        };
        Self {
            rule,
            scope_name: rule.target.scope(),
            scope,
            order_index: i64::from(rule.order_index),
            destination_type: if rule.custom_url.is_some() { "CUSTOM_URL" } else { "HOSTED_PAGE" },
            annual_start: rule.annual.as_ref().map(|a| a.0.as_str()),
            annual_end: rule.annual.as_ref().map(|a| a.1.as_str()),
            days_of_week: rule.days_of_week.map(i64::from),
            time_start: rule.daily.as_ref().map(|d| d.0.as_str()),
            time_end: rule.daily.as_ref().map(|d| d.1.as_str()),
            countries: list(&rule.countries),
            languages: list(&rule.languages),
            metadata: serde_json::to_string(&rule.metadata.entries).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// The outcome of the upsert, given whether the rule was stored before and how many rows
    /// the upsert changed (none when every value was the same).
    pub fn outcome(existed: bool, rows_affected: u64) -> WriteOutcome {
        match (existed, rows_affected) {
            (false, _) => WriteOutcome::Inserted,
            (true, 0) => WriteOutcome::Unchanged,
            (true, _) => WriteOutcome::Updated,
        }
    }
}
