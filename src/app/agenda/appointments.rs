//! Appointments: the clinic's list, booking, rescheduling, cancelling and moving the status.
//! Each change is one message to the clinic's `ClinicAgenda` actor, which writes the
//! appointment, its outbox message, its events and the audit row given here in one
//! transaction, and publishes after commit.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{RangeQuery, patient_named, require_professional_in, send_agenda, service_for};
use crate::actors::agenda::{
    Appointment, AppointmentLinks, Book, BookingQuota, Change, DEFAULT_MINUTES, Modify, Record,
};
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::patient_links::self_record;
use crate::app::queue::{CheckInRequest, check_in};
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::{ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::{AppointmentsOf, local_midnight};

/// The clinic's appointments between two local dates, cancelled ones included (staff);
/// all professionals' unless one is given.
pub async fn list_appointments(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    query: &RangeQuery,
) -> Result<Vec<Appointment>, AppError> {
    auth.require_staff(clinic)?;
    let tz = clinic_tz(state, clinic).await?;
    let (from, to) = query.dates(state.clock.as_ref(), tz)?;
    let rows = state
        .store
        .appointments_of(
            AppointmentsOf::Clinic(clinic),
            local_midnight(tz, from),
            local_midnight(tz, to + Duration::days(1)),
        )
        .await?;
    Ok(rows
        .iter()
        .filter(|v| {
            query
                .professional_user_id
                .is_none_or(|p| v.a.professional_user_id == p)
        })
        .map(Appointment::from)
        .collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    pub professional_user_id: UserId,
    /// Staff book for a registered patient; a patient books for themself (omit it).
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    #[serde(default)]
    pub service_id: Option<uuid::Uuid>,
    pub starts_at: DateTime<Utc>,
    /// `in_person` (default) or `teleconsultation`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Without a service: the length (5–480, default 30).
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Staff only: book outside the offered slots (an "encaixe"); never on top of another
    /// appointment.
    #[serde(default)]
    pub fit_in: bool,
}

/// Book an appointment: the clinic's staff for a registered patient (offered slots, or
/// fitted in), or a patient for themself in an offered slot — on their record at the
/// clinic, made from their profile and linked to their account if they have none there. The answer to staff carries the
/// one-click links.
pub async fn book_appointment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: BookRequest,
) -> Result<Appointment, AppError> {
    let staff = auth.is_staff_of(clinic);
    // A patient books for themself: a record of theirs, nobody else's.
    let staff_patient = patient_named(state, auth, clinic, req.patient_id).await?;
    if req.fit_in && !staff {
        return Err(AppError::Forbidden);
    }
    require_professional_in(state, clinic, req.professional_user_id).await?;
    let service = service_for(state, clinic, req.professional_user_id, req.service_id).await?;
    let kind = req.kind.unwrap_or_else(|| "in_person".into());
    if !matches!(kind.as_str(), "in_person" | "teleconsultation") {
        return Err(
            ValidationError::new("invalid_kind", "tipo: in_person ou teleconsultation").into(),
        );
    }
    let minutes = req.duration_minutes.unwrap_or(i64::from(DEFAULT_MINUTES));
    if !(5..=480).contains(&minutes) {
        return Err(ValidationError::new("invalid_duration", "duração de 5 a 480 minutos").into());
    }
    let notes: String = req.notes.unwrap_or_default().chars().take(500).collect();
    let (patient, new_patient) = match staff_patient {
        Some(p) => (p, None),
        // Their record at this clinic: the linked one, or a new one of the clinic made
        // from their profile (written with the booking) — never an existing record found
        // by CPF.
        None => {
            let own = self_record(state, auth, clinic, req.patient_id).await?;
            (own.id(), own.into_new())
        }
    };
    let book = Book {
        by: Some(auth.user_id),
        professional: req.professional_user_id,
        patient,
        service,
        duration_minutes: minutes as u32,
        starts_at: req.starts_at,
        kind,
        notes,
        require_free_slot: !req.fit_in,
        status: AppointmentStatus::Scheduled,
        hold_expires_at: None,
        new_patient,
        record: Record::audit(
            AuditEvent::new(Some(auth.user_id), "appointment.booked", "appointment")
                .clinic(clinic)
                .ip(auth.ip.clone()),
        ),
        // Staff book for many patients; a patient's own bookings have a daily quota.
        quota: (!staff).then_some(BookingQuota {
            user: auth.user_id,
            max_per_day: state.settings.agenda.max_bookings_per_patient_per_day,
        }),
    };
    let (a, names) = send_agenda(state, clinic, book).await??;
    let mut booked = Appointment::new(&a, &names);
    if staff {
        booked.links = Some(AppointmentLinks::new(&state.links, &a));
    }
    Ok(booked)
}

/// Staff of the clinic (true), or the appointment's own patient (false), who may only
/// reschedule into offered slots and cancel. Anyone else gets 404.
async fn may_change(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    id: uuid::Uuid,
) -> Result<bool, AppError> {
    if auth.is_staff_of(clinic) {
        return Ok(true);
    }
    let v = state
        .store
        .appointment_view(id)
        .await?
        .filter(|v| v.a.clinic_id == clinic)
        .ok_or(AppError::NotFound)?;
    if auth.owns_patient(v.a.patient_id) {
        return Ok(false);
    }
    Err(AppError::NotFound)
}

/// Who did what to which appointment, for the audit log.
fn audit(auth: &Auth, clinic: ClinicId, id: uuid::Uuid, action: &'static str) -> AuditEvent {
    AuditEvent::new(Some(auth.user_id), action, "appointment")
        .entity_id(id)
        .clinic(clinic)
        .ip(auth.ip.clone())
}

/// Change an appointment through the clinic's actor, with its audit row.
async fn modify(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    id: uuid::Uuid,
    change: Change,
    action: &'static str,
) -> Result<Appointment, AppError> {
    let msg = Modify {
        id,
        change,
        record: Record::audit(audit(auth, clinic, id, action)),
    };
    let (a, names) = send_agenda(state, clinic, msg).await??;
    Ok(Appointment::new(&a, &names))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    pub starts_at: DateTime<Utc>,
    /// Staff only: outside the offered slots.
    #[serde(default)]
    pub fit_in: bool,
}

/// Move an appointment (same length; back to `scheduled`): staff, or its patient into an
/// offered slot.
pub async fn reschedule_appointment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    id: uuid::Uuid,
    req: RescheduleRequest,
) -> Result<Appointment, AppError> {
    let staff = may_change(state, auth, clinic, id).await?;
    if req.fit_in && !staff {
        return Err(AppError::Forbidden);
    }
    let change = Change::Reschedule {
        starts_at: req.starts_at,
        require_free_slot: !req.fit_in,
    };
    modify(state, auth, clinic, id, change, "appointment.rescheduled").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: String,
}

