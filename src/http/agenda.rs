//! The agenda over HTTP: services, weekly hours and booking rules, exceptions, free slots,
//! appointments (book, reschedule, cancel, status), a professional's agenda across clinics,
//! a patient's own appointments, and the public booking page's data. Every change goes
//! through the clinic's `ClinicAgenda` actor and is pushed live (see docs/protocol.md).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::actors::agenda::{
    Book, Change, DEFAULT_MINUTES, Modify, SlotQuery, appointment_json, slots_for,
};
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::agenda::{BookingRules, ServiceTiming, WorkingHours, check_week, status};
use crate::domain::{ClinicId, PatientId, Role, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::{
    AppointmentView, AppointmentsOf, ExceptionRow, ServiceRow, local_midnight,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/clinics/{clinic_id}/services/{service_id}",
        web::put().to(update_service),
    )
    .route(
        "/clinics/{clinic_id}/services",
        web::get().to(list_services),
    )
    .route(
        "/clinics/{clinic_id}/services",
        web::post().to(create_service),
    )
    .route(
        "/clinics/{clinic_id}/professionals/{user_id}/schedule",
        web::get().to(get_schedule),
    )
    .route(
        "/clinics/{clinic_id}/professionals/{user_id}/schedule",
        web::put().to(put_schedule),
    )
    .route(
        "/clinics/{clinic_id}/exceptions",
        web::get().to(list_exceptions),
    )
    .route(
        "/clinics/{clinic_id}/exceptions",
        web::post().to(create_exception),
    )
    .route(
        "/clinics/{clinic_id}/exceptions/{exception_id}",
        web::delete().to(delete_exception),
    )
    .route("/clinics/{clinic_id}/slots", web::get().to(staff_slots))
    .route(
        "/clinics/{clinic_id}/appointments",
        web::get().to(list_appointments),
    )
    .route("/clinics/{clinic_id}/appointments", web::post().to(book))
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/reschedule",
        web::post().to(reschedule),
    )
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/cancel",
        web::post().to(cancel),
    )
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/status",
        web::post().to(set_status),
    )
    .route("/me/agenda", web::get().to(my_agenda))
    .route("/me/appointments", web::get().to(my_appointments))
    .route("/me/ical", web::get().to(ical_status))
    .route("/me/ical", web::post().to(create_ical))
    .route("/me/ical", web::delete().to(delete_ical))
    .route(
        "/public/clinics/{clinic_id}/booking",
        web::get().to(public_booking),
    )
    .route(
        "/public/clinics/{clinic_id}/slots",
        web::get().to(public_slots),
    );
}

/// The longest range one request may ask for.
const MAX_DAYS: i64 = 62;

fn view_json(v: &AppointmentView) -> serde_json::Value {
    appointment_json(
        &v.a,
        &crate::actors::agenda::Names {
            patient: v
                .patient_social_name
                .clone()
                .unwrap_or(v.patient_name.clone()),
            professional: v.professional_name.clone(),
            service: v.service_name.clone(),
            patient_user: None,
            clinic: v.clinic_name.clone(),
            time_zone: v.clinic_time_zone.clone(),
        },
    )
}

// ------------------------------------------------------------------- services ---

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    pub name: String,
    /// 5–480.
    pub duration_minutes: i64,
    #[serde(default)]
    pub price_cents: i64,
    #[serde(default)]
    pub buffer_before_minutes: i64,
    #[serde(default)]
    pub buffer_after_minutes: i64,
    /// Only this professional offers it (any professional of the clinic when absent).
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
    #[serde(default)]
    pub teleconsultation: bool,
    /// On update: `false` stops offering the service.
    #[serde(default)]
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/services", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Active services with duration, price (centavos) and buffers", body = [Object]),
              (status = 403, body = ErrorBody)))]
pub async fn list_services(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    Ok(HttpResponse::Ok().json(state.store.services_of_clinic(clinic).await?))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/services", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = ServiceRequest,
    responses((status = 201, body = Object),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 422, description = "`invalid_service_name`, `invalid_duration`, `invalid_price`, `invalid_buffer`, `not_a_professional`", body = ErrorBody)))]
