//! Signed documents by WhatsApp: the PDF is uploaded to the Cloud API's media endpoint and
//! sent as the document template's header, the very file the patient downloads from atende;
//! a document revoked before it went is not sent; a patient who wrote "PARAR" gets the next
//! one by e-mail.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::meta::{DOCUMENT_TEMPLATE, Meta};
use super::{JOAO_WA, fixture, texts};
use crate::helpers::*;
use crate::mail::wait_message;

/// Helena issues a prescription for João; once it is signed, its summary.
async fn signed_prescription(f: &super::Fixture) -> Value {
    let content = json!({"kind": "prescription", "medications": [
        {"name": "Amoxicilina", "concentration": "500 mg", "form": "cápsula",
         "quantity": "21 cápsulas", "instructions": "1 cápsula de 8 em 8 horas por 7 dias"}]});
    let (status, doc) = json_of(
        f.app
            .post(
                "/api/documents",
                Some(&f.a.helena.access),
                &json!({"clinic_id": f.a.clinic, "patient_id": f.joao, "content": content}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
    let id = doc["id"].as_str().expect("id").to_string();
    for _ in 0..600 {
        let (_, d) = json_of(
            f.app
                .get(&format!("/api/documents/{id}"), Some(&f.a.helena.access))
                .await,
        )
        .await;
        match d["status"].as_str() {
            Some("signed") => return d,
            Some("pending") => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            _ => panic!("not signed: {d}"),
        }
    }
    panic!("document {id} still pending after 60 s");
}

async fn send(f: &super::Fixture, id: &str) {
    let (status, body) = json_of(
        f.app
            .post(
                &format!("/api/documents/{id}/send"),
                Some(&f.a.helena.access),
                &json!({}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The document's message in the clinic's outbox, once it is in `state`.
async fn message(f: &super::Fixture, state: &str) -> Value {
    wait_message(
        &f.app,
        &f.a.clinic,
        &f.a.admin,
        &format!("patient_id={}", f.joao),
        |m| m["template"] == "document_ready" && m["status"] == state,
    )
    .await
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_signed_document_goes_by_whatsapp_with_its_pdf_uploaded_as_the_template_header() {
    let f = fixture().await;
    let doc = signed_prescription(&f).await;
    let id = doc["id"].as_str().expect("id");
    send(&f, id).await;

    let sent = message(&f, "sent").await;
    assert_eq!(sent["channel"], "whatsapp");
    assert_eq!(sent["to_address"], "+55 11 •••••-4321");

    // The file Meta holds is the one João downloads: byte for byte the signed PDF.
    let resp = f
        .app
        .get(&format!("/api/documents/{id}/pdf"), Some(&f.a.joao.access))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let pdf = resp.bytes().await.expect("pdf").to_vec();
    let media = f.meta.media();
    assert_eq!(media.len(), 1, "uploaded once");
    assert_eq!(media[0].bytes, pdf);
    assert_eq!(media[0].content_type, "application/pdf");
    let (_, full) = json_of(
        f.app
            .get(&format!("/api/documents/{id}"), Some(&f.a.helena.access))
            .await,
    )
    .await;
    let code = full["code"].as_str().expect("code");
    assert_eq!(media[0].file_name, format!("prescription-{code}.pdf"));

    // The template message names that upload in its header, and the words in its body.
    assert!(f.meta.refused().is_empty(), "{:?}", f.meta.refused());
    let taken = f.taken();
    let t = &taken.body["template"];
    assert_eq!(t["name"], DOCUMENT_TEMPLATE);
    assert_eq!(t["language"]["code"], "pt_BR");
    let header = &t["components"][0];
    assert_eq!(header["type"], "header");
    assert_eq!(header["parameters"][0]["type"], "document");
    assert_eq!(
        header["parameters"][0]["document"]["id"],
        media[0].id.as_str()
    );
    assert_eq!(
        header["parameters"][0]["document"]["filename"],
        media[0].file_name.as_str()
    );
    let words = texts(t, 1);
    assert_eq!(words[0], "João");
    assert!(words[1].contains("Helena"), "{words:?}");
    assert_eq!(words[2], "Receituário");
    assert_eq!(words[3], code);
    // Meta's id of the message is kept, so its receipts reach this message.
    let hook = Meta::status_webhook(&taken.wamid, "read", JOAO_WA);
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    message(&f, "read").await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_document_revoked_before_it_went_is_not_sent_and_after_parar_documents_go_by_email() {
    let f = fixture().await;
    // The first attempt fails (Meta answers 500): the message waits for its retry.
    f.meta.fail_next(&[500]);
    let doc = signed_prescription(&f).await;
    let id = doc["id"].as_str().expect("id");
    send(&f, id).await;
    let failed = message(&f, "failed").await;
    assert_eq!(failed["channel"], "whatsapp");
    // Helena revokes it meanwhile; at the retry it is dropped, not sent.
    let (status, body) = json_of(
        f.app
            .post(
                &format!("/api/documents/{id}/revoke"),
                Some(&f.a.helena.access),
                &json!({"reason": "Dose errada"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let retry_at = crate::mail::retry_time(&failed);
    f.app.clock.set(retry_at + chrono::Duration::seconds(1));
    let cancelled = message(&f, "cancelled").await;
    assert_eq!(cancelled["id"], failed["id"]);
    assert!(
        cancelled["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("revoked")),
        "{cancelled}"
    );
    assert!(f.meta.received().is_empty(), "nothing reached João");

    // João writes PARAR: the next document is queued by e-mail instead.
    let hook = Meta::text_webhook(JOAO_WA, "PARAR");
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    let next = signed_prescription(&f).await;
    send(&f, next["id"].as_str().expect("id")).await;
    let queued = wait_message(
        &f.app,
        &f.a.clinic,
        &f.a.admin,
        &format!("patient_id={}", f.joao),
        |m| m["template"] == "document_ready" && m["channel"] == "email",
    )
    .await;
    // (No e-mail channel in this app: it waits in the outbox.)
    assert_eq!(queued["status"], "queued");
}
