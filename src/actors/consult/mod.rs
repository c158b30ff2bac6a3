//! `ConsultSession`: one actor per teleconsultation (keyed by its appointment). It owns the
//! session's lifecycle — scheduled → waiting (the patient entered the virtual waiting room)
//! → in_call (the professional admitted them) → ended (the professional ended it, or the
//! appointment was cancelled) — persisted in `consult_sessions`, and relays WebRTC
//! signaling (offer, answer, ICE candidates, restart requests) between the two sides over
//! the bus, so they may sit on different nodes. The server never interprets media: it checks
//! that signaling is well formed, comes from a participant, and is aimed at the other side
//! ([`signal`]). Every reply and `consult.state` push carries the same [`view::ConsultState`].

pub mod signal;
pub mod view;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::{Actor, AtomicResponse, Context, Handler, Message};
use serde_json::{Value, json};

use super::protocol::{Topic, WsError};
use super::{Entity, EntityDeps, SendRate, persist_event, stop_when_idle, supervised};
use crate::actors::consult::signal::check_signal;
use crate::actors::consult::view::{ConsultParticipant, ConsultState, media_of, participants_of};
use crate::bus::TopicEvent;
use crate::config::RelayMode;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::consult::{ConsultMedia, ConsultStatus, Side};
use crate::security::audit::AuditEvent;
use crate::store::agenda::AppointmentView;
use crate::store::consults::ConsultRow;

/// Longest in-call chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;
/// Replies to recent chat sends, by client id (a retried send is not stored twice).
const CHAT_DEDUPE: usize = 256;

pub struct ConsultSession {
    appointment: uuid::Uuid,
    deps: EntityDeps,
    last_active: Instant,
    /// Stored in-call chat messages per participant, for the rate limit.
    chat_rate: SendRate<String>,
    chat_sent: VecDeque<(uuid::Uuid, Value)>,
}

impl ConsultSession {
    pub fn new(appointment: uuid::Uuid, deps: EntityDeps) -> Self {
        Self {
            appointment,
            deps,
            last_active: Instant::now(),
            chat_rate: SendRate::default(),
            chat_sent: VecDeque::new(),
        }
    }
}

impl Actor for ConsultSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        stop_when_idle(self, ctx);
    }
}

impl Entity for ConsultSession {
    /// A chat message just stored: who sent it (for the rate limit), its client id and the
    /// reply (for retried sends).
    type Cache = Option<(String, uuid::Uuid, Value)>;

    fn deps(&self) -> &EntityDeps {
        &self.deps
    }

    fn last_active(&mut self) -> &mut Instant {
        &mut self.last_active
    }

    fn remember(&mut self, sent: Option<(String, uuid::Uuid, Value)>) {
        if let Some((who, client_id, reply)) = sent {
            self.chat_rate.spend(who);
            if self.chat_sent.len() >= CHAT_DEDUPE {
                self.chat_sent.pop_front();
            }
            self.chat_sent.push_back((client_id, reply));
        }
    }

    fn forget(&mut self) {
        self.chat_sent.clear();
    }
}

fn topic(appointment: uuid::Uuid) -> String {
    Topic::Consult(appointment).to_string()
}

/// The appointment behind a session, if it is (still) a teleconsultation one may enter.
pub async fn open_appointment(
    deps_store: &crate::store::Store,
    appointment: uuid::Uuid,
) -> Result<AppointmentView, WsError> {
    let view = deps_store
        .appointment_view(appointment)
        .await?
        .filter(|v| v.a.kind == "teleconsultation")
        .ok_or_else(|| WsError::not_found("teleconsulta não encontrada"))?;
    Ok(view)
}

/// Load the appointment and its stored session (storing it on first entry).
async fn load(
    deps: &EntityDeps,
    appointment: uuid::Uuid,
) -> Result<(AppointmentView, ConsultRow), WsError> {
    let view = open_appointment(&deps.store, appointment).await?;
    let row = deps
        .store
        .open_consult_session(
            appointment,
            view.a.clinic_id,
            view.a.status == AppointmentStatus::Cancelled,
        )
        .await?;
    Ok((view, row))
}

/// A connection enters the session (after joining its topic): the patient's first entry
/// puts them in the waiting room. Returns the session state.
#[derive(Message)]
#[rtype(result = "Result<ConsultState, WsError>")]
pub struct Enter {
    pub side: Side,
    /// The account's name; a guest (link) enters under the appointment's patient name.
    pub name: Option<String>,
}

