//! The waiting room over HTTP: the day's board, check-in, call next, and actions on one
//! entry. Every change is also pushed live on `clinic:<id>:queue` (`queue.updated`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::agenda::clinic_tz;
use super::extract::Auth;
use super::queue_public::tracker_for;
use crate::actors::queue::{
    Act, CallNext, CheckIn, QueueAction, clinic_today, entry_view, panel_snapshot,
};
use crate::domain::queue::{Priority, PriorityMode, QueuePolicy};
use crate::domain::{ClinicId, PatientId, PersonName, Role, UserId, ValidationError};
use crate::error::{AppError, ErrorBody};
use crate::security::audit::AuditEvent;
use crate::security::tokens::{random_token, token_hash};
use crate::state::AppState;
use crate::store::agenda::local_midnight;
use crate::store::queue::QueueEntryRow;

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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// A patient registered with the clinic; or give `full_name` for a walk-in.
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    #[serde(default)]
    pub full_name: Option<String>,
    /// The professional they came for (any professional when absent).
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
    /// Today's appointment they came for: the patient, the professional and the place in
    /// line (by the appointment's time) come from it, and the appointment becomes
    /// `checked_in`; later moves (start, finish, no-show) flow to it too.
    #[serde(default)]
    pub appointment_id: Option<uuid::Uuid>,
    /// `none`, `elderly`, `elderly_80`, `pregnant`, `breastfeeding`, `disability`, `infant`.
    /// Age-based priority is applied from the birth date of a registered patient.
    #[serde(default)]
    pub priority: Option<String>,
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
    let entry = check_in_entry(&state, &auth, path.into_inner(), &body).await?;
    let mut view = entry_view(&entry);
    let tracker = tracker_for(&state, entry.id);
    view["tracker_path"] = json!(format!("/#/fila/{tracker}"));
    view["tracker"] = json!(tracker);
    Ok(HttpResponse::Created().json(view))
}

/// Check someone in (staff): a walk-in, a registered patient, or today's appointment. Shared
/// by the queue route and the agenda's "check-in" status.
pub async fn check_in_entry(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: &CheckInRequest,
) -> Result<QueueEntryRow, AppError> {
    auth.require_staff(clinic)?;
    let declared = body
        .priority
        .as_deref()
        .map(Priority::parse)
        .transpose()?
        .unwrap_or(Priority::None);
    let tz = clinic_tz(state, clinic).await?;
    let today = clinic_today(tz);
    let appointment = match body.appointment_id {
        // A registered patient who has an appointment today came for it.
        None => match body.patient_id {
            Some(pid) => {
                state
                    .store
                    .open_appointment_between(
                        clinic,
                        pid,
                        local_midnight(tz, today),
                        local_midnight(tz, today + chrono::Duration::days(1)),
                    )
                    .await?
            }
            None => None,
        },
        Some(id) => {
            let a = state
                .store
                .appointment_view(id)
                .await?
                .map(|v| v.a)
                .filter(|a| a.clinic_id == clinic)
                .filter(|a| a.starts_at.with_timezone(&tz).date_naive() == today)
                .filter(|a| matches!(a.status.as_str(), "scheduled" | "confirmed"))
                .ok_or_else(|| {
                    ValidationError::new(
                        "invalid_appointment",
                        "consulta de hoje não encontrada (ou já recebida, cancelada)",
                    )
                })?;
            Some(a)
        }
    };
    let patient_id = appointment
        .as_ref()
        .map(|a| a.patient_id)
        .or(body.patient_id);
    let professional = appointment
        .as_ref()
        .map(|a| a.professional_user_id)
        .or(body.professional_user_id);
    let (full_name, priority) = match patient_id {
        Some(pid) => {
            let p = state
                .store
                .clinic_patient(clinic, pid)
                .await?
                .ok_or_else(|| {
                    ValidationError::new(
                        "patient_not_registered",
                        "paciente não cadastrado nesta clínica",
                    )
                })?;
            let name = p
                .patient
                .social_name
                .clone()
                .unwrap_or(p.patient.full_name.clone());
            (
                name,
                Priority::effective(declared, Some(p.patient.birth_date), today),
            )
        }
        None => {
            let name = PersonName::parse(body.full_name.as_deref().unwrap_or(""))?;
            (name.into_inner(), declared)
        }
    };
    if let Some(p) = professional
        && !state.store.is_professional_in(clinic, p).await?
    {
        return Err(ValidationError::new(
            "not_a_professional",
            "a pessoa indicada não é profissional desta clínica",
        )
        .into());
    }
    let (entry, _) = state
        .registry
        .queue(clinic)
        .send(CheckIn {
            patient_id,
            full_name,
            professional_user_id: professional,
            priority,
            appointment: appointment.as_ref().map(|a| (a.id, a.starts_at)),
            reuse_active: false,
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    sync_appointment(state, &entry, QueueAction::CheckIn).await;
    Ok(entry)
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
        crate::actors::ws_session::publish_panel_revoked(state.bus.as_ref(), &old);
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

/// Carry a queue move to the linked appointment (checked_in, in_progress, done, no_show)
/// through the clinic's agenda actor, so the agenda screens see it live. Best effort: the
/// queue move is already stored; an appointment that cannot take the move (e.g. cancelled
/// meanwhile) keeps its status, and the reason is logged.
pub async fn sync_appointment(state: &AppState, entry: &QueueEntryRow, action: QueueAction) {
    use crate::actors::agenda::{Change, Modify};
    use crate::domain::agenda::status;
    let Some(id) = entry.appointment_id else {
        return;
    };
    let steps: &[&'static str] = match action {
        QueueAction::CheckIn => &[status::CHECKED_IN],
        QueueAction::Start => &[status::IN_PROGRESS],
        QueueAction::Finish if entry.service_started_at.is_some() => &[status::DONE],
        // Finished straight from "called": it did happen.
        QueueAction::Finish => &[status::IN_PROGRESS, status::DONE],
        QueueAction::NoShow => &[status::NO_SHOW],
        QueueAction::Return => &[status::CHECKED_IN],
        _ => &[],
    };
    if action == QueueAction::Leave {
        // Left before being seen: the appointment is off, and its time goes back.
        let sent = state
            .registry
            .agenda(entry.clinic_id)
            .send(Modify {
                id,
                change: Change::Cancel {
                    reason: "Paciente saiu da fila de espera".into(),
                },
            })
            .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!(appointment = %id, "appointment not cancelled after leaving the queue");
        }
        return;
    }
    for to in steps {
        let sent = state
            .registry
            .agenda(entry.clinic_id)
            .send(Modify {
                id,
                change: Change::Status(to),
            })
            .await;
        match sent {
            Ok(Ok(_)) => {}
            // Already there (e.g. back from "called"): nothing to do.
            Ok(Err(e)) if e.code == "invalid_transition" => {
                tracing::debug!(appointment = %id, to, "appointment already past this status");
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(appointment = %id, to, code = e.code, "appointment status not updated from the queue");
                return;
            }
            Err(_) => {
                tracing::warn!(appointment = %id, "agenda actor unavailable");
                return;
            }
        }
    }
}
