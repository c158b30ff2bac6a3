//! Reconciliation: what the PSP says happened to a charge becomes payments, refunds and
//! ledger transactions, once. The webhook only says *which* charge to look at: the amounts
//! and states come from the PSP's own `GET /cob/{txid}` (OAuth2 and mutual TLS), so a forged
//! or replayed notification can at most make atende ask the PSP again.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::payment::{AppointmentPayment, payment_view};
use super::{appointment_in, now};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::billing::{PspError, RefundState};
use crate::domain::ClinicId;
use crate::domain::billing::ledger::Transaction;
use crate::security::audit::AuditEvent;
use crate::store::Tx;
use crate::store::agenda::AppointmentView;
use crate::store::billing::{PixChargeRow, PixPaymentRow};

/// The webhook's body (`WebhookPixBody`): the Pix received; atende reads only their txid.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PixNotification {
    #[serde(default)]
    pub pix: Vec<NotifiedPix>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NotifiedPix {
    #[serde(rename = "endToEndId")]
    pub end_to_end_id: String,
    #[serde(default)]
    pub txid: Option<String>,
}

/// What a notification led to.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOutcome {
    /// Charges of atende named by the notification and checked with the PSP.
    pub reconciled: usize,
    /// Pix with no txid or a txid atende never issued.
    pub ignored: usize,
}

/// Compare two secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The PSP's notification (`WebhookPixBody`, as JSON bytes): the caller's address (when an allow-list is set) and the secret
/// in the path are checked, then every charge it names is reconciled.
pub async fn pix_webhook(
    state: &AppState,
    ip: Option<String>,
    secret: &str,
    body: &[u8],
) -> Result<WebhookOutcome, AppError> {
    let settings = &state.settings.pix;
    if state.pix.is_none() {
        return Err(AppError::NotFound);
    }
    let allowed = &settings.webhook_allowed_ips;
    let from: Option<std::net::IpAddr> = ip.as_deref().and_then(|i| i.parse().ok());
    if !allowed.is_empty()
        && !from.is_some_and(|f| allowed.iter().any(|a| a.parse().ok() == Some(f)))
    {
        tracing::warn!(ip = ?ip, "Pix webhook from an address not on pix.webhook_allowed_ips");
        return Err(AppError::forbidden(
            "webhook_address_refused",
            "endereço não autorizado a notificar",
        ));
    }
    if !same_secret(
        secret.as_bytes(),
        settings.webhook_secret.expose().as_bytes(),
    ) {
        tracing::warn!(ip = ?ip, "Pix webhook with a wrong secret");
        metrics::counter!("atende_pix_webhook_refused_total").increment(1);
        return Err(AppError::unauthorized(
            "webhook_refused",
            "notificação não reconhecida",
        ));
    }
    // Read only after the caller is checked: a stranger learns nothing from a bad body.
    let body: PixNotification = serde_json::from_slice(body)
        .map_err(|_| AppError::bad_request("invalid_body", "corpo da notificação inválido"))?;
    let mut txids = BTreeSet::new();
    let mut ignored = 0;
    for p in body.pix {
        match p.txid {
            Some(t) if !t.is_empty() && t.len() <= 35 => {
                txids.insert(t);
            }
            _ => ignored += 1,
        }
    }
    let mut reconciled = 0;
    for txid in txids {
        match state.store.pix_charge(&txid).await? {
            Some(charge) => {
                reconcile_charge(state, &charge).await?;
                reconciled += 1;
            }
            None => ignored += 1,
        }
    }
    Ok(WebhookOutcome {
        reconciled,
        ignored,
    })
}

/// Ask the PSP about the appointment's last charge now (its clinic's staff): for when a
/// notification was lost.
pub async fn refresh_payment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    appointment: uuid::Uuid,
) -> Result<AppointmentPayment, AppError> {
    auth.require_staff(clinic)?;
    let view = appointment_in(state, clinic, appointment).await?;
    if state.pix.is_none() {
        return Err(AppError::conflict(
            "pix_api_not_configured",
            "sem a API Pix do banco, o pagamento é conferido no extrato",
        ));
    }
    if let Some(charge) = state.store.latest_pix_charge(view.a.id).await? {
        reconcile_charge(state, &charge).await?;
    }
    payment_view(state, &view).await
}

