//! The rows behind the clinic's reports, read page by page (keyset on the ledger's id) so a
//! year of a large clinic never sits in memory at once.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool};
use crate::domain::agenda::AppointmentStatus;
use crate::domain::{ClinicId, UserId};

/// An appointment as the attendance report counts it: whose, how it ended, how long.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttendanceRow {
    pub professional_user_id: UserId,
    #[sqlx(try_from = "String")]
    pub status: AppointmentStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// One posting to `income:appointments` with what explains it: the asset account of its
/// transaction (how it was paid) and the appointment's professional and service.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevenueRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub kind: String,
    /// + received, − given back (the income line's credit, negated).
    pub revenue_cents: i64,
    pub asset_account: Option<String>,
    pub appointment_id: Option<uuid::Uuid>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub professional_name: Option<String>,
    pub service_name: Option<String>,
}

impl Store {
    /// The clinic's revenue postings in [from, to) after `after` (the last page's posting time
    /// and id; `(from, 0)` for the first page), in time order, at most `limit`. The cursor
    /// bounds the (clinic, time) index range (`created_at >= $4`: the `OR` alone left PostgreSQL
    /// scanning and sorting the whole period for every page), so each page is a short scan.
    pub async fn revenue_page(
        &self,
        clinic: ClinicId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: (DateTime<Utc>, i64),
        limit: i64,
    ) -> Result<Vec<RevenueRow>, StoreError> {
        const SQL: &str = "SELECT r.id, r.created_at, r.kind,
                CAST(-r.amount_cents AS BIGINT) AS revenue_cents,
                (SELECT x.account FROM ledger_entries x
                  WHERE x.txn_id = r.txn_id AND x.account LIKE 'asset:%'
                  ORDER BY x.id LIMIT 1) AS asset_account,
                r.appointment_id, a.starts_at AS appointment_at,
                u.full_name_enc AS professional_name, s.name AS service_name
             FROM ledger_entries r
             LEFT JOIN appointments a ON a.id = r.appointment_id
             LEFT JOIN users u ON u.id = a.professional_user_id
             LEFT JOIN services s ON s.id = a.service_id
             WHERE r.clinic_id = $1 AND r.account = 'income:appointments'
               AND r.created_at >= $2 AND r.created_at < $3
               AND r.created_at >= $4
               AND (r.created_at > $4 OR (r.created_at = $4 AND r.id > $5))
             ORDER BY r.created_at, r.id LIMIT $6";
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, RevenueRow>(SQL)
                .bind(clinic)
                .bind(from)
                .bind(to)
                .bind(after.0)
                .bind(after.1)
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.professional_name)
    }

    /// The clinic's appointments starting in [from, to), only what the attendance report
    /// needs (no patient data is read, nothing is decrypted).
    pub async fn attendance_rows(
        &self,
        clinic: ClinicId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AttendanceRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, AttendanceRow>(
                "SELECT professional_user_id, status, starts_at, ends_at FROM appointments
                 WHERE clinic_id = $1 AND starts_at >= $2 AND starts_at < $3",
            )
            .bind(clinic)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await?
        }))
    }
}