impl Handler<Enter> for ConsultSession {
    type Result = AtomicResponse<Self, Result<ConsultState, WsError>>;

    fn handle(&mut self, msg: Enter, _: &mut Self::Context) -> Self::Result {
        let (deps, id) = (self.deps.clone(), self.appointment);
        supervised(self, async move {
            let (view, mut row) = load(&deps, id).await?;
            if row.status == ConsultStatus::Ended {
                let state = ConsultState::of(&view, &row, deps.relay);
                return Ok((None, state, Vec::new()));
            }
            let name = msg.name.unwrap_or_else(|| {
                view.patient_social_name
                    .clone()
                    .unwrap_or_else(|| view.patient_name.clone())
            });
            let mut people = participants_of(&row);
            let listed = people
                .iter()
                .any(|p| p.role == msg.side.as_str() && p.name == name);
            let to_waiting = msg.side == Side::Patient && row.status == ConsultStatus::Scheduled;
            let mut changed = false;
            if to_waiting || !listed {
                let mut tx = deps.store.begin().await?;
                if to_waiting
                    && let Some(waiting) = deps
                        .store
                        .consult_transition(&mut tx, id, ConsultStatus::Waiting, None)
                        .await?
                {
                    row = waiting;
                    changed = true;
                }
                if !listed {
                    changed = true;
                    people.push(ConsultParticipant {
                        role: msg.side.as_str().to_string(),
                        name,
                        first_at: deps.clock.now(),
                    });
                    let stored = serde_json::to_string(&people).map_err(|_| WsError::internal())?;
                    if let Some(updated) = deps
                        .store
                        .set_consult_participants(&mut tx, id, &stored)
                        .await?
                    {
                        row = updated;
                    }
                }
                tx.commit().await?;
            }
            let state = ConsultState::of(&view, &row, deps.relay);
            let events = if changed {
                vec![state.event()]
            } else {
                Vec::new()
            };
            Ok((None, state, events))
        })
    }
}

/// The professional lets the waiting patient in.
#[derive(Message)]
#[rtype(result = "Result<ConsultState, WsError>")]
pub struct Admit {
    pub side: Side,
}

impl Handler<Admit> for ConsultSession {
    type Result = AtomicResponse<Self, Result<ConsultState, WsError>>;

    fn handle(&mut self, msg: Admit, _: &mut Self::Context) -> Self::Result {
        let (deps, id) = (self.deps.clone(), self.appointment);
        supervised(self, async move {
            if msg.side != Side::Professional {
                return Err(WsError::forbidden());
            }
            let (view, row) = load(&deps, id).await?;
            match row.status {
                ConsultStatus::Ended => return Err(ended()),
                ConsultStatus::Scheduled => {
                    return Err(WsError::conflict(
                        "nobody_waiting",
                        "o paciente ainda não entrou na sala de espera",
                    ));
                }
                ConsultStatus::InCall => {
                    return Ok((None, ConsultState::of(&view, &row, deps.relay), Vec::new()));
                }
                ConsultStatus::Waiting => {}
            }
            let mut tx = deps.store.begin().await?;
            let row = deps
                .store
                .consult_transition(&mut tx, id, ConsultStatus::InCall, None)
                .await?
                .ok_or_else(ended)?;
            tx.commit().await?;
            let state = ConsultState::of(&view, &row, deps.relay);
            let event = state.event();
            Ok((None, state, vec![event]))
        })
    }
}

/// The session, which must be `in_call` (one read): `not_admitted` (with `why`) before,
/// `consult_ended` after.
pub async fn in_call(
    store: &crate::store::Store,
    id: uuid::Uuid,
    why: &'static str,
) -> Result<ConsultRow, WsError> {
    match store.consult_session(id).await? {
        Some(row) if row.status == ConsultStatus::InCall => Ok(row),
        Some(row) if row.status == ConsultStatus::Ended => Err(ended()),
        _ => Err(WsError::conflict("not_admitted", why)),
    }
}

pub fn ended() -> WsError {
    WsError::conflict("consult_ended", "a teleconsulta já foi encerrada")
}

/// Signaling from one side, to be relayed to the other.
#[derive(Message)]
#[rtype(result = "Result<(), WsError>")]
pub struct Signal {
    pub side: Side,
    pub payload: Value,
}

impl Handler<Signal> for ConsultSession {
    type Result = AtomicResponse<Self, Result<(), WsError>>;

