//! This node's fan-out point: which connection listens to which topic, and who is present.
//!
//! Not an actor on purpose: delivery is a read-locked map lookup followed by `do_send` to
//! each subscribed session, and any thread (the bus subscriber, an entity actor) may call
//! it. Every push frame is serialized once and shared by all its recipients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use actix::{Message, Recipient};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::bus::{EventSink, TopicEvent};
use crate::domain::UserId;
use crate::sync::lock;

/// Identifies one WebSocket connection on this node.
pub type ConnId = u64;

/// Sessions listening to each topic.
type Subscribers = HashMap<Arc<str>, HashMap<ConnId, Subscriber>>;

/// What a connection's writer sends on the socket.
pub enum Outgoing {
    Text(ByteString),
    Ping,
    Pong(actix_web::web::Bytes),
}

/// Delivery state of one topic on one connection, shared by the session actor and the
/// hub's fast path: the last seq delivered, and while catching up from the database the
/// pushes waiting their turn.
#[derive(Default)]
pub struct Cursor {
    pub last_seq: i64,
    pub pending: Option<Vec<Deliver>>,
}

pub type SharedCursor = Arc<Mutex<Cursor>>;

/// One connection's subscription to a topic.
///
/// The common case — the next seq, nothing pending — is handled right here: the frame goes
/// straight into the connection's outbound queue without waking its actor. Anything else
/// (a gap to fill from the database, a catch-up in progress, an internal topic) goes to the
/// actor as a [`Deliver`]. The cursor lock orders the two paths.
#[derive(Clone)]
pub struct Subscriber {
    pub cursor: SharedCursor,
    pub out: mpsc::Sender<Outgoing>,
    pub actor: Recipient<Deliver>,
    pub overflow: Recipient<Overflow>,
    /// False for internal topics whose events are for the actor, not the client.
    pub direct: bool,
}

/// The connection's outbound queue is full: it is a slow consumer.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Overflow;

/// A push for one session: the already-serialized frame and what the session needs to
/// keep its per-topic order (the seq).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver {
    pub topic: Arc<str>,
    pub seq: Option<i64>,
    pub frame: ByteString,
}

/// Ask a session to close (graceful shutdown, admin action).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct CloseSession {
    pub code: u16,
    pub reason: &'static str,
}

/// Someone online on a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceEntry {
    /// `<node>:<user>`: one entry per user per node, however many tabs they have open.
    pub key: String,
    pub user_id: UserId,
    pub name: String,
    /// `patient`, `professional`, `receptionist`, `clinic_admin`.
    pub role: String,
}

pub const PRESENCE_JOIN: &str = "presence.join";
pub const PRESENCE_LEAVE: &str = "presence.leave";

#[derive(Default)]
pub struct Hub {
    node_id: String,
    subs: RwLock<Subscribers>,
    conns: Mutex<HashMap<ConnId, Recipient<CloseSession>>>,
    presence: Mutex<HashMap<String, HashMap<String, PresenceEntry>>>,
    /// Connections per (topic, user) on this node: presence is announced when the first
    /// joins and withdrawn when the last leaves, so a broadcast topic with thousands of
    /// connections of few users does not turn every join into a broadcast.
    local_presence: Mutex<HashMap<(String, UserId), usize>>,
    next_conn: std::sync::atomic::AtomicU64,
}

impl EventSink for Hub {
    fn dispatch(&self, event: &TopicEvent) {
        self.deliver(event);
    }

    /// Each topic someone here follows directly (not the internal `session:` ones), with the
    /// highest seq any of its connections has.
    fn watched(&self) -> Vec<(String, i64)> {
        let subs = self.subs.read().unwrap_or_else(|e| e.into_inner());
        subs.iter()
            .filter(|(_, listeners)| listeners.values().any(|s| s.direct))
            .map(|(topic, listeners)| {
                let seq = listeners
                    .values()
                    .map(|s| lock(&s.cursor).last_seq)
                    .max()
                    .unwrap_or(0);
                (topic.to_string(), seq)
            })
            .collect()
    }
}

impl Hub {
    pub fn new(node_id: String) -> Self {
        Self {
            node_id,
            ..Default::default()
        }
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Register a new connection; returns its id.
    pub fn register(&self, close: Recipient<CloseSession>) -> ConnId {
        let id = self
            .next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        lock(&self.conns).insert(id, close);
        metrics::gauge!("atende_ws_connections").increment(1.0);
        id
    }

    pub fn deregister(&self, conn: ConnId) {
        if lock(&self.conns).remove(&conn).is_some() {
            metrics::gauge!("atende_ws_connections").decrement(1.0);
        }
        let mut subs = self.subs.write().unwrap_or_else(|e| e.into_inner());
        subs.retain(|_, m| {
            m.remove(&conn);
            !m.is_empty()
        });
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.conns).len()
    }

