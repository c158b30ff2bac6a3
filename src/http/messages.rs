//! Messages to patients over HTTP: their delivery state (per patient or appointment) and
//! each clinic's messaging settings (sender, reply-to, reminders, quiet hours).

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::messages::{self, MessagesQuery, MessagingSettings};
use crate::app::state::AppState;
use crate::domain::ClinicId;
use crate::store::outbox::MessageStatus;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics/{clinic_id}/messages", web::get().to(list))
        .route(
            "/clinics/{clinic_id}/messaging",
            web::get().to(get_settings),
        )
        .route(
            "/clinics/{clinic_id}/messaging",
            web::put().to(put_settings),
        );
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/messages", operation_id = "list_clinic_messages", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), MessagesQuery),
    responses((status = 200, description = "The clinic's messages to the patient or about the appointment, newest first, with their delivery state", body = [MessageStatus]),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`missing_filter`: give patient_id or appointment_id", body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, AppError> {
    let list =
        messages::clinic_messages(&state, &auth, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/messaging", operation_id = "get_messaging_settings", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "How the clinic's messages go out (defaults where it set nothing)", body = MessagingSettings),
              (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(messages::get_settings(&state, &auth, path.into_inner()).await?))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/messaging", operation_id = "put_messaging_settings", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = MessagingSettings,
    responses((status = 200, description = "Saved (audited); reminders not yet queued follow the new rules", body = MessagingSettings),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_reminders`, `invalid_email` (reply-to), `invalid_sender_name`", body = ErrorBody)))]
pub async fn put_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<MessagingSettings>,
) -> Result<HttpResponse, AppError> {
    let saved = messages::put_settings(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}
