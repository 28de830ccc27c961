//! Shared fixtures of the `prodlink` binary tests: the binary with a clean environment, a
//! running `prodlink serve`, HTTP and MCP helpers, and the databases a test runs on: a SQLite
//! file in the test's temporary directory, or a PostgreSQL database of its own on the server
//! named by `PRODLINK_TEST_PG`. [`on_both_backends!`] runs one test body on each.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The variable holding a PostgreSQL admin URL (a database the user may connect to and create
/// databases from, e.g. `postgres://prodlink@127.0.0.1:54329/postgres`; scripts/test.sh sets it).
pub const PG_ENV: &str = "PRODLINK_TEST_PG";

/// Declares, for each named `fn NAME(b: Backend)` of the test file, the tests `sqlite::NAME`
/// and `postgres::NAME`. The PostgreSQL one says it was skipped and passes when
/// `PRODLINK_TEST_PG` is unset.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::common::Backend::Sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(b) = $crate::common::Backend::postgres(stringify!($name)) {
                        super::$name(b);
                    }
                }
            )*
        }
    };
}

/// The backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in the test's temporary directory.
    Sqlite,
    /// PostgreSQL databases made for the named test.
    Postgres(&'static str),
}

impl Backend {
    /// PostgreSQL for `test`, or `None` (after saying so) when `PRODLINK_TEST_PG` is unset.
    pub fn postgres(test: &'static str) -> Option<Self> {
        if std::env::var(PG_ENV).is_ok_and(|v| !v.is_empty()) {
            Some(Self::Postgres(test))
        } else {
            eprintln!("skipped postgres::{test}: {PG_ENV} is not set (scripts/test.sh sets it)");
            None
        }
    }

    /// The name `/mcp/health` reports as `backend`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A new, empty database labelled `label` (distinct labels give distinct databases): the
    /// file `DIR/LABEL.db`, or the PostgreSQL database `cli_TEST_LABEL_PID`.
    pub fn database(self, dir: &Path, label: &str) -> Db {
        match self {
            Self::Sqlite => {
                let file = format!("{label}.db");
                Db { url: sqlite(dir, &file), name: file, admin: None }
            }
            Self::Postgres(test) => {
                let admin = std::env::var(PG_ENV).unwrap();
                let name = pg_database_name(test, label);
                let url =
                    block_on(catalog::postgres::PgStore::create_database(&admin, &name)).unwrap();
                Db { url, name, admin: Some(admin) }
            }
        }
    }
}

/// The PostgreSQL database name of `label` in `test`: `cli_<test>_<label>_<pid>` (the pid keeps
/// two runs of the suite on one server apart), shortened with a hash of the full name to
/// PostgreSQL's 63-character limit.
fn pg_database_name(test: &str, label: &str) -> String {
    let pid = std::process::id();
    let name = format!("cli_{test}_{label}_{pid}");
    if name.len() <= 63 {
        return name;
    }
    let mut h = DefaultHasher::new();
    (test, label).hash(&mut h);
    let tail = format!("_{:08x}_{label}_{pid}", h.finish() as u32);
    let keep = 63usize.saturating_sub("cli_".len() + tail.len());
    format!("cli_{}{tail}", &test[..keep.min(test.len())])
}

/// A database a test made; a PostgreSQL one is dropped with the value (unless
/// `PRODLINK_TEST_PG_KEEP` is set, to look at it after a failure).
pub struct Db {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// How prodlink's messages name it: the SQLite file name or the PostgreSQL database name.
    pub name: String,
    /// The admin URL the PostgreSQL database was made from.
    admin: Option<String>,
}

