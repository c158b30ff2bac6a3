//! Signed documents: issue every kind, sign in the background, validate with independent
//! validators (poppler's pdfsig, pyHanko), verify publicly and through the ITI protocol,
//! keep patients to their own documents, refuse bad input, and lose nothing when a signer
//! crashes or the node that accepted a document does not sign.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

struct Docs {
    helena: Session,
    rafael: Session,
    recep: Session,
    joao: Session,
    maria: Session,
    clinic: String,
    boavista: String,
    joao_id: String,
}

async fn fixture(app: &TestApp) -> Docs {
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let boavista = app
        .login("recepcao@boavista.demo", PW)
        .await
        .clinic("receptionist");
    let joao = app.login("joao@paciente.demo", PW).await;
    let joao_id = joao.me["patient"]["id"]
        .as_str()
        .expect("joão is a patient")
        .to_string();
    Docs {
        helena: app.login("dra.helena@atende.demo", PW).await,
        rafael: app.login("dr.rafael@atende.demo", PW).await,
        maria: app.login("maria@paciente.demo", PW).await,
        recep,
        joao,
        clinic,
        boavista,
        joao_id,
    }
}

fn prescription() -> Value {
    json!({"kind": "prescription", "medications": [
        {"name": "Amoxicilina", "concentration": "500 mg", "form": "cápsula",
         "quantity": "21 cápsulas", "instructions": "1 cápsula de 8 em 8 horas por 7 dias"},
        {"name": "Dipirona sódica", "concentration": "500 mg/mL", "form": "solução oral",
         "quantity": "1 frasco", "instructions": "40 gotas até de 6/6 h se dor ou febre — não exceder 4 g/dia"}
    ], "notes": "Retorno em 10 dias; hidratação e repouso."})
}

fn special() -> Value {
    json!({"kind": "special_prescription", "medications": [
        {"name": "Clonazepam", "concentration": "2 mg", "form": "comprimido",
         "quantity": "30 (trinta) comprimidos", "instructions": "1 comprimido à noite, 1º mês; reavaliar no 2º"}]})
}

fn certificate() -> Value {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    json!({"kind": "certificate", "days_off": 3, "start_date": today, "cid": "J11",
           "cid_consent": true, "notes": "Repouso domiciliar."})
}

fn exams() -> Value {
    json!({"kind": "exam_request", "exams": [
        {"name": "Hemograma completo", "code": "40304361"},
        {"name": "Proteína C reativa (PCR)"},
        {"name": "Raio-X de tórax PA e perfil", "notes": "Avaliar consolidação"}],
        "clinical_indication": "Febre há 5 dias, tosse produtiva."})
}

async fn issue(
    app: &TestApp,
    who: &Session,
    clinic: &str,
    patient: &str,
    content: Value,
) -> reqwest::Response {
    app.post(
        "/api/documents",
        Some(&who.access),
        &json!({"clinic_id": clinic, "patient_id": patient, "content": content}),
    )
    .await
}

/// Issue and return the 202 body.
async fn issued(app: &TestApp, d: &Docs, content: Value) -> Value {
    let (status, body) = json_of(issue(app, &d.helena, &d.clinic, &d.joao_id, content).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "pending");
    body
}

