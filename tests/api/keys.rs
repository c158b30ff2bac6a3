//! Encryption at rest of files (chat attachments, signed PDFs) and field-encryption key
//! rotation: every encrypted column moves to the new key while a node keeps writing, files
//! stored before encryption are encrypted by the rotation, and a node holding only the new
//! key reads everything back.

use std::collections::BTreeMap;

use atende::config::Secret;
use atende::security::crypto::FieldCipher;
use atende::store::keys::ENCRYPTED_COLUMNS;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book, cpf_for};
use crate::helpers::*;
pub(crate) use crate::raw_db::{holds, raw_values, whole_database};
use crate::raw_db::{raw_exec, with_conn};

/// A word that appears nowhere but in the clinical content these tests write.
const SENTINEL: &str = "Quixabeirapurpura";
/// The identity fields of the seeded patient, which must not be stored in the clear either.
const IRENE_EMAIL: &str = "irene.cifrada@exemplo.com.br";
const IRENE_PHONE: &str = "+55 11 98765-4321";
const IRENE_BIRTH: &str = "1970-01-02";
const IRENE_NAME: &str = "Irenildes Cifradelina";
const IRENE_SOCIAL: &str = "Irenaldo Sigilosvaldo";
/// The name a patient types when signing up, and a staff member's: account names are sealed.
const ACCOUNT_NAME: &str = "Nomelinda Contasigilosa";
const STAFF_NAME: &str = "Funcionalda Equipasigilosa";
const T1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const T2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// A small PDF (its content judged by its signature) that carries the sentinel.
fn sentinel_pdf() -> Vec<u8> {
    format!("%PDF-1.4\n% laudo {SENTINEL}\n1 0 obj << >> endobj\n%%EOF\n").into_bytes()
}

struct Seeded {
    a: Agenda,
    patient: String,
    room: String,
    topic: String,
    attachment: String,
    document: String,
    encounter: String,
    joao: Session,
}

impl Seeded {
    fn record(&self) -> String {
        format!(
            "/api/clinics/{}/patients/{}/record",
            self.a.clinic, self.patient
        )
    }
}

pub(crate) async fn created(resp: reqwest::Response) -> Value {
    let (status, body) = json_of(resp).await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status}: {body}"
    );
    body
}

