//! The record's problem list: problems and diagnoses kept across encounters, coded in
//! CID-10 (checked against the bundled table), active or resolved, with an onset date and
//! notes. Listed by those who open the record, added and resolved (or reactivated) by its
//! professionals. The code and notes are encrypted at rest. Audited as `record.read`,
//! `problem.added`, `problem.updated`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::allergies::require_professional;
use super::{audit_read, open_record};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::record::{Cid10, ProblemStatus, check_length};
use crate::domain::{ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::record_lists::ProblemRow;

/// A problem of the record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub id: uuid::Uuid,
    #[schema(value_type = String, example = "E11.9")]
    pub code: Cid10,
    /// The code's description in the CID-10 table.
    pub description: String,
    pub status: ProblemStatus,
    pub onset_date: Option<NaiveDate>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub notes: String,
    pub recorded_by: UserId,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A record's problems: the active ones first, each group oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemList {
    pub problems: Vec<Problem>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProblem {
    /// A CID-10 code of the table (`E11.9`, `e119`, `I10`).
    #[schema(value_type = String, example = "E11.9")]
    pub code: Cid10,
    /// When it began, if known (not in the future).
    #[serde(default)]
    pub onset_date: Option<NaiveDate>,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProblem {
    /// `resolved`, or `active` again.
    pub status: ProblemStatus,
}

pub(crate) fn view(state: &AppState, p: &ProblemRow) -> Result<Problem, AppError> {
    let code = Cid10::parse(&state.cipher.decrypt(&p.code_enc)?)?;
    Ok(Problem {
        id: p.id,
        description: code.known().unwrap_or_default().to_string(),
        code,
        status: p.status,
        onset_date: p.onset_date,
        resolved_at: p.resolved_at,
        notes: state.cipher.decrypt(&p.notes_enc)?,
        recorded_by: p.recorded_by,
        recorded_by_name: p.recorded_by_name.clone(),
        recorded_at: p.created_at,
        updated_at: p.updated_at,
    })
}

/// The record's problems (audited as `record.read`).
pub async fn list_problems(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<ProblemList, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let mut problems = state
        .store
        .problems_of_record(clinic, patient)
        .await?
        .iter()
        .map(|p| view(state, p))
        .collect::<Result<Vec<_>, _>>()?;
    problems.sort_by_key(|p| p.status != ProblemStatus::Active);
    audit_read(state, auth, opened, "problems", None).await?;
    Ok(ProblemList { problems })
}

/// Add a problem, active (422 `unknown_cid10` for a code not in the table; audited as
/// `problem.added`).
pub async fn add_problem(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    body: NewProblem,
) -> Result<Problem, AppError> {
    require_professional(auth, clinic)?;
    let opened = open_record(state, auth, clinic, patient).await?;
    body.code.known()?;
    let notes = body.notes.trim().to_string();
    check_length("notes", &notes)?;
    let now = state.clock.now();
    if body.onset_date.is_some_and(|d| d > now.date_naive()) {
        return Err(ValidationError::new(
            "invalid_onset_date",
            "a data de início não pode estar no futuro",
        )
        .field("onset_date")
        .into());
    }
    let row = ProblemRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        code_enc: state.cipher.encrypt(body.code.as_str())?,
        notes_enc: state.cipher.encrypt(&notes)?,
        status: ProblemStatus::Active,
        onset_date: body.onset_date,
        resolved_at: None,
        recorded_by: auth.user_id,
        created_at: now,
        updated_by: auth.user_id,
        updated_at: now,
        recorded_by_name: auth.full_name.clone(),
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_problem(&mut tx, &row).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "problem.added", "problem")
                .entity_id(row.id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"patient_id": patient, "access": opened.how()})),
        )
        .await?;
    tx.commit().await?;
    view(state, &row)
}

/// Resolve a problem, or make it active again (audited as `problem.updated`).
pub async fn update_problem(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    id: uuid::Uuid,
    body: UpdateProblem,
) -> Result<Problem, AppError> {
    require_professional(auth, clinic)?;
    let opened = open_record(state, auth, clinic, patient).await?;
    let mut row = state
        .store
        .problem(clinic, patient, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let resolved_at = match body.status {
        ProblemStatus::Resolved => Some(row.resolved_at.unwrap_or(now)),
        ProblemStatus::Active => None,
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_problem_status(&mut tx, id, body.status, resolved_at, auth.user_id, now)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "problem.updated", "problem")
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
    row.resolved_at = resolved_at;
    row.updated_by = auth.user_id;
    row.updated_at = now;
    view(state, &row)
}
