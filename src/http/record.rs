//! The clinical record over HTTP: encounters (draft, save against a version, sign, addenda),
//! allergies, problems, vital signs, break the glass, the timeline, the patient's own locked
//! encounters, and the CID-10 search.
//! Each handler parses, calls one use case in `app::record`, and maps the result.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::record::allergies::{self, Allergy, AllergyList, NewAllergy, UpdateAllergy};
use crate::app::record::cid10::{self, Cid10Query, Cid10Results};
use crate::app::record::encounters::{self, NewAddendum, NewEncounter, SaveEncounter};
use crate::app::record::fhir;
use crate::app::record::medications::{self, MedicationList, StopMedication};
use crate::app::record::problems::{self, NewProblem, Problem, ProblemList, UpdateProblem};
use crate::app::record::timeline::{self, MyEncounters, TimelinePage, TimelineQuery};
use crate::app::record::vitals::{self, NewVitals, VitalSigns, VitalsList};
use crate::app::record::{
    self, Addendum, BreakGlass, BreakGlassLog, BreakGlassRequest, Encounter, RecordAccess,
};
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId};

const BASE: &str = "/clinics/{clinic_id}/patients/{patient_id}/record";

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |tail: &str| format!("{BASE}{tail}");
    cfg.route(&at("/encounters"), web::post().to(create_encounter))
        .route(&at("/encounters/{id}"), web::get().to(get_encounter))
        .route(&at("/encounters/{id}"), web::put().to(save_encounter))
        .route(&at("/encounters/{id}/sign"), web::post().to(sign_encounter))
        .route(
            &at("/encounters/{id}/addenda"),
            web::post().to(add_addendum),
        )
        .route(&at("/access"), web::get().to(access))
        .route(&at("/allergies"), web::get().to(list_allergies))
        .route(&at("/allergies"), web::post().to(add_allergy))
        .route(&at("/allergies/{id}"), web::patch().to(update_allergy))
        .route(&at("/break-glass"), web::post().to(break_glass))
        .route(&at("/timeline"), web::get().to(timeline))
        .route("/me/record/encounters", web::get().to(my_encounters))
        .route(
            "/clinics/{clinic_id}/record/break-glass",
            web::get().to(break_glass_log),
        )
        .route(&at("/problems"), web::get().to(list_problems))
        .route(&at("/problems"), web::post().to(add_problem))
        .route(&at("/problems/{id}"), web::patch().to(update_problem))
        .route(&at("/vitals"), web::get().to(list_vitals))
        .route(&at("/vitals"), web::post().to(add_vitals))
        .route("/cid10", web::get().to(search_cid10))
        .route(&at("/medications"), web::get().to(list_medications))
        .route(&at("/medications/stop"), web::post().to(stop_medication))
        .route(&at("/fhir"), web::get().to(record_fhir))
        .route("/me/record/fhir", web::get().to(my_record_fhir));
}

#[derive(Debug, Deserialize)]
pub struct RecordPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
}

#[derive(Debug, Deserialize)]
pub struct EntryPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub id: uuid::Uuid,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = NewEncounter,
    responses((status = 201, description = "A draft at version 1, with the author's council registration", body = Encounter),
              (status = 403, description = "`forbidden` (not of this clinic), `not_a_professional`, `no_care_relationship`", body = ErrorBody),
              (status = 404, description = "The patient is not registered with this clinic", body = ErrorBody),
              (status = 422, description = "`invalid_cid10`, `text_too_long`, `too_many_diagnoses`, `invalid_appointment`", body = ErrorBody)))]
pub async fn create_encounter(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    body: web::Json<NewEncounter>,
) -> Result<HttpResponse, AppError> {
    let RecordPath {
        clinic_id,
        patient_id,
    } = path.into_inner();
    let e = encounters::create_encounter(&state, &auth, clinic_id, patient_id, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(e))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The encounter and its addenda (audited as `record.read`)", body = Encounter),
              (status = 403, description = "`forbidden`, `no_clinical_access` (receptionists), `no_care_relationship`", body = ErrorBody),
              (status = 404, description = "No such encounter here, or a psychology note of someone else", body = ErrorBody)))]
pub async fn get_encounter(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let e = encounters::get_encounter(&state, &auth, p.clinic_id, p.patient_id, p.id).await?;
    Ok(HttpResponse::Ok().json(e))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid)),
    request_body = SaveEncounter,
    responses((status = 200, description = "Saved: the new version", body = Encounter),
              (status = 403, description = "`not_author`, `no_care_relationship`, …", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`version_conflict` (saved elsewhere since; `current_version` says which) or `encounter_locked`", body = ErrorBody),
              (status = 422, description = "`invalid_cid10`, `text_too_long`, `too_many_diagnoses`", body = ErrorBody)))]
