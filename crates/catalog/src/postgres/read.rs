//! Read queries of the PostgreSQL store: products with their children, prices, offers near a
//! place, counts, stores and resolver rules. Lists of keys are bound as one array parameter
//! (`= ANY($1::text[])`), so each query has one fixed text (prepared once, cached). Text sorts
//! that must match SQLite's byte order use `COLLATE "C"`.

use std::collections::HashMap;

use gs1::Gtin14;
use sqlx::postgres::{PgArguments, PgBindIterExt as _, PgRow};
use sqlx::{PgPool, Postgres, Row};

use super::*;
use crate::geo::BoundingBox;
use crate::model::{
    CatalogCounts, CategoryRef, DataSource, Ingredient, InventoryStatus, LabelFormat, LabelRef,
    Metadata, Nutrient, Nutrition, PriceRange, Product, ProductChildren, ProductImage, StoreOffer,
    StoreSummary,
};
use crate::store::StoreError;

/// `SELECT` of a product with brand and category names, followed by a `WHERE` clause literal.
macro_rules! product_select {
    ($where:literal) => {
        concat!(
            "SELECT p.gtin, p.name, b.name AS brand, p.category_id, c.name AS category, ",
            "p.description, p.net_content, p.country_of_origin, p.image_url, p.data_source, ",
            "p.metadata, p.created_at, p.updated_at ",
            "FROM products p LEFT JOIN brands b ON b.id = p.brand_id ",
            "LEFT JOIN categories c ON c.id = p.category_id ",
            $where
        )
    };
}

/// Binds a bounding box after the query's other parameters: `min_lat, max_lat` and the two
/// longitude ranges, for `lat BETWEEN $a AND $b AND (lng BETWEEN $c AND $d OR lng BETWEEN $e
/// AND $f)`.
fn bind_area<'q>(
    q: sqlx::query::Query<'q, Postgres, PgArguments>,
    area: &BoundingBox,
) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    let [(lo1, hi1), (lo2, hi2)] = area.lng_ranges;
    q.bind(area.min_lat).bind(area.max_lat).bind(lo1).bind(hi1).bind(lo2).bind(hi2)
}

fn parse_gtin(s: &str) -> Result<Gtin14, StoreError> {
    Gtin14::parse(s).map_err(|e| StoreError::Corrupt(format!("stored GTIN {s:?}: {e}")))
}

/// A stored non-negative position (priority) as `u32`, saturating like the SQLite store.
fn position(row: &PgRow, column: &str) -> Result<u32, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)?.try_into().unwrap_or(u32::MAX))
}

/// A price in minor units as an amount of the currency (`minor_units` decimals, 0 to 4).
fn price(minor: i64, units: i64) -> f64 {
    minor as f64 / 10f64.powi(units.clamp(0, 4) as i32)
}

fn product_from_row(row: &PgRow) -> Result<Product, StoreError> {
    let gtin: String = row.try_get("gtin")?;
    let data_source: String = row.try_get("data_source")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(Product {
        gtin: parse_gtin(&gtin)?,
        name: row.try_get("name")?,
        brand: row.try_get("brand")?,
        category_id: row.try_get("category_id")?,
        category: row.try_get("category")?,
        description: row.try_get("description")?,
        net_content: row.try_get("net_content")?,
        country_of_origin: row.try_get("country_of_origin")?,
        image_url: row.try_get("image_url")?,
        data_source: DataSource::parse(&data_source).map_err(StoreError::Corrupt)?,
        metadata: Metadata::from_json(&metadata).map_err(|e| StoreError::Corrupt(e.0))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) async fn product(pool: &PgPool, gtin: Gtin14) -> Result<Option<Product>, StoreError> {
    let row = sqlx::query(product_select!("WHERE p.gtin = $1"))
        .bind(gtin.as_str())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(product_from_row).transpose()
}

pub(super) async fn products(pool: &PgPool, gtins: &[Gtin14]) -> Result<Vec<Product>, StoreError> {
    if gtins.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(product_select!("WHERE p.gtin = ANY($1::text[])"))
        .bind(gtins.iter().map(Gtin14::as_str).bind_iter())
        .fetch_all(pool)
        .await?;
    rows.iter().map(product_from_row).collect()
}

pub(super) async fn product_children(
    pool: &PgPool,
    gtin: Gtin14,
) -> Result<ProductChildren, StoreError> {
    let mut conn = pool.acquire().await?;
    let images = sqlx::query(
        "SELECT url, title, description, priority, is_primary FROM product_images \
         WHERE product_id = (SELECT id FROM products WHERE gtin = $1) \
         ORDER BY priority, created_at COLLATE \"C\", id",
    )
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

    let ingredients = sqlx::query(
        "SELECT name, percentage_of_weight, priority FROM ingredients \
         WHERE product_id = (SELECT id FROM products WHERE gtin = $1) ORDER BY priority",
    )
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

    let panel = sqlx::query(
        "SELECT product_id, serving_size, servings_per_container, label_format FROM nutrition \
         WHERE product_id = (SELECT id FROM products WHERE gtin = $1)",
    )
    .bind(gtin.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let nutrition = match panel {
        None => None,
        Some(p) => {
            let nutrients = sqlx::query(
                "SELECT name, amount, unit, daily_value_pct FROM nutrients WHERE product_id = $1 \
                 ORDER BY position",
            )
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
                label_format: LabelFormat::parse(&format).map_err(StoreError::Corrupt)?,
                nutrients,
            })
        }
    };
    let categories = sqlx::query(
        "SELECT c.id, c.name FROM product_categories pc JOIN categories c ON c.id = pc.category_id \
         WHERE pc.product_id = (SELECT id FROM products WHERE gtin = $1) ORDER BY pc.position",
    )
    .bind(gtin.as_str())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok(CategoryRef { id: r.try_get("id")?, name: r.try_get("name")? }))
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let labels = sqlx::query(
        "SELECT l.id, l.name FROM product_labels pl JOIN labels l ON l.id = pl.label_id \
         WHERE pl.product_id = (SELECT id FROM products WHERE gtin = $1) ORDER BY pl.position",
    )
    .bind(gtin.as_str())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok(LabelRef { id: r.try_get("id")?, name: r.try_get("name")? }))
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(ProductChildren { categories, labels, images, ingredients, nutrition })
}

