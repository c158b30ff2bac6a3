//! Money: professionals' prices, the clinic's Pix account, Pix charges, payments and
//! refunds as the PSP reports them, and the append-only ledger.
//!
//! Idempotency lives in the keys: a Pix received is stored once per `end_to_end_id`
//! (`insert_pix_payment` says whether it was new), a refund settles once (`settle_pix_refund`
//! only moves a `requested` one), and a ledger line is unique per (kind, reference,
//! account), so no path can post the same event twice.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::billing::ledger::Transaction;
use crate::domain::{ClinicId, PatientId, UserId};

/// A professional's own price for a service.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServicePriceRow {
    pub service_id: uuid::Uuid,
    pub professional_user_id: UserId,
    pub clinic_id: ClinicId,
    pub price_cents: i64,
    pub updated_at: DateTime<Utc>,
}

/// Where a clinic receives Pix.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PixSettingsRow {
    pub clinic_id: ClinicId,
    pub pix_key: String,
    pub merchant_name: String,
    pub merchant_city: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PixChargeRow {
    pub txid: String,
    pub clinic_id: ClinicId,
    pub appointment_id: uuid::Uuid,
    pub patient_id: PatientId,
    pub amount_cents: i64,
    /// `active`, `paid` or `expired`.
    pub status: String,
    pub br_code: String,
    pub location: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PixPaymentRow {
    pub end_to_end_id: String,
    pub txid: String,
    pub clinic_id: ClinicId,
    pub appointment_id: uuid::Uuid,
    pub amount_cents: i64,
    pub paid_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// An appointment's payment in short, for the agenda.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentSummaryRow {
    pub appointment_id: uuid::Uuid,
    pub charge_status: Option<String>,
    pub charge_expires_at: Option<DateTime<Utc>>,
    pub paid_cents: i64,
    pub refunded_cents: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PixRefundRow {
    pub id: String,
    pub end_to_end_id: String,
    pub clinic_id: ClinicId,
    pub appointment_id: uuid::Uuid,
    pub amount_cents: i64,
    /// `requested`, `returned` or `failed`.
    pub status: String,
    pub rtr_id: Option<String>,
    pub reason: String,
    pub requested_by: Option<UserId>,
    pub requested_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub txn_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub account: String,
    pub amount_cents: i64,
    pub kind: String,
    pub reference: String,
    pub appointment_id: Option<uuid::Uuid>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

impl Store {
    // ------------------------------------------------------------------ prices ---

    pub async fn service_prices_of_clinic(
        &self,
        clinic: ClinicId,
    ) -> Result<Vec<ServicePriceRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ServicePriceRow>(
                "SELECT * FROM service_prices WHERE clinic_id = $1",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        }))
    }

    /// The professional's own price for the service, if they have one.
    pub async fn professional_price(
        &self,
        service: uuid::Uuid,
        pro: UserId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT price_cents FROM service_prices
                 WHERE service_id = $1 AND professional_user_id = $2",
            )
            .bind(service)
            .bind(pro)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn set_professional_price(
        &self,
        tx: &mut Tx,
        row: &ServicePriceRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO service_prices (service_id, professional_user_id, clinic_id, price_cents, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (service_id, professional_user_id)
                 DO UPDATE SET price_cents = excluded.price_cents, updated_at = excluded.updated_at",
            )
            .bind(row.service_id)
            .bind(row.professional_user_id)
            .bind(row.clinic_id)
            .bind(row.price_cents)
            .bind(row.updated_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Remove a professional's own price; whether there was one.
    pub async fn delete_professional_price(
        &self,
        tx: &mut Tx,
        service: uuid::Uuid,
        pro: UserId,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "DELETE FROM service_prices WHERE service_id = $1 AND professional_user_id = $2",
            )
            .bind(service)
            .bind(pro)
            .execute(&mut **t)
            .await?
            .rows_affected()
                > 0
        }))
    }

    // ------------------------------------------------------------ pix settings ---

    pub async fn pix_settings(
        &self,
        clinic: ClinicId,
    ) -> Result<Option<PixSettingsRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PixSettingsRow>("SELECT * FROM pix_settings WHERE clinic_id = $1")
                .bind(clinic)
                .fetch_optional(p)
                .await?
        }))
    }

    pub async fn put_pix_settings(
        &self,
        tx: &mut Tx,
        row: &PixSettingsRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO pix_settings (clinic_id, pix_key, merchant_name, merchant_city, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (clinic_id) DO UPDATE SET pix_key = excluded.pix_key,
                    merchant_name = excluded.merchant_name, merchant_city = excluded.merchant_city,
                    updated_at = excluded.updated_at",
            )
            .bind(row.clinic_id)
            .bind(&row.pix_key)
            .bind(&row.merchant_name)
            .bind(&row.merchant_city)
            .bind(row.updated_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    // ----------------------------------------------------------------- charges ---

    pub async fn insert_pix_charge(&self, tx: &mut Tx, c: &PixChargeRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO pix_charges (txid, clinic_id, appointment_id, patient_id, amount_cents, status,
                    br_code, location, expires_at, created_by, created_at, paid_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&c.txid)
            .bind(c.clinic_id)
            .bind(c.appointment_id)
            .bind(c.patient_id)
            .bind(c.amount_cents)
            .bind(&c.status)
            .bind(&c.br_code)
            .bind(&c.location)
            .bind(c.expires_at)
            .bind(c.created_by)
            .bind(c.created_at)
            .bind(c.paid_at)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["pix_charges_one_active", "appointment_id"]))?;
        });
        Ok(())
    }

    /// Close the appointment's open charges that expired by `now`, inside `tx`.
    pub async fn expire_pix_charges(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE pix_charges SET status = 'expired'
                 WHERE appointment_id = $1 AND status = 'active' AND expires_at <= $2",
            )
            .bind(appointment)
            .bind(now)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn pix_charge(&self, txid: &str) -> Result<Option<PixChargeRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PixChargeRow>("SELECT * FROM pix_charges WHERE txid = $1")
                .bind(txid)
                .fetch_optional(p)
                .await?
        }))
    }

    /// The appointment's newest charge.
    pub async fn latest_pix_charge(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Option<PixChargeRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PixChargeRow>(
                "SELECT * FROM pix_charges WHERE appointment_id = $1
                 ORDER BY created_at DESC, txid DESC LIMIT 1",
            )
            .bind(appointment)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Mark an active charge paid; whether it was active.
    pub async fn mark_pix_charge_paid(
        &self,
        tx: &mut Tx,
        txid: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "UPDATE pix_charges SET status = 'paid', paid_at = $2
                 WHERE txid = $1 AND status <> 'paid'",
            )
            .bind(txid)
            .bind(at)
            .execute(&mut **t)
            .await?
            .rows_affected()
                > 0
        }))
    }

    // ---------------------------------------------------------------- payments ---

    /// Store a Pix received; `false` when its endToEndId was already stored (a repeated
    /// notification), in which case nothing changed.
    pub async fn insert_pix_payment(
        &self,
        tx: &mut Tx,
        r: &PixPaymentRow,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO pix_payments (end_to_end_id, txid, clinic_id, appointment_id, amount_cents,
                    paid_at, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (end_to_end_id) DO NOTHING",
            )
            .bind(&r.end_to_end_id)
            .bind(&r.txid)
            .bind(r.clinic_id)
            .bind(r.appointment_id)
            .bind(r.amount_cents)
            .bind(r.paid_at)
            .bind(r.recorded_at)
            .execute(&mut **t)
            .await?
            .rows_affected()
                > 0
        }))
    }

    /// Total received for a charge, inside `tx` (after this transaction's own inserts).
    pub async fn pix_received_for(&self, tx: &mut Tx, txid: &str) -> Result<i64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM pix_payments WHERE txid = $1",
            )
            .bind(txid)
            .fetch_one(&mut **t)
            .await?
        }))
    }

    pub async fn pix_payments_of(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Vec<PixPaymentRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PixPaymentRow>(
                "SELECT * FROM pix_payments WHERE appointment_id = $1 ORDER BY paid_at",
            )
            .bind(appointment)
            .fetch_all(p)
            .await?
        }))
    }

    /// For the clinic's appointments starting in [from, to) that ever had a Pix charge or a
    /// payment at the front desk: the last charge's status and expiry, and what was received
    /// and refunded (by Pix and at the desk).
    pub async fn payment_summaries(
        &self,
        clinic: ClinicId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PaymentSummaryRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PaymentSummaryRow>(
                "SELECT a.id AS appointment_id,
                    (SELECT c.status FROM pix_charges c WHERE c.appointment_id = a.id
                      ORDER BY c.created_at DESC, c.txid DESC LIMIT 1) AS charge_status,
                    (SELECT c.expires_at FROM pix_charges c WHERE c.appointment_id = a.id
                      ORDER BY c.created_at DESC, c.txid DESC LIMIT 1) AS charge_expires_at,
                    CAST(COALESCE((SELECT SUM(p.amount_cents) FROM pix_payments p
                      WHERE p.appointment_id = a.id), 0)
                      + COALESCE((SELECT SUM(m.amount_cents) FROM cash_movements m
                      WHERE m.appointment_id = a.id AND m.kind = 'payment'), 0) AS BIGINT) AS paid_cents,
                    CAST(COALESCE((SELECT SUM(r.amount_cents) FROM pix_refunds r
                      WHERE r.appointment_id = a.id AND r.status = 'returned'), 0)
                      + COALESCE((SELECT SUM(m.amount_cents) FROM cash_movements m
                      WHERE m.appointment_id = a.id AND m.kind = 'refund'), 0) AS BIGINT) AS refunded_cents
                 FROM appointments a
                 WHERE a.clinic_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3
                   AND (EXISTS (SELECT 1 FROM pix_charges c WHERE c.appointment_id = a.id)
                        OR EXISTS (SELECT 1 FROM cash_movements m WHERE m.appointment_id = a.id))",
            )
            .bind(clinic)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await?
        }))
    }

    // ----------------------------------------------------------------- refunds ---

    pub async fn insert_pix_refund(&self, tx: &mut Tx, r: &PixRefundRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO pix_refunds (id, end_to_end_id, clinic_id, appointment_id, amount_cents, status,
                    rtr_id, reason, requested_by, requested_at, settled_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&r.id)
            .bind(&r.end_to_end_id)
            .bind(r.clinic_id)
            .bind(r.appointment_id)
            .bind(r.amount_cents)
            .bind(&r.status)
            .bind(&r.rtr_id)
            .bind(&r.reason)
            .bind(r.requested_by)
            .bind(r.requested_at)
            .bind(r.settled_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn pix_refund(
        &self,
        tx: &mut Tx,
        id: &str,
    ) -> Result<Option<PixRefundRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, PixRefundRow>("SELECT * FROM pix_refunds WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }))
    }

    /// Move a `requested` refund to `returned` or `failed`; `false` when it was settled
    /// already (a repeated notification).
    pub async fn settle_pix_refund(
        &self,
        tx: &mut Tx,
        id: &str,
        status: &str,
        rtr_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "UPDATE pix_refunds SET status = $2, rtr_id = COALESCE($3, rtr_id), settled_at = $4
                 WHERE id = $1 AND status = 'requested'",
            )
            .bind(id)
            .bind(status)
            .bind(rtr_id)
            .bind(at)
            .execute(&mut **t)
            .await?
            .rows_affected()
                > 0
        }))
    }

    pub async fn pix_refunds_of(
        &self,
        appointment: uuid::Uuid,
    ) -> Result<Vec<PixRefundRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, PixRefundRow>(
                "SELECT * FROM pix_refunds WHERE appointment_id = $1 ORDER BY requested_at",
            )
            .bind(appointment)
            .fetch_all(p)
            .await?
        }))
    }

    // ------------------------------------------------------------------ ledger ---

    /// Post a balanced transaction's lines, inside `tx`. A transaction of the same kind and
    /// reference posted before is refused (`Conflict("reference")`).
    pub async fn post_ledger(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        appointment: Option<uuid::Uuid>,
        actor: Option<UserId>,
        txn: &Transaction,
        at: DateTime<Utc>,
    ) -> Result<uuid::Uuid, StoreError> {
        let txn_id = uuid::Uuid::now_v7();
        for line in txn.lines() {
            on_tx!(&mut *tx, t => {
                sqlx::query(
                    "INSERT INTO ledger_entries (txn_id, clinic_id, account, amount_cents, kind,
                        reference, appointment_id, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(txn_id)
                .bind(clinic)
                .bind(line.account)
                .bind(line.amount_cents)
                .bind(txn.kind)
                .bind(&txn.reference)
                .bind(appointment)
                .bind(actor)
                .bind(at)
                .execute(&mut **t)
                .await
                .map_err(|e| StoreError::from(e).unique_on(&["reference", "ledger_entries"]))?;
            });
        }
        Ok(txn_id)
    }

    /// A clinic's ledger lines in [from, to), oldest first, at most `limit`.
    pub async fn ledger_entries(
        &self,
        clinic: ClinicId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LedgerRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, LedgerRow>(
                "SELECT * FROM ledger_entries WHERE clinic_id = $1 AND created_at >= $2 AND created_at < $3
                 ORDER BY id LIMIT $4",
            )
            .bind(clinic)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Each account's balance (sum of its lines) for a clinic, or for one appointment.
    pub async fn ledger_balances(
        &self,
        clinic: ClinicId,
        appointment: Option<uuid::Uuid>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT account, CAST(SUM(amount_cents) AS BIGINT) FROM ledger_entries
                 WHERE clinic_id = $1 AND ($2 IS NULL OR appointment_id = $2)
                 GROUP BY account ORDER BY account",
            )
            .bind(clinic)
            .bind(appointment)
            .fetch_all(p)
            .await?
        }))
    }
}
