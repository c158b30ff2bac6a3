//! Chat rooms: one per patient–professional pair in a clinic, plus a staff room per clinic.
//! Messages travel over the WebSocket (`chat:<room>` topic); these routes list and open rooms.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use actix_web::http::header;
use sha2::Digest as _;

use crate::actors::chat::{is_member, message_payload};
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::office_hours::OfficeHours;
use crate::domain::{ChatRoomId, ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store;
use crate::store::chat::{AttachmentMeta, ChatRoomRow};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/rooms", web::get().to(my_rooms))
        .route("/clinics/{clinic_id}/chat/rooms", web::post().to(open_room))
        .route("/chat/rooms/{room_id}/messages", web::get().to(history))
        .route(
            "/chat/rooms/{room_id}/attachments",
            web::post().to(upload_attachment),
        )
        .route(
            "/chat/attachments/{attachment_id}",
            web::get().to(download_attachment),
        )
        .route("/me/office-hours", web::get().to(get_office_hours))
        .route("/me/office-hours", web::put().to(put_office_hours));
}

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRoomRequest {
    pub patient_id: PatientId,
    pub professional_user_id: UserId,
}

async fn room_view(
    state: &AppState,
    viewer: UserId,
    r: crate::store::chat::ChatRoomListRow,
) -> Result<ChatRoomView, AppError> {
    let topic = format!("chat:{}", r.room.id);
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

#[utoipa::path(get, path = "/api/chat/rooms", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Rooms the caller belongs to (the staff room of each clinic they work in is created on first use)", body = [ChatRoomView])))]
pub async fn my_rooms(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
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
        rooms.push(room_view(&state, auth.user_id, r).await?);
    }
    Ok(HttpResponse::Ok().json(rooms))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/chat/rooms", tag = "chat", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = OpenRoomRequest,
    responses((status = 200, description = "The room of this patient and professional (created if new)", body = ChatRoomView),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`patient_not_registered`, `not_a_professional`", body = ErrorBody)))]
pub async fn open_room(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<OpenRoomRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    if state
        .store
        .clinic_patient(clinic, body.patient_id)
        .await?
        .is_none()
    {
        return Err(crate::domain::ValidationError::new(
            "patient_not_registered",
            "paciente não cadastrado nesta clínica",
        )
        .into());
    }
    let professional = state
        .store
        .is_professional_in(clinic, body.professional_user_id)
        .await?;
    if !professional {
        return Err(crate::domain::ValidationError::new(
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
    Ok(HttpResponse::Ok().json(room_view(&state, auth.user_id, row).await?))
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
    let member = is_member(&state.store, &row, auth.user_id).await?;
    if member {
        Ok(row)
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Only messages with a seq below this (default: the newest).
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size, 1–100 (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadPosition {
    pub user_id: UserId,
    pub last_read_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// Oldest first. Each is shaped like a `chat.message` push payload plus its `seq`.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<serde_json::Value>,
    /// Every participant's read position (read receipts).
    pub reads: Vec<ReadPosition>,
    pub last_seq: i64,
    /// Pass as `before` for the previous page; null when this page reaches the start.
    pub next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/chat/rooms/{room_id}/messages", tag = "chat", security(("bearer" = [])),
    params(("room_id" = String, Path, format = Uuid), HistoryQuery),
    responses((status = 200, body = HistoryResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ChatRoomId>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let room = member_room(&state, &auth, path.into_inner()).await?;
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
        let mut v = message_payload(room.id, m, body.as_deref());
        v["seq"] = serde_json::json!(m.seq);
        messages.push(v);
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
                    .details(serde_json::json!({"messages": rows.len()})),
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
    let last_seq = state.store.topic_head(&format!("chat:{}", room.id)).await?;
    Ok(HttpResponse::Ok().json(HistoryResponse {
        messages,
        reads,
        last_seq,
        next_before,
    }))
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// The file's name, e.g. `exame.pdf`; its extension must match the content.
    pub filename: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: uuid::Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

#[utoipa::path(post, path = "/api/chat/rooms/{room_id}/attachments", tag = "chat", security(("bearer" = [])),
    params(("room_id" = String, Path, format = Uuid), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes (PNG, JPEG, WebP or PDF; up to chat.max_attachment_bytes)"),
    responses((status = 201, description = "Stored; send it with `message.send` and `attachment_id`", body = AttachmentView),
              (status = 403, body = ErrorBody),
              (status = 413, description = "`body_too_large`", body = ErrorBody),
              (status = 422, description = "`unsupported_attachment_type`, `attachment_type_mismatch`, `invalid_filename`", body = ErrorBody)))]
pub async fn upload_attachment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ChatRoomId>,
    query: web::Query<UploadQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let room = member_room(&state, &auth, path.into_inner()).await?;
    let limit = state.settings.chat.max_attachment_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|e| {
            AppError::bad_request("invalid_body", format!("upload interrompido: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let filename = query
        .filename
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
    Ok(HttpResponse::Created().json(AttachmentView {
        id: meta.id,
        filename: meta.filename,
        content_type: meta.content_type,
        size: meta.size_bytes,
    }))
}

#[utoipa::path(get, path = "/api/chat/attachments/{attachment_id}", tag = "chat", security(("bearer" = [])),
    params(("attachment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The file, as a download, only to members of its room"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download_attachment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let meta = state
        .store
        .chat_attachment_meta(id)
        .await?
        .ok_or(AppError::NotFound)?;
    member_room(&state, &auth, meta.room_id).await?;
    let data = state
        .store
        .chat_attachment_data(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ascii: String = meta
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = meta
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, meta.content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .body(data))
}

#[utoipa::path(get, path = "/api/me/office-hours", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The professional's chat office hours, or null", body = Option<OfficeHours>),
              (status = 403, description = "Not a professional", body = ErrorBody)))]
pub async fn get_office_hours(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or(AppError::Forbidden)?;
    let hours = state
        .store
        .office_hours(auth.user_id)
        .await?
        .and_then(|j| serde_json::from_str::<OfficeHours>(&j).ok());
    Ok(HttpResponse::Ok().json(hours))
}

#[utoipa::path(put, path = "/api/me/office-hours", tag = "chat", security(("bearer" = [])),
    request_body = Option<OfficeHours>,
    responses((status = 200, body = Option<OfficeHours>),
              (status = 403, description = "Not a professional", body = ErrorBody),
              (status = 422, description = "`invalid_office_hours`", body = ErrorBody)))]
pub async fn put_office_hours(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<Option<OfficeHours>>,
) -> Result<HttpResponse, AppError> {
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or(AppError::Forbidden)?;
    let hours = body.into_inner().map(OfficeHours::parse).transpose()?;
    let json = hours
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(anyhow::Error::from)?;
    state
        .store
        .set_office_hours(auth.user_id, json.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(hours))
}
