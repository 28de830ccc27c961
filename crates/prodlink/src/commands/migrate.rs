//! `prodlink migrate`: create or upgrade the schema and exit; with `--from sqlite://… --to
//! postgres://…`, copy a whole database into a new PostgreSQL one and verify the counts.

use std::io::Write as _;

use anyhow::Context as _;

use super::{Database, redact};
use crate::cli::MigrateArgs;

/// Runs the command.
pub async fn run(database: &str, args: MigrateArgs) -> anyhow::Result<()> {
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        return copy(from, to).await;
    }
    let store = super::open_store(database).await?;
    let counts = store.counts().await?;
    writeln!(
        std::io::stdout(),
        "database {} is up to date ({} products, {} stores, {} offers)",
        redact(database),
        counts.products,
        counts.stores,
        counts.offers
    )?;
    Ok(())
}

async fn copy(from: &str, to: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        from.starts_with("sqlite:"),
        "--from {}: copying is from a SQLite database (sqlite://PATH)",
        redact(from)
    );
    anyhow::ensure!(
        catalog::postgres::is_postgres_url(to),
        "--to {}: copying is into a PostgreSQL database (postgres://USER@HOST/DATABASE)",
        redact(to)
    );
    anyhow::ensure!(
        std::path::Path::new(from.trim_start_matches("sqlite://").trim_start_matches("sqlite:"))
            .is_file(),
        "--from {from}: no such database file"
    );
    let pg = super::pool_options();
    let (Database::Sqlite(source), Database::Postgres(target)) =
        (Database::open(from, &pg).await?, Database::open(to, &pg).await?)
    else {
        anyhow::bail!("--from must be sqlite://… and --to postgres://…");
    };
    let started = std::time::Instant::now();
    let counts = catalog::copy::sqlite_to_postgres(source.pool(), target.pool(), |table, n| {
        tracing::debug!(table, rows = n, "copying");
    })
    .await
    .with_context(|| format!("copying {from} into {}", redact(to)))?;
    let mut out = std::io::stdout().lock();
    for c in &counts {
        writeln!(out, "{:<20} {:>9} rows  (source {:>9})  ok", c.table, c.target, c.source)?;
    }
    writeln!(
        out,
        "copied {from} into {} in {:.1} s; every table's row count matches",
        redact(to),
        started.elapsed().as_secs_f64()
    )?;
    source.close().await;
    target.close().await;
    Ok(())
}
