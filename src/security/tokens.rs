//! Access tokens (short-lived HS256 JWTs naming the user and the login session) and
//! opaque refresh tokens (random, stored only as SHA-256 hashes).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{SessionId, UserId};

/// Claims inside an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: UserId,
    /// The login session; revoking it (logout, refresh reuse) invalidates the token.
    pub sid: SessionId,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
}

/// Issues and checks access tokens with one HMAC secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    pub fn issue(&self, user: UserId, session: SessionId) -> Result<String, TokenError> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = AccessClaims {
            sub: user,
            sid: session,
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// A fresh opaque token (refresh token, ticket): 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for an opaque token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_foreign_ones_do_not() {
        let keys = TokenKeys::new(b"a-test-secret-that-is-long-enough", 60);
        let (u, s) = (UserId::new(), SessionId::new());
        let t = keys.issue(u, s).expect("issue");
        let c = keys.verify(&t).expect("verify");
        assert_eq!((c.sub, c.sid), (u, s));
        let other = TokenKeys::new(b"another-secret-entirely-0123456789", 60);
        assert_eq!(other.verify(&t).expect_err("foreign"), TokenError::Invalid);
        assert_eq!(
            keys.verify("garbage").expect_err("junk"),
            TokenError::Invalid
        );
    }

    #[test]
    fn expired_tokens_say_so() {
        let keys = TokenKeys::new(b"a-test-secret-that-is-long-enough", 60);
        let claims = AccessClaims {
            sub: UserId::new(),
            sid: SessionId::new(),
            iat: 1,
            exp: 2,
        };
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
            .expect("encode");
        assert_eq!(keys.verify(&t).expect_err("expired"), TokenError::Expired);
    }

    #[test]
    fn opaque_tokens_are_unique_and_hashed() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
