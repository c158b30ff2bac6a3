//! "Meu dia": a professional's day across their clinics, and the start and finish of a
//! visit from it.

use actix_web::{HttpResponse, web};

use crate::actors::agenda::Appointment;
use crate::app::Auth;
use crate::app::agenda::day::{self, DayQuery, MyDay, VisitStarted};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;

#[utoipa::path(get, path = "/api/me/day", tag = "agenda", security(("bearer" = [])),
    params(("date" = Option<String>, Query, description = "Local date YYYY-MM-DD; today when absent")),
    responses((status = 200, description = "The calling professional's appointments of one day in every clinic, in time order, with the one in progress and the next patient", body = MyDay),
              (status = 403, description = "`not_a_professional`", body = ErrorBody)))]
pub async fn my_day(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<DayQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(day::my_day(&state, &auth, &query).await?))
}

#[utoipa::path(post, path = "/api/me/day/{appointment_id}/start", tag = "agenda", security(("bearer" = [])),
    params(("appointment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "In progress (through the waiting room when the patient was called there); the encounter of the record opened for it", body = VisitStarted),
              (status = 404, description = "Not the caller's appointment", body = ErrorBody),
              (status = 409, description = "`invalid_transition` (cancelled, finished)", body = ErrorBody)))]
pub async fn start_visit(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(day::start_visit(&state, &auth, path.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/me/day/{appointment_id}/finish", tag = "agenda", security(("bearer" = [])),
    params(("appointment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Attended (`done`); the patient's call in the waiting room ends", body = Appointment),
              (status = 404, description = "Not the caller's appointment", body = ErrorBody),
              (status = 409, description = "`invalid_transition`: not in progress", body = ErrorBody)))]
pub async fn finish_visit(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(day::finish_visit(&state, &auth, path.into_inner()).await?))
}
