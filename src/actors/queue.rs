//! `WaitingQueue`: one actor per clinic. Check-ins, calls and every change of an entry go
//! through it: validated, written in one transaction with the topic event, then published on
//! `clinic:<id>:queue`. The actor keeps no state the database does not have, so a restart
//! (or another node) serves the same queue.

use std::time::Instant;

use actix::prelude::*;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use super::protocol::{Topic, WsError};
use super::{Entity, EntityDeps, persist_event, stop_when_idle, supervised};
use crate::bus::TopicEvent;
use crate::domain::queue::{Priority, ticket};
use crate::domain::{ClinicId, PatientId, UserId};
use crate::store::queue::QueueEntryRow;
use crate::store::{self, Tx};

pub struct WaitingQueue {
    clinic: ClinicId,
    deps: EntityDeps,
    /// The clinic's IANA zone, loaded on first use: "today" is the clinic's day.
    tz: Option<chrono_tz::Tz>,
    last_active: Instant,
}

impl WaitingQueue {
    pub fn new(clinic: ClinicId, deps: EntityDeps) -> Self {
        Self {
            clinic,
            deps,
            tz: None,
            last_active: Instant::now(),
        }
    }
}

impl Actor for WaitingQueue {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        stop_when_idle(self, ctx);
    }
}

impl Entity for WaitingQueue {
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

async fn clinic_tz(
    deps: &EntityDeps,
    clinic: ClinicId,
    cached: Option<chrono_tz::Tz>,
) -> Result<chrono_tz::Tz, WsError> {
    if let Some(tz) = cached {
        return Ok(tz);
    }
    let row = deps
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or_else(|| WsError::new("not_found", "clínica não encontrada"))?;
    Ok(row.tz())
}

/// The clinic's current date.
pub fn clinic_today(tz: chrono_tz::Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// A name safe for a public panel: first name and the initial of the last (LGPD).
pub fn panel_name(full_name: &str) -> String {
    let mut parts = full_name.split_whitespace();
    let first = parts.next().unwrap_or("");
    match parts.last() {
        Some(last) => format!("{first} {}.", last.chars().next().unwrap_or(' ')),
        None => first.to_string(),
    }
}

/// An entry as staff see it (and as `queue.updated` carries it).
pub fn entry_view(e: &QueueEntryRow) -> Value {
    json!({
        "id": e.id,
        "ticket": e.ticket,
        "full_name": e.full_name,
        "panel_name": panel_name(&e.full_name),
        "patient_id": e.patient_id,
        "professional_user_id": e.professional_user_id,
        "priority": e.priority,
        "status": e.status,
        "room": e.room,
        "checked_in_at": e.checked_in_at,
        "called_at": e.called_at,
        "service_started_at": e.service_started_at,
        "finished_at": e.finished_at,
        "recalls": e.recalls,
    })
}

async fn publish_change(
    deps: &EntityDeps,
    tx: &mut Tx,
    e: &QueueEntryRow,
) -> Result<TopicEvent, WsError> {
    persist_event(
        deps,
        tx,
        &Topic::ClinicQueue(e.clinic_id).to_string(),
        "queue.updated",
        json!({"entry": entry_view(e)}),
    )
    .await
}

/// Put someone in the queue.
#[derive(Message)]
#[rtype(result = "Result<QueueEntryRow, WsError>")]
pub struct CheckIn {
    pub patient_id: Option<PatientId>,
    pub full_name: String,
    /// The professional they came for; `None` means whoever calls first.
    pub professional_user_id: Option<UserId>,
    pub priority: Priority,
}

impl Handler<CheckIn> for WaitingQueue {
    type Result = AtomicResponse<Self, Result<QueueEntryRow, WsError>>;

    fn handle(&mut self, msg: CheckIn, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let day = clinic_today(tz);
            let mut tx = deps.store.begin().await?;
            let number = deps
                .store
                .next_ticket_number(&mut tx, clinic, day, msg.priority.prefix())
                .await?;
            let entry = QueueEntryRow {
                id: uuid::Uuid::now_v7(),
                clinic_id: clinic,
                service_date: day,
                ticket: ticket(msg.priority.prefix(), number),
                patient_id: msg.patient_id,
                full_name: msg.full_name,
                professional_user_id: msg.professional_user_id,
                priority: msg.priority.as_str().to_string(),
                priority_rank: msg.priority.rank(),
                status: "waiting".into(),
                room: None,
                checked_in_at: store::now(),
                called_at: None,
                called_by: None,
                service_started_at: None,
                finished_at: None,
                recalls: 0,
            };
            deps.store.insert_queue_entry(&mut tx, &entry).await?;
            let ev = publish_change(&deps, &mut tx, &entry).await?;
            tx.commit().await?;
            Ok((tz, entry, vec![ev]))
        })
    }
}

