//! `prodlink migrate`: create or upgrade the schema and exit.

use std::io::Write as _;

/// Runs the command.
pub async fn run(database: &str) -> anyhow::Result<()> {
    let store = super::open_store(database).await?;
    let counts = store.counts().await?;
    writeln!(
        std::io::stdout(),
        "database {database} is up to date ({} products, {} stores, {} offers)",
        counts.products,
        counts.stores,
        counts.offers
    )?;
    Ok(())
}
