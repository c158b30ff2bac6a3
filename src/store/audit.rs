//! The audit log table: append under a lock that serializes the chain, read back in order.

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::security::audit::{
    AuditEvent, AuditRow, ChainReport, ChainWalk, GENESIS_HASH, chain_hash,
};

/// Arbitrary constant naming the PostgreSQL advisory lock that serializes audit appends.
const AUDIT_LOCK_KEY: i64 = 0x0061_7465_6e64_6501;

impl Store {
    /// Append one event to the chain inside the caller's transaction, so the audit row
    /// commits or rolls back with the change it describes.
    pub async fn append_audit(&self, tx: &mut Tx, event: &AuditEvent) -> Result<i64, StoreError> {
        let at = super::now();
        let last: Option<(i64, String)> = match tx {
            // SQLite write transactions are BEGIN IMMEDIATE: already serialized.
            Tx::Sqlite(crate::store::SqliteTx { tx: t, .. }) => {
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK_KEY)
                    .execute(&mut **t)
                    .await?;
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **t)
                    .await?
            }
        };
        let (prev_seq, prev_hash) = last.unwrap_or((0, GENESIS_HASH.to_string()));
        let seq = prev_seq + 1;
        let row = AuditRow {
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
        };
        let hash = chain_hash(&row);
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor_user_id, action, entity, entity_id, clinic_id, ip,
                                        details, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
            .bind(&hash)
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

    /// Audit rows with `seq > after`, in order, at most `limit`.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Walk the audit log from the start and check every link.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        let mut walk = ChainWalk::default();
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
