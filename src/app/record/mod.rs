//! The clinical record (prontuário), first slice: encounters written as drafts and locked
//! for good (signed by their author, or by time), addenda to locked encounters, the
//! allergy list, the problem list (CID-10), vital signs, medications in use (from the
//! prescriptions issued here), the timeline, and the patient's own summary; and the CID-10 search professionals use to code diagnoses.
//!
//! Who opens a record ([`open_record`]): professionals of the clinic with a care
//! relationship with the patient (an appointment, past or future, or an encounter they
//! wrote), or anyone of the clinic's professionals and admins who "broke the glass" with a
//! typed reason, for a limited time (audited). Receptionists never read clinical text.
//! Psychology notes are readable only by their author. Every read and write is audited.

pub mod allergies;
pub mod cid10;
pub mod encounters;
pub mod fhir;
pub mod medications;
pub mod problems;
pub mod timeline;
pub mod vitals;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::record::{EncounterContent, EncounterStatus, MIN_BREAK_GLASS_REASON};
use crate::domain::{ClinicId, PatientId, Role, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::record::{AccessGrantRow, AddendumRow, EncounterRow};

/// Who wrote an entry, with the council registration it carries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryAuthor {
    pub user_id: UserId,
    pub name: String,
    /// `CRM`, `CRO`, `CRP`, … (absent on an addendum by someone with no registration).
    pub council: Option<String>,
    pub council_number: Option<String>,
    pub council_uf: Option<String>,
}

/// An encounter as its readers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Encounter {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    /// The appointment it was started from, if any.
    pub appointment_id: Option<uuid::Uuid>,
    pub author: EntryAuthor,
    pub status: EncounterStatus,
    /// Save against this version; a stale one answers 409 `version_conflict`.
    pub version: i64,
    /// `signed` (by its author) or `auto` (`record.auto_lock_hours` after creation).
    pub lock_kind: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    pub locked_by: Option<UserId>,
    /// A psychology session note: only its author reads it.
    pub psychology: bool,
    pub content: EncounterContent,
    /// Corrections and complements, oldest first (only on a single encounter's read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addenda: Vec<Addendum>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A correction or complement to a locked encounter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Addendum {
    pub id: uuid::Uuid,
    pub encounter_id: uuid::Uuid,
    pub author: EntryAuthor,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why the record must be opened without a care relationship (at least 10 characters).
    pub reason: String,
}

/// A record opened by breaking the glass.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BreakGlass {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    /// Until when the caller reads the record.
    pub expires_at: DateTime<Utc>,
}

/// One break-the-glass opening, for the clinic's admins.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BreakGlassEntry {
    pub id: uuid::Uuid,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub user_id: UserId,
    pub user_name: String,
    /// The reason typed when the glass was broken.
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The clinic's break-the-glass openings, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BreakGlassLog {
    pub entries: Vec<BreakGlassEntry>,
}

/// A record the caller may read, and how they got in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opened {
    pub clinic: ClinicId,
    pub patient: PatientId,
    /// Through break the glass rather than a care relationship.
    pub glass: bool,
}

impl Opened {
    pub fn how(&self) -> &'static str {
        if self.glass { "break_glass" } else { "care" }
    }
}

/// Refuse a receptionist (or anyone not a professional or admin of the clinic).
fn require_clinical_role(auth: &Auth, clinic: ClinicId) -> Result<(), AppError> {
    if !auth.is_staff_of(clinic) {
        return Err(AppError::Forbidden);
    }
    if !auth.has_role(clinic, &[Role::Professional, Role::ClinicAdmin]) {
        return Err(AppError::forbidden(
            "no_clinical_access",
            "a recepção não tem acesso ao conteúdo clínico do prontuário",
        ));
    }
    Ok(())
}

