//! Every column that holds a value encrypted with the field-encryption keys, and the reads
//! and writes `atende keys rotate` needs to move them to the active key a batch at a time,
//! while the installation keeps serving.
//!
//! Rows are addressed by the engine's own row address (SQLite's `rowid`, PostgreSQL's
//! `ctid`), so one pair of queries serves every table whatever its primary key. A rewrite
//! only applies while the row still holds the value that was read (compare and set), so a
//! row changed meanwhile is left to the next pass.

use super::{Pool, Store, StoreError, on_pool};

/// How a column stores its encrypted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Text `v1:<key id>:<base64>`.
    Text,
    /// The same, but rows written before the column was encrypted hold plain text.
    TextOrPlain,
    /// Bytes `v1:<key id>:` ‖ nonce ‖ ciphertext ‖ tag; older rows hold the plain file.
    BytesOrPlain,
}

/// One encrypted column.
#[derive(Debug, Clone, Copy)]
pub struct EncryptedColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub form: Form,
}

const fn text(table: &'static str, column: &'static str) -> EncryptedColumn {
    EncryptedColumn {
        table,
        column,
        form: Form::Text,
    }
}

/// A column encrypted after rows were written: those hold plain text until sealed.
const fn plain_before(table: &'static str, column: &'static str) -> EncryptedColumn {
    EncryptedColumn {
        table,
        column,
        form: Form::TextOrPlain,
    }
}

/// Every encrypted column of the schema. A new encrypted column joins this list, or key
/// rotation leaves it behind (`tests/api/keys.rs` seeds one value of each and checks that
/// rotation moves them all).
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    text("clinic_patients", "allergies_enc"),
    text("clinic_patients", "notes_enc"),
    text("topic_events", "payload_enc"),
    text("chat_messages", "body_enc"),
    EncryptedColumn {
        table: "chat_attachments",
        column: "filename_enc",
        form: Form::TextOrPlain,
    },
    EncryptedColumn {
        table: "chat_attachments",
        column: "data",
        form: Form::BytesOrPlain,
    },
    text("signing_ca", "key_enc"),
    text("signing_keys", "key_enc"),
    text("documents", "content_enc"),
    EncryptedColumn {
        table: "documents",
        column: "pdf",
        form: Form::BytesOrPlain,
    },
    text("outbox", "payload"),
    text("mfa_totp", "secret"),
    text("passkeys", "credential"),
    text("passkey_ceremonies", "state"),
    text("encounters", "content_enc"),
    text("encounter_addenda", "text_enc"),
    text("allergies", "substance_enc"),
    text("allergies", "reaction_enc"),
    text("record_access_grants", "reason_enc"),
    plain_before("appointments", "notes_enc"),
    plain_before("appointments", "cancel_reason_enc"),
    plain_before("queue_entries", "full_name_enc"),
    plain_before("patients", "cpf_enc"),
    plain_before("patients", "birth_date_enc"),
    plain_before("patients", "phone_enc"),
    plain_before("patients", "email_enc"),
    plain_before("patients", "full_name_enc"),
    plain_before("patients", "social_name_enc"),
    text("patients", "address_enc"),
    plain_before("users", "full_name_enc"),
    text("cash_movements", "description_enc"),
    plain_before("outbox", "to_address"),
    text("clinic_oidc", "client_secret_enc"),
    text("oidc_logins", "verifier_enc"),
    text("problems", "code_enc"),
    text("problems", "notes_enc"),
    text("vital_signs", "values_enc"),
    text("vital_signs", "notes_enc"),
    text("medication_stops", "reason_enc"),
    text("pending_signups", "identity_enc"),
];

/// A stored value as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Text(String),
    Bytes(Vec<u8>),
}

/// A value read for rewriting, with the address of its row.
#[derive(Debug, Clone)]
pub struct StoredValue {
    pub row: String,
    pub value: Stored,
}

/// How each engine names a row's address, reads it as text, and casts a bound length.
fn addressing(pool: &Pool) -> (&'static str, &'static str, &'static str) {
    match pool {
        Pool::Sqlite(_) => ("CAST(rowid AS TEXT)", "rowid = CAST($2 AS INTEGER)", ""),
        Pool::Postgres(_) => ("ctid::text", "ctid = $2::tid", "::int"),
    }
}

fn read_rows<T>(rows: Vec<(String, T)>, wrap: fn(T) -> Stored) -> Vec<StoredValue> {
    rows.into_iter()
        .map(|(row, v)| StoredValue {
            row,
            value: wrap(v),
        })
        .collect()
}

