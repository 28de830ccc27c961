//! Product reads and bookkeeping on SQLite: [`product_reads_impl!`] and [`store_meta_impl!`]
//! over the statements of [`crate::sql::read`], with what SQLite does its own way: a list of
//! GTINs is one JSON array parameter expanded with `json_each` (so each statement has one
//! fixed text, prepared once), text sorts in byte order by default, and a read runs once (a
//! local file has no connection to lose).
//!
//! [`product_reads_impl!`]: crate::sql::read::product_reads_impl
//! [`store_meta_impl!`]: crate::sql::read::store_meta_impl

use std::future::Future;

use gs1::Gtin14;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;

/// The statements of the reads: [`crate::sql::read`]'s and SQLite's text of the others.
mod sql {
    pub(super) use crate::sql::read::*;

    pub(super) const PRODUCTS: &str =
        concat!(product_select!(), "WHERE p.gtin IN (SELECT value FROM json_each($1))");
    pub(super) const PRODUCT_IMAGES: &str = "SELECT url, title, description, priority, \
                is_primary FROM product_images \
         WHERE product_id = (SELECT id FROM products WHERE gtin = $1) \
         ORDER BY priority, created_at, id";
    pub(super) const PRICE_RANGES: &str = "SELECT p.gtin, o.currency, cu.minor_units, \
                count(*) AS n, min(o.price_minor) AS lo, max(o.price_minor) AS hi \
         FROM products p JOIN offers o ON o.product_id = p.id \
         JOIN currencies cu ON cu.code = o.currency \
         WHERE o.active AND p.gtin IN (SELECT value FROM json_each($1)) \
         GROUP BY p.gtin, o.currency, cu.minor_units ORDER BY p.gtin, n DESC, o.currency";
    pub(super) const STORES: &str = "SELECT r.name AS retailer, s.ref, s.lat, s.lng \
         FROM stores s JOIN retailers r ON r.id = s.retailer_id ORDER BY r.name, s.ref";
    pub(super) const OFFER_LOCATIONS: &str = "SELECT p.gtin, s.lat, s.lng FROM products p \
         JOIN offers o ON o.product_id = p.id AND o.active \
         JOIN stores s ON s.id = o.store_id \
         WHERE p.gtin IN (SELECT value FROM json_each($1)) \
           AND s.lat BETWEEN $2 AND $3 AND (s.lng BETWEEN $4 AND $5 OR s.lng BETWEEN $6 AND $7)";
}

/// A list of GTINs as the one JSON array parameter `json_each` expands.
pub(super) fn gtin_list_json(gtins: &[Gtin14]) -> String {
    let mut s = String::with_capacity(gtins.len() * 17 + 2);
    s.push('[');
    for (i, g) in gtins.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(g.as_str());
        s.push('"');
    }
    s.push(']');
    s
}

/// Runs a read once (a local file has no connection to lose).
pub(super) async fn read_once<T, E, F, Fut>(_what: &'static str, mut read: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    read().await
}

crate::sql::read::product_reads_impl! {
    store: SqliteStore,
    pool: SqlitePool,
    row: SqliteRow,
    read: read_once,
    gtin_list: gtin_list_json,
}

crate::sql::read::store_meta_impl! {
    store: SqliteStore,
    pool: SqlitePool,
    backend: "sqlite",
    read: read_once,
}
