//! Redis pub/sub engine. One channel carries every event as JSON; each node's subscriber
//! task hands them to its hub, which delivers only to topics someone joined there.
//! Publishing goes through one task so a node's events leave in the order it published them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::{BusHealth, EventBus, EventSink, TopicEvent};

/// The channel all nodes share.
pub const CHANNEL: &str = "atende:events";

pub struct RedisBus {
    tx: mpsc::UnboundedSender<String>,
    /// Whether Redis is reachable; while not, events go to this node's hub directly and the
    /// fallback poller reads other nodes' events from the database.
    health: Arc<BusHealth>,
    hub: Arc<dyn EventSink>,
}

impl RedisBus {
    /// Connect (failing fast if Redis is unreachable at start), then run the publisher and
    /// subscriber tasks on the current runtime. Both reconnect on their own afterwards.
    pub async fn start(url: &str, hub: Arc<dyn EventSink>) -> anyhow::Result<Self> {
        let health = Arc::new(BusHealth::default());
        let client = ::redis::Client::open(url)?;
        let mut publisher = ::redis::aio::ConnectionManager::new(client.clone()).await?;
        // Subscribe before returning, so no event published after start-up is missed.
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        // A ping a second finds a Redis that stopped answering without closing connections.
        let mut pinger = publisher.clone();
        let watch = health.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let ping = ::redis::cmd("PING");
                let ok = matches!(
                    tokio::time::timeout(
                        Duration::from_secs(1),
                        ping.query_async::<String>(&mut pinger)
                    )
                    .await,
                    Ok(Ok(_))
                );
                if watch.answers.swap(ok, Ordering::AcqRel) != ok {
                    if ok {
                        tracing::info!("redis answers again");
                    } else {
                        tracing::warn!(
                            "redis does not answer; following other nodes through the database"
                        );
                    }
                }
            }
        });
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
        let (sub_hub, sub_health) = (hub.clone(), health.clone());
        tokio::spawn(async move {
            let (hub, health) = (sub_hub, sub_health);
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
                health.subscribed.store(false, Ordering::Release);
                tracing::warn!("following other nodes through the database until redis is back");
                pubsub = loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match client.get_async_pubsub().await {
                        Ok(mut p) => match p.subscribe(CHANNEL).await {
                            Ok(()) => {
                                health.subscribed.store(true, Ordering::Release);
                                tracing::info!(
                                    "redis subscription back; the bus carries events again"
                                );
                                break p;
                            }
                            Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
                        },
                        Err(e) => tracing::warn!(error = %e, "redis connect failed"),
                    }
                };
            }
        });
        Ok(Self { tx, health, hub })
    }

    /// Whether Redis can carry events now (shared with the fallback poller).
    pub fn health(&self) -> Arc<BusHealth> {
        self.health.clone()
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: TopicEvent) {
        if self.health.down() {
            // This node's clients get it at once; other nodes read persisted events from
            // the database until the bus is back.
            self.hub.dispatch(&event);
            return;
        }
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

    fn degraded(&self) -> bool {
        self.health.down()
    }
}
