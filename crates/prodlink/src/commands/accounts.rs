//! `prodlink user add`, `prodlink user set-organization`, `prodlink client add` and `prodlink
//! token mint`: the operator's way to create accounts and put them in organizations,
//! pre-register OAuth clients and issue development tokens without a browser.

use std::io::{BufRead as _, Write as _};

use anyhow::Context as _;

use crate::cli::{ClientCommand, TokenCommand, UserCommand};
use crate::settings::{self, FileSettings};

pub(super) async fn server(
    database: &str,
    site_url: Option<String>,
    file: &FileSettings,
) -> anyhow::Result<(super::Opened, std::sync::Arc<auth::AuthServer>)> {
    let site_url = settings::site_url(site_url, file)?;
    let opened = super::open_serving(database).await?;
    let auth = opened.auth(auth::AuthConfig::new(&site_url)).await?;
    Ok((opened, auth))
}

/// `prodlink user …`.
pub async fn user(database: &str, command: UserCommand, file: &FileSettings) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { email, organization } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(
                !password.is_empty(),
                "give the password on standard input, e.g. `printf '%s' \"$PASSWORD\" | prodlink user add --email {email}`"
            );
            let (opened, auth) = server(database, None, file).await?;
            // The organization is checked first: a typo in it creates no account.
            let org = match &organization {
                Some(name) => Some(super::organizations::named(&auth, name).await?),
                None => None,
            };
            let id = auth
                .create_user(&email, password)
                .await
                .map_err(|e| anyhow::anyhow!("--email {email}: {e}"))?;
            if let Some(org) = &org {
                auth.set_user_organization(id, Some(org.id)).await?;
            }
            drop(auth); // first: its revocation listener then ends quietly
            opened.database.close().await;
            let mut out = std::io::stdout().lock();
            match org {
                Some(org) => writeln!(out, "created user {id} ({email}) in {}", org.name)?,
                None => writeln!(out, "created user {id} ({email})")?,
            }
            Ok(())
        }
        UserCommand::SetOrganization { email, organization, none: _ } => {
            let (opened, auth) = server(database, None, file).await?;
            let user = auth
                .user_by_email(&email)
                .await?
                .with_context(|| format!("--email {email}: no user has this email"))?;
            let org = match &organization {
                Some(name) => Some(super::organizations::named(&auth, name).await?),
                None => None,
            };
            auth.set_user_organization(user.id, org.as_ref().map(|o| o.id)).await?;
            drop(auth); // first: its revocation listener then ends quietly
            opened.database.close().await;
            let mut out = std::io::stdout().lock();
            match org {
                Some(org) => {
                    writeln!(out, "user {} ({}) now acts for {}", user.id, user.email, org.name)?
                }
                None => {
                    writeln!(out, "user {} ({}) now acts for no organization", user.id, user.email)?
                }
            }
            Ok(())
        }
    }
}

/// `prodlink client …`.
pub async fn client(
    database: &str,
    command: ClientCommand,
    file: &FileSettings,
) -> anyhow::Result<()> {
    match command {
        ClientCommand::Add { name, redirect_uris, confidential, scope, client_id, site_url } => {
            let (opened, auth) = server(database, site_url, file).await?;
            let (id, secret) = auth
                .add_static_client(
                    client_id.as_deref(),
                    &name,
                    &redirect_uris,
                    confidential,
                    None,
                    &scope,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            drop(auth); // first: its revocation listener then ends quietly
            opened.database.close().await;
            let mut out = std::io::stdout().lock();
            writeln!(out, "client_id={id}")?;
            if let Some(secret) = secret {
                writeln!(out, "client_secret={secret}")?;
                writeln!(out, "# the secret is stored hashed and cannot be shown again")?;
            }
            Ok(())
        }
    }
}

/// `prodlink token …`.
pub async fn token(
    database: &str,
    command: TokenCommand,
    file: &FileSettings,
) -> anyhow::Result<()> {
    match command {
        TokenCommand::Mint { email, scope, site_url } => {
            let (opened, auth) = server(database, site_url, file).await?;
            let t = auth.mint_token(&email, &scope).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            drop(auth); // first: its revocation listener then ends quietly
            opened.database.close().await;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", t.access_token)?;
            tracing::info!(email, scope = %t.scope, expires_in = t.expires_in, "token minted");
            Ok(())
        }
    }
}

/// Creates or updates the `[[clients]]` of the configuration file.
pub async fn sync_file_clients(auth: &auth::AuthServer, file: &FileSettings) -> anyhow::Result<()> {
    for c in &file.clients {
        let secret = match &c.secret_env {
            Some(var) => Some(std::env::var(var).with_context(|| {
                format!("client {}: secret_env names {var}, which is not set", c.client_id)
            })?),
            None => None,
        };
        auth.add_static_client(
            Some(&c.client_id),
            &c.name,
            &c.redirect_uris,
            secret.is_some(),
            secret.as_deref(),
            c.scope.as_deref().unwrap_or(auth::QR_SCOPE),
        )
        .await
        .map_err(|e| anyhow::anyhow!("configuration client {}: {e}", c.client_id))?;
    }
    Ok(())
}
