//! Teleconsultation sessions (one per teleconsultation appointment). A session row exists
//! once someone entered it; before that the session is `scheduled` (see
//! [`ConsultRow::not_entered`]).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::ClinicId;
use crate::domain::consult::{ConsultMedia, ConsultStatus};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ConsultRow {
    pub appointment_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    #[sqlx(try_from = "String")]
    pub status: ConsultStatus,
    pub ended_reason: Option<String>,
    pub participants: String,
    pub created_at: DateTime<Utc>,
    pub waiting_at: Option<DateTime<Utc>>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `p2p` or `relay` (through atende's media relay).
    #[sqlx(try_from = "String")]
    pub media: ConsultMedia,
    /// When a node last saw someone connected to the call.
    pub last_presence_at: Option<DateTime<Utc>>,
}

/// A third participant a professional invited to a teleconsultation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsultGuestRow {
    pub id: uuid::Uuid,
    pub appointment_id: uuid::Uuid,
    pub name: String,
    /// `interpreter` or `family`.
    pub relation: String,
    pub invited_by: crate::domain::UserId,
    pub created_at: DateTime<Utc>,
    /// When the professional took the invitation back (the link stops working).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ConsultRow {
    /// The state of a session nobody has entered yet (nothing stored).
    pub fn not_entered(appointment: uuid::Uuid, clinic: ClinicId) -> Self {
        Self {
            appointment_id: appointment,
            clinic_id: clinic,
            status: ConsultStatus::Scheduled,
            ended_reason: None,
            participants: "[]".into(),
            created_at: super::now(),
            waiting_at: None,
            admitted_at: None,
            ended_at: None,
            media: ConsultMedia::P2p,
            last_presence_at: None,
        }
    }
}

impl Store {
    /// The session of an appointment, if someone entered it.
    pub async fn consult_session(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Option<ConsultRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ConsultRow>("SELECT * FROM consult_sessions WHERE appointment_id = $1")
                .bind(appointment)
                .fetch_optional(p)
                .await?
        }))
    }

    /// The session of an appointment, stored now if it was not: `scheduled`, or already
    /// `ended` (reason `cancelled`) when the appointment was cancelled before anyone entered.
    pub async fn open_consult_session(
        &self,
        appointment: uuid::Uuid,
        clinic: ClinicId,
        cancelled: bool,
    ) -> Result<ConsultRow, StoreError> {
        let (status, reason, ended_at) = if cancelled {
            (ConsultStatus::Ended, Some("cancelled"), Some(super::now()))
        } else {
            (ConsultStatus::Scheduled, None, None)
        };
        Ok(on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO consult_sessions (appointment_id, clinic_id, status, ended_reason, ended_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (appointment_id) DO NOTHING",
            )
            .bind(appointment)
            .bind(clinic)
            .bind(status.as_str())
            .bind(reason)
            .bind(ended_at)
            .bind(super::now())
            .execute(p)
            .await?;
            sqlx::query_as::<_, ConsultRow>("SELECT * FROM consult_sessions WHERE appointment_id = $1")
                .bind(appointment)
                .fetch_one(p)
                .await?
        }))
    }

    /// Move the session to `to` from any state that may become it
    /// ([`ConsultStatus::can_become`]), stamping the matching time column, inside `tx`: the
    /// row after the change, or `None` when it was in none of those states (or not stored).
    pub async fn consult_transition(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        to: ConsultStatus,
        reason: Option<&str>,
    ) -> Result<Option<ConsultRow>, StoreError> {
        let sql = transition_sql(to);
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, ConsultRow>(sqlx::AssertSqlSafe(sql))
                .bind(to.as_str())
                .bind(super::now())
                .bind(reason)
                .bind(appointment)
                .fetch_optional(&mut **t)
                .await?
        }))
    }

    /// Close a cancelled appointment's session, inside the cancellation's transaction.
    pub async fn close_consult_tx(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
    ) -> Result<(), StoreError> {
        self.consult_transition(tx, appointment, ConsultStatus::Ended, Some("cancelled"))
            .await?;
        Ok(())
    }

    /// Replace who entered the call (JSON), inside `tx`.
    pub async fn set_consult_participants(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        participants: &str,
    ) -> Result<Option<ConsultRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, ConsultRow>(
                "UPDATE consult_sessions SET participants = $1 WHERE appointment_id = $2 RETURNING *",
            )
            .bind(participants)
            .bind(appointment)
            .fetch_optional(&mut **t)
            .await?
        }))
    }
}

