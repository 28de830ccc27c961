//! Resolver rules (see [`crate::rules_admin`]), written once for both backends: the statements
//! of [`RulesDb`](crate::store::RulesDb) — an organization's rules, each change with its
//! `audit_events` row, the custom-URL health checks — the rows they read and write
//! ([`decode`], [`RuleColumns`]), and [`rules_db_impl!`], which generates the role's `impl` for
//! a backend's store. Each change runs in one transaction that checks ownership and the
//! expected version, writes the rule and appends its audit row, so the audit log never
//! disagrees with the rules. The bulk upsert and the rules of a scan are the backends' own
//! (`write.rs`, `read.rs`).

use crate::rules_admin::{
    Destination, ManagedRule, OnDeadUrl, OwnedRule, RuleDraft, ScopeKind, WEEKDAYS,
};
use crate::store::StoreError;
use crate::write_plan::StoredRow;

/// The columns a [`ManagedRule`] is read from (`r` is `resolver_rules`).
macro_rules! rule_columns {
    () => {
        "r.id, r.scope, r.scope_gtin, r.scope_qualifier, r.brand_id, r.organization_id, \
         r.order_index, r.enabled, r.link_type, r.destination_type, r.custom_url, \
         r.on_custom_url_dead, r.title, r.starts_at, r.ends_at, r.annual_start, r.annual_end, \
         r.days_of_week, r.time_start, r.time_end, r.time_zone, r.countries, r.languages, \
         r.metadata, r.url_status, r.created_at, r.updated_at"
    };
}

/// The organization that owns rule `r`, as an SQL expression (both backends).
macro_rules! rule_owner {
    () => {
        "CASE WHEN r.scope IN ('SERIAL', 'BATCH', 'PRODUCT') THEN \
             (SELECT b.organization_id FROM products p JOIN brands b ON b.id = p.brand_id WHERE p.gtin = r.scope_gtin) \
         WHEN r.scope = 'BRAND' THEN (SELECT b.organization_id FROM brands b WHERE b.id = r.brand_id) \
         WHEN r.scope = 'ORGANIZATION' THEN r.organization_id END"
    };
}

/// The ids of the rules organization `$1` owns (both backends, through their indexes).
macro_rules! owned_rule_ids {
    () => {
        "SELECT r.id FROM resolver_rules r JOIN products p ON p.gtin = r.scope_gtin \
             JOIN brands b ON b.id = p.brand_id \
             WHERE b.organization_id = $1 AND r.scope IN ('SERIAL', 'BATCH', 'PRODUCT') \
         UNION ALL SELECT r.id FROM resolver_rules r JOIN brands b ON b.id = r.brand_id \
             WHERE b.organization_id = $1 AND r.scope = 'BRAND' \
         UNION ALL SELECT r.id FROM resolver_rules r \
             WHERE r.organization_id = $1 AND r.scope = 'ORGANIZATION'"
    };
}

/// One rule with its owner (`$1` = id), before any locking clause.
macro_rules! rule_by_id {
    () => {
        concat!(
            "SELECT ",
            rule_columns!(),
            ", ",
            rule_owner!(),
            " AS owner FROM resolver_rules r WHERE r.id = $1"
        )
    };
}

/// The rules of one scope instance by position (`$1` scope, `$2` key), before any locking
/// clause.
macro_rules! scope_rules {
    () => {
        concat!(
            "SELECT ",
            rule_columns!(),
            ", CAST(NULL AS BIGINT) AS owner FROM resolver_rules r WHERE r.scope = $1 AND r.scope_key = $2 \
             ORDER BY r.order_index, r.id"
        )
    };
}

// Organizations' rules.

