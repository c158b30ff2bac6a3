//! Encounters: a professional starts one (from an appointment or not), saves the draft
//! against its version (a stale version is 409 `version_conflict`, so two tabs never
//! overwrite each other), signs it (locked for good: 409 `encounter_locked` afterwards),
//! and corrects a locked one with addenda. Each write and read is audited.

use serde::Deserialize;
use serde_json::json;

use super::{
    Addendum, Encounter, Opened, addendum_view, audit_read, encounter_view, open_record, readable,
};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::record::{EncounterContent, EncounterStatus, required_text};
use crate::domain::{ClinicId, PatientId, Profession, Role, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::record::{AddendumRow, EncounterRow};
use crate::store::users::ProfessionalRow;

/// Longest addendum (characters).
const MAX_ADDENDUM_CHARS: usize = 20_000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEncounter {
    /// The appointment this encounter is started from: the caller's, with this patient,
    /// in this clinic.
    #[serde(default)]
    pub appointment_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub content: EncounterContent,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveEncounter {
    /// The version the caller last read.
    pub version: i64,
    pub content: EncounterContent,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddendum {
    pub text: String,
}

/// The caller as a professional of `clinic`, with their registration.
async fn professional(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<ProfessionalRow, AppError> {
    if !auth.has_role(clinic, &[Role::Professional]) {
        return Err(AppError::forbidden(
            "not_a_professional",
            "somente profissionais escrevem no prontuário",
        ));
    }
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or_else(|| {
            AppError::forbidden(
                "not_a_professional",
                "somente profissionais escrevem no prontuário",
            )
        })
}

/// An encounter of the opened record the caller may read (else 404: a psychology note of
/// someone else does not exist for them).
async fn readable_encounter(
    state: &AppState,
    auth: &Auth,
    opened: Opened,
    id: uuid::Uuid,
) -> Result<EncounterRow, AppError> {
    state
        .store
        .encounter(opened.clinic, opened.patient, id)
        .await?
        .filter(|e| readable(auth, e))
        .ok_or(AppError::NotFound)
}

fn locked() -> AppError {
    AppError::conflict(
        "encounter_locked",
        "atendimento assinado e bloqueado: não pode mais ser alterado; registre um adendo",
    )
}

/// Start an encounter (a draft at version 1), audited as `encounter.created`.
pub async fn create_encounter(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    mut body: NewEncounter,
) -> Result<Encounter, AppError> {
    let pro = professional(state, auth, clinic).await?;
    let opened = open_record(state, auth, clinic, patient).await?;
    body.content.validate()?;
    if let Some(appointment) = body.appointment_id {
        let ok = state
            .store
            .appointment_view(appointment)
            .await?
            .is_some_and(|v| {
                v.a.clinic_id == clinic
                    && v.a.patient_id == patient
                    && v.a.professional_user_id == auth.user_id
            });
        if !ok {
            return Err(ValidationError::new(
                "invalid_appointment",
                "a consulta não é sua com este paciente nesta clínica",
            )
            .into());
        }
    }
    let now = state.clock.now();
    let row = EncounterRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        professional_id: pro.id,
        author_user_id: auth.user_id,
        appointment_id: body.appointment_id,
        psychology: pro.profession == Profession::Psychologist.as_str(),
        council: pro.council.clone(),
        council_number: pro.council_number.clone(),
        council_uf: pro.council_uf.clone(),
        content_enc: encrypt_content(state, &body.content)?,
        version: 1,
        status: EncounterStatus::Draft,
        lock_kind: None,
        locked_at: None,
        locked_by: None,
        created_at: now,
        updated_at: now,
        author_name: auth.full_name.clone(),
        clinic_name: String::new(),
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_encounter(&mut tx, &row).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "encounter.created", "encounter")
                .entity_id(row.id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(
                    json!({"patient_id": patient, "appointment_id": body.appointment_id,
                    "access": opened.how()}),
                ),
        )
        .await?;
    tx.commit().await?;
    let mut view = encounter_view(state, &row, Vec::new())?;
    view.content = body.content;
    Ok(view)
}

fn encrypt_content(state: &AppState, content: &EncounterContent) -> Result<String, AppError> {
    let json = serde_json::to_string(content)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("encounter content: {e}")))?;
    Ok(state.cipher.encrypt(&json)?)
}

/// One encounter with its addenda (audited as `record.read`).
pub async fn get_encounter(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    id: uuid::Uuid,
) -> Result<Encounter, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let row = readable_encounter(state, auth, opened, id).await?;
    let addenda = state
        .store
        .addenda_of_encounter(id)
        .await?
        .iter()
        .map(|a| addendum_view(state, a))
        .collect::<Result<Vec<_>, _>>()?;
    audit_read(state, auth, opened, "encounter", Some(id)).await?;
    encounter_view(state, &row, addenda)
}

