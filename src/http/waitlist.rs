//! The waitlist over HTTP: join it (a patient for themself, staff for a patient), see it,
//! leave it, and answer an offer. Offers also arrive as one-click links (see `links`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::actors::agenda::Appointment;
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::app::waitlist::{self, JoinRequest, WaitlistEntry, WaitlistEntryStatus};
use crate::domain::ClinicId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics/{clinic_id}/waitlist", web::get().to(list))
        .route("/clinics/{clinic_id}/waitlist", web::post().to(join))
        .route(
            "/clinics/{clinic_id}/waitlist/{entry_id}/cancel",
            web::post().to(cancel),
        )
        .route(
            "/clinics/{clinic_id}/waitlist/offers/{offer_id}/release",
            web::post().to(release),
        )
        .route("/me/waitlist", web::get().to(mine))
        .route(
            "/me/waitlist/offers/{offer_id}/{answer}",
            web::post().to(answer),
        );
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/waitlist", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = JoinRequest,
    responses((status = 201, description = "On the list (`waiting`): the first matching freed slot is offered and held for them", body = WaitlistEntryStatus),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`invalid_waitlist` (no professional nor service, bad dates or times), `invalid_service`, `not_a_professional`, `patient_not_registered`", body = ErrorBody)))]
pub async fn join(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<JoinRequest>,
) -> Result<HttpResponse, AppError> {
    let joined =
        waitlist::join_waitlist(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(joined))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/waitlist", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Entries waiting or holding an offer, first come first served", body = [WaitlistEntry]),
              (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let entries = waitlist::clinic_waitlist(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(entries))
}

#[utoipa::path(get, path = "/api/me/waitlist", operation_id = "my_waitlist", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "The calling patient's waitlist entries with any open offer", body = [WaitlistEntry])))]
pub async fn mine(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(waitlist::my_waitlist(&state, &auth).await?))
}

#[derive(Debug, Deserialize)]
pub struct EntryPath {
    pub clinic_id: ClinicId,
    pub entry_id: uuid::Uuid,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/waitlist/{entry_id}/cancel", operation_id = "cancel_waitlist_entry", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("entry_id" = String, Path, format = Uuid)),
    responses((status = 200, body = WaitlistEntryStatus), (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`: only a waiting entry leaves the list (answer an open offer first)", body = ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let left = waitlist::cancel_entry(&state, &auth, p.clinic_id, p.entry_id).await?;
    Ok(HttpResponse::Ok().json(left))
}

#[derive(Debug, Deserialize)]
pub struct OfferPath {
    pub offer_id: uuid::Uuid,
    pub answer: String,
}

#[utoipa::path(post, path = "/api/me/waitlist/offers/{offer_id}/{answer}", tag = "agenda", security(("bearer" = [])),
    params(("offer_id" = String, Path, format = Uuid), ("answer" = String, Path, description = "accept or decline")),
    responses((status = 200, description = "Accepted: the appointment is `scheduled`; declined: released to the next patient", body = Appointment),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`offer_closed`, `offer_expired`", body = ErrorBody)))]
pub async fn answer(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<OfferPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let answered = waitlist::answer_offer(&state, &auth, p.offer_id, &p.answer).await?;
    Ok(HttpResponse::Ok().json(answered))
}

#[derive(Debug, Deserialize)]
pub struct ReleasePath {
    pub clinic_id: ClinicId,
    pub offer_id: uuid::Uuid,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/waitlist/offers/{offer_id}/release", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("offer_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient declined by phone: the hold is released and the slot offered to the next patient", body = Appointment),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`offer_closed`", body = ErrorBody)))]
pub async fn release(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ReleasePath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let released = waitlist::release_offer(&state, &auth, p.clinic_id, p.offer_id).await?;
    Ok(HttpResponse::Ok().json(released))
}