/// Call the next patient for a professional, to a room.
#[derive(Message)]
#[rtype(result = "Result<QueueEntryRow, WsError>")]
pub struct CallNext {
    pub by: UserId,
    pub professional: UserId,
    pub room: String,
}

impl Handler<CallNext> for WaitingQueue {
    type Result = AtomicResponse<Self, Result<QueueEntryRow, WsError>>;

    fn handle(&mut self, msg: CallNext, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let mut tx = deps.store.begin().await?;
            let mut entry = deps
                .store
                .pick_next_waiting(&mut tx, clinic, clinic_today(tz), msg.professional)
                .await?
                .ok_or_else(|| WsError::new("queue_empty", "ninguém aguardando"))?;
            entry.status = "called".into();
            entry.room = Some(msg.room);
            entry.called_at = Some(store::now());
            entry.called_by = Some(msg.by);
            entry.professional_user_id = Some(msg.professional);
            deps.store.update_queue_entry(&mut tx, &entry).await?;
            let ev = publish_change(&deps, &mut tx, &entry).await?;
            tx.commit().await?;
            Ok((tz, entry, vec![ev]))
        })
    }
}

/// What can be done to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAction {
    /// Call the same patient again (they did not come).
    Recall,
    /// The patient came in: service starts.
    Start,
    Finish,
    NoShow,
    /// Back to waiting (after a no-show or a call they missed), keeping their place.
    Return,
    /// They left before being called.
    Leave,
    /// Hand over to another professional.
    Transfer,
}

impl QueueAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "recall" => Self::Recall,
            "start" => Self::Start,
            "finish" => Self::Finish,
            "no-show" => Self::NoShow,
            "return" => Self::Return,
            "leave" => Self::Leave,
            "transfer" => Self::Transfer,
            _ => return None,
        })
    }
}

#[derive(Message)]
#[rtype(result = "Result<QueueEntryRow, WsError>")]
pub struct Act {
    pub entry: uuid::Uuid,
    pub action: QueueAction,
    /// For `Transfer`: the new professional.
    pub to: Option<UserId>,
}

impl Handler<Act> for WaitingQueue {
    type Result = AtomicResponse<Self, Result<QueueEntryRow, WsError>>;

    fn handle(&mut self, msg: Act, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let mut tx = deps.store.begin().await?;
            let mut e = deps
                .store
                .queue_entry_tx(&mut tx, msg.entry)
                .await?
                .filter(|e| e.clinic_id == clinic)
                .ok_or_else(|| WsError::new("not_found", "senha não encontrada"))?;
            let now = store::now();
            use QueueAction::*;
            let ok = match (msg.action, e.status.as_str()) {
                (Recall, "called") => {
                    e.recalls += 1;
                    e.called_at = Some(now);
                    true
                }
                (Start, "called") => {
                    e.status = "in_service".into();
                    e.service_started_at = Some(now);
                    true
                }
                (Finish, "called" | "in_service") => {
                    e.status = "done".into();
                    e.finished_at = Some(now);
                    true
                }
                (NoShow, "waiting" | "called") => {
                    e.status = "no_show".into();
                    e.finished_at = Some(now);
                    true
                }
                (Return, "called" | "no_show") => {
                    e.status = "waiting".into();
                    e.room = None;
                    e.called_at = None;
                    e.called_by = None;
                    e.finished_at = None;
                    true
                }
                (Leave, "waiting") => {
                    e.status = "left".into();
                    e.finished_at = Some(now);
                    true
                }
                (Transfer, "waiting" | "called") => {
                    e.professional_user_id = msg.to;
                    e.status = "waiting".into();
                    e.room = None;
                    e.called_at = None;
                    e.called_by = None;
                    true
                }
                _ => false,
            };
            if !ok {
                return Err(WsError::new(
                    "invalid_transition",
                    format!("não é possível fazer isso com uma senha em '{}'", e.status),
                ));
            }
            deps.store.update_queue_entry(&mut tx, &e).await?;
            let ev = publish_change(&deps, &mut tx, &e).await?;
            tx.commit().await?;
            Ok((tz, e, vec![ev]))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn panels_show_first_name_and_an_initial_only() {
        assert_eq!(super::panel_name("Maria Aparecida Santos"), "Maria S.");
        assert_eq!(super::panel_name("Cher"), "Cher");
    }
}
