//! The smart waitlist, run by each clinic's `ClinicAgenda` actor. When time frees up (a
//! cancellation, a move, a released hold) the first matching patient on the waitlist gets
//! an offer: the slot is held for them as a `held` appointment for
//! `agenda.waitlist_hold_minutes`; accepting books it, declining or letting it lapse hands it
//! to the next patient. Entries go waiting → offered → booked / declined / expired.

use actix::prelude::*;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::json;

use super::actor::ClinicAgenda;
use super::appointments::{Appointment, Names, Record, changed, names_of, queue_message};
use crate::actors::protocol::{Topic, WsError};
use crate::actors::{Entity, EntityDeps, clinic_tz, supervised};
use crate::bus::TopicEvent;
use crate::domain::agenda::{AppointmentStatus, OfferStatus, WaitlistStatus, parse_hhmm};
use crate::domain::{ClinicId, UserId};
use crate::store::agenda::{AppointmentRow, timing_of};
use crate::store::waitlist::{OfferRow, WaitlistRow};
use crate::store::{Savepoint, StoreError};

/// Link purposes of an offer's one-click links.
pub const ACCEPT_LINK: &str = "offer-accept";
pub const DECLINE_LINK: &str = "offer-decline";

/// Time that just became free.
#[derive(Debug, Clone, Copy)]
pub struct Freed {
    pub professional: UserId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub kind_tele: bool,
}

fn matches(
    w: &WaitlistRow,
    f: &Freed,
    tz: chrono_tz::Tz,
    service_pro: Option<Option<UserId>>,
) -> bool {
    if w.professional_user_id.is_some_and(|p| p != f.professional) {
        return false;
    }
    // A service only some professional offers must be theirs.
    if let Some(Some(p)) = service_pro
        && p != f.professional
    {
        return false;
    }
    let local = f.starts_at.with_timezone(&tz);
    let (day, time) = (local.date_naive(), local.time());
    let from = parse_hhmm(&w.time_from).unwrap_or(NaiveTime::MIN);
    let to = parse_hhmm(&w.time_to).unwrap_or(NaiveTime::MIN);
    (w.date_from..=w.date_to).contains(&day) && from <= time && time < to
}

