//! `ClinicAgenda`: one actor per clinic. Bookings, reschedules, cancellations and status
//! changes go through it: validated against the professional's availability, written in
//! one transaction with the topic event (the database refuses overlaps — see
//! `store::agenda`), then pushed on `clinic:<id>:agenda` (staff), `clinic:<id>:slots`
//! (public booking pages: which days changed) and the patient's `user:<id>` topic.

use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use super::protocol::{Topic, WsError};
use super::{Entity, EntityDeps, clinic_tz, persist_event, stop_when_idle, supervised};
use crate::bus::TopicEvent;
use crate::domain::agenda::{Availability, ServiceTiming, free_slots, status};
use crate::domain::{ClinicId, PatientId, UserId};
use crate::store::agenda::{AppointmentRow, PATIENT_BUSY, ServiceRow, local_midnight};
use crate::store::{self, StoreError, Tx};

pub struct ClinicAgenda {
    clinic: ClinicId,
    deps: EntityDeps,
    tz: Option<chrono_tz::Tz>,
    last_active: Instant,
}

impl ClinicAgenda {
    pub fn new(clinic: ClinicId, deps: EntityDeps) -> Self {
        Self {
            clinic,
            deps,
            tz: None,
            last_active: Instant::now(),
        }
    }
}

impl ClinicAgenda {
    pub(super) fn clinic(&self) -> ClinicId {
        self.clinic
    }

    pub(super) fn cached_tz(&self) -> Option<chrono_tz::Tz> {
        self.tz
    }
}

impl Actor for ClinicAgenda {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        stop_when_idle(self, ctx);
    }
}

impl Entity for ClinicAgenda {
    type Cache = chrono_tz::Tz;

    fn deps(&self) -> &EntityDeps {
        &self.deps
    }

    fn last_active(&mut self) -> &mut Instant {
        &mut self.last_active
    }

    fn remember(&mut self, tz: chrono_tz::Tz) {
        self.tz = Some(tz);
    }

    fn forget(&mut self) {
        self.tz = None;
    }
}

/// Default length of an appointment booked without a service.
pub const DEFAULT_MINUTES: u32 = 30;

fn conflict(e: StoreError) -> WsError {
    match e {
        StoreError::Conflict(PATIENT_BUSY) => WsError::new(
            "patient_busy",
            "o paciente já tem outro compromisso nesse horário",
        ),
        StoreError::Conflict(_) => WsError::new("slot_taken", "esse horário acabou de ser ocupado"),
        other => other.into(),
    }
}

/// Which slots to compute: one professional and service in one clinic, on local dates
/// [from, to].
#[derive(Clone, Copy)]
pub struct SlotQuery<'a> {
    pub clinic: ClinicId,
    pub tz: chrono_tz::Tz,
    pub pro: UserId,
    pub timing: ServiceTiming,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// An appointment being moved: its own time does not count as taken.
    pub except: Option<&'a AppointmentRow>,
    /// Offered hours only, whatever is booked (to tell "taken" from "never offered").
    pub ignore_busy: bool,
}