pub async fn create_service(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<ServiceRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let name = validate_service(&state, clinic, &body).await?;
    let s = ServiceRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        professional_user_id: body.professional_user_id,
        name,
        duration_minutes: body.duration_minutes as i32,
        price_cents: body.price_cents,
        buffer_before_minutes: body.buffer_before_minutes as i32,
        buffer_after_minutes: body.buffer_after_minutes as i32,
        teleconsultation: body.teleconsultation,
        active: true,
        created_at: crate::store::now(),
    };
    state.store.insert_service(&s).await?;
    Ok(HttpResponse::Created().json(s))
}

/// Check a service request; the trimmed name.
async fn validate_service(
    state: &AppState,
    clinic: ClinicId,
    body: &ServiceRequest,
) -> Result<String, AppError> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "invalid_service_name",
            "nome do serviço: até 80 caracteres",
        )
        .into());
    }
    if !(5..=480).contains(&body.duration_minutes) {
        return Err(ValidationError::new("invalid_duration", "duração de 5 a 480 minutos").into());
    }
    if !(0..=100_000_000).contains(&body.price_cents) {
        return Err(ValidationError::new("invalid_price", "preço inválido").into());
    }
    for b in [body.buffer_before_minutes, body.buffer_after_minutes] {
        if !(0..=120).contains(&b) {
            return Err(
                ValidationError::new("invalid_buffer", "intervalos de 0 a 120 minutos").into(),
            );
        }
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
    Ok(name)
}

#[derive(Debug, Deserialize)]
pub struct ServicePath {
    pub clinic_id: ClinicId,
    pub service_id: uuid::Uuid,
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/services/{service_id}", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("service_id" = String, Path, format = Uuid)),
    request_body = ServiceRequest,
    responses((status = 200, description = "Updated; `active: false` stops offering it (existing appointments keep it)", body = Object),
              (status = 403, description = "Clinic administrators only", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_service(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ServicePath>,
    body: web::Json<ServiceRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    auth.require_role(p.clinic_id, &[Role::ClinicAdmin])?;
    let mut s = state
        .store
        .service(p.service_id)
        .await?
        .filter(|s| s.clinic_id == p.clinic_id)
        .ok_or(AppError::NotFound)?;
    s.name = validate_service(&state, p.clinic_id, &body).await?;
    s.duration_minutes = body.duration_minutes as i32;
    s.price_cents = body.price_cents;
    s.buffer_before_minutes = body.buffer_before_minutes as i32;
    s.buffer_after_minutes = body.buffer_after_minutes as i32;
    s.teleconsultation = body.teleconsultation;
    s.professional_user_id = body.professional_user_id;
    s.active = body.active.unwrap_or(s.active);
    state.store.update_service(&s).await?;
    slots_changed(&state, p.clinic_id, None);
    Ok(HttpResponse::Ok().json(s))
}

// ---------------------------------------------------------- hours and rules ---

#[derive(Debug, Deserialize)]
pub struct ProPath {
    pub clinic_id: ClinicId,
    pub user_id: UserId,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i64,
    /// `HH:MM`, clinic local time.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// Weekly working stretches; gaps between stretches of a day are breaks.
    pub hours: Vec<HoursInput>,
    #[serde(default)]
    pub rules: Option<BookingRules>,
}

async fn require_schedule_editor(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    pro: UserId,
) -> Result<(), AppError> {
    if !(auth.has_role(clinic, &[Role::ClinicAdmin]) || auth.user_id == pro) {
        return Err(AppError::Forbidden);
    }
    auth.require_staff(clinic)?;
    if !state.store.is_professional_in(clinic, pro).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

fn schedule_json(hours: &[WorkingHours], rules: &BookingRules) -> serde_json::Value {
    json!({
        "hours": hours.iter().map(|h| json!({
            "weekday": h.weekday,
            "start": crate::domain::agenda::format_hhmm(h.start),
            "end": crate::domain::agenda::format_hhmm(h.end),
        })).collect::<Vec<_>>(),
        "rules": rules,
    })
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/professionals/{user_id}/schedule", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("user_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Weekly hours (local time) and booking rules", body = Object),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_schedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ProPath>,
) -> Result<HttpResponse, AppError> {
    let ProPath { clinic_id, user_id } = path.into_inner();
    auth.require_staff(clinic_id)?;
    if !state.store.is_professional_in(clinic_id, user_id).await? {
        return Err(AppError::NotFound);
    }
    let hours = state.store.working_hours(clinic_id, user_id).await?;
    let rules = state.store.booking_rules(clinic_id, user_id).await?;
    Ok(HttpResponse::Ok().json(schedule_json(&hours, &rules)))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/professionals/{user_id}/schedule", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("user_id" = String, Path, format = Uuid)),
    request_body = ScheduleRequest,
    responses((status = 200, body = Object),
              (status = 403, description = "The professional or a clinic administrator", body = ErrorBody),
              (status = 422, description = "`invalid_weekday`, `invalid_time`, `invalid_hours`, `overlapping_hours`, `invalid_notice`, `invalid_window`, `invalid_daily_limit`, `invalid_step`", body = ErrorBody)))]
pub async fn put_schedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ProPath>,
    body: web::Json<ScheduleRequest>,
) -> Result<HttpResponse, AppError> {
    let ProPath { clinic_id, user_id } = path.into_inner();
    require_schedule_editor(&state, &auth, clinic_id, user_id).await?;
    let hours = body
        .hours
        .iter()
        .map(|h| WorkingHours::new(h.weekday, &h.start, &h.end))
        .collect::<Result<Vec<_>, _>>()?;
    if hours.len() > 70 {
        return Err(ValidationError::new("invalid_hours", "horários demais").into());
    }
    check_week(&hours)?;
    let rules = match body.rules {
        Some(r) => r,
        None => state.store.booking_rules(clinic_id, user_id).await?,
    };
    rules.validate()?;
    state
        .store
        .set_schedule(clinic_id, user_id, &hours, &rules)
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(
                Some(auth.user_id),
                "agenda.schedule_changed",
                "professional",
            )
            .entity_id(user_id)
            .clinic(clinic_id)
            .ip(auth.ip.clone()),
        )
        .await?;
    slots_changed(&state, clinic_id, Some(user_id));
    Ok(HttpResponse::Ok().json(schedule_json(&hours, &rules)))
}

// ---------------------------------------------------------------- exceptions ---

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    /// `closed` (holiday, vacation) or `extra` (extra hours).
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// A professional's; the whole clinic when absent (administrators only).
    #[serde(default)]
    pub professional_user_id: Option<UserId>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// First local date (YYYY-MM-DD); today when absent.
    pub from: Option<NaiveDate>,
    /// Last local date, inclusive; `from` + 6 days when absent.
    pub to: Option<NaiveDate>,
    pub professional_user_id: Option<UserId>,
    pub service_id: Option<uuid::Uuid>,
    /// Slots: an appointment being rescheduled (its own time counts as free).
    pub appointment_id: Option<uuid::Uuid>,
}

