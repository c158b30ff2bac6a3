//! Money over HTTP: the price table, the clinic's Pix account, an appointment's payment
//! (Pix charge, refresh, refund), the ledger, and the PSP's webhook. Each handler parses,
//! calls one use case in `app::billing`, and maps the result.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::billing::ledger::{self, LedgerPage, LedgerQuery};
use crate::app::billing::payment::{self, AppointmentPayment, PaymentSummary, PaymentsQuery};
use crate::app::billing::pix::{self, PixSettings, RefundRequest};
use crate::app::billing::prices::{self, PriceLine, ProfessionalPrice, SetPrice};
use crate::app::billing::reconcile::{self, PixNotification, WebhookOutcome};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::{ClinicId, UserId};

use super::agenda::appointments::AppointmentPath;

pub fn routes(cfg: &mut web::ServiceConfig) {
    const PAYMENT: &str = "/clinics/{clinic_id}/appointments/{appointment_id}/payment";
    cfg.route("/clinics/{clinic_id}/prices", web::get().to(price_table))
        .route(
            "/clinics/{clinic_id}/prices/{service_id}/professionals/{user_id}",
            web::put().to(set_professional_price),
        )
        .route(
            "/clinics/{clinic_id}/prices/{service_id}/professionals/{user_id}",
            web::delete().to(remove_professional_price),
        )
        .route(
            "/clinics/{clinic_id}/pix/settings",
            web::get().to(get_pix_settings),
        )
        .route(
            "/clinics/{clinic_id}/pix/settings",
            web::put().to(put_pix_settings),
        )
        .route(PAYMENT, web::get().to(get_payment))
        .route(&format!("{PAYMENT}/pix"), web::post().to(charge_pix))
        .route(
            &format!("{PAYMENT}/refresh"),
            web::post().to(refresh_payment),
        )
        .route(&format!("{PAYMENT}/refund"), web::post().to(refund_payment))
        .route(
            "/clinics/{clinic_id}/payments",
            web::get().to(list_payments),
        )
        .route("/clinics/{clinic_id}/ledger", web::get().to(get_ledger))
        .route("/webhooks/pix/{secret}", web::post().to(pix_webhook))
        .route("/webhooks/pix/{secret}/pix", web::post().to(pix_webhook));
}

#[derive(Debug, Deserialize)]
pub struct PricePath {
    pub clinic_id: ClinicId,
    pub service_id: uuid::Uuid,
    pub user_id: UserId,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/prices", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Each active service's price (centavos) and the professionals' own prices", body = [PriceLine]),
              (status = 403, description = "The clinic's staff only", body = ErrorBody)))]
pub async fn price_table(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let table = prices::price_table(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(table))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/prices/{service_id}/professionals/{user_id}", tag = "billing",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("service_id" = String, Path, format = Uuid),
           ("user_id" = String, Path, format = Uuid)),
    request_body = SetPrice,
    responses((status = 200, description = "The professional's own price for the service (audited)", body = ProfessionalPrice),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "No such service in the clinic", body = ErrorBody),
              (status = 422, description = "`invalid_price`, `not_a_professional`", body = ErrorBody)))]
pub async fn set_professional_price(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<PricePath>,
    body: web::Json<SetPrice>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let set = prices::set_professional_price(
        &state,
        &auth,
        p.clinic_id,
        p.service_id,
        p.user_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(set))
}

#[utoipa::path(delete, path = "/api/clinics/{clinic_id}/prices/{service_id}/professionals/{user_id}", tag = "billing",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("service_id" = String, Path, format = Uuid),
           ("user_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Removed: the service's price applies (audited)"),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "No own price", body = ErrorBody)))]
