//! A patient starts a conversation: with a professional who has seen them in that clinic
//! (an appointment checked in, in progress or done). Staff open any pair
//! ([`super::open_room`]); a patient may only reach those who already care for them, so an
//! account cannot message every professional of a clinic it merely linked a record at.

use serde::Deserialize;
use serde_json::json;

use super::{ChatRoomView, opened_view};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ChatRoomId, ClinicId, UserId};
use crate::security::audit::AuditEvent;
use crate::store;
pub use crate::store::chat::ChatContact;
use crate::store::chat::ChatRoomRow;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartChatRequest {
    pub clinic_id: ClinicId,
    pub professional_user_id: UserId,
}

/// Every professional who has seen one of the caller's linked records, per clinic.
pub async fn my_contacts(state: &AppState, auth: &Auth) -> Result<Vec<ChatContact>, AppError> {
    auth.require_full_session()?;
    let mut contacts = Vec::new();
    for (clinic, patient) in &auth.linked {
        contacts.extend(state.store.chat_contacts(*clinic, *patient).await?);
    }
    Ok(contacts)
}

/// Open (or return) the conversation between the caller's record at `clinic` and a
/// professional who has seen them there. Anyone else: 403 `chat_not_allowed`, the same
/// answer whether the professional exists, works there or simply never saw the patient.
pub async fn start(
    state: &AppState,
    auth: &Auth,
    body: StartChatRequest,
) -> Result<ChatRoomView, AppError> {
    auth.require_full_session()?;
    let refused = || {
        AppError::forbidden(
            "chat_not_allowed",
            "você pode iniciar uma conversa com profissionais que já atenderam você nesta clínica",
        )
    };
    let patient = auth.record_at(body.clinic_id).ok_or_else(refused)?;
    let allowed = state
        .store
        .chat_contacts(body.clinic_id, patient)
        .await?
        .iter()
        .any(|c| c.professional_user_id == body.professional_user_id);
    if !allowed {
        return Err(refused());
    }
    let room = state
        .store
        .ensure_chat_room(&ChatRoomRow {
            id: ChatRoomId::new(),
            clinic_id: body.clinic_id,
            kind: "patient".into(),
            patient_id: Some(patient),
            professional_user_id: Some(body.professional_user_id),
            created_at: store::now(),
        })
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "chat.room_started", "chat_room")
                .entity_id(room.id)
                .clinic(body.clinic_id)
                .ip(auth.ip.clone())
                .details(json!({ "by": "patient" })),
        )
        .await?;
    opened_view(state, auth.user_id, auth.user_id, room.id).await
}
