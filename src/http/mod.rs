//! HTTP: routes by resource, the auth extractor, JSON error mapping, static web files.

pub mod agenda;
pub mod auth;
pub mod billing;
pub mod cash;
pub mod chat;
pub mod clinics;
pub mod consult_media;
pub mod consults;
pub mod documents;
pub mod extract;
pub mod health;
pub mod lgpd;
pub mod links;
pub mod logging;
pub mod me;
pub mod messages;
pub mod mfa;
pub mod oidc;
pub mod openapi;
pub mod passkeys;
pub mod password_reset;
pub mod patient_links;
pub mod patients;
pub mod queue;
pub mod queue_public;
pub mod record;
pub mod reports;
pub mod sms;
pub mod waitlist;
pub mod web_assets;
pub mod whatsapp;
pub mod ws;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::app::error::AppError;

/// Register every route. `json_limit` bounds request bodies.
pub fn configure(cfg: &mut web::ServiceConfig, json_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(json_limit)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .route("/health", web::get().to(health::health))
    .route("/health/ready", web::get().to(health::ready))
    .route("/health/live", web::get().to(health::live))
    .route("/metrics", web::get().to(health::metrics))
    .route("/ws", web::get().to(ws::connect))
    .route("/ical/{token}", web::get().to(agenda::ical_feed))
    .route("/v/{id}", web::get().to(documents::iti_entry))
    .service(
        web::scope("/api")
            .route("/openapi.json", web::get().to(openapi::openapi_json))
            .configure(auth::routes)
            .configure(password_reset::routes)
            .configure(messages::routes)
            .configure(me::routes)
            .configure(mfa::routes)
            .configure(passkeys::routes)
            .configure(clinics::routes)
            .configure(patients::routes)
            .configure(patient_links::routes)
            .configure(chat::routes)
            .configure(queue::routes)
            .configure(queue_public::routes)
            .configure(agenda::routes)
            .configure(links::routes)
            .configure(waitlist::routes)
            .configure(documents::routes)
            .configure(consults::routes)
            .configure(consult_media::routes)
            .configure(record::routes)
            .configure(billing::routes)
            .configure(cash::routes)
            .configure(reports::routes)
            .configure(whatsapp::routes)
            .configure(oidc::routes)
            .configure(lgpd::routes)
            .route("/ws/ticket", web::post().to(ws::ticket))
            .configure(sms::routes)
            .default_service(web::to(api_not_found)),
    )
    .default_service(web::get().to(web_assets::serve));
}

async fn api_not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

pub(crate) fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app = match &err {
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            AppError::bad_request("invalid_body", format!("corpo inválido: {e}"))
        }
        JsonPayloadError::Deserialize(_) | JsonPayloadError::Serialize(_) => {
            AppError::bad_request("malformed_json", "o corpo da requisição não é JSON válido")
        }
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge
        }
        _ => AppError::bad_request("invalid_body", "corpo da requisição inválido"),
    };
    actix_web::error::InternalError::from_response(
        err,
        actix_web::ResponseError::error_response(&app),
    )
    .into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let app = AppError::bad_request("invalid_path", "identificador inválido no caminho");
    actix_web::error::InternalError::from_response(
        err,
        actix_web::ResponseError::error_response(&app),
    )
    .into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app = AppError::bad_request("invalid_query", "parâmetros de busca inválidos");
    actix_web::error::InternalError::from_response(
        err,
        actix_web::ResponseError::error_response(&app),
    )
    .into()
}
