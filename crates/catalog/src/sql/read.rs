//! The product reads ([`ProductReads`]) and the database's bookkeeping ([`StoreMeta`]), written
//! once for both backends: the statements that read the same on both, and the macros
//! [`product_reads_impl!`] and [`store_meta_impl!`] that generate each backend's
//! implementation from one body.
//!
//! The text is the common dialect of SQLite and PostgreSQL (see `auth/src/store/sql.rs`): `$N`
//! placeholders, booleans tested as `o.active` / `NOT disabled` (SQLite stores 0/1, PostgreSQL
//! BOOLEAN; both decode as `bool`), `CAST(… AS TEXT)` rather than `::text`. A statement the
//! backends write differently is not here: each backend's `read.rs` has a module `sql` that
//! re-exports these and adds its own text of the others, under the same names. They are those
//! testing a GTIN against a list bound as one parameter (SQLite: a JSON array expanded with
//! `json_each`; PostgreSQL: `= ANY($1::text[])`) and those sorting text, which PostgreSQL sorts
//! with `COLLATE "C"` so results come in SQLite's byte order: `PRODUCTS`, `PRICE_RANGES`,
//! `OFFER_LOCATIONS`, `PRODUCT_IMAGES` and `STORES`.
//!
//! [`ProductReads`]: crate::store::ProductReads
//! [`StoreMeta`]: crate::store::StoreMeta

use sqlx::{Database, Encode, Type};

use crate::geo::BoundingBox;

/// `SELECT` of a product with brand and category names (for `product_from_row`); the statement
/// appends `WHERE …`.
macro_rules! product_select {
    () => {
        "SELECT p.gtin, p.name, b.name AS brand, p.category_id, c.name AS category, \
                p.description, p.net_content, p.country_of_origin, p.image_url, p.data_source, \
                p.metadata, p.created_at, p.updated_at \
         FROM products p LEFT JOIN brands b ON b.id = p.brand_id \
         LEFT JOIN categories c ON c.id = p.category_id "
    };
}
pub(crate) use product_select;

// Products and their children.

pub(crate) const PRODUCT: &str = concat!(product_select!(), "WHERE p.gtin = $1");
pub(crate) const PRODUCT_INGREDIENTS: &str = "SELECT name, percentage_of_weight, priority \
     FROM ingredients WHERE product_id = (SELECT id FROM products WHERE gtin = $1) \
     ORDER BY priority";
pub(crate) const PRODUCT_NUTRITION: &str = "SELECT product_id, serving_size, \
            servings_per_container, label_format \
     FROM nutrition WHERE product_id = (SELECT id FROM products WHERE gtin = $1)";
pub(crate) const NUTRIENTS: &str = "SELECT name, amount, unit, daily_value_pct FROM nutrients \
     WHERE product_id = $1 ORDER BY position";
pub(crate) const PRODUCT_CATEGORIES: &str = "SELECT c.id, c.name FROM product_categories pc \
     JOIN categories c ON c.id = pc.category_id \
     WHERE pc.product_id = (SELECT id FROM products WHERE gtin = $1) ORDER BY pc.position";
pub(crate) const PRODUCT_LABELS: &str = "SELECT l.id, l.name FROM product_labels pl \
     JOIN labels l ON l.id = pl.label_id \
     WHERE pl.product_id = (SELECT id FROM products WHERE gtin = $1) ORDER BY pl.position";
/// Every GTIN, ascending. GTINs are always 14 digits (a CHECK constraint), which every
/// collation orders like bytes, so the unique index on `gtin` serves the sort on both.
pub(crate) const PRODUCT_GTINS: &str = "SELECT gtin FROM products ORDER BY gtin";

// Offers and stores; a bounding box is bound by [`bind_area`].

pub(crate) const OFFERS_IN_BOX: &str = "SELECT r.name AS retailer, s.name AS store_name, \
            s.address, s.city, s.region, s.postal_code, s.lat, s.lng, o.price_minor, \
            o.currency, cu.minor_units, o.inventory_status \
     FROM offers o \
     JOIN stores s ON s.id = o.store_id \
     JOIN retailers r ON r.id = s.retailer_id \
     JOIN currencies cu ON cu.code = o.currency \
     WHERE o.product_id = (SELECT id FROM products WHERE gtin = $1) AND o.active \
       AND s.lat BETWEEN $2 AND $3 AND (s.lng BETWEEN $4 AND $5 OR s.lng BETWEEN $6 AND $7)";
