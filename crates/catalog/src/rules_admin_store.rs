//! The resolver-rule management transactions (see [`crate::rules_admin`]), written once for
//! both backends: [`rules_admin_store!`] expands them in `sqlite::rules_admin` and
//! `postgres::rules_admin`, which supply their pool, connection, row and database types, how
//! a transaction begins (SQLite: `BEGIN IMMEDIATE`, taking the write lock at once), and the
//! statements that read the rules a change touches (PostgreSQL locks them `FOR UPDATE`). Each
//! change runs in one transaction that checks ownership and the expected version, writes the
//! rule and appends its `audit_events` row, so the audit log never disagrees with the rules.

/// Expands the rule-management functions for one backend. Arguments: the pool, connection,
/// row and database types, an async fn `begin(&Pool) -> Result<Transaction, sqlx::Error>`,
/// and the SQL reading one rule and one scope's rules inside a change (locking them where the
/// backend needs it).
macro_rules! rules_admin_store {
    (
        pool: $Pool:ty,
        conn: $Conn:ty,
        row: $Row:ty,
        db: $Db:ty,
        begin: $begin:path,
        rule_in_change: $rule_sql:expr,
        scope_in_change: $scope_sql:expr $(,)?
    ) => {
        use $crate::model::now_rfc3339;
        use $crate::rules_admin::{
            self as admin, Actor, ManagedRule, OwnedRule, RuleDraft, RuleRefusal, RuleResult,
            ScopeKind, ScopeRef, sql,
        };
        use $crate::store::StoreError;

        fn decode_all(rows: &[$Row]) -> Result<Vec<OwnedRule>, StoreError> {
            rows.iter().map(admin::decode).collect()
        }

        pub(crate) async fn organization_rules(
            pool: &$Pool,
            organization: i64,
            offset: u64,
            limit: u64,
        ) -> Result<(Vec<ManagedRule>, u64), StoreError> {
            let total: i64 =
                sqlx::query_scalar(sql::COUNT).bind(organization).fetch_one(pool).await?;
            let rows = sqlx::query(sql::PAGE)
                .bind(organization)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await?;
            let items = decode_all(&rows)?.into_iter().map(|o| o.rule).collect();
            Ok((items, u64::try_from(total).unwrap_or(0)))
        }

        pub(crate) async fn managed_rule(
            pool: &$Pool,
            id: i64,
        ) -> Result<Option<OwnedRule>, StoreError> {
            let row = sqlx::query(sql::RULE).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(admin::decode).transpose()
        }

        /// A rule with its owner, as the change's transaction sees it.
        async fn rule_in(conn: &mut $Conn, id: i64) -> Result<Option<OwnedRule>, StoreError> {
            let row = sqlx::query($rule_sql).bind(id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(admin::decode).transpose()
        }

        /// The rules of a scope, as the change's transaction sees them.
        async fn scope_rules(
            conn: &mut $Conn,
            scope: &ScopeRef,
        ) -> Result<Vec<ManagedRule>, StoreError> {
            let rows = sqlx::query($scope_sql)
                .bind(scope.kind().as_str())
                .bind(scope.key())
                .fetch_all(&mut *conn)
                .await?;
            Ok(decode_all(&rows)?.into_iter().map(|o| o.rule).collect())
        }

        /// The organization owning a scope instance (`None`: GLOBAL, unknown, or nobody's).
        async fn owner_of(conn: &mut $Conn, scope: &ScopeRef) -> Result<Option<i64>, StoreError> {
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
            conn: &mut $Conn,
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
        fn refused_write(
            e: sqlx::Error,
            draft: &RuleDraft,
            order_index: i64,
        ) -> RuleResult<ManagedRule> {
            match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    Ok(Err(RuleRefusal::Conflict(format!(
                        "order_index {order_index} is taken by another rule of this {} scope ({}); pick another or reorder the scope",
                        draft.scope().kind().as_str(),
                        draft.scope().key()
                    ))))
                }
                _ if super::is_constraint_violation(&e) => {
                    Err(StoreError::Rejected(super::constraint_message(&e)))
                }
                _ => Err(e.into()),
            }
        }

        /// Writes a draft as rule `id` (`None`: a new rule); the rule's id.
        async fn write(
            tx: &mut sqlx::Transaction<'static, $Db>,
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
                    query.fetch_one(&mut **tx).await?.try_get(0)
                }
                Some(id) => {
                    query.bind(id).execute(&mut **tx).await?;
                    Ok(id)
                }
            }
        }

        pub(crate) async fn create_rule(
            pool: &$Pool,
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
            let id = match write(&mut tx, None, draft, order_index).await {
                Ok(id) => id,
                Err(e) => return refused_write(e, draft, order_index),
            };
            let Some(created) = rule_in(&mut tx, id).await? else {
                return Err(StoreError::Corrupt(format!(
                    "resolver rule {id} vanished while created"
                )));
            };
            let args = serde_json::json!({"organization_id": organization});
            let after = Some(admin::state(&created.rule));
            audit(&mut tx, actor, "rule.create", &created.rule.target(), &args, None, after)
                .await?;
            tx.commit().await?;
            Ok(Ok(created.rule))
        }

        /// Whether the stored rule is still `expected` and the organization's.
        async fn still(
            conn: &mut $Conn,
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

        pub(crate) async fn update_rule(
            pool: &$Pool,
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
            if let Err(e) = write(&mut tx, Some(expected.id), draft, order_index).await {
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

        pub(crate) async fn delete_rule(
            pool: &$Pool,
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

        pub(crate) async fn reorder_rules(
            pool: &$Pool,
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
    };
}
pub(crate) use rules_admin_store;
