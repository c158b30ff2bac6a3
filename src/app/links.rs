//! One-click links, usable without logging in (they come in the messages the outbox
//! sends): an appointment's confirm and cancel links, a waitlist offer's accept and decline
//! links. Signed, bound to one record and one action, expiring (when the appointment
//! starts, when the hold lapses), and single use: the use is recorded in the change's own
//! transaction, with its audit row. The web page `/#/link/<action>/<token>` first previews
//! what the link does, then uses it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::actors::agenda::waitlist::{ACCEPT_LINK, DECLINE_LINK};
use crate::actors::agenda::{CANCEL_LINK, CONFIRM_LINK, Change, Modify, Record, UsedLink};
use crate::app::agenda::send_agenda;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::app::waitlist::respond;
use crate::domain::ValidationError;
use crate::domain::agenda::{AppointmentStatus, OfferStatus};
use crate::security::audit::AuditEvent;
use crate::security::links::LinkError;
use crate::security::tokens::token_hash;
use crate::store::waitlist::OfferSummary;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `confirm` or `cancel` (an appointment's links), `accept` or `decline` (a waitlist offer's).
    pub action: String,
    pub token: String,
}

/// The appointment a link names, as its page shows it: no ids beyond the appointment's
/// clinic, no notes, the patient by first name and initial.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkAppointment {
    pub clinic_id: crate::domain::ClinicId,
    pub clinic_name: String,
    /// The clinic's IANA zone.
    pub time_zone: String,
    pub professional_name: String,
    pub service_name: Option<String>,
    /// First name and initial.
    pub patient_name: String,
    /// `in_person` or `teleconsultation`.
    pub kind: String,
    pub status: AppointmentStatus,
    pub starts_at: DateTime<Utc>,
}

/// What a link would do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkPreview {
    pub action: String,
    /// Already used (or, for an offer, already answered or lapsed).
    pub used: bool,
    /// For an offer: until when the slot is held; null for an appointment's links.
    pub expires_at: Option<DateTime<Utc>>,
    pub appointment: LinkAppointment,
}

/// What a link did: the appointment as it is now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkUsed {
    pub action: String,
    pub appointment: LinkAppointment,
}

fn invalid() -> AppError {
    AppError::unauthorized("invalid_token", "link inválido")
}

fn purpose(action: &str) -> Result<&'static str, AppError> {
    match action {
        "confirm" => Ok(CONFIRM_LINK),
        "cancel" => Ok(CANCEL_LINK),
        "accept" => Ok(ACCEPT_LINK),
        "decline" => Ok(DECLINE_LINK),
        _ => Err(ValidationError::new("unknown_action", "ação desconhecida").into()),
    }
}

fn is_offer(action: &str) -> bool {
    matches!(action, "accept" | "decline")
}

/// The appointment an offer holds, the offer's status and when its hold lapses.
async fn offer_summary(state: &AppState, offer: uuid::Uuid) -> Result<OfferSummary, AppError> {
    state.store.offer_summary(offer).await?.ok_or_else(invalid)
}

/// The record a link names (an appointment, or a waitlist offer), if the link is ours, for
/// this action, and not expired.
fn verify(state: &AppState, req: &LinkRequest) -> Result<uuid::Uuid, AppError> {
    let p = purpose(&req.action)?;
    match state
        .links
        .verify(p, &req.token, state.clock.now().timestamp())
    {
        Ok((id, _)) => Ok(id),
        Err(LinkError::Expired) => Err(AppError::unauthorized(
            "link_expired",
            if is_offer(&req.action) {
                "este link expirou: o horário oferecido não está mais reservado"
            } else {
                "este link expirou: a consulta já começou ou passou"
            },
        )),
        Err(LinkError::Invalid) => Err(invalid()),
    }
}

async fn summary(state: &AppState, id: uuid::Uuid) -> Result<LinkAppointment, AppError> {
    let v = state
        .store
        .appointment_view(id)
        .await?
        .ok_or_else(invalid)?;
    let patient = v.patient_social_name.as_deref().unwrap_or(&v.patient_name);
    Ok(LinkAppointment {
        clinic_id: v.a.clinic_id,
        clinic_name: v.clinic_name,
        time_zone: v.clinic_time_zone,
        professional_name: v.professional_name,
        service_name: v.service_name,
        patient_name: crate::actors::queue::panel_name(patient),
        kind: v.a.kind,
        status: v.a.status,
        starts_at: v.a.starts_at,
    })
}

/// What a link would do, the appointment it names and whether it was already used.
pub async fn preview_link(state: &AppState, req: LinkRequest) -> Result<LinkPreview, AppError> {
    let id = verify(state, &req)?;
    let mut used = state.store.link_used(&token_hash(&req.token)).await?;
    let mut expires_at = None;
    let appointment = if is_offer(&req.action) {
        let offer = offer_summary(state, id).await?;
        used |= offer.status != OfferStatus::Offered;
        expires_at = Some(offer.expires_at);
        offer.appointment_id
    } else {
        id
    };
    Ok(LinkPreview {
        appointment: summary(state, appointment).await?,
        action: req.action,
        used,
        expires_at,
    })
}

/// Use a link, once: confirm or cancel the appointment, or accept or decline the offer.
/// The change, the record of the link's use and the audit row commit together in the
/// clinic's agenda actor; the clinic's agenda sees it live.
pub async fn use_link(state: &AppState, req: LinkRequest) -> Result<LinkUsed, AppError> {
    let id = verify(state, &req)?;
    let hash = token_hash(&req.token);
    if state.store.link_used(&hash).await? {
        return Err(AppError::conflict("link_used", "este link já foi usado"));
    }
    let used = UsedLink {
        token_hash: hash,
        action: req.action.clone(),
    };
    let details = json!({"action": req.action});
    let appointment = if is_offer(&req.action) {
        let appointment = offer_summary(state, id).await?.appointment_id;
        let (clinic, _) = state.store.offer_owner(id).await?.ok_or_else(invalid)?;
        let record = Record {
            audit: Some(
                AuditEvent::new(None, "waitlist.offer_link_used", "waitlist_offer")
                    .entity_id(id)
                    .details(details),
            ),
            link: Some(used),
        };
        respond(state, clinic, id, req.action == "accept", record).await?;
        appointment
    } else {
        let v = state
            .store
            .appointment_view(id)
            .await?
            .ok_or_else(invalid)?;
        let change = if req.action == "confirm" {
            Change::Status(AppointmentStatus::Confirmed)
        } else {
            Change::Cancel {
                reason: "Cancelada pelo paciente (link)".into(),
            }
        };
        // Concurrent uses of one link: the status moves once (a second confirm or cancel
        // is an invalid transition), and the link's use is recorded once, with the change.
        let record = Record {
            audit: Some(
                AuditEvent::new(None, "appointment.link_used", "appointment")
                    .entity_id(id)
                    .clinic(v.a.clinic_id)
                    .details(details),
            ),
            link: Some(used),
        };
        let msg = Modify { id, change, record };
        send_agenda(state, v.a.clinic_id, msg).await??;
        id
    };
    Ok(LinkUsed {
        appointment: summary(state, appointment).await?,
        action: req.action,
    })
}
