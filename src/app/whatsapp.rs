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
use utoipa::{IntoParams, ToSchema};

use crate::app::error::AppError;
use crate::app::links::{LinkRequest, use_link};
use crate::app::replies::{self, ReceiptUpdate, tolerate};
use crate::app::state::AppState;
use crate::messaging::replies::{Command, command};
use crate::messaging::whatsapp::{
    Inbound, InboundKind, Receipt, parse_button, parse_webhook, phone_variants, signature_valid,
};

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
        if replies::once(state, PROVIDER, &id, handle(state, event)).await? {
            outcome.handled += 1;
        } else {
            outcome.duplicates += 1;
        }
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
            let update = match receipt {
                Receipt::Sent => return Ok(()),
                Receipt::Delivered => ReceiptUpdate::Delivered,
                Receipt::Read => ReceiptUpdate::Read,
                Receipt::Failed(reason) => ReceiptUpdate::Undeliverable(reason),
            };
            replies::record_receipt(state, PROVIDER, &provider_id, update, at).await
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
                Some(Command::OptOut) => {
                    replies::opt_out(state, PROVIDER, &phone_variants(&from)).await
                }
                Some(c) => {
                    replies::reply_to_reminder(state, PROVIDER, &phone_variants(&from), c).await
                }
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
