//! `WaitingQueue`: one actor per clinic. Check-ins, calls and every change of an entry go
//! through it: validated, written in one transaction with the topic event, then published on
//! `clinic:<id>:queue`. The actor keeps no state the database does not have, so a restart
//! (or another node) serves the same queue.

use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::protocol::{Topic, WsError};
use super::{Entity, EntityDeps, clinic_tz, persist_event, stop_when_idle, supervised};
use crate::bus::TopicEvent;
pub use crate::domain::queue::panel_name;
use crate::domain::queue::{
    Priority, QueueAction, QueueEntryStatus, QueuePolicy, call_order, estimated_waits, ticket,
};
use crate::domain::{ClinicId, PatientId, UserId};
use crate::security::audit::AuditEvent;
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

/// The clinic's current date by `clock`.
pub fn clinic_today(clock: &dyn crate::clock::Clock, tz: chrono_tz::Tz) -> NaiveDate {
    clock.now().with_timezone(&tz).date_naive()
}

/// An entry as staff see it (and as `queue.updated` carries it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueEntryView {
    pub id: uuid::Uuid,
    /// `N001`, or `P001` for legal priority.
    pub ticket: String,
    pub full_name: String,
    /// First name and the initial of the last, as the TV panel shows it.
    pub panel_name: String,
    pub patient_id: Option<PatientId>,
    pub professional_user_id: Option<UserId>,
    pub priority: Priority,
    pub status: QueueEntryStatus,
    pub room: Option<String>,
    pub checked_in_at: DateTime<Utc>,
    pub appointment_id: Option<uuid::Uuid>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub called_at: Option<DateTime<Utc>>,
    pub service_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub recalls: i32,
}

impl From<&QueueEntryRow> for QueueEntryView {
    fn from(e: &QueueEntryRow) -> Self {
        Self {
            id: e.id,
            ticket: e.ticket.clone(),
            full_name: e.full_name.clone(),
            panel_name: panel_name(&e.full_name),
            patient_id: e.patient_id,
            professional_user_id: e.professional_user_id,
            priority: e.priority,
            status: e.status,
            room: e.room.clone(),
            checked_in_at: e.checked_in_at,
            appointment_id: e.appointment_id,
            appointment_at: e.appointment_at,
            called_at: e.called_at,
            service_started_at: e.service_started_at,
            finished_at: e.finished_at,
            recalls: e.recalls,
        }
    }
}

/// What the TV panel and the patients' phones see (`panel.updated`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PanelSnapshot {
    /// The clinic queue topic's seq at the change that produced it: clients keep the
    /// snapshot with the highest version.
    pub version: i64,
    /// The current call and the last five, newest first.
    pub calls: Vec<PanelCall>,
    /// Tickets waiting, in call order.
    pub waiting: Vec<PanelWaiting>,
}

/// A call on the TV panel: no full name, no id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PanelCall {
    pub ticket: String,
    /// First name and the initial of the last.
    pub name: String,
    pub room: Option<String>,
    pub called_at: Option<DateTime<Utc>>,
    pub recalls: i32,
    pub status: QueueEntryStatus,
}

/// A ticket waiting, with its estimated wait.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PanelWaiting {
    pub ticket: String,
    pub eta_minutes: u32,
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
        json!({ "entry": QueueEntryView::from(e) }),
    )
    .await
}

/// Calls shown on the TV panel: the current one and the last five.
pub const PANEL_CALLS: usize = 6;
/// Finished services per professional that make their mean service time.
const SERVICE_SAMPLE: usize = 10;

