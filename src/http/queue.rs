//! The waiting room over HTTP: the day's board, check-in, call next, and actions on one
//! entry. Every change is also pushed live on `clinic:<id>:queue` (`queue.updated`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::Auth;
use crate::actors::queue::{Act, CallNext, CheckIn, QueueAction, clinic_today, entry_view};
use crate::domain::queue::Priority;
use crate::domain::{ClinicId, PatientId, PersonName, Role, UserId, ValidationError};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics/{clinic_id}/queue", web::get().to(board))
        .route("/clinics/{clinic_id}/queue", web::post().to(check_in))
        .route(
            "/clinics/{clinic_id}/queue/call-next",
            web::post().to(call_next),
        )
        .route(
            "/clinics/{clinic_id}/queue/{entry_id}/{action}",
            web::post().to(act),
        );
}

#[derive(Debug, Deserialize, ToSchema)]
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

const STAFF: [Role; 3] = [Role::ClinicAdmin, Role::Professional, Role::Receptionist];

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
    auth.require_role(clinic, &STAFF)?;
    let row = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let entries = state
        .store
        .queue_for_day(clinic, clinic_today(row.tz()))
        .await?;
    Ok(HttpResponse::Ok().json(entries.iter().map(entry_view).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/queue", tag = "queue", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = CheckInRequest,
    responses((status = 201, description = "The new entry with its ticket (`N001`, or `P001` for legal priority)", body = Object),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`invalid_priority`, `invalid_name`, `patient_not_registered`, `not_a_professional`", body = ErrorBody)))]
pub async fn check_in(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<CheckInRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_role(clinic, &STAFF)?;
    let declared = body
        .priority
        .as_deref()
        .map(Priority::parse)
        .transpose()?
        .unwrap_or(Priority::None);
    let row = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let today = clinic_today(row.tz());
    let (full_name, priority) = match body.patient_id {
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
    if let Some(p) = body.professional_user_id
        && !state.store.is_professional_in(clinic, p).await?
    {
        return Err(ValidationError::new(
            "not_a_professional",
            "a pessoa indicada não é profissional desta clínica",
        )
        .into());
    }
    let entry = state
        .registry
        .queue(clinic)
        .send(CheckIn {
            patient_id: body.patient_id,
            full_name,
            professional_user_id: body.professional_user_id,
            priority,
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    Ok(HttpResponse::Created().json(entry_view(&entry)))
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
    auth.require_role(clinic, &STAFF)?;
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
    auth.require_role(clinic_id, &STAFF)?;
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
    Ok(HttpResponse::Ok().json(entry_view(&entry)))
}