pub(crate) const OFFERS_IN_AREA: &str = "SELECT p.gtin, s.lat, s.lng FROM stores s \
     JOIN offers o ON o.store_id = s.id AND o.active \
     JOIN products p ON p.id = o.product_id \
     WHERE s.lat BETWEEN $1 AND $2 AND (s.lng BETWEEN $3 AND $4 OR s.lng BETWEEN $5 AND $6) \
     LIMIT $7";

/// The enabled rules that can apply to a GTIN (`$1`), its serial (`$2`) and batch (`$3`): one
/// indexed lookup per scope key, by id.
pub(crate) const RULES_FOR: &str = "SELECT r.id, r.scope, r.order_index, r.enabled, r.link_type, \
            r.destination_type, r.custom_url, r.on_custom_url_dead, r.starts_at, r.ends_at, \
            r.annual_start, r.annual_end, r.days_of_week, r.time_start, r.time_end, \
            r.time_zone, r.countries, r.languages, r.url_status, r.title \
     FROM resolver_rules r \
     WHERE r.enabled AND r.scope_key IN ( \
         $1 || '/21/' || $2, $1 || '/10/' || $3, $1, \
         (SELECT 'brand:' || CAST(p.brand_id AS TEXT) FROM products p WHERE p.gtin = $1), \
         (SELECT 'organization:' || CAST(b.organization_id AS TEXT) FROM products p \
            JOIN brands b ON b.id = p.brand_id WHERE p.gtin = $1), \
         '') \
     ORDER BY r.id";

// Bookkeeping (StoreMeta).

pub(crate) const COUNTS: &str = "SELECT (SELECT count(*) FROM products) AS products, \
            (SELECT count(*) FROM brands) AS brands, \
            (SELECT count(*) FROM categories) AS categories, \
            (SELECT count(*) FROM retailers) AS retailers, \
            (SELECT count(*) FROM stores) AS stores, (SELECT count(*) FROM offers) AS offers";
pub(crate) const PRODUCT_COUNT: &str = "SELECT count(*) FROM products";
pub(crate) const META: &str = "SELECT value FROM prodlink_meta WHERE key = $1";
pub(crate) const SET_META: &str = "INSERT INTO prodlink_meta (key, value, updated_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
pub(crate) const ENABLED_USER_BY_EMAIL: &str =
    "SELECT id FROM users WHERE email = $1 AND NOT disabled";
/// PostgreSQL only: refreshes the planner's statistics (SQLite plans without them).
pub(crate) const PG_ANALYZE: &str = "ANALYZE";

/// Binds a bounding box after the query's other parameters: `min_lat, max_lat` and the two
/// longitude ranges, for `lat BETWEEN $a AND $b AND (lng BETWEEN $c AND $d OR lng BETWEEN $e
/// AND $f)`.
pub(crate) fn bind_area<'q, DB>(
    q: sqlx::query::Query<'q, DB, DB::Arguments>,
    area: &BoundingBox,
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: Database,
    f64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let [(lo1, hi1), (lo2, hi2)] = area.lng_ranges;
    q.bind(area.min_lat).bind(area.max_lat).bind(lo1).bind(hi1).bind(lo2).bind(hi2)
}

/// A price in minor units as an amount of the currency (`minor_units` decimals, 0 to 4).
pub(crate) fn price(minor: i64, units: i64) -> f64 {
    minor as f64 / 10f64.powi(units.clamp(0, 4) as i32)
}

