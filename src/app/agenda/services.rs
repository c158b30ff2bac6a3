//! A clinic's services: what can be booked, for how long, at what price, with what buffers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require_professional_in, slots_changed};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, UserId, ValidationError};
use crate::store::agenda::ServiceRow;

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

/// A service as the clinic's screens and the public booking page list it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Service {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    /// Only this professional offers it; any professional of the clinic when null.
    pub professional_user_id: Option<UserId>,
    pub name: String,
    pub duration_minutes: i32,
    /// In centavos.
    pub price_cents: i64,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub teleconsultation: bool,
    pub active: bool,
}

impl From<ServiceRow> for Service {
    fn from(s: ServiceRow) -> Self {
        Self {
            id: s.id,
            clinic_id: s.clinic_id,
            professional_user_id: s.professional_user_id,
            name: s.name,
            duration_minutes: s.duration_minutes,
            price_cents: s.price_cents,
            buffer_before_minutes: s.buffer_before_minutes,
            buffer_after_minutes: s.buffer_after_minutes,
            teleconsultation: s.teleconsultation,
            active: s.active,
        }
    }
}

/// The clinic's active services.
pub async fn active_services(state: &AppState, clinic: ClinicId) -> Result<Vec<Service>, AppError> {
    Ok(state
        .store
        .services_of_clinic(clinic)
        .await?
        .into_iter()
        .map(Service::from)
        .collect())
}

/// The services list (staff).
pub async fn list_services(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Vec<Service>, AppError> {
    auth.require_staff(clinic)?;
    active_services(state, clinic).await
}

/// Add a service (clinic administrators).
pub async fn create_service(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: ServiceRequest,
) -> Result<Service, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let name = validate(state, clinic, &req).await?;
    let s = ServiceRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        professional_user_id: req.professional_user_id,
        name,
        duration_minutes: req.duration_minutes as i32,
        price_cents: req.price_cents,
        buffer_before_minutes: req.buffer_before_minutes as i32,
        buffer_after_minutes: req.buffer_after_minutes as i32,
        teleconsultation: req.teleconsultation,
        active: true,
        created_at: crate::store::now(),
    };
    state.store.insert_service(&s).await?;
    Ok(s.into())
}

/// Change a service, or stop offering it (clinic administrators). Existing appointments
/// keep it; open booking pages learn that availability may have changed.
pub async fn update_service(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    service: uuid::Uuid,
    req: ServiceRequest,
) -> Result<Service, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let mut s = state
        .store
        .service(service)
        .await?
        .filter(|s| s.clinic_id == clinic)
        .ok_or(AppError::NotFound)?;
    s.name = validate(state, clinic, &req).await?;
    s.duration_minutes = req.duration_minutes as i32;
    s.price_cents = req.price_cents;
    s.buffer_before_minutes = req.buffer_before_minutes as i32;
    s.buffer_after_minutes = req.buffer_after_minutes as i32;
    s.teleconsultation = req.teleconsultation;
    s.professional_user_id = req.professional_user_id;
    s.active = req.active.unwrap_or(s.active);
    state.store.update_service(&s).await?;
    slots_changed(state, clinic, None);
    Ok(s.into())
}

/// Check a service request; the trimmed name.
async fn validate(
    state: &AppState,
    clinic: ClinicId,
    req: &ServiceRequest,
) -> Result<String, AppError> {
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "invalid_service_name",
            "nome do serviço: até 80 caracteres",
        )
        .into());
    }
    if !(5..=480).contains(&req.duration_minutes) {
        return Err(ValidationError::new("invalid_duration", "duração de 5 a 480 minutos").into());
    }
    if !(0..=100_000_000).contains(&req.price_cents) {
        return Err(ValidationError::new("invalid_price", "preço inválido").into());
    }
    for b in [req.buffer_before_minutes, req.buffer_after_minutes] {
        if !(0..=120).contains(&b) {
            return Err(
                ValidationError::new("invalid_buffer", "intervalos de 0 a 120 minutos").into(),
            );
        }
    }
    if let Some(p) = req.professional_user_id {
        require_professional_in(state, clinic, p).await?;
    }
    Ok(name)
}
