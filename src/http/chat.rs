//! Chat rooms: one per patient–professional pair in a clinic, plus a staff room per clinic.
//! Messages travel over the WebSocket (`chat:<room>` topic); these routes list and open rooms,
//! page through history, carry attachments and set a professional's office hours.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::Auth;
use crate::app::chat::attachments::{self, AttachmentView};
use crate::app::chat::contacts::{self, ChatContact, StartChatRequest};
use crate::app::chat::{self, ChatRoomView, HistoryQuery, HistoryResponse, OpenRoomRequest};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::office_hours::OfficeHours;
use crate::domain::{ChatRoomId, ClinicId};

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
        .route("/me/chat/contacts", web::get().to(my_contacts))
        .route("/me/chat/rooms", web::post().to(start_room))
        .route("/me/office-hours", web::get().to(get_office_hours))
        .route("/me/office-hours", web::put().to(put_office_hours));
}

#[utoipa::path(get, path = "/api/chat/rooms", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Rooms the caller belongs to (the staff room of each clinic they work in is created on first use)", body = [ChatRoomView])))]
pub async fn my_rooms(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let rooms = chat::my_rooms(&state, &auth).await?;
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
    let room = chat::open_room(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(room))
}

#[utoipa::path(get, path = "/api/me/chat/contacts", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The professionals who have seen the caller (a patient) at each clinic where their record is linked — an appointment checked in, in progress or done — with the conversation when it is open", body = [ChatContact])))]
pub async fn my_contacts(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(contacts::my_contacts(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/chat/rooms", tag = "chat", security(("bearer" = [])),
    request_body = StartChatRequest,
    responses((status = 200, description = "The caller's conversation with this professional (created if new)", body = ChatRoomView),
              (status = 403, description = "`chat_not_allowed`: no linked record at the clinic, or the professional has not seen the patient there", body = ErrorBody)))]
pub async fn start_room(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<StartChatRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(contacts::start(&state, &auth, body.into_inner()).await?))
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
    let page = chat::history(&state, &auth, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, e.g. `exame.pdf`; its extension must match the content.
    pub filename: String,
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
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let stored =
        attachments::upload_attachment(&state, &auth, path.into_inner(), &query.filename, payload)
            .await?;
    Ok(HttpResponse::Created().json(stored))
}

/// `Content-Disposition` for a download: an ASCII fallback name and the UTF-8 one.
fn attachment_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
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
    let file = attachments::attachment(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, file.meta.content_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            attachment_disposition(&file.meta.filename),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .body(file.data))
}

#[utoipa::path(get, path = "/api/me/office-hours", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The professional's chat office hours, or null", body = Option<OfficeHours>),
              (status = 403, description = "Not a professional", body = ErrorBody)))]
pub async fn get_office_hours(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    let hours = chat::office_hours(&state, &auth).await?;
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
    let hours = chat::set_office_hours(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(hours))
}
