//! What members do live on a room's topic (`chat:<room>`): join, send, edit and delete
//! messages (each stored by the room's `ChatRoom` actor, edits and deletions with their
//! audit row), mark what they read, and say they are typing.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::actors::chat::{DeleteMessage, EditMessage, PostMessage, Posted, is_member};
use crate::actors::protocol::{Topic, WsError};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::bus::TopicEvent;
use crate::domain::{ChatRoomId, UserId};
use crate::security::audit::AuditEvent;

/// Staff replaying a patient conversation's past on join is audited, as over HTTP.
pub async fn audit_replay(
    state: &AppState,
    user_id: UserId,
    ip: Option<String>,
    room: ChatRoomId,
    count: usize,
) -> Result<(), AppError> {
    let Some(r) = state.store.chat_room(room).await? else {
        return Ok(());
    };
    if r.kind != "patient" {
        return Ok(());
    }
    let event = AuditEvent::new(Some(user_id), "chat.history_read", "chat_room")
        .entity_id(room)
        .clinic(r.clinic_id)
        .ip(ip)
        .details(json!({"messages": count, "via": "websocket_replay"}));
    state.store.record_audit(&event).await?;
    Ok(())
}

/// A room member on its topic.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
}

fn restarting() -> WsError {
    WsError::unavailable("conversa reiniciando; tente de novo")
}

/// May this user join the room's topic? Members only; the role is how they appear in the
/// room's presence.
pub async fn join_role(
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

/// Post a message (stored before anyone sees it; a retry with the same client id is not
/// stored twice). A saturated room or node refuses it at once with `overloaded` and a retry
/// hint; it is acknowledged only once stored.
pub async fn send_message(
    state: &AppState,
    room: ChatRoomId,
    who: &Member,
    client_id: uuid::Uuid,
    body: String,
    attachment_id: Option<uuid::Uuid>,
) -> Result<Posted, WsError> {
    let (addr, _place) = state.registry.chat_admitted(room)?;
    addr.send(PostMessage {
        sender: who.user_id,
        sender_name: who.name.clone(),
        client_id,
        body,
        attachment_id,
    })
    .await
    .map_err(|_| restarting())?
}

/// Change the text of one's own message within the edit window (audited).
pub async fn edit_message(
    state: &AppState,
    room: ChatRoomId,
    who: &Member,
    id: uuid::Uuid,
    body: String,
) -> Result<DateTime<Utc>, WsError> {
    let audit =
        AuditEvent::new(Some(who.user_id), "chat.message_edited", "chat_message").entity_id(id);
    state
        .registry
        .chat(room)
        .send(EditMessage {
            editor: who.user_id,
            id,
            body,
            audit,
        })
        .await
        .map_err(|_| restarting())?
}

/// Withdraw one's own message within the edit window (audited).
pub async fn delete_message(
    state: &AppState,
    room: ChatRoomId,
    who: &Member,
    id: uuid::Uuid,
) -> Result<DateTime<Utc>, WsError> {
    let audit =
        AuditEvent::new(Some(who.user_id), "chat.message_deleted", "chat_message").entity_id(id);
    state
        .registry
        .chat(room)
        .send(DeleteMessage {
            editor: who.user_id,
            id,
            audit,
        })
        .await
        .map_err(|_| restarting())?
}

/// Where a member's reading now stands in a room.
#[derive(Debug)]
pub struct ReadState {
    pub last_read_seq: i64,
    pub unread: i64,
}

/// Mark the room read up to `seq` (never past its head): the room's topic hears of it
/// (`chat.read`), and the reader's own unread count is pushed to their `user:` topic.
/// The topic is the room's canonical one, never the client's spelling of it (a UUID in
/// capitals names the same room but another topic, whose head is 0).
pub async fn mark_read(
    state: &AppState,
    room: ChatRoomId,
    who: &Member,
    seq: i64,
) -> Result<ReadState, WsError> {
    let topic = Topic::Chat(room).to_string();
    let head = state.store.topic_head(&topic).await?;
    let last = state
        .store
        .mark_chat_read(room, who.user_id, seq.min(head))
        .await?;
    let unread = state.store.chat_unread(room, who.user_id).await?;
    state.bus.publish(TopicEvent {
        topic,
        event: "chat.read".into(),
        seq: None,
        payload: json!({"user_id": who.user_id, "seq": last}),
    });
    state.bus.publish(TopicEvent {
        topic: Topic::User(who.user_id).to_string(),
        event: "chat.unread".into(),
        seq: None,
        payload: json!({"room_id": room, "unread": unread, "last_seq": head,
                        "last_read_seq": last}),
    });
    Ok(ReadState {
        last_read_seq: last,
        unread,
    })
}

/// Tell the room's topic that the member is typing (not stored).
pub fn typing(state: &AppState, room: ChatRoomId, who: &Member) {
    state.bus.publish(TopicEvent {
        topic: Topic::Chat(room).to_string(),
        event: "chat.typing".into(),
        seq: None,
        payload: json!({"user_id": who.user_id, "name": who.name}),
    });
}
