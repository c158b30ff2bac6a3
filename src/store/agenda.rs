//! Services, working hours, exceptions, appointments (without double booking), single-use
//! links, the outbox and iCal feeds.
//!
//! Double booking is impossible at the database: on PostgreSQL two exclusion constraints
//! (professional's blocks, patient's appointments; `btree_gist`) refuse overlaps whatever
//! the clinic or node; on SQLite every write runs in the single serialized write
//! transaction, inside which `insert_appointment`/`update_appointment` check for overlaps
//! before writing. Both backends run the same check first, for a clear error.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::agenda::{
    AppointmentStatus, BookingRules, Exception, ServiceTiming, Span, WorkingHours, format_hhmm,
    parse_hhmm,
};
use crate::domain::{ClinicId, PatientId, UserId};

/// First key of the PostgreSQL advisory lock that serializes one user's bookings (the
/// second is derived from the user id).
const BOOKING_QUOTA_LOCK_CLASS: i32 = 0x6174_6271;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub professional_user_id: Option<UserId>,
    pub name: String,
    pub duration_minutes: i32,
    pub price_cents: i64,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub teleconsultation: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl ServiceRow {
    pub fn timing(&self) -> ServiceTiming {
        ServiceTiming {
            duration_minutes: self.duration_minutes.max(1) as u32,
            buffer_before_minutes: self.buffer_before_minutes.max(0) as u32,
            buffer_after_minutes: self.buffer_after_minutes.max(0) as u32,
        }
    }
}

