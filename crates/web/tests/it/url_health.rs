//! The custom-URL health check against real HTTP servers on 127.0.0.1, with the rules on
//! SQLite and on PostgreSQL: answering URLs stay alive, failing ones turn dead after the
//! configured number of checks and alive again when they recover, redirects count as answers,
//! and the production policy never contacts a loopback address. The resolver follows what the
//! check found.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{Backend, TestDb, on_both_backends};
use web::url_health::{UrlHealth, UrlHealthSettings};

on_both_backends!(urls_turn_dead_after_repeated_failures_and_alive_again);

async fn rule(db: &TestDb, gtin: &str, url: &str) -> i64 {
    let (id,): (i64,) = db
        .row(
            "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, destination_type, custom_url, created_at, updated_at) \
             VALUES ('PRODUCT', $1, $1, 0, 'CUSTOM_URL', $2, 'x', 'x') RETURNING id",
            &[gtin.into(), url.into()],
        )
        .await;
    id
}

async fn status(db: &TestDb, id: i64) -> (String, i64) {
    db.row("SELECT url_status, url_failures FROM resolver_rules WHERE id = $1", &[id.into()]).await
}

async fn urls_turn_dead_after_repeated_failures_and_alive_again(backend: Backend) {
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&healthy);
    let brand = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route("/moved", get(|| async { (StatusCode::MOVED_PERMANENTLY, [("location", "/ok")]) }))
        .route(
            "/flaky",
            get(move || {
                let flag = Arc::clone(&flag);
                async move {
                    if flag.load(Ordering::SeqCst) {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, brand).await.unwrap() });

    let db = TestDb::new(backend).await;
    let ok = rule(&db, "00614141123452", &format!("{site}/ok")).await;
    let moved = rule(&db, "09506000134352", &format!("{site}/moved")).await;
    let flaky = rule(&db, "04012345000009", &format!("{site}/flaky")).await;
    let nothing = rule(&db, "00012345600012", "http://127.0.0.1:9/closed").await;

    let store = db.store();
    let mut settings = UrlHealthSettings {
        interval: Duration::from_millis(1),
        failures_to_dead: 2,
        ..UrlHealthSettings::default()
    };
    settings.policy.allow_private = true;
    settings.policy.timeout = Duration::from_secs(2);
    let checker = UrlHealth::new(Arc::clone(&store), settings.clone()).unwrap();

    let r = checker.round().await.unwrap();
    assert_eq!((r.checked, r.alive, r.dead), (4, 2, 0));
    assert_eq!(status(&db, ok).await, ("alive".into(), 0));
    assert_eq!(status(&db, moved).await, ("alive".into(), 0), "a redirect is an answer");
    assert_eq!(status(&db, flaky).await, ("unknown".into(), 1), "one failure is not enough");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = checker.round().await.unwrap();
    assert_eq!(r.dead, 2);
    assert_eq!(status(&db, flaky).await, ("dead".into(), 2));
    assert_eq!(status(&db, nothing).await.0, "dead");

    // The resolver honours it: FALLBACK_TO_HOSTED is the default.
    let catalog = catalog::Catalog::new(Arc::clone(&store), "https://prodlink.example");
    let out = catalog.resolve_gtin("4012345000009", None).await.unwrap();
    assert_eq!(out.destination_url, "https://prodlink.example/01/04012345000009");

    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(5)).await;
    checker.round().await.unwrap();
    assert_eq!(status(&db, flaky).await, ("alive".into(), 0));
    assert_eq!(
        catalog.resolve_gtin("4012345000009", None).await.unwrap().destination_url,
        format!("{site}/flaky")
    );

    // The production policy never contacts loopback or private addresses.
    db.execute(
        "UPDATE resolver_rules SET url_checked_at = NULL, url_status = 'unknown', url_failures = 0",
        &[],
    )
    .await;
    let strict = UrlHealth::new(
        store,
        UrlHealthSettings { failures_to_dead: 1, ..UrlHealthSettings::default() },
    )
    .unwrap();
    let r = strict.round().await.unwrap();
    assert_eq!((r.checked, r.alive, r.dead), (4, 0, 4), "{r:?}");
}
