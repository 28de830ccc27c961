//! Resolution (docs/spec.md §5), shared by the `resolve_gtin` tool and the HTTP resolver so agents and
//! scanners always see the same destination: load the rules that can apply to the GTIN (and
//! its batch and serial), let [`crate::rules::choose`] pick one for the request, and fall back
//! to the built-in default — the hosted page, `fallback_applied: true`,
//! `matched_rule_scope: null` — when none applies.

use gs1::{DigitalLink, Gtin14, LinkType};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ServiceError;
use crate::rules::{Decision, RequestContext, Rule, choose};
pub use crate::rules::{DestinationType, RuleScope};
use crate::service::{Catalog, parse_gtin_field};

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

/// One link of a linkset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksetLink {
    /// The link type.
    pub link_type: LinkType,
    /// Target.
    pub href: String,
    /// Human-readable title.
    pub title: String,
    /// The languages of the target (BCP 47, e.g. `pt-BR`), empty when language-neutral.
    pub hreflang: Vec<String>,
}

/// The links of one level (serial, batch or product) of a linkset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksetLevel {
    /// The level's Digital Link URI on this site: the linkset anchor.
    pub anchor: String,
    /// `gs1:defaultLink` first (exactly one, title only), its language variants as
    /// `gs1:defaultLinkMulti` when there are several, then the typed links.
    pub links: Vec<LinksetLink>,
}

/// A linkset: the product's name and one entry per level, most specific first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linkset {
    /// The item description (the product name, or the GTIN when the catalog lacks it).
    pub item_description: String,
    /// Levels, the request's own first, up to the GTIN.
    pub levels: Vec<LinksetLevel>,
    /// Whether the catalog has the product.
    pub product_found: bool,
}

