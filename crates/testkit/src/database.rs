//! Test databases: a SQLite file in a directory, or a PostgreSQL database of a test's own, blank
//! or copied (`CREATE DATABASE … TEMPLATE`) from a template migrated once per migration set and
//! shared by every test process.
//!
//! PostgreSQL databases are named `tk_<test>_<hash>_<pid>_<n>` and dropped with their
//! [`Database`] (keep them with `PRODLINK_TEST_PG_KEEP=1`). Each test process holds one idle
//! "anchor" connection named after its pid for its whole life; a process starting up drops the
//! `tk_…` databases of processes whose anchor is gone (a run that was killed).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use catalog::postgres::{PgOptions, PgStore};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::Backend;

/// The variable holding a PostgreSQL admin URL.
pub const PG_ENV: &str = "PRODLINK_TEST_PG";

/// The admin URL of the PostgreSQL server tests run on, when one is set.
pub fn admin_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|v| !v.is_empty())
}

/// A database a test made. A PostgreSQL one is dropped with the value.
pub struct Database {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// How prodlink's messages name it: the SQLite file name or the PostgreSQL database name.
    pub name: String,
    /// The admin URL to drop the PostgreSQL database with, `None` to keep it.
    drop_with: Option<String>,
}

/// What a new database starts as.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    /// Nothing in it (prodlink migrates it itself).
    Blank,
    /// Every migration applied (on PostgreSQL, a copy of the shared migrated template).
    Migrated,
    /// A copy of the database `name` (a SQLite file path or a PostgreSQL database name).
    CopyOf(&'a str),
}

impl Database {
    /// A new database labelled `label` (distinct labels give distinct databases): the file
    /// `DIR/LABEL.db` (a blank or migrated SQLite file is created by whoever opens it first), or
    /// a PostgreSQL database of the test's own.
    pub async fn create(backend: Backend, dir: &Path, label: &str, start: Start<'_>) -> Self {
        match backend {
            Backend::Sqlite => {
                let name = format!("{label}.db");
                let path = dir.join(&name);
                if let Start::CopyOf(from) = start {
                    std::fs::copy(from, &path).unwrap();
                }
                Self { url: format!("sqlite://{}", path.display()), name, drop_with: None }
            }
            Backend::Postgres(test) => {
                let admin = admin_url().expect("PRODLINK_TEST_PG is set for PostgreSQL tests");
                anchor(&admin).await;
                let name = database_name(test, label);
                let template = match start {
                    Start::Blank => None,
                    Start::Migrated => Some(migrated_template(&admin).await),
                    Start::CopyOf(name) => Some(name.to_owned()),
                };
                let url = create_pg_database(&admin, &name, template.as_deref()).await;
                let keep = std::env::var_os("PRODLINK_TEST_PG_KEEP").is_some();
                Self { url, name, drop_with: (!keep).then_some(admin) }
            }
        }
    }

    /// [`Database::create`] for tests without a runtime of their own.
    pub fn create_blocking(backend: Backend, dir: &Path, label: &str, start: Start<'_>) -> Self {
        let dir = dir.to_owned();
        let label = label.to_owned();
        let start = match start {
            Start::Blank => None,
            Start::Migrated => Some(None),
            Start::CopyOf(name) => Some(Some(name.to_owned())),
        };
        on_own_runtime(move || async move {
            let start = match &start {
                None => Start::Blank,
                Some(None) => Start::Migrated,
                Some(Some(name)) => Start::CopyOf(name),
            };
            Self::create(backend, &dir, &label, start).await
        })
    }

    /// Keeps the database: it is not dropped with this value (a template others copy).
    pub fn keep(&mut self) -> String {
        self.drop_with = None;
        self.name.clone()
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        !self.url.starts_with("sqlite:")
    }

    /// The integer (`count(*)` and the like) in the only row of a query without parameters
    /// written for both backends, read on a connection of the test's own (for tests without a
    /// runtime, e.g. of the `prodlink` binary).
    pub fn int_blocking(&self, sql: &'static str) -> i64 {
        let url = self.url.clone();
        let postgres = self.is_postgres();
        on_own_runtime(move || async move {
            if postgres {
                let pool = sqlx::PgPool::connect(&url).await?;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await;
                pool.close().await;
                n
            } else {
                let pool = sqlx::SqlitePool::connect(&url).await?;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await;
                pool.close().await;
                n
            }
        })
        .unwrap_or_else(|e| panic!("{sql} on {}: {e}", self.name))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(admin) = self.drop_with.take() else { return };
        let name = self.name.clone();
        // No unwrap here: a panic while a failed test unwinds would abort the test binary.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let mut conn = admin_connection(&admin).await?;
                // `name` is a plain identifier (checked when the database was made).
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}: {dropped:?}", self.name);
        }
    }
}

/// Runs `f`'s future to completion on a new current-thread runtime in another thread (safe
/// both inside and outside a runtime).
pub fn on_own_runtime<F, Fut>(f: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f())
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

