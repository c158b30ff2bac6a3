//! The price table: each service's price (on the service itself) and a professional's own
//! price where theirs differs; what an appointment costs follows from them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::agenda::require_professional_in;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::billing;
use crate::domain::{ClinicId, Role, UserId};
use crate::security::audit::AuditEvent;
use crate::store::agenda::AppointmentRow;
use crate::store::billing::ServicePriceRow;

/// A professional's own price for a service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfessionalPrice {
    pub professional_user_id: UserId,
    /// Centavos.
    pub price_cents: i64,
}

/// One service of the price table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceLine {
    pub service_id: uuid::Uuid,
    pub service_name: String,
    pub teleconsultation: bool,
    /// The clinic's price (centavos), unless the professional has their own.
    pub price_cents: i64,
    pub professionals: Vec<ProfessionalPrice>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPrice {
    /// Centavos, 0 to 100000000.
    pub price_cents: i64,
}

/// Where an appointment's price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The service's price.
    Service,
    /// The professional's own price for the service.
    Professional,
    /// No service: nothing to charge.
    None,
}

/// The clinic's price table (its staff).
pub async fn price_table(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Vec<PriceLine>, AppError> {
    auth.require_staff(clinic)?;
    let own = state.store.service_prices_of_clinic(clinic).await?;
    Ok(state
        .store
        .services_of_clinic(clinic)
        .await?
        .into_iter()
        .map(|s| PriceLine {
            professionals: own
                .iter()
                .filter(|p| p.service_id == s.id)
                .map(|p| ProfessionalPrice {
                    professional_user_id: p.professional_user_id,
                    price_cents: p.price_cents,
                })
                .collect(),
            service_id: s.id,
            service_name: s.name,
            teleconsultation: s.teleconsultation,
            price_cents: s.price_cents,
        })
        .collect())
}

/// Give a professional their own price for a service (clinic administrators; audited).
pub async fn set_professional_price(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    service: uuid::Uuid,
    pro: UserId,
    req: SetPrice,
) -> Result<ProfessionalPrice, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let price_cents = billing::price(req.price_cents)?;
    let s = state
        .store
        .service(service)
        .await?
        .filter(|s| s.clinic_id == clinic)
        .ok_or(AppError::NotFound)?;
    require_professional_in(state, clinic, pro).await?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_professional_price(
            &mut tx,
            &ServicePriceRow {
                service_id: s.id,
                professional_user_id: pro,
                clinic_id: clinic,
                price_cents,
                updated_at: state.clock.now(),
            },
        )
        .await?;
    let event = AuditEvent::new(Some(auth.user_id), "price.set", "service")
        .entity_id(s.id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"professional_user_id": pro, "price_cents": price_cents}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(ProfessionalPrice {
        professional_user_id: pro,
        price_cents,
    })
}

/// Remove a professional's own price: the service's price applies again (clinic
/// administrators; audited).
pub async fn remove_professional_price(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    service: uuid::Uuid,
    pro: UserId,
) -> Result<(), AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    state
        .store
        .service(service)
        .await?
        .filter(|s| s.clinic_id == clinic)
        .ok_or(AppError::NotFound)?;
    let mut tx = state.store.begin().await?;
    if !state
        .store
        .delete_professional_price(&mut tx, service, pro)
        .await?
    {
        return Err(AppError::NotFound);
    }
    let event = AuditEvent::new(Some(auth.user_id), "price.removed", "service")
        .entity_id(service)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"professional_user_id": pro}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// What the appointment costs now, and where the price comes from.
pub async fn appointment_price(
    state: &AppState,
    a: &AppointmentRow,
) -> Result<(i64, PriceSource), AppError> {
    let Some(service) = a.service_id else {
        return Ok((0, PriceSource::None));
    };
    if let Some(own) = state
        .store
        .professional_price(service, a.professional_user_id)
        .await?
    {
        return Ok((own, PriceSource::Professional));
    }
    Ok(match state.store.service(service).await? {
        Some(s) => (s.price_cents, PriceSource::Service),
        None => (0, PriceSource::None),
    })
}
