//! Waiting-room entries and the per-day ticket counters.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::queue::{Priority, PriorityMode, QueueEntryStatus, QueuePolicy};
use crate::domain::{ClinicId, PatientId, UserId};

/// A clinic's row in `queue_settings` (absent: the defaults).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueSettingsRow {
    pub priority_mode: String,
    pub priority_run: i32,
    pub default_service_minutes: i32,
    pub panel_token_hash: Option<String>,
    pub checkin_token: Option<String>,
}

impl QueueSettingsRow {
    pub fn policy(&self) -> QueuePolicy {
        let mode = PriorityMode::parse(&self.priority_mode).unwrap_or(PriorityMode::Strict);
        QueuePolicy::new(
            mode,
            i64::from(self.priority_run),
            i64::from(self.default_service_minutes),
        )
        .unwrap_or_default()
    }
}

/// One finished service, for the estimate of waiting times.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceTimeRow {
    pub professional_user_id: Option<UserId>,
    pub service_started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// A day's waiting entries in strict order (priority rank, then appointment or arrival time).
const WAITING_SQL: &str = "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2
     AND status = 'waiting' ORDER BY priority_rank, COALESCE(appointment_at, checked_in_at)";

/// Ranks of the day's last calls, newest first.
const RECENT_CALL_RANKS: &str = "SELECT priority_rank FROM queue_entries
     WHERE clinic_id = $1 AND service_date = $2 AND called_at IS NOT NULL
     ORDER BY called_at DESC LIMIT 20";

/// The statuses of an entry still in the clinic's hands ([`QueueEntryStatus::is_active`]).
pub const ACTIVE_STATUSES: &str = "('waiting', 'called', 'in_service')";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueEntryRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub service_date: NaiveDate,
    pub ticket: String,
    pub patient_id: Option<PatientId>,
    /// Plain text in the row; sealed in the database ([`super::sealed`]).
    #[sqlx(rename = "full_name_enc")]
    pub full_name: String,
    pub professional_user_id: Option<UserId>,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    pub priority_rank: i32,
    #[sqlx(try_from = "String")]
    pub status: QueueEntryStatus,
    pub room: Option<String>,
    pub checked_in_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub called_by: Option<UserId>,
    pub service_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub recalls: i32,
    /// Checked in for this appointment (ordered by its time; statuses flow to it).
    pub appointment_id: Option<uuid::Uuid>,
    pub appointment_at: Option<DateTime<Utc>>,
}

impl QueueEntryRow {
    /// When this entry's turn is due: the appointment's time, else arrival.
    pub fn order_at(&self) -> DateTime<Utc> {
        self.appointment_at.unwrap_or(self.checked_in_at)
    }
}

impl Store {
    /// An entry as read, its sealed name opened.
    fn opened(&self, mut e: QueueEntryRow) -> Result<QueueEntryRow, StoreError> {
        e.full_name = self.unseal(std::mem::take(&mut e.full_name))?;
        Ok(e)
    }

    fn open_entry(&self, row: Option<QueueEntryRow>) -> Result<Option<QueueEntryRow>, StoreError> {
        row.map(|e| self.opened(e)).transpose()
    }

