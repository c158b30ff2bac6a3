//! What each topic allows: who may join it (and with which role in its presence), and
//! what a client may send on it. The socket session (`ws::session`) knows frames,
//! heartbeats and subscriptions; a channel's rules live here, one file per kind of topic.

pub mod chat;
pub mod clinic;
pub mod consult;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::actors::consult::open_appointment;
use crate::actors::protocol::{ClientFrame, Topic, WsError};
use crate::app::caller::Auth;
use crate::app::consults::current_invitation;
use crate::app::guests::Guest;
use crate::app::state::AppState;
use crate::domain::{SessionId, UserId};

/// A connection's logged-in user: account, login session, name shown to others.
pub type SessionUser = (UserId, SessionId, String);

/// Who sent a frame, as a channel sees the connection.
pub struct Peer<'a> {
    pub user: Option<&'a SessionUser>,
    pub guest: Option<&'a Guest>,
}

/// A channel's answer to a client event: now, or once some work is done.
pub enum Reply {
    Now(Result<Value, WsError>),
    Later(Pin<Box<dyn Future<Output = Result<Value, WsError>>>>),
}

impl Reply {
    pub fn later(work: impl Future<Output = Result<Value, WsError>> + 'static) -> Self {
        Reply::Later(Box::pin(work))
    }
}

/// The reply to an event no channel knows.
pub fn unknown_event(event: &str) -> Reply {
    Reply::Now(Err(WsError::new(
        "unknown_event",
        format!("evento desconhecido: {event}"),
    )))
}

/// May this user join this topic? On success, the role they appear with in presence.
pub async fn authorize(
    state: &AppState,
    auth: &Auth,
    topic: &Topic,
) -> Result<&'static str, WsError> {
    match topic {
        Topic::User(u) if *u == auth.user_id => Ok("self"),
        Topic::User(_) => Err(WsError::forbidden()),
        Topic::ClinicAgenda(c) | Topic::ClinicQueue(c) => clinic::authorize_staff(auth, *c),
        Topic::ClinicPanel(c) => clinic::authorize_panel(state, auth, *c).await,
        // Public: free slots are on the clinic's booking page anyway.
        Topic::ClinicSlots(_) => Ok("public"),
        Topic::Chat(room) => chat::authorize(state, auth, *room).await,
        Topic::Consult(id) => consult::authorize(state, auth, *id).await,
    }
}

/// May this guest (still) join this topic?
pub async fn authorize_guest(
    state: &AppState,
    guest: &Guest,
    topic: &Topic,
) -> Result<&'static str, WsError> {
    if let Topic::ClinicSlots(_) = topic {
        return Ok("public");
    }
    if let (
        Topic::Consult(id),
        Guest::Consult {
            appointment,
            guest: invited,
            ..
        },
    ) = (topic, guest)
    {
        if id != appointment {
            return Err(WsError::forbidden());
        }
        // Re-checked at every (re)join: a cancelled or moved appointment, or a revoked
        // invitation, closes the door.
        open_appointment(&state.store, *id).await?;
        if let Some(invited) = invited {
            current_invitation(state, *invited).await?;
        }
        return Ok(if invited.is_some() {
            "guest"
        } else {
            "patient"
        });
    }
    let Topic::ClinicPanel(c) = topic else {
        return Err(WsError::forbidden());
    };
    if Some(*c) != guest.clinic() {
        return Err(WsError::forbidden());
    }
    // Re-check the credential: a replaced panel secret or a removed entry cuts access.
    let still = match guest {
        Guest::Panel { token_hash, .. } => {
            state.store.clinic_by_panel_hash(token_hash).await? == Some(*c)
        }
        Guest::Tracker { entry, .. } => state.store.queue_entry(*entry).await?.is_some(),
        Guest::Anonymous | Guest::Consult { .. } => false,
    };
    if !still {
        return Err(WsError::unauthorized(
            "invalid_token",
            "link inválido ou expirado",
        ));
    }
    Ok(match guest {
        Guest::Panel { .. } => "panel",
        _ => "patient",
    })
}

/// A client event on a joined topic; `None` when the connection may not send there (a
/// guest on a topic other than its teleconsultation) and nothing is answered.
pub fn event(
    state: &actix_web::web::Data<AppState>,
    topic: Topic,
    role: &'static str,
    peer: Peer<'_>,
    frame: ClientFrame,
) -> Option<Reply> {
    if let Topic::Consult(appointment) = topic {
        return Some(consult::event(state, appointment, role, peer, frame));
    }
    let user = peer.user?;
    Some(match topic {
        Topic::Chat(room) => chat::event(state, room, user, frame),
        _ => unknown_event(&frame.event),
    })
}
