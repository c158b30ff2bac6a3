//! Issuing: every kind is signed and covers the whole file, the status reaches the
//! professional live, documents stay private to their issuer, patient and clinic, and bad
//! input gets clear errors and stores nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn every_kind_is_issued_signed_and_covers_the_whole_file() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    // A preview is a PDF without a signature, and stores nothing.
    let resp = app
        .post(
            "/api/documents/preview",
            Some(&d.helena.access),
            &json!({"clinic_id": d.clinic, "patient_id": d.joao_id, "content": prescription()}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let preview = resp.bytes().await.expect("pdf");
    assert!(preview.starts_with(b"%PDF-"));
    assert!(!String::from_utf8_lossy(&preview).contains("ETSI.CAdES.detached"));
    let (_, none) = json_of(app.get("/api/me/documents", Some(&d.helena.access)).await).await;
    assert_eq!(none["documents"].as_array().expect("list").len(), 0);
    for (content, kind) in [
        (prescription(), "prescription"),
        (special(), "special_prescription"),
        (certificate(), "certificate"),
        (exams(), "exam_request"),
    ] {
        let body = issued(&app, &d, content.clone()).await;
        let id = body["id"].as_str().expect("id");
        let code = body["code"].as_str().expect("code");
        assert!(
            body["verify_url"]
                .as_str()
                .expect("url")
                .ends_with(&format!("/v/{id}"))
        );
        let doc = settled(&app, &d.helena, id).await;
        assert_eq!(doc["status"], "signed", "{doc}");
        assert_eq!(doc["kind"], kind);
        assert_eq!(doc["content"]["kind"], kind);
        assert_eq!(doc["code"], code);
        let pdf = pdf_of(&app, &d.helena, id).await;
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(
            text.contains("/SubFilter /ETSI.CAdES.detached")
                || text.contains("/SubFilter/ETSI.CAdES.detached")
        );
        assert!(text.contains("/SigFlags"));
        assert!(text.contains("2.16.76.1.4.2.2.1"), "ITI metadata");
        // The signature covers everything but its own hex string.
        let [a, b, c, len] = byte_range(&pdf);
        assert_eq!(a, 0);
        assert_eq!(c + len, pdf.len());
        assert_eq!(pdf[b], b'<');
        assert_eq!(pdf[c - 1], b'>');
        // The patient downloads the same file.
        assert_eq!(pdf_of(&app, &d.joao, id).await, pdf);
        // The stored hash is the file's.
        use sha2::Digest;
        assert_eq!(doc["sha256"], hex::encode(sha2::Sha256::digest(&pdf)));
    }
    // The patient sees their four signed documents.
    let (_, mine) = json_of(app.get("/api/me/documents", Some(&d.joao.access)).await).await;
    assert_eq!(mine["documents"].as_array().expect("list").len(), 4);
    // Issuing is audited.
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_professional_gets_the_status_live() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let mut ws = app.ws(&d.helena).await;
    let me = d.helena.me["id"].as_str().expect("id");
    ws.join(&format!("user:{me}"), None).await;
    let body = issued(&app, &d, exams()).await;
    let push = ws.push("document.updated").await;
    assert_eq!(push["payload"]["document"]["id"], body["id"]);
    assert_eq!(push["payload"]["document"]["status"], "signed");
    // Sending it reaches the patient's own topic.
    let mut jws = app.ws(&d.joao).await;
    let joao_user = d.joao.me["id"].as_str().expect("id");
    jws.join(&format!("user:{joao_user}"), None).await;
    let id = body["id"].as_str().expect("id");
    let (status, sent) = json_of(
        app.post(
            &format!("/api/documents/{id}/send"),
            Some(&d.helena.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert!(sent["sent_at"].is_string());
    let got = jws.push("document.received").await;
    assert_eq!(got["payload"]["document"]["id"], body["id"]);
    // The content never travels on the socket.
    assert!(got["payload"]["document"].get("content").is_none());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn documents_are_private_to_issuer_patient_and_clinic() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let id = issued(&app, &d, prescription()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &id).await;
    // Another patient: as if it did not exist.
    assert_error(
        app.get(&format!("/api/documents/{id}"), Some(&d.maria.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/documents/{id}/pdf"), Some(&d.maria.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (_, mine) = json_of(app.get("/api/me/documents", Some(&d.maria.access)).await).await;
    assert_eq!(mine["documents"].as_array().expect("list").len(), 0);
    // Staff of another clinic: nothing either.
    let bv_admin = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&format!("/api/documents/{id}"), Some(&bv_admin.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(
            &format!("/api/clinics/{}/patients/{}/documents", d.clinic, d.joao_id),
            Some(&bv_admin.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A receptionist neither issues nor lists.
    assert_error(
        issue(&app, &d.recep, &d.clinic, &d.joao_id, prescription()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(&format!("/api/documents/{id}"), Some(&d.recep.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Another professional of the clinic reads it (audited), but may not revoke or send it.
    let (status, list) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients/{}/documents", d.clinic, d.joao_id),
            Some(&d.rafael.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["documents"][0]["id"], id.as_str());
    assert_error(
        app.post(
            &format!("/api/documents/{id}/revoke"),
            Some(&d.rafael.access),
            &json!({"reason": "x"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Patients issue nothing.
    assert_error(
        issue(&app, &d.joao, &d.clinic, &d.joao_id, prescription()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bad_input_gets_clear_errors_and_stores_nothing() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let bad = |content: Value| issue(&app, &d.helena, &d.clinic, &d.joao_id, content);
    let unknown = assert_error(
        bad(json!({"kind": "prescription", "medications": [
            {"name": "A", "quantity": "1", "instructions": "x", "dose": "2 mg"}]}))
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert!(
        unknown["message"]
            .as_str()
            .expect("message")
            .contains("dose"),
        "{unknown}"
    );
    assert_error(
        bad(json!({"kind": "receita"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let mut neg = certificate();
    neg["days_off"] = json!(-3);
    assert_error(
        bad(neg).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_days",
    )
    .await;
    let mut no_consent = certificate();
    no_consent["cid_consent"] = json!(false);
    assert_error(
        bad(no_consent).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cid_consent_required",
    )
    .await;
    assert_error(
        bad(json!({"kind": "prescription", "medications": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_medications",
    )
    .await;
    assert_error(
        bad(json!({"kind": "exam_request", "exams": [{"name": "Glicemia 🩸"}]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_character",
    )
    .await;
    // A patient of another clinic only.
    let (_, found) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients?q=Francisco", d.boavista),
            Some(&app.login("admin@boavista.demo", PW).await.access),
        )
        .await,
    )
    .await;
    let francisco = found[0]["id"].as_str().expect("francisco").to_string();
    assert_error(
        issue(&app, &d.helena, &d.clinic, &francisco, prescription()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_not_registered",
    )
    .await;
    let (_, mine) = json_of(app.get("/api/me/documents", Some(&d.helena.access)).await).await;
    assert_eq!(
        mine["documents"].as_array().expect("list").len(),
        0,
        "nothing stored"
    );
    // Revoking needs a reason; sending needs a signature.
    let id = issued(&app, &d, exams()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &id).await;
    assert_error(
        app.post(
            &format!("/api/documents/{id}/revoke"),
            Some(&d.helena.access),
            &json!({"reason": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
    )
    .await;
    // Not-a-PDF upload and garbage PKCS#12.
    let resp = app
        .client
        .post(app.url("/api/public/documents/check"))
        .body("hello")
        .send()
        .await
        .expect("post");
    assert_error(resp, StatusCode::BAD_REQUEST, "not_a_pdf").await;
    let resp = import_key(&app, &d.helena, "bm90IGEgcGZ4", "x").await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid_pkcs12").await;
}

/// Least privilege: a certificate's CID is read by the professional who issued it and by
/// the patient — through the API and through the signed PDF. The clinic's admin and its
/// other professionals see that the document exists, not what it says, until the clinic
/// grants their role; every such read is audited.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_certificates_cid_reaches_only_the_issuer_the_patient_and_granted_roles() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let admin = app.login("admin@aurora.demo", PW).await;
    let id = issued(&app, &d, certificate()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &id).await;
    let doc = format!("/api/documents/{id}");
    let pdf = format!("/api/documents/{id}/pdf");

    for who in [&d.helena, &d.joao] {
        let (status, v) = json_of(app.get(&doc, Some(&who.access)).await).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["content"]["cid"], "J11", "{v}");
        pdf_of(&app, who, &id).await;
    }
    for (who, s) in [
        ("clinic admin", &admin),
        ("another professional", &d.rafael),
    ] {
        let (status, v) = json_of(app.get(&doc, Some(&s.access)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {v}");
        assert_eq!(v["status"], "signed", "{who}: {v}");
        assert!(!v.to_string().contains("J11"), "{who} read the CID: {v}");
        assert_error(
            app.get(&pdf, Some(&s.access)).await,
            StatusCode::FORBIDDEN,
            "content_not_granted",
        )
        .await;
    }
    let grants = format!("/api/clinics/{}/document-grants", d.clinic);
    let put = |s: &Session, body: Value| {
        app.client
            .put(app.url(&grants))
            .bearer_auth(s.access.clone())
            .json(&body)
            .send()
    };
    // Only the clinic's admins set the grants.
    for s in [&d.recep, &d.helena] {
        let resp = put(s, json!({"roles": ["professional"]}))
            .await
            .expect("put");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let resp = put(&admin, json!({"roles": ["professional"]}))
        .await
        .expect("put");
    let (status, v) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["roles"], json!(["professional"]));
    let (_, v) = json_of(app.get(&grants, Some(&admin.access)).await).await;
    assert_eq!(v["roles"], json!(["professional"]));

    // Granted: the clinic's professionals read it; its admin (not granted) still does not.
    let (_, v) = json_of(app.get(&doc, Some(&d.rafael.access)).await).await;
    assert_eq!(v["content"]["cid"], "J11", "{v}");
    pdf_of(&app, &d.rafael, &id).await;
    let (_, list) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients/{}/documents", d.clinic, d.joao_id),
            Some(&d.rafael.access),
        )
        .await,
    )
    .await;
    assert_eq!(list["content_readable"], true, "{list}");
    assert_error(
        app.get(&pdf, Some(&admin.access)).await,
        StatusCode::FORBIDDEN,
        "content_not_granted",
    )
    .await;
    // An unknown role is refused.
    let resp = put(&admin, json!({"roles": ["janitor"]}))
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let rafael = d.rafael.me["id"].as_str().expect("id").to_string();
    let content_reads = rows
        .iter()
        .filter(|r| {
            r.action == "document.content_read"
                && r.entity_id.as_deref() == Some(id.as_str())
                && r.actor_user_id.map(|u| u.to_string()) == Some(rafael.clone())
        })
        .count();
    assert_eq!(content_reads, 2, "rafael's read and download are audited");
    assert!(
        rows.iter().any(|r| r.action == "clinic.document_grants"),
        "the grant is audited"
    );
}
