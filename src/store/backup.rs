//! Consistent copies of the database for `atende backup`, and putting one back.
//!
//! SQLite: `VACUUM INTO` writes a transactionally consistent copy through an ordinary
//! read transaction, so the server keeps writing meanwhile (WAL mode). PostgreSQL:
//! `pg_dump --format=custom` reads in one snapshot (repeatable read) and `pg_restore`
//! loads it in one transaction. The password never appears on a command line: it goes to
//! `pg_dump`/`pg_restore` through `PGPASSWORD`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::{Pool, Store, StoreError, on_pool};

impl Store {
    /// Write a consistent SQLite copy of the database to `dest` (which must not exist).
    /// Only for SQLite; PostgreSQL copies come from [`pg_dump`].
    pub async fn vacuum_into(&self, dest: &Path) -> Result<(), StoreError> {
        let Pool::Sqlite(pool) = self.pool() else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "VACUUM INTO is for SQLite only".into(),
            )));
        };
        sqlx::query("VACUUM INTO $1")
            .bind(dest.to_string_lossy().into_owned())
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Connections of the pool: (open, idle).
    pub fn pool_usage(&self) -> (u32, usize) {
        on_pool!(self, p => (p.size(), p.num_idle()))
    }

    /// When the oldest document still waiting for its signature was created.
    pub async fn oldest_pending_document(
        &self,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let at: Option<chrono::DateTime<chrono::Utc>> = on_pool!(self, p => {
            sqlx::query_scalar(
                "SELECT created_at FROM documents WHERE status = 'pending' ORDER BY created_at LIMIT 1",
            )
            .fetch_optional(p)
            .await?
        });
        Ok(at)
    }

    /// How many tables the database holds (0: a new, empty installation).
    pub async fn table_count(&self) -> Result<i64, StoreError> {
        let sql = match self.pool() {
            Pool::Sqlite(_) => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Pool::Postgres(_) => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            }
        };
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await?);
        Ok(n)
    }
}

/// The file an `sqlite:` URL names (`sqlite://path?opts`, `sqlite:path`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// A PostgreSQL URL split into the URL without its password and the password (decoded).
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_string(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(hex), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run_pg_tool(mut cmd: tokio::process::Command, url: &str) -> Result<(), StoreError> {
    let (url, password) = without_password(url);
    cmd.arg(format!("--dbname={url}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let tool = cmd.as_std().get_program().to_string_lossy().into_owned();
    let out = cmd.output().await.map_err(|e| {
        StoreError::Database(sqlx::Error::Configuration(
            format!("could not run {tool} (is the PostgreSQL client installed?): {e}").into(),
        ))
    })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(StoreError::Database(sqlx::Error::Configuration(
            format!("{tool} failed ({}): {}", out.status, said.trim()).into(),
        )));
    }
    Ok(())
}

/// `pg_dump --format=custom` of the database at `url` into `dest`.
pub async fn pg_dump(url: &str, dest: &Path) -> Result<(), StoreError> {
    let mut cmd = tokio::process::Command::new("pg_dump");
    cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(dest);
    run_pg_tool(cmd, url).await
}

/// Load a `pg_dump` custom-format file into the (empty) database at `url`, all or nothing.
pub async fn pg_restore(url: &str, dump: &Path) -> Result<(), StoreError> {
    let mut cmd = tokio::process::Command::new("pg_restore");
    cmd.args([
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ])
    .arg(dump);
    run_pg_tool(cmd, url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_and_is_decoded() {
        assert_eq!(
            without_password("postgres://app:s%40cr%3At@db:5432/atende?sslmode=require"),
            (
                "postgres://app@db:5432/atende?sslmode=require".to_string(),
                Some("s@cr:t".to_string())
            )
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".to_string(), None)
        );
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/atende/atende.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/atende/atende.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:data/a.db"),
            Some(PathBuf::from("data/a.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
