//! The embedded SQLite backend of [`CatalogStore`](crate::store::CatalogStore): one database
//! file in WAL mode with foreign keys on, schema from the embedded migrations in
//! `migrations/sqlite`, reads through a small connection pool, writes in `BEGIN IMMEDIATE`
//! transactions (so concurrent writers queue on the busy timeout instead of failing).

mod embeddings;
mod manage;
mod orgs;
mod read;
mod retail;
mod rules_admin;
mod search;
mod write;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::store::StoreError;

/// Connection settings for [`SqliteStore::open`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Largest number of pooled connections (readers run in parallel; writes serialize).
    pub max_connections: u32,
    /// How long a connection waits for a lock before failing.
    pub busy_timeout: Duration,
    /// Create the file when it does not exist.
    pub create_if_missing: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { max_connections: 8, busy_timeout: Duration::from_secs(10), create_if_missing: true }
    }
}

/// The SQLite catalog store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if allowed) the database at `url` (`sqlite://PATH`, `sqlite:PATH` or
    /// `sqlite::memory:`). Does not migrate; call [`SqliteStore::migrate`].
    pub async fn open(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite database URL {url:?}: {e}")))?
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .pragma("cache_size", "-32000")
            .pragma("temp_store", "memory");
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { options.max_connections.max(1) })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        Ok(Self { pool })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Opens and migrates in one step.
    pub async fn open_and_migrate(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let store = Self::open(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The underlying pool (for sibling modules of later layers such as search indexes).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction holding the database's write lock from its first statement, so what it
/// reads stays true until it commits.
async fn begin_write(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Whether a database error is a constraint violation (the data's fault, not the system's).
fn is_constraint_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            // SQLITE_CONSTRAINT = 19; extended codes keep it in the low byte.
            .is_some_and(|c| c & 0xff == 19),
        _ => false,
    }
}

/// The database's message for a constraint violation, for import reject reports.
fn constraint_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!("the database refused the record: {}", db.message()),
        other => format!("the database refused the record: {other}"),
    }
}