/// Generates a backend's [`ProductReads`](crate::store::ProductReads) from one body: the
/// reads as functions of the pool (which the backend's tests and other roles also call) and
/// `#[async_trait] impl ProductReads for $store` running each through `read`.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field of type `pool`;
/// - `pool`: the backend's pool type (`SqlitePool`, `PgPool`);
/// - `row`: the backend's row type (`SqliteRow`, `PgRow`);
/// - `read`: how a read is run, with the signature of `crate::postgres::reading`
///   (`(what, || future) -> future`): PostgreSQL retries a read whose connection was lost,
///   SQLite runs it once;
/// - `gtin_list`: `fn(&[Gtin14]) -> T`, the one parameter a list of GTINs is bound as (SQLite:
///   a JSON array as text; PostgreSQL: an array).
///
/// The invoking module must have a module `sql` holding every statement the body names:
/// this module's (re-exported) and the backend's own `PRODUCTS`, `PRICE_RANGES`,
/// `OFFER_LOCATIONS`, `PRODUCT_IMAGES` and `STORES` (see the module documentation).
///
/// Output: a private module `product_reads` of the invoking module (it sees the invoking
/// module's items through `use super::*`) holding the row decoders and the `pub(crate)`
/// functions `product`, `products`, `product_children`, `price_ranges`, `offers_in_box`,
/// `stores`, `product_gtins`, `offer_locations`, `offers_in_area` (the trait's methods as
/// functions of `&$pool`) and `rules_for` (the rules of a scan, for `RulesDb::rules_for`),
/// all re-exported by the invoking module; then, in the invoking module, the
/// `#[async_trait] impl ProductReads for $store` calling each of them through `read`.
macro_rules! product_reads_impl {
    (
        store: $store:ty,
        pool: $pool:ty,
        row: $row:ty,
        read: $read:path,
        gtin_list: $gtin_list:path $(,)?
    ) => {
        mod product_reads {
            use super::*;

            use std::collections::HashMap;

            use gs1::Gtin14;
            use sqlx::Row as _;

            use $crate::geo::{BoundingBox, Point};
            use $crate::model::{
                CategoryRef, DataSource, Ingredient, InventoryStatus, LabelFormat, LabelRef,
                Metadata, Nutrient, Nutrition, PriceRange, Product, ProductChildren, ProductImage,
                StoreOffer, StoreSummary,
            };
            use $crate::sql::read::{bind_area, price};
            use $crate::store::{StoreError, stored_gtin};

            /// A stored non-negative position (priority) as `u32`, saturating.
            fn position(row: &$row, column: &str) -> Result<u32, sqlx::Error> {
                Ok(row.try_get::<i64, _>(column)?.try_into().unwrap_or(u32::MAX))
            }

            fn product_from_row(row: &$row) -> Result<Product, StoreError> {
                let gtin: String = row.try_get("gtin")?;
                let data_source: String = row.try_get("data_source")?;
                let metadata: String = row.try_get("metadata")?;
                Ok(Product {
                    gtin: stored_gtin(&gtin)?,
                    name: row.try_get("name")?,
                    brand: row.try_get("brand")?,
                    category_id: row.try_get("category_id")?,
                    category: row.try_get("category")?,
                    description: row.try_get("description")?,
                    net_content: row.try_get("net_content")?,
                    country_of_origin: row.try_get("country_of_origin")?,
                    image_url: row.try_get("image_url")?,
                    data_source: DataSource::parse(&data_source).map_err(StoreError::Corrupt)?,
                    metadata: Metadata::from_json(&metadata)
                        .map_err(|e| StoreError::Corrupt(e.0))?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            /// Rows of `(gtin, lat, lng)`.
            fn locations(rows: &[$row]) -> Result<Vec<(Gtin14, Point)>, StoreError> {
                rows.iter()
                    .map(|r| {
                        Ok((
                            stored_gtin(&r.try_get::<String, _>("gtin")?)?,
                            Point { lat: r.try_get("lat")?, lng: r.try_get("lng")? },
                        ))
                    })
                    .collect()
            }

            pub(crate) async fn product(
                pool: &$pool,
                gtin: Gtin14,
            ) -> Result<Option<Product>, StoreError> {
                let row =
                    sqlx::query(sql::PRODUCT).bind(gtin.as_str()).fetch_optional(pool).await?;
                row.as_ref().map(product_from_row).transpose()
            }

            pub(crate) async fn products(
                pool: &$pool,
                gtins: &[Gtin14],
            ) -> Result<Vec<Product>, StoreError> {
                if gtins.is_empty() {
                    return Ok(Vec::new());
                }
                let rows =
                    sqlx::query(sql::PRODUCTS).bind($gtin_list(gtins)).fetch_all(pool).await?;
                rows.iter().map(product_from_row).collect()
            }

            pub(crate) async fn product_children(
                pool: &$pool,
                gtin: Gtin14,
            ) -> Result<ProductChildren, StoreError> {
                let mut conn = pool.acquire().await?;
                let images = sqlx::query(sql::PRODUCT_IMAGES)
                    .bind(gtin.as_str())
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(ProductImage {
                            url: r.try_get("url")?,
                            title: r.try_get("title")?,
                            description: r.try_get("description")?,
                            priority: position(r, "priority")?,
                            is_primary: r.try_get("is_primary")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                let ingredients = sqlx::query(sql::PRODUCT_INGREDIENTS)
                    .bind(gtin.as_str())
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(Ingredient {
                            name: r.try_get("name")?,
                            percentage_of_weight: r.try_get("percentage_of_weight")?,
                            priority: position(r, "priority")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                let panel = sqlx::query(sql::PRODUCT_NUTRITION)
                    .bind(gtin.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                let nutrition = match panel {
                    None => None,
                    Some(p) => {
                        let nutrients = sqlx::query(sql::NUTRIENTS)
                            .bind(p.try_get::<i64, _>("product_id")?)
                            .fetch_all(&mut *conn)
                            .await?
                            .iter()
                            .map(|r| {
                                Ok(Nutrient {
                                    name: r.try_get("name")?,
                                    amount: r.try_get("amount")?,
                                    unit: r.try_get("unit")?,
                                    daily_value_pct: r.try_get("daily_value_pct")?,
                                })
                            })
                            .collect::<Result<Vec<_>, sqlx::Error>>()?;
                        let format: String = p.try_get("label_format")?;
                        Some(Nutrition {
                            serving_size: p.try_get("serving_size")?,
                            servings_per_container: p.try_get("servings_per_container")?,
                            label_format: LabelFormat::parse(&format)
                                .map_err(StoreError::Corrupt)?,
                            nutrients,
                        })
                    }
                };
                let categories = sqlx::query(sql::PRODUCT_CATEGORIES)
                    .bind(gtin.as_str())
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| Ok(CategoryRef { id: r.try_get("id")?, name: r.try_get("name")? }))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                let labels = sqlx::query(sql::PRODUCT_LABELS)
                    .bind(gtin.as_str())
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| Ok(LabelRef { id: r.try_get("id")?, name: r.try_get("name")? }))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(ProductChildren { categories, labels, images, ingredients, nutrition })
            }

            pub(crate) async fn price_ranges(
                pool: &$pool,
                gtins: &[Gtin14],
            ) -> Result<HashMap<Gtin14, PriceRange>, StoreError> {
                if gtins.is_empty() {
                    return Ok(HashMap::new());
                }
                // Per product and currency: count, min, max, the currency with the most
                // offers first (ties: the first currency code in byte order); keep that one.
                let rows =
                    sqlx::query(sql::PRICE_RANGES).bind($gtin_list(gtins)).fetch_all(pool).await?;
                let mut out = HashMap::new();
                for r in rows {
                    let gtin = stored_gtin(&r.try_get::<String, _>("gtin")?)?;
                    if out.contains_key(&gtin) {
                        continue;
                    }
                    let units: i64 = r.try_get("minor_units")?;
                    let lo: i64 = r.try_get("lo")?;
                    let hi: i64 = r.try_get("hi")?;
                    out.insert(gtin, PriceRange { min: price(lo, units), max: price(hi, units) });
                }
                Ok(out)
            }

            pub(crate) async fn offers_in_box(
                pool: &$pool,
                gtin: Gtin14,
                area: &BoundingBox,
            ) -> Result<Vec<StoreOffer>, StoreError> {
                let rows = bind_area(sqlx::query(sql::OFFERS_IN_BOX).bind(gtin.as_str()), area)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let status: String = r.try_get("inventory_status")?;
                        Ok(StoreOffer {
                            retailer: r.try_get("retailer")?,
                            store_name: r.try_get("store_name")?,
                            address: r.try_get("address")?,
                            city: r.try_get("city")?,
                            region: r.try_get("region")?,
                            postal_code: r.try_get("postal_code")?,
                            lat: r.try_get("lat")?,
                            lng: r.try_get("lng")?,
                            price: price(r.try_get("price_minor")?, r.try_get("minor_units")?),
                            currency: r.try_get("currency")?,
                            inventory_status: InventoryStatus::parse(&status)
                                .map_err(StoreError::Corrupt)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn stores(pool: &$pool) -> Result<Vec<StoreSummary>, StoreError> {
                let rows = sqlx::query(sql::STORES).fetch_all(pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(StoreSummary {
                            retailer: r.try_get("retailer")?,
                            store_ref: r.try_get("ref")?,
                            lat: r.try_get("lat")?,
                            lng: r.try_get("lng")?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn product_gtins(pool: &$pool) -> Result<Vec<Gtin14>, StoreError> {
                let rows: Vec<String> =
                    sqlx::query_scalar(sql::PRODUCT_GTINS).fetch_all(pool).await?;
                rows.iter().map(|g| stored_gtin(g)).collect()
            }

            pub(crate) async fn offer_locations(
                pool: &$pool,
                gtins: &[Gtin14],
                area: &BoundingBox,
            ) -> Result<Vec<(Gtin14, Point)>, StoreError> {
                if gtins.is_empty() {
                    return Ok(Vec::new());
                }
                let query = sqlx::query(sql::OFFER_LOCATIONS).bind($gtin_list(gtins));
                let rows = bind_area(query, area).fetch_all(pool).await?;
                locations(&rows)
            }

            pub(crate) async fn offers_in_area(
                pool: &$pool,
                area: &BoundingBox,
                limit: usize,
            ) -> Result<Vec<(Gtin14, Point)>, StoreError> {
                let rows = bind_area(sqlx::query(sql::OFFERS_IN_AREA), area)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(pool)
                    .await?;
                locations(&rows)
            }

            /// The enabled rules that can apply to a GTIN, its batch and its serial (see
            /// [`RulesDb::rules_for`]($crate::store::RulesDb::rules_for)).
            pub(crate) async fn rules_for(
                pool: &$pool,
                gtin: Gtin14,
                batch: Option<&str>,
                serial: Option<&str>,
            ) -> Result<Vec<$crate::rules::RuleRecord>, StoreError> {
                let rows = sqlx::query(sql::RULES_FOR)
                    .bind(gtin.as_str())
                    .bind(serial)
                    .bind(batch)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::rules::RuleRecord {
                            id: r.try_get("id")?,
                            scope: r.try_get("scope")?,
                            order_index: r.try_get("order_index")?,
                            enabled: r.try_get("enabled")?,
                            link_type: r.try_get("link_type")?,
                            destination_type: r.try_get("destination_type")?,
                            custom_url: r.try_get("custom_url")?,
                            on_custom_url_dead: r.try_get("on_custom_url_dead")?,
                            starts_at: r.try_get("starts_at")?,
                            ends_at: r.try_get("ends_at")?,
                            annual_start: r.try_get("annual_start")?,
                            annual_end: r.try_get("annual_end")?,
                            days_of_week: r.try_get("days_of_week")?,
                            time_start: r.try_get("time_start")?,
                            time_end: r.try_get("time_end")?,
                            time_zone: r.try_get("time_zone")?,
                            countries: r.try_get("countries")?,
                            languages: r.try_get("languages")?,
                            url_status: r.try_get("url_status")?,
                            title: r.try_get("title")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::from)
            }
        }

        pub(crate) use product_reads::*;

        /// Each read runs through `read`.
        #[async_trait::async_trait]
        impl $crate::store::ProductReads for $store {
            async fn product(
                &self,
                gtin: gs1::Gtin14,
            ) -> Result<Option<$crate::model::Product>, $crate::store::StoreError> {
                $read("product", || product(&self.pool, gtin)).await
            }

            async fn products(
                &self,
                gtins: &[gs1::Gtin14],
            ) -> Result<Vec<$crate::model::Product>, $crate::store::StoreError> {
                $read("products", || products(&self.pool, gtins)).await
            }

            async fn product_children(
                &self,
                gtin: gs1::Gtin14,
            ) -> Result<$crate::model::ProductChildren, $crate::store::StoreError> {
                $read("product children", || product_children(&self.pool, gtin)).await
            }

            async fn price_ranges(
                &self,
                gtins: &[gs1::Gtin14],
            ) -> Result<
                std::collections::HashMap<gs1::Gtin14, $crate::model::PriceRange>,
                $crate::store::StoreError,
            > {
                $read("price ranges", || price_ranges(&self.pool, gtins)).await
            }

            async fn offers_in_box(
                &self,
                gtin: gs1::Gtin14,
                area: &$crate::geo::BoundingBox,
            ) -> Result<Vec<$crate::model::StoreOffer>, $crate::store::StoreError> {
                $read("offers", || offers_in_box(&self.pool, gtin, area)).await
            }

            async fn stores(
                &self,
            ) -> Result<Vec<$crate::model::StoreSummary>, $crate::store::StoreError> {
                $read("stores", || stores(&self.pool)).await
            }

            async fn product_gtins(&self) -> Result<Vec<gs1::Gtin14>, $crate::store::StoreError> {
                $read("product list", || product_gtins(&self.pool)).await
            }

            async fn offer_locations(
                &self,
                gtins: &[gs1::Gtin14],
                area: &$crate::geo::BoundingBox,
            ) -> Result<Vec<(gs1::Gtin14, $crate::geo::Point)>, $crate::store::StoreError> {
                $read("offer locations", || offer_locations(&self.pool, gtins, area)).await
            }

            async fn offers_in_area(
                &self,
                area: &$crate::geo::BoundingBox,
                limit: usize,
            ) -> Result<Vec<(gs1::Gtin14, $crate::geo::Point)>, $crate::store::StoreError> {
                $read("offers in area", || offers_in_area(&self.pool, area, limit)).await
            }
        }
    };
}
pub(crate) use product_reads_impl;

/// Generates a backend's [`StoreMeta`](crate::store::StoreMeta) from one body: the function
/// `counts` of the pool (which the backend's tests also call) and
/// `#[async_trait] impl StoreMeta for $store`.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field of type `pool`;
/// - `pool`: the backend's pool type;
/// - `backend`: the name [`StoreMeta::backend`](crate::store::StoreMeta::backend) returns;
/// - `read`: how a read is run, as for [`product_reads_impl!`] (used by the counts);
/// - optionally `refresh_statistics`: the statement that refreshes the planner's statistics
///   (PostgreSQL: [`PG_ANALYZE`]); without it the trait's default (nothing to do) stays.
///
/// Output, in the invoking module: `pub(crate) async fn counts(&$pool)` and the
/// `#[async_trait] impl StoreMeta for $store`, whose `counts` and `product_count` run through
/// `read`. Every statement is a constant of this module (none differs between the backends).
macro_rules! store_meta_impl {
    (
        store: $store:ty,
        pool: $pool:ty,
        backend: $backend:literal,
        read: $read:path
        $(, refresh_statistics: $analyze:expr)? $(,)?
    ) => {
        pub(crate) async fn counts(
            pool: &$pool,
        ) -> Result<$crate::model::CatalogCounts, $crate::store::StoreError> {
            let row = sqlx::query($crate::sql::read::COUNTS).fetch_one(pool).await?;
            let get = |name: &str| -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::Row::try_get::<i64, _>(&row, name)?.try_into().unwrap_or(0))
            };
            Ok($crate::model::CatalogCounts {
                products: get("products")?,
                brands: get("brands")?,
                categories: get("categories")?,
                retailers: get("retailers")?,
                stores: get("stores")?,
                offers: get("offers")?,
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::StoreMeta for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn counts(
                &self,
            ) -> Result<$crate::model::CatalogCounts, $crate::store::StoreError> {
                $read("counts", || counts(&self.pool)).await
            }

            async fn product_count(&self) -> Result<u64, $crate::store::StoreError> {
                let n: i64 = $read("product count", || {
                    sqlx::query_scalar($crate::sql::read::PRODUCT_COUNT).fetch_one(&self.pool)
                })
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            $(
                async fn refresh_statistics(&self) -> Result<(), $crate::store::StoreError> {
                    sqlx::query($analyze).execute(&self.pool).await?;
                    Ok(())
                }
            )?

            async fn meta(&self, key: &str) -> Result<Option<String>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar($crate::sql::read::META)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_meta(&self, key: &str, value: &str) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::sql::read::SET_META)
                    .bind(key)
                    .bind(value)
                    .bind($crate::model::now_rfc3339())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_id_by_email(
                &self,
                email: &str,
            ) -> Result<Option<i64>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar($crate::sql::read::ENABLED_USER_BY_EMAIL)
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(&self.pool)
                    .await?)
            }
        }
    };
}
pub(crate) use store_meta_impl;
