//! One module per command; each takes resolved settings and runs to completion.

pub mod accounts;
pub mod import;
pub mod mcp_stdio;
pub mod migrate;
pub mod serve;

use std::sync::Arc;

use anyhow::Context as _;
use catalog::CatalogStore;
use catalog::sqlite::{SqliteOptions, SqliteStore};

/// An open database: the catalog store and the authorization server's store on the same
/// database.
pub struct Opened {
    /// The catalog.
    pub store: Arc<dyn CatalogStore>,
    /// The SQLite database the authorization server keeps its tables in.
    pub sqlite: SqliteStore,
}

impl Opened {
    /// The authorization server over this database.
    pub async fn auth(&self, config: auth::AuthConfig) -> anyhow::Result<Arc<auth::AuthServer>> {
        let server = auth::AuthServer::on_sqlite(config, self.sqlite.pool().clone())
            .await
            .context("starting the authorization server")?;
        Ok(Arc::new(server))
    }
}

/// Opens the catalog for serving: the store behind a short-lived product cache (writes through
/// this process evict at once; other processes' writes show within two seconds).
pub async fn open_serving(url: &str) -> anyhow::Result<Opened> {
    let sqlite = open_sqlite(url).await?;
    let store = Arc::new(catalog::cache::CachedStore::new(
        Arc::new(sqlite.clone()),
        catalog::cache::CacheSettings::default(),
    ));
    Ok(Opened { store, sqlite })
}

/// Opens and migrates the catalog database named by `url`.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn CatalogStore>> {
    Ok(Arc::new(open_sqlite(url).await?))
}

/// Opens and migrates a SQLite database (the only backend of this version).
pub async fn open_sqlite(url: &str) -> anyhow::Result<SqliteStore> {
    if url.starts_with("sqlite:") {
        return SqliteStore::open_and_migrate(url, &SqliteOptions::default())
            .await
            .with_context(|| format!("opening the database {url}"));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "PostgreSQL databases are not supported by this version yet; use --database sqlite://PATH"
        );
    }
    anyhow::bail!("unsupported database URL {url:?}: expected sqlite://PATH or postgres://…")
}
