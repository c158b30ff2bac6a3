//! Long-lived actors: one per live thing (chat room; agenda, queue and consultation to
//! come), one per WebSocket connection, and the registry that starts, supervises and
//! retires the entity actors.
//!
//! Every state change goes: validate → write in one database transaction (including the
//! topic event with its seq) → publish on the bus after commit. An actor never holds the
//! only copy of anything.

pub mod agenda;
pub mod chat;
pub mod consult;
pub mod hub;
pub mod protocol;
pub mod queue;
pub mod registry;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix::prelude::*;
use futures_util::FutureExt as _;

use crate::bus::{EventBus, TopicEvent};
use crate::security::crypto::FieldCipher;
use crate::store::{Store, Tx};
use protocol::WsError;

/// What entity actors need: storage, encryption, the bus. (Deliberately not the whole
/// `AppState`, which would make a reference cycle through the registry.)
#[derive(Clone)]
pub struct EntityDeps {
    pub store: Store,
    pub cipher: FieldCipher,
    pub bus: Arc<dyn EventBus>,
    pub idle: std::time::Duration,
    pub chat: crate::config::ChatSettings,
    pub agenda: crate::config::AgendaSettings,
    /// Signs the one-click links put in outgoing messages.
    pub links: crate::security::links::LinkSigner,
    /// Whether teleconsultations may (or must) use the media relay.
    pub relay: crate::config::RelayMode,
    /// This node's media relay (a call that ends closes its relayed connections here).
    pub media: Arc<crate::media::Media>,
    /// The application's clock (a test moves it; see [`crate::clock`]).
    pub clock: crate::clock::SharedClock,
}

/// A bound on the work waiting for one entity actor (and on all of a node's): past it a
/// sender is refused at once with `overloaded` and a retry hint, instead of joining a queue
/// that only grows while the actor (or the database) is saturated. Nothing is half done: a
/// refused request did nothing, an admitted one runs to the end.
#[derive(Clone)]
pub struct Admission {
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    limit: usize,
    node: Arc<std::sync::atomic::AtomicUsize>,
    node_limit: usize,
    retry_after_ms: u64,
}

/// A place in an [`Admission`]'s queue; given back when dropped.
pub struct Admitted {
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    node: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::AcqRel;
        self.waiting.fetch_sub(1, AcqRel);
        self.node.fetch_sub(1, AcqRel);
    }
}

impl Admission {
    pub fn new(
        limit: usize,
        node: Arc<std::sync::atomic::AtomicUsize>,
        node_limit: usize,
        retry_after_ms: u64,
    ) -> Self {
        Self {
            waiting: Arc::default(),
            limit,
            node,
            node_limit,
            retry_after_ms,
        }
    }

    /// Take a place, or be told to come back later.
    pub fn enter(&self) -> Result<Admitted, WsError> {
        use std::sync::atomic::Ordering::AcqRel;
        let here = self.waiting.fetch_add(1, AcqRel);
        let all = self.node.fetch_add(1, AcqRel);
        let admitted = Admitted {
            waiting: self.waiting.clone(),
            node: self.node.clone(),
        };
        if here >= self.limit || all >= self.node_limit {
            drop(admitted);
            metrics::counter!("atende_overloaded_total").increment(1);
            return Err(WsError::overloaded(self.retry_after_ms));
        }
        Ok(admitted)
    }
}

/// Per-sender budget of stored messages in a sliding minute (chat rooms, the in-call chat).
/// `within` asks; `spend` records a message actually stored, so refused or retried sends
/// cost nothing.
pub struct SendRate<K> {
    recent: std::collections::HashMap<K, std::collections::VecDeque<std::time::Instant>>,
}

