//! Warnings a prescriber sees before signing: a medicine of the prescription that matches
//! an active allergy of the patient in the clinic's record (word by word, without case or
//! accents: [`allergy_matches`]). A warning does not block: the clinician decides (the
//! patient may have tolerated it since, or the benefit may outweigh the risk); the issue
//! goes through, its answer repeats the warnings and its audit row counts them.
//!
//! The prescriber reads the allergies that match (substance, reaction, severity) even
//! without a care relationship with the patient: the clinic lets them prescribe for this
//! patient, and not knowing of the allergy is the greater harm. The check is audited as a
//! read of the record (`record.read`, `what: prescription_check`).

use serde::Serialize;
use serde_json::json;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::document::DocumentContent;
use crate::domain::record::{AllergyStatus, Severity, allergy_matches};
use crate::domain::{ClinicId, PatientId};
use crate::security::audit::AuditEvent;

/// Something the prescriber should see before signing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrescriptionWarning {
    /// `allergy`.
    pub code: &'static str,
    /// The medicine of the prescription, as written.
    pub medication: String,
    /// The allergy's substance, reaction and severity as recorded.
    pub substance: String,
    pub reaction: String,
    pub severity: Severity,
}

/// The warnings of a checked document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Warnings {
    pub warnings: Vec<PrescriptionWarning>,
}

/// The medicines of a prescription (of either kind), as written.
fn medicines(content: &DocumentContent) -> Vec<&str> {
    match content {
        DocumentContent::Prescription { medications, .. }
        | DocumentContent::SpecialPrescription { medications, .. } => {
            medications.iter().map(|m| m.name.as_str()).collect()
        }
        _ => Vec::new(),
    }
}

/// The allergy warnings of `content` for the patient in the clinic (none for documents
/// without medicines; those never read the record).
pub(crate) async fn allergy_warnings(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
    content: &DocumentContent,
) -> Result<Vec<PrescriptionWarning>, AppError> {
    let medicines = medicines(content);
    if medicines.is_empty() {
        return Ok(Vec::new());
    }
    let mut warnings = Vec::new();
    for a in state
        .store
        .allergies_of_record(clinic, patient)
        .await?
        .iter()
        .filter(|a| a.status == AllergyStatus::Active)
    {
        let substance = state.cipher.decrypt(&a.substance_enc)?;
        for m in medicines.iter().filter(|m| allergy_matches(&substance, m)) {
            warnings.push(PrescriptionWarning {
                code: "allergy",
                medication: (*m).to_string(),
                substance: substance.clone(),
                reaction: state.cipher.decrypt(&a.reaction_enc)?,
                severity: a.severity,
            });
        }
    }
    Ok(warnings)
}

/// Audit that a prescription check read the patient's allergies.
pub(crate) async fn audit_check(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    found: usize,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    let event = AuditEvent::new(Some(auth.user_id), "record.read", "patient")
        .entity_id(patient)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(json!({"what": "prescription_check", "warnings": found}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}
