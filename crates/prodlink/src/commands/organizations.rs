//! `prodlink org …` and `prodlink apikey …`: organizations (the brand owners users and API keys
//! act for) and the API keys servers use for the REST API — created, listed without secrets,
//! revoked. A new key is printed once on stdout; everything else about it goes to stderr.

use std::io::Write as _;

use anyhow::Context as _;
use auth::store::OrganizationRecord;
use catalog::orgs::{Assignment, Owned};

use crate::cli::{ApiKeyCommand, OrgCommand};
use crate::settings::FileSettings;

/// The organization named `name` (surrounding spaces ignored), or an error saying how to make
/// it.
pub(super) async fn named(
    auth: &auth::AuthServer,
    name: &str,
) -> anyhow::Result<OrganizationRecord> {
    auth.organization_by_name(name).await?.with_context(|| {
        format!(
            "--organization {name:?}: no such organization (see `prodlink org list`, or create \
             it with `prodlink org add --name {:?}`)",
            name.trim()
        )
    })
}

/// A value for a tab-separated listing: tabs and line breaks become spaces, nothing is "-".
fn cell(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.replace(['\t', '\n', '\r'], " "),
        _ => "-".to_owned(),
    }
}

/// `prodlink org …`.
pub async fn org(database: &str, command: OrgCommand, file: &FileSettings) -> anyhow::Result<()> {
    let (opened, auth) = super::accounts::server(database, None, file).await?;
    let result = async {
        match command {
            OrgCommand::Add { name } => {
                let id = auth
                    .create_organization(&name)
                    .await
                    .map_err(|e| anyhow::anyhow!("--name {name:?}: {e}"))?;
                writeln!(std::io::stdout().lock(), "created organization {id} ({})", name.trim())?;
            }
            OrgCommand::List => {
                let organizations = auth.organizations().await?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "id\tname\tcreated_at")?;
                for o in organizations {
                    writeln!(out, "{}\t{}\t{}", o.id, cell(Some(&o.name)), o.created_at)?;
                }
            }
            OrgCommand::Assign { organization, brand, retailer, reassign } => {
                let org = named(&auth, &organization).await?;
                let (kind, name) = match (brand, retailer) {
                    (Some(b), _) => (Owned::Brand, b),
                    (None, Some(r)) => (Owned::Retailer, r),
                    (None, None) => anyhow::bail!("give --brand NAME or --retailer NAME"),
                };
                let noun = kind.noun();
                let done = opened.store.assign_owner(kind, &name, org.id, reassign).await?;
                let mut out = std::io::stdout().lock();
                match done {
                    Assignment::Assigned { name, previous: None } => {
                        writeln!(out, "assigned {noun} {name:?} to {}", org.name)?;
                    }
                    Assignment::Assigned { name, previous: Some(before) } => {
                        writeln!(
                            out,
                            "assigned {noun} {name:?} to {} (it was organization {before}'s)",
                            org.name
                        )?;
                    }
                    Assignment::Unchanged { name } => {
                        writeln!(out, "{noun} {name:?} already belongs to {}", org.name)?;
                    }
                    Assignment::OwnedByOther { name, owner } => anyhow::bail!(
                        "--{noun} {name:?} belongs to organization {owner} (see `prodlink org \
                         list`); add --reassign to take it from them"
                    ),
                    Assignment::NotFound if kind == Owned::Brand => anyhow::bail!(
                        "--brand {name:?}: no such brand (brands come from imports, or from \
                         POST /api/v1/brands)"
                    ),
                    Assignment::NotFound => anyhow::bail!(
                        "--retailer {name:?}: no such retailer (names are matched exactly, as \
                         imported)"
                    ),
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    drop(auth); // first: its revocation listener then ends quietly
    opened.database.close().await;
    result
}

/// `prodlink apikey …`.
pub async fn apikey(
    database: &str,
    command: ApiKeyCommand,
    file: &FileSettings,
) -> anyhow::Result<()> {
    let (opened, auth) = super::accounts::server(database, None, file).await?;
    let result = async {
        match command {
            ApiKeyCommand::Create { organization, name, scope, rate_limit_per_minute } => {
                let org = named(&auth, &organization).await?;
                let (key, secret) = auth
                    .create_api_key(org.id, &name, &scope, rate_limit_per_minute, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                writeln!(std::io::stdout().lock(), "{secret}")?;
                let limit = key
                    .rate_limit_per_minute
                    .map_or_else(|| "the server's rate limit".to_owned(), |n| format!("{n} requests per minute"));
                writeln!(
                    std::io::stderr().lock(),
                    "created API key {} ({}…, {:?}) for {} with scopes {}, {limit}.\n\
                     This is the only time the key is shown: prodlink keeps only its hash. \
                     Store it now; if it is lost, create another and revoke this one \
                     (`prodlink apikey revoke {}`).",
                    key.id,
                    key.prefix,
                    key.name,
                    key.organization_name,
                    key.scopes.join(" "),
                    key.id
                )?;
            }
            ApiKeyCommand::List { organization } => {
                let org = match &organization {
                    Some(name) => Some(named(&auth, name).await?.id),
                    None => None,
                };
                let keys = auth.list_api_keys(org).await?;
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "id\tprefix\tname\torganization\tscopes\trate_limit_per_minute\tcreated_at\tlast_used_at\trevoked_at"
                )?;
                for k in keys {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        k.id,
                        k.prefix,
                        cell(Some(&k.name)),
                        cell(Some(&k.organization_name)),
                        k.scopes.join(" "),
                        k.rate_limit_per_minute.map_or_else(|| "default".to_owned(), |n| n.to_string()),
                        k.created_at,
                        cell(k.last_used_at.as_deref()),
                        cell(k.revoked_at.as_deref()),
                    )?;
                }
            }
            ApiKeyCommand::Revoke { id } => {
                let key = auth
                    .list_api_keys(None)
                    .await?
                    .into_iter()
                    .find(|k| k.id == id)
                    .with_context(|| format!("no API key has the id {id} (see `prodlink apikey list`)"))?;
                let revoked = auth.revoke_api_key(id).await?;
                let mut out = std::io::stdout().lock();
                if revoked {
                    writeln!(out, "revoked API key {id} ({}…, {:?}) of {}", key.prefix, key.name, key.organization_name)?;
                } else {
                    writeln!(
                        out,
                        "API key {id} ({}…) was already revoked at {}",
                        key.prefix,
                        cell(key.revoked_at.as_deref())
                    )?;
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    drop(auth); // first: its revocation listener then ends quietly
    opened.database.close().await;
    result
}
