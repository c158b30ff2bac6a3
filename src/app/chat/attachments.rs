//! Files in a chat room: a member uploads one (PNG, JPEG, WebP or PDF, judged by content,
//! the name's extension matching), then sends it with a message; only members of its room
//! download it.

use futures_util::{Stream, StreamExt as _};
use serde::Serialize;
use sha2::Digest as _;

use super::member_room;
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ChatRoomId, ValidationError};
use crate::store;
use crate::store::chat::AttachmentMeta;

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
    // Name and bytes are stored encrypted (the name alone can say what an exam found).
    let stored = AttachmentMeta {
        filename: state.cipher.encrypt(&meta.filename)?,
        ..meta.clone()
    };
    let data = state.cipher.encrypt_bytes(&body)?;
    state.store.insert_chat_attachment(&stored, &data).await?;
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
    let mut meta = state
        .store
        .chat_attachment_meta(id)
        .await?
        .ok_or(AppError::NotFound)?;
    member_room(state, auth, meta.room_id).await?;
    let stored = state
        .store
        .chat_attachment_data(id)
        .await?
        .ok_or(AppError::NotFound)?;
    meta.filename = state.cipher.open_text(meta.filename)?;
    let data = state.cipher.open_bytes(stored)?;
    Ok(Attachment { meta, data })
}
