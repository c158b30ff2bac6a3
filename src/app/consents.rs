//! Consent to messages (LGPD), as the clinic's staff see and record it: a patient's choice
//! per channel with its time and source. A patient opts out themselves by replying
//! "PARAR"/"SAIR" on WhatsApp (`app::whatsapp`); the clinic records what the patient told it.
//! An opt-out stops reminders on that channel; messages the patient asked for (a password
//! reset) still go. Every change is audited.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::consents::Consent;

/// The channels a patient can opt in to or out of.
pub const CHANNELS: &[&str] = &["email", "whatsapp", "sms"];

/// A choice the clinic records for the patient.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetConsent {
    /// False: no more reminders by this channel.
    pub opted_in: bool,
}

async fn require_patient_of(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<(), AppError> {
    auth.require_staff(clinic)?;
    if !state
        .store
        .clinics_of_patient(patient)
        .await?
        .contains(&clinic)
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The patient's recorded choices (a channel not listed: reminders may go).
pub async fn patient_consents(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<Vec<Consent>, AppError> {
    require_patient_of(state, auth, clinic, patient).await?;
    Ok(state.store.consents(patient).await?)
}

/// Record the patient's choice about a channel, as told to the clinic (source `clinic`).
pub async fn set_patient_consent(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    channel: &str,
    body: SetConsent,
) -> Result<Vec<Consent>, AppError> {
    require_patient_of(state, auth, clinic, patient).await?;
    let Some(channel) = CHANNELS.iter().find(|c| **c == channel) else {
        return Err(ValidationError::new("unknown_channel", "canal desconhecido").into());
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_consent(
            &mut tx,
            patient,
            channel,
            body.opted_in,
            "clinic",
            state.clock.now(),
        )
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "patient.consent_changed", "patient")
                .entity_id(patient)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(
                    json!({"channel": channel, "opted_in": body.opted_in, "source": "clinic"}),
                ),
        )
        .await?;
    tx.commit().await?;
    Ok(state.store.consents(patient).await?)
}
