//! Identity and front-desk text the store encrypts on the way in and opens on the way out:
//! appointment notes and cancel reasons, the names on the waiting-room tables, a patient's
//! CPF, birth date, phone and e-mail. Callers keep working with plain rows; the database
//! only ever holds `v1:<key id>:…` (rows written before a column was encrypted hold plain
//! text until `atende keys rotate` or the start-up sweep seals them).
//!
//! A CPF (or a phone, for replies by WhatsApp) is found without decrypting every record
//! through its blind index: an HMAC of its digits under a key derived from the installation
//! secret, so a copy of the database alone cannot be searched for a known CPF or phone.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Store, StoreError, on_pool};
use crate::domain::PatientId;
use crate::security::crypto::FieldCipher;

type HmacSha256 = Hmac<Sha256>;

/// The field cipher and the blind-index key a store seals values with.
pub struct Sealer {
    cipher: FieldCipher,
    index_key: [u8; 32],
}

impl Sealer {
    /// `index_secret` is the installation secret the blind-index key is derived from
    /// (`security.jwt_secret`, as for signed links: changing it re-keys the index, see
    /// docs/security.md).
    pub fn new(cipher: FieldCipher, index_secret: &[u8]) -> Self {
        let mut index_key = [0u8; 32];
        if let Ok(mut mac) = HmacSha256::new_from_slice(index_secret) {
            mac.update(b"atende blind index v1");
            index_key.copy_from_slice(&mac.finalize().into_bytes());
        }
        Self { cipher, index_key }
    }

    /// The blind index of a CPF's eleven digits (hex of an HMAC-SHA256).
    pub fn cpf_index(&self, digits: &str) -> String {
        self.index(b"cpf:", digits)
    }

    /// The blind index of a phone in its stored form (`+55…`).
    pub fn phone_index(&self, phone: &str) -> String {
        self.index(b"phone:", phone)
    }

    /// The blind index of an e-mail address (trimmed, lower case).
    pub fn email_index(&self, email: &str) -> String {
        self.index(b"email:", &email.trim().to_lowercase())
    }

    fn index(&self, kind: &[u8], value: &str) -> String {
        let mut mac = match HmacSha256::new_from_slice(&self.index_key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(kind);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl Store {
    fn sealer(&self) -> Result<&Sealer, StoreError> {
        self.inner
            .sealer
            .as_deref()
            .ok_or(StoreError::NoFieldCipher)
    }

    /// `plain` encrypted for a column (an empty text stays empty: it says nothing).
    pub(crate) fn seal(&self, plain: &str) -> Result<String, StoreError> {
        if plain.is_empty() {
            return Ok(String::new());
        }
        self.sealer()?
            .cipher
            .encrypt(plain)
            .map_err(|e| StoreError::Sealed(e.to_string()))
    }

    pub(crate) fn seal_opt(&self, plain: Option<&str>) -> Result<Option<String>, StoreError> {
        plain.map(|p| self.seal(p)).transpose()
    }

    /// A column's value as it was written (plain rows from before encryption as stored).
    pub(crate) fn unseal(&self, stored: String) -> Result<String, StoreError> {
        if stored.is_empty() {
            return Ok(stored);
        }
        self.sealer()?
            .cipher
            .open_text(stored)
            .map_err(|e| StoreError::Sealed(e.to_string()))
    }

    pub(crate) fn unseal_opt(&self, stored: Option<String>) -> Result<Option<String>, StoreError> {
        stored.map(|s| self.unseal(s)).transpose()
    }

    /// The blind index a CPF (its digits) is stored and found under.
    pub(crate) fn cpf_index(&self, digits: &str) -> Result<String, StoreError> {
        Ok(self.sealer()?.cpf_index(digits))
    }

    /// The blind index an e-mail address is kept under (pending sign-ups).
    pub(crate) fn email_index(&self, email: &str) -> Result<String, StoreError> {
        Ok(self.sealer()?.email_index(email))
    }

    /// The blind index a phone (`+55…`) is stored and found under; none for no phone.
    pub(crate) fn phone_index(&self, phone: Option<&str>) -> Result<Option<String>, StoreError> {
        let sealer = self.sealer()?;
        Ok(phone
            .filter(|p| !p.is_empty())
            .map(|p| sealer.phone_index(p)))
    }
}

impl Store {
    /// Give every patient record written before CPFs were indexed its blind index, and seal
    /// its identity columns; a batch at a time, each row only while it still holds what was
    /// read. Returns how many records were done (the server runs it at start).
    pub async fn index_legacy_patients(&self) -> Result<u64, StoreError> {
        let mut done = 0u64;
        loop {
            type Legacy = (PatientId, String, String, Option<String>, Option<String>);
            let rows: Vec<Legacy> = on_pool!(self, p => {
                sqlx::query_as(
                    "SELECT id, cpf_enc, birth_date_enc, phone_enc, email_enc FROM patients
                     WHERE cpf_index IS NULL LIMIT 200",
                )
                .fetch_all(p)
                .await?
            });
            if rows.is_empty() {
                if done > 0 {
                    self.compact().await?;
                }
                return Ok(done);
            }
            for (id, cpf, birth, phone, email) in rows {
                let cpf_plain = self.unseal(cpf.clone())?;
                let index = self.cpf_index(&cpf_plain)?;
                let cpf_sealed = self.seal(&cpf_plain)?;
                let birth = self.seal(&self.unseal(birth)?)?;
                let phone_plain = self.unseal_opt(phone)?;
                let phone_index = self.phone_index(phone_plain.as_deref())?;
                let phone = self.seal_opt(phone_plain.as_deref())?;
                let email = self.seal_opt(self.unseal_opt(email)?.as_deref())?;
                on_pool!(self, p => {
                    sqlx::query(
                        "UPDATE patients SET cpf_index = $1, cpf_enc = $2, birth_date_enc = $3,
                            phone_enc = $4, email_enc = $5, phone_index = $8
                         WHERE id = $6 AND cpf_index IS NULL AND cpf_enc = $7",
                    )
                    .bind(&index)
                    .bind(&cpf_sealed)
                    .bind(&birth)
                    .bind(&phone)
                    .bind(&email)
                    .bind(id)
                    .bind(&cpf)
                    .bind(&phone_index)
                    .execute(p)
                    .await?;
                });
                done += 1;
            }
        }
    }
}

impl Store {
    /// After plain values were sealed in place: on SQLite, rewrite the file (`VACUUM`) and
    /// empty the write-ahead log, so the plain text does not linger in freed pages or old
    /// log frames. PostgreSQL keeps old row versions until its own vacuum reuses them
    /// (docs/operations.md says to run `VACUUM FULL` on the tables after an upgrade).
    pub async fn compact(&self) -> Result<(), StoreError> {
        if let super::Pool::Sqlite(p) = self.pool() {
            sqlx::query("VACUUM").execute(p).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await?;
        }
        Ok(())
    }
}
