//! Starts entity actors lazily by key, restarts them after a panic or idle stop, and
//! forgets them when they are gone.
//!
//! Supervision is explicit: an entity that panics stops itself (see
//! [`super::catch_panic`]); the next `get` finds its address disconnected and starts a
//! fresh actor, which reloads its state from the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use actix::{Actor, Addr, Context};

use super::EntityDeps;
use super::agenda::ClinicAgenda;
use super::chat::ChatRoom;
use super::consult::ConsultSession;
use super::queue::WaitingQueue;
use crate::domain::{ChatRoomId, ClinicId};

/// Live actors of one kind, by key.
struct Live<K, A: Actor> {
    kind: &'static str,
    map: Mutex<HashMap<K, Addr<A>>>,
}

impl<K: Eq + Hash + Copy, A: Actor<Context = Context<A>>> Live<K, A> {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The live actor for `key`, started with `make` if there is none (or it stopped).
    /// Must be called from within an actix arbiter (a request handler or another actor).
    fn get(&self, key: K, make: impl FnOnce() -> A) -> Addr<A> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key) {
            Some(addr) if addr.connected() => return addr.clone(),
            Some(_) => {
                metrics::counter!("atende_entity_restarts_total", "kind" => self.kind).increment(1)
            }
            None => {}
        }
        if map.len() > 1024 {
            map.retain(|_, a| a.connected());
        }
        let addr = make().start();
        map.insert(key, addr.clone());
        addr
    }

    fn count(&self) -> usize {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.values().filter(|a| a.connected()).count()
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
        Self {
            deps,
            chats: Live::new("chat"),
            queues: Live::new("queue"),
            agendas: Live::new("agenda"),
            consults: Live::new("consult"),
        }
    }

    /// The live actor of a chat room, started if needed.
    pub fn chat(&self, id: ChatRoomId) -> Addr<ChatRoom> {
        self.chats.get(id, || ChatRoom::new(id, self.deps.clone()))
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
