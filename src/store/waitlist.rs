//! The smart waitlist: patients waiting for a freed slot, and the offers made to them.
//! An offer holds the slot as an appointment in status `held` (so the same no-double-booking
//! rules protect it) until the patient accepts, declines, or the hold lapses.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::agenda::{OfferStatus, WaitlistStatus};
use crate::domain::{ClinicId, PatientId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitlistRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub professional_user_id: Option<UserId>,
    pub service_id: Option<uuid::Uuid>,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    pub time_from: String,
    pub time_to: String,
    #[sqlx(try_from = "String")]
    pub status: WaitlistStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: uuid::Uuid,
    pub waitlist_id: uuid::Uuid,
    pub appointment_id: uuid::Uuid,
    #[sqlx(try_from = "String")]
    pub status: OfferStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// What a one-click link to an offer needs: the held appointment, the offer's status and
/// when the hold lapses.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferSummary {
    pub appointment_id: uuid::Uuid,
    #[sqlx(try_from = "String")]
    pub status: OfferStatus,
    pub expires_at: DateTime<Utc>,
}

/// An entry with the patient's name and its open offer, for screens.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitlistView {
    #[sqlx(flatten)]
    pub w: WaitlistRow,
    pub patient_name: String,
    pub offer_id: Option<uuid::Uuid>,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub offer_appointment_id: Option<uuid::Uuid>,
    pub offer_starts_at: Option<DateTime<Utc>>,
    pub offer_ends_at: Option<DateTime<Utc>>,
}

const VIEW: &str =
    "SELECT w.*, COALESCE(p.social_name_enc, p.full_name_enc) AS patient_name, o.id AS offer_id,
        o.expires_at AS offer_expires_at, o.appointment_id AS offer_appointment_id,
        a.starts_at AS offer_starts_at, a.ends_at AS offer_ends_at
     FROM waitlist_entries w JOIN patients p ON p.id = w.patient_id
     LEFT JOIN waitlist_offers o ON o.waitlist_id = w.id AND o.status = 'offered'
     LEFT JOIN appointments a ON a.id = o.appointment_id";

impl Store {
    pub async fn insert_waitlist(&self, tx: &mut Tx, w: &WaitlistRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO waitlist_entries (id, clinic_id, patient_id, professional_user_id, service_id,
                    date_from, date_to, time_from, time_to, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(w.id)
            .bind(w.clinic_id)
            .bind(w.patient_id)
            .bind(w.professional_user_id)
            .bind(w.service_id)
            .bind(w.date_from)
            .bind(w.date_to)
            .bind(&w.time_from)
            .bind(&w.time_to)
            .bind(w.status.as_str())
            .bind(w.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// A clinic's entries still in play (waiting or offered), oldest first; or one
    /// patient's, in every state, newest first.
    pub async fn waitlist_views(
        &self,
        clinic: Option<ClinicId>,
        patient: Option<PatientId>,
    ) -> Result<Vec<WaitlistView>, StoreError> {
        let sql = match (clinic, patient) {
            (Some(_), _) => format!(
                "{VIEW} WHERE w.clinic_id = $1 AND w.status IN ('waiting', 'offered') ORDER BY w.created_at"
            ),
            _ => format!("{VIEW} WHERE w.patient_id = $2 ORDER BY w.created_at DESC LIMIT 100"),
        };
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, WaitlistView>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(patient)
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|mut v| {
                v.patient_name = self.unseal(std::mem::take(&mut v.patient_name))?;
                Ok(v)
            })
            .collect()
    }

    pub async fn waitlist_entry(&self, id: uuid::Uuid) -> Result<Option<WaitlistRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, WaitlistRow>("SELECT * FROM waitlist_entries WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    /// Waiting entries of a clinic, first come first served.
    pub async fn waiting_list_tx(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
    ) -> Result<Vec<WaitlistRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, WaitlistRow>(
                "SELECT * FROM waitlist_entries WHERE clinic_id = $1 AND status = 'waiting' ORDER BY created_at, id",
            )
            .bind(clinic)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    pub async fn set_waitlist_status(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        status: WaitlistStatus,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE waitlist_entries SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    pub async fn insert_offer(&self, tx: &mut Tx, o: &OfferRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO waitlist_offers (id, waitlist_id, appointment_id, status, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(o.id)
            .bind(o.waitlist_id)
            .bind(o.appointment_id)
            .bind(o.status.as_str())
            .bind(o.expires_at)
            .bind(o.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn offer_tx(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<Option<OfferRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, OfferRow>("SELECT * FROM waitlist_offers WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }))
    }

    /// The offer, its waitlist entry's clinic and patient (for routing and permissions).
    pub async fn offer_owner(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<(ClinicId, PatientId)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, (ClinicId, PatientId)>(
                "SELECT w.clinic_id, w.patient_id FROM waitlist_offers o
                 JOIN waitlist_entries w ON w.id = o.waitlist_id WHERE o.id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn decide_offer(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        status: OfferStatus,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE waitlist_offers SET status = $1, decided_at = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(super::now())
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Open offers of a clinic whose hold lapsed at `now`.
    pub async fn lapsed_offers(
        &self,
        clinic: ClinicId,
        now: DateTime<Utc>,
    ) -> Result<Vec<uuid::Uuid>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, uuid::Uuid>(
                "SELECT o.id FROM waitlist_offers o JOIN waitlist_entries w ON w.id = o.waitlist_id
                 WHERE w.clinic_id = $1 AND o.status = 'offered' AND o.expires_at <= $2 ORDER BY o.expires_at",
            )
            .bind(clinic)
            .bind(now)
            .fetch_all(p)
            .await?
        }))
    }

    /// Clinics with an open offer whose hold lapsed at `now` (for the sweeper).
    pub async fn clinics_with_lapsed_offers(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClinicId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, ClinicId>(
                "SELECT DISTINCT w.clinic_id FROM waitlist_offers o JOIN waitlist_entries w ON w.id = o.waitlist_id
                 WHERE o.status = 'offered' AND o.expires_at <= $1",
            )
            .bind(now)
            .fetch_all(p)
            .await?
        }))
    }

    /// An offer's held appointment, its status and when the hold lapses.
    pub async fn offer_summary(&self, id: uuid::Uuid) -> Result<Option<OfferSummary>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, OfferSummary>(
                "SELECT appointment_id, status, expires_at FROM waitlist_offers WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        }))
    }
}
