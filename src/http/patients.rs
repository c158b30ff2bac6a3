//! Patients: registered by clinic staff or signed up by themselves. Identity data is one
//! record per person; each clinic keeps its own encrypted clinical text. Every staff read
//! or change goes to the audit log. A patient sees only their own record.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::{
    BirthDate, ClinicId, Cpf, Email, PatientId, PersonName, Phone, Role, ValidationError,
};
use crate::security::audit::AuditEvent;
use crate::store::patients::{ClinicPatientRow, PatientRow};
use crate::store::{self, StoreError};

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
    .route("/patients/{patient_id}", web::get().to(get_patient));
}

/// Identity data of a patient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatientIdentityView {
    pub id: PatientId,
    pub full_name: String,
    /// Nome social: shown instead of the civil name wherever present.
    pub social_name: Option<String>,
    /// Formatted, e.g. `529.982.247-25`.
    pub cpf: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub has_account: bool,
    pub created_at: DateTime<Utc>,
}

impl From<PatientRow> for PatientIdentityView {
    fn from(p: PatientRow) -> Self {
        Self {
            id: p.id,
            full_name: p.full_name,
            social_name: p.social_name,
            cpf: Cpf::from_stored(p.cpf).to_string(),
            birth_date: p.birth_date,
            phone: p.phone,
            email: p.email,
            has_account: p.user_id.is_some(),
            created_at: p.created_at,
        }
    }
}

/// A patient as one clinic sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientView {
    #[serde(flatten)]
    pub identity: PatientIdentityView,
    /// Allergies recorded by this clinic (visible to all its staff).
    pub allergies: Option<String>,
    /// Clinical notes of this clinic: only professionals see and write them; null for other roles.
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatientRequest {
    pub full_name: String,
    #[serde(default)]
    pub social_name: Option<String>,
    pub cpf: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub allergies: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Fields to change; absent fields stay as they are, `""` clears a field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatientRequest {
    #[serde(default)]
    pub social_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub allergies: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PatientSearch {
    /// Part of the name, social name or CPF.
    #[serde(default)]
    pub q: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ClinicPatientPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
}

const MAX_CLINICAL_TEXT: usize = 10_000;

fn clinical_text(v: Option<&str>) -> Result<Option<String>, ValidationError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() <= MAX_CLINICAL_TEXT => Ok(Some(s.to_string())),
        Some(_) => Err(ValidationError::new(
            "text_too_long",
            format!("texto longo demais (máximo {MAX_CLINICAL_TEXT} caracteres)"),
        )),
    }
}

fn opt_nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn view(
    state: &AppState,
    row: ClinicPatientRow,
    sees_notes: bool,
) -> Result<PatientView, AppError> {
    Ok(PatientView {
        allergies: state.cipher.decrypt_opt(row.allergies_enc.as_deref())?,
        notes: if sees_notes {
            state.cipher.decrypt_opt(row.notes_enc.as_deref())?
        } else {
            None
        },
        identity: row.patient.into(),
    })
}

/// Register a patient with a clinic (linking the existing record when the CPF is known).
pub async fn create_patient(
    state: &AppState,
    auth: Option<&Auth>,
    clinic: ClinicId,
    req: &NewPatientRequest,
) -> Result<PatientView, AppError> {
    let full_name = PersonName::parse(&req.full_name)?;
    let social_name = opt_nonempty(req.social_name.as_deref())
        .map(PersonName::parse)
        .transpose()?;
    let cpf = Cpf::parse(&req.cpf)?;
    let birth = BirthDate::parse(&req.birth_date, Utc::now().date_naive())?;
    let phone = opt_nonempty(req.phone.as_deref())
        .map(Phone::parse)
        .transpose()?;
    let email = opt_nonempty(req.email.as_deref())
        .map(Email::parse)
        .transpose()?;
    let allergies = clinical_text(req.allergies.as_deref())?;
    let notes = clinical_text(req.notes.as_deref())?;
    if notes.is_some() && auth.is_some_and(|a| !a.has_role(clinic, &[Role::Professional])) {
        // Clinical notes are written by professionals only (allergies by any staff).
        return Err(AppError::Forbidden);
    }
    let allergies_enc = state.cipher.encrypt_opt(allergies.as_deref())?;
    let notes_enc = state.cipher.encrypt_opt(notes.as_deref())?;
    let now = store::now();

    let mut tx = state.store.begin().await?;
    let existing = state.store.patient_by_cpf_tx(&mut tx, cpf.digits()).await?;
    let patient = match existing {
        Some(p) if p.birth_date != birth.date() => {
            return Err(AppError::conflict(
                "cpf_taken",
                "este CPF já está cadastrado com outra data de nascimento",
            ));
        }
        Some(p) => p,
        None => {
            let p = PatientRow {
                id: PatientId::new(),
                user_id: None,
                full_name: full_name.into_inner(),
                social_name: social_name.map(PersonName::into_inner),
                cpf: cpf.digits().to_string(),
                birth_date: birth.date(),
                phone: phone.map(Phone::into_inner),
                email: email.map(Email::into_inner),
                created_at: now,
                updated_at: now,
            };
            state
                .store
                .insert_patient(&mut tx, &p)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        AppError::conflict("cpf_taken", "este CPF já está cadastrado")
                    }
                    other => other.into(),
                })?;
            p
        }
    };
    let linked = state
        .store
        .link_patient_to_clinic(
            &mut tx,
            clinic,
            patient.id,
            allergies_enc.as_deref(),
            notes_enc.as_deref(),
        )
        .await?;
    if !linked {
        return Err(AppError::conflict(
            "patient_already_registered",
            "este paciente já está cadastrado nesta clínica",
        ));
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(auth.map(|a| a.user_id), "patient.registered", "patient")
                .entity_id(patient.id)
                .clinic(clinic)
                .ip(auth.and_then(|a| a.ip.clone())),
        )
        .await?;
    tx.commit().await?;
    let sees_notes = auth.is_none_or(|a| a.has_role(clinic, &[Role::Professional]));
    Ok(PatientView {
        identity: patient.into(),
        allergies,
        notes: if sees_notes { notes } else { None },
    })
}

