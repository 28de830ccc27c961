//! A read-through cache of product rows and of the resolver rules that apply to a GTIN, in
//! front of any [`CatalogStore`]: `lookup_product`, `compare_products`, search result hydration
//! and every scan read the same rows over and over, and through an async driver each read
//! costs two thread hand-offs (see docs/benchmarks.md).
//!
//! Entries live at most `ttl` (writes made by *other* processes on the same database show up
//! within it) and writes made through this store evict the rows they touch at once. Unknown
//! GTINs are cached too, so floods of lookups for unknown barcodes don't reach the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gs1::Gtin14;
use quick_cache::sync::Cache;

use crate::geo::{BoundingBox, Point};
use crate::model::{
    CatalogCounts, OfferWrite, PriceRange, Product, ProductChildren, ProductWrite, StoreOffer,
    StoreSummary, StoreWrite, WriteOutcome,
};
use crate::store::{
    CatalogStore, CatalogWrites, EmbeddingsDb, OrgsDb, ProductReads, RetailDb, RulesDb,
    SearchIndexDb, StoreError, StoreMeta,
};

/// Cache settings.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// Most products kept.
    pub capacity: usize,
    /// Longest an entry is served without asking the database.
    pub ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self { capacity: 50_000, ttl: Duration::from_secs(2) }
    }
}

/// A [`CatalogStore`] that caches product rows.
pub struct CachedStore {
    inner: Arc<dyn CatalogStore>,
    products: Cache<Gtin14, (Instant, Option<Arc<Product>>)>,
    rules: Cache<RulesKey, (Instant, Arc<Vec<crate::rules::RuleRecord>>)>,
    ttl: Duration,
}

/// A scan's rule lookup: GTIN, batch, serial.
type RulesKey = (Gtin14, Option<String>, Option<String>);

impl CachedStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn CatalogStore>, settings: CacheSettings) -> Self {
        Self {
            inner,
            products: Cache::new(settings.capacity.max(1)),
            rules: Cache::new(settings.capacity.max(1)),
            ttl: settings.ttl,
        }
    }

    fn cached(&self, gtin: &Gtin14) -> Option<Option<Arc<Product>>> {
        self.products.get(gtin).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, p)| p)
    }
}

#[async_trait]
impl StoreMeta for CachedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn close(&self) {
        self.inner.close().await;
    }

    async fn counts(&self) -> Result<CatalogCounts, StoreError> {
        self.inner.counts().await
    }

    async fn product_count(&self) -> Result<u64, StoreError> {
        self.inner.product_count().await
    }

    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        self.inner.refresh_statistics().await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.meta(key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.set_meta(key, value).await
    }

    async fn user_id_by_email(&self, email: &str) -> Result<Option<i64>, StoreError> {
        self.inner.user_id_by_email(email).await
    }
}

#[async_trait]
impl ProductReads for CachedStore {
    async fn product(&self, gtin: Gtin14) -> Result<Option<Product>, StoreError> {
        if let Some(hit) = self.cached(&gtin) {
            return Ok(hit.map(|p| (*p).clone()));
        }
        let fetched = Instant::now();
        let p = self.inner.product(gtin).await?;
        self.products.insert(gtin, (fetched, p.clone().map(Arc::new)));
        Ok(p)
    }

    async fn products(&self, gtins: &[Gtin14]) -> Result<Vec<Product>, StoreError> {
        let mut out = Vec::with_capacity(gtins.len());
        let mut missing = Vec::new();
        for g in gtins {
            match self.cached(g) {
                Some(Some(p)) => out.push((*p).clone()),
                Some(None) => {}
                None => missing.push(*g),
            }
        }
        if !missing.is_empty() {
            let fetched = Instant::now();
            let found = self.inner.products(&missing).await?;
            let by_gtin: HashMap<Gtin14, &Product> = found.iter().map(|p| (p.gtin, p)).collect();
            for g in &missing {
                self.products.insert(*g, (fetched, by_gtin.get(g).map(|p| Arc::new((*p).clone()))));
            }
            out.extend(found);
        }
        Ok(out)
    }

