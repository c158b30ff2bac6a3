//! A professional's weekly hours and booking rules in one clinic.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require_schedule_editor, slots_changed};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::agenda::{BookingRules, WorkingHours, check_week, format_hhmm};
use crate::domain::{ClinicId, UserId, ValidationError};
use crate::security::audit::AuditEvent;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i64,
    /// `HH:MM`, clinic local time.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// Weekly working stretches; gaps between stretches of a day are breaks.
    pub hours: Vec<HoursInput>,
    #[serde(default)]
    pub rules: Option<BookingRules>,
}

/// One weekly working stretch, in the clinic's local time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hours {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` (`24:00` for the end of the day).
    pub end: String,
}

/// A professional's weekly hours (local time) and booking rules in one clinic.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Schedule {
    pub hours: Vec<Hours>,
    pub rules: BookingRules,
}

impl Schedule {
    fn new(hours: &[WorkingHours], rules: BookingRules) -> Self {
        Self {
            hours: hours
                .iter()
                .map(|h| Hours {
                    weekday: h.weekday,
                    start: format_hhmm(h.start),
                    end: format_hhmm(h.end),
                })
                .collect(),
            rules,
        }
    }
}

/// A professional's schedule (staff of the clinic).
pub async fn get_schedule(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    pro: UserId,
) -> Result<Schedule, AppError> {
    auth.require_staff(clinic)?;
    if !state.store.is_professional_in(clinic, pro).await? {
        return Err(AppError::NotFound);
    }
    let hours = state.store.working_hours(clinic, pro).await?;
    let rules = state.store.booking_rules(clinic, pro).await?;
    Ok(Schedule::new(&hours, rules))
}

/// Replace a professional's hours (and rules, when given): the professional or a clinic
/// administrator. Written with its audit row; open booking pages learn of it after.
pub async fn put_schedule(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    pro: UserId,
    req: ScheduleRequest,
) -> Result<Schedule, AppError> {
    require_schedule_editor(state, auth, clinic, pro).await?;
    let hours = req
        .hours
        .iter()
        .map(|h| WorkingHours::new(h.weekday, &h.start, &h.end))
        .collect::<Result<Vec<_>, _>>()?;
    if hours.len() > 70 {
        return Err(ValidationError::new("invalid_hours", "horários demais").into());
    }
    check_week(&hours)?;
    let rules = match req.rules {
        Some(r) => r,
        None => state.store.booking_rules(clinic, pro).await?,
    };
    rules.validate()?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .write_schedule(&mut tx, clinic, pro, &hours, &rules)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(
                Some(auth.user_id),
                "agenda.schedule_changed",
                "professional",
            )
            .entity_id(pro)
            .clinic(clinic)
            .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    slots_changed(state, clinic, Some(pro));
    Ok(Schedule::new(&hours, rules))
}
