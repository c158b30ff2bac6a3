//! Exceptions to the weekly hours: closures (a holiday, a vacation) and extra hours.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{RangeQuery, require_schedule_editor, slots_changed};
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, UserId, ValidationError};
use crate::store::agenda::{ExceptionRow, local_midnight};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    /// `closed` (holiday, vacation) or `extra` (extra hours).
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// A professional's; the whole clinic when absent (administrators only).
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
    #[serde(default)]
    pub reason: String,
}

/// An exception to the weekly hours.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgendaException {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    /// A professional's; the whole clinic's when null.
    pub professional_user_id: Option<UserId>,
    /// `closed` or `extra`.
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

impl From<ExceptionRow> for AgendaException {
    fn from(e: ExceptionRow) -> Self {
        Self {
            id: e.id,
            clinic_id: e.clinic_id,
            professional_user_id: e.professional_user_id,
            kind: e.kind,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            reason: e.reason,
        }
    }
}

/// The clinic's exceptions between two local dates (staff): with a professional, theirs
/// and the clinic-wide ones.
pub async fn list_exceptions(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    query: &RangeQuery,
) -> Result<Vec<AgendaException>, AppError> {
    auth.require_staff(clinic)?;
    let tz = clinic_tz(state, clinic).await?;
    let (from, to) = query.dates(state.clock.as_ref(), tz)?;
    let rows = state
        .store
        .exceptions_between(
            clinic,
            query.professional_user_id,
            local_midnight(tz, from),
            local_midnight(tz, to + Duration::days(1)),
        )
        .await?;
    Ok(rows.into_iter().map(AgendaException::from).collect())
}

/// Add an exception: a professional's own (them or an administrator), or the clinic's
/// (administrators).
pub async fn create_exception(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: ExceptionRequest,
) -> Result<AgendaException, AppError> {
    match req.professional_user_id {
        Some(p) => require_schedule_editor(state, auth, clinic, p).await?,
        None => auth.require_role(clinic, &[Role::ClinicAdmin])?,
    }
    if !matches!(req.kind.as_str(), "closed" | "extra") {
        return Err(ValidationError::new("invalid_kind", "tipo deve ser closed ou extra").into());
    }
    if req.ends_at <= req.starts_at || req.ends_at - req.starts_at > Duration::days(366) {
        return Err(ValidationError::new(
            "invalid_range",
            "o fim deve ser depois do início (até um ano)",
        )
        .into());
    }
    if req.kind == "extra" && req.professional_user_id.is_none() {
        return Err(
            ValidationError::new("invalid_kind", "horário extra é de um profissional").into(),
        );
    }
    let e = ExceptionRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        professional_user_id: req.professional_user_id,
        kind: req.kind,
        starts_at: req.starts_at,
        ends_at: req.ends_at,
        reason: req.reason.chars().take(200).collect(),
    };
    state.store.insert_exception(&e).await?;
    slots_changed(state, clinic, e.professional_user_id);
    Ok(e.into())
}

/// Remove an exception: administrators any, a professional their own.
pub async fn delete_exception(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    exception: uuid::Uuid,
) -> Result<(), AppError> {
    let owner = if auth.has_role(clinic, &[Role::ClinicAdmin]) {
        None
    } else {
        auth.require_role(clinic, &[Role::Professional])?;
        Some(auth.user_id)
    };
    if !state
        .store
        .delete_exception(clinic, exception, owner)
        .await?
    {
        return Err(AppError::NotFound);
    }
    slots_changed(state, clinic, None);
    Ok(())
}