    fn handle(&mut self, msg: Signal, _: &mut Self::Context) -> Self::Result {
        let (deps, id) = (self.deps.clone(), self.appointment);
        supervised(self, async move {
            let relayed = check_signal(msg.side, &msg.payload)?;
            // One read per signal: the status alone decides (a cancellation closes the
            // session in its own transaction).
            in_call(
                &deps.store,
                id,
                "a chamada começa quando o profissional admitir o paciente",
            )
            .await?;
            metrics::counter!("atende_consult_signals_total").increment(1);
            let ev = TopicEvent {
                topic: topic(id),
                event: "consult.signal".into(),
                seq: None,
                payload: relayed,
            };
            Ok((None, (), vec![ev]))
        })
    }
}

/// The professional ends the session. (A cancelled appointment closes it in the agenda's
/// transaction instead, see `actors::agenda::changed`.)
#[derive(Message)]
#[rtype(result = "Result<ConsultState, WsError>")]
pub struct End {
    pub side: Side,
    /// The end's audit row (who, from where): the actor adds the clinic and the call's
    /// times and appends it in the transaction that ends the session.
    pub audit: AuditEvent,
}

const ENDED_BY_PROFESSIONAL: &str = "ended_by_professional";

/// What the audit log keeps of an ended call: why, its times, who was in it.
fn end_details(reason: &str, row: &ConsultRow) -> Value {
    json!({
        "reason": reason,
        "waiting_at": row.waiting_at,
        "started_at": row.admitted_at,
        "ended_at": row.ended_at,
        "participants": participants_of(row),
    })
}

/// What the people in a room are told when its appointment is cancelled.
pub const CANCELLED_MESSAGE: &str = "A consulta foi cancelada. Você pode fechar esta página.";

impl Handler<End> for ConsultSession {
    type Result = AtomicResponse<Self, Result<ConsultState, WsError>>;

    fn handle(&mut self, msg: End, _: &mut Self::Context) -> Self::Result {
        let (deps, id) = (self.deps.clone(), self.appointment);
        supervised(self, async move {
            if msg.side != Side::Professional {
                return Err(WsError::forbidden());
            }
            let (view, _) = load(&deps, id).await?;
            let mut tx = deps.store.begin().await?;
            let row = deps
                .store
                .consult_transition(
                    &mut tx,
                    id,
                    ConsultStatus::Ended,
                    Some(ENDED_BY_PROFESSIONAL),
                )
                .await?
                .ok_or_else(ended)?;
            let audit = msg
                .audit
                .clinic(view.a.clinic_id)
                .details(end_details(ENDED_BY_PROFESSIONAL, &row));
            deps.store.append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            deps.media.rooms.close_room(id).await;
            let state = ConsultState::of(&view, &row, deps.relay);
            let ended = TopicEvent {
                topic: topic(id),
                event: "consult.ended".into(),
                seq: None,
                payload: json!({
                    "reason": ENDED_BY_PROFESSIONAL,
                    "message": "A teleconsulta foi encerrada pelo profissional.",
                    "state": state,
                }),
            };
            Ok((None, state, vec![ended]))
        })
    }
}

/// Route the call's media through the relay from now on: a side whose direct connection
/// failed asks for it (`fallback` mode), and inviting a guest does it.
#[derive(Message)]
#[rtype(result = "Result<ConsultState, WsError>")]
pub struct UseRelay;

pub fn relay_disabled() -> WsError {
    WsError::conflict(
        "relay_disabled",
        "o servidor não retransmite mídia nesta instalação (media.relay = never)",
    )
}

impl Handler<UseRelay> for ConsultSession {
    type Result = AtomicResponse<Self, Result<ConsultState, WsError>>;

    fn handle(&mut self, _: UseRelay, _: &mut Self::Context) -> Self::Result {
        let (deps, id) = (self.deps.clone(), self.appointment);
        supervised(self, async move {
            if deps.relay == RelayMode::Never {
                return Err(relay_disabled());
            }
            let (view, row) = load(&deps, id).await?;
            if row.status == ConsultStatus::Ended {
                return Err(ended());
            }
            if media_of(deps.relay, &row) == ConsultMedia::Relay {
                return Ok((None, ConsultState::of(&view, &row, deps.relay), Vec::new()));
            }
            let row = deps.store.set_consult_relay(id).await?.ok_or_else(ended)?;
            metrics::counter!("atende_consult_relay_switches_total").increment(1);
            let state = ConsultState::of(&view, &row, deps.relay);
            let event = state.event();
            Ok((None, state, vec![event]))
        })
    }
}

