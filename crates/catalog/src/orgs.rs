//! Organizations and their brands, managed by their own members (docs/spec.md §2, §7 REST): the
//! caller's organization (read, rename, metadata merge, delete when it has no brands left),
//! creating an organization for a signed-in user who has none, the organization's brands
//! (list, create, read, rename, metadata merge, delete when they have no products), and the
//! organization's products one page at a time. Bodies are checked field by field (every wrong
//! field named in `errors[]`); names are trimmed and 1–200 characters; brands are unique by
//! their folded name ([`crate::model::fold_name`]). Organizations and brands carry entity tags (of their JSON
//! representation) for `If-Match`; writes compare the stored row they were computed from, so a
//! change that lands in between is never overwritten. This module is HTTP-free: the REST
//! endpoints (`web::rest::accounts`) call it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{FieldError, ServiceError};
use crate::model::{Metadata, MetadataPatch};
use crate::rules_admin::{Pagination, if_match_admits};
use crate::service::Catalog;
use crate::store::StoreError;

/// The PostgreSQL channel the auth server listens on for revocations
/// (`auth::server::REVOCATION_CHANNEL`; the auth crate depends on this one, not the reverse,
/// and a web test checks that they agree): creating or deleting an organization announces
/// itself there, since it changes which organization users and API keys act for.
pub const REVOCATION_CHANNEL: &str = "prodlink_revocations";

/// Longest organization or brand name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 200;

/// An organization: a company whose members and API keys manage its brands and products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Organization {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Flat string map (docs/spec.md §2); `{}` when unset.
    pub metadata: Metadata,
    /// How many brands it owns.
    pub brand_count: u64,
    /// How many products those brands have.
    pub product_count: u64,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Brand {
    /// Id.
    pub id: i64,
    /// Display name (unique regardless of case and spacing).
    pub name: String,
    /// The organization owning it (`null` for brands of nobody, such as imported ones).
    pub organization_id: Option<i64>,
    /// Flat string map (docs/spec.md §2); `{}` when unset.
    pub metadata: Metadata,
    /// How many products it has.
    pub product_count: u64,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// One product in an organization's product list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OrganizationProduct {
    /// GTIN-14.
    pub gtin: String,
    /// Product name.
    pub name: String,
    /// Brand name.
    pub brand: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A page of an organization's brands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BrandPage {
    /// The brands of this page, by name.
    pub items: Vec<Brand>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// A page of an organization's products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ProductPage {
    /// The products of this page, by GTIN.
    pub items: Vec<OrganizationProduct>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// The body creating an organization.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Its name, unique (1-200 characters).
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Flat string map: at most 50 keys of up to 40 characters, values of 1-500.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The body creating a brand.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrand {
    /// Its name (1-200 characters), unique regardless of case and spacing.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Flat string map: at most 50 keys of up to 40 characters, values of 1-500.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A change to an organization or a brand: fields left out are kept.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamePatch {
    /// A new name (1-200 characters).
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    /// Keys to merge into the stored metadata: an empty string deletes a key, other values
    /// set it, keys not mentioned are kept (docs/spec.md §2).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The signed-in user behind a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountUser {
    /// Id.
    pub id: i64,
    /// Email (lower case).
    pub email: String,
    /// Display name, if set.
    pub display_name: Option<String>,
}

/// What creating an organization did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationCreation {
    /// Created with this id; the user is its member.
    Created(i64),
    /// Another organization has the name.
    NameTaken,
    /// The user belongs to this organization already (nothing was created).
    AlreadyMember(i64),
    /// There is no such user.
    NoSuchUser,
}

/// What a compare-and-set update of an organization or brand did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordUpdate {
    /// Written.
    Done,
    /// The row changed (or went) since it was read: nothing was written.
    Stale,
    /// Another organization or brand has the name.
    NameTaken,
}

/// What an operator hands to an organization with `prodlink org assign`: brands and retailers
/// made by imports belong to none until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    /// A brand, found by its case-folded name.
    Brand,
    /// A retailer, found by its exact name.
    Retailer,
}

impl Owned {
    /// The stored key it is found by for `name`: a brand's folded name, a retailer's trimmed
    /// name.
    pub(crate) fn key(self, name: &str) -> String {
        match self {
            Self::Brand => crate::model::fold_name(name),
            Self::Retailer => name.trim().to_owned(),
        }
    }

