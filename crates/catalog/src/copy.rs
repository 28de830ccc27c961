//! Copying a whole database from SQLite to PostgreSQL (`prodlink migrate --from --to`): every
//! table of the catalog, the authorization server and the audit log, with embeddings, in one
//! PostgreSQL transaction (all or nothing), into an empty database only; row counts are then
//! compared table by table. The search documents are rebuilt on the target by its indexer.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Row};

use crate::store::StoreError;

/// A column's type on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// INTEGER / BIGINT.
    Int,
    /// REAL / DOUBLE PRECISION.
    Real,
    /// TEXT.
    Text,
    /// INTEGER 0/1 / BOOLEAN.
    Bool,
    /// BLOB / BYTEA.
    Bytes,
}

use Kind::{Bool, Bytes, Int, Real, Text};

/// A table: its name, the columns to copy, the primary key to page by, whether it has an
/// identity `id` column whose sequence must move past the copied ids.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order_by: &'static str,
    identity: bool,
}

const META: (&str, Kind) = ("metadata", Text);
const CREATED: (&str, Kind) = ("created_at", Text);
const UPDATED: (&str, Kind) = ("updated_at", Text);

/// Every table with data, parents before children. `countries` and `currencies` are reference
/// data the migrations load on both backends; they are compared, not copied.
const TABLES: &[Table] = &[
    Table {
        name: "organizations",
        columns: &[("id", Int), ("name", Text), META, CREATED, UPDATED],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "brands",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("name_key", Text),
            ("organization_id", Int),
            META,
            CREATED,
            UPDATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "categories",
        columns: &[("id", Text), ("name", Text), ("parent_id", Text)],
        order_by: "id",
        identity: false,
    },
    Table {
        name: "labels",
        columns: &[("id", Text), ("name", Text)],
        order_by: "id",
        identity: false,
    },
    Table {
        name: "products",
        columns: &[
            ("id", Int),
            ("gtin", Text),
            ("name", Text),
            ("brand_id", Int),
            ("category_id", Text),
            ("description", Text),
            ("net_content", Text),
            ("country_of_origin", Text),
            ("image_url", Text),
            ("data_source", Text),
            META,
            ("source_hash", Text),
            CREATED,
            UPDATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "product_categories",
        columns: &[("product_id", Int), ("position", Int), ("category_id", Text)],
        order_by: "product_id, position",
        identity: false,
    },
    Table {
        name: "product_labels",
        columns: &[("product_id", Int), ("position", Int), ("label_id", Text)],
        order_by: "product_id, position",
        identity: false,
    },
    Table {
        name: "product_images",
        columns: &[
            ("id", Int),
            ("product_id", Int),
            ("url", Text),
            ("title", Text),
            ("description", Text),
            ("priority", Int),
            ("is_primary", Bool),
            CREATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "ingredients",
        columns: &[
            ("product_id", Int),
            ("priority", Int),
            ("name", Text),
            ("percentage_of_weight", Real),
        ],
        order_by: "product_id, priority",
        identity: false,
    },
    Table {
        name: "nutrition",
        columns: &[
            ("product_id", Int),
            ("serving_size", Text),
            ("servings_per_container", Real),
            ("label_format", Text),
        ],
        order_by: "product_id",
        identity: false,
    },
    Table {
        name: "nutrients",
        columns: &[
            ("product_id", Int),
            ("name", Text),
            ("position", Int),
            ("amount", Real),
            ("unit", Text),
            ("daily_value_pct", Real),
        ],
        order_by: "product_id, name",
        identity: false,
    },
    Table {
        name: "retailers",
        columns: &[("id", Int), ("name", Text), ("organization_id", Int), META, CREATED, UPDATED],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "stores",
        columns: &[
            ("id", Int),
            ("retailer_id", Int),
            ("ref", Text),
            ("name", Text),
            ("address", Text),
            ("city", Text),
            ("region", Text),
            ("postal_code", Text),
            ("country", Text),
            ("lat", Real),
            ("lng", Real),
            META,
            CREATED,
            UPDATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "offers",
        columns: &[
            ("id", Int),
            ("product_id", Int),
            ("store_id", Int),
            ("price_minor", Int),
            ("currency", Text),
            ("inventory_status", Text),
            ("active", Bool),
            META,
            CREATED,
            UPDATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "resolver_rules",
        columns: &[
            ("id", Int),
            ("scope", Text),
            ("scope_gtin", Text),
            ("scope_qualifier", Text),
            ("brand_id", Int),
            ("organization_id", Int),
            ("scope_key", Text),
            ("order_index", Int),
            ("enabled", Bool),
            ("link_type", Text),
            ("destination_type", Text),
            ("custom_url", Text),
            ("on_custom_url_dead", Text),
            ("title", Text),
            ("starts_at", Text),
            ("ends_at", Text),
            ("annual_start", Text),
            ("annual_end", Text),
            ("days_of_week", Int),
            ("time_start", Text),
            ("time_end", Text),
            ("time_zone", Text),
            ("countries", Text),
            ("languages", Text),
            ("url_status", Text),
            ("url_failures", Int),
            ("url_checked_at", Text),
            META,
            CREATED,
            UPDATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "users",
        columns: &[
            ("id", Int),
            ("email", Text),
            ("password_hash", Text),
            ("display_name", Text),
            ("organization_id", Int),
            ("disabled", Bool),
            CREATED,
            UPDATED,
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "oauth_clients",
        columns: &[
            ("client_id", Text),
            ("kind", Text),
            ("client_name", Text),
            ("redirect_uris", Text),
            ("token_endpoint_auth_method", Text),
            ("secret_hash", Text),
            ("scope", Text),
            ("document", Text),
            ("fetched_at", Text),
            ("last_used_at", Text),
            CREATED,
            UPDATED,
            ("grant_types", Text),
            ("application_type", Text),
            ("document_expires_at", Text),
        ],
        order_by: "client_id",
        identity: false,
    },
    Table {
        name: "oauth_consents",
        columns: &[
            ("user_id", Int),
            ("client_id", Text),
            ("scope", Text),
            ("granted_at", Text),
            ("revoked_at", Text),
        ],
        order_by: "user_id, client_id",
        identity: false,
    },
    Table {
        name: "oauth_grants",
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("client_id", Text),
            ("scope", Text),
            ("resource", Text),
            CREATED,
            ("revoked_at", Text),
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "oauth_codes",
        columns: &[
            ("code_hash", Text),
            ("grant_id", Int),
            ("redirect_uri", Text),
            ("code_challenge", Text),
            ("expires_at", Text),
            ("used_at", Text),
        ],
        order_by: "code_hash",
        identity: false,
    },
    Table {
        name: "oauth_tokens",
        columns: &[
            ("token_hash", Text),
            ("kind", Text),
            ("grant_id", Int),
            ("scope", Text),
            ("audience", Text),
            ("expires_at", Text),
            ("rotated_at", Text),
            ("revoked_at", Text),
            CREATED,
        ],
        order_by: "token_hash",
        identity: false,
    },
    Table {
        name: "auth_sessions",
        columns: &[("session_hash", Text), ("user_id", Int), CREATED, ("expires_at", Text)],
        order_by: "session_hash",
        identity: false,
    },
    Table {
        name: "api_keys",
        columns: &[
            ("id", Int),
            ("prefix", Text),
            ("secret_hash", Text),
            ("name", Text),
            ("organization_id", Int),
            ("scopes", Text),
            ("rate_limit_per_minute", Int),
            ("created_by_user_id", Int),
            CREATED,
            ("last_used_at", Text),
            ("revoked_at", Text),
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "audit_events",
        columns: &[
            ("id", Int),
            ("occurred_at", Text),
            ("request_id", Text),
            ("action", Text),
            ("outcome", Text),
            ("user_id", Int),
            ("client_id", Text),
            ("target", Text),
            ("arguments", Text),
            ("before_state", Text),
            ("after_state", Text),
        ],
        order_by: "id",
        identity: true,
    },
    Table {
        name: "prodlink_meta",
        columns: &[("key", Text), ("value", Text), UPDATED],
        order_by: "key",
        identity: false,
    },
    Table {
        name: "product_embeddings",
        columns: &[
            ("product_id", Int),
            ("model", Text),
            ("text_hash", Bytes),
            ("vector", Bytes),
            ("seq", Int),
        ],
        order_by: "product_id",
        identity: false,
    },
    Table {
        name: "embed_dirty",
        columns: &[("product_id", Int), ("version", Int)],
        order_by: "product_id",
        identity: false,
    },
];

/// The tables `sqlite_to_postgres` copies, with their columns (for checks that nothing is left
/// out when the schema grows).
pub fn copied_tables() -> Vec<(&'static str, Vec<&'static str>)> {
    TABLES.iter().map(|t| (t.name, t.columns.iter().map(|(c, _)| *c).collect())).collect()
}

/// Rows read and written per statement.
const PAGE: i64 = 2_000;

/// One table's row counts after a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub source: u64,
    /// Rows in the target after the copy.
    pub target: u64,
}

/// One column's values of a page, typed for binding as a PostgreSQL array.
enum Values {
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Values {
    fn new(kind: Kind) -> Self {
        match kind {
            Int => Self::Int(Vec::new()),
            Real => Self::Real(Vec::new()),
            Text => Self::Text(Vec::new()),
            Bool => Self::Bool(Vec::new()),
            Bytes => Self::Bytes(Vec::new()),
        }
    }

    fn push(&mut self, row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<(), sqlx::Error> {
        match self {
            Self::Int(v) => v.push(row.try_get(i)?),
            Self::Real(v) => v.push(row.try_get(i)?),
            Self::Text(v) => v.push(row.try_get(i)?),
            Self::Bool(v) => v.push(row.try_get(i)?),
            Self::Bytes(v) => v.push(row.try_get(i)?),
        }
        Ok(())
    }

    fn cast(&self) -> &'static str {
        match self {
            Self::Int(_) => "bigint[]",
            Self::Real(_) => "double precision[]",
            Self::Text(_) => "text[]",
            Self::Bool(_) => "boolean[]",
            Self::Bytes(_) => "bytea[]",
        }
    }
}

/// A stored vector must be a whole number of little-endian f32 values: a damaged one stops the
/// copy instead of being carried over.
fn check_vector(bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt(format!("an embedding has {} bytes", bytes.len())));
    }
    Ok(())
}

async fn count_sqlite<'e, E: sqlx::SqliteExecutor<'e>>(
    ex: E,
    table: &str,
) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(ex)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn count_pg<'e, E: sqlx::PgExecutor<'e>>(ex: E, table: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(ex)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Copies every table from the SQLite database `from` into the empty PostgreSQL database `to`
/// (both migrated) from one consistent snapshot of the source, reporting progress as `(table, rows copied so far)`. Fails, copying
/// nothing, when the target already holds data or any count differs afterwards.
pub async fn sqlite_to_postgres(
    from: &SqlitePool,
    to: &PgPool,
    mut progress: impl FnMut(&str, u64),
) -> Result<Vec<TableCount>, StoreError> {
    for t in TABLES {
        let n = count_pg(to, t.name).await?;
        if n > 0 {
            return Err(StoreError::Config(format!(
                "the target database is not empty ({} holds {n} rows); copy into a new database",
                t.name
            )));
        }
    }
    for reference in ["countries", "currencies"] {
        let (a, b) = (count_sqlite(from, reference).await?, count_pg(to, reference).await?);
        if a != b {
            return Err(StoreError::Config(format!(
                "the databases' reference tables differ ({reference}: {a} rows in the source, \
                 {b} in the target); migrate both to the same prodlink version first"
            )));
        }
    }
    // One read transaction on the source: a consistent snapshot even while a server writes.
    let mut src = from.begin().await?;
    let mut tx = to.begin().await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let names: Vec<&str> = t.columns.iter().map(|(n, _)| *n).collect();
        let select = format!(
            "SELECT {} FROM {} ORDER BY {} LIMIT ?1 OFFSET ?2",
            names.join(", "),
            t.name,
            t.order_by
        );
        let embeddings = t.name == "product_embeddings";
        let mut casts: Vec<String> = Vec::new();
        let mut copied = 0u64;
        // Categories reference each other: one statement, so the foreign keys are checked
        // after every row is in.
        let page = if t.name == "categories" { i64::MAX } else { PAGE };
        let mut offset = 0i64;
        loop {
            let rows = sqlx::query(AssertSqlSafe(select.clone()))
                .bind(page)
                .bind(offset)
                .fetch_all(&mut *src)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut columns: Vec<Values> = t.columns.iter().map(|(_, k)| Values::new(*k)).collect();
            for row in &rows {
                for (i, c) in columns.iter_mut().enumerate() {
                    c.push(row, i)?;
                }
                if embeddings {
                    let raw: Vec<u8> = row.try_get("vector")?;
                    check_vector(&raw)?;
                }
            }
            if casts.is_empty() {
                casts = columns.iter().map(|c| c.cast().to_owned()).collect();
            }
            let params: Vec<String> =
                casts.iter().enumerate().map(|(i, c)| format!("${}::{c}", i + 1)).collect();
            let insert = format!(
                "INSERT INTO {} ({}) SELECT * FROM unnest({})",
                t.name,
                names.join(", "),
                params.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(insert));
            for c in columns {
                q = match c {
                    Values::Int(v) => q.bind(v),
                    Values::Real(v) => q.bind(v),
                    Values::Text(v) => q.bind(v),
                    Values::Bool(v) => q.bind(v),
                    Values::Bytes(v) => q.bind(v),
                };
            }
            q.execute(&mut *tx).await?;
            copied += rows.len() as u64;
            progress(t.name, copied);
            let fetched = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            if fetched < page {
                break;
            }
            offset += fetched;
        }
        if t.identity {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                 coalesce((SELECT max(id) FROM {0}), 0) + 1, false)",
                t.name
            )))
            .execute(&mut *tx)
            .await?;
        }
        counts.push(TableCount {
            table: t.name,
            source: count_sqlite(&mut *src, t.name).await?,
            target: count_pg(&mut *tx, t.name).await?,
        });
    }
    // With pgvector, the indexed copy of each vector is filled in the same transaction.
    if let Some(dims) = crate::postgres::vector::detect(to).await? {
        crate::postgres::vector::backfill_on(&mut tx, dims).await?;
    }
    // The target's search documents are built by its own indexer from these products.
    sqlx::query(
        "INSERT INTO search_dirty (product_id) SELECT id FROM products ON CONFLICT DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    if let Some(bad) = counts.iter().find(|c| c.source != c.target) {
        return Err(StoreError::Corrupt(format!(
            "{} has {} rows in the source but {} in the copy; nothing was copied",
            bad.table, bad.source, bad.target
        )));
    }
    tx.commit().await?;
    src.rollback().await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_vectors_are_refused() {
        let bytes: Vec<u8> = [0.5f32, -1.0, 3.25].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(check_vector(&bytes).is_ok());
        assert!(check_vector(&[1, 2, 3]).is_err());
        assert!(check_vector(&[]).is_err());
    }
}
