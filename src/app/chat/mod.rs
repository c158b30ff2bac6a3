//! Chat use cases. Rooms: one per patient–professional pair in a clinic, plus a staff room
//! per clinic (created on first use). Here: the caller's rooms, opening a patient's room, a
//! page of history (a staff read of a patient conversation is audited) and a professional's
//! office hours. Beside it: attachments, checked by content and served to members only
//! ([`attachments`]), and what happens live on the `chat:<room>` topic ([`live`]).

pub mod attachments;
pub mod contacts;
pub mod live;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actors::chat::{ChatMessageView, is_member, open_attachment_name};
use crate::actors::protocol::Topic;
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::office_hours::OfficeHours;
use crate::domain::{ChatRoomId, ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store;
use crate::store::chat::{ChatRoomListRow, ChatRoomRow};

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
    /// The professional's profession and gender, for their title ("Dra. Helena Duarte").
    pub professional_profession: Option<String>,
    pub professional_gender: Option<String>,
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
#[into_params(parameter_in = Query)]
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
        professional_profession: r.professional_profession,
        professional_gender: r.professional_gender,
        created_at: r.room.created_at,
        unread,
        last_seq,
        professional_available: hours.as_ref().map(|h| h.is_open(state.clock.now())),
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
    opened_view(state, auth.user_id, body.professional_user_id, room.id).await
}

/// The room just opened, as `viewer` sees it, read from the room list of `member` (one of
/// its two participants).
async fn opened_view(
    state: &AppState,
    viewer: UserId,
    member: UserId,
    room: ChatRoomId,
) -> Result<ChatRoomView, AppError> {
    let row = state
        .store
        .chat_rooms_of(member)
        .await?
        .into_iter()
        .find(|r| r.room.id == room)
        .ok_or(AppError::NotFound)?;
    room_view(state, viewer, row).await
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
    let next_before = match rows.first() {
        Some(first) if rows.len() as i64 == limit => Some(first.seq),
        _ => None,
    };
    let count = rows.len();
    let mut messages = Vec::with_capacity(count);
    for mut m in rows {
        open_attachment_name(&state.cipher, &mut m)?;
        let body = if m.deleted_at.is_some() {
            None
        } else {
            Some(state.cipher.decrypt(&m.body_enc)?)
        };
        let mut view = ChatMessageView::of(room.id, &m, body.as_deref());
        view.seq = Some(m.seq);
        messages.push(view);
    }
    if auth.is_staff_of(room.clinic_id) && room.kind == "patient" {
        state
            .store
            .record_audit(
                &AuditEvent::new(Some(auth.user_id), "chat.history_read", "chat_room")
                    .entity_id(room.id)
                    .clinic(room.clinic_id)
                    .ip(auth.ip.clone())
                    .details(json!({"messages": count})),
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