    async fn product_children(&self, gtin: Gtin14) -> Result<ProductChildren, StoreError> {
        self.inner.product_children(gtin).await
    }

    async fn price_ranges(
        &self,
        gtins: &[Gtin14],
    ) -> Result<HashMap<Gtin14, PriceRange>, StoreError> {
        self.inner.price_ranges(gtins).await
    }

    async fn offers_in_box(
        &self,
        gtin: Gtin14,
        area: &BoundingBox,
    ) -> Result<Vec<StoreOffer>, StoreError> {
        self.inner.offers_in_box(gtin, area).await
    }

    async fn stores(&self) -> Result<Vec<StoreSummary>, StoreError> {
        self.inner.stores().await
    }

    async fn product_gtins(&self) -> Result<Vec<Gtin14>, StoreError> {
        self.inner.product_gtins().await
    }

    async fn offer_locations(
        &self,
        gtins: &[Gtin14],
        area: &BoundingBox,
    ) -> Result<Vec<(Gtin14, Point)>, StoreError> {
        self.inner.offer_locations(gtins, area).await
    }

    async fn offers_in_area(
        &self,
        area: &crate::geo::BoundingBox,
        limit: usize,
    ) -> Result<Vec<(Gtin14, crate::geo::Point)>, StoreError> {
        self.inner.offers_in_area(area, limit).await
    }
}

#[async_trait]
impl CatalogWrites for CachedStore {
    async fn product_organization(&self, gtin: Gtin14) -> Result<Option<Option<i64>>, StoreError> {
        self.inner.product_organization(gtin).await
    }

    async fn brand_organization(&self, name: &str) -> Result<Option<Option<i64>>, StoreError> {
        self.inner.brand_organization(name).await
    }

    async fn create_brand(&self, name: &str, organization_id: i64) -> Result<bool, StoreError> {
        let created = self.inner.create_brand(name, organization_id).await;
        // A brand's organization decides which organization rules apply.
        self.rules.clear();
        created
    }

    async fn delete_product(
        &self,
        gtin: Gtin14,
        if_updated_at: Option<&str>,
    ) -> Result<bool, StoreError> {
        let deleted = self.inner.delete_product(gtin, if_updated_at).await;
        self.products.remove(&gtin);
        self.rules.clear();
        deleted
    }

    async fn upsert_products(
        &self,
        batch: &[ProductWrite],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let out = self.inner.upsert_products(batch).await;
        // Brand and category names can change too, but only through product writes here.
        for w in batch {
            self.products.remove(&w.gtin);
        }
        // A product's brand decides which brand and organization rules apply to it.
        if !batch.is_empty() {
            self.rules.clear();
        }
        out
    }

    async fn upsert_stores(&self, batch: &[StoreWrite]) -> Result<Vec<WriteOutcome>, StoreError> {
        self.inner.upsert_stores(batch).await
    }

    async fn upsert_offers(&self, batch: &[OfferWrite]) -> Result<Vec<WriteOutcome>, StoreError> {
        self.inner.upsert_offers(batch).await
    }
}

#[async_trait]
impl SearchIndexDb for CachedStore {
    async fn index_search(&self, max_products: usize) -> Result<usize, StoreError> {
        self.inner.index_search(max_products).await
    }

    async fn search_documents(
        &self,
        after: &crate::store::SearchCursor,
        limit: usize,
    ) -> Result<crate::store::SearchDocumentPage, StoreError> {
        self.inner.search_documents(after, limit).await
    }

    async fn search_document_count(&self) -> Result<u64, StoreError> {
        self.inner.search_document_count().await
    }

    async fn search_backlog(&self) -> Result<u64, StoreError> {
        self.inner.search_backlog().await
    }

    async fn matching_products(
        &self,
        filters: &crate::search::SearchFilters,
        limit: usize,
    ) -> Result<Vec<gs1::Gtin14>, StoreError> {
        self.inner.matching_products(filters, limit).await
    }
}

