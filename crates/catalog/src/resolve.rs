//! Resolution (SPEC §5), shared by the `resolve_gtin` tool and the HTTP resolver so agents and
//! scanners always see the same destination: load the rules that can apply to the GTIN (and
//! its batch and serial), let [`crate::rules::choose`] pick one for the request, and fall back
//! to the built-in default — the hosted page, `fallback_applied: true`,
//! `matched_rule_scope: null` — when none applies.

use gs1::{DigitalLink, Gtin14, LinkType};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ServiceError;
use crate::rules::{RequestContext, Rule, choose};
use crate::service::{Catalog, parse_gtin_field};

/// Where a scan goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum DestinationType {
    /// prodlink's hosted product page.
    #[serde(rename = "HOSTED_PAGE")]
    HostedPage,
    /// A brand-chosen URL.
    #[serde(rename = "CUSTOM_URL")]
    CustomUrl,
}

/// The scope of the rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleScope {
    /// One serialized item.
    Serial,
    /// One batch/lot.
    Batch,
    /// One product.
    Product,
    /// Every product of a brand.
    Brand,
    /// Every product of an organization.
    Organization,
    /// Everything.
    Global,
}

/// `resolve_gtin` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ResolveOutput {
    /// Where the resolver would redirect.
    pub destination_url: String,
    /// `HOSTED_PAGE` or `CUSTOM_URL`.
    pub destination_type: DestinationType,
    /// True when no rule matched and the built-in default was used.
    pub fallback_applied: bool,
    /// Whether the catalog has the product.
    pub product_found: bool,
    /// The scope of the rule that matched, or null for the default.
    pub matched_rule_scope: Option<RuleScope>,
}

/// What is being resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveKey {
    /// The product.
    pub gtin: Gtin14,
    /// Batch/lot (AI 10), when the request names one.
    pub batch: Option<String>,
    /// Serial number (AI 21), when the request names one.
    pub serial: Option<String>,
    /// Requested link type; `None` means the default link.
    pub link_type: Option<LinkType>,
}

impl ResolveKey {
    /// A key for a GTIN's default link.
    pub fn gtin(gtin: Gtin14) -> Self {
        Self { gtin, batch: None, serial: None, link_type: None }
    }
}

impl Catalog {
    /// Runs the rule engine for a key and a request. `Ok(None)` only when a link type was
    /// asked for and no rule of that type applies (the HTTP resolver answers 404 then; the
    /// tool falls back to the default).
    pub async fn resolve_rules(
        &self,
        key: &ResolveKey,
        ctx: &RequestContext,
    ) -> Result<Option<ResolveOutput>, ServiceError> {
        let (product, records) = tokio::try_join!(
            self.store().product(key.gtin),
            self.store().rules_for(key.gtin, key.batch.as_deref(), key.serial.as_deref()),
        )?;
        let rules: Vec<Rule> = records
            .iter()
            .filter_map(|r| {
                Rule::parse(r)
                    .inspect_err(|e| tracing::warn!(error = %e, "resolver rule skipped"))
                    .ok()
            })
            .collect();
        let link_type = key.link_type.map(LinkType::curie);
        let hosted = || {
            let mut b = DigitalLink::builder(key.gtin);
            if let Some(batch) = &key.batch {
                b = b.batch(batch.clone());
            }
            if let Some(serial) = &key.serial {
                b = b.serial(serial.clone());
            }
            b.build().unwrap_or_else(|_| DigitalLink::new(key.gtin)).to_uri(self.site_url())
        };
        let product_found = product.is_some();
        Ok(match choose(&rules, link_type.as_deref(), ctx) {
            Some(d) => Some(ResolveOutput {
                destination_url: d.custom_url.unwrap_or_else(hosted),
                destination_type: d.destination,
                fallback_applied: false,
                product_found,
                matched_rule_scope: Some(d.scope),
            }),
            None if link_type.is_some() => None,
            None => Some(ResolveOutput {
                destination_url: hosted(),
                destination_type: DestinationType::HostedPage,
                fallback_applied: true,
                product_found,
                matched_rule_scope: None,
            }),
        })
    }

    /// Resolves for an agent (no country or language; now): a requested link type with no
    /// rule falls back to the default destination.
    pub async fn resolve(&self, key: &ResolveKey) -> Result<ResolveOutput, ServiceError> {
        let ctx = RequestContext::at(jiff::Timestamp::now());
        if let Some(out) = self.resolve_rules(key, &ctx).await? {
            return Ok(out);
        }
        let default = ResolveKey { link_type: None, ..key.clone() };
        self.resolve_rules(&default, &ctx)
            .await?
            .ok_or_else(|| ServiceError::Internal("the default link always resolves".into()))
    }

    /// `resolve_gtin`: validates the GTIN and link type, then resolves.
    pub async fn resolve_gtin(
        &self,
        gtin: &str,
        link_type: Option<&str>,
    ) -> Result<ResolveOutput, ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        let link_type = link_type
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                LinkType::parse(l).map_err(|e| ServiceError::invalid("link_type", e.to_string()))
            })
            .transpose()?;
        self.resolve(&ResolveKey { link_type, ..ResolveKey::gtin(gtin) }).await
    }
}
