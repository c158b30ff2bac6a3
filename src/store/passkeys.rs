//! Passkeys: each account's registered WebAuthn credentials (the credential encrypted by
//! the caller) and the short-lived state of the ceremonies in progress.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{SessionId, UserId};

/// A registered passkey.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub name: String,
    /// base64url of the authenticator's credential id.
    pub credential_id: String,
    /// webauthn-rs's `Passkey` as JSON, encrypted with the field cipher.
    pub credential: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A ceremony in progress.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CeremonyRow {
    pub id: Uuid,
    pub kind: String,
    pub user_id: Option<UserId>,
    pub mfa_token_hash: Option<String>,
    /// The ceremony state as JSON, encrypted with the field cipher.
    pub state: String,
}

/// What a new ceremony row holds.
pub struct NewCeremony<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub user_id: Option<UserId>,
    pub mfa_token_hash: Option<&'a str>,
    pub state: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    pub async fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PasskeyRow>(
                "SELECT id, user_id, name, credential_id, credential, created_at, last_used_at
                 FROM passkeys WHERE user_id = $1 ORDER BY created_at",
            )
                .bind(user)
                .fetch_all(p)
                .await?
        }))
    }

    pub async fn passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PasskeyRow>(
                "SELECT id, user_id, name, credential_id, credential, created_at, last_used_at
                 FROM passkeys WHERE credential_id = $1",
            )
                .bind(credential_id)
                .fetch_optional(p)
                .await?
        }))
    }

    pub async fn has_passkey(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
                .bind(user)
                .fetch_one(p)
                .await?
        }) > 0)
    }

    pub async fn insert_passkey(&self, tx: &mut Tx, row: &PasskeyRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO passkeys (id, user_id, name, credential_id, credential, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(row.id)
            .bind(row.user_id)
            .bind(&row.name)
            .bind(&row.credential_id)
            .bind(&row.credential)
            .bind(row.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// After a successful assertion: the updated credential (counter, backup state) and the
    /// time it was used.
    pub async fn passkey_used(
        &self,
        tx: &mut Tx,
        id: Uuid,
        credential: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = super::now();
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE passkeys SET last_used_at = $1, credential = COALESCE($2, credential)
                 WHERE id = $3",
            )
            .bind(now)
            .bind(credential)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Delete one of the user's passkeys: false if they have none with this id.
    pub async fn delete_passkey(
        &self,
        tx: &mut Tx,
        user: UserId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user)
                .execute(&mut **t)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn insert_passkey_ceremony(
        &self,
        tx: &mut Tx,
        c: &NewCeremony<'_>,
    ) -> Result<(), StoreError> {
        let now = super::now();
        on_tx!(tx, t => {
            // Expired ceremonies are dropped as new ones start: the table stays small.
            sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at < $1")
                .bind(now)
                .execute(&mut **t)
                .await?;
            sqlx::query(
                "INSERT INTO passkey_ceremonies
                   (id, kind, user_id, mfa_token_hash, state, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(c.id)
            .bind(c.kind)
            .bind(c.user_id)
            .bind(c.mfa_token_hash)
            .bind(c.state)
            .bind(now)
            .bind(c.expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Take a ceremony of `kind`: marks it used and returns it, for the one caller that finds
    /// it unused and unexpired (a replay finds nothing).
    pub async fn take_passkey_ceremony(
        &self,
        tx: &mut Tx,
        id: Uuid,
        kind: &str,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        let now = super::now();
        Ok(on_tx!(tx, t => {
            let taken = sqlx::query(
                "UPDATE passkey_ceremonies SET used_at = $1
                 WHERE id = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(id)
            .bind(kind)
            .execute(&mut **t)
            .await?
            .rows_affected();
            if taken == 1 {
                sqlx::query_as::<_, CeremonyRow>(
                    "SELECT id, kind, user_id, mfa_token_hash, state
                     FROM passkey_ceremonies WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
            } else {
                None
            }
        }))
    }

    /// Take the latest second-factor ceremony started for a login's `mfa_token` (see
    /// [`Store::take_passkey_ceremony`]).
    pub async fn take_second_factor_ceremony(
        &self,
        tx: &mut Tx,
        mfa_token_hash: &str,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        let now = super::now();
        let latest = on_tx!(tx, t => {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM passkey_ceremonies
                 WHERE mfa_token_hash = $1 AND kind = 'second_factor'
                   AND used_at IS NULL AND expires_at > $2
                 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(mfa_token_hash)
            .bind(now)
            .fetch_optional(&mut **t)
            .await?
        });
        match latest {
            Some(id) => self.take_passkey_ceremony(tx, id, "second_factor").await,
            None => Ok(None),
        }
    }

    /// Take the latest ceremony of `kind` started by `user` (see
    /// [`Store::take_passkey_ceremony`]).
    pub async fn take_latest_user_ceremony(
        &self,
        tx: &mut Tx,
        user: UserId,
        kind: &str,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        let now = super::now();
        let latest = on_tx!(tx, t => {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM passkey_ceremonies
                 WHERE user_id = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3
                 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(user)
            .bind(kind)
            .bind(now)
            .fetch_optional(&mut **t)
            .await?
        });
        match latest {
            Some(id) => self.take_passkey_ceremony(tx, id, kind).await,
            None => Ok(None),
        }
    }

    /// When the login session started (refreshes keep it): for "recent login" checks.
    pub async fn session_started_at(
        &self,
        id: SessionId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, DateTime<Utc>>(
                "SELECT created_at FROM auth_sessions WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        }))
    }
}