/// What the TV panel and the patients' phones see: no full names, no CPFs, no ids — the
/// tickets waiting in call order with their estimated waits, and the recent calls with a
/// first name and initial. `version` is the clinic queue topic's seq at the change that
/// produced it: clients keep the snapshot with the highest version.
pub async fn panel_snapshot(
    deps_store: &store::Store,
    clock: &dyn crate::clock::Clock,
    clinic: ClinicId,
    tz: chrono_tz::Tz,
    version: i64,
) -> Result<PanelSnapshot, WsError> {
    let day = clinic_today(clock, tz);
    // Only what the snapshot shows: the waiting, the last calls, who is serving — not the
    // whole day, which grows with every patient.
    let mut entries = deps_store.waiting_entries(clinic, day).await?;
    entries.extend(
        deps_store
            .recent_calls(clinic, day, PANEL_CALLS as i64)
            .await?,
    );
    let serving = deps_store.professionals_serving(clinic, day).await?;
    let settings = deps_store.queue_settings(clinic).await?;
    let policy = settings.policy();
    let ranks_recent = deps_store.recent_call_ranks(clinic, day).await?;
    let times = deps_store
        .recent_service_times(clinic, clock.now() - Duration::days(30))
        .await?;
    Ok(build_snapshot(
        &entries,
        &serving,
        &policy,
        priority_streak(&ranks_recent),
        &times,
        version,
    ))
}

/// How many of the most recent calls (newest first) were priority calls in a row.
fn priority_streak(ranks_newest_first: &[i32]) -> u32 {
    ranks_newest_first
        .iter()
        .take_while(|r| **r < Priority::None.rank())
        .count() as u32
}

fn build_snapshot(
    entries: &[QueueEntryRow],
    serving: &[UserId],
    policy: &QueuePolicy,
    streak: u32,
    times: &[store::queue::ServiceTimeRow],
    version: i64,
) -> PanelSnapshot {
    // Mean of each professional's last few services, in minutes.
    let mut per: std::collections::HashMap<UserId, Vec<f64>> = Default::default();
    for t in times {
        if let Some(p) = t.professional_user_id {
            let v = per.entry(p).or_default();
            if v.len() < SERVICE_SAMPLE {
                let secs = (t.finished_at - t.service_started_at).num_seconds().max(0);
                v.push(secs as f64 / 60.0);
            }
        }
    }
    let default = f64::from(policy.default_service_minutes);
    let mean = |v: &Vec<f64>| (v.iter().sum::<f64>() / v.len() as f64).clamp(1.0, 240.0);

    let anyone = if serving.is_empty() {
        default
    } else {
        serving
            .iter()
            .map(|p| per.get(p).map_or(default, mean))
            .sum::<f64>()
            / serving.len() as f64
    };
    let minutes_of = |p: Option<UserId>| match p {
        Some(p) => per.get(&p).map_or(default, mean),
        None => anyone,
    };

    let waiting: Vec<&QueueEntryRow> = entries
        .iter()
        .filter(|e| e.status == QueueEntryStatus::Waiting)
        .collect();
    let mut strict = waiting.clone();
    strict.sort_by_key(|a| (a.priority_rank, a.order_at()));
    let ranks: Vec<i32> = strict.iter().map(|e| e.priority_rank).collect();
    let ordered: Vec<&QueueEntryRow> = call_order(&ranks, policy, streak)
        .into_iter()
        .filter_map(|i| strict.get(i).copied())
        .collect();
    let pros: Vec<Option<UserId>> = ordered.iter().map(|e| e.professional_user_id).collect();
    let waits = estimated_waits(&pros, minutes_of, serving.len());

    let mut called: Vec<&QueueEntryRow> =
        entries.iter().filter(|e| e.called_at.is_some()).collect();
    called.sort_by_key(|e| std::cmp::Reverse(e.called_at));
    PanelSnapshot {
        version,
        calls: called
            .iter()
            .take(PANEL_CALLS)
            .map(|e| PanelCall {
                ticket: e.ticket.clone(),
                name: panel_name(&e.full_name),
                room: e.room.clone(),
                called_at: e.called_at,
                recalls: e.recalls,
                status: e.status,
            })
            .collect(),
        waiting: ordered
            .iter()
            .zip(waits)
            .map(|(e, w)| PanelWaiting {
                ticket: e.ticket.clone(),
                eta_minutes: w,
            })
            .collect(),
    }
}