async fn admin_connection(admin: &str) -> Result<PgConnection, sqlx::Error> {
    let options: PgConnectOptions = admin.parse()?;
    options.connect().await
}

/// A per-process counter: every PostgreSQL database of a process has its own name, even two
/// of one test.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// The name of a new PostgreSQL database for `label` of `test`:
/// `tk_<test>_<hash>_<pid>_<n>`, lower case `[a-z0-9_]`, at most 63 bytes.
fn database_name(test: &str, label: &str) -> String {
    let mut h = DefaultHasher::new();
    (test, label).hash(&mut h);
    let last = test.rsplit("::").next().unwrap_or(test);
    let short: String = format!("{last}_{label}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(30)
        .collect();
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("tk_{short}_{:08x}_{}_{n}", h.finish() as u32, std::process::id())
}

/// The pid in a name made by [`database_name`].
fn pid_of(name: &str) -> Option<u32> {
    name.rsplit('_').nth(1)?.parse().ok()
}

/// Whether `name` is a plain identifier (safe to put in SQL text).
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

const ANCHOR_PREFIX: &str = "prodlink-tests-";

/// This process's anchor connection: open while the process lives, so other processes know
/// its databases are in use. Opened before the first database is made; never used again.
static ANCHOR: tokio::sync::OnceCell<Mutex<PgConnection>> = tokio::sync::OnceCell::const_new();

async fn anchor(admin: &str) {
    ANCHOR
        .get_or_init(|| async {
            let me = format!("{ANCHOR_PREFIX}{}", std::process::id());
            let options: PgConnectOptions = admin.parse().unwrap();
            let mut conn = options.application_name(&me).connect().await.unwrap();
            drop_leftovers(&mut conn).await;
            Mutex::new(conn)
        })
        .await;
}

/// Drops the `tk_…` databases of test processes that are gone (no anchor connection).
async fn drop_leftovers(conn: &mut PgConnection) {
    let live: HashSet<u32> = sqlx::query_scalar::<_, String>(
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE $1",
    )
    .bind(format!("{ANCHOR_PREFIX}%"))
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .filter_map(|a| a.strip_prefix(ANCHOR_PREFIX)?.parse().ok())
    .collect();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'tk\\_%' AND datname NOT LIKE 'tk\\_template\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for name in names {
        if pid_of(&name).is_some_and(|pid| !live.contains(&pid)) && is_plain(&name) {
            let dropped =
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                    .execute(&mut *conn)
                    .await;
            if let Err(e) = dropped {
                eprintln!("could not drop the leftover test database {name}: {e}");
            }
        }
    }
}

/// Creates the PostgreSQL database `name` (a copy of `template` when given) and returns its URL.
async fn create_pg_database(admin: &str, name: &str, template: Option<&str>) -> String {
    assert!(is_plain(name) && template.is_none_or(is_plain), "{name} {template:?}");
    let Some(template) = template else {
        return PgStore::create_database(admin, name).await.unwrap();
    };
    let mut conn = admin_connection(admin).await.unwrap();
    // Both names are checked above to be plain identifiers. Copies of one template made at
    // the same moment can find it busy for an instant: try again.
    let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
    for attempt in 0.. {
        match sqlx::query(sqlx::AssertSqlSafe(create.clone())).execute(&mut conn).await {
            Ok(_) => break,
            Err(e) if attempt < 100 && e.to_string().contains("being accessed by other users") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{create}: {e}"),
        }
    }
    conn.close().await.unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The name of the shared template with every PostgreSQL migration applied, made on first use
/// (by whichever test process gets there first) and kept for later runs; templates of other
/// migration sets are dropped when unused.
async fn migrated_template(admin: &str) -> String {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("tk_template_{:016x}", migrations_hash());
            let mut conn = admin_connection(admin).await.unwrap();
            // One process builds it; the others wait on the lock, then find it.
            sqlx::query("SELECT pg_advisory_lock(7242017)").execute(&mut conn).await.unwrap();
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            if !exists {
                let building = format!("{name}_b");
                let url = PgStore::create_database(admin, &building).await.unwrap();
                let options = PgOptions { max_connections: 1, min_connections: 0, ..PgOptions::default() };
                let store = PgStore::open_and_migrate(&url, &options).await.unwrap();
                store.close().await;
                // Renamed only when complete: a build cut short never serves as a template.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE {building} RENAME TO {name}"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                let stale: Vec<String> = sqlx::query_scalar(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'tk\\_template\\_%' AND datname <> $1",
                )
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for old in stale.iter().filter(|n| is_plain(n)) {
                    // In use by a run of another checkout: left for later.
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {old}")))
                        .execute(&mut conn)
                        .await;
                }
            }
            sqlx::query("SELECT pg_advisory_unlock(7242017)").execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            name
        })
        .await
        .clone()
}

/// A hash of the PostgreSQL migrations' file names and contents: a new migration set gets a
/// new template.
fn migrations_hash() -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut h = DefaultHasher::new();
    for f in files {
        f.file_name().hash(&mut h);
        std::fs::read(&f).unwrap().hash(&mut h);
    }
    h.finish()
}
