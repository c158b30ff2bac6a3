//! The caller's own appointments: a professional's agenda across clinics, a patient's
//! appointments.

use chrono::Duration;

use super::RangeQuery;
use crate::actors::agenda::Appointment;
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::store::agenda::{AppointmentsOf, local_midnight};

/// The calling professional's appointments in every clinic, between two local dates.
pub async fn my_agenda(
    state: &AppState,
    auth: &Auth,
    query: &RangeQuery,
) -> Result<Vec<Appointment>, AppError> {
    // Dates are each clinic's own: read a margin around them, then keep the appointments
    // whose local date (in their clinic's zone) is in range.
    let (from, to) = query.dates(state.clock.as_ref(), chrono_tz::America::Sao_Paulo)?;
    let rows = state
        .store
        .appointments_of(
            AppointmentsOf::Professional(auth.user_id),
            local_midnight(chrono_tz::UTC, from) - Duration::hours(14),
            local_midnight(chrono_tz::UTC, to + Duration::days(1)) + Duration::hours(14),
        )
        .await?;
    let mut zones = std::collections::HashMap::new();
    let mut out = Vec::new();
    for v in &rows {
        let tz = match zones.get(&v.a.clinic_id) {
            Some(tz) => *tz,
            None => {
                let tz = clinic_tz(state, v.a.clinic_id).await?;
                zones.insert(v.a.clinic_id, tz);
                tz
            }
        };
        let day = v.a.starts_at.with_timezone(&tz).date_naive();
        if (from..=to).contains(&day) {
            out.push(Appointment::from(v));
        }
    }
    Ok(out)
}

/// The calling patient's appointments on every record they own or proved, newest first
/// (none for a caller without a record).
pub async fn my_appointments(state: &AppState, auth: &Auth) -> Result<Vec<Appointment>, AppError> {
    let mut rows = Vec::new();
    for patient in auth.patient_ids() {
        rows.extend(state.store.patient_appointments(patient).await?);
    }
    rows.sort_by_key(|v| std::cmp::Reverse(v.a.starts_at));
    Ok(rows.iter().map(Appointment::from).collect())
}
