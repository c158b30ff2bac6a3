//! One-click links: an appointment's confirm and cancel links, usable without logging in
//! (they come in the messages the outbox sends). Signed, bound to one appointment and one
//! action, expiring when the appointment starts, and single use. The web page
//! `/#/link/<action>/<token>` first previews what the link does, then uses it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::actors::agenda::{CANCEL_LINK, CONFIRM_LINK, Change, Modify};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::ValidationError;
use crate::domain::agenda::status;
use crate::security::audit::AuditEvent;
use crate::security::links::LinkError;
use crate::security::tokens::token_hash;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/public/links/preview", web::post().to(preview))
        .route("/public/links/use", web::post().to(use_link));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `confirm` or `cancel` (an appointment's links), `accept` or `decline` (a waitlist offer's).
    pub action: String,
    pub token: String,
}

fn purpose(action: &str) -> Result<&'static str, AppError> {
    match action {
        "confirm" => Ok(CONFIRM_LINK),
        "cancel" => Ok(CANCEL_LINK),
        "accept" => Ok(crate::actors::agenda::waitlist::ACCEPT_LINK),
        "decline" => Ok(crate::actors::agenda::waitlist::DECLINE_LINK),
        _ => Err(ValidationError::new("unknown_action", "ação desconhecida").into()),
    }
}

fn is_offer(action: &str) -> bool {
    matches!(action, "accept" | "decline")
}

/// The appointment an offer holds, the offer's status and when its hold lapses.
async fn offer_appointment(
    state: &AppState,
    offer: uuid::Uuid,
) -> Result<(uuid::Uuid, String, chrono::DateTime<chrono::Utc>), AppError> {
    let invalid = || AppError::unauthorized("invalid_token", "link inválido");
    state.store.offer_summary(offer).await?.ok_or_else(invalid)
}

/// The record a link names (an appointment, or a waitlist offer), if the link is ours, for
/// this action, and not expired.
fn verify(state: &AppState, req: &LinkRequest) -> Result<uuid::Uuid, AppError> {
    let p = purpose(&req.action)?;
    match state
        .links
        .verify(p, &req.token, chrono::Utc::now().timestamp())
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
        Err(LinkError::Invalid) => Err(AppError::unauthorized("invalid_token", "link inválido")),
    }
}

async fn summary(state: &AppState, id: uuid::Uuid) -> Result<serde_json::Value, AppError> {
    let v = state
        .store
        .appointment_view(id)
        .await?
        .ok_or_else(|| AppError::unauthorized("invalid_token", "link inválido"))?;
    // What the page shows (the view already carries the names): no ids beyond the
    // appointment's and its clinic's, no notes, the patient by first name and initial.
    let patient = v.patient_social_name.as_deref().unwrap_or(&v.patient_name);
    Ok(json!({
        "clinic_id": v.a.clinic_id,
        "clinic_name": v.clinic_name,
        "time_zone": v.clinic_time_zone,
        "professional_name": v.professional_name,
        "service_name": v.service_name,
        "patient_name": crate::actors::queue::panel_name(patient),
        "kind": v.a.kind,
        "status": v.a.status,
        "starts_at": v.a.starts_at,
    }))
}

#[utoipa::path(post, path = "/api/public/links/preview", tag = "agenda", request_body = LinkRequest,
    responses((status = 200, description = "What the link would do, the appointment it names and whether it was already used", body = Object),
              (status = 401, description = "`invalid_token` (tampered, wrong action), `link_expired`", body = ErrorBody)))]
pub async fn preview(
    state: web::Data<AppState>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, AppError> {
    let id = verify(&state, &body)?;
    let mut used = state.store.link_used(&token_hash(&body.token)).await?;
    let mut expires_at = None;
    let appointment = if is_offer(&body.action) {
        let (appointment, status, expires) = offer_appointment(&state, id).await?;
        used |= status != "offered";
        expires_at = Some(expires);
        appointment
    } else {
        id
    };
    Ok(HttpResponse::Ok().json(json!({
        "action": body.action,
        "used": used,
        // For an offer: until when the slot is held.
        "expires_at": expires_at,
        "appointment": summary(&state, appointment).await?,
    })))
}

#[utoipa::path(post, path = "/api/public/links/use", tag = "agenda", request_body = LinkRequest,
    responses((status = 200, description = "Done: the appointment as it is now (`confirmed` or `cancelled`); the clinic's agenda sees it live", body = Object),
              (status = 401, description = "`invalid_token`, `link_expired`", body = ErrorBody),
              (status = 409, description = "`link_used` (single use), `invalid_transition` (e.g. confirming a cancelled appointment)", body = ErrorBody)))]
pub async fn use_link(
    state: web::Data<AppState>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, AppError> {
    let id = verify(&state, &body)?;
    let hash = token_hash(&body.token);
    let used = || AppError::Conflict {
        code: "link_used",
        message: "este link já foi usado".into(),
    };
    if state.store.link_used(&hash).await? {
        return Err(used());
    }
    if is_offer(&body.action) {
        let (appointment, _, _) = offer_appointment(&state, id).await?;
        let (clinic, _) = state
            .store
            .offer_owner(id)
            .await?
            .ok_or_else(|| AppError::unauthorized("invalid_token", "link inválido"))?;
        crate::http::waitlist::respond(&state, clinic, id, body.action == "accept").await?;
        let mut tx = state.store.begin().await?;
        state.store.use_link(&mut tx, &hash, &body.action).await?;
        tx.commit().await?;
        state
            .store
            .record_audit(
                &AuditEvent::new(None, "waitlist.offer_link_used", "waitlist_offer")
                    .entity_id(id)
                    .details(json!({"action": body.action})),
            )
            .await?;
        return Ok(HttpResponse::Ok().json(json!({
            "action": body.action,
            "appointment": summary(&state, appointment).await?,
        })));
    }
    let v = state
        .store
        .appointment_view(id)
        .await?
        .ok_or_else(|| AppError::unauthorized("invalid_token", "link inválido"))?;
    let change = if body.action == "confirm" {
        Change::Status(status::CONFIRMED)
    } else {
        Change::Cancel {
            reason: "Cancelada pelo paciente (link)".into(),
        }
    };
    state
        .registry
        .agenda(v.a.clinic_id)
        .send(Modify { id, change })
        .await
        .map_err(|_| AppError::Unavailable)??;
    // Concurrent uses of one link: the status moves once (a second confirm or cancel is an
    // invalid transition); the first to record the use wins here too.
    let mut tx = state.store.begin().await?;
    let first = state.store.use_link(&mut tx, &hash, &body.action).await?;
    tx.commit().await?;
    if !first {
        return Err(used());
    }
    state
        .store
        .record_audit(
            &AuditEvent::new(None, "appointment.link_used", "appointment")
                .entity_id(id)
                .clinic(v.a.clinic_id)
                .details(json!({"action": body.action})),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "action": body.action,
        "appointment": summary(&state, id).await?,
    })))
}
