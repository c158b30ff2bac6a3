//! Booking, moving, cancelling and changing the status of an appointment, one at a time
//! per clinic: validated against availability, written in one transaction with its
//! events (the database refuses overlaps — see `store::agenda`), published after commit.
//! Time given back is offered to the waitlist.

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::actor::ClinicAgenda;
use super::appointments::{Names, Record, changed, names_of, queue_message};
use super::slots::{conflict, require_free_slot};
use super::waitlist::{Freed, offer_freed};
use crate::actors::protocol::WsError;
use crate::actors::{clinic_tz, supervised};
use crate::domain::agenda::AppointmentStatus;
use crate::domain::{PatientId, UserId};
use crate::store;
use crate::store::agenda::{AppointmentRow, ServiceRow, timing_of};
use crate::store::patient_links::SelfServiceRecord;

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
    pub status: AppointmentStatus,
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// A patient booking for themself where they had no record: the clinic's new record of
    /// them, linked to their account, written with the booking (a refused booking leaves
    /// none).
    pub new_patient: Option<SelfServiceRecord>,
    /// Written with the booking; its audit row gets the new appointment's id.
    pub record: Record,
    /// A patient's own booking: refused past their daily quota (counted in the booking's
    /// transaction).
    pub quota: Option<BookingQuota>,
}

/// At most `max_per_day` bookings, not cancelled, made by `user` in any 24 hours.
#[derive(Debug, Clone, Copy)]
pub struct BookingQuota {
    pub user: UserId,
    pub max_per_day: u32,
}

const QUOTA_WINDOW_HOURS: i64 = 24;

/// Refuse a booking past the user's quota, with when a slot of it frees up.
async fn check_quota(
    deps: &crate::actors::EntityDeps,
    tx: &mut store::Tx,
    quota: BookingQuota,
    now: DateTime<Utc>,
) -> Result<(), WsError> {
    let window = chrono::Duration::hours(QUOTA_WINDOW_HOURS);
    let made = deps
        .store
        .bookings_made_by_since(tx, quota.user, now - window, i64::from(quota.max_per_day))
        .await?;
    if made.len() < quota.max_per_day as usize {
        return Ok(());
    }
    let frees_at = made.first().map_or(now + window, |oldest| *oldest + window);
    let wait_ms = (frees_at - now).num_milliseconds().max(1000) as u64;
    metrics::counter!("atende_booking_quota_refusals_total").increment(1);
    Err(WsError {
        retry_after_ms: Some(wait_ms),
        ..WsError::of(
            crate::actors::protocol::ErrorKind::RateLimited,
            "booking_limit",
            format!(
                "limite de {} agendamentos em 24 horas atingido; tente novamente mais tarde",
                quota.max_per_day
            ),
        )
    })
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
            let now = deps.clock.now();
            let a = AppointmentRow {
                id: uuid::Uuid::now_v7(),
                clinic_id: clinic,
                professional_user_id: msg.professional,
                patient_id: msg.patient,
                service_id: msg.service.as_ref().map(|s| s.id),
                kind: msg.kind,
                status: msg.status,
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
            let mut names = names_of(&deps.store, &a).await?;
            if let Some(r) = &msg.new_patient {
                // Not in the database yet: its name and account come from the new record.
                let p = &r.patient;
                names.patient = p.social_name.clone().unwrap_or(p.full_name.clone());
                names.patient_users = r.links.iter().filter_map(|l| l.user_id).collect();
            }
            let mut tx = deps.store.begin().await?;
            if let Some(quota) = msg.quota {
                check_quota(&deps, &mut tx, quota, now).await?;
            }
            if let Some(r) = &msg.new_patient {
                deps.store.insert_self_service_record(&mut tx, r).await?;
            }
            deps.store
                .insert_appointment(&mut tx, &a)
                .await
                .map_err(conflict)?;
            let mut record = msg.record;
            record.audit = record.audit.map(|e| e.entity_id(a.id));
            record.spend_link(&deps, &mut tx).await?;
            if a.status == AppointmentStatus::Scheduled {
                queue_message(&deps, &mut tx, &a, &names, "appointment_booked", None).await?;
            }
            let events = changed(&deps, &mut tx, tz, &a, &names, None).await?;
            record.append_audit(&deps, &mut tx).await?;
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
    Status(AppointmentStatus),
}

/// Change an existing appointment.
#[derive(Message)]
#[rtype(result = "Result<(AppointmentRow, Names), WsError>")]
pub struct Modify {
    pub id: uuid::Uuid,
    pub change: Change,
    /// Written with the change, in its transaction.
    pub record: Record,
}

impl Handler<Modify> for ClinicAgenda {
    type Result = AtomicResponse<Self, Result<(AppointmentRow, Names), WsError>>;

    fn handle(&mut self, msg: Modify, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let not_found = || WsError::not_found("consulta não encontrada");
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
            let invalid = |from: AppointmentStatus| {
                WsError::conflict(
                    "invalid_transition",
                    format!("não é possível fazer isso com uma consulta em '{from}'"),
                )
            };
            let template = match &msg.change {
                Change::Reschedule { .. } => Some("appointment_rescheduled"),
                Change::Cancel { .. } => Some("appointment_cancelled"),
                Change::Status(_) => None,
            };
            if a.status == AppointmentStatus::Held {
                // A waitlist offer is answered by its patient (or lapses), not moved.
                return Err(invalid(a.status));
            }
            match msg.change {
                Change::Reschedule { starts_at, .. } => {
                    if !a.status.is_open() {
                        return Err(invalid(a.status));
                    }
                    let shift = starts_at - a.starts_at;
                    moved_from = Some(a.starts_at);
                    a.starts_at += shift;
                    a.ends_at += shift;
                    a.block_start += shift;
                    a.block_end += shift;
                    // A moved appointment needs confirming again.
                    a.status = AppointmentStatus::Scheduled;
                }
                Change::Cancel { reason } => {
                    if !a.status.can_become(AppointmentStatus::Cancelled) {
                        return Err(invalid(a.status));
                    }
                    a.status = AppointmentStatus::Cancelled;
                    a.cancel_reason = Some(reason);
                }
                Change::Status(to) => {
                    if !a.status.can_become(to) {
                        return Err(invalid(a.status));
                    }
                    a.status = to;
                }
            }
            a.updated_at = deps.clock.now();
            deps.store
                .update_appointment(&mut tx, &a)
                .await
                .map_err(conflict)?;
            msg.record.spend_link(&deps, &mut tx).await?;
            if let Some(t) = template {
                queue_message(&deps, &mut tx, &a, &names, t, None).await?;
            }
            let mut events = changed(&deps, &mut tx, tz, &a, &names, moved_from).await?;
            msg.record.append_audit(&deps, &mut tx).await?;
            tx.commit().await?;
            let gave_back =
                (before.status.holds_time() && !a.status.holds_time()) || moved_from.is_some();
            if gave_back {
                let freed = Freed {
                    professional: before.professional_user_id,
                    starts_at: before.starts_at,
                    ends_at: before.ends_at,
                    kind_tele: before.kind == "teleconsultation",
                };
                // The change is stored; a failed offer is logged, not reported as its failure.
                match offer_freed(&deps, clinic, tz, freed, deps.clock.now()).await {
                    Ok(evs) => events.extend(evs),
                    Err(e) => tracing::warn!(code = e.code, "waitlist offer failed"),
                }
            }
            Ok((tz, (a, names), events))
        })
    }
}
