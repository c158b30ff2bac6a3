//! Public verification: by code, by uploading the file, and through the ITI validator's
//! protocol.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn pharmacies_verify_by_code_by_file_and_through_the_iti_protocol() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let body = issued(&app, &d, prescription()).await;
    let id = body["id"].as_str().expect("id").to_string();
    let code = body["code"].as_str().expect("code").to_string();
    settled(&app, &d.helena, &id).await;
    let pdf = pdf_of(&app, &d.helena, &id).await;

    // By code, typed sloppily: initials only, no CPF.
    let sloppy = code.to_lowercase().replace('-', " ");
    let (status, v) = json_of(
        app.get(&format!("/api/public/documents/{sloppy}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "signed");
    assert_eq!(v["patient_initials"], "J.P.S.");
    assert_eq!(v["council"], "CRM 123456/SP");
    let text = v.to_string();
    // No surname, no CPF (formatted or not; a bare "529" could occur inside the hash).
    assert!(
        !text.contains("Pereira") && !text.contains("529.982") && !text.contains("52998224725"),
        "{text}"
    );
    let resp = app
        .get(&format!("/api/public/documents/{code}/pdf"), None)
        .await;
    assert_eq!(resp.bytes().await.expect("pdf").to_vec(), pdf);
    assert_error(
        app.get("/api/public/documents/AAAAA-BBBBB", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The file itself: intact, or not ours.
    let check = |bytes: Vec<u8>| async {
        json_of(
            app.client
                .post(app.url("/api/public/documents/check"))
                .header("content-type", "application/pdf")
                .body(bytes)
                .send()
                .await
                .expect("post"),
        )
        .await
        .1
    };
    let ok = check(pdf.clone()).await;
    assert_eq!(ok["intact"], true);
    assert_eq!(ok["document"]["id"], id.as_str());
    let mut changed = pdf.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x01;
    assert_eq!(check(changed).await["intact"], false);

    // The ITI validator's protocol at the QR code's URL.
    let iti = |secret: &str, doc: &str| {
        let path = format!("/v/{doc}?_format=application/validador-iti+json&_secretCode={secret}");
        let app = &app;
        async move { app.get(&path, None).await }
    };
    let (status, j) = json_of(iti(&code, &id).await).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    assert_eq!(j["version"], "1.0.0");
    let url = j["prescription"]["signatureFiles"][0]["url"]
        .as_str()
        .expect("url");
    assert!(
        url.ends_with(&format!("/api/public/documents/{code}/pdf")),
        "{url}"
    );
    assert_error(
        iti("WRONG-CODE1", &id).await,
        StatusCode::UNAUTHORIZED,
        "wrong_code",
    )
    .await;
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_error(
        iti(&code, &unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // A person scanning the QR code lands on the verification page.
    let resp = app.get(&format!("/v/{id}"), None).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/#/verificar/{id}").as_str()
    );

    // Revoked: verification says so, and the reason.
    let (status, r) = json_of(
        app.post(
            &format!("/api/documents/{id}/revoke"),
            Some(&d.helena.access),
            &json!({"reason": "Dose incorreta"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, v) = json_of(
        app.get(&format!("/api/public/documents/{code}"), None)
            .await,
    )
    .await;
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoked_reason"], "Dose incorreta");
    assert_error(
        app.post(
            &format!("/api/documents/{id}/revoke"),
            Some(&d.helena.access),
            &json!({"reason": "de novo"}),
        )
        .await,
        StatusCode::CONFLICT,
        "already_revoked",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/documents/{id}/send"),
            Some(&d.helena.access),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "revoked",
    )
    .await;
}
