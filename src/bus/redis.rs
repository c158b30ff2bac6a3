//! Redis pub/sub engine. One channel carries every event as JSON; each node's subscriber
//! task hands them to its hub, which delivers only to topics someone joined there.
//! Publishing goes through one task so a node's events leave in the order it published them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::{EventBus, EventSink, TopicEvent};

/// The channel all nodes share.
pub const CHANNEL: &str = "atende:events";

pub struct RedisBus {
    tx: mpsc::UnboundedSender<String>,
}

impl RedisBus {
    /// Connect (failing fast if Redis is unreachable at start), then run the publisher and
    /// subscriber tasks on the current runtime. Both reconnect on their own afterwards.
    pub async fn start(url: &str, hub: Arc<dyn EventSink>) -> anyhow::Result<Self> {
        let client = ::redis::Client::open(url)?;
        let mut publisher = ::redis::aio::ConnectionManager::new(client.clone()).await?;
        // Subscribe before returning, so no event published after start-up is missed.
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                let mut attempt = 0u32;
                loop {
                    let r: Result<i64, _> = ::redis::cmd("PUBLISH")
                        .arg(CHANNEL)
                        .arg(&msg)
                        .query_async(&mut publisher)
                        .await;
                    match r {
                        Ok(_) => break,
                        Err(e) if attempt < 5 => {
                            attempt += 1;
                            tracing::warn!(error = %e, attempt, "redis publish failed; retrying");
                            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt)))
                                .await;
                        }
                        Err(e) => {
                            // Subscribers will fill the gap from the database on the next event.
                            tracing::error!(error = %e, "redis publish failed; event left to database resume");
                            break;
                        }
                    }
                }
            }
        });
        tokio::spawn(async move {
            loop {
                {
                    let mut stream = pubsub.on_message();
                    while let Some(msg) = stream.next().await {
                        let Ok(text) = msg.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<TopicEvent>(&text) {
                            Ok(ev) => hub.dispatch(&ev),
                            Err(e) => tracing::warn!(error = %e, "ignoring malformed bus message"),
                        }
                    }
                }
                tracing::warn!("redis subscription ended; reconnecting");
                pubsub = loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match client.get_async_pubsub().await {
                        Ok(mut p) => match p.subscribe(CHANNEL).await {
                            Ok(()) => break p,
                            Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
                        },
                        Err(e) => tracing::warn!(error = %e, "redis connect failed"),
                    }
                };
            }
        });
        Ok(Self { tx })
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: TopicEvent) {
        match serde_json::to_string(&event) {
            Ok(text) => {
                let _ = self.tx.send(text);
            }
            Err(e) => tracing::error!(error = %e, "cannot encode event"),
        }
    }

    fn engine(&self) -> &'static str {
        "redis"
    }
}
