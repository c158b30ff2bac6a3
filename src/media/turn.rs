//! Short-lived TURN credentials (coturn `use-auth-secret` / TURN REST API scheme):
//! username `"<expiry unix time>:<user>"`, password `base64(HMAC-SHA1(secret, username))`.
//! coturn recomputes the password from its copy of the secret and refuses expired names.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};

/// A credential pair for the browser's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TurnCredential {
    pub username: String,
    pub credential: String,
    /// Unix time after which coturn refuses the username.
    pub expires_at: i64,
}

/// Credentials for `user`, valid until `now_unix + ttl_secs`.
pub fn credential(
    secret: &[u8],
    user: &str,
    now_unix: i64,
    ttl_secs: i64,
) -> Result<TurnCredential, hmac::digest::InvalidLength> {
    let expires_at = now_unix + ttl_secs;
    let username = format!("{expires_at}:{user}");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret)?;
    mac.update(username.as_bytes());
    Ok(TurnCredential {
        credential: B64.encode(mac.finalize().into_bytes()),
        username,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_coturn_rest_scheme() {
        // Reference value computed with Python's hmac/hashlib/base64.
        let c = super::credential(b"north", "alice", 1_700_000_000, 3600).expect("hmac");
        assert_eq!(c.username, "1700003600:alice");
        assert_eq!(c.credential, "wjwSXO2ch1B6VaLTLMy2Avn5O9o=");
        assert_eq!(c.expires_at, 1_700_003_600);
    }
}
