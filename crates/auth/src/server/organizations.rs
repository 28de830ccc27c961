//! Organizations (the REST API's tenancy) and the organization each user acts for.

use std::time::Instant;

use crate::clock::stamp;
use crate::store::{AuthStoreError, OrganizationRecord};

use super::AuthServer;

/// Why managing organizations, their users or API keys failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The request is wrong (an unknown scope, an empty name, no such organization or user, a
    /// name taken); the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(AuthStoreError),
}

impl From<AuthStoreError> for ManageError {
    fn from(e: AuthStoreError) -> Self {
        match e {
            AuthStoreError::Conflict(m) => Self::Invalid(m),
            other => Self::Store(other),
        }
    }
}

/// A name people gave (an organization's, an API key's): trimmed, 1–200 characters, no
/// control characters.
pub(super) fn display_name<'a>(name: &'a str, what: &str) -> Result<&'a str, ManageError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 200 {
        return Err(ManageError::Invalid(format!("the {what} must have 1 to 200 characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(ManageError::Invalid(format!(
            "the {what} cannot contain control characters (tabs, line breaks)"
        )));
    }
    Ok(name)
}

impl AuthServer {
    /// Creates an organization; its name (trimmed, 1–200 characters) must be unused.
    pub async fn create_organization(&self, name: &str) -> Result<i64, ManageError> {
        let name = display_name(name, "organization name")?;
        Ok(self.store.create_organization(name, &stamp(self.now())).await?)
    }

    /// An organization by its exact name (surrounding spaces ignored).
    pub async fn organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
        self.store.organization_by_name(name.trim()).await
    }

    /// An organization by id.
    pub async fn organization(
        &self,
        id: i64,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
        self.store.organization_by_id(id).await
    }

    /// Every organization, by name.
    pub async fn organizations(&self) -> Result<Vec<OrganizationRecord>, AuthStoreError> {
        self.store.organizations().await
    }

    /// Puts a user in an organization, or (`None`) in none. Takes effect at once in this
    /// process and, on PostgreSQL, in every other.
    pub async fn set_user_organization(
        &self,
        user_id: i64,
        organization_id: Option<i64>,
    ) -> Result<(), ManageError> {
        if let Some(org) = organization_id
            && self.store.organization_by_id(org).await?.is_none()
        {
            return Err(ManageError::Invalid(format!("no organization with id {org}")));
        }
        let found =
            self.store.set_user_organization(user_id, organization_id, &stamp(self.now())).await;
        self.caches.clear();
        if !found? {
            return Err(ManageError::Invalid(format!("no user with id {user_id}")));
        }
        Ok(())
    }

    /// The organization a user acts for (`None`: none, or no such user). Cached for
    /// `token_cache_ttl`; changes through [`AuthServer::set_user_organization`] apply at once.
    pub async fn user_organization(&self, user_id: i64) -> Result<Option<i64>, AuthStoreError> {
        if let Some((at, org)) = self.caches.user_organizations.get(&user_id)
            && at.elapsed() < self.config.token_cache_ttl
        {
            return Ok(org);
        }
        let (generation, fetched) = (self.caches.generation(), Instant::now());
        let org = self.store.user_by_id(user_id).await?.and_then(|u| u.organization_id);
        if self.caches.generation() == generation {
            self.caches.user_organizations.insert(user_id, (fetched, org));
        }
        Ok(org)
    }
}
