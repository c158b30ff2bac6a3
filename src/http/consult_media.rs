//! A teleconsultation's server-side media over HTTP: the pre-call check (a server peer that
//! reflects the patient's camera and microphone and measures the connection), the media
//! relay (publish once, subscribe once per other participant), and inviting a third
//! participant (interpreter or family member), which moves the call onto the relay.
//! Every call answers a browser's complete SDP offer with the server's complete answer.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::extract::bearer_token;
use crate::actors::consult::{
    Side, UseRelay, ended, in_call, media_of, participant_key, relay_disabled,
};
use crate::app::consults::{Caller, caller, current_invitation, guest_link, session_of};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::bus::revocation::publish_consult_guest_revoked;
use crate::config::RelayMode;
use crate::domain::UserId;
use crate::domain::ValidationError;
use crate::media::MediaError;
use crate::media::relay::{Participant, RelayError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::AppointmentView;
use crate::store::consults::ConsultGuestRow;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consults/{id}/media", web::get().to(publishers))
        .route("/consults/{id}/media/check", web::post().to(check))
        .route("/consults/{id}/media/publish", web::post().to(publish))
        .route("/consults/{id}/media/publish", web::delete().to(unpublish))
        .route("/consults/{id}/media/subscribe", web::post().to(subscribe))
        .route("/consults/{id}/guests", web::post().to(invite))
        .route("/consults/{id}/guests", web::get().to(guests))
        .route(
            "/consults/{id}/guests/{guest_id}",
            web::delete().to(revoke_guest),
        );
}

/// A teleconsultation link instead of a login (`?token=`: the patient's or a guest's).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LinkQuery {
    /// A patient's entry link token, instead of a login.
    pub token: Option<String>,
}

/// A browser's offer (and, to subscribe, whose tracks it wants).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    /// The complete SDP offer (gathered candidates included: no trickle).
    pub sdp: String,
    /// Subscribe only: the publisher whose audio and video to receive.
    pub publisher_id: Option<uuid::Uuid>,
}

fn media_error(e: MediaError) -> AppError {
    match e {
        MediaError::InvalidOffer(why) => {
            ValidationError::new("invalid_sdp", format!("oferta SDP inválida: {why}")).into()
        }
        MediaError::Full => AppError::Overloaded {
            code: "media_unavailable",
            message: "o servidor de mídia está cheio agora; tente de novo em instantes".into(),
        },
        MediaError::Webrtc(why) => {
            tracing::warn!(error = %why, "server peer failed");
            AppError::Overloaded {
                code: "media_unavailable",
                message: "o servidor de mídia não conseguiu atender; tente de novo".into(),
            }
        }
    }
}

fn relay_error(e: RelayError) -> AppError {
    match e {
        RelayError::Media(m) => media_error(m),
        RelayError::UnknownPublisher => AppError::NotFound,
        RelayError::OwnPublication => ValidationError::new(
            "invalid_publisher",
            "não é possível assinar a própria transmissão",
        )
        .into(),
    }
}

#[utoipa::path(post, path = "/api/consults/{id}/media/check", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    request_body = OfferBody,
    responses((status = 200, description = "`{\"sdp\": answer}`: a server peer that sends the camera and microphone back and reports round-trip time, loss, bitrate and a pt-BR verdict over the `check` data channel", body = Object),
              (status = 401, description = "`invalid_token`, `too_early`", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`consult_ended`", body = ErrorBody),
              (status = 422, description = "`invalid_sdp`", body = ErrorBody),
              (status = 503, description = "`media_unavailable`", body = ErrorBody)))]
pub async fn check(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (view, who) = caller(&state, bearer_token(&req), id, query.token.as_deref()).await?;
    if session_of(&state, &view).await?.status == "ended" {
        return Err(ended().into());
    }
    let answer = state
        .media
        .check(id, &who.key(), &body.sdp)
        .await
        .map_err(media_error)?;
    still_invited(&state, id, &who).await?;
    Ok(HttpResponse::Ok().json(json!({"sdp": answer})))
}

/// Close whatever server media a guest has in this call: relay publication,
/// subscriptions, pre-call check.
async fn drop_guest_media(state: &AppState, id: uuid::Uuid, key: &str) {
    state.media.rooms.leave(id, key).await;
    state.media.stop_check(id, key).await;
}

