//! One module per command; each takes resolved settings and runs to completion.

pub mod accounts;
pub mod import;
pub mod mcp_stdio;
pub mod migrate;
pub mod organizations;
pub mod serve;

use std::sync::Arc;

use anyhow::Context as _;
use catalog::CatalogStore;
use catalog::postgres::{PgOptions, PgStore, is_postgres_url};
use catalog::sqlite::{SqliteOptions, SqliteStore};

/// The database behind a store: the embedded SQLite file or a PostgreSQL server.
#[derive(Clone)]
pub enum Database {
    /// `sqlite://PATH`.
    Sqlite(SqliteStore),
    /// `postgres://…`.
    Postgres(PgStore),
}

impl Database {
    /// Opens and migrates the database named by `url`.
    pub async fn open(url: &str, pg: &PgOptions) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let store = SqliteStore::open_and_migrate(url, &SqliteOptions::default())
                .await
                .with_context(|| format!("opening the database {url}"))?;
            return Ok(Self::Sqlite(store));
        }
        if is_postgres_url(url) {
            let store = PgStore::open_and_migrate(url, pg)
                .await
                .with_context(|| format!("opening the database {}", redact(url)))?;
            return Ok(Self::Postgres(store));
        }
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            redact(url)
        )
    }

    /// The catalog store on this database.
    pub fn store(&self) -> Arc<dyn CatalogStore> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
    }
}

/// A database URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// An open database: the catalog store and the authorization server's store on the same
/// database.
pub struct Opened {
    /// The catalog.
    pub store: Arc<dyn CatalogStore>,
    /// The database the authorization server keeps its tables in.
    pub database: Database,
}

impl Opened {
    /// The authorization server over this database.
    pub async fn auth(&self, config: auth::AuthConfig) -> anyhow::Result<Arc<auth::AuthServer>> {
        let server = match &self.database {
            Database::Sqlite(s) => auth::AuthServer::on_sqlite(config, s.pool().clone()).await,
            Database::Postgres(s) => auth::AuthServer::on_postgres(config, s.pool().clone()).await,
        }
        .context("starting the authorization server")?;
        Ok(Arc::new(server))
    }
}

static POOL_OPTIONS: std::sync::OnceLock<PgOptions> = std::sync::OnceLock::new();

/// Sets the PostgreSQL pool settings for this process (from the global `--db-*` flags); the
/// first call wins. Without a call the defaults of [`PgOptions`] apply.
pub fn set_pool_options(options: PgOptions) {
    let _ = POOL_OPTIONS.set(options);
}

pub(crate) fn pool_options() -> PgOptions {
    POOL_OPTIONS.get().cloned().unwrap_or_default()
}

/// Opens the catalog for serving: the store behind a short-lived product cache (writes through
/// this process evict at once; other processes' writes show within two seconds).
pub async fn open_serving(url: &str) -> anyhow::Result<Opened> {
    let database = Database::open(url, &pool_options()).await?;
    let store = Arc::new(catalog::cache::CachedStore::new(
        database.store(),
        catalog::cache::CacheSettings::default(),
    ));
    Ok(Opened { store, database })
}

/// Opens and migrates the catalog database named by `url`.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn CatalogStore>> {
    Ok(Database::open(url, &pool_options()).await?.store())
}

/// Where `scripts/fetch-model.sh` puts the model, used when no `--model-dir` is given.
pub const DEFAULT_MODEL_DIR: &str = "models/potion-base-8M";

/// The model directory to use: `--model-dir`, else the default one when it holds a model.
pub fn model_dir(dir: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    match dir {
        Some(d) => Some(d.to_path_buf()),
        None if std::path::Path::new(DEFAULT_MODEL_DIR).join("model.json").is_file() => {
            Some(DEFAULT_MODEL_DIR.into())
        }
        None => None,
    }
}

/// The id vectors are stored under for the model in `dir` (vectors made by another model, or
/// by another version of the distilled embedding, are re-made).
pub fn embedder_id(dir: &std::path::Path) -> Result<String, search::EmbedError> {
    search::embedder_id(dir)
}

/// The semantic search leg for a model directory (the default one when it exists), with its
/// background indexer started: the model — a static embedding (`model.json`), or a
/// sentence-transformer whose static embedding is distilled once and cached — is loaded off
/// the async threads while the server already answers lexically. Without a model the server
/// warns and searches lexically.
pub fn semantic_leg(
    dir: Option<&std::path::Path>,
    store: Arc<dyn CatalogStore>,
) -> (Option<Arc<catalog::semantic::Semantic>>, web::health::ModelStatus) {
    use web::health::ModelStatus;
    let Some(dir) = model_dir(dir) else {
        tracing::warn!(
            "no sentence-embedding model (run scripts/fetch-model.sh or pass --model-dir); \
             searches are lexical only"
        );
        return (None, ModelStatus::not_loaded(None, "no --model-dir given; searches are lexical"));
    };
    let shown = dir.display().to_string();
    let id = match embedder_id(&dir) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, dir = %shown, "no usable sentence-embedding model; searches are lexical only");
            return (
                None,
                ModelStatus::not_loaded(Some(shown), format!("{e}; searches are lexical")),
            );
        }
    };
    let sem = Arc::new(catalog::semantic::Semantic::new(
        id,
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    ));
    sem.spawn_indexer(store, std::time::Duration::from_secs(2), move || {
        search::load_embedder(&dir)
    });
    (Some(sem), ModelStatus { loaded: true, dir: Some(shown), reason: None })
}
