//! `chat:<room>`: a conversation's members join it; they send, edit and delete messages,
//! mark what they read and say they are typing. Messages are stored by the room's
//! `ChatRoom` actor before anyone else sees them.

use actix_web::web;
use serde_json::{Value, json};

use super::{Reply, SessionUser, unknown_event};
use crate::actors::chat::{DeleteMessage, EditMessage, PostMessage, is_member};
use crate::actors::protocol::{ClientFrame, Topic, WsError};
use crate::app::caller::Auth;
use crate::app::state::AppState;
use crate::bus::TopicEvent;
use crate::domain::{ChatRoomId, UserId};
use crate::security::audit::AuditEvent;

/// Members only; the role is how they appear in the room's presence.
pub async fn authorize(
    state: &AppState,
    auth: &Auth,
    room: ChatRoomId,
) -> Result<&'static str, WsError> {
    let room = state
        .store
        .chat_room(room)
        .await?
        .ok_or_else(|| WsError::not_found("conversa não encontrada"))?;
    if !is_member(&state.store, &room, auth.user_id).await? {
        return Err(WsError::forbidden());
    }
    Ok(if room.professional_user_id == Some(auth.user_id) {
        "professional"
    } else if room.kind == "patient" {
        "patient"
    } else {
        "staff"
    })
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
        let Ok(Some(r)) = state.store.chat_room(room).await else {
            return;
        };
        if r.kind != "patient" {
            return;
        }
        let event = AuditEvent::new(Some(user_id), "chat.history_read", "chat_room")
            .entity_id(room)
            .clinic(r.clinic_id)
            .ip(ip)
            .details(json!({"messages": count, "via": "websocket_replay"}));
        if let Err(e) = state.store.record_audit(&event).await {
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

fn restarting() -> WsError {
    WsError::unavailable("conversa reiniciando; tente de novo")
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
    let (user_id, name) = (user.0, user.2.clone());
    let p = &frame.payload;
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
            let msg = PostMessage {
                sender: user_id,
                sender_name: name,
                client_id,
                body,
                attachment_id,
            };
            let addr = state.registry.chat(room);
            Reply::later(async move {
                let p = addr.send(msg).await.map_err(|_| restarting())??;
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
            let addr = state.registry.chat(room);
            Reply::later(async move {
                let at = addr
                    .send(EditMessage {
                        editor: user_id,
                        id,
                        body,
                    })
                    .await
                    .map_err(|_| restarting())??;
                Ok(json!({"edited_at": at}))
            })
        }
        "message.delete" => {
            let Some(id) = uuid_field(p, "id") else {
                return invalid("informe id (UUID)");
            };
            let addr = state.registry.chat(room);
            Reply::later(async move {
                let at = addr
                    .send(DeleteMessage {
                        editor: user_id,
                        id,
                    })
                    .await
                    .map_err(|_| restarting())??;
                Ok(json!({"deleted_at": at}))
            })
        }
        "read" => {
            let Some(seq) = p.get("seq").and_then(Value::as_i64).filter(|s| *s >= 0) else {
                return invalid("informe seq (inteiro >= 0)");
            };
            let state = state.clone();
            let topic = frame.topic.clone();
            Reply::later(async move {
                let head = state.store.topic_head(&topic).await?;
                let last = state
                    .store
                    .mark_chat_read(room, user_id, seq.min(head))
                    .await?;
                let unread = state.store.chat_unread(room, user_id).await?;
                state.bus.publish(TopicEvent {
                    topic: topic.clone(),
                    event: "chat.read".into(),
                    seq: None,
                    payload: json!({"user_id": user_id, "seq": last}),
                });
                state.bus.publish(TopicEvent {
                    topic: Topic::User(user_id).to_string(),
                    event: "chat.unread".into(),
                    seq: None,
                    payload: json!({"room_id": room, "unread": unread, "last_seq": head,
                                    "last_read_seq": last}),
                });
                Ok(json!({"last_read_seq": last, "unread": unread}))
            })
        }
        "typing" => {
            state.bus.publish(TopicEvent {
                topic: frame.topic.clone(),
                event: "chat.typing".into(),
                seq: None,
                payload: json!({"user_id": user_id, "name": name}),
            });
            Reply::Now(Ok(json!({})))
        }
        other => unknown_event(other),
    }
}
