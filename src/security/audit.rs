//! The append-only, keyed and anchored audit log: what gets recorded, how a row is sealed,
//! how the chain head is anchored outside the database, and how all of it is verified.
//!
//! Two chains run side by side over the same rows:
//! - `hash`: SHA-256 over a canonical JSON array of the previous row's hash and every field
//!   of the row. Anyone can recompute it, so it only catches accidents.
//! - `mac`: HMAC-SHA256, under an audit key the database does not hold, over the previous
//!   row's `mac` and every field of the row (its `prev_hash` included). Without the key an
//!   edited row, a deleted-and-renumbered suffix or a rehashed suffix cannot be sealed again,
//!   so verification names the first row that was touched.
//!
//! What a keyed chain cannot show by itself is its own end: dropping the newest rows leaves
//! a valid, shorter chain. So the head (`seq`, `mac`) is periodically appended, with its time
//! and its own MAC, to an append-only anchor file outside the database; verification
//! requires every anchored row to exist with the anchored MAC.
//!
//! Rows written before the audit key existed carry no `mac`. They form a prefix that is
//! checked by the SHA-256 chain only; the first keyed row covers the last legacy row's hash
//! (its `prev_hash`), so rewriting the legacy prefix afterwards breaks that first keyed row.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
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
    /// `<key id>:<hex HMAC-SHA256>`; `None` on rows written before the audit key existed.
    pub mac: Option<String>,
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

/// The audit keys, by key id: `active` seals new rows and anchors; every configured key
/// still verifies what it sealed (rotation keeps old keys configured).
#[derive(Clone)]
pub struct AuditKeys {
    active: String,
    keys: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKeys")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a set of audit keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    #[error("audit key {0:?} is not base64 of 32 bytes")]
    BadKey(String),
    #[error("no audit key configured with id {0:?}")]
    UnknownKey(String),
}

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: a row MAC can never be replayed as an anchor MAC and back.
const ROW_CONTEXT: &[u8] = b"atende-audit-row-v1\n";
const ANCHOR_CONTEXT: &[u8] = b"atende-audit-anchor-v1\n";

impl AuditKeys {
    /// `keys` maps key ids to base64-encoded 32-byte keys; `active` seals new rows.
    pub fn new<'a>(
        active: &str,
        keys: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Self, AuditKeyError> {
        let mut map = BTreeMap::new();
        for (id, b64) in keys {
            match B64.decode(b64) {
                Ok(bytes) if bytes.len() == 32 && !id.contains(':') => {
                    map.insert(id.clone(), bytes);
                }
                _ => return Err(AuditKeyError::BadKey(id.clone())),
            }
        }
        if !map.contains_key(active) {
            return Err(AuditKeyError::UnknownKey(active.to_string()));
        }
        Ok(Self {
            active: active.to_string(),
            keys: map,
        })
    }

    /// The id of the key that seals new rows.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// `<key id>:<hex HMAC>` over `context` and `message` under key `id`.
    fn tag(&self, id: &str, context: &[u8], message: &[u8]) -> Option<String> {
        let key = self.keys.get(id)?;
        let mut mac = HmacSha256::new_from_slice(key).ok()?;
        mac.update(context);
        mac.update(message);
        Some(format!("{id}:{}", hex::encode(mac.finalize().into_bytes())))
    }

    /// Check a `<key id>:<hex>` tag in constant time.
    fn check_tag(&self, tag: &str, context: &[u8], message: &[u8]) -> Result<(), TagError> {
        let (id, hex_mac) = tag.split_once(':').ok_or(TagError::Malformed)?;
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| TagError::UnknownKey(id.to_string()))?;
        let expected = hex::decode(hex_mac).map_err(|_| TagError::Malformed)?;
        let mut mac = HmacSha256::new_from_slice(key).map_err(|_| TagError::Malformed)?;
        mac.update(context);
        mac.update(message);
        mac.verify_slice(&expected).map_err(|_| TagError::Mismatch)
    }

    /// The `mac` a row must carry, sealed with the active key, given the previous row's `mac`
    /// (`None` after a legacy row or at the start).
    pub fn seal_row(&self, prev_mac: Option<&str>, row: &AuditRow) -> String {
        let message = row_mac_message(prev_mac, row);
        // The active key is in the map by construction.
        self.tag(&self.active, ROW_CONTEXT, &message)
            .unwrap_or_default()
    }

    /// Whether `row.mac` seals this row after `prev_mac`.
    fn check_row(&self, prev_mac: Option<&str>, row: &AuditRow, mac: &str) -> Result<(), TagError> {
        self.check_tag(mac, ROW_CONTEXT, &row_mac_message(prev_mac, row))
    }

    /// A new anchor of the head (`seq`, `mac`), MACed with the active key.
    pub fn anchor(
        &self,
        node: &str,
        at: DateTime<Utc>,
        seq: i64,
        mac: &str,
        keyed_from: i64,
    ) -> Anchor {
        let mut anchor = Anchor {
            node: node.to_string(),
            at,
            seq,
            mac: mac.to_string(),
            keyed_from,
            tag: String::new(),
        };
        anchor.tag = self
            .tag(&self.active, ANCHOR_CONTEXT, &anchor.message())
            .unwrap_or_default();
        anchor
    }
}

