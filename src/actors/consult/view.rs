//! What everyone in a teleconsultation sees of its session: the same view answers the HTTP
//! routes, the actor's replies and the `consult.state` pushes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actors::protocol::Topic;
use crate::bus::TopicEvent;
use crate::config::RelayMode;
use crate::domain::ClinicId;
use crate::domain::consult::{ConsultMedia, ConsultStatus};
use crate::store::agenda::AppointmentView;
use crate::store::consults::ConsultRow;

/// Someone who entered the call (kept in `consult_sessions.participants`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsultParticipant {
    /// `professional`, `patient` or `guest`.
    pub role: String,
    pub name: String,
    /// When they first entered.
    pub first_at: DateTime<Utc>,
}

/// Who entered the call, as stored (an unreadable list reads as nobody).
pub fn participants_of(row: &ConsultRow) -> Vec<ConsultParticipant> {
    serde_json::from_str(&row.participants).unwrap_or_default()
}

/// A teleconsultation's session as both sides (and invited guests) see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsultState {
    pub appointment_id: uuid::Uuid,
    pub status: ConsultStatus,
    /// `ended_by_professional`, `abandoned` or `cancelled` once ended.
    pub ended_reason: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// When the patient entered the waiting room.
    pub waiting_at: Option<DateTime<Utc>>,
    /// When the professional admitted them.
    pub admitted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub professional_name: String,
    pub patient_first_name: String,
    pub clinic_name: String,
    pub clinic_id: ClinicId,
    /// The clinic's IANA time zone, e.g. `America/Sao_Paulo`.
    pub time_zone: String,
    pub participants: Vec<ConsultParticipant>,
    /// How the call's media flows now.
    pub media: ConsultMedia,
    /// This installation's `media.relay`: `never`, `fallback` or `always`.
    pub relay_mode: String,
}

fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// How the call's media flows now: the relay mode decides, except in `fallback` where the
/// session says (it switches to the relay when direct ICE fails or a guest is invited).
pub fn media_of(relay: RelayMode, row: &ConsultRow) -> ConsultMedia {
    match relay {
        RelayMode::Never => ConsultMedia::P2p,
        RelayMode::Always => ConsultMedia::Relay,
        RelayMode::Fallback => row.media,
    }
}

impl ConsultState {
    pub fn of(view: &AppointmentView, row: &ConsultRow, relay: RelayMode) -> Self {
        Self {
            appointment_id: view.a.id,
            status: row.status,
            ended_reason: row.ended_reason.clone(),
            starts_at: view.a.starts_at,
            ends_at: view.a.ends_at,
            waiting_at: row.waiting_at,
            admitted_at: row.admitted_at,
            ended_at: row.ended_at,
            professional_name: view.professional_name.clone(),
            patient_first_name: first_name(
                view.patient_social_name
                    .as_deref()
                    .unwrap_or(&view.patient_name),
            ),
            clinic_name: view.clinic_name.clone(),
            clinic_id: view.a.clinic_id,
            time_zone: view.clinic_time_zone.clone(),
            participants: participants_of(row),
            media: media_of(relay, row),
            relay_mode: relay.as_str().to_string(),
        }
    }

    /// The view as a push or reply payload.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The `consult.state` push of this view.
    pub fn event(&self) -> TopicEvent {
        TopicEvent {
            topic: Topic::Consult(self.appointment_id).to_string(),
            event: "consult.state".into(),
            seq: None,
            payload: self.to_json(),
        }
    }
}
