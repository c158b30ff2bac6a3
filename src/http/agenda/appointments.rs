//! Appointments: the clinic's list, booking, rescheduling, cancelling, status.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::actors::agenda::Appointment;
use crate::app::Auth;
use crate::app::agenda::RangeQuery;
use crate::app::agenda::appointments::{
    self, BookRequest, CancelRequest, RescheduleRequest, StatusRequest,
};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::ClinicId;

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/appointments", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("professional_user_id" = Option<String>, Query, format = Uuid)),
    responses((status = 200, description = "The clinic's appointments between two local dates (all professionals unless one is given); live on `clinic:<id>:agenda`", body = [Appointment]),
              (status = 403, body = ErrorBody)))]
pub async fn list_appointments(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let list = appointments::list_appointments(&state, &auth, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = BookRequest,
    responses((status = 201, description = "Booked (status `scheduled`); for the clinic's staff, with its one-click `links`", body = Appointment),
              (status = 403, body = ErrorBody),
              (status = 409, description = "`slot_taken` (the professional is busy then, in any clinic), `patient_busy`", body = ErrorBody),
              (status = 422, description = "`slot_unavailable` (not an offered slot), `invalid_service`, `invalid_kind`, `invalid_duration`, `patient_not_registered`, `not_a_professional`", body = ErrorBody)))]
pub async fn book(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<BookRequest>,
) -> Result<HttpResponse, AppError> {
    let booked =
        appointments::book_appointment(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(booked))
}

#[derive(Debug, Deserialize)]
pub struct AppointmentPath {
    pub clinic_id: ClinicId,
    pub appointment_id: uuid::Uuid,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/reschedule", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = RescheduleRequest,
    responses((status = 200, description = "Moved (same length; back to `scheduled`)", body = Appointment),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`slot_taken`, `patient_busy`, `invalid_transition`", body = ErrorBody),
              (status = 422, description = "`slot_unavailable`", body = ErrorBody)))]
pub async fn reschedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<RescheduleRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let moved = appointments::reschedule_appointment(
        &state,
        &auth,
        p.clinic_id,
        p.appointment_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(moved))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/cancel", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = CancelRequest,
    responses((status = 200, body = Appointment), (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`", body = ErrorBody),
              (status = 422, description = "`invalid_reason`", body = ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let cancelled = appointments::cancel_appointment(
        &state,
        &auth,
        p.clinic_id,
        p.appointment_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(cancelled))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/confirm", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Confirmed (the patient's own, or staff of the clinic)", body = Appointment),
              (status = 404, description = "Not found, or not the caller's", body = ErrorBody),
              (status = 409, description = "`invalid_transition` (not `scheduled`)", body = ErrorBody)))]
pub async fn confirm(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let confirmed =
        appointments::confirm_appointment(&state, &auth, p.clinic_id, p.appointment_id).await?;
    Ok(HttpResponse::Ok().json(confirmed))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/status", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = StatusRequest,
    responses((status = 200, body = Appointment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`", body = ErrorBody),
              (status = 422, description = "`invalid_status`", body = ErrorBody)))]
pub async fn set_status(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<StatusRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let changed = appointments::set_appointment_status(
        &state,
        &auth,
        p.clinic_id,
        p.appointment_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(changed))
}