/// The patient must be registered with the clinic (else 404: a record of another clinic
/// does not exist here).
async fn require_registered(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<(), AppError> {
    state
        .store
        .clinic_patient(clinic, patient)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// Whether the caller may open a record, asked before opening it (nothing clinical is read,
/// so it is not audited as a read): the page shows the record, or the break-the-glass form,
/// without a refused request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordAccess {
    /// `care` (a care relationship), `break_glass` (an open grant) or `none`.
    pub access: &'static str,
    /// Until when an open break-the-glass grant lasts.
    pub until: Option<DateTime<Utc>>,
    /// With `none`: what the page tells the professional.
    pub message: Option<&'static str>,
}

const NO_CARE_MESSAGE: &str = "você não tem relação de cuidado com este paciente; para abrir o prontuário, informe o motivo (quebra de sigilo)";

/// How the caller would open this record (refusals as [`open_record`], except that having
/// no way in is an answer, not an error).
pub async fn record_access(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<RecordAccess, AppError> {
    Ok(match way_in(state, auth, clinic, patient).await? {
        WayIn::Care => RecordAccess {
            access: "care",
            until: None,
            message: None,
        },
        WayIn::Glass(until) => RecordAccess {
            access: "break_glass",
            until: Some(until),
            message: None,
        },
        WayIn::None => RecordAccess {
            access: "none",
            until: None,
            message: Some(NO_CARE_MESSAGE),
        },
    })
}

/// How a clinical member of the clinic gets into a registered patient's record.
enum WayIn {
    /// A care relationship (an appointment, or an encounter they wrote).
    Care,
    /// An open break-the-glass grant, until then.
    Glass(DateTime<Utc>),
    None,
}

/// Refuse those who may never open the record here; else how the caller gets in.
async fn way_in(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<WayIn, AppError> {
    require_clinical_role(auth, clinic)?;
    require_registered(state, clinic, patient).await?;
    if auth.has_role(clinic, &[Role::Professional])
        && state
            .store
            .has_care_relationship(clinic, patient, auth.user_id)
            .await?
    {
        return Ok(WayIn::Care);
    }
    Ok(
        match state
            .store
            .access_grant_until(clinic, patient, auth.user_id, state.clock.now())
            .await?
        {
            Some(until) => WayIn::Glass(until),
            None => WayIn::None,
        },
    )
}

/// Open a patient's record in a clinic for the caller, or refuse: not of the clinic
/// (403 `forbidden`), a receptionist (403 `no_clinical_access`), no care relationship and
/// no open break-the-glass grant (403 `no_care_relationship`). Drafts due to lock by time
/// are locked first, so every reader sees the same state.
pub(crate) async fn open_record(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<Opened, AppError> {
    let glass = match way_in(state, auth, clinic, patient).await? {
        WayIn::Care => false,
        WayIn::Glass(_) => true,
        WayIn::None => {
            return Err(AppError::forbidden("no_care_relationship", NO_CARE_MESSAGE));
        }
    };
    lock_due_drafts(state, clinic, patient).await?;
    Ok(Opened {
        clinic,
        patient,
        glass,
    })
}

/// When a draft created at `created` locks by itself.
pub(crate) fn auto_lock_at(state: &AppState, created: DateTime<Utc>) -> DateTime<Utc> {
    created + Duration::hours(i64::from(state.settings.record.auto_lock_hours))
}

/// Lock the record's drafts older than `record.auto_lock_hours` (audited as
/// `encounter.auto_locked`, at the moment they became due).
pub(crate) async fn lock_due_drafts(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<(), AppError> {
    let cutoff =
        state.clock.now() - Duration::hours(i64::from(state.settings.record.auto_lock_hours));
    let due = state.store.due_drafts(clinic, patient, cutoff).await?;
    lock_drafts(state, clinic, patient, due).await
}

/// Lock `due` drafts by time, each at its own due moment, with an audit row each.
pub(crate) async fn lock_drafts(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
    due: Vec<(uuid::Uuid, DateTime<Utc>)>,
) -> Result<(), AppError> {
    if due.is_empty() {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    for (id, created) in due {
        let at = auto_lock_at(state, created);
        if state
            .store
            .lock_encounter(&mut tx, id, "auto", None, at)
            .await?
        {
            state
                .store
                .append_audit(
                    &mut tx,
                    &AuditEvent::new(None, "encounter.auto_locked", "encounter")
                        .entity_id(id)
                        .clinic(clinic)
                        .details(json!({"patient_id": patient, "locked_at": at})),
                )
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Whether the caller may read this encounter at all: psychology notes only by their
/// author.
pub(crate) fn readable(auth: &Auth, e: &EncounterRow) -> bool {
    !e.psychology || e.author_user_id == auth.user_id
}

/// An encounter row, decrypted.
pub(crate) fn encounter_view(
    state: &AppState,
    e: &EncounterRow,
    addenda: Vec<Addendum>,
) -> Result<Encounter, AppError> {
    let content: EncounterContent = serde_json::from_str(&state.cipher.decrypt(&e.content_enc)?)
        .map_err(|err| AppError::Unexpected(anyhow::anyhow!("encounter content: {err}")))?;
    Ok(Encounter {
        id: e.id,
        clinic_id: e.clinic_id,
        patient_id: e.patient_id,
        appointment_id: e.appointment_id,
        author: EntryAuthor {
            user_id: e.author_user_id,
            name: e.author_name.clone(),
            council: Some(e.council.clone()),
            council_number: Some(e.council_number.clone()),
            council_uf: Some(e.council_uf.clone()),
        },
        status: e.status,
        version: e.version,
        lock_kind: e.lock_kind.clone(),
        locked_at: e.locked_at,
        locked_by: e.locked_by,
        psychology: e.psychology,
        content,
        addenda,
        created_at: e.created_at,
        updated_at: e.updated_at,
    })
}

/// An addendum row, decrypted.
pub(crate) fn addendum_view(state: &AppState, a: &AddendumRow) -> Result<Addendum, AppError> {
    Ok(Addendum {
        id: a.id,
        encounter_id: a.encounter_id,
        author: EntryAuthor {
            user_id: a.author_user_id,
            name: a.author_name.clone(),
            council: a.council.clone(),
            council_number: a.council_number.clone(),
            council_uf: a.council_uf.clone(),
        },
        text: state.cipher.decrypt(&a.text_enc)?,
        created_at: a.created_at,
    })
}

/// Audit a read of the record by clinic staff (its own transaction: a read changes
/// nothing else).
pub(crate) async fn audit_read(
    state: &AppState,
    auth: &Auth,
    opened: Opened,
    what: &str,
    entity_id: Option<uuid::Uuid>,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    let event = AuditEvent::new(Some(auth.user_id), "record.read", "patient")
        .entity_id(opened.patient)
        .clinic(opened.clinic)
        .ip(auth.ip.clone())
        .details(json!({"what": what, "id": entity_id, "access": opened.how()}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Break the glass: a professional or admin of the clinic without a care relationship
/// opens the record for `record.break_glass_hours`, giving a reason (kept encrypted; the
/// opening is audited as `record.break_glass`, naming the grant).
pub async fn break_glass(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    body: BreakGlassRequest,
) -> Result<BreakGlass, AppError> {
    require_clinical_role(auth, clinic)?;
    require_registered(state, clinic, patient).await?;
    let reason = body.reason.trim();
    if reason.chars().count() < MIN_BREAK_GLASS_REASON {
        return Err(ValidationError::new(
            "reason_too_short",
            format!("descreva o motivo com pelo menos {MIN_BREAK_GLASS_REASON} caracteres"),
        )
        .into());
    }
    crate::domain::record::check_length("reason", reason)?;
    let now = state.clock.now();
    let grant = AccessGrantRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        user_id: auth.user_id,
        reason_enc: state.cipher.encrypt(reason)?,
        granted_at: now,
        expires_at: now + Duration::hours(i64::from(state.settings.record.break_glass_hours)),
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_access_grant(&mut tx, &grant).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "record.break_glass", "patient")
                .entity_id(patient)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"grant_id": grant.id, "expires_at": grant.expires_at})),
        )
        .await?;
    tx.commit().await?;
    Ok(BreakGlass {
        clinic_id: clinic,
        patient_id: patient,
        expires_at: grant.expires_at,
    })
}

/// The clinic's last 200 break-the-glass openings with their reasons, for its admins to
/// review (audited as `record.break_glass_list`).
pub async fn break_glass_log(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<BreakGlassLog, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let entries = state
        .store
        .access_grants_of_clinic(clinic, 200)
        .await?
        .into_iter()
        .map(|g| {
            Ok(BreakGlassEntry {
                reason: state.cipher.decrypt(&g.reason_enc)?,
                id: g.id,
                patient_id: g.patient_id,
                patient_name: g.patient_name,
                user_id: g.user_id,
                user_name: g.user_name,
                granted_at: g.granted_at,
                expires_at: g.expires_at,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "record.break_glass_list", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"entries": entries.len()})),
        )
        .await?;
    tx.commit().await?;
    Ok(BreakGlassLog { entries })
}
