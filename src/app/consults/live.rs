//! What participants do live on a teleconsultation's topic (`consult:<id>`): enter (the
//! patient into the waiting room), admit, relay WebRTC signaling, end the call, move it onto
//! the media relay, and chat. Each goes through the appointment's `ConsultSession` actor,
//! which stores the change (and its audit row) before anyone is told.

use serde_json::Value;

use crate::actors::consult::view::ConsultState;
use crate::actors::consult::{Admit, Chat, End, Enter, Signal, UseRelay};
use crate::actors::protocol::WsError;
use crate::app::agenda::visit::advance_visit;
use crate::app::state::AppState;
use crate::domain::UserId;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::consult::{Side, participant_key};
use crate::security::audit::AuditEvent;

/// Someone on the topic: their side, their account (none for a link), the name they are
/// shown with, and, for an invited guest, their invitation.
#[derive(Debug, Clone)]
pub struct Participant {
    pub side: Side,
    pub user: Option<UserId>,
    pub name: String,
    pub guest: Option<uuid::Uuid>,
    /// The patient on their link (no account): they enter under the appointment's name.
    pub link_patient: bool,
}

fn restarting() -> WsError {
    WsError::unavailable("sessão reiniciando; tente de novo")
}

/// Enter the session after joining its topic: the patient's first entry puts them in the
/// waiting room.
pub async fn enter(
    state: &AppState,
    id: uuid::Uuid,
    who: &Participant,
) -> Result<ConsultState, WsError> {
    let name = (!who.link_patient).then(|| who.name.clone());
    state
        .registry
        .consult(id)
        .send(Enter {
            side: who.side,
            name,
        })
        .await
        .map_err(|_| restarting())?
}

/// The professional lets the waiting patient in: the appointment is in progress (the
/// agenda shows it live).
pub async fn admit(state: &AppState, id: uuid::Uuid, side: Side) -> Result<ConsultState, WsError> {
    let admitted = state
        .registry
        .consult(id)
        .send(Admit { side })
        .await
        .map_err(|_| restarting())??;
    advance_visit(state, id, AppointmentStatus::InProgress).await;
    Ok(admitted)
}

/// Relay an offer, answer, ICE candidate or restart request to the other side.
pub async fn signal(
    state: &AppState,
    id: uuid::Uuid,
    side: Side,
    payload: Value,
) -> Result<(), WsError> {
    state
        .registry
        .consult(id)
        .send(Signal { side, payload })
        .await
        .map_err(|_| restarting())?
}

/// The professional ends the call (audited with the call's times and participants): the
/// appointment is attended (`done`), and the agenda shows it live.
pub async fn end(
    state: &AppState,
    id: uuid::Uuid,
    who: &Participant,
) -> Result<ConsultState, WsError> {
    let audit = AuditEvent::new(who.user, "consult.end", "appointment").entity_id(id);
    let ended = state
        .registry
        .consult(id)
        .send(End {
            side: who.side,
            audit,
        })
        .await
        .map_err(|_| restarting())??;
    advance_visit(state, id, AppointmentStatus::Done).await;
    Ok(ended)
}

/// Route the call's media through the relay from now on.
pub async fn use_relay(state: &AppState, id: uuid::Uuid) -> Result<ConsultState, WsError> {
    state
        .registry
        .consult(id)
        .send(UseRelay)
        .await
        .map_err(|_| restarting())?
}

/// A message in the call's chat (`{client_id, body}`); the reply is `{id, seq}`.
pub async fn chat(
    state: &AppState,
    id: uuid::Uuid,
    who: &Participant,
    payload: Value,
) -> Result<Value, WsError> {
    state
        .registry
        .consult(id)
        .send(Chat {
            side: who.side,
            who: participant_key(who.side, who.guest),
            name: who.name.clone(),
            payload,
        })
        .await
        .map_err(|_| restarting())?
}