fn range(q: &RangeQuery, tz: chrono_tz::Tz) -> Result<(NaiveDate, NaiveDate), AppError> {
    let from = q
        .from
        .unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
    let to = q.to.unwrap_or(from + Duration::days(6));
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(ValidationError::new(
            "invalid_range",
            format!("intervalo de datas inválido (até {MAX_DAYS} dias)"),
        )
        .into());
    }
    Ok((from, to))
}

fn exception_json(e: &ExceptionRow) -> serde_json::Value {
    json!({"id": e.id, "clinic_id": e.clinic_id, "professional_user_id": e.professional_user_id,
           "kind": e.kind, "starts_at": e.starts_at, "ends_at": e.ends_at, "reason": e.reason})
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/exceptions", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("professional_user_id" = Option<String>, Query, format = Uuid, description = "That professional's and the clinic-wide ones")),
    responses((status = 200, body = [Object]), (status = 403, body = ErrorBody)))]
pub async fn list_exceptions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let tz = clinic_tz(&state, clinic).await?;
    let (from, to) = range(&query, tz)?;
    let rows = state
        .store
        .exceptions_between(
            clinic,
            query.professional_user_id,
            local_midnight(tz, from),
            local_midnight(tz, to + Duration::days(1)),
        )
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(exception_json).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/exceptions", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = ExceptionRequest,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody),
              (status = 422, description = "`invalid_kind`, `invalid_range`", body = ErrorBody)))]