/// One rule with its owner (`$1` = id).
pub(crate) const RULE: &str = rule_by_id!();
/// A page of an organization's rules (`$1` = organization, `$2` = limit, `$3` = offset).
pub(crate) const PAGE: &str = concat!(
    "SELECT ",
    rule_columns!(),
    ", $1 AS owner FROM resolver_rules r WHERE r.id IN (",
    owned_rule_ids!(),
    ") ORDER BY r.id LIMIT $2 OFFSET $3"
);
/// How many rules an organization owns (`$1`).
pub(crate) const COUNT: &str = concat!("SELECT count(*) FROM (", owned_rule_ids!(), ") owned");
/// The rules of one scope instance, by position (`$1` scope, `$2` key).
pub(crate) const SCOPE_RULES: &str = scope_rules!();
/// The owner of a product (`$1` GTIN-14).
pub(crate) const PRODUCT_OWNER: &str = "SELECT b.organization_id FROM products p \
     JOIN brands b ON b.id = p.brand_id WHERE p.gtin = $1";
/// The owner of a brand (`$1`).
pub(crate) const BRAND_OWNER: &str = "SELECT organization_id FROM brands WHERE id = $1";
/// The position after the last rule of a scope instance (`$1` scope, `$2` key).
pub(crate) const NEXT_INDEX: &str = "SELECT COALESCE(MAX(order_index) + 1, 0) \
     FROM resolver_rules WHERE scope = $1 AND scope_key = $2";
/// A new rule; returns its id. `$1`-`$23` as in [`RuleColumns`], `$24` now.
pub(crate) const INSERT: &str = "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, brand_id, \
         organization_id, scope_key, order_index, enabled, link_type, destination_type, custom_url, \
         on_custom_url_dead, starts_at, ends_at, annual_start, annual_end, days_of_week, time_start, \
         time_end, time_zone, countries, languages, metadata, title, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $22, $23, $25, $24, $24) RETURNING id";
/// Every writable column of rule `$26`; the URL's health restarts when the URL changes.
pub(crate) const UPDATE: &str = "UPDATE resolver_rules SET scope = $1, scope_gtin = $2, scope_qualifier = $3, \
         brand_id = $4, organization_id = $5, scope_key = $6, order_index = $7, enabled = $8, \
         link_type = $9, destination_type = $10, \
         url_status = CASE WHEN custom_url IS NOT DISTINCT FROM $11 THEN url_status ELSE 'unknown' END, \
         url_failures = CASE WHEN custom_url IS NOT DISTINCT FROM $11 THEN url_failures ELSE 0 END, \
         url_checked_at = CASE WHEN custom_url IS NOT DISTINCT FROM $11 THEN url_checked_at ELSE NULL END, \
         custom_url = $11, on_custom_url_dead = $12, starts_at = $13, ends_at = $14, \
         annual_start = $15, annual_end = $16, days_of_week = $17, time_start = $18, time_end = $19, \
         time_zone = $20, countries = $21, languages = $22, metadata = $23, title = $25, updated_at = $24 \
     WHERE id = $26";
/// Deletes rule `$1`.
pub(crate) const DELETE: &str = "DELETE FROM resolver_rules WHERE id = $1";
/// Moves rule `$2` to position `$1` (`$3` now).
pub(crate) const MOVE: &str =
    "UPDATE resolver_rules SET order_index = $1, updated_at = $3 WHERE id = $2";
/// One audit row.
pub(crate) const AUDIT: &str = "INSERT INTO audit_events (occurred_at, request_id, action, outcome, user_id, \
         client_id, target, arguments, before_state, after_state) \
     VALUES ($1, $2, $3, 'ok', $4, $5, $6, $7, $8, $9)";

/// The statements a change reads the rules it touches with, as the backend needs them:
/// [`LOCKING_READS`] lock them until the transaction ends (PostgreSQL: concurrent changes from
/// any process serialize on them); [`PLAIN_READS`] do not (SQLite: the write transaction
/// holds the database's write lock from its start).
pub(crate) struct ChangeReads {
    /// One rule with its owner (`$1` = id), as [`RULE`].
    pub(crate) rule: &'static str,
    /// The rules of one scope instance (`$1` scope, `$2` key), as [`SCOPE_RULES`].
    pub(crate) scope: &'static str,
}

/// [`ChangeReads`] without row locks.
pub(crate) const PLAIN_READS: ChangeReads = ChangeReads { rule: RULE, scope: SCOPE_RULES };

/// [`ChangeReads`] locking the rules read (`FOR UPDATE`).
pub(crate) const LOCKING_READS: ChangeReads = ChangeReads {
    rule: concat!(rule_by_id!(), " FOR UPDATE OF r"),
    scope: concat!(scope_rules!(), " FOR UPDATE OF r"),
};

