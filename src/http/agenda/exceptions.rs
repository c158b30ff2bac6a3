//! Exceptions to the weekly hours: closures and extra hours.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::agenda::RangeQuery;
use crate::app::agenda::exceptions::{self, AgendaException, ExceptionRequest};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::ClinicId;

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/exceptions", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("professional_user_id" = Option<String>, Query, format = Uuid, description = "That professional's and the clinic-wide ones")),
    responses((status = 200, body = [AgendaException]), (status = 403, body = ErrorBody)))]
pub async fn list_exceptions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let list = exceptions::list_exceptions(&state, &auth, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/exceptions", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = ExceptionRequest,
    responses((status = 201, body = AgendaException), (status = 403, body = ErrorBody),
              (status = 422, description = "`invalid_kind`, `invalid_range`", body = ErrorBody)))]
pub async fn create_exception(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<ExceptionRequest>,
) -> Result<HttpResponse, AppError> {
    let created =
        exceptions::create_exception(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize)]
pub struct ExceptionPath {
    pub clinic_id: ClinicId,
    pub exception_id: uuid::Uuid,
}

#[utoipa::path(delete, path = "/api/clinics/{clinic_id}/exceptions/{exception_id}", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("exception_id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_exception(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ExceptionPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    exceptions::delete_exception(&state, &auth, p.clinic_id, p.exception_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
