//! When Redis is down: each node keeps its own clients live by reading the persisted events
//! of the topics they follow from the database, every `redis.fallback_poll_ms`, until the
//! bus is back. Ordering and duplicates are the sessions' business (they deliver each seq
//! once, in order, whatever path it came by). Ephemeral events (presence, typing) of other
//! nodes do not travel while the bus is down.

use std::sync::Arc;
use std::time::Duration;

use super::{BusHealth, EventSink, TopicEvent};
use crate::security::crypto::FieldCipher;
use crate::store::Store;

/// Most events read per topic per poll.
const BATCH: i64 = 500;

/// Poll while the bus is down, for as long as the process runs.
pub fn spawn_poller(
    store: Store,
    cipher: FieldCipher,
    sink: Arc<dyn EventSink>,
    health: Arc<BusHealth>,
    every: Duration,
) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if !health.down() {
                continue;
            }
            metrics::counter!("atende_bus_fallback_polls_total").increment(1);
            for (topic, after) in sink.watched() {
                let rows = match store.topic_events(&topic, after, i64::MAX, BATCH).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "fallback poll failed");
                        break;
                    }
                };
                for row in rows {
                    let payload = match cipher.decrypt(&row.payload_enc) {
                        Ok(p) => serde_json::from_str(&p).unwrap_or(serde_json::Value::Null),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot decrypt a stored event");
                            serde_json::Value::Null
                        }
                    };
                    sink.dispatch(&TopicEvent {
                        topic: topic.clone(),
                        event: row.event,
                        seq: Some(row.seq),
                        payload,
                    });
                }
            }
        }
    });
}
