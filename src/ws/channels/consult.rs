//! `consult:<appointment>`: a teleconsultation's room. Its professional and patient join
//! with their accounts; the patient (without an account) and invited guests join with
//! their links. Waiting room, admission, WebRTC signaling, the in-call chat and the end all
//! go through the appointment's `ConsultSession` actor.

use actix_web::web;

use super::{Peer, Reply, unknown_event};
use crate::actors::consult::open_appointment;
use crate::actors::protocol::{ClientFrame, WsError};
use crate::app::caller::Auth;
use crate::app::consults::live::{self, Participant};
use crate::app::guests::Guest;
use crate::app::state::AppState;
use crate::domain::consult::Side;

/// Its professional and its patient; anyone else is told it does not exist.
pub async fn authorize(
    state: &AppState,
    auth: &Auth,
    appointment: uuid::Uuid,
) -> Result<&'static str, WsError> {
    let view = open_appointment(&state.store, appointment).await?;
    if view.a.professional_user_id == auth.user_id {
        Ok("professional")
    } else if auth.owns_patient(view.a.patient_id) {
        Ok("patient")
    } else {
        // Someone else's session: as if it did not exist.
        Err(WsError::not_found("teleconsulta não encontrada"))
    }
}

/// An event on a teleconsultation topic: `enter`, `admit`, `signal`, `end`, `use-relay`,
/// `chat`.
pub fn event(
    state: &web::Data<AppState>,
    appointment: uuid::Uuid,
    role: &'static str,
    peer: Peer<'_>,
    frame: ClientFrame,
) -> Reply {
    let Some(side) = Side::from_role(role) else {
        return Reply::Now(Err(WsError::forbidden()));
    };
    // Who speaks in the chat, and under which name `enter` lists them: the account's
    // or the guest's name; a link patient enters as the appointment's patient.
    let (name, guest, link_patient) = match (peer.user, peer.guest) {
        (Some(u), _) => (u.2.clone(), None, false),
        (None, Some(Guest::Consult { name, guest, .. })) => (name.clone(), *guest, guest.is_none()),
        _ => (String::new(), None, false),
    };
    let who = Participant {
        side,
        user: peer.user.map(|u| u.0),
        name,
        guest,
        link_patient,
    };
    let (state, id, payload) = (state.clone(), appointment, frame.payload);
    match frame.event.as_str() {
        "enter" => {
            Reply::later(async move { live::enter(&state, id, &who).await.map(|s| s.to_json()) })
        }
        "admit" => {
            Reply::later(async move { live::admit(&state, id, side).await.map(|s| s.to_json()) })
        }
        "signal" => Reply::later(async move {
            live::signal(&state, id, side, payload).await?;
            Ok(serde_json::json!({}))
        }),
        "end" => {
            Reply::later(async move { live::end(&state, id, &who).await.map(|s| s.to_json()) })
        }
        "use-relay" => {
            Reply::later(async move { live::use_relay(&state, id).await.map(|s| s.to_json()) })
        }
        "chat" => Reply::later(async move { live::chat(&state, id, &who, payload).await }),
        other => unknown_event(other),
    }
}
