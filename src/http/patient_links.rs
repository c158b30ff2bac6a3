//! Identity by proof over HTTP: staff issue a one-time code for one of their clinic's
//! records and see or revoke its links; the logged-in patient redeems a code, lists and
//! revokes their links.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::patient_link_mail::{self, AcceptLinkRequest, SentLink};
use crate::app::patient_links::{
    self, ConfirmSuggestionRequest, ConfirmedSuggestion, IssuedCode, LinkedRecordView,
    PatientLinkView, RedeemRequest,
};
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/clinics/{clinic_id}/patients/{patient_id}/links",
        web::get().to(record_links),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}/links/code",
        web::post().to(issue_code),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}/links/{link_id}/revoke",
        web::post().to(revoke_by_staff),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}/links/{link_id}/confirm",
        web::post().to(confirm_suggestion),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}/links/email",
        web::post().to(send_link),
    )
    .route("/me/links", web::get().to(my_links))
    .route("/me/links/accept", web::post().to(accept_link))
    .route("/me/links/redeem", web::post().to(redeem))
    .route("/me/links/{link_id}/revoke", web::post().to(revoke_mine));
}

#[derive(Debug, Deserialize)]
pub struct RecordPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
}

#[derive(Debug, Deserialize)]
pub struct RecordLinkPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub link_id: uuid::Uuid,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/links", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Links, pending codes and suggestions of the clinic's record, newest first", body = [PatientLinkView]),
              (status = 403, body = ErrorBody), (status = 404, description = "Not a record of this clinic", body = ErrorBody)))]
pub async fn record_links(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let RecordPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let list = patient_links::record_links(&state, &auth, clinic_id, patient_id).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/links/code", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 201, description = "A one-time code for the patient to type (shown once; 72 h; dies after 5 wrong tries)", body = IssuedCode),
              (status = 403, body = ErrorBody), (status = 404, description = "Not a record of this clinic", body = ErrorBody)))]
pub async fn issue_code(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let RecordPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let code = patient_links::issue_code(&state, &auth, clinic_id, patient_id).await?;
    Ok(HttpResponse::Created().json(code))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/links/{link_id}/revoke", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("link_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Revoked (the account stops seeing the record at once)"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_by_staff(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordLinkPath>,
) -> Result<HttpResponse, AppError> {
    let RecordLinkPath {
        clinic_id,
        patient_id,
        link_id,
    } = path.into_inner();
    patient_links::revoke_by_staff(&state, &auth, clinic_id, patient_id, link_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/links/{link_id}/confirm", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("link_id" = String, Path, format = Uuid)),
    request_body = ConfirmSuggestionRequest,
    responses((status = 200, description = "The suggestion's account is linked to this record; the record its own booking made here, if any, is folded into it", body = ConfirmedSuggestion),
              (status = 403, body = ErrorBody), (status = 404, description = "No such suggestion of this clinic's record", body = ErrorBody),
              (status = 409, description = "`not_a_suggestion`, `record_already_linked`, `merge_blocked` (the patient's own record there has clinical or financial rows, or a conversation with the same professional)", body = ErrorBody),
              (status = 422, description = "`identity_not_checked`", body = ErrorBody)))]
pub async fn confirm_suggestion(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordLinkPath>,
    body: web::Json<ConfirmSuggestionRequest>,
) -> Result<HttpResponse, AppError> {
    let RecordLinkPath {
        clinic_id,
        patient_id,
        link_id,
    } = path.into_inner();
    let done = patient_links::confirm_suggestion(
        &state,
        &auth,
        clinic_id,
        patient_id,
        link_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(done))
}

#[utoipa::path(get, path = "/api/me/links", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Clinic records linked to the caller's account", body = [LinkedRecordView])))]
pub async fn my_links(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(patient_links::my_links(&state, auth.user_id).await?))
}

#[utoipa::path(post, path = "/api/me/links/redeem", tag = "me", security(("bearer" = [])),
    request_body = RedeemRequest,
    responses((status = 200, description = "Linked: the clinic's record is now the caller's", body = LinkedRecordView),
              (status = 422, description = "`invalid_link_code` (unknown, used, expired, revoked or wrong: one answer for all)", body = ErrorBody),
              (status = 429, description = "Too many attempts", body = ErrorBody)))]
pub async fn redeem(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<RedeemRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(patient_links::redeem_code(&state, &auth, &body).await?))
}

#[utoipa::path(post, path = "/api/me/links/{link_id}/revoke", tag = "me", security(("bearer" = [])),
    params(("link_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Unlinked"), (status = 404, body = ErrorBody)))]
pub async fn revoke_mine(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    patient_links::revoke_by_patient(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/links/email", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 201, description = "A one-time link (72 h) queued to the record's e-mail on file", body = SentLink),
              (status = 403, body = ErrorBody), (status = 404, description = "Not a record of this clinic", body = ErrorBody),
              (status = 422, description = "`no_email_on_file`", body = ErrorBody)))]
pub async fn send_link(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let RecordPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let sent = patient_link_mail::send_link(&state, &auth, clinic_id, patient_id).await?;
    Ok(HttpResponse::Created().json(sent))
}

#[utoipa::path(post, path = "/api/me/links/accept", tag = "me", security(("bearer" = [])),
    request_body = AcceptLinkRequest,
    responses((status = 200, description = "The caller's account is linked to the record the link was sent for", body = LinkedRecordView),
              (status = 400, description = "`invalid_link` (unknown, used or expired)", body = ErrorBody),
              (status = 429, description = "Too many misses from this address", body = ErrorBody)))]
pub async fn accept_link(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<AcceptLinkRequest>,
) -> Result<HttpResponse, AppError> {
    let linked = patient_link_mail::accept_link(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(linked))
}