    fn open_entries(&self, rows: Vec<QueueEntryRow>) -> Result<Vec<QueueEntryRow>, StoreError> {
        rows.into_iter().map(|e| self.opened(e)).collect()
    }

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
        let name = self.seal(&e.full_name)?;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO queue_entries (id, clinic_id, service_date, ticket, patient_id, full_name_enc,
                    professional_user_id, priority, priority_rank, status, room, checked_in_at, recalls,
                    appointment_id, appointment_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14)",
            )
            .bind(e.id)
            .bind(e.clinic_id)
            .bind(e.service_date)
            .bind(&e.ticket)
            .bind(e.patient_id)
            .bind(&name)
            .bind(e.professional_user_id)
            .bind(e.priority.as_str())
            .bind(e.priority_rank)
            .bind(e.status.as_str())
            .bind(&e.room)
            .bind(e.checked_in_at)
            .bind(e.appointment_id)
            .bind(e.appointment_at)
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
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, QueueEntryRow>(
                "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2
                 ORDER BY CASE status WHEN 'waiting' THEN 0 WHEN 'called' THEN 1 WHEN 'in_service' THEN 2 ELSE 3 END,
                          priority_rank, COALESCE(appointment_at, checked_in_at)",
            )
            .bind(clinic)
            .bind(day)
            .fetch_all(p)
            .await?
        });
        self.open_entries(rows)
    }

    pub async fn queue_entry_tx(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<Option<QueueEntryRow>, StoreError> {
        let rows = on_tx!(tx, t => {
            sqlx::query_as::<_, QueueEntryRow>("SELECT * FROM queue_entries WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        });
        self.open_entry(rows)
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
            .bind(e.status.as_str())
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

    /// Serialize one kind of change of one clinic across nodes, for the rest of the
    /// transaction (a PostgreSQL advisory lock named `<what>:<clinic id>`; SQLite's write
    /// transaction already excludes every other writer).
    pub async fn lock_clinic(
        &self,
        tx: &mut Tx,
        what: &str,
        clinic: ClinicId,
    ) -> Result<(), StoreError> {
        if let Tx::Postgres(t) = tx {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("{what}:{clinic}"))
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Serialize queue changes of one clinic across nodes.
    pub async fn lock_clinic_queue(&self, tx: &mut Tx, clinic: ClinicId) -> Result<(), StoreError> {
        self.lock_clinic(tx, "queue", clinic).await
    }

    /// Waiting entries of a day in strict order (priority rank, then arrival).
    pub async fn waiting_entries_tx(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        day: NaiveDate,
    ) -> Result<Vec<QueueEntryRow>, StoreError> {
        let rows = on_tx!(tx, t => {
            sqlx::query_as::<_, QueueEntryRow>(
                WAITING_SQL,
            )
            .bind(clinic)
            .bind(day)
            .fetch_all(&mut **t)
            .await?
        });
        self.open_entries(rows)
    }

    /// A professional's current calls of a day: entries called to them or in service with
    /// them, oldest call first ("call next" finishes these before calling the next one).
    pub async fn current_calls_of_tx(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        day: NaiveDate,
        professional: UserId,
    ) -> Result<Vec<QueueEntryRow>, StoreError> {
        let rows = on_tx!(tx, t => {
            sqlx::query_as::<_, QueueEntryRow>(
                "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2
                   AND professional_user_id = $3 AND status IN ('called', 'in_service')
                 ORDER BY called_at",
            )
            .bind(clinic)
            .bind(day)
            .bind(professional)
            .fetch_all(&mut **t)
            .await?
        });
        self.open_entries(rows)
    }

    /// The room `professional` last called a patient to at `clinic`, if ever.
    pub async fn last_room_of(
        &self,
        clinic: ClinicId,
        professional: UserId,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, String>(
                "SELECT room FROM queue_entries WHERE clinic_id = $1 AND called_by = $2
                   AND room IS NOT NULL ORDER BY called_at DESC LIMIT 1",
            )
            .bind(clinic)
            .bind(professional)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Ranks of the day's calls, most recent first (for the alternate priority mode).
    pub async fn recent_call_ranks_tx(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        day: NaiveDate,
    ) -> Result<Vec<i32>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i32>(RECENT_CALL_RANKS)
            .bind(clinic)
            .bind(day)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    pub async fn recent_call_ranks(
        &self,
        clinic: ClinicId,
        day: NaiveDate,
    ) -> Result<Vec<i32>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i32>(RECENT_CALL_RANKS)
            .bind(clinic)
            .bind(day)
            .fetch_all(p)
            .await?
        }))
    }

    /// The clinic's most recent finished services since `since`, newest first.
    pub async fn recent_service_times(
        &self,
        clinic: ClinicId,
        since: DateTime<Utc>,
    ) -> Result<Vec<ServiceTimeRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ServiceTimeRow>(
                "SELECT professional_user_id, service_started_at, finished_at FROM queue_entries
                 WHERE clinic_id = $1 AND status = 'done' AND finished_at >= $2
                   AND service_started_at IS NOT NULL
                 ORDER BY finished_at DESC LIMIT 300",
            )
            .bind(clinic)
            .bind(since)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn queue_entry(&self, id: uuid::Uuid) -> Result<Option<QueueEntryRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, QueueEntryRow>("SELECT * FROM queue_entries WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        self.open_entry(rows)
    }

    /// A patient's entry of the day that is still waiting, called or in service.
    pub async fn active_entry_of_patient_tx(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        day: NaiveDate,
        patient: PatientId,
    ) -> Result<Option<QueueEntryRow>, StoreError> {
        let sql = format!(
            "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2 AND patient_id = $3
               AND status IN {ACTIVE_STATUSES} LIMIT 1"
        );
        let rows = on_tx!(tx, t => {
            sqlx::query_as::<_, QueueEntryRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(day)
                .bind(patient)
                .fetch_optional(&mut **t)
                .await?
        });
        self.open_entry(rows)
    }

    /// Does this patient have any entry in the clinic's queue today?
    pub async fn patient_in_queue_today(
        &self,
        clinic: ClinicId,
        day: NaiveDate,
        user: UserId,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM queue_entries q JOIN patients p ON p.id = q.patient_id
                 WHERE q.clinic_id = $1 AND q.service_date = $2
                   AND (p.user_id = $3 OR p.id IN (SELECT patient_id FROM patient_links WHERE user_id = $3 AND state = 'linked'))",
            )
            .bind(clinic)
            .bind(day)
            .bind(user)
            .fetch_one(p)
            .await?
        }) > 0)
    }

    pub async fn queue_settings(&self, clinic: ClinicId) -> Result<QueueSettingsRow, StoreError> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, QueueSettingsRow>(
                "SELECT priority_mode, priority_run, default_service_minutes, panel_token_hash, checkin_token
                 FROM queue_settings WHERE clinic_id = $1",
            )
            .bind(clinic)
            .fetch_optional(p)
            .await?
        });
        let d = QueuePolicy::default();
        Ok(row.unwrap_or(QueueSettingsRow {
            priority_mode: d.priority_mode.as_str().into(),
            priority_run: d.priority_run as i32,
            default_service_minutes: d.default_service_minutes as i32,
            panel_token_hash: None,
            checkin_token: None,
        }))
    }

    pub async fn set_queue_policy(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        policy: &QueuePolicy,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO queue_settings (clinic_id, priority_mode, priority_run, default_service_minutes, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (clinic_id) DO UPDATE SET priority_mode = excluded.priority_mode,
                    priority_run = excluded.priority_run,
                    default_service_minutes = excluded.default_service_minutes,
                    updated_at = excluded.updated_at",
            )
            .bind(clinic)
            .bind(policy.priority_mode.as_str())
            .bind(policy.priority_run as i32)
            .bind(policy.default_service_minutes as i32)
            .bind(super::now())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Replace the TV panel secret (its hash), cutting off the old one.
    pub async fn set_panel_token_hash(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        hash: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO queue_settings (clinic_id, panel_token_hash, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (clinic_id) DO UPDATE SET panel_token_hash = excluded.panel_token_hash,
                    updated_at = excluded.updated_at",
            )
            .bind(clinic)
            .bind(hash)
            .bind(super::now())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Set the self check-in code; with `only_if_missing`, keep an existing one. Returns the
    /// code in force.
    pub async fn ensure_checkin_token(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        token: &str,
        only_if_missing: bool,
    ) -> Result<String, StoreError> {
        let sql = if only_if_missing {
            "INSERT INTO queue_settings (clinic_id, checkin_token, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (clinic_id) DO UPDATE SET
                checkin_token = COALESCE(queue_settings.checkin_token, excluded.checkin_token),
                updated_at = excluded.updated_at
             RETURNING checkin_token"
        } else {
            "INSERT INTO queue_settings (clinic_id, checkin_token, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (clinic_id) DO UPDATE SET checkin_token = excluded.checkin_token,
                updated_at = excluded.updated_at
             RETURNING checkin_token"
        };
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, String>(sql)
                .bind(clinic)
                .bind(token)
                .bind(super::now())
                .fetch_one(&mut **t)
                .await?
        }))
    }

    pub async fn clinic_by_panel_hash(&self, hash: &str) -> Result<Option<ClinicId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, ClinicId>(
                "SELECT clinic_id FROM queue_settings WHERE panel_token_hash = $1",
            )
            .bind(hash)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn clinic_by_checkin_token(
        &self,
        token: &str,
    ) -> Result<Option<ClinicId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, ClinicId>(
                "SELECT clinic_id FROM queue_settings WHERE checkin_token = $1",
            )
            .bind(token)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn waiting_entries(
        &self,
        clinic: ClinicId,
        day: NaiveDate,
    ) -> Result<Vec<QueueEntryRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, QueueEntryRow>(
                WAITING_SQL,
            )
            .bind(clinic)
            .bind(day)
            .fetch_all(p)
            .await?
        });
        self.open_entries(rows)
    }

    /// The day's last `limit` calls that are not waiting again, newest first.
    pub async fn recent_calls(
        &self,
        clinic: ClinicId,
        day: NaiveDate,
        limit: i64,
    ) -> Result<Vec<QueueEntryRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, QueueEntryRow>(
                "SELECT * FROM queue_entries WHERE clinic_id = $1 AND service_date = $2
                   AND called_at IS NOT NULL AND status <> 'waiting'
                 ORDER BY called_at DESC LIMIT $3",
            )
            .bind(clinic)
            .bind(day)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        self.open_entries(rows)
    }

    /// Professionals among the day's last 200 calls (bounded, however long the day).
    pub async fn professionals_serving(
        &self,
        clinic: ClinicId,
        day: NaiveDate,
    ) -> Result<Vec<UserId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, UserId>(
                "SELECT DISTINCT professional_user_id FROM (
                    SELECT professional_user_id FROM queue_entries
                    WHERE clinic_id = $1 AND service_date = $2 AND called_at IS NOT NULL
                      AND professional_user_id IS NOT NULL
                    ORDER BY called_at DESC LIMIT 200) recent",
            )
            .bind(clinic)
            .bind(day)
            .fetch_all(p)
            .await?
        }))
    }

    /// The entry still active (waiting, called or in service) that checked in for this
    /// appointment, if any.
    pub async fn active_entry_of_appointment(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Option<QueueEntryRow>, StoreError> {
        let sql = format!(
            "SELECT * FROM queue_entries WHERE appointment_id = $1
               AND status IN {ACTIVE_STATUSES} ORDER BY checked_in_at DESC LIMIT 1"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, QueueEntryRow>(sqlx::AssertSqlSafe(sql))
                .bind(appointment)
                .fetch_optional(p)
                .await?
        });
        self.open_entry(rows)
    }
}
