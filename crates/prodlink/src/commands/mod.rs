//! One module per command; each takes resolved settings and runs to completion.

pub mod import;
pub mod mcp_stdio;
pub mod migrate;
pub mod serve;

use std::sync::Arc;

use anyhow::Context as _;
use catalog::CatalogStore;
use catalog::sqlite::{SqliteOptions, SqliteStore};

/// Opens the catalog for serving: the store behind a short-lived product cache (writes through
/// this process evict at once; other processes' writes show within two seconds).
pub async fn open_serving_store(url: &str) -> anyhow::Result<Arc<dyn CatalogStore>> {
    let store = open_store(url).await?;
    Ok(Arc::new(catalog::cache::CachedStore::new(store, catalog::cache::CacheSettings::default())))
}

/// Opens and migrates the catalog database named by `url`.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn CatalogStore>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open_and_migrate(url, &SqliteOptions::default())
            .await
            .with_context(|| format!("opening the database {url}"))?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "PostgreSQL databases are not supported by this version yet; use --database sqlite://PATH"
        );
    }
    anyhow::bail!("unsupported database URL {url:?}: expected sqlite://PATH or postgres://…")
}
