//! `prodlink serve`: open (and migrate) the database, load the demo catalog into an empty one
//! when asked, then serve HTTP until SIGINT/SIGTERM. Prints `listening on http://ADDR` once
//! ready (the bound address, so `--addr 127.0.0.1:0` reports the port it got).

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use catalog::Catalog;
use catalog::demo::DemoDecision;
use web::health::ModelStatus;
use web::{AppState, HttpSettings};

use crate::cli::ServeArgs;
use crate::progress::CliProgress;
use crate::settings::{self, FileSettings, ServeSettings};

fn resolve(database: &str, args: ServeArgs, file: &FileSettings) -> anyhow::Result<ServeSettings> {
    let addr_text =
        args.addr.or(file.addr.clone()).unwrap_or_else(|| settings::DEFAULT_ADDR.into());
    let addr: SocketAddr = addr_text.parse().with_context(|| {
        format!("--addr {addr_text:?} is not an IP address with a port, e.g. 127.0.0.1:8080")
    })?;
    let site_url = settings::site_url(args.site_url, file)?;
    let max_body_bytes = args.max_body_bytes.or(file.max_body_bytes).unwrap_or(1 << 20);
    anyhow::ensure!(max_body_bytes >= 1024, "--max-body-bytes must be at least 1024");
    let timeout = args.request_timeout_secs.or(file.request_timeout_secs).unwrap_or(30);
    anyhow::ensure!(timeout >= 1, "--request-timeout-secs must be at least 1");
    Ok(ServeSettings {
        database: database.to_owned(),
        addr,
        site_url,
        demo: args.demo.or(file.demo).unwrap_or(false),
        model_dir: args.model_dir.or(file.model_dir.clone()),
        allowed_hosts: args.allowed_hosts.or(file.allowed_hosts.clone()).unwrap_or_default(),
        allowed_origins: args.allowed_origins.or(file.allowed_origins.clone()).unwrap_or_default(),
        max_body_bytes,
        request_timeout: Duration::from_secs(timeout),
    })
}

/// Runs the command.
pub async fn run(database: &str, args: ServeArgs, file: &FileSettings) -> anyhow::Result<()> {
    let s = resolve(database, args, file)?;
    let store = super::open_serving_store(&s.database).await?;

    if s.demo {
        let progress = CliProgress::new("demo catalog", true);
        match catalog::demo::load_if_needed(store.clone(), crate::demo_data::sources, &progress)
            .await?
        {
            DemoDecision::Loaded(report) => {
                for r in &report.off {
                    tracing::info!(summary = %r.summary(), "demo products");
                }
                tracing::info!(summary = %report.stores.summary(), "demo stores");
                tracing::info!(
                    offers = report.offers,
                    rejected = report.offers_rejected,
                    "demo offers (generated)"
                );
            }
            DemoDecision::AlreadyLoaded => tracing::info!("the demo catalog is loaded"),
            DemoDecision::CatalogNotEmpty => tracing::warn!(
                "the catalog holds other data; the demo catalog is not loaded into it"
            ),
        }
    }

    let model = match &s.model_dir {
        Some(dir) => ModelStatus::not_loaded(
            Some(dir.display().to_string()),
            "semantic search is not available in this version; searches are lexical",
        ),
        None => ModelStatus::not_loaded(None, "no --model-dir given; searches are lexical"),
    };
    let catalog = Catalog::new(store.clone(), &s.site_url);
    catalog.spawn_search_indexer(Duration::from_secs(2));
    let origins =
        web::mcp_http::OriginPolicy::new(&s.site_url, &s.allowed_hosts, &s.allowed_origins);
    let state = AppState::new(
        catalog,
        origins,
        HttpSettings { max_body_bytes: s.max_body_bytes, request_timeout: s.request_timeout },
        model,
    );
    let app = web::app(state);
    let listener = tokio::net::TcpListener::bind(s.addr)
        .await
        .with_context(|| format!("cannot listen on {}", s.addr))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            web::metrics::run_upkeep();
        }
    });
    tracing::info!(addr = %bound, site_url = %s.site_url, database = %s.database, "prodlink ready");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{bound}")?;
        out.flush()?;
    }
    web::serve(listener, app, web::shutdown_signal()).await.context("serving HTTP")?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
