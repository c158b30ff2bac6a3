use atende::security::audit::{AuditRow, ChainReport, chain_hash};
use reqwest::StatusCode;

use crate::helpers::*;

async fn tamper(app: &TestApp, sql_pg: &[&'static str], sql_lite: &[&'static str]) {
    if app.is_postgres() {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        for s in sql_pg {
            sqlx::query(*s).execute(&mut conn).await.expect("tamper");
        }
    } else {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        for s in sql_lite {
            sqlx::query(*s).execute(&mut conn).await.expect("tamper");
        }
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn staff_reads_of_patient_data_are_audited_and_the_chain_verifies() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = helena.clinic("professional");
    let resp = app
        .get(
            &format!("/api/clinics/{clinic}/patients"),
            Some(&helena.access),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let read = rows
        .iter()
        .find(|r| r.action == "patient.list")
        .expect("a patient.list row");
    assert_eq!(
        read.actor_user_id.map(|u| u.to_string()).as_deref(),
        helena.me["id"].as_str()
    );
    assert_eq!(read.ip.as_deref(), Some("127.0.0.1"));
    match app.verify_audit().await {
        ChainReport::Intact { rows: n, .. } => assert_eq!(n as usize, rows.len()),
        broken => panic!("chain should be intact: {broken:?}"),
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_audit_log_refuses_changes_through_the_database() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let result = if app.is_postgres() {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        sqlx::query("UPDATE audit_log SET action = 'x' WHERE seq = 1")
            .execute(&mut conn)
            .await
            .map(|_| ())
    } else {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        sqlx::query("DELETE FROM audit_log WHERE seq = 1")
            .execute(&mut conn)
            .await
            .map(|_| ())
    };
    let err = result.expect_err("append-only trigger must refuse");
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn verification_finds_a_changed_row() {
    let app = spawn_app().await;
    app.seed_demo().await;
    assert!(matches!(
        app.verify_audit().await,
        ChainReport::Intact { .. }
    ));
    tamper(
        &app,
        &[
            "DROP TRIGGER audit_log_no_change ON audit_log",
            "UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = 3",
        ],
        &[
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = 3",
        ],
    )
    .await;
    assert!(
        matches!(
            app.verify_audit().await,
            ChainReport::Broken { seq: 3, ref reason } if reason.contains("does not match its MAC")
        ),
        "{:?}",
        app.verify_audit().await
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn verification_finds_a_deleted_row() {
    let app = spawn_app().await;
    app.seed_demo().await;
    tamper(
        &app,
        &[
            "DROP TRIGGER audit_log_no_change ON audit_log",
            "DELETE FROM audit_log WHERE seq = 5",
        ],
        &[
            "DROP TRIGGER audit_log_no_delete",
            "DELETE FROM audit_log WHERE seq = 5",
        ],
    )
    .await;
    assert!(matches!(
        app.verify_audit().await,
        ChainReport::Broken { seq: 5, .. }
    ));
}

/// Rewrite the log as an attacker with database access but without the audit key would:
/// drop the append-only triggers, replace every row from `from_seq` on with `rewrite`'s
/// rows, recomputing their plain SHA-256 chain (`prev_hash`, `hash`) from the row before;
/// their MACs are kept as they were (the attacker cannot compute new ones).
async fn rewrite_from(
    app: &TestApp,
    from_seq: i64,
    rewrite: impl FnOnce(Vec<AuditRow>) -> Vec<AuditRow>,
) {
    let all = app.state.store.audit_page(0, 100_000).await.expect("rows");
    let mut prev_hash = if from_seq > 1 {
        all[(from_seq - 2) as usize].hash.clone()
    } else {
        atende::security::audit::GENESIS_HASH.to_string()
    };
    let suffix: Vec<AuditRow> = all.into_iter().filter(|r| r.seq >= from_seq).collect();
    let mut rows = rewrite(suffix);
    for row in &mut rows {
        row.prev_hash = prev_hash.clone();
        row.hash = chain_hash(row);
        prev_hash = row.hash.clone();
    }
    let delete = format!("DELETE FROM audit_log WHERE seq >= {from_seq}");
    let insert = "INSERT INTO audit_log (seq, at, actor_user_id, action, entity, entity_id, clinic_id, ip, \
                  details, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    macro_rules! apply {
        ($conn:expr, $drop:expr) => {{
            let mut conn = $conn;
            for d in $drop {
                sqlx::query(d)
                    .execute(&mut conn)
                    .await
                    .expect("drop trigger");
            }
            sqlx::query(sqlx::AssertSqlSafe(delete.clone()))
                .execute(&mut conn)
                .await
                .expect("delete");
            for r in &rows {
                sqlx::query(insert)
                    .bind(r.seq)
                    .bind(r.at)
                    .bind(r.actor_user_id)
                    .bind(&r.action)
                    .bind(&r.entity)
                    .bind(&r.entity_id)
                    .bind(r.clinic_id)
                    .bind(&r.ip)
                    .bind(&r.details)
                    .bind(&r.prev_hash)
                    .bind(&r.hash)
                    .bind(&r.mac)
                    .execute(&mut conn)
                    .await
                    .expect("insert");
            }
        }};
    }
    if app.is_postgres() {
        apply!(
            <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
                .await
                .expect("connect"),
            ["DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log"]
        );
    } else {
        apply!(
            <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url)
                .await
                .expect("connect"),
            [
                "DROP TRIGGER IF EXISTS audit_log_no_update",
                "DROP TRIGGER IF EXISTS audit_log_no_delete"
            ]
        );
    }
}

/// A log of some rows, verified intact, and how many.
async fn seeded_log(app: &TestApp) -> i64 {
    app.seed_demo().await;
    let rows = app.state.store.audit_page(0, 100_000).await.expect("rows");
    assert!(
        rows.len() >= 6,
        "the demo writes some audit rows: {}",
        rows.len()
    );
    assert!(matches!(
        app.verify_audit().await,
        ChainReport::Intact { .. }
    ));
    rows.len() as i64
}

fn broken_at(report: &ChainReport) -> Option<i64> {
    match report {
        ChainReport::Broken { seq, .. } => Some(*seq),
        ChainReport::Intact { .. } => None,
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_untouched_log_verifies_with_its_macs_and_anchors() {
    let app = spawn_app().await;
    let n = seeded_log(&app).await;
    let anchor = app.anchor_audit().await;
    assert_eq!(anchor.seq, n);
    let rows = app.state.store.audit_page(0, 100_000).await.expect("rows");
    assert!(
        rows.iter()
            .all(|r| r.mac.as_deref().is_some_and(|m| m.starts_with("ta1:")))
    );
    match app.verify_audit().await {
        ChainReport::Intact {
            rows,
            legacy,
            anchors,
            ..
        } => {
            assert_eq!(rows as i64, n);
            assert_eq!(legacy, 0);
            assert_eq!(anchors, 1);
        }
        broken => panic!("should be intact: {broken:?}"),
    }
    // An unchanged head is not anchored twice.
    assert!(
        app.state
            .audit
            .anchor_now(&app.state.store)
            .await
            .expect("anchor")
            .is_none()
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_row_edited_and_the_rest_rehashed_without_the_key_is_named() {
    // Plain SHA-256 is all an attacker without the audit key can recompute: the hash chain
    // is consistent again, the edited row's MAC is not.
    let app = spawn_app().await;
    let n = seeded_log(&app).await;
    rewrite_from(&app, 3, |mut rows| {
        rows[0].ip = Some("10.1.1.1".into());
        rows
    })
    .await;
    let report = app.verify_audit().await;
    assert_eq!(broken_at(&report), Some(3), "{report:?}");
    assert!(format!("{report:?}").contains("MAC"), "{report:?}");
    assert!(n > 3);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_middle_row_deleted_and_the_rest_renumbered_and_rehashed_is_named() {
    let app = spawn_app().await;
    let n = seeded_log(&app).await;
    rewrite_from(&app, 4, |rows| {
        rows.into_iter()
            .skip(1)
            .map(|mut r| {
                r.seq -= 1;
                r
            })
            .collect()
    })
    .await;
    let after = app.state.store.audit_page(0, 100_000).await.expect("rows");
    assert_eq!(after.len() as i64, n - 1, "no gap left in seq");
    let report = app.verify_audit().await;
    assert_eq!(broken_at(&report), Some(4), "{report:?}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn truncating_the_tail_past_the_last_anchor_is_detected() {
    let app = spawn_app().await;
    let n = seeded_log(&app).await;
    app.anchor_audit().await;
    rewrite_from(&app, n - 1, |_| Vec::new()).await;
    let report = app.verify_audit().await;
    assert_eq!(broken_at(&report), Some(n - 1), "{report:?}");
    assert!(format!("{report:?}").contains("truncated"), "{report:?}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn macs_stripped_from_every_row_and_the_chain_rehashed_are_detected() {
    // Without MACs the rows would look like rows from before the audit key; the anchor
    // says from which row on every row is keyed.
    let app = spawn_app().await;
    seeded_log(&app).await;
    app.anchor_audit().await;
    rewrite_from(&app, 1, |rows| {
        rows.into_iter()
            .map(|mut r| {
                r.mac = None;
                r
            })
            .collect()
    })
    .await;
    let report = app.verify_audit().await;
    assert_eq!(broken_at(&report), Some(1), "{report:?}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_anchor_changed_in_its_file_is_refused() {
    let app = spawn_app().await;
    seeded_log(&app).await;
    app.anchor_audit().await;
    let path = app.state.audit.log().path().to_path_buf();
    let text = std::fs::read_to_string(&path).expect("anchor file");
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("one json line");
    let forged = text.replace(
        &format!("\"seq\":{}", v["seq"]),
        &format!("\"seq\":{}", v["seq"].as_i64().expect("seq") - 2),
    );
    assert_ne!(forged, text);
    std::fs::write(&path, forged).expect("write");
    let keys = app.state.store.audit_keys().expect("keys");
    let problem = app
        .state
        .audit
        .log()
        .read(keys)
        .expect("readable")
        .expect_err("a forged anchor is refused");
    assert_eq!(problem.line, 1);
    assert!(problem.reason.contains("MAC"), "{problem:?}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn rows_from_before_the_audit_key_are_sealed_at_start_and_checked_by_hash() {
    // A log written by the old code (no MAC column values): the next start seals it with an
    // `audit.keyed` row, and rewriting a legacy row afterwards breaks that seal.
    let app = spawn_app().await;
    seeded_log(&app).await;
    rewrite_from(&app, 1, |rows| {
        rows.into_iter()
            .map(|mut r| {
                r.mac = None;
                r
            })
            .collect()
    })
    .await;
    let legacy = app
        .state
        .store
        .seal_legacy_audit()
        .await
        .expect("seal")
        .expect("a legacy head to seal");
    assert!(
        app.state
            .store
            .seal_legacy_audit()
            .await
            .expect("seal")
            .is_none()
    );
    let rows = app.state.store.audit_page(0, 100_000).await.expect("rows");
    let seal = rows.last().expect("seal row");
    assert_eq!(seal.action, "audit.keyed");
    assert_eq!(seal.seq, legacy + 1);
    match app.verify_audit().await {
        ChainReport::Intact { legacy: l, .. } => assert_eq!(l as i64, legacy),
        broken => panic!("should be intact: {broken:?}"),
    }
    rewrite_from(&app, 2, |mut rows| {
        rows[0].ip = Some("10.2.2.2".into());
        rows
    })
    .await;
    let report = app.verify_audit().await;
    assert_eq!(broken_at(&report), Some(legacy + 1), "{report:?}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn two_nodes_anchor_what_each_sees_and_verification_accepts_any_matching_anchor() {
    let a = spawn_app().await;
    let n = seeded_log(&a).await;
    let b = spawn_node(Some(a.db_url.clone()), |_| {}).await;
    let seen_by_a = a.anchor_audit().await;
    b.state
        .store
        .record_audit(&atende::security::audit::AuditEvent::new(
            None,
            "test.second_node",
            "test",
        ))
        .await
        .expect("append on node b");
    let seen_by_b = b.anchor_audit().await;
    assert_eq!((seen_by_a.seq, seen_by_b.seq), (n, n + 1));
    assert_ne!(seen_by_a.node, seen_by_b.node);
    assert_ne!(a.state.audit.log().path(), b.state.audit.log().path());
    let keys = a.state.store.audit_keys().expect("keys");
    let read = |app: &TestApp| {
        app.state
            .audit
            .log()
            .read(keys)
            .expect("readable")
            .expect("valid")
    };
    let both: Vec<_> = read(&a).into_iter().chain(read(&b)).collect();
    match a
        .state
        .store
        .verify_audit_chain(both.clone())
        .await
        .expect("verify")
    {
        ChainReport::Intact { anchors, .. } => assert_eq!(anchors, 2),
        broken => panic!("should be intact: {broken:?}"),
    }
    // Dropping the row only node b anchored: node a's file alone cannot tell, b's can.
    rewrite_from(&a, n + 1, |_| Vec::new()).await;
    assert!(matches!(
        a.state
            .store
            .verify_audit_chain(read(&a))
            .await
            .expect("verify"),
        ChainReport::Intact { .. }
    ));
    let report = a
        .state
        .store
        .verify_audit_chain(both)
        .await
        .expect("verify");
    assert_eq!(broken_at(&report), Some(n + 1), "{report:?}");
}
