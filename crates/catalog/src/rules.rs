//! Resolver rules (docs/spec.md §5): the stored rule ([`RuleRecord`]), its parsed form ([`Rule`]) with
//! every criterion, the request facts rules are judged against ([`RequestContext`], with the
//! time injected so tests fix the clock), and [`choose`], the walk from the most specific scope
//! to GLOBAL that picks the destination, with the scopes and destination types it decides
//! between ([`RuleScope`], [`DestinationType`]). Pure: loading rules is the store's job.

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::Serialize;

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

/// A rule as stored (`resolver_rules`), enabled or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRecord {
    /// Row id.
    pub id: i64,
    /// `SERIAL`, `BATCH`, `PRODUCT`, `BRAND`, `ORGANIZATION` or `GLOBAL`.
    pub scope: String,
    /// Position within the scope; lowest first.
    pub order_index: i64,
    /// Whether the rule takes part.
    pub enabled: bool,
    /// A GS1 link type CURIE, or `None` for the default link.
    pub link_type: Option<String>,
    /// `HOSTED_PAGE` or `CUSTOM_URL`.
    pub destination_type: String,
    /// The brand's URL for `CUSTOM_URL`.
    pub custom_url: Option<String>,
    /// `SKIP_RULE` or `FALLBACK_TO_HOSTED`.
    pub on_custom_url_dead: String,
    /// RFC 3339 start of the absolute window.
    pub starts_at: Option<String>,
    /// RFC 3339 end of the absolute window (exclusive).
    pub ends_at: Option<String>,
    /// `MM-DD` first day of the annual window.
    pub annual_start: Option<String>,
    /// `MM-DD` last day of the annual window (may be before the start: the window wraps).
    pub annual_end: Option<String>,
    /// ISO weekdays as bits: Monday = 1 … Sunday = 64.
    pub days_of_week: Option<i64>,
    /// `HH:MM` start of the daily window.
    pub time_start: Option<String>,
    /// `HH:MM` end of the daily window (exclusive; may be before the start: it wraps midnight).
    pub time_end: Option<String>,
    /// IANA time zone for the calendar criteria (UTC when absent).
    pub time_zone: Option<String>,
    /// JSON array of ISO 3166-1 alpha-2 codes.
    pub countries: Option<String>,
    /// JSON array of language codes (primary subtags such as `en`, or tags such as `pt-BR`).
    pub languages: Option<String>,
    /// `unknown`, `alive` or `dead` (the custom-URL health check).
    pub url_status: String,
    /// Human-readable title of the link (in the target's language), shown in linksets.
    pub title: Option<String>,
}

/// What to do when a rule's custom URL is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadUrlPolicy {
    /// Ignore the rule; keep looking.
    SkipRule,
    /// Send the scan to the hosted page instead.
    FallbackToHosted,
}

/// A month and day (`MM-DD`), ordered within a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MonthDay(i8, i8);

/// The criteria of one rule, all of which must hold.
#[derive(Debug, Clone)]
pub struct Criteria {
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    annual: Option<(MonthDay, MonthDay)>,
    days_of_week: Option<u8>,
    daily: Option<(Time, Time)>,
    zone: TimeZone,
    countries: Option<Vec<String>>,
    languages: Option<Vec<String>>,
}

/// A parsed, enabled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Row id.
    pub id: i64,
    /// Scope.
    pub scope: RuleScope,
    /// Position within the scope.
    pub order_index: i64,
    /// Link type CURIE, `None` for the default link.
    pub link_type: Option<String>,
    /// Where it sends the scan.
    pub destination: DestinationType,
    /// The custom URL.
    pub custom_url: Option<String>,
    /// Dead-URL handling.
    pub on_dead: DeadUrlPolicy,
    /// Whether the health check found the custom URL dead.
    pub url_dead: bool,
    /// The link's title, when the rule gives one.
    pub title: Option<String>,
    /// When it applies.
    pub criteria: Criteria,
}

/// Why a stored rule could not be used (the database's checks make these rare: an unknown
/// time zone name is the usual one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resolver rule {id}: {reason}")]
pub struct RuleError {
    /// Row id.
    pub id: i64,
    /// What is wrong.
    pub reason: String,
}

fn scope_of(s: &str) -> Option<RuleScope> {
    Some(match s {
        "SERIAL" => RuleScope::Serial,
        "BATCH" => RuleScope::Batch,
        "PRODUCT" => RuleScope::Product,
        "BRAND" => RuleScope::Brand,
        "ORGANIZATION" => RuleScope::Organization,
        "GLOBAL" => RuleScope::Global,
        _ => return None,
    })
}

/// How specific a scope is: lower is more specific (the order rules are tried in).
pub fn specificity(scope: RuleScope) -> u8 {
    match scope {
        RuleScope::Serial => 0,
        RuleScope::Batch => 1,
        RuleScope::Product => 2,
        RuleScope::Brand => 3,
        RuleScope::Organization => 4,
        RuleScope::Global => 5,
    }
}