/// Offer freed time to the first matching waiting patient; the events to publish.
pub async fn offer_freed(
    deps: &EntityDeps,
    clinic: ClinicId,
    tz: chrono_tz::Tz,
    f: Freed,
    now: DateTime<Utc>,
) -> Result<Vec<TopicEvent>, WsError> {
    if f.starts_at <= now {
        return Ok(Vec::new());
    }
    let mut tx = deps.store.begin().await?;
    // Offers of one clinic are made and closed one at a time, whichever node runs them.
    deps.store.lock_clinic(&mut tx, "waitlist", clinic).await?;
    for w in deps.store.waiting_list_tx(&mut tx, clinic).await? {
        let service = match w.service_id {
            Some(s) => deps.store.service(s).await?.filter(|s| s.active),
            None => None,
        };
        if w.service_id.is_some() && service.is_none() {
            continue;
        }
        if !matches(&w, &f, tz, service.as_ref().map(|s| s.professional_user_id)) {
            continue;
        }
        let minutes = (f.ends_at - f.starts_at).num_minutes().max(5) as u32;
        let timing = timing_of(service.as_ref(), minutes);
        let block = timing.block(f.starts_at);
        // Held for the configured time, but never past the appointment's start.
        let expires_at = (now + Duration::minutes(i64::from(deps.agenda.waitlist_hold_minutes)))
            .min(f.starts_at);
        let a = AppointmentRow {
            id: uuid::Uuid::now_v7(),
            clinic_id: clinic,
            professional_user_id: f.professional,
            patient_id: w.patient_id,
            service_id: service.as_ref().map(|s| s.id),
            kind: if f.kind_tele {
                "teleconsultation"
            } else {
                "in_person"
            }
            .into(),
            status: AppointmentStatus::Held,
            starts_at: f.starts_at,
            ends_at: timing.end(f.starts_at),
            block_start: block.start,
            block_end: block.end,
            hold_expires_at: Some(expires_at),
            notes: String::new(),
            cancel_reason: None,
            booked_by: None,
            created_at: deps.clock.now(),
            updated_at: deps.clock.now(),
        };
        // The patient may be busy then, or a longer service may not fit: next one. A savepoint
        // keeps the transaction usable when PostgreSQL's constraint (not our check) refuses it.
        deps.store
            .savepoint(&mut tx, Savepoint::Set, "offer_candidate")
            .await?;
        match deps.store.insert_appointment(&mut tx, &a).await {
            Ok(()) => {
                deps.store
                    .savepoint(&mut tx, Savepoint::Release, "offer_candidate")
                    .await?;
            }
            Err(StoreError::Conflict(_)) => {
                deps.store
                    .savepoint(&mut tx, Savepoint::RollbackTo, "offer_candidate")
                    .await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let offer = OfferRow {
            id: uuid::Uuid::now_v7(),
            waitlist_id: w.id,
            appointment_id: a.id,
            status: OfferStatus::Offered,
            expires_at,
            created_at: deps.clock.now(),
            decided_at: None,
        };
        deps.store.insert_offer(&mut tx, &offer).await?;
        deps.store
            .set_waitlist_status(&mut tx, w.id, WaitlistStatus::Offered)
            .await?;
        let names = names_of(&deps.store, &a).await?;
        let links = OfferLinks::new(deps, &offer);
        queue_message(
            deps,
            &mut tx,
            &a,
            &names,
            "waitlist_offer",
            Some(json!(links)),
        )
        .await?;
        let mut events = changed(deps, &mut tx, tz, &a, &names, None).await?;
        for u in &names.patient_users {
            events.push(TopicEvent {
                topic: Topic::User(*u).to_string(),
                event: "waitlist.offer".into(),
                seq: None,
                payload: json!({
                    "offer_id": offer.id,
                    "expires_at": expires_at,
                    "appointment": Appointment::new(&a, &names),
                    "links": links,
                }),
            });
        }
        tx.commit().await?;
        metrics::counter!("atende_waitlist_offers_total").increment(1);
        return Ok(events);
    }
    tx.commit().await?;
    Ok(Vec::new())
}

/// Accept and decline links of an offer, valid while the slot is held.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfferLinks {
    pub accept_path: String,
    pub decline_path: String,
}

impl OfferLinks {
    pub fn new(deps: &EntityDeps, o: &OfferRow) -> Self {
        let exp = Some(o.expires_at.timestamp());
        Self {
            accept_path: format!("/#/link/accept/{}", deps.links.sign(ACCEPT_LINK, o.id, exp)),
            decline_path: format!(
                "/#/link/decline/{}",
                deps.links.sign(DECLINE_LINK, o.id, exp)
            ),
        }
    }
}

fn freed_by(a: &AppointmentRow) -> Freed {
    Freed {
        professional: a.professional_user_id,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        kind_tele: a.kind == "teleconsultation",
    }
}

/// How an offer closes, and what the use case writes with it.
struct Closing {
    offer: uuid::Uuid,
    outcome: OfferStatus,
    now: DateTime<Utc>,
    record: Record,
}

/// Close an offer: `accepted` books the held appointment; `declined` or `expired` releases
/// it. Returns the appointment, its names, the events, and the freed time when released.
async fn close_offer(
    deps: &EntityDeps,
    tz: chrono_tz::Tz,
    clinic: ClinicId,
    closing: Closing,
) -> Result<(AppointmentRow, Names, Vec<TopicEvent>, Option<Freed>), WsError> {
    let Closing {
        offer: offer_id,
        outcome,
        now,
        record,
    } = closing;
    let mut tx = deps.store.begin().await?;
    deps.store.lock_clinic(&mut tx, "waitlist", clinic).await?;
    let offer = deps
        .store
        .offer_tx(&mut tx, offer_id)
        .await?
        .ok_or_else(|| WsError::not_found("oferta não encontrada"))?;
    if !offer.status.can_become(outcome) {
        return Err(WsError::conflict(
            "offer_closed",
            format!("esta oferta já foi encerrada ({})", offer.status),
        ));
    }
    if outcome == OfferStatus::Accepted && offer.expires_at <= now {
        // The sweeper releases it to the next patient.
        return Err(WsError::conflict("offer_expired", "a oferta expirou"));
    }
    let mut a = deps
        .store
        .appointment_tx(&mut tx, offer.appointment_id)
        .await?
        .filter(|a| a.clinic_id == clinic)
        .ok_or_else(|| WsError::not_found("oferta não encontrada"))?;
    a.hold_expires_at = None;
    a.updated_at = deps.clock.now();
    let names = names_of(&deps.store, &a).await?;
    let freed = if outcome == OfferStatus::Accepted {
        a.status = AppointmentStatus::Scheduled;
        None
    } else {
        a.status = AppointmentStatus::Cancelled;
        a.cancel_reason = Some(if outcome == OfferStatus::Declined {
            "Oferta da lista de espera recusada".into()
        } else {
            "Oferta da lista de espera expirou".into()
        });
        Some(freed_by(&a))
    };
    deps.store.update_appointment(&mut tx, &a).await?;
    deps.store.decide_offer(&mut tx, offer.id, outcome).await?;
    deps.store
        .set_waitlist_status(&mut tx, offer.waitlist_id, outcome.entry_status())
        .await?;
    record.spend_link(deps, &mut tx).await?;
    if outcome == OfferStatus::Accepted {
        queue_message(deps, &mut tx, &a, &names, "appointment_booked", None).await?;
    }
    let events = changed(deps, &mut tx, tz, &a, &names, None).await?;
    record.append_audit(deps, &mut tx).await?;
    tx.commit().await?;
    Ok((a, names, events, freed))
}

/// A patient's answer to an offer.
#[derive(Message)]
#[rtype(result = "Result<(AppointmentRow, Names), WsError>")]
pub struct RespondOffer {
    pub offer: uuid::Uuid,
    pub accept: bool,
    /// Written with the answer, in its transaction.
    pub record: Record,
}

impl Handler<RespondOffer> for ClinicAgenda {
    type Result = AtomicResponse<Self, Result<(AppointmentRow, Names), WsError>>;

    fn handle(&mut self, msg: RespondOffer, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps().clone(), self.clinic(), self.cached_tz());
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let now = deps.clock.now();
            let closing = Closing {
                offer: msg.offer,
                outcome: if msg.accept {
                    OfferStatus::Accepted
                } else {
                    OfferStatus::Declined
                },
                now,
                record: msg.record,
            };
            let (a, names, mut events, freed) = close_offer(&deps, tz, clinic, closing).await?;
            if let Some(f) = freed {
                events.extend(offer_freed(&deps, clinic, tz, f, now).await?);
            }
            Ok((tz, (a, names), events))
        })
    }
}

