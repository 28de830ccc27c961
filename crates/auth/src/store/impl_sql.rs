//! The one implementation of [`AuthStore`](super::AuthStore) over SQL, generated for each
//! backend by [`auth_store_impl!`] from the statements in [`sql`](super::sql).

/// Generates `impl AuthStore for $store` and the row-to-record functions it uses, from one
/// body shared by the backends.
///
/// Input: only what differs between them:
/// - `store`: the store type, a struct with a `pool` field of the backend's pool;
/// - `row`: the backend's row type (`SqliteRow`, `PgRow`);
/// - `begin`: an `async fn(&Pool) -> Result<Transaction<'static, DB>, sqlx::Error>` that opens
///   a write transaction (SQLite: `BEGIN IMMEDIATE`, so the write lock is taken up front;
///   PostgreSQL: `BEGIN`);
/// - `read`: how a read is run, with the signature of `catalog::postgres::reading`
///   (`(what, || future) -> future`): PostgreSQL retries a read whose connection was lost,
///   SQLite runs it once;
/// - `notify`: an `async fn(&mut Connection) -> Result<(), AuthStoreError>` called inside the
///   transaction of every revocation (consent, grant, token, API key) and change of a user's
///   organization: PostgreSQL announces it to the other processes, SQLite does nothing.
///
/// Output, inside a private module `generated` of the invoking module (which sees the invoking
/// module's items through `use super::*`): private functions `user`, `organization`, `grant`,
/// `client`, `consent` and `token` (a row of the statements in `sql` to its record) and the
/// `#[async_trait] impl AuthStore for $store`. Every statement is a constant of `sql`; reads
/// other than `count_audit` and the server secret's read-back go through `read`; writes of
/// more than one statement, and every revocation, run in a `begin` transaction.
macro_rules! auth_store_impl {
    (
        store: $store:ty,
        row: $row:ty,
        begin: $begin:path,
        read: $read:path,
        notify: $notify:path $(,)?
    ) => {
        mod generated {
            use super::*;

            use async_trait::async_trait;
            use sqlx::Row;

            use $crate::store::sql;
            use $crate::store::{
                ApiKeyRecord, AuditRecord, AuthStore, AuthStoreError, ClientKind, ClientRecord,
                CodeRecord, ConsentRecord, GrantRecord, NewApiKey, OrganizationRecord, TokenRecord,
                UserRecord, api_key_row, is_unique_violation, json_list, json_text, new_secret,
            };

            fn user(r: &$row) -> Result<UserRecord, sqlx::Error> {
                Ok(UserRecord {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    password_hash: r.try_get("password_hash")?,
                    disabled: r.try_get("disabled")?,
                    organization_id: r.try_get("organization_id")?,
                })
            }

            fn organization(r: &$row) -> Result<OrganizationRecord, sqlx::Error> {
                Ok(OrganizationRecord {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn grant(r: &$row) -> Result<GrantRecord, sqlx::Error> {
                Ok(GrantRecord {
                    id: r.try_get("grant_id")?,
                    user_id: r.try_get("user_id")?,
                    client_id: r.try_get("client_id")?,
                    scope: r.try_get("grant_scope")?,
                    resource: r.try_get("resource")?,
                    revoked_at: r.try_get("grant_revoked_at")?,
                })
            }

            fn client(r: &$row) -> Result<ClientRecord, sqlx::Error> {
                Ok(ClientRecord {
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
                })
            }

            fn consent(r: &$row) -> Result<ConsentRecord, sqlx::Error> {
                Ok(ConsentRecord {
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("client_name")?,
                    scope: r.try_get("scope")?,
                    granted_at: r.try_get("granted_at")?,
                })
            }

            fn token(r: &$row) -> Result<TokenRecord, sqlx::Error> {
                Ok(TokenRecord {
                    token_hash: r.try_get("token_hash")?,
                    kind: r.try_get("kind")?,
                    grant_id: r.try_get("grant_id")?,
                    scope: r.try_get("scope")?,
                    audience: r.try_get("audience")?,
                    expires_at: r.try_get("expires_at")?,
                    rotated_at: r.try_get("rotated_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            /// The id a `RETURNING id` insert gave, or `conflict` if the row's key exists.
            fn inserted(
                r: Result<$row, sqlx::Error>,
                conflict: impl FnOnce() -> String,
            ) -> Result<i64, AuthStoreError> {
                match r {
                    Ok(row) => Ok(row.try_get("id")?),
                    Err(e) if is_unique_violation(&e) => Err(AuthStoreError::Conflict(conflict())),
                    Err(e) => Err(e.into()),
                }
            }

            #[async_trait]
            impl AuthStore for $store {
                async fn create_user(
                    &self,
                    email: &str,
                    password_hash: &str,
                    now: &str,
                ) -> Result<i64, AuthStoreError> {
                    let r = sqlx::query(sql::CREATE_USER)
                        .bind(email)
                        .bind(password_hash)
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await;
                    inserted(r, || format!("a user with the email {email} exists"))
                }

                async fn user_by_email(
                    &self,
                    email: &str,
                ) -> Result<Option<UserRecord>, AuthStoreError> {
                    let r = $read("user by email", || {
                        sqlx::query(sql::USER_BY_EMAIL).bind(email).fetch_optional(&self.pool)
                    })
                    .await?;
                    Ok(r.as_ref().map(user).transpose()?)
                }

                async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, AuthStoreError> {
                    let r = $read("user by id", || {
                        sqlx::query(sql::USER_BY_ID).bind(id).fetch_optional(&self.pool)
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
                    sqlx::query(sql::CREATE_SESSION)
                        .bind(hash)
                        .bind(user_id)
                        .bind(now)
                        .bind(expires)
                        .execute(&self.pool)
                        .await?;
                    // Opportunistic cleanup of expired sessions.
                    sqlx::query(sql::DELETE_EXPIRED_SESSIONS).bind(now).execute(&self.pool).await?;
                    Ok(())
                }

                async fn session_user(
                    &self,
                    hash: &str,
                    now: &str,
                ) -> Result<Option<UserRecord>, AuthStoreError> {
                    let r = $read("session user", || {
                        sqlx::query(sql::SESSION_USER)
                            .bind(hash)
                            .bind(now)
                            .fetch_optional(&self.pool)
                    })
                    .await?;
                    Ok(r.as_ref().map(user).transpose()?)
                }

                async fn delete_session(&self, hash: &str) -> Result<(), AuthStoreError> {
                    sqlx::query(sql::DELETE_SESSION).bind(hash).execute(&self.pool).await?;
                    Ok(())
                }

                async fn client(
                    &self,
                    client_id: &str,
                ) -> Result<Option<ClientRecord>, AuthStoreError> {
                    let r = $read("client", || {
                        sqlx::query(sql::CLIENT).bind(client_id).fetch_optional(&self.pool)
                    })
                    .await?;
                    Ok(r.as_ref().map(client).transpose()?)
                }

                async fn save_client(
                    &self,
                    c: &ClientRecord,
                    now: &str,
                ) -> Result<(), AuthStoreError> {
                    sqlx::query(sql::SAVE_CLIENT)
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
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn touch_client(
                    &self,
                    client_id: &str,
                    now: &str,
                ) -> Result<(), AuthStoreError> {
                    sqlx::query(sql::TOUCH_CLIENT)
                        .bind(now)
                        .bind(client_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delete_stale_clients(&self, before: &str) -> Result<u64, AuthStoreError> {
                    let r = sqlx::query(sql::DELETE_STALE_CLIENTS)
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
                    Ok($read("consent", || {
                        sqlx::query_scalar(sql::CONSENT)
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
                    sqlx::query(sql::SAVE_CONSENT)
                        .bind(user_id)
                        .bind(client_id)
                        .bind(scope)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn consents(
                    &self,
                    user_id: i64,
                ) -> Result<Vec<ConsentRecord>, AuthStoreError> {
                    let rows = $read("consents", || {
                        sqlx::query(sql::CONSENTS).bind(user_id).fetch_all(&self.pool)
                    })
                    .await?;
                    Ok(rows.iter().map(consent).collect::<Result<_, _>>()?)
                }

                async fn revoke_consent(
                    &self,
                    user_id: i64,
                    client_id: &str,
                    now: &str,
                ) -> Result<bool, AuthStoreError> {
                    // One transaction: the consent and its grants end together.
                    let mut tx = $begin(&self.pool).await?;
                    let r = sqlx::query(sql::REVOKE_CONSENT)
                        .bind(now)
                        .bind(user_id)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(sql::REVOKE_CONSENT_GRANTS)
                        .bind(now)
                        .bind(user_id)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await?;
                    $notify(&mut tx).await?;
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
                    let r = sqlx::query(sql::CREATE_GRANT)
                        .bind(user_id)
                        .bind(client_id)
                        .bind(scope)
                        .bind(resource)
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(r.try_get("id")?)
                }

                async fn revoke_grant(
                    &self,
                    grant_id: i64,
                    now: &str,
                ) -> Result<(), AuthStoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    sqlx::query(sql::REVOKE_GRANT)
                        .bind(now)
                        .bind(grant_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(sql::REVOKE_GRANT_TOKENS)
                        .bind(now)
                        .bind(grant_id)
                        .execute(&mut *tx)
                        .await?;
                    $notify(&mut tx).await?;
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
                    sqlx::query(sql::CREATE_CODE)
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
                    let r = $read("code", || {
                        sqlx::query(sql::CODE).bind(hash).fetch_optional(&self.pool)
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
                    let used = sqlx::query(sql::USE_CODE)
                        .bind(now)
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(used.is_some())
                }

                async fn create_token(&self, t: &TokenRecord) -> Result<(), AuthStoreError> {
                    sqlx::query(sql::CREATE_TOKEN)
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
                    let r = $read("token", || {
                        sqlx::query(sql::TOKEN).bind(hash).fetch_optional(&self.pool)
                    })
                    .await?;
                    let Some(r) = r else { return Ok(None) };
                    Ok(Some((token(&r)?, grant(&r)?)))
                }

                async fn rotate_refresh(
                    &self,
                    hash: &str,
                    now: &str,
                ) -> Result<bool, AuthStoreError> {
                    let rotated = sqlx::query(sql::ROTATE_REFRESH)
                        .bind(now)
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(rotated.is_some())
                }

                async fn revoke_token(&self, hash: &str, now: &str) -> Result<(), AuthStoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    sqlx::query(sql::REVOKE_TOKEN).bind(now).bind(hash).execute(&mut *tx).await?;
                    $notify(&mut tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn audit(&self, a: &AuditRecord) -> Result<(), AuthStoreError> {
                    sqlx::query(sql::AUDIT)
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
                    let n: i64 = sqlx::query_scalar(sql::COUNT_AUDIT)
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
                    // The first process to get here decides; everyone reads the same value.
                    sqlx::query(sql::SAVE_SERVER_SECRET)
                        .bind(&candidate)
                        .bind(&now)
                        .execute(&self.pool)
                        .await?;
                    let v: String =
                        sqlx::query_scalar(sql::SERVER_SECRET).fetch_one(&self.pool).await?;
                    Ok(hex::decode(v).unwrap_or_default())
                }

                async fn create_organization(
                    &self,
                    name: &str,
                    now: &str,
                ) -> Result<i64, AuthStoreError> {
                    let r = sqlx::query(sql::CREATE_ORGANIZATION)
                        .bind(name)
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await;
                    inserted(r, || format!("an organization named {name:?} exists"))
                }

                async fn organization_by_name(
                    &self,
                    name: &str,
                ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
                    let r = $read("organization by name", || {
                        sqlx::query(sql::ORGANIZATION_BY_NAME).bind(name).fetch_optional(&self.pool)
                    })
                    .await?;
                    Ok(r.as_ref().map(organization).transpose()?)
                }

                async fn organization_by_id(
                    &self,
                    id: i64,
                ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
                    let r = $read("organization by id", || {
                        sqlx::query(sql::ORGANIZATION_BY_ID).bind(id).fetch_optional(&self.pool)
                    })
                    .await?;
                    Ok(r.as_ref().map(organization).transpose()?)
                }

                async fn organizations(&self) -> Result<Vec<OrganizationRecord>, AuthStoreError> {
                    let rows = $read("organizations", || {
                        sqlx::query(sql::ORGANIZATIONS).fetch_all(&self.pool)
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
                    let mut tx = $begin(&self.pool).await?;
                    let r = sqlx::query(sql::SET_USER_ORGANIZATION)
                        .bind(organization_id)
                        .bind(now)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    $notify(&mut tx).await?;
                    tx.commit().await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn create_api_key(&self, k: &NewApiKey) -> Result<i64, AuthStoreError> {
                    let r = sqlx::query(sql::CREATE_API_KEY)
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
                    inserted(r, || "an API key with this hash exists".into())
                }

                async fn api_key_by_hash(
                    &self,
                    hash: &str,
                ) -> Result<Option<(ApiKeyRecord, String)>, AuthStoreError> {
                    let r = $read("API key by hash", || {
                        sqlx::query(sql::API_KEY_BY_HASH).bind(hash).fetch_optional(&self.pool)
                    })
                    .await?;
                    Ok(r.as_ref().map(api_key_row).transpose()?)
                }

                async fn api_keys(
                    &self,
                    organization_id: Option<i64>,
                ) -> Result<Vec<ApiKeyRecord>, AuthStoreError> {
                    let rows = $read("API keys", || {
                        sqlx::query(sql::API_KEYS).bind(organization_id).fetch_all(&self.pool)
                    })
                    .await?;
                    rows.iter().map(|r| Ok(api_key_row(r)?.0)).collect()
                }

                async fn revoke_api_key(&self, id: i64, now: &str) -> Result<bool, AuthStoreError> {
                    let mut tx = $begin(&self.pool).await?;
                    let revoked = sqlx::query(sql::REVOKE_API_KEY)
                        .bind(now)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if revoked.is_some() {
                        $notify(&mut tx).await?;
                    }
                    tx.commit().await?;
                    Ok(revoked.is_some())
                }

                async fn touch_api_key(&self, id: i64, now: &str) -> Result<(), AuthStoreError> {
                    sqlx::query(sql::TOUCH_API_KEY).bind(now).bind(id).execute(&self.pool).await?;
                    Ok(())
                }
            }
        }
    };
}
