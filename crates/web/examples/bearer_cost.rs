//! What the resource server's checks cost per MCP request, without HTTP around them:
//! `authenticate` (no header, and a valid cached bearer token) and the rate-limit check, on a
//! real SQLite file with a minted token. Prints nanoseconds per call (median of 5 rounds).
//!   cargo run --release -p web --example bearer_cost

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, header};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use web::security::{Limiters, RateLimits, authenticate};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await?;
    let auth = Arc::new(
        auth::AuthServer::on_sqlite(
            auth::AuthConfig::new("http://127.0.0.1:8080"),
            db.pool().clone(),
        )
        .await?,
    );
    auth.create_user("bench@example.com", "benchmark password").await?;
    let token = auth.mint_token("bench@example.com", "qr:generate").await?.access_token;
    let metadata = auth.resource_metadata_url();
    let mut with_token = HeaderMap::new();
    with_token.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?);
    let anonymous = HeaderMap::new();
    let limiters =
        Limiters::new(RateLimits { anonymous_per_minute: u32::MAX, client_per_minute: u32::MAX });
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    const N: u32 = 200_000;

    let mut rows = Vec::new();
    for (name, headers) in [
        ("authenticate, no token", &anonymous),
        ("authenticate, valid bearer token (cached)", &with_token),
    ] {
        let principal =
            authenticate(&auth, headers, &metadata).await.map_err(|e| format!("{e:?}"))?;
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..N {
                let p =
                    authenticate(&auth, headers, &metadata).await.map_err(|e| format!("{e:?}"))?;
                std::hint::black_box(p);
            }
            rounds.push(t.elapsed().as_nanos() as f64 / f64::from(N));
        }
        rows.push((name, median(rounds)));
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..N {
                std::hint::black_box(limiters.check(&principal, ip).is_ok());
            }
            rounds.push(t.elapsed().as_nanos() as f64 / f64::from(N));
        }
        rows.push((
            if principal.client_id.is_some() {
                "rate limit, per client"
            } else {
                "rate limit, per IP"
            },
            median(rounds),
        ));
    }
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        for (name, ns) in rows {
            writeln!(out, "{name}: {ns:.0} ns per call")?;
        }
    }
    db.close().await;
    Ok(())
}
