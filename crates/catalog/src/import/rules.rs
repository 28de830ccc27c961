//! Resolver rule importer (`prodlink import rules FILE`): prodlink rule JSONL, one rule per
//! line, checked field by field before anything is written (scope and its target, link type,
//! destination, criteria, time zone), and upserted on (scope, target, order_index).
//!
//! ```json
//! {"scope": "BATCH", "gtin": "09506000134352", "batch": "LOT-9", "order_index": 0,
//!  "link_type": "gs1:recallStatus", "destination_type": "CUSTOM_URL",
//!  "custom_url": "https://brand.example/recall", "countries": ["US"],
//!  "annual_start": "12-01", "annual_end": "01-15", "days_of_week": ["mon", "fri"],
//!  "time_start": "09:00", "time_end": "17:00", "time_zone": "America/New_York"}
//! ```
//! `brand` (name) and `organization` (name) name the target of BRAND and ORGANIZATION rules;
//! `title` is the link's human-readable title (in its language), `languages` the languages it
//! serves (negotiated against `Accept-Language` when several rules of a scope offer a link).

use super::records::{Record, read_records};
use super::source::Source;
use super::{BatchSender, ImportError, Parsed, RowRef, Write};
use crate::model::{MetadataPatch, RuleTarget, RuleWrite};

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn text(rec: &Record, key: &str) -> Option<String> {
    rec.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn list(rec: &Record, key: &str) -> Result<Option<Vec<String>>, String> {
    let Some(raw) = rec.get(key) else { return Ok(None) };
    let items: Vec<String> = match serde_json::from_str::<Vec<String>>(&raw) {
        Ok(v) => v,
        // A single string or a comma-separated list.
        Err(_) => raw.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
    };
    if items.is_empty() {
        return Err(format!("{key}: give at least one value or leave it out"));
    }
    Ok(Some(items))
}

fn month_day(key: &str, v: &str) -> Result<String, String> {
    let ok = v.len() == 5
        && v.as_bytes()[2] == b'-'
        && v[..2].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && v[3..].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(format!("{key}: {v:?} is not a month and day MM-DD, e.g. 12-01"))
    }
}