/// Cancel an appointment, with a reason: staff, or its patient.
pub async fn cancel_appointment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    id: uuid::Uuid,
    req: CancelRequest,
) -> Result<Appointment, AppError> {
    may_change(state, auth, clinic, id).await?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(ValidationError::new(
            "invalid_reason",
            "informe o motivo (até 300 caracteres)",
        )
        .into());
    }
    let change = Change::Cancel {
        reason: reason.to_string(),
    };
    modify(state, auth, clinic, id, change, "appointment.cancelled").await
}

/// Confirm an appointment ahead (`scheduled` → `confirmed`): its patient from the portal,
/// or the clinic's staff; anyone else gets 404, as if it did not exist.
pub async fn confirm_appointment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    id: uuid::Uuid,
) -> Result<Appointment, AppError> {
    may_change(state, auth, clinic, id).await?;
    let change = Change::Status(AppointmentStatus::Confirmed);
    modify(state, auth, clinic, id, change, "appointment.confirmed").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `confirmed`, `checked_in`, `in_progress`, `done` or `no_show`.
    pub status: String,
}

/// The statuses staff set by hand (the others come from booking, cancelling and waitlist
/// offers).
const SETTABLE: [AppointmentStatus; 5] = [
    AppointmentStatus::Confirmed,
    AppointmentStatus::CheckedIn,
    AppointmentStatus::InProgress,
    AppointmentStatus::Done,
    AppointmentStatus::NoShow,
];

/// Move an appointment's status (staff). Checking in means joining today's waiting room:
/// the queue does the check-in, and the appointment follows it.
pub async fn set_appointment_status(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    id: uuid::Uuid,
    req: StatusRequest,
) -> Result<Appointment, AppError> {
    auth.require_staff(clinic)?;
    let to = AppointmentStatus::parse(&req.status)
        .ok()
        .filter(|s| SETTABLE.contains(s))
        .ok_or_else(|| ValidationError::new("invalid_status", "status desconhecido"))?;
    if to != AppointmentStatus::CheckedIn {
        return modify(
            state,
            auth,
            clinic,
            id,
            Change::Status(to),
            "appointment.status_changed",
        )
        .await;
    }
    let req = CheckInRequest {
        appointment_id: Some(id),
        ..Default::default()
    };
    check_in(state, auth, clinic, &req).await?;
    // The queue's check-in made the change (its entry, then the appointment through the
    // agenda actor), so this audit row is written after it.
    state
        .store
        .record_audit(
            &audit(auth, clinic, id, "appointment.status_changed")
                .details(json!({"status": AppointmentStatus::CheckedIn})),
        )
        .await?;
    let v = state
        .store
        .appointment_view(id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Appointment::from(&v))
}
