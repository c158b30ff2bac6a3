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

    /// Nonce ‖ ciphertext ‖ tag of `plaintext` under the active key (its id bound as
    /// associated data).
    fn seal(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let cipher = self
            .keys
            .get(&self.active)
            .ok_or_else(|| CryptoError::UnknownKey(self.active.clone()))?;
        let mut nonce_bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce_bytes);
        let ct = cipher
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: plaintext,
                    aad: self.active.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Authentication)?;
        out.reserve(12 + ct.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        Ok(())
    }

    /// The plaintext of nonce ‖ ciphertext ‖ tag under `key_id`.
    fn open(&self, key_id: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?;
        if sealed.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce_bytes, ct) = sealed.split_at(12);
        let nonce_arr: [u8; 12] = nonce_bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        cipher
            .decrypt(
                &Nonce::from(nonce_arr),
                Payload {
                    msg: ct,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Authentication)
    }

    pub fn encrypt(&self, plaintext: &str) -> Result<String, CryptoError> {
        let mut sealed = Vec::new();
        self.seal(plaintext.as_bytes(), &mut sealed)?;
        Ok(format!("v1:{}:{}", self.active, B64.encode(sealed)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let mut parts = stored.splitn(3, ':');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let bytes = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        let plain = self.open(key_id, &bytes)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
    }

    /// The id of the key that encrypts new values.
    pub fn active_key(&self) -> &str {
        &self.active
    }

    /// Encrypt a file's bytes: `v1:<key id>:` then the nonce, the ciphertext and the tag, as
    /// raw bytes (no base64: files are stored as BLOB/BYTEA). The key id is bound as
    /// associated data, as for text.
    pub fn encrypt_bytes(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::with_capacity(4 + self.active.len() + 12 + plaintext.len() + 16);
        out.extend_from_slice(b"v1:");
        out.extend_from_slice(self.active.as_bytes());
        out.push(b':');
        self.seal(plaintext, &mut out)?;
        Ok(out)
    }

    /// Decrypt what [`FieldCipher::encrypt_bytes`] stored.
    pub fn decrypt_bytes(&self, stored: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key_id = bytes_key_id(stored).ok_or(CryptoError::Malformed)?;
        self.open(key_id, &stored[3 + key_id.len() + 1..])
    }

    /// A stored file as it was uploaded: decrypted when it is in the encrypted form, as
    /// stored when it predates encryption (files written before encryption at rest, until
    /// `atende keys rotate` encrypts them). An encrypted form that fails to decrypt is an
    /// error, never returned as is.
    pub fn open_bytes(&self, stored: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
        if bytes_key_id(&stored).is_some() {
            self.decrypt_bytes(&stored)
        } else {
            Ok(stored)
        }
    }

    /// A text field that may predate its encryption (a file name stored before encryption at
    /// rest): decrypted when in the `v1:` form, as stored otherwise.
    pub fn open_text(&self, stored: String) -> Result<String, CryptoError> {
        if text_key_id(&stored).is_some() {
            self.decrypt(&stored)
        } else {
            Ok(stored)
        }
    }

    pub fn encrypt_opt(&self, value: Option<&str>) -> Result<Option<String>, CryptoError> {
        value.map(|v| self.encrypt(v)).transpose()
    }

    pub fn decrypt_opt(&self, value: Option<&str>) -> Result<Option<String>, CryptoError> {
        value.map(|v| self.decrypt(v)).transpose()
    }
}

/// The key id of a value in the text form `v1:<key id>:…` (None for any other value).
pub fn text_key_id(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix("v1:")?;
    let (id, _) = rest.split_once(':')?;
    valid_key_id(id).then_some(id)
}

/// The key id of a value in the byte form `v1:<key id>:<nonce ‖ ciphertext ‖ tag>` (None for
/// any other bytes, e.g. a file stored before encryption: uploads are sniffed to a known
/// type, and none starts with `v1:`).
pub fn bytes_key_id(stored: &[u8]) -> Option<&str> {
    let rest = stored.strip_prefix(b"v1:")?;
    let end = rest.iter().take(65).position(|b| *b == b':')?;
    let id = std::str::from_utf8(&rest[..end]).ok()?;
    valid_key_id(id).then_some(id)
}

/// Key ids are short names: letters, digits, `_` and `-`.
fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
    fn files_round_trip_and_rotate_and_older_plain_files_still_open() {
        let keys = BTreeMap::from([("k1".to_string(), key(1))]);
        let c = FieldCipher::new("k1", &keys).expect("cipher");
        let pdf = b"%PDF-1.7 exame de sangue".to_vec();
        let stored = c.encrypt_bytes(&pdf).expect("enc");
        assert!(stored.starts_with(b"v1:k1:"));
        assert!(!stored.windows(5).any(|w| w == b"sangu"));
        assert_eq!(bytes_key_id(&stored), Some("k1"));
        assert_eq!(c.decrypt_bytes(&stored).expect("dec"), pdf);
        assert_eq!(c.open_bytes(stored.clone()).expect("open"), pdf);
        // A file stored before encryption at rest opens as it is.
        assert_eq!(c.open_bytes(pdf.clone()).expect("plain"), pdf);
        // Under a new active key, the old file still opens; a new one uses the new key.
        let rotated = FieldCipher::new(
            "k2",
            &BTreeMap::from([("k1".to_string(), key(1)), ("k2".to_string(), key(2))]),
        )
        .expect("cipher");
        assert_eq!(rotated.decrypt_bytes(&stored).expect("dec"), pdf);
        assert_eq!(
            bytes_key_id(&rotated.encrypt_bytes(&pdf).expect("enc")),
            Some("k2")
        );
        // Tampered bytes fail; they are never handed out as if they were a plain file.
        let mut tampered = stored;
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(c.open_bytes(tampered).is_err());
        assert_eq!(c.open_text("laudo.pdf".into()).expect("plain"), "laudo.pdf");
        let name = c.encrypt("laudo.pdf").expect("enc");
        assert_eq!(text_key_id(&name), Some("k1"));
        assert_eq!(c.open_text(name).expect("dec"), "laudo.pdf");
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
