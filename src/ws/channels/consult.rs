//! `consult:<appointment>`: a teleconsultation's room. Its professional and patient join
//! with their accounts; the patient (without an account) and invited guests join with
//! their links. Waiting room, admission, WebRTC signaling, the in-call chat and the end all
//! go through the appointment's `ConsultSession` actor.

use actix_web::web;

use super::{Peer, Reply, unknown_event};
use crate::actors::consult::{
    Admit, Chat, End, Enter, Side, Signal, UseRelay, open_appointment, participant_key,
};
use crate::actors::protocol::{ClientFrame, WsError};
use crate::app::caller::Auth;
use crate::app::guests::Guest;
use crate::app::state::AppState;

/// Its professional and its patient; anyone else is told it does not exist.
pub async fn authorize(
    state: &AppState,
    auth: &Auth,
    appointment: uuid::Uuid,
) -> Result<&'static str, WsError> {
    let view = open_appointment(&state.store, appointment).await?;
    if view.a.professional_user_id == auth.user_id {
        Ok("professional")
    } else if auth.patient_id == Some(view.a.patient_id) {
        Ok("patient")
    } else {
        // Someone else's session: as if it did not exist.
        Err(WsError::not_found("teleconsulta não encontrada"))
    }
}

fn restarting() -> WsError {
    WsError::unavailable("sessão reiniciando; tente de novo")
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
    let addr = state.registry.consult(appointment);
    let by = peer.user.map(|u| u.0);
    // Who speaks in the chat, and under which name `enter` lists them: the account's
    // or the guest's name; a link patient enters as the appointment's patient (None).
    let (shown, guest, link_patient) = match (peer.user, peer.guest) {
        (Some(u), _) => (u.2.clone(), None, false),
        (None, Some(Guest::Consult { name, guest, .. })) => (name.clone(), *guest, guest.is_none()),
        _ => (String::new(), None, false),
    };
    let who = participant_key(side, guest);
    let name = (!link_patient).then(|| shown.clone());
    let payload = frame.payload;
    match frame.event.as_str() {
        "enter" => Reply::later(async move {
            addr.send(Enter { side, name })
                .await
                .map_err(|_| restarting())?
        }),
        "admit" => {
            Reply::later(async move { addr.send(Admit { side }).await.map_err(|_| restarting())? })
        }
        "signal" => Reply::later(async move {
            addr.send(Signal { side, payload })
                .await
                .map_err(|_| restarting())?
        }),
        "end" => Reply::later(async move {
            addr.send(End { side, by })
                .await
                .map_err(|_| restarting())?
        }),
        "use-relay" => {
            Reply::later(async move { addr.send(UseRelay).await.map_err(|_| restarting())? })
        }
        "chat" => Reply::later(async move {
            addr.send(Chat {
                side,
                who,
                name: shown,
                payload,
            })
            .await
            .map_err(|_| restarting())?
        }),
        other => unknown_event(other),
    }
}
