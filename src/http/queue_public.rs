//! The waiting room for people without a staff login: the clinic's TV call panel (by its
//! secret), the patient's phone page (by the signed tracker link handed out at check-in),
//! and self check-in from the QR code at reception. Credentials travel in POST bodies —
//! never in URLs that proxies and access logs keep. Nothing here shows a full name, a CPF
//! or an internal id: the panel snapshot is the same one `clinic:<id>:panel` carries.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::extract::{bearer_token, client_ip};
use crate::actors::protocol::Topic;
use crate::actors::queue::{CheckIn, QueueAction, clinic_today, panel_name, panel_snapshot};
use crate::app::caller::authenticate;
use crate::app::error::{AppError, ErrorBody};
use crate::app::guests::{Guest, guest_from};
use crate::app::queue::{sync_appointment, tracker_for};
use crate::app::state::AppState;
use crate::domain::queue::Priority;
use crate::domain::{ClinicId, Cpf, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::local_midnight;
use crate::store::queue::QueueEntryRow;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/public/panel", web::post().to(panel))
        .route("/public/queue/track", web::post().to(track))
        .route("/public/checkin/clinic", web::post().to(checkin_clinic))
        .route("/public/checkin", web::post().to(self_check_in));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PanelRequest {
    /// The panel secret from `POST /api/clinics/{id}/queue/panel-token`.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRequest {
    /// The tracker from a check-in answer.
    pub tracker: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinClinicRequest {
    /// The code in the reception's QR code.
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfCheckInRequest {
    /// The code in the reception's QR code.
    pub code: String,
    /// With no logged-in patient: the CPF and birth date on the clinic's record.
    #[serde(default)]
    pub cpf: Option<String>,
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
}

fn invalid_token() -> AppError {
    AppError::unauthorized("invalid_token", "link inválido ou expirado")
}

async fn clinic_name_and_tz(
    state: &AppState,
    clinic: ClinicId,
) -> Result<(String, chrono_tz::Tz), AppError> {
    let row = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((row.name.clone(), row.tz()))
}

/// The clinic's name (given with its zone), its panel topic and a snapshot read now (versioned by the queue
/// topic's head), as the public pages start from.
async fn public_view(
    state: &AppState,
    clinic: ClinicId,
    (name, tz): (String, chrono_tz::Tz),
) -> Result<serde_json::Value, AppError> {
    let queue_topic = Topic::ClinicQueue(clinic).to_string();
    let version = state.store.topic_head(&queue_topic).await?;
    let snapshot = panel_snapshot(&state.store, clinic, tz, version).await?;
    Ok(json!({
        "clinic_id": clinic,
        "clinic_name": name,
        "topic": Topic::ClinicPanel(clinic).to_string(),
        "snapshot": snapshot,
    }))
}

#[utoipa::path(post, path = "/api/public/panel", tag = "queue", request_body = PanelRequest,
    responses((status = 200, description = "The clinic's name and the panel snapshot (tickets waiting with estimated waits; the current call and the last five with first name and initial). Live: authenticate the WebSocket with `{\"panel\": token}` and join `clinic:<id>:panel`", body = Object),
              (status = 401, description = "`invalid_token`", body = ErrorBody)))]
pub async fn panel(
    state: web::Data<AppState>,
    body: web::Json<PanelRequest>,
) -> Result<HttpResponse, AppError> {
    let guest = guest_from(&state, Some(&body.token), None)
        .await
        .map_err(|_| invalid_token())?;
    let clinic = guest.clinic().ok_or_else(invalid_token)?;
    let named = clinic_name_and_tz(&state, clinic).await?;
    Ok(HttpResponse::Ok().json(public_view(&state, clinic, named).await?))
}

/// What a patient's phone shows about their own entry.
fn own_entry(e: &QueueEntryRow) -> serde_json::Value {
    json!({
        "ticket": e.ticket,
        "name": panel_name(&e.full_name),
        "status": e.status,
        "room": e.room,
        "checked_in_at": e.checked_in_at,
        "called_at": e.called_at,
        "recalls": e.recalls,
    })
}

#[utoipa::path(post, path = "/api/public/queue/track", tag = "queue", request_body = TrackRequest,
    responses((status = 200, description = "The patient's own entry (ticket, status, room) and the clinic's panel snapshot, from which the page computes the place in line. Live: authenticate the WebSocket with `{\"tracker\": …}`", body = Object),
              (status = 401, description = "`invalid_token`", body = ErrorBody)))]
pub async fn track(
    state: web::Data<AppState>,
    body: web::Json<TrackRequest>,
) -> Result<HttpResponse, AppError> {
    let guest = guest_from(&state, None, Some(&body.tracker))
        .await
        .map_err(|_| invalid_token())?;
    let Guest::Tracker { clinic, entry } = guest else {
        return Err(invalid_token());
    };
    let row = state
        .store
        .queue_entry(entry)
        .await?
        .ok_or_else(invalid_token)?;
    let named = clinic_name_and_tz(&state, clinic).await?;
    let tz = named.1;
    let mut view = public_view(&state, clinic, named).await?;
    view["today"] = json!(row.service_date == clinic_today(tz));
    view["entry"] = own_entry(&row);
    Ok(HttpResponse::Ok().json(view))
}

