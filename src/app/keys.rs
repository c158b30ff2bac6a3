//! Field-encryption key rotation: `atende keys rotate` moves every encrypted value to the
//! active key (and encrypts the files stored before encryption at rest), a batch at a time,
//! while the installation keeps serving; `atende keys status` counts what is left;
//! `atende keys reindex` recomputes the blind indexes (after `security.jwt_secret` changed).

use crate::config::Settings;
use crate::security::crypto::{self, CryptoError, FieldCipher};
use crate::store::keys::{ENCRYPTED_COLUMNS, EncryptedColumn, Form, Stored};
use crate::store::patient_index::Reindexed;
use crate::store::{Store, StoreError};

/// The cipher the configuration describes (its keys and its active key).
pub fn field_cipher(settings: &Settings) -> Result<FieldCipher, CryptoError> {
    let keys: Vec<(String, String)> = settings
        .security
        .encryption_keys
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().clone()))
        .collect();
    FieldCipher::new(
        &settings.security.encryption_active_key,
        keys.iter().map(|(k, v)| (k, v)),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value that cannot be opened with the configured keys: rotation stops there, having
    /// changed nothing of that value.
    #[error("{table}.{column}: a value under key {key:?} cannot be decrypted ({reason})")]
    Undecryptable {
        table: &'static str,
        column: &'static str,
        key: String,
        reason: CryptoError,
    },
}

/// How many values of one column are not under the active key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnCount {
    pub table: &'static str,
    pub column: &'static str,
    pub count: i64,
}

/// What a rotation did, per column.
#[derive(Debug, Default)]
pub struct RotationReport {
    pub rewritten: Vec<ColumnCount>,
}

impl RotationReport {
    pub fn total(&self) -> i64 {
        self.rewritten.iter().map(|c| c.count).sum()
    }
}

fn prefix(cipher: &FieldCipher) -> String {
    format!("v1:{}:", cipher.active_key())
}

/// Per column, how many values are not yet under the active key.
pub async fn status(store: &Store, cipher: &FieldCipher) -> Result<Vec<ColumnCount>, StoreError> {
    let prefix = prefix(cipher);
    let mut out = Vec::with_capacity(ENCRYPTED_COLUMNS.len());
    for col in ENCRYPTED_COLUMNS {
        out.push(ColumnCount {
            table: col.table,
            column: col.column,
            count: store.count_not_under(col, &prefix).await?,
        });
    }
    Ok(out)
}

/// Re-encrypt every value not under the active key, `batch` rows per query. Each value is
/// replaced only if its row still holds what was read, so a value changed meanwhile (by a
/// node that already writes under the active key) is left as it is.
pub async fn rotate(
    store: &Store,
    cipher: &FieldCipher,
    batch: i64,
    mut progress: impl FnMut(&ColumnCount),
) -> Result<RotationReport, RotateError> {
    let prefix = prefix(cipher);
    let mut report = RotationReport::default();
    for col in ENCRYPTED_COLUMNS {
        let mut done = ColumnCount {
            table: col.table,
            column: col.column,
            count: 0,
        };
        loop {
            let rows = store.values_not_under(col, &prefix, batch.max(1)).await?;
            if rows.is_empty() {
                break;
            }
            let mut moved = 0;
            for row in rows {
                let new = reencrypt(cipher, col, &row.value)?;
                if store.rewrite_value(col, &row.row, &row.value, &new).await? {
                    moved += 1;
                }
            }
            done.count += moved;
            progress(&done);
            if moved == 0 {
                // Every row of the batch changed under us: read again (they now hold
                // values under the active key, or the next pass moves them).
                tokio::task::yield_now().await;
            }
        }
        report.rewritten.push(done);
    }
    Ok(report)
}

/// Recompute every blind index (a patient's CPF, phone and name tokens, a pending sign-up's
/// e-mail) from the decrypted values under the index key the store was opened with (derived
/// from `security.jwt_secret`), `batch` records per transaction, while the installation serves:
/// each batch locks its rows, so a record changed meanwhile is indexed as it now is.
/// `progress` hears the running totals.
pub async fn reindex(
    store: &Store,
    batch: i64,
    mut progress: impl FnMut(&Reindexed),
) -> Result<Reindexed, StoreError> {
    let mut done = store.reindex_patients(batch, &mut progress).await?;
    let patients = done;
    done.pending_signups = store
        .reindex_pending_signups(batch, |n| {
            progress(&Reindexed {
                pending_signups: n,
                ..patients
            })
        })
        .await?;
    Ok(done)
}

/// One value under the active key.
fn reencrypt(
    cipher: &FieldCipher,
    col: &EncryptedColumn,
    value: &Stored,
) -> Result<Stored, RotateError> {
    let fail = |key: Option<&str>, reason| RotateError::Undecryptable {
        table: col.table,
        column: col.column,
        key: key.unwrap_or("(none)").to_string(),
        reason,
    };
    Ok(match (col.form, value) {
        (Form::Text, Stored::Text(v)) => {
            let plain = cipher
                .decrypt(v)
                .map_err(|e| fail(crypto::text_key_id(v), e))?;
            Stored::Text(cipher.encrypt(&plain).map_err(|e| fail(None, e))?)
        }
        (Form::TextOrPlain, Stored::Text(v)) => {
            let plain = cipher
                .open_text(v.clone())
                .map_err(|e| fail(crypto::text_key_id(v), e))?;
            Stored::Text(cipher.encrypt(&plain).map_err(|e| fail(None, e))?)
        }
        (Form::BytesOrPlain, Stored::Bytes(v)) => {
            let plain = cipher
                .open_bytes(v.clone())
                .map_err(|e| fail(crypto::bytes_key_id(v), e))?;
            Stored::Bytes(cipher.encrypt_bytes(&plain).map_err(|e| fail(None, e))?)
        }
        _ => return Err(fail(None, CryptoError::Malformed)),
    })
}
