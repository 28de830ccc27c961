//! Passwords: Argon2id (RFC 9106) with the OWASP-recommended parameters (19 MiB, 2 passes),
//! stored as PHC strings. Hashing is CPU- and memory-heavy by design, so it runs on the
//! blocking pool behind a semaphore: a burst of logins cannot starve request handling.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (Argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 512;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password's length.
pub fn check_new(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("the password has {n} characters; use at least {MIN_PASSWORD_CHARS}"));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!("the password is longer than {MAX_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

/// Hashes and verifies passwords off the async threads, at most `permits` at a time.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// At most `permits` hashes run at once.
    pub fn new(permits: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits.max(1))) }
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: &str) -> Result<String, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Whether the password matches the stored PHC string (constant time inside Argon2).
    pub async fn verify(&self, password: &str, phc: &str) -> bool {
        let Ok(_permit) = self.permits.acquire().await else { return false };
        let (password, phc) = (password.to_owned(), phc.to_owned());
        tokio::task::spawn_blocking(move || {
            argon2::PasswordHash::new(&phc)
                .is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    /// Spends the time of one verification, so unknown accounts answer as slowly as known
    /// ones (no account enumeration by timing).
    pub async fn verify_dummy(&self, password: &str) {
        static DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$YWFhYWFhYWFhYWFhYWFhYQ$fAI6Ur4xuwGKxa0l2MzljTDYr6fvDJoA9tomWyq+jqs";
        let _ = self.verify(password, DUMMY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let p = Passwords::new(2);
        let a = p.hash("correct horse battery").await.unwrap();
        let b = p.hash("correct horse battery").await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(p.verify("correct horse battery", &a).await);
        assert!(!p.verify("wrong horse battery", &a).await);
        assert!(!p.verify("x", "not a hash").await);
        assert!(check_new("short").unwrap_err().contains("at least 10"));
        assert!(check_new("long enough password").is_ok());
    }
}