pub async fn save_encounter(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
    body: web::Json<SaveEncounter>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let e = encounters::save_encounter(
        &state,
        &auth,
        p.clinic_id,
        p.patient_id,
        p.id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(e))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}/sign", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Signed and locked for good (who and when recorded; an ICP-Brasil signature of the entry is a later step)", body = Encounter),
              (status = 403, description = "`not_author`, …", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`encounter_locked`", body = ErrorBody)))]
pub async fn sign_encounter(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let e = encounters::sign_encounter(&state, &auth, p.clinic_id, p.patient_id, p.id).await?;
    Ok(HttpResponse::Ok().json(e))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}/addenda", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid)),
    request_body = NewAddendum,
    responses((status = 201, description = "The addendum, with its author and time", body = Addendum),
              (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`encounter_not_locked`: a draft is edited instead", body = ErrorBody),
              (status = 422, description = "`missing_text`, `text_too_long`", body = ErrorBody)))]
pub async fn add_addendum(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
    body: web::Json<NewAddendum>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let a = encounters::add_addendum(
        &state,
        &auth,
        p.clinic_id,
        p.patient_id,
        p.id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(a))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/access", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "How the caller would open the record: `care`, `break_glass` (until when) or `none` (then break the glass first); reads nothing clinical, not audited", body = RecordAccess),
              (status = 403, description = "`forbidden` (not of the clinic), `no_clinical_access` (reception)", body = ErrorBody),
              (status = 404, description = "The patient is not registered with the clinic", body = ErrorBody)))]
pub async fn access(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let a = record::record_access(&state, &auth, p.clinic_id, p.patient_id).await?;
    Ok(HttpResponse::Ok().json(a))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/allergies", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The record's allergies, oldest first (audited as `record.read`)", body = AllergyList),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_allergies(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let list = allergies::list_allergies(&state, &auth, p.clinic_id, p.patient_id).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/allergies", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = NewAllergy,
    responses((status = 201, description = "Recorded, active (audited as `allergy.added`)", body = Allergy),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "`missing_text`, `text_too_long`", body = ErrorBody)))]
pub async fn add_allergy(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    body: web::Json<NewAllergy>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let a =
        allergies::add_allergy(&state, &auth, p.clinic_id, p.patient_id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(a))
}

#[utoipa::path(patch, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/allergies/{id}", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid)),
    request_body = UpdateAllergy,
    responses((status = 200, description = "Its new status (audited as `allergy.updated`)", body = Allergy),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_allergy(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
    body: web::Json<UpdateAllergy>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let a = allergies::update_allergy(
        &state,
        &auth,
        p.clinic_id,
        p.patient_id,
        p.id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(a))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/break-glass", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = BreakGlassRequest,
    responses((status = 201, description = "The record is open to the caller until `expires_at` (`record.break_glass_hours`); audited as `record.break_glass`", body = BreakGlass),
              (status = 403, description = "`forbidden`, `no_clinical_access` (receptionists)", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, description = "`reason_too_short` (fewer than 10 characters)", body = ErrorBody)))]
pub async fn break_glass(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    body: web::Json<BreakGlassRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let g =
        record::break_glass(&state, &auth, p.clinic_id, p.patient_id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(g))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/timeline", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), TimelineQuery),
    responses((status = 200, description = "Encounters, addenda and documents issued, newest first (audited as `record.read`)", body = TimelinePage),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "`invalid_limit`", body = ErrorBody)))]
pub async fn timeline(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    query: web::Query<TimelineQuery>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let page =
        timeline::timeline(&state, &auth, p.clinic_id, p.patient_id, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/me/record/encounters", tag = "record", security(("bearer" = [])),
    responses((status = 200, description = "The caller's own locked encounters (summary), every clinic, newest first: no drafts, no psychology notes", body = MyEncounters)))]
pub async fn my_encounters(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(timeline::my_encounters(&state, &auth).await?))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/record/break-glass", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The clinic's last 200 break-the-glass openings with who, which patient, the reason and until when (clinic admins; audited as `record.break_glass_list`)", body = BreakGlassLog),
              (status = 403, body = ErrorBody)))]
