//! What the messaging providers' webhooks do, whichever channel they come from (WhatsApp,
//! SMS): handle each provider event once (providers retry), move a message's state on a
//! delivery receipt, act on a patient's text reply to a reminder — "1"/"sim" confirms and
//! "2"/"cancelar" cancels the sender's nearest upcoming appointment reminded on that channel,
//! live through the clinic's agenda — and opt the sender out of the channel on "PARAR"/"SAIR".

use std::future::Future;

use serde_json::json;

use crate::actors::agenda::{Change, Modify, Record};
use crate::app::agenda::send_agenda;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::messaging::replies::Command;
use crate::security::audit::AuditEvent;

/// What a provider reports about a message it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptUpdate {
    Delivered,
    Read,
    /// It could not be delivered: the message is given up with the provider's reason.
    Undeliverable(String),
}

/// Run `act` for the provider's event `event` unless it was handled before: true when it
/// ran. An event whose handling failed is forgotten again (so the provider's retry is
/// handled) and the error returned.
pub async fn once<F>(
    state: &AppState,
    provider: &str,
    event: &str,
    act: F,
) -> Result<bool, AppError>
where
    F: Future<Output = Result<(), AppError>>,
{
    if !state
        .store
        .first_webhook_event(provider, event, state.clock.now())
        .await?
    {
        return Ok(false);
    }
    if let Err(e) = act.await {
        if let Err(f) = state.store.forget_webhook_event(provider, event).await {
            tracing::warn!(provider, error = %f, "webhook: cannot forget a failed event");
        }
        return Err(e);
    }
    Ok(true)
}

/// Record a receipt for the `channel` message the provider names `provider_id`: forwards
/// only (`delivered`, then `read`), or `dead` with the reason when undeliverable.
pub async fn record_receipt(
    state: &AppState,
    channel: &'static str,
    provider_id: &str,
    update: ReceiptUpdate,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let store = &state.store;
    let (name, moved) = match update {
        ReceiptUpdate::Delivered => (
            "delivered",
            store
                .record_receipt(channel, provider_id, "delivered", at)
                .await?,
        ),
        ReceiptUpdate::Read => (
            "read",
            store
                .record_receipt(channel, provider_id, "read", at)
                .await?,
        ),
        ReceiptUpdate::Undeliverable(reason) => (
            "dead",
            store
                .record_undeliverable(channel, provider_id, &reason, at)
                .await?,
        ),
    };
    if moved {
        metrics::counter!("atende_outbox_messages_total", "channel" => channel, "state" => name)
            .increment(1);
    }
    Ok(())
}

/// A reply that cannot act (the link was used, the appointment is no longer open, the
/// transition is not allowed) is answered by nothing; only failures of atende itself fail
/// the delivery (so the provider retries it).
pub fn tolerate(r: Result<(), AppError>) -> Result<(), AppError> {
    match r {
        Err(e @ (AppError::Unexpected(_) | AppError::Unavailable)) => Err(e),
        Err(e) => {
            tracing::info!(code = e.code(), "a patient's reply that could not act");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// "1"/"sim" or "2"/"cancelar" from one of `phones` (`+55…`): confirm or cancel that
/// patient's nearest upcoming appointment whose reminder went out on `channel`.
pub async fn reply_to_reminder(
    state: &AppState,
    channel: &'static str,
    phones: &[String],
    c: Command,
) -> Result<(), AppError> {
    let Some(a) = state
        .store
        .reminded_appointment(channel, phones, state.clock.now())
        .await?
    else {
        tracing::info!(channel, "a reply with no reminded appointment to act on");
        return Ok(());
    };
    let (change, action) = if c == Command::Confirm {
        (Change::Status(AppointmentStatus::Confirmed), "confirm")
    } else {
        let by = if channel == "sms" { "SMS" } else { "WhatsApp" };
        (
            Change::Cancel {
                reason: format!("Cancelada pelo paciente ({by})"),
            },
            "cancel",
        )
    };
    let audit_action = if channel == "sms" {
        "appointment.sms_reply"
    } else {
        "appointment.whatsapp_reply"
    };
    let record = Record {
        audit: Some(
            AuditEvent::new(None, audit_action, "appointment")
                .entity_id(a.id)
                .clinic(a.clinic_id)
                .details(json!({"action": action})),
        ),
        link: None,
    };
    let msg = Modify {
        id: a.id,
        change,
        record,
    };
    let r = match send_agenda(state, a.clinic_id, msg).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(AppError::from(e)),
        Err(e) => Err(e),
    };
    tolerate(r)
}

/// "PARAR"/"SAIR": every patient record with one of `phones` opts out of reminders on
/// `channel` (recorded with the time and the source `reply`, and audited).
pub async fn opt_out(
    state: &AppState,
    channel: &'static str,
    phones: &[String],
) -> Result<(), AppError> {
    let patients = state.store.patients_by_phone(phones).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    for p in &patients {
        state
            .store
            .set_consent(&mut tx, *p, channel, false, "reply", now)
            .await?;
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(None, "patient.consent_changed", "patient")
                    .entity_id(p)
                    .details(json!({"channel": channel, "opted_in": false, "source": "reply"})),
            )
            .await?;
    }
    tx.commit().await?;
    tracing::info!(
        channel,
        patients = patients.len(),
        "opted out of reminders by reply"
    );
    Ok(())
}
