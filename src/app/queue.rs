//! Waiting-room use cases: checking someone in (a walk-in, a registered patient, today's
//! appointment), the tracker link a patient follows their place in line with, and carrying
//! queue moves to the linked appointment. The desk's board and moves, the waiting room's
//! setup and its public pages are in the submodules.

pub mod desk;
pub mod public;
pub mod setup;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::actors::queue::{CheckIn, clinic_today};
use crate::app::Auth;
use crate::app::agenda::visit::advance_visit;
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::guests::TRACKER_PURPOSE;
use crate::app::state::AppState;
use crate::domain::queue::{Priority, QueueAction};
use crate::domain::{BirthDate, ClinicId, PatientId, PersonName, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::local_midnight;
use crate::store::queue::QueueEntryRow;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// A patient registered with the clinic; or give `full_name` for a walk-in.
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    #[serde(default)]
    pub full_name: Option<String>,
    /// The professional they came for (any professional when absent).
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
    /// Today's appointment they came for: the patient, the professional and the place in
    /// line (by the appointment's time) come from it, and the appointment becomes
    /// `checked_in`; later moves (start, finish, no-show) flow to it too.
    #[serde(default)]
    pub appointment_id: Option<uuid::Uuid>,
    /// `none`, `elderly`, `elderly_80`, `pregnant`, `breastfeeding`, `disability`, `infant`.
    /// 60+ and 80+ follow the birth date (a registered patient's, or `birth_date` for a
    /// walk-in): applied from it, and refused when it does not reach them; the others are
    /// by declaration.
    #[serde(default)]
    pub priority: Option<String>,
    /// A walk-in's birth date (`AAAA-MM-DD`), needed for the 60+/80+ priorities. A
    /// registered patient's comes from their record.
    #[serde(default)]
    pub birth_date: Option<String>,
}

/// Check someone in (staff): a walk-in, a registered patient, or today's appointment. Shared
/// by the queue route and the agenda's "check-in" status.
pub async fn check_in(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: &CheckInRequest,
) -> Result<QueueEntryRow, AppError> {
    auth.require_staff(clinic)?;
    let declared = body
        .priority
        .as_deref()
        .map(Priority::parse)
        .transpose()?
        .unwrap_or(Priority::None);
    let tz = clinic_tz(state, clinic).await?;
    let today = clinic_today(state.clock.as_ref(), tz);
    // Ages are counted on the application's clock, in the clinic's zone.
    let age_day = state.clock.now().with_timezone(&tz).date_naive();
    let walk_in_birth = body
        .birth_date
        .as_deref()
        .map(|b| BirthDate::parse(b, age_day))
        .transpose()?;
    let appointment = match body.appointment_id {
        // A registered patient who has an appointment today came for it.
        None => match body.patient_id {
            Some(pid) => {
                state
                    .store
                    .open_appointment_between(
                        clinic,
                        pid,
                        local_midnight(tz, today),
                        local_midnight(tz, today + chrono::Duration::days(1)),
                    )
                    .await?
            }
            None => None,
        },
        Some(id) => {
            let a = state
                .store
                .appointment_view(id)
                .await?
                .map(|v| v.a)
                .filter(|a| a.clinic_id == clinic)
                .filter(|a| a.starts_at.with_timezone(&tz).date_naive() == today)
                .filter(|a| matches!(a.status.as_str(), "scheduled" | "confirmed"))
                .ok_or_else(|| {
                    ValidationError::new(
                        "invalid_appointment",
                        "consulta de hoje não encontrada (ou já recebida, cancelada)",
                    )
                })?;
            Some(a)
        }
    };
    let patient_id = appointment
        .as_ref()
        .map(|a| a.patient_id)
        .or(body.patient_id);
    let professional = appointment
        .as_ref()
        .map(|a| a.professional_user_id)
        .or(body.professional_user_id);
    let (full_name, priority) = match patient_id {
        Some(pid) => {
            let p = state
                .store
                .clinic_patient(clinic, pid)
                .await?
                .ok_or_else(|| {
                    ValidationError::new(
                        "patient_not_registered",
                        "paciente não cadastrado nesta clínica",
                    )
                })?;
            let name = p
                .patient
                .social_name
                .clone()
                .unwrap_or(p.patient.full_name.clone());
            (
                name,
                Priority::decide(declared, Some(p.patient.birth_date), age_day)?,
            )
        }
        None => {
            let name = PersonName::parse(body.full_name.as_deref().unwrap_or(""))?;
            let birth = walk_in_birth.map(|b| b.date());
            (
                name.into_inner(),
                Priority::decide(declared, birth, age_day)?,
            )
        }
    };
    if let Some(p) = professional
        && !state.store.is_professional_in(clinic, p).await?
    {
        return Err(ValidationError::new(
            "not_a_professional",
            "a pessoa indicada não é profissional desta clínica",
        )
        .into());
    }
    let (entry, _) = state
        .registry
        .queue(clinic)
        .send(CheckIn {
            patient_id,
            full_name,
            professional_user_id: professional,
            priority,
            appointment: appointment.as_ref().map(|a| (a.id, a.starts_at)),
            reuse_active: false,
            audit: Some(
                AuditEvent::new(Some(auth.user_id), "queue.check_in", "queue_entry")
                    .clinic(clinic)
                    .ip(auth.ip.clone())
                    .details(serde_json::json!({
                        "patient_id": patient_id,
                        "appointment_id": appointment.as_ref().map(|a| a.id),
                    })),
            ),
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    sync_appointment(state, &entry, QueueAction::CheckIn).await;
    Ok(entry)
}

/// A tracker link for an entry, valid for a day (the page is for today's wait).
pub fn tracker_for(state: &AppState, entry: uuid::Uuid) -> String {
    let expires = state.clock.now().timestamp() + 24 * 3600;
    state.links.sign(TRACKER_PURPOSE, entry, Some(expires))
}

/// Carry a queue move to the linked appointment (checked_in, in_progress, done, no_show)
/// through the clinic's agenda actor, so the agenda screens see it live. Best effort: the
/// queue move is already stored; an appointment that cannot take the move (e.g. cancelled
/// meanwhile) keeps its status, and the reason is logged.
pub async fn sync_appointment(state: &AppState, entry: &QueueEntryRow, action: QueueAction) {
    use crate::actors::agenda::{Change, Modify, Record};
    use crate::domain::agenda::AppointmentStatus::{CheckedIn, Done, InProgress, NoShow};
    let Some(id) = entry.appointment_id else {
        return;
    };
    let change = match action {
        // A visit that happened: every status up to where the queue is (finished straight
        // from "called" did happen, so it passes through in progress).
        QueueAction::CheckIn | QueueAction::Return => {
            return advance_visit(state, id, CheckedIn).await;
        }
        QueueAction::Start => return advance_visit(state, id, InProgress).await,
        QueueAction::Finish => return advance_visit(state, id, Done).await,
        QueueAction::NoShow => Change::Status(NoShow),
        // Left before being seen: the appointment is off, and its time goes back.
        QueueAction::Leave => Change::Cancel {
            reason: "Paciente saiu da fila de espera".into(),
        },
        QueueAction::Call | QueueAction::Recall | QueueAction::Transfer => return,
    };
    let sent = state
        .registry
        .agenda(entry.clinic_id)
        .send(Modify {
            id,
            change,
            record: Record::default(),
        })
        .await;
    match sent {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(appointment = %id, action = action.audit_action(), code = e.code, "appointment not updated from the queue");
        }
        Err(_) => tracing::warn!(appointment = %id, "agenda actor unavailable"),
    }
}