/// After a committed change: the redacted snapshot for panels and phones, published
/// without a seq (each one replaces the last).
async fn panel_event(
    deps: &EntityDeps,
    clinic: ClinicId,
    tz: chrono_tz::Tz,
    version: i64,
) -> Option<TopicEvent> {
    match panel_snapshot(&deps.store, deps.clock.as_ref(), clinic, tz, version).await {
        Ok(snapshot) => Some(TopicEvent {
            topic: Topic::ClinicPanel(clinic).to_string(),
            event: "panel.updated".into(),
            seq: None,
            payload: json!(snapshot),
        }),
        Err(e) => {
            // The change itself is stored; panels catch up with the next one or a reload.
            tracing::warn!(error = %e.message, "cannot build the panel snapshot");
            None
        }
    }
}

/// The change's event, followed by the panel snapshot it produces.
async fn with_panel(
    deps: &EntityDeps,
    clinic: ClinicId,
    tz: chrono_tz::Tz,
    ev: TopicEvent,
) -> Vec<TopicEvent> {
    let version = ev.seq.unwrap_or(0);
    let mut events = vec![ev];
    events.extend(panel_event(deps, clinic, tz, version).await);
    events
}

/// Put someone in the queue.
#[derive(Message)]
#[rtype(result = "Result<(QueueEntryRow, bool), WsError>")]
pub struct CheckIn {
    pub patient_id: Option<PatientId>,
    pub full_name: String,
    /// The professional they came for; `None` means whoever calls first.
    pub professional_user_id: Option<UserId>,
    pub priority: Priority,
    /// The appointment they came for (id, start): ordered by its time.
    pub appointment: Option<(uuid::Uuid, chrono::DateTime<Utc>)>,
    /// A registered patient already in today's queue: hand back their entry (self check-in
    /// twice) instead of refusing with `already_in_queue`. The flag in the answer is true
    /// when a new entry was made.
    pub reuse_active: bool,
    /// Written with a new entry, in its transaction (its entity id is the new entry's).
    pub audit: Option<AuditEvent>,
}

impl Handler<CheckIn> for WaitingQueue {
    type Result = AtomicResponse<Self, Result<(QueueEntryRow, bool), WsError>>;

    fn handle(&mut self, msg: CheckIn, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let day = clinic_today(deps.clock.as_ref(), tz);
            let mut tx = deps.store.begin().await?;
            deps.store.lock_clinic_queue(&mut tx, clinic).await?;
            if let Some(pid) = msg.patient_id
                && let Some(existing) = deps
                    .store
                    .active_entry_of_patient_tx(&mut tx, clinic, day, pid)
                    .await?
            {
                if msg.reuse_active {
                    return Ok((tz, (existing, false), vec![]));
                }
                return Err(WsError::conflict(
                    "already_in_queue",
                    format!("paciente já está na fila com a senha {}", existing.ticket),
                ));
            }
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
                priority: msg.priority,
                priority_rank: msg.priority.rank(),
                status: QueueEntryStatus::Waiting,
                room: None,
                checked_in_at: deps.clock.now(),
                called_at: None,
                called_by: None,
                service_started_at: None,
                finished_at: None,
                recalls: 0,
                appointment_id: msg.appointment.map(|a| a.0),
                appointment_at: msg.appointment.map(|a| a.1),
            };
            deps.store.insert_queue_entry(&mut tx, &entry).await?;
            if let Some(audit) = msg.audit {
                deps.store
                    .append_audit(&mut tx, &audit.entity_id(entry.id))
                    .await?;
            }
            let ev = publish_change(&deps, &mut tx, &entry).await?;
            tx.commit().await?;
            let events = with_panel(&deps, clinic, tz, ev).await;
            Ok((tz, (entry, true), events))
        })
    }
}