/// Bring one charge in line with the PSP: new Pix become payments (and ledger
/// transactions), the charge is paid once they cover it, and finished refunds settle.
pub async fn reconcile_charge(state: &AppState, charge: &PixChargeRow) -> Result<(), AppError> {
    let Some(psp) = &state.pix else {
        return Ok(());
    };
    let remote = psp.charge(&charge.txid).await.map_err(|e| match e {
        PspError::NotFound => AppError::NotFound,
        e => {
            tracing::warn!(error = %e, txid = %charge.txid, "cannot read a charge from the PSP");
            AppError::Overloaded {
                code: "psp_unavailable",
                message: "o serviço Pix do banco não respondeu; tente de novo em instantes".into(),
            }
        }
    })?;
    let view = state
        .store
        .appointment_view(charge.appointment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let at = now(state);
    let mut changed = false;
    let mut tx = state.store.begin().await?;
    let mut refunds = Vec::new();
    for p in remote.pix {
        if p.txid.as_deref().is_some_and(|t| t != charge.txid) || p.amount_cents <= 0 {
            continue;
        }
        let row = PixPaymentRow {
            end_to_end_id: p.end_to_end_id.clone(),
            txid: charge.txid.clone(),
            clinic_id: charge.clinic_id,
            appointment_id: charge.appointment_id,
            amount_cents: p.amount_cents,
            paid_at: p.at,
            recorded_at: at,
        };
        if state.store.insert_pix_payment(&mut tx, &row).await? {
            let txn = Transaction::pix_payment(&p.end_to_end_id, p.amount_cents)?;
            state
                .store
                .post_ledger(
                    &mut tx,
                    charge.clinic_id,
                    Some(charge.appointment_id),
                    None,
                    &txn,
                    at,
                )
                .await?;
            let event = AuditEvent::new(None, "pix.received", "appointment")
                .entity_id(charge.appointment_id)
                .clinic(charge.clinic_id)
                .details(serde_json::json!({
                    "txid": charge.txid, "end_to_end_id": p.end_to_end_id, "amount_cents": p.amount_cents,
                }));
            state.store.append_audit(&mut tx, &event).await?;
            metrics::counter!("atende_pix_received_total").increment(1);
            changed = true;
        }
        refunds.extend(p.refunds);
    }
    let received = state.store.pix_received_for(&mut tx, &charge.txid).await?;
    if received >= charge.amount_cents {
        changed |= state
            .store
            .mark_pix_charge_paid(&mut tx, &charge.txid, at)
            .await?;
    }
    for r in &refunds {
        changed |= settle_refund_in(state, &mut tx, &view, r).await?;
    }
    tx.commit().await?;
    if changed {
        super::announce_payment(state, &view).await?;
    }
    Ok(())
}

/// Settle a refund the PSP reports finished, in a transaction of its own.
pub(crate) async fn settle_refund(
    state: &AppState,
    view: &AppointmentView,
    r: &RefundState,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    let changed = settle_refund_in(state, &mut tx, view, r).await?;
    tx.commit().await?;
    if changed {
        super::announce_payment(state, view).await?;
    }
    Ok(())
}

/// A refund of ours that the PSP reports `DEVOLVIDO` (the ledger reverses the payment) or
/// `NAO_REALIZADO` (nothing moved), once; whether anything changed.
async fn settle_refund_in(
    state: &AppState,
    tx: &mut Tx,
    view: &AppointmentView,
    r: &RefundState,
) -> Result<bool, AppError> {
    let status = match r.status.as_str() {
        "DEVOLVIDO" => "returned",
        "NAO_REALIZADO" => "failed",
        _ => return Ok(false),
    };
    let Some(ours) = state
        .store
        .pix_refund(tx, &r.id)
        .await?
        .filter(|o| o.appointment_id == view.a.id)
    else {
        return Ok(false);
    };
    let at = now(state);
    if !state
        .store
        .settle_pix_refund(tx, &ours.id, status, r.rtr_id.as_deref(), at)
        .await?
    {
        return Ok(false);
    }
    if status == "returned" {
        if r.amount_cents != ours.amount_cents {
            tracing::warn!(refund = %ours.id, asked = ours.amount_cents, returned = r.amount_cents,
                "the PSP returned another amount than asked; the ledger follows the PSP");
        }
        let txn = Transaction::pix_refund(&ours.id, r.amount_cents)?;
        state
            .store
            .post_ledger(
                tx,
                ours.clinic_id,
                Some(ours.appointment_id),
                ours.requested_by,
                &txn,
                at,
            )
            .await?;
    }
    let action = if status == "returned" {
        "pix.refunded"
    } else {
        "pix.refund_failed"
    };
    let event = AuditEvent::new(None, action, "appointment")
        .entity_id(ours.appointment_id)
        .clinic(ours.clinic_id)
        .details(serde_json::json!({"refund_id": ours.id, "amount_cents": r.amount_cents, "rtr_id": r.rtr_id}));
    state.store.append_audit(tx, &event).await?;
    Ok(true)
}
