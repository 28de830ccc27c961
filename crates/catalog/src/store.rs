//! The storage trait the services and importers use. One implementation per backend (SQLite in
//! [`crate::sqlite`], PostgreSQL later); nothing above this trait knows which one runs.
//!
//! Reads return domain types; writes take batches and report an outcome per row, so an importer
//! can account for every input row, and a backend can use one transaction per batch.

use std::collections::HashMap;

use async_trait::async_trait;
use gs1::Gtin14;

use crate::geo::{BoundingBox, Point};
use crate::model::{
    CatalogCounts, OfferWrite, PriceRange, Product, ProductChildren, ProductWrite, StoreOffer,
    StoreSummary, StoreWrite, WriteOutcome,
};
use crate::rules_admin::{Actor, ManagedRule, OwnedRule, RuleDraft, RuleResult, ScopeRef};
use crate::search::SearchFilters;

/// A storage failure. `Rejected` is the caller's fault (a constraint refused the data); the
/// rest are infrastructure failures whose details are logged, not shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused the data (constraint violation).
    #[error("{0}")]
    Rejected(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data could not be decoded (corruption or a schema mismatch).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database URL or options are wrong.
    #[error("{0}")]
    Config(String),
}

/// A product waiting to be embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedJob {
    /// The product.
    pub gtin: Gtin14,
    /// Its searchable text (name, brand, category, description, ingredients), joined.
    pub text: String,
    /// The hash of the text its current embedding (by the same model) was made from.
    pub stored_hash: Option<Vec<u8>>,
    /// The queue entry's version when read: bumped by every write that re-queues the product.
    pub queued: i64,
}

/// The result of one [`EmbedJob`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingWrite {
    /// The product.
    pub gtin: Gtin14,
    /// Hash of the embedded text.
    pub text_hash: Vec<u8>,
    /// The new vector, or `None` when the text is unchanged (the job is just dequeued).
    pub vector: Option<Vec<f32>>,
    /// The job's [`EmbedJob::queued`]: the product leaves the queue only if no write has
    /// re-queued it since (else it is embedded again, from its new text).
    pub queued: i64,
}

/// A product's searchable text as the background indexer stored it: what the in-memory
/// lexical index reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDocument {
    /// The product.
    pub gtin: Gtin14,
    /// The product's language, when its data says (ISO 639-1, e.g. OFF's `lang`).
    pub lang: Option<String>,
    /// Name, brand, category path, labels, description, ingredients (empty when unset).
    pub fields: [String; 6],
    /// The product was deleted: remove it from the index.
    pub deleted: bool,
}

/// A position in the search documents, in write order: (write sequence, GTIN). `(0, "")` is
/// the start.
pub type SearchCursor = (i64, String);

/// A page of search documents and the cursor after its last one (`None` when empty).
pub type SearchDocumentPage = (Vec<SearchDocument>, Option<SearchCursor>);

/// A page of stored embeddings and the cursor of the next page (`None` at the end).
pub type EmbeddingPage = (Vec<(Gtin14, Vec<f32>)>, Option<EmbeddingCursor>);

/// A position in the stored embeddings, in write order: (write sequence, product row id).
/// `(0, 0)` is the start.
pub type EmbeddingCursor = (i64, i64);

/// Catalog storage: every role trait below, implemented by both backends (and the read cache)
/// in one `impl` block per role. Implementations must be cheap to share
/// (`Arc<dyn CatalogStore>`). Callers hold a `dyn CatalogStore` and call any role's methods on
/// it; a function that needs one role only may take that role.
pub trait CatalogStore:
    StoreMeta
    + ProductReads
    + CatalogWrites
    + SearchIndexDb
    + EmbeddingsDb
    + RulesDb
    + OrgsDb
    + RetailDb
{
}

/// The role traits, imported anonymously: `use catalog::store::roles::*;` lets a concrete store
/// (a `SqliteStore`, a `PgStore`) be called as a `dyn CatalogStore` is.
pub mod roles {
    pub use super::{
        CatalogWrites as _, EmbeddingsDb as _, OrgsDb as _, ProductReads as _, RetailDb as _,
        RulesDb as _, SearchIndexDb as _, StoreMeta as _,
    };
}

/// Whatever implements every role is a [`CatalogStore`].
impl<T> CatalogStore for T where
    T: StoreMeta
        + ProductReads
        + CatalogWrites
        + SearchIndexDb
        + EmbeddingsDb
        + RulesDb
        + OrgsDb
        + RetailDb
{
}

