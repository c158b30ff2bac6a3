//! The clinic admin's reports that are not money (the revenue report lives with billing):
//! attendance and occupancy of the agendas. And the period every report covers: local days
//! of the clinic, 1 to 366 of them, as instants.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::agenda::attendance::{Attendance, tally};
use crate::domain::agenda::open_minutes;
use crate::domain::{ClinicId, Role, UserId, ValidationError};

/// The longest period one report covers (a leap year).
const MAX_DAYS: i64 = 366;

/// A clinic administrator's period of `clinic`: its zone and the instants of the first
/// local midnight and the one after the last day.
pub async fn period(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Tz, DateTime<Utc>, DateTime<Utc>), AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let tz = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?
        .tz();
    let days = (to - from).num_days();
    if !(0..MAX_DAYS).contains(&days) {
        return Err(ValidationError::new("invalid_period", "período de 1 a 366 dias").into());
    }
    let end = to
        .succ_opt()
        .ok_or_else(|| ValidationError::new("invalid_period", "data inválida"))?;
    Ok((
        tz,
        crate::store::agenda::local_midnight(tz, from),
        crate::store::agenda::local_midnight(tz, end),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttendanceQuery {
    /// First local day (clinic's zone), inclusive.
    pub from: NaiveDate,
    /// Last local day, inclusive (at most 366 days in all).
    pub to: NaiveDate,
}

/// One professional's (or the clinic's) attendance and occupancy.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceView {
    /// Appointments that held time (all but cancelled ones and waitlist holds).
    pub appointments: i64,
    pub done: i64,
    pub no_show: i64,
    pub cancelled: i64,
    pub booked_minutes: i64,
    pub offered_minutes: i64,
    /// no_show ÷ (done + no_show); null before any visit is decided.
    pub no_show_rate: Option<f64>,
    /// booked ÷ offered minutes; null when the agenda offered no time (it may pass 1 with
    /// appointments fitted in outside the hours).
    pub occupancy: Option<f64>,
}

impl From<Attendance> for AttendanceView {
    fn from(a: Attendance) -> Self {
        AttendanceView {
            appointments: a.appointments,
            done: a.done,
            no_show: a.no_show,
            cancelled: a.cancelled,
            booked_minutes: a.booked_minutes,
            offered_minutes: a.offered_minutes,
            no_show_rate: a.no_show_rate(),
            occupancy: a.occupancy(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfessionalAttendance {
    pub user_id: UserId,
    pub name: String,
    /// `doctor`, `dentist`, … for the title the page shows.
    pub profession: Option<String>,
    pub gender: Option<String>,
    #[serde(flatten)]
    pub attendance: AttendanceView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub total: AttendanceView,
    /// Every professional of the clinic (and anyone who had appointments there in the
    /// period), by name.
    pub professionals: Vec<ProfessionalAttendance>,
}

/// The period's attendance and occupancy, per professional and in all (clinic admins).
pub async fn attendance(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: AttendanceQuery,
) -> Result<AttendanceReport, AppError> {
    let (tz, start, end) = period(state, auth, clinic, q.from, q.to).await?;
    let rows = state.store.attendance_rows(clinic, start, end).await?;
    let mut by_pro = tally(rows.iter().map(|r| {
        (
            r.professional_user_id,
            r.status,
            (r.ends_at - r.starts_at).num_minutes(),
        )
    }));
    let profiles = state.store.professionals_in_clinic(clinic).await?;
    let members = state.store.members_of_clinic(clinic).await?;
    let exceptions = state
        .store
        .exceptions_between(clinic, None, start, end)
        .await?;
    let mut professionals = Vec::new();
    let mut total = Attendance::default();
    let mut ids: Vec<UserId> = profiles.iter().map(|p| p.user_id).collect();
    let others: Vec<UserId> = by_pro
        .keys()
        .copied()
        .filter(|k| !ids.contains(k))
        .collect();
    ids.extend(others);
    for id in ids {
        let hours = state.store.working_hours(clinic, id).await?;
        let theirs: Vec<_> = exceptions
            .iter()
            .filter(|e| e.professional_user_id.is_none_or(|p| p == id))
            .map(|e| e.exception())
            .collect();
        let offered: i64 = q
            .from
            .iter_days()
            .take_while(|d| *d <= q.to)
            .map(|d| open_minutes(&tz, &hours, &theirs, d))
            .sum();
        let mut a = by_pro.remove(&id).unwrap_or_default();
        a.offered_minutes = offered;
        total = total.plus(a);
        let profile = profiles.iter().find(|p| p.user_id == id);
        professionals.push(ProfessionalAttendance {
            user_id: id,
            name: members
                .iter()
                .find(|m| m.user_id == id)
                .map(|m| m.full_name.clone())
                .unwrap_or_else(|| "Profissional".into()),
            profession: profile.map(|p| p.profession.clone()),
            gender: profile.and_then(|p| p.gender.clone()),
            attendance: a.into(),
        });
    }
    professionals.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(AttendanceReport {
        from: q.from,
        to: q.to,
        time_zone: tz.name().to_string(),
        total: total.into(),
        professionals,
    })
}
