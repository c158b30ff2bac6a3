//! The waiting room over HTTP: the day's board, check-in, call next, and actions on one
//! entry. Every change is also pushed live on `clinic:<id>:queue` (`queue.updated`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::actors::queue::{Act, CallNext, QueueAction, clinic_today, entry_view, panel_snapshot};
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::{AppError, ErrorBody};
use crate::app::queue::{CheckInRequest, sync_appointment, tracker_for};
use crate::app::state::AppState;
use crate::domain::queue::{PriorityMode, QueuePolicy};
use crate::domain::{ClinicId, Role, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::security::tokens::{random_token, token_hash};

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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallNextRequest {
    /// Where the patient should go, e.g. `Consultório 2`.
    pub room: String,
    /// Staff calling on behalf of a professional; a professional calls for themself.
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActRequest {
    /// For `transfer`: the professional who takes over.
    #[serde(default)]
    pub to: Option<UserId>,
}

#[derive(Debug, Deserialize)]
pub struct EntryPath {
    pub clinic_id: ClinicId,
    pub entry_id: uuid::Uuid,
    pub action: String,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Today's entries (clinic time zone): waiting in call order, then called, in service, and finished", body = [Object]),
              (status = 403, body = ErrorBody)))]
pub async fn board(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let tz = clinic_tz(&state, clinic).await?;
    let entries = state.store.queue_for_day(clinic, clinic_today(tz)).await?;
    Ok(HttpResponse::Ok().json(entries.iter().map(entry_view).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = CheckInRequest,
    responses((status = 201, description = "The new entry with its ticket (`N001`, or `P001` for legal priority)", body = Object),
              (status = 403, body = ErrorBody),
              (status = 409, description = "`already_in_queue`: the patient has a ticket today still waiting, called or in service", body = ErrorBody),
              (status = 422, description = "`invalid_priority`, `invalid_name`, `patient_not_registered`, `not_a_professional`, `invalid_appointment` (not today's, or no longer scheduled/confirmed)", body = ErrorBody)))]
pub async fn check_in(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<CheckInRequest>,
) -> Result<HttpResponse, AppError> {
    let entry = crate::app::queue::check_in(&state, &auth, path.into_inner(), &body).await?;
    let mut view = entry_view(&entry);
    let tracker = tracker_for(&state, entry.id);
    view["tracker_path"] = json!(format!("/#/fila/{tracker}"));
    view["tracker"] = json!(tracker);
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/call-next", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = CallNextRequest,
    responses((status = 200, description = "The entry now called to `room`; two callers at once never get the same patient", body = Object),
              (status = 409, description = "`queue_empty`", body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn call_next(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<CallNextRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let room = body.room.trim().to_string();
    if room.is_empty() || room.chars().count() > 40 || room.chars().any(char::is_control) {
        return Err(
            ValidationError::new("invalid_room", "informe a sala (até 40 caracteres)").into(),
        );
    }
    let professional = match body.professional_user_id {
        Some(p) if p != auth.user_id => {
            auth.require_role(clinic, &[Role::ClinicAdmin, Role::Receptionist])?;
            p
        }
        _ => auth.user_id,
    };
    if !state.store.is_professional_in(clinic, professional).await? {
        return Err(ValidationError::new(
            "not_a_professional",
            "apenas profissionais chamam pacientes",
        )
        .into());
    }
    let entry = state
        .registry
        .queue(clinic)
        .send(CallNext {
            by: auth.user_id,
            professional,
            room,
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    Ok(HttpResponse::Ok().json(entry_view(&entry)))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/{entry_id}/{action}", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("entry_id" = String, Path, format = Uuid),
           ("action" = String, Path, description = "recall, start, finish, no-show, return, leave or transfer")),
    request_body = ActRequest,
    responses((status = 200, body = Object),
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
    auth.require_staff(clinic_id)?;
    let action = QueueAction::parse(&action)
        .ok_or_else(|| ValidationError::new("unknown_action", "ação desconhecida"))?;
    let to = body.and_then(|b| b.into_inner().to);
    if action == QueueAction::Transfer {
        let Some(p) = to else {
            return Err(ValidationError::new(
                "not_a_professional",
                "informe para quem transferir (to)",
            )
            .into());
        };
        if !state.store.is_professional_in(clinic_id, p).await? {
            return Err(ValidationError::new(
                "not_a_professional",
                "a pessoa indicada não é profissional desta clínica",
            )
            .into());
        }
    }
    let entry = state
        .registry
        .queue(clinic_id)
        .send(Act {
            entry: entry_id,
            action,
            to,
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    sync_appointment(&state, &entry, action).await;
    Ok(HttpResponse::Ok().json(entry_view(&entry)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettingsRequest {
    /// `strict` (legal priority always first) or `alternate` (after `priority_run` priority
    /// calls in a row, one regular ticket).
    pub priority_mode: String,
    /// 1–10.
    pub priority_run: i64,
    /// Assumed service time for professionals with no recent history, 1–240 minutes.
    pub default_service_minutes: i64,
}

fn settings_view(s: &crate::store::queue::QueueSettingsRow) -> serde_json::Value {
    let p = s.policy();
    json!({
        "priority_mode": p.priority_mode,
        "priority_run": p.priority_run,
        "default_service_minutes": p.default_service_minutes,
        "panel_configured": s.panel_token_hash.is_some(),
    })
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue/settings", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The clinic's waiting-room rules and whether a TV panel is set up", body = Object),
              (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    Ok(HttpResponse::Ok().json(settings_view(&state.store.queue_settings(clinic).await?)))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/queue/settings", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = QueueSettingsRequest,
    responses((status = 200, description = "Saved; the next call follows the new rules", body = Object),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_priority_mode`, `invalid_priority_run`, `invalid_service_minutes`", body = ErrorBody)))]
pub async fn put_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<QueueSettingsRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let policy = QueuePolicy::new(
        PriorityMode::parse(&body.priority_mode)?,
        body.priority_run,
        body.default_service_minutes,
    )?;
    state.store.set_queue_policy(clinic, &policy).await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "queue.settings_changed", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({"priority_mode": policy.priority_mode, "priority_run": policy.priority_run,
                                "default_service_minutes": policy.default_service_minutes})),
        )
        .await?;
    Ok(HttpResponse::Ok().json(settings_view(&state.store.queue_settings(clinic).await?)))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue/panel", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The redacted panel snapshot (as `clinic:<id>:panel` carries it): waiting tickets in call order with estimated waits in minutes, and the recent calls", body = Object),
              (status = 403, body = ErrorBody)))]
pub async fn staff_panel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let tz = clinic_tz(&state, clinic).await?;
    let topic = crate::actors::protocol::Topic::ClinicQueue(clinic).to_string();
    let version = state.store.topic_head(&topic).await?;
    Ok(HttpResponse::Ok().json(panel_snapshot(&state.store, clinic, tz, version).await?))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/panel-token", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "A new TV panel secret, shown once, and the page to open on the TV (`/#/painel/<token>`); the previous secret stops working", body = Object),
              (status = 403, description = "Clinic administrators only", body = ErrorBody)))]
pub async fn new_panel_token(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let token = random_token();
    let old = state.store.queue_settings(clinic).await?.panel_token_hash;
    state
        .store
        .set_panel_token_hash(clinic, &token_hash(&token))
        .await?;
    if let Some(old) = old {
        // TVs showing the old link go dark now, on every node.
        crate::bus::revocation::publish_panel_revoked(state.bus.as_ref(), &old);
    }
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "queue.panel_token_created", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "token": token,
        "path": format!("/#/painel/{token}"),
    })))
}

/// The absolute address of this installation as the caller reaches it.
fn base_url(state: &AppState, req: &actix_web::HttpRequest) -> String {
    let configured = state.settings.server.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn checkin_view(state: &AppState, req: &actix_web::HttpRequest, code: &str) -> serde_json::Value {
    let path = format!("/#/checkin/{code}");
    let url = format!("{}{path}", base_url(state, req));
    json!({
        "code": code,
        "path": path,
        "url": url,
        "qr_svg": crate::qr::svg(&url),
    })
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/queue/checkin-link", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The self check-in page for patients (`url`) and its QR code as SVG (`qr_svg`), to show or print at reception", body = Object),
              (status = 403, body = ErrorBody)))]
pub async fn checkin_link(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let code = state
        .store
        .ensure_checkin_token(clinic, &random_token(), true)
        .await?;
    Ok(HttpResponse::Ok().json(checkin_view(&state, &req, &code)))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue/checkin-link", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "A new check-in code; the printed QR code with the old one stops working", body = Object),
              (status = 403, description = "Clinic administrators only", body = ErrorBody)))]
pub async fn rotate_checkin_link(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let code = state
        .store
        .ensure_checkin_token(clinic, &random_token(), false)
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "queue.checkin_link_rotated", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(HttpResponse::Ok().json(checkin_view(&state, &req, &code)))
}
