//! The event bus: one trait, two engines.
//!
//! - [`LocalBus`] (default): a publish goes straight to this node's [`EventSink`] (the hub).
//! - [`redis::RedisBus`] (`REDIS_URL` set): a publish goes to a Redis pub/sub channel that
//!   every node subscribes to, so any node can serve any client. Its own events come back
//!   through Redis too, so every node sees one order.
//!
//! Persisted events carry a `seq` allocated in the database; the bus is only the fast path.
//! A session that sees a gap (an event lost on the bus, a reconnect to Redis) fills it from
//! the database, so correctness never depends on the bus.

pub mod fallback;
pub mod redis;
pub mod revocation;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

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
    /// Whether the engine is down and the node is polling the database instead (health).
    fn degraded(&self) -> bool {
        false
    }
}

/// Where a node's bus hands the events it receives: this node's hub (`actors::hub::Hub`),
/// which delivers each to the connections subscribed to its topic. A trait so the bus,
/// below the actors, never names them.
pub trait EventSink: Send + Sync {
    fn dispatch(&self, event: &TopicEvent);
    /// The persisted topics someone on this node follows, each with the last seq they have:
    /// what the fallback poller reads from the database while the bus is down.
    fn watched(&self) -> Vec<(String, i64)> {
        Vec::new()
    }
}

/// Whether a networked bus can carry events now: its server answers pings and this node's
/// subscription is live. While it cannot, the node is degraded (see `fallback`).
#[derive(Debug)]
pub struct BusHealth {
    pub answers: std::sync::atomic::AtomicBool,
    pub subscribed: std::sync::atomic::AtomicBool,
}

impl Default for BusHealth {
    fn default() -> Self {
        Self {
            answers: true.into(),
            subscribed: true.into(),
        }
    }
}

impl BusHealth {
    pub fn down(&self) -> bool {
        use std::sync::atomic::Ordering::Acquire;
        !(self.answers.load(Acquire) && self.subscribed.load(Acquire))
    }
}

/// Single-node engine: delivers in-process.
pub struct LocalBus {
    hub: Arc<dyn EventSink>,
}

impl LocalBus {
    pub fn new(hub: Arc<dyn EventSink>) -> Self {
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