/// Write clinical content with the sentinel into every kind of encrypted value: a chat
/// message and its file, a signed prescription, a locked encounter with an addendum, an
/// allergy, a break-the-glass reason, the clinic's notes on the patient, a second factor's
/// secret, a single sign-on client secret and login verifier, a passkey and its
/// registration's state, the front desk's text, and the messages the booking queued.
async fn seed(app: &TestApp) -> Seeded {
    let a = agenda_fixture(app).await;
    let chat = chat_fixture(app).await;
    let p = created(
        app.post(
            &format!("/api/clinics/{}/patients", a.clinic),
            Some(&a.recep.access),
            &json!({"full_name": IRENE_NAME, "social_name": IRENE_SOCIAL, "cpf": cpf_for(8100),
                    "birth_date": "1970-01-02", "email": IRENE_EMAIL, "phone": IRENE_PHONE}),
        )
        .await,
    )
    .await;
    let patient = p["id"].as_str().expect("id").to_string();
    let appt = created(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": patient,
                   "starts_at": a.at(11, 0), "notes": format!("obs {SENTINEL}")}),
        )
        .await,
    )
    .await;
    // The front desk's text: a cancel reason, and a walk-in's name in the waiting room.
    let other = created(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": patient,
                   "starts_at": a.at(15, 0)}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!(
                "/api/clinics/{}/appointments/{}/cancel",
                a.clinic,
                other["id"].as_str().expect("id")
            ),
            Some(&a.recep.access),
            &json!({"reason": format!("motivo {SENTINEL}")}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("/api/clinics/{}/queue", a.clinic),
            Some(&a.recep.access),
            &json!({"full_name": format!("Zuleica {SENTINEL}")}),
        )
        .await,
    )
    .await;
    // The cash register: a movement's description.
    created(
        app.post(
            &format!("/api/clinics/{}/cash/open", a.clinic),
            Some(&a.recep.access),
            &json!({"opening_cents": 0}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("/api/clinics/{}/cash/movements", a.clinic),
            Some(&a.recep.access),
            &json!({"kind": "payment", "method": "cash", "amount_cents": 100,
                    "description": format!("caixa {SENTINEL}")}),
        )
        .await,
    )
    .await;
    let resp = app
        .patch(
            &format!("/api/clinics/{}/patients/{patient}", a.clinic),
            Some(&a.helena.access),
            &json!({"notes": format!("nota {SENTINEL}"), "allergies": SENTINEL}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.text().await);

    // Chat: a file whose name and bytes carry the sentinel, sent with a message.
    let att = created(
        app.client
            .post(app.url(&format!(
                "/api/chat/rooms/{}/attachments?filename={SENTINEL}.pdf",
                chat.room
            )))
            .bearer_auth(&chat.joao.access)
            .header("content-type", "application/octet-stream")
            .body(sentinel_pdf())
            .send()
            .await
            .expect("upload"),
    )
    .await;
    let attachment = att["id"].as_str().expect("id").to_string();
    let mut j = app.ws(&chat.joao).await;
    j.join(&chat.topic, None).await;
    let r = j
        .request(
            &chat.topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(), "body": format!("exame {SENTINEL}"),
                   "attachment_id": attachment}),
        )
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");

    // A prescription, signed in the background.
    let doc = json_of(
        app.post(
            "/api/documents",
            Some(&a.helena.access),
            &json!({"clinic_id": a.clinic, "patient_id": patient, "content": {
                "kind": "prescription", "notes": format!("Uso contínuo {SENTINEL}"),
                "medications": [{"name": "Losartana", "concentration": "50 mg", "form": "comprimido",
                  "quantity": "30 comprimidos", "instructions": "1 comprimido ao dia"}]}}),
        )
        .await,
    )
    .await;
    assert_eq!(doc.0, StatusCode::ACCEPTED, "{}", doc.1);
    let document = doc.1["id"].as_str().expect("id").to_string();

    // The record: an encounter signed (locked) with an addendum, an allergy, break the glass.
    let record = format!("/api/clinics/{}/patients/{patient}/record", a.clinic);
    let e = created(
        app.post(
            &format!("{record}/encounters"),
            Some(&a.helena.access),
            &json!({"appointment_id": appt["id"], "content": {"chief_complaint": SENTINEL,
                "history": "", "examination": "", "plan": "", "evolution": "", "diagnoses": []}}),
        )
        .await,
    )
    .await;
    let encounter = e["id"].as_str().expect("id").to_string();
    created(
        app.post(
            &format!("{record}/encounters/{encounter}/sign"),
            Some(&a.helena.access),
            &json!({}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{record}/encounters/{encounter}/addenda"),
            Some(&a.helena.access),
            &json!({"text": format!("adendo {SENTINEL}")}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{record}/allergies"),
            Some(&a.helena.access),
            &json!({"substance": SENTINEL, "reaction": SENTINEL, "severity": "mild"}),
        )
        .await,
    )
    .await;
    // The problem list and vital signs: their notes carry the sentinel.
    created(
        app.post(
            &format!("{record}/problems"),
            Some(&a.helena.access),
            &json!({"code": "I10", "notes": format!("problema {SENTINEL}")}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{record}/vitals"),
            Some(&a.helena.access),
            &json!({"values": {"weight_kg": 71.5}, "notes": format!("sinais {SENTINEL}")}),
        )
        .await,
    )
    .await;
    // The prescription's medicine stopped, with a reason.
    created(
        app.post(
            &format!("{record}/medications/stop"),
            Some(&a.helena.access),
            &json!({"document_id": document, "item": 0, "reason": format!("suspenso {SENTINEL}")}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{record}/break-glass"),
            Some(&a.rafael.access),
            &json!({"reason": format!("urgência {SENTINEL}")}),
        )
        .await,
    )
    .await;
    // A password reset: its message knows its address when queued (sealed in the outbox).
    let resp = app
        .post(
            "/api/auth/password-reset",
            None,
            &json!({"email": "joao@paciente.demo"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // A sign-up waiting for its link: the identity it will open the account with is sealed.
    let resp = app
        .post(
            "/api/auth/signup",
            None,
            &signup_body("chaves@exemplo.com.br", &cpf_for(8200)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // A second factor being enrolled: its secret is stored encrypted.
    created(
        app.post("/api/me/mfa/totp", Some(&a.admin.access), &json!({}))
            .await,
    )
    .await;
    seed_oidc(app, &a.clinic, &a.admin).await;
    // A passkey (its credential) and the ceremony that registered it (its state).
    let options = created(
        app.post(
            "/api/me/passkeys/register/start",
            Some(&a.admin.access),
            &json!({}),
        )
        .await,
    )
    .await;
    let origin = app.address.replacen("127.0.0.1", "localhost", 1);
    let credential = crate::passkey_authenticator::Authenticator::new(&origin)
        .create(&options)
        .expect("passkey");
    created(
        app.post(
            "/api/me/passkeys/register/finish",
            Some(&a.admin.access),
            &json!({"name": "Chave", "credential": credential}),
        )
        .await,
    )
    .await;
    wait_signed(app, &a.helena, &document).await;
    Seeded {
        a,
        patient,
        room: chat.room,
        topic: chat.topic,
        attachment,
        document,
        encounter,
        joao: chat.joao,
    }
}

/// A clinic's single sign-on connection and a login in flight: the client secret and the
/// PKCE verifier are stored encrypted. Written through the store (no provider here).
async fn seed_oidc(app: &TestApp, clinic: &str, admin: &Session) {
    use atende::store::oidc::{NewOidcLogin, OidcConnectionRow};
    let clinic: atende::domain::ClinicId = clinic.parse().expect("clinic id");
    let admin: atende::domain::UserId = admin.me["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("user id");
    let cipher = &app.state.cipher;
    let store = &app.state.store;
    let mut tx = store.begin().await.expect("tx");
    let row = OidcConnectionRow {
        clinic_id: clinic,
        issuer: "https://idp.exemplo.com.br".into(),
        client_id: "atende".into(),
        client_secret_enc: cipher
            .encrypt(&format!("segredo {SENTINEL}"))
            .expect("encrypt"),
        display_name: "Entrar".into(),
        allowed_domain: None,
        updated_at: atende::store::now(),
    };
    store
        .put_oidc_connection(&mut tx, &row, admin)
        .await
        .expect("connection");
    let verifier = cipher
        .encrypt(&format!("verificador {SENTINEL}"))
        .expect("encrypt");
    store
        .insert_oidc_login(
            &mut tx,
            &NewOidcLogin {
                state_hash: "estado",
                clinic,
                browser_hash: "navegador",
                nonce_hash: "nonce",
                verifier_enc: &verifier,
                expires_at: atende::store::now() + chrono::Duration::minutes(10),
            },
        )
        .await
        .expect("login");
    tx.commit().await.expect("commit");
}

async fn wait_signed(app: &TestApp, who: &Session, id: &str) {
    for _ in 0..600 {
        let (_, body) = json_of(
            app.get(&format!("/api/documents/{id}"), Some(&who.access))
                .await,
        )
        .await;
        match body["status"].as_str() {
            Some("signed") => return,
            Some("pending") => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            _ => panic!("document not signed: {body}"),
        }
    }
    panic!("document {id} still pending after 60 s");
}

async fn download(app: &TestApp, who: &Session, path: &str) -> Vec<u8> {
    let resp = app.get(path, Some(&who.access)).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.bytes().await.expect("bytes").to_vec()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn files_and_clinical_text_are_unreadable_in_the_raw_database_and_read_back_whole() {
    let app = spawn_app().await;
    let s = seed(&app).await;
    // A patient's own account, named as typed at sign-up, and a new staff member.
    let mut body = signup_body("contasigilosa@exemplo.com.br", &cpf_for(8300));
    body["full_name"] = json!(ACCOUNT_NAME);
    let (status, account) = app.sign_up(&body).await;
    assert_eq!(status, StatusCode::CREATED, "{}", account.me);
    assert_eq!(account.me["full_name"], ACCOUNT_NAME);
    created(
        app.post(
            &format!("/api/clinics/{}/staff", s.a.clinic),
            Some(&s.a.admin.access),
            &json!({"email": "equipasigilosa@aurora.demo", "full_name": STAFF_NAME,
                    "password": "senha-inicial-1", "role": "receptionist"}),
        )
        .await,
    )
    .await;

    // Read back through the API: the file as uploaded, the PDF signed and whole.
    let file = download(
        &app,
        &s.a.helena,
        &format!("/api/chat/attachments/{}", s.attachment),
    )
    .await;
    assert_eq!(file, sentinel_pdf());
    let (_, history) = json_of(
        app.get(
            &format!("/api/chat/rooms/{}/messages", s.room),
            Some(&s.a.helena.access),
        )
        .await,
    )
    .await;
    let last = history["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .expect("a message");
    assert_eq!(
        last["attachment"]["filename"],
        format!("{SENTINEL}.pdf"),
        "{history}"
    );
    let pdf = download(
        &app,
        &s.a.helena,
        &format!("/api/documents/{}/pdf", s.document),
    )
    .await;
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(holds(&pdf, b"/ByteRange"));

    // As stored: every file in the encrypted form, never the file itself.
    for (table, column) in [
        ("chat_attachments", "data"),
        ("chat_attachments", "filename_enc"),
        ("documents", "pdf"),
        ("problems", "code_enc"),
        ("problems", "notes_enc"),
        ("vital_signs", "values_enc"),
        ("vital_signs", "notes_enc"),
        ("medication_stops", "reason_enc"),
    ] {
        let values = raw_values(&app, table, column).await;
        assert!(!values.is_empty(), "{table}.{column} is empty");
        for v in values {
            assert!(
                v.starts_with(b"v1:t1:"),
                "{table}.{column} is not encrypted"
            );
        }
    }
    // And nowhere in the whole database: not the sentinel, not its hex (PostgreSQL prints
    // byte columns in hex).
    let all = whole_database(&app).await;
    assert!(all.len() > 10_000);
    assert!(
        !holds(&all, SENTINEL.as_bytes()),
        "the sentinel is stored in plaintext"
    );
    assert!(
        !holds(&all, hex::encode(SENTINEL).as_bytes()),
        "the sentinel is stored in plaintext (a byte column)"
    );
    // Nor the patient's identity (names, CPF, e-mail, phone digits, birth date), nor the
    // names of accounts.
    let cpf = cpf_for(8100);
    for (what, value) in [
        ("the patient's full name", "Cifradelina"),
        ("the patient's social name", "Sigilosvaldo"),
        ("the patient's CPF", cpf.as_str()),
        ("the patient's e-mail", IRENE_EMAIL),
        ("the patient's phone", "987654321"),
        ("the patient's birth date", IRENE_BIRTH),
        ("the name typed at sign-up", "Contasigilosa"),
        ("a staff member's name", "Equipasigilosa"),
    ] {
        assert!(
            !holds(&all, value.as_bytes()),
            "{what} is stored in plaintext"
        );
    }
    // Yet the staff list shows the new member's name (sorted as people read names), and the
    // account reads its own.
    let (_, members) = json_of(
        app.get(
            &format!("/api/clinics/{}/members", s.a.clinic),
            Some(&s.a.admin.access),
        )
        .await,
    )
    .await;
    let names: Vec<&str> = members
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["full_name"].as_str())
        .collect();
    assert!(names.contains(&STAFF_NAME), "{members}");
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| atende::domain::text::name_order(a, b));
    assert_eq!(names, sorted);
    let me = app
        .login("contasigilosa@exemplo.com.br", "uma senha boa")
        .await;
    assert_eq!(me.me["full_name"], ACCOUNT_NAME);

    // Yet the front desk reads it all back, and finds the patient by CPF.
    let (status, found) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients?q={cpf}", s.a.clinic),
            Some(&s.a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let hit = found
        .as_array()
        .and_then(|l| l.iter().find(|p| p["id"] == s.patient.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("the patient is found by CPF: {found}"));
    assert_eq!(hit["email"], IRENE_EMAIL, "{hit}");
    assert_eq!(hit["birth_date"], IRENE_BIRTH, "{hit}");
    assert_eq!(hit["full_name"], IRENE_NAME, "{hit}");
    assert_eq!(hit["social_name"], IRENE_SOCIAL, "{hit}");
    // And by the beginnings of the words of either name.
    for q in ["irenil cifra", "irenaldo sigil"] {
        let (_, found) = json_of(
            app.get(
                &format!(
                    "/api/clinics/{}/patients?q={}",
                    s.a.clinic,
                    q.replace(' ', "+")
                ),
                Some(&s.a.recep.access),
            )
            .await,
        )
        .await;
        assert_eq!(found[0]["id"], s.patient.as_str(), "{q}: {found}");
    }
    let (_, day) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/appointments?from={}&to={}",
                s.a.clinic, s.a.day, s.a.day
            ),
            Some(&s.a.recep.access),
        )
        .await,
    )
    .await;
    let text = day.to_string();
    assert!(text.contains(&format!("obs {SENTINEL}")), "{day}");
    assert!(text.contains(&format!("motivo {SENTINEL}")), "{day}");
    let (_, queue) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue", s.a.clinic),
            Some(&s.a.recep.access),
        )
        .await,
    )
    .await;
    assert!(
        queue.to_string().contains(&format!("Zuleica {SENTINEL}")),
        "{queue}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn key_rotation_moves_every_value_to_the_new_key_while_a_node_writes_and_loses_nothing() {
    // No e-mail channel: a message sent meanwhile would be rewritten by its delivery (the
    // address it went to, under the new key), not by the rotation this test counts.
    let app = spawn_app_with(|st| st.messaging.mail_dir = String::new()).await;
    let s = seed(&app).await;
    let original_pdf = download(
        &app,
        &s.a.helena,
        &format!("/api/documents/{}/pdf", s.document),
    )
    .await;
    // A file stored before encryption at rest: plain name and bytes. Still served as is.
    let plain = format!("%PDF-1.4\n% antigo {SENTINEL}\n%%EOF\n").into_bytes();
    let id_literal = if app.is_postgres() {
        format!("'{}'", s.attachment)
    } else {
        format!("X'{}'", s.attachment.replace('-', ""))
    };
    raw_exec(
        &app,
        format!(
            "UPDATE chat_attachments SET filename_enc = 'antigo.pdf', data = $1 WHERE id = {id_literal}"
        ),
        plain.clone(),
    )
    .await;
    let path = format!("/api/chat/attachments/{}", s.attachment);
    assert_eq!(download(&app, &s.joao, &path).await, plain);

    // Every encrypted column holds values under t1 (or, for that one file, none at all).
    let old = FieldCipher::new("t1", &BTreeMap::from([("t1".to_string(), T1.to_string())]))
        .expect("cipher");
    let before = atende::app::keys::status(&app.state.store, &old)
        .await
        .expect("status");
    let both = FieldCipher::new(
        "t2",
        &BTreeMap::from([
            ("t1".to_string(), T1.to_string()),
            ("t2".to_string(), T2.to_string()),
        ]),
    )
    .expect("cipher");
    let pending = atende::app::keys::status(&app.state.store, &both)
        .await
        .expect("status");
    for (b, p) in before.iter().zip(&pending) {
        assert!(p.count > 0, "nothing seeded in {}.{}", p.table, p.column);
        let legacy = b.table == "chat_attachments";
        assert_eq!(b.count, i64::from(legacy), "{}.{}", b.table, b.column);
    }

    // The operator's order: nodes restart with both keys, the new one active; then rotate.
    // Meanwhile a node keeps writing chat messages (under the new key).
    let node = spawn_node(Some(app.db_url.clone()), |st| {
        st.security.encryption_active_key = "t2".into();
        st.security.encryption_keys = BTreeMap::from([
            ("t1".to_string(), Secret::new(T1.to_string())),
            ("t2".to_string(), Secret::new(T2.to_string())),
        ]);
        st.messaging.mail_dir = String::new();
    })
    .await;
    // The first node stops: nothing writes under the old key from now on.
    app.shutdown.shutdown().await;
    let mut w = node.ws(&s.joao).await;
    w.join(&s.topic, None).await;
    let store = node.state.store.clone();
    let rotation =
        actix_web::rt::spawn(
            async move { atende::app::keys::rotate(&store, &both, 3, |_| {}).await },
        );
    for i in 0..20 {
        let r = w
            .request(
                &s.topic,
                "message.send",
                json!({"client_id": uuid::Uuid::now_v7(), "body": format!("durante {i}")}),
            )
            .await;
        assert_eq!(r["payload"]["status"], "ok", "{r}");
    }
    let report = rotation.await.expect("join").expect("rotation");
    let rewritten: i64 = pending.iter().map(|p| p.count).sum();
    assert!(
        report.total() >= rewritten,
        "{} of {rewritten} rewritten",
        report.total()
    );
    for c in ENCRYPTED_COLUMNS {
        for v in raw_values(&node, c.table, c.column).await {
            // Empty values (an appointment without notes) say nothing and stay empty.
            assert!(
                v.is_empty() || v.starts_with(b"v1:t2:"),
                "{}.{} still holds a value not under t2",
                c.table,
                c.column
            );
        }
    }

    // A node with only the new key reads everything back as it was written.
    let fresh = spawn_node(Some(app.db_url.clone()), |st| {
        st.security.encryption_active_key = "t2".into();
        st.security.encryption_keys =
            BTreeMap::from([("t2".to_string(), Secret::new(T2.to_string()))]);
    })
    .await;
    assert_eq!(download(&fresh, &s.joao, &path).await, plain);
    assert_eq!(
        download(
            &fresh,
            &s.a.helena,
            &format!("/api/documents/{}/pdf", s.document)
        )
        .await,
        original_pdf
    );
    let (status, history) = json_of(
        fresh
            .get(
                &format!("/api/chat/rooms/{}/messages?limit=100", s.room),
                Some(&s.a.helena.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let bodies: Vec<&str> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(bodies.contains(&format!("exame {SENTINEL}").as_str()));
    assert!(bodies.contains(&"durante 19"), "{bodies:?}");
    let (status, e) = json_of(
        fresh
            .get(
                &format!("{}/encounters/{}", s.record(), s.encounter),
                Some(&s.a.helena.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["content"]["chief_complaint"], SENTINEL);
    assert_eq!(e["status"], "locked");
    assert!(e.to_string().contains(&format!("adendo {SENTINEL}")), "{e}");
    let (status, p) = json_of(
        fresh
            .get(
                &format!("/api/clinics/{}/patients/{}", s.a.clinic, s.patient),
                Some(&s.a.helena.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["notes"], format!("nota {SENTINEL}"));
    assert_eq!(p["email"], IRENE_EMAIL, "{p}");
    assert_eq!(p["birth_date"], IRENE_BIRTH, "{p}");
    assert_eq!(p["full_name"], IRENE_NAME, "{p}");
    assert_eq!(p["social_name"], IRENE_SOCIAL, "{p}");
    // Replays of the live events decrypt too.
    let mut h = fresh.ws(&s.a.helena).await;
    h.join(&s.topic, Some(0)).await;
    let first = h.push("chat.message").await;
    assert!(!first["payload"].is_null(), "{first}");
}

/// An installation upgraded from a version that kept identity in the clear: its patient rows
/// hold plain names, CPF, birth date, phone and e-mail and no blind index. The next start
/// seals them and indexes the CPF and the names, so the clinic still finds the patient by
/// CPF or name and reads them whole.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn patient_rows_from_before_identity_encryption_are_sealed_and_indexed_at_start() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let cpf = cpf_for(8200);
    let p = created(
        app.post(
            &format!("/api/clinics/{}/patients", a.clinic),
            Some(&a.recep.access),
            &json!({"full_name": "Ondina Antiga", "cpf": cpf, "birth_date": "1961-03-04",
                    "email": "ondina.antiga@exemplo.com.br"}),
        )
        .await,
    )
    .await;
    // Put the row back the way the earlier version wrote it.
    let id = p["id"].as_str().expect("id");
    let id_literal = if app.is_postgres() {
        format!("'{id}'")
    } else {
        format!("X'{}'", id.replace('-', ""))
    };
    let legacy = format!(
        "UPDATE patients SET cpf_enc = '{cpf}', birth_date_enc = '1961-03-04',
            email_enc = 'ondina.antiga@exemplo.com.br', cpf_index = NULL,
            full_name_enc = 'Ondina Antiga', social_name_enc = 'Dina Vetusta', names_indexed = FALSE
         WHERE id = {id_literal}"
    );
    let no_tokens = format!("DELETE FROM patient_name_tokens WHERE patient_id = {id_literal}");
    with_conn!(app, c => {
        sqlx::query(sqlx::AssertSqlSafe(legacy)).execute(&mut c).await.expect("legacy row");
        sqlx::query(sqlx::AssertSqlSafe(no_tokens)).execute(&mut c).await.expect("no tokens");
    });
    assert!(
        holds(&whole_database(&app).await, cpf.as_bytes()),
        "the legacy row is in the clear"
    );

    let upgraded = spawn_node(Some(app.db_url.clone()), |_| {}).await;
    let all = whole_database(&upgraded).await;
    assert!(
        !holds(&all, cpf.as_bytes()),
        "the CPF is still in the clear"
    );
    assert!(
        !holds(&all, b"ondina.antiga@exemplo.com.br"),
        "the e-mail is still in the clear"
    );
    for name in ["Ondina Antiga", "Dina Vetusta"] {
        assert!(
            !holds(&all, name.as_bytes()),
            "{name} is still in the clear"
        );
    }
    let (status, found) = json_of(
        upgraded
            .get(
                &format!("/api/clinics/{}/patients?q={cpf}", a.clinic),
                Some(&a.recep.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let hit = found
        .as_array()
        .and_then(|l| l.iter().find(|x| x["id"] == p["id"]))
        .cloned()
        .unwrap_or_else(|| panic!("found by CPF after the upgrade: {found}"));
    assert_eq!(hit["birth_date"], "1961-03-04", "{hit}");
    assert_eq!(hit["email"], "ondina.antiga@exemplo.com.br", "{hit}");
    assert_eq!(hit["full_name"], "Ondina Antiga", "{hit}");
    for q in ["ondina", "dina+vetus"] {
        let (_, found) = json_of(
            upgraded
                .get(
                    &format!("/api/clinics/{}/patients?q={q}", a.clinic),
                    Some(&a.recep.access),
                )
                .await,
        )
        .await;
        assert_eq!(found[0]["id"], p["id"], "{q}: {found}");
    }
}
