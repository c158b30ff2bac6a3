//! Password hashing with Argon2id (PHC strings), off the async executor.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Hash a password with Argon2id default parameters and a random salt.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Check a password against a stored PHC string. With no stored hash (unknown user) the
/// same work is done against a dummy hash, so response time does not reveal accounts.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let target = match &stored {
            Some(s) => s.as_str(),
            None => dummy_hash(),
        };
        let ok = match PasswordHash::new(target) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        };
        ok && stored.is_some()
    })
    .await
    .map_err(PasswordError::from)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("atende-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() {
        let h = super::hash("senha-segura-123".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(
            super::verify("senha-segura-123".into(), Some(h.clone()))
                .await
                .expect("v")
        );
        assert!(
            !super::verify("senha-errada".into(), Some(h))
                .await
                .expect("v")
        );
        assert!(!super::verify("x".into(), None).await.expect("v"));
    }
}
