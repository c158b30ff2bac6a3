//! Identity and front-desk text the store encrypts on the way in and opens on the way out:
//! appointment notes and cancel reasons, the names on the waiting-room tables, a patient's
//! names, CPF, birth date, phone and e-mail. Callers keep working with plain rows; the database
//! only ever holds `v1:<key id>:…` (rows written before a column was encrypted hold plain
//! text until `atende keys rotate` or the start-up sweep seals them).
//!
//! A CPF (or a phone, for replies by WhatsApp) is found without decrypting every record
//! through its blind index: an HMAC of its digits under a key derived from the installation
//! secret, so a copy of the database alone cannot be searched for a known CPF or phone.
//! A name is found the same way, through the blind index of each prefix of its words
//! ([`crate::domain::text::name_prefixes`], `store::patient_index`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Store, StoreError};
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

    /// The blind index of one word prefix of a patient's name (folded, see
    /// [`crate::domain::text::name_prefixes`]).
    pub fn name_index(&self, prefix: &str) -> String {
        self.index(b"name:", prefix)
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

/// A plain field of a row that was read holding its sealed value.
pub(crate) trait SealedText {
    /// Replace the sealed value with the plain one.
    fn open_in(&mut self, store: &Store) -> Result<(), StoreError>;
}

impl SealedText for String {
    fn open_in(&mut self, store: &Store) -> Result<(), StoreError> {
        *self = store.unseal(std::mem::take(self))?;
        Ok(())
    }
}

impl SealedText for Option<String> {
    fn open_in(&mut self, store: &Store) -> Result<(), StoreError> {
        *self = store.unseal_opt(self.take())?;
        Ok(())
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

    /// A row read with sealed text in a plain field (an account's name read as
    /// `u.full_name_enc AS professional_name`), that field opened.
    pub(crate) fn open_name<T, F: SealedText>(
        &self,
        mut row: T,
        field: impl Fn(&mut T) -> &mut F,
    ) -> Result<T, StoreError> {
        field(&mut row).open_in(self)?;
        Ok(row)
    }

    /// [`Store::open_name`] for each row.
    pub(crate) fn open_names<T, F: SealedText>(
        &self,
        rows: Vec<T>,
        field: impl Fn(&mut T) -> &mut F,
    ) -> Result<Vec<T>, StoreError> {
        rows.into_iter()
            .map(|r| self.open_name(r, &field))
            .collect()
    }

    /// [`Store::open_name`] for a row that may not be there.
    pub(crate) fn open_name_opt<T, F: SealedText>(
        &self,
        row: Option<T>,
        field: impl Fn(&mut T) -> &mut F,
    ) -> Result<Option<T>, StoreError> {
        row.map(|r| self.open_name(r, field)).transpose()
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

    /// The blind indexes of folded word prefixes (a name's, or a search's).
    pub(crate) fn name_indexes<'a>(
        &self,
        prefixes: impl IntoIterator<Item = &'a String>,
    ) -> Result<Vec<String>, StoreError> {
        let sealer = self.sealer()?;
        Ok(prefixes.into_iter().map(|p| sealer.name_index(p)).collect())
    }

    /// A stored value sealed if it is not yet (a row written before its column was
    /// encrypted); a sealed one as it is.
    pub(crate) fn seal_if_plain(&self, stored: String) -> Result<String, StoreError> {
        if crate::security::crypto::text_key_id(&stored).is_some() {
            Ok(stored)
        } else {
            self.seal(&stored)
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
