//! What WhatsApp tells atende (the Cloud API's webhook): the subscription handshake, the
//! delivery receipts of the messages sent (the outbox state moves to `delivered`, then
//! `read`, never backwards; `failed` gives the message up with the provider's reason), and
//! the patients' replies — a reminder's quick-reply button confirms or cancels through the
//! same use case as the one-click links; a text "1"/"sim"/"confirmo" or "2"/"cancelar" does
//! the same to the patient's nearest upcoming appointment that had a WhatsApp reminder; and
//! "PARAR"/"SAIR" opts the phone's patients out of reminders by WhatsApp.
//!
//! Every body is checked against its `X-Hub-Signature-256` first (constant time); a forged
//! or unsigned one changes nothing. Meta retries deliveries, so each event is noted before it
//! acts and a repeat is skipped; an event whose handling failed is forgotten again and the
//! request fails, so the retry handles it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::actors::agenda::{Change, Modify, Record};
use crate::app::agenda::send_agenda;
use crate::app::error::AppError;
use crate::app::links::{LinkRequest, use_link};
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::messaging::whatsapp::{
    Command, Inbound, InboundKind, Receipt, command, parse_button, parse_webhook, phone_variants,
    signature_valid,
};
use crate::security::audit::AuditEvent;

const PROVIDER: &str = "whatsapp";

/// The verification handshake's query (`GET` on the webhook).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    /// Must equal `messaging.whatsapp.verify_token`.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// Echoed back when the token is right.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WebhookOutcome {
    /// Events acted on (or looked at and found to need nothing).
    pub handled: usize,
    /// Events already handled before (the provider's retries).
    pub duplicates: usize,
}

