//! `prodlink serve`: open (and migrate) the database, load the demo catalog into an empty one
//! when asked, then serve HTTP until SIGINT/SIGTERM. Prints `listening on http://ADDR` once
//! ready (the bound address, so `--addr 127.0.0.1:0` reports the port it got).

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use catalog::Catalog;
use catalog::demo::DemoDecision;
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
    let site_url_arg = args.site_url.or(file.site_url.clone());
    let site_url = match &site_url_arg {
        Some(u) => settings::check_site_url(u)?,
        None => settings::default_site_url(addr),
    };
    let cimd_ca = match &args.cimd_ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("--cimd-ca-file {}: cannot read", path.display()))?,
        ),
        None => None,
    };
    let fetch_policy = auth::cimd::FetchPolicy {
        allow_http: args.cimd_allow_http.unwrap_or(false),
        allow_private: args.cimd_allow_private.unwrap_or(false),
        extra_root_pem: cimd_ca,
        ..auth::cimd::FetchPolicy::default()
    };
    let max_body_bytes = args.max_body_bytes.or(file.max_body_bytes).unwrap_or(1 << 20);
    anyhow::ensure!(max_body_bytes >= 1024, "--max-body-bytes must be at least 1024");
    let timeout = args.request_timeout_secs.or(file.request_timeout_secs).unwrap_or(30);
    anyhow::ensure!(timeout >= 1, "--request-timeout-secs must be at least 1");
    Ok(ServeSettings {
        database: database.to_owned(),
        addr,
        site_url,
        demo: args.demo.or(file.demo).unwrap_or(false),
        wait_for_index: args.wait_for_index.or(file.wait_for_index).unwrap_or(false),
        model_dir: args.model_dir.or(file.model_dir.clone()),
        semantic_ratio: {
            let r = args
                .semantic_ratio
                .or(file.semantic_ratio)
                .unwrap_or(catalog::search::DEFAULT_SEMANTIC_RATIO);
            anyhow::ensure!(
                (0.0..=1.0).contains(&r),
                "--semantic-ratio must be between 0 and 1, got {r}"
            );
            r
        },
        allowed_hosts: args.allowed_hosts.or(file.allowed_hosts.clone()).unwrap_or_default(),
        allowed_origins: args.allowed_origins.or(file.allowed_origins.clone()).unwrap_or_default(),
        max_body_bytes,
        request_timeout: Duration::from_secs(timeout),
        site_url_given: site_url_arg.is_some(),
        allow_signup: args.allow_signup.or(file.allow_signup).unwrap_or(false),
        qr_per_day: args.qr_per_day.or(file.qr_per_day).unwrap_or(100),
        qr_per_month: args.qr_per_month.or(file.qr_per_month).unwrap_or(1000),
        rate_limits: web::security::RateLimits {
            anonymous_per_minute: args
                .rate_limit_anonymous
                .or(file.rate_limit_anonymous)
                .unwrap_or(600),
            client_per_minute: args.rate_limit_client.or(file.rate_limit_client).unwrap_or(1200),
        },
        trust_forwarded_for: args.trust_forwarded_for.or(file.trust_forwarded_for).unwrap_or(false),
        fetch_policy,
        url_health: {
            let secs = args.url_check_interval_secs.or(file.url_check_interval_secs).unwrap_or(300);
            let failures = args.url_check_failures.or(file.url_check_failures).unwrap_or(3);
            anyhow::ensure!(failures >= 1, "--url-check-failures must be at least 1");
            (secs > 0).then(|| {
                let mut h = web::url_health::UrlHealthSettings {
                    interval: Duration::from_secs(secs),
                    failures_to_dead: failures,
                    ..web::url_health::UrlHealthSettings::default()
                };
                h.policy.allow_private = args.cimd_allow_private.unwrap_or(false);
                h
            })
        },
        country_header: args
            .country_header
            .or(file.country_header.clone())
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty()),
    })
}

/// Runs the command.
pub async fn run(database: &str, args: ServeArgs, file: &FileSettings) -> anyhow::Result<()> {
    let mut s = resolve(database, args, file)?;
    let opened = super::open_serving(&s.database).await?;
    let store = opened.store.clone();

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
                if let Some(r) = &report.rules {
                    tracing::info!(summary = %r.summary(), "demo resolver rules");
                }
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

    let (semantic, model) = super::semantic_leg(s.model_dir.as_deref(), store.clone());
    let listener = tokio::net::TcpListener::bind(s.addr)
        .await
        .with_context(|| format!("cannot listen on {}", s.addr))?;
    let bound = listener.local_addr()?;
    if !s.site_url_given {
        s.site_url = settings::default_site_url(bound);
    }

    let mut auth_config = auth::AuthConfig::new(&s.site_url);
    auth_config.allow_signup = s.allow_signup;
    auth_config.qr_per_day = s.qr_per_day;
    auth_config.qr_per_month = s.qr_per_month;
    auth_config.fetch_policy = s.fetch_policy.clone();
    let auth = opened.auth(auth_config).await?;
    super::accounts::sync_file_clients(&auth, file).await?;

    let mut catalog = Catalog::new(store.clone(), &s.site_url);
    if let Some(sem) = semantic {
        catalog = catalog.with_semantic(sem, s.semantic_ratio);
    }
    catalog.spawn_search_indexer(Duration::from_secs(2));
    if s.wait_for_index {
        let started = std::time::Instant::now();
        tracing::info!("waiting for the search indexes to hold the whole catalog");
        catalog.wait_for_index(Duration::from_secs(10)).await?;
        tracing::info!(secs = started.elapsed().as_secs_f64(), "search indexes complete");
    }
    if let Some(h) = s.url_health.clone() {
        match web::url_health::UrlHealth::new(store.clone(), h) {
            Ok(checker) => {
                checker.spawn();
            }
            Err(e) => tracing::warn!(error = %e, "custom URL health checks are off"),
        }
    }
    let origins =
        web::mcp_http::OriginPolicy::new(&s.site_url, &s.allowed_hosts, &s.allowed_origins);
    let state = AppState::new(
        catalog,
        auth,
        origins,
        HttpSettings {
            max_body_bytes: s.max_body_bytes,
            request_timeout: s.request_timeout,
            rate_limits: s.rate_limits,
            trust_forwarded_for: s.trust_forwarded_for,
            country_header: s.country_header.clone(),
        },
        model,
    );
    let app = web::app(state.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut n = 0u32;
        loop {
            tick.tick().await;
            web::metrics::run_upkeep();
            n = n.wrapping_add(1);
            if n.is_multiple_of(12) {
                state.upkeep();
            }
        }
    });
    tracing::info!(addr = %bound, site_url = %s.site_url, database = %super::redact(&s.database), "prodlink ready");
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