pub async fn create_exception(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<ExceptionRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    match body.professional_user_id {
        Some(p) => require_schedule_editor(&state, &auth, clinic, p).await?,
        None => auth.require_role(clinic, &[Role::ClinicAdmin])?,
    }
    if !matches!(body.kind.as_str(), "closed" | "extra") {
        return Err(ValidationError::new("invalid_kind", "tipo deve ser closed ou extra").into());
    }
    if body.ends_at <= body.starts_at || body.ends_at - body.starts_at > Duration::days(366) {
        return Err(ValidationError::new(
            "invalid_range",
            "o fim deve ser depois do início (até um ano)",
        )
        .into());
    }
    if body.kind == "extra" && body.professional_user_id.is_none() {
        return Err(
            ValidationError::new("invalid_kind", "horário extra é de um profissional").into(),
        );
    }
    let e = ExceptionRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        professional_user_id: body.professional_user_id,
        kind: body.kind.clone(),
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        reason: body.reason.chars().take(200).collect(),
    };
    state.store.insert_exception(&e).await?;
    slots_changed(&state, clinic, e.professional_user_id);
    Ok(HttpResponse::Created().json(exception_json(&e)))
}

#[derive(Debug, Deserialize)]
pub struct ExceptionPath {
    pub clinic_id: ClinicId,
    pub exception_id: uuid::Uuid,
}

#[utoipa::path(delete, path = "/api/clinics/{clinic_id}/exceptions/{exception_id}", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("exception_id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_exception(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ExceptionPath>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    // Administrators remove any; a professional removes their own (vacation, extra hours).
    let owner = if auth.has_role(p.clinic_id, &[Role::ClinicAdmin]) {
        None
    } else {
        auth.require_role(p.clinic_id, &[Role::Professional])?;
        Some(auth.user_id)
    };
    if !state
        .store
        .delete_exception(p.clinic_id, p.exception_id, owner)
        .await?
    {
        return Err(AppError::NotFound);
    }
    slots_changed(&state, p.clinic_id, None);
    Ok(HttpResponse::NoContent().finish())
}

// --------------------------------------------------------------------- slots ---

async fn slots_response(
    state: &AppState,
    clinic: ClinicId,
    query: &RangeQuery,
) -> Result<HttpResponse, AppError> {
    let tz = clinic_tz(state, clinic).await?;
    let (from, to) = range(query, tz)?;
    let pro = query.professional_user_id.ok_or_else(|| {
        ValidationError::new("not_a_professional", "informe professional_user_id")
    })?;
    if !state.store.is_professional_in(clinic, pro).await? {
        return Err(ValidationError::new(
            "not_a_professional",
            "profissional não pertence à clínica",
        )
        .into());
    }
    // Rescheduling: the appointment's own time counts as free, and without a service its
    // length is the appointment's.
    let moving = match query.appointment_id {
        Some(id) => Some(
            state
                .store
                .appointment_view(id)
                .await?
                .map(|v| v.a)
                .filter(|a| a.clinic_id == clinic && a.professional_user_id == pro)
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let service_id = query
        .service_id
        .or(moving.as_ref().and_then(|a| a.service_id));
    let service = service_for(state, clinic, pro, service_id).await?;
    let minutes = moving.as_ref().map_or(DEFAULT_MINUTES, |a| {
        (a.ends_at - a.starts_at).num_minutes().max(5) as u32
    });
    let timing = service.as_ref().map_or(
        ServiceTiming {
            duration_minutes: minutes,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
        },
        ServiceRow::timing,
    );
    let q = SlotQuery {
        clinic,
        tz,
        pro,
        timing,
        from,
        to,
        except: moving.as_ref(),
        ignore_busy: false,
    };
    let slots = slots_for(&state.store, q, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "professional_user_id": pro,
        "service_id": service.map(|s| s.id),
        "time_zone": tz.name(),
        "slots": slots,
    })))
}

/// A service of this clinic that this professional offers.
async fn service_for(
    state: &AppState,
    clinic: ClinicId,
    pro: UserId,
    id: Option<uuid::Uuid>,
) -> Result<Option<ServiceRow>, AppError> {
    let Some(id) = id else { return Ok(None) };
    let s = state
        .store
        .service(id)
        .await?
        .filter(|s| s.clinic_id == clinic && s.active)
        .filter(|s| s.professional_user_id.is_none_or(|p| p == pro))
        .ok_or_else(|| {
            ValidationError::new(
                "invalid_service",
                "serviço não oferecido por este profissional",
            )
        })?;
    Ok(Some(s))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/slots", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("professional_user_id" = String, Query, format = Uuid),
           ("service_id" = Option<String>, Query, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("appointment_id" = Option<String>, Query, format = Uuid, description = "When rescheduling: this appointment's own time counts as free, and its length is used")),
    responses((status = 200, description = "Free starts (UTC) for the service between two local dates", body = Object),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn staff_slots(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    slots_response(&state, clinic, &query).await
}

#[utoipa::path(get, path = "/api/public/clinics/{clinic_id}/slots", tag = "agenda",
    params(("clinic_id" = String, Path, format = Uuid), ("professional_user_id" = String, Query, format = Uuid),
           ("service_id" = Option<String>, Query, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("appointment_id" = Option<String>, Query, format = Uuid, description = "When rescheduling: this appointment's own time counts as free")),
    responses((status = 200, description = "The public booking page's free slots. Live: a WebSocket authenticated with `{\"anonymous\": true}` may join `clinic:<id>:slots` (`slots.changed`)", body = Object),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn public_slots(
    state: web::Data<AppState>,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    slots_response(&state, path.into_inner(), &query).await
}

#[utoipa::path(get, path = "/api/public/clinics/{clinic_id}/booking", tag = "agenda",
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "What the public booking page lists: the clinic, its professionals and services", body = Object),
              (status = 404, body = ErrorBody)))]
