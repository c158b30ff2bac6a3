//! Field encryption for clinical text: AES-256-GCM with a random 96-bit nonce per value.
//!
//! Stored form: `v1:<key id>:<base64(nonce || ciphertext+tag)>`. The key id travels with
//! each value so keys can rotate: new writes use the active key, old values still decrypt
//! while their key stays configured. The key id is bound as associated data.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("no encryption key configured with id {0:?}")]
    UnknownKey(String),
    #[error("encrypted value is malformed")]
    Malformed,
    #[error("encrypted value failed authentication (wrong key or tampered)")]
    Authentication,
    #[error("encryption key {0:?} is not base64 of 32 bytes")]
    BadKey(String),
}

/// Encrypts and decrypts field values under a set of keys.
#[derive(Clone)]
pub struct FieldCipher {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCipher")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FieldCipher {
    /// `keys` maps key ids to base64-encoded 32-byte keys; `active` encrypts new values.
    pub fn new<'a>(
        active: &str,
        keys: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Self, CryptoError> {
        let mut map = BTreeMap::new();
        for (id, b64) in keys {
            let bytes = B64
                .decode(b64)
                .map_err(|_| CryptoError::BadKey(id.clone()))?;
            if bytes.len() != 32 {
                return Err(CryptoError::BadKey(id.clone()));
            }
            let key = Key::<Aes256Gcm>::try_from(bytes.as_slice())
                .map_err(|_| CryptoError::BadKey(id.clone()))?;
            map.insert(id.clone(), Aes256Gcm::new(&key));
        }
        if !map.contains_key(active) {
            return Err(CryptoError::UnknownKey(active.to_string()));
        }
        Ok(Self {
            active: active.to_string(),
            keys: map,
        })
    }

    pub fn encrypt(&self, plaintext: &str) -> Result<String, CryptoError> {
        let cipher = self
            .keys
            .get(&self.active)
            .ok_or_else(|| CryptoError::UnknownKey(self.active.clone()))?;
        let mut nonce_bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce_bytes);
        let nonce = Nonce::from(nonce_bytes);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: self.active.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Authentication)?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        Ok(format!("v1:{}:{}", self.active, B64.encode(out)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let mut parts = stored.splitn(3, ':');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?;
        let bytes = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce_bytes, ct) = bytes.split_at(12);
        let nonce_arr: [u8; 12] = nonce_bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce_arr),
                Payload {
                    msg: ct,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Authentication)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
    }

    pub fn encrypt_opt(&self, value: Option<&str>) -> Result<Option<String>, CryptoError> {
        value.map(|v| self.encrypt(v)).transpose()
    }

    pub fn decrypt_opt(&self, value: Option<&str>) -> Result<Option<String>, CryptoError> {
        value.map(|v| self.decrypt(v)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        B64.encode([byte; 32])
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let keys = BTreeMap::from([("k1".to_string(), key(1))]);
        let c = FieldCipher::new("k1", &keys).expect("cipher");
        let stored = c.encrypt("alergia a dipirona").expect("enc");
        assert!(stored.starts_with("v1:k1:"));
        assert!(!stored.contains("dipirona"));
        assert_ne!(stored, c.encrypt("alergia a dipirona").expect("enc"));
        assert_eq!(c.decrypt(&stored).expect("dec"), "alergia a dipirona");
    }

    #[test]
    fn old_values_decrypt_after_rotation() {
        let old =
            FieldCipher::new("k1", &BTreeMap::from([("k1".to_string(), key(1))])).expect("cipher");
        let stored = old.encrypt("nota antiga").expect("enc");
        let rotated = FieldCipher::new(
            "k2",
            &BTreeMap::from([("k1".to_string(), key(1)), ("k2".to_string(), key(2))]),
        )
        .expect("cipher");
        assert_eq!(rotated.decrypt(&stored).expect("dec"), "nota antiga");
        assert!(rotated.encrypt("nova").expect("enc").starts_with("v1:k2:"));
    }

    #[test]
    fn tampering_is_detected() {
        let c =
            FieldCipher::new("k1", &BTreeMap::from([("k1".to_string(), key(1))])).expect("cipher");
        let stored = c.encrypt("texto").expect("enc");
        let mut bytes = stored.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("utf8");
        assert!(c.decrypt(&tampered).is_err());
        assert!(matches!(
            c.decrypt("v1:k9:AAAA"),
            Err(CryptoError::UnknownKey(_))
        ));
    }
}