/// Save a draft against the version the caller read: 409 `version_conflict` (with the
/// current version) when someone saved since, 409 `encounter_locked` once locked. Only
/// its author edits it. Audited as `encounter.saved`.
pub async fn save_encounter(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    id: uuid::Uuid,
    mut body: SaveEncounter,
) -> Result<Encounter, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let row = readable_encounter(state, auth, opened, id).await?;
    if row.status == EncounterStatus::Locked {
        return Err(locked());
    }
    if row.author_user_id != auth.user_id {
        return Err(AppError::forbidden(
            "not_author",
            "somente o autor edita o rascunho do atendimento",
        ));
    }
    body.content.validate()?;
    let enc = encrypt_content(state, &body.content)?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let Some(version) = state
        .store
        .save_encounter_draft(&mut tx, id, body.version, &enc, now)
        .await?
    else {
        return Err(match state.store.encounter_state_tx(&mut tx, id).await? {
            Some((EncounterStatus::Locked, _)) => locked(),
            Some((_, current_version)) => AppError::VersionConflict { current_version },
            None => AppError::NotFound,
        });
    };
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "encounter.saved", "encounter")
                .entity_id(id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"patient_id": patient, "version": version})),
        )
        .await?;
    tx.commit().await?;
    let mut view = encounter_view(state, &row, Vec::new())?;
    view.content = body.content;
    view.version = version;
    view.updated_at = now;
    Ok(view)
}

/// Sign and lock an encounter (its author; audited as `encounter.signed`). An ICP-Brasil
/// signature of the entry is a later slice: today the lock records who and when.
pub async fn sign_encounter(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    id: uuid::Uuid,
) -> Result<Encounter, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let row = readable_encounter(state, auth, opened, id).await?;
    if row.status == EncounterStatus::Locked {
        return Err(locked());
    }
    if row.author_user_id != auth.user_id {
        return Err(AppError::forbidden(
            "not_author",
            "somente o autor assina o atendimento",
        ));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !state
        .store
        .lock_encounter(&mut tx, id, "signed", Some(auth.user_id), now)
        .await?
    {
        return Err(locked());
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "encounter.signed", "encounter")
                .entity_id(id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"patient_id": patient, "version": row.version})),
        )
        .await?;
    tx.commit().await?;
    let mut view = encounter_view(state, &row, Vec::new())?;
    view.status = EncounterStatus::Locked;
    view.lock_kind = Some("signed".into());
    view.locked_at = Some(now);
    view.locked_by = Some(auth.user_id);
    view.updated_at = now;
    Ok(view)
}

/// Add an addendum to a locked encounter (a professional who opens the record; a draft is
/// still edited instead: 409 `encounter_not_locked`). Audited as `encounter.addendum`.
pub async fn add_addendum(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    id: uuid::Uuid,
    body: NewAddendum,
) -> Result<Addendum, AppError> {
    let pro = professional(state, auth, clinic).await?;
    let opened = open_record(state, auth, clinic, patient).await?;
    let row = readable_encounter(state, auth, opened, id).await?;
    if row.status != EncounterStatus::Locked {
        return Err(AppError::conflict(
            "encounter_not_locked",
            "o atendimento ainda é um rascunho: edite-o em vez de registrar um adendo",
        ));
    }
    let text = required_text("text", &body.text, MAX_ADDENDUM_CHARS)?;
    let addendum = AddendumRow {
        id: uuid::Uuid::now_v7(),
        encounter_id: id,
        clinic_id: clinic,
        patient_id: patient,
        author_user_id: auth.user_id,
        council: Some(pro.council),
        council_number: Some(pro.council_number),
        council_uf: Some(pro.council_uf),
        text_enc: state.cipher.encrypt(&text)?,
        created_at: state.clock.now(),
        author_name: auth.full_name.clone(),
        encounter_psychology: row.psychology,
        encounter_author: Some(row.author_user_id),
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_addendum(&mut tx, &addendum).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "encounter.addendum", "encounter")
                .entity_id(id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"patient_id": patient, "addendum_id": addendum.id,
                    "access": opened.how()})),
        )
        .await?;
    tx.commit().await?;
    let mut view = addendum_view(state, &addendum)?;
    view.text = text;
    Ok(view)
}