/// Poll until the document leaves `pending`.
async fn settled(app: &TestApp, who: &Session, id: &str) -> Value {
    for _ in 0..600 {
        let (status, body) = json_of(
            app.get(&format!("/api/documents/{id}"), Some(&who.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "pending" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("document {id} still pending after 60 s");
}

async fn pdf_of(app: &TestApp, who: &Session, id: &str) -> Vec<u8> {
    let resp = app
        .get(&format!("/api/documents/{id}/pdf"), Some(&who.access))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap_or_default(),
        "application/pdf"
    );
    resp.bytes().await.expect("pdf").to_vec()
}

fn byte_range(pdf: &[u8]) -> [usize; 4] {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/ByteRange").expect("a /ByteRange");
    let open = at + text[at..].find('[').expect("[");
    let close = open + text[open..].find(']').expect("]");
    let nums: Vec<usize> = text[open + 1..close]
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    [nums[0], nums[1], nums[2], nums[3]]
}

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
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
    let resp = app
        .client
        .put(app.url("/api/me/signing-key"))
        .bearer_auth(&d.helena.access)
        .json(&json!({"pkcs12": "bm90IGEgcGZ4", "password": "x"}))
        .send()
        .await
        .expect("put");
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid_pkcs12").await;
}

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
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

// ---- independent validators ----

/// Whether the validators are here; under CI=true their absence is a failure.
fn validators_available() -> bool {
    let have = |cmd: &str| Command::new(cmd).arg("--help").output().is_ok();
    let ok = have("pdfsig") && have("pyhanko") && have("certutil") && have("pdftotext");
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but pdfsig / pyhanko / certutil / pdftotext are missing");
    }
    if !ok {
        eprintln!("skipping: pdfsig, pyhanko, certutil or pdftotext not installed");
    }
    ok
}

struct Verdict {
    pdfsig: String,
    pyhanko_ok: bool,
    pyhanko: String,
}

fn validate(dir: &Path, name: &str, pdf: &[u8], root_pem: &str) -> Verdict {
    let file = dir.join(name);
    std::fs::write(&file, pdf).expect("write pdf");
    let root = dir.join(format!("{name}.root.pem"));
    std::fs::write(&root, root_pem).expect("write root");
    let nss = dir.join(format!("{name}.nss"));
    std::fs::create_dir_all(&nss).expect("nss dir");
    let db = format!("sql:{}", nss.display());
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("run validator");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
    run(Command::new("certutil")
        .args(["-A", "-n", "root", "-t", "CT,C,C", "-d", &db, "-i"])
        .arg(&root));
    let pdfsig = run(Command::new("pdfsig").args(["-nssdir", &db]).arg(&file));
    let out = Command::new("pyhanko")
        .args(["sign", "validate", "--no-revocation-check", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(&file)
        .output()
        .expect("pyhanko");
    Verdict {
        pdfsig,
        pyhanko_ok: out.status.success(),
        pyhanko: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn assert_valid(v: &Verdict, what: &str) {
    assert!(
        v.pdfsig.contains("Signature is Valid."),
        "{what}: pdfsig:\n{}",
        v.pdfsig
    );
    assert!(
        v.pdfsig.contains("Certificate is Trusted."),
        "{what}: pdfsig:\n{}",
        v.pdfsig
    );
    assert!(
        v.pdfsig.contains("Total document signed"),
        "{what}: pdfsig:\n{}",
        v.pdfsig
    );
    assert!(v.pyhanko_ok, "{what}: pyhanko:\n{}", v.pyhanko);
    assert!(
        v.pyhanko.contains("INTACT"),
        "{what}: pyhanko:\n{}",
        v.pyhanko
    );
}

fn pdftotext(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let file = dir.join(name);
    std::fs::write(&file, pdf).expect("write");
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[actix_web::test]
async fn independent_validators_accept_every_kind_and_reject_a_changed_byte() {
    if !validators_available() {
        return;
    }
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let dir = tempfile::tempdir().expect("tmp");
    let ca = app
        .get("/api/public/signing-ca.pem", None)
        .await
        .text()
        .await
        .expect("pem");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    // A long prescription flows onto more pages.
    let long: Vec<Value> = (1..=25)
        .map(|i| json!({"name": format!("Medicação nº {i}"), "concentration": "10 mg", "form": "comprimido",
                        "quantity": "1 caixa", "instructions": "1 comprimido pela manhã, em jejum, com água; não associar a bebida alcoólica."}))
        .collect();
    let cases = [
        ("prescription", prescription()),
        ("special", special()),
        ("certificate", certificate()),
        ("exams", exams()),
        ("long", json!({"kind": "prescription", "medications": long})),
    ];
    for (name, content) in cases {
        let body = issued(&app, &d, content).await;
        let id = body["id"].as_str().expect("id");
        assert_eq!(settled(&app, &d.helena, id).await["status"], "signed");
        let pdf = pdf_of(&app, &d.helena, id).await;
        assert_valid(
            &validate(dir.path(), &format!("{name}.pdf"), &pdf, &ca),
            name,
        );
        let text = pdftotext(dir.path(), &format!("{name}-text.pdf"), &pdf);
        assert!(text.contains("João Pereira da Silva"), "{name}: {text}");
        assert!(text.contains("529.982.247-25"));
        assert!(
            text.contains("Helena Duarte")
                && text.contains("CRM 123456/SP")
                && text.contains("RQE 54321")
        );
        assert!(text.contains(body["code"].as_str().expect("code")));
        assert!(
            text.contains("assinado digitalmente por Helena Duarte"),
            "{name}: {text}"
        );
        match name {
            "prescription" => assert!(
                text.contains("Dipirona sódica")
                    && text.contains("solução oral")
                    && text.contains("não exceder")
            ),
            "special" => {
                assert!(
                    text.contains("1ª via – Retenção da Farmácia ou Drogaria"),
                    "{text}"
                );
                assert!(text.contains("2ª via – Orientação ao Paciente"));
                assert!(text.contains("1º mês"));
            }
            "certificate" => {
                assert!(text.contains("3 dias") && text.contains("CID-10: J11"));
                assert!(text.contains("consentimento expresso"));
            }
            "exams" => {
                assert!(text.contains("Proteína C reativa") && text.contains("TUSS 40304361"))
            }
            "long" => {
                assert!(text.contains("Medicação nº 25"));
                assert!(
                    text.contains("Página 2 de"),
                    "a long prescription spans pages"
                );
            }
            _ => {}
        }
        // One byte changed inside the signed range: both validators say invalid.
        let mut bad = pdf.clone();
        let [_, b, _, _] = byte_range(&pdf);
        let at = b / 2;
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        let v = validate(dir.path(), &format!("{name}-tampered.pdf"), &bad, &ca);
        assert!(
            !v.pdfsig.contains("Signature is Valid."),
            "{name} tampered: pdfsig:\n{}",
            v.pdfsig
        );
        assert!(!v.pyhanko_ok, "{name} tampered: pyhanko:\n{}", v.pyhanko);
    }
    // A certificate without CID says nothing about a diagnosis.
    let mut plain = certificate();
    plain["cid"] = Value::Null;
    plain["cid_consent"] = json!(false);
    let id = issued(&app, &d, plain).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &id).await;
    let text = pdftotext(dir.path(), "plain.pdf", &pdf_of(&app, &d.helena, &id).await);
    assert!(!text.contains("CID"), "{text}");
}

#[actix_web::test]
async fn an_imported_pkcs12_certificate_signs_and_validates_against_its_own_root() {
    use atende::documents::pki;
    let app = spawn_app().await;
    let d = fixture(&app).await;
    // An outside CA (standing in for ICP-Brasil) and Helena's A1 certificate from it.
    let (root_key, root_cert) = pki::generate_ca("AC Teste ICP").expect("root");
    let root = pki::KeyMaterial::from_der(&root_key, std::slice::from_ref(&root_cert))
        .expect("root material");
    let (leaf_key, leaf_cert) =
        pki::issue_signing_cert(&root, "HELENA DUARTE:12345678900", "CRM 123456/SP").expect("leaf");
    let mut store = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        vec![1u8; 20],
        p12_keystore::PrivateKey::from_der(&leaf_key).expect("key"),
        [
            p12_keystore::Certificate::from_der(&leaf_cert).expect("leaf"),
            p12_keystore::Certificate::from_der(&root_cert).expect("root"),
        ],
    );
    store.add_entry(
        "helena",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    let pfx = store.writer("s3nha-forte").write().expect("pfx");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pfx);
    let put = |password: &str| {
        app.client
            .put(app.url("/api/me/signing-key"))
            .bearer_auth(&d.helena.access)
            .json(&json!({"pkcs12": b64, "password": password}))
            .send()
    };
    assert_error(
        put("errada").await.expect("put"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_pkcs12",
    )
    .await;
    let (status, key) = json_of(put("s3nha-forte").await.expect("put")).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["source"], "imported");
    assert!(
        key["subject"]
            .as_str()
            .expect("subject")
            .contains("HELENA DUARTE"),
        "{key}"
    );
    let (_, shown) = json_of(app.get("/api/me/signing-key", Some(&d.helena.access)).await).await;
    assert_eq!(shown["source"], "imported");

    let id = issued(&app, &d, prescription()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(settled(&app, &d.helena, &id).await["status"], "signed");
    let pdf = pdf_of(&app, &d.helena, &id).await;
    if validators_available() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_valid(
            &validate(dir.path(), "imported.pdf", &pdf, &pki::pem(&root_cert)),
            "imported",
        );
        // It does not chain to the installation CA.
        let ours = app
            .get("/api/public/signing-ca.pem", None)
            .await
            .text()
            .await
            .expect("pem");
        let v = validate(dir.path(), "imported-ours.pdf", &pdf, &ours);
        assert!(
            !v.pdfsig.contains("Certificate is Trusted."),
            "{}",
            v.pdfsig
        );
    }
    // Back to the installation's certificate.
    let resp = app
        .client
        .delete(app.url("/api/me/signing-key"))
        .bearer_auth(&d.helena.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, shown) = json_of(app.get("/api/me/signing-key", Some(&d.helena.access)).await).await;
    assert_eq!(shown["source"], "installation_ca");
}
