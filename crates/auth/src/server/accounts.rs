//! Users and sessions: accounts, sign-in (throttled) and sign-out, the clients a user consented
//! to, the CSRF tokens of a signed-in user's forms, and whether self sign-up is on.

use std::net::IpAddr;

use crate::clock::stamp;
use crate::password;
use crate::secrets::{self, SecretKind};
use crate::store::{AuthStoreError, ConsentRecord, UserRecord};

use super::{AuthServer, normalize_email};

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong email or password (the same message for both).
    BadCredentials,
    /// Too many attempts; retry after this many seconds.
    Throttled(u64),
    /// The server failed.
    Server,
}

/// A signed-in session: the cookie value and the user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie value (only its hash is stored).
    pub cookie: String,
    /// The user.
    pub user: UserRecord,
}

impl AuthServer {
    /// Creates an account.
    pub async fn create_user(&self, email: &str, password: &str) -> Result<i64, String> {
        let email = normalize_email(email)?;
        password::check_new(password)?;
        let hash = self.passwords.hash(password).await?;
        self.store.create_user(&email, &hash, &stamp(self.now())).await.map_err(|e| match e {
            AuthStoreError::Conflict(m) => m,
            other => {
                tracing::error!(error = %other, "creating a user failed");
                "the server failed to create the account".into()
            }
        })
    }

    /// Signs a user in; throttled per email and per address.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<Session, LoginError> {
        let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        for key in [format!("email:{email}"), format!("ip:{ip}")] {
            if let Err(not_until) = self.login_limiter.check_key(&key) {
                let wait = not_until
                    .wait_time_from(governor::clock::Clock::now(self.login_limiter.clock()));
                return Err(LoginError::Throttled(wait.as_secs().max(1)));
            }
        }
        let user = self.store.user_by_email(&email).await.map_err(|_| LoginError::Server)?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            self.passwords.verify_dummy(password).await;
            return Err(LoginError::BadCredentials);
        };
        if !self.passwords.verify(password, &user.password_hash).await {
            return Err(LoginError::BadCredentials);
        }
        let cookie = secrets::generate(SecretKind::Session);
        let now = self.now();
        self.store
            .create_session(
                &secrets::hash(&cookie),
                user.id,
                &stamp(now),
                &stamp(now + self.config.session_ttl),
            )
            .await
            .map_err(|_| LoginError::Server)?;
        Ok(Session { cookie, user })
    }

    /// The user of a session cookie, if the session is live.
    pub async fn session_user(&self, cookie: &str) -> Option<UserRecord> {
        self.store.session_user(&secrets::hash(cookie), &stamp(self.now())).await.ok().flatten()
    }

    /// Ends a session.
    pub async fn logout(&self, cookie: &str) {
        let _ = self.store.delete_session(&secrets::hash(cookie)).await;
    }

    /// A user's consented clients.
    pub async fn consents(&self, user_id: i64) -> Result<Vec<ConsentRecord>, AuthStoreError> {
        self.store.consents(user_id).await
    }

    /// Revokes a consent and every token the client holds for the user.
    pub async fn revoke_consent(
        &self,
        user_id: i64,
        client_id: &str,
    ) -> Result<bool, AuthStoreError> {
        let r = self.store.revoke_consent(user_id, client_id, &stamp(self.now())).await?;
        self.caches.tokens.clear();
        Ok(r)
    }

    /// A CSRF token for a form of a signed-in user (account page, sign-out).
    pub fn form_token(&self, session_cookie: &str, form: &str) -> String {
        secrets::mac(
            &self.secret,
            format!("{}\u{1f}{form}", secrets::hash(session_cookie)).as_bytes(),
        )
    }

    /// Checks a [`AuthServer::form_token`].
    pub fn check_form_token(&self, session_cookie: &str, form: &str, token: &str) -> bool {
        secrets::ct_eq(self.form_token(session_cookie, form).as_bytes(), token.as_bytes())
    }

    /// A user by email (normalized as at sign-in).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, AuthStoreError> {
        match normalize_email(email) {
            Ok(email) => self.store.user_by_email(&email).await,
            Err(_) => Ok(None),
        }
    }

    /// Whether self sign-up is on.
    pub fn signup_allowed(&self) -> bool {
        self.config.allow_signup
    }
}
