//! What a document says about itself: a signature outside ICP-Brasil is disclosed in the
//! PDF, on the verification page and to the ITI validator (and is not, once the certificate
//! chains to a configured ICP-Brasil root); a revoked document is refused to the ITI
//! validator and reported as revoked by the page and the upload check; the file's own dates
//! and the issuer's council attributes are right.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::validators::{pdftotext, validators_available};
use super::*;
use crate::helpers::*;
use atende::documents::{NOT_ICP_NOTICE, pki};

async fn iti(app: &TestApp, id: &str, code: &str) -> reqwest::Response {
    app.get(
        &format!("/v/{id}?_format=application/validador-iti+json&_secretCode={code}"),
        None,
    )
    .await
}

async fn public(app: &TestApp, code: &str) -> Value {
    let (status, v) = json_of(
        app.get(&format!("/api/public/documents/{code}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_signature_outside_icp_brasil_says_so_everywhere_and_one_inside_does_not() {
    // The installation's ICP-Brasil roots: a test root standing in for AC Raiz.
    let dir = tempfile::tempdir().expect("tmp");
    let (root_key, root_cert) =
        pki::generate_ca("AC Raiz Teste ICP", std::time::SystemTime::now()).expect("root");
    let roots = dir.path().join("icp-roots.pem");
    std::fs::write(&roots, pki::pem(&root_cert)).expect("write roots");
    let app = spawn_app_with(|s| s.documents.icp_brasil_roots = roots.clone()).await;
    let d = fixture(&app).await;

    // Signed with the installation's own certificate: disclosed.
    let (_, key) = json_of(app.get("/api/me/signing-key", Some(&d.helena.access)).await).await;
    assert_eq!(key["icp_brasil"], false, "{key}");
    let body = issued(&app, &d, prescription()).await;
    let (id, code) = (
        body["id"].as_str().expect("id"),
        body["code"].as_str().expect("code"),
    );
    assert_eq!(settled(&app, &d.helena, id).await["status"], "signed");
    let pdf = pdf_of(&app, &d.helena, id).await;
    let v = public(&app, code).await;
    assert_eq!(v["icp_brasil"], false);
    assert_eq!(v["signature_notice"], NOT_ICP_NOTICE);
    let (status, j) = json_of(iti(&app, id, code).await).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    assert_eq!(j["prescription"]["icpBrasil"], false);
    assert_eq!(j["prescription"]["notice"], NOT_ICP_NOTICE);
    let c = check_upload(&app, pdf.clone()).await;
    assert_eq!(c["intact"], true);
    assert!(c["warnings"].to_string().contains("não ICP-Brasil"), "{c}");

    // Helena imports an A1 certificate that chains to the configured root: not disclosed.
    let pfx = helena_pfx(&root_key, &root_cert, std::time::SystemTime::now());
    let (status, key) = json_of(import_key(&app, &d.helena, &pfx, "s3nha-forte").await).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["icp_brasil"], true, "{key}");
    let body = issued(&app, &d, prescription()).await;
    let (icp_id, icp_code) = (
        body["id"].as_str().expect("id"),
        body["code"].as_str().expect("code"),
    );
    assert_eq!(settled(&app, &d.helena, icp_id).await["status"], "signed");
    let icp_pdf = pdf_of(&app, &d.helena, icp_id).await;
    let v = public(&app, icp_code).await;
    assert_eq!(v["icp_brasil"], true, "{v}");
    assert!(v.get("signature_notice").is_none(), "{v}");
    let (_, j) = json_of(iti(&app, icp_id, icp_code).await).await;
    assert_eq!(j["prescription"]["icpBrasil"], true);
    assert!(j["prescription"].get("notice").is_none(), "{j}");

    // The printed page says it (or not), read back from the PDF's text.
    if validators_available() {
        let text = pdftotext(dir.path(), "ours.pdf", &pdf);
        assert!(text.contains(NOT_ICP_NOTICE), "{text}");
        let text = pdftotext(dir.path(), "icp.pdf", &icp_pdf);
        assert!(
            text.contains("assinado digitalmente por HELENA DUARTE"),
            "{text}"
        );
        assert!(!text.contains("não ICP-Brasil"), "{text}");
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_revoked_document_is_refused_to_the_iti_validator_and_flagged_by_page_and_upload() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let body = issued(&app, &d, special()).await;
    let (id, code) = (
        body["id"].as_str().expect("id"),
        body["code"].as_str().expect("code"),
    );
    settled(&app, &d.helena, id).await;
    let pdf = pdf_of(&app, &d.helena, id).await;
    assert_eq!(iti(&app, id, code).await.status(), StatusCode::OK);
    let (status, r) = json_of(
        app.post(
            &format!("/api/documents/{id}/revoke"),
            Some(&d.helena.access),
            &json!({"reason": "Posologia errada"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    // The validator gets no file to call valid: 410 with when and why.
    let body = assert_error(
        iti(&app, id, code).await,
        StatusCode::GONE,
        "document_revoked",
    )
    .await;
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("REVOGADO") && message.contains("Posologia errada"),
        "{message}"
    );
    assert!(message.contains("America/Sao_Paulo"), "{message}");
    // A wrong code still learns nothing about it.
    assert_error(
        iti(&app, id, "AAAAA-BBBBB").await,
        StatusCode::UNAUTHORIZED,
        "wrong_code",
    )
    .await;

    // The page: revoked, with reason and time.
    let v = public(&app, code).await;
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoked_reason"], "Posologia errada");
    assert!(v["revoked_at"].is_string());

    // The upload check: the file is the one signed, and it is revoked.
    let c = check_upload(&app, pdf).await;
    assert_eq!(c["intact"], true, "{c}");
    assert_eq!(c["revoked"], true, "{c}");
    assert!(
        c["warnings"][0]
            .as_str()
            .expect("warning")
            .contains("REVOGADO"),
        "{c}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_file_carries_its_own_dates_compressed_streams_and_the_issuers_council() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let id = issued(&app, &d, prescription()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &id).await;
    let pdf = pdf_of(&app, &d.helena, &id).await;
    assert!(
        pdf.len() < 30 * 1024,
        "a prescription of {} bytes",
        pdf.len()
    );
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("/FlateDecode"), "streams are compressed");
    assert!(!raw.contains("D:1970"), "no 1970 date in the file");
    let year = chrono::Utc::now().format("(D:%Y").to_string();
    for key in ["/CreationDate", "/ModDate"] {
        let at = raw.find(key).expect(key) + key.len();
        let value = raw[at..].trim_start();
        assert!(value.starts_with(&year), "{key} {}", &value[..20]);
    }
    // Helena is a doctor with an RQE: CRM attributes, specialty included.
    for oid in [
        "2.16.76.1.4.2.2.1",
        "2.16.76.1.4.2.2.2",
        "2.16.76.1.4.2.2.3",
    ] {
        assert!(raw.contains(oid), "{oid}");
    }

    // Rafael is a dentist whose specialty has no registration number: CRO attributes, no
    // CRM ones, and no specialty (neither printed nor in the metadata).
    let rafael = app.login("dr.rafael@atende.demo", PW).await;
    let (status, body) =
        json_of(issue(&app, &rafael, &d.clinic, &d.joao_id, prescription()).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let rid = body["id"].as_str().expect("id");
    settled(&app, &rafael, rid).await;
    let rpdf = pdf_of(&app, &rafael, rid).await;
    let raw = String::from_utf8_lossy(&rpdf);
    assert!(raw.contains("2.16.76.1.4.2.12.1") && raw.contains("2.16.76.1.4.2.12.2"));
    assert!(
        !raw.contains("2.16.76.1.4.2.2."),
        "no CRM attribute for a dentist"
    );
    assert!(
        !raw.contains("2.16.76.1.4.2.12.3"),
        "no specialty without its registration"
    );
    if validators_available() {
        let dir = tempfile::tempdir().expect("tmp");
        let text = pdftotext(dir.path(), "rafael.pdf", &rpdf);
        assert!(text.contains("CRO 98765/SP"), "{text}");
        assert!(!text.contains("Ortodontia"), "{text}");
        assert!(text.contains("Uso odontológico"), "{text}");
        let text = pdftotext(dir.path(), "helena.pdf", &pdf);
        assert!(text.contains("RQE 54321 (Clínica Médica)"), "{text}");
        assert!(!text.contains("1970"), "{text}");
    }
}
