//! A professional's weekly hours and booking rules in one clinic.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::agenda::schedule::{self, Schedule, ScheduleRequest};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::{ClinicId, UserId};

#[derive(Debug, Deserialize)]
pub struct ProPath {
    pub clinic_id: ClinicId,
    pub user_id: UserId,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/professionals/{user_id}/schedule", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("user_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Weekly hours (local time) and booking rules", body = Schedule),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_schedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ProPath>,
) -> Result<HttpResponse, AppError> {
    let ProPath { clinic_id, user_id } = path.into_inner();
    let found = schedule::get_schedule(&state, &auth, clinic_id, user_id).await?;
    Ok(HttpResponse::Ok().json(found))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/professionals/{user_id}/schedule", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("user_id" = String, Path, format = Uuid)),
    request_body = ScheduleRequest,
    responses((status = 200, body = Schedule),
              (status = 403, description = "The professional or a clinic administrator", body = ErrorBody),
              (status = 422, description = "`invalid_weekday`, `invalid_time`, `invalid_hours`, `overlapping_hours`, `invalid_notice`, `invalid_window`, `invalid_daily_limit`, `invalid_step`", body = ErrorBody)))]
pub async fn put_schedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ProPath>,
    body: web::Json<ScheduleRequest>,
) -> Result<HttpResponse, AppError> {
    let ProPath { clinic_id, user_id } = path.into_inner();
    let saved =
        schedule::put_schedule(&state, &auth, clinic_id, user_id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}
