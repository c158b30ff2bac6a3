//! The record's timeline (encounters, addenda, documents issued and vital signs, newest
//! first, paged by time) and the patient's own view: the summaries of their locked encounters.

use chrono::{DateTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use super::vitals::VitalSigns;
use super::{Addendum, Encounter, addendum_view, audit_read, encounter_view, open_record};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::record::Diagnosis;
use crate::domain::{ClinicId, PatientId, ValidationError};

/// Default and largest page.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Only entries strictly older than this time (the previous page's `next_before`).
    #[serde(default)]
    pub before: Option<DateTime<Utc>>,
    /// Entries per page, 1–200 (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A document issued for the patient, as the timeline shows it (its content is read
/// through the documents API, under its own rules).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineDocument {
    pub id: uuid::Uuid,
    pub kind: String,
    pub status: String,
    pub revoked: bool,
    pub professional_name: String,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
}

/// One entry of the timeline: exactly one of `encounter`, `addendum`, `document`,
/// `vitals` is set, as `type` says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// `encounter`, `addendum`, `document` or `vitals` (at the time they were measured).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encounter: Option<Encounter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addendum: Option<Addendum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<TimelineDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vitals: Option<VitalSigns>,
}

/// A page of the timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineItem>,
    /// Pass as `before` for the next page; absent on the last one.
    pub next_before: Option<DateTime<Utc>>,
}

/// The record's history, newest first (audited as `record.read`). Psychology notes (and
/// their addenda) appear only to their author: the store leaves them out before paging, so
/// a page is never short because of them (the filters here are a second guard).
pub async fn timeline(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    query: TimelineQuery,
) -> Result<TimelinePage, AppError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ValidationError::new("invalid_limit", "limit deve estar entre 1 e 200").into());
    }
    let opened = open_record(state, auth, clinic, patient).await?;
    let before = query.before.unwrap_or_else(|| {
        Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    });
    let store = &state.store;
    let mut items = Vec::new();
    for e in store
        .encounters_of_record(clinic, patient, auth.user_id, before, limit)
        .await?
        .iter()
        .filter(|e| super::readable(auth, e))
    {
        items.push(TimelineItem {
            kind: "encounter",
            at: e.created_at,
            encounter: Some(encounter_view(state, e, Vec::new())?),
            addendum: None,
            document: None,
            vitals: None,
        });
    }
    for a in store
        .addenda_of_record(clinic, patient, auth.user_id, before, limit)
        .await?
        .iter()
        .filter(|a| !a.encounter_psychology || a.encounter_author == Some(auth.user_id))
    {
        items.push(TimelineItem {
            kind: "addendum",
            at: a.created_at,
            encounter: None,
            addendum: Some(addendum_view(state, a)?),
            document: None,
            vitals: None,
        });
    }
    for d in store
        .documents_of_record(clinic, patient, before, limit)
        .await?
    {
        items.push(TimelineItem {
            kind: "document",
            at: d.created_at,
            encounter: None,
            addendum: None,
            document: Some(TimelineDocument {
                id: d.id,
                kind: d.kind,
                status: d.status,
                revoked: d.revoked_at.is_some(),
                professional_name: d.professional_name,
                council: d.council,
                council_number: d.council_number,
                council_uf: d.council_uf,
            }),
            vitals: None,
        });
    }
    for v in store
        .vitals_of_record(clinic, patient, before, limit)
        .await?
    {
        items.push(TimelineItem {
            kind: "vitals",
            at: v.measured_at,
            encounter: None,
            addendum: None,
            document: None,
            vitals: Some(super::vitals::view(state, &v)?),
        });
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    let full = items.len() as i64 > limit;
    items.truncate(limit as usize);
    // A page is followed by another when a source may hold more than what was shown.
    let next_before = if full || items.len() as i64 == limit {
        items.last().map(|i| i.at)
    } else {
        None
    };
    audit_read(state, auth, opened, "timeline", None).await?;
    Ok(TimelinePage { items, next_before })
}

/// One of the patient's locked encounters, as they read it in their portal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EncounterSummary {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub professional_name: String,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
    pub date: DateTime<Utc>,
    pub chief_complaint: String,
    pub diagnoses: Vec<Diagnosis>,
    pub plan: String,
}

/// The caller's locked encounters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyEncounters {
    pub encounters: Vec<EncounterSummary>,
}

/// The summaries of the caller's own locked encounters, every clinic, newest first: no
/// drafts, no psychology notes (those are their author's alone).
pub async fn my_encounters(state: &AppState, auth: &Auth) -> Result<MyEncounters, AppError> {
    let cutoff = state.clock.now()
        - chrono::Duration::hours(i64::from(state.settings.record.auto_lock_hours));
    let mut encounters = Vec::new();
    for patient in auth.patient_ids() {
        let due = state.store.due_drafts_of_patient(patient, cutoff).await?;
        if !due.is_empty() {
            for clinic in state.store.clinics_of_patient(patient).await? {
                super::lock_due_drafts(state, clinic, patient).await?;
            }
        }
        for e in state
            .store
            .locked_encounters_of_patient(patient)
            .await?
            .iter()
            .filter(|e| !e.psychology)
        {
            let v = encounter_view(state, e, Vec::new())?;
            encounters.push(EncounterSummary {
                id: e.id,
                clinic_id: e.clinic_id,
                clinic_name: e.clinic_name.clone(),
                professional_name: e.author_name.clone(),
                council: e.council.clone(),
                council_number: e.council_number.clone(),
                council_uf: e.council_uf.clone(),
                date: e.created_at,
                chief_complaint: v.content.chief_complaint,
                diagnoses: v.content.diagnoses,
                plan: v.content.plan,
            });
        }
    }
    encounters.sort_by_key(|e| std::cmp::Reverse(e.date));
    Ok(MyEncounters { encounters })
}