    /// "brand" or "retailer".
    pub fn noun(self) -> &'static str {
        match self {
            Self::Brand => "brand",
            Self::Retailer => "retailer",
        }
    }
}

/// What assigning a brand or retailer to an organization did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// Now the organization's; `previous` owned it before (`None`: nobody).
    Assigned {
        /// Its stored name.
        name: String,
        /// The organization that owned it before.
        previous: Option<i64>,
    },
    /// It was the organization's already: nothing was written.
    Unchanged {
        /// Its stored name.
        name: String,
    },
    /// Another organization owns it and reassigning was not asked for: nothing was written.
    OwnedByOther {
        /// Its stored name.
        name: String,
        /// The owner.
        owner: i64,
    },
    /// There is no brand or retailer of that name.
    NotFound,
}

/// What deleting an organization or brand did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Deleted.
    Done,
    /// There is none (for brands: none owned by the organization).
    Missing,
    /// Refused: it still has this many brands (organizations) or products (brands).
    InUse(u64),
}

/// An organization or brand management failure: a service error, or an `If-Match` that no
/// longer matches.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// The usual errors (404, 403, 409, 422, …).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// `If-Match` named another version (HTTP 412, error code `conflict`).
    #[error("{0}")]
    PreconditionFailed(String),
}

impl From<StoreError> for OrgError {
    fn from(e: StoreError) -> Self {
        Self::Service(e.into())
    }
}

/// The strong entity tag of a representation: a SHA-256 prefix of its JSON (the same form as
/// the REST API's other tags).
fn entity_tag(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32])
}

impl Organization {
    /// The entity tag of its representation.
    pub fn etag(&self) -> String {
        entity_tag(self)
    }
}

impl Brand {
    /// The entity tag of its representation.
    pub fn etag(&self) -> String {
        entity_tag(self)
    }
}

/// A stored metadata map read back (a map that no longer validates is corruption).
pub(crate) fn stored_metadata(json: &str) -> Result<Metadata, StoreError> {
    Metadata::from_json(json).map_err(|e| StoreError::Corrupt(format!("stored metadata: {e}")))
}

/// A stored count read back.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Bodies.

/// The fields of a body: `name` and `metadata`, each checked; unknown fields are errors.
#[derive(Debug, Default)]
struct Fields {
    name: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
}

