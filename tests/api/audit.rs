use atende::security::audit::ChainReport;
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

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
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
    assert_eq!(
        app.verify_audit().await,
        ChainReport::Broken {
            seq: 3,
            reason: "row content does not match its hash (changed after writing)".into()
        }
    );
}

#[actix_web::test]
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

#[actix_web::test]
async fn verification_finds_a_row_rewritten_with_a_recomputed_hash() {
    // An attacker who recomputes the changed row's own hash still breaks the next link.
    let app = spawn_app().await;
    app.seed_demo().await;
    let mut rows = app.state.store.audit_page(0, 10).await.expect("rows");
    let mut row = rows.remove(2);
    row.ip = Some("10.1.1.1".into());
    row.hash = String::new();
    let forged = atende::security::audit::chain_hash(&row);
    let (pg, lite) = (
        format!(
            "UPDATE audit_log SET ip = '10.1.1.1', hash = '{forged}' WHERE seq = {}",
            row.seq
        ),
        format!(
            "UPDATE audit_log SET ip = '10.1.1.1', hash = '{forged}' WHERE seq = {}",
            row.seq
        ),
    );
    let pg: &'static str = Box::leak(pg.into_boxed_str());
    let lite: &'static str = Box::leak(lite.into_boxed_str());
    tamper(
        &app,
        &["DROP TRIGGER audit_log_no_change ON audit_log", pg],
        &["DROP TRIGGER audit_log_no_update", lite],
    )
    .await;
    assert!(
        matches!(app.verify_audit().await, ChainReport::Broken { seq, .. } if seq == row.seq + 1)
    );
}
