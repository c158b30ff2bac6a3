//! Chat use cases. Rooms: one per patient–professional pair in a clinic, plus a staff room
//! per clinic (created on first use). Over HTTP: the caller's rooms, opening a patient's
//! room, a page of history (a staff read of a patient conversation is audited), attachments
//! (checked by content, served to members only) and a professional's office hours. Live on
//! the `chat:<room>` topic: send, edit, delete (each stored by the room's `ChatRoom` actor,
//! edits and deletions with their audit row), read positions and typing.

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest as _;

use crate::actors::chat::{
    ChatMessageView, DeleteMessage, EditMessage, PostMessage, Posted, is_member,
};
use crate::actors::protocol::{Topic, WsError};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::bus::TopicEvent;
use crate::domain::office_hours::OfficeHours;
use crate::domain::{ChatRoomId, ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store;
use crate::store::chat::{AttachmentMeta, ChatRoomListRow, ChatRoomRow};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatRoomView {
    pub id: ChatRoomId,
    /// The WebSocket topic to join: `chat:<id>`.
    pub topic: String,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    /// `patient` (a patient and a professional) or `staff` (the clinic's team).
    pub kind: String,
    pub patient_id: Option<PatientId>,
    pub patient_name: Option<String>,
    pub professional_user_id: Option<UserId>,
    pub professional_name: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Messages from others the caller has not read.
    pub unread: i64,
    /// The room topic's latest seq.
    pub last_seq: i64,
    /// Patient rooms: whether the professional is within their office hours now (null when
    /// they set none), and their note for patients.
    pub professional_available: Option<bool>,
    pub office_hours_note: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRoomRequest {
    pub patient_id: PatientId,
    pub professional_user_id: UserId,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// Only messages with a seq below this (default: the newest).
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size, 1–100 (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadPosition {
    pub user_id: UserId,
    pub last_read_seq: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryResponse {
    /// Oldest first. Each is shaped like a `chat.message` push payload plus its `seq`.
    pub messages: Vec<ChatMessageView>,
    /// Every participant's read position (read receipts).
    pub reads: Vec<ReadPosition>,
    pub last_seq: i64,
    /// Pass as `before` for the previous page; null when this page reaches the start.
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: uuid::Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// A stored file and its bytes, for a member of its room.
pub struct Attachment {
    pub meta: AttachmentMeta,
    pub data: Vec<u8>,
}

fn room_topic(room: ChatRoomId) -> String {
    Topic::Chat(room).to_string()
}

async fn room_view(
    state: &AppState,
    viewer: UserId,
    r: ChatRoomListRow,
) -> Result<ChatRoomView, AppError> {
    let topic = room_topic(r.room.id);
    let unread = state.store.chat_unread(r.room.id, viewer).await?;
    let last_seq = state.store.topic_head(&topic).await?;
    let hours = match r.room.professional_user_id {
        Some(p) => state
            .store
            .office_hours(p)
            .await?
            .and_then(|j| serde_json::from_str::<OfficeHours>(&j).ok()),
        None => None,
    };
    Ok(ChatRoomView {
        topic,
        id: r.room.id,
        clinic_id: r.room.clinic_id,
        clinic_name: r.clinic_name,
        kind: r.room.kind,
        patient_id: r.room.patient_id,
        patient_name: r.patient_name,
        professional_user_id: r.room.professional_user_id,
        professional_name: r.professional_name,
        created_at: r.room.created_at,
        unread,
        last_seq,
        professional_available: hours.as_ref().map(|h| h.is_open(Utc::now())),
        office_hours_note: hours.and_then(|h| h.note),
    })
}

/// The rooms the caller belongs to (the staff room of each clinic they work in is created
/// on first use).
pub async fn my_rooms(state: &AppState, auth: &Auth) -> Result<Vec<ChatRoomView>, AppError> {
    let mut clinics: Vec<ClinicId> = auth.roles.iter().map(|(c, _)| *c).collect();
    clinics.dedup();
    for clinic in clinics {
        state
            .store
            .ensure_chat_room(&ChatRoomRow {
                id: ChatRoomId::new(),
                clinic_id: clinic,
                kind: "staff".into(),
                patient_id: None,
                professional_user_id: None,
                created_at: store::now(),
            })
            .await?;
    }
    let mut rooms = Vec::new();
    for r in state.store.chat_rooms_of(auth.user_id).await? {
        rooms.push(room_view(state, auth.user_id, r).await?);
    }
    Ok(rooms)
}

/// The room of a patient and a professional of the clinic (staff only; created if new).
pub async fn open_room(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: OpenRoomRequest,
) -> Result<ChatRoomView, AppError> {
    auth.require_staff(clinic)?;
    if state
        .store
        .clinic_patient(clinic, body.patient_id)
        .await?
        .is_none()
    {
        return Err(ValidationError::new(
            "patient_not_registered",
            "paciente não cadastrado nesta clínica",
        )
        .into());
    }
    if !state
        .store
        .is_professional_in(clinic, body.professional_user_id)
        .await?
    {
        return Err(ValidationError::new(
            "not_a_professional",
            "a pessoa indicada não é profissional desta clínica",
        )
        .into());
    }
    let room = state
        .store
        .ensure_chat_room(&ChatRoomRow {
            id: ChatRoomId::new(),
            clinic_id: clinic,
            kind: "patient".into(),
            patient_id: Some(body.patient_id),
            professional_user_id: Some(body.professional_user_id),
            created_at: store::now(),
        })
        .await?;
    let row = state
        .store
        .chat_rooms_of(body.professional_user_id)
        .await?
        .into_iter()
        .find(|r| r.room.id == room.id)
        .ok_or(AppError::NotFound)?;
    room_view(state, auth.user_id, row).await
}

/// The room, if the caller belongs to it (403 otherwise, 404 when there is no such room).
async fn member_room(
    state: &AppState,
    auth: &Auth,
    room: ChatRoomId,
) -> Result<ChatRoomRow, AppError> {
    let row = state
        .store
        .chat_room(room)
        .await?
        .ok_or(AppError::NotFound)?;
    if is_member(&state.store, &row, auth.user_id).await? {
        Ok(row)
    } else {
        Err(AppError::Forbidden)
    }
}

/// A page of a room's messages, newest page first, each page oldest first. Staff reading
/// a patient conversation is audited.
pub async fn history(
    state: &AppState,
    auth: &Auth,
    room: ChatRoomId,
    query: HistoryQuery,
) -> Result<HistoryResponse, AppError> {
    let room = member_room(state, auth, room).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ValidationError::new("invalid_query", "limit deve ser de 1 a 100").into());
    }
    let before = query.before.unwrap_or(i64::MAX);
    let rows = state.store.chat_history(room.id, before, limit).await?;
    let mut messages = Vec::with_capacity(rows.len());
    for m in &rows {
        let body = if m.deleted_at.is_some() {
            None
        } else {
            Some(state.cipher.decrypt(&m.body_enc)?)
        };
        let mut view = ChatMessageView::of(room.id, m, body.as_deref());
        view.seq = Some(m.seq);
        messages.push(view);
    }
    let next_before = match rows.first() {
        Some(first) if rows.len() as i64 == limit => Some(first.seq),
        _ => None,
    };
    if auth.is_staff_of(room.clinic_id) && room.kind == "patient" {
        state
            .store
            .record_audit(
                &AuditEvent::new(Some(auth.user_id), "chat.history_read", "chat_room")
                    .entity_id(room.id)
                    .clinic(room.clinic_id)
                    .ip(auth.ip.clone())
                    .details(json!({"messages": rows.len()})),
            )
            .await?;
    }
    let reads = state
        .store
        .chat_reads(room.id)
        .await?
        .into_iter()
        .map(|(user_id, last_read_seq)| ReadPosition {
            user_id,
            last_read_seq,
        })
        .collect();
    let last_seq = state.store.topic_head(&room_topic(room.id)).await?;
    Ok(HistoryResponse {
        messages,
        reads,
        last_seq,
        next_before,
    })
}

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

/// What the bytes are, judged from their first bytes, never from the name.
fn sniff(data: &[u8]) -> Option<(&'static str, &'static [&'static str])> {
    if data.starts_with(b"%PDF-") {
        Some(("application/pdf", &["pdf"]))
    } else if data.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("image/png", &["png"]))
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", &["jpg", "jpeg"]))
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(("image/webp", &["webp"]))
    } else {
        None
    }
}

/// Store a file a member uploads to a room (PNG, JPEG, WebP or PDF, judged by content; the
/// name's extension must match), up to `chat.max_attachment_bytes`; it is sent with
/// `message.send` and its id.
pub async fn upload_attachment<B: AsRef<[u8]>, E: std::fmt::Display>(
    state: &AppState,
    auth: &Auth,
    room: ChatRoomId,
    filename: &str,
    mut upload: impl Stream<Item = Result<B, E>> + Unpin,
) -> Result<AttachmentView, AppError> {
    let room = member_room(state, auth, room).await?;
    let limit = state.settings.chat.max_attachment_bytes;
    let mut body = Vec::new();
    while let Some(chunk) = upload.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::bad_request("invalid_body", format!("upload interrompido: {e}"))
        })?;
        let chunk = chunk.as_ref();
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(chunk);
    }
    let filename = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if filename.is_empty()
        || filename.chars().count() > 200
        || filename.chars().any(|c| c.is_control() || c == '"')
    {
        return Err(ValidationError::new("invalid_filename", "nome de arquivo inválido").into());
    }
    let Some((content_type, extensions)) = sniff(&body) else {
        return Err(ValidationError::new(
            "unsupported_attachment_type",
            "envie imagens (PNG, JPEG, WebP) ou PDF",
        )
        .into());
    };
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !extensions.contains(&ext.as_str()) {
        return Err(ValidationError::new(
            "attachment_type_mismatch",
            format!("o conteúdo do arquivo é {content_type}, mas o nome diz .{ext}"),
        )
        .into());
    }
    let meta = AttachmentMeta {
        id: uuid::Uuid::now_v7(),
        room_id: room.id,
        uploader_user_id: auth.user_id,
        filename,
        content_type: content_type.to_string(),
        size_bytes: body.len() as i64,
        sha256: hex::encode(sha2::Sha256::digest(&body)),
        created_at: store::now(),
    };
    state.store.insert_chat_attachment(&meta, &body).await?;
    Ok(AttachmentView {
        id: meta.id,
        filename: meta.filename,
        content_type: meta.content_type,
        size: meta.size_bytes,
    })
}

