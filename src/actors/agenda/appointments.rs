//! An appointment as screens, pushes and outgoing messages show it: the names that go
//! with it, its view, the events a change publishes, its one-click links, and what a use
//! case writes with a change (its audit row, a link's single use).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::actors::protocol::{Topic, WsError};
use crate::actors::{EntityDeps, persist_event};
use crate::bus::TopicEvent;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::{ClinicId, PatientId, UserId};
use crate::security::audit::AuditEvent;
use crate::store::agenda::{AppointmentRow, AppointmentView};
use crate::store::{self, StoreError, Tx};

/// Names shown with an appointment.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub patient: String,
    pub professional: String,
    /// The professional's profession and gender: the words about them agree with these.
    pub professional_profession: Option<String>,
    pub professional_gender: Option<String>,
    pub service: Option<String>,
    /// The patient's accounts (the record's own, and every linked one), for pushes on
    /// their `user:<id>` topics.
    pub patient_users: Vec<UserId>,
    pub clinic: String,
    /// The clinic's IANA zone: how screens show the times.
    pub time_zone: String,
}

pub async fn names_of(store: &store::Store, a: &AppointmentRow) -> Result<Names, StoreError> {
    let patient = store.patient_by_id(a.patient_id).await?;
    let professional = store.user_by_id(a.professional_user_id).await?;
    let profile = store.professional_by_user(a.professional_user_id).await?;
    let service = match a.service_id {
        Some(s) => store.service(s).await?.map(|s| s.name),
        None => None,
    };
    let clinic = store.clinic_by_id(a.clinic_id).await?;
    let patient_users = store.accounts_of_patient(a.patient_id).await?;
    Ok(Names {
        clinic: clinic.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        time_zone: clinic.map(|c| c.time_zone).unwrap_or_default(),
        patient: patient
            .as_ref()
            .map(|p| p.social_name.clone().unwrap_or(p.full_name.clone()))
            .unwrap_or_default(),
        patient_users,
        professional: professional.map(|u| u.full_name).unwrap_or_default(),
        professional_profession: profile.as_ref().map(|p| p.profession.clone()),
        professional_gender: profile.and_then(|p| p.gender),
        service,
    })
}

/// An appointment as staff screens and the patient see it: the HTTP answers and the
/// `agenda.updated`, `appointment.updated` and `waitlist.offer` pushes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Appointment {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub professional_user_id: UserId,
    pub professional_name: String,
    /// `doctor`, `dentist`…: with the gender, how screens title the professional.
    pub professional_profession: Option<String>,
    /// `female`, `male`, or absent (neutral words).
    pub professional_gender: Option<String>,
    pub patient_id: PatientId,
    /// The social name when the patient has one.
    pub patient_name: String,
    pub service_id: Option<uuid::Uuid>,
    pub service_name: Option<String>,
    /// `in_person` or `teleconsultation`.
    pub kind: String,
    pub status: AppointmentStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes: String,
    pub cancel_reason: Option<String>,
    /// For a `held` waitlist offer: when the hold lapses.
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub clinic_name: String,
    /// The clinic's IANA zone: how screens show the times.
    pub time_zone: String,
    /// Only in the answer to a booking by the clinic's staff: the one-click links, for the
    /// reception to send by hand until messages are delivered automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<AppointmentLinks>,
}

impl Appointment {
    pub fn new(a: &AppointmentRow, n: &Names) -> Self {
        Self {
            id: a.id,
            clinic_id: a.clinic_id,
            professional_user_id: a.professional_user_id,
            professional_name: n.professional.clone(),
            professional_profession: n.professional_profession.clone(),
            professional_gender: n.professional_gender.clone(),
            patient_id: a.patient_id,
            patient_name: n.patient.clone(),
            service_id: a.service_id,
            service_name: n.service.clone(),
            kind: a.kind.clone(),
            status: a.status,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            notes: a.notes.clone(),
            cancel_reason: a.cancel_reason.clone(),
            hold_expires_at: a.hold_expires_at,
            clinic_name: n.clinic.clone(),
            time_zone: n.time_zone.clone(),
            links: None,
        }
    }

    /// As a push payload carries it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl From<&AppointmentView> for Appointment {
    fn from(v: &AppointmentView) -> Self {
        let names = Names {
            patient: v
                .patient_social_name
                .clone()
                .unwrap_or(v.patient_name.clone()),
            professional: v.professional_name.clone(),
            professional_profession: v.professional_profession.clone(),
            professional_gender: v.professional_gender.clone(),
            service: v.service_name.clone(),
            patient_users: Vec::new(),
            clinic: v.clinic_name.clone(),
            time_zone: v.clinic_time_zone.clone(),
        };
        Appointment::new(&v.a, &names)
    }
}

/// What a use case writes with an agenda change, inside the actor's transaction.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The audit row of the change (the actor names the appointment when it creates it).
    pub audit: Option<AuditEvent>,
    /// A one-click link acting for the patient: recorded as used with the change, which is
    /// refused (`link_used`) if the link was used already.
    pub link: Option<UsedLink>,
}

/// A single-use link, by its hash, and what it was used for.
#[derive(Debug, Clone)]
pub struct UsedLink {
    pub token_hash: String,
    pub action: String,
}

impl Record {
    /// Only an audit row.
    pub fn audit(event: AuditEvent) -> Self {
        Self {
            audit: Some(event),
            link: None,
        }
    }