/// What the database is and its bookkeeping: backend name, shutdown, counts, the key-value meta table, planner statistics, users by email.
#[async_trait]
pub trait StoreMeta: Send + Sync + 'static {
    /// A short backend name for logs and health (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Closes connections cleanly (SQLite checkpoints its WAL). Later calls fail.
    async fn close(&self);

    /// Row counts.
    async fn counts(&self) -> Result<CatalogCounts, StoreError>;

    /// How many products the catalog has.
    async fn product_count(&self) -> Result<u64, StoreError>;

    /// Refreshes the query planner's statistics after a bulk load (PostgreSQL: `ANALYZE`, so
    /// the first searches after an import do not run on plans made for empty tables; SQLite
    /// plans without them).
    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// A value from the database's own key/value facts (`prodlink_meta`).
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets a database fact.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// The id of an enabled user by email (case-insensitive), for acting as that user.
    async fn user_id_by_email(&self, email: &str) -> Result<Option<i64>, StoreError>;
}

/// Reading products with their children, prices, offers near a place and stores.
#[async_trait]
pub trait ProductReads: Send + Sync + 'static {
    /// One product with brand and category names.
    async fn product(&self, gtin: Gtin14) -> Result<Option<Product>, StoreError>;

    /// Several products (missing ones are simply absent; order unspecified).
    async fn products(&self, gtins: &[Gtin14]) -> Result<Vec<Product>, StoreError>;

    /// Images, ingredients and nutrition of a product.
    async fn product_children(&self, gtin: Gtin14) -> Result<ProductChildren, StoreError>;

    /// Price range over active offers, per product that has any. When a product is offered in
    /// several currencies the range covers the currency with the most active offers.
    async fn price_ranges(
        &self,
        gtins: &[Gtin14],
    ) -> Result<HashMap<Gtin14, PriceRange>, StoreError>;

    /// Active offers of a product at stores inside a bounding box (the caller computes exact
    /// distances and applies the radius).
    async fn offers_in_box(
        &self,
        gtin: Gtin14,
        area: &BoundingBox,
    ) -> Result<Vec<StoreOffer>, StoreError>;

    /// Every store (for generating demo offers).
    async fn stores(&self) -> Result<Vec<StoreSummary>, StoreError>;

    /// Every product GTIN, ascending.
    async fn product_gtins(&self) -> Result<Vec<Gtin14>, StoreError>;

    /// Locations of active offers of the given products at stores inside a bounding box.
    async fn offer_locations(
        &self,
        gtins: &[Gtin14],
        area: &BoundingBox,
    ) -> Result<Vec<(Gtin14, Point)>, StoreError>;

    /// Every product with an active offer at a store inside `area`, with the store's location:
    /// one row per offer, at most `limit`.
    async fn offers_in_area(
        &self,
        area: &BoundingBox,
        limit: usize,
    ) -> Result<Vec<(Gtin14, Point)>, StoreError>;
}

/// Writing products, stores and offers in batches, and the product management reads and writes of the REST API (ownership, brands, deletion).
#[async_trait]
pub trait CatalogWrites: Send + Sync + 'static {
    // Product management (the REST API): ownership, brands, deletion.

    /// The organization owning a product through its brand: `None` when the product does not
    /// exist, `Some(None)` when it (or its brand) belongs to no organization.
    async fn product_organization(&self, gtin: Gtin14) -> Result<Option<Option<i64>>, StoreError>;

    /// The organization owning the brand whose folded name ([`crate::model::fold_name`]) is
    /// `name`'s: `None` when no such brand exists, `Some(None)` when it has no organization.
    async fn brand_organization(&self, name: &str) -> Result<Option<Option<i64>>, StoreError>;

    /// Creates a brand owned by `organization_id`; `false` when a brand of that folded name
    /// already exists (it is left unchanged).
    async fn create_brand(&self, name: &str, organization_id: i64) -> Result<bool, StoreError>;

    /// Deletes a product with its images, ingredients, nutrition, offers, search document and
    /// embedding; `false` when there was none or, with `if_updated_at`, when its `updated_at`
    /// is no longer that (checked in the same statement).
    async fn delete_product(
        &self,
        gtin: Gtin14,
        if_updated_at: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Creates or updates products; one outcome per input, in order. A row the database
    /// refuses is `Rejected` and does not affect the other rows.
    async fn upsert_products(
        &self,
        batch: &[ProductWrite],
    ) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Creates or updates stores (creating retailers on demand).
    async fn upsert_stores(&self, batch: &[StoreWrite]) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Creates or updates offers; rows naming an unknown product or store are `Rejected`.
    async fn upsert_offers(&self, batch: &[OfferWrite]) -> Result<Vec<WriteOutcome>, StoreError>;
}

