//! Teleconsultations over HTTP: the session's state and the patient's entry link, the ICE
//! servers (STUN, and TURN with short-lived coturn REST credentials), and the public preview
//! a patient's link page shows before connecting. Everything live (waiting room, admission,
//! signaling) happens on the WebSocket topic `consult:<appointment id>`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use serde_json::json;

use super::consult_media::LinkQuery;
use super::extract::bearer_token;
use crate::actors::consult::{open_appointment, state_json};
use crate::actors::protocol::WsError;
use crate::app::caller::Auth;
use crate::app::consults::{caller, check_window, party, patient_link, read_link, session_of};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consults/{id}", web::get().to(get_consult))
        .route("/consults/{id}/ice", web::get().to(ice))
        .route("/public/consults/{token}", web::get().to(public_preview));
}

#[utoipa::path(get, path = "/api/consults/{id}", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The teleconsultation appointment")),
    responses((status = 200, description = "The session (status `scheduled`, `waiting`, `in_call`, `ended`; times; participants) and the patient's entry link", body = Object),
              (status = 404, description = "Unknown, not a teleconsultation, or not the caller's", body = ErrorBody)))]
pub async fn get_consult(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = open_appointment(&state.store, id)
        .await
        .map_err(AppError::from)?;
    party(&auth, &view)?;
    let row = session_of(&state, &view).await?;
    let mut out = state_json(&view, &row, state.settings.media.relay);
    out["patient_link"] = json!(patient_link(&state, id));
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/consults/{id}/ice", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    responses((status = 200, description = "`{\"ice_servers\": [RTCIceServer…], \"expires_at\"}`: STUN, and TURN with credentials valid for `consult.turn_credential_ttl_secs` (ask again at every ICE restart)", body = Object),
              (status = 401, description = "`invalid_token`, `too_early`", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn ice(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let who = caller(&state, bearer_token(&req), id, query.token.as_deref())
        .await?
        .1
        .turn_user(id);
    let cfg = &state.settings.consult;
    let mut servers = Vec::new();
    if !cfg.stun_urls.is_empty() {
        servers.push(json!({"urls": cfg.stun_urls}));
    }
    let ttl = cfg.turn_credential_ttl_secs as i64;
    let now = Utc::now().timestamp();
    let mut expires_at = now + ttl;
    if !cfg.turn_urls.is_empty() {
        let c = crate::media::turn::credential(cfg.turn_secret.expose().as_bytes(), &who, now, ttl)
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("turn: {e}")))?;
        expires_at = c.expires_at;
        servers.push(
            json!({"urls": cfg.turn_urls, "username": c.username, "credential": c.credential}),
        );
    }
    Ok(HttpResponse::Ok().json(json!({"ice_servers": servers, "expires_at": expires_at})))
}

#[utoipa::path(get, path = "/api/public/consults/{token}", tag = "consults",
    params(("token" = String, Path, description = "The patient's entry link token")),
    responses((status = 200, description = "What the link page shows before connecting: appointment id, times, professional, clinic, the patient's first name, status, when the room opens", body = Object),
              (status = 401, description = "`invalid_token` (tampered, or the consultation is over), `consult_cancelled`", body = ErrorBody)))]
pub async fn public_preview(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (view, guest) = read_link(&state, &path).await.map_err(AppError::from)?;
    let row = session_of(&state, &view).await?;
    // Too early is fine here: the page shows when the room opens.
    match check_window(&state, &view).await {
        Ok(())
        | Err(WsError {
            code: "too_early", ..
        }) => {}
        // After the end, a finished session still says so (rather than "invalid link").
        Err(WsError {
            code: "invalid_token",
            ..
        }) if row.status == "ended" => {}
        Err(e) => return Err(AppError::from(e)),
    }
    let mut out = state_json(&view, &row, state.settings.media.relay);
    out["as"] = json!(if guest.is_some() { "guest" } else { "patient" });
    out["guest_name"] = json!(guest.map(|g| g.name));
    out["opens_at"] = json!(
        view.a.starts_at - Duration::minutes(i64::from(state.settings.consult.link_lead_minutes))
    );
    out["time_zone"] = json!(view.clinic_time_zone);
    // A guest sees no one's full name but the professional's.
    out["participants"] = json!([]);
    Ok(HttpResponse::Ok().json(out))
}
