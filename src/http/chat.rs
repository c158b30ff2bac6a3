//! Chat rooms: one per patient–professional pair in a clinic, plus a staff room per clinic.
//! Messages travel over the WebSocket (`chat:<room>` topic); these routes list and open rooms.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::Auth;
use crate::domain::{ChatRoomId, ClinicId, PatientId, Role, UserId};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::store::{self, chat::ChatRoomRow};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/rooms", web::get().to(my_rooms))
        .route("/clinics/{clinic_id}/chat/rooms", web::post().to(open_room));
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
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRoomRequest {
    pub patient_id: PatientId,
    pub professional_user_id: UserId,
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
    let rooms: Vec<ChatRoomView> = state
        .store
        .chat_rooms_of(auth.user_id)
        .await?
        .into_iter()
        .map(|r| ChatRoomView {
            topic: format!("chat:{}", r.room.id),
            id: r.room.id,
            clinic_id: r.room.clinic_id,
            clinic_name: r.clinic_name,
            kind: r.room.kind,
            patient_id: r.room.patient_id,
            patient_name: r.patient_name,
            professional_user_id: r.room.professional_user_id,
            professional_name: r.professional_name,
            created_at: r.room.created_at,
        })
        .collect();
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
        .memberships_of(body.professional_user_id)
        .await?
        .into_iter()
        .any(|m| m.clinic_id == clinic && Role::parse(&m.role) == Some(Role::Professional));
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
    let view = state
        .store
        .chat_rooms_of(body.professional_user_id)
        .await?
        .into_iter()
        .find(|r| r.room.id == room.id)
        .map(|r| ChatRoomView {
            topic: format!("chat:{}", r.room.id),
            id: r.room.id,
            clinic_id: r.room.clinic_id,
            clinic_name: r.clinic_name,
            kind: r.room.kind,
            patient_id: r.room.patient_id,
            patient_name: r.patient_name,
            professional_user_id: r.room.professional_user_id,
            professional_name: r.professional_name,
            created_at: r.room.created_at,
        })
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(view))
}
