//! The audit log table: append under a lock that serializes the chain, read back in order.

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::security::audit::{
    Anchor, AnchorLog, AuditEvent, AuditRow, ChainReport, ChainWalk, GENESIS_HASH, chain_hash,
};

/// Arbitrary constant naming the PostgreSQL advisory lock that serializes audit appends.
const AUDIT_LOCK_KEY: i64 = 0x0061_7465_6e64_6501;

/// The newest row of the chain, as the next append needs it.
type Head = (i64, String, Option<String>);

impl Store {
    /// Append one event to the chain inside the caller's transaction, so the audit row
    /// commits or rolls back with the change it describes.
    pub async fn append_audit(&self, tx: &mut Tx, event: &AuditEvent) -> Result<i64, StoreError> {
        let head = self.lock_audit_head(tx).await?;
        self.insert_audit(tx, head, event).await
    }

    /// Take the chain's append lock (SQLite: the transaction's own write lock; PostgreSQL:
    /// a transaction-scoped advisory lock, so appends from every node are serialized) and
    /// read the newest row.
    async fn lock_audit_head(&self, tx: &mut Tx) -> Result<Option<Head>, StoreError> {
        let head: Option<Head> = match tx {
            // SQLite write transactions are BEGIN IMMEDIATE: already serialized.
            Tx::Sqlite(crate::store::SqliteTx { tx: t, .. }) => {
                sqlx::query_as("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK_KEY)
                    .execute(&mut **t)
                    .await?;
                sqlx::query_as("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **t)
                    .await?
            }
        };
        Ok(head)
    }

    /// Insert `event` after `head`, sealed with the active audit key.
    async fn insert_audit(
        &self,
        tx: &mut Tx,
        head: Option<Head>,
        event: &AuditEvent,
    ) -> Result<i64, StoreError> {
        let keys = self.audit_keys().ok_or(StoreError::NoAuditKey)?;
        let at = super::now();
        let (prev_seq, prev_hash, prev_mac) = head.unwrap_or((0, GENESIS_HASH.to_string(), None));
        let seq = prev_seq + 1;
        let mut row = AuditRow {
            seq,
            at,
            actor_user_id: event.actor,
            action: event.action.to_string(),
            entity: event.entity.to_string(),
            entity_id: event.entity_id.clone(),
            clinic_id: event.clinic,
            ip: event.ip.clone(),
            details: event.details.to_string(),
            prev_hash,
            hash: String::new(),
            mac: None,
        };
        row.hash = chain_hash(&row);
        let mac = keys.seal_row(prev_mac.as_deref(), &row);
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor_user_id, action, entity, entity_id, clinic_id, ip,
                                        details, prev_hash, hash, mac)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(row.seq)
            .bind(row.at)
            .bind(row.actor_user_id)
            .bind(&row.action)
            .bind(&row.entity)
            .bind(&row.entity_id)
            .bind(row.clinic_id)
            .bind(&row.ip)
            .bind(&row.details)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .bind(&mac)
            .execute(&mut **t)
            .await?;
        });
        Ok(seq)
    }

    /// Append one event in a transaction of its own (reads, and actions that change
    /// nothing else in the database).
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let seq = self.append_audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// If the newest row predates the audit key (no MAC), append an `audit.keyed` row that
    /// seals the legacy prefix: it covers the last legacy row's hash, so rewriting any
    /// legacy row from now on breaks it. Returns the legacy row count when it sealed.
    /// Several nodes starting at once seal once (the check runs under the append lock).
    pub async fn seal_legacy_audit(&self) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let head = self.lock_audit_head(&mut tx).await?;
        let legacy_rows = match &head {
            Some((seq, _, None)) => *seq,
            _ => return Ok(None),
        };
        let event = AuditEvent::new(None, "audit.keyed", "audit_log")
            .details(serde_json::json!({ "legacy_rows": legacy_rows }));
        self.insert_audit(&mut tx, head, &event).await?;
        tx.commit().await?;
        Ok(Some(legacy_rows))
    }

    /// When the sign-up requests from `ip` since `since` happened (their
    /// `auth.signup_requested` rows), oldest first, at most `limit`.
    pub async fn signups_from_since(
        &self,
        ip: &str,
        since: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<chrono::DateTime<chrono::Utc>>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar(
                "SELECT at FROM audit_log
                 WHERE action = 'auth.signup_requested' AND ip = $1 AND at > $2
                 ORDER BY at LIMIT $3",
            )
            .bind(ip)
            .bind(since)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Audit rows with `seq > after`, in order, at most `limit`.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT seq, at, actor_user_id, action, entity, entity_id, clinic_id, ip, details,
                        prev_hash, hash, mac
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Append the chain's current head to `log` as this node's observation, unless the
    /// head is `last` (already anchored) or the log is empty or unkeyed. Returns the anchor.
    pub async fn anchor_audit_head(
        &self,
        log: &AnchorLog,
        node: &str,
        last: Option<&Anchor>,
    ) -> Result<Option<Anchor>, AnchorError> {
        let keys = self.audit_keys().ok_or(StoreError::NoAuditKey)?;
        let (head, keyed_from): (Option<(i64, Option<String>)>, Option<i64>) = on_pool!(self, p => {
            let head = sqlx::query_as("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(p)
                .await?;
            let keyed_from = sqlx::query_scalar(
                "SELECT seq FROM audit_log WHERE mac IS NOT NULL ORDER BY seq LIMIT 1",
            )
            .fetch_optional(p)
            .await?;
            (head, keyed_from)
        });
        let (Some((seq, Some(mac))), Some(keyed_from)) = (head, keyed_from) else {
            return Ok(None);
        };
        if last.is_some_and(|a| a.seq == seq && a.mac == mac) {
            return Ok(None);
        }
        let anchor = keys.anchor(node, super::now(), seq, &mac, keyed_from);
        let writer = log.clone();
        let line = anchor.clone();
        tokio::task::spawn_blocking(move || writer.append(&line))
            .await
            .map_err(|e| AnchorError::Io(std::io::Error::other(e)))??;
        Ok(Some(anchor))
    }

    /// Walk the audit log from the start and check every MAC, link and anchor.
    pub async fn verify_audit_chain(
        &self,
        anchors: Vec<Anchor>,
    ) -> Result<ChainReport, StoreError> {
        let keys = self.audit_keys().ok_or(StoreError::NoAuditKey)?;
        let mut walk = ChainWalk::new(keys, anchors);
        loop {
            let page = self.audit_page(walk.last_seq(), 1000).await?;
            if page.is_empty() {
                return Ok(walk.finish());
            }
            for row in page {
                if let Err(broken) = walk.check(row) {
                    return Ok(broken);
                }
            }
        }
    }
}

/// Anchoring failed: reading the head, or writing the anchor file.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot append to the audit anchor file: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for AnchorError {
    fn from(e: sqlx::Error) -> Self {
        AnchorError::Store(e.into())
    }
}