pub(super) async fn price_ranges(
    pool: &PgPool,
    gtins: &[Gtin14],
) -> Result<HashMap<Gtin14, PriceRange>, StoreError> {
    if gtins.is_empty() {
        return Ok(HashMap::new());
    }
    // Per product and currency: count, min, max; keep the currency with the most offers (ties:
    // the first currency code in byte order, as on SQLite).
    let rows = sqlx::query(
        "SELECT p.gtin, o.currency, cu.minor_units, count(*) AS n, min(o.price_minor) AS lo, \
                max(o.price_minor) AS hi \
         FROM products p JOIN offers o ON o.product_id = p.id \
         JOIN currencies cu ON cu.code = o.currency \
         WHERE o.active AND p.gtin = ANY($1::text[]) \
         GROUP BY p.gtin, o.currency, cu.minor_units \
         ORDER BY p.gtin COLLATE \"C\", n DESC, o.currency COLLATE \"C\"",
    )
    .bind(gtins.iter().map(Gtin14::as_str).bind_iter())
    .fetch_all(pool)
    .await?;
    let mut out = HashMap::new();
    for r in rows {
        let gtin = parse_gtin(&r.try_get::<String, _>("gtin")?)?;
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

pub(super) async fn offers_in_box(
    pool: &PgPool,
    gtin: Gtin14,
    area: &BoundingBox,
) -> Result<Vec<StoreOffer>, StoreError> {
    let rows = bind_area(
        sqlx::query(
            "SELECT r.name AS retailer, s.name AS store_name, s.address, s.city, s.region, \
                s.postal_code, s.lat, s.lng, o.price_minor, o.currency, cu.minor_units, \
                o.inventory_status \
         FROM offers o \
         JOIN stores s ON s.id = o.store_id \
         JOIN retailers r ON r.id = s.retailer_id \
         JOIN currencies cu ON cu.code = o.currency \
         WHERE o.product_id = (SELECT id FROM products WHERE gtin = $1) AND o.active \
           AND s.lat BETWEEN $2 AND $3 AND (s.lng BETWEEN $4 AND $5 OR s.lng BETWEEN $6 AND $7)",
        )
        .bind(gtin.as_str()),
        area,
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let units: i64 = r.try_get("minor_units")?;
            let minor: i64 = r.try_get("price_minor")?;
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
                price: price(minor, units),
                currency: r.try_get("currency")?,
                inventory_status: InventoryStatus::parse(&status).map_err(StoreError::Corrupt)?,
            })
        })
        .collect()
}

