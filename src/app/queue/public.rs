//! The waiting room for people without a staff login: the clinic's TV call panel (by its
//! secret), the patient's phone page (by the signed tracker link handed out at check-in),
//! and self check-in from the QR code at reception. Nothing here shows a full name, a CPF
//! or an internal id: the panel snapshot is the same one `clinic:<id>:panel` carries.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actors::protocol::Topic;
use crate::actors::queue::{CheckIn, PanelSnapshot, clinic_today, panel_name, panel_snapshot};
use crate::app::caller::authenticate;
use crate::app::error::AppError;
use crate::app::guests::{Guest, guest_from};
use crate::app::queue::{sync_appointment, tracker_for};
use crate::app::state::AppState;
use crate::domain::queue::{Priority, QueueAction, QueueEntryStatus};
use crate::domain::{ClinicId, Cpf, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::local_midnight;
use crate::store::queue::QueueEntryRow;

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

/// What a public page starts from: the clinic, its panel topic and a snapshot read now
/// (versioned by the queue topic's head).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicQueueView {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    /// `clinic:<id>:panel`, to join for live snapshots.
    pub topic: String,
    pub snapshot: PanelSnapshot,
}

/// What a patient's phone shows about their own entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnEntryView {
    pub ticket: String,
    /// First name and the initial of the last.
    pub name: String,
    pub status: QueueEntryStatus,
    pub room: Option<String>,
    pub checked_in_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub recalls: i32,
}

/// The patient's own entry with the clinic's panel, from which the page computes the
/// place in line.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackView {
    #[serde(flatten)]
    pub queue: PublicQueueView,
    /// Whether the entry is of the clinic's today (a tracker lives a day).
    pub today: bool,
    pub entry: OwnEntryView,
}

/// Which clinic a check-in QR code belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckinClinicView {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
}

/// A self check-in: the ticket and the tracker for the phone page.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelfCheckInView {
    pub ticket: String,
    pub tracker: String,
    /// `/#/fila/<tracker>`.
    pub tracker_path: String,
    /// False when they were already in today's queue (the same ticket again).
    pub created: bool,
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

async fn public_view(
    state: &AppState,
    clinic: ClinicId,
    (name, tz): (String, chrono_tz::Tz),
) -> Result<PublicQueueView, AppError> {
    let queue_topic = Topic::ClinicQueue(clinic).to_string();
    let version = state.store.topic_head(&queue_topic).await?;
    let snapshot = panel_snapshot(&state.store, state.clock.as_ref(), clinic, tz, version).await?;
    Ok(PublicQueueView {
        clinic_id: clinic,
        clinic_name: name,
        topic: Topic::ClinicPanel(clinic).to_string(),
        snapshot,
    })
}

/// The TV panel, by its secret.
pub async fn panel(state: &AppState, body: PanelRequest) -> Result<PublicQueueView, AppError> {
    let guest = guest_from(state, Some(&body.token), None)
        .await
        .map_err(|_| invalid_token())?;
    let clinic = guest.clinic().ok_or_else(invalid_token)?;
    let named = clinic_name_and_tz(state, clinic).await?;
    public_view(state, clinic, named).await
}

fn own_entry(e: &QueueEntryRow) -> OwnEntryView {
    OwnEntryView {
        ticket: e.ticket.clone(),
        name: panel_name(&e.full_name),
        status: e.status,
        room: e.room.clone(),
        checked_in_at: e.checked_in_at,
        called_at: e.called_at,
        recalls: e.recalls,
    }
}

/// The patient's phone page, by their tracker link.
pub async fn track(state: &AppState, body: TrackRequest) -> Result<TrackView, AppError> {
    let guest = guest_from(state, None, Some(&body.tracker))
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
    let named = clinic_name_and_tz(state, clinic).await?;
    let tz = named.1;
    let queue = public_view(state, clinic, named).await?;
    Ok(TrackView {
        queue,
        today: row.service_date == clinic_today(state.clock.as_ref(), tz),
        entry: own_entry(&row),
    })
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

/// Which clinic a check-in QR code belongs to.
pub async fn checkin_clinic(
    state: &AppState,
    body: CheckinClinicRequest,
) -> Result<CheckinClinicView, AppError> {
    let clinic = clinic_of_code(state, &body.code).await?;
    let (clinic_name, _) = clinic_name_and_tz(state, clinic).await?;
    Ok(CheckinClinicView {
        clinic_id: clinic,
        clinic_name,
    })
}

/// A patient checks themself in from the reception's QR code: a logged-in patient as
/// themself (`bearer`), anyone else with the CPF and birth date on the clinic's record
/// (throttled like a login). Twice is harmless: the same ticket comes back.
pub async fn self_check_in(
    state: &AppState,
    bearer: Option<&str>,
    ip: Option<String>,
    body: SelfCheckInRequest,
) -> Result<SelfCheckInView, AppError> {
    let clinic = clinic_of_code(state, &body.code).await?;
    let (_, tz) = clinic_name_and_tz(state, clinic).await?;
    let today = clinic_today(state.clock.as_ref(), tz);
    let age_day = state.clock.now().with_timezone(&tz).date_naive();
    let not_found = || {
        ValidationError::new(
            "patient_not_found",
            "não encontramos seu cadastro nesta clínica; procure a recepção",
        )
    };
    let logged_in = match bearer {
        // A stale login must not silently turn into "type your CPF".
        Some(t) => {
            let a = authenticate(state, t, ip.clone()).await?;
            // As the patient: their record at this clinic (linked to their account).
            if a.patient_ids().is_empty() {
                None
            } else {
                Some((a.record_at(clinic).ok_or_else(not_found)?, a.user_id))
            }
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
                .check(&account, &address, false)
                .await
                .map_err(|wait| AppError::TooManyRequests {
                    retry_after_secs: wait,
                })?;
            let found = state
                .store
                .clinic_patients_by_cpf(clinic, cpf.digits())
                .await?
                .into_iter()
                .find(|p| p.birth_date == birth);
            if found.is_none() {
                state.throttle.failed(&account, &address).await;
            } else {
                state.throttle.succeeded(&account, &address, false).await;
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
            priority: Priority::decide(Priority::None, Some(patient.birth_date), age_day)?,
            appointment: appointment.as_ref().map(|a| (a.id, a.starts_at)),
            reuse_active: true,
            audit: Some(
                AuditEvent::new(
                    logged_in.map(|(_, u)| u),
                    "queue.self_check_in",
                    "queue_entry",
                )
                .clinic(clinic)
                .ip(ip),
            ),
        })
        .await
        .map_err(|_| AppError::Unavailable)??;
    if created {
        sync_appointment(state, &entry, QueueAction::CheckIn).await;
    }
    let tracker = tracker_for(state, entry.id);
    Ok(SelfCheckInView {
        ticket: entry.ticket,
        tracker_path: format!("/#/fila/{tracker}"),
        tracker,
        created,
    })
}
