//! The waitlist over HTTP: join it (a patient for themself, staff for a patient), see it,
//! leave it, and answer an offer. Offers also arrive as one-click links (see `links`).

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::actors::agenda::waitlist::RespondOffer;
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::agenda::parse_hhmm;
use crate::domain::{ClinicId, PatientId, UserId, ValidationError};
use crate::store::waitlist::{WaitlistRow, WaitlistView};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics/{clinic_id}/waitlist", web::get().to(list))
        .route("/clinics/{clinic_id}/waitlist", web::post().to(join))
        .route(
            "/clinics/{clinic_id}/waitlist/{entry_id}/cancel",
            web::post().to(cancel),
        )
        .route(
            "/clinics/{clinic_id}/waitlist/offers/{offer_id}/release",
            web::post().to(release),
        )
        .route("/me/waitlist", web::get().to(mine))
        .route(
            "/me/waitlist/offers/{offer_id}/{answer}",
            web::post().to(answer),
        );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// Staff put a registered patient on the list; a patient omits it.
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    /// A professional, a service, or both (at least one).
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
    #[serde(default)]
    pub service_id: Option<uuid::Uuid>,
    /// Local dates, inclusive (at most 90 days apart).
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    /// Preferred local times of day, `HH:MM` (default the whole day).
    #[serde(default)]
    pub time_from: Option<String>,
    #[serde(default)]
    pub time_to: Option<String>,
}

fn view_json(v: &WaitlistView) -> serde_json::Value {
    json!({
        "id": v.w.id, "clinic_id": v.w.clinic_id, "patient_id": v.w.patient_id,
        "patient_name": v.patient_name, "professional_user_id": v.w.professional_user_id,
        "service_id": v.w.service_id, "date_from": v.w.date_from, "date_to": v.w.date_to,
        "time_from": v.w.time_from, "time_to": v.w.time_to, "status": v.w.status,
        "created_at": v.w.created_at,
        "offer": v.offer_id.map(|id| json!({"id": id, "expires_at": v.offer_expires_at,
                                             "appointment_id": v.offer_appointment_id,
                                             "starts_at": v.offer_starts_at, "ends_at": v.offer_ends_at})),
    })
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/waitlist", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = JoinRequest,
    responses((status = 201, description = "On the list (`waiting`): the first matching freed slot is offered and held for them", body = Object),
              (status = 403, body = ErrorBody),
              (status = 422, description = "`invalid_waitlist` (no professional nor service, bad dates or times), `invalid_service`, `not_a_professional`, `patient_not_registered`", body = ErrorBody)))]
pub async fn join(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<JoinRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    let patient = if auth.is_staff_of(clinic) {
        let p = body
            .patient_id
            .ok_or_else(|| ValidationError::new("patient_not_registered", "informe patient_id"))?;
        state
            .store
            .clinic_patient(clinic, p)
            .await?
            .ok_or_else(|| {
                ValidationError::new(
                    "patient_not_registered",
                    "paciente não cadastrado nesta clínica",
                )
            })?;
        p
    } else {
        match auth.patient_id {
            Some(own) if body.patient_id.is_none_or(|p| p == own) => {
                state
                    .store
                    .clinic_by_id(clinic)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let mut tx = state.store.begin().await?;
                state
                    .store
                    .link_patient_to_clinic(&mut tx, clinic, own, None, None)
                    .await?;
                tx.commit().await?;
                own
            }
            _ => return Err(AppError::Forbidden),
        }
    };
    let bad = |m: &str| ValidationError::new("invalid_waitlist", m.to_string());
    if body.professional_user_id.is_none() && body.service_id.is_none() {
        return Err(bad("informe o profissional ou o serviço").into());
    }
    if body.date_to < body.date_from || (body.date_to - body.date_from).num_days() > 90 {
        return Err(bad("período inválido (até 90 dias)").into());
    }
    let tz = crate::app::clinics::clinic_tz(&state, clinic).await?;
    if body.date_to < chrono::Utc::now().with_timezone(&tz).date_naive() {
        return Err(bad("o período já passou").into());
    }
    let time_from = body.time_from.clone().unwrap_or_else(|| "00:00".into());
    let time_to = body.time_to.clone().unwrap_or_else(|| "24:00".into());
    if parse_hhmm(&time_from)? >= parse_hhmm(&time_to)? {
        return Err(bad("o horário inicial deve ser antes do final").into());
    }
    if let Some(p) = body.professional_user_id
        && !state.store.is_professional_in(clinic, p).await?
    {
        return Err(ValidationError::new(
            "not_a_professional",
            "profissional não pertence à clínica",
        )
        .into());
    }
    if let Some(s) = body.service_id {
        state
            .store
            .service(s)
            .await?
            .filter(|s| s.clinic_id == clinic && s.active)
            .ok_or_else(|| ValidationError::new("invalid_service", "serviço não encontrado"))?;
    }
    let w = WaitlistRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        professional_user_id: body.professional_user_id,
        service_id: body.service_id,
        date_from: body.date_from,
        date_to: body.date_to,
        time_from,
        time_to,
        status: "waiting".into(),
        created_at: crate::store::now(),
    };
    state.store.insert_waitlist(&w).await?;
    Ok(HttpResponse::Created().json(json!({"id": w.id, "status": w.status})))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/waitlist", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Entries waiting or holding an offer, first come first served", body = [Object]),
              (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let rows = state.store.waitlist_views(Some(clinic), None).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(view_json).collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/api/me/waitlist", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "The calling patient's waitlist entries with any open offer", body = [Object])))]
pub async fn mine(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let Some(p) = auth.patient_id else {
        return Ok(HttpResponse::Ok().json(Vec::<serde_json::Value>::new()));
    };
    let rows = state.store.waitlist_views(None, Some(p)).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(view_json).collect::<Vec<_>>()))
}

