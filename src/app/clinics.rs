//! Clinic use cases.

use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::ClinicId;

/// A clinic's time zone, or 404.
pub async fn clinic_tz(state: &AppState, clinic: ClinicId) -> Result<chrono_tz::Tz, AppError> {
    Ok(state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?
        .tz())
}
