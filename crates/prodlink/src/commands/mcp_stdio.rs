//! `prodlink mcp-stdio`: the MCP server over stdin/stdout for local clients (Claude Desktop,
//! Claude Code, Cursor, VS Code). stdout carries only MCP messages; logs go to stderr. There is
//! no OAuth over stdio: the process acts for the operator, and `generate_qr_url` works only
//! with `--as-user EMAIL` (docs/spec.md §3).

use std::time::Duration;

use anyhow::Context as _;
use catalog::Catalog;
use mcp::{McpServer, Principal};

use crate::cli::McpStdioArgs;
use crate::settings::{self, FileSettings};

/// Runs the command.
pub async fn run(database: &str, args: McpStdioArgs, file: &FileSettings) -> anyhow::Result<()> {
    let site_url = settings::site_url(args.site_url, file)?;
    let opened = super::open_serving(database).await?;
    let store = opened.store.clone();
    let as_user = args.as_user.or(file.as_user.clone());
    let principal = match &as_user {
        None => Principal::anonymous(),
        Some(email) => {
            let id = store.user_id_by_email(email).await?.with_context(|| {
                format!("--as-user {email}: no enabled prodlink user has this email")
            })?;
            Principal {
                client_id: None,
                user_id: Some(id),
                scopes: vec![mcp::tools::QR_SCOPE.to_owned()],
            }
        }
    };
    // The same quota and durable audit rows as over HTTP.
    let mut config = auth::AuthConfig::new(&site_url);
    config.qr_per_day = file.qr_per_day.unwrap_or(config.qr_per_day);
    config.qr_per_month = file.qr_per_month.unwrap_or(config.qr_per_month);
    let auth = opened.auth(config).await?;
    let mut catalog = Catalog::new(store.clone(), &site_url);
    let (semantic, _) = super::semantic_leg(file.model_dir.as_deref(), store.clone());
    if let Some(sem) = semantic {
        catalog = catalog.with_semantic(
            sem,
            file.semantic_ratio.unwrap_or(catalog::search::DEFAULT_SEMANTIC_RATIO).clamp(0.0, 1.0),
        );
    }
    catalog.spawn_search_indexer(Duration::from_secs(2));
    let server = McpServer::new(catalog, web::VERSION)
        .with_gate(std::sync::Arc::new(web::security::AuthGate::new(auth)));
    tracing::info!(database = %super::redact(database), as_user = as_user.as_deref(), "serving MCP on stdio");
    mcp::stdio::serve(&server, principal, tokio::io::stdin(), tokio::io::stdout())
        .await
        .context("stdio transport")?;
    store.close().await;
    Ok(())
}
