//! Free slots and the public booking page.

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::agenda::RangeQuery;
use crate::app::agenda::slots::{self, BookableClinic, BookingPage, Slots};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::ClinicId;

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/slots", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("professional_user_id" = String, Query, format = Uuid),
           ("service_id" = Option<String>, Query, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("appointment_id" = Option<String>, Query, format = Uuid, description = "When rescheduling: this appointment's own time counts as free, and its length is used")),
    responses((status = 200, description = "Free starts (UTC) for the service between two local dates", body = Slots),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn staff_slots(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let free = slots::staff_slots(&state, &auth, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(free))
}

#[utoipa::path(get, path = "/api/public/clinics/{clinic_id}/slots", tag = "agenda",
    params(("clinic_id" = String, Path, format = Uuid), ("professional_user_id" = String, Query, format = Uuid),
           ("service_id" = Option<String>, Query, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("appointment_id" = Option<String>, Query, format = Uuid, description = "When rescheduling: this appointment's own time counts as free")),
    responses((status = 200, description = "The public booking page's free slots. Live: a WebSocket authenticated with `{\"anonymous\": true}` may join `clinic:<id>:slots` (`slots.changed`)", body = Slots),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn public_slots(
    state: web::Data<AppState>,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let free = slots::free_slots(&state, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(free))
}

#[utoipa::path(get, path = "/api/public/clinics/{clinic_id}/booking", tag = "agenda",
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "What the public booking page lists: the clinic, its professionals and services", body = BookingPage),
              (status = 404, body = ErrorBody)))]
pub async fn public_booking(
    state: web::Data<AppState>,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let page = slots::booking_page(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/public/clinics", tag = "agenda",
    responses((status = 200, description = "The clinics that take bookings (some professional has hours there), by name: where a patient chooses a clinic to book at", body = [BookableClinic])))]
pub async fn public_clinics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(slots::bookable_clinics(&state).await?))
}