    /// Spend the link in `tx`, right after the change is written and before anything
    /// follows from it (messages, events, a closed call room): a link used meanwhile
    /// refuses the change.
    pub(crate) async fn spend_link(&self, deps: &EntityDeps, tx: &mut Tx) -> Result<(), WsError> {
        if let Some(l) = &self.link
            && !deps.store.use_link(tx, &l.token_hash, &l.action).await?
        {
            return Err(WsError::conflict("link_used", "este link já foi usado"));
        }
        Ok(())
    }

    /// Append the audit row in `tx`, last before the commit (on PostgreSQL it takes the
    /// audit chain's lock until then).
    pub(crate) async fn append_audit(&self, deps: &EntityDeps, tx: &mut Tx) -> Result<(), WsError> {
        if let Some(e) = &self.audit {
            deps.store.append_audit(tx, e).await?;
        }
        Ok(())
    }
}

/// Write the change's events in `tx`; returns them for publishing after commit.
pub(crate) async fn changed(
    deps: &EntityDeps,
    tx: &mut Tx,
    tz: chrono_tz::Tz,
    a: &AppointmentRow,
    n: &Names,
    moved_from: Option<DateTime<Utc>>,
) -> Result<Vec<TopicEvent>, WsError> {
    let view = Appointment::new(a, n).to_json();
    let mut events = vec![
        persist_event(
            deps,
            tx,
            &Topic::ClinicAgenda(a.clinic_id).to_string(),
            "agenda.updated",
            json!({"appointment": view}),
        )
        .await?,
    ];
    // A cancelled teleconsultation closes its session and releases whoever waits in its
    // virtual room.
    if a.kind == "teleconsultation" && a.status == AppointmentStatus::Cancelled {
        deps.store.close_consult_tx(tx, a.id).await?;
        deps.media.rooms.close_room(a.id).await;
        events.push(TopicEvent {
            topic: Topic::Consult(a.id).to_string(),
            event: "consult.ended".into(),
            seq: None,
            payload: json!({
                "reason": "cancelled",
                "message": crate::actors::consult::CANCELLED_MESSAGE,
            }),
        });
    }
    let mut dates = vec![a.starts_at.with_timezone(&tz).date_naive()];
    if let Some(from) = moved_from {
        let d = from.with_timezone(&tz).date_naive();
        if !dates.contains(&d) {
            dates.push(d);
        }
    }
    // The professional's time is shared by every clinic they work in: each clinic's
    // booking pages learn of it.
    let mut clinics = vec![a.clinic_id];
    for m in deps.store.memberships_of(a.professional_user_id).await? {
        if m.role == "professional" && !clinics.contains(&m.clinic_id) {
            clinics.push(m.clinic_id);
        }
    }
    for c in clinics {
        events.push(TopicEvent {
            topic: Topic::ClinicSlots(c).to_string(),
            event: "slots.changed".into(),
            seq: None,
            payload: json!({"professional_user_id": a.professional_user_id, "dates": dates}),
        });
    }
    for u in &n.patient_users {
        events.push(TopicEvent {
            topic: Topic::User(*u).to_string(),
            event: "appointment.updated".into(),
            seq: None,
            payload: json!({"appointment": view}),
        });
    }
    Ok(events)
}

/// Link purposes of an appointment's one-click links.
pub const CONFIRM_LINK: &str = "appointment-confirm";
pub const CANCEL_LINK: &str = "appointment-cancel";

/// The one-click confirm and cancel links of an appointment (paths of the web app), valid
/// until it starts. Single use is enforced when they are used (`used_links`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppointmentLinks {
    /// `/#/link/confirm/<token>`
    pub confirm_path: String,
    /// `/#/link/cancel/<token>`
    pub cancel_path: String,
}

impl AppointmentLinks {
    pub fn new(links: &crate::security::links::LinkSigner, a: &AppointmentRow) -> Self {
        let exp = Some(a.starts_at.timestamp());
        Self {
            confirm_path: format!("/#/link/confirm/{}", links.sign(CONFIRM_LINK, a.id, exp)),
            cancel_path: format!("/#/link/cancel/{}", links.sign(CANCEL_LINK, a.id, exp)),
        }
    }
}

/// Put the message about this change in the outbox, in the change's transaction. Delivery
/// (e-mail, SMS, WhatsApp) reads the outbox; the payload is encrypted because its links
/// act for the patient.
pub(crate) async fn queue_message(
    deps: &EntityDeps,
    tx: &mut Tx,
    a: &AppointmentRow,
    n: &Names,
    template: &str,
    links: Option<Value>,
) -> Result<(), WsError> {
    let mut payload = json!({
        "appointment_id": a.id,
        "patient_name": n.patient,
        "professional_name": n.professional,
        "service_name": n.service,
        "starts_at": a.starts_at,
        "kind": a.kind,
    });
    if let Some(l) = links {
        payload["links"] = l;
    } else if a.status.is_open() {
        payload["links"] = json!(AppointmentLinks::new(&deps.links, a));
    }
    let message = crate::store::outbox::NewMessage {
        clinic: Some(a.clinic_id),
        patient: Some(a.patient_id),
        appointment: Some(a.id),
        channel: "email",
        template: template.to_string(),
        ..Default::default()
    };
    deps.store.insert_message(tx, &message, &payload).await?;
    Ok(())
}
