//! LGPD data-subject requests: the export holds every kind of a patient's data, decrypted,
//! and nothing of anyone else; only the clinic's admin (or the patient, for their own
//! linked records) gets it; anonymising removes the person's identifiers from every table
//! while the clinical record and the money stay, cancels what is to come, ends the linked
//! account's sessions, keeps the audit chain whole, and is refused the second time; the
//! `atende lgpd` commands do the same from the command line.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book, cpf_for};
use crate::helpers::*;
use crate::keys::{created, raw_values, whole_database};
use atende::store::keys::{ENCRYPTED_COLUMNS, Form};

/// One patient of the clinic with data of every kind, each carrying `tag`.
pub(crate) struct Person {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) cpf: String,
    pub(crate) phone_digits: String,
    pub(crate) email: String,
    pub(crate) tag: String,
    pub(crate) future: String,
    pub(crate) document: String,
}

/// Register a patient whose name, contacts and every text carry `tag`, with appointments
/// (one cancelled, one to come), a waiting-room visit, a chat message and file, a
/// prescription, a signed encounter with an addendum, an allergy, a problem, vital signs, a
/// stopped medicine, the clinic's notes and a cash payment.
async fn person(app: &TestApp, a: &Agenda, n: usize, tag: &str) -> Person {
    let name = format!("Irene {tag} Souza");
    let cpf = cpf_for(n);
    let phone_digits = format!("1198{:07}", 7_000_000 + n);
    let phone = format!(
        "+55 {} {}-{}",
        &phone_digits[0..2],
        &phone_digits[2..7],
        &phone_digits[7..]
    );
    let email = format!("irene.{}@exemplo.com.br", tag.to_lowercase());
    let p = created(
        app.post(
            &format!("/api/clinics/{}/patients", a.clinic),
            Some(&a.recep.access),
            &json!({"full_name": name, "cpf": cpf, "birth_date": "1971-05-06",
                    "email": email, "phone": phone, "allergies": format!("alergia {tag}"),
                    "address": {"street": format!("Rua {tag}"), "number": "12", "district": "Centro",
                                "city": "Recife", "uf": "PE", "postal_code": "50050-000"}}),
        )
        .await,
    )
    .await;
    let id = p["id"].as_str().expect("id").to_string();
    let hour = 8 + (n % 4) as u32;
    let future = created(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": id, "starts_at": a.at(hour, 0), "notes": format!("obs {tag}")}),
        )
        .await,
    )
    .await;
    let future = future["id"].as_str().expect("id").to_string();
    let other = created(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": id, "starts_at": a.at(hour + 5, 0)}),
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
            &json!({"reason": format!("motivo {tag}")}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("/api/clinics/{}/queue", a.clinic),
            Some(&a.recep.access),
            &json!({"patient_id": id}),
        )
        .await,
    )
    .await;
    let resp = app
        .patch(
            &format!("/api/clinics/{}/patients/{id}", a.clinic),
            Some(&a.helena.access),
            &json!({"notes": format!("nota {tag}")}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Chat: a room of the record, a file and a message from the doctor.
    let (status, room) = json_of(
        app.post(
            &format!("/api/clinics/{}/chat/rooms", a.clinic),
            Some(&a.recep.access),
            &json!({"patient_id": id, "professional_user_id": a.helena.me["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{room}");
    let att = created(
        app.client
            .post(app.url(&format!(
                "/api/chat/rooms/{}/attachments?filename=exame-{tag}.pdf",
                room["id"].as_str().expect("id")
            )))
            .bearer_auth(&a.helena.access)
            .header("content-type", "application/octet-stream")
            .body(format!("%PDF-1.4\n% {tag}\n%%EOF\n"))
            .send()
            .await
            .expect("upload"),
    )
    .await;
    let topic = room["topic"].as_str().expect("topic");
    let mut h = app.ws(&a.helena).await;
    h.join(topic, None).await;
    let r = h
        .request(
            topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(),
            "body": format!("conversa {tag}"), "attachment_id": att["id"]}),
        )
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    let doc = json_of(
        app.post(
            "/api/documents",
            Some(&a.helena.access),
            &json!({"clinic_id": a.clinic, "patient_id": id, "content": {
                "kind": "prescription", "notes": format!("receita {tag}"),
                "medications": [{"name": "Losartana", "concentration": "50 mg", "form": "comprimido",
                  "quantity": "30 comprimidos", "instructions": "1 comprimido ao dia"}]}}),
        )
        .await,
    )
    .await;
    assert_eq!(doc.0, StatusCode::ACCEPTED, "{}", doc.1);
    let document = doc.1["id"].as_str().expect("id").to_string();
    let record = format!("/api/clinics/{}/patients/{id}/record", a.clinic);
    let e = created(
        app.post(
            &format!("{record}/encounters"),
            Some(&a.helena.access),
            &json!({"content": {"chief_complaint": format!("queixa {tag}"),
                "history": "", "examination": "", "plan": "", "evolution": "", "diagnoses": []}}),
        )
        .await,
    )
    .await;
    let encounter = e["id"].as_str().expect("id");
    for (path, body) in [
        (format!("{record}/encounters/{encounter}/sign"), json!({})),
        (
            format!("{record}/encounters/{encounter}/addenda"),
            json!({"text": format!("adendo {tag}")}),
        ),
        (
            format!("{record}/allergies"),
            json!({"substance": format!("substancia {tag}"), "reaction": "urticária", "severity": "mild"}),
        ),
        (
            format!("{record}/problems"),
            json!({"code": "I10", "notes": format!("problema {tag}")}),
        ),
        (
            format!("{record}/vitals"),
            json!({"values": {"weight_kg": 71.5}, "notes": format!("sinais {tag}")}),
        ),
        (
            format!("{record}/medications/stop"),
            json!({"document_id": document, "item": 0, "reason": format!("suspenso {tag}")}),
        ),
    ] {
        created(app.post(&path, Some(&a.helena.access), &body).await).await;
    }
    created(
        app.post(
            &format!("/api/clinics/{}/cash/movements", a.clinic),
            Some(&a.recep.access),
            &json!({"kind": "payment", "method": "cash", "amount_cents": 15_000 + n as i64,
                    "appointment_id": future, "description": format!("caixa {tag}")}),
        )
        .await,
    )
    .await;
    Person {
        id,
        name,
        cpf,
        phone_digits,
        email,
        tag: tag.to_string(),
        future,
        document,
    }
}

/// The demo clinic with its cash register open and two patients alike in everything but
/// their tags.
pub(crate) async fn two_people(app: &TestApp) -> (Agenda, Person, Person) {
    let a = agenda_fixture(app).await;
    created(
        app.post(
            &format!("/api/clinics/{}/cash/open", a.clinic),
            Some(&a.recep.access),
            &json!({"opening_cents": 0}),
        )
        .await,
    )
    .await;
    let irene = person(app, &a, 9101, "Quaresmeira").await;
    let other = person(app, &a, 9102, "Jacarandoso").await;
    (a, irene, other)
}

fn export_path(a: &Agenda, p: &Person) -> String {
    format!("/api/clinics/{}/patients/{}/export", a.clinic, p.id)
}

/// A patient account (its own profile has other contacts) linked to `p`'s record.
async fn linked_account(app: &TestApp, a: &Agenda, p: &Person) -> Session {
    let (status, s) = app
        .sign_up(&signup_body(
            &format!("conta.{}@exemplo.com.br", p.tag.to_lowercase()),
            &cpf_for(9900),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    let (status, code) = json_of(
        app.post(
            &format!("/api/clinics/{}/patients/{}/links/code", a.clinic, p.id),
            Some(&a.recep.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{code}");
    let (status, linked) = json_of(
        app.post(
            "/api/me/links/redeem",
            Some(&s.access),
            &json!({"code": code["code"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    s
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_export_holds_every_kind_of_the_patients_data_decrypted_and_nothing_of_another() {
    let app = spawn_app().await;
    let (a, irene, other) = two_people(&app).await;

    let (status, e) = json_of(
        app.get(
            &format!(
                "{}?legal_basis=Pedido%20do%20titular%20por%20e-mail",
                export_path(&a, &irene)
            ),
            Some(&a.admin.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["format"], "atende.lgpd.export.v1");
    assert_eq!(e["legal_basis"], "Pedido do titular por e-mail");
    let r = &e["records"][0];
    assert_eq!(e["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["clinic"]["id"], a.clinic.as_str());
    assert_eq!(r["patient"]["full_name"], irene.name);
    assert_eq!(r["patient"]["email"], irene.email);
    assert_eq!(r["patient"]["birth_date"], "1971-05-06");
    let tag = &irene.tag;
    // Every kind, decrypted: each section holds the tag where it was typed.
    for (section, want) in [
        ("/patient/address/street", format!("Rua {tag}")),
        ("/clinic_notes/notes", format!("nota {tag}")),
        ("/clinic_notes/allergies", format!("alergia {tag}")),
        ("/appointments", format!("obs {tag}")),
        ("/appointments", format!("motivo {tag}")),
        ("/queue_entries", "waiting".to_string()),
        ("/chat_messages", format!("conversa {tag}")),
        ("/chat_attachments", format!("exame-{tag}.pdf")),
        ("/documents", format!("receita {tag}")),
        ("/clinical_record/encounters", format!("queixa {tag}")),
        ("/clinical_record/addenda", format!("adendo {tag}")),
        ("/clinical_record/allergies", format!("substancia {tag}")),
        ("/clinical_record/problems", format!("problema {tag}")),
        ("/clinical_record/vital_signs", format!("sinais {tag}")),
        (
            "/clinical_record/medication_stops",
            format!("suspenso {tag}"),
        ),
        ("/payments/movements", format!("caixa {tag}")),
        ("/messages", "appointment_booked".to_string()),
        ("/access_log", "patient.registered".to_string()),
    ] {
        let v = r.pointer(section).unwrap_or(&Value::Null);
        assert!(
            v.to_string().contains(&want),
            "{section} lacks {want:?}: {v}"
        );
    }
    let amounts: Vec<i64> = r["payments"]["movements"]
        .as_array()
        .expect("movements")
        .iter()
        .filter_map(|m| m["amount_cents"].as_i64())
        .collect();
    assert_eq!(amounts, vec![15_000 + 9101], "money in centavos");
    let starts = r["appointments"][0]["starts_at"].as_str().expect("a time");
    assert!(
        starts.parse::<chrono::DateTime<chrono::Utc>>().is_ok(),
        "ISO time: {starts}"
    );
    // Nothing of the other patient, though alike in everything else.
    let text = e.to_string();
    for theirs in [
        &other.tag,
        &other.email,
        &other.name,
        &other.cpf,
        &other.phone_digits,
    ] {
        assert!(!text.contains(theirs.as_str()), "the export leaks {theirs}");
    }

    // The PDF summary of the same.
    let resp = app
        .get(
            &format!("{}?format=pdf", export_path(&a, &irene)),
            Some(&a.admin.access),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = resp.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(lopdf::Document::load_mem(&pdf).is_ok(), "a readable PDF");

    // Who may not: the receptionist, another clinic's admin; a record the clinic lacks.
    assert_error(
        app.get(&export_path(&a, &irene), Some(&a.recep.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let boavista_admin = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&export_path(&a, &irene), Some(&boavista_admin.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(
            &format!(
                "/api/clinics/{}/patients/{}/export",
                a.clinic,
                uuid::Uuid::now_v7()
            ),
            Some(&a.admin.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(
            &format!("{}?format=xml", export_path(&a, &irene)),
            Some(&a.admin.access),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_format",
    )
    .await;

    // Each export is in the audit log with who, whom and the legal basis.
    let rows = app.state.store.audit_page(0, 100_000).await.expect("audit");
    let exports: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "lgpd.exported")
        .collect();
    assert_eq!(exports.len(), 2, "the JSON and the PDF");
    let first = exports[0];
    assert_eq!(first.entity_id.as_deref(), Some(irene.id.as_str()));
    assert_eq!(
        first.actor_user_id.map(|u| u.to_string()),
        a.admin.me["id"].as_str().map(String::from)
    );
    assert!(
        first.details.contains("Pedido do titular por e-mail"),
        "{}",
        first.details
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_exports_their_own_linked_records_only() {
    let app = spawn_app().await;
    let (a, irene, other) = two_people(&app).await;
    let account = linked_account(&app, &a, &irene).await;

    let (status, e) = json_of(app.get("/api/me/export", Some(&account.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let records = e["records"].as_array().expect("records");
    // The account's own profile and the linked clinic record.
    assert_eq!(records.len(), 2, "{e}");
    assert!(
        records
            .iter()
            .any(|r| r["patient"]["id"] == irene.id.as_str())
    );
    assert_eq!(
        e["account"]["email"],
        format!("conta.{}@exemplo.com.br", irene.tag.to_lowercase())
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("queixa {}", irene.tag)),
        "the record is in it"
    );
    for theirs in [&other.tag, &other.email, &other.name] {
        assert!(!text.contains(theirs.as_str()), "the export leaks {theirs}");
    }
    let resp = app
        .get("/api/me/export?format=pdf", Some(&account.access))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.expect("pdf").starts_with(b"%PDF-"));
    // Without a login, nothing.
    assert_eq!(
        app.get("/api/me/export", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Every stored value as it reads, by where it is: the database as stored (`raw`), and each
/// encrypted column opened, except the signed documents the law keeps whole (their PDF
/// prints the name and CPF as issued).
async fn readable_database(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![("rows".to_string(), live_database(app).await)];
    for c in ENCRYPTED_COLUMNS {
        if c.table == "documents" {
            continue;
        }
        let mut opened = Vec::new();
        for v in raw_values(app, c.table, c.column).await {
            if c.form == Form::BytesOrPlain {
                opened.extend(app.state.cipher.open_bytes(v).unwrap_or_default());
            } else {
                let text = String::from_utf8(v).unwrap_or_default();
                opened.extend(
                    app.state
                        .cipher
                        .open_text(text)
                        .unwrap_or_default()
                        .into_bytes(),
                );
            }
            opened.push(b'\n');
        }
        all.push((format!("{}.{}", c.table, c.column), opened));
    }
    all
}

/// Every live row of every table as text: PostgreSQL's as `whole_database` reads them, and
/// SQLite's through `quote()` of each column. Not the file's free space: old row images stay
/// there (and in PostgreSQL's dead tuples) until VACUUM, which docs/lgpd.md tells operators.
async fn live_database(app: &TestApp) -> Vec<u8> {
    if app.is_postgres() {
        return whole_database(app).await;
    }
    use sqlx::Connection as _;
    let mut c = sqlx::SqliteConnection::connect(&app.db_url)
        .await
        .expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut c)
    .await
    .expect("tables");
    let mut all = Vec::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{t}')"
        )))
        .fetch_all(&mut c)
        .await
        .expect("columns");
        let row = cols
            .iter()
            .map(|col| format!("quote(\"{col}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let rows: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {row} FROM \"{t}\"")))
                .fetch_all(&mut c)
                .await
                .expect("rows");
        for r in rows {
            all.extend_from_slice(r.as_bytes());
            all.push(b'\n');
        }
    }
    all
}

/// Where `needle` is stored, with the bytes around it.
fn found_in(db: &[(String, Vec<u8>)], needle: &str) -> Vec<String> {
    let n = needle.as_bytes();
    db.iter()
        .filter_map(|(place, bytes)| {
            let at = bytes.windows(n.len()).position(|w| w == n)?;
            let around = &bytes[at.saturating_sub(80)..(at + n.len() + 80).min(bytes.len())];
            Some(format!("{place}: {}", String::from_utf8_lossy(around)))
        })
        .collect()
}

fn identifiers(p: &Person) -> Vec<(&'static str, String)> {
    let formatted_cpf = format!(
        "{}.{}.{}-{}",
        &p.cpf[0..3],
        &p.cpf[3..6],
        &p.cpf[6..9],
        &p.cpf[9..]
    );
    vec![
        ("name", p.name.clone()),
        ("CPF", p.cpf.clone()),
        ("formatted CPF", formatted_cpf),
        ("phone", p.phone_digits.clone()),
        ("e-mail", p.email.clone()),
    ]
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn anonymising_removes_the_identity_everywhere_keeps_the_record_and_money_and_refuses_twice()
{
    let app = spawn_app().await;
    let (a, irene, other) = two_people(&app).await;
    let account = linked_account(&app, &a, &irene).await;
    let mut ws = app.ws(&account).await;
    let me = format!("user:{}", account.me["id"].as_str().expect("id"));
    ws.join(&me, None).await;
    let before = readable_database(&app).await;
    for (what, v) in identifiers(&irene) {
        // The CPF is stored as digits; its formatted form only ever shows on screens.
        if what != "formatted CPF" {
            assert!(
                !found_in(&before, &v).is_empty(),
                "the seed holds the {what}"
            );
        }
    }

    let path = format!("/api/clinics/{}/patients/{}/anonymise", a.clinic, irene.id);
    let basis = "Art. 18, VI: pedido de eliminação do titular (protocolo 2026-117)";
    assert_error(
        app.post(
            &path,
            Some(&a.recep.access),
            &json!({"legal_basis": basis, "confirmation": irene.name}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &path,
            Some(&a.admin.access),
            &json!({"legal_basis": basis, "confirmation": "Outra Pessoa"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "confirmation_mismatch",
    )
    .await;
    assert_error(
        app.post(
            &path,
            Some(&a.admin.access),
            &json!({"legal_basis": "", "confirmation": irene.name}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_legal_basis",
    )
    .await;
    let (status, report) = json_of(
        app.post(
            &path,
            Some(&a.admin.access),
            &json!({"legal_basis": basis, "confirmation": irene.name.to_uppercase()}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let display = report["display_name"].as_str().expect("name").to_string();
    assert!(display.starts_with("Paciente anonimizado #"), "{display}");
    assert_eq!(report["cancelled_appointments"], json!([irene.future]));
    // What stays, until when and why.
    let retained = report["retained"].as_array().expect("retained");
    let kept = |what: &str| {
        retained
            .iter()
            .find(|r| r["what"] == what)
            .cloned()
            .unwrap_or_else(|| panic!("{what} not in {report}"))
    };
    let clinical = kept("clinical_record");
    let twenty = (chrono::Utc::now() + chrono::Duration::days(365 * 20 - 10)).date_naive();
    let until: chrono::NaiveDate = clinical["until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("date");
    assert!(until >= twenty, "{clinical}");
    assert!(
        clinical["why"]
            .as_str()
            .expect("why")
            .contains("1.821/2007")
    );
    let money = kept("payments");
    let fiscal: chrono::NaiveDate = money["until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("date");
    assert!(fiscal.format("%m-%d").to_string() == "01-01", "{money}");
    kept("documents");
    kept("audit_log");

    // The linked account's connection is closed (its sessions ended).
    assert!(
        ws.ended_within(std::time::Duration::from_secs(5))
            .await
            .is_some(),
        "the linked patient's socket stays open"
    );
    assert_eq!(
        app.get("/api/me", Some(&account.access)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The identity is nowhere: not in a column, not inside an encrypted value, not in a
    // stored live event.
    let after = readable_database(&app).await;
    for (what, v) in identifiers(&irene) {
        let places = found_in(&after, &v);
        assert!(
            places.is_empty(),
            "the patient's {what} is still stored in {places:?}"
        );
    }
    for (what, v) in identifiers(&other) {
        if what != "formatted CPF" {
            assert!(
                !found_in(&after, &v).is_empty(),
                "the other patient's {what} went too"
            );
        }
    }
    assert!(!found_in(&after, &display).is_empty());

    // The CPF and name searches no longer find them; the other patient still is.
    for (p, found) in [(&irene, false), (&other, true)] {
        for q in [p.cpf.as_str(), p.tag.as_str()] {
            let (_, list) = json_of(
                app.get(
                    &format!("/api/clinics/{}/patients?q={q}", a.clinic),
                    Some(&a.recep.access),
                )
                .await,
            )
            .await;
            let hit = list
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x["id"] == p.id.as_str()));
            assert_eq!(hit, found, "{q}: {list}");
        }
    }

    // The clinical record and the money stay, with their dates; the appointment to come is
    // cancelled.
    let (status, e) = json_of(
        app.get(&export_path(&a, &irene), Some(&a.admin.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let r = &e["records"][0];
    assert_eq!(r["patient"]["full_name"], display.as_str());
    assert_eq!(r["patient"]["cpf"], "");
    assert!(
        r["patient"]["email"].is_null()
            && r["patient"]["phone"].is_null()
            && r["patient"]["address"].is_null(),
        "{}",
        r["patient"]
    );
    assert_eq!(
        r["patient"]["birth_date"], "1971-01-01",
        "reduced to the year"
    );
    assert!(r["anonymised_at"].is_string());
    let enc = &r["clinical_record"]["encounters"][0];
    assert_eq!(
        enc["content"]["chief_complaint"],
        format!("queixa {}", irene.tag)
    );
    assert!(enc["created_at"].is_string());
    assert_eq!(
        r["clinical_record"]["addenda"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(r["documents"][0]["id"], irene.document.as_str());
    assert_eq!(r["payments"]["movements"][0]["amount_cents"], 15_000 + 9101);
    assert!(r["payments"]["movements"][0]["at"].is_string());
    let future = r["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .find(|x| x["id"] == irene.future.as_str())
        .expect("the appointment stays");
    assert_eq!(future["status"], "cancelled");
    assert_eq!(r["chat_attachments"], json!([]), "the files are erased");
    assert!(
        r["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .all(|m| m["to"].is_null())
    );
    assert!(
        r["message_consents"]
            .as_array()
            .expect("consents")
            .iter()
            .all(|c| c["opted_in"] == false)
    );
    assert_eq!(r["account_links"], json!([]));

    // Audited with its legal basis; the chain still verifies.
    let rows = app.state.store.audit_page(0, 100_000).await.expect("audit");
    let row = rows
        .iter()
        .find(|r| r.action == "lgpd.anonymised")
        .expect("audited");
    assert!(
        row.details.contains("protocolo 2026-117"),
        "{}",
        row.details
    );
    assert!(
        matches!(
            app.verify_audit().await,
            atende::security::audit::ChainReport::Intact { .. }
        ),
        "the audit chain verifies"
    );

    // A second request is refused clearly.
    assert_error(
        app.post(
            &path,
            Some(&a.admin.access),
            &json!({"legal_basis": basis, "confirmation": display}),
        )
        .await,
        StatusCode::CONFLICT,
        "already_anonymised",
    )
    .await;
}
