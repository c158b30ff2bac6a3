//! Anchoring the audit chain: each node appends the chain's head to the anchor file every
//! `audit.anchor_interval_secs` and when it shuts down, so that removing the newest rows of
//! the log (truncation) is detected by `atende audit verify`.
//!
//! With several nodes on one PostgreSQL database every node anchors what it observes, to
//! its own file or to a shared one (each line names its node); verification accepts every
//! anchor whose row exists with the anchored MAC, whichever node wrote it.

use std::time::Duration;

use tokio::sync::Mutex;

use crate::security::audit::{Anchor, AnchorLog};
use crate::store::Store;
use crate::store::audit::AnchorError;

/// This node's anchor writer.
pub struct AuditAnchorer {
    log: AnchorLog,
    node: String,
    /// The last head this node anchored: an idle log is not anchored again and again.
    last: Mutex<Option<Anchor>>,
}

impl AuditAnchorer {
    pub fn new(log: AnchorLog, node: impl Into<String>) -> Self {
        Self {
            log,
            node: node.into(),
            last: Mutex::new(None),
        }
    }

    pub fn log(&self) -> &AnchorLog {
        &self.log
    }

    /// Anchor the current head now, unless this node already anchored it.
    pub async fn anchor_now(&self, store: &Store) -> Result<Option<Anchor>, AnchorError> {
        let mut last = self.last.lock().await;
        let anchor = store
            .anchor_audit_head(&self.log, &self.node, last.as_ref())
            .await?;
        if let Some(a) = &anchor {
            *last = Some(a.clone());
        }
        Ok(anchor)
    }

    /// Anchor every `every` for as long as the process runs.
    pub fn spawn_periodic(self: std::sync::Arc<Self>, store: Store, every: Duration) {
        actix_web::rt::spawn(async move {
            // The first anchor one interval after start (the shutdown one covers restarts).
            let first = tokio::time::Instant::now() + every;
            let mut tick = tokio::time::interval_at(first, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.anchor_now(&store).await {
                    Ok(Some(a)) => tracing::debug!(seq = a.seq, "audit head anchored"),
                    Ok(None) => {}
                    Err(e) => {
                        metrics::counter!("atende_audit_anchor_failures_total").increment(1);
                        tracing::warn!(error = %e, "audit anchoring failed");
                    }
                }
            }
        });
    }
}
