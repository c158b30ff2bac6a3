//! `atende backup` and `atende restore`, driven as an operator would: a server keeps
//! writing while the backup runs; the archive restores onto an empty installation with every
//! table and file as it was and an intact audit chain; a wrong key, a damaged archive and an
//! installation that is not empty are refused with their own exit statuses.
//! On PostgreSQL when TEST_DATABASE_URL is set, on SQLite otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use sqlx::{Connection as _, Row as _};

use crate::cli::{atende, serve_demo_with, stop};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const OTHER_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

/// One installation: a working directory (data in `./data`) and its database.
struct Install {
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Install {
    async fn new() -> Self {
        let pg = match std::env::var("TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                let url = crate::helpers::fresh_postgres_database(&admin).await;
                Some((admin, url))
            }
            _ => None,
        };
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            pg,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn db_url(&self) -> String {
        match &self.pg {
            Some((_, url)) => url.clone(),
            None => format!("sqlite://{}", self.data().join("atende.db").display()),
        }
    }

    fn env(&self, key: &str) -> Vec<(String, String)> {
        let mut env = vec![("ATENDE_BACKUP__KEY".to_string(), key.to_string())];
        if let Some((_, url)) = &self.pg {
            env.push(("ATENDE_DATABASE__URL".into(), url.clone()));
        }
        env
    }

    /// Run `atende ARGS` here with `key`; (exit status, stdout + stderr).
    async fn run(&self, key: &str, args: &[&str]) -> (Option<i32>, String) {
        let mut cmd = atende(self.dir.path());
        cmd.envs(self.env(key)).args(args);
        let out = tokio::process::Command::from(cmd)
            .output()
            .await
            .expect("run atende");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    /// A new, empty installation that shares this one's secrets (as an operator brings
    /// `secrets.toml` from where they keep it, apart from the archives).
    async fn empty_twin(&self) -> Install {
        let twin = Install::new().await;
        std::fs::create_dir_all(twin.data()).expect("data dir");
        std::fs::copy(
            self.data().join("secrets.toml"),
            twin.data().join("secrets.toml"),
        )
        .expect("copy secrets");
        twin
    }

    async fn drop_database(&self) {
        if let Some((admin, url)) = &self.pg {
            let name = url.rsplit('/').next().unwrap_or_default();
            let mut c = sqlx::PgConnection::connect(admin).await.expect("admin");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await
            .expect("drop database");
        }
    }
}

/// Every table's rows as sorted text, by table name.
async fn tables(url: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        let names: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(&mut c)
                .await
                .expect("tables");
        for t in names {
            let sql = format!("SELECT t::text FROM \"{t}\" t");
            let mut rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .expect("rows");
            rows.sort();
            out.insert(t, rows);
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&mut c)
        .await
        .expect("tables");
        for t in names {
            let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(&t)
                .fetch_all(&mut c)
                .await
                .expect("columns");
            let row = cols
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let sql = format!("SELECT {row} FROM \"{t}\"");
            let mut rows: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .expect("rows")
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
            rows.sort();
            out.insert(t, rows);
        }
    }
    out
}

/// The audit chain in order, as text.
async fn audit_rows(url: &str) -> Vec<String> {
    let t = tables(url).await;
    let mut rows = t.get("audit_log").cloned().expect("audit_log");
    // Rows sort by their text; the chain order is by seq, the first column.
    rows.sort_by_key(|r| first_column(r).parse::<i64>().unwrap_or_default());
    rows
}

/// The data directory's files that a backup carries, with their bytes. The demo's maildir
/// (`mail/`) is left out: the running demo keeps writing the e-mail it sends there, so a
/// copy taken mid-way never matches the source later (the outbox, in the database, says
/// what was sent).
fn files(data: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![data.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read dir") {
            let path = e.expect("entry").path();
            let name = path
                .strip_prefix(data)
                .expect("inside")
                .display()
                .to_string();
            if path.is_dir() {
                stack.push(path);
            } else if !(name.starts_with("atende.db")
                || name.starts_with("mail/")
                || name == "secrets.toml"
                || name == "audit-anchors.log")
            {
                out.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

/// A row's first column as the row's text shows it (a patient's id).
fn first_column(row: &str) -> &str {
    row.trim_start_matches('(')
        .split([',', '|'])
        .next()
        .unwrap_or_default()
}

/// The patient rows but those whose id is in `except` (names are sealed: the rows the
/// test wrote are told apart by their ids).
async fn patients_but(url: &str, except: &BTreeSet<String>) -> Vec<String> {
    tables(url).await["patients"]
        .iter()
        .filter(|r| !except.contains(first_column(r)))
        .cloned()
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_backup_taken_while_writes_continue_restores_every_table_and_file_and_a_bad_key_or_archive_is_refused()
 {
    let src = Install::new().await;
    std::fs::create_dir_all(src.data().join("anexos")).expect("dir");
    let pdf: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.data().join("anexos/laudo.pdf"), &pdf).expect("file");
    std::fs::write(src.data().join("leia-me.txt"), "arquivo do consultório\n").expect("file");
    let (child, port, token) = serve_demo_with(src.dir.path(), &src.env(KEY)).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let me: serde_json::Value = client
        .get(format!("{base}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let clinic = crate::helpers::Session {
        access: token.clone(),
        refresh: String::new(),
        me,
    }
    .clinic("receptionist");

    // A receptionist keeps registering patients (with encrypted allergies) throughout.
    let demo: BTreeSet<String> = tables(&src.db_url()).await["patients"]
        .iter()
        .map(|r| first_column(r).to_string())
        .collect();
    let created = Arc::new(AtomicUsize::new(0));
    let stop_writing = Arc::new(AtomicBool::new(false));
    let writer = {
        let (created, stop_writing) = (created.clone(), stop_writing.clone());
        let url = format!("{base}/api/clinics/{clinic}/patients");
        actix_web::rt::spawn(async move {
            let mut n = 0;
            while !stop_writing.load(Ordering::SeqCst) {
                n += 1;
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"full_name": format!("Paciente Backup {n}"),
                        "cpf": crate::agenda::cpf_for(70_000 + n), "birth_date": "1980-01-02",
                        "allergies": "Dipirona"}))
                    .send()
                    .await
                    .expect("register");
                assert_eq!(r.status(), reqwest::StatusCode::CREATED);
                created.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let wait_for = |at_least: usize| {
        let created = created.clone();
        async move {
            for _ in 0..600 {
                if created.load(Ordering::SeqCst) >= at_least {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("the writer stalled");
        }
    };
    wait_for(5).await;
    let before = created.load(Ordering::SeqCst);
    let archive = src.dir.path().join("durante.atende-backup");
    let (code, said) = src
        .run(KEY, &["backup", "--out", &archive.display().to_string()])
        .await;
    assert_eq!(code, Some(0), "{said}");
    let kind = if src.pg.is_some() {
        "postgres database"
    } else {
        "sqlite database"
    };
    assert!(
        said.contains("backup written to") && said.contains(kind),
        "{said}"
    );
    let after_backup = created.load(Ordering::SeqCst);
    wait_for(after_backup + 5).await;
    stop_writing.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    let after = created.load(Ordering::SeqCst);
    assert!(
        after_backup > before,
        "writes went on during the backup ({before} → {after_backup})"
    );

    // Restored elsewhere: a consistent moment between the first and the last write.
    let during = src.empty_twin().await;
    let (code, said) = during
        .run(KEY, &["restore", "--from", &archive.display().to_string()])
        .await;
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = during.run(KEY, &["audit", "verify"]).await;
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("audit chain intact"), "{said}");
    let restored = patients_but(&during.db_url(), &demo).await;
    let source = patients_but(&src.db_url(), &demo).await;
    assert!(
        (before..=after).contains(&restored.len()),
        "{} patients restored, {before}..={after} expected",
        restored.len()
    );
    assert!(restored.iter().all(|p| source.contains(p)));
    let restored_audit = audit_rows(&during.db_url()).await;
    let source_audit = audit_rows(&src.db_url()).await;
    assert!(!restored_audit.is_empty());
    assert_eq!(
        restored_audit[..],
        source_audit[..restored_audit.len()],
        "the restored audit log is a prefix of the source's"
    );
    assert_eq!(files(&during.data()), files(&src.data()));

    // A quiet installation comes back identical: every table, every file.
    stop(child).await;
    let quiet = src.dir.path().join("parado.atende-backup");
    let prom = src.dir.path().join("atende_backup.prom");
    let (code, said) = src
        .run(
            KEY,
            &[
                "backup",
                "--out",
                &quiet.display().to_string(),
                "--metrics-file",
                &prom.display().to_string(),
            ],
        )
        .await;
    assert_eq!(code, Some(0), "{said}");
    let prom = std::fs::read_to_string(&prom).expect("metrics file");
    let size = std::fs::metadata(&quiet).expect("archive").len();
    assert!(
        prom.contains("atende_backup_last_success_timestamp_seconds ")
            && prom.contains(&format!("atende_backup_last_size_bytes {size}\n")),
        "{prom}"
    );
    let twin = src.empty_twin().await;
    let (code, said) = twin
        .run(KEY, &["restore", "--from", &quiet.display().to_string()])
        .await;
    assert_eq!(code, Some(0), "{said}");
    let (want, got) = (tables(&src.db_url()).await, tables(&twin.db_url()).await);
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &want {
        assert_eq!(&got[table], rows, "table {table}");
    }
    assert_eq!(files(&twin.data())["anexos/laudo.pdf"], pdf);
    assert_eq!(files(&twin.data()), files(&src.data()));
    let (code, said) = twin.run(KEY, &["audit", "verify"]).await;
    assert_eq!(code, Some(0), "{said}");

    // Refusals: an installation with data (5), a wrong key (3), a damaged archive (4), no
    // key (2); none of them touches the target.
    let quiet_arg = quiet.display().to_string();
    let (code, said) = twin.run(KEY, &["restore", "--from", &quiet_arg]).await;
    assert_eq!(code, Some(5), "{said}");
    assert!(said.contains("not empty"), "{said}");
    let fresh = src.empty_twin().await;
    let (code, said) = fresh
        .run(OTHER_KEY, &["restore", "--from", &quiet_arg])
        .await;
    assert_eq!(code, Some(3), "{said}");
    assert!(said.contains("wrong backup key"), "{said}");
    let mut bytes = std::fs::read(&quiet).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let damaged = src.dir.path().join("danificado.atende-backup");
    std::fs::write(&damaged, &bytes).expect("write");
    let (code, said) = fresh
        .run(KEY, &["restore", "--from", &damaged.display().to_string()])
        .await;
    assert_eq!(code, Some(4), "{said}");
    assert!(said.contains("damaged"), "{said}");
    let (code, said) = fresh.run("", &["restore", "--from", &quiet_arg]).await;
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("backup.key"), "{said}");
    assert_eq!(
        files(&fresh.data()),
        BTreeMap::new(),
        "refused restores leave nothing"
    );
    if fresh.pg.is_some() {
        assert!(
            tables(&fresh.db_url()).await.is_empty(),
            "refused restores create no table"
        );
    } else {
        assert!(!fresh.data().join("atende.db").exists());
    }

    for i in [&src, &during, &twin, &fresh] {
        i.drop_database().await;
    }
}
