//! The PostgreSQL backend of [`CatalogStore`](crate::store::CatalogStore) for running many
//! stateless prodlink processes on one database: schema from the embedded migrations in
//! `migrations/postgres` (applied under sqlx's advisory lock, so processes starting together
//! migrate once), a connection pool sized by [`PgOptions`], lexical search on a weighted
//! tsvector with a GIN index, and stores found through an indexed bounding
//! box. Connections are checked before use, so a pool survives a database restart.

mod embeddings;
mod manage;
mod orgs;
mod read;
mod retail;
mod rules_admin;
mod search;
pub(crate) mod vector;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::store::StoreError;

/// Connection settings for [`PgStore::open`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Largest number of pooled connections per process.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection (or for the database to come back).
    pub acquire_timeout: Duration,
    /// Longest time one statement may run.
    pub statement_timeout: Duration,
    /// Rank semantic search in the database with pgvector's HNSW index (when the server has
    /// the extension) instead of in each process's memory. Off by default: on catalogs of
    /// up to a few hundred thousand products the exact in-memory scan is several times faster
    /// (docs/benchmarks.md) for a few tens of MB per process.
    pub vector_index: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            vector_index: false,
        }
    }
}

/// The PostgreSQL catalog store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Length of the vectors pgvector indexes (0: no vector column; ranked in memory).
    vector_dims: Arc<AtomicUsize>,
    /// [`PgOptions::vector_index`].
    vector_index: bool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Config(format!(
            "invalid PostgreSQL database URL (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE): {e}"
        ))
    })
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://…`). Does not migrate; call [`PgStore::migrate`].
    pub async fn open(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let statement_ms = options.statement_timeout.as_millis().to_string();
        let connect = connect_options(url)?.application_name("prodlink").options([
            ("statement_timeout", statement_ms.as_str()),
            // pgvector's search settings (placeholders when the extension is absent):
            // walk far enough for the largest candidate pool, and keep walking past rows a
            // filter rejects.
            ("hnsw.ef_search", vector::EF_SEARCH),
            ("hnsw.iterative_scan", "relaxed_order"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(options.min_connections.min(options.max_connections))
            .acquire_timeout(options.acquire_timeout)
            // A connection broken by a database restart is noticed and replaced before use.
            .test_before_acquire(true)
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .connect_with(connect)
            .await?;
        let dims = if options.vector_index { vector::detect(&pool).await?.unwrap_or(0) } else { 0 };
        Ok(Self {
            pool,
            vector_dims: Arc::new(AtomicUsize::new(dims)),
            vector_index: options.vector_index,
        })
    }

    /// Applies the embedded migrations that have not run yet. (The pgvector column is set up
    /// when a model is loaded: [`CatalogStore::prepare_vector_index`].)
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        if self.vector_index {
            let dims = vector::detect(&self.pool).await?.unwrap_or(0);
            self.vector_dims.store(dims, Ordering::Release);
        }
        Ok(())
    }

    /// The vector length pgvector indexes here, `None` when vectors are ranked in memory.
    pub fn vector_index_dims(&self) -> Option<usize> {
        Some(self.vector_dims.load(Ordering::Acquire)).filter(|d| *d > 0)
    }

    /// Opens and migrates in one step.
    pub async fn open_and_migrate(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let store = Self::open(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The underlying pool (for the authorization server's store on the same database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Creates an empty database `name` on the server of `admin_url` (a database the user may
    /// connect to, e.g. `postgres://user@host/postgres`) and returns its URL. For tests and
    /// benchmarks: each gets a database of its own. `name` must be a plain identifier.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
        if name.is_empty()
            || name.len() > 63
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Config(format!(
                "database name {name:?} must be 1-63 characters of a-z, 0-9 and _"
            )));
        }
        let options = connect_options(admin_url)?;
        let mut conn = options.connect().await?;
        // `name` is checked above to be a plain identifier.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL database URL: {e}")))?;
        url.set_path(&format!("/{name}"));
        Ok(url.to_string())
    }
}

/// Attempts a read gets when the connection is lost under it.
const READ_ATTEMPTS: u32 = 3;

/// Whether `e` means the connection or the server went away under a statement (a restart, a
/// failover, a network cut): the statement did not complete, and a read can run again on a new
/// connection. SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, not yet
/// accepting connections), or an I/O error.
pub fn is_connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// An error that may carry the database driver's error.
pub trait DriverError {
    /// The driver's error, if this is one.
    fn driver(&self) -> Option<&sqlx::Error>;
}

impl DriverError for sqlx::Error {
    fn driver(&self) -> Option<&sqlx::Error> {
        Some(self)
    }
}

impl DriverError for StoreError {
    fn driver(&self) -> Option<&sqlx::Error> {
        match self {
            StoreError::Database(e) => Some(e),
            _ => None,
        }
    }
}

/// Runs `read` again (at most [`READ_ATTEMPTS`] times in all) when the connection was lost
/// under it. The next attempt's connection waits for the server to be back, up to the pool's
/// acquire timeout, so a read caught by a database restart is answered late rather than failed.
pub async fn reading<T, E, F, Fut>(what: &'static str, mut read: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: DriverError,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Err(e) if attempt < READ_ATTEMPTS && e.driver().is_some_and(is_connection_lost) => {
                tracing::warn!(what, attempt, "database connection lost during a read; retrying");
            }
            other => return other,
        }
        attempt += 1;
    }
}

