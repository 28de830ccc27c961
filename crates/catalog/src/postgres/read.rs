//! Product reads and bookkeeping on PostgreSQL: [`product_reads_impl!`] and
//! [`store_meta_impl!`] over the statements of [`crate::sql::read`], with what PostgreSQL does
//! its own way: a list of GTINs is one array parameter (`= ANY($1::text[])`, so each statement
//! has one fixed text, prepared once), text sorts that must match SQLite's byte order use
//! `COLLATE "C"`, a read whose connection was lost is retried ([`reading`]), and `ANALYZE`
//! refreshes the planner's statistics after a bulk load.
//!
//! [`product_reads_impl!`]: crate::sql::read::product_reads_impl
//! [`store_meta_impl!`]: crate::sql::read::store_meta_impl

use gs1::Gtin14;
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::{PgStore, reading};

/// The statements of the reads: [`crate::sql::read`]'s and PostgreSQL's text of the others.
mod sql {
    pub(super) use crate::sql::read::*;

    pub(super) const PRODUCTS: &str = concat!(product_select!(), "WHERE p.gtin = ANY($1::text[])");
    pub(super) const PRODUCT_IMAGES: &str = "SELECT url, title, description, priority, \
                is_primary FROM product_images \
         WHERE product_id = (SELECT id FROM products WHERE gtin = $1) \
         ORDER BY priority, created_at COLLATE \"C\", id";
    pub(super) const PRICE_RANGES: &str = "SELECT p.gtin, o.currency, cu.minor_units, \
                count(*) AS n, min(o.price_minor) AS lo, max(o.price_minor) AS hi \
         FROM products p JOIN offers o ON o.product_id = p.id \
         JOIN currencies cu ON cu.code = o.currency \
         WHERE o.active AND p.gtin = ANY($1::text[]) \
         GROUP BY p.gtin, o.currency, cu.minor_units \
         ORDER BY p.gtin COLLATE \"C\", n DESC, o.currency COLLATE \"C\"";
    pub(super) const STORES: &str = "SELECT r.name AS retailer, s.ref, s.lat, s.lng \
         FROM stores s JOIN retailers r ON r.id = s.retailer_id \
         ORDER BY r.name COLLATE \"C\", s.ref COLLATE \"C\"";
    pub(super) const OFFER_LOCATIONS: &str = "SELECT p.gtin, s.lat, s.lng FROM products p \
         JOIN offers o ON o.product_id = p.id AND o.active \
         JOIN stores s ON s.id = o.store_id \
         WHERE p.gtin = ANY($1::text[]) \
           AND s.lat BETWEEN $2 AND $3 AND (s.lng BETWEEN $4 AND $5 OR s.lng BETWEEN $6 AND $7)";
}

/// A list of GTINs as the one array parameter `= ANY($1::text[])` takes.
pub(super) fn gtin_array(gtins: &[Gtin14]) -> Vec<&str> {
    gtins.iter().map(Gtin14::as_str).collect()
}

crate::sql::read::product_reads_impl! {
    store: PgStore,
    pool: PgPool,
    row: PgRow,
    read: reading,
    gtin_list: gtin_array,
}

crate::sql::read::store_meta_impl! {
    store: PgStore,
    pool: PgPool,
    backend: "postgres",
    read: reading,
    refresh_statistics: sql::PG_ANALYZE,
}
