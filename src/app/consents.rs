//! Consent to messages (LGPD), as the clinic's staff see and record it: a patient's choice
//! per channel with its time and source. A patient opts out themselves by replying
//! "PARAR"/"SAIR" on WhatsApp (`app::whatsapp`); the clinic records what the patient told it.
//! An opt-out stops reminders on that channel; messages the patient asked for (a password
//! reset) still go. Every change is audited. Reminder e-mails carry a signed one-click
//! opt-out link (`List-Unsubscribe`, RFC 8058) to [`unsubscribe`].

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::security::links::LinkSigner;
use crate::store::consents::Consent;

/// The signed link's purpose: stop reminder e-mails to one patient record.
pub const EMAIL_OPTOUT_LINK: &str = "email-optout";

/// The path of a patient's one-click opt-out of reminder e-mails (no expiry: it works for
/// as long as the e-mail is kept).
pub fn email_optout_path(links: &LinkSigner, patient: PatientId) -> String {
    format!(
        "/api/public/unsubscribe/{}",
        links.sign(EMAIL_OPTOUT_LINK, patient.0, None)
    )
}

/// Follow an opt-out link: the patient record it names no longer gets reminder e-mails
/// (source `link`, audited). Using it again changes nothing more.
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<(), AppError> {
    let (id, _) = state
        .links
        .verify(EMAIL_OPTOUT_LINK, token, state.clock.now().timestamp())
        .map_err(|_| AppError::unauthorized("invalid_token", "link inválido"))?;
    let patient = PatientId(id);
    if state.store.opted_out(patient, "email").await? {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_consent(&mut tx, patient, "email", false, "link", state.clock.now())
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(None, "patient.consent_changed", "patient")
                .entity_id(patient)
                .details(json!({"channel": "email", "opted_in": false, "source": "link"})),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

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