#[async_trait::async_trait]
impl crate::store::StoreMeta for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn counts(&self) -> Result<crate::model::CatalogCounts, StoreError> {
        read::counts(&self.pool).await
    }

    async fn product_count(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM products").fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM prodlink_meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO prodlink_meta (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(crate::model::now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user_id_by_email(&self, email: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE email = ? AND disabled = 0")
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[async_trait::async_trait]
impl crate::store::ProductReads for SqliteStore {
    async fn product(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<Option<crate::model::Product>, StoreError> {
        read::product(&self.pool, gtin).await
    }

    async fn products(
        &self,
        gtins: &[gs1::Gtin14],
    ) -> Result<Vec<crate::model::Product>, StoreError> {
        read::products(&self.pool, gtins).await
    }

    async fn product_children(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<crate::model::ProductChildren, StoreError> {
        read::product_children(&self.pool, gtin).await
    }

    async fn price_ranges(
        &self,
        gtins: &[gs1::Gtin14],
    ) -> Result<std::collections::HashMap<gs1::Gtin14, crate::model::PriceRange>, StoreError> {
        read::price_ranges(&self.pool, gtins).await
    }

    async fn offers_in_box(
        &self,
        gtin: gs1::Gtin14,
        area: &crate::geo::BoundingBox,
    ) -> Result<Vec<crate::model::StoreOffer>, StoreError> {
        read::offers_in_box(&self.pool, gtin, area).await
    }

    async fn stores(&self) -> Result<Vec<crate::model::StoreSummary>, StoreError> {
        read::stores(&self.pool).await
    }

    async fn product_gtins(&self) -> Result<Vec<gs1::Gtin14>, StoreError> {
        read::product_gtins(&self.pool).await
    }

    async fn offer_locations(
        &self,
        gtins: &[gs1::Gtin14],
        area: &crate::geo::BoundingBox,
    ) -> Result<Vec<(gs1::Gtin14, crate::geo::Point)>, StoreError> {
        search::offer_locations(&self.pool, gtins, area).await
    }

    async fn offers_in_area(
        &self,
        area: &crate::geo::BoundingBox,
        limit: usize,
    ) -> Result<Vec<(gs1::Gtin14, crate::geo::Point)>, StoreError> {
        search::offers_in_area(&self.pool, area, limit).await
    }
}

#[async_trait::async_trait]
impl crate::store::CatalogWrites for SqliteStore {
    async fn upsert_products(
        &self,
        batch: &[crate::model::ProductWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        write::upsert_products(&self.pool, batch).await
    }

    async fn upsert_stores(
        &self,
        batch: &[crate::model::StoreWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        write::upsert_stores(&self.pool, batch).await
    }

    async fn product_organization(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<Option<Option<i64>>, StoreError> {
        manage::product_organization(&self.pool, gtin).await
    }

    async fn brand_organization(&self, name: &str) -> Result<Option<Option<i64>>, StoreError> {
        manage::brand_organization(&self.pool, name).await
    }

    async fn create_brand(&self, name: &str, organization_id: i64) -> Result<bool, StoreError> {
        manage::create_brand(&self.pool, name, organization_id).await
    }

    async fn delete_product(
        &self,
        gtin: gs1::Gtin14,
        if_updated_at: Option<&str>,
    ) -> Result<bool, StoreError> {
        manage::delete_product(&self.pool, gtin, if_updated_at).await
    }

    async fn upsert_offers(
        &self,
        batch: &[crate::model::OfferWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        write::upsert_offers(&self.pool, batch).await
    }
}

#[async_trait::async_trait]
impl crate::store::SearchIndexDb for SqliteStore {
    async fn index_search(&self, max_products: usize) -> Result<usize, StoreError> {
        search::index_search(&self.pool, max_products).await
    }

    async fn search_documents(
        &self,
        after: &crate::store::SearchCursor,
        limit: usize,
    ) -> Result<crate::store::SearchDocumentPage, StoreError> {
        search::documents(&self.pool, after, limit).await
    }

    async fn search_document_count(&self) -> Result<u64, StoreError> {
        search::document_count(&self.pool).await
    }

    async fn search_backlog(&self) -> Result<u64, StoreError> {
        search::search_backlog(&self.pool).await
    }

    async fn matching_products(
        &self,
        filters: &crate::search::SearchFilters,
        limit: usize,
    ) -> Result<Vec<gs1::Gtin14>, StoreError> {
        search::matching_products(&self.pool, filters, limit).await
    }
}

#[async_trait::async_trait]
impl crate::store::EmbeddingsDb for SqliteStore {
    async fn requeue_embeddings(&self, model: &str) -> Result<u64, StoreError> {
        embeddings::requeue(&self.pool, model).await
    }

    async fn embed_jobs(
        &self,
        model: &str,
        max: usize,
    ) -> Result<Vec<crate::store::EmbedJob>, StoreError> {
        embeddings::jobs(&self.pool, model, max).await
    }

    async fn save_embeddings(
        &self,
        model: &str,
        batch: &[crate::store::EmbeddingWrite],
    ) -> Result<(), StoreError> {
        embeddings::save(&self.pool, model, batch).await
    }

    async fn embeddings_page(
        &self,
        model: &str,
        after: crate::store::EmbeddingCursor,
        limit: usize,
    ) -> Result<crate::store::EmbeddingPage, StoreError> {
        embeddings::page(&self.pool, model, after, limit).await
    }

    async fn embed_backlog(&self) -> Result<u64, StoreError> {
        embeddings::backlog(&self.pool).await
    }

    async fn embedding_count(&self, model: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM product_embeddings WHERE model = ?")
            .bind(model)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait::async_trait]
impl crate::store::RulesDb for SqliteStore {
    async fn custom_urls_due(
        &self,
        checked_before: &str,
        limit: u32,
        now: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "UPDATE resolver_rules SET url_checked_at = ?3 WHERE id IN ( \
               SELECT id FROM resolver_rules \
               WHERE enabled = 1 AND destination_type = 'CUSTOM_URL' \
                 AND (url_checked_at IS NULL OR url_checked_at < ?1) \
               ORDER BY url_checked_at IS NOT NULL, url_checked_at, id LIMIT ?2) \
             RETURNING id, custom_url",
        )
        .bind(checked_before)
        .bind(i64::from(limit))
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_url_check(
        &self,
        rule_id: i64,
        alive: bool,
        failures_to_dead: u32,
        now: &str,
    ) -> Result<String, StoreError> {
        let status: Option<String> = sqlx::query_scalar(
            "UPDATE resolver_rules SET \
                 url_failures = CASE WHEN ?2 THEN 0 ELSE url_failures + 1 END, \
                 url_status = CASE WHEN ?2 THEN 'alive' \
                                   WHEN url_failures + 1 >= ?3 THEN 'dead' ELSE url_status END, \
                 url_checked_at = ?4 \
             WHERE id = ?1 RETURNING url_status",
        )
        .bind(rule_id)
        .bind(alive)
        .bind(i64::from(failures_to_dead.max(1)))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(status.unwrap_or_else(|| "unknown".into()))
    }

    async fn upsert_rules(
        &self,
        batch: &[crate::model::RuleWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        write::upsert_rules(&self.pool, batch).await
    }

    async fn rules_for(
        &self,
        gtin: gs1::Gtin14,
        batch: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Vec<crate::rules::RuleRecord>, StoreError> {
        read::rules_for(&self.pool, gtin, batch, serial).await
    }

    // Resolver-rule management

    async fn organization_rules(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::rules_admin::ManagedRule>, u64), StoreError> {
        rules_admin::organization_rules(&self.pool, organization, offset, limit).await
    }

    async fn managed_rule(
        &self,
        id: i64,
    ) -> Result<Option<crate::rules_admin::OwnedRule>, StoreError> {
        rules_admin::managed_rule(&self.pool, id).await
    }

    async fn create_rule(
        &self,
        organization: i64,
        draft: &crate::rules_admin::RuleDraft,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<crate::rules_admin::ManagedRule> {
        rules_admin::create_rule(&self.pool, organization, draft, actor).await
    }

    async fn update_rule(
        &self,
        organization: i64,
        expected: &crate::rules_admin::ManagedRule,
        draft: &crate::rules_admin::RuleDraft,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<crate::rules_admin::ManagedRule> {
        rules_admin::update_rule(&self.pool, organization, expected, draft, actor).await
    }

    async fn delete_rule(
        &self,
        organization: i64,
        expected: &crate::rules_admin::ManagedRule,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<()> {
        rules_admin::delete_rule(&self.pool, organization, expected, actor).await
    }

    async fn reorder_rules(
        &self,
        organization: i64,
        scope: &crate::rules_admin::ScopeRef,
        rule_ids: &[i64],
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<Vec<crate::rules_admin::ManagedRule>> {
        rules_admin::reorder_rules(&self.pool, organization, scope, rule_ids, actor).await
    }
}

#[async_trait::async_trait]
impl crate::store::OrgsDb for SqliteStore {
    // Organizations and brands (crate::orgs)

    async fn organization_record(
        &self,
        id: i64,
    ) -> Result<Option<crate::orgs::Organization>, StoreError> {
        orgs::organization_record(&self.pool, id).await
    }

    async fn create_organization(
        &self,
        name: &str,
        metadata: &crate::model::Metadata,
        member: i64,
    ) -> Result<crate::orgs::OrganizationCreation, StoreError> {
        orgs::create_organization(&self.pool, name, metadata, member).await
    }

    async fn update_organization(
        &self,
        expected: &crate::orgs::Organization,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError> {
        orgs::update_organization(&self.pool, expected, name, metadata).await
    }

    async fn delete_organization(&self, id: i64) -> Result<crate::orgs::Removal, StoreError> {
        orgs::delete_organization(&self.pool, id).await
    }

    async fn assign_owner(
        &self,
        kind: crate::orgs::Owned,
        name: &str,
        organization: i64,
        reassign: bool,
    ) -> Result<crate::orgs::Assignment, StoreError> {
        orgs::assign_owner(&self.pool, kind, name, organization, reassign).await
    }

    async fn organization_brands(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::Brand>, u64), StoreError> {
        orgs::organization_brands(&self.pool, organization, offset, limit).await
    }

    async fn brand_record(&self, id: i64) -> Result<Option<crate::orgs::Brand>, StoreError> {
        orgs::brand_record(&self.pool, id).await
    }

    async fn insert_brand(
        &self,
        organization: i64,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<Option<i64>, StoreError> {
        orgs::insert_brand(&self.pool, organization, name, metadata).await
    }

    async fn update_brand(
        &self,
        expected: &crate::orgs::Brand,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError> {
        orgs::update_brand(&self.pool, expected, name, metadata).await
    }

    async fn delete_brand(
        &self,
        id: i64,
        organization: i64,
    ) -> Result<crate::orgs::Removal, StoreError> {
        orgs::delete_brand(&self.pool, id, organization).await
    }

    async fn organization_products(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::OrganizationProduct>, u64), StoreError> {
        orgs::organization_products(&self.pool, organization, offset, limit).await
    }

    async fn account_user(&self, id: i64) -> Result<Option<crate::orgs::AccountUser>, StoreError> {
        orgs::account_user(&self.pool, id).await
    }
}

#[async_trait::async_trait]
impl crate::store::RetailDb for SqliteStore {
    // Store and offer management

    async fn retailer_organizations(
        &self,
        names: &[String],
    ) -> Result<std::collections::HashMap<String, Option<i64>>, StoreError> {
        retail::retailer_organizations(&self.pool, names).await
    }

    async fn create_retailer(&self, name: &str, organization_id: i64) -> Result<bool, StoreError> {
        retail::create_retailer(&self.pool, name, organization_id).await
    }

    async fn organization_stores(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::retail::ManagedStore>, u64), StoreError> {
        retail::organization_stores(&self.pool, organization, offset, limit).await
    }

    async fn managed_store(
        &self,
        retailer: &str,
        store_ref: &str,
    ) -> Result<Option<crate::retail::ManagedStore>, StoreError> {
        retail::managed_store(&self.pool, retailer, store_ref).await
    }

    async fn delete_store(&self, retailer: &str, store_ref: &str) -> Result<bool, StoreError> {
        retail::delete_store(&self.pool, retailer, store_ref).await
    }

    async fn delete_offer(
        &self,
        gtin: gs1::Gtin14,
        retailer: &str,
        store_ref: &str,
    ) -> Result<bool, StoreError> {
        retail::delete_offer(&self.pool, gtin, retailer, store_ref).await
    }
}
