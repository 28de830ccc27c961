//! Resolver-rule management on PostgreSQL (see [`crate::rules_admin`]): the shared
//! transactions of [`crate::rules_admin_store`], which lock the rules a change reads
//! (`FOR UPDATE`) so concurrent changes from any process serialize on them.

use super::*;
use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgPool, PgRow};

crate::rules_admin_store::rules_admin_store! {
    pool: PgPool,
    conn: PgConnection,
    row: PgRow,
    db: Postgres,
    begin: super::begin_write,
    rule_in_change: sql::RULE_FOR_UPDATE,
    scope_in_change: sql::SCOPE_RULES_FOR_UPDATE,
}

#[async_trait::async_trait]
impl crate::store::RulesDb for PgStore {
    async fn custom_urls_due(
        &self,
        checked_before: &str,
        limit: u32,
        now: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        // Rows another process is claiming right now are skipped, not waited for.
        Ok(sqlx::query_as(
            "UPDATE resolver_rules r SET url_checked_at = $3 FROM ( \
               SELECT id FROM resolver_rules \
               WHERE enabled AND destination_type = 'CUSTOM_URL' \
                 AND (url_checked_at IS NULL OR url_checked_at < $1) \
               ORDER BY url_checked_at NULLS FIRST, id LIMIT $2 \
               FOR UPDATE SKIP LOCKED) due \
             WHERE r.id = due.id RETURNING r.id, r.custom_url",
        )
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
        let status: Option<String> = sqlx::query_scalar(
            "UPDATE resolver_rules SET \
                 url_failures = CASE WHEN $2 THEN 0 ELSE url_failures + 1 END, \
                 url_status = CASE WHEN $2 THEN 'alive' \
                                   WHEN url_failures + 1 >= $3 THEN 'dead' ELSE url_status END, \
                 url_checked_at = $4 \
             WHERE id = $1 RETURNING url_status",
        )
        .bind(rule_id)
        .bind(alive)
        .bind(i64::from(failures_to_dead.max(1)))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(status.unwrap_or_else(|| "unknown".into()))
    }

    async fn upsert_rules(
        &self,
        batch: &[crate::model::RuleWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        write::upsert_rules(&self.pool, batch).await
    }

    async fn rules_for(
        &self,
        gtin: gs1::Gtin14,
        batch: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Vec<crate::rules::RuleRecord>, StoreError> {
        reading("resolver rules", || read::rules_for(&self.pool, gtin, batch, serial)).await
    }

    // Resolver-rule management

    async fn organization_rules(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::rules_admin::ManagedRule>, u64), StoreError> {
        reading("rules", || organization_rules(&self.pool, organization, offset, limit)).await
    }

    async fn managed_rule(
        &self,
        id: i64,
    ) -> Result<Option<crate::rules_admin::OwnedRule>, StoreError> {
        reading("rule", || managed_rule(&self.pool, id)).await
    }

    async fn create_rule(
        &self,
        organization: i64,
        draft: &crate::rules_admin::RuleDraft,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<crate::rules_admin::ManagedRule> {
        create_rule(&self.pool, organization, draft, actor).await
    }

    async fn update_rule(
        &self,
        organization: i64,
        expected: &crate::rules_admin::ManagedRule,
        draft: &crate::rules_admin::RuleDraft,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<crate::rules_admin::ManagedRule> {
        update_rule(&self.pool, organization, expected, draft, actor).await
    }

    async fn delete_rule(
        &self,
        organization: i64,
        expected: &crate::rules_admin::ManagedRule,
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<()> {
        delete_rule(&self.pool, organization, expected, actor).await
    }

    async fn reorder_rules(
        &self,
        organization: i64,
        scope: &crate::rules_admin::ScopeRef,
        rule_ids: &[i64],
        actor: &crate::rules_admin::Actor,
    ) -> crate::rules_admin::RuleResult<Vec<crate::rules_admin::ManagedRule>> {
        reorder_rules(&self.pool, organization, scope, rule_ids, actor).await
    }
}
