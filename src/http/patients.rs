//! Patients over HTTP: registered by clinic staff or signed up by themselves. Every staff
//! read or change goes to the audit log; a patient sees only their own profile and the
//! clinic records linked to their account by proof.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::patients::{
    self, AddressRequest, NewPatientRequest, PatientIdentityView, PatientView, UpdatePatientRequest,
};
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/clinics/{clinic_id}/patients",
        web::get().to(list_patients),
    )
    .route(
        "/clinics/{clinic_id}/patients",
        web::post().to(create_patient_handler),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}",
        web::get().to(get_clinic_patient),
    )
    .route(
        "/clinics/{clinic_id}/patients/{patient_id}",
        web::patch().to(update_clinic_patient),
    )
    .route("/patients/me", web::get().to(my_record))
    .route("/patients/{patient_id}", web::get().to(get_patient))
    .route(
        "/patients/{patient_id}/address",
        web::put().to(set_my_address),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientSearch {
    /// Beginnings of the words of the name or social name (every word of 2 letters or more
    /// must match, without regard to case or accents), or the whole CPF. Empty: every
    /// record of the clinic, by name.
    #[serde(default)]
    pub q: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ClinicPatientPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), PatientSearch),
    responses((status = 200, description = "Up to 100 matching patients by name (without regard to case or accents), identity only (clinical text is not listed)", body = [PatientView]),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`invalid_query`: more than 100 characters", body = ErrorBody)))]
pub async fn list_patients(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<PatientSearch>,
) -> Result<HttpResponse, AppError> {
    let list =
        patients::list_patients(&state, &auth, path.into_inner(), query.q.as_deref()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = NewPatientRequest,
    responses((status = 201, body = PatientView),
              (status = 409, description = "`patient_already_registered`: this clinic already has a record with the CPF (other clinics' records are never looked at)", body = ErrorBody),
              (status = 422, description = "`invalid_cpf`, `invalid_birth_date`, `invalid_phone`, …", body = ErrorBody)))]
pub async fn create_patient_handler(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<NewPatientRequest>,
) -> Result<HttpResponse, AppError> {
    let view =
        patients::register_with_clinic(&state, Some(&auth), path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, body = PatientView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_clinic_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicPatientPath>,
) -> Result<HttpResponse, AppError> {
    let ClinicPatientPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let view = patients::get_clinic_patient(&state, &auth, clinic_id, patient_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(patch, path = "/api/clinics/{clinic_id}/patients/{patient_id}", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = UpdatePatientRequest,
    responses((status = 200, body = PatientView),
              (status = 403, description = "Not staff here, or notes changed by someone who is not a professional", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn update_clinic_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicPatientPath>,
    body: web::Json<UpdatePatientRequest>,
) -> Result<HttpResponse, AppError> {
    let ClinicPatientPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let view = patients::update_clinic_patient(&state, &auth, clinic_id, patient_id, &body).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/api/patients/me", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = PatientIdentityView), (status = 404, description = "The caller is not a patient", body = ErrorBody)))]
pub async fn my_record(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(patients::my_record(&state, &auth).await?))
}

#[utoipa::path(get, path = "/api/patients/{patient_id}", tag = "patients", security(("bearer" = [])),
    params(("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient of the record (own profile or a linked record), or staff of the clinic that owns it", body = PatientIdentityView),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<PatientId>,
) -> Result<HttpResponse, AppError> {
    let view = patients::get_patient(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(put, path = "/api/patients/{patient_id}/address", tag = "patients", security(("bearer" = [])),
    params(("patient_id" = String, Path, format = Uuid)),
    request_body = AddressRequest,
    responses((status = 200, description = "The record with its new address (audited under the clinic that holds it)", body = PatientIdentityView),
              (status = 403, description = "Not the caller's own profile nor a record linked to their account", body = ErrorBody),
              (status = 422, description = "`invalid_postal_code`, `invalid_uf`, `invalid_address`", body = ErrorBody)))]
pub async fn set_my_address(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<PatientId>,
    body: web::Json<AddressRequest>,
) -> Result<HttpResponse, AppError> {
    let view = patients::set_my_address(&state, &auth, path.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(view))
}
