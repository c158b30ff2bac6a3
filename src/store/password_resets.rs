//! Password reset tokens: only their hash is kept; each works once, until it expires.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_tx};
use crate::domain::UserId;

impl Store {
    /// Keep a new reset token's hash, inside `tx`.
    pub async fn insert_password_reset(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user)
            .bind(now)
            .bind(expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Spend a reset token, inside `tx`: its account, if it exists, is unused and has not
    /// expired at `now`. A second use (even a concurrent one) finds nothing.
    pub async fn use_password_reset(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, UserId>(
                "UPDATE password_resets SET used_at = $1
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                 RETURNING user_id",
            )
            .bind(now)
            .bind(token_hash)
            .fetch_optional(&mut **t)
            .await?
        }))
    }
}
