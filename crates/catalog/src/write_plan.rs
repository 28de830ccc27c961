//! The write planner ([`domain::write_plan`], re-exported here for the backends) and what it
//! needs from the database layer: decoding stored rows into the planner's types (the same column
//! names on both backends, [`FromStoredRow`]) and writing a batch in transactions, isolating the
//! rows the database refuses ([`write_in_runs`], [`each_row`]).

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::WriteOutcome;
use crate::store::StoreError;
pub(crate) use domain::write_plan::*;

// ---------------------------------------------------------------------------------------------
// Batches.

/// A backend's judgement of a failed write: the reject reason when the database refused the
/// data (the row's fault), `None` when the failure is the system's.
pub(crate) type Refusal = fn(&sqlx::Error) -> Option<String>;

/// Writes a batch with `attempt` (one transaction per call), one outcome per row, in order.
///
/// The batch is split into runs in which no `key` repeats, written in order: a record listed
/// twice in one batch is written twice, in input order, as if the batches had been separate
/// (the same as when the repeats fall into different batches). When the database refuses a run
/// because of its data, each of its rows is written alone, so only the offending rows are
/// rejected and every other row keeps its outcome.
pub(crate) async fn write_in_runs<'a, T, K, A, Fut>(
    batch: &'a [T],
    key: impl Fn(&T) -> K,
    attempt: A,
    refused: Refusal,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    K: Eq + Hash,
    A: Fn(&'a [T]) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>, sqlx::Error>>,
{
    let attempt = &attempt;
    let mut out = Vec::with_capacity(batch.len());
    let mut start = 0;
    let mut seen = HashSet::new();
    for (i, item) in batch.iter().enumerate() {
        if !seen.insert(key(item)) {
            out.extend(isolating(&batch[start..i], attempt, refused).await?);
            start = i;
            seen.clear();
            seen.insert(key(item));
        }
    }
    if start < batch.len() {
        out.extend(isolating(&batch[start..], attempt, refused).await?);
    }
    Ok(out)
}

/// Runs `attempt` on the whole run; when the database refuses it because of the data, retries
/// each row alone.
async fn isolating<'a, T, A, Fut>(
    run: &'a [T],
    attempt: &A,
    refused: Refusal,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    A: Fn(&'a [T]) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>, sqlx::Error>>,
{
    let e = match attempt(run).await {
        Ok(outcomes) => return Ok(outcomes),
        Err(e) => e,
    };
    let Some(reason) = refused(&e) else { return Err(StoreError::from(e)) };
    if run.len() == 1 {
        return Ok(vec![WriteOutcome::Rejected(reason)]);
    }
    tracing::debug!(
        rows = run.len(),
        error = %e,
        "the database refused a batch; writing its rows one by one"
    );
    each_row(run, |row| attempt(std::slice::from_ref(row)), refused).await
}

/// Writes each row with its own `attempt`; a row the database refuses is `Rejected` with the
/// reason, any other failure ends the batch.
pub(crate) async fn each_row<'a, T, A, Fut>(
    batch: &'a [T],
    attempt: A,
    refused: Refusal,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    A: Fn(&'a T) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>, sqlx::Error>>,
{
    let mut out = Vec::with_capacity(batch.len());
    for row in batch {
        match attempt(row).await {
            Ok(mut o) => out.append(&mut o),
            Err(e) => match refused(&e) {
                Some(reason) => out.push(WriteOutcome::Rejected(reason)),
                None => return Err(StoreError::from(e)),
            },
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Stored rows.

/// The columns of a stored row by name, whatever the backend (both name them alike).
pub(crate) trait StoredRow {
    /// An integer column.
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A floating-point column.
    fn float(&self, column: &str) -> Result<f64, sqlx::Error>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
    /// A text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
}

impl<R> StoredRow for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    f64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
    fn float(&self, column: &str) -> Result<f64, sqlx::Error> {
        self.try_get(column)
    }
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
}

/// A planner type decoded from a stored row of the columns its `SELECT` names.
pub(crate) trait FromStoredRow {
    /// What a row decodes to: the value, with its key where the row carries one.
    type Decoded;
    /// Decodes one row.
    fn from_row(r: &impl StoredRow) -> Result<Self::Decoded, sqlx::Error>;
}

/// The columns [`StoredProduct`]'s [`FromStoredRow::from_row`] decodes, as a literal for the
/// backends' `SELECT`s.
macro_rules! stored_product_columns {
    () => {
        "id, gtin, source_hash, name, brand_id, category_id, description, net_content, \
         country_of_origin, image_url, metadata, updated_at"
    };
}
pub(crate) use stored_product_columns;

impl FromStoredRow for StoredProduct {
    type Decoded = (String, StoredProduct);

    /// Decodes a row of [`stored_product_columns!`]: the GTIN and the product.
    fn from_row(r: &impl StoredRow) -> Result<Self::Decoded, sqlx::Error> {
        Ok((
            r.text("gtin")?,
            StoredProduct {
                id: r.int("id")?,
                source_hash: r.opt_text("source_hash")?,
                fields: ProductFields {
                    name: r.text("name")?,
                    brand_id: r.opt_int("brand_id")?,
                    category_id: r.opt_text("category_id")?,
                    description: r.opt_text("description")?,
                    net_content: r.opt_text("net_content")?,
                    country_of_origin: r.opt_text("country_of_origin")?,
                    image_url: r.opt_text("image_url")?,
                    metadata: r.text("metadata")?,
                },
                updated_at: r.text("updated_at")?,
                category_path: r.opt_text("category_path")?.unwrap_or_default(),
                labels: r.opt_text("label_ids")?.unwrap_or_default(),
            },
        ))
    }
}

impl FromStoredRow for StoredStore {
    type Decoded = (String, StoredStore);

    /// Decodes a row of `id, ref, name, address, city, region, postal_code, country, lat, lng,
    /// metadata`: the store ref and the store.
    fn from_row(r: &impl StoredRow) -> Result<Self::Decoded, sqlx::Error> {
        Ok((
            r.text("ref")?,
            StoredStore {
                id: r.int("id")?,
                fields: StoreFields {
                    name: r.text("name")?,
                    address: r.opt_text("address")?,
                    city: r.opt_text("city")?,
                    region: r.opt_text("region")?,
                    postal_code: r.opt_text("postal_code")?,
                    country: r.text("country")?,
                    lat: r.float("lat")?,
                    lng: r.float("lng")?,
                },
                metadata: r.text("metadata")?,
            },
        ))
    }
}

impl FromStoredRow for StoredOffer {
    type Decoded = StoredOffer;

    /// Decodes a row of `id, price_minor, currency, inventory_status, active, metadata`.
    fn from_row(r: &impl StoredRow) -> Result<Self::Decoded, sqlx::Error> {
        Ok(StoredOffer {
            id: r.int("id")?,
            price_minor: r.int("price_minor")?,
            currency: r.text("currency")?,
            inventory_status: r.text("inventory_status")?,
            active: r.flag("active")?,
            metadata: r.text("metadata")?,
        })
    }
}
