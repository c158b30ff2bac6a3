//! The append-only, hash-chained audit log: what gets recorded, how a row's hash is
//! computed, and how the chain is verified.
//!
//! Each row's hash is SHA-256 over a canonical JSON array of the previous row's hash and
//! every field of the row. Changing a field breaks that row's hash; deleting a row breaks
//! the sequence and the next row's `prev_hash`.

use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};

use crate::domain::{ClinicId, UserId};

/// `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something that happened, by whom, to which record, from where.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: Option<UserId>,
    /// Dotted verb, e.g. `patient.read`, `auth.login`.
    pub action: &'static str,
    /// Kind of record, e.g. `patient`.
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub clinic: Option<ClinicId>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(actor: Option<UserId>, action: &'static str, entity: &'static str) -> Self {
        Self {
            actor,
            action,
            entity,
            entity_id: None,
            clinic: None,
            ip: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn entity_id(mut self, id: impl ToString) -> Self {
        self.entity_id = Some(id.to_string());
        self
    }

    pub fn clinic(mut self, clinic: ClinicId) -> Self {
        self.clinic = Some(clinic);
        self
    }

    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// One row of the chain as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub clinic_id: Option<ClinicId>,
    pub ip: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash a row must carry, given its fields and `prev_hash` (its own `hash` is ignored).
pub fn chain_hash(row: &AuditRow) -> String {
    let canonical = serde_json::json!([
        row.prev_hash,
        row.seq,
        row.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        row.actor_user_id.map(|u| u.to_string()),
        row.action,
        row.entity,
        row.entity_id,
        row.clinic_id.map(|c| c.to_string()),
        row.ip,
        row.details,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every row checked out; `rows` rows, last hash `head`.
    Intact { rows: u64, head: String },
    /// The first row where the chain breaks, and why.
    Broken { seq: i64, reason: String },
}

/// Checks the chain one row at a time, in order (the store reads the pages).
pub struct ChainWalk {
    expected_seq: i64,
    prev_hash: String,
    rows: u64,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            rows: 0,
        }
    }
}

impl ChainWalk {
    /// The `seq` after which the next row is expected (for paging).
    pub fn last_seq(&self) -> i64 {
        self.expected_seq - 1
    }

    /// Check the next row; `Err` carries the report of the first break.
    pub fn check(&mut self, row: AuditRow) -> Result<(), ChainReport> {
        let expected_seq = self.expected_seq;
        if row.seq != expected_seq {
            return Err(ChainReport::Broken {
                seq: expected_seq,
                reason: format!(
                    "row {expected_seq} is missing (next row found is {})",
                    row.seq
                ),
            });
        }
        if row.prev_hash != self.prev_hash {
            return Err(ChainReport::Broken {
                seq: row.seq,
                reason: "prev_hash does not match the previous row's hash".into(),
            });
        }
        if chain_hash(&row) != row.hash {
            return Err(ChainReport::Broken {
                seq: row.seq,
                reason: "row content does not match its hash (changed after writing)".into(),
            });
        }
        self.prev_hash = row.hash;
        self.expected_seq += 1;
        self.rows += 1;
        Ok(())
    }

    /// Every row checked out.
    pub fn finish(self) -> ChainReport {
        ChainReport::Intact {
            rows: self.rows,
            head: self.prev_hash,
        }
    }
}
