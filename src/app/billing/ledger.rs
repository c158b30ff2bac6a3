//! Reading the ledger (clinic administrators): its lines and each account's balance.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, UserId, ValidationError};

/// Most lines one answer carries.
const MAX_LINES: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// First day (clinic's time zone), inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerLine {
    pub id: i64,
    /// Lines of one transaction share it; they sum to zero.
    pub txn_id: uuid::Uuid,
    pub account: String,
    /// Centavos: debit > 0, credit < 0.
    pub amount_cents: i64,
    /// `pix_payment`, `pix_refund`.
    pub kind: String,
    /// The endToEndId of the Pix, or the refund's id.
    pub reference: String,
    pub appointment_id: Option<uuid::Uuid>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountBalance {
    pub account: String,
    pub balance_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    pub lines: Vec<LedgerLine>,
    /// Balances over the clinic's whole ledger (not only the lines listed).
    pub balances: Vec<AccountBalance>,
}

/// January 1st of `year`, UTC: the open ends of a period (both backends store and compare
/// these; chrono's own extremes are out of PostgreSQL's range and sort wrongly as SQLite text).
fn bound(year: i32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or_default()
}

pub async fn ledger(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: LedgerQuery,
) -> Result<LedgerPage, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let c = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = c.tz();
    let from = q
        .from
        .map(|d| crate::store::agenda::local_midnight(tz, d))
        .unwrap_or_else(|| bound(2000));
    let to = match q.to {
        Some(d) => {
            let next = d
                .succ_opt()
                .ok_or_else(|| ValidationError::new("invalid_date", "data inválida"))?;
            crate::store::agenda::local_midnight(tz, next)
        }
        None => bound(2200),
    };
    if to <= from {
        return Err(ValidationError::new("invalid_period", "período vazio").into());
    }
    let lines = state
        .store
        .ledger_entries(clinic, from, to, MAX_LINES)
        .await?
        .into_iter()
        .map(|l| LedgerLine {
            id: l.id,
            txn_id: l.txn_id,
            account: l.account,
            amount_cents: l.amount_cents,
            kind: l.kind,
            reference: l.reference,
            appointment_id: l.appointment_id,
            created_by: l.created_by,
            created_at: l.created_at,
        })
        .collect();
    let balances = state
        .store
        .ledger_balances(clinic, None)
        .await?
        .into_iter()
        .map(|(account, balance_cents)| AccountBalance {
            account,
            balance_cents,
        })
        .collect();
    Ok(LedgerPage { lines, balances })
}
