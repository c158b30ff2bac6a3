//! The one place that knows SQL.
//!
//! Two backends, one repository layer: every query is written once, with `$1`-style
//! placeholders (SQLite accepts them and sqlx binds them by number), and runs on either
//! pool through the [`on_pool!`] and [`on_tx!`] macros, which expand the same body once per
//! backend. Where the backends need different idioms (locks, transaction modes) the code
//! says so next to the `match`.

pub mod agenda;
pub mod audit;
pub mod backup;
pub mod billing;
pub mod cash;
pub mod chat;
pub mod clinics;
pub mod consents;
pub mod consults;
pub mod documents;
pub mod events;
pub mod keys;
pub mod lgpd;
pub mod message_texts;
pub mod mfa;
pub mod oidc;
pub mod outbox;
pub mod passkeys;
pub mod password_resets;
pub mod patient_index;
pub mod patient_links;
pub mod patient_merge;
pub mod patients;
pub mod queue;
pub mod record;
pub mod record_lists;
pub mod reminders;
pub mod reports;
pub mod sealed;
pub mod sessions;
pub mod signups;
pub mod users;
pub mod waitlist;

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Transaction;
use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

/// Run `$body` with `$p` bound to the concrete pool (`&SqlitePool` or `&PgPool`).
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match $store.pool() {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Run `$body` with `$t` bound to the concrete transaction; use `&mut **$t` as executor.
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite($crate::store::SqliteTx { tx: $t, .. }) => $body,
            $crate::store::Tx::Postgres($t) => $body,
        }
    };
}
pub(crate) use on_tx;

/// A connection pool on one of the two backends.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open write transaction on one of the two backends.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

/// An SQLite write transaction and this process's writer slot. SQLite has one writer at a
/// time; queueing writers here (first come, first served) instead of in SQLite's busy
/// handler, which sleeps and retries, keeps write latency flat under concurrency.
pub struct SqliteTx {
    pub tx: Transaction<'static, Sqlite>,
    _writer: tokio::sync::OwnedMutexGuard<()>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.tx.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Storage failures. `Conflict` carries the column whose uniqueness was violated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated on {0}")]
    Conflict(&'static str),
    /// The disk (or the database's quota) is full: the transaction was rolled back whole.
    #[error("storage full: {0}")]
    Full(sqlx::Error),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// This store was opened without audit keys, so it cannot seal audit rows.
    #[error("no audit key configured: audit rows cannot be written")]
    NoAuditKey,
    /// This store was opened without the field cipher, so it cannot read or write the
    /// encrypted identity columns.
    #[error("no field-encryption key configured: encrypted columns cannot be used")]
    NoFieldCipher,
    /// A stored value that cannot be opened with the configured keys (or a value that
    /// cannot be sealed).
    #[error("encrypted column: {0}")]
    Sealed(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_disk_full(&e) {
            metrics::counter!("atende_storage_full_total").increment(1);
            return StoreError::Full(e);
        }
        StoreError::Database(e)
    }
}

/// SQLite's `SQLITE_FULL` (13, also as the primary code of an extended one) and
/// PostgreSQL's `disk_full` (53100) or `could not extend file` / `No space left on device`.
fn is_disk_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            let sqlite_full = code.parse::<i64>().is_ok_and(|c| c & 0xff == 13);
            sqlite_full
                || code == "53100"
                || db.message().contains("No space left on device")
                || db.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => io.raw_os_error() == Some(28), // ENOSPC
        _ => false,
    }
}

/// Whether an idle connection may be handed out again: not when it still counts an open
/// transaction. That happens when the database ended the transaction on its own (SQLite
/// rolls back the whole transaction on `SQLITE_FULL`, at a statement or at `COMMIT`): the
/// `ROLLBACK` sqlx then sends fails with "no transaction is active" and its count stays at
/// one, so every later `BEGIN` on that connection would fail. No round trip: the pool's own
/// check when the connection came back already ran that rollback.
async fn still_clean<C: sqlx::Connection>(conn: &mut C) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        tracing::warn!("a pooled connection was left inside a transaction; it is closed");
        return Ok(false);
    }
    Ok(true)
}

impl StoreError {
    /// Turn a unique violation on one of `columns` into `Conflict(column)`.
    pub fn unique_on(self, columns: &[&'static str]) -> Self {
        if let StoreError::Database(sqlx::Error::Database(db)) = &self
            && db.is_unique_violation()
        {
            let text = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
            for col in columns {
                if text.contains(col) {
                    return StoreError::Conflict(col);
                }
            }
        }
        self
    }
}

struct Inner {
    pool: Pool,
    /// The single SQLite writer slot (unused on PostgreSQL).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Seals audit rows (see [`Store::with_audit_keys`]); without them appends fail.
    audit_keys: Option<Arc<crate::security::audit::AuditKeys>>,
    /// Seals identity and front-desk columns (see [`Store::with_field_cipher`]).
    sealer: Option<Arc<sealed::Sealer>>,
}

/// The application's storage handle: cheap to clone, shared by every request and actor.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// See [`Store::migration_status`].
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    pub applied: usize,
    /// Versions and descriptions of this binary's migrations not yet applied.
    pub pending: Vec<(i64, String)>,
    /// Applied versions this binary does not know.
    pub unknown: Vec<i64>,
}

/// What to do with a savepoint (see [`Store::savepoint`]).
#[derive(Debug, Clone, Copy)]
pub enum Savepoint {
    Set,
    Release,
    RollbackTo,
}