/// A name as stored: trimmed, 1-200 characters.
fn check_name(value: &str) -> Result<String, FieldError> {
    let name = value.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err(FieldError::new("name", "must not be empty"));
    }
    if n > MAX_NAME_CHARS {
        return Err(FieldError::new(
            "name",
            format!("is {n} characters long; at most {MAX_NAME_CHARS} are allowed"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// Parses a JSON object body of `what` into its fields, listing every wrong field.
fn fields(body: &[u8], what: &str) -> Result<Fields, ServiceError> {
    if body.is_empty() {
        return Err(ServiceError::BadRequest(format!("send the {what} as a JSON object")));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ServiceError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ServiceError::BadRequest("the body must be a JSON object".into()));
    };
    let mut errors = Vec::new();
    let mut out = Fields::default();
    for (key, value) in &map {
        match key.as_str() {
            "name" => match value {
                Value::String(s) => match check_name(s) {
                    Ok(n) => out.name = Some(n),
                    Err(e) => errors.push(e),
                },
                _ => errors.push(FieldError::new("name", "must be a string")),
            },
            "metadata" => match metadata_field(value) {
                Ok(m) => out.metadata = Some(m),
                Err(mut e) => errors.append(&mut e),
            },
            other => errors.push(FieldError::new(
                other,
                "is not a field here; the fields are name and metadata",
            )),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(ServiceError::invalid_fields(errors)) }
}

/// A `metadata` value: an object of strings.
fn metadata_field(value: &Value) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let Value::Object(entries) = value else {
        return Err(vec![FieldError::new(
            "metadata",
            "must be an object of strings (an empty string deletes a key in PATCH)",
        )]);
    };
    let mut errors = Vec::new();
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        match v {
            Value::String(s) => {
                map.insert(k.clone(), s.clone());
            }
            _ => errors.push(FieldError::new(format!("metadata.{k}"), "must be a string")),
        }
    }
    if errors.is_empty() { Ok(map) } else { Err(errors) }
}

/// A complete map for a new organization or brand (empty values are refused: there is
/// nothing to delete yet).
fn new_metadata(entries: Option<BTreeMap<String, String>>) -> Result<Metadata, FieldError> {
    let entries = entries.unwrap_or_default();
    if let Some((k, _)) = entries.iter().find(|(_, v)| v.is_empty()) {
        return Err(FieldError::new(
            format!("metadata.{k}"),
            "is empty: leave the key out (an empty value deletes a key in PATCH)",
        ));
    }
    Metadata::try_from_map(entries).map_err(|e| FieldError::new("metadata", e.0))
}

/// The name and metadata of a new organization or brand.
fn creation(body: &[u8], what: &str) -> Result<(String, Metadata), ServiceError> {
    let f = fields(body, what)?;
    let mut errors = Vec::new();
    let metadata = new_metadata(f.metadata).map_err(|e| errors.push(e)).ok();
    if f.name.is_none() {
        errors.push(FieldError::new("name", "is required"));
    }
    match (f.name, metadata) {
        (Some(name), Some(metadata)) if errors.is_empty() => Ok((name, metadata)),
        _ => Err(ServiceError::invalid_fields(errors)),
    }
}

/// The name and metadata patch of a change.
fn change(
    body: &[u8],
    what: &str,
) -> Result<(Option<String>, Option<MetadataPatch>), ServiceError> {
    let f = fields(body, what)?;
    let patch = match f.metadata {
        None => None,
        Some(entries) => {
            Some(MetadataPatch::new(entries).map_err(|e| ServiceError::invalid("metadata", e.0))?)
        }
    };
    Ok((f.name, patch))
}

/// The merged metadata of a change.
fn merged(stored: &Metadata, patch: Option<&MetadataPatch>) -> Result<Metadata, ServiceError> {
    match patch {
        None => Ok(stored.clone()),
        Some(p) => stored.merged(p).map_err(|e| ServiceError::invalid("metadata", e.0)),
    }
}

fn stale(what: &str) -> OrgError {
    OrgError::PreconditionFailed(format!(
        "the {what} changed since you read it (If-Match does not match its ETag): read it again and redo your change"
    ))
}

fn check_if_match(if_match: Option<&str>, etag: &str, what: &str) -> Result<(), OrgError> {
    match if_match {
        Some(h) if !if_match_admits(h, etag) => Err(stale(what)),
        _ => Ok(()),
    }
}

/// The offset of a page, after checking `page` (from 1) and `page_size` (1-100).
fn offset(page: u64, page_size: u64) -> Result<u64, ServiceError> {
    if page == 0 {
        return Err(ServiceError::invalid("page", "must be 1 or more"));
    }
    if !(1..=100).contains(&page_size) {
        return Err(ServiceError::invalid("page_size", "give 1 to 100"));
    }
    Ok((page - 1).saturating_mul(page_size))
}

fn pagination(page: u64, page_size: u64, total: u64) -> Pagination {
    Pagination { page, page_size, total, total_pages: total.div_ceil(page_size) }
}

/// Attempts of an update without `If-Match` that keeps meeting concurrent changes.
const ATTEMPTS: usize = 3;

fn busy(what: &str) -> OrgError {
    ServiceError::Conflict(format!(
        "the {what} kept changing while this request was applied; retry"
    ))
    .into()
}

fn brand_not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("there is no brand {id}"))
}

fn brand_taken(name: &str) -> ServiceError {
    ServiceError::Conflict(format!(
        "a brand named {name:?} exists already (brand names are unique regardless of case and spacing)"
    ))
}

// ---------------------------------------------------------------------------------------------
// Service.