/// The handshake: the challenge to echo, if the mode is `subscribe` and the verify token
/// is ours.
pub fn verify_subscription(state: &AppState, q: VerifyQuery) -> Result<String, AppError> {
    let ours = state.settings.messaging.whatsapp.verify_token.expose();
    let given = q.verify_token.unwrap_or_default();
    let same = !ours.is_empty()
        && given.len() == ours.len()
        && constant_time_eq(given.as_bytes(), ours.as_bytes());
    match (q.mode.as_deref(), q.challenge) {
        (Some("subscribe"), Some(challenge)) if same => Ok(challenge),
        _ => Err(AppError::forbidden(
            "invalid_verify_token",
            "token de verificação inválido",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Handle one signed webhook delivery.
pub async fn webhook(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> Result<WebhookOutcome, AppError> {
    let secret = state.settings.messaging.whatsapp.app_secret.expose();
    if !signature_valid(secret, body, signature) {
        tracing::warn!("whatsapp webhook refused: missing or invalid signature");
        return Err(AppError::unauthorized(
            "invalid_signature",
            "assinatura do webhook inválida",
        ));
    }
    let events = parse_webhook(body).map_err(|why| AppError::bad_request("invalid_body", why))?;
    let mut outcome = WebhookOutcome::default();
    for event in events {
        let id = event.event_id();
        if !state
            .store
            .first_webhook_event(PROVIDER, &id, state.clock.now())
            .await?
        {
            outcome.duplicates += 1;
            continue;
        }
        if let Err(e) = handle(state, event).await {
            if let Err(f) = state.store.forget_webhook_event(PROVIDER, &id).await {
                tracing::warn!(error = %f, "whatsapp: cannot forget a failed event");
            }
            return Err(e);
        }
        outcome.handled += 1;
    }
    Ok(outcome)
}

async fn handle(state: &AppState, event: Inbound) -> Result<(), AppError> {
    match event {
        Inbound::Status {
            provider_id,
            receipt,
            timestamp,
        } => {
            let at = timestamp
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .unwrap_or_else(|| state.clock.now());
            let receipt_name = match &receipt {
                Receipt::Sent => return Ok(()),
                Receipt::Delivered => Some("delivered"),
                Receipt::Read => Some("read"),
                Receipt::Failed(_) => None,
            };
            let (state_name, moved) = match (receipt_name, receipt) {
                (Some(r), _) => {
                    let moved = state
                        .store
                        .record_receipt(PROVIDER, &provider_id, r, at)
                        .await?;
                    (r, moved)
                }
                (None, Receipt::Failed(reason)) => {
                    let moved = state
                        .store
                        .record_undeliverable(PROVIDER, &provider_id, &reason, at)
                        .await?;
                    ("dead", moved)
                }
                (None, _) => return Ok(()),
            };
            if moved {
                metrics::counter!("atende_outbox_messages_total", "channel" => PROVIDER, "state" => state_name)
                    .increment(1);
            }
            Ok(())
        }
        Inbound::Message { from, kind, .. } => match kind {
            InboundKind::Button { payload } => {
                let Some((action, token)) = parse_button(&payload) else {
                    tracing::info!("whatsapp: a button reply with a payload that is not ours");
                    return Ok(());
                };
                let req = LinkRequest {
                    action: action.link_action().to_string(),
                    token: token.to_string(),
                };
                tolerate(use_link(state, req).await.map(|_| ()))
            }
            InboundKind::Text { body } => match command(&body) {
                Some(Command::OptOut) => opt_out(state, &from).await,
                Some(c) => reply_to_reminder(state, &from, c).await,
                None => {
                    tracing::debug!("whatsapp: a text reply that is no command, ignored");
                    Ok(())
                }
            },
            InboundKind::Other(kind) => {
                tracing::debug!(
                    kind,
                    "whatsapp: an inbound message of another kind, ignored"
                );
                Ok(())
            }
        },
    }
}

/// A reply that cannot act (the link was used, the appointment is no longer open, the
/// transition is not allowed) is answered by nothing; only failures of atende itself fail
/// the delivery (so the provider retries it).
fn tolerate(r: Result<(), AppError>) -> Result<(), AppError> {
    match r {
        Err(e @ (AppError::Unexpected(_) | AppError::Unavailable)) => Err(e),
        Err(e) => {
            tracing::info!(code = e.code(), "whatsapp: a reply that could not act");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// "1"/"sim" or "2"/"cancelar": confirm or cancel the sender's nearest upcoming appointment
/// that had a WhatsApp reminder.
async fn reply_to_reminder(state: &AppState, from: &str, c: Command) -> Result<(), AppError> {
    let Some(a) = state
        .store
        .reminded_appointment(&phone_variants(from), state.clock.now())
        .await?
    else {
        tracing::info!("whatsapp: a reply with no reminded appointment to act on");
        return Ok(());
    };
    let (change, action) = if c == Command::Confirm {
        (Change::Status(AppointmentStatus::Confirmed), "confirm")
    } else {
        (
            Change::Cancel {
                reason: "Cancelada pelo paciente (WhatsApp)".into(),
            },
            "cancel",
        )
    };
    let record = Record {
        audit: Some(
            AuditEvent::new(None, "appointment.whatsapp_reply", "appointment")
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

/// "PARAR"/"SAIR": every patient record with the sender's phone opts out of WhatsApp
/// reminders (recorded with the time and the source `reply`, and audited).
async fn opt_out(state: &AppState, from: &str) -> Result<(), AppError> {
    let patients = state.store.patients_by_phone(&phone_variants(from)).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    for p in &patients {
        state
            .store
            .set_consent(&mut tx, *p, PROVIDER, false, "reply", now)
            .await?;
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(None, "patient.consent_changed", "patient")
                    .entity_id(p)
                    .details(json!({"channel": PROVIDER, "opted_in": false, "source": "reply"})),
            )
            .await?;
    }
    tx.commit().await?;
    tracing::info!(
        patients = patients.len(),
        "whatsapp: opted out of reminders by reply"
    );
    Ok(())
}