pub async fn remove_professional_price(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<PricePath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    prices::remove_professional_price(&state, &auth, p.clinic_id, p.service_id, p.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/pix/settings", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, body = PixSettings),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "Not set up yet", body = ErrorBody)))]
pub async fn get_pix_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let s = pix::get_settings(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/pix/settings", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = PixSettings,
    responses((status = 200, description = "Saved (audited)", body = PixSettings),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_pix_key`, `invalid_merchant_name`, `invalid_merchant_city`", body = ErrorBody)))]
pub async fn put_pix_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<PixSettings>,
) -> Result<HttpResponse, AppError> {
    let s = pix::put_settings(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment", tag = "billing",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Price, payer, status, the Pix charge and refunds", body = AppointmentPayment),
              (status = 403, description = "The clinic's staff or the appointment's patient only", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_payment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let view = payment::payment_of(&state, &auth, p.clinic_id, p.appointment_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment/pix", tag = "billing",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The open Pix charge at the appointment's price, with its BR Code (the same one while it is open)", body = AppointmentPayment),
              (status = 403, description = "The clinic's staff or the appointment's patient only", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`already_paid`, `appointment_not_payable`, `pix_not_configured`", body = ErrorBody),
              (status = 422, description = "`nothing_to_pay`", body = ErrorBody),
              (status = 503, description = "`psp_unavailable`, `psp_refused`", body = ErrorBody)))]
pub async fn charge_pix(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let view = pix::charge_appointment(&state, &auth, p.clinic_id, p.appointment_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment/refresh", tag = "billing",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Checked with the PSP now (for a lost notification)", body = AppointmentPayment),
              (status = 403, description = "The clinic's staff only", body = ErrorBody),
              (status = 409, description = "`pix_api_not_configured`", body = ErrorBody),
              (status = 503, description = "`psp_unavailable`", body = ErrorBody)))]
pub async fn refresh_payment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let view = reconcile::refresh_payment(&state, &auth, p.clinic_id, p.appointment_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment/refund", tag = "billing",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = RefundRequest,
    responses((status = 200, description = "Refund asked of the PSP (audited); the ledger is reversed when the PSP reports it returned", body = AppointmentPayment),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 409, description = "`nothing_to_refund`, `pix_api_not_configured`", body = ErrorBody),
              (status = 422, description = "`invalid_refund_amount`, `invalid_reason`", body = ErrorBody),
              (status = 503, description = "`psp_unavailable`, `psp_refused`", body = ErrorBody)))]
pub async fn refund_payment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<RefundRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let view = pix::refund_appointment(
        &state,
        &auth,
        p.clinic_id,
        p.appointment_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/payments", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), PaymentsQuery),
    responses((status = 200, description = "Payment status of the period's appointments that had a Pix charge", body = [PaymentSummary]),
              (status = 403, description = "The clinic's staff only", body = ErrorBody),
              (status = 422, description = "`invalid_period`", body = ErrorBody)))]
pub async fn list_payments(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<PaymentsQuery>,
) -> Result<HttpResponse, AppError> {
    let list =
        payment::payments_between(&state, &auth, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/ledger", tag = "billing", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), LedgerQuery),
    responses((status = 200, description = "Ledger lines of the period (at most 1000) and every account's balance", body = LedgerPage),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_period`", body = ErrorBody)))]
pub async fn get_ledger(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse, AppError> {
    let page = ledger::ledger(&state, &auth, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(post, path = "/api/webhooks/pix/{secret}/pix", tag = "billing",
    params(("secret" = String, Path, description = "pix.webhook_secret")),
    request_body = PixNotification,
    responses((status = 200, description = "Every charge named was checked with the PSP (a repeated notification changes nothing)", body = WebhookOutcome),
              (status = 400, description = "`invalid_body`", body = ErrorBody),
              (status = 401, description = "`webhook_refused`: wrong secret", body = ErrorBody),
              (status = 403, description = "`webhook_address_refused`: not on pix.webhook_allowed_ips", body = ErrorBody),
              (status = 404, description = "No API Pix configured", body = ErrorBody)))]
pub async fn pix_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let ip = crate::http::extract::client_ip(&req, state.settings.server.trust_proxy_headers);
    let outcome = reconcile::pix_webhook(&state, ip, &path.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(outcome))
}
