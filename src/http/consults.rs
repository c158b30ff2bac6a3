//! Teleconsultations over HTTP: the session's state and the patient's entry link, the ICE
//! servers (STUN, and TURN with short-lived coturn REST credentials), and the public preview
//! a patient's link page shows before connecting. Everything live (waiting room, admission,
//! signaling) happens on the WebSocket topic `consult:<appointment id>`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::consult_media::{LinkQuery, credentials};
use crate::app::caller::Auth;
use crate::app::consults::session::{self, ConsultPreview, ConsultView, IceServers};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consults/{id}", web::get().to(get_consult))
        .route("/consults/{id}/ice", web::get().to(ice))
        .route("/public/consults/{token}", web::get().to(public_preview));
}

#[utoipa::path(get, path = "/api/consults/{id}", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The teleconsultation appointment")),
    responses((status = 200, description = "The session (status `scheduled`, `waiting`, `in_call`, `ended`; times; participants) and the patient's entry link", body = ConsultView),
              (status = 404, description = "Unknown, not a teleconsultation, or not the caller's", body = ErrorBody)))]
pub async fn get_consult(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let view = session::consult_view(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/api/consults/{id}/ice", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    responses((status = 200, description = "STUN, and TURN with credentials valid for `consult.turn_credential_ttl_secs` (ask again at every ICE restart)", body = IceServers),
              (status = 401, description = "`invalid_token`, `too_early`", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn ice(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let servers =
        session::ice_servers(&state, credentials(&req, &query), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(servers))
}

#[utoipa::path(get, path = "/api/public/consults/{token}", tag = "consults",
    params(("token" = String, Path, description = "The patient's entry link token")),
    responses((status = 200, description = "What the link page shows before connecting: appointment id, times, professional, clinic, the patient's first name, status, when the room opens", body = ConsultPreview),
              (status = 401, description = "`invalid_token` (tampered, or the consultation is over), `consult_cancelled`", body = ErrorBody)))]
pub async fn public_preview(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let preview = session::preview(&state, &path).await?;
    Ok(HttpResponse::Ok().json(preview))
}
