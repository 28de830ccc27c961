//! [`AuthStore`] on the catalog's PostgreSQL database, shared by every prodlink process on it:
//! `$N` placeholders, strict decoding (BIGINT as `i64`, BOOLEAN as `bool`, TEXT as `String`;
//! timestamps and JSON are RFC 3339 / JSON text written by the application, as on SQLite).
//! Single-use and rotation steps are one `UPDATE … WHERE … IS NULL RETURNING …` each: under
//! READ COMMITTED the second of two concurrent updates waits for the first, re-checks the
//! condition on the committed row and matches nothing, so only one use succeeds.

use async_trait::async_trait;
use catalog::postgres::reading;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{
    ApiKeyRecord, AuditRecord, AuthStore, AuthStoreError, ClientKind, ClientRecord, CodeRecord,
    ConsentRecord, GrantRecord, NewApiKey, OrganizationRecord, TokenRecord, UserRecord,
    api_key_row, is_unique_violation, json_list, json_text, new_secret,
};

/// [`AuthStore`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAuthStore {
    pool: PgPool,
}

impl PgAuthStore {
    /// Over the catalog's PostgreSQL pool (the auth tables are part of the catalog schema).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn user(r: &PgRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        disabled: r.try_get("disabled")?,
        organization_id: r.try_get("organization_id")?,
    })
}

fn organization(r: &PgRow) -> Result<OrganizationRecord, sqlx::Error> {
    Ok(OrganizationRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
    })
}

fn grant(r: &PgRow) -> Result<GrantRecord, sqlx::Error> {
    Ok(GrantRecord {
        id: r.try_get("grant_id")?,
        user_id: r.try_get("user_id")?,
        client_id: r.try_get("client_id")?,
        scope: r.try_get("grant_scope")?,
        resource: r.try_get("resource")?,
        revoked_at: r.try_get("grant_revoked_at")?,
    })
}