// Custom-URL health.

/// Claims up to `$2` enabled custom-URL rules last checked before `$1` (or never), least
/// recently checked first, stamping their check time `$3`; returns `(id, custom_url)`. SQLite:
/// the statement runs under the database's write lock.
pub(crate) const SQLITE_CUSTOM_URLS_DUE: &str = "UPDATE resolver_rules SET url_checked_at = $3 WHERE id IN ( \
       SELECT id FROM resolver_rules \
       WHERE enabled = 1 AND destination_type = 'CUSTOM_URL' \
         AND (url_checked_at IS NULL OR url_checked_at < $1) \
       ORDER BY url_checked_at IS NOT NULL, url_checked_at, id LIMIT $2) \
     RETURNING id, custom_url";
/// [`SQLITE_CUSTOM_URLS_DUE`] on PostgreSQL: rows another process is claiming right now are
/// skipped, not waited for.
pub(crate) const PG_CUSTOM_URLS_DUE: &str = "UPDATE resolver_rules r SET url_checked_at = $3 FROM ( \
       SELECT id FROM resolver_rules \
       WHERE enabled AND destination_type = 'CUSTOM_URL' \
         AND (url_checked_at IS NULL OR url_checked_at < $1) \
       ORDER BY url_checked_at NULLS FIRST, id LIMIT $2 \
       FOR UPDATE SKIP LOCKED) due \
     WHERE r.id = due.id RETURNING r.id, r.custom_url";
/// Records a check of rule `$1`'s URL at `$4`: alive (`$2`) resets the failure count, a
/// failure adds one, and `$3` consecutive failures mark it dead; returns the status.
pub(crate) const RECORD_URL_CHECK: &str = "UPDATE resolver_rules SET \
         url_failures = CASE WHEN $2 THEN 0 ELSE url_failures + 1 END, \
         url_status = CASE WHEN $2 THEN 'alive' \
                           WHEN url_failures + 1 >= $3 THEN 'dead' ELSE url_status END, \
         url_checked_at = $4 \
     WHERE id = $1 RETURNING url_status";

// Rows.

/// The column values of a draft, in the order of [`INSERT`] and [`UPDATE`]'s `$1`-`$23`
/// and `$25` (the title).
pub(crate) struct RuleColumns<'r> {
    pub(crate) scope: &'static str,
    pub(crate) gtin: Option<&'r str>,
    pub(crate) qualifier: Option<&'r str>,
    pub(crate) brand_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) key: &'r str,
    pub(crate) enabled: bool,
    pub(crate) link_type: Option<&'r str>,
    pub(crate) destination_type: &'static str,
    pub(crate) custom_url: Option<&'r str>,
    pub(crate) on_custom_url_dead: &'r str,
    pub(crate) starts_at: Option<&'r str>,
    pub(crate) ends_at: Option<&'r str>,
    pub(crate) annual_start: Option<&'r str>,
    pub(crate) annual_end: Option<&'r str>,
    pub(crate) days_of_week: Option<i64>,
    pub(crate) time_start: Option<&'r str>,
    pub(crate) time_end: Option<&'r str>,
    pub(crate) time_zone: Option<&'r str>,
    pub(crate) countries: Option<String>,
    pub(crate) languages: Option<String>,
    pub(crate) metadata: String,
    pub(crate) title: Option<&'r str>,
}

