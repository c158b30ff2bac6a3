//! A clinic's services.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::agenda::services::{self, Service, ServiceRequest};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::ClinicId;

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/services", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Active services with duration, price (centavos) and buffers", body = [Service]),
              (status = 403, body = ErrorBody)))]
pub async fn list_services(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let list = services::list_services(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/services", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = ServiceRequest,
    responses((status = 201, body = Service),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_service_name`, `invalid_duration`, `invalid_price`, `invalid_buffer`, `not_a_professional`", body = ErrorBody)))]
pub async fn create_service(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<ServiceRequest>,
) -> Result<HttpResponse, AppError> {
    let created =
        services::create_service(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize)]
pub struct ServicePath {
    pub clinic_id: ClinicId,
    pub service_id: uuid::Uuid,
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/services/{service_id}", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("service_id" = String, Path, format = Uuid)),
    request_body = ServiceRequest,
    responses((status = 200, description = "Updated; `active: false` stops offering it (existing appointments keep it)", body = Service),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_service(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ServicePath>,
    body: web::Json<ServiceRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let updated =
        services::update_service(&state, &auth, p.clinic_id, p.service_id, body.into_inner())
            .await?;
    Ok(HttpResponse::Ok().json(updated))
}
