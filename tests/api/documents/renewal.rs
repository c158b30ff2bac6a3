//! Certificates end: the installation renews its own near their end, and an imported
//! certificate past its end signs nothing.

use atende::clock::Clock as _;
use reqwest::StatusCode;

use super::*;
use crate::helpers::*;

/// The time a JSON field holds.
fn time_of(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().expect("a time").parse().expect("RFC 3339")
}

async fn key_of(app: &TestApp, who: &Session) -> Value {
    let (status, key) = json_of(app.get("/api/me/signing-key", Some(&who.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    key
}

fn audited(rows: &[atende::security::audit::AuditRow], action: &str) -> usize {
    rows.iter().filter(|r| r.action == action).count()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_installation_certificate_near_its_end_is_renewed_once_and_signs_the_next_documents() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let old = time_of(&key_of(&app, &d.helena).await["not_after"]);

    // Ten days before its end (by the app's clock), three documents at once: one renewal,
    // and every document signed with the new certificate.
    app.clock.set(old - chrono::Duration::days(10));
    let sent = futures_util::future::join_all(
        (0..3).map(|_| issue(&app, &d.helena, &d.clinic, &d.joao_id, prescription())),
    )
    .await;
    let mut ids = Vec::new();
    for resp in sent {
        let (status, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    for id in &ids {
        assert_eq!(settled(&app, &d.helena, id).await["status"], "signed");
    }

    let key = key_of(&app, &d.helena).await;
    assert_eq!(key["source"], "installation_ca");
    let new = time_of(&key["not_after"]);
    assert!(
        new > app.clock.now() + chrono::Duration::days(3 * 365 - 1),
        "a fresh three-year certificate from the app's today: {key}"
    );
    let pro = app
        .state
        .store
        .professional_by_user(atende::domain::UserId(
            d.helena.me["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid"),
        ))
        .await
        .expect("read")
        .expect("Helena is a professional");
    let active = app
        .state
        .store
        .active_signing_key(pro.id)
        .await
        .expect("read")
        .expect("an active key");
    assert_eq!(active.not_after, new);
    for id in &ids {
        let doc = app
            .state
            .store
            .document(id.parse().expect("uuid"))
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(
            doc.d.signing_key_id,
            Some(active.id),
            "signed with the renewed key"
        );
    }

    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert_eq!(audited(&rows, "signing_key.renew"), 1, "renewed once");
    let renewal = rows
        .iter()
        .find(|r| r.action == "signing_key.renew")
        .expect("renewal row");
    let details: Value = serde_json::from_str(&renewal.details).expect("details");
    assert_eq!(time_of(&details["previous_not_after"]), old, "{details}");
    // Nothing left near its end: the operators' alert clears.
    assert_eq!(
        app.metric(r#"atende_signing_certificates_expiring{source="installation_ca"}"#)
            .await,
        Some(0.0)
    );

    // Looking at the key is need enough, too: near the new one's end, the page shows a
    // newer one.
    app.clock.set(new - chrono::Duration::days(1));
    let newer = time_of(&key_of(&app, &d.helena).await["not_after"]);
    assert!(newer > new, "{newer} after {new}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_expired_imported_certificate_refuses_new_documents_until_its_holder_acts() {
    use atende::documents::pki;
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let (root_key, root_cert) =
        pki::generate_ca("AC Teste ICP", std::time::SystemTime::now()).expect("root");
    let pfx = helena_pfx(&root_key, &root_cert, std::time::SystemTime::now());
    let (status, key) = json_of(import_key(&app, &d.helena, &pfx, "s3nha-forte").await).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let ends = time_of(&key["not_after"]);

    // A day past its end: issuing is refused, and nothing is stored.
    app.clock.set(ends + chrono::Duration::days(1));
    let before = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let (status, body) =
        json_of(issue(&app, &d.helena, &d.clinic, &d.joao_id, prescription()).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "certificate_expired");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains(&ends.format("%d/%m/%Y").to_string()),
        "{body}"
    );
    let after = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert_eq!(
        audited(&after, "document.issue"),
        audited(&before, "document.issue"),
        "no document stored"
    );
    // The page still shows it (so it can say it ended); it is not swapped behind the
    // holder's back for one outside ICP-Brasil.
    let shown = key_of(&app, &d.helena).await;
    assert_eq!(shown["source"], "imported");
    assert_eq!(time_of(&shown["not_after"]), ends);

    // Going back to the installation's certificate signs again.
    back_to_installation_key(&app, &d.helena).await;
    let id = issued(&app, &d, prescription()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(settled(&app, &d.helena, &id).await["status"], "signed");
}
