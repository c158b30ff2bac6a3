//! What Twilio tells atende about SMS: status callbacks (`delivered` moves the outbox
//! message to delivered, `undelivered`/`failed` give it up with Twilio's error code, never
//! backwards; the first callback naming a message still being sent notes Twilio's sid on it
//! so a takeover after a crash does not send it twice) and inbound replies — "1"/"sim"/
//! "confirmo" or "2"/"cancelar" confirm or cancel the sender's nearest upcoming appointment
//! reminded by SMS, live; "PARAR"/"SAIR" opt the sender's patient records out of SMS.
//!
//! Every request is checked against its `X-Twilio-Signature` first (over the public URL it
//! was sent to and its parameters, constant time); a forged or unsigned one changes
//! nothing. Twilio retries, so each event acts once.

use crate::app::error::AppError;
use crate::app::replies::{self, ReceiptUpdate};
use crate::app::state::AppState;
use crate::domain::Phone;
use crate::messaging::replies::{Command, command};
use crate::messaging::sms::{
    INBOUND_PATH, STATUS_PATH, SmsStatus, parse_inbound, parse_status, signature_valid,
};

const PROVIDER: &str = "sms";

/// A webhook request as it arrived.
pub struct SignedForm {
    /// The scheme and host the request came to (used when no public URL is configured).
    pub arrived_at: String,
    /// The request's query string (part of the signed URL), without `?`.
    pub query: String,
    /// The POST parameters in their order.
    pub params: Vec<(String, String)>,
    pub signature: Option<String>,
}

/// The URL Twilio signed: the public base (`messaging.sms.public_base_url`, else
/// `server.public_url`, else where the request arrived), the path and the query.
fn signed_url(state: &AppState, path: &str, req: &SignedForm) -> String {
    let s = &state.settings;
    let base = [&s.messaging.sms.public_base_url, &s.server.public_url]
        .into_iter()
        .find(|b| !b.is_empty())
        .map_or(req.arrived_at.as_str(), |b| b.as_str())
        .trim_end_matches('/');
    if req.query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", req.query)
    }
}

fn verify(state: &AppState, path: &str, req: &SignedForm) -> Result<(), AppError> {
    let token = state.settings.messaging.sms.auth_token.expose();
    let url = signed_url(state, path, req);
    if signature_valid(token, &url, &req.params, req.signature.as_deref()) {
        return Ok(());
    }
    tracing::warn!(path, "sms webhook refused: missing or invalid signature");
    Err(AppError::unauthorized(
        "invalid_signature",
        "assinatura do webhook inválida",
    ))
}

/// Whether an event comes from the configured account (a valid signature with our token
/// already says so; this keeps a stray subaccount's events out too).
fn ours(state: &AppState, account: &str) -> bool {
    let mine = &state.settings.messaging.sms.account_sid;
    let same = account == mine;
    if !same {
        tracing::info!("sms webhook of another account, ignored");
    }
    same
}

/// A status callback: whether it was acted on (false: a repeat, or nothing to do).
pub async fn status(state: &AppState, req: SignedForm) -> Result<bool, AppError> {
    verify(state, STATUS_PATH, &req)?;
    let cb = parse_status(&req.params).map_err(|why| AppError::bad_request("invalid_body", why))?;
    if !ours(state, &cb.account_sid) {
        return Ok(false);
    }
    let outbox = form_urlencoded::parse(req.query.as_bytes())
        .find(|(k, _)| k == "outbox")
        .and_then(|(_, v)| uuid::Uuid::parse_str(&v).ok());
    if let Some(id) = outbox
        && state
            .store
            .note_provider_id(PROVIDER, id, &cb.message_sid)
            .await?
    {
        tracing::info!(message = %id, "sms: a callback named a message not yet recorded as sent");
    }
    let event = format!("status:{}:{}", cb.message_sid, cb.status_name);
    let now = state.clock.now();
    let update = match cb.status {
        SmsStatus::Delivered => ReceiptUpdate::Delivered,
        SmsStatus::Read => ReceiptUpdate::Read,
        SmsStatus::Failed(reason) => ReceiptUpdate::Undeliverable(reason),
        SmsStatus::OnItsWay | SmsStatus::Other => return Ok(false),
    };
    let act = replies::record_receipt(state, PROVIDER, &cb.message_sid, update, now);
    replies::once(state, PROVIDER, &event, act).await
}

/// An inbound SMS: whether it was acted on (false: a repeat).
pub async fn inbound(state: &AppState, req: SignedForm) -> Result<bool, AppError> {
    verify(state, INBOUND_PATH, &req)?;
    let sms =
        parse_inbound(&req.params).map_err(|why| AppError::bad_request("invalid_body", why))?;
    if !ours(state, &sms.account_sid) {
        return Ok(false);
    }
    let event = format!("message:{}", sms.message_sid);
    replies::once(
        state,
        PROVIDER,
        &event,
        act_on_reply(state, &sms.from, &sms.body),
    )
    .await
}

async fn act_on_reply(state: &AppState, from: &str, body: &str) -> Result<(), AppError> {
    let Ok(phone) = Phone::parse(from) else {
        tracing::info!("sms: a reply from a number that is not Brazilian, ignored");
        return Ok(());
    };
    let phones = [phone.into_inner()];
    match command(body) {
        Some(Command::OptOut) => replies::opt_out(state, PROVIDER, &phones).await,
        Some(c) => replies::reply_to_reminder(state, PROVIDER, &phones, c).await,
        None => {
            tracing::debug!("sms: a reply that is no command, ignored");
            Ok(())
        }
    }
}