#[async_trait]
impl EmbeddingsDb for CachedStore {
    async fn requeue_embeddings(&self, model: &str) -> Result<u64, StoreError> {
        self.inner.requeue_embeddings(model).await
    }

    async fn embed_jobs(
        &self,
        model: &str,
        max: usize,
    ) -> Result<Vec<crate::store::EmbedJob>, StoreError> {
        self.inner.embed_jobs(model, max).await
    }

    async fn save_embeddings(
        &self,
        model: &str,
        batch: &[crate::store::EmbeddingWrite],
    ) -> Result<(), StoreError> {
        self.inner.save_embeddings(model, batch).await
    }

    async fn embeddings_page(
        &self,
        model: &str,
        after: crate::store::EmbeddingCursor,
        limit: usize,
    ) -> Result<crate::store::EmbeddingPage, StoreError> {
        self.inner.embeddings_page(model, after, limit).await
    }

    async fn embed_backlog(&self) -> Result<u64, StoreError> {
        self.inner.embed_backlog().await
    }

    fn has_vector_index(&self, dims: usize) -> bool {
        self.inner.has_vector_index(dims)
    }

    async fn prepare_vector_index(&self, dims: usize) -> Result<bool, StoreError> {
        self.inner.prepare_vector_index(dims).await
    }

    async fn nearest(
        &self,
        model: &str,
        query: &[f32],
        filters: &crate::search::SearchFilters,
        within: Option<&[Gtin14]>,
        k: usize,
    ) -> Result<Option<Vec<crate::search::LexicalHit>>, StoreError> {
        self.inner.nearest(model, query, filters, within, k).await
    }

    async fn similarities(
        &self,
        model: &str,
        query: &[f32],
        gtins: &[Gtin14],
    ) -> Result<Option<Vec<(Gtin14, f64)>>, StoreError> {
        self.inner.similarities(model, query, gtins).await
    }

    async fn embedding_count(&self, model: &str) -> Result<u64, StoreError> {
        self.inner.embedding_count(model).await
    }
}

#[async_trait]
impl RulesDb for CachedStore {
    async fn custom_urls_due(
        &self,
        checked_before: &str,
        limit: u32,
        now: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        self.inner.custom_urls_due(checked_before, limit, now).await
    }

    async fn record_url_check(
        &self,
        rule_id: i64,
        alive: bool,
        failures_to_dead: u32,
        now: &str,
    ) -> Result<String, StoreError> {
        let status = self.inner.record_url_check(rule_id, alive, failures_to_dead, now).await;
        // A URL turning dead or alive changes where scans go.
        self.rules.clear();
        status
    }

    async fn upsert_rules(
        &self,
        batch: &[crate::model::RuleWrite],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        // A brand, organization or global rule changes the answer for many GTINs.
        let out = self.inner.upsert_rules(batch).await;
        self.rules.clear();
        out
    }

    async fn rules_for(
        &self,
        gtin: Gtin14,
        batch: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Vec<crate::rules::RuleRecord>, StoreError> {
        let key: RulesKey = (gtin, batch.map(str::to_owned), serial.map(str::to_owned));
        if let Some((at, rules)) = self.rules.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok((*rules).clone());
        }
        let fetched = Instant::now();
        let rules = self.inner.rules_for(gtin, batch, serial).await?;
        self.rules.insert(key, (fetched, Arc::new(rules.clone())));
        Ok(rules)
    }

    // Resolver-rule management: reads go to the database (an owner sees its change at once);
    // every change clears the cached rules, as `upsert_rules` does.

    async fn organization_rules(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::rules_admin::ManagedRule>, u64), StoreError> {
        self.inner.organization_rules(organization, offset, limit).await
    }

    async fn managed_rule(
        &self,
        id: i64,
    ) -> Result<Option<crate::rules_admin::OwnedRule>, StoreError> {
        self.inner.managed_rule(id).await
    }