/// The current time, truncated to microseconds so it round-trips through both backends
/// unchanged (PostgreSQL keeps microseconds; hashes over times must match after reading).
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

impl Store {
    /// Connect to `url` (`sqlite:` or `postgres://`), creating an SQLite file if needed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15));
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(20))
                    .before_acquire(|conn, _| Box::pin(still_clean(conn)))
                    .connect_with(opts)
                    .await?,
            )
        } else {
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(20))
                    .before_acquire(|conn, _| Box::pin(still_clean(conn)))
                    .connect(url)
                    .await?,
            )
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                writer: Arc::new(tokio::sync::Mutex::new(())),
                audit_keys: None,
                sealer: None,
            }),
        })
    }

    /// The same store, sealing audit rows with `keys`. Every store that writes audit rows
    /// needs them: an unkeyed row after keyed ones would break the chain.
    pub fn with_audit_keys(self, keys: crate::security::audit::AuditKeys) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool: self.inner.pool.clone(),
                writer: self.inner.writer.clone(),
                audit_keys: Some(Arc::new(keys)),
                sealer: self.inner.sealer.clone(),
            }),
        }
    }

    /// The same store, encrypting the identity and front-desk columns with `cipher` and
    /// indexing CPFs under a key derived from `index_secret` (see [`sealed`]). The server
    /// and every command that reads patients or appointments need it.
    pub fn with_field_cipher(
        self,
        cipher: crate::security::crypto::FieldCipher,
        index_secret: &[u8],
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool: self.inner.pool.clone(),
                writer: self.inner.writer.clone(),
                audit_keys: self.inner.audit_keys.clone(),
                sealer: Some(Arc::new(sealed::Sealer::new(cipher, index_secret))),
            }),
        }
    }

    /// The keys audit rows are sealed with, if configured.
    pub fn audit_keys(&self) -> Option<&crate::security::audit::AuditKeys> {
        self.inner.audit_keys.as_deref()
    }

    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// "sqlite" or "postgres", for logs and health output.
    pub fn backend(&self) -> &'static str {
        match self.pool() {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Apply the embedded migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = self.migrator();
        match self.pool() {
            Pool::Sqlite(p) => migrator.run(p).await?,
            Pool::Postgres(p) => migrator.run(p).await?,
        }
        Ok(())
    }

    /// This binary's migrations for the store's engine.
    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.pool() {
            Pool::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
            Pool::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        }
    }

    /// How the database's schema stands against this binary's migrations: which of them are
    /// not applied yet, and which applied versions this binary does not know (the database
    /// was migrated by a newer release).
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let migrator = self.migrator();
        // No table yet: nothing applied. The query fails only for that reason (or a database
        // that is unreachable, which the connection has already ruled out).
        let applied: Vec<(i64, bool)> = on_pool!(self, p => {
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(p)
                .await
                .unwrap_or_default()
        });
        let known: Vec<(i64, String)> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        let done = |v: i64| applied.iter().any(|(a, ok)| *a == v && *ok);
        Ok(MigrationStatus {
            applied: applied.iter().filter(|(_, ok)| *ok).count(),
            pending: known.iter().filter(|(v, _)| !done(*v)).cloned().collect(),
            unknown: applied
                .iter()
                .filter(|(v, _)| !known.iter().any(|(k, _)| k == v))
                .map(|(v, _)| *v)
                .collect(),
        })
    }

    /// A round trip to the database, for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }

    /// Begin a write transaction. On SQLite it is `BEGIN IMMEDIATE`: it takes the write
    /// lock at once, so read-then-write sequences (audit chain, later slot booking) are
    /// serialized instead of failing on lock upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.pool() {
            Pool::Sqlite(p) => {
                let writer = self.inner.writer.clone().lock_owned().await;
                Tx::Sqlite(SqliteTx {
                    tx: p.begin_with("BEGIN IMMEDIATE").await?,
                    _writer: writer,
                })
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Run `SAVEPOINT`, `RELEASE SAVEPOINT` or `ROLLBACK TO SAVEPOINT` on `name` inside `tx`
    /// (both backends), so one failed statement need not abort the whole transaction.
    pub async fn savepoint(
        &self,
        tx: &mut Tx,
        op: Savepoint,
        name: &str,
    ) -> Result<(), StoreError> {
        let sql = match op {
            Savepoint::Set => format!("SAVEPOINT {name}"),
            Savepoint::Release => format!("RELEASE SAVEPOINT {name}"),
            Savepoint::RollbackTo => format!("ROLLBACK TO SAVEPOINT {name}"),
        };
        on_tx!(tx, t => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **t).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        match self.pool() {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction the database ended by itself (as SQLite does on a full disk) leaves its
    /// connection counting an open transaction; the pool must not hand that connection out
    /// again, or the next write fails with an internal error although nothing is wrong.
    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_not_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::connect(&url, 1).await.expect("connect");
        let mut tx = store.begin().await.expect("begin");
        // What SQLite does on SQLITE_FULL: the transaction ends under sqlx's feet.
        on_tx!(&mut tx, t => {
            sqlx::query("ROLLBACK").execute(&mut **t).await.expect("rollback");
        });
        drop(tx);
        for _ in 0..3 {
            let tx = store
                .begin()
                .await
                .expect("a later write transaction begins");
            tx.commit().await.expect("commit");
        }
    }
}
