//! Second factors: each account's TOTP authenticator (its secret encrypted by the caller),
//! recovery codes (hashes only), logins awaiting their second step, and the clinics'
//! two-factor policy.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, UserId};

/// An account's authenticator.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub user_id: UserId,
    /// Encrypted with the field cipher.
    pub secret: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for.
    pub last_step: i64,
}

/// A login awaiting its second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRow {
    pub user_id: UserId,
    pub known_device: bool,
    pub expires_at: DateTime<Utc>,
    pub failures: i32,
    pub used_at: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn totp_of(&self, user: UserId) -> Result<Option<TotpRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, TotpRow>(
                "SELECT user_id, secret, confirmed_at, last_step FROM mfa_totp WHERE user_id = $1",
            )
            .bind(user)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Start (or restart) an enrolment: a new unconfirmed secret, replacing an unconfirmed
    /// one. A confirmed authenticator is never replaced here (the caller checks first).
    pub async fn put_pending_totp(
        &self,
        tx: &mut Tx,
        user: UserId,
        secret: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NULL")
                .bind(user)
                .execute(&mut **t)
                .await?;
            sqlx::query(
                "INSERT INTO mfa_totp (user_id, secret, created_at, last_step) VALUES ($1, $2, $3, 0)",
            )
            .bind(user)
            .bind(secret)
            .bind(super::now())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Accept a code for time step `step`: true only if it is later than every step
    /// accepted before (one winner among concurrent uses of the same code).
    pub async fn spend_totp_step(
        &self,
        tx: &mut Tx,
        user: UserId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query("UPDATE mfa_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1")
                .bind(step)
                .bind(user)
                .execute(&mut **t)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn confirm_totp(&self, tx: &mut Tx, user: UserId) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE mfa_totp SET confirmed_at = $1 WHERE user_id = $2")
                .bind(super::now())
                .bind(user)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Remove the authenticator and every recovery code.
    pub async fn delete_totp(&self, tx: &mut Tx, user: UserId) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
                .bind(user)
                .execute(&mut **t)
                .await?;
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                .bind(user)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Replace the account's recovery codes with these hashes.
    pub async fn replace_recovery_codes(
        &self,
        tx: &mut Tx,
        user: UserId,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        let now = super::now();
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                .bind(user)
                .execute(&mut **t)
                .await?;
            for hash in hashes {
                sqlx::query(
                    "INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(user)
                .bind(hash)
                .bind(now)
                .execute(&mut **t)
                .await?;
            }
        });
        Ok(())
    }

    /// Spend a recovery code: true if it was the account's and unused.
    pub async fn spend_recovery_code(
        &self,
        tx: &mut Tx,
        user: UserId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query(
                "UPDATE mfa_recovery_codes SET used_at = $1
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(super::now())
            .bind(user)
            .bind(hash)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Unused recovery codes of the account.
    pub async fn recovery_codes_left(&self, user: UserId) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user)
            .fetch_one(p)
            .await?
        }))
    }

    pub async fn insert_mfa_challenge(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        user: UserId,
        known_device: bool,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO mfa_challenges (token_hash, user_id, known_device, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(user)
            .bind(known_device)
            .bind(super::now())
            .bind(expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn mfa_challenge(
        &self,
        token_hash: &str,
    ) -> Result<Option<ChallengeRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ChallengeRow>(
                "SELECT user_id, known_device, expires_at, failures, used_at
                 FROM mfa_challenges WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Count a wrong code against a challenge; the failures it now has.
    pub async fn fail_mfa_challenge(
        &self,
        tx: &mut Tx,
        token_hash: &str,
    ) -> Result<i32, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i32>(
                "UPDATE mfa_challenges SET failures = failures + 1 WHERE token_hash = $1
                 RETURNING failures",
            )
            .bind(token_hash)
            .fetch_optional(&mut **t)
            .await?
            .unwrap_or(i32::MAX)
        }))
    }

    /// Spend a challenge: true for the one caller that finds it unused, unexpired and with
    /// fewer than `max_failures` wrong codes.
    pub async fn spend_mfa_challenge(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        max_failures: i32,
    ) -> Result<bool, StoreError> {
        let now = super::now();
        let done = on_tx!(tx, t => {
            sqlx::query(
                "UPDATE mfa_challenges SET used_at = $1
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 AND failures < $3",
            )
            .bind(now)
            .bind(token_hash)
            .bind(max_failures)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Whether the user must enrol a second factor before doing anything else: a clinic
    /// that requires two-factor counts them as admin or professional, and they have no
    /// confirmed authenticator and no passkey.
    pub async fn mfa_enrolment_pending(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM memberships m JOIN clinics c ON c.id = m.clinic_id
                                WHERE m.user_id = $1 AND c.require_mfa = $2
                                  AND m.role IN ('clinic_admin', 'professional'))
                    AND NOT EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = $1
                                      AND confirmed_at IS NOT NULL)
                    AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)",
            )
            .bind(user)
            .bind(true)
            .fetch_one(p)
            .await?
        }))
    }

    pub async fn clinic_requires_mfa(&self, clinic: ClinicId) -> Result<Option<bool>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, bool>("SELECT require_mfa FROM clinics WHERE id = $1")
                .bind(clinic)
                .fetch_optional(p)
                .await?
        }))
    }

    pub async fn set_clinic_requires_mfa(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        required: bool,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE clinics SET require_mfa = $1 WHERE id = $2")
                .bind(required)
                .bind(clinic)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }
}
