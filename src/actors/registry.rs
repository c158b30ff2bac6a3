//! Starts entity actors lazily by key, restarts them after a panic or idle stop, and
//! forgets them when they are gone.
//!
//! Supervision is explicit: an entity that panics stops itself (see
//! [`super::catch_panic`]); the next `get` finds its address disconnected and starts a
//! fresh actor, which reloads its state from the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, Context};

use super::agenda::ClinicAgenda;
use super::chat::ChatRoom;
use super::consult::ConsultSession;
use super::protocol::WsError;
use super::queue::WaitingQueue;
use super::{Admission, Admitted, EntityDeps};
use crate::domain::{ChatRoomId, ClinicId};

/// Live actors of one kind, by key, each with the bound on the work waiting for it.
struct Live<K, A: Actor> {
    kind: &'static str,
    map: Mutex<HashMap<K, (Addr<A>, Admission)>>,
    /// Everything waiting for actors of this kind on this node.
    node: Arc<AtomicUsize>,
    limits: (usize, usize, u64),
}

impl<K: Eq + Hash + Copy, A: Actor<Context = Context<A>>> Live<K, A> {
    /// `limits`: work that may wait per actor and per node, and the retry hint (ms).
    fn new(kind: &'static str, limits: (usize, usize, u64)) -> Self {
        Self {
            kind,
            map: Mutex::new(HashMap::new()),
            node: Arc::default(),
            limits,
        }
    }

    /// The live actor for `key`, started with `make` if there is none (or it stopped).
    /// Must be called from within an actix arbiter (a request handler or another actor).
    fn get(&self, key: K, make: impl FnOnce() -> A) -> Addr<A> {
        self.entry(key, make).0
    }

    /// The live actor and its admission bound.
    fn entry(&self, key: K, make: impl FnOnce() -> A) -> (Addr<A>, Admission) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key) {
            Some((addr, admission)) if addr.connected() => {
                return (addr.clone(), admission.clone());
            }
            Some(_) => {
                metrics::counter!("atende_entity_restarts_total", "kind" => self.kind).increment(1)
            }
            None => {}
        }
        if map.len() > 1024 {
            map.retain(|_, (a, _)| a.connected());
        }
        let addr = make().start();
        let (limit, node_limit, retry) = self.limits;
        let admission = Admission::new(limit, self.node.clone(), node_limit, retry);
        map.insert(key, (addr.clone(), admission.clone()));
        (addr, admission)
    }

    fn count(&self) -> usize {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.values().filter(|(a, _)| a.connected()).count()
    }
}

pub struct Registry {
    deps: EntityDeps,
    chats: Live<ChatRoomId, ChatRoom>,
    queues: Live<ClinicId, WaitingQueue>,
    agendas: Live<ClinicId, ClinicAgenda>,
    consults: Live<uuid::Uuid, ConsultSession>,
}

impl Registry {
    pub fn new(deps: EntityDeps) -> Self {
        let c = &deps.chat;
        let chat = (
            c.max_waiting_per_room,
            c.max_waiting_per_node,
            c.overload_retry_ms,
        );
        // Only chat sends are bounded today; the others' limits are never reached.
        let unbounded = (usize::MAX, usize::MAX, 0);
        Self {
            chats: Live::new("chat", chat),
            queues: Live::new("queue", unbounded),
            agendas: Live::new("agenda", unbounded),
            consults: Live::new("consult", unbounded),
            deps,
        }
    }

    /// The live actor of a chat room, started if needed.
    pub fn chat(&self, id: ChatRoomId) -> Addr<ChatRoom> {
        self.chats.get(id, || ChatRoom::new(id, self.deps.clone()))
    }

    /// The live chat room with a place in its queue of sends, or `overloaded` when the
    /// room (or this node's chat) already has `chat.max_waiting_per_room`
    /// (`max_waiting_per_node`) sends waiting.
    pub fn chat_admitted(&self, id: ChatRoomId) -> Result<(Addr<ChatRoom>, Admitted), WsError> {
        let (addr, admission) = self
            .chats
            .entry(id, || ChatRoom::new(id, self.deps.clone()));
        Ok((addr, admission.enter()?))
    }

    /// The live waiting-room actor of a clinic, started if needed.
    pub fn queue(&self, clinic: ClinicId) -> Addr<WaitingQueue> {
        self.queues
            .get(clinic, || WaitingQueue::new(clinic, self.deps.clone()))
    }

    /// The live agenda actor of a clinic, started if needed.
    pub fn agenda(&self, clinic: ClinicId) -> Addr<ClinicAgenda> {
        self.agendas
            .get(clinic, || ClinicAgenda::new(clinic, self.deps.clone()))
    }

    /// The live session actor of a teleconsultation (by appointment), started if needed.
    /// What entity actors are built with (for work on many entities at once).
    pub fn deps(&self) -> &EntityDeps {
        &self.deps
    }

    pub fn consult(&self, appointment: uuid::Uuid) -> Addr<ConsultSession> {
        self.consults.get(appointment, || {
            ConsultSession::new(appointment, self.deps.clone())
        })
    }

    /// Live chat actors (for metrics and tests).
    pub fn live_chats(&self) -> usize {
        self.chats.count()
    }

    /// Live waiting-room actors (for tests).
    pub fn live_queues(&self) -> usize {
        self.queues.count()
    }
}
