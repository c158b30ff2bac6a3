//! Per-topic sequence numbers and the persisted event log behind resume, plus the
//! single-use WebSocket tickets.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{SessionId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub event: String,
    pub payload_enc: String,
}

impl Store {
    /// Allocate the next sequence number of `topic` inside `tx`. The row lock (PostgreSQL)
    /// or the write lock (SQLite) orders concurrent writers, so a published seq `n` implies
    /// every seq below `n` is already committed.
    pub async fn next_topic_seq(&self, tx: &mut Tx, topic: &str) -> Result<i64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO topic_seqs (topic, last_seq) VALUES ($1, 1)
                 ON CONFLICT (topic) DO UPDATE SET last_seq = topic_seqs.last_seq + 1
                 RETURNING last_seq",
            )
            .bind(topic)
            .fetch_one(&mut **t)
            .await?
        }))
    }

    pub async fn insert_topic_event(
        &self,
        tx: &mut Tx,
        topic: &str,
        seq: i64,
        event: &str,
        payload_enc: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO topic_events (topic, seq, event, payload_enc, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(topic)
            .bind(seq)
            .bind(event)
            .bind(payload_enc)
            .bind(super::now())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// The latest seq of a topic (0 when nothing was ever published).
    pub async fn topic_head(&self, topic: &str) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT last_seq FROM topic_seqs WHERE topic = $1")
                .bind(topic)
                .fetch_optional(p)
                .await?
                .unwrap_or(0)
        }))
    }

    /// Events with `after < seq <= upto`, in order, at most `limit`.
    pub async fn topic_events(
        &self,
        topic: &str,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, EventRow>(
                "SELECT seq, event, payload_enc FROM topic_events
                 WHERE topic = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
            )
            .bind(topic)
            .bind(after)
            .bind(upto)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn insert_ws_ticket(
        &self,
        ticket_hash: &str,
        user: UserId,
        session: SessionId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO ws_tickets (ticket_hash, user_id, session_id, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(ticket_hash)
            .bind(user)
            .bind(session)
            .bind(expires_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Spend a ticket: returns its user and login session if it existed, was unused and
    /// unexpired. A second use returns `None`.
    pub async fn consume_ws_ticket(
        &self,
        ticket_hash: &str,
    ) -> Result<Option<(UserId, SessionId)>, StoreError> {
        let now = super::now();
        let row: Option<(UserId, SessionId, DateTime<Utc>)> = on_pool!(self, p => {
            sqlx::query_as(
                "UPDATE ws_tickets SET used_at = $1 WHERE ticket_hash = $2 AND used_at IS NULL
                 RETURNING user_id, session_id, expires_at",
            )
            .bind(now)
            .bind(ticket_hash)
            .fetch_optional(p)
            .await?
        });
        Ok(row.filter(|(_, _, exp)| *exp > now).map(|(u, s, _)| (u, s)))
    }
}
