//! An appointment's payment as reception, the patient and pushes show it: what it costs,
//! who pays, the Pix charge to pay with, what was received and refunded.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::appointment_in;
use super::prices::{PriceSource, appointment_price};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::ClinicId;
use crate::store::agenda::AppointmentView;

/// Where an appointment stands with money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Nothing received and no charge open.
    Unpaid,
    /// A Pix charge is open, waiting for the patient.
    Pending,
    Paid,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    /// From what was received and refunded, and whether a charge is open (unexpired).
    pub fn of(paid: i64, refunded: i64, charge_open: bool) -> Self {
        if paid > 0 && refunded >= paid {
            PaymentStatus::Refunded
        } else if refunded > 0 {
            PaymentStatus::PartiallyRefunded
        } else if paid > 0 {
            PaymentStatus::Paid
        } else if charge_open {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Unpaid
        }
    }
}

/// An appointment's payment status, for the agenda.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentSummary {
    pub appointment_id: uuid::Uuid,
    pub status: PaymentStatus,
    pub paid_cents: i64,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentsQuery {
    /// First local day (clinic's zone), inclusive.
    pub from: chrono::NaiveDate,
    /// Last local day, inclusive (at most 62 days after `from`).
    pub to: chrono::NaiveDate,
}

/// The payment status of the clinic's appointments of a period that had a Pix charge or a
/// payment at the front desk (its staff): the agenda shows "Pago" from it and keeps it live with `payment.updated`.
pub async fn payments_between(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: PaymentsQuery,
) -> Result<Vec<PaymentSummary>, AppError> {
    auth.require_staff(clinic)?;
    let days = (q.to - q.from).num_days();
    if !(0..=62).contains(&days) {
        return Err(crate::domain::ValidationError::new(
            "invalid_period",
            "período de 1 a 63 dias",
        )
        .into());
    }
    let tz = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?
        .tz();
    let from = crate::store::agenda::local_midnight(tz, q.from);
    let to = crate::store::agenda::local_midnight(tz, q.to + chrono::Duration::days(1));
    let now = super::now(state);
    Ok(state
        .store
        .payment_summaries(clinic, from, to)
        .await?
        .into_iter()
        .map(|r| PaymentSummary {
            appointment_id: r.appointment_id,
            status: PaymentStatus::of(
                r.paid_cents,
                r.refunded_cents,
                r.charge_status.as_deref() == Some("active")
                    && r.charge_expires_at.is_some_and(|e| e > now),
            ),
            paid_cents: r.paid_cents,
        })
        .collect())
}

/// The open or last Pix charge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PixCharge {
    pub txid: String,
    pub amount_cents: i64,
    /// `active`, `paid` or `expired`.
    pub status: String,
    /// The BR Code ("Pix copia e cola"), also drawn as a QR code.
    pub br_code: String,
    /// The BR Code drawn as a QR code (SVG), for a bank app's camera.
    pub qr_svg: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PixRefund {
    pub id: String,
    pub amount_cents: i64,
    /// `requested`, `returned` or `failed`.
    pub status: String,
    pub requested_at: DateTime<Utc>,
}

/// An appointment's payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentPayment {
    pub appointment_id: uuid::Uuid,
    /// What the appointment costs (centavos): the open charge's amount, else the price
    /// table's.
    pub price_cents: i64,
    pub price_source: PriceSource,
    /// Who pays: `patient` (health plans come later).
    pub payer: String,
    pub status: PaymentStatus,
    /// Received by Pix and at the front desk (cash, card machine, Pix at the counter).
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub charge: Option<PixCharge>,
    pub refunds: Vec<PixRefund>,
}

/// The appointment's payment (its clinic's staff, or the appointment's own patient).
pub async fn payment_of(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    appointment: uuid::Uuid,
) -> Result<AppointmentPayment, AppError> {
    let view = appointment_in(state, clinic, appointment).await?;
    require_staff_or_patient(auth, &view)?;
    payment_view(state, &view).await
}

/// Staff of the appointment's clinic, or its own patient.
pub(crate) fn require_staff_or_patient(
    auth: &Auth,
    view: &AppointmentView,
) -> Result<(), AppError> {
    if auth.is_staff_of(view.a.clinic_id) || auth.owns_patient(view.a.patient_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Build the payment view from the store.
pub(crate) async fn payment_view(
    state: &AppState,
    view: &AppointmentView,
) -> Result<AppointmentPayment, AppError> {
    let a = &view.a;
    let (table_price, source) = appointment_price(state, a).await?;
    let now = super::now(state);
    let charge = state
        .store
        .latest_pix_charge(a.id)
        .await?
        .map(|c| PixCharge {
            status: if c.status == "active" && c.expires_at <= now {
                "expired".into()
            } else {
                c.status
            },
            txid: c.txid,
            amount_cents: c.amount_cents,
            qr_svg: crate::qr::svg(&c.br_code),
            br_code: c.br_code,
            expires_at: c.expires_at,
        });
    let (desk_paid, desk_refunded) = state.store.desk_totals_of(a.id).await?;
    let paid: i64 = state
        .store
        .pix_payments_of(a.id)
        .await?
        .iter()
        .map(|p| p.amount_cents)
        .sum::<i64>()
        + desk_paid;
    let refunds: Vec<PixRefund> = state
        .store
        .pix_refunds_of(a.id)
        .await?
        .into_iter()
        .map(|r| PixRefund {
            id: r.id,
            amount_cents: r.amount_cents,
            status: r.status,
            requested_at: r.requested_at,
        })
        .collect();
    let refunded: i64 = refunds
        .iter()
        .filter(|r| r.status == "returned")
        .map(|r| r.amount_cents)
        .sum::<i64>()
        + desk_refunded;
    let price_cents = match &charge {
        Some(c) if c.status != "expired" => c.amount_cents,
        _ => table_price,
    };
    let status = PaymentStatus::of(
        paid,
        refunded,
        charge.as_ref().is_some_and(|c| c.status == "active"),
    );
    Ok(AppointmentPayment {
        appointment_id: a.id,
        price_cents,
        price_source: source,
        payer: "patient".into(),
        status,
        paid_cents: paid,
        refunded_cents: refunded,
        charge,
        refunds,
    })
}
