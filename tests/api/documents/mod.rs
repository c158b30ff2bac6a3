//! Signed documents: issue every kind, sign in the background, validate with independent
//! validators (poppler's pdfsig, pyHanko), verify publicly and through the ITI protocol,
//! keep patients to their own documents, refuse bad input, and lose nothing when a signer
//! crashes or the node that accepted a document does not sign.
//!
//! Here: the fixture and the helpers the test modules share.

mod countersign;
mod honesty;
mod issuing;
mod renewal;
mod restarts;
mod scope;
mod signing;
mod special_control;
mod validators;
mod verification;

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
    let joao_id = joao.record_at(&clinic);
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

/// A PKCS#12 file (base64, password `s3nha-forte`) holding Helena's A1 certificate under
/// `root`, valid three years from `from`.
fn helena_pfx(root_key: &[u8], root_cert: &[u8], from: std::time::SystemTime) -> String {
    use atende::documents::pki;
    use base64::Engine;
    let root = pki::KeyMaterial::from_der(root_key, &[root_cert.to_vec()]).expect("root material");
    let (leaf_key, leaf_cert) =
        pki::issue_signing_cert(&root, "HELENA DUARTE:12345678900", "CRM 123456/SP", from)
            .expect("leaf");
    let mut store = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        vec![7u8; 20],
        p12_keystore::PrivateKey::from_der(&leaf_key).expect("key"),
        [
            p12_keystore::Certificate::from_der(&leaf_cert).expect("leaf"),
            p12_keystore::Certificate::from_der(root_cert).expect("root"),
        ],
    );
    store.add_entry(
        "helena",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    let pfx = store.writer("s3nha-forte").write().expect("pfx");
    base64::engine::general_purpose::STANDARD.encode(&pfx)
}

/// `PUT /api/me/signing-key`: import a PKCS#12 file (base64) as the caller's key.
async fn import_key(
    app: &TestApp,
    who: &Session,
    pkcs12: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .put(app.url("/api/me/signing-key"))
        .bearer_auth(&who.access)
        .json(&json!({"pkcs12": pkcs12, "password": password}))
        .send()
        .await
        .expect("put")
}

/// `DELETE /api/me/signing-key`: back to the installation's certificate.
async fn back_to_installation_key(app: &TestApp, who: &Session) {
    let resp = app
        .client
        .delete(app.url("/api/me/signing-key"))
        .bearer_auth(&who.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

/// `POST /api/public/documents/check` with `pdf`: the 200 answer.
async fn check_upload(app: &TestApp, pdf: Vec<u8>) -> Value {
    let (status, body) = json_of(
        app.client
            .post(app.url("/api/public/documents/check"))
            .header("content-type", "application/pdf")
            .body(pdf)
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A prescription Helena issued for João, once signed: its id and file.
async fn signed_prescription(app: &TestApp, d: &Docs) -> (String, Vec<u8>) {
    let id = issued(app, d, prescription()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(settled(app, &d.helena, &id).await["status"], "signed");
    let pdf = pdf_of(app, &d.helena, &id).await;
    (id, pdf)
}
