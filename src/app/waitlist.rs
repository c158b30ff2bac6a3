//! Waitlist use cases: join it (a patient for themself, staff for a patient), see it, leave
//! it, and answer an offer (the patient, or the reception for a patient who declined by
//! phone). Offers are made and closed by the clinic's agenda actor; they also arrive as
//! one-click links (see `app::links`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actors::agenda::waitlist::RespondOffer;
use crate::actors::agenda::{Appointment, Record};
use crate::app::Auth;
use crate::app::agenda::{patient_named, require_professional_in, send_agenda};
use crate::app::clinics::clinic_tz;
use crate::app::error::AppError;
use crate::app::patient_links::self_record;
use crate::app::state::AppState;
use crate::domain::agenda::{WaitlistStatus, parse_hhmm};
use crate::domain::{ClinicId, PatientId, UserId, ValidationError};
use crate::store::waitlist::{WaitlistRow, WaitlistView};

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

/// An entry and where it stands now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitlistEntryStatus {
    pub id: uuid::Uuid,
    pub status: WaitlistStatus,
}

/// An open offer: the freed slot held for the patient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitlistOffer {
    pub id: uuid::Uuid,
    /// When the hold lapses.
    pub expires_at: DateTime<Utc>,
    /// The held appointment.
    pub appointment_id: uuid::Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A waitlist entry as the reception and the patient see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitlistEntry {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub professional_user_id: Option<UserId>,
    pub service_id: Option<uuid::Uuid>,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    /// `HH:MM`, local.
    pub time_from: String,
    pub time_to: String,
    pub status: WaitlistStatus,
    pub created_at: DateTime<Utc>,
    /// The open offer; null when there is none.
    pub offer: Option<WaitlistOffer>,
}

impl From<&WaitlistView> for WaitlistEntry {
    fn from(v: &WaitlistView) -> Self {
        let offer = match (
            v.offer_id,
            v.offer_expires_at,
            v.offer_appointment_id,
            v.offer_starts_at,
            v.offer_ends_at,
        ) {
            (Some(id), Some(expires_at), Some(appointment_id), Some(starts_at), Some(ends_at)) => {
                Some(WaitlistOffer {
                    id,
                    expires_at,
                    appointment_id,
                    starts_at,
                    ends_at,
                })
            }
            _ => None,
        };
        Self {
            id: v.w.id,
            clinic_id: v.w.clinic_id,
            patient_id: v.w.patient_id,
            patient_name: v.patient_name.clone(),
            professional_user_id: v.w.professional_user_id,
            service_id: v.w.service_id,
            date_from: v.w.date_from,
            date_to: v.w.date_to,
            time_from: v.w.time_from.clone(),
            time_to: v.w.time_to.clone(),
            status: v.w.status,
            created_at: v.w.created_at,
            offer,
        }
    }
}

/// Join a clinic's waitlist: staff for a registered patient, or a patient for themself —
/// on their record at the clinic (made from their profile and linked to them if they have
/// none there). The first matching
/// freed slot is offered and held for them.
pub async fn join_waitlist(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: JoinRequest,
) -> Result<WaitlistEntryStatus, AppError> {
    let staff_patient = patient_named(state, auth, clinic, req.patient_id).await?;
    let bad = |m: &str| ValidationError::new("invalid_waitlist", m.to_string());
    if req.professional_user_id.is_none() && req.service_id.is_none() {
        return Err(bad("informe o profissional ou o serviço").into());
    }
    if req.date_to < req.date_from || (req.date_to - req.date_from).num_days() > 90 {
        return Err(bad("período inválido (até 90 dias)").into());
    }
    let tz = clinic_tz(state, clinic).await?;
    if req.date_to < state.clock.now().with_timezone(&tz).date_naive() {
        return Err(bad("o período já passou").into());
    }
    let time_from = req.time_from.unwrap_or_else(|| "00:00".into());
    let time_to = req.time_to.unwrap_or_else(|| "24:00".into());
    if parse_hhmm(&time_from)? >= parse_hhmm(&time_to)? {
        return Err(bad("o horário inicial deve ser antes do final").into());
    }
    if let Some(p) = req.professional_user_id {
        require_professional_in(state, clinic, p).await?;
    }
    if let Some(s) = req.service_id {
        state
            .store
            .service(s)
            .await?
            .filter(|s| s.clinic_id == clinic && s.active)
            .ok_or_else(|| ValidationError::new("invalid_service", "serviço não encontrado"))?;
    }
    let (patient, new_patient) = match staff_patient {
        Some(p) => (p, None),
        // Their record at this clinic: the linked one, or a new one of the clinic made from
        // their profile (written with the entry) — never an existing record found by CPF.
        None => {
            let own = self_record(state, auth, clinic, req.patient_id).await?;
            (own.id(), own.into_new())
        }
    };
    let w = WaitlistRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        patient_id: patient,
        professional_user_id: req.professional_user_id,
        service_id: req.service_id,
        date_from: req.date_from,
        date_to: req.date_to,
        time_from,
        time_to,
        status: WaitlistStatus::Waiting,
        created_at: crate::store::now(),
    };
    let mut tx = state.store.begin().await?;
    if let Some(r) = &new_patient {
        state.store.insert_self_service_record(&mut tx, r).await?;
    }
    state.store.insert_waitlist(&mut tx, &w).await?;
    tx.commit().await?;
    Ok(WaitlistEntryStatus {
        id: w.id,
        status: w.status,
    })
}

