//! Fault scenarios that touch the machine: they stop the PostgreSQL server the other tests
//! use and mount a small filesystem, so they need root and a local Debian cluster
//! (`pg_ctlcluster`), and they run one at a time with nothing else beside them. They run
//! when `ATENDE_TEST_FAULTS=1` — `.ci/run` sets it in a step of their own after the
//! PostgreSQL suite, where a scenario that cannot run fails — and say so otherwise:
//!
//! ```sh
//! ATENDE_TEST_FAULTS=1 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo test --test api faults:: -- --test-threads 1
//! ```
//!
//! Their outcome is written in docs/operations.md ("Faults"). The other faults have tests
//! in the ordinary run: a node killed (`ordering`, `documents::restarts`) and Redis cut off
//! (`bus_fallback`).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection as _;

use crate::ordering::{follow, walk_in_name};
use crate::processes::{Env, clinic, login};

/// Whether this run takes the machine's faults (`ATENDE_TEST_FAULTS=1`); else say so.
fn faults_run(which: &str) -> bool {
    let on = std::env::var("ATENDE_TEST_FAULTS").as_deref() == Ok("1");
    if !on {
        eprintln!("not running the {which} fault scenario: set ATENDE_TEST_FAULTS=1 (as root)");
    }
    on
}

fn postgres_cluster() -> (String, String) {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("a Debian PostgreSQL cluster")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .next()
        .expect("a version");
    (version, "main".to_string())
}