/// A message in the call's chat (everyone in the call, guests included). Stored as an
/// event of the `consult:` topic, so a page that reloads or reconnects gets it again.
#[derive(Message)]
#[rtype(result = "Result<Value, WsError>")]
pub struct Chat {
    pub side: Side,
    /// Who sends, for the rate limit: `professional`, `patient` or `guest:<id>`.
    pub who: String,
    pub name: String,
    pub payload: Value,
}

fn chat_payload_error() -> WsError {
    WsError::new(
        "invalid_payload",
        format!("informe client_id (UUID) e body (texto de 1 a {MAX_CHAT_CHARS} caracteres)"),
    )
}

impl Handler<Chat> for ConsultSession {
    type Result = AtomicResponse<Self, Result<Value, WsError>>;

    fn handle(&mut self, msg: Chat, _: &mut Self::Context) -> Self::Result {
        let (deps, id) = (self.deps.clone(), self.appointment);
        let client_id = msg
            .payload
            .get("client_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<uuid::Uuid>().ok());
        let body = msg
            .payload
            .get("body")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let retried = client_id.and_then(|c| {
            self.chat_sent
                .iter()
                .find(|(sent, _)| *sent == c)
                .map(|(_, reply)| reply.clone())
        });
        // Spent when a message is stored (see `remember`).
        let within_rate = self
            .chat_rate
            .within(&msg.who, deps.chat.max_messages_per_minute);
        let who = msg.who.clone();
        supervised(self, async move {
            let client_id = client_id.ok_or_else(chat_payload_error)?;
            if body.is_empty() || body.chars().count() > MAX_CHAT_CHARS {
                return Err(chat_payload_error());
            }
            if let Some(reply) = retried {
                return Ok((None, reply, Vec::new()));
            }
            if !within_rate {
                return Err(WsError::rate_limited(
                    "muitas mensagens em pouco tempo; aguarde um instante",
                ));
            }
            in_call(
                &deps.store,
                id,
                "o chat da consulta abre quando a chamada começa",
            )
            .await?;
            let message_id = uuid::Uuid::now_v7();
            let payload = json!({
                "id": message_id,
                "client_id": client_id,
                "role": msg.side.as_str(),
                "name": msg.name,
                "body": body,
                "at": deps.clock.now(),
            });
            let mut tx = deps.store.begin().await?;
            let event = persist_event(&deps, &mut tx, &topic(id), "consult.chat", payload).await?;
            tx.commit().await?;
            metrics::counter!("atende_consult_chat_messages_total").increment(1);
            let reply = json!({"id": message_id, "seq": event.seq});
            Ok((Some((who, client_id, reply.clone())), reply, vec![event]))
        })
    }
}

/// Reason of a call that ended because nobody was connected to it.
pub const ABANDONED: &str = "abandoned";

/// End the calls nobody has been connected to for `timeout` (any node may run this; the
/// store makes each end happen once): audited in the same transaction, `consult.ended`
/// pushed and relay closed after it commits.
pub async fn end_abandoned(deps: &EntityDeps, timeout: Duration) -> Result<usize, WsError> {
    let cutoff = deps.clock.now()
        - chrono::Duration::from_std(timeout).unwrap_or_else(|_| chrono::Duration::hours(1));
    let mut tx = deps.store.begin().await?;
    let rows = deps.store.end_abandoned_consults(&mut tx, cutoff).await?;
    for row in &rows {
        let audit = AuditEvent::new(None, "consult.end", "appointment")
            .entity_id(row.appointment_id)
            .clinic(row.clinic_id)
            .details(end_details(ABANDONED, row));
        deps.store.append_audit(&mut tx, &audit).await?;
    }
    tx.commit().await?;
    for row in &rows {
        let id = row.appointment_id;
        deps.media.rooms.close_room(id).await;
        let state = match deps.store.appointment_view(id).await? {
            Some(view) => ConsultState::of(&view, row, deps.relay).to_json(),
            None => json!({"appointment_id": id, "status": "ended", "ended_reason": ABANDONED}),
        };
        deps.bus.publish(TopicEvent {
            topic: topic(id),
            event: "consult.ended".into(),
            seq: None,
            payload: json!({
                "reason": ABANDONED,
                "message": "A teleconsulta foi encerrada porque ninguém estava conectado.",
                "state": state,
            }),
        });
    }
    Ok(rows.len())
}
