//! The record's vital signs: a professional records a set taken together (blood pressure,
//! heart rate, temperature, SpO2, weight, height, glucose), each in its unit and refused
//! when implausible (422 `implausible_vital` naming the field). A set with a weight gets its
//! body-mass index, computed when recorded from the height of the same set or else the
//! latest height of the record. Values and notes are encrypted at rest; sets are never
//! changed nor deleted. Audited as `record.read` and `vitals.added`.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::allergies::require_professional;
use super::{audit_read, open_record};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::record::check_length;
use crate::domain::vitals::{Vitals, bmi};
use crate::domain::{ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::record_lists::VitalsRow;

/// Longest list of sets returned at once.
const MAX_LIST: i64 = 500;
/// How far back the latest height is looked for (sets, newest first).
const HEIGHT_LOOKBACK: i64 = 200;

/// What is stored (encrypted) for one set: the values and the BMI computed when recorded.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    values: Vitals,
    #[serde(default)]
    bmi: Option<f64>,
    #[serde(default)]
    bmi_height_cm: Option<f64>,
}

/// One set of vital signs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VitalSigns {
    pub id: uuid::Uuid,
    pub measured_at: DateTime<Utc>,
    pub values: Vitals,
    /// Body-mass index (kg/m²), when the set has a weight and a height was known.
    pub bmi: Option<f64>,
    /// The height the BMI was computed with (this set's, or the latest before it).
    pub bmi_height_cm: Option<f64>,
    pub notes: String,
    pub recorded_by: UserId,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
}

/// A record's vital signs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VitalsList {
    pub vitals: Vec<VitalSigns>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVitals {
    /// The measurements (at least one).
    pub values: Vitals,
    /// When they were taken (default: now; not in the future).
    #[serde(default)]
    pub measured_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub notes: String,
}

/// A set as stored, decrypted.
pub(crate) fn view(state: &AppState, v: &VitalsRow) -> Result<VitalSigns, AppError> {
    let stored: Stored = serde_json::from_str(&state.cipher.decrypt(&v.values_enc)?)
        .map_err(|err| AppError::Unexpected(anyhow::anyhow!("vital signs: {err}")))?;
    Ok(VitalSigns {
        id: v.id,
        measured_at: v.measured_at,
        values: stored.values,
        bmi: stored.bmi,
        bmi_height_cm: stored.bmi_height_cm,
        notes: state.cipher.decrypt(&v.notes_enc)?,
        recorded_by: v.recorded_by,
        recorded_by_name: v.recorded_by_name.clone(),
        recorded_at: v.created_at,
    })
}

/// A time after every measurement (year 9999: stored times compare as text on SQLite, so
/// not chrono's far larger maximum, which is written with a sign).
fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The record's vital signs, newest first (the last 500; audited as `record.read`).
pub async fn list_vitals(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<VitalsList, AppError> {
    let opened = open_record(state, auth, clinic, patient).await?;
    let vitals = state
        .store
        .vitals_of_record(clinic, patient, far_future(), MAX_LIST)
        .await?
        .iter()
        .map(|v| view(state, v))
        .collect::<Result<Vec<_>, _>>()?;
    audit_read(state, auth, opened, "vitals", None).await?;
    Ok(VitalsList { vitals })
}

/// The latest height recorded for the patient at or before `at`.
async fn latest_height(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
    at: DateTime<Utc>,
) -> Result<Option<f64>, AppError> {
    let before = at + Duration::microseconds(1);
    for row in state
        .store
        .vitals_of_record(clinic, patient, before, HEIGHT_LOOKBACK)
        .await?
    {
        let stored: Stored = serde_json::from_str(&state.cipher.decrypt(&row.values_enc)?)
            .map_err(|err| AppError::Unexpected(anyhow::anyhow!("vital signs: {err}")))?;
        if let Some(h) = stored.values.height_cm {
            return Ok(Some(h));
        }
    }
    Ok(None)
}

/// Record a set of vital signs (audited as `vitals.added`).
pub async fn add_vitals(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    body: NewVitals,
) -> Result<VitalSigns, AppError> {
    require_professional(auth, clinic)?;
    let opened = open_record(state, auth, clinic, patient).await?;
    body.values.validate()?;
    let notes = body.notes.trim().to_string();
    check_length("notes", &notes)?;
    let now = state.clock.now();
    let measured_at = body.measured_at.unwrap_or(now);
    if measured_at > now + Duration::minutes(5) {
        return Err(ValidationError::new(
            "invalid_measured_at",
            "a data da medida não pode estar no futuro",
        )
        .field("measured_at")
        .into());
    }
    let bmi_height_cm = match (body.values.weight_kg, body.values.height_cm) {
        (None, _) => None,
        (Some(_), Some(h)) => Some(h),
        (Some(_), None) => latest_height(state, clinic, patient, measured_at).await?,
    };
    let stored = Stored {
        bmi: body
            .values
            .weight_kg
            .zip(bmi_height_cm)
            .and_then(|(w, h)| bmi(w, h)),
        bmi_height_cm,
        values: body.values,
    };
    let values = serde_json::to_string(&stored).map_err(anyhow::Error::new)?;
    let row = VitalsRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        values_enc: state.cipher.encrypt(&values)?,
        notes_enc: state.cipher.encrypt(&notes)?,
        measured_at,
        recorded_by: auth.user_id,
        created_at: now,
        recorded_by_name: auth.full_name.clone(),
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_vitals(&mut tx, &row).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "vitals.added", "vital_signs")
                .entity_id(row.id)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"patient_id": patient, "access": opened.how()})),
        )
        .await?;
    tx.commit().await?;
    view(state, &row)
}