impl RuleDraft {
    /// The stored column values (the planner's [`crate::write_plan::RuleRow`] of the write).
    pub(crate) fn columns(&self) -> RuleColumns<'_> {
        let row = crate::write_plan::RuleRow::new(&self.write, self.scope.row.clone());
        let w = &self.write;
        RuleColumns {
            scope: row.scope_name,
            gtin: self.scope.row.gtin.as_deref(),
            qualifier: self.scope.row.qualifier.as_deref(),
            brand_id: row.scope.brand_id,
            organization_id: row.scope.organization_id,
            key: &self.scope.row.key,
            enabled: w.enabled,
            link_type: w.link_type.as_deref(),
            destination_type: row.destination_type,
            custom_url: w.custom_url.as_deref(),
            on_custom_url_dead: &w.on_custom_url_dead,
            starts_at: w.starts_at.as_deref(),
            ends_at: w.ends_at.as_deref(),
            annual_start: w.annual.as_ref().map(|a| a.0.as_str()),
            annual_end: w.annual.as_ref().map(|a| a.1.as_str()),
            days_of_week: row.days_of_week,
            time_start: w.daily.as_ref().map(|d| d.0.as_str()),
            time_end: w.daily.as_ref().map(|d| d.1.as_str()),
            time_zone: w.time_zone.as_deref(),
            countries: row.countries,
            languages: row.languages,
            metadata: row.metadata,
            title: w.title.as_deref(),
        }
    }
}

fn list_column(json: Option<String>, column: &str) -> Result<Option<Vec<String>>, StoreError> {
    json.map(|j| {
        serde_json::from_str(&j)
            .map_err(|e| StoreError::Corrupt(format!("resolver_rules.{column} {j:?}: {e}")))
    })
    .transpose()
}

/// A [`ManagedRule`] (and the `owner` column) from a row of [`RULE`], [`PAGE`] or [`SCOPE_RULES`], on either backend.
pub(crate) fn decode(r: &impl StoredRow) -> Result<OwnedRule, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("resolver rule: {what}"));
    let scope_name = r.text("scope")?;
    let scope =
        ScopeKind::parse(&scope_name).ok_or_else(|| corrupt(format!("scope {scope_name:?}")))?;
    let qualifier = r.opt_text("scope_qualifier")?;
    let destination_type = match r.text("destination_type")?.as_str() {
        "CUSTOM_URL" => Destination::CustomUrl,
        "HOSTED_PAGE" => Destination::HostedPage,
        other => return Err(corrupt(format!("destination_type {other:?}"))),
    };
    let on_custom_url_dead = match r.text("on_custom_url_dead")?.as_str() {
        "SKIP_RULE" => OnDeadUrl::SkipRule,
        _ => OnDeadUrl::FallbackToHosted,
    };
    let days_of_week = r.opt_int("days_of_week")?.map(|bits| {
        WEEKDAYS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, d)| *d).collect()
    });
    let metadata_text = r.text("metadata")?;
    let metadata = serde_json::from_str(&metadata_text)
        .map_err(|e| corrupt(format!("metadata {metadata_text:?}: {e}")))?;
    let rule = ManagedRule {
        id: r.int("id")?,
        scope,
        gtin: r.opt_text("scope_gtin")?,
        batch: if scope == ScopeKind::Batch { qualifier.clone() } else { None },
        serial: if scope == ScopeKind::Serial { qualifier } else { None },
        brand_id: r.opt_int("brand_id")?,
        organization_id: r.opt_int("organization_id")?,
        order_index: r.int("order_index")?,
        enabled: r.flag("enabled")?,
        link_type: r.opt_text("link_type")?,
        destination_type,
        custom_url: r.opt_text("custom_url")?,
        on_custom_url_dead,
        title: r.opt_text("title")?,
        starts_at: r.opt_text("starts_at")?,
        ends_at: r.opt_text("ends_at")?,
        annual_start: r.opt_text("annual_start")?,
        annual_end: r.opt_text("annual_end")?,
        days_of_week,
        time_start: r.opt_text("time_start")?,
        time_end: r.opt_text("time_end")?,
        time_zone: r.opt_text("time_zone")?,
        countries: list_column(r.opt_text("countries")?, "countries")?,
        languages: list_column(r.opt_text("languages")?, "languages")?,
        metadata,
        url_status: r.text("url_status")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    };
    Ok(OwnedRule { rule, owner: r.opt_int("owner")? })
}