/// A write transaction (rows it reads are locked by the statements that need it).
async fn begin_write(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin().await
}

/// Whether a database error is a constraint violation (the data's fault, not the system's):
/// SQLSTATE class 23 (integrity constraint violation).
pub(crate) fn is_constraint_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("23")),
        _ => false,
    }
}

/// The database's message for a constraint violation, for import reject reports.
pub(crate) fn constraint_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let detail = db.constraint().map(|c| format!(" (constraint {c})")).unwrap_or_default();
            format!("the database refused the record: {}{detail}", db.message())
        }
        other => format!("the database refused the record: {other}"),
    }
}

#[async_trait::async_trait]
impl crate::store::StoreMeta for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn counts(&self) -> Result<crate::model::CatalogCounts, StoreError> {
        reading("counts", || read::counts(&self.pool)).await
    }

    async fn product_count(&self) -> Result<u64, StoreError> {
        let n: i64 = reading("product count", || {
            sqlx::query_scalar("SELECT count(*) FROM products").fetch_one(&self.pool)
        })
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM prodlink_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO prodlink_meta (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(crate::model::now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user_id_by_email(&self, email: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND NOT disabled")
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[async_trait::async_trait]
impl crate::store::ProductReads for PgStore {
    async fn product(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<Option<crate::model::Product>, StoreError> {
        reading("product", || read::product(&self.pool, gtin)).await
    }

    async fn products(
        &self,
        gtins: &[gs1::Gtin14],
    ) -> Result<Vec<crate::model::Product>, StoreError> {
        reading("products", || read::products(&self.pool, gtins)).await
    }

    async fn product_children(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<crate::model::ProductChildren, StoreError> {
        reading("product children", || read::product_children(&self.pool, gtin)).await
    }

    async fn price_ranges(
        &self,
        gtins: &[gs1::Gtin14],
    ) -> Result<std::collections::HashMap<gs1::Gtin14, crate::model::PriceRange>, StoreError> {
        reading("price ranges", || read::price_ranges(&self.pool, gtins)).await
    }

    async fn offers_in_box(
        &self,
        gtin: gs1::Gtin14,
        area: &crate::geo::BoundingBox,
    ) -> Result<Vec<crate::model::StoreOffer>, StoreError> {
        reading("offers", || read::offers_in_box(&self.pool, gtin, area)).await
    }

    async fn stores(&self) -> Result<Vec<crate::model::StoreSummary>, StoreError> {
        reading("stores", || read::stores(&self.pool)).await
    }

    async fn product_gtins(&self) -> Result<Vec<gs1::Gtin14>, StoreError> {
        reading("product list", || read::product_gtins(&self.pool)).await
    }

    async fn offer_locations(
        &self,
        gtins: &[gs1::Gtin14],
        area: &crate::geo::BoundingBox,
    ) -> Result<Vec<(gs1::Gtin14, crate::geo::Point)>, StoreError> {
        reading("offer locations", || search::offer_locations(&self.pool, gtins, area)).await
    }

    async fn offers_in_area(
        &self,
        area: &crate::geo::BoundingBox,
        limit: usize,
    ) -> Result<Vec<(gs1::Gtin14, crate::geo::Point)>, StoreError> {
        reading("offers in area", || search::offers_in_area(&self.pool, area, limit)).await
    }
}

#[async_trait::async_trait]
impl crate::store::CatalogWrites for PgStore {
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
        reading("product_organization", || manage::product_organization(&self.pool, gtin)).await
    }

    async fn brand_organization(&self, name: &str) -> Result<Option<Option<i64>>, StoreError> {
        reading("brand_organization", || manage::brand_organization(&self.pool, name)).await
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
impl crate::store::SearchIndexDb for PgStore {
    async fn index_search(&self, max_products: usize) -> Result<usize, StoreError> {
        search::index_search(&self.pool, max_products).await
    }

    async fn search_documents(
        &self,
        after: &crate::store::SearchCursor,
        limit: usize,
    ) -> Result<crate::store::SearchDocumentPage, StoreError> {
        reading("search documents", || search::documents(&self.pool, after, limit)).await
    }

    async fn search_document_count(&self) -> Result<u64, StoreError> {
        reading("search documents", || search::document_count(&self.pool)).await
    }

    async fn search_backlog(&self) -> Result<u64, StoreError> {
        search::search_backlog(&self.pool).await
    }

    async fn matching_products(
        &self,
        filters: &crate::search::SearchFilters,
        limit: usize,
    ) -> Result<Vec<gs1::Gtin14>, StoreError> {
        reading("filter", || search::matching_products(&self.pool, filters, limit)).await
    }
}

#[async_trait::async_trait]
impl crate::store::EmbeddingsDb for PgStore {
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
        embeddings::save(&self.pool, model, batch, self.vector_index_dims()).await
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

    fn has_vector_index(&self, dims: usize) -> bool {
        self.vector_index_dims() == Some(dims)
    }

    async fn prepare_vector_index(&self, dims: usize) -> Result<bool, StoreError> {
        if !self.vector_index {
            return Ok(false);
        }
        let ready = vector::ensure(&self.pool, dims).await?;
        self.vector_dims.store(ready.unwrap_or(0), Ordering::Release);
        Ok(ready.is_some())
    }

    async fn nearest(
        &self,
        model: &str,
        query: &[f32],
        filters: &crate::search::SearchFilters,
        within: Option<&[gs1::Gtin14]>,
        k: usize,
    ) -> Result<Option<Vec<crate::search::LexicalHit>>, StoreError> {
        if !self.has_vector_index(query.len()) {
            return Ok(None);
        }
        let hits =
            reading("nearest", || vector::nearest(&self.pool, model, query, filters, within, k))
                .await?;
        Ok(Some(hits))
    }

    async fn similarities(
        &self,
        model: &str,
        query: &[f32],
        gtins: &[gs1::Gtin14],
    ) -> Result<Option<Vec<(gs1::Gtin14, f64)>>, StoreError> {
        if !self.has_vector_index(query.len()) {
            return Ok(None);
        }
        let found =
            reading("similarities", || vector::similarities(&self.pool, model, query, gtins))
                .await?;
        Ok(Some(found))
    }

    async fn embedding_count(&self, model: &str) -> Result<u64, StoreError> {
        embeddings::count(&self.pool, model).await
    }
}

#[async_trait::async_trait]
impl crate::store::RulesDb for PgStore {
    async fn custom_urls_due(
        &self,
        checked_before: &str,
        limit: u32,
        now: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        // Rows another process is claiming right now are skipped, not waited for.
        Ok(sqlx::query_as(
            "UPDATE resolver_rules r SET url_checked_at = $3 FROM ( \
               SELECT id FROM resolver_rules \
               WHERE enabled AND destination_type = 'CUSTOM_URL' \
                 AND (url_checked_at IS NULL OR url_checked_at < $1) \
               ORDER BY url_checked_at NULLS FIRST, id LIMIT $2 \
               FOR UPDATE SKIP LOCKED) due \
             WHERE r.id = due.id RETURNING r.id, r.custom_url",
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
                 url_failures = CASE WHEN $2 THEN 0 ELSE url_failures + 1 END, \
                 url_status = CASE WHEN $2 THEN 'alive' \
                                   WHEN url_failures + 1 >= $3 THEN 'dead' ELSE url_status END, \
                 url_checked_at = $4 \
             WHERE id = $1 RETURNING url_status",
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
        reading("resolver rules", || read::rules_for(&self.pool, gtin, batch, serial)).await
    }

    // Resolver-rule management

    async fn organization_rules(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::rules_admin::ManagedRule>, u64), StoreError> {
        reading("rules", || {
            rules_admin::organization_rules(&self.pool, organization, offset, limit)
        })
        .await
    }

    async fn managed_rule(
        &self,
        id: i64,
    ) -> Result<Option<crate::rules_admin::OwnedRule>, StoreError> {
        reading("rule", || rules_admin::managed_rule(&self.pool, id)).await
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
impl crate::store::OrgsDb for PgStore {
    // Organizations and brands (crate::orgs)

    async fn organization_record(
        &self,
        id: i64,
    ) -> Result<Option<crate::orgs::Organization>, StoreError> {
        reading("organization_record", || orgs::organization_record(&self.pool, id)).await
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
        reading("organization_brands", || {
            orgs::organization_brands(&self.pool, organization, offset, limit)
        })
        .await
    }

    async fn brand_record(&self, id: i64) -> Result<Option<crate::orgs::Brand>, StoreError> {
        reading("brand_record", || orgs::brand_record(&self.pool, id)).await
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
        reading("organization_products", || {
            orgs::organization_products(&self.pool, organization, offset, limit)
        })
        .await
    }

    async fn account_user(&self, id: i64) -> Result<Option<crate::orgs::AccountUser>, StoreError> {
        reading("account_user", || orgs::account_user(&self.pool, id)).await
    }
}

#[async_trait::async_trait]
impl crate::store::RetailDb for PgStore {
    // Store and offer management

    async fn retailer_organizations(
        &self,
        names: &[String],
    ) -> Result<std::collections::HashMap<String, Option<i64>>, StoreError> {
        reading("retailer_organizations", || retail::retailer_organizations(&self.pool, names))
            .await
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
        reading("stores", || retail::organization_stores(&self.pool, organization, offset, limit))
            .await
    }

    async fn managed_store(
        &self,
        retailer: &str,
        store_ref: &str,
    ) -> Result<Option<crate::retail::ManagedStore>, StoreError> {
        reading("store", || retail::managed_store(&self.pool, retailer, store_ref)).await
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
