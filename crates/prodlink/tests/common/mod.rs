//! Fixtures of the `prodlink` binary tests on top of the workspace's test kit (`testkit`: the
//! backends, [`on_both_backends!`], the test databases): the binary with a clean environment, a
//! running `prodlink serve`, and HTTP and MCP helpers.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub use testkit::database::Start;
pub use testkit::{Backend, Database, demo_data, model_dir, on_both_backends};

/// A new, empty database labelled `label` of `backend` (distinct labels give distinct
/// databases): the file `DIR/LABEL.db`, or a PostgreSQL database of the test's own. prodlink
/// migrates it itself.
pub fn database(backend: Backend, dir: &Path, label: &str) -> Database {
    Database::create_blocking(backend, dir, label, Start::Blank)
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
