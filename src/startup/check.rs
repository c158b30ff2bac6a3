//! `atende config check`: validate a configuration without starting a server.

use std::time::Duration;

use crate::config::Settings;
use crate::store::Store;
use crate::store::backup::sqlite_path;

/// What `config check` found: one line per item, and whether anything is wrong.
pub struct ConfigReport {
    pub lines: Vec<String>,
    pub ok: bool,
}

impl ConfigReport {
    fn good(&mut self, line: String) {
        self.lines.push(format!("ok       {line}"));
    }
    fn note(&mut self, line: String) {
        self.lines.push(format!("note     {line}"));
    }
    fn bad(&mut self, line: String) {
        self.ok = false;
        self.lines.push(format!("PROBLEM  {line}"));
    }
}

/// Check settings that already parsed and validated (a bad key exits with status 2
/// before this runs): the secrets, the data directory and, with `connect`, the database
/// and Redis. Creates nothing.
pub async fn check_config(settings: &mut Settings, connect: bool) -> ConfigReport {
    let mut r = ConfigReport {
        lines: vec!["ok       every key parses and is within its range".into()],
        ok: true,
    };
    let dir = settings.data.dir.clone();
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() && !m.permissions().readonly() => {
            r.good(format!("data.dir {} exists", dir.display()))
        }
        Ok(_) => r.bad(format!(
            "data.dir {} is not a writable directory",
            dir.display()
        )),
        Err(_) => r.note(format!(
            "data.dir {} does not exist yet; `atende serve` creates it",
            dir.display()
        )),
    }
    let configured = !settings.security.jwt_secret.expose().is_empty()
        && !settings.security.encryption_keys.is_empty()
        && !settings.security.audit_keys.is_empty();
    match settings.existing_secrets() {
        Ok(_) if configured => r.good("secrets: all configured".into()),
        Ok(Some(_)) => r.good(format!(
            "secrets: from {}",
            dir.join("secrets.toml").display()
        )),
        Ok(None) => r.note(format!(
            "secrets: none yet; `atende serve` generates them into {} (back it up)",
            dir.join("secrets.toml").display()
        )),
        Err(e) => r.bad(format!("secrets: {e}")),
    }
    if settings.backup.key.expose().is_empty() {
        r.note("backup.key is empty: `atende backup` and `atende restore` refuse to run".into());
    } else {
        r.good("backup.key is set".into());
    }
    if settings.server.public_url.is_empty() {
        r.note("server.public_url is empty: links in messages use host and port".into());
    }
    let url = settings.database_url();
    let sqlite = sqlite_path(&url);
    if !connect {
        r.note("--offline: database and Redis not contacted".into());
        return r;
    }
    match &sqlite {
        Some(path) if !path.exists() => r.note(format!(
            "database: SQLite {} does not exist yet; `atende serve` creates it",
            path.display()
        )),
        _ => {
            let reached = tokio::time::timeout(Duration::from_secs(10), async {
                let store = Store::connect(&url, 1).await?;
                let tables = store.table_count().await;
                store.close().await;
                tables
            })
            .await;
            match reached {
                Ok(Ok(tables)) => r.good(format!(
                    "database ({}) reachable, {tables} tables",
                    if sqlite.is_some() {
                        "sqlite"
                    } else {
                        "postgres"
                    }
                )),
                Ok(Err(e)) => r.bad(format!("database: {e}")),
                Err(_) => r.bad("database: no answer within 10 s".into()),
            }
        }
    }
    let redis_url = settings.redis.url.expose().clone();
    if redis_url.is_empty() {
        r.note("redis.url is empty: single node, in-process event bus".into());
    } else {
        let pinged = tokio::time::timeout(Duration::from_secs(5), async {
            let client = ::redis::Client::open(redis_url.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            ::redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await;
        match pinged {
            Ok(Ok(_)) => r.good("redis reachable".into()),
            Ok(Err(e)) => r.bad(format!("redis: {e}")),
            Err(_) => r.bad("redis: no answer within 5 s".into()),
        }
    }
    r
}

/// `atende health`: ask this node's `/health/ready` over loopback (for container health
/// checks without curl). `Err` says why it is not ready.
pub fn probe_ready(settings: &Settings) -> Result<(), String> {
    use std::io::{Read as _, Write as _};
    let host = match settings.server.host.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    };
    let addr = if host.contains(':') {
        format!("[{host}]:{}", settings.server.port)
    } else {
        format!("{host}:{}", settings.server.port)
    };
    let timeout = Duration::from_secs(3);
    let sock: std::net::SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let mut conn =
        std::net::TcpStream::connect_timeout(&sock, timeout).map_err(|e| format!("{addr}: {e}"))?;
    conn.set_read_timeout(Some(timeout)).ok();
    conn.set_write_timeout(Some(timeout)).ok();
    conn.write_all(
        format!("GET /health/ready HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| format!("{addr}: {e}"))?;
    let mut answer = String::new();
    conn.take(64 * 1024)
        .read_to_string(&mut answer)
        .map_err(|e| format!("{addr}: {e}"))?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        Err(format!("{status} {body}").trim().to_string())
    }
}