pub async fn public_booking(
    state: web::Data<AppState>,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    let row = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut pros = Vec::new();
    let bookable = state.store.bookable_professionals(clinic).await?;
    for p in state
        .store
        .professionals_in_clinic(clinic)
        .await?
        .into_iter()
        .filter(|p| bookable.contains(&p.user_id))
    {
        let name = state
            .store
            .user_by_id(p.user_id)
            .await?
            .map(|u| u.full_name)
            .unwrap_or_default();
        pros.push(
            json!({"user_id": p.user_id, "name": name, "profession": p.profession,
                         "specialty": p.specialty}),
        );
    }
    Ok(HttpResponse::Ok().json(json!({
        "clinic_id": clinic,
        "clinic_name": row.name,
        "time_zone": row.tz().name(),
        "professionals": pros,
        "services": state.store.services_of_clinic(clinic).await?,
    })))
}

// -------------------------------------------------------------- appointments ---

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/appointments", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("professional_user_id" = Option<String>, Query, format = Uuid)),
    responses((status = 200, description = "The clinic's appointments between two local dates (all professionals unless one is given); live on `clinic:<id>:agenda`", body = [Object]),
              (status = 403, body = ErrorBody)))]
pub async fn list_appointments(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    auth.require_staff(clinic)?;
    let tz = clinic_tz(&state, clinic).await?;
    let (from, to) = range(&query, tz)?;
    let rows = state
        .store
        .appointments_of(
            AppointmentsOf::Clinic(clinic),
            local_midnight(tz, from),
            local_midnight(tz, to + Duration::days(1)),
        )
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .filter(|v| {
                query
                    .professional_user_id
                    .is_none_or(|p| v.a.professional_user_id == p)
            })
            .map(view_json)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    pub professional_user_id: UserId,
    /// Staff book for a registered patient; a patient books for themself (omit it).
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    #[serde(default)]
    pub service_id: Option<uuid::Uuid>,
    pub starts_at: DateTime<Utc>,
    /// `in_person` (default) or `teleconsultation`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Without a service: the length (5–480, default 30).
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Staff only: book outside the offered slots (an "encaixe"); never on top of another
    /// appointment.
    #[serde(default)]
    pub fit_in: bool,
}

async fn send_agenda<M>(state: &AppState, clinic: ClinicId, msg: M) -> Result<M::Result, AppError>
where
    M: actix::Message + Send + 'static,
    M::Result: Send,
    crate::actors::agenda::ClinicAgenda: actix::Handler<M>,
{
    state
        .registry
        .agenda(clinic)
        .send(msg)
        .await
        .map_err(|_| AppError::Unavailable)
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = BookRequest,
    responses((status = 201, description = "Booked (status `scheduled`)", body = Object),
              (status = 403, body = ErrorBody),
              (status = 409, description = "`slot_taken` (the professional is busy then, in any clinic), `patient_busy`", body = ErrorBody),
              (status = 422, description = "`slot_unavailable` (not an offered slot), `invalid_service`, `invalid_kind`, `invalid_duration`, `patient_not_registered`, `not_a_professional`", body = ErrorBody)))]
