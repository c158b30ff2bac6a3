//! Login sessions and their rotating refresh tokens (stored only as SHA-256 hashes).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, PatientId, SessionId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub id: uuid::Uuid,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub session_revoked_at: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn insert_session(
        &self,
        tx: &mut Tx,
        id: SessionId,
        user: UserId,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("INSERT INTO auth_sessions (id, user_id, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(user)
                .bind(super::now())
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    pub async fn insert_refresh_token(
        &self,
        tx: &mut Tx,
        session: SessionId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(session)
            .bind(token_hash)
            .bind(super::now())
            .bind(expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn refresh_token_by_hash(
        &self,
        tx: &mut Tx,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, RefreshTokenRow>(
                "SELECT r.id, r.session_id, s.user_id, r.expires_at, r.used_at, s.revoked_at AS session_revoked_at
                 FROM refresh_tokens r JOIN auth_sessions s ON s.id = r.session_id
                 WHERE r.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&mut **t)
            .await?
        }))
    }

    /// Mark a refresh token used. False when it already was (a concurrent or replayed use).
    pub async fn mark_refresh_token_used(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(super::now())
                .bind(id)
                .execute(&mut **t)
                .await?
                .rows_affected()
                == 1
        }))
    }

    pub async fn revoke_session(
        &self,
        tx: &mut Tx,
        id: SessionId,
        reason: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = $2
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(super::now())
            .bind(reason)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Whether a session exists and is still live (access tokens carry the session id).
    pub async fn session_is_live(&self, id: SessionId) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM auth_sessions WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .fetch_one(p)
            .await?
                == 1
        }))
    }

    /// Revoke every live session of a user (account disabled, password reset, logout
    /// everywhere) but `except`, if given. Returns the sessions that ended, so their
    /// connections can be closed.
    pub async fn revoke_all_sessions(
        &self,
        tx: &mut Tx,
        user: UserId,
        except: Option<SessionId>,
        reason: &str,
    ) -> Result<Vec<SessionId>, StoreError> {
        // A nil id never matches a real (UUIDv7) session.
        let keep = except.unwrap_or_else(|| SessionId(uuid::Uuid::nil()));
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, SessionId>(
                "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = $2
                 WHERE user_id = $3 AND revoked_at IS NULL AND id <> $4
                 RETURNING id",
            )
            .bind(super::now())
            .bind(reason)
            .bind(user)
            .bind(keep)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    /// Sessions revoked after `since` (by any process), for the nodes' revocation watch.
    pub async fn sessions_revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(SessionId, DateTime<Utc>)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, (SessionId, DateTime<Utc>)>(
                "SELECT id, revoked_at FROM auth_sessions
                 WHERE revoked_at IS NOT NULL AND revoked_at > $1
                 ORDER BY revoked_at LIMIT 1000",
            )
            .bind(since)
            .fetch_all(p)
            .await?
        }))
    }

    /// Delete spent or expired WebSocket tickets, expired second-step and OpenID Connect
    /// logins, and refresh tokens that expired more than a day before `now`. Returns how many rows went.
    pub async fn prune_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let day_ago = now - chrono::Duration::days(1);
        Ok(on_pool!(self, p => {
            let a = sqlx::query("DELETE FROM ws_tickets WHERE expires_at < $1 OR used_at IS NOT NULL")
                .bind(now)
                .execute(p)
                .await?
                .rows_affected();
            let b = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
                .bind(day_ago)
                .execute(p)
                .await?
                .rows_affected();
            // Second-step logins: useless once expired.
            let c = sqlx::query("DELETE FROM mfa_challenges WHERE expires_at < $1")
                .bind(now)
                .execute(p)
                .await?
                .rows_affected();
            // OpenID Connect logins never finished (or finished): dead after their life.
            let d = sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1")
                .bind(now)
                .execute(p)
                .await?
                .rows_affected();
            // Sign-ups whose link was never opened (or was): dead after their life.
            let e = sqlx::query("DELETE FROM pending_signups WHERE expires_at < $1")
                .bind(now)
                .execute(p)
                .await?
                .rows_affected();
            a + b + c + d + e
        }))
    }
}

/// Who is calling, as one read of the session, the account and its own patient profile.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallerRow {
    pub email: String,
    pub full_name: String,
    pub platform_admin: bool,
    pub disabled: bool,
    /// The session is the account's and has not been revoked.
    pub session_live: bool,
    pub patient_id: Option<PatientId>,
}

/// One of the caller's grants: a role in a clinic (`kind` "m") or a clinic record the
/// account is linked to (`kind` "l").
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallerGrantRow {
    pub kind: String,
    pub clinic_id: ClinicId,
    pub role: String,
    pub record_id: uuid::Uuid,
}

impl Store {
    /// The caller's account, session state and own patient profile in one query (`None`:
    /// no such account). Every authenticated request and WebSocket join reads this.
    pub async fn caller(
        &self,
        user: UserId,
        session: SessionId,
    ) -> Result<Option<CallerRow>, StoreError> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, CallerRow>(
                "SELECT u.email, u.full_name_enc AS full_name, u.platform_admin, u.disabled_at IS NOT NULL AS disabled,
                    EXISTS (SELECT 1 FROM auth_sessions s
                            WHERE s.id = $2 AND s.user_id = u.id AND s.revoked_at IS NULL) AS session_live,
                    (SELECT p.id FROM patients p WHERE p.user_id = u.id) AS patient_id
                 FROM users u WHERE u.id = $1",
            )
            .bind(user)
            .bind(session)
            .fetch_optional(p)
            .await?
        });
        self.open_name_opt(row, |c| &mut c.full_name)
    }

    /// The caller's roles (by clinic name, then role) and linked clinic records, in one
    /// query.
    pub async fn caller_grants(&self, user: UserId) -> Result<Vec<CallerGrantRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, CallerGrantRow>(
                "SELECT 'm' AS kind, m.clinic_id, m.role, m.clinic_id AS record_id, c.name AS sort_name
                 FROM memberships m JOIN clinics c ON c.id = m.clinic_id WHERE m.user_id = $1
                 UNION ALL
                 SELECT 'l', l.clinic_id, '', l.patient_id, '' FROM patient_links l
                 WHERE l.user_id = $1 AND l.state = 'linked'
                 ORDER BY 1, 5, 3, 4",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
    }
}
