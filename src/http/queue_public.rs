//! The waiting room for people without a staff login: the clinic's TV call panel (by its
//! secret), the patient's phone page (by the signed tracker link handed out at check-in),
//! and self check-in from the QR code at reception. Credentials travel in POST bodies —
//! never in URLs that proxies and access logs keep.

use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::{bearer_token, client_ip};
use crate::app::error::{AppError, ErrorBody};
use crate::app::queue::public::{
    self, CheckinClinicRequest, CheckinClinicView, PanelRequest, PublicQueueView,
    SelfCheckInRequest, SelfCheckInView, TrackRequest, TrackView,
};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/public/panel", web::post().to(panel))
        .route("/public/queue/track", web::post().to(track))
        .route("/public/checkin/clinic", web::post().to(checkin_clinic))
        .route("/public/checkin", web::post().to(self_check_in));
}

#[utoipa::path(post, path = "/api/public/panel", tag = "queue", request_body = PanelRequest,
    responses((status = 200, description = "The clinic's name and the panel snapshot (tickets waiting with estimated waits; the current call and the last five with first name and initial). Live: authenticate the WebSocket with `{\"panel\": token}` and join `clinic:<id>:panel`", body = PublicQueueView),
              (status = 401, description = "`invalid_token`", body = ErrorBody)))]
pub async fn panel(
    state: web::Data<AppState>,
    body: web::Json<PanelRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(public::panel(&state, body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/public/queue/track", tag = "queue", request_body = TrackRequest,
    responses((status = 200, description = "The patient's own entry (ticket, status, room) and the clinic's panel snapshot, from which the page computes the place in line. Live: authenticate the WebSocket with `{\"tracker\": …}`", body = TrackView),
              (status = 401, description = "`invalid_token`", body = ErrorBody)))]
pub async fn track(
    state: web::Data<AppState>,
    body: web::Json<TrackRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(public::track(&state, body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/public/checkin/clinic", tag = "queue", request_body = CheckinClinicRequest,
    responses((status = 200, description = "Which clinic a check-in QR code belongs to (its name)", body = CheckinClinicView),
              (status = 404, body = ErrorBody)))]
pub async fn checkin_clinic(
    state: web::Data<AppState>,
    body: web::Json<CheckinClinicRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(public::checkin_clinic(&state, body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/public/checkin", tag = "queue", request_body = SelfCheckInRequest,
    responses((status = 201, description = "Checked in: the ticket and the tracker for the phone page (`/#/fila/<tracker>`)", body = SelfCheckInView),
              (status = 200, description = "Already in today's queue: the same ticket and tracker", body = SelfCheckInView),
              (status = 401, description = "An `Authorization` header whose login is no longer valid", body = ErrorBody),
              (status = 404, description = "Unknown check-in code", body = ErrorBody),
              (status = 422, description = "`patient_not_found` (no record here with this CPF and birth date), `invalid_cpf`", body = ErrorBody),
              (status = 429, description = "Too many attempts from this address or for this CPF", body = ErrorBody)))]
pub async fn self_check_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SelfCheckInRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let view = public::self_check_in(&state, bearer_token(&req), ip, body.into_inner()).await?;
    Ok(if view.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}