async fn audit_read(
    state: &AppState,
    auth: &Auth,
    action: &'static str,
    clinic: ClinicId,
    entity_id: Option<PatientId>,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let mut ev = AuditEvent::new(Some(auth.user_id), action, "patient")
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(details);
    if let Some(id) = entity_id {
        ev = ev.entity_id(id);
    }
    state.store.record_audit(&ev).await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), PatientSearch),
    responses((status = 200, description = "Up to 100 matching patients, identity only (clinical text is not listed)", body = [PatientView]),
              (status = 403, body = ErrorBody)))]
pub async fn list_patients(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<PatientSearch>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let q = query.q.as_deref().unwrap_or("").trim();
    if q.chars().count() > 100 {
        return Err(ValidationError::new("invalid_query", "busca longa demais").into());
    }
    let rows = state.store.search_clinic_patients(clinic, q, 100).await?;
    audit_read(
        &state,
        &auth,
        "patient.list",
        clinic,
        None,
        serde_json::json!({"q": q, "results": rows.len()}),
    )
    .await?;
    let list: Vec<PatientView> = rows
        .into_iter()
        .map(|r| PatientView {
            identity: r.patient.into(),
            allergies: None,
            notes: None,
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/patients", tag = "patients", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = NewPatientRequest,
    responses((status = 201, body = PatientView),
              (status = 409, description = "`patient_already_registered`, `cpf_taken`", body = ErrorBody),
              (status = 422, description = "`invalid_cpf`, `invalid_birth_date`, `invalid_phone`, …", body = ErrorBody)))]
pub async fn create_patient_handler(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<NewPatientRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let view = create_patient(&state, Some(&auth), clinic, &body).await?;
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
    auth.require_staff(clinic_id)?;
    let row = state
        .store
        .clinic_patient(clinic_id, patient_id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit_read(
        &state,
        &auth,
        "patient.read",
        clinic_id,
        Some(patient_id),
        serde_json::json!({}),
    )
    .await?;
    let sees_notes = auth.has_role(clinic_id, &[Role::Professional]);
    Ok(HttpResponse::Ok().json(view(&state, row, sees_notes)?))
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
    auth.require_staff(clinic_id)?;
    let is_professional = auth.has_role(clinic_id, &[Role::Professional]);
    if body.notes.is_some() && !is_professional {
        return Err(AppError::Forbidden);
    }
    let mut row = state
        .store
        .clinic_patient(clinic_id, patient_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(s) = &body.social_name {
        row.patient.social_name = opt_nonempty(Some(s))
            .map(PersonName::parse)
            .transpose()?
            .map(PersonName::into_inner);
        changed.push("social_name");
    }
    if let Some(p) = &body.phone {
        row.patient.phone = opt_nonempty(Some(p))
            .map(Phone::parse)
            .transpose()?
            .map(Phone::into_inner);
        changed.push("phone");
    }
    if let Some(e) = &body.email {
        row.patient.email = opt_nonempty(Some(e))
            .map(Email::parse)
            .transpose()?
            .map(Email::into_inner);
        changed.push("email");
    }
    if let Some(a) = &body.allergies {
        row.allergies_enc = state
            .cipher
            .encrypt_opt(clinical_text(Some(a))?.as_deref())?;
        changed.push("allergies");
    }
    if let Some(n) = &body.notes {
        row.notes_enc = state
            .cipher
            .encrypt_opt(clinical_text(Some(n))?.as_deref())?;
        changed.push("notes");
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .update_clinic_patient(&mut tx, &row, clinic_id)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "patient.updated", "patient")
                .entity_id(patient_id)
                .clinic(clinic_id)
                .ip(auth.ip.clone())
                .details(serde_json::json!({"fields": changed})),
        )
        .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(view(&state, row, is_professional)?))
}

#[utoipa::path(get, path = "/api/patients/me", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = PatientIdentityView), (status = 404, description = "The caller is not a patient", body = ErrorBody)))]
pub async fn my_record(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let row = state
        .store
        .patient_by_user(auth.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(PatientIdentityView::from(row)))
}

#[utoipa::path(get, path = "/api/patients/{patient_id}", tag = "patients", security(("bearer" = [])),
    params(("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient themself, or staff of a clinic they are registered with", body = PatientIdentityView),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<PatientId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    if auth.patient_id == Some(id) {
        let row = state
            .store
            .patient_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(HttpResponse::Ok().json(PatientIdentityView::from(row)));
    }
    let clinics = state.store.clinics_of_patient(id).await?;
    let Some(clinic) = clinics.into_iter().find(|c| auth.is_staff_of(*c)) else {
        return Err(AppError::Forbidden);
    };
    let row = state
        .store
        .patient_by_id(id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit_read(
        &state,
        &auth,
        "patient.read",
        clinic,
        Some(id),
        serde_json::json!({"view": "identity"}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(PatientIdentityView::from(row)))
}