/// A title for a link type: `gs1:recallStatus` → "Recall status".
pub fn link_type_title(lt: LinkType) -> String {
    let curie = lt.curie();
    let term = curie.trim_start_matches("gs1:");
    let mut out = String::with_capacity(term.len() + 4);
    for (i, c) in term.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A language tag in BCP 47's conventional case: `pt-br` → `pt-BR`, `zh-hant` → `zh-Hant`.
pub fn bcp47_case(tag: &str) -> String {
    tag.split('-')
        .enumerate()
        .map(|(i, part)| match (i, part.len()) {
            (0, _) => part.to_ascii_lowercase(),
            (_, 2) => part.to_ascii_uppercase(),
            (_, 4) => {
                let mut p = part.to_ascii_lowercase();
                p[..1].make_ascii_uppercase();
                p
            }
            _ => part.to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Every link a set of rules offers for one link type to one request, ignoring its languages:
/// the language-neutral choice (what a request without `Accept-Language` gets) first, then
/// one per language some rule serves, each once.
fn variants(rules: &[Rule], link_type: Option<&str>, ctx: &RequestContext) -> Vec<Decision> {
    let mut languages: Vec<&str> = rules
        .iter()
        .filter(|r| r.link_type.as_deref() == link_type)
        .filter_map(|r| r.criteria.languages())
        .flatten()
        .map(String::as_str)
        .collect();
    languages.sort_unstable();
    languages.dedup();
    let neutral = RequestContext { languages: Vec::new(), ..ctx.clone() };
    let mut out: Vec<Decision> = choose(rules, link_type, &neutral).into_iter().collect();
    for l in languages {
        let one = RequestContext { languages: vec![l.to_owned()], ..ctx.clone() };
        if let Some(d) = choose(rules, link_type, &one)
            && !out.iter().any(|o| o.rule_id == d.rule_id)
        {
            out.push(d);
        }
    }
    out
}

impl Catalog {
    /// The linkset of a key (GS1 Resolver 2.9–2.11): for each level from the request's own up
    /// to the GTIN, the default link and the links each link type offers there — chosen by the
    /// same engine as redirects for this request's time and country, one per language the
    /// rules serve (with `hreflang`) — plus the hosted page as `gs1:pip` when no rule names
    /// another.
    pub async fn linkset(
        &self,
        key: &ResolveKey,
        ctx: &RequestContext,
    ) -> Result<Linkset, ServiceError> {
        let (product, records) = tokio::try_join!(
            self.store().product(key.gtin),
            self.store().rules_for(key.gtin, key.batch.as_deref(), key.serial.as_deref()),
        )?;
        let rules: Vec<Rule> = records.iter().filter_map(|r| Rule::parse(r).ok()).collect();
        let mut levels_keys = vec![(key.batch.clone(), key.serial.clone(), 0u8)];
        if key.serial.is_some() {
            levels_keys[0].2 = crate::rules::specificity(RuleScope::Serial);
            if key.batch.is_some() {
                levels_keys.push((
                    key.batch.clone(),
                    None,
                    crate::rules::specificity(RuleScope::Batch),
                ));
            }
        } else if key.batch.is_some() {
            levels_keys[0].2 = crate::rules::specificity(RuleScope::Batch);
        } else {
            levels_keys[0].2 = crate::rules::specificity(RuleScope::Product);
        }
        if key.batch.is_some() || key.serial.is_some() {
            levels_keys.push((None, None, crate::rules::specificity(RuleScope::Product)));
        }
        let mut types: Vec<String> = rules.iter().filter_map(|r| r.link_type.clone()).collect();
        types.sort();
        types.dedup();
        let mut levels = Vec::with_capacity(levels_keys.len());
        for (batch, serial, level) in levels_keys {
            let mut b = DigitalLink::builder(key.gtin);
            if let Some(v) = &batch {
                b = b.batch(v.clone());
            }
            if let Some(v) = &serial {
                b = b.serial(v.clone());
            }
            let link = b.build().unwrap_or_else(|_| DigitalLink::new(key.gtin));
            let hosted = link.to_uri(self.site_url());
            let here: Vec<Rule> = rules
                .iter()
                .filter(|r| {
                    crate::rules::specificity(r.scope) >= level
                        && match r.scope {
                            RuleScope::Serial => serial.is_some(),
                            RuleScope::Batch => batch.is_some(),
                            _ => true,
                        }
                })
                .cloned()
                .collect();
            let name =
                product.as_ref().map_or_else(|| key.gtin.as_str().to_owned(), |p| p.name.clone());
            let link = |link_type: LinkType, d: &Decision, fallback_title: &str| LinksetLink {
                link_type,
                href: d.custom_url.clone().unwrap_or_else(|| hosted.clone()),
                title: d.title.clone().unwrap_or_else(|| fallback_title.to_owned()),
                hreflang: d
                    .languages
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|l| bcp47_case(l))
                    .collect(),
            };
            // Exactly one `gs1:defaultLink` (title only): what a request without
            // `Accept-Language` gets. With language variants, all of them (that one included)
            // are listed again as `gs1:defaultLinkMulti`.
            let defaults = variants(&here, None, ctx);
            let default = match defaults.first().filter(|d| d.languages.is_none()) {
                Some(d) => link(LinkType::DEFAULT_LINK, d, &name),
                None => LinksetLink {
                    link_type: LinkType::DEFAULT_LINK,
                    href: hosted.clone(),
                    title: name.clone(),
                    hreflang: Vec::new(),
                },
            };
            let multi: Vec<LinksetLink> = defaults
                .iter()
                .filter(|d| d.languages.is_some())
                .map(|d| link(LinkType::DEFAULT_LINK_MULTI, d, &name))
                .collect();
            let mut links = vec![default.clone()];
            if !multi.is_empty() {
                links.push(LinksetLink { link_type: LinkType::DEFAULT_LINK_MULTI, ..default });
                links.extend(multi);
            }
            for t in &types {
                let Ok(lt) = LinkType::parse(t) else { continue };
                let title = link_type_title(lt);
                links.extend(variants(&here, Some(t), ctx).iter().map(|d| link(lt, d, &title)));
            }
            if !links.iter().any(|l| l.link_type == LinkType::PIP) {
                // The hosted page itself; `linkType=gs1:pip` reaches it even when the
                // default link goes elsewhere.
                links.push(LinksetLink {
                    link_type: LinkType::PIP,
                    href: format!("{hosted}?linkType=gs1:pip"),
                    title: format!("{name}: product information"),
                    hreflang: Vec::new(),
                });
            }
            levels.push(LinksetLevel { anchor: hosted.clone(), links });
        }
        Ok(Linkset {
            item_description: product
                .as_ref()
                .map_or_else(|| format!("GTIN {}", key.gtin.as_str()), |p| p.name.clone()),
            levels,
            product_found: product.is_some(),
        })
    }
}