pub async fn book(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<BookRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = path.into_inner();
    let staff = auth.is_staff_of(clinic);
    let patient = match (staff, body.patient_id, auth.patient_id) {
        (true, Some(p), _) => {
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
        }
        (true, None, _) => {
            return Err(
                ValidationError::new("patient_not_registered", "informe patient_id").into(),
            );
        }
        (false, None | Some(_), Some(own)) if body.patient_id.is_none_or(|p| p == own) => own,
        _ => return Err(AppError::Forbidden),
    };
    if body.fit_in && !staff {
        return Err(AppError::Forbidden);
    }
    if !state
        .store
        .is_professional_in(clinic, body.professional_user_id)
        .await?
    {
        return Err(ValidationError::new(
            "not_a_professional",
            "profissional não pertence à clínica",
        )
        .into());
    }
    let service = service_for(&state, clinic, body.professional_user_id, body.service_id).await?;
    let kind = body.kind.clone().unwrap_or_else(|| "in_person".into());
    if !matches!(kind.as_str(), "in_person" | "teleconsultation") {
        return Err(
            ValidationError::new("invalid_kind", "tipo: in_person ou teleconsultation").into(),
        );
    }
    let minutes = body.duration_minutes.unwrap_or(i64::from(DEFAULT_MINUTES));
    if !(5..=480).contains(&minutes) {
        return Err(ValidationError::new("invalid_duration", "duração de 5 a 480 minutos").into());
    }
    let notes: String = body
        .notes
        .clone()
        .unwrap_or_default()
        .chars()
        .take(500)
        .collect();
    if !staff {
        // A patient booking on the clinic's page becomes its patient (once the request is
        // known to be sound; the slot itself is checked by the agenda actor).
        state
            .store
            .clinic_by_id(clinic)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = state.store.begin().await?;
        state
            .store
            .link_patient_to_clinic(&mut tx, clinic, patient, None, None)
            .await?;
        tx.commit().await?;
    }
    let (a, names) = send_agenda(
        &state,
        clinic,
        Book {
            by: Some(auth.user_id),
            professional: body.professional_user_id,
            patient,
            service,
            duration_minutes: minutes as u32,
            starts_at: body.starts_at,
            kind,
            notes,
            require_free_slot: !body.fit_in,
            status: status::SCHEDULED,
            hold_expires_at: None,
        },
    )
    .await??;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "appointment.booked", "appointment")
                .entity_id(a.id)
                .clinic(clinic)
                .ip(auth.ip.clone()),
        )
        .await?;
    let mut view = appointment_json(&a, &names);
    if staff {
        // For the reception to send by hand until messages are delivered automatically.
        view["links"] = crate::actors::agenda::appointment_links(&state.links, &a);
    }
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
pub struct AppointmentPath {
    pub clinic_id: ClinicId,
    pub appointment_id: uuid::Uuid,
}

/// Staff of the clinic, or the appointment's own patient (who may only reschedule into
/// offered slots and cancel).
async fn may_change(state: &AppState, auth: &Auth, p: &AppointmentPath) -> Result<bool, AppError> {
    if auth.is_staff_of(p.clinic_id) {
        return Ok(true);
    }
    let v = state
        .store
        .appointment_view(p.appointment_id)
        .await?
        .filter(|v| v.a.clinic_id == p.clinic_id)
        .ok_or(AppError::NotFound)?;
    if auth.patient_id == Some(v.a.patient_id) {
        return Ok(false);
    }
    Err(AppError::NotFound)
}

async fn modify(
    state: &AppState,
    auth: &Auth,
    p: AppointmentPath,
    change: Change,
    action: &'static str,
) -> Result<HttpResponse, AppError> {
    let (a, names) = send_agenda(
        state,
        p.clinic_id,
        Modify {
            id: p.appointment_id,
            change,
        },
    )
    .await??;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), action, "appointment")
                .entity_id(a.id)
                .clinic(p.clinic_id)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(HttpResponse::Ok().json(appointment_json(&a, &names)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    pub starts_at: DateTime<Utc>,
    /// Staff only: outside the offered slots.
    #[serde(default)]
    pub fit_in: bool,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/reschedule", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = RescheduleRequest,
    responses((status = 200, description = "Moved (same length; back to `scheduled`)", body = Object),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`slot_taken`, `patient_busy`, `invalid_transition`", body = ErrorBody),
              (status = 422, description = "`slot_unavailable`", body = ErrorBody)))]