/// A file, only to members of its room.
pub async fn attachment(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<Attachment, AppError> {
    let meta = state
        .store
        .chat_attachment_meta(id)
        .await?
        .ok_or(AppError::NotFound)?;
    member_room(state, auth, meta.room_id).await?;
    let data = state
        .store
        .chat_attachment_data(id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Attachment { meta, data })
}

/// A professional's chat office hours, or none (anyone else: 403).
pub async fn office_hours(state: &AppState, auth: &Auth) -> Result<Option<OfficeHours>, AppError> {
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or(AppError::Forbidden)?;
    Ok(state
        .store
        .office_hours(auth.user_id)
        .await?
        .and_then(|j| serde_json::from_str::<OfficeHours>(&j).ok()))
}

/// Set (or clear, with none) the caller's office hours (professionals only).
pub async fn set_office_hours(
    state: &AppState,
    auth: &Auth,
    hours: Option<OfficeHours>,
) -> Result<Option<OfficeHours>, AppError> {
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or(AppError::Forbidden)?;
    let hours = hours.map(OfficeHours::parse).transpose()?;
    let json = hours
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(anyhow::Error::from)?;
    state
        .store
        .set_office_hours(auth.user_id, json.as_deref())
        .await?;
    Ok(hours)
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
/// stored twice).
pub async fn send_message(
    state: &AppState,
    room: ChatRoomId,
    who: &Member,
    client_id: uuid::Uuid,
    body: String,
    attachment_id: Option<uuid::Uuid>,
) -> Result<Posted, WsError> {
    state
        .registry
        .chat(room)
        .send(PostMessage {
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

/// Mark the room read up to `seq` (never past its head): the room's topic, as the member
/// joined it, hears of it (`chat.read`), and the reader's own unread count is pushed to
/// their `user:` topic.
pub async fn mark_read(
    state: &AppState,
    room: ChatRoomId,
    topic: &str,
    who: &Member,
    seq: i64,
) -> Result<ReadState, WsError> {
    let head = state.store.topic_head(topic).await?;
    let last = state
        .store
        .mark_chat_read(room, who.user_id, seq.min(head))
        .await?;
    let unread = state.store.chat_unread(room, who.user_id).await?;
    state.bus.publish(TopicEvent {
        topic: topic.to_string(),
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

/// Tell the room's topic, as the member joined it, that they are typing (not stored).
pub fn typing(state: &AppState, topic: &str, who: &Member) {
    state.bus.publish(TopicEvent {
        topic: topic.to_string(),
        event: "chat.typing".into(),
        seq: None,
        payload: json!({"user_id": who.user_id, "name": who.name}),
    });
}