    async fn create_rule(
        &self,
        organization: i64,
        draft: &crate::rules_admin::RuleDraft,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<crate::rules_admin::ManagedRule> {
        let out = self.inner.create_rule(organization, draft, actor).await;
        self.rules.clear();
        out
    }

    async fn update_rule(
        &self,
        organization: i64,
        expected: &crate::rules_admin::ManagedRule,
        draft: &crate::rules_admin::RuleDraft,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<crate::rules_admin::ManagedRule> {
        let out = self.inner.update_rule(organization, expected, draft, actor).await;
        self.rules.clear();
        out
    }

    async fn delete_rule(
        &self,
        organization: i64,
        expected: &crate::rules_admin::ManagedRule,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<()> {
        let out = self.inner.delete_rule(organization, expected, actor).await;
        self.rules.clear();
        out
    }

    async fn reorder_rules(
        &self,
        organization: i64,
        scope: &crate::rules_admin::ScopeRef,
        rule_ids: &[i64],
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<Vec<crate::rules_admin::ManagedRule>> {
        let out = self.inner.reorder_rules(organization, scope, rule_ids, actor).await;
        self.rules.clear();
        out
    }
}

#[async_trait]
impl OrgsDb for CachedStore {
    // Organizations and brands: reads go to the database; brand changes evict the cached
    // products (they carry the brand's name) and rules (a deleted brand or organization takes
    // its rules along).

    async fn organization_record(
        &self,
        id: i64,
    ) -> Result<Option<crate::orgs::Organization>, StoreError> {
        self.inner.organization_record(id).await
    }

    async fn create_organization(
        &self,
        name: &str,
        metadata: &crate::model::Metadata,
        member: i64,
    ) -> Result<crate::orgs::OrganizationCreation, StoreError> {
        self.inner.create_organization(name, metadata, member).await
    }

    async fn update_organization(
        &self,
        expected: &crate::orgs::Organization,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError> {
        self.inner.update_organization(expected, name, metadata).await
    }

    async fn delete_organization(&self, id: i64) -> Result<crate::orgs::Removal, StoreError> {
        let out = self.inner.delete_organization(id).await;
        self.rules.clear();
        out
    }

    async fn assign_owner(
        &self,
        kind: crate::orgs::Owned,
        name: &str,
        organization: i64,
        reassign: bool,
    ) -> Result<crate::orgs::Assignment, StoreError> {
        // Which organization's rules apply to the brand's products changes.
        let out = self.inner.assign_owner(kind, name, organization, reassign).await;
        self.rules.clear();
        out
    }

    async fn organization_brands(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::Brand>, u64), StoreError> {
        self.inner.organization_brands(organization, offset, limit).await
    }

    async fn brand_record(&self, id: i64) -> Result<Option<crate::orgs::Brand>, StoreError> {
        self.inner.brand_record(id).await
    }

    async fn insert_brand(
        &self,
        organization: i64,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<Option<i64>, StoreError> {
        let out = self.inner.insert_brand(organization, name, metadata).await;
        self.rules.clear();
        out
    }

    async fn update_brand(
        &self,
        expected: &crate::orgs::Brand,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError> {
        let out = self.inner.update_brand(expected, name, metadata).await;
        self.products.clear();
        out
    }

    async fn delete_brand(
        &self,
        id: i64,
        organization: i64,
    ) -> Result<crate::orgs::Removal, StoreError> {
        let out = self.inner.delete_brand(id, organization).await;
        self.rules.clear();
        out
    }

    async fn organization_products(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::OrganizationProduct>, u64), StoreError> {
        self.inner.organization_products(organization, offset, limit).await
    }

    async fn account_user(&self, id: i64) -> Result<Option<crate::orgs::AccountUser>, StoreError> {
        self.inner.account_user(id).await
    }
}

#[async_trait]
impl RetailDb for CachedStore {
    // Store and offer management: no cached row depends on them.

    async fn retailer_organizations(
        &self,
        names: &[String],
    ) -> Result<HashMap<String, Option<i64>>, StoreError> {
        self.inner.retailer_organizations(names).await
    }

    async fn create_retailer(&self, name: &str, organization_id: i64) -> Result<bool, StoreError> {
        self.inner.create_retailer(name, organization_id).await
    }

    async fn organization_stores(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::retail::ManagedStore>, u64), StoreError> {
        self.inner.organization_stores(organization, offset, limit).await
    }

    async fn managed_store(
        &self,
        retailer: &str,
        store_ref: &str,
    ) -> Result<Option<crate::retail::ManagedStore>, StoreError> {
        self.inner.managed_store(retailer, store_ref).await
    }

    async fn delete_store(&self, retailer: &str, store_ref: &str) -> Result<bool, StoreError> {
        self.inner.delete_store(retailer, store_ref).await
    }

    async fn delete_offer(
        &self,
        gtin: Gtin14,
        retailer: &str,
        store_ref: &str,
    ) -> Result<bool, StoreError> {
        self.inner.delete_offer(gtin, retailer, store_ref).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DataSource, Patch};
    use crate::sqlite::{SqliteOptions, SqliteStore};

    #[tokio::test]
    async fn writes_through_the_cache_are_seen_at_once_and_others_within_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let sqlite = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
        let raw: Arc<dyn CatalogStore> = Arc::new(sqlite);
        let cached = CachedStore::new(
            Arc::clone(&raw),
            CacheSettings { capacity: 10, ttl: Duration::from_millis(300) },
        );
        let gtin = Gtin14::parse("4012345000009").unwrap();
        assert!(cached.product(gtin).await.unwrap().is_none());

        let mut w = ProductWrite::new(gtin, DataSource::Manual);
        w.name = Patch::Set("First".into());
        cached.upsert_products(&[w.clone()]).await.unwrap();
        assert_eq!(cached.product(gtin).await.unwrap().unwrap().name, "First");

        // A write that bypasses the cache (another process) shows once the entry expires.
        w.name = Patch::Set("Second".into());
        raw.upsert_products(&[w]).await.unwrap();
        assert_eq!(cached.product(gtin).await.unwrap().unwrap().name, "First");
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(cached.product(gtin).await.unwrap().unwrap().name, "Second");
        assert_eq!(
            cached.products(&[gtin, Gtin14::parse("95012346").unwrap()]).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn rule_writes_through_the_cache_are_seen_at_once_and_others_within_the_ttl() {
        use crate::model::{MetadataPatch, RuleTarget, RuleWrite};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let sqlite = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
        let raw: Arc<dyn CatalogStore> = Arc::new(sqlite);
        let cached = CachedStore::new(
            Arc::clone(&raw),
            CacheSettings { capacity: 10, ttl: Duration::from_millis(300) },
        );
        let gtin = Gtin14::parse("4012345000009").unwrap();
        let rule = |target: RuleTarget, url: &str| RuleWrite {
            target,
            order_index: 0,
            enabled: true,
            link_type: None,
            custom_url: Some(url.to_owned()),
            on_custom_url_dead: "FALLBACK_TO_HOSTED".into(),
            starts_at: None,
            ends_at: None,
            annual: None,
            days_of_week: None,
            daily: None,
            time_zone: None,
            countries: None,
            languages: None,
            title: None,
            metadata: MetadataPatch::default(),
        };
        assert!(cached.rules_for(gtin, None, None).await.unwrap().is_empty());
        // A global rule written through the cache applies to every GTIN at once.
        cached.upsert_rules(&[rule(RuleTarget::Global, "https://a.example/")]).await.unwrap();
        let got = cached.rules_for(gtin, None, None).await.unwrap();
        assert_eq!(got.len(), 1);
        // Another process's write shows once the entry expires.
        raw.upsert_rules(&[rule(RuleTarget::Product(gtin), "https://b.example/")]).await.unwrap();
        assert_eq!(cached.rules_for(gtin, None, None).await.unwrap().len(), 1);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(cached.rules_for(gtin, None, None).await.unwrap().len(), 2);
    }
}
