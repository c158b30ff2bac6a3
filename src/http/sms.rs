//! SMS over HTTP: Twilio's signed webhooks — status callbacks and inbound messages, both
//! form posts answered `204` with no TwiML (Twilio sends no reply then). Each handler
//! parses, calls one use case, maps the result.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::app::error::{AppError, ErrorBody};
use crate::app::sms::{self, SignedForm};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/sms/status", web::post().to(status))
        .route("/webhooks/sms/inbound", web::post().to(inbound));
}

/// Hand the request (as it arrived: where, its query, its parameters, its signature) to a
/// webhook use case; 204 when it is done.
async fn signed<'a, F, Fut>(
    state: &'a AppState,
    req: &HttpRequest,
    body: &[u8],
    use_case: F,
) -> Result<HttpResponse, AppError>
where
    F: FnOnce(&'a AppState, SignedForm) -> Fut,
    Fut: std::future::Future<Output = Result<bool, AppError>>,
{
    let arrived_at = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let form = SignedForm {
        arrived_at,
        query: req.query_string().to_string(),
        params: form_urlencoded::parse(body).into_owned().collect(),
        signature: req
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    use_case(state, form).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/webhooks/sms/status", operation_id = "sms_status_callback", tag = "messaging",
    params(("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1, under `messaging.sms.auth_token`, of the public URL (query included) followed by the POST parameters' names and values sorted by name"),
           ("outbox" = Option<String>, Query, description = "The outbox message the callback is about (atende puts it in each message's `StatusCallback`)")),
    request_body(content = String, description = "Twilio's status callback: `MessageSid`, `MessageStatus` (queued, sent, delivered, undelivered, failed…), `ErrorCode`, `AccountSid`…", content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded (delivered, or given up with the error code; never backwards); a repeat acts once"),
              (status = 400, description = "`invalid_body`: MessageSid or MessageStatus missing", body = ErrorBody),
              (status = 401, description = "`invalid_signature`: missing or forged signature; nothing changed", body = ErrorBody)))]
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    signed(&state, &req, &body, sms::status).await
}

#[utoipa::path(post, path = "/api/webhooks/sms/inbound", operation_id = "sms_inbound", tag = "messaging",
    params(("X-Twilio-Signature" = String, Header, description = "As for the status callback, over this URL")),
    request_body(content = String, description = "Twilio's incoming message request: `MessageSid`, `From`, `To`, `Body`, `AccountSid`…", content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Handled, no reply SMS: \"1\"/\"sim\"/\"confirmo\" confirm and \"2\"/\"cancelar\" cancel the sender's nearest appointment reminded by SMS; \"PARAR\"/\"SAIR\" opt out of SMS; anything else is ignored; a repeat acts once"),
              (status = 400, description = "`invalid_body`: MessageSid or From missing", body = ErrorBody),
              (status = 401, description = "`invalid_signature`: missing or forged signature; nothing changed", body = ErrorBody)))]
pub async fn inbound(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    signed(&state, &req, &body, sms::inbound).await
}
