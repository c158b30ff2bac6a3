//! Appointments whose reminders may be due, and the record of each reminder queued (one
//! per appointment, start and offset: every node may look, one queues it).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::ClinicId;

/// An open appointment starting soon, with its clinic's reminder settings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderCandidate {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub starts_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub time_zone: String,
    pub reminders_enabled: Option<bool>,
    pub reminder_offsets: Option<String>,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub whatsapp_enabled: Option<bool>,
    pub sms_enabled: Option<bool>,
    /// The smallest offset already queued for this start, if any.
    pub done_min: Option<i32>,
}

impl Store {
    /// Scheduled or confirmed appointments starting in (now, until].
    pub async fn reminder_candidates(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ReminderCandidate>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ReminderCandidate>(
                "SELECT a.id, a.clinic_id, a.starts_at, a.created_at, c.time_zone,
                        m.reminders_enabled, m.reminder_offsets, m.quiet_start, m.quiet_end,
                        m.whatsapp_enabled, m.sms_enabled,
                        (SELECT MIN(r.offset_minutes) FROM appointment_reminders r
                          WHERE r.appointment_id = a.id AND r.starts_at = a.starts_at) AS done_min
                 FROM appointments a
                 JOIN clinics c ON c.id = a.clinic_id
                 LEFT JOIN clinic_messaging m ON m.clinic_id = a.clinic_id
                 WHERE a.status IN ('scheduled', 'confirmed') AND a.starts_at > $1 AND a.starts_at <= $2
                 ORDER BY a.starts_at",
            )
            .bind(now)
            .bind(until)
            .fetch_all(p)
            .await?
        }))
    }

    /// Record a reminder as queued, inside `tx`; false if some node already did.
    pub async fn claim_reminder(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        starts_at: DateTime<Utc>,
        offset_minutes: i32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO appointment_reminders (appointment_id, starts_at, offset_minutes, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(appointment)
            .bind(starts_at)
            .bind(offset_minutes)
            .bind(now)
            .execute(&mut **t)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Note which outbox message carries a reminder.
    pub async fn set_reminder_message(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        starts_at: DateTime<Utc>,
        offset_minutes: i32,
        outbox: uuid::Uuid,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE appointment_reminders SET outbox_id = $1
                 WHERE appointment_id = $2 AND starts_at = $3 AND offset_minutes = $4",
            )
            .bind(outbox)
            .bind(appointment)
            .bind(starts_at)
            .bind(offset_minutes)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}
