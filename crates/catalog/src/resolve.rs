//! The resolver rule engine (SPEC §5), shared by the `resolve_gtin` tool and, later, the HTTP
//! resolver, so agents and scanners always see the same destination. Rules (scopes, criteria,
//! dead-URL handling) arrive with the resolver; until then every GTIN resolves to the built-in
//! default: its hosted page, `fallback_applied: true`, `matched_rule_scope: null`.

use gs1::{DigitalLink, Gtin14, LinkType};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ServiceError;
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
    /// Requested link type; `None` means the default link.
    pub link_type: Option<LinkType>,
}

impl Catalog {
    /// Runs the rule engine for a key. (Rules come later; the default applies.)
    pub async fn resolve(&self, key: &ResolveKey) -> Result<ResolveOutput, ServiceError> {
        let product_found = self.store().product(key.gtin).await?.is_some();
        Ok(ResolveOutput {
            destination_url: DigitalLink::new(key.gtin).to_uri(self.site_url()),
            destination_type: DestinationType::HostedPage,
            fallback_applied: true,
            product_found,
            matched_rule_scope: None,
        })
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
        self.resolve(&ResolveKey { gtin, link_type }).await
    }
}
