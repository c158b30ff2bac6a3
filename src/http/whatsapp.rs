//! WhatsApp over HTTP: the Cloud API's webhook (the verification handshake and the signed
//! deliveries of receipts and replies) and each patient's consent to messages per channel,
//! as the clinic's staff record it. Each handler parses, calls one use case, maps the result.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::consents::{self, SetConsent};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::app::whatsapp::{self, VerifyQuery, WebhookOutcome};
use crate::domain::{ClinicId, PatientId};
use crate::store::consents::Consent;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/whatsapp", web::get().to(verify))
        .route("/webhooks/whatsapp", web::post().to(webhook))
        .route(
            "/clinics/{clinic_id}/patients/{patient_id}/consents",
            web::get().to(list_consents),
        )
        .route(
            "/clinics/{clinic_id}/patients/{patient_id}/consents/{channel}",
            web::put().to(set_consent),
        );
}

#[utoipa::path(get, path = "/api/webhooks/whatsapp", operation_id = "whatsapp_webhook_verify", tag = "messaging",
    params(VerifyQuery),
    responses((status = 200, description = "The `hub.challenge`, echoed as text/plain", content_type = "text/plain", body = String),
              (status = 403, description = "`invalid_verify_token`: wrong mode or token", body = ErrorBody)))]
pub async fn verify(
    state: web::Data<AppState>,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, AppError> {
    let challenge = whatsapp::verify_subscription(&state, query.into_inner())?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(challenge))
}

#[utoipa::path(post, path = "/api/webhooks/whatsapp", operation_id = "whatsapp_webhook", tag = "messaging",
    params(("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the raw body under `messaging.whatsapp.app_secret`")),
    request_body(content = String, description = "Meta's `WebhookPayload` (statuses and messages)", content_type = "application/json"),
    responses((status = 200, description = "Handled; a repeated event acts once", body = WebhookOutcome),
              (status = 400, description = "`invalid_body`", body = ErrorBody),
              (status = 401, description = "`invalid_signature`: missing or forged signature; nothing changed", body = ErrorBody)))]
pub async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let signature = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let outcome = whatsapp::webhook(&state, signature, &body).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

#[derive(Debug, Deserialize)]
pub struct ConsentPath {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub channel: String,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/consents", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient's recorded choices per channel (a channel not listed: reminders may go)", body = [Consent]),
              (status = 403, body = ErrorBody), (status = 404, description = "Not a patient of the clinic", body = ErrorBody)))]
pub async fn list_consents(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, PatientId)>,
) -> Result<HttpResponse, AppError> {
    let (clinic, patient) = path.into_inner();
    let list = consents::patient_consents(&state, &auth, clinic, patient).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/patients/{patient_id}/consents/{channel}", tag = "messaging", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid),
           ("channel" = String, Path, description = "`email`, `whatsapp` or `sms`")),
    request_body = SetConsent,
    responses((status = 200, description = "Recorded with the source `clinic` (audited); the patient's choices", body = [Consent]),
              (status = 403, body = ErrorBody), (status = 404, description = "Not a patient of the clinic", body = ErrorBody),
              (status = 422, description = "`unknown_channel`", body = ErrorBody)))]
pub async fn set_consent(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ConsentPath>,
    body: web::Json<SetConsent>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let list = consents::set_patient_consent(
        &state,
        &auth,
        p.clinic_id,
        p.patient_id,
        &p.channel,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(list))
}
