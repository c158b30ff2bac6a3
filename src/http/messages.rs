//! Messages to patients over HTTP: their delivery state (per patient or appointment) and
//! each clinic's messaging settings (sender, reply-to, reminders, quiet hours).

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::consents;
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
        )
        .route(
            "/public/unsubscribe/{token}",
            web::get().to(unsubscribe_page),
        )
        .route("/public/unsubscribe/{token}", web::post().to(unsubscribe));
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