impl Catalog {
    /// Organization `id`; 404 when there is none (it was deleted).
    pub async fn organization(&self, id: i64) -> Result<Organization, ServiceError> {
        self.store().organization_record(id).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("there is no organization {id} (it was deleted)"))
        })
    }

    /// Creates an organization from a request body (`name`, `metadata`) with user `user_id`
    /// as its member; the user must belong to none. 409 when the name is taken or the user
    /// has an organization.
    pub async fn create_organization(
        &self,
        user_id: i64,
        body: &[u8],
    ) -> Result<Organization, ServiceError> {
        let (name, metadata) = creation(body, "organization")?;
        match self.store().create_organization(&name, &metadata, user_id).await? {
            OrganizationCreation::Created(id) => self.organization(id).await,
            OrganizationCreation::NameTaken => Err(ServiceError::Conflict(format!(
                "an organization named {name:?} exists already: choose another name"
            ))),
            OrganizationCreation::AlreadyMember(_) => Err(ServiceError::Conflict(
                "your account belongs to an organization already: one account acts for one organization".into(),
            )),
            OrganizationCreation::NoSuchUser => Err(ServiceError::Forbidden(
                "the account behind this credential no longer exists".into(),
            )),
        }
    }

    /// Renames organization `id` and/or merges metadata into it (body: `name`, `metadata`).
    /// With `if_match`, it must still have that entity tag.
    pub async fn update_organization(
        &self,
        id: i64,
        if_match: Option<&str>,
        body: &[u8],
    ) -> Result<Organization, OrgError> {
        let (name, patch) = change(body, "change")?;
        for _ in 0..ATTEMPTS {
            let current = self.organization(id).await?;
            check_if_match(if_match, &current.etag(), "organization")?;
            let new_name = name.clone().unwrap_or_else(|| current.name.clone());
            let metadata = merged(&current.metadata, patch.as_ref())?;
            if new_name == current.name && metadata == current.metadata {
                return Ok(current);
            }
            match self.store().update_organization(&current, &new_name, &metadata).await? {
                RecordUpdate::Done => return Ok(self.organization(id).await?),
                RecordUpdate::NameTaken => {
                    return Err(ServiceError::Conflict(format!(
                        "an organization named {new_name:?} exists already: choose another name"
                    ))
                    .into());
                }
                RecordUpdate::Stale if if_match.is_some() => return Err(stale("organization")),
                RecordUpdate::Stale => {}
            }
        }
        Err(busy("organization"))
    }

    /// Deletes organization `id`, which must have no brands left (409 otherwise). Its users
    /// stay, in no organization; its API keys and its ORGANIZATION resolver rules go with it;
    /// retailers it owned belong to nobody.
    pub async fn delete_organization(
        &self,
        id: i64,
        if_match: Option<&str>,
    ) -> Result<(), OrgError> {
        let current = self.organization(id).await?;
        check_if_match(if_match, &current.etag(), "organization")?;
        match self.store().delete_organization(id).await? {
            Removal::Done => Ok(()),
            Removal::Missing => Err(ServiceError::NotFound(format!(
                "there is no organization {id} (it was deleted)"
            ))
            .into()),
            Removal::InUse(n) => Err(ServiceError::Conflict(format!(
                "the organization still owns {n} brand{}: delete them first (DELETE /api/v1/brands/{{id}}, after their products)",
                if n == 1 { "" } else { "s" }
            ))
            .into()),
        }
    }

    /// A page (`page` from 1, `page_size` 1-100) of the organization's brands, by name.
    pub async fn organization_brands(
        &self,
        organization: i64,
        page: u64,
        page_size: u64,
    ) -> Result<BrandPage, ServiceError> {
        let from = offset(page, page_size)?;
        let (items, total) =
            self.store().organization_brands(organization, from, page_size).await?;
        Ok(BrandPage { items, pagination: pagination(page, page_size, total) })
    }

    /// A page (`page` from 1, `page_size` 1-100) of the products of the organization's
    /// brands, by GTIN.
    pub async fn organization_products(
        &self,
        organization: i64,
        page: u64,
        page_size: u64,
    ) -> Result<ProductPage, ServiceError> {
        let from = offset(page, page_size)?;
        let (items, total) =
            self.store().organization_products(organization, from, page_size).await?;
        Ok(ProductPage { items, pagination: pagination(page, page_size, total) })
    }

    /// One of the organization's brands: 404 when there is no such brand, 403 when it is
    /// another organization's (or nobody's).
    pub async fn owned_brand(&self, organization: i64, id: i64) -> Result<Brand, ServiceError> {
        match self.store().brand_record(id).await? {
            None => Err(brand_not_found(id)),
            Some(b) if b.organization_id == Some(organization) => Ok(b),
            Some(_) => Err(ServiceError::Forbidden(format!(
                "the brand {id} belongs to another organization (or to none): you can manage only your organization's brands"
            ))),
        }
    }

    /// Creates a brand of the organization from a request body (`name`, `metadata`); 409 when
    /// a brand of that name (regardless of case and spacing) exists.
    pub async fn create_organization_brand(
        &self,
        organization: i64,
        body: &[u8],
    ) -> Result<Brand, ServiceError> {
        let (name, metadata) = creation(body, "brand")?;
        match self.store().insert_brand(organization, &name, &metadata).await? {
            Some(id) => self.owned_brand(organization, id).await,
            None => Err(brand_taken(&name)),
        }
    }

    /// Renames one of the organization's brands and/or merges metadata into it (body: `name`,
    /// `metadata`). With `if_match`, it must still have that entity tag.
    pub async fn update_brand(
        &self,
        organization: i64,
        id: i64,
        if_match: Option<&str>,
        body: &[u8],
    ) -> Result<Brand, OrgError> {
        let (name, patch) = change(body, "change")?;
        for _ in 0..ATTEMPTS {
            let current = self.owned_brand(organization, id).await?;
            check_if_match(if_match, &current.etag(), "brand")?;
            let new_name = name.clone().unwrap_or_else(|| current.name.clone());
            let metadata = merged(&current.metadata, patch.as_ref())?;
            if new_name == current.name && metadata == current.metadata {
                return Ok(current);
            }
            match self.store().update_brand(&current, &new_name, &metadata).await? {
                RecordUpdate::Done => return Ok(self.owned_brand(organization, id).await?),
                RecordUpdate::NameTaken => return Err(brand_taken(&new_name).into()),
                RecordUpdate::Stale if if_match.is_some() => return Err(stale("brand")),
                RecordUpdate::Stale => {}
            }
        }
        Err(busy("brand"))
    }

    /// Deletes one of the organization's brands, which must have no products (409
    /// otherwise); its BRAND resolver rules go with it.
    pub async fn delete_brand(
        &self,
        organization: i64,
        id: i64,
        if_match: Option<&str>,
    ) -> Result<(), OrgError> {
        let current = self.owned_brand(organization, id).await?;
        check_if_match(if_match, &current.etag(), "brand")?;
        match self.store().delete_brand(id, organization).await? {
            Removal::Done => Ok(()),
            Removal::Missing => Err(brand_not_found(id).into()),
            Removal::InUse(n) => Err(ServiceError::Conflict(format!(
                "the brand {id} still has {n} product{}: delete them first (DELETE /api/v1/products/{{gtin}})",
                if n == 1 { "" } else { "s" }
            ))
            .into()),
        }
    }

    /// The user with this id, for showing who a credential belongs to.
    pub async fn account_user(&self, id: i64) -> Result<Option<AccountUser>, ServiceError> {
        Ok(self.store().account_user(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(e: ServiceError) -> Vec<(String, String)> {
        match e {
            ServiceError::Validation { errors, .. } => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            other => vec![("?".into(), other.to_string())],
        }
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        let (name, metadata) =
            creation(br#"{"name": "  Acme  ", "metadata": {"a": "1"}}"#, "brand").unwrap();
        assert_eq!(name, "Acme");
        assert_eq!(metadata.get("a"), Some("1"));
        let e = errors(
            creation(br#"{"colour": 1, "metadata": {"a": 2, "b": ""}}"#, "brand").unwrap_err(),
        );
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["colour", "metadata.a"], "{e:?}");
        let e = errors(creation(br#"{"metadata": {"b": ""}}"#, "brand").unwrap_err());
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["metadata.b", "name"], "{e:?}");
        let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(201));
        assert_eq!(errors(creation(long.as_bytes(), "brand").unwrap_err())[0].0, "name");
        assert!(matches!(creation(b"[]", "brand"), Err(ServiceError::BadRequest(_))));
        assert!(matches!(creation(b"", "brand"), Err(ServiceError::BadRequest(_))));
        let (name, patch) = change(br#"{"metadata": {"a": ""}}"#, "change").unwrap();
        assert_eq!(name, None);
        assert_eq!(patch.map(|p| p.entries.len()), Some(1));
        assert_eq!(errors(change(br#"{"name": null}"#, "change").unwrap_err())[0].0, "name");
        assert_eq!(errors(change(br#"{"name": " "}"#, "change").unwrap_err())[0].0, "name");
    }

    #[test]
    fn pages_are_bounded() {
        assert_eq!(offset(3, 20).unwrap(), 40);
        assert!(offset(0, 20).is_err());
        assert!(offset(1, 101).is_err());
        assert_eq!(pagination(1, 20, 41).total_pages, 3);
        assert_eq!(pagination(1, 20, 0).total_pages, 0);
    }
}
