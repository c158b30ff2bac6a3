//! Every blind index of a patient record, kept true: the name tokens (the blind index of
//! each prefix of the words of a patient's names, see [`crate::domain::text::name_prefixes`]),
//! the CPF's and the phone's. They are written with the names in the same transaction; the
//! start-up sweep seals and indexes rows written before a column was encrypted; and
//! `atende keys reindex` recomputes them all under the current index key (after
//! `security.jwt_secret` changed), a batch at a time while the installation serves.
//!
//! A batch reads its rows inside its own transaction with the rows locked (PostgreSQL
//! `FOR UPDATE`; SQLite's single writer), so a change made meanwhile by a node waits for
//! the batch, or the batch sees it.

use chrono::{DateTime, Utc};

use super::{Pool, Store, StoreError, Tx, on_tx};
use crate::domain::PatientId;
use crate::domain::text::name_prefixes;

/// What a sweep or a reindex did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reindexed {
    /// Patient records whose blind indexes were written.
    pub patients: u64,
    /// Name tokens written for them.
    pub name_tokens: u64,
    /// Pending sign-ups whose e-mail index was written (`atende keys reindex` only).
    pub pending_signups: u64,
}

/// A patient's identity as stored, for the sweep and the reindex.
#[derive(sqlx::FromRow)]
struct IdentityStored {
    id: PatientId,
    full_name_enc: String,
    social_name_enc: Option<String>,
    cpf_enc: String,
    birth_date_enc: String,
    phone_enc: Option<String>,
    email_enc: Option<String>,
    anonymised_at: Option<DateTime<Utc>>,
}

const IDENTITY_SELECT: &str = "SELECT id, full_name_enc, social_name_enc, cpf_enc, birth_date_enc,
        phone_enc, email_enc, anonymised_at FROM patients";

/// The rows the start-up sweep takes: names not yet sealed and indexed, or (a record from
/// before identity encryption) a CPF without its blind index.
const UNSWEPT: &str = "NOT names_indexed OR (cpf_index IS NULL AND anonymised_at IS NULL)";

impl Store {
    /// Replace a patient's name tokens inside `tx` with the blind indexes of its names'
    /// prefixes; `None` (an anonymised record) leaves none. Returns how many were written.
    pub(crate) async fn write_name_tokens(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        names: Option<(&str, Option<&str>)>,
    ) -> Result<u64, StoreError> {
        let tokens = match names {
            Some((full, social)) => {
                self.name_indexes(&name_prefixes(std::iter::once(full).chain(social)))?
            }
            None => Vec::new(),
        };
        let insert = (!tokens.is_empty()).then(|| {
            let values: Vec<String> = (0..tokens.len())
                .map(|i| format!("(${}, $1)", i + 2))
                .collect();
            format!(
                "INSERT INTO patient_name_tokens (token, patient_id) VALUES {}",
                values.join(", ")
            )
        });
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM patient_name_tokens WHERE patient_id = $1")
                .bind(patient)
                .execute(&mut **t)
                .await?;
            if let Some(sql) = insert {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(patient);
                for token in &tokens {
                    q = q.bind(token);
                }
                q.execute(&mut **t).await?;
            }
        });
        Ok(tokens.len() as u64)
    }

    /// Seal the identity of every patient record written before its columns were encrypted
    /// (names, CPF, birth date, phone, e-mail) and give it its blind indexes; a batch at a
    /// time. Returns how many records were done (the server runs it at start).
    pub async fn index_legacy_patients(&self) -> Result<u64, StoreError> {
        let done = self.reindex_where(UNSWEPT, 200, |_| {}).await?;
        if done.patients > 0 {
            self.compact().await?;
        }
        Ok(done.patients)
    }

    /// Recompute every blind index of every patient record (CPF, phone, name tokens) from
    /// its decrypted values under the current index key, `batch` records per transaction;
    /// `progress` hears the running totals after each batch.
    pub async fn reindex_patients(
        &self,
        batch: i64,
        progress: impl FnMut(&Reindexed),
    ) -> Result<Reindexed, StoreError> {
        self.reindex_where("1 = 1", batch, progress).await
    }

    async fn reindex_where(
        &self,
        filter: &str,
        batch: i64,
        mut progress: impl FnMut(&Reindexed),
    ) -> Result<Reindexed, StoreError> {
        let lock = match self.pool() {
            Pool::Postgres(_) => " FOR UPDATE",
            Pool::Sqlite(_) => "",
        };
        let sql =
            format!("{IDENTITY_SELECT} WHERE id > $1 AND ({filter}) ORDER BY id LIMIT $2{lock}");
        let mut after = PatientId(uuid::Uuid::nil());
        let mut done = Reindexed::default();
        loop {
            let mut tx = self.begin().await?;
            let rows = on_tx!(&mut tx, t => {
                sqlx::query_as::<_, IdentityStored>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(after)
                    .bind(batch.max(1))
                    .fetch_all(&mut **t)
                    .await?
            });
            let Some(last) = rows.last().map(|r| r.id) else {
                tx.commit().await?;
                return Ok(done);
            };
            for row in rows {
                done.name_tokens += self.reindex_row(&mut tx, row).await?;
                done.patients += 1;
            }
            tx.commit().await?;
            after = last;
            progress(&done);
        }
    }

    /// One record: its values sealed where still plain, its blind indexes and name tokens
    /// written under the current key (an anonymised record keeps none).
    async fn reindex_row(&self, tx: &mut Tx, r: IdentityStored) -> Result<u64, StoreError> {
        let full = self.unseal(r.full_name_enc.clone())?;
        let social = self.unseal_opt(r.social_name_enc.clone())?;
        let cpf = self.unseal(r.cpf_enc.clone())?;
        let phone = self.unseal_opt(r.phone_enc.clone())?;
        let live = r.anonymised_at.is_none();
        let cpf_index = if live && !cpf.is_empty() {
            Some(self.cpf_index(&cpf)?)
        } else {
            None
        };
        let phone_index = self.phone_index(phone.as_deref().filter(|_| live))?;
        let full_name = self.seal_if_plain(r.full_name_enc)?;
        let social_name = r
            .social_name_enc
            .map(|s| self.seal_if_plain(s))
            .transpose()?;
        let cpf_enc = self.seal_if_plain(r.cpf_enc)?;
        let birth = self.seal_if_plain(r.birth_date_enc)?;
        let phone_enc = r.phone_enc.map(|s| self.seal_if_plain(s)).transpose()?;
        let email_enc = r.email_enc.map(|s| self.seal_if_plain(s)).transpose()?;
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE patients SET full_name_enc = $2, social_name_enc = $3, cpf_enc = $4,
                    birth_date_enc = $5, phone_enc = $6, email_enc = $7, cpf_index = $8,
                    phone_index = $9, names_indexed = TRUE
                 WHERE id = $1",
            )
            .bind(r.id)
            .bind(&full_name)
            .bind(&social_name)
            .bind(&cpf_enc)
            .bind(&birth)
            .bind(&phone_enc)
            .bind(&email_enc)
            .bind(&cpf_index)
            .bind(&phone_index)
            .execute(&mut **t)
            .await?;
        });
        let names = live.then_some((full.as_str(), social.as_deref()));
        self.write_name_tokens(tx, r.id, names).await
    }
}
