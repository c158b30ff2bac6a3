//! Agenda use cases, one module per thing a screen manages: services, a professional's
//! weekly hours and rules (`schedule`), exceptions, free slots and the public booking page
//! (`slots`), appointments (book, reschedule, cancel, status), the caller's own agenda and
//! appointments (`mine`) and the calendar feed (`ical`). Every change to an appointment goes
//! through the clinic's `ClinicAgenda` actor, which writes it, its audit row and its events in
//! one transaction. What several of them share lives here.

pub mod appointments;
pub mod day;
pub mod exceptions;
pub mod ical;
pub mod mine;
pub mod schedule;
pub mod services;
pub mod slots;
pub mod visit;

use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::json;

use crate::actors::agenda::ClinicAgenda;
use crate::actors::protocol::Topic;
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId, Role, UserId, ValidationError};
use crate::store::agenda::ServiceRow;

/// The longest range one request may ask for.
const MAX_DAYS: i64 = 62;

/// A range of local dates and what to narrow it to (query parameters).
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    /// First local date (YYYY-MM-DD); today when absent.
    pub from: Option<NaiveDate>,
    /// Last local date, inclusive; `from` + 6 days when absent.
    pub to: Option<NaiveDate>,
    pub professional_user_id: Option<UserId>,
    pub service_id: Option<uuid::Uuid>,
    /// Slots: an appointment being rescheduled (its own time counts as free).
    pub appointment_id: Option<uuid::Uuid>,
}

impl RangeQuery {
    /// The local dates [from, to] in `tz`, at most [`MAX_DAYS`] of them (from today by
    /// `clock` when no start is given).
    pub fn dates(
        &self,
        clock: &dyn crate::clock::Clock,
        tz: chrono_tz::Tz,
    ) -> Result<(NaiveDate, NaiveDate), AppError> {
        let from = self
            .from
            .unwrap_or_else(|| clock.now().with_timezone(&tz).date_naive());
        let to = self.to.unwrap_or(from + Duration::days(6));
        if to < from || (to - from).num_days() >= MAX_DAYS {
            return Err(ValidationError::new(
                "invalid_range",
                format!("intervalo de datas inválido (até {MAX_DAYS} dias)"),
            )
            .into());
        }
        Ok((from, to))
    }
}

/// Refuse a professional who does not work in the clinic.
pub(crate) async fn require_professional_in(
    state: &AppState,
    clinic: ClinicId,
    pro: UserId,
) -> Result<(), AppError> {
    if state.store.is_professional_in(clinic, pro).await? {
        Ok(())
    } else {
        Err(
            ValidationError::new("not_a_professional", "profissional não pertence à clínica")
                .into(),
        )
    }
}

/// A professional's hours, rules and own exceptions are edited by them or by a clinic
/// administrator; 404 when they do not work in the clinic.
pub(crate) async fn require_schedule_editor(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    pro: UserId,
) -> Result<(), AppError> {
    if !(auth.has_role(clinic, &[Role::ClinicAdmin]) || auth.user_id == pro) {
        return Err(AppError::Forbidden);
    }
    auth.require_staff(clinic)?;
    if !state.store.is_professional_in(clinic, pro).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Refuse a patient the clinic has not registered (staff act only for their own patients).
pub(crate) async fn require_registered(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<(), AppError> {
    state
        .store
        .clinic_patient(clinic, patient)
        .await?
        .ok_or_else(|| {
            ValidationError::new(
                "patient_not_registered",
                "paciente não cadastrado nesta clínica",
            )
        })?;
    Ok(())
}

/// Whom a booking or a waitlist entry is for, decided from who asks: staff of the clinic
/// name one of its registered patients (`Some`); a patient may name only a record of their
/// own, and gets `None` — their record at this clinic is resolved later, once the request
/// is checked (it may create one). Anyone else: `forbidden`.
pub(crate) async fn patient_named(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    named: Option<PatientId>,
) -> Result<Option<PatientId>, AppError> {
    if auth.is_staff_of(clinic) {
        let p = named
            .ok_or_else(|| ValidationError::new("patient_not_registered", "informe patient_id"))?;
        require_registered(state, clinic, p).await?;
        return Ok(Some(p));
    }
    if named.is_some_and(|p| !auth.owns_patient(p)) || auth.patient_ids().is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(None)
}

/// A service of this clinic that this professional offers.
pub(crate) async fn service_for(
    state: &AppState,
    clinic: ClinicId,
    pro: UserId,
    id: Option<uuid::Uuid>,
) -> Result<Option<ServiceRow>, AppError> {
    let Some(id) = id else { return Ok(None) };
    let s = state
        .store
        .service(id)
        .await?
        .filter(|s| s.clinic_id == clinic && s.active)
        .filter(|s| s.professional_user_id.is_none_or(|p| p == pro))
        .ok_or_else(|| {
            ValidationError::new(
                "invalid_service",
                "serviço não oferecido por este profissional",
            )
        })?;
    Ok(Some(s))
}

/// Send a message to the clinic's agenda actor.
pub(crate) async fn send_agenda<M>(
    state: &AppState,
    clinic: ClinicId,
    msg: M,
) -> Result<M::Result, AppError>
where
    M: actix::Message + Send + 'static,
    M::Result: Send,
    ClinicAgenda: actix::Handler<M>,
{
    state
        .registry
        .agenda(clinic)
        .send(msg)
        .await
        .map_err(|_| AppError::Unavailable)
}

/// Tell open booking pages that availability changed (hours, exceptions): `dates` empty
/// means "any date"; no professional means "everyone in the clinic".
pub(crate) fn slots_changed(state: &AppState, clinic: ClinicId, pro: Option<UserId>) {
    state.bus.publish(crate::bus::TopicEvent {
        topic: Topic::ClinicSlots(clinic).to_string(),
        event: "slots.changed".into(),
        seq: None,
        payload: json!({"professional_user_id": pro, "dates": []}),
    });
}
