//! The patient record's allergies and intolerances: listed by those who open the record,
//! added and (in)activated by its professionals. Substance and reaction are encrypted at
//! rest. Audited as `record.read`, `allergy.added`, `allergy.updated`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{audit_read, open_record};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::record::{AllergyStatus, Severity, required_text};
use crate::domain::{ClinicId, PatientId, Role, UserId};
use crate::security::audit::AuditEvent;
use crate::store::record::AllergyRow;

/// Longest substance or reaction (characters).
const MAX_ALLERGY_CHARS: usize = 500;

/// An allergy or intolerance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Allergy {
    pub id: uuid::Uuid,
    pub substance: String,
    pub reaction: String,
    pub severity: Severity,
    pub status: AllergyStatus,
    pub recorded_by: UserId,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A record's allergies, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllergyList {
    pub allergies: Vec<Allergy>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAllergy {
    /// What the patient reacts to (a drug, a food, latex…).
    pub substance: String,
    /// How they react (may be empty when unknown).
    #[serde(default)]
    pub reaction: String,
    pub severity: Severity,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAllergy {
    pub status: AllergyStatus,
}

pub(crate) fn view(state: &AppState, a: &AllergyRow) -> Result<Allergy, AppError> {
    Ok(Allergy {
        id: a.id,
        substance: state.cipher.decrypt(&a.substance_enc)?,
        reaction: state.cipher.decrypt(&a.reaction_enc)?,
        severity: a.severity,
        status: a.status,
        recorded_by: a.recorded_by,
        recorded_by_name: a.recorded_by_name.clone(),
        recorded_at: a.created_at,
        updated_at: a.updated_at,
    })
}

/// Refuse anyone but a professional of the clinic (403 `not_a_professional`).
pub(crate) fn require_professional(auth: &Auth, clinic: ClinicId) -> Result<(), AppError> {
    if auth.has_role(clinic, &[Role::Professional]) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "not_a_professional",
            "somente profissionais escrevem no prontuário",
        ))
    }
}

/// The record's allergies (audited as `record.read`).
pub async fn list_allergies(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<AllergyList, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let allergies = state
        .store
        .allergies_of_record(clinic, patient)
        .await?
        .iter()
        .map(|a| view(state, a))
        .collect::<Result<Vec<_>, _>>()?;
    audit_read(state, auth, opened, "allergies", None).await?;
    Ok(AllergyList { allergies })
}

/// Record an allergy, active (audited as `allergy.added`).
pub async fn add_allergy(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    body: NewAllergy,
) -> Result<Allergy, AppError> {
    require_professional(auth, clinic)?;
    let opened = open_record(state, auth, clinic, patient).await?;
    let substance = required_text("substance", &body.substance, MAX_ALLERGY_CHARS)?;
    let reaction = body.reaction.trim().to_string();
    crate::domain::record::check_length("reaction", &reaction)?;
    if reaction.chars().count() > MAX_ALLERGY_CHARS {
        return Err(crate::domain::ValidationError::new(
            "text_too_long",
            format!("reaction: no máximo {MAX_ALLERGY_CHARS} caracteres"),
        )
        .into());
    }
    let now = state.clock.now();
    let row = AllergyRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        substance_enc: state.cipher.encrypt(&substance)?,
        reaction_enc: state.cipher.encrypt(&reaction)?,
        severity: body.severity,
        status: AllergyStatus::Active,
        recorded_by: auth.user_id,
        created_at: now,
        updated_by: auth.user_id,
        updated_at: now,
        recorded_by_name: auth.full_name.clone(),
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_allergy(&mut tx, &row).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "allergy.added", "allergy")
                .entity_id(row.id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(
                    json!({"patient_id": patient, "severity": row.severity.as_str(),
                    "access": opened.how()}),
                ),
        )
        .await?;
    tx.commit().await?;
    view(state, &row)
}

/// Mark an allergy active or inactive (audited as `allergy.updated`).
pub async fn update_allergy(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    id: uuid::Uuid,
    body: UpdateAllergy,
) -> Result<Allergy, AppError> {
    require_professional(auth, clinic)?;
    let opened = open_record(state, auth, clinic, patient).await?;
    let mut row = state
        .store
        .allergy(clinic, patient, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_allergy_status(&mut tx, id, body.status, auth.user_id, now)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "allergy.updated", "allergy")
                .entity_id(id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(
                    json!({"patient_id": patient, "status": body.status.as_str(),
                    "access": opened.how()}),
                ),
        )
        .await?;
    tx.commit().await?;
    row.status = body.status;
    row.updated_by = auth.user_id;
    row.updated_at = now;
    view(state, &row)
}