async fn clinic_of_code(state: &AppState, code: &str) -> Result<ClinicId, AppError> {
    if code.is_empty() || code.len() > 100 {
        return Err(AppError::NotFound);
    }
    state
        .store
        .clinic_by_checkin_token(code)
        .await?
        .ok_or(AppError::NotFound)
}

#[utoipa::path(post, path = "/api/public/checkin/clinic", tag = "queue", request_body = CheckinClinicRequest,
    responses((status = 200, description = "Which clinic a check-in QR code belongs to (its name)", body = Object),
              (status = 404, body = ErrorBody)))]
pub async fn checkin_clinic(
    state: web::Data<AppState>,
    body: web::Json<CheckinClinicRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = clinic_of_code(&state, &body.code).await?;
    let (name, _) = clinic_name_and_tz(&state, clinic).await?;
    Ok(HttpResponse::Ok().json(json!({"clinic_id": clinic, "clinic_name": name})))
}

#[utoipa::path(post, path = "/api/public/checkin", tag = "queue", request_body = SelfCheckInRequest,
    responses((status = 201, description = "Checked in: the ticket and the tracker for the phone page (`/#/fila/<tracker>`)", body = Object),
              (status = 200, description = "Already in today's queue: the same ticket and tracker", body = Object),
              (status = 401, description = "An `Authorization` header whose login is no longer valid", body = ErrorBody),
              (status = 404, description = "Unknown check-in code", body = ErrorBody),
              (status = 422, description = "`patient_not_found` (no record here with this CPF and birth date), `invalid_cpf`", body = ErrorBody),
              (status = 429, description = "Too many attempts from this address or for this CPF", body = ErrorBody)))]
pub async fn self_check_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SelfCheckInRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = clinic_of_code(&state, &body.code).await?;
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let (_, tz) = clinic_name_and_tz(&state, clinic).await?;
    let today = clinic_today(tz);
    let not_found = || {
        ValidationError::new(
            "patient_not_found",
            "não encontramos seu cadastro nesta clínica; procure a recepção",
        )
    };
    // A logged-in patient checks in as themself; anyone else proves who they are with the
    // CPF and birth date on the clinic's record (throttled like a login).
    let logged_in = match bearer_token(&req) {
        // A stale login must not silently turn into "type your CPF".
        Some(t) => {
            let a = authenticate(&state, t, ip.clone()).await?;
            a.patient_id.map(|p| (p, a.user_id))
        }
        None => None,
    };
    let patient = match logged_in {
        Some((pid, _)) => state.store.patient_by_id(pid).await?,
        None => {
            let cpf = Cpf::parse(body.cpf.as_deref().unwrap_or(""))?;
            let birth = body.birth_date.ok_or_else(|| {
                ValidationError::new("invalid_birth_date", "informe a data de nascimento")
            })?;
            let account = format!("checkin:{}", cpf.digits());
            let address = ip.clone().unwrap_or_default();
            state
                .throttle
                .check(&account, &address)
                .map_err(|wait| AppError::TooManyRequests {
                    retry_after_secs: wait,
                })?;
            let found = state
                .store
                .patient_by_cpf(cpf.digits())
                .await?
                .filter(|p| p.birth_date == birth);
            if found.is_none() {
                state.throttle.failed(&account);
            } else {
                state.throttle.succeeded(&account);
            }
            found
        }
    };
    let patient = patient.ok_or_else(not_found)?;
    let record = state
        .store
        .clinic_patient(clinic, patient.id)
        .await?
        .ok_or_else(not_found)?;
    let name = record
        .patient
        .social_name
        .clone()
        .unwrap_or(record.patient.full_name.clone());
    // Today's appointment, if any, is what they came for.
    let appointment = state
        .store
        .open_appointment_between(
            clinic,
            patient.id,
            local_midnight(tz, today),
            local_midnight(tz, today + chrono::Duration::days(1)),
        )
        .await?;
    let (entry, created) = state
        .registry
        .queue(clinic)
        .send(CheckIn {
            patient_id: Some(patient.id),
            full_name: name,
            professional_user_id: appointment.as_ref().map(|a| a.professional_user_id),
            priority: Priority::effective(Priority::None, Some(patient.birth_date), today),
            appointment: appointment.as_ref().map(|a| (a.id, a.starts_at)),
            reuse_active: true,
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    if created {
        sync_appointment(&state, &entry, QueueAction::CheckIn).await;
        state
            .store
            .record_audit(
                &AuditEvent::new(
                    logged_in.map(|(_, u)| u),
                    "queue.self_check_in",
                    "queue_entry",
                )
                .entity_id(entry.id)
                .clinic(clinic)
                .ip(ip),
            )
            .await?;
    }
    let tracker = tracker_for(&state, entry.id);
    let body = json!({
        "ticket": entry.ticket,
        "tracker": tracker,
        "tracker_path": format!("/#/fila/{tracker}"),
        "created": created,
    });
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
