//! Starts entity actors lazily by key, restarts them after a panic or idle stop, and
//! forgets them when they are gone.
//!
//! Supervision is explicit: an entity that panics stops itself (see
//! [`super::catch_panic`]); the next `get` finds its address disconnected and starts a
//! fresh actor, which reloads its state from the database.

use std::collections::HashMap;
use std::sync::Mutex;

use actix::{Actor, Addr};

use super::EntityDeps;
use super::chat::ChatRoom;
use super::queue::WaitingQueue;
use crate::domain::{ChatRoomId, ClinicId};

pub struct Registry {
    deps: EntityDeps,
    chats: Mutex<HashMap<ChatRoomId, Addr<ChatRoom>>>,
    queues: Mutex<HashMap<ClinicId, Addr<WaitingQueue>>>,
}

impl Registry {
    pub fn new(deps: EntityDeps) -> Self {
        Self {
            deps,
            chats: Mutex::new(HashMap::new()),
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// The live actor of a chat room, started if needed. Must be called from within an
    /// actix arbiter (a request handler or another actor).
    pub fn chat(&self, id: ChatRoomId) -> Addr<ChatRoom> {
        let mut map = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&id) {
            Some(addr) if addr.connected() => return addr.clone(),
            Some(_) => {
                metrics::counter!("atende_entity_restarts_total", "kind" => "chat").increment(1)
            }
            None => {}
        }
        if map.len() > 1024 {
            map.retain(|_, a| a.connected());
        }
        let addr = ChatRoom::new(id, self.deps.clone()).start();
        map.insert(id, addr.clone());
        addr
    }

    /// The live waiting-room actor of a clinic, started if needed.
    pub fn queue(&self, clinic: ClinicId) -> Addr<WaitingQueue> {
        let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&clinic) {
            Some(addr) if addr.connected() => return addr.clone(),
            Some(_) => {
                metrics::counter!("atende_entity_restarts_total", "kind" => "queue").increment(1)
            }
            None => {}
        }
        let addr = WaitingQueue::new(clinic, self.deps.clone()).start();
        map.insert(clinic, addr.clone());
        addr
    }

    /// Live chat actors (for metrics and tests).
    pub fn live_chats(&self) -> usize {
        let map = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        map.values().filter(|a| a.connected()).count()
    }
}