/// Call the next patient for a professional, to a room.
#[derive(Message)]
#[rtype(result = "Result<Called, WsError>")]
pub struct CallNext {
    pub by: UserId,
    pub professional: UserId,
    pub room: String,
    /// Call this waiting entry rather than the next in the clinic's order (the
    /// professional took that patient in from "Meu dia").
    pub entry: Option<uuid::Uuid>,
    /// Written with the call, in its transaction; its entity is the entry called.
    pub audit: AuditEvent,
}

/// A call and the previous calls it finished.
#[derive(Debug)]
pub struct Called {
    pub entry: QueueEntryRow,
    /// The professional's entries that were called or in service before this call: calling
    /// the next patient finishes them (`done`), so one call at a time is current.
    pub finished: Vec<QueueEntryRow>,
}

impl Handler<CallNext> for WaitingQueue {
    type Result = AtomicResponse<Self, Result<Called, WsError>>;

    fn handle(&mut self, msg: CallNext, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let day = clinic_today(deps.clock.as_ref(), tz);
            let mut tx = deps.store.begin().await?;
            // One caller at a time per clinic, on every node: the order depends on the
            // previous calls (alternate mode), so rows alone cannot be the lock.
            deps.store.lock_clinic_queue(&mut tx, clinic).await?;
            let policy = deps.store.queue_settings(clinic).await?.policy();
            let waiting = deps.store.waiting_entries_tx(&mut tx, clinic, day).await?;
            let streak = priority_streak(
                &deps
                    .store
                    .recent_call_ranks_tx(&mut tx, clinic, day)
                    .await?,
            );
            let ranks: Vec<i32> = waiting.iter().map(|e| e.priority_rank).collect();
            let mut entry = call_order(&ranks, &policy, streak)
                .into_iter()
                .filter_map(|i| waiting.get(i))
                .filter(|e| msg.entry.is_none_or(|id| id == e.id))
                .find(|e| e.professional_user_id.is_none_or(|p| p == msg.professional))
                .cloned()
                .ok_or_else(|| match msg.entry {
                    Some(_) => WsError::conflict(
                        "invalid_transition",
                        "este paciente não está aguardando na recepção",
                    ),
                    None => WsError::conflict("queue_empty", "ninguém aguardando"),
                })?;
            let now = deps.clock.now();
            // The previous call ends with this one: whoever was called or in service with
            // this professional is finished, in the same transaction as the new call.
            let mut events = Vec::new();
            let mut finished = Vec::new();
            for mut prev in deps
                .store
                .current_calls_of_tx(&mut tx, clinic, day, msg.professional)
                .await?
            {
                prev.status = prev
                    .status
                    .after(QueueAction::Finish)
                    .ok_or_else(WsError::internal)?;
                prev.finished_at = Some(now);
                deps.store.update_queue_entry(&mut tx, &prev).await?;
                deps.store
                    .append_audit(
                        &mut tx,
                        &AuditEvent {
                            action: QueueAction::Finish.audit_action(),
                            details: json!({"finished_by": "call_next"}),
                            ..msg.audit.clone()
                        }
                        .entity_id(prev.id),
                    )
                    .await?;
                events.push(publish_change(&deps, &mut tx, &prev).await?);
                finished.push(prev);
            }
            entry.status = entry
                .status
                .after(QueueAction::Call)
                .ok_or_else(WsError::internal)?;
            entry.room = Some(msg.room);
            entry.called_at = Some(now);
            entry.called_by = Some(msg.by);
            entry.professional_user_id = Some(msg.professional);
            deps.store.update_queue_entry(&mut tx, &entry).await?;
            deps.store
                .append_audit(&mut tx, &msg.audit.entity_id(entry.id))
                .await?;
            let ev = publish_change(&deps, &mut tx, &entry).await?;
            tx.commit().await?;
            events.extend(with_panel(&deps, clinic, tz, ev).await);
            Ok((tz, Called { entry, finished }, events))
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
    /// Written with the move, in its transaction (staff moving a patient's entry).
    pub audit: AuditEvent,
}

impl Handler<Act> for WaitingQueue {
    type Result = AtomicResponse<Self, Result<QueueEntryRow, WsError>>;

