//! The front desk's cash register over HTTP: open, the current session, record a movement,
//! close with the count; the day's sessions and adjustments for administrators. Each handler
//! parses, calls one use case in `app::billing::cash`, and maps the result.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::billing::cash::{
    self, AdjustCash, CashDay, CashSessionView, CloseCash, MovementView, OpenCash, RecordMovement,
};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::ClinicId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics/{clinic_id}/cash", web::get().to(current))
        .route("/clinics/{clinic_id}/cash/open", web::post().to(open))
        .route(
            "/clinics/{clinic_id}/cash/movements",
            web::post().to(record),
        )
        .route("/clinics/{clinic_id}/cash/close", web::post().to(close))
        .route(
            "/clinics/{clinic_id}/cash/sessions",
            web::get().to(sessions),
        )
        .route(
            "/clinics/{clinic_id}/cash/sessions/{session_id}/adjustments",
            web::post().to(adjust),
        );
}

#[derive(Debug, Deserialize)]
pub struct SessionPath {
    pub clinic_id: ClinicId,
    pub session_id: uuid::Uuid,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/cash", tag = "cash", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The caller's open cash session with its movements and totals, or `null` when closed", body = Option<CashSessionView>),
              (status = 403, description = "Receptionists and administrators of the clinic", body = ErrorBody)))]
pub async fn current(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let s = cash::current(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/cash/open", tag = "cash", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = OpenCash,
    responses((status = 201, description = "Opened (audited)", body = CashSessionView),
              (status = 403, description = "Receptionists and administrators of the clinic", body = ErrorBody),
              (status = 409, description = "`cash_session_open`: the caller already has one open here", body = ErrorBody),
              (status = 422, description = "`invalid_price` (the opening amount)", body = ErrorBody)))]
pub async fn open(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<OpenCash>,
) -> Result<HttpResponse, AppError> {
    let s = cash::open(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(s))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/cash/movements", tag = "cash", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = RecordMovement,
    responses((status = 201, description = "Recorded in the caller's open session, posted to the ledger and audited", body = MovementView),
              (status = 403, description = "Receptionists and administrators of the clinic", body = ErrorBody),
              (status = 409, description = "`no_open_cash_session`", body = ErrorBody),
              (status = 422, description = "`invalid_kind`, `invalid_method`, `invalid_amount`, `nsu_required`, `invalid_nsu`, `invalid_description`, `unknown_appointment`", body = ErrorBody)))]
pub async fn record(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<RecordMovement>,
) -> Result<HttpResponse, AppError> {
    let m = cash::record(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(m))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/cash/close", tag = "cash", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = CloseCash,
    responses((status = 200, description = "The closing report: totals per method, expected and counted cash, the difference (posted to the ledger; audited)", body = CashSessionView),
              (status = 403, description = "Receptionists and administrators of the clinic", body = ErrorBody),
              (status = 409, description = "`no_open_cash_session`", body = ErrorBody),
              (status = 422, description = "`invalid_price` (the count), `invalid_note`", body = ErrorBody)))]
pub async fn close(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<CloseCash>,
) -> Result<HttpResponse, AppError> {
    let s = cash::close(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/cash/sessions", tag = "cash", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), CashDay),
    responses((status = 200, description = "The sessions opened that day with their reports", body = [CashSessionView]),
              (status = 403, description = "Clinic administrators only", body = ErrorBody)))]
pub async fn sessions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    q: web::Query<CashDay>,
) -> Result<HttpResponse, AppError> {
    let list = cash::sessions_of_day(&state, &auth, path.into_inner(), q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/cash/sessions/{session_id}/adjustments", tag = "cash",
    security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("session_id" = String, Path, format = Uuid)),
    request_body = AdjustCash,
    responses((status = 201, description = "The adjustment of a closed session (posted to the ledger; audited)", body = MovementView),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, description = "No such session in the clinic", body = ErrorBody),
              (status = 409, description = "`cash_session_open`: record it in the session instead", body = ErrorBody),
              (status = 422, description = "`invalid_method`, `invalid_amount`, `invalid_reason`", body = ErrorBody)))]
pub async fn adjust(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<SessionPath>,
    body: web::Json<AdjustCash>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let m = cash::adjust(&state, &auth, p.clinic_id, p.session_id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(m))
}