    pub fn subscribe(&self, topic: Arc<str>, conn: ConnId, to: Subscriber) {
        let mut subs = self.subs.write().unwrap_or_else(|e| e.into_inner());
        subs.entry(topic).or_default().insert(conn, to);
    }

    pub fn unsubscribe(&self, topic: &str, conn: ConnId) {
        let mut subs = self.subs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = subs.get_mut(topic) {
            m.remove(&conn);
            if m.is_empty() {
                subs.remove(topic);
            }
        }
    }

    /// Deliver an event from the bus to this node's subscribers of its topic.
    fn deliver(&self, ev: &TopicEvent) {
        if ev.event == PRESENCE_JOIN || ev.event == PRESENCE_LEAVE {
            self.track_presence(ev);
        }
        let subs = self.subs.read().unwrap_or_else(|e| e.into_inner());
        let Some((topic, listeners)) = subs.get_key_value(ev.topic.as_str()) else {
            return;
        };
        let frame = match serde_json::to_string(ev) {
            Ok(s) => ByteString::from(s),
            Err(_) => return,
        };
        for sub in listeners.values() {
            let fast = sub.direct && {
                let mut c = lock(&sub.cursor);
                match ev.seq {
                    None => true,
                    Some(_) if c.pending.is_some() => false,
                    Some(s) if s <= c.last_seq => continue,
                    Some(s) if s == c.last_seq + 1 => {
                        // Sent under the lock, so the actor's catch-up sends cannot interleave.
                        c.last_seq = s;
                        if let Err(mpsc::error::TrySendError::Full(_)) =
                            sub.out.try_send(Outgoing::Text(frame.clone()))
                        {
                            sub.overflow.do_send(Overflow);
                        }
                        continue;
                    }
                    Some(_) => false,
                }
            };
            if fast {
                if let Err(mpsc::error::TrySendError::Full(_)) =
                    sub.out.try_send(Outgoing::Text(frame.clone()))
                {
                    sub.overflow.do_send(Overflow);
                }
            } else {
                sub.actor.do_send(Deliver {
                    topic: topic.clone(),
                    seq: ev.seq,
                    frame: frame.clone(),
                });
            }
        }
        metrics::counter!("atende_ws_deliveries_total").increment(listeners.len() as u64);
    }

    fn track_presence(&self, ev: &TopicEvent) {
        let Ok(entry) = serde_json::from_value::<PresenceEntry>(ev.payload.clone()) else {
            return;
        };
        let mut p = lock(&self.presence);
        if ev.event == PRESENCE_JOIN {
            p.entry(ev.topic.clone())
                .or_default()
                .insert(entry.key.clone(), entry);
        } else if let Some(m) = p.get_mut(&ev.topic) {
            m.remove(&entry.key);
            if m.is_empty() {
                p.remove(&ev.topic);
            }
        }
    }

    /// Count a connection of `user` on `topic`; true when it is the user's first here.
    pub fn presence_local_join(&self, topic: &str, user: UserId) -> bool {
        let mut m = lock(&self.local_presence);
        let n = m.entry((topic.to_string(), user)).or_insert(0);
        *n += 1;
        *n == 1
    }

    /// Topics starting with `prefix` that someone on this node is connected to.
    pub fn local_topics(&self, prefix: &str) -> Vec<String> {
        let m = lock(&self.local_presence);
        let mut topics: Vec<String> = m
            .keys()
            .filter(|(t, _)| t.starts_with(prefix))
            .map(|(t, _)| t.clone())
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }

    /// Uncount a connection; true when it was the user's last one on this node.
    pub fn presence_local_leave(&self, topic: &str, user: UserId) -> bool {
        let mut m = lock(&self.local_presence);
        let key = (topic.to_string(), user);
        match m.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                m.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Who is on a topic, one entry per user.
    pub fn presence(&self, topic: &str) -> Vec<PresenceEntry> {
        let p = lock(&self.presence);
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<PresenceEntry> = p
            .get(topic)
            .map(|m| {
                m.values()
                    .filter(|e| seen.insert(e.user_id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Ask every connection on this node to close (graceful shutdown: 1012).
    pub fn close_all(&self, code: u16, reason: &'static str) -> usize {
        let conns: Vec<Recipient<CloseSession>> = lock(&self.conns).values().cloned().collect();
        for c in &conns {
            c.do_send(CloseSession { code, reason });
        }
        conns.len()
    }
}