    fn handle(&mut self, msg: Act, _: &mut Self::Context) -> Self::Result {
        let (deps, clinic, cached) = (self.deps.clone(), self.clinic, self.tz);
        supervised(self, async move {
            let tz = clinic_tz(&deps, clinic, cached).await?;
            let mut tx = deps.store.begin().await?;
            deps.store.lock_clinic_queue(&mut tx, clinic).await?;
            let mut e = deps
                .store
                .queue_entry_tx(&mut tx, msg.entry)
                .await?
                .filter(|e| e.clinic_id == clinic)
                .ok_or_else(|| WsError::not_found("senha não encontrada"))?;
            let now = deps.clock.now();
            let to = e.status.after(msg.action).ok_or_else(|| {
                WsError::conflict(
                    "invalid_transition",
                    format!("não é possível fazer isso com uma senha em '{}'", e.status),
                )
            })?;
            e.status = to;
            match msg.action {
                QueueAction::Recall => {
                    e.recalls += 1;
                    e.called_at = Some(now);
                }
                QueueAction::Start => e.service_started_at = Some(now),
                QueueAction::Finish | QueueAction::NoShow | QueueAction::Leave => {
                    e.finished_at = Some(now);
                }
                QueueAction::Return => {
                    e.room = None;
                    e.called_at = None;
                    e.called_by = None;
                    e.finished_at = None;
                }
                QueueAction::Transfer => {
                    e.professional_user_id = msg.to;
                    e.room = None;
                    e.called_at = None;
                    e.called_by = None;
                }
                QueueAction::CheckIn | QueueAction::Call => {}
            }
            deps.store.update_queue_entry(&mut tx, &e).await?;
            deps.store
                .append_audit(&mut tx, &msg.audit.entity_id(e.id))
                .await?;
            let ev = publish_change(&deps, &mut tx, &e).await?;
            tx.commit().await?;
            let events = with_panel(&deps, clinic, tz, ev).await;
            Ok((tz, e, events))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        ticket: &str,
        rank: i32,
        arrived_min: i64,
        appointment_min: Option<i64>,
    ) -> QueueEntryRow {
        let t0 = chrono::DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        QueueEntryRow {
            id: uuid::Uuid::now_v7(),
            clinic_id: ClinicId(uuid::Uuid::nil()),
            service_date: t0.date_naive(),
            ticket: ticket.into(),
            patient_id: None,
            full_name: "Ana Maria Souza".into(),
            professional_user_id: None,
            priority: Priority::None,
            priority_rank: rank,
            status: QueueEntryStatus::Waiting,
            room: None,
            checked_in_at: t0 + Duration::minutes(arrived_min),
            called_at: None,
            called_by: None,
            service_started_at: None,
            finished_at: None,
            recalls: 0,
            appointment_id: appointment_min.map(|_| uuid::Uuid::now_v7()),
            appointment_at: appointment_min.map(|m| t0 + Duration::minutes(m)),
        }
    }

    #[test]
    fn appointments_keep_their_time_and_priority_still_comes_first() {
        // N002 arrived early for a 10:00 (600) appointment; N001 walked in at 09:40 (580);
        // N003 arrived at 09:30 for a 09:50 appointment; P001 arrived last.
        let entries = [
            entry("N002", 2, 540, Some(600)),
            entry("N001", 2, 580, None),
            entry("N003", 2, 570, Some(590)),
            entry("P001", 1, 620, None),
        ];
        let snap = build_snapshot(&entries, &[], &QueuePolicy::default(), 0, &[], 7);
        let order: Vec<&str> = snap.waiting.iter().map(|w| w.ticket.as_str()).collect();
        assert_eq!(order, vec!["P001", "N001", "N003", "N002"]);
        assert_eq!(snap.version, 7);
        assert!(!json!(snap).to_string().contains("Souza"));
    }
}
