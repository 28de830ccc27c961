//! Fixtures of the web HTTP tests on top of the workspace's test kit (`testkit`: the backends,
//! [`on_both_backends!`], the test databases and templates): a live REST server ([`rest`]), any
//! test database served over HTTP ([`serve`]) and the demo catalog ([`demo_template`]).

#![allow(dead_code, clippy::unwrap_used)]

pub mod rest;

use std::sync::{Arc, OnceLock};

use auth::AuthServer;
use catalog::import::{NoProgress, Source};
use catalog::{Catalog, CatalogStore};
use web::health::ModelStatus;
use web::{AppState, HttpSettings};

pub use testkit::*;

/// Serves the catalog of `db` and `auth` under [`rest::SITE`] with `http` settings on
/// 127.0.0.1 (a free port); returns the base URL, `http://127.0.0.1:PORT`.
pub async fn serve(db: &TestDb, auth: Arc<AuthServer>, http: HttpSettings) -> String {
    let catalog = Catalog::new(db.store(), rest::SITE);
    let origins = web::mcp_http::OriginPolicy::new(rest::SITE, &[], &[]);
    let model = ModelStatus::not_loaded(None, "test");
    let state = AppState::new(catalog, auth, origins, http, model);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(web::serve(listener, web::app(state), std::future::pending()));
    format!("http://{addr}")
}

/// The demo catalog (the 1,000-product Open Food Facts sample and the store list), indexed
/// for search: built once per backend for the whole test binary; each test copies it
/// ([`TestDb::from_template`]).
pub fn demo_template(backend: Backend) -> &'static Template {
    static SQLITE: OnceLock<Template> = OnceLock::new();
    static POSTGRES: OnceLock<Template> = OnceLock::new();
    let cell = if backend.is_postgres() { &POSTGRES } else { &SQLITE };
    cell.get_or_init(|| Template::build(backend, load_demo))
}

async fn load_demo(store: Arc<dyn CatalogStore>) {
    let sources = catalog::demo::DemoSources {
        off: vec![Source::open(&demo_data("off-sample-1000.tsv.gz")).unwrap()],
        stores: Source::open(&demo_data("walmart-stores.csv.gz")).unwrap(),
        rules: None,
    };
    catalog::demo::load(Arc::clone(&store), sources, &NoProgress).await.unwrap();
    Catalog::new(store, rest::SITE).index_search_backlog().await.unwrap();
}