/// Why a MAC did not verify.
#[derive(Debug)]
enum TagError {
    Malformed,
    UnknownKey(String),
    Mismatch,
}

/// What a row's MAC covers: the previous row's MAC, then the same fields as its hash.
fn row_mac_message(prev_mac: Option<&str>, row: &AuditRow) -> Vec<u8> {
    serde_json::json!([
        prev_mac,
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
    ])
    .to_string()
    .into_bytes()
}

/// One observation of the chain head, as a line of the anchor file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    /// The node that wrote it (several nodes may share or keep their own files).
    pub node: String,
    pub at: DateTime<Utc>,
    /// The head row's `seq` and `mac` at `at`.
    pub seq: i64,
    pub mac: String,
    /// The first keyed row: rows from here on must carry a MAC.
    pub keyed_from: i64,
    /// `<key id>:<hex HMAC>` over the fields above.
    pub tag: String,
}

impl Anchor {
    fn message(&self) -> Vec<u8> {
        serde_json::json!([
            self.node,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.seq,
            self.mac,
            self.keyed_from,
        ])
        .to_string()
        .into_bytes()
    }
}

/// A problem with the anchor file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorProblem {
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// The append-only file of anchors: one JSON object per line.
#[derive(Debug, Clone)]
pub struct AnchorLog {
    path: PathBuf,
}

impl AnchorLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one anchor as one line (a single `write` in append mode, so lines written by
    /// several processes to the same local file do not interleave) and flush it to disk.
    pub fn append(&self, anchor: &Anchor) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(anchor).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }

    /// Every anchor of the file, each checked against its MAC. A missing file has none.
    pub fn read(&self, keys: &AuditKeys) -> std::io::Result<Result<Vec<Anchor>, AnchorProblem>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(Vec::new())),
            Err(e) => return Err(e),
        };
        let mut anchors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let problem = |reason: &str| AnchorProblem {
                path: self.path.clone(),
                line: i + 1,
                reason: reason.to_string(),
            };
            let Ok(anchor) = serde_json::from_str::<Anchor>(line) else {
                return Ok(Err(problem("not an anchor line")));
            };
            match keys.check_tag(&anchor.tag, ANCHOR_CONTEXT, &anchor.message()) {
                Ok(()) => anchors.push(anchor),
                Err(TagError::UnknownKey(id)) => {
                    return Ok(Err(problem(&format!(
                        "sealed with audit key {id:?}, which is not configured"
                    ))));
                }
                Err(_) => {
                    return Ok(Err(problem(
                        "its MAC does not match (changed, or written without the audit key)",
                    )));
                }
            }
        }
        Ok(Ok(anchors))
    }
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every row and anchor checked out; `rows` rows (`legacy` of them from before the
    /// audit key, checked by hash only), last hash `head`, `anchors` anchors matched.
    Intact {
        rows: u64,
        legacy: u64,
        head: String,
        anchors: u64,
    },
    /// The first row where the chain breaks, and why.
    Broken { seq: i64, reason: String },
}

/// Checks the chain one row at a time, in order (the store reads the pages).
pub struct ChainWalk<'k> {
    keys: &'k AuditKeys,
    expected_seq: i64,
    prev_hash: String,
    prev_mac: Option<String>,
    /// The first keyed row seen, or the lowest `keyed_from` of the anchors.
    keyed_from: Option<i64>,
    /// Anchored MACs by seq (several nodes may anchor the same head).
    anchors: BTreeMap<i64, Vec<Anchor>>,
    anchors_matched: u64,
    rows: u64,
    legacy: u64,
}