fn month_day(s: &str) -> Option<MonthDay> {
    let (m, d) = s.split_once('-')?;
    let (m, d): (i8, i8) = (m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some(MonthDay(m, d))
}

fn codes(json: Option<&str>, upper: bool) -> Result<Option<Vec<String>>, String> {
    let Some(json) = json else { return Ok(None) };
    let list: Vec<String> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON array of strings: {e}"))?;
    Ok(Some(
        list.into_iter()
            .map(
                |c| {
                    if upper {
                        c.trim().to_ascii_uppercase()
                    } else {
                        c.trim().to_ascii_lowercase()
                    }
                },
            )
            .collect(),
    ))
}

impl Rule {
    /// Parses a stored rule.
    pub fn parse(r: &RuleRecord) -> Result<Self, RuleError> {
        let fail = |reason: String| RuleError { id: r.id, reason };
        let scope =
            scope_of(&r.scope).ok_or_else(|| fail(format!("unknown scope {:?}", r.scope)))?;
        let destination = match r.destination_type.as_str() {
            "HOSTED_PAGE" => DestinationType::HostedPage,
            "CUSTOM_URL" if r.custom_url.is_some() => DestinationType::CustomUrl,
            other => return Err(fail(format!("unusable destination {other:?}"))),
        };
        let on_dead = match r.on_custom_url_dead.as_str() {
            "SKIP_RULE" => DeadUrlPolicy::SkipRule,
            _ => DeadUrlPolicy::FallbackToHosted,
        };
        let instant = |v: &Option<String>, what: &str| -> Result<Option<Timestamp>, RuleError> {
            v.as_deref()
                .map(|s| s.parse::<Timestamp>().map_err(|e| fail(format!("{what} {s:?}: {e}"))))
                .transpose()
        };
        let zone = match r.time_zone.as_deref() {
            None => TimeZone::UTC,
            Some(name) => {
                TimeZone::get(name).map_err(|_| fail(format!("unknown time zone {name:?}")))?
            }
        };
        let annual = match (r.annual_start.as_deref(), r.annual_end.as_deref()) {
            (Some(a), Some(b)) => Some((
                month_day(a).ok_or_else(|| fail(format!("annual_start {a:?} is not MM-DD")))?,
                month_day(b).ok_or_else(|| fail(format!("annual_end {b:?} is not MM-DD")))?,
            )),
            _ => None,
        };
        let daily = match (r.time_start.as_deref(), r.time_end.as_deref()) {
            (Some(a), Some(b)) => {
                let t = |s: &str| {
                    Time::strptime("%H:%M", s).map_err(|_| fail(format!("time {s:?} is not HH:MM")))
                };
                Some((t(a)?, t(b)?))
            }
            _ => None,
        };
        Ok(Self {
            id: r.id,
            scope,
            order_index: r.order_index,
            link_type: r.link_type.clone(),
            destination,
            custom_url: r.custom_url.clone(),
            on_dead,
            url_dead: r.url_status == "dead",
            title: r.title.clone(),
            criteria: Criteria {
                starts_at: instant(&r.starts_at, "starts_at")?,
                ends_at: instant(&r.ends_at, "ends_at")?,
                annual,
                days_of_week: r.days_of_week.and_then(|d| u8::try_from(d).ok()),
                daily,
                zone,
                countries: codes(r.countries.as_deref(), true).map_err(fail)?,
                languages: codes(r.languages.as_deref(), false).map_err(fail)?,
            },
        })
    }
}

/// The facts of one request that rules are judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The time of the request (injected: tests fix it).
    pub now: Timestamp,
    /// The requester's country (ISO 3166-1 alpha-2, upper case), when known.
    pub country: Option<String>,
    /// The requester's languages, most preferred first (lower-case tags such as `en-gb`).
    pub languages: Vec<String>,
}

impl RequestContext {
    /// A context with only the time (agents: no country or language).
    pub fn at(now: Timestamp) -> Self {
        Self { now, country: None, languages: Vec::new() }
    }

    /// A context from an HTTP request's facts: the country header's value (when the operator
    /// configured one) and `Accept-Language`, whose region (`en-US` → `US`) stands in for the
    /// country when no header gave one. Languages are ordered by q-value; `q=0` ones dropped.
    pub fn from_request(
        now: Timestamp,
        country_header: Option<&str>,
        accept_language: Option<&str>,
    ) -> Self {
        let mut langs: Vec<(f32, usize, String)> = Vec::new();
        for (i, part) in accept_language.unwrap_or("").split(',').enumerate().take(20) {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.is_empty() || tag == "*" || tag.len() > 35 {
                continue;
            }
            let q = bits
                .filter_map(|b| b.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 {
                langs.push((q, i, tag));
            }
        }
        langs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let languages: Vec<String> = langs.into_iter().map(|(_, _, t)| t).collect();
        let country = country_header
            .map(str::trim)
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
            .or_else(|| {
                languages.iter().find_map(|t| {
                    t.split('-')
                        .nth(1)
                        .filter(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic()))
                        .map(str::to_ascii_uppercase)
                })
            });
        Self { now, country, languages }
    }
}

