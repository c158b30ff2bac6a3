//! Free slots (for the reception and, without login, the public booking page) and what the
//! public booking page lists.

use serde::Serialize;
use utoipa::ToSchema;

use super::services::{Service, active_services};
use super::{RangeQuery, require_professional_in, service_for};
use crate::actors::agenda::{DEFAULT_MINUTES, SlotQuery, slots_for};
use crate::app::Auth;
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::agenda::Slot;
use crate::domain::{ClinicId, UserId, ValidationError};
use crate::store::agenda::timing_of;

/// Free starts of one professional for one service between two local dates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Slots {
    pub professional_user_id: UserId,
    /// Null without a service (the default length, or the rescheduled appointment's).
    pub service_id: Option<uuid::Uuid>,
    /// The clinic's IANA zone.
    pub time_zone: String,
    pub slots: Vec<Slot>,
}

/// Free slots for the clinic's staff.
pub async fn staff_slots(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    query: &RangeQuery,
) -> Result<Slots, AppError> {
    auth.require_staff(clinic)?;
    free_slots(state, clinic, query).await
}

/// Free slots as anyone may see them (the public booking page).
pub async fn free_slots(
    state: &AppState,
    clinic: ClinicId,
    query: &RangeQuery,
) -> Result<Slots, AppError> {
    let tz = clinic_tz(state, clinic).await?;
    let (from, to) = query.dates(state.clock.as_ref(), tz)?;
    let pro = query.professional_user_id.ok_or_else(|| {
        ValidationError::new("not_a_professional", "informe professional_user_id")
    })?;
    require_professional_in(state, clinic, pro).await?;
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
    let timing = timing_of(service.as_ref(), minutes);
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
    let slots = slots_for(&state.store, q, state.clock.now()).await?;
    Ok(Slots {
        professional_user_id: pro,
        service_id: service.map(|s| s.id),
        time_zone: tz.name().to_string(),
        slots,
    })
}

/// A professional as the public booking page lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookableProfessional {
    pub user_id: UserId,
    pub name: String,
    pub profession: String,
    /// `female`, `male`, or absent: the page titles them to agree (Dra./Dr.).
    pub gender: Option<String>,
    pub specialty: Option<String>,
}

/// What the public booking page lists: the clinic, its bookable professionals (those with
/// hours there) and its services.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingPage {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    /// The clinic's IANA zone.
    pub time_zone: String,
    pub professionals: Vec<BookableProfessional>,
    pub services: Vec<Service>,
}

/// A clinic that takes bookings, as the patient's "choose a clinic" step lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookableClinic {
    pub clinic_id: ClinicId,
    pub name: String,
    pub city: String,
    pub uf: String,
    /// The clinic's IANA zone.
    pub time_zone: String,
}

/// The most clinics one list answers with.
const BOOKABLE_CLINICS: i64 = 200;

/// The clinics that take bookings (public, as each one's booking page is).
pub async fn bookable_clinics(state: &AppState) -> Result<Vec<BookableClinic>, AppError> {
    Ok(state
        .store
        .bookable_clinics(BOOKABLE_CLINICS)
        .await?
        .into_iter()
        .map(|c| BookableClinic {
            clinic_id: c.id,
            time_zone: c.tz().name().to_string(),
            name: c.name,
            city: c.city,
            uf: c.uf,
        })
        .collect())
}

/// The public booking page of a clinic (no login).
pub async fn booking_page(state: &AppState, clinic: ClinicId) -> Result<BookingPage, AppError> {
    let row = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut professionals = Vec::new();
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
        professionals.push(BookableProfessional {
            user_id: p.user_id,
            name,
            profession: p.profession,
            gender: p.gender,
            specialty: p.specialty,
        });
    }
    Ok(BookingPage {
        clinic_id: clinic,
        time_zone: row.tz().name().to_string(),
        clinic_name: row.name,
        professionals,
        services: active_services(state, clinic).await?,
    })
}