impl<'k> ChainWalk<'k> {
    pub fn new(keys: &'k AuditKeys, anchors: Vec<Anchor>) -> Self {
        let keyed_from = anchors.iter().map(|a| a.keyed_from).min();
        let mut by_seq: BTreeMap<i64, Vec<Anchor>> = BTreeMap::new();
        for a in anchors {
            by_seq.entry(a.seq).or_default().push(a);
        }
        Self {
            keys,
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            prev_mac: None,
            keyed_from,
            anchors: by_seq,
            anchors_matched: 0,
            rows: 0,
            legacy: 0,
        }
    }

    /// The `seq` after which the next row is expected (for paging).
    pub fn last_seq(&self) -> i64 {
        self.expected_seq - 1
    }

    /// Check the next row; `Err` carries the report of the first break.
    pub fn check(&mut self, row: AuditRow) -> Result<(), ChainReport> {
        let expected_seq = self.expected_seq;
        let seq = row.seq;
        let broken = |reason: String| ChainReport::Broken { seq, reason };
        if row.seq != expected_seq {
            return Err(ChainReport::Broken {
                seq: expected_seq,
                reason: format!(
                    "row {expected_seq} is missing (next row found is {})",
                    row.seq
                ),
            });
        }
        match &row.mac {
            Some(mac) => {
                match self.keys.check_row(self.prev_mac.as_deref(), &row, mac) {
                    Ok(()) => {}
                    Err(TagError::UnknownKey(id)) => {
                        return Err(broken(format!(
                            "row is sealed with audit key {id:?}, which is not configured"
                        )));
                    }
                    Err(_) => {
                        return Err(broken(
                            "row does not match its MAC (changed after writing, or the row \
                             before it was changed or removed)"
                                .into(),
                        ));
                    }
                }
                self.keyed_from.get_or_insert(row.seq);
            }
            None => {
                if self.prev_mac.is_some() || self.keyed_from.is_some_and(|k| row.seq >= k) {
                    return Err(broken(
                        "row has no MAC where every row must carry one (written or rewritten \
                         without the audit key)"
                            .into(),
                    ));
                }
                self.legacy += 1;
            }
        }
        if row.prev_hash != self.prev_hash {
            return Err(broken(
                "prev_hash does not match the previous row's hash".into(),
            ));
        }
        if chain_hash(&row) != row.hash {
            return Err(broken(
                "row content does not match its hash (changed after writing)".into(),
            ));
        }
        if let Some(anchored) = self.anchors.get(&row.seq) {
            for a in anchored {
                if row.mac.as_deref() != Some(a.mac.as_str()) {
                    return Err(broken(format!(
                        "row differs from the head anchored by node {} at {}",
                        a.node,
                        a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )));
                }
                self.anchors_matched += 1;
            }
        }
        self.prev_hash = row.hash;
        self.prev_mac = row.mac;
        self.expected_seq += 1;
        self.rows += 1;
        Ok(())
    }

