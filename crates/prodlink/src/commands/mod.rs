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

/// Where `scripts/fetch-model.sh` puts the model, used when no `--model-dir` is given.
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";

/// The model directory to use: `--model-dir`, else the default one when it holds a model.
pub fn model_dir(dir: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    match dir {
        Some(d) => Some(d.to_path_buf()),
        None if std::path::Path::new(DEFAULT_MODEL_DIR).join("config.json").is_file() => {
            Some(DEFAULT_MODEL_DIR.into())
        }
        None => None,
    }
}

/// The id vectors are stored under for the model in `dir` (vectors made by another model, or
/// by another version of the distilled embedding, are re-made).
pub fn embedder_id(dir: &std::path::Path) -> Result<String, search::EmbedError> {
    search::model_id(dir, search::Distilled::KIND)
}

/// The semantic search leg for a model directory (the default one when it exists), with its
/// background indexer started: the distilled static embedding of the model is loaded (or
/// distilled once and cached) off the async threads while the server already answers
/// lexically. Without a model the server warns and searches lexically.
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
        let d = search::Distilled::load_or_distill(&dir)?;
        Ok(Arc::new(d) as Arc<dyn search::Embedder>)
    });
    (Some(sem), ModelStatus { loaded: true, dir: Some(shown), reason: None })
}
