//! Pending sign-ups: a patient's sign-up waits here until the link e-mailed to the address
//! is opened. Only the token's hash and the address's blind index are kept in the clear;
//! the identity is sealed. A pending sign-up works once, until it expires, and is purged
//! after that.

use chrono::{DateTime, Utc};

use super::{Pool, Store, StoreError, Tx, on_tx};

/// A sign-up waiting for its e-mail to be confirmed (identity as the request gave it).
#[derive(Debug, Clone)]
pub struct PendingSignup {
    pub id: uuid::Uuid,
    /// The sign-up's fields other than the password, as JSON (sealed in the database).
    pub identity: serde_json::Value,
    /// The e-mail address (kept inside `identity` too; here for the blind index).
    pub email: String,
    /// Argon2 hash of the chosen password.
    pub password_hash: String,
    pub terms_version: String,
    /// Where the request came from.
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

type Row = (
    uuid::Uuid,
    String,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

impl Store {
    /// Keep a pending sign-up under its token's hash, inside `tx`; expired ones go first.
    pub async fn insert_pending_signup(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        p: &PendingSignup,
    ) -> Result<(), StoreError> {
        let index = self.email_index(&p.email)?;
        let sealed = self.seal(&p.identity.to_string())?;
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM pending_signups WHERE expires_at < $1")
                .bind(p.created_at)
                .execute(&mut **t)
                .await?;
            sqlx::query(
                "INSERT INTO pending_signups (id, token_hash, email_index, identity_enc,
                     password_hash, terms_version, ip, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(p.id)
            .bind(token_hash)
            .bind(&index)
            .bind(&sealed)
            .bind(&p.password_hash)
            .bind(&p.terms_version)
            .bind(&p.ip)
            .bind(p.created_at)
            .bind(p.expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Spend a pending sign-up's token, inside `tx`: the sign-up, if the token is known,
    /// unused and not expired at `now`. A second use (even a concurrent one) finds nothing.
    pub async fn use_pending_signup(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSignup>, StoreError> {
        let row: Option<Row> = on_tx!(tx, t => {
            sqlx::query_as(
                "UPDATE pending_signups SET used_at = $1
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                 RETURNING id, identity_enc, password_hash, terms_version, ip, created_at,
                           expires_at",
            )
            .bind(now)
            .bind(token_hash)
            .fetch_optional(&mut **t)
            .await?
        });
        let Some((id, sealed, password_hash, terms_version, ip, created_at, expires_at)) = row
        else {
            return Ok(None);
        };
        let identity: serde_json::Value = serde_json::from_str(&self.unseal(sealed)?)
            .map_err(|e| StoreError::Sealed(e.to_string()))?;
        Ok(Some(PendingSignup {
            id,
            email: identity["email"].as_str().unwrap_or_default().to_string(),
            identity,
            password_hash,
            terms_version,
            ip,
            created_at,
            expires_at,
        }))
    }
}

impl Store {
    /// Recompute every pending sign-up's e-mail blind index from its sealed identity under
    /// the current index key (`atende keys reindex`, after `security.jwt_secret` changed),
    /// `batch` rows per transaction with the rows locked; `progress` hears the running
    /// count. Returns how many were reindexed.
    pub async fn reindex_pending_signups(
        &self,
        batch: i64,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let lock = match self.pool() {
            Pool::Postgres(_) => " FOR UPDATE",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "SELECT id, identity_enc FROM pending_signups WHERE id > $1 ORDER BY id LIMIT $2{lock}"
        );
        let mut after = uuid::Uuid::nil();
        let mut done = 0;
        loop {
            let mut tx = self.begin().await?;
            let rows: Vec<(uuid::Uuid, String)> = on_tx!(&mut tx, t => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(after)
                    .bind(batch.max(1))
                    .fetch_all(&mut **t)
                    .await?
            });
            let Some(last) = rows.last().map(|r| r.0) else {
                tx.commit().await?;
                return Ok(done);
            };
            for (id, sealed) in rows {
                let identity: serde_json::Value = serde_json::from_str(&self.unseal(sealed)?)
                    .map_err(|e| StoreError::Sealed(e.to_string()))?;
                let index = self.email_index(identity["email"].as_str().unwrap_or_default())?;
                on_tx!(&mut tx, t => {
                    sqlx::query("UPDATE pending_signups SET email_index = $1 WHERE id = $2")
                        .bind(&index)
                        .bind(id)
                        .execute(&mut **t)
                        .await?;
                });
                done += 1;
            }
            tx.commit().await?;
            after = last;
            progress(done);
        }
    }
}
