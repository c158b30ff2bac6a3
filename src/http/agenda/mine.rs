//! The caller's own agenda (a professional) and appointments (a patient).

use actix_web::{HttpResponse, web};

use crate::actors::agenda::Appointment;
use crate::app::Auth;
use crate::app::agenda::{RangeQuery, mine};
use crate::app::error::AppError;
use crate::app::state::AppState;

#[utoipa::path(get, path = "/api/me/agenda", tag = "agenda", security(("bearer" = [])),
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, description = "The calling professional's appointments in every clinic", body = [Appointment])))]
pub async fn my_agenda(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mine::my_agenda(&state, &auth, &query).await?))
}

#[utoipa::path(get, path = "/api/me/appointments", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "The calling patient's appointments, newest first", body = [Appointment])))]
pub async fn my_appointments(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mine::my_appointments(&state, &auth).await?))
}
