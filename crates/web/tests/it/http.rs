//! The HTTP edge in process, over real HTTP on 127.0.0.1:0, on SQLite and on PostgreSQL: health
//! reflects the database, and a database failure is a 503 that says nothing internal.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use std::sync::Arc;

use common::{Backend, TestDb, on_both_backends};
use web::HttpSettings;

on_both_backends!(
    health_is_503_without_internals_when_the_database_is_gone,
    methods_not_allowed_are_rejected,
);

async fn start(db: &TestDb) -> String {
    let auth = db.auth(auth::AuthConfig::new("http://localhost:8080")).await;
    common::serve(db, Arc::new(auth), HttpSettings::default()).await
}

async fn health_is_503_without_internals_when_the_database_is_gone(backend: Backend) {
    let db = TestDb::new(backend).await;
    let base = start(&db).await;
    let ok = reqwest::get(format!("{base}/mcp/health")).await.unwrap();
    assert_eq!(ok.status(), 200);

    db.close().await;
    let res = reqwest::get(format!("{base}/mcp/health")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains("\"status\":\"unavailable\""), "{body}");
    // Neither the database (file or database name, URL) nor the pool is named.
    assert!(!body.contains(&db.name) && !body.contains(&db.url), "{body}");
    assert!(!body.to_lowercase().contains("pool"), "{body}");
}

async fn methods_not_allowed_are_rejected(backend: Backend) {
    let db = TestDb::new(backend).await;
    let base = start(&db).await;
    let res =
        reqwest::Client::new().post(format!("{base}/mcp/health")).body("x").send().await.unwrap();
    assert_eq!(res.status(), 405);
}
