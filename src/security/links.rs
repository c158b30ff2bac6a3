//! Signed links: capabilities handed out as URLs (a patient following their place in line,
//! later one-click confirm/cancel links). A link names one record and a purpose, may expire,
//! and is checked with an HMAC derived from the installation's secret, so nothing needs to be
//! stored to verify it. Links that must work only once also record their use in the database.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of MAC kept in a link (128 bits).
const MAC_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("link invalid")]
    Invalid,
    #[error("link expired")]
    Expired,
}

/// Signs and checks links with a key derived from the installation secret.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| {
            // HMAC accepts keys of any length; this branch cannot be reached.
            HmacSha256::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!())
        });
        mac.update(b"atende/links/v1");
        let mut key = [0u8; 32];
        key.copy_from_slice(&mac.finalize().into_bytes());
        Self { key }
    }

    /// A keyed digest (hex HMAC-SHA256 under this installation's link key) of a secret the
    /// database keeps only as a digest: someone who reads the database cannot test guesses
    /// against it without the key.
    pub fn keyed_digest(&self, purpose: &str, secret: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn mac(&self, purpose: &str, body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(body);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        out
    }

    /// A token for `id` and `purpose`, valid until `expires_at` (Unix seconds) when given.
    pub fn sign(&self, purpose: &str, id: uuid::Uuid, expires_at: Option<i64>) -> String {
        let mut body = id.as_bytes().to_vec();
        if let Some(e) = expires_at {
            body.extend_from_slice(&e.to_be_bytes());
        }
        let mac = self.mac(purpose, &body);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The record a token names, if it was signed by us for this purpose and, when it
    /// expires, `now` (Unix seconds) is before its expiry.
    pub fn verify(
        &self,
        purpose: &str,
        token: &str,
        now: i64,
    ) -> Result<(uuid::Uuid, Option<i64>), LinkError> {
        let (body, mac) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| LinkError::Invalid)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| LinkError::Invalid)?;
        // Constant-time comparison through the MAC type.
        let mut check = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        check.update(purpose.as_bytes());
        check.update(&[0]);
        check.update(&body);
        if mac.len() != MAC_LEN || check.verify_truncated_left(&mac).is_err() {
            return Err(LinkError::Invalid);
        }
        let (id, expires) = match body.len() {
            16 => (&body[..], None),
            24 => {
                let mut e = [0u8; 8];
                e.copy_from_slice(&body[16..]);
                (&body[..16], Some(i64::from_be_bytes(e)))
            }
            _ => return Err(LinkError::Invalid),
        };
        let id = uuid::Uuid::from_slice(id).map_err(|_| LinkError::Invalid)?;
        if expires.is_some_and(|e| now >= e) {
            return Err(LinkError::Expired);
        }
        Ok((id, expires))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_for_their_purpose_only_and_expire() {
        let signer = LinkSigner::new(b"secret");
        let id = uuid::Uuid::now_v7();
        let t = signer.sign("queue-tracker", id, None);
        assert_eq!(signer.verify("queue-tracker", &t, 0), Ok((id, None)));
        assert_eq!(
            signer.verify("appointment-cancel", &t, 0),
            Err(LinkError::Invalid)
        );
        let other = LinkSigner::new(b"another secret");
        assert_eq!(
            other.verify("queue-tracker", &t, 0),
            Err(LinkError::Invalid)
        );

        let t = signer.sign("offer", id, Some(1_000));
        assert_eq!(signer.verify("offer", &t, 999), Ok((id, Some(1_000))));
        assert_eq!(signer.verify("offer", &t, 1_000), Err(LinkError::Expired));
    }

    #[test]
    fn tampered_links_are_refused() {
        let signer = LinkSigner::new(b"secret");
        let id = uuid::Uuid::now_v7();
        let t = signer.sign("offer", id, Some(5_000));
        // Move the expiry: the body changes, the MAC no longer fits.
        let (body, mac) = t.split_once('.').expect("dot");
        let mut raw = URL_SAFE_NO_PAD.decode(body).expect("b64");
        raw[23] ^= 1;
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(&raw));
        assert_eq!(signer.verify("offer", &forged, 0), Err(LinkError::Invalid));
        for bad in ["", ".", "abc", "abc.def", &t[..t.len() - 2]] {
            assert_eq!(
                signer.verify("offer", bad, 0),
                Err(LinkError::Invalid),
                "{bad}"
            );
        }
    }
}