/// A guest's request may have passed its link check just before the professional took the
/// invitation back: look again once its peer is set up, and undo it if so. (A revocation
/// committed after this look runs its own clean-up after the peer exists.)
async fn still_invited(state: &AppState, id: uuid::Uuid, who: &Caller) -> Result<(), AppError> {
    let Some(guest) = who.guest else {
        return Ok(());
    };
    if let Err(e) = current_invitation(state, guest).await {
        drop_guest_media(state, id, &who.key()).await;
        return Err(AppError::from(e));
    }
    Ok(())
}

/// The call must be on the relay and in progress.
async fn relayed_call(state: &AppState, id: uuid::Uuid) -> Result<(), AppError> {
    let relay = state.settings.media.relay;
    if relay == RelayMode::Never {
        return Err(relay_disabled().into());
    }
    let row = in_call(
        &state.store,
        id,
        "a chamada começa quando o profissional admitir o paciente",
    )
    .await?;
    if media_of(relay, &row) != "relay" {
        return Err(AppError::conflict(
            "relay_not_active",
            "esta chamada está ponto a ponto; peça o modo retransmitido (use-relay) antes",
        ));
    }
    Ok(())
}

fn participant(c: &Caller) -> Participant {
    Participant {
        key: c.key(),
        role: c.side.as_str(),
        name: c.name.clone(),
    }
}

#[utoipa::path(get, path = "/api/consults/{id}/media", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    responses((status = 200, description = "`{\"publishers\": [{publisher_id, role, name}]}` on this node's relay (also pushed as `consult.media`)", body = Object),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn publishers(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    caller(&state, bearer_token(&req), id, query.token.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({"publishers": state.media.rooms.publishers(id)})))
}

#[utoipa::path(post, path = "/api/consults/{id}/media/publish", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    request_body = OfferBody,
    responses((status = 200, description = "`{\"sdp\": answer, \"publisher_id\"}`; publishing again replaces the caller's earlier publication", body = Object),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`relay_disabled`, `not_admitted`, `consult_ended`, `relay_not_active`", body = ErrorBody),
              (status = 422, description = "`invalid_sdp`", body = ErrorBody),
              (status = 503, description = "`media_unavailable`", body = ErrorBody)))]
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (_, who) = caller(&state, bearer_token(&req), id, query.token.as_deref()).await?;
    relayed_call(&state, id).await?;
    let (publisher_id, answer) = state
        .media
        .publish(id, participant(&who), &body.sdp)
        .await
        .map_err(relay_error)?;
    still_invited(&state, id, &who).await?;
    Ok(HttpResponse::Ok().json(json!({"sdp": answer, "publisher_id": publisher_id})))
}

#[utoipa::path(delete, path = "/api/consults/{id}/media/publish", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    responses((status = 204, description = "The caller's publication (if any) stopped"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpublish(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (_, who) = caller(&state, bearer_token(&req), id, query.token.as_deref()).await?;
    state.media.rooms.unpublish(id, &who.key()).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/consults/{id}/media/subscribe", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    request_body = OfferBody,
    responses((status = 200, description = "`{\"sdp\": answer}` carrying the publisher's audio and video (stream id = publisher id)", body = Object),
              (status = 401, body = ErrorBody),
              (status = 404, description = "Unknown consult, or that publisher left", body = ErrorBody),
              (status = 409, description = "`relay_disabled`, `not_admitted`, `consult_ended`, `relay_not_active`", body = ErrorBody),
              (status = 422, description = "`invalid_sdp`, `invalid_publisher` (missing, or one's own)", body = ErrorBody),
              (status = 503, description = "`media_unavailable`", body = ErrorBody)))]
pub async fn subscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (_, who) = caller(&state, bearer_token(&req), id, query.token.as_deref()).await?;
    let publisher = body.publisher_id.ok_or_else(|| {
        AppError::from(ValidationError::new(
            "invalid_publisher",
            "informe publisher_id",
        ))
    })?;
    relayed_call(&state, id).await?;
    let answer = state
        .media
        .subscribe(id, &who.key(), publisher, &body.sdp)
        .await
        .map_err(relay_error)?;
    still_invited(&state, id, &who).await?;
    Ok(HttpResponse::Ok().json(json!({"sdp": answer})))
}

/// The consultation's professional (bearer only), or 403.
async fn the_professional(
    state: &AppState,
    req: &HttpRequest,
    id: uuid::Uuid,
) -> Result<(AppointmentView, UserId), AppError> {
    let (view, who) = caller(state, bearer_token(req), id, None).await?;
    match (who.side, who.user) {
        (Side::Professional, Some(by)) => Ok((view, by)),
        _ => Err(AppError::Forbidden),
    }
}

