//! Waiting-room entries and the per-day ticket counters.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, PatientId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueEntryRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub service_date: NaiveDate,
    pub ticket: String,
    pub patient_id: Option<PatientId>,
    pub full_name: String,
    pub professional_user_id: Option<UserId>,
    pub priority: String,
    pub priority_rank: i32,
    pub status: String,
    pub room: Option<String>,
    pub checked_in_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub called_by: Option<UserId>,
    pub service_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub recalls: i32,
}

impl Store {
    /// The next ticket number for a clinic, day and prefix.
    pub async fn next_ticket_number(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        day: NaiveDate,
        prefix: &str,
    ) -> Result<i64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i32>(
                "INSERT INTO queue_counters (clinic_id, service_date, prefix, last_number) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (clinic_id, service_date, prefix) DO UPDATE SET last_number = queue_counters.last_number + 1
                 RETURNING last_number",
            )
            .bind(clinic)
            .bind(day)
            .bind(prefix)
            .fetch_one(&mut **t)
            .await?
        }) as i64)
    }

    pub async fn insert_queue_entry(
        &self,
        tx: &mut Tx,
        e: &QueueEntryRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO queue_entries (id, clinic_id, service_date, ticket, patient_id, full_name,
                    professional_user_id, priority, priority_rank, status, room, checked_in_at, recalls)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)",
            )
            .bind(e.id)
            .bind(e.clinic_id)
            .bind(e.service_date)
            .bind(&e.ticket)
            .bind(e.patient_id)
            .bind(&e.full_name)
            .bind(e.professional_user_id)
            .bind(&e.priority)
            .bind(e.priority_rank)
            .bind(&e.status)
            .bind(&e.room)
            .bind(e.checked_in_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// A clinic's entries of one day: still waiting first, in call order, then the rest.
    pub async fn queue_for_day(
        &self,
        clinic: ClinicId,
        day: NaiveDate,
    ) -> Result<Vec<QueueEntryRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, QueueEntryRow>(
                "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2
                 ORDER BY CASE status WHEN 'waiting' THEN 0 WHEN 'called' THEN 1 WHEN 'in_service' THEN 2 ELSE 3 END,
                          priority_rank, checked_in_at",
            )
            .bind(clinic)
            .bind(day)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn queue_entry_tx(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<Option<QueueEntryRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, QueueEntryRow>("SELECT * FROM queue_entries WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }))
    }

    /// The next waiting entry a professional may call (theirs or anyone's), locked for this
    /// transaction so two callers never get the same patient.
    pub async fn pick_next_waiting(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        day: NaiveDate,
        professional: UserId,
    ) -> Result<Option<QueueEntryRow>, StoreError> {
        Ok(match tx {
            // SQLite: the write transaction already excludes every other writer.
            Tx::Sqlite(super::SqliteTx { tx: t, .. }) => {
                sqlx::query_as::<_, QueueEntryRow>(
                    "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2 AND status = 'waiting'
                       AND (professional_user_id IS NULL OR professional_user_id = $3)
                     ORDER BY priority_rank, checked_in_at LIMIT 1",
                )
                .bind(clinic)
                .bind(day)
                .bind(professional)
                .fetch_optional(&mut **t)
                .await?
            }
            // PostgreSQL: skip rows another caller has locked, so concurrent calls each
            // get a different patient without waiting.
            Tx::Postgres(t) => {
                sqlx::query_as::<_, QueueEntryRow>(
                    "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2 AND status = 'waiting'
                       AND (professional_user_id IS NULL OR professional_user_id = $3)
                     ORDER BY priority_rank, checked_in_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                )
                .bind(clinic)
                .bind(day)
                .bind(professional)
                .fetch_optional(&mut **t)
                .await?
            }
        })
    }

    pub async fn update_queue_entry(
        &self,
        tx: &mut Tx,
        e: &QueueEntryRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE queue_entries SET professional_user_id = $1, status = $2, room = $3, called_at = $4,
                    called_by = $5, service_started_at = $6, finished_at = $7, recalls = $8
                 WHERE id = $9",
            )
            .bind(e.professional_user_id)
            .bind(&e.status)
            .bind(&e.room)
            .bind(e.called_at)
            .bind(e.called_by)
            .bind(e.service_started_at)
            .bind(e.finished_at)
            .bind(e.recalls)
            .bind(e.id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}
