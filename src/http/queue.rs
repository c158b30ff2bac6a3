//! The waiting room over HTTP: the day's board, check-in, call next, and actions on one
//! entry. Every change is also pushed live on `clinic:<id>:queue` (`queue.updated`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::actors::queue::{PanelSnapshot, QueueEntryView};
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::queue::CheckInRequest;
use crate::app::queue::desk::{self, ActRequest, CallNextRequest, CheckedInView};
use crate::app::queue::setup::{
    self, CheckinLinkView, PanelTokenView, QueueSettingsRequest, QueueSettingsView,
};
use crate::app::state::AppState;
use crate::domain::ClinicId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics/{clinic_id}/queue", web::get().to(board))
        .route("/clinics/{clinic_id}/queue", web::post().to(check_in))
        .route(
            "/clinics/{clinic_id}/queue/call-next",
            web::post().to(call_next),
        )
        .route(
            "/clinics/{clinic_id}/queue/panel",
            web::get().to(staff_panel),
        )
        .route(
            "/clinics/{clinic_id}/queue/settings",
            web::get().to(get_settings),
        )
        .route(
            "/clinics/{clinic_id}/queue/settings",
            web::put().to(put_settings),
        )
        .route(
            "/clinics/{clinic_id}/queue/panel-token",
            web::post().to(new_panel_token),
        )
        .route(
            "/clinics/{clinic_id}/queue/checkin-link",
            web::get().to(checkin_link),
        )
        .route(
            "/clinics/{clinic_id}/queue/checkin-link",
            web::post().to(rotate_checkin_link),
        )
        .route(
            "/clinics/{clinic_id}/queue/{entry_id}/{action}",
            web::post().to(act),
        );
}

#[derive(Debug, Deserialize)]
pub struct EntryPath {
    pub clinic_id: ClinicId,
    pub entry_id: uuid::Uuid,
    pub action: String,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Today's entries (clinic time zone): waiting in call order, then called, in service, and finished", body = [QueueEntryView]),
              (status = 403, body = ErrorBody)))]
pub async fn board(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let entries = desk::board(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(entries))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = CheckInRequest,
    responses((status = 201, description = "The new entry with its ticket (`N001`, or `P001` for legal priority)", body = CheckedInView),
              (status = 403, body = ErrorBody),
              (status = 409, description = "`already_in_queue`: the patient has a ticket today still waiting, called or in service", body = ErrorBody),
              (status = 422, description = "`invalid_priority`, `priority_age_mismatch` (60+/80+ the birth date does not reach), `birth_date_required` (60+/80+ for a walk-in without `birth_date`), `invalid_birth_date`, `invalid_name`, `patient_not_registered`, `not_a_professional`, `invalid_appointment` (not today's, or no longer scheduled/confirmed)", body = ErrorBody)))]
pub async fn check_in(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<CheckInRequest>,
) -> Result<HttpResponse, AppError> {
    let view = desk::check_in_at_desk(&state, &auth, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/call-next", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = CallNextRequest,
    responses((status = 200, description = "The entry now called to `room`; two callers at once never get the same patient. The professional's previous call (called or in service) is finished by this one (`done`)", body = QueueEntryView),
              (status = 409, description = "`queue_empty`", body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn call_next(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<CallNextRequest>,
) -> Result<HttpResponse, AppError> {
    let entry = desk::call_next(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(entry))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/{entry_id}/{action}", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("entry_id" = String, Path, format = Uuid),
           ("action" = String, Path, description = "recall, start, finish, no-show, return, leave or transfer")),
    request_body = ActRequest,
    responses((status = 200, body = QueueEntryView),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`", body = ErrorBody),
              (status = 422, description = "`unknown_action`, `not_a_professional`", body = ErrorBody)))]
pub async fn act(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
    body: Option<web::Json<ActRequest>>,
) -> Result<HttpResponse, AppError> {
    let EntryPath {
        clinic_id,
        entry_id,
        action,
    } = path.into_inner();
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let entry = desk::act_on_entry(&state, &auth, clinic_id, entry_id, &action, body).await?;
    Ok(HttpResponse::Ok().json(entry))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue/settings", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The clinic's waiting-room rules and whether a TV panel is set up", body = QueueSettingsView),
              (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let settings = setup::get_settings(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(settings))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/queue/settings", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = QueueSettingsRequest,
    responses((status = 200, description = "Saved; the next call follows the new rules", body = QueueSettingsView),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_priority_mode`, `invalid_priority_run`, `invalid_service_minutes`", body = ErrorBody)))]
pub async fn put_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<QueueSettingsRequest>,
) -> Result<HttpResponse, AppError> {
    let settings = setup::put_settings(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(settings))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue/panel", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The redacted panel snapshot (as `clinic:<id>:panel` carries it): waiting tickets in call order with estimated waits in minutes, and the recent calls", body = PanelSnapshot),
              (status = 403, body = ErrorBody)))]
pub async fn staff_panel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let snapshot = desk::staff_panel(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(snapshot))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/panel-token", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "A new TV panel secret, shown once, and the page to open on the TV (`/#/painel/<token>`); the previous secret stops working", body = PanelTokenView),
              (status = 403, description = "Clinic administrators only", body = ErrorBody)))]
pub async fn new_panel_token(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let token = setup::new_panel_token(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(token))
}

/// The address of this installation as the caller reached it.
fn seen_at(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue/checkin-link", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The self check-in page for patients (`url`) and its QR code as SVG (`qr_svg`), to show or print at reception", body = CheckinLinkView),
              (status = 403, body = ErrorBody)))]
pub async fn checkin_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let link = setup::checkin_link(&state, &auth, path.into_inner(), &seen_at(&req)).await?;
    Ok(HttpResponse::Ok().json(link))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/checkin-link", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "A new check-in code; the printed QR code with the old one stops working", body = CheckinLinkView),
              (status = 403, description = "Clinic administrators only", body = ErrorBody)))]
pub async fn rotate_checkin_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let link = setup::rotate_checkin_link(&state, &auth, path.into_inner(), &seen_at(&req)).await?;
    Ok(HttpResponse::Ok().json(link))
}
