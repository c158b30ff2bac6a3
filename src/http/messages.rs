//! Messages to patients over HTTP: their delivery state (per patient or appointment),
//! each clinic's messaging settings (sender, reply-to, reminders, quiet hours) and the words
//! of its e-mails.

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::consents;
use crate::app::error::{AppError, ErrorBody};
use crate::app::message_texts::{self, MessagePreview, MessageTextInput, MessageTextView};
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
        )
        .route(
            "/public/unsubscribe/{token}",
            web::get().to(unsubscribe_page),
        )
        .route("/public/unsubscribe/{token}", web::post().to(unsubscribe))
        .route(
            "/clinics/{clinic_id}/messaging/texts",
            web::get().to(list_texts),
        )
        .route(
            "/clinics/{clinic_id}/messaging/texts/{template}",
            web::put().to(put_text),
        )
        .route(
            "/clinics/{clinic_id}/messaging/texts/{template}",
            web::delete().to(reset_text),
        )
        .route(
            "/clinics/{clinic_id}/messaging/texts/{template}/preview",
            web::post().to(preview_text),
        );
}

/// A plain page (the CSP allows a same-origin form, no inline style or script needed).
fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
             <body><main><h1>{title}</h1>{body}</main></body></html>"
        ))
}

#[utoipa::path(get, path = "/api/public/unsubscribe/{token}", operation_id = "unsubscribe_page", tag = "messaging",
    params(("token" = String, Path, description = "The signed opt-out link of a reminder e-mail")),
    responses((status = 200, description = "A page with a button that opts out (a GET changes nothing: link scanners follow links)", content_type = "text/html", body = String)))]
pub async fn unsubscribe_page(path: web::Path<String>) -> HttpResponse {
    let token: String = path
        .into_inner()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    page(
        "Lembretes por e-mail",
        &format!(
            "<p>Você não quer mais receber lembretes de consulta por e-mail desta clínica? \
             Mensagens que você pedir, como a redefinição de senha, continuam chegando.</p>\
             <form method=\"post\" action=\"/api/public/unsubscribe/{token}\">\
             <button type=\"submit\">Não receber mais lembretes por e-mail</button></form>"
        ),
    )
}

#[utoipa::path(post, path = "/api/public/unsubscribe/{token}", operation_id = "unsubscribe", tag = "messaging",
    params(("token" = String, Path, description = "The signed opt-out link of a reminder e-mail")),
    responses((status = 200, description = "Opted out of reminder e-mails (source `link`, audited); again: nothing more changes. Mail readers POST `List-Unsubscribe=One-Click` here (RFC 8058)", content_type = "text/html", body = String),
              (status = 401, description = "`invalid_token`", body = ErrorBody)))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    consents::unsubscribe(&state, &path.into_inner()).await?;
    Ok(page(
        "Pronto",
        "<p>Você não receberá mais lembretes de consulta por e-mail desta clínica.</p>",
    ))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/messages", operation_id = "list_clinic_messages", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), MessagesQuery),
    responses((status = 200, description = "The clinic's messages to the patient or about the appointment (any staff), or all of them (clinic administrators), newest first (at most 200), with their delivery state", body = [MessageStatus]),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`missing_filter`: staff who are not administrators give patient_id or appointment_id; `invalid_filter`: unknown status or channel", body = ErrorBody)))]
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

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/messaging/texts", operation_id = "list_message_texts", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The e-mails the clinic may rewrite: each with its variables, built-in words and the clinic's own (null: the built-in ones go)", body = [MessageTextView]),
              (status = 403, description = "Clinic administrators only", body = ErrorBody)))]
pub async fn list_texts(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(message_texts::list(&state, &auth, path.into_inner()).await?))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/messaging/texts/{template}", operation_id = "put_message_text", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("template" = String, Path, description = "`appointment_reminder`, `appointment_booked`, `appointment_rescheduled`, `appointment_cancelled`, `waitlist_offer` or `document_ready`")),
    request_body = MessageTextInput,
    responses((status = 200, description = "Saved (audited `clinic.message_text_updated`): the clinic's e-mails of this kind go with these words, queued ones included", body = MessageTextView),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "No such editable message", body = ErrorBody),
              (status = 422, description = "`unknown_variable`, `invalid_template` (braces), `invalid_subject`, `invalid_body_text`; `field` names `subject` or `body`", body = ErrorBody)))]
pub async fn put_text(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, String)>,
    body: web::Json<MessageTextInput>,
) -> Result<HttpResponse, AppError> {
    let (clinic, template) = path.into_inner();
    let saved = message_texts::save(&state, &auth, clinic, &template, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[utoipa::path(delete, path = "/api/clinics/{clinic_id}/messaging/texts/{template}", operation_id = "reset_message_text", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("template" = String, Path)),
    responses((status = 200, description = "Back to the built-in words (audited `clinic.message_text_reset` when the clinic had its own)", body = MessageTextView),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "No such editable message", body = ErrorBody)))]
pub async fn reset_text(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, String)>,
) -> Result<HttpResponse, AppError> {
    let (clinic, template) = path.into_inner();
    Ok(HttpResponse::Ok().json(message_texts::reset(&state, &auth, clinic, &template).await?))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/messaging/texts/{template}/preview", operation_id = "preview_message_text", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("template" = String, Path)),
    request_body = MessageTextInput,
    responses((status = 200, description = "The e-mail these words give, for a made-up patient and appointment (or document), as the clinic's sender; nothing is saved", body = MessagePreview),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "No such editable message", body = ErrorBody),
              (status = 422, description = "The same checks as saving", body = ErrorBody)))]
pub async fn preview_text(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, String)>,
    body: web::Json<MessageTextInput>,
) -> Result<HttpResponse, AppError> {
    let (clinic, template) = path.into_inner();
    let preview =
        message_texts::preview(&state, &auth, clinic, &template, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(preview))
}