/// The lexical search documents: keeping them in step with products, paging them out, and SQL filters.
#[async_trait]
pub trait SearchIndexDb: Send + Sync + 'static {
    /// (Re)builds the search documents of up to `max_products` queued products; returns how
    /// many were indexed (0 when nothing is queued).
    async fn index_search(&self, max_products: usize) -> Result<usize, StoreError>;

    /// Search documents written after the cursor `after` (`(0, "")` to start), in write order,
    /// at most `limit`, with the cursor of the last one (tombstones of deleted products
    /// included).
    async fn search_documents(
        &self,
        after: &SearchCursor,
        limit: usize,
    ) -> Result<SearchDocumentPage, StoreError>;

    /// How many products have a search document.
    async fn search_document_count(&self) -> Result<u64, StoreError>;

    /// Products waiting to be (re)indexed for search.
    async fn search_backlog(&self) -> Result<u64, StoreError>;

    /// Products passing the filters (at most `limit`), for the semantic leg.
    async fn matching_products(
        &self,
        filters: &SearchFilters,
        limit: usize,
    ) -> Result<Vec<Gtin14>, StoreError>;
}

/// Product embeddings: the queue of products to embed, stored vectors, and the optional pgvector index.
#[async_trait]
pub trait EmbeddingsDb: Send + Sync + 'static {
    /// Queues for embedding every product without an embedding by `model`; returns how many
    /// were queued.
    async fn requeue_embeddings(&self, model: &str) -> Result<u64, StoreError>;

    /// Up to `max` queued products with their text (oldest first).
    async fn embed_jobs(&self, model: &str, max: usize) -> Result<Vec<EmbedJob>, StoreError>;

    /// Stores embeddings by `model` and dequeues their products, in one transaction.
    async fn save_embeddings(
        &self,
        model: &str,
        batch: &[EmbeddingWrite],
    ) -> Result<(), StoreError>;

    /// Stored embeddings by `model` written after the cursor `after` (`(0, 0)` to start), in
    /// write order, at most `limit`, with the cursor of the last one.
    async fn embeddings_page(
        &self,
        model: &str,
        after: EmbeddingCursor,
        limit: usize,
    ) -> Result<EmbeddingPage, StoreError>;

    /// Products waiting to be embedded.
    async fn embed_backlog(&self) -> Result<u64, StoreError>;

    /// Whether the backend ranks vectors of length `dims` itself ([`CatalogStore::nearest`]);
    /// when it does, no process holds them in memory.
    fn has_vector_index(&self, _dims: usize) -> bool {
        false
    }

    /// Sets the backend up to rank vectors of length `dims` itself, when it can (PostgreSQL
    /// with pgvector); returns whether it does. Called once a model is loaded.
    async fn prepare_vector_index(&self, _dims: usize) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The `k` products whose stored vector by `model` is nearest to `query` (unit length)
    /// among those passing `filters` (and among `within`, when given), with their cosine
    /// similarity, best first; `None` when the backend has no vector index (the caller ranks in
    /// memory).
    async fn nearest(
        &self,
        _model: &str,
        _query: &[f32],
        _filters: &crate::search::SearchFilters,
        _within: Option<&[Gtin14]>,
        _k: usize,
    ) -> Result<Option<Vec<crate::search::LexicalHit>>, StoreError> {
        Ok(None)
    }

    /// The cosine similarity of `query` (unit length) to the stored vector by `model` of each
    /// of `gtins` that has one; `None` when the backend has no vector index (the caller ranks
    /// in memory).
    async fn similarities(
        &self,
        _model: &str,
        _query: &[f32],
        _gtins: &[Gtin14],
    ) -> Result<Option<Vec<(Gtin14, f64)>>, StoreError> {
        Ok(None)
    }

    /// How many products have a stored vector by `model`.
    async fn embedding_count(&self, model: &str) -> Result<u64, StoreError>;
}