impl Db {
    /// The integer (`count(*)` and the like) in the only row of a query without parameters
    /// written for both backends, read on a connection of the test's own.
    pub fn int(&self, sql: &'static str) -> i64 {
        block_on(async {
            if self.admin.is_some() {
                let pool = sqlx::PgPool::connect(&self.url).await?;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await;
                pool.close().await;
                n
            } else {
                let pool = sqlx::SqlitePool::connect(&self.url).await?;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await;
                pool.close().await;
                n
            }
        })
        .unwrap_or_else(|e| panic!("{sql} on {}: {e}", self.name))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some(admin) = &self.admin else { return };
        if std::env::var_os("PRODLINK_TEST_PG_KEEP").is_some() {
            eprintln!("kept PostgreSQL database {}", self.name);
            return;
        }
        // No unwrap here: a panic while a failed test unwinds would abort the test binary.
        let dropped = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(sqlx::Error::Io)
            .and_then(|rt| {
                rt.block_on(async {
                    use sqlx::{ConnectOptions as _, Connection as _};
                    let options: sqlx::postgres::PgConnectOptions = admin.parse()?;
                    let mut conn = options.connect().await?;
                    // `name` is `cli_` + a test name, a label and digits: a plain identifier.
                    let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await?;
                    conn.close().await
                })
            });
        if let Err(e) = dropped {
            eprintln!("could not drop PostgreSQL database {}: {e}", self.name);
        }
    }
}

/// What the authorization server of a fresh process on the database says of an API key; an
/// accepted key's last use is recorded (in the background) before this returns.
pub fn validate_api_key(
    database: &str,
    key: &str,
) -> Result<auth::ApiKeyInfo, auth::InvalidApiKey> {
    async fn validate(
        server: auth::AuthServer,
        key: &str,
    ) -> Result<auth::ApiKeyInfo, auth::InvalidApiKey> {
        let result = server.validate_api_key(key).await;
        if let Ok(info) = &result {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                let keys = server.list_api_keys(None).await.unwrap();
                if keys.iter().any(|k| k.id == info.id && k.last_used_at.is_some()) {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "last_used_at not written in 5 s");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        result
    }
    let config = auth::AuthConfig::new("http://127.0.0.1:8080");
    block_on(async {
        if database.starts_with("sqlite:") {
            let options = catalog::sqlite::SqliteOptions::default();
            let db = catalog::sqlite::SqliteStore::open(database, &options).await.unwrap();
            let server = auth::AuthServer::on_sqlite(config, db.pool().clone()).await.unwrap();
            let result = validate(server, key).await;
            db.close().await;
            result
        } else {
            let options = catalog::postgres::PgOptions::default();
            let db = catalog::postgres::PgStore::open(database, &options).await.unwrap();
            let server = auth::AuthServer::on_postgres(config, db.pool().clone()).await.unwrap();
            let result = validate(server, key).await;
            db.close().await;
            result
        }
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// A new PostgreSQL database named `name` on the server of `PRODLINK_TEST_PG`, or `None` when
/// the variable is not set.
pub fn postgres_database(name: &str) -> Option<String> {
    let Ok(admin) = std::env::var(PG_ENV) else {
        eprintln!("skipped: {PG_ENV} is not set (scripts/test.sh sets it)");
        return None;
    };
    Some(block_on(catalog::postgres::PgStore::create_database(&admin, name)).unwrap())
}

/// A blocking HTTP client (reqwest is built without a default TLS provider: install ring's).
pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// The built binary, with no `PRODLINK_*` setting from the environment.
pub fn prodlink() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prodlink"));
    // The tests decide every setting themselves.
    for (k, _) in std::env::vars() {
        if k.starts_with("PRODLINK_") && k != "PRODLINK_DL_URI_LOG" {
            c.env_remove(k);
        }
    }
    c.env("PRODLINK_LOG_FORMAT", "text").env("PRODLINK_LOG", "warn");
    c
}

pub fn demo_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo").join(name)
}

pub fn sqlite(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// A running `prodlink serve`; killed on drop if the test did not stop it.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(cmd: &mut Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self { child, base: addr.to_owned() }
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        http().get(format!("{}{path}", self.base)).send().unwrap()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("prodlink did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs prodlink with `stdin` and returns (success, stdout, stderr).
pub fn run_with_stdin(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write as _;
    let mut child = prodlink()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Calls the MCP tool `name` over HTTP; returns the status and the JSON-RPC reply.
pub fn mcp_call(base: &str, token: Option<&str>, name: &str, args: Value) -> (u16, Value) {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": name, "arguments": args}});
    let mut r = http()
        .post(format!("{base}/mcp/http"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().unwrap();
    let status = res.status().as_u16();
    (status, res.json().unwrap_or(Value::Null))
}