pub(super) async fn counts(pool: &PgPool) -> Result<CatalogCounts, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM brands) AS brands, \
                (SELECT count(*) FROM categories) AS categories, \
                (SELECT count(*) FROM retailers) AS retailers, (SELECT count(*) FROM stores) AS stores, \
                (SELECT count(*) FROM offers) AS offers",
    )
    .fetch_one(pool)
    .await?;
    let get = |name: &str| -> Result<u64, StoreError> {
        Ok(row.try_get::<i64, _>(name)?.try_into().unwrap_or(0))
    };
    Ok(CatalogCounts {
        products: get("products")?,
        brands: get("brands")?,
        categories: get("categories")?,
        retailers: get("retailers")?,
        stores: get("stores")?,
        offers: get("offers")?,
    })
}

pub(super) async fn stores(pool: &PgPool) -> Result<Vec<StoreSummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.name AS retailer, s.ref, s.lat, s.lng FROM stores s \
         JOIN retailers r ON r.id = s.retailer_id ORDER BY r.name COLLATE \"C\", s.ref COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await?;
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

pub(super) async fn product_gtins(pool: &PgPool) -> Result<Vec<Gtin14>, StoreError> {
    // GTINs are always 14 digits (a CHECK constraint), which every collation orders like bytes,
    // so the unique index on gtin can serve the sort.
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT gtin FROM products ORDER BY gtin").fetch_all(pool).await?;
    rows.iter().map(|g| parse_gtin(g)).collect()
}

/// The enabled rules that can apply to a GTIN, its batch and its serial (see
/// [`crate::store::CatalogStore::rules_for`]): one indexed lookup per scope key.
pub(super) async fn rules_for(
    pool: &PgPool,
    gtin: Gtin14,
    batch: Option<&str>,
    serial: Option<&str>,
) -> Result<Vec<crate::rules::RuleRecord>, StoreError> {
    let g = gtin.as_str();
    let rows = sqlx::query(
        "SELECT r.id, r.scope, r.order_index, r.enabled, r.link_type, r.destination_type, r.custom_url, \
                r.on_custom_url_dead, r.starts_at, r.ends_at, r.annual_start, r.annual_end, r.days_of_week, \
                r.time_start, r.time_end, r.time_zone, r.countries, r.languages, r.url_status, r.title \
         FROM resolver_rules r \
         WHERE r.enabled AND r.scope_key IN ( \
             $1 || '/21/' || $2, $1 || '/10/' || $3, $1, \
             (SELECT 'brand:' || p.brand_id::text FROM products p WHERE p.gtin = $1), \
             (SELECT 'organization:' || b.organization_id::text FROM products p JOIN brands b ON b.id = p.brand_id WHERE p.gtin = $1), \
             '') \
         ORDER BY r.id",
    )
    .bind(g)
    .bind(serial)
    .bind(batch)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::rules::RuleRecord {
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

#[async_trait::async_trait]
impl crate::store::ProductReads for PgStore {
    async fn product(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<Option<crate::model::Product>, StoreError> {
        reading("product", || product(&self.pool, gtin)).await
    }

    async fn products(
        &self,
        gtins: &[gs1::Gtin14],
    ) -> Result<Vec<crate::model::Product>, StoreError> {
        reading("products", || products(&self.pool, gtins)).await
    }

    async fn product_children(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<crate::model::ProductChildren, StoreError> {
        reading("product children", || product_children(&self.pool, gtin)).await
    }

    async fn price_ranges(
        &self,
        gtins: &[gs1::Gtin14],
    ) -> Result<std::collections::HashMap<gs1::Gtin14, crate::model::PriceRange>, StoreError> {
        reading("price ranges", || price_ranges(&self.pool, gtins)).await
    }

    async fn offers_in_box(
        &self,
        gtin: gs1::Gtin14,
        area: &crate::geo::BoundingBox,
    ) -> Result<Vec<crate::model::StoreOffer>, StoreError> {
        reading("offers", || offers_in_box(&self.pool, gtin, area)).await
    }

    async fn stores(&self) -> Result<Vec<crate::model::StoreSummary>, StoreError> {
        reading("stores", || stores(&self.pool)).await
    }

    async fn product_gtins(&self) -> Result<Vec<gs1::Gtin14>, StoreError> {
        reading("product list", || product_gtins(&self.pool)).await
    }

    async fn offer_locations(
        &self,
        gtins: &[gs1::Gtin14],
        area: &crate::geo::BoundingBox,
    ) -> Result<Vec<(gs1::Gtin14, crate::geo::Point)>, StoreError> {
        reading("offer locations", || search::offer_locations(&self.pool, gtins, area)).await
    }

    async fn offers_in_area(
        &self,
        area: &crate::geo::BoundingBox,
        limit: usize,
    ) -> Result<Vec<(gs1::Gtin14, crate::geo::Point)>, StoreError> {
        reading("offers in area", || search::offers_in_area(&self.pool, area, limit)).await
    }
}
