//! Shared helpers for the catalog integration tests: a fresh database per test (a SQLite file
//! in a temp directory, or a PostgreSQL database of its own), the macro that runs a test on
//! both backends, and small builders for writes.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use catalog::CatalogStore;
use catalog::iso::{CountryCode, CurrencyCode};
use catalog::model::{
    DataSource, InventoryStatus, MetadataPatch, OfferWrite, Patch, ProductWrite, StoreWrite,
};
use catalog::postgres::{PgOptions, PgStore};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use gs1::Gtin14;

/// The database under a test.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A migrated store on a new database: a SQLite file in a temp directory, or a PostgreSQL
/// database of its own on the server named by `PRODLINK_TEST_PG`. Keep it alive for the test.
pub struct TestDb {
    /// The test's name (names its PostgreSQL database).
    pub name: String,
    /// The database URL (`sqlite://…` or `postgres://…`).
    pub url: String,
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub store: Arc<dyn CatalogStore>,
}

/// Runs each named `async fn(TestDb)` as two tests, `sqlite::NAME` and `postgres::NAME`; the
/// PostgreSQL one says it was skipped when `PRODLINK_TEST_PG` is not set.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::TestDb::sqlite().await).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = $crate::common::TestDb::postgres(
                    concat!(module_path!(), "::", stringify!($name))).await else { return };
                super::$name(db).await
            })*
        }
    };
}

impl TestDb {
    /// A new SQLite file.
    pub async fn new() -> Self {
        Self::sqlite().await
    }

    /// A new SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let sqlite = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
        let store: Arc<dyn CatalogStore> = Arc::new(sqlite.clone());
        Self { name: String::new(), url, dir, db: Db::Sqlite(sqlite), store }
    }

    /// A new PostgreSQL database for the test `name`, or `None` (with a note) when
    /// `PRODLINK_TEST_PG` is not set.
    pub async fn postgres(name: &str) -> Option<Self> {
        Self::postgres_with(name, PgOptions { max_connections: 4, ..PgOptions::default() }).await
    }

    /// [`TestDb::postgres`] opened with `options`.
    pub async fn postgres_with(name: &str, options: PgOptions) -> Option<Self> {
        let Ok(admin) = std::env::var("PRODLINK_TEST_PG") else {
            eprintln!("skipped: PRODLINK_TEST_PG is not set (scripts/test.sh sets it)");
            return None;
        };
        let url = PgStore::create_database(&admin, &database_name(name)).await.unwrap();
        let pg = PgStore::open_and_migrate(&url, &options).await.unwrap();
        let store: Arc<dyn CatalogStore> = Arc::new(pg.clone());
        Some(Self {
            name: name.to_owned(),
            url,
            dir: tempfile::tempdir().unwrap(),
            db: Db::Postgres(pg),
            store,
        })
    }

    /// A second, empty database on the same backend.
    pub async fn another(&self) -> Self {
        match self.db {
            Db::Sqlite(_) => Self::sqlite().await,
            Db::Postgres(_) => Self::postgres(&format!("{}::another", self.name)).await.unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The SQLite store (for tests of SQLite itself).
    pub fn sqlite_store(&self) -> &SqliteStore {
        match &self.db {
            Db::Sqlite(s) => s,
            Db::Postgres(_) => panic!("this test runs on SQLite only"),
        }
    }

    /// Runs one statement without parameters (written in SQL both backends accept).
    pub async fn execute(&self, sql: impl Into<String>) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.into());
        Ok(match &self.db {
            Db::Sqlite(s) => sqlx::query(sql).execute(s.pool()).await?.rows_affected(),
            Db::Postgres(s) => sqlx::query(sql).execute(s.pool()).await?.rows_affected(),
        })
    }

    /// Whether this test runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// One integer (`count(*)`, an id…) from a query without parameters.
    pub async fn int(&self, sql: impl Into<String>) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.into());
        match &self.db {
            Db::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
            Db::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
        }
    }

    /// One text value from a query without parameters.
    pub async fn text(&self, sql: impl Into<String>) -> Option<String> {
        let sql = sqlx::AssertSqlSafe(sql.into());
        match &self.db {
            Db::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
            Db::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
        }
    }

    /// Every row of a query without parameters, each column as text (NULL as `None`); cast
    /// non-text columns in the query (`CAST(x AS TEXT)`).
    pub async fn rows(&self, sql: impl Into<String>) -> Vec<Vec<Option<String>>> {
        use sqlx::Row as _;
        let sql = sqlx::AssertSqlSafe(sql.into());
        match &self.db {
            Db::Sqlite(s) => sqlx::query(sql)
                .fetch_all(s.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get(i).unwrap()).collect())
                .collect(),
            Db::Postgres(s) => sqlx::query(sql)
                .fetch_all(s.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get(i).unwrap()).collect())
                .collect(),
        }
    }
}

/// A PostgreSQL database name for a test: lower case, at most 63 bytes, unique per test.
fn database_name(test: &str) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    test.hash(&mut h);
    let short: String = test
        .rsplit("::")
        .next()
        .unwrap_or(test)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(40)
        .collect();
    format!("t_{short}_{:x}", h.finish() & 0xffff_ffff)
}

/// The repository's `data/demo` directory.
pub fn demo_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo").join(name)
}

pub fn gtin(s: &str) -> Gtin14 {
    Gtin14::parse(s).unwrap()
}

pub fn product(g: &str, name: &str) -> ProductWrite {
    let mut w = ProductWrite::new(gtin(g), DataSource::Manual);
    w.name = Patch::Set(name.to_owned());
    w
}

pub fn store_write(retailer: &str, store_ref: &str, lat: f64, lng: f64) -> StoreWrite {
    StoreWrite {
        retailer: retailer.into(),
        store_ref: store_ref.into(),
        name: format!("{retailer} {store_ref}"),
        address: Patch::Set(format!("{store_ref} Main St")),
        city: Patch::Set("Springfield".into()),
        region: Patch::Set("IL".into()),
        postal_code: Patch::Set("62701".into()),
        country: CountryCode::parse("US").unwrap(),
        lat,
        lng,
        metadata: MetadataPatch::default(),
    }
}

pub fn offer(g: &str, retailer: &str, store_ref: &str, cents: i64) -> OfferWrite {
    OfferWrite {
        gtin: gtin(g),
        retailer: retailer.into(),
        store_ref: store_ref.into(),
        price_minor: cents,
        currency: CurrencyCode::parse("USD").unwrap(),
        inventory_status: Some(InventoryStatus::InStock),
        active: Some(true),
        metadata: MetadataPatch::default(),
    }
}
