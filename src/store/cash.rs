//! The front desk's cash register: sessions and their append-only movements. The database
//! refuses movements on a closed session (adjustments aside), changes to a closed session and
//! any change or removal of a movement. A movement's description is sealed like the rest of
//! the front desk's text.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CashSessionRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub opened_by: UserId,
    pub opened_at: DateTime<Utc>,
    pub opening_cents: i64,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<UserId>,
    pub counted_cents: Option<i64>,
    pub expected_cents: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CashMovementRow {
    pub id: uuid::Uuid,
    pub session_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub kind: String,
    pub method: String,
    pub amount_cents: i64,
    pub appointment_id: Option<uuid::Uuid>,
    pub nsu: Option<String>,
    /// Plain in the row; sealed in the database.
    #[sqlx(rename = "description_enc")]
    pub description: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl Store {
    pub async fn insert_cash_session(
        &self,
        tx: &mut Tx,
        s: &CashSessionRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO cash_sessions (id, clinic_id, opened_by, opened_at, opening_cents)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(s.id)
            .bind(s.clinic_id)
            .bind(s.opened_by)
            .bind(s.opened_at)
            .bind(s.opening_cents)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["cash_sessions"]))?;
        });
        Ok(())
    }

    /// The session `user` has open in `clinic`, inside `tx` (locked on PostgreSQL, so a
    /// close and a movement cannot cross).
    pub async fn open_cash_session(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Option<CashSessionRow>, StoreError> {
        let lock = match tx {
            Tx::Postgres(_) => " FOR UPDATE",
            Tx::Sqlite(_) => "",
        };
        let sql = format!(
            "SELECT * FROM cash_sessions WHERE clinic_id = $1 AND opened_by = $2 AND closed_at IS NULL{lock}"
        );
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, CashSessionRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(user)
                .fetch_optional(&mut **t)
                .await?
        }))
    }

    pub async fn cash_session(&self, id: uuid::Uuid) -> Result<Option<CashSessionRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, CashSessionRow>("SELECT * FROM cash_sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    /// A clinic's sessions opened in [from, to), newest first.
    pub async fn cash_sessions_between(
        &self,
        clinic: ClinicId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CashSessionRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, CashSessionRow>(
                "SELECT * FROM cash_sessions WHERE clinic_id = $1 AND opened_at >= $2 AND opened_at < $3
                 ORDER BY opened_at DESC",
            )
            .bind(clinic)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn close_cash_session(
        &self,
        tx: &mut Tx,
        s: &CashSessionRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE cash_sessions SET closed_at = $1, closed_by = $2, counted_cents = $3,
                    expected_cents = $4, note = $5
                 WHERE id = $6 AND closed_at IS NULL",
            )
            .bind(s.closed_at)
            .bind(s.closed_by)
            .bind(s.counted_cents)
            .bind(s.expected_cents)
            .bind(&s.note)
            .bind(s.id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn insert_cash_movement(
        &self,
        tx: &mut Tx,
        m: &CashMovementRow,
    ) -> Result<(), StoreError> {
        let description = self.seal(&m.description)?;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO cash_movements (id, session_id, clinic_id, kind, method, amount_cents,
                    appointment_id, nsu, description_enc, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(m.id)
            .bind(m.session_id)
            .bind(m.clinic_id)
            .bind(&m.kind)
            .bind(&m.method)
            .bind(m.amount_cents)
            .bind(m.appointment_id)
            .bind(&m.nsu)
            .bind(&description)
            .bind(m.created_by)
            .bind(m.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// A session's movements, oldest first (inside `tx` when closing).
    /// What the front desk received for an appointment and gave back (centavos).
    pub async fn desk_totals_of(&self, appointment: uuid::Uuid) -> Result<(i64, i64), StoreError> {
        const SQL: &str = "SELECT
                CAST(COALESCE(SUM(CASE WHEN kind = 'payment' THEN amount_cents END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount_cents END), 0) AS BIGINT)
             FROM cash_movements WHERE appointment_id = $1";
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, (i64, i64)>(SQL)
                .bind(appointment)
                .fetch_one(p)
                .await?
        }))
    }

    pub async fn cash_movements(
        &self,
        tx: Option<&mut Tx>,
        session: uuid::Uuid,
    ) -> Result<Vec<CashMovementRow>, StoreError> {
        const SQL: &str =
            "SELECT * FROM cash_movements WHERE session_id = $1 ORDER BY created_at, id";
        let rows = match tx {
            Some(tx) => on_tx!(tx, t => {
                sqlx::query_as::<_, CashMovementRow>(SQL)
                    .bind(session)
                    .fetch_all(&mut **t)
                    .await?
            }),
            None => on_pool!(self, p => {
                sqlx::query_as::<_, CashMovementRow>(SQL)
                    .bind(session)
                    .fetch_all(p)
                    .await?
            }),
        };
        rows.into_iter()
            .map(|mut m| {
                m.description = self.unseal(std::mem::take(&mut m.description))?;
                Ok(m)
            })
            .collect()
    }
}
