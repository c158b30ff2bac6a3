//! The reception desk and the professionals: the day's board, checking someone in with
//! their tracker link, calling the next patient, and moving one entry (start, finish,
//! no-show, return, leave, transfer, recall).

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::actors::protocol::Topic;
use crate::actors::queue::{
    Act, CallNext, PanelSnapshot, QueueEntryView, clinic_today, panel_snapshot,
};
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::queue::{CheckInRequest, check_in, sync_appointment, tracker_for};
use crate::app::state::AppState;
use crate::domain::queue::QueueAction;
use crate::domain::{ClinicId, Role, UserId, ValidationError};
use crate::security::audit::AuditEvent;

/// A new entry, with the link the patient follows their place in line with.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckedInView {
    #[serde(flatten)]
    pub entry: QueueEntryView,
    /// The phone page: `/#/fila/<tracker>`.
    pub tracker_path: String,
    /// Signed, valid for a day: authenticates the WebSocket as `{"tracker": …}`.
    pub tracker: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallNextRequest {
    /// Where the patient should go, e.g. `Consultório 2`.
    pub room: String,
    /// Staff calling on behalf of a professional; a professional calls for themself.
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActRequest {
    /// For `transfer`: the professional who takes over.
    #[serde(default)]
    pub to: Option<UserId>,
}

/// Refuse with `not_a_professional` (and `message`) unless `user` is one in `clinic`.
async fn require_professional(
    state: &AppState,
    clinic: ClinicId,
    user: UserId,
    message: &'static str,
) -> Result<(), AppError> {
    if state.store.is_professional_in(clinic, user).await? {
        Ok(())
    } else {
        Err(ValidationError::new("not_a_professional", message).into())
    }
}

/// Today's entries (clinic time zone): waiting in call order, then called, in service,
/// and finished.
pub async fn board(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Vec<QueueEntryView>, AppError> {
    auth.require_staff(clinic)?;
    let tz = clinic_tz(state, clinic).await?;
    let entries = state
        .store
        .queue_for_day(clinic, clinic_today(state.clock.as_ref(), tz))
        .await?;
    Ok(entries.iter().map(QueueEntryView::from).collect())
}

/// Check someone in at the desk, and hand out their tracker link.
pub async fn check_in_at_desk(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: &CheckInRequest,
) -> Result<CheckedInView, AppError> {
    let entry = check_in(state, auth, clinic, body).await?;
    let tracker = tracker_for(state, entry.id);
    Ok(CheckedInView {
        entry: QueueEntryView::from(&entry),
        tracker_path: format!("/#/fila/{tracker}"),
        tracker,
    })
}

/// Call the next patient for a professional to a room; two callers at once never get the
/// same patient (the queue actor serializes them). The professional's previous call (called
/// or in service) is finished by this one, so exactly one call per professional is current.
pub async fn call_next(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: CallNextRequest,
) -> Result<QueueEntryView, AppError> {
    auth.require_staff(clinic)?;
    let room = body.room.trim().to_string();
    if room.is_empty() || room.chars().count() > 40 || room.chars().any(char::is_control) {
        return Err(
            ValidationError::new("invalid_room", "informe a sala (até 40 caracteres)").into(),
        );
    }
    let professional = match body.professional_user_id {
        Some(p) if p != auth.user_id => {
            auth.require_role(clinic, &[Role::ClinicAdmin, Role::Receptionist])?;
            p
        }
        _ => auth.user_id,
    };
    call(state, auth, clinic, professional, room, None).await
}

/// The professional calls one waiting patient of theirs by name (starting that visit from
/// "Meu dia"), to the room they last called anyone to at this clinic ("Consultório" when
/// they never did): the same call as [`call_next`] — the panel shows it and their previous
/// call ends — for that entry rather than the next in line.
pub async fn call_patient(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    entry: uuid::Uuid,
) -> Result<QueueEntryView, AppError> {
    auth.require_staff(clinic)?;
    let room = state
        .store
        .last_room_of(clinic, auth.user_id)
        .await?
        .unwrap_or_else(|| "Consultório".to_string());
    call(state, auth, clinic, auth.user_id, room, Some(entry)).await
}

async fn call(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    professional: UserId,
    room: String,
    entry: Option<uuid::Uuid>,
) -> Result<QueueEntryView, AppError> {
    require_professional(
        state,
        clinic,
        professional,
        "apenas profissionais chamam pacientes",
    )
    .await?;
    let called = state
        .registry
        .queue(clinic)
        .send(CallNext {
            by: auth.user_id,
            professional,
            audit: AuditEvent::new(Some(auth.user_id), "queue.call", "queue_entry")
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"room": room, "professional_user_id": professional})),
            room,
            entry,
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    // The calls this one finished carry their end to their appointments (attended).
    for prev in &called.finished {
        sync_appointment(state, prev, QueueAction::Finish).await;
    }
    Ok(QueueEntryView::from(&called.entry))
}

/// Move one entry (`action` as its route names it: recall, start, finish, no-show,
/// return, leave, transfer) and carry the move to its appointment, if it has one.
pub async fn act_on_entry(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    entry: uuid::Uuid,
    action: &str,
    body: ActRequest,
) -> Result<QueueEntryView, AppError> {
    auth.require_staff(clinic)?;
    let action = QueueAction::parse(action)
        .ok_or_else(|| ValidationError::new("unknown_action", "ação desconhecida"))?;
    let to = body.to;
    if action == QueueAction::Transfer {
        let Some(p) = to else {
            return Err(ValidationError::new(
                "not_a_professional",
                "informe para quem transferir (to)",
            )
            .into());
        };
        require_professional(
            state,
            clinic,
            p,
            "a pessoa indicada não é profissional desta clínica",
        )
        .await?;
    }
    let entry = state
        .registry
        .queue(clinic)
        .send(Act {
            entry,
            action,
            to,
            audit: AuditEvent::new(Some(auth.user_id), action.audit_action(), "queue_entry")
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"to": to})),
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    sync_appointment(state, &entry, action).await;
    Ok(QueueEntryView::from(&entry))
}

/// The redacted panel snapshot as `clinic:<id>:panel` carries it, for staff screens.
pub async fn staff_panel(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<PanelSnapshot, AppError> {
    auth.require_staff(clinic)?;
    let tz = clinic_tz(state, clinic).await?;
    let topic = Topic::ClinicQueue(clinic).to_string();
    let version = state.store.topic_head(&topic).await?;
    Ok(panel_snapshot(&state.store, state.clock.as_ref(), clinic, tz, version).await?)
}
