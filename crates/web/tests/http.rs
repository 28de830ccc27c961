//! The HTTP edge in process, over real HTTP on 127.0.0.1:0: health reflects the database, and
//! a database failure is a 503 that says nothing internal.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use catalog::Catalog;
use catalog::sqlite::{SqliteOptions, SqliteStore};
use web::health::ModelStatus;
use web::{AppState, HttpSettings};

async fn start(store: SqliteStore) -> String {
    let auth = auth::AuthServer::on_sqlite(
        auth::AuthConfig::new("http://localhost:8080"),
        store.pool().clone(),
    )
    .await
    .unwrap();
    let catalog = Catalog::new(Arc::new(store), "http://localhost:8080");
    let origins = web::mcp_http::OriginPolicy::new("http://localhost:8080", &[], &[]);
    let state = AppState::new(
        catalog,
        Arc::new(auth),
        origins,
        HttpSettings::default(),
        ModelStatus::not_loaded(None, "test"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(web::serve(listener, web::app(state), std::future::pending()));
    format!("http://{addr}")
}

#[tokio::test]
async fn health_is_503_without_internals_when_the_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let store = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
    let base = start(store.clone()).await;
    let ok = reqwest::get(format!("{base}/mcp/health")).await.unwrap();
    assert_eq!(ok.status(), 200);

    store.close().await;
    let res = reqwest::get(format!("{base}/mcp/health")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains("\"status\":\"unavailable\""), "{body}");
    assert!(!body.contains("h.db") && !body.to_lowercase().contains("pool"), "{body}");
}

#[tokio::test]
async fn methods_not_allowed_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let store = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
    let base = start(store).await;
    let res =
        reqwest::Client::new().post(format!("{base}/mcp/health")).body("x").send().await.unwrap();
    assert_eq!(res.status(), 405);
}