pub async fn reschedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<RescheduleRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    let staff = may_change(&state, &auth, &p).await?;
    if body.fit_in && !staff {
        return Err(AppError::Forbidden);
    }
    let change = Change::Reschedule {
        starts_at: body.starts_at,
        require_free_slot: !body.fit_in,
    };
    modify(&state, &auth, p, change, "appointment.rescheduled").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/cancel", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = CancelRequest,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`", body = ErrorBody),
              (status = 422, description = "`invalid_reason`", body = ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    may_change(&state, &auth, &p).await?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(ValidationError::new(
            "invalid_reason",
            "informe o motivo (até 300 caracteres)",
        )
        .into());
    }
    let change = Change::Cancel {
        reason: reason.to_string(),
    };
    modify(&state, &auth, p, change, "appointment.cancelled").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `confirmed`, `checked_in`, `in_progress`, `done` or `no_show`.
    pub status: String,
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/appointments/{appointment_id}/status", tag = "agenda", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("appointment_id" = String, Path, format = Uuid)),
    request_body = StatusRequest,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`invalid_transition`", body = ErrorBody),
              (status = 422, description = "`invalid_status`", body = ErrorBody)))]
pub async fn set_status(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<AppointmentPath>,
    body: web::Json<StatusRequest>,
) -> Result<HttpResponse, AppError> {
    let p = path.into_inner();
    auth.require_staff(p.clinic_id)?;
    let to = match body.status.as_str() {
        "confirmed" => status::CONFIRMED,
        "checked_in" => status::CHECKED_IN,
        "in_progress" => status::IN_PROGRESS,
        "done" => status::DONE,
        "no_show" => status::NO_SHOW,
        _ => return Err(ValidationError::new("invalid_status", "status desconhecido").into()),
    };
    if to == status::CHECKED_IN {
        // Arriving for an appointment means joining today's waiting room: the queue does
        // the check-in, and the appointment follows it.
        let req = crate::app::queue::CheckInRequest {
            appointment_id: Some(p.appointment_id),
            ..Default::default()
        };
        crate::app::queue::check_in(&state, &auth, p.clinic_id, &req).await?;
        state
            .store
            .record_audit(
                &AuditEvent::new(
                    Some(auth.user_id),
                    "appointment.status_changed",
                    "appointment",
                )
                .entity_id(p.appointment_id)
                .clinic(p.clinic_id)
                .ip(auth.ip.clone())
                .details(json!({"status": "checked_in"})),
            )
            .await?;
        let v = state
            .store
            .appointment_view(p.appointment_id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(HttpResponse::Ok().json(view_json(&v)));
    }
    modify(
        &state,
        &auth,
        p,
        Change::Status(to),
        "appointment.status_changed",
    )
    .await
}

#[utoipa::path(get, path = "/api/me/agenda", tag = "agenda", security(("bearer" = [])),
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, description = "The calling professional's appointments in every clinic", body = [Object])))]
pub async fn my_agenda(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    // Dates are each clinic's own: read a margin around them, then keep the appointments
    // whose local date (in their clinic's zone) is in range.
    let (from, to) = range(&query, chrono_tz::America::Sao_Paulo)?;
    let rows = state
        .store
        .appointments_of(
            AppointmentsOf::Professional(auth.user_id),
            local_midnight(chrono_tz::UTC, from) - Duration::hours(14),
            local_midnight(chrono_tz::UTC, to + Duration::days(1)) + Duration::hours(14),
        )
        .await?;
    let mut zones = std::collections::HashMap::new();
    let mut out = Vec::new();
    for v in &rows {
        let tz = match zones.get(&v.a.clinic_id) {
            Some(tz) => *tz,
            None => {
                let tz = clinic_tz(&state, v.a.clinic_id).await?;
                zones.insert(v.a.clinic_id, tz);
                tz
            }
        };
        let day = v.a.starts_at.with_timezone(&tz).date_naive();
        if (from..=to).contains(&day) {
            out.push(view_json(v));
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/me/appointments", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "The calling patient's appointments, newest first", body = [Object])))]
pub async fn my_appointments(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    let Some(patient) = auth.patient_id else {
        return Ok(HttpResponse::Ok().json(Vec::<serde_json::Value>::new()));
    };
    let rows = state.store.patient_appointments(patient).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(view_json).collect::<Vec<_>>()))
}

// ------------------------------------------------------------------------- iCal ---

async fn require_professional(state: &AppState, auth: &Auth) -> Result<(), AppError> {
    if state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .is_none()
    {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/me/ical", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "`{active, created_at}`: whether the caller has a calendar address now (its secret is shown only when made)", body = Object),
              (status = 403, description = "Professionals only", body = ErrorBody)))]
