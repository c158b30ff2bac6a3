//! A visit that happened moves its appointment: checked in at the desk, in progress when
//! the queue starts the service or the professional admits the patient to the video call,
//! done when the service is finished or the call ended. The queue and the
//! teleconsultation both carry their moves here, through the clinic's agenda actor, so the
//! agenda screens see them live.

use crate::actors::agenda::{Change, Modify, Record};
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;

/// Walk the appointment through every status up to `to`
/// ([`AppointmentStatus::visit_steps_to`]). Best effort: the move that caused it (a queue
/// move, the end of a call) is already stored; an appointment that cannot take the step
/// (cancelled meanwhile, or already past it) keeps its status, and the reason is logged.
pub async fn advance_visit(state: &AppState, appointment: uuid::Uuid, to: AppointmentStatus) {
    let view = match state.store.appointment_view(appointment).await {
        Ok(Some(v)) => v,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(%appointment, error = %e, "appointment not read to carry a visit");
            return;
        }
    };
    for step in view.a.status.visit_steps_to(to) {
        let sent = state
            .registry
            .agenda(view.a.clinic_id)
            .send(Modify {
                id: appointment,
                change: Change::Status(step),
                record: Record::default(),
            })
            .await;
        match sent {
            Ok(Ok(_)) => {}
            // Moved meanwhile by someone else: nothing more to do.
            Ok(Err(e)) if e.code == "invalid_transition" => {
                tracing::debug!(%appointment, to = step.as_str(), "appointment already past this status");
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(%appointment, to = step.as_str(), code = e.code, "appointment status not updated by the visit");
                return;
            }
            Err(_) => {
                tracing::warn!(%appointment, "agenda actor unavailable");
                return;
            }
        }
    }
}
