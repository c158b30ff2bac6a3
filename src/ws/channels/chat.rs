//! `chat:<room>`: a conversation's members join it; they send, edit and delete messages,
//! mark what they read and say they are typing. Messages are stored by the room's
//! `ChatRoom` actor before anyone else sees them (see `app::chat`).

use actix_web::web;
use serde_json::{Value, json};

use super::{Reply, SessionUser, unknown_event};
use crate::actors::protocol::{ClientFrame, WsError};
use crate::app::caller::Auth;
use crate::app::chat::live::{self as chat, Member};
use crate::app::state::AppState;
use crate::domain::{ChatRoomId, UserId};

/// Members only; the role is how they appear in the room's presence.
pub async fn authorize(
    state: &AppState,
    auth: &Auth,
    room: ChatRoomId,
) -> Result<&'static str, WsError> {
    chat::join_role(state, auth, room).await
}

/// Staff reading a patient conversation's past (a replay on join) is audited, as over HTTP.
pub fn audit_replay(
    state: &web::Data<AppState>,
    user_id: UserId,
    ip: Option<String>,
    room: ChatRoomId,
    count: usize,
) {
    let state = state.clone();
    actix::spawn(async move {
        if let Err(e) = chat::audit_replay(&state, user_id, ip, room, count).await {
            tracing::error!(error = %e, "cannot audit chat replay");
        }
    });
}

fn uuid_field(payload: &Value, name: &str) -> Option<uuid::Uuid> {
    payload
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn invalid(message: &'static str) -> Reply {
    Reply::Now(Err(WsError::new("invalid_payload", message)))
}

/// A member's event on the room.
pub fn event(
    state: &web::Data<AppState>,
    room: ChatRoomId,
    user: &SessionUser,
    frame: ClientFrame,
) -> Reply {
    let who = Member {
        user_id: user.0,
        name: user.2.clone(),
    };
    let p = &frame.payload;
    let state = state.clone();
    match frame.event.as_str() {
        "message.send" => {
            let client_id = uuid_field(p, "client_id");
            let body = p
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let attachment_id = uuid_field(p, "attachment_id");
            let bad_attachment =
                p.get("attachment_id").is_some_and(|v| !v.is_null()) && attachment_id.is_none();
            let Some(client_id) = client_id.filter(|_| !bad_attachment) else {
                return invalid(
                    "informe client_id (UUID), body (texto) e, se houver, attachment_id (UUID)",
                );
            };
            Reply::later(async move {
                let p =
                    chat::send_message(&state, room, &who, client_id, body, attachment_id).await?;
                Ok(
                    json!({"seq": p.seq, "id": p.id, "created_at": p.created_at, "duplicate": p.duplicate}),
                )
            })
        }
        "message.edit" => {
            let id = uuid_field(p, "id");
            let body = p.get("body").and_then(Value::as_str).map(str::to_owned);
            let (Some(id), Some(body)) = (id, body) else {
                return invalid("informe id (UUID) e body (texto)");
            };
            Reply::later(async move {
                let at = chat::edit_message(&state, room, &who, id, body).await?;
                Ok(json!({"edited_at": at}))
            })
        }
        "message.delete" => {
            let Some(id) = uuid_field(p, "id") else {
                return invalid("informe id (UUID)");
            };
            Reply::later(async move {
                let at = chat::delete_message(&state, room, &who, id).await?;
                Ok(json!({"deleted_at": at}))
            })
        }
        "read" => {
            let Some(seq) = p.get("seq").and_then(Value::as_i64).filter(|s| *s >= 0) else {
                return invalid("informe seq (inteiro >= 0)");
            };
            Reply::later(async move {
                let read = chat::mark_read(&state, room, &who, seq).await?;
                Ok(json!({"last_read_seq": read.last_read_seq, "unread": read.unread}))
            })
        }
        "typing" => {
            chat::typing(&state, room, &who);
            Reply::Now(Ok(json!({})))
        }
        other => unknown_event(other),
    }
}