/// Free starts as of `now`.
pub async fn slots_for(
    store: &store::Store,
    q: SlotQuery<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<crate::domain::agenda::Slot>, StoreError> {
    let SlotQuery {
        clinic,
        tz,
        pro,
        timing,
        from,
        to,
        except,
        ignore_busy,
    } = q;
    let start = local_midnight(tz, from) - Duration::hours(12);
    let end = local_midnight(tz, to + Duration::days(1)) + Duration::hours(12);
    let hours = store.working_hours(clinic, pro).await?;
    let rules = store.booking_rules(clinic, pro).await?;
    let exceptions: Vec<_> = store
        .exceptions_between(clinic, Some(pro), start, end)
        .await?
        .iter()
        .map(|e| e.exception())
        .collect();
    let mut busy = store.busy_blocks(pro, start, end).await?;
    let mut starts = store.clinic_booking_starts(clinic, pro, start, end).await?;
    if let Some(a) = except {
        busy.retain(|b| !(b.start == a.block_start && b.end == a.block_end));
        starts.retain(|s| *s != a.starts_at);
    }
    if ignore_busy {
        busy.clear();
    }
    let per_day = |d: NaiveDate| {
        starts
            .iter()
            .filter(|s| s.with_timezone(&tz).date_naive() == d)
            .count() as u32
    };
    let a = Availability {
        tz: &tz,
        hours: &hours,
        exceptions: &exceptions,
        busy: &busy,
        booked_per_day: &per_day,
        rules,
    };
    Ok(free_slots(&a, timing, from, to, now))
}

async fn require_free_slot(
    deps: &EntityDeps,
    clinic: ClinicId,
    tz: chrono_tz::Tz,
    pro: UserId,
    timing: ServiceTiming,
    starts_at: DateTime<Utc>,
    except: Option<&AppointmentRow>,
) -> Result<(), WsError> {
    let day = starts_at.with_timezone(&tz).date_naive();
    let now = Utc::now();
    let offered =
        |slots: Vec<crate::domain::agenda::Slot>| slots.iter().any(|s| s.starts_at == starts_at);
    let mut q = SlotQuery {
        clinic,
        tz,
        pro,
        timing,
        from: day,
        to: day,
        except,
        ignore_busy: false,
    };
    if offered(slots_for(&deps.store, q, now).await?) {
        return Ok(());
    }
    // Within the offered hours but taken by someone: the same answer a race gets.
    q.ignore_busy = true;
    let open = slots_for(&deps.store, q, now).await?;
    if offered(open) {
        return Err(WsError::new(
            "slot_taken",
            "esse horário acabou de ser ocupado",
        ));
    }
    Err(WsError::new(
        "slot_unavailable",
        "esse horário não está disponível para agendamento",
    ))
}

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
pub(super) async fn changed(
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
                "message": super::consult::CANCELLED_MESSAGE,
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
pub(super) async fn queue_message(
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

/// Book an appointment.
#[derive(Message)]
#[rtype(result = "Result<(AppointmentRow, Names), WsError>")]
pub struct Book {
    pub by: Option<UserId>,
    pub professional: UserId,
    pub patient: PatientId,
    pub service: Option<ServiceRow>,
    /// Without a service.
    pub duration_minutes: u32,
    pub starts_at: DateTime<Utc>,
    pub kind: String,
    pub notes: String,
    /// Patients book only offered slots; staff may fit someone in outside them (never on
    /// top of another appointment).
    pub require_free_slot: bool,
    /// `held` for a waitlist offer, else `scheduled`.
    pub status: &'static str,
    pub hold_expires_at: Option<DateTime<Utc>>,
}

fn timing_of(service: Option<&ServiceRow>, minutes: u32) -> ServiceTiming {
    service.map_or(
        ServiceTiming {
            duration_minutes: minutes,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
        },
        ServiceRow::timing,
    )
}

impl Handler<Book> for ClinicAgenda {
    type Result = AtomicResponse<Self, Result<(AppointmentRow, Names), WsError>>;

    fn handle(&mut self, msg: Book, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let timing = timing_of(msg.service.as_ref(), msg.duration_minutes);
            if msg.require_free_slot {
                require_free_slot(
                    &deps,
                    clinic,
                    tz,
                    msg.professional,
                    timing,
                    msg.starts_at,
                    None,
                )
                .await?;
            }
            let block = timing.block(msg.starts_at);
            let now = store::now();
            let a = AppointmentRow {
                id: uuid::Uuid::now_v7(),
                clinic_id: clinic,
                professional_user_id: msg.professional,
                patient_id: msg.patient,
                service_id: msg.service.as_ref().map(|s| s.id),
                kind: msg.kind,
                status: msg.status.to_string(),
                starts_at: msg.starts_at,
                ends_at: timing.end(msg.starts_at),
                block_start: block.start,
                block_end: block.end,
                hold_expires_at: msg.hold_expires_at,
                notes: msg.notes,
                cancel_reason: None,
                booked_by: msg.by,
                created_at: now,
                updated_at: now,
            };
            let names = names_of(&deps.store, &a).await?;
            let mut tx = deps.store.begin().await?;
            deps.store
                .insert_appointment(&mut tx, &a)
                .await
                .map_err(conflict)?;
            if a.status == status::SCHEDULED {
                queue_message(&deps, &mut tx, &a, &names, "appointment_booked", None).await?;
            }
            let events = changed(&deps, &mut tx, tz, &a, &names, None).await?;
            tx.commit().await?;
            Ok((tz, (a, names), events))
        })
    }
}

/// What to do with an existing appointment.
#[derive(Debug, Clone)]
pub enum Change {
    /// Move to a new start (same length), checked against availability when asked.
    Reschedule {
        starts_at: DateTime<Utc>,
        require_free_slot: bool,
    },
    Cancel {
        reason: String,
    },
    Status(&'static str),
}

#[derive(Message)]
#[rtype(result = "Result<(AppointmentRow, Names), WsError>")]
pub struct Modify {
    pub id: uuid::Uuid,
    pub change: Change,
}

impl Handler<Modify> for ClinicAgenda {
    type Result = AtomicResponse<Self, Result<(AppointmentRow, Names), WsError>>;

    fn handle(&mut self, msg: Modify, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let not_found = || WsError::new("not_found", "consulta não encontrada");
            // Availability is read before the write transaction (SQLite has one writer);
            // the transaction re-checks overlaps, so a race still cannot double book.
            let current = deps
                .store
                .appointment_view(msg.id)
                .await?
                .filter(|v| v.a.clinic_id == clinic)
                .ok_or_else(not_found)?
                .a;
            if let Change::Reschedule {
                starts_at,
                require_free_slot: true,
            } = &msg.change
            {
                let service = match current.service_id {
                    Some(s) => deps.store.service(s).await?,
                    None => None,
                };
                let minutes = (current.ends_at - current.starts_at).num_minutes().max(1) as u32;
                let timing = timing_of(service.as_ref(), minutes);
                require_free_slot(
                    &deps,
                    clinic,
                    tz,
                    current.professional_user_id,
                    timing,
                    *starts_at,
                    Some(&current),
                )
                .await?;
            }
            let names = names_of(&deps.store, &current).await?;
            let mut tx = deps.store.begin().await?;
            let mut a = deps
                .store
                .appointment_tx(&mut tx, msg.id)
                .await?
                .filter(|a| a.clinic_id == clinic)
                .ok_or_else(not_found)?;
            let mut moved_from = None;
            // The time this change gives back, for the waitlist.
            let before = a.clone();
            let invalid = |from: &str| {
                WsError::new(
                    "invalid_transition",
                    format!("não é possível fazer isso com uma consulta em '{from}'"),
                )
            };
            let template = match &msg.change {
                Change::Reschedule { .. } => Some("appointment_rescheduled"),
                Change::Cancel { .. } => Some("appointment_cancelled"),
                Change::Status(_) => None,
            };
            if a.status == status::HELD {
                // A waitlist offer is answered by its patient (or lapses), not moved.
                return Err(invalid(&a.status));
            }
            match msg.change {
                Change::Reschedule { starts_at, .. } => {
                    if !status::is_open(&a.status) {
                        return Err(invalid(&a.status));
                    }
                    let shift = starts_at - a.starts_at;
                    moved_from = Some(a.starts_at);
                    a.starts_at += shift;
                    a.ends_at += shift;
                    a.block_start += shift;
                    a.block_end += shift;
                    // A moved appointment needs confirming again.
                    a.status = status::SCHEDULED.into();
                }
                Change::Cancel { reason } => {
                    if !status::can_move(&a.status, status::CANCELLED) {
                        return Err(invalid(&a.status));
                    }
                    a.status = status::CANCELLED.into();
                    a.cancel_reason = Some(reason);
                }
                Change::Status(to) => {
                    if !status::can_move(&a.status, to) {
                        return Err(invalid(&a.status));
                    }
                    a.status = to.into();
                }
            }
            a.updated_at = store::now();
            deps.store
                .update_appointment(&mut tx, &a)
                .await
                .map_err(conflict)?;
            if let Some(t) = template {
                queue_message(&deps, &mut tx, &a, &names, t, None).await?;
            }
            let mut events = changed(&deps, &mut tx, tz, &a, &names, moved_from).await?;
            tx.commit().await?;
            let gave_back = (status::holds_time(&before.status) && !status::holds_time(&a.status))
                || moved_from.is_some();
            if gave_back {
                let freed = super::waitlist::Freed {
                    professional: before.professional_user_id,
                    starts_at: before.starts_at,
                    ends_at: before.ends_at,
                    kind_tele: before.kind == "teleconsultation",
                };
                // The change is stored; a failed offer is logged, not reported as its failure.
                match super::waitlist::offer_freed(&deps, clinic, tz, freed, Utc::now()).await {
                    Ok(evs) => events.extend(evs),
                    Err(e) => tracing::warn!(code = e.code, "waitlist offer failed"),
                }
            }
            Ok((tz, (a, names), events))
        })
    }
}