#[async_trait]
impl AuthStore for PgAuthStore {
    async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        now: &str,
    ) -> Result<i64, AuthStoreError> {
        let r = sqlx::query("INSERT INTO users (email, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .bind(now)
            .fetch_one(&self.pool)
            .await;
        match r {
            Ok(row) => Ok(row.try_get("id")?),
            Err(e) if is_unique_violation(&e) => {
                Err(AuthStoreError::Conflict(format!("a user with the email {email} exists")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, AuthStoreError> {
        let r = reading("user by email", || {
            sqlx::query("SELECT id, email, password_hash, disabled, organization_id FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
        })
        .await?;
        Ok(r.as_ref().map(user).transpose()?)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, AuthStoreError> {
        let r = reading("user by id", || {
            sqlx::query("SELECT id, email, password_hash, disabled, organization_id FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
        })
        .await?;
        Ok(r.as_ref().map(user).transpose()?)
    }

    async fn create_session(
        &self,
        hash: &str,
        user_id: i64,
        now: &str,
        expires: &str,
    ) -> Result<(), AuthStoreError> {
        sqlx::query("INSERT INTO auth_sessions (session_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash)
            .bind(user_id)
            .bind(now)
            .bind(expires)
            .execute(&self.pool)
            .await?;
        // Opportunistic cleanup of expired sessions.
        sqlx::query("DELETE FROM auth_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        hash: &str,
        now: &str,
    ) -> Result<Option<UserRecord>, AuthStoreError> {
        let r = reading("session user", || {
sqlx::query(
            "SELECT u.id, u.email, u.password_hash, u.disabled, u.organization_id FROM auth_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.session_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
})
.await?;
        Ok(r.as_ref().map(user).transpose()?)
    }

    async fn delete_session(&self, hash: &str) -> Result<(), AuthStoreError> {
        sqlx::query("DELETE FROM auth_sessions WHERE session_hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, AuthStoreError> {
        let r = reading("client", || {
sqlx::query(
            "SELECT client_id, kind, client_name, redirect_uris, token_endpoint_auth_method, secret_hash, scope, \
                    grant_types, application_type, document, document_expires_at \
             FROM oauth_clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
})
.await?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(ClientRecord {
            client_id: r.try_get("client_id")?,
            kind: ClientKind::parse(&r.try_get::<String, _>("kind")?),
            client_name: r.try_get("client_name")?,
            redirect_uris: json_list(&r.try_get::<String, _>("redirect_uris")?),
            auth_method: r.try_get("token_endpoint_auth_method")?,
            secret_hash: r.try_get("secret_hash")?,
            scope: r.try_get("scope")?,
            grant_types: json_list(&r.try_get::<String, _>("grant_types")?),
            application_type: r.try_get("application_type")?,
            document: r.try_get("document")?,
            document_expires_at: r.try_get("document_expires_at")?,
        }))
    }

    async fn save_client(&self, c: &ClientRecord, now: &str) -> Result<(), AuthStoreError> {
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, token_endpoint_auth_method, \
                 secret_hash, scope, grant_types, application_type, document, fetched_at, document_expires_at, \
                 created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT(client_id) DO UPDATE SET kind = excluded.kind, client_name = excluded.client_name, \
                 redirect_uris = excluded.redirect_uris, \
                 token_endpoint_auth_method = excluded.token_endpoint_auth_method, \
                 secret_hash = excluded.secret_hash, scope = excluded.scope, grant_types = excluded.grant_types, \
                 application_type = excluded.application_type, document = excluded.document, \
                 fetched_at = excluded.fetched_at, document_expires_at = excluded.document_expires_at, \
                 updated_at = excluded.updated_at",
        )
        .bind(&c.client_id)
        .bind(c.kind.as_str())
        .bind(&c.client_name)
        .bind(json_text(&c.redirect_uris))
        .bind(&c.auth_method)
        .bind(&c.secret_hash)
        .bind(&c.scope)
        .bind(json_text(&c.grant_types))
        .bind(&c.application_type)
        .bind(&c.document)
        .bind(c.document.as_ref().map(|_| now))
        .bind(&c.document_expires_at)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn touch_client(&self, client_id: &str, now: &str) -> Result<(), AuthStoreError> {
        sqlx::query("UPDATE oauth_clients SET last_used_at = $1 WHERE client_id = $2")
            .bind(now)
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_stale_clients(&self, before: &str) -> Result<u64, AuthStoreError> {
        let r = sqlx::query(
            "DELETE FROM oauth_clients WHERE kind = 'dcr' AND last_used_at IS NULL AND created_at < $1 \
               AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.client_id)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn consent(
        &self,
        user_id: i64,
        client_id: &str,
    ) -> Result<Option<String>, AuthStoreError> {
        Ok(reading("consent", || {
sqlx::query_scalar("SELECT scope FROM oauth_consents WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
})
.await?)
    }

    async fn save_consent(
        &self,
        user_id: i64,
        client_id: &str,
        scope: &str,
        now: &str,
    ) -> Result<(), AuthStoreError> {
        sqlx::query(
            "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT(user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at, revoked_at = NULL",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consents(&self, user_id: i64) -> Result<Vec<ConsentRecord>, AuthStoreError> {
        let rows = reading("consents", || {
            sqlx::query(
                "SELECT c.client_id, k.client_name, c.scope, c.granted_at FROM oauth_consents c \
             JOIN oauth_clients k ON k.client_id = c.client_id \
             WHERE c.user_id = $1 AND c.revoked_at IS NULL ORDER BY c.granted_at DESC",
            )
            .bind(user_id)
            .fetch_all(&self.pool)
        })
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("client_name")?,
                    scope: r.try_get("scope")?,
                    granted_at: r.try_get("granted_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    async fn revoke_consent(
        &self,
        user_id: i64,
        client_id: &str,
        now: &str,
    ) -> Result<bool, AuthStoreError> {
        // One transaction: the consent and its grants end together.
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE oauth_consents SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE oauth_grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        notify_revocation(&mut tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_grant(
        &self,
        user_id: Option<i64>,
        client_id: &str,
        scope: &str,
        resource: Option<&str>,
        now: &str,
    ) -> Result<i64, AuthStoreError> {
        let r = sqlx::query("INSERT INTO oauth_grants (user_id, client_id, scope, resource, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(user_id)
            .bind(client_id)
            .bind(scope)
            .bind(resource)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get("id")?)
    }

    async fn revoke_grant(&self, grant_id: i64, now: &str) -> Result<(), AuthStoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE oauth_grants SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(grant_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE grant_id = $2",
        )
        .bind(now)
        .bind(grant_id)
        .execute(&mut *tx)
        .await?;
        notify_revocation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_code(
        &self,
        hash: &str,
        grant_id: i64,
        redirect_uri: &str,
        challenge: &str,
        expires: &str,
    ) -> Result<(), AuthStoreError> {
        sqlx::query("INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash)
            .bind(grant_id)
            .bind(redirect_uri)
            .bind(challenge)
            .bind(expires)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn code(&self, hash: &str) -> Result<Option<CodeRecord>, AuthStoreError> {
        let r = reading("code", || {
sqlx::query(
            "SELECT c.redirect_uri, c.code_challenge, c.expires_at, c.used_at, g.id AS grant_id, g.user_id, g.client_id, \
                    g.scope AS grant_scope, g.resource, g.revoked_at AS grant_revoked_at \
             FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.code_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
})
.await?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(CodeRecord {
            grant: grant(&r)?,
            redirect_uri: r.try_get("redirect_uri")?,
            code_challenge: r.try_get("code_challenge")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        }))
    }

    async fn use_code(&self, hash: &str, now: &str) -> Result<bool, AuthStoreError> {
        let used = sqlx::query(
            "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
             RETURNING code_hash",
        )
        .bind(now)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(used.is_some())
    }

    async fn create_token(&self, t: &TokenRecord) -> Result<(), AuthStoreError> {
        sqlx::query("INSERT INTO oauth_tokens (token_hash, kind, grant_id, scope, audience, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&t.token_hash)
            .bind(&t.kind)
            .bind(t.grant_id)
            .bind(&t.scope)
            .bind(&t.audience)
            .bind(&t.expires_at)
            .bind(&t.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn token(
        &self,
        hash: &str,
    ) -> Result<Option<(TokenRecord, GrantRecord)>, AuthStoreError> {
        let r = reading("token", || {
sqlx::query(
            "SELECT t.token_hash, t.kind, t.grant_id, t.scope, t.audience, t.expires_at, t.rotated_at, t.revoked_at, \
                    t.created_at, g.user_id, g.client_id, g.scope AS grant_scope, g.resource, \
                    g.revoked_at AS grant_revoked_at \
             FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
})
.await?;
        let Some(r) = r else { return Ok(None) };
        let t = TokenRecord {
            token_hash: r.try_get("token_hash")?,
            kind: r.try_get("kind")?,
            grant_id: r.try_get("grant_id")?,
            scope: r.try_get("scope")?,
            audience: r.try_get("audience")?,
            expires_at: r.try_get("expires_at")?,
            rotated_at: r.try_get("rotated_at")?,
            revoked_at: r.try_get("revoked_at")?,
            created_at: r.try_get("created_at")?,
        };
        Ok(Some((t, grant(&r)?)))
    }

    async fn rotate_refresh(&self, hash: &str, now: &str) -> Result<bool, AuthStoreError> {
        let rotated = sqlx::query(
            "UPDATE oauth_tokens SET rotated_at = $1 WHERE token_hash = $2 AND kind = 'refresh' \
               AND rotated_at IS NULL AND revoked_at IS NULL \
             RETURNING token_hash",
        )
        .bind(now)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(rotated.is_some())
    }

    async fn revoke_token(&self, hash: &str, now: &str) -> Result<(), AuthStoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE token_hash = $2",
        )
        .bind(now)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        notify_revocation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit(&self, a: &AuditRecord) -> Result<(), AuthStoreError> {
        sqlx::query(
            "INSERT INTO audit_events (occurred_at, request_id, action, outcome, user_id, client_id, target, arguments) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&a.occurred_at)
        .bind(&a.request_id)
        .bind(&a.action)
        .bind(&a.outcome)
        .bind(a.user_id)
        .bind(&a.client_id)
        .bind(&a.target)
        .bind(a.arguments.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn count_audit(
        &self,
        user_id: i64,
        action: &str,
        outcome: &str,
        since: &str,
    ) -> Result<u64, AuthStoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = $2 AND outcome = $3 AND occurred_at >= $4",
        )
        .bind(user_id)
        .bind(action)
        .bind(outcome)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn server_secret(&self) -> Result<Vec<u8>, AuthStoreError> {
        let (candidate, now) = new_secret();
        // The first process to get here decides; everyone reads the same value. A concurrent
        // insert of the same key waits for the first to commit and then does nothing, so the
        // read below always sees the one committed secret.
        sqlx::query("INSERT INTO prodlink_meta (key, value, updated_at) VALUES ('auth_secret', $1, $2) ON CONFLICT(key) DO NOTHING")
            .bind(&candidate)
            .bind(&now)
            .execute(&self.pool)
            .await?;
        let v: String =
            sqlx::query_scalar("SELECT value FROM prodlink_meta WHERE key = 'auth_secret'")
                .fetch_one(&self.pool)
                .await?;
        Ok(hex::decode(v).unwrap_or_default())
    }

    async fn create_organization(&self, name: &str, now: &str) -> Result<i64, AuthStoreError> {
        let r = sqlx::query(
            "INSERT INTO organizations (name, created_at, updated_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match r {
            Ok(row) => Ok(row.try_get("id")?),
            Err(e) if is_unique_violation(&e) => {
                Err(AuthStoreError::Conflict(format!("an organization named {name:?} exists")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
        let r = reading("organization by name", || {
            sqlx::query("SELECT id, name, created_at FROM organizations WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
        })
        .await?;
        Ok(r.as_ref().map(organization).transpose()?)
    }

    async fn organization_by_id(
        &self,
        id: i64,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
        let r = reading("organization by id", || {
            sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
        })
        .await?;
        Ok(r.as_ref().map(organization).transpose()?)
    }

    async fn organizations(&self) -> Result<Vec<OrganizationRecord>, AuthStoreError> {
        let rows = reading("organizations", || {
            sqlx::query("SELECT id, name, created_at FROM organizations ORDER BY name, id")
                .fetch_all(&self.pool)
        })
        .await?;
        Ok(rows.iter().map(organization).collect::<Result<_, _>>()?)
    }

    async fn set_user_organization(
        &self,
        user_id: i64,
        organization_id: Option<i64>,
        now: &str,
    ) -> Result<bool, AuthStoreError> {
        // Other processes may have cached the user's organization: tell them.
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE users SET organization_id = $1, updated_at = $2 WHERE id = $3")
            .bind(organization_id)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        notify_revocation(&mut tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn create_api_key(&self, k: &NewApiKey) -> Result<i64, AuthStoreError> {
        let r = sqlx::query(
            "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, \
                 rate_limit_per_minute, created_by_user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&k.prefix)
        .bind(&k.secret_hash)
        .bind(&k.name)
        .bind(k.organization_id)
        .bind(&k.scopes)
        .bind(k.rate_limit_per_minute.map(i64::from))
        .bind(k.created_by_user_id)
        .bind(&k.created_at)
        .fetch_one(&self.pool)
        .await;
        match r {
            Ok(row) => Ok(row.try_get("id")?),
            Err(e) if is_unique_violation(&e) => {
                Err(AuthStoreError::Conflict("an API key with this hash exists".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(ApiKeyRecord, String)>, AuthStoreError> {
        let r = reading("API key by hash", || {
            sqlx::query(concat!(api_key_select!(), "WHERE k.secret_hash = $1"))
                .bind(hash)
                .fetch_optional(&self.pool)
        })
        .await?;
        Ok(r.as_ref().map(api_key_row).transpose()?)
    }

    async fn api_keys(
        &self,
        organization_id: Option<i64>,
    ) -> Result<Vec<ApiKeyRecord>, AuthStoreError> {
        let rows = reading("API keys", || {
            sqlx::query(concat!(
                api_key_select!(),
                "WHERE $1::BIGINT IS NULL OR k.organization_id = $1 ORDER BY k.id"
            ))
            .bind(organization_id)
            .fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(|r| Ok(api_key_row(r)?.0)).collect()
    }

    async fn revoke_api_key(&self, id: i64, now: &str) -> Result<bool, AuthStoreError> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if revoked.is_some() {
            notify_revocation(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(revoked.is_some())
    }

    async fn touch_api_key(&self, id: i64, now: &str) -> Result<(), AuthStoreError> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 \
               AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Announces a revocation (of tokens, grants, consents or API keys, or a change of a user's
/// organization) to every process on the database, delivered when the transaction commits:
/// each drops its cached token and API key validations (see `AuthServer::on_postgres`).
async fn notify_revocation(tx: &mut sqlx::PgConnection) -> Result<(), AuthStoreError> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(crate::server::REVOCATION_CHANNEL)
        .execute(tx)
        .await?;
    Ok(())
}