/// Resolver rules: the rules of a scan, bulk upserts, custom-URL health, and the rule management of an organization (each change with its audit row).
#[async_trait]
pub trait RulesDb: Send + Sync + 'static {
    /// Claims up to `limit` enabled custom-URL rules whose URL was never checked or last
    /// checked before `checked_before` (RFC 3339), least recently checked first, and returns
    /// them as `(rule id, URL)`. Claiming stamps their check time with `now`, so processes
    /// sharing the database never check the same URL in one interval.
    async fn custom_urls_due(
        &self,
        checked_before: &str,
        limit: u32,
        now: &str,
    ) -> Result<Vec<(i64, String)>, StoreError>;

    /// Records one health check of a rule's custom URL at `now`: alive resets the failure
    /// count; a failure adds one, and `failures_to_dead` consecutive failures mark the URL
    /// dead. Returns the URL's status afterwards (`alive`, `dead` or `unknown`).
    async fn record_url_check(
        &self,
        rule_id: i64,
        alive: bool,
        failures_to_dead: u32,
        now: &str,
    ) -> Result<String, StoreError>;

    /// Creates or updates resolver rules; one outcome per input, in order.
    async fn upsert_rules(
        &self,
        batch: &[crate::model::RuleWrite],
    ) -> Result<Vec<WriteOutcome>, StoreError>;

    /// The enabled resolver rules that can apply to a GTIN (with its batch and serial, when
    /// given): its serial, batch and product rules, its brand's and organization's, and the
    /// global ones. The order is not significant ([`crate::rules::choose`] orders them).
    async fn rules_for(
        &self,
        gtin: Gtin14,
        batch: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Vec<crate::rules::RuleRecord>, StoreError>;

    // Resolver-rule management (crate::rules_admin): an organization's rules, each change
    // written together with its `audit_events` row (who, what, before, after) in one
    // transaction, and refused (`RuleRefusal`) when the target is not the organization's.

    /// Up to `limit` rules organization `organization` owns (those of its products through
    /// their brands, of its brands, and of itself), by id from `offset`, and how many it owns.
    async fn organization_rules(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ManagedRule>, u64), StoreError>;

    /// One rule with the organization that owns it.
    async fn managed_rule(&self, id: i64) -> Result<Option<OwnedRule>, StoreError>;

    /// Creates a rule in a scope `organization` owns (at the end of the scope when the draft
    /// gives no `order_index`); `Conflict` when its `order_index` is taken.
    async fn create_rule(
        &self,
        organization: i64,
        draft: &RuleDraft,
        actor: &Actor,
    ) -> RuleResult<ManagedRule>;

    /// Replaces rule `expected.id` with `draft`, provided it is still `expected`
    /// (else `Stale`), still the organization's (else `NotFound`), and the draft's scope is
    /// the organization's too.
    async fn update_rule(
        &self,
        organization: i64,
        expected: &ManagedRule,
        draft: &RuleDraft,
        actor: &Actor,
    ) -> RuleResult<ManagedRule>;

    /// Deletes rule `expected.id`, provided it is still `expected` and the organization's.
    async fn delete_rule(
        &self,
        organization: i64,
        expected: &ManagedRule,
        actor: &Actor,
    ) -> RuleResult<()>;

    /// Gives the rules of a scope instance the organization owns the positions 0, 1, 2, … in
    /// the order of `rule_ids`, which must list each of them once; returns them in that order.
    async fn reorder_rules(
        &self,
        organization: i64,
        scope: &ScopeRef,
        rule_ids: &[i64],
        actor: &Actor,
    ) -> RuleResult<Vec<ManagedRule>>;
}