/// PostgreSQL restarted under load: while it is down, requests fail fast with a clear
/// error (never hang, never a half-written change); afterwards they succeed again, and a
/// live subscriber has every event of the topic, once, in order.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn postgres_restarted_under_load_fails_clearly_then_recovers_without_losing_events() {
    if !faults_run("PostgreSQL") {
        return;
    }
    assert!(
        !std::env::var("TEST_DATABASE_URL")
            .unwrap_or_default()
            .is_empty(),
        "the PostgreSQL fault scenario needs TEST_DATABASE_URL"
    );
    let env = Env::new(None).await;
    let node = env.start().await;
    let http = reqwest::Client::new();
    let clinic = clinic(&http, &node.base, "falhas", "11.444.777/0001-61").await;
    let desk = login(&http, &node.base, "recepcao@falhas.test").await;
    let topic = format!("clinic:{clinic}:queue");
    let target = Arc::new(AtomicI64::new(0));
    let joined = Arc::new(AtomicUsize::new(0));
    let subscriber = tokio::spawn(follow(
        Arc::new(std::sync::Mutex::new(vec![node.base.clone()])),
        0,
        desk.clone(),
        topic.clone(),
        target.clone(),
        joined.clone(),
    ));
    while joined.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (version, cluster) = postgres_cluster();
    let restarter = tokio::spawn(async move {
        // Down for three seconds (a plain restart here takes ~0.3 s, which the connection
        // pool rides out without a single refused request: measured, see operations.md).
        tokio::time::sleep(Duration::from_secs(2)).await;
        for (action, pause) in [("stop", 3), ("start", 0)] {
            let out = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &version, &cluster, action])
                .output()
                .expect("pg_ctlcluster");
            assert!(
                out.status.success(),
                "{action}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_secs(pause)).await;
        }
    });
    let (mut ok, mut failed, mut slowest) = (0usize, Vec::new(), Duration::ZERO);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(12) {
        let began = Instant::now();
        let resp = http
            .post(format!("{}/api/clinics/{clinic}/queue", node.base))
            .bearer_auth(&desk)
            .json(&json!({"full_name": walk_in_name(n)}))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the server answers, even while the database is down");
        slowest = slowest.max(began.elapsed());
        n += 1;
        if resp.status().is_success() {
            ok += 1;
        } else {
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            failed.push((
                status.as_u16(),
                body["code"].as_str().unwrap_or("?").to_string(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    restarter.await.expect("restart");
    eprintln!(
        "{ok} check-ins stored, {} refused while PostgreSQL restarted ({:?}…), slowest answer {slowest:?}",
        failed.len(),
        failed.iter().take(3).collect::<Vec<_>>()
    );
    assert!(ok > 0, "check-ins succeed again after the restart");
    assert!(
        failed.iter().all(|(s, c)| *s >= 500 && !c.is_empty()),
        "failures are server errors with a code: {failed:?}"
    );

    // Everything stored is delivered to the subscriber, once, in order.
    let mut c = sqlx::PgConnection::connect(&env.db).await.expect("pg");
    let head: i64 = sqlx::query_scalar("SELECT last_seq FROM topic_seqs WHERE topic = $1")
        .bind(&topic)
        .fetch_one(&mut c)
        .await
        .expect("head");
    let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue_entries")
        .fetch_one(&mut c)
        .await
        .expect("entries");
    assert_eq!(
        entries as usize, ok,
        "every answered check-in is stored, no other"
    );
    target.store(head, Ordering::SeqCst);
    let (first, seqs) = tokio::time::timeout(Duration::from_secs(60), subscriber)
        .await
        .expect("the subscriber catches up")
        .expect("subscriber");
    assert_eq!(seqs, (first..=head).collect::<Vec<_>>());
}

/// The SQLite disk full: writes answer `storage_full` (507-class, clear), nothing is
/// half-written (the audit chain still verifies), and once space is freed writes succeed.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_full_sqlite_disk_refuses_writes_clearly_and_loses_nothing() {
    if !faults_run("full-disk") {
        return;
    }
    let mount = tempfile::tempdir().expect("mount point");
    let mp = mount.path().to_string_lossy().to_string();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24M", "tmpfs", &mp])
        .output()
        .expect("mount");
    assert!(
        out.status.success(),
        "mounting a tmpfs (needs root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    struct Unmount(String);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).output();
        }
    }
    let _unmount = Unmount(mp.clone());
    // SQLite on the small filesystem.
    let db = format!("sqlite://{mp}/atende.db");
    let env = Env::on(None, Some(db)).await;
    let node = env.start().await;
    let http = reqwest::Client::new();
    let clinic = clinic(&http, &node.base, "cheio", "11.444.777/0001-61").await;
    let desk = login(&http, &node.base, "recepcao@cheio.test").await;
    let check_in = |n: usize| {
        let (http, base, clinic, desk) = (
            http.clone(),
            node.base.clone(),
            clinic.clone(),
            desk.clone(),
        );
        async move {
            let resp = http
                .post(format!("{base}/api/clinics/{clinic}/queue"))
                .bearer_auth(&desk)
                .json(&json!({"full_name": walk_in_name(n)}))
                .send()
                .await
                .expect("answer");
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            (
                status.as_u16(),
                body["code"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    assert_eq!(check_in(0).await.0, 201);
    // Fill the disk, leaving almost nothing.
    let filler = format!("{mp}/filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", &format!("of={filler}"), "bs=64k"])
        .output();
    let mut refused = None;
    for n in 1..200 {
        let (status, code) = check_in(n).await;
        if status != 201 {
            refused = Some((status, code));
            break;
        }
    }
    let (status, code) = refused.expect("a full disk refuses a write");
    assert_eq!((status, code.as_str()), (503, "storage_full"));
    // Space back: writes work again, and the audit chain is whole.
    std::fs::remove_file(&filler).expect("free space");
    // Every pooled connection works again (one left inside the transaction the full disk
    // ended would refuse every later write with an internal error): one after another, then
    // several at once so the pool hands out all of its connections.
    for n in 1000..1010 {
        assert_eq!(
            check_in(n).await,
            (201, String::new()),
            "write {n} after space was freed"
        );
    }
    let burst = futures_util::future::join_all((1010..1030).map(&check_in)).await;
    assert!(
        burst.iter().all(|(status, _)| *status == 201),
        "writes at once after space was freed: {burst:?}"
    );
    drop(node);
    let verify = env.run(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