/// Record an invitation's change (never the guest's name).
async fn audit_guest(
    state: &AppState,
    action: &'static str,
    by: UserId,
    view: &AppointmentView,
    guest: &ConsultGuestRow,
) -> Result<(), AppError> {
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(by), action, "appointment")
                .entity_id(view.a.id)
                .clinic(view.a.clinic_id)
                .details(json!({"guest_id": guest.id, "relation": guest.relation})),
        )
        .await?;
    Ok(())
}

/// A third participant to invite.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// How they appear in the call (2–80 characters).
    pub name: String,
    /// `interpreter` or `family`.
    pub relation: String,
}

#[utoipa::path(post, path = "/api/consults/{id}/guests", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    request_body = InviteBody,
    responses((status = 201, description = "`{guest_id, name, relation, link}`: the guest's entry link (same window as the patient's); the call moves onto the relay", body = Object),
              (status = 403, description = "Not the consultation's professional", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`relay_disabled`, `consult_ended`", body = ErrorBody),
              (status = 422, description = "`invalid_name`, `invalid_relation`", body = ErrorBody)))]
pub async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    body: web::Json<InviteBody>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (view, by) = the_professional(&state, &req, id).await?;
    let name = body.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if !(2..=80).contains(&name.chars().count()) {
        return Err(
            ValidationError::new("invalid_name", "informe o nome (2 a 80 caracteres)").into(),
        );
    }
    if !matches!(body.relation.as_str(), "interpreter" | "family") {
        return Err(ValidationError::new(
            "invalid_relation",
            "relation deve ser interpreter (intérprete) ou family (familiar)",
        )
        .into());
    }
    // Guests are only possible through the relay: move the call onto it first.
    state
        .registry
        .consult(id)
        .send(UseRelay)
        .await
        .map_err(|_| AppError::Unavailable)?
        .map_err(AppError::from)?;
    let guest = ConsultGuestRow {
        id: uuid::Uuid::now_v7(),
        appointment_id: id,
        name,
        relation: body.relation.clone(),
        invited_by: by,
        created_at: crate::store::now(),
        revoked_at: None,
    };
    state.store.insert_consult_guest(&guest).await?;
    audit_guest(&state, "consult.guest_invited", by, &view, &guest).await?;
    Ok(HttpResponse::Created().json(json!({
        "guest_id": guest.id,
        "name": guest.name,
        "relation": guest.relation,
        "link": guest_link(&state, guest.id),
    })))
}

#[utoipa::path(get, path = "/api/consults/{id}/guests", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "`[{guest_id, name, relation, invited_at, revoked_at, link}]`, oldest first; `link` (to copy again) is null once revoked", body = Object),
              (status = 403, description = "Not the consultation's professional", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn guests(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    the_professional(&state, &req, id).await?;
    let list: Vec<_> = state
        .store
        .consult_guests(id)
        .await?
        .into_iter()
        .map(|g| {
            let link = g.revoked_at.is_none().then(|| guest_link(&state, g.id));
            json!({"guest_id": g.id, "name": g.name, "relation": g.relation,
                   "invited_at": g.created_at, "revoked_at": g.revoked_at, "link": link})
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(delete, path = "/api/consults/{id}/guests/{guest_id}", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("guest_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "The invitation is revoked (again: nothing more happens): the guest's link answers `link_revoked`, their connections close and their media leaves the relay"),
              (status = 403, description = "Not the consultation's professional", body = ErrorBody),
              (status = 404, description = "Unknown consult, or no such guest of it", body = ErrorBody)))]
pub async fn revoke_guest(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, guest_id) = path.into_inner();
    let (view, by) = the_professional(&state, &req, id).await?;
    let Some(guest) = state.store.revoke_consult_guest(id, guest_id).await? else {
        // Already revoked is done; a guest of another consult is not found.
        return match state.store.consult_guest(guest_id).await? {
            Some(g) if g.appointment_id == id => Ok(HttpResponse::NoContent().finish()),
            _ => Err(AppError::NotFound),
        };
    };
    audit_guest(&state, "consult.guest_revoked", by, &view, &guest).await?;
    publish_consult_guest_revoked(state.bus.as_ref(), guest.id);
    drop_guest_media(&state, id, &participant_key(Side::Guest, Some(guest.id))).await;
    Ok(HttpResponse::NoContent().finish())
}
