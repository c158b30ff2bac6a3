//! LGPD data-subject requests over HTTP: a clinic admin exports or anonymises one of the
//! clinic's patient records; a patient exports their own data. See `docs/lgpd.md`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::lgpd::anonymise::{self, AnonymiseReport, AnonymiseRequest};
use crate::app::lgpd::export::{self, Export};
use crate::app::lgpd::{self, Ctx, Requester, pdf};
use crate::app::state::AppState;
use crate::domain::ValidationError;
use crate::http::patients::ClinicPatientPath;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/clinics/{clinic_id}/patients/{patient_id}/export",
        web::get().to(export_patient),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}/anonymise",
        web::post().to(anonymise_patient),
    )
    .route("/me/export", web::get().to(export_mine));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default) or `pdf` (a readable summary).
    #[serde(default)]
    pub format: Option<String>,
    /// Why the clinic exports (default: the data subject's request for access, art. 18 II).
    #[serde(default)]
    pub legal_basis: Option<String>,
}

fn format_of(q: &ExportQuery) -> Result<&'static str, AppError> {
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok("json"),
        "pdf" => Ok("pdf"),
        _ => Err(ValidationError::new("invalid_format", "formato: json ou pdf").into()),
    }
}

fn download(e: &Export, format: &str, name: &str) -> HttpResponse {
    let stamp = e.generated_at.format("%Y%m%d");
    if format == "pdf" {
        return HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-{stamp}.pdf\""),
            ))
            .body(pdf::summary_pdf(e));
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-{stamp}.json\""),
        ))
        .json(e)
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/export", tag = "lgpd", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ExportQuery),
    responses((status = 200, description = "Everything the clinic holds about the patient record, decrypted (shape `atende.lgpd.export.v1`, docs/lgpd.md), or its PDF summary with `format=pdf`; audited as `lgpd.exported` with the legal basis", content_type = "application/json"),
              (status = 403, description = "Not an admin of the clinic", body = ErrorBody),
              (status = 404, description = "The clinic holds no such record", body = ErrorBody),
              (status = 422, description = "`invalid_format`, `invalid_legal_basis`", body = ErrorBody)))]
pub async fn export_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicPatientPath>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let format = format_of(&query)?;
    let basis = lgpd::legal_basis(
        query.legal_basis.as_deref(),
        Some(lgpd::CLINIC_ACCESS_BASIS),
    )?;
    let ClinicPatientPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let e = export::export_clinic_record(
        &Ctx::of(&state),
        Requester::ClinicAdmin(&auth),
        clinic_id,
        patient_id,
        &basis,
        format,
    )
    .await?;
    Ok(download(&e, format, &format!("dados-{patient_id}")))
}

#[utoipa::path(get, path = "/api/me/export", tag = "lgpd", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "The caller's account, own profile and every clinic record linked to their account, decrypted (shape `atende.lgpd.export.v1`), or its PDF summary with `format=pdf`; audited", content_type = "application/json"),
              (status = 401, body = ErrorBody), (status = 422, description = "`invalid_format`", body = ErrorBody)))]
pub async fn export_mine(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let format = format_of(&query)?;
    let e = export::export_mine(&Ctx::of(&state), &auth, format).await?;
    Ok(download(&e, format, "meus-dados"))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/anonymise", tag = "lgpd", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = AnonymiseRequest,
    responses((status = 200, description = "Identifiers erased where the law allows; what stays, until when and why", body = AnonymiseReport),
              (status = 403, description = "Not an admin of the clinic", body = ErrorBody),
              (status = 404, description = "The clinic holds no such record", body = ErrorBody),
              (status = 409, description = "`already_anonymised`", body = ErrorBody),
              (status = 422, description = "`invalid_legal_basis`, `confirmation_mismatch`", body = ErrorBody)))]
pub async fn anonymise_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicPatientPath>,
    body: web::Json<AnonymiseRequest>,
) -> Result<HttpResponse, AppError> {
    let ClinicPatientPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let report = anonymise::anonymise_patient(&state, &auth, clinic_id, patient_id, &body).await?;
    Ok(HttpResponse::Ok().json(report))
}
