//! A real `atende` process killed (SIGKILL) three times while it signs a batch of
//! documents: every document ends signed, once, with a valid signature, and no restart is
//! counted as a signer failure (before, each restart counted as an attempt and documents in
//! flight across a few restarts were abandoned as `signer_crashed`).

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection as _;

use super::prescription;
use super::validators::{nss_trusting, pdfsig, validators_available};
use crate::processes::{Env, clinic, login, post};

const DOCUMENTS: usize = 120;

async fn get(http: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    http.get(url).bearer_auth(token).send().await.expect("GET")
}

/// One integer column of a query, straight from the database.
async fn column(env: &Env, sql: &'static str) -> Vec<i64> {
    if env.db.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&env.db).await.expect("pg");
        sqlx::query_scalar(sql).fetch_all(&mut c).await.expect(sql)
    } else {
        let mut c = sqlx::SqliteConnection::connect(&env.db)
            .await
            .expect("sqlite");
        sqlx::query_scalar(sql).fetch_all(&mut c).await.expect(sql)
    }
}

async fn pending(env: &Env) -> i64 {
    column(
        env,
        "SELECT COUNT(*) FROM documents WHERE status = 'pending'",
    )
    .await[0]
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn documents_in_flight_across_repeated_kills_are_each_signed_once() {
    // Short leases so a killed signer's documents come back within the test.
    let env = Env::new(None)
        .await
        .set("ATENDE_DOCUMENTS__SIGNING_LEASE_SECS", "2")
        .set("ATENDE_DOCUMENTS__SIGNER_THREADS", "1");
    // The first node only accepts documents, so all of them wait as pending.
    let mut node = env
        .start_with(&[("ATENDE_DOCUMENTS__SIGN_ON_THIS_NODE", "false")])
        .await;
    let http = reqwest::Client::new();
    let clinic = clinic(&http, &node.base, "assina", "45.723.174/0001-10").await;
    let desk = login(&http, &node.base, "recepcao@assina.test").await;
    let patient = post(
        &http,
        &format!("{}/api/clinics/{clinic}/patients", node.base),
        Some(&desk),
        json!({"full_name": "Joana Prado", "cpf": "529.982.247-25", "birth_date": "1980-03-04"}),
    )
    .await;
    let patient = patient["id"].as_str().expect("patient id").to_string();
    let doctor = login(&http, &node.base, "medica@assina.test").await;
    let mut ids = Vec::new();
    for _ in 0..DOCUMENTS {
        let d = post(
            &http,
            &format!("{}/api/documents", node.base),
            Some(&doctor),
            json!({"clinic_id": clinic, "patient_id": patient, "content": prescription()}),
        )
        .await;
        ids.push(d["id"].as_str().expect("document id").to_string());
    }

    // Signing nodes, killed three times while they sign; each time a new one takes over.
    node.kill();
    let mut pending_at_kills = Vec::new();
    node = env.start().await;
    let mut left = DOCUMENTS as i64;
    for _ in 0..3 {
        // Kill once this signer has signed a few: it is in the middle of the batch.
        for _ in 0..300 {
            if pending(&env).await <= left - 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        left = pending(&env).await;
        pending_at_kills.push(left);
        node.kill();
        node = env.start().await;
    }
    eprintln!("pending documents when each signer was killed: {pending_at_kills:?}");
    assert!(
        pending_at_kills
            .iter()
            .all(|n| *n > 0 && *n < DOCUMENTS as i64),
        "the signers must be killed while documents are in flight: {pending_at_kills:?}"
    );

    // Everything ends signed (leases of the killed processes run out after 2 s).
    let mut settled = Vec::new();
    for id in &ids {
        let mut doc = Value::Null;
        for _ in 0..600 {
            doc = get(&http, &format!("{}/api/documents/{id}", node.base), &doctor)
                .await
                .json()
                .await
                .expect("document json");
            if doc["status"] != "pending" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(doc["status"], "signed", "{doc}");
        settled.push(doc);
    }
    // No restart was counted against a document.
    let attempts: Vec<i64> = match env.db.starts_with("postgres") {
        true => {
            let mut c = sqlx::PgConnection::connect(&env.db).await.expect("pg");
            sqlx::query_scalar("SELECT attempts::bigint FROM documents")
                .fetch_all(&mut c)
                .await
                .expect("attempts")
        }
        false => {
            let mut c = sqlx::SqliteConnection::connect(&env.db)
                .await
                .expect("sqlite");
            sqlx::query_scalar("SELECT attempts FROM documents")
                .fetch_all(&mut c)
                .await
                .expect("attempts")
        }
    };
    assert_eq!(attempts.len(), DOCUMENTS);
    assert!(attempts.iter().all(|a| *a == 0), "{attempts:?}");

    // Each stored file is one atende signed, and its signature is valid.
    let ca = http
        .get(format!("{}/api/public/signing-ca.pem", node.base))
        .send()
        .await
        .expect("ca")
        .text()
        .await
        .expect("ca text");
    let dir = tempfile::tempdir().expect("tempdir");
    let check_signatures = validators_available();
    let db = check_signatures.then(|| nss_trusting(dir.path(), "ca", &ca));
    for id in &ids {
        let pdf = get(
            &http,
            &format!("{}/api/documents/{id}/pdf", node.base),
            &doctor,
        )
        .await
        .bytes()
        .await
        .expect("pdf");
        let checked: Value = http
            .post(format!("{}/api/public/documents/check", node.base))
            .header("content-type", "application/pdf")
            .body(pdf.clone())
            .send()
            .await
            .expect("check")
            .json()
            .await
            .expect("check json");
        assert_eq!(checked["intact"], true, "{id}: {checked}");
        if let Some(db) = &db {
            let file = dir.path().join(format!("{id}.pdf"));
            std::fs::write(&file, &pdf).expect("write pdf");
            let report = pdfsig(db, &file);
            assert!(
                report.contains("Signature is Valid.")
                    && report.contains("Certificate is Trusted."),
                "{id}: {report}"
            );
        }
    }
}
