//! OpenID Connect login for clinic staff: each clinic's connection (its client secret
//! encrypted by the caller) and the logins sent to a provider awaiting their callback.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, UserId};

/// A clinic's connection to its identity provider.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OidcConnectionRow {
    pub clinic_id: ClinicId,
    pub issuer: String,
    pub client_id: String,
    /// Encrypted with the field cipher; never leaves the server.
    pub client_secret_enc: String,
    pub display_name: String,
    pub allowed_domain: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A login awaiting its callback.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OidcLoginRow {
    pub clinic_id: ClinicId,
    pub browser_hash: String,
    pub nonce_hash: String,
    /// The PKCE verifier, encrypted with the field cipher.
    pub verifier_enc: String,
    pub expires_at: DateTime<Utc>,
}

/// What a new login keeps server-side (hashes and the encrypted verifier).
pub struct NewOidcLogin<'a> {
    pub state_hash: &'a str,
    pub clinic: ClinicId,
    pub browser_hash: &'a str,
    pub nonce_hash: &'a str,
    pub verifier_enc: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    pub async fn oidc_connection(
        &self,
        clinic: ClinicId,
    ) -> Result<Option<OidcConnectionRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, OidcConnectionRow>(
                "SELECT clinic_id, issuer, client_id, client_secret_enc, display_name,
                        allowed_domain, updated_at
                 FROM clinic_oidc WHERE clinic_id = $1",
            )
            .bind(clinic)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Create or replace the clinic's connection.
    pub async fn put_oidc_connection(
        &self,
        tx: &mut Tx,
        row: &OidcConnectionRow,
        by: UserId,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM clinic_oidc WHERE clinic_id = $1")
                .bind(row.clinic_id)
                .execute(&mut **t)
                .await?;
            sqlx::query(
                "INSERT INTO clinic_oidc (clinic_id, issuer, client_id, client_secret_enc,
                     display_name, allowed_domain, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(row.clinic_id)
            .bind(&row.issuer)
            .bind(&row.client_id)
            .bind(&row.client_secret_enc)
            .bind(&row.display_name)
            .bind(&row.allowed_domain)
            .bind(row.updated_at)
            .bind(by)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Remove the clinic's connection and the logins it started. True if there was one.
    pub async fn delete_oidc_connection(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(tx, t => {
            sqlx::query("DELETE FROM oidc_logins WHERE clinic_id = $1")
                .bind(clinic)
                .execute(&mut **t)
                .await?;
            sqlx::query("DELETE FROM clinic_oidc WHERE clinic_id = $1")
                .bind(clinic)
                .execute(&mut **t)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    pub async fn insert_oidc_login(
        &self,
        tx: &mut Tx,
        login: &NewOidcLogin<'_>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO oidc_logins (state_hash, clinic_id, browser_hash, nonce_hash,
                     verifier_enc, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(login.state_hash)
            .bind(login.clinic)
            .bind(login.browser_hash)
            .bind(login.nonce_hash)
            .bind(login.verifier_enc)
            .bind(super::now())
            .bind(login.expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Spend the login of `state_hash`: returns it only to the one caller that marks it
    /// used (a replayed or concurrent callback gets `None`), whatever its expiry (the
    /// caller checks that).
    pub async fn take_oidc_login(
        &self,
        tx: &mut Tx,
        state_hash: &str,
    ) -> Result<Option<OidcLoginRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            let spent = sqlx::query(
                "UPDATE oidc_logins SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL",
            )
            .bind(super::now())
            .bind(state_hash)
            .execute(&mut **t)
            .await?
            .rows_affected();
            if spent == 1 {
                sqlx::query_as::<_, OidcLoginRow>(
                    "SELECT clinic_id, browser_hash, nonce_hash, verifier_enc, expires_at
                     FROM oidc_logins WHERE state_hash = $1",
                )
                .bind(state_hash)
                .fetch_optional(&mut **t)
                .await?
            } else {
                None
            }
        }))
    }
}
