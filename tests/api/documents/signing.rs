//! The signer pool loses nothing: a crashing signer, and documents accepted by a node that
//! does not sign.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;

use super::*;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_crashing_signer_loses_no_document() {
    let app = spawn_app_with(|s| s.documents.signer_threads = 2).await;
    let d = fixture(&app).await;
    // Warm the keys up so the crash hits signing, not key creation.
    let first = issued(&app, &d, exams()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &first).await;
    // Two signers, two crashes while eight documents are in flight: every one is signed.
    app.state.documents.faults.store(2, Ordering::SeqCst);
    let mut ids = Vec::new();
    let bodies = futures_util::future::join_all(
        (0..8).map(|_| issue(&app, &d.helena, &d.clinic, &d.joao_id, prescription())),
    )
    .await;
    for resp in bodies {
        let (status, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    for id in &ids {
        assert_eq!(settled(&app, &d.helena, id).await["status"], "signed");
    }
    assert_eq!(
        app.state.documents.faults.load(Ordering::SeqCst),
        0,
        "both crashes happened"
    );
    // A document that crashes every signer it meets ends `failed` with a reason…
    app.state.documents.faults.store(1000, Ordering::SeqCst);
    let doomed = issued(&app, &d, exams()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let doc = settled(&app, &d.helena, &doomed).await;
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["failure"], "signer_crashed");
    assert_error(
        app.get(
            &format!("/api/documents/{doomed}/pdf"),
            Some(&d.helena.access),
        )
        .await,
        StatusCode::CONFLICT,
        "not_signed",
    )
    .await;
    // …and the pool still works.
    app.state.documents.faults.store(0, Ordering::SeqCst);
    let after = issued(&app, &d, exams()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(settled(&app, &d.helena, &after).await["status"], "signed");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn documents_accepted_by_a_node_that_does_not_sign_are_signed_at_the_next_start() {
    let a = spawn_app_with(|s| s.documents.sign_on_this_node = false).await;
    let d = fixture(&a).await;
    let id = issued(&a, &d, certificate()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, doc) = json_of(
        a.get(&format!("/api/documents/{id}"), Some(&d.helena.access))
            .await,
    )
    .await;
    assert_eq!(doc["status"], "pending");
    a.shutdown.shutdown().await;
    let b = spawn_node(Some(a.db_url.clone()), |_| {}).await;
    let helena = b.login("dra.helena@atende.demo", PW).await;
    assert_eq!(settled(&b, &helena, &id).await["status"], "signed");
}

/// Only a signed document can be revoked: a pending one (here on a node that does not sign)
/// answers 409 `not_signed` and stays pending, so it is not signed after a "revocation" that
/// never applied.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_document_not_yet_signed_cannot_be_revoked() {
    let app = spawn_app_with(|s| s.documents.sign_on_this_node = false).await;
    let d = fixture(&app).await;
    let id = issued(&app, &d, certificate()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_error(
        app.post(
            &format!("/api/documents/{id}/revoke"),
            Some(&d.helena.access),
            &json!({"reason": "Emitido por engano"}),
        )
        .await,
        StatusCode::CONFLICT,
        "not_signed",
    )
    .await;
    let (_, doc) = json_of(
        app.get(&format!("/api/documents/{id}"), Some(&d.helena.access))
            .await,
    )
    .await;
    assert_eq!(doc["status"], "pending");
    assert_eq!(doc["revoked"], false);
}

/// The installation CA issuing a professional's certificate on first need is audited, once.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn issuing_a_professionals_certificate_is_audited_once() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    for _ in 0..2 {
        let (status, key) =
            json_of(app.get("/api/me/signing-key", Some(&d.rafael.access)).await).await;
        assert_eq!(status, StatusCode::OK, "{key}");
        assert_eq!(key["source"], "installation_ca");
    }
    let rafael = d.rafael.me["id"].as_str().expect("id").to_string();
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let issued = rows
        .iter()
        .filter(|r| {
            r.action == "signing_key.issue"
                && r.actor_user_id.map(|u| u.to_string()) == Some(rafael.clone())
        })
        .count();
    assert_eq!(issued, 1, "one certificate issued for Rafael, audited once");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn metrics_warn_of_an_imported_certificate_that_expires_within_30_days_then_of_one_expired() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    // Rafael signs with the installation's certificate (which renews itself); Helena with
    // one she imported (which only she can renew).
    let (status, _) = json_of(app.get("/api/me/signing-key", Some(&d.rafael.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    let (root_key, root_cert) =
        atende::documents::pki::generate_ca("AC Teste ICP", std::time::SystemTime::now())
            .expect("root");
    let pfx = helena_pfx(&root_key, &root_cert, std::time::SystemTime::now());
    let (status, key) = json_of(import_key(&app, &d.helena, &pfx, "s3nha-forte").await).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["source"], "imported");
    let not_after: chrono::DateTime<chrono::Utc> = key["not_after"]
        .as_str()
        .expect("not_after")
        .parse()
        .expect("time");
    let app = &app;
    let gauge = |name: &'static str, source: &'static str| async move {
        let labelled = format!("{name}{{source=\"{source}\"}}");
        app.metric(&labelled)
            .await
            .unwrap_or_else(|| panic!("{labelled} not in /metrics"))
    };
    const EXPIRED: &str = "atende_signing_certificates_expired";
    const EXPIRING: &str = "atende_signing_certificates_expiring";
    const NEXT: &str = "atende_signing_certificate_next_expiry_timestamp_seconds";

    assert_eq!(gauge(EXPIRED, "imported").await, 0.0);
    assert_eq!(gauge(EXPIRING, "imported").await, 0.0);
    assert_eq!(gauge(NEXT, "imported").await, not_after.timestamp() as f64);
    assert!(gauge(NEXT, "installation_ca").await > 0.0);

    // Ten days before it expires (by the app's clock): expiring.
    app.clock.set(not_after - chrono::Duration::days(10));
    assert_eq!(gauge(EXPIRING, "imported").await, 1.0);
    assert_eq!(gauge(EXPIRED, "imported").await, 0.0);

    // A day after: expired, and no valid imported certificate is left to expire next.
    app.clock.set(not_after + chrono::Duration::days(1));
    assert_eq!(gauge(EXPIRED, "imported").await, 1.0);
    assert_eq!(gauge(EXPIRING, "imported").await, 0.0);
    assert_eq!(gauge(NEXT, "imported").await, 0.0);
}