/// Let lapsed holds go to the next patient. `now` is explicit so tests can move the clock.
#[derive(Message)]
#[rtype(result = "Result<usize, WsError>")]
pub struct ExpireOffers {
    pub now: DateTime<Utc>,
}

impl Handler<ExpireOffers> for ClinicAgenda {
    type Result = AtomicResponse<Self, Result<usize, WsError>>;

    fn handle(&mut self, msg: ExpireOffers, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps().clone(), self.clinic(), self.cached_tz());
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let mut events = Vec::new();
            let lapsed = deps.store.lapsed_offers(clinic, msg.now).await?;
            for id in &lapsed {
                let closing = Closing {
                    offer: *id,
                    outcome: OfferStatus::Expired,
                    now: msg.now,
                    record: Record::default(),
                };
                match close_offer(&deps, tz, clinic, closing).await {
                    Ok((_, _, evs, freed)) => {
                        events.extend(evs);
                        if let Some(f) = freed {
                            // The hold is released either way; a failed re-offer is logged.
                            match offer_freed(&deps, clinic, tz, f, msg.now).await {
                                Ok(evs) => events.extend(evs),
                                Err(e) => tracing::warn!(code = e.code, "waitlist re-offer failed"),
                            }
                        }
                    }
                    // Answered meanwhile.
                    Err(e) if e.code == "offer_closed" => {}
                    Err(e) => return Err(e),
                }
            }
            Ok((tz, lapsed.len(), events))
        })
    }
}
