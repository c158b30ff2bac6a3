//! The clinic's reports over HTTP (clinic administrators): the revenue of a period as JSON
//! for the dashboard, and the same lines as a streamed CSV download for the accountant; the
//! attendance (no-shows) and occupancy of the agendas.

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::billing::reports::{self, CsvQuery, ReportQuery, RevenueReport};
use crate::app::error::{AppError, ErrorBody};
use crate::app::reports::{AttendanceQuery, AttendanceReport, attendance};
use crate::app::state::AppState;
use crate::domain::ClinicId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/clinics/{clinic_id}/reports/revenue",
        web::get().to(revenue),
    )
    .route(
        "/clinics/{clinic_id}/reports/revenue.csv",
        web::get().to(revenue_csv),
    )
    .route(
        "/clinics/{clinic_id}/reports/attendance",
        web::get().to(attendance_report),
    );
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/reports/revenue", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ReportQuery),
    responses((status = 200, description = "Money received and given back in the period, in total and by day, professional, service and payment method (from the ledger)", body = RevenueReport),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_period` (1 to 366 days)", body = ErrorBody)))]
pub async fn revenue(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let r = reports::revenue(&state, &auth, path.into_inner(), q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/reports/revenue.csv", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), CsvQuery),
    responses((status = 200, description = "Each revenue posting of the period as CSV (UTF-8 with BOM; `;` and decimal comma unless `sep=comma`), streamed; audited as `report.exported`", content_type = "text/csv"),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_period`, `invalid_separator`", body = ErrorBody)))]
pub async fn revenue_csv(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    q: web::Query<CsvQuery>,
) -> Result<HttpResponse, AppError> {
    let export = reports::revenue_csv(&state, &auth, path.into_inner(), q.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}\"", export.file_name),
        ))
        .insert_header(("cache-control", "no-store"))
        .streaming(export.body))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/reports/attendance", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), AttendanceQuery),
    responses((status = 200, description = "Per professional and in all: appointments and how they ended, the no-show rate, and the occupancy (booked over offered minutes, from the working hours and exceptions)", body = AttendanceReport),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_period` (1 to 366 days)", body = ErrorBody)))]
pub async fn attendance_report(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    q: web::Query<AttendanceQuery>,
) -> Result<HttpResponse, AppError> {
    let r = attendance(&state, &auth, path.into_inner(), q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(r))
}
