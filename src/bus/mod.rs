//! The event bus: one trait, two engines.
//!
//! - [`LocalBus`] (default): a publish goes straight to this node's [`Hub`].
//! - [`redis::RedisBus`] (`REDIS_URL` set): a publish goes to a Redis pub/sub channel that
//!   every node subscribes to, so any node can serve any client. Its own events come back
//!   through Redis too, so every node sees one order.
//!
//! Persisted events carry a `seq` allocated in the database; the bus is only the fast path.
//! A session that sees a gap (an event lost on the bus, a reconnect to Redis) fills it from
//! the database, so correctness never depends on the bus.

pub mod redis;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::actors::hub::Hub;

/// An event on a topic: the push frame clients receive, and what travels between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicEvent {
    pub topic: String,
    pub event: String,
    /// Per-topic sequence number from the database; absent for ephemeral events
    /// (presence, typing) that are never replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    pub payload: serde_json::Value,
}

/// Publishes events to every node's hub.
pub trait EventBus: Send + Sync {
    fn publish(&self, event: TopicEvent);
    /// `local` or `redis`, for logs and health.
    fn engine(&self) -> &'static str;
}

/// Single-node engine: delivers in-process.
pub struct LocalBus {
    hub: Arc<Hub>,
}

impl LocalBus {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

impl EventBus for LocalBus {
    fn publish(&self, event: TopicEvent) {
        self.hub.dispatch(&event);
    }

    fn engine(&self) -> &'static str {
        "local"
    }
}
