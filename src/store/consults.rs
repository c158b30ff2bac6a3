//! Teleconsultation sessions (one per teleconsultation appointment).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool};
use crate::domain::ClinicId;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ConsultRow {
    pub appointment_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub status: String,
    pub ended_reason: Option<String>,
    pub participants: String,
    pub created_at: DateTime<Utc>,
    pub waiting_at: Option<DateTime<Utc>>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Store {
    /// The session of an appointment, created (`scheduled`) if it does not exist yet.
    pub async fn consult_session(
        &self,
        appointment: uuid::Uuid,
        clinic: ClinicId,
    ) -> Result<ConsultRow, StoreError> {
        let now = super::now();
        Ok(on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO consult_sessions (appointment_id, clinic_id, status, created_at)
                 VALUES ($1, $2, 'scheduled', $3) ON CONFLICT (appointment_id) DO NOTHING",
            )
            .bind(appointment)
            .bind(clinic)
            .bind(now)
            .execute(p)
            .await?;
            sqlx::query_as::<_, ConsultRow>("SELECT * FROM consult_sessions WHERE appointment_id = $1")
                .bind(appointment)
                .fetch_one(p)
                .await?
        }))
    }

    /// Move the session from one of `from` to `to`, stamping the matching time column;
    /// false when it was in none of them.
    pub async fn consult_transition(
        &self,
        appointment: uuid::Uuid,
        from: &[&str],
        to: &str,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let stamp = match to {
            "waiting" => "waiting_at",
            "in_call" => "admitted_at",
            _ => "ended_at",
        };
        let list = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE consult_sessions SET status = $1, {stamp} = $2, ended_reason = COALESCE($3, ended_reason)
             WHERE appointment_id = $4 AND status IN ({list})"
        );
        let done = on_pool!(self, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to)
                .bind(super::now())
                .bind(reason)
                .bind(appointment)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn set_consult_participants(
        &self,
        appointment: uuid::Uuid,
        participants: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE consult_sessions SET participants = $1 WHERE appointment_id = $2")
                .bind(participants)
                .bind(appointment)
                .execute(p)
                .await?;
        });
        Ok(())
    }
}