/// Organizations, their brands, products and members, as managed by their members.
#[async_trait]
pub trait OrgsDb: Send + Sync + 'static {
    // Organizations and brands managed by their members (crate::orgs).

    /// Organization `id` with its brand and product counts.
    async fn organization_record(
        &self,
        id: i64,
    ) -> Result<Option<crate::orgs::Organization>, StoreError>;

    /// Creates an organization and makes user `member` (who must belong to none) its member,
    /// in one transaction; nothing is written unless both succeed.
    async fn create_organization(
        &self,
        name: &str,
        metadata: &crate::model::Metadata,
        member: i64,
    ) -> Result<crate::orgs::OrganizationCreation, StoreError>;

    /// Sets the name and metadata of organization `expected.id`, provided it is still as
    /// `expected` was read (else `Stale`).
    async fn update_organization(
        &self,
        expected: &crate::orgs::Organization,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError>;

    /// Deletes organization `id` if it owns no brands (`InUse` with their number otherwise),
    /// in one statement: its users stay in no organization, its API keys go.
    async fn delete_organization(&self, id: i64) -> Result<crate::orgs::Removal, StoreError>;

    /// Hands the brand (by folded name) or retailer (by exact name) `name` to organization
    /// `organization`: from nobody, or from another organization only when `reassign`; the
    /// change and its `audit_events` row are one transaction.
    async fn assign_owner(
        &self,
        kind: crate::orgs::Owned,
        name: &str,
        organization: i64,
        reassign: bool,
    ) -> Result<crate::orgs::Assignment, StoreError>;

    /// Up to `limit` brands of the organization, by name from `offset`, and how many it owns.
    async fn organization_brands(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::Brand>, u64), StoreError>;

    /// Brand `id` with its product count.
    async fn brand_record(&self, id: i64) -> Result<Option<crate::orgs::Brand>, StoreError>;

    /// Creates a brand of the organization; `None` when a brand of that folded name exists.
    async fn insert_brand(
        &self,
        organization: i64,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<Option<i64>, StoreError>;

    /// Sets the name (and folded name) and metadata of brand `expected.id`, provided it is
    /// still as `expected` was read (else `Stale`).
    async fn update_brand(
        &self,
        expected: &crate::orgs::Brand,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError>;

    /// Deletes brand `id` of `organization` if it has no products (`InUse` with their number
    /// otherwise), in one statement; `Missing` when the organization owns no such brand.
    async fn delete_brand(
        &self,
        id: i64,
        organization: i64,
    ) -> Result<crate::orgs::Removal, StoreError>;

    /// Up to `limit` products of the organization's brands, by GTIN from `offset`, and how
    /// many there are.
    async fn organization_products(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::OrganizationProduct>, u64), StoreError>;

    /// User `id`'s email and display name.
    async fn account_user(&self, id: i64) -> Result<Option<crate::orgs::AccountUser>, StoreError>;
}

/// Retailers, stores and offers as managed by the organizations that own them.
#[async_trait]
pub trait RetailDb: Send + Sync + 'static {
    // Store and offer management (crate::retail): who owns a retailer, an organization's
    // stores, deletes. Retailer names are exact (trimmed by the caller).

    /// The organization owning each retailer of `names` that exists (`None`: owned by none);
    /// names of no retailer are absent.
    async fn retailer_organizations(
        &self,
        names: &[String],
    ) -> Result<HashMap<String, Option<i64>>, StoreError>;

    /// Creates a retailer owned by `organization_id`; `false` when the name is taken (the
    /// retailer is left unchanged).
    async fn create_retailer(&self, name: &str, organization_id: i64) -> Result<bool, StoreError>;

    /// Up to `limit` stores of the retailers `organization` owns, oldest first from `offset`,
    /// and how many there are.
    async fn organization_stores(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::retail::ManagedStore>, u64), StoreError>;

    /// One store by retailer name and store ref.
    async fn managed_store(
        &self,
        retailer: &str,
        store_ref: &str,
    ) -> Result<Option<crate::retail::ManagedStore>, StoreError>;

    /// Deletes a store with its offers; `false` when there was none.
    async fn delete_store(&self, retailer: &str, store_ref: &str) -> Result<bool, StoreError>;

    /// Deletes the offer of a product at a store; `false` when there was none.
    async fn delete_offer(
        &self,
        gtin: Gtin14,
        retailer: &str,
        store_ref: &str,
    ) -> Result<bool, StoreError>;
}

/// A GTIN read back from the database (a stored value that no longer parses is corruption).
pub(crate) fn stored_gtin(s: &str) -> Result<Gtin14, StoreError> {
    Gtin14::parse(s).map_err(|e| StoreError::Corrupt(format!("stored GTIN {s:?}: {e}")))
}

/// A vector as stored by both backends: little-endian `f32`s.
pub(crate) fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stored vector back from its bytes.
pub(crate) fn vector_from(bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt(format!("an embedding has {} bytes", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// The text of a product that is embedded, the same on both backends: name, brand, category
/// path, labels and description. The ingredient list is left out: averaged into a static
/// embedding, a long list drowns what the product is (semantic NDCG@10 on the demo catalog
/// 0.395 with it, 0.458 without; docs/benchmarks.md).
pub(crate) fn embedding_text(parts: &[String; 6]) -> String {
    let mut out = String::new();
    for p in parts[..5].iter().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push_str(". ");
        }
        out.push_str(p);
    }
    out
}

/// A storage failure as callers see it: a refusal is unprocessable, anything else internal.
impl From<StoreError> for crate::ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(msg) => Self::Unprocessable(msg),
            other => Self::Internal(Box::new(other)),
        }
    }
}