#[derive(Debug, Deserialize)]
pub struct EntryPath {
    pub clinic_id: ClinicId,
    pub entry_id: uuid::Uuid,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/waitlist/{entry_id}/cancel", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("entry_id" = String, Path, format = Uuid)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`: only a waiting entry leaves the list (answer an open offer first)", body = ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let w = state
        .store
        .waitlist_entry(p.entry_id)
        .await?
        .filter(|w| w.clinic_id == p.clinic_id)
        .ok_or(AppError::NotFound)?;
    if !(auth.is_staff_of(p.clinic_id) || auth.patient_id == Some(w.patient_id)) {
        return Err(AppError::NotFound);
    }
    if w.status != "waiting" {
        return Err(AppError::Conflict {
            code: "invalid_transition",
            message: format!("a entrada está em '{}'", w.status),
        });
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_waitlist_status(&mut tx, w.id, "cancelled")
        .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(json!({"id": w.id, "status": "cancelled"})))
}

#[derive(Debug, Deserialize)]
pub struct OfferPath {
    pub offer_id: uuid::Uuid,
    pub answer: String,
}

/// Answer an offer of `clinic` on behalf of its patient (shared with the one-click links).
pub async fn respond(
    state: &AppState,
    clinic: ClinicId,
    offer: uuid::Uuid,
    accept: bool,
) -> Result<serde_json::Value, AppError> {
    let (a, names) = state
        .registry
        .agenda(clinic)
        .send(RespondOffer { offer, accept })
        .await
        .map_err(|_| AppError::Unavailable)??;
    Ok(crate::actors::agenda::appointment_json(&a, &names))
}

#[utoipa::path(post, path = "/api/me/waitlist/offers/{offer_id}/{answer}", tag = "agenda", security(("bearer" = [])),
    params(("offer_id" = String, Path, format = Uuid), ("answer" = String, Path, description = "accept or decline")),
    responses((status = 200, description = "Accepted: the appointment is `scheduled`; declined: released to the next patient", body = Object),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`offer_closed`, `offer_expired`", body = ErrorBody)))]
pub async fn answer(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<OfferPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let accept = match p.answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(ValidationError::new("unknown_action", "use accept ou decline").into()),
    };
    let (clinic, patient) = state
        .store
        .offer_owner(p.offer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if auth.patient_id != Some(patient) {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::Ok().json(respond(&state, clinic, p.offer_id, accept).await?))
}

#[derive(Debug, Deserialize)]
pub struct ReleasePath {
    pub clinic_id: ClinicId,
    pub offer_id: uuid::Uuid,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/waitlist/offers/{offer_id}/release", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("offer_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient declined by phone: the hold is released and the slot offered to the next patient", body = Object),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`offer_closed`", body = ErrorBody)))]
pub async fn release(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ReleasePath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    auth.require_staff(p.clinic_id)?;
    state
        .store
        .offer_owner(p.offer_id)
        .await?
        .filter(|(c, _)| *c == p.clinic_id)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(respond(&state, p.clinic_id, p.offer_id, false).await?))
}