impl Store {
    /// Up to `limit` values of `col` that are not under the key `prefix` names
    /// (`v1:<key id>:`), NULLs and empty values (which say nothing) left out.
    pub async fn values_not_under(
        &self,
        col: &EncryptedColumn,
        prefix: &str,
        limit: i64,
    ) -> Result<Vec<StoredValue>, StoreError> {
        let (t, c) = (col.table, col.column);
        let (address, _, cast) = addressing(self.pool());
        let sql = format!(
            "SELECT {address}, {c} FROM {t}
             WHERE {c} IS NOT NULL AND length({c}) > 0 AND substr({c}, 1, $1{cast}) <> $2 LIMIT $3"
        );
        let n = prefix.len() as i64;
        let bytes = col.form == Form::BytesOrPlain;
        Ok(on_pool!(self, p => {
            if bytes {
                let rows = sqlx::query_as::<_, (String, Vec<u8>)>(sqlx::AssertSqlSafe(sql))
                    .bind(n)
                    .bind(prefix.as_bytes())
                    .bind(limit)
                    .fetch_all(p)
                    .await?;
                read_rows(rows, Stored::Bytes)
            } else {
                let rows = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql))
                    .bind(n)
                    .bind(prefix)
                    .bind(limit)
                    .fetch_all(p)
                    .await?;
                read_rows(rows, Stored::Text)
            }
        }))
    }

    /// How many values of `col` are not under the key `prefix` names.
    pub async fn count_not_under(
        &self,
        col: &EncryptedColumn,
        prefix: &str,
    ) -> Result<i64, StoreError> {
        let (t, c) = (col.table, col.column);
        let (_, _, cast) = addressing(self.pool());
        let sql = format!(
            "SELECT count(*) FROM {t}
             WHERE {c} IS NOT NULL AND length({c}) > 0 AND substr({c}, 1, $1{cast}) <> $2"
        );
        let n = prefix.len() as i64;
        let bytes = col.form == Form::BytesOrPlain;
        Ok(on_pool!(self, p => {
            let q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(n);
            if bytes {
                q.bind(prefix.as_bytes()).fetch_one(p).await?
            } else {
                q.bind(prefix).fetch_one(p).await?
            }
        }))
    }

    /// Replace one value if its row still holds `old`; false when it changed meanwhile.
    pub async fn rewrite_value(
        &self,
        col: &EncryptedColumn,
        row: &str,
        old: &Stored,
        new: &Stored,
    ) -> Result<bool, StoreError> {
        let (t, c) = (col.table, col.column);
        let (_, at_row, _) = addressing(self.pool());
        let sql = format!("UPDATE {t} SET {c} = $1 WHERE {at_row} AND {c} = $3");
        let done = on_pool!(self, p => {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let q = match new {
                Stored::Text(v) => q.bind(v.clone()),
                Stored::Bytes(v) => q.bind(v.clone()),
            }
            .bind(row.to_string());
            match old {
                Stored::Text(v) => q.bind(v.clone()),
                Stored::Bytes(v) => q.bind(v.clone()),
            }
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}

/// The text columns the start-up sweep seals where rows from before their encryption still
/// hold plain text (a patient record's identity has its own sweep, which indexes it too).
pub const SEALED_AT_START: &[EncryptedColumn] = &[plain_before("users", "full_name_enc")];

impl Store {
    /// Seal, in place, the plain values rows of `col` still hold from before the column was
    /// encrypted (under the active key); a batch at a time, each value only if its row still
    /// holds it. Returns how many were sealed.
    pub async fn seal_plain_values(&self, col: &EncryptedColumn) -> Result<u64, StoreError> {
        let mut sealed = 0;
        loop {
            // Every sealed text starts `v1:`, whatever its key: the rest are plain.
            let rows = self.values_not_under(col, "v1:", 200).await?;
            let mut moved = 0;
            for row in &rows {
                let Stored::Text(plain) = &row.value else {
                    continue;
                };
                let new = Stored::Text(self.seal(plain)?);
                if self.rewrite_value(col, &row.row, &row.value, &new).await? {
                    moved += 1;
                }
            }
            sealed += moved;
            if moved == 0 {
                return Ok(sealed);
            }
        }
    }

    /// [`Store::seal_plain_values`] for every column of [`SEALED_AT_START`], then (when
    /// any was sealed) the file compacted so the plain text does not linger. Returns how
    /// many values were sealed.
    pub async fn seal_legacy_values(&self) -> Result<u64, StoreError> {
        let mut sealed = 0;
        for col in SEALED_AT_START {
            sealed += self.seal_plain_values(col).await?;
        }
        if sealed > 0 {
            self.compact().await?;
        }
        Ok(sealed)
    }

    /// This installation's name: made by the first node that asks, the same for every node
    /// on this database afterwards.
    pub async fn installation_name(&self) -> Result<String, StoreError> {
        let fresh = uuid::Uuid::new_v4().simple().to_string();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO installation (id, name, created_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&fresh)
            .bind(super::now())
            .execute(p)
            .await?;
            Ok(sqlx::query_scalar::<_, String>("SELECT name FROM installation WHERE id = 1")
                .fetch_one(p)
                .await?)
        })
    }
}