    /// Every row checked out: the chain must also reach every anchor (else it was truncated).
    pub fn finish(self) -> ChainReport {
        let last = self.last_seq();
        if let Some((&seq, anchored)) = self.anchors.iter().next_back()
            && seq > last
            && let Some(a) = anchored.first()
        {
            return ChainReport::Broken {
                seq: last + 1,
                reason: format!(
                    "rows {} to {seq} are missing: the log ends at row {last} but node {} \
                     anchored row {seq} at {} (truncated)",
                    last + 1,
                    a.node,
                    a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            };
        }
        ChainReport::Intact {
            rows: self.rows,
            legacy: self.legacy,
            head: self.prev_hash,
            anchors: self.anchors_matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AuditKeys {
        let id = "a1".to_string();
        let key = B64.encode([7u8; 32]);
        AuditKeys::new("a1", [(&id, &key)]).expect("keys")
    }

    /// `n` rows chained as the store writes them; the first `legacy` without a MAC.
    fn chain(keys: &AuditKeys, n: i64, legacy: i64) -> Vec<AuditRow> {
        let mut rows = Vec::new();
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut prev_mac: Option<String> = None;
        for seq in 1..=n {
            let mut row = AuditRow {
                seq,
                at: DateTime::from_timestamp(1_700_000_000 + seq, 0).expect("time"),
                actor_user_id: None,
                action: "patient.read".into(),
                entity: "patient".into(),
                entity_id: Some(format!("p{seq}")),
                clinic_id: None,
                ip: Some("127.0.0.1".into()),
                details: "{}".into(),
                prev_hash: prev_hash.clone(),
                hash: String::new(),
                mac: None,
            };
            row.hash = chain_hash(&row);
            if seq > legacy {
                row.mac = Some(keys.seal_row(prev_mac.as_deref(), &row));
            }
            prev_hash = row.hash.clone();
            prev_mac = row.mac.clone();
            rows.push(row);
        }
        rows
    }

    fn walk(keys: &AuditKeys, rows: Vec<AuditRow>, anchors: Vec<Anchor>) -> ChainReport {
        let mut w = ChainWalk::new(keys, anchors);
        for row in rows {
            if let Err(broken) = w.check(row) {
                return broken;
            }
        }
        w.finish()
    }

    fn broken_seq(report: &ChainReport) -> Option<i64> {
        match report {
            ChainReport::Broken { seq, .. } => Some(*seq),
            ChainReport::Intact { .. } => None,
        }
    }

    #[test]
    fn an_untouched_chain_with_a_legacy_prefix_verifies() {
        let k = keys();
        let rows = chain(&k, 6, 2);
        let head = rows[5].mac.clone().expect("mac");
        let anchor = k.anchor("n1", Utc::now(), 6, &head, 3);
        match walk(&k, rows, vec![anchor]) {
            ChainReport::Intact {
                rows,
                legacy,
                anchors,
                ..
            } => assert_eq!((rows, legacy, anchors), (6, 2, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_edit_rehashed_with_plain_sha256_is_named() {
        let k = keys();
        let mut rows = chain(&k, 5, 0);
        rows[2].ip = Some("10.0.0.1".into());
        let mut prev = rows[1].hash.clone();
        for r in rows.iter_mut().skip(2) {
            r.prev_hash = prev.clone();
            r.hash = chain_hash(r);
            prev = r.hash.clone();
        }
        assert_eq!(broken_seq(&walk(&k, rows, vec![])), Some(3));
    }

    #[test]
    fn a_row_sealed_with_another_key_is_refused() {
        let k = keys();
        let other_id = "a1".to_string();
        let other_key = B64.encode([8u8; 32]);
        let other = AuditKeys::new("a1", [(&other_id, &other_key)]).expect("keys");
        let mut rows = chain(&k, 3, 0);
        let forged = other.seal_row(rows[0].mac.as_deref(), &rows[1]);
        rows[1].mac = Some(forged);
        assert_eq!(broken_seq(&walk(&k, rows, vec![])), Some(2));
    }

    #[test]
    fn truncation_past_an_anchor_and_a_replaced_anchored_row_are_detected() {
        let k = keys();
        let rows = chain(&k, 6, 0);
        let anchor = k.anchor("n1", Utc::now(), 6, rows[5].mac.as_deref().expect("mac"), 1);
        let report = walk(&k, rows[..4].to_vec(), vec![anchor.clone()]);
        assert_eq!(broken_seq(&report), Some(5), "{report:?}");
        let wrong = k.anchor("n2", Utc::now(), 4, rows[3].hash.as_str(), 1);
        assert_eq!(broken_seq(&walk(&k, rows, vec![anchor, wrong])), Some(4));
    }

    #[test]
    fn a_keyed_row_followed_by_an_unkeyed_one_is_refused() {
        let k = keys();
        let mut rows = chain(&k, 4, 0);
        rows[3].mac = None;
        assert_eq!(broken_seq(&walk(&k, rows, vec![])), Some(4));
    }

    #[test]
    fn anchor_lines_round_trip_and_a_changed_line_is_refused() {
        let k = keys();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AnchorLog::new(dir.path().join("sub/anchors.log"));
        assert_eq!(log.read(&k).expect("io"), Ok(vec![]));
        let a = k.anchor("n1", Utc::now(), 9, "a1:00", 1);
        let b = k.anchor("n2", Utc::now(), 12, "a1:11", 1);
        log.append(&a).expect("append");
        log.append(&b).expect("append");
        assert_eq!(log.read(&k).expect("io"), Ok(vec![a, b]));
        let text = std::fs::read_to_string(log.path()).expect("read");
        std::fs::write(log.path(), text.replace("\"seq\":12", "\"seq\":13")).expect("write");
        let problem = log.read(&k).expect("io").expect_err("forged");
        assert_eq!(problem.line, 2);
    }
}