/// The service's timing; without a service, `minutes` and no buffers.
pub fn timing_of(service: Option<&ServiceRow>, minutes: u32) -> ServiceTiming {
    service.map_or(
        ServiceTiming {
            duration_minutes: minutes,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
        },
        ServiceRow::timing,
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub professional_user_id: UserId,
    pub patient_id: PatientId,
    pub service_id: Option<uuid::Uuid>,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub status: AppointmentStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub block_start: DateTime<Utc>,
    pub block_end: DateTime<Utc>,
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// Plain text in the row; sealed in the database ([`super::sealed`]).
    #[sqlx(rename = "notes_enc")]
    pub notes: String,
    #[sqlx(rename = "cancel_reason_enc")]
    pub cancel_reason: Option<String>,
    pub booked_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An appointment with the names a screen shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentView {
    #[sqlx(flatten)]
    pub a: AppointmentRow,
    /// Plain in the row; sealed in the database.
    pub patient_name: String,
    pub patient_social_name: Option<String>,
    pub professional_name: String,
    pub professional_profession: Option<String>,
    pub professional_gender: Option<String>,
    pub service_name: Option<String>,
    pub clinic_name: String,
    pub clinic_time_zone: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct HoursRow {
    weekday: i32,
    start_time: String,
    end_time: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExceptionRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub professional_user_id: Option<UserId>,
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

impl ExceptionRow {
    pub fn exception(&self) -> Exception {
        let span = Span {
            start: self.starts_at,
            end: self.ends_at,
        };
        if self.kind == "extra" {
            Exception::Extra(span)
        } else {
            Exception::Closed(span)
        }
    }
}

/// Whose appointments to list.
#[derive(Debug, Clone, Copy)]
pub enum AppointmentsOf {
    Clinic(ClinicId),
    Professional(UserId),
}

/// Which constraint refused a booking.
pub const PROFESSIONAL_BUSY: &str = "professional";
pub const PATIENT_BUSY: &str = "patient";

const HOLDING: &str = "status NOT IN ('cancelled', 'no_show')";

const VIEW_SELECT: &str =
    "SELECT a.*, p.full_name_enc AS patient_name, p.social_name_enc AS patient_social_name,
        u.full_name_enc AS professional_name, pr.profession AS professional_profession,
        pr.gender AS professional_gender, s.name AS service_name, c.name AS clinic_name,
        c.time_zone AS clinic_time_zone
     FROM appointments a
     JOIN patients p ON p.id = a.patient_id
     JOIN users u ON u.id = a.professional_user_id
     LEFT JOIN professionals pr ON pr.user_id = a.professional_user_id
     JOIN clinics c ON c.id = a.clinic_id
     LEFT JOIN services s ON s.id = a.service_id";

impl Store {
    /// An appointment as read, its sealed text opened.
    fn open_appointment(&self, mut a: AppointmentRow) -> Result<AppointmentRow, StoreError> {
        a.notes = self.unseal(std::mem::take(&mut a.notes))?;
        a.cancel_reason = self.unseal_opt(a.cancel_reason.take())?;
        Ok(a)
    }

    fn open_view(&self, mut v: AppointmentView) -> Result<AppointmentView, StoreError> {
        v.a = self.open_appointment(v.a)?;
        v.patient_name = self.unseal(std::mem::take(&mut v.patient_name))?;
        v.patient_social_name = self.unseal_opt(v.patient_social_name.take())?;
        v.professional_name = self.unseal(std::mem::take(&mut v.professional_name))?;
        Ok(v)
    }

    /// When the bookings `user` made since `since` that are not cancelled were made, oldest
    /// first, at most `limit` of them; inside the booking's transaction. On PostgreSQL a
    /// transaction-scoped advisory lock per user serializes one user's bookings across
    /// clinics and nodes, so the count cannot be raced past (SQLite's single writer
    /// already serializes them).
    pub async fn bookings_made_by_since(
        &self,
        tx: &mut Tx,
        user: UserId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        if let Tx::Postgres(t) = tx {
            // The UUIDv7's random tail, folded to the lock's 32-bit second key.
            let b = user.0.as_bytes();
            let key = i32::from_be_bytes([b[12], b[13], b[14], b[15]])
                ^ i32::from_be_bytes([b[8], b[9], b[10], b[11]]);
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(BOOKING_QUOTA_LOCK_CLASS)
                .bind(key)
                .execute(&mut **t)
                .await?;
        }
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar(
                "SELECT created_at FROM appointments
                 WHERE booked_by = $1 AND created_at > $2 AND status <> 'cancelled'
                 ORDER BY created_at LIMIT $3",
            )
            .bind(user)
            .bind(since)
            .bind(limit)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    // ------------------------------------------------------------------ services ---

    pub async fn insert_service(&self, s: &ServiceRow) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO services (id, clinic_id, professional_user_id, name, duration_minutes, price_cents,
                    buffer_before_minutes, buffer_after_minutes, teleconsultation, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(s.id)
            .bind(s.clinic_id)
            .bind(s.professional_user_id)
            .bind(&s.name)
            .bind(s.duration_minutes)
            .bind(s.price_cents)
            .bind(s.buffer_before_minutes)
            .bind(s.buffer_after_minutes)
            .bind(s.teleconsultation)
            .bind(s.active)
            .bind(s.created_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    pub async fn services_of_clinic(
        &self,
        clinic: ClinicId,
    ) -> Result<Vec<ServiceRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ServiceRow>(
                "SELECT * FROM services WHERE clinic_id = $1 AND active ORDER BY name",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        }))
    }

    /// Change a service's name, price, duration, buffers or whether it is offered.
    pub async fn update_service(&self, s: &ServiceRow) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "UPDATE services SET name = $1, duration_minutes = $2, price_cents = $3,
                    buffer_before_minutes = $4, buffer_after_minutes = $5, teleconsultation = $6,
                    active = $7, professional_user_id = $9 WHERE id = $8",
            )
            .bind(&s.name)
            .bind(s.duration_minutes)
            .bind(s.price_cents)
            .bind(s.buffer_before_minutes)
            .bind(s.buffer_after_minutes)
            .bind(s.teleconsultation)
            .bind(s.active)
            .bind(s.id)
            .bind(s.professional_user_id)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Professionals of a clinic with at least one working stretch there.
    pub async fn bookable_professionals(
        &self,
        clinic: ClinicId,
    ) -> Result<Vec<UserId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, UserId>(
                "SELECT DISTINCT professional_user_id FROM working_hours WHERE clinic_id = $1",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn service(&self, id: uuid::Uuid) -> Result<Option<ServiceRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ServiceRow>("SELECT * FROM services WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    // ------------------------------------------------------- hours and rules ---

    pub async fn booking_rules(
        &self,
        clinic: ClinicId,
        pro: UserId,
    ) -> Result<BookingRules, StoreError> {
        let row: Option<(i32, i32, Option<i32>, i32)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT min_notice_minutes, booking_window_days, daily_limit, slot_step_minutes
                 FROM agenda_settings WHERE clinic_id = $1 AND professional_user_id = $2",
            )
            .bind(clinic)
            .bind(pro)
            .fetch_optional(p)
            .await?
        });
        Ok(
            row.map_or_else(BookingRules::default, |(n, w, l, s)| BookingRules {
                min_notice_minutes: n.max(0) as u32,
                booking_window_days: w.max(0) as u32,
                daily_limit: l.map(|l| l.max(0) as u32),
                slot_step_minutes: s.max(1) as u32,
            }),
        )
    }

    pub async fn working_hours(
        &self,
        clinic: ClinicId,
        pro: UserId,
    ) -> Result<Vec<WorkingHours>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, HoursRow>(
                "SELECT weekday, start_time, end_time FROM working_hours
                 WHERE clinic_id = $1 AND professional_user_id = $2 ORDER BY weekday, start_time",
            )
            .bind(clinic)
            .bind(pro)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(WorkingHours {
                    weekday: u8::try_from(r.weekday).ok()?,
                    start: parse_hhmm(&r.start_time).ok()?,
                    end: parse_hhmm(&r.end_time).ok()?,
                })
            })
            .collect())
    }

    /// Replace a professional's weekly hours and booking rules in one clinic.
    pub async fn set_schedule(
        &self,
        clinic: ClinicId,
        pro: UserId,
        hours: &[WorkingHours],
        rules: &BookingRules,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        self.write_schedule(&mut tx, clinic, pro, hours, rules)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Store::set_schedule`] inside a caller's transaction.
    pub async fn write_schedule(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        pro: UserId,
        hours: &[WorkingHours],
        rules: &BookingRules,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM working_hours WHERE clinic_id = $1 AND professional_user_id = $2")
                .bind(clinic)
                .bind(pro)
                .execute(&mut **t)
                .await?;
            for h in hours {
                sqlx::query(
                    "INSERT INTO working_hours (id, clinic_id, professional_user_id, weekday, start_time, end_time)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(clinic)
                .bind(pro)
                .bind(i32::from(h.weekday))
                .bind(format_hhmm(h.start))
                .bind(format_hhmm(h.end))
                .execute(&mut **t)
                .await?;
            }
            sqlx::query(
                "INSERT INTO agenda_settings (clinic_id, professional_user_id, min_notice_minutes,
                    booking_window_days, daily_limit, slot_step_minutes, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (clinic_id, professional_user_id) DO UPDATE SET
                    min_notice_minutes = excluded.min_notice_minutes,
                    booking_window_days = excluded.booking_window_days,
                    daily_limit = excluded.daily_limit,
                    slot_step_minutes = excluded.slot_step_minutes,
                    updated_at = excluded.updated_at",
            )
            .bind(clinic)
            .bind(pro)
            .bind(rules.min_notice_minutes as i32)
            .bind(rules.booking_window_days as i32)
            .bind(rules.daily_limit.map(|l| l as i32))
            .bind(rules.slot_step_minutes as i32)
            .bind(super::now())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn insert_exception(&self, e: &ExceptionRow) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO agenda_exceptions (id, clinic_id, professional_user_id, kind, starts_at, ends_at, reason, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.id)
            .bind(e.clinic_id)
            .bind(e.professional_user_id)
            .bind(&e.kind)
            .bind(e.starts_at)
            .bind(e.ends_at)
            .bind(&e.reason)
            .bind(super::now())
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Exceptions of a clinic overlapping [from, to): the clinic's own and, with `pro`, the
    /// professional's; without `pro`, all of them.
    pub async fn exceptions_between(
        &self,
        clinic: ClinicId,
        pro: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ExceptionRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ExceptionRow>(
                "SELECT id, clinic_id, professional_user_id, kind, starts_at, ends_at, reason
                 FROM agenda_exceptions
                 WHERE clinic_id = $1 AND starts_at < $3 AND ends_at > $2
                   AND ($4 IS NULL OR professional_user_id IS NULL OR professional_user_id = $4)
                 ORDER BY starts_at",
            )
            .bind(clinic)
            .bind(from)
            .bind(to)
            .bind(pro)
            .fetch_all(p)
            .await?
        }))
    }

    /// Delete an exception of the clinic; with `owner`, only that professional's own.
    pub async fn delete_exception(
        &self,
        clinic: ClinicId,
        id: uuid::Uuid,
        owner: Option<UserId>,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query(
                "DELETE FROM agenda_exceptions WHERE id = $1 AND clinic_id = $2
                   AND ($3 IS NULL OR professional_user_id = $3)",
            )
            .bind(id)
            .bind(clinic)
            .bind(owner)
            .execute(p)
            .await?
            .rows_affected()
        }) > 0)
    }

    // ------------------------------------------------------------ appointments ---

    /// Refuse `a` if it overlaps another appointment of its professional (blocks, any
    /// clinic) or of its patient. Runs inside the write transaction.
    async fn check_free(&self, tx: &mut Tx, a: &AppointmentRow) -> Result<(), StoreError> {
        let sql_pro = format!(
            "SELECT COUNT(*) FROM appointments WHERE professional_user_id = $1 AND id <> $2 AND {HOLDING}
               AND block_start < $4 AND block_end > $3"
        );
        let sql_pat = format!(
            "SELECT COUNT(*) FROM appointments WHERE patient_id = $1 AND id <> $2 AND {HOLDING}
               AND starts_at < $4 AND ends_at > $3"
        );
        let (pro, pat): (i64, i64) = on_tx!(tx, t => {
            let pro = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql_pro))
                .bind(a.professional_user_id)
                .bind(a.id)
                .bind(a.block_start)
                .bind(a.block_end)
                .fetch_one(&mut **t)
                .await?;
            let pat = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql_pat))
                .bind(a.patient_id)
                .bind(a.id)
                .bind(a.starts_at)
                .bind(a.ends_at)
                .fetch_one(&mut **t)
                .await?;
            (pro, pat)
        });
        if pro > 0 {
            return Err(StoreError::Conflict(PROFESSIONAL_BUSY));
        }
        if pat > 0 {
            return Err(StoreError::Conflict(PATIENT_BUSY));
        }
        Ok(())
    }

    /// Map PostgreSQL's exclusion violations (a concurrent booking that won) to conflicts.
    fn exclusion(e: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &e
            && db.code().as_deref() == Some("23P01")
        {
            let c = db.constraint().unwrap_or_default();
            return StoreError::Conflict(if c.contains("patient") {
                PATIENT_BUSY
            } else {
                PROFESSIONAL_BUSY
            });
        }
        StoreError::Database(e)
    }

    pub async fn insert_appointment(
        &self,
        tx: &mut Tx,
        a: &AppointmentRow,
    ) -> Result<(), StoreError> {
        if a.status.holds_time() {
            self.check_free(tx, a).await?;
        }
        let notes = self.seal(&a.notes)?;
        let reason = self.seal_opt(a.cancel_reason.as_deref())?;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO appointments (id, clinic_id, professional_user_id, patient_id, service_id, kind, status,
                    starts_at, ends_at, block_start, block_end, hold_expires_at, notes_enc, cancel_reason_enc, booked_by,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(a.id)
            .bind(a.clinic_id)
            .bind(a.professional_user_id)
            .bind(a.patient_id)
            .bind(a.service_id)
            .bind(&a.kind)
            .bind(a.status.as_str())
            .bind(a.starts_at)
            .bind(a.ends_at)
            .bind(a.block_start)
            .bind(a.block_end)
            .bind(a.hold_expires_at)
            .bind(&notes)
            .bind(&reason)
            .bind(a.booked_by)
            .bind(a.created_at)
            .bind(a.updated_at)
            .execute(&mut **t)
            .await
            .map_err(Self::exclusion)?;
        });
        Ok(())
    }

    /// Write an appointment's mutable fields (status, times, hold, reason).
    pub async fn update_appointment(
        &self,
        tx: &mut Tx,
        a: &AppointmentRow,
    ) -> Result<(), StoreError> {
        if a.status.holds_time() {
            self.check_free(tx, a).await?;
        }
        let notes = self.seal(&a.notes)?;
        let reason = self.seal_opt(a.cancel_reason.as_deref())?;
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE appointments SET status = $1, starts_at = $2, ends_at = $3, block_start = $4, block_end = $5,
                    hold_expires_at = $6, cancel_reason_enc = $7, updated_at = $8, patient_id = $9, notes_enc = $10
                 WHERE id = $11",
            )
            .bind(a.status.as_str())
            .bind(a.starts_at)
            .bind(a.ends_at)
            .bind(a.block_start)
            .bind(a.block_end)
            .bind(a.hold_expires_at)
            .bind(&reason)
            .bind(a.updated_at)
            .bind(a.patient_id)
            .bind(&notes)
            .bind(a.id)
            .execute(&mut **t)
            .await
            .map_err(Self::exclusion)?;
        });
        Ok(())
    }

    pub async fn appointment_tx(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<Option<AppointmentRow>, StoreError> {
        let row = on_tx!(tx, t => {
            sqlx::query_as::<_, AppointmentRow>("SELECT * FROM appointments WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        });
        row.map(|r| self.open_appointment(r)).transpose()
    }

    /// The patient's next appointment still to come in this clinic in [from, to).
    pub async fn open_appointment_between(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<AppointmentRow>, StoreError> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, AppointmentRow>(
                "SELECT * FROM appointments WHERE clinic_id = $1 AND patient_id = $2
                   AND status IN ('scheduled', 'confirmed') AND starts_at >= $3 AND starts_at < $4
                 ORDER BY starts_at LIMIT 1",
            )
            .bind(clinic)
            .bind(patient)
            .bind(from)
            .bind(to)
            .fetch_optional(p)
            .await?
        });
        row.map(|r| self.open_appointment(r)).transpose()
    }

    pub async fn appointment_view(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<AppointmentView>, StoreError> {
        let sql = format!("{VIEW_SELECT} WHERE a.id = $1");
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, AppointmentView>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        row.map(|r| self.open_view(r)).transpose()
    }

    /// Appointments starting in [from, to), cancelled ones included: a clinic's, or a
    /// professional's in every clinic.
    pub async fn appointments_of(
        &self,
        of: AppointmentsOf,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AppointmentView>, StoreError> {
        let (column, id) = match of {
            AppointmentsOf::Clinic(c) => ("clinic_id", c.0),
            AppointmentsOf::Professional(u) => ("professional_user_id", u.0),
        };
        let sql = format!(
            "{VIEW_SELECT} WHERE a.{column} = $1 AND a.starts_at >= $2 AND a.starts_at < $3 ORDER BY a.starts_at"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AppointmentView>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(|r| self.open_view(r)).collect()
    }

    pub async fn patient_appointments(
        &self,
        patient: PatientId,
    ) -> Result<Vec<AppointmentView>, StoreError> {
        let sql = format!(
            "{VIEW_SELECT} WHERE a.patient_id = $1 AND a.status <> 'held'
               AND NOT EXISTS (SELECT 1 FROM waitlist_offers o WHERE o.appointment_id = a.id AND o.status <> 'accepted')
             ORDER BY a.starts_at DESC LIMIT 200"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AppointmentView>(sqlx::AssertSqlSafe(sql))
                .bind(patient)
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(|r| self.open_view(r)).collect()
    }

    /// The professional's taken time (blocks) in every clinic overlapping [from, to).
    pub async fn busy_blocks(
        &self,
        pro: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Span>, StoreError> {
        let sql = format!(
            "SELECT block_start, block_end FROM appointments
             WHERE professional_user_id = $1 AND {HOLDING} AND block_start < $3 AND block_end > $2"
        );
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(pro)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(start, end)| Span { start, end })
            .collect())
    }

    /// Starts of the professional's holding appointments in one clinic in [from, to).
    pub async fn clinic_booking_starts(
        &self,
        clinic: ClinicId,
        pro: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let sql = format!(
            "SELECT starts_at FROM appointments WHERE clinic_id = $1 AND professional_user_id = $2 AND {HOLDING}
               AND starts_at >= $3 AND starts_at < $4"
        );
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, DateTime<Utc>>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(pro)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?
        }))
    }

    // ------------------------------------------------------ links, outbox, iCal ---

    /// Record that a single-use link was used; false if it already had been.
    pub async fn use_link(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        purpose: &str,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO used_links (token_hash, purpose, used_at) VALUES ($1, $2, $3)
                 ON CONFLICT (token_hash) DO NOTHING",
            )
            .bind(token_hash)
            .bind(purpose)
            .bind(super::now())
            .execute(&mut **t)
            .await?
            .rows_affected()
        }) == 1)
    }

    pub async fn link_used(&self, token_hash: &str) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM used_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_one(p)
                .await?
        }) > 0)
    }

    /// Queue an e-mail for delivery (payload already encrypted); see
    /// [`Store::insert_message`] for the other fields.
    pub async fn insert_outbox(
        &self,
        tx: &mut Tx,
        clinic: Option<ClinicId>,
        patient: Option<PatientId>,
        template: &str,
        payload: &serde_json::Value,
    ) -> Result<uuid::Uuid, StoreError> {
        let m = super::outbox::NewMessage {
            clinic,
            patient,
            channel: "email",
            template: template.to_string(),
            ..Default::default()
        };
        self.insert_message(tx, &m, payload).await
    }

    /// A patient's outbox messages, sent or not (the delivery worker may already have
    /// taken one), oldest first: (template, encrypted payload).
    pub async fn outbox_for_patient(
        &self,
        patient: PatientId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT template, payload FROM outbox WHERE patient_id = $1 ORDER BY created_at, id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn set_ical_feed(&self, pro: UserId, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO ical_feeds (professional_user_id, token_hash, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (professional_user_id) DO UPDATE SET token_hash = excluded.token_hash,
                    created_at = excluded.created_at",
            )
            .bind(pro)
            .bind(token_hash)
            .bind(super::now())
            .execute(p)
            .await?;
        });
        Ok(())
    }

    pub async fn delete_ical_feed(&self, pro: UserId) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM ical_feeds WHERE professional_user_id = $1")
                .bind(pro)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// When the professional's current calendar address was made, if they have one.
    pub async fn ical_feed_of(&self, pro: UserId) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, DateTime<Utc>>(
                "SELECT created_at FROM ical_feeds WHERE professional_user_id = $1",
            )
            .bind(pro)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn ical_owner(&self, token_hash: &str) -> Result<Option<UserId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, UserId>("SELECT professional_user_id FROM ical_feeds WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(p)
                .await?
        }))
    }
}

/// Midnight of a local date, in UTC.
pub fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone as _;
    tz.from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || date.and_time(NaiveTime::MIN).and_utc(),
            |d| d.with_timezone(&Utc),
        )
}