impl Store {
    /// Route a live call's media through the relay (from then on, until it ends).
    pub async fn set_consult_relay(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Option<ConsultRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ConsultRow>(
                "UPDATE consult_sessions SET media = 'relay'
                 WHERE appointment_id = $1 AND status <> 'ended' RETURNING *",
            )
            .bind(appointment)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Someone is connected to these calls now (stamped periodically by the node they are
    /// on): one statement for all of them.
    pub async fn touch_consult_presence(
        &self,
        appointments: &[uuid::Uuid],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if appointments.is_empty() {
            return Ok(());
        }
        // Placeholders only: the ids are bound.
        let list = (2..appointments.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE consult_sessions SET last_presence_at = $1
             WHERE status = 'in_call' AND appointment_id IN ({list})"
        );
        on_pool!(self, p => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at);
            for id in appointments {
                q = q.bind(*id);
            }
            q.execute(p).await?;
        });
        Ok(())
    }

    /// End the calls nobody has been connected to since `cutoff` (reason `abandoned`),
    /// returning them, inside `tx` (with their audit rows). The status condition makes each
    /// end happen once across nodes.
    pub async fn end_abandoned_consults(
        &self,
        tx: &mut Tx,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<ConsultRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, ConsultRow>(
                "UPDATE consult_sessions SET status = 'ended', ended_at = $1, ended_reason = 'abandoned'
                 WHERE status = 'in_call' AND COALESCE(last_presence_at, admitted_at) < $2
                 RETURNING *",
            )
            .bind(super::now())
            .bind(cutoff)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    /// Store an invitation, inside `tx` (with its audit row).
    pub async fn insert_consult_guest(
        &self,
        tx: &mut Tx,
        g: &ConsultGuestRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO consult_guests (id, appointment_id, name, relation, invited_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(g.id)
            .bind(g.appointment_id)
            .bind(&g.name)
            .bind(&g.relation)
            .bind(g.invited_by)
            .bind(g.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn consult_guest(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<ConsultGuestRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ConsultGuestRow>("SELECT * FROM consult_guests WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    /// The guests invited to a teleconsultation, oldest first.
    pub async fn consult_guests(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Vec<ConsultGuestRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ConsultGuestRow>(
                "SELECT * FROM consult_guests WHERE appointment_id = $1 ORDER BY created_at, id",
            )
            .bind(appointment)
            .fetch_all(p)
            .await?
        }))
    }

    /// Take an invitation back, once, inside `tx` (with its audit row): `None` when it is
    /// not a guest of that consult or was already revoked.
    pub async fn revoke_consult_guest(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        id: uuid::Uuid,
    ) -> Result<Option<ConsultGuestRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, ConsultGuestRow>(
                "UPDATE consult_guests SET revoked_at = $1
                 WHERE id = $2 AND appointment_id = $3 AND revoked_at IS NULL RETURNING *",
            )
            .bind(super::now())
            .bind(id)
            .bind(appointment)
            .fetch_optional(&mut **t)
            .await?
        }))
    }
}

/// `UPDATE … SET status = $1, <stamp> = $2, ended_reason = COALESCE($3, …) WHERE
/// appointment_id = $4 AND status IN (<every state that may become `to`>) RETURNING *`.
/// The listed states are the enum's own text, never input.
fn transition_sql(to: ConsultStatus) -> String {
    let stamp = match to {
        ConsultStatus::Waiting => "waiting_at",
        ConsultStatus::InCall => "admitted_at",
        ConsultStatus::Scheduled | ConsultStatus::Ended => "ended_at",
    };
    let list = ConsultStatus::sources_of(to)
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // Nothing becomes `scheduled`: `IN (NULL)` matches no row.
    let list = if list.is_empty() { "NULL".into() } else { list };
    format!(
        "UPDATE consult_sessions SET status = $1, {stamp} = $2, ended_reason = COALESCE($3, ended_reason)
         WHERE appointment_id = $4 AND status IN ({list}) RETURNING *"
    )
}