/// The clinic's entries waiting or holding an offer, first come first served (staff).
pub async fn clinic_waitlist(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Vec<WaitlistEntry>, AppError> {
    auth.require_staff(clinic)?;
    let rows = state.store.waitlist_views(Some(clinic), None).await?;
    Ok(rows.iter().map(WaitlistEntry::from).collect())
}

/// The calling patient's entries, with any open offer.
pub async fn my_waitlist(state: &AppState, auth: &Auth) -> Result<Vec<WaitlistEntry>, AppError> {
    let mut rows = Vec::new();
    for p in auth.patient_ids() {
        rows.extend(state.store.waitlist_views(None, Some(p)).await?);
    }
    Ok(rows.iter().map(WaitlistEntry::from).collect())
}

/// Leave the list (staff, or the entry's patient): only a waiting entry; an open offer is
/// answered first.
pub async fn cancel_entry(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    entry: uuid::Uuid,
) -> Result<WaitlistEntryStatus, AppError> {
    let w = state
        .store
        .waitlist_entry(entry)
        .await?
        .filter(|w| w.clinic_id == clinic)
        .ok_or(AppError::NotFound)?;
    if !(auth.is_staff_of(clinic) || auth.owns_patient(w.patient_id)) {
        return Err(AppError::NotFound);
    }
    if !w.status.can_become(WaitlistStatus::Cancelled) {
        return Err(AppError::conflict(
            "invalid_transition",
            format!("a entrada está em '{}'", w.status),
        ));
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_waitlist_status(&mut tx, w.id, WaitlistStatus::Cancelled)
        .await?;
    tx.commit().await?;
    Ok(WaitlistEntryStatus {
        id: w.id,
        status: WaitlistStatus::Cancelled,
    })
}

/// Answer an offer of `clinic` on behalf of its patient, with what the caller writes with
/// it (shared with the one-click links).
pub async fn respond(
    state: &AppState,
    clinic: ClinicId,
    offer: uuid::Uuid,
    accept: bool,
    record: Record,
) -> Result<Appointment, AppError> {
    let msg = RespondOffer {
        offer,
        accept,
        record,
    };
    let (a, names) = send_agenda(state, clinic, msg).await??;
    Ok(Appointment::new(&a, &names))
}

/// The calling patient accepts (`accept`: the appointment is `scheduled`) or declines
/// (`decline`: released to the next patient) their offer.
pub async fn answer_offer(
    state: &AppState,
    auth: &Auth,
    offer: uuid::Uuid,
    answer: &str,
) -> Result<Appointment, AppError> {
    let accept = match answer {
        "accept" => true,
        "decline" => false,
        _ => return Err(ValidationError::new("unknown_action", "use accept ou decline").into()),
    };
    let (clinic, patient) = state
        .store
        .offer_owner(offer)
        .await?
        .ok_or(AppError::NotFound)?;
    if !auth.owns_patient(patient) {
        return Err(AppError::NotFound);
    }
    respond(state, clinic, offer, accept, Record::default()).await
}

/// The patient declined by phone (staff): the hold is released and the slot offered to
/// the next patient.
pub async fn release_offer(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    offer: uuid::Uuid,
) -> Result<Appointment, AppError> {
    auth.require_staff(clinic)?;
    state
        .store
        .offer_owner(offer)
        .await?
        .filter(|(c, _)| *c == clinic)
        .ok_or(AppError::NotFound)?;
    respond(state, clinic, offer, false, Record::default()).await
}
