//! An appointment as screens, pushes and outgoing messages show it: the names that go
//! with it, its JSON view, the events a change publishes and its one-click links.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::actors::protocol::{Topic, WsError};
use crate::actors::{EntityDeps, persist_event};
use crate::bus::TopicEvent;
use crate::domain::UserId;
use crate::domain::agenda::status;
use crate::store::agenda::AppointmentRow;
use crate::store::{self, StoreError, Tx};

/// Names shown with an appointment.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub patient: String,
    pub professional: String,
    pub service: Option<String>,
    /// The patient's account, for pushes on their `user:<id>` topic.
    pub patient_user: Option<UserId>,
    pub clinic: String,
    /// The clinic's IANA zone: how screens show the times.
    pub time_zone: String,
}

pub async fn names_of(store: &store::Store, a: &AppointmentRow) -> Result<Names, StoreError> {
    let patient = store.patient_by_id(a.patient_id).await?;
    let professional = store.user_by_id(a.professional_user_id).await?;
    let service = match a.service_id {
        Some(s) => store.service(s).await?.map(|s| s.name),
        None => None,
    };
    let clinic = store.clinic_by_id(a.clinic_id).await?;
    Ok(Names {
        clinic: clinic.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        time_zone: clinic.map(|c| c.time_zone).unwrap_or_default(),
        patient: patient
            .as_ref()
            .map(|p| p.social_name.clone().unwrap_or(p.full_name.clone()))
            .unwrap_or_default(),
        patient_user: patient.and_then(|p| p.user_id),
        professional: professional.map(|u| u.full_name).unwrap_or_default(),
        service,
    })
}

/// An appointment as staff screens and the patient see it.
pub fn appointment_json(a: &AppointmentRow, n: &Names) -> Value {
    json!({
        "id": a.id,
        "clinic_id": a.clinic_id,
        "professional_user_id": a.professional_user_id,
        "professional_name": n.professional,
        "patient_id": a.patient_id,
        "patient_name": n.patient,
        "service_id": a.service_id,
        "service_name": n.service,
        "kind": a.kind,
        "status": a.status,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "notes": a.notes,
        "cancel_reason": a.cancel_reason,
        "hold_expires_at": a.hold_expires_at,
        "clinic_name": n.clinic,
        "time_zone": n.time_zone,
    })
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
    let view = appointment_json(a, n);
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
    if a.kind == "teleconsultation" && a.status == "cancelled" {
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
    if let Some(u) = n.patient_user {
        events.push(TopicEvent {
            topic: Topic::User(u).to_string(),
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
pub fn appointment_links(links: &crate::security::links::LinkSigner, a: &AppointmentRow) -> Value {
    let exp = Some(a.starts_at.timestamp());
    json!({
        "confirm_path": format!("/#/link/confirm/{}", links.sign(CONFIRM_LINK, a.id, exp)),
        "cancel_path": format!("/#/link/cancel/{}", links.sign(CANCEL_LINK, a.id, exp)),
    })
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
    } else if status::is_open(&a.status) {
        payload["links"] = appointment_links(&deps.links, a);
    }
    let enc = deps.cipher.encrypt(&payload.to_string()).map_err(|e| {
        tracing::error!(error = %e, "cannot encrypt an outbox message");
        WsError::internal()
    })?;
    deps.store
        .insert_outbox(tx, Some(a.clinic_id), Some(a.patient_id), template, &enc)
        .await?;
    Ok(())
}
