//! One module per command; each takes resolved settings and runs to completion.

pub mod import;
pub mod mcp_stdio;
pub mod migrate;
pub mod serve;

use std::sync::Arc;

use anyhow::Context as _;
use catalog::CatalogStore;
use catalog::sqlite::{SqliteOptions, SqliteStore};

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