impl Criteria {
    /// Whether every criterion holds for the request, a rule language matching any of the
    /// request's languages (see [`language_matches`]).
    pub fn hold(&self, ctx: &RequestContext) -> bool {
        self.hold_except_languages(ctx)
            && self.languages.as_ref().is_none_or(|langs| {
                ctx.languages.iter().any(|tag| langs.iter().any(|l| language_matches(l, tag)))
            })
    }

    /// The rule's languages (lower case), when it is limited to some.
    pub fn languages(&self) -> Option<&[String]> {
        self.languages.as_deref()
    }

    /// Whether every criterion except the languages holds.
    pub fn hold_except_languages(&self, ctx: &RequestContext) -> bool {
        if self.starts_at.is_some_and(|s| ctx.now < s) || self.ends_at.is_some_and(|e| ctx.now >= e)
        {
            return false;
        }
        let local = ctx.now.to_zoned(self.zone.clone());
        if let Some((start, end)) = self.annual {
            let today = MonthDay(local.month(), local.day());
            let inside = if start <= end {
                start <= today && today <= end
            } else {
                today >= start || today <= end
            };
            if !inside {
                return false;
            }
        }
        if let Some(days) = self.days_of_week {
            let bit = 1u8 << (local.weekday().to_monday_one_offset() - 1);
            if days & bit == 0 {
                return false;
            }
        }
        if let Some((start, end)) = self.daily {
            let t = local.time();
            let inside = if start <= end { start <= t && t < end } else { t >= start || t < end };
            if !inside {
                return false;
            }
        }
        if let Some(countries) = &self.countries
            && !ctx.country.as_ref().is_some_and(|c| countries.contains(c))
        {
            return false;
        }
        true
    }
}

/// Whether a rule language serves a request language tag, by BCP 47 lookup (RFC 4647 §3.4,
/// one step): exactly, or as the tag's primary subtag (`pt` serves `pt-br`; `pt-br` serves only
/// `pt-br`). Both lower case.
pub fn language_matches(rule_language: &str, request_tag: &str) -> bool {
    rule_language == request_tag
        || request_tag.split('-').next().is_some_and(|primary| rule_language == primary)
}

/// The rule that decides, and what it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The deciding rule's id.
    pub rule_id: i64,
    /// Its scope.
    pub scope: RuleScope,
    /// Where the scan goes.
    pub destination: DestinationType,
    /// The custom URL, for `CUSTOM_URL`.
    pub custom_url: Option<String>,
    /// The rule's title, when it gives one.
    pub title: Option<String>,
    /// The rule's languages (the link's `hreflang`), when it is limited to some.
    pub languages: Option<Vec<String>>,
}

/// Walks `rules` from the most specific scope to GLOBAL and returns the first rule, lowest
/// `order_index` first within a scope, whose link type is the one asked for (`None` = the
/// default link) and whose criteria all hold. A dead custom URL skips the rule or falls back
/// to the hosted page, as the rule says. `None` when no rule applies.
///
/// Languages are negotiated per scope (GS1 Resolver 2.6.3): when several rules of the scope
/// offer the link in different languages, the request's most preferred language (by
/// `Accept-Language` q-value) that one of them serves is chosen, and only the rules serving
/// that language (plus those with no language limit) remain in the running. So `fr, en;q=0.5`
/// gets the French link even when the English rule comes first, and a language nobody serves
/// falls through to the rules without a language limit.
pub fn choose(rules: &[Rule], link_type: Option<&str>, ctx: &RequestContext) -> Option<Decision> {
    let mut order: Vec<&Rule> = rules
        .iter()
        .filter(|r| {
            r.link_type.as_deref() == link_type
                && !(r.url_dead
                    && r.destination == DestinationType::CustomUrl
                    && r.on_dead == DeadUrlPolicy::SkipRule)
                && r.criteria.hold_except_languages(ctx)
        })
        .collect();
    order.sort_by_key(|r| (specificity(r.scope), r.order_index, r.id));
    for scope in order.chunk_by(|a, b| a.scope == b.scope) {
        let negotiated = ctx.languages.iter().find(|tag| {
            scope.iter().any(|r| {
                r.criteria.languages().is_some_and(|ls| ls.iter().any(|l| language_matches(l, tag)))
            })
        });
        let winner = scope.iter().find(|r| match r.criteria.languages() {
            None => true,
            Some(ls) => negotiated.is_some_and(|tag| ls.iter().any(|l| language_matches(l, tag))),
        });
        let Some(rule) = winner else { continue };
        let custom_url = match rule.destination {
            DestinationType::CustomUrl if !rule.url_dead => rule.custom_url.clone(),
            _ => None,
        };
        return Some(Decision {
            rule_id: rule.id,
            scope: rule.scope,
            destination: if custom_url.is_some() {
                DestinationType::CustomUrl
            } else {
                DestinationType::HostedPage
            },
            custom_url,
            title: rule.title.clone(),
            languages: rule.criteria.languages().map(<[String]>::to_vec),
        });
    }
    None
}

#[cfg(test)]
mod tests;