pub async fn break_glass_log(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(record::break_glass_log(&state, &auth, path.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/problems", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The record's problems, active first (audited as `record.read`)", body = ProblemList),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_problems(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let list = problems::list_problems(&state, &auth, p.clinic_id, p.patient_id).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/problems", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = NewProblem,
    responses((status = 201, description = "Recorded, active, with the code's description (audited as `problem.added`)", body = Problem),
              (status = 400, description = "`invalid_body`, including a CID-10 code of the wrong shape", body = ErrorBody),
              (status = 403, description = "`not_a_professional`, `no_care_relationship`, …", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, description = "`unknown_cid10`, `invalid_onset_date`, `text_too_long`", body = ErrorBody)))]
pub async fn add_problem(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    body: web::Json<NewProblem>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let problem =
        problems::add_problem(&state, &auth, p.clinic_id, p.patient_id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(problem))
}

#[utoipa::path(patch, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/problems/{id}", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid)),
    request_body = UpdateProblem,
    responses((status = 200, description = "Resolved (with when) or active again (audited as `problem.updated`)", body = Problem),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_problem(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
    body: web::Json<UpdateProblem>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let problem = problems::update_problem(
        &state,
        &auth,
        p.clinic_id,
        p.patient_id,
        p.id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(problem))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/vitals", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The record's last 500 sets of vital signs, newest first, with the BMI (audited as `record.read`)", body = VitalsList),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_vitals(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let list = vitals::list_vitals(&state, &auth, p.clinic_id, p.patient_id).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/vitals", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = NewVitals,
    responses((status = 201, description = "Recorded, with the BMI when there is a weight and a height (this set's or the latest); audited as `vitals.added`", body = VitalSigns),
              (status = 403, description = "`not_a_professional`, `no_care_relationship`, …", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, description = "`implausible_vital` (`field` names the measurement), `incomplete_blood_pressure`, `no_vitals`, `invalid_measured_at`, `text_too_long`", body = ErrorBody)))]
pub async fn add_vitals(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    body: web::Json<NewVitals>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let v = vitals::add_vitals(&state, &auth, p.clinic_id, p.patient_id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

#[utoipa::path(get, path = "/api/cid10", tag = "record", security(("bearer" = [])),
    params(Cid10Query),
    responses((status = 200, description = "CID-10 codes matching the query, best first: the exact code, codes under a prefix, then words (categories before subcategories)", body = Cid10Results),
              (status = 403, description = "`not_a_professional`", body = ErrorBody),
              (status = 422, description = "`invalid_limit`, `query_too_long`", body = ErrorBody)))]
pub async fn search_cid10(
    auth: Auth,
    query: web::Query<Cid10Query>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(cid10::search(&auth, query.into_inner())?))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/medications", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The medicines of the prescriptions issued for the patient here (not revoked nor failed), in use first, with who stopped which and why (audited as `record.read`)", body = MedicationList),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_medications(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let list = medications::list_medications(&state, &auth, p.clinic_id, p.patient_id).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/medications/stop", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    request_body = StopMedication,
    responses((status = 200, description = "Stopped, for good; the record's medications (audited as `medication.stopped`)", body = MedicationList),
              (status = 403, description = "`not_a_professional`, `no_care_relationship`, …", body = ErrorBody),
              (status = 404, description = "No such prescription or medicine in this record (or it was revoked)", body = ErrorBody),
              (status = 409, description = "`medication_already_stopped`", body = ErrorBody),
              (status = 422, description = "`missing_text`, `text_too_long` (the reason)", body = ErrorBody)))]
pub async fn stop_medication(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    body: web::Json<StopMedication>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let list =
        medications::stop_medication(&state, &auth, p.clinic_id, p.patient_id, body.into_inner())
            .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FhirQuery {
    /// For a clinic admin answering a portability request: why the clinic exports
    /// (default: the data subject's request to the clinic, LGPD art. 18).
    #[serde(default)]
    pub legal_basis: Option<String>,
}

/// A bundle as a download (`application/fhir+json`).
fn fhir_download(bundle: &serde_json::Value, name: &str) -> HttpResponse {
    let stamp = chrono::Utc::now().format("%Y%m%d");
    HttpResponse::Ok()
        .content_type(fhir::CONTENT_TYPE)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-{stamp}.fhir.json\""),
        ))
        .body(bundle.to_string())
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/record/fhir", tag = "record", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid), FhirQuery),
    responses((status = 200, description = "The record as a FHIR R4 Bundle (`collection`: Patient, Organization, Practitioner, Encounter, Condition, AllergyIntolerance, MedicationStatement, Observation, DocumentReference; docs/record.md): locked encounters only, no psychology notes. A professional who opens the record (audited as `record.read`, `what: fhir`), or the clinic's admin for a portability request (audited as `lgpd.exported`, `format: fhir`)", content_type = "application/fhir+json"),
              (status = 403, description = "`forbidden` (not of this clinic), `no_clinical_access` (receptionists), `no_care_relationship`", body = ErrorBody),
              (status = 404, description = "The patient is not registered with this clinic", body = ErrorBody),
              (status = 422, description = "`invalid_legal_basis`", body = ErrorBody)))]
pub async fn record_fhir(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<RecordPath>,
    query: web::Query<FhirQuery>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let bundle = fhir::clinic_record(
        &state,
        &auth,
        p.clinic_id,
        p.patient_id,
        query.legal_basis.as_deref(),
    )
    .await?;
    Ok(fhir_download(&bundle, "prontuario"))
}

#[utoipa::path(get, path = "/api/me/record/fhir", tag = "record", security(("bearer" = [])),
    responses((status = 200, description = "The caller's own records, every clinic, as one FHIR R4 Bundle (`collection`): locked encounters only, no psychology notes; audited as `lgpd.exported` (`format: fhir`) per record", content_type = "application/fhir+json")))]
pub async fn my_record_fhir(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    let bundle = fhir::my_record(&state, &auth).await?;
    Ok(fhir_download(&bundle, "meu-prontuario"))
}