pub async fn ical_status(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    require_professional(&state, &auth).await?;
    let created = state.store.ical_feed_of(auth.user_id).await?;
    Ok(HttpResponse::Ok().json(json!({"active": created.is_some(), "created_at": created})))
}

#[utoipa::path(post, path = "/api/me/ical", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "A new secret calendar address (`/ical/<token>.ics`) for the calling professional's agenda in every clinic; the previous address stops working", body = Object),
              (status = 403, description = "Professionals only", body = ErrorBody)))]
pub async fn create_ical(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    require_professional(&state, &auth).await?;
    let token = crate::security::tokens::random_token();
    state
        .store
        .set_ical_feed(auth.user_id, &crate::security::tokens::token_hash(&token))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"path": format!("/ical/{token}.ics")})))
}

#[utoipa::path(delete, path = "/api/me/ical", tag = "agenda", security(("bearer" = [])),
    responses((status = 204, description = "The calendar address is revoked")))]
pub async fn delete_ical(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    state.store.delete_ical_feed(auth.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Escape a text value (RFC 5545 §3.3.11).
fn ical_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
        .replace('\r', "")
}

/// Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1).
fn ical_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn ical_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

#[utoipa::path(get, path = "/ical/{token}", tag = "agenda",
    params(("token" = String, Path, description = "The secret from POST /api/me/ical, with or without `.ics`")),
    responses((status = 200, description = "text/calendar: the professional's appointments from 30 days ago to 180 days ahead, every clinic; patients appear by first name and initial"),
              (status = 404, body = ErrorBody)))]
pub async fn ical_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let pro = state
        .store
        .ical_owner(&crate::security::tokens::token_hash(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let name = state
        .store
        .user_by_id(pro)
        .await?
        .map(|u| u.full_name)
        .unwrap_or_default();
    let now = Utc::now();
    let rows = state
        .store
        .appointments_of(
            AppointmentsOf::Professional(pro),
            now - Duration::days(30),
            now + Duration::days(180),
        )
        .await?;
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//atende//agenda//PT-BR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        ical_line(&mut out, l);
    }
    ical_line(
        &mut out,
        &format!("X-WR-CALNAME:{}", ical_text(&format!("atende — {name}"))),
    );
    for v in rows
        .iter()
        .filter(|v| !matches!(v.a.status.as_str(), "cancelled" | "no_show" | "held"))
    {
        let patient = crate::actors::queue::panel_name(
            v.patient_social_name.as_deref().unwrap_or(&v.patient_name),
        );
        let what = v.service_name.clone().unwrap_or_else(|| "Consulta".into());
        let tele = if v.a.kind == "teleconsultation" {
            " (teleconsulta)"
        } else {
            ""
        };
        ical_line(&mut out, "BEGIN:VEVENT");
        ical_line(&mut out, &format!("UID:{}@atende", v.a.id));
        ical_line(&mut out, &format!("DTSTAMP:{}", ical_time(v.a.updated_at)));
        ical_line(&mut out, &format!("DTSTART:{}", ical_time(v.a.starts_at)));
        ical_line(&mut out, &format!("DTEND:{}", ical_time(v.a.ends_at)));
        ical_line(
            &mut out,
            &format!(
                "SUMMARY:{}",
                ical_text(&format!("{what}{tele} — {patient}"))
            ),
        );
        ical_line(&mut out, &format!("LOCATION:{}", ical_text(&v.clinic_name)));
        ical_line(
            &mut out,
            &format!(
                "STATUS:{}",
                if v.a.status == status::SCHEDULED {
                    "TENTATIVE"
                } else {
                    "CONFIRMED"
                }
            ),
        );
        ical_line(&mut out, "END:VEVENT");
    }
    ical_line(&mut out, "END:VCALENDAR");
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(out))
}

/// Tell open booking pages that availability changed (hours, exceptions): `dates` empty
/// means "any date"; no professional means "everyone in the clinic".
fn slots_changed(state: &AppState, clinic: ClinicId, pro: Option<UserId>) {
    state.bus.publish(crate::bus::TopicEvent {
        topic: crate::actors::protocol::Topic::ClinicSlots(clinic).to_string(),
        event: "slots.changed".into(),
        seq: None,
        payload: json!({"professional_user_id": pro, "dates": []}),
    });
}