impl<K> Default for SendRate<K> {
    fn default() -> Self {
        Self {
            recent: std::collections::HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> SendRate<K> {
    /// Whether `sender` has stored fewer than `max` messages in the last minute.
    pub fn within(&mut self, sender: &K, max: u32) -> bool {
        let now = std::time::Instant::now();
        let Some(q) = self.recent.get_mut(sender) else {
            return max > 0;
        };
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(60))
        {
            q.pop_front();
        }
        (q.len() as u32) < max
    }

    pub fn spend(&mut self, sender: K) {
        self.recent
            .entry(sender)
            .or_default()
            .push_back(std::time::Instant::now());
    }
}

/// A clinic's time zone for an entity actor: the cached one, or loaded from the database.
pub(crate) async fn clinic_tz(
    deps: &EntityDeps,
    clinic: crate::domain::ClinicId,
    cached: Option<chrono_tz::Tz>,
) -> Result<chrono_tz::Tz, WsError> {
    if let Some(tz) = cached {
        return Ok(tz);
    }
    let row = deps
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or_else(|| WsError::not_found("clínica não encontrada"))?;
    Ok(row.tz())
}

/// Allocate the topic's next seq and store the event inside `tx`; publish the returned
/// event after the transaction commits.
pub async fn persist_event(
    deps: &EntityDeps,
    tx: &mut Tx,
    topic: &str,
    event: &str,
    payload: serde_json::Value,
) -> Result<TopicEvent, WsError> {
    let seq = deps.store.next_topic_seq(tx, topic).await?;
    let payload_enc = deps.cipher.encrypt(&payload.to_string()).map_err(|e| {
        tracing::error!(error = %e, "cannot encrypt event payload");
        WsError::internal()
    })?;
    deps.store
        .insert_topic_event(tx, topic, seq, event, &payload_enc)
        .await?;
    Ok(TopicEvent {
        topic: topic.to_string(),
        event: event.to_string(),
        seq: Some(seq),
        payload,
    })
}

/// Run an entity's work and turn a panic inside it into an `internal_error` reply plus a
/// `true` flag, so the actor can stop itself and the registry restarts it fresh (state
/// reloaded from the database) on next use.
pub async fn catch_panic<T>(
    fut: impl Future<Output = Result<T, WsError>>,
) -> (Result<T, WsError>, bool) {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => (r, false),
        Err(panic) => {
            let what = panic_message(panic.as_ref());
            tracing::error!(panic = %what, "entity actor panicked; it will be restarted");
            metrics::counter!("atende_entity_panics_total").increment(1);
            (Err(WsError::internal()), true)
        }
    }
}

/// The message a panic carried, if it was a string.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// What an entity actor (chat room, waiting queue, …) tells the shared supervision code.
pub trait Entity: Actor<Context = Context<Self>> {
    /// State the actor keeps from one piece of work to the next (reloaded after a restart).
    type Cache: 'static;
    fn deps(&self) -> &EntityDeps;
    /// When the actor last did work (for the idle stop).
    fn last_active(&mut self) -> &mut std::time::Instant;
    /// Keep what a successful piece of work loaded.
    fn remember(&mut self, cache: Self::Cache);
    /// Drop cached state after a panic.
    fn forget(&mut self);
    /// Called for each event of a successful piece of work, just before it is published.
    fn before_publish(&mut self, _event: &TopicEvent) {}
}

/// Run an entity's work exclusively (one at a time per actor). On success, remember its
/// cache and publish its events — after its transaction committed; on a panic, forget the
/// cache and stop, so the registry starts a fresh actor on next use.
pub fn supervised<A: Entity, T: 'static>(
    act: &mut A,
    work: impl Future<Output = Result<(A::Cache, T, Vec<TopicEvent>), WsError>> + 'static,
) -> AtomicResponse<A, Result<T, WsError>> {
    *act.last_active() = std::time::Instant::now();
    let bus = act.deps().bus.clone();
    AtomicResponse::new(Box::pin(catch_panic(work).into_actor(act).map(
        move |(result, panicked), act, ctx| {
            if panicked {
                act.forget();
                ctx.stop();
            }
            result.map(|(cache, value, events)| {
                act.remember(cache);
                for ev in events {
                    act.before_publish(&ev);
                    bus.publish(ev);
                }
                value
            })
        },
    )))
}

/// Stop the actor once it has been idle for `deps.idle` (checked at most once a minute).
pub fn stop_when_idle<A: Entity>(act: &A, ctx: &mut Context<A>) {
    let idle = act.deps().idle;
    ctx.run_interval(
        idle.min(std::time::Duration::from_secs(60))
            .max(std::time::Duration::from_millis(100)),
        move |act, ctx| {
            if act.last_active().elapsed() >= idle {
                ctx.stop();
            }
        },
    );
}