/// Generates `impl RulesDb for $store` from the statements of this module and the backend's
/// bulk upsert and scan read.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field of type `sqlx::Pool<$db>`;
/// - `db`: the sqlx database type (`Sqlite`, `Postgres`);
/// - `begin`: an `async fn(&Pool<$db>) -> Result<Transaction<'static, $db>, sqlx::Error>`
///   opening a write transaction (SQLite: `BEGIN IMMEDIATE`, taking the write lock at once);
/// - `read`: how a read is run, with the signature of [`crate::postgres::reading`]
///   (`(what, || future) -> future`): PostgreSQL retries a read whose connection was lost,
///   SQLite runs it once ([`crate::sql::read_once`]);
/// - `change_reads`: the [`ChangeReads`] a change reads the rules it touches with
///   ([`LOCKING_READS`] or [`PLAIN_READS`]);
/// - `custom_urls_due`: the statement claiming the custom URLs due for a check
///   ([`SQLITE_CUSTOM_URLS_DUE`], [`PG_CUSTOM_URLS_DUE`]);
/// - `is_constraint_violation`, `constraint_message`: the backend's `fn(&sqlx::Error) -> bool`
///   telling a constraint violation, and `fn(&sqlx::Error) -> String` wording it (a rule write
///   the database refuses for another reason than a taken `order_index` is `Rejected`);
/// - `upsert_rules`: the backend's `async fn(&Pool<$db>, &[RuleWrite]) -> Result<Vec<WriteOutcome>,
///   StoreError>` (the importers' bulk upsert);
/// - `rules_for`: the backend's `async fn(&Pool<$db>, Gtin14, Option<&str>, Option<&str>) ->
///   Result<Vec<RuleRecord>, StoreError>` (the rules of a scan).
///
/// Output, in the invoking module: private functions, one per rule-management method (taking
/// the pool) and the steps they share (`rule_in`, `scope_rules`, `owner_of`, `audit`,
/// `refused_write`, `write_rule`, `still`), and the `#[async_trait] impl RulesDb for $store`:
/// reads (`organization_rules`, `managed_rule`, `rules_for`) through `read`; `create_rule`,
/// `update_rule`, `delete_rule` and `reorder_rules` in one `begin` transaction each, which
/// checks ownership and the expected version, writes, and appends the audit row; the URL
/// checks one statement each; `upsert_rules` and `rules_for` the backend's.
macro_rules! rules_db_impl {
    (
        store: $store:ty,
        db: $db:ty,
        begin: $begin:path,
        read: $read:path,
        change_reads: $reads:path,
        custom_urls_due: $due:path,
        is_constraint_violation: $is_constraint:path,
        constraint_message: $constraint_message:path,
        upsert_rules: $upsert_rules:path,
        rules_for: $rules_for:path $(,)?
    ) => {
        use $crate::model::{RuleWrite, WriteOutcome, now_rfc3339};
        use $crate::rules_admin::{
            self as admin, Actor, ManagedRule, OwnedRule, RuleDraft, RuleRefusal, RuleResult,
            ScopeKind, ScopeRef,
        };
        use $crate::sql::rules::{self as sql, decode};
        use $crate::store::StoreError;

        type Pool = sqlx::Pool<$db>;
        type Conn = <$db as sqlx::Database>::Connection;

        const READS: sql::ChangeReads = $reads;

        async fn organization_rules(
            pool: &Pool,
            organization: i64,
            offset: u64,
            limit: u64,
        ) -> Result<(Vec<ManagedRule>, u64), StoreError> {
            let (rows, total) = $crate::sql::organization_page!(
                pool, sql::COUNT, sql::PAGE, organization, offset, limit
            );
            let items = rows.iter().map(|r| decode(r).map(|o| o.rule)).collect::<Result<_, _>>()?;
            Ok((items, total))
        }

        async fn managed_rule(pool: &Pool, id: i64) -> Result<Option<OwnedRule>, StoreError> {
            let row = sqlx::query(sql::RULE).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        }

        /// A rule with its owner, as the change's transaction sees it.
        async fn rule_in(conn: &mut Conn, id: i64) -> Result<Option<OwnedRule>, StoreError> {
            let row = sqlx::query(READS.rule).bind(id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(decode).transpose()
        }

        /// The rules of a scope, as the change's transaction sees them.
        async fn scope_rules(conn: &mut Conn, scope: &ScopeRef) -> Result<Vec<ManagedRule>, StoreError> {
            let rows = sqlx::query(READS.scope)
                .bind(scope.kind().as_str())
                .bind(scope.key())
                .fetch_all(&mut *conn)
                .await?;
            rows.iter().map(|r| decode(r).map(|o| o.rule)).collect()
        }

        /// The organization owning a scope instance (`None`: GLOBAL, unknown, or nobody's).
        async fn owner_of(conn: &mut Conn, scope: &ScopeRef) -> Result<Option<i64>, StoreError> {
            Ok(match scope.kind() {
                ScopeKind::Serial | ScopeKind::Batch | ScopeKind::Product => {
                    sqlx::query_scalar::<_, Option<i64>>(sql::PRODUCT_OWNER)
                        .bind(scope.row.gtin.as_deref())
                        .fetch_optional(&mut *conn)
                        .await?
                        .flatten()
                }
                ScopeKind::Brand => sqlx::query_scalar::<_, Option<i64>>(sql::BRAND_OWNER)
                    .bind(scope.row.brand_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .flatten(),
                ScopeKind::Organization => scope.row.organization_id,
                ScopeKind::Global => None,
            })
        }

        /// Appends one audit row.
        async fn audit(
            conn: &mut Conn,
            actor: &Actor,
            action: &str,
            target: &str,
            arguments: &serde_json::Value,
            before: Option<String>,
            after: Option<String>,
        ) -> Result<(), StoreError> {
            sqlx::query(sql::AUDIT)
                .bind(now_rfc3339())
                .bind(actor.request_id.as_deref())
                .bind(action)
                .bind(actor.user_id)
                .bind(actor.client_id.as_deref())
                .bind(target)
                .bind(arguments.to_string())
                .bind(before)
                .bind(after)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// The refusal of a write the database refused: a taken `order_index` is a conflict.
        fn refused_write(e: sqlx::Error, draft: &RuleDraft, order_index: i64) -> RuleResult<ManagedRule> {
            match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    Ok(Err(RuleRefusal::Conflict(format!(
                        "order_index {order_index} is taken by another rule of this {} scope ({}); pick another or reorder the scope",
                        draft.scope().kind().as_str(),
                        draft.scope().key()
                    ))))
                }
                _ if $is_constraint(&e) => Err(StoreError::Rejected($constraint_message(&e))),
                _ => Err(e.into()),
            }
        }

        /// Writes a draft as rule `id` (`None`: a new rule); the rule's id.
        async fn write_rule(
            conn: &mut Conn,
            id: Option<i64>,
            draft: &RuleDraft,
            order_index: i64,
        ) -> Result<i64, sqlx::Error> {
            let c = draft.columns();
            let now = now_rfc3339();
            let query = match id {
                None => sqlx::query(sql::INSERT),
                Some(_) => sqlx::query(sql::UPDATE),
            };
            let query = query
                .bind(c.scope)
                .bind(c.gtin)
                .bind(c.qualifier)
                .bind(c.brand_id)
                .bind(c.organization_id)
                .bind(c.key)
                .bind(order_index)
                .bind(c.enabled)
                .bind(c.link_type)
                .bind(c.destination_type)
                .bind(c.custom_url)
                .bind(c.on_custom_url_dead)
                .bind(c.starts_at)
                .bind(c.ends_at)
                .bind(c.annual_start)
                .bind(c.annual_end)
                .bind(c.days_of_week)
                .bind(c.time_start)
                .bind(c.time_end)
                .bind(c.time_zone)
                .bind(c.countries)
                .bind(c.languages)
                .bind(c.metadata)
                .bind(now)
                .bind(c.title);
            match id {
                None => {
                    use sqlx::Row as _;
                    query.fetch_one(&mut *conn).await?.try_get(0)
                }
                Some(id) => {
                    query.bind(id).execute(&mut *conn).await?;
                    Ok(id)
                }
            }
        }

        async fn create_rule(
            pool: &Pool,
            organization: i64,
            draft: &RuleDraft,
            actor: &Actor,
        ) -> RuleResult<ManagedRule> {
            let mut tx = $begin(pool).await?;
            let owner = owner_of(&mut tx, draft.scope()).await?;
            if let Some(refusal) = admin::ownership(draft.scope(), owner, organization) {
                return Ok(Err(refusal));
            }
            let order_index = match draft.order_index {
                Some(i) => i64::from(i),
                None => {
                    sqlx::query_scalar(sql::NEXT_INDEX)
                        .bind(draft.scope().kind().as_str())
                        .bind(draft.scope().key())
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            let id = match write_rule(&mut tx, None, draft, order_index).await {
                Ok(id) => id,
                Err(e) => return refused_write(e, draft, order_index),
            };
            let Some(created) = rule_in(&mut tx, id).await? else {
                return Err(StoreError::Corrupt(format!("resolver rule {id} vanished while created")));
            };
            let args = serde_json::json!({"organization_id": organization});
            let after = Some(admin::state(&created.rule));
            audit(&mut tx, actor, "rule.create", &created.rule.target(), &args, None, after).await?;
            tx.commit().await?;
            Ok(Ok(created.rule))
        }

        /// Whether the stored rule is still `expected` and the organization's.
        async fn still(
            conn: &mut Conn,
            organization: i64,
            expected: &ManagedRule,
        ) -> Result<Result<(), RuleRefusal>, StoreError> {
            Ok(match rule_in(conn, expected.id).await? {
                Some(o) if o.owner != Some(organization) => Err(RuleRefusal::NotFound),
                Some(o) if o.rule != *expected => Err(RuleRefusal::Stale),
                Some(_) => Ok(()),
                None => Err(RuleRefusal::NotFound),
            })
        }

        async fn update_rule(
            pool: &Pool,
            organization: i64,
            expected: &ManagedRule,
            draft: &RuleDraft,
            actor: &Actor,
        ) -> RuleResult<ManagedRule> {
            let mut tx = $begin(pool).await?;
            if let Err(refusal) = still(&mut tx, organization, expected).await? {
                return Ok(Err(refusal));
            }
            let owner = owner_of(&mut tx, draft.scope()).await?;
            if let Some(refusal) = admin::ownership(draft.scope(), owner, organization) {
                return Ok(Err(refusal));
            }
            let order_index = draft.order_index.map_or(expected.order_index, i64::from);
            if let Err(e) = write_rule(&mut tx, Some(expected.id), draft, order_index).await {
                return refused_write(e, draft, order_index);
            }
            let Some(updated) = rule_in(&mut tx, expected.id).await? else {
                return Err(StoreError::Corrupt(format!("resolver rule {} vanished", expected.id)));
            };
            let args = serde_json::json!({"organization_id": organization});
            let (before, after) = (Some(admin::state(expected)), Some(admin::state(&updated.rule)));
            audit(&mut tx, actor, "rule.update", &expected.target(), &args, before, after).await?;
            tx.commit().await?;
            Ok(Ok(updated.rule))
        }

        async fn delete_rule(
            pool: &Pool,
            organization: i64,
            expected: &ManagedRule,
            actor: &Actor,
        ) -> RuleResult<()> {
            let mut tx = $begin(pool).await?;
            if let Err(refusal) = still(&mut tx, organization, expected).await? {
                return Ok(Err(refusal));
            }
            sqlx::query(sql::DELETE).bind(expected.id).execute(&mut *tx).await?;
            let args = serde_json::json!({"organization_id": organization});
            let before = Some(admin::state(expected));
            audit(&mut tx, actor, "rule.delete", &expected.target(), &args, before, None).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }

        async fn reorder_rules(
            pool: &Pool,
            organization: i64,
            scope: &ScopeRef,
            rule_ids: &[i64],
            actor: &Actor,
        ) -> RuleResult<Vec<ManagedRule>> {
            let mut tx = $begin(pool).await?;
            let owner = owner_of(&mut tx, scope).await?;
            if let Some(refusal) = admin::ownership(scope, owner, organization) {
                return Ok(Err(refusal));
            }
            let stored = scope_rules(&mut tx, scope).await?;
            let stored_ids: Vec<i64> = stored.iter().map(|r| r.id).collect();
            if let Some(refusal) = admin::reorder_mismatch(&stored_ids, rule_ids) {
                return Ok(Err(refusal));
            }
            let now = now_rfc3339();
            // order_index is unique within the scope: move every rule past the highest
            // position first, then to its place, so no two rules ever share one.
            let base = stored.iter().map(|r| r.order_index).max().unwrap_or(0) + 1;
            for offset in [base, 0] {
                for (i, id) in (0_i64..).zip(rule_ids) {
                    let moved = sqlx::query(sql::MOVE)
                        .bind(offset + i)
                        .bind(id)
                        .bind(&now)
                        .execute(&mut *tx)
                        .await;
                    match moved {
                        Ok(_) => {}
                        // A rule added to the scope meanwhile took one of the positions.
                        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                            return Ok(Err(RuleRefusal::Conflict(
                                "a rule was added to this scope while it was reordered; list the scope again and retry".into(),
                            )));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            let after = scope_rules(&mut tx, scope).await?;
            let order = |rules: &[ManagedRule]| -> Vec<(i64, i64)> {
                rules.iter().map(|r| (r.id, r.order_index)).collect()
            };
            let args = serde_json::json!({"organization_id": organization, "rule_ids": rule_ids});
            let (before_state, after_state) = (
                Some(admin::order_state(&order(&stored))),
                Some(admin::order_state(&order(&after))),
            );
            audit(&mut tx, actor, "rule.reorder", &scope.target(), &args, before_state, after_state)
                .await?;
            tx.commit().await?;
            Ok(Ok(after))
        }

        #[async_trait::async_trait]
        impl $crate::store::RulesDb for $store {
            async fn custom_urls_due(
                &self,
                checked_before: &str,
                limit: u32,
                now: &str,
            ) -> Result<Vec<(i64, String)>, StoreError> {
                Ok(sqlx::query_as($due)
                    .bind(checked_before)
                    .bind(i64::from(limit))
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn record_url_check(
                &self,
                rule_id: i64,
                alive: bool,
                failures_to_dead: u32,
                now: &str,
            ) -> Result<String, StoreError> {
                let status: Option<String> = sqlx::query_scalar(sql::RECORD_URL_CHECK)
                    .bind(rule_id)
                    .bind(alive)
                    .bind(i64::from(failures_to_dead.max(1)))
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(status.unwrap_or_else(|| "unknown".into()))
            }

            async fn upsert_rules(&self, batch: &[RuleWrite]) -> Result<Vec<WriteOutcome>, StoreError> {
                $upsert_rules(&self.pool, batch).await
            }

            async fn rules_for(
                &self,
                gtin: gs1::Gtin14,
                batch: Option<&str>,
                serial: Option<&str>,
            ) -> Result<Vec<$crate::rules::RuleRecord>, StoreError> {
                $read("resolver rules", || $rules_for(&self.pool, gtin, batch, serial)).await
            }

            async fn organization_rules(
                &self,
                organization: i64,
                offset: u64,
                limit: u64,
            ) -> Result<(Vec<ManagedRule>, u64), StoreError> {
                $read("rules", || organization_rules(&self.pool, organization, offset, limit)).await
            }

            async fn managed_rule(&self, id: i64) -> Result<Option<OwnedRule>, StoreError> {
                $read("rule", || managed_rule(&self.pool, id)).await
            }

            async fn create_rule(
                &self,
                organization: i64,
                draft: &RuleDraft,
                actor: &Actor,
            ) -> RuleResult<ManagedRule> {
                create_rule(&self.pool, organization, draft, actor).await
            }

            async fn update_rule(
                &self,
                organization: i64,
                expected: &ManagedRule,
                draft: &RuleDraft,
                actor: &Actor,
            ) -> RuleResult<ManagedRule> {
                update_rule(&self.pool, organization, expected, draft, actor).await
            }

            async fn delete_rule(
                &self,
                organization: i64,
                expected: &ManagedRule,
                actor: &Actor,
            ) -> RuleResult<()> {
                delete_rule(&self.pool, organization, expected, actor).await
            }

            async fn reorder_rules(
                &self,
                organization: i64,
                scope: &ScopeRef,
                rule_ids: &[i64],
                actor: &Actor,
            ) -> RuleResult<Vec<ManagedRule>> {
                reorder_rules(&self.pool, organization, scope, rule_ids, actor).await
            }
        }
    };
}
pub(crate) use rules_db_impl;