fn clock(key: &str, v: &str) -> Result<String, String> {
    let ok = v.len() == 5
        && v.as_bytes()[2] == b':'
        && v[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && v[3..].parse::<u8>().is_ok_and(|m| m < 60);
    if ok {
        Ok(v.to_owned())
    } else {
        Err(format!("{key}: {v:?} is not a time HH:MM (00:00–23:59)"))
    }
}

fn instant(key: &str, v: &str) -> Result<String, String> {
    let t: jiff::Timestamp = v
        .parse()
        .map_err(|_| format!("{key}: {v:?} is not an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"))?;
    Ok(t.to_string())
}

/// Parses and checks one rule record.
pub(crate) fn rule(rec: &Record) -> Result<RuleWrite, String> {
    let scope = text(rec, "scope")
        .ok_or("scope: missing (SERIAL, BATCH, PRODUCT, BRAND, ORGANIZATION or GLOBAL)")?;
    let scope = scope.to_ascii_uppercase();
    let gtin = || -> Result<gs1::Gtin14, String> {
        let g = text(rec, "gtin").ok_or_else(|| format!("gtin: required for {scope} rules"))?;
        gs1::Gtin14::parse(&g).map_err(|e| format!("gtin {g:?}: {e}"))
    };
    // Checked as GS1 would (CSET 82, at most 20 characters) by building the Digital Link.
    let qualifier = |key: &str, g: gs1::Gtin14| -> Result<String, String> {
        let v = text(rec, key).ok_or_else(|| format!("{key}: required for {scope} rules"))?;
        let b = gs1::DigitalLink::builder(g);
        let b = if key == "batch" { b.batch(v.clone()) } else { b.serial(v.clone()) };
        b.build().map_err(|e| format!("{key} {v:?}: {e}"))?;
        Ok(v)
    };
    let forbid = |keys: &[&str]| -> Result<(), String> {
        match keys.iter().find(|k| rec.get(k).is_some()) {
            Some(k) => Err(format!("{k}: not allowed for {scope} rules")),
            None => Ok(()),
        }
    };
    let target = match scope.as_str() {
        "SERIAL" => {
            forbid(&["batch", "brand", "organization"])?;
            let g = gtin()?;
            RuleTarget::Serial(g, qualifier("serial", g)?)
        }
        "BATCH" => {
            forbid(&["serial", "brand", "organization"])?;
            let g = gtin()?;
            RuleTarget::Batch(g, qualifier("batch", g)?)
        }
        "PRODUCT" => {
            forbid(&["batch", "serial", "brand", "organization"])?;
            RuleTarget::Product(gtin()?)
        }
        "BRAND" => {
            forbid(&["gtin", "batch", "serial", "organization"])?;
            RuleTarget::Brand(
                text(rec, "brand").ok_or("brand: the brand's name is required for BRAND rules")?,
            )
        }
        "ORGANIZATION" => {
            forbid(&["gtin", "batch", "serial", "brand"])?;
            RuleTarget::Organization(text(rec, "organization").ok_or(
                "organization: the organization's name is required for ORGANIZATION rules",
            )?)
        }
        "GLOBAL" => {
            forbid(&["gtin", "batch", "serial", "brand", "organization"])?;
            RuleTarget::Global
        }
        other => {
            return Err(format!(
                "scope: {other:?} is not one of SERIAL, BATCH, PRODUCT, BRAND, ORGANIZATION, GLOBAL"
            ));
        }
    };
    let order_index = match text(rec, "order_index") {
        None => 0,
        Some(v) => {
            v.parse::<u32>().map_err(|_| format!("order_index: {v:?} is not a whole number ≥ 0"))?
        }
    };
    let enabled = match text(rec, "enabled").as_deref() {
        None | Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(v) => return Err(format!("enabled: {v:?} is not true or false")),
    };
    let link_type = match text(rec, "link_type") {
        None => None,
        Some(v) => Some(gs1::LinkType::parse(&v).map_err(|e| format!("link_type: {e}"))?.curie()),
    };
    let custom_url = text(rec, "custom_url");
    let destination = text(rec, "destination_type")
        .unwrap_or_else(|| {
            if custom_url.is_some() { "CUSTOM_URL".into() } else { "HOSTED_PAGE".into() }
        })
        .to_ascii_uppercase();
    match (destination.as_str(), &custom_url) {
        ("CUSTOM_URL", Some(u)) => url_ok(u).map_err(|e| format!("custom_url {u:?}: {e}"))?,
        ("CUSTOM_URL", None) => {
            return Err("custom_url: required when destination_type is CUSTOM_URL".into());
        }
        ("HOSTED_PAGE", Some(_)) => {
            return Err("custom_url: not allowed when destination_type is HOSTED_PAGE".into());
        }
        ("HOSTED_PAGE", None) => {}
        (other, _) => {
            return Err(format!("destination_type: {other:?} is not HOSTED_PAGE or CUSTOM_URL"));
        }
    }
    let on_dead = text(rec, "on_custom_url_dead")
        .unwrap_or_else(|| "FALLBACK_TO_HOSTED".into())
        .to_ascii_uppercase();
    if !matches!(on_dead.as_str(), "SKIP_RULE" | "FALLBACK_TO_HOSTED") {
        return Err(format!(
            "on_custom_url_dead: {on_dead:?} is not SKIP_RULE or FALLBACK_TO_HOSTED"
        ));
    }
    let starts_at = text(rec, "starts_at").map(|v| instant("starts_at", &v)).transpose()?;
    let ends_at = text(rec, "ends_at").map(|v| instant("ends_at", &v)).transpose()?;
    if let (Some(a), Some(b)) = (&starts_at, &ends_at)
        && a.parse::<jiff::Timestamp>().ok() >= b.parse::<jiff::Timestamp>().ok()
    {
        return Err(format!("ends_at: {b} is not after starts_at {a}"));
    }
    let annual = match (text(rec, "annual_start"), text(rec, "annual_end")) {
        (None, None) => None,
        (Some(a), Some(b)) => Some((month_day("annual_start", &a)?, month_day("annual_end", &b)?)),
        _ => return Err("annual_start and annual_end: give both or neither".into()),
    };
    let days_of_week = match list(rec, "days_of_week")? {
        None => None,
        Some(days) => {
            let mut bits = 0u8;
            for d in &days {
                let i = WEEKDAYS
                    .iter()
                    .position(|w| d.to_ascii_lowercase().starts_with(w))
                    .ok_or_else(|| format!("days_of_week: {d:?} is not a weekday (mon … sun)"))?;
                bits |= 1 << i;
            }
            Some(bits)
        }
    };
    let time_zone = text(rec, "time_zone");
    if let Some(tz) = &time_zone {
        jiff::tz::TimeZone::get(tz).map_err(|_| {
            format!("time_zone: {tz:?} is not an IANA time zone, e.g. Europe/Paris")
        })?;
    }
    let daily = match (text(rec, "time_start"), text(rec, "time_end")) {
        (None, None) => None,
        (Some(a), Some(b)) => {
            if time_zone.is_none() {
                return Err("time_zone: required with time_start and time_end".into());
            }
            Some((clock("time_start", &a)?, clock("time_end", &b)?))
        }
        _ => return Err("time_start and time_end: give both or neither".into()),
    };
    let countries = match list(rec, "countries")? {
        None => None,
        Some(cs) => Some(
            cs.iter()
                .map(|c| {
                    crate::iso::CountryCode::parse(c)
                        .map(|c| c.as_str().to_owned())
                        .map_err(|e| format!("countries: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let languages = match list(rec, "languages")? {
        None => None,
        Some(ls) => Some(
            ls.iter()
                .map(|l| {
                    let l = l.to_ascii_lowercase();
                    let ok = l.split('-').enumerate().all(|(i, part)| {
                        (if i == 0 {
                            (2..=3).contains(&part.len())
                        } else {
                            (2..=8).contains(&part.len())
                        }) && part.bytes().all(|b| b.is_ascii_alphanumeric())
                    });
                    if ok {
                        Ok(l)
                    } else {
                        Err(format!("languages: {l:?} is not a language tag such as en or pt-br"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(RuleWrite {
        target,
        order_index,
        enabled,
        link_type,
        custom_url,
        on_custom_url_dead: on_dead,
        starts_at,
        ends_at,
        annual,
        days_of_week,
        daily,
        time_zone,
        countries,
        languages,
        title: match text(rec, "title") {
            Some(t) if t.chars().count() > 200 || t.chars().any(char::is_control) => {
                return Err("title: give at most 200 characters on one line".into());
            }
            t => t,
        },
        metadata: MetadataPatch::new(rec.metadata()?).map_err(|e| format!("metadata: {e}"))?,
    })
}

fn url_ok(u: &str) -> Result<(), String> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or("must start with https:// (or http://)")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("has no host".into());
    }
    if u.len() > 2000 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be at most 2000 characters without spaces".into());
    }
    Ok(())
}

/// Parses a rule file and pushes one [`Parsed`] per record.
pub fn parse(source: Source, out: &mut BatchSender) -> Result<(), ImportError> {
    read_records(source, &["scope"], |line, raw, rec| {
        let parsed = match rec {
            Ok(rec) => {
                let key = [
                    rec.get("scope"),
                    rec.get("gtin"),
                    rec.get("batch"),
                    rec.get("serial"),
                    rec.get("brand"),
                    rec.get("organization"),
                ]
                .into_iter()
                .flatten()
                .map(|v| v.into_owned())
                .collect::<Vec<_>>()
                .join(" ");
                match rule(&rec) {
                    Ok(r) => Parsed::Write {
                        row: RowRef { line, key, raw },
                        write: Write::Rule(Box::new(r)),
                        warnings: Vec::new(),
                    },
                    Err(reason) => Parsed::Reject { row: RowRef { line, key, raw }, reason },
                }
            }
            Err(reason) => Parsed::Reject { row: RowRef { line, key: String::new(), raw }, reason },
        };
        out.push(parsed)
    })
}
