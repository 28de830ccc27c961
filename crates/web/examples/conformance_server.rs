//! A prodlink MCP server with the conformance-suite fixture tools registered, for
//! `tests/external/conformance` only (never shipped):
//! `cargo run -p web --example conformance_server -- DB ADDR`.
//! Prints `listening on http://ADDR` when ready.

use std::sync::Arc;

use catalog::Catalog;
use catalog::sqlite::{SqliteOptions, SqliteStore};
use web::health::ModelStatus;
use web::{AppState, HttpSettings};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or("usage: conformance_server DATABASE_PATH ADDR")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let store =
        SqliteStore::open_and_migrate(&format!("sqlite://{db}"), &SqliteOptions::default()).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let bound = listener.local_addr()?;
    let site = format!("http://{bound}");
    let auth =
        auth::AuthServer::on_sqlite(auth::AuthConfig::new(&site), store.pool().clone()).await?;
    let catalog = Catalog::new(Arc::new(store), &site);
    let origins = web::mcp_http::OriginPolicy::new(&site, &[], &[]);
    // The suite sends many requests from one address: no rate limits here.
    let http = HttpSettings {
        rate_limits: web::security::RateLimits { anonymous_per_minute: 0, client_per_minute: 0 },
        ..HttpSettings::default()
    };
    let state = AppState::with_conformance_fixtures(
        catalog,
        Arc::new(auth),
        origins,
        http,
        ModelStatus::not_loaded(None, "conformance"),
    );
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {site}")?;
        out.flush()?;
    }
    web::serve(listener, web::app(state), web::shutdown_signal()).await?;
    Ok(())
}
