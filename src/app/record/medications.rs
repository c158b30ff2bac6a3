//! Medications in use: the medicines of the prescriptions issued for the patient in atende
//! (by this clinic; revoked and failed prescriptions left out), each active until a
//! professional marks it stopped, with a reason (encrypted). A stop is final: to resume, a
//! new prescription is written. Audited as `record.read` and `medication.stopped`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::allergies::require_professional;
use super::{audit_read, open_record};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::document::{DocumentContent, Medication};
use crate::domain::record::required_text;
use crate::domain::{ClinicId, PatientId, UserId};
use crate::security::audit::AuditEvent;
use crate::store::StoreError;
use crate::store::record_lists::{MedicationStopRow, PrescriptionRow};

/// Prescriptions read at most (the newest).
const MAX_PRESCRIPTIONS: i64 = 200;
/// Longest reason for a stop (characters).
const MAX_REASON_CHARS: usize = 500;

/// One medicine of a prescription, in use or stopped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MedicationInUse {
    /// The prescription (a document) and the medicine's position in it (0-based).
    pub document_id: uuid::Uuid,
    pub item: usize,
    pub name: String,
    pub concentration: String,
    pub form: String,
    pub quantity: String,
    pub instructions: String,
    pub prescribed_at: DateTime<Utc>,
    pub prescribed_by_name: String,
    /// `active` or `stopped`.
    pub status: &'static str,
    pub stopped_at: Option<DateTime<Utc>>,
    pub stopped_by: Option<UserId>,
    pub stopped_by_name: Option<String>,
    pub stop_reason: Option<String>,
}

/// The record's medications: in use first, then stopped; each group newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MedicationList {
    pub medications: Vec<MedicationInUse>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopMedication {
    pub document_id: uuid::Uuid,
    pub item: usize,
    /// Why it was stopped (required).
    pub reason: String,
}

/// The medicines of a prescription, decrypted.
fn medicines(state: &AppState, p: &PrescriptionRow) -> Result<Vec<Medication>, AppError> {
    let content: DocumentContent = serde_json::from_str(&state.cipher.decrypt(&p.content_enc)?)
        .map_err(|err| AppError::Unexpected(anyhow::anyhow!("prescription content: {err}")))?;
    Ok(match content {
        DocumentContent::Prescription { medications, .. }
        | DocumentContent::SpecialPrescription { medications, .. } => medications,
        _ => Vec::new(),
    })
}

/// The record's medications (audited as `record.read`).
pub async fn list_medications(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<MedicationList, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let medications = medications_of(state, clinic, patient).await?;
    audit_read(state, auth, opened, "medications", None).await?;
    Ok(MedicationList { medications })
}

/// The record's medicines, in use first, then stopped (no access check, no audit: the
/// caller opened the record).
pub(crate) async fn medications_of(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<Vec<MedicationInUse>, AppError> {
    let stops = state
        .store
        .medication_stops_of_record(clinic, patient)
        .await?;
    let mut medications = Vec::new();
    for p in state
        .store
        .prescriptions_of_record(clinic, patient, MAX_PRESCRIPTIONS)
        .await?
    {
        for (item, m) in medicines(state, &p)?.into_iter().enumerate() {
            let stop = stops
                .iter()
                .find(|s| s.document_id == p.id && usize::try_from(s.item) == Ok(item));
            medications.push(MedicationInUse {
                document_id: p.id,
                item,
                name: m.name,
                concentration: m.concentration,
                form: m.form,
                quantity: m.quantity,
                instructions: m.instructions,
                prescribed_at: p.created_at,
                prescribed_by_name: p.professional_name.clone(),
                status: if stop.is_some() { "stopped" } else { "active" },
                stopped_at: stop.map(|s| s.stopped_at),
                stopped_by: stop.map(|s| s.stopped_by),
                stopped_by_name: stop.map(|s| s.stopped_by_name.clone()),
                stop_reason: stop
                    .map(|s| state.cipher.decrypt(&s.reason_enc))
                    .transpose()?,
            });
        }
    }
    medications.sort_by_key(|m| m.status == "stopped");
    Ok(medications)
}

/// Mark a medicine of one of the record's prescriptions stopped (404 for a prescription or
/// item not of this record, 409 `medication_already_stopped`; audited as
/// `medication.stopped`).
pub async fn stop_medication(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    body: StopMedication,
) -> Result<MedicationList, AppError> {
    require_professional(auth, clinic)?;
    let opened = open_record(state, auth, clinic, patient).await?;
    let reason = required_text("reason", &body.reason, MAX_REASON_CHARS)?;
    let prescription = state
        .store
        .prescriptions_of_record(clinic, patient, MAX_PRESCRIPTIONS)
        .await?
        .into_iter()
        .find(|p| p.id == body.document_id)
        .ok_or(AppError::NotFound)?;
    if body.item >= medicines(state, &prescription)?.len() {
        return Err(AppError::NotFound);
    }
    let item = i32::try_from(body.item).map_err(|_| AppError::NotFound)?;
    let already = || {
        AppError::conflict(
            "medication_already_stopped",
            "este medicamento já foi suspenso",
        )
    };
    let row = MedicationStopRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        document_id: body.document_id,
        item,
        reason_enc: state.cipher.encrypt(&reason)?,
        stopped_by: auth.user_id,
        stopped_at: state.clock.now(),
        stopped_by_name: auth.full_name.clone(),
    };
    let mut tx = state.store.begin().await?;
    match state.store.insert_medication_stop(&mut tx, &row).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(already()),
        Err(e) => return Err(e.into()),
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "medication.stopped", "document")
                .entity_id(body.document_id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"patient_id": patient, "item": body.item,
                    "access": opened.how()})),
        )
        .await?;
    tx.commit().await?;
    list_medications(state, auth, clinic, patient).await
}
