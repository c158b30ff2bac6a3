//! The clinical record: the encounter lifecycle (draft → version conflict → signed →
//! addenda), the 24 h auto-lock on an injected clock, who opens a record (care
//! relationship, break the glass, receptionists, other clinics, psychology notes), the
//! patient's own view, allergies, the timeline, and no clinical text in plaintext at rest.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book, cpf_for};
use crate::helpers::*;

/// A word that appears nowhere but in the clinical text these tests write.
const SENTINEL: &str = "Zumbidoquarteto";

struct Rec {
    a: Agenda,
    /// A patient registered today at Aurora, with an appointment with Helena only.
    patient: String,
    appointment: String,
}

impl Rec {
    fn base(&self, patient: &str) -> String {
        format!("/api/clinics/{}/patients/{patient}/record", self.a.clinic)
    }

    fn record(&self) -> String {
        self.base(&self.patient)
    }
}

async fn fixture(app: &TestApp, n: usize) -> Rec {
    let a = agenda_fixture(app).await;
    let (status, p) = json_of(
        app.post(
            &format!("/api/clinics/{}/patients", a.clinic),
            Some(&a.recep.access),
            &json!({"full_name": "Lúcia Prontuário", "cpf": cpf_for(7000 + n), "birth_date": "1979-03-03"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let patient = p["id"].as_str().expect("id").to_string();
    let (status, appt) = json_of(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": patient,
                   "starts_at": a.at(10, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let appointment = appt["id"].as_str().expect("id").to_string();
    Rec {
        a,
        patient,
        appointment,
    }
}

fn content(complaint: &str) -> Value {
    json!({"chief_complaint": complaint, "history": "Febre há 3 dias.", "examination": "Orofaringe hiperemiada.",
           "diagnoses": [{"code": "j11.1", "text": "Influenza"}], "plan": "Sintomáticos; retorno se piora.",
           "evolution": ""})
}

async fn create(app: &TestApp, r: &Rec, who: &Session, body: Value) -> (StatusCode, Value) {
    json_of(
        app.post(
            &format!("{}/encounters", r.record()),
            Some(&who.access),
            &body,
        )
        .await,
    )
    .await
}

async fn put(app: &TestApp, path: &str, who: &Session, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(&who.access)
        .json(body)
        .send()
        .await
        .expect("put")
}

async fn actions(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    app.state
        .store
        .audit_page(0, 100_000)
        .await
        .expect("audit")
        .into_iter()
        .map(|r| (r.action, r.actor_user_id.map(|u| u.to_string()), r.details))
        .collect()
}

fn did(rows: &[(String, Option<String>, String)], action: &str, who: &Session) -> bool {
    rows.iter()
        .any(|(a, u, _)| a == action && u.as_deref() == who.me["id"].as_str())
}

/// Add a professional to Aurora (by its admin) and log them in.
async fn new_professional(app: &TestApp, r: &Rec, body: Value) -> Session {
    let (status, member) = json_of(
        app.post(
            &format!("/api/clinics/{}/professionals", r.a.clinic),
            Some(&r.a.admin.access),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    app.login(
        body["email"].as_str().expect("email"),
        body["password"].as_str().expect("password"),
    )
    .await
}

#[actix_web::test]
async fn an_encounter_goes_from_draft_to_signed_and_is_then_corrected_only_by_addenda() {
    let app = spawn_app().await;
    let r = fixture(&app, 1).await;
    let helena = &r.a.helena;

    let (status, e) = create(
        &app,
        &r,
        helena,
        json!({"appointment_id": r.appointment, "content": content("Dor de garganta")}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    assert_eq!(e["status"], "draft");
    assert_eq!(e["version"], 1);
    assert_eq!(e["author"]["council"], "CRM");
    assert!(
        e["author"]["council_number"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert_eq!(e["content"]["diagnoses"][0]["code"], "J11.1");
    assert_eq!(e["appointment_id"], r.appointment.as_str());
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );

    // Two tabs: the first saves version 1, the second (still at 1) is refused.
    let mut c = content("Dor de garganta e tosse");
    let (status, saved) =
        json_of(put(&app, &path, helena, &json!({"version": 1, "content": c})).await).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 2);
    c["plan"] = json!("Outro plano, de outra aba");
    let conflict = assert_error(
        put(&app, &path, helena, &json!({"version": 1, "content": c})).await,
        StatusCode::CONFLICT,
        "version_conflict",
    )
    .await;
    assert_eq!(conflict["current_version"], 2);
    let (_, now) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert_eq!(now["content"]["chief_complaint"], "Dor de garganta e tosse");
    assert_eq!(now["content"]["plan"], "Sintomáticos; retorno se piora.");

    // A badly shaped CID-10 code is refused, the draft unchanged.
    let mut bad = content("x");
    bad["diagnoses"] = json!([{"code": "J1", "text": "?"}]);
    let resp = put(&app, &path, helena, &json!({"version": 2, "content": bad})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // An encounter is started only from the caller's own appointment with the patient.
    let rafael = &r.a.rafael;
    let (status, _) = json_of(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&rafael.access),
            &json!({"reason": "Paciente em atendimento de urgência"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_error(
        app.post(
            &format!("{}/encounters", r.record()),
            Some(&rafael.access),
            &json!({"appointment_id": r.appointment, "content": content("x")}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_appointment",
    )
    .await;

    // Only the author edits or signs; then it is locked for good.
    assert_error(
        put(&app, &path, rafael, &json!({"version": 2, "content": c})).await,
        StatusCode::FORBIDDEN,
        "not_author",
    )
    .await;
    let (status, signed) = json_of(
        app.post(&format!("{path}/sign"), Some(&helena.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["status"], "locked");
    assert_eq!(signed["lock_kind"], "signed");
    assert_eq!(signed["locked_by"], helena.me["id"]);
    assert_error(
        put(&app, &path, helena, &json!({"version": 2, "content": c})).await,
        StatusCode::CONFLICT,
        "encounter_locked",
    )
    .await;
    assert_error(
        app.post(&format!("{path}/sign"), Some(&helena.access), &json!({}))
            .await,
        StatusCode::CONFLICT,
        "encounter_locked",
    )
    .await;
    // No route deletes it.
    let del = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&helena.access)
        .send()
        .await
        .expect("delete");
    assert!(!del.status().is_success(), "{}", del.status());

    // Corrections are addenda, with their own author and time.
    let (status, add) = json_of(
        app.post(
            &format!("{path}/addenda"),
            Some(&helena.access),
            &json!({"text": "Correção: tosse seca, não produtiva."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    assert_eq!(add["author"]["user_id"], helena.me["id"]);
    assert_error(
        app.post(
            &format!("{path}/addenda"),
            Some(&helena.access),
            &json!({"text": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_text",
    )
    .await;
    let (_, full) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert_eq!(full["status"], "locked");
    assert_eq!(full["version"], 2);
    assert_eq!(
        full["content"]["chief_complaint"],
        "Dor de garganta e tosse"
    );
    assert_eq!(full["addenda"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        full["addenda"][0]["text"],
        "Correção: tosse seca, não produtiva."
    );

    let rows = actions(&app).await;
    for action in [
        "encounter.created",
        "encounter.saved",
        "encounter.signed",
        "encounter.addendum",
        "record.read",
    ] {
        assert!(did(&rows, action, helena), "no {action} by Helena");
    }

    // The database itself refuses to change a locked encounter or delete one.
    let id = e["id"].as_str().expect("id");
    let refused = raw_exec(
        &app,
        &format!(
            "UPDATE encounters SET content_enc = 'x' WHERE id = {}",
            id_literal(&app, id)
        ),
    )
    .await;
    assert!(refused.is_err(), "a locked encounter was changed");
    let refused = raw_exec(
        &app,
        &format!("DELETE FROM encounters WHERE id = {}", id_literal(&app, id)),
    )
    .await;
    assert!(refused.is_err(), "an encounter was deleted");
}

fn id_literal(app: &TestApp, id: &str) -> String {
    if app.is_postgres() {
        format!("'{id}'")
    } else {
        format!("X'{}'", id.replace('-', ""))
    }
}

async fn raw_exec(app: &TestApp, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    } else {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    }
}

#[actix_web::test]
async fn a_draft_locks_by_itself_after_24_hours_on_the_clock() {
    let app = spawn_app().await;
    let r = fixture(&app, 2).await;
    let helena = &r.a.helena;
    let (_, e) = create(&app, &r, helena, json!({"content": content("Cefaleia")})).await;
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );

    app.state.clock.advance(Duration::hours(23));
    let (status, saved) = json_of(
        put(
            &app,
            &path,
            helena,
            &json!({"version": 1, "content": content("Cefaleia tensional")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["status"], "draft");

    app.state
        .clock
        .advance(Duration::hours(1) + Duration::minutes(1));
    let (_, got) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert_eq!(got["status"], "locked", "{got}");
    assert_eq!(got["lock_kind"], "auto");
    assert_eq!(got["content"]["chief_complaint"], "Cefaleia tensional");
    assert_error(
        put(
            &app,
            &path,
            helena,
            &json!({"version": 2, "content": content("tarde demais")}),
        )
        .await,
        StatusCode::CONFLICT,
        "encounter_locked",
    )
    .await;
    assert!(
        actions(&app)
            .await
            .iter()
            .any(|(a, _, _)| a == "encounter.auto_locked")
    );
}

#[actix_web::test]
async fn a_professional_without_care_relationship_is_refused_until_breaking_the_glass() {
    let app = spawn_app().await;
    let r = fixture(&app, 3).await;
    let rafael = &r.a.rafael;
    let timeline = format!("{}/timeline", r.record());
    assert_error(
        app.get(&timeline, Some(&rafael.access)).await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
    assert_error(
        app.post(
            &format!("{}/encounters", r.record()),
            Some(&rafael.access),
            &json!({"content": content("x")}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
    // Helena has an appointment with the patient: she opens it.
    assert_eq!(
        app.get(&timeline, Some(&r.a.helena.access)).await.status(),
        StatusCode::OK
    );

    let glass = format!("{}/break-glass", r.record());
    assert_error(
        app.post(&glass, Some(&rafael.access), &json!({"reason": "urgente"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_too_short",
    )
    .await;
    let (status, g) = json_of(
        app.post(
            &glass,
            Some(&rafael.access),
            &json!({"reason": "Dor dentária aguda, paciente sem médico presente"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    assert!(g["expires_at"].as_str().is_some());
    let (status, page) = json_of(app.get(&timeline, Some(&rafael.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rows = actions(&app).await;
    assert!(did(&rows, "record.break_glass", rafael));
    assert!(
        rows.iter().any(|(a, u, d)| a == "record.read"
            && u.as_deref() == rafael.me["id"].as_str()
            && d.contains("break_glass")),
        "the read through the glass is audited as such"
    );

    // The clinic's admin reviews the opening, reason included; nobody else does.
    let log = format!("/api/clinics/{}/record/break-glass", r.a.clinic);
    let (status, openings) = json_of(app.get(&log, Some(&r.a.admin.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{openings}");
    let entry = &openings["entries"][0];
    assert_eq!(entry["user_id"], rafael.me["id"]);
    assert_eq!(entry["patient_id"], r.patient.as_str());
    assert_eq!(
        entry["reason"],
        "Dor dentária aguda, paciente sem médico presente"
    );
    for who in [rafael, &r.a.recep] {
        assert_error(
            app.get(&log, Some(&who.access)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let other = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&log, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // The opening lasts 12 h.
    app.state
        .clock
        .advance(Duration::hours(12) + Duration::minutes(1));
    assert_error(
        app.get(&timeline, Some(&rafael.access)).await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
}

#[actix_web::test]
async fn receptionists_and_other_clinics_never_read_the_record() {
    let app = spawn_app().await;
    let r = fixture(&app, 4).await;
    let (_, e) = create(
        &app,
        &r,
        &r.a.helena,
        json!({"content": content("Lombalgia")}),
    )
    .await;
    let enc = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );
    for path in [
        format!("{}/timeline", r.record()),
        format!("{}/allergies", r.record()),
        enc.clone(),
    ] {
        assert_error(
            app.get(&path, Some(&r.a.recep.access)).await,
            StatusCode::FORBIDDEN,
            "no_clinical_access",
        )
        .await;
    }
    assert_error(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&r.a.recep.access),
            &json!({"reason": "quero ver o prontuário todo"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "no_clinical_access",
    )
    .await;

    // Another clinic's admin: not of this clinic, with or without the glass.
    let other = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&enc, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&other.access),
            &json!({"reason": "emergência na outra clínica"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The record does not exist at the other clinic, even for Helena who works in both.
    let there = format!(
        "/api/clinics/{}/patients/{}/record/timeline",
        r.a.boavista, r.patient
    );
    assert_error(
        app.get(&there, Some(&r.a.helena.access)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[actix_web::test]
async fn psychology_notes_are_read_by_their_author_only_and_patients_see_only_locked_entries() {
    let app = spawn_app().await;
    let r = fixture(&app, 5).await;
    let joao = &r.a.joao;
    let record = r.base(&joao.record_at(&r.a.clinic));
    let psy = new_professional(
        &app,
        &r,
        json!({"email": "psi@aurora.demo", "full_name": "Renata Psi", "password": "senha-inicial-9",
               "profession": "psychologist", "council": "CRP", "council_number": "06/123456", "council_uf": "SP"}),
    )
    .await;
    // Both open João's record through the glass, then write.
    for who in [&psy, &r.a.helena] {
        let (status, _) = json_of(
            app.post(
                &format!("{record}/break-glass"),
                Some(&who.access),
                &json!({"reason": "primeiro atendimento do paciente"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let encounters = format!("{record}/encounters");
    let post = async |who: &Session, complaint: &str| {
        json_of(
            app.post(
                &encounters,
                Some(&who.access),
                &json!({"content": content(complaint)}),
            )
            .await,
        )
        .await
    };
    let (status, note) = post(&psy, "Sessão de psicoterapia").await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["psychology"], true);
    let note_path = format!("{record}/encounters/{}", note["id"].as_str().expect("id"));
    let (status, _) = json_of(
        app.post(&format!("{note_path}/sign"), Some(&psy.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, signed) = post(&r.a.helena, "Consulta clínica assinada").await;
    let signed_path = format!("{record}/encounters/{}", signed["id"].as_str().expect("id"));
    let (status, _) = json_of(
        app.post(
            &format!("{signed_path}/sign"),
            Some(&r.a.helena.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _draft) = post(&r.a.helena, "Rascunho ainda aberto").await;

    // The author reads it; Helena (with access) and the admin (through the glass) do not.
    assert_eq!(
        app.get(&note_path, Some(&psy.access)).await.status(),
        StatusCode::OK
    );
    let admin = &r.a.admin;
    // The admin has no care relationship: refused until they break the glass.
    assert_error(
        app.get(&format!("{record}/timeline"), Some(&admin.access))
            .await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
    let (status, _) = json_of(
        app.post(
            &format!("{record}/break-glass"),
            Some(&admin.access),
            &json!({"reason": "auditoria interna da clínica"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for who in [&r.a.helena, admin] {
        assert_error(
            app.get(&note_path, Some(&who.access)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let (status, page) = json_of(
            app.get(&format!("{record}/timeline"), Some(&who.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let text = page.to_string();
        assert!(!text.contains("psicoterapia"), "{text}");
        assert!(text.contains("Consulta clínica assinada"), "{text}");
    }

    // The patient reads the summary of locked encounters only: no draft, no psychology.
    let (status, mine) = json_of(
        app.get("/api/me/record/encounters", Some(&joao.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let list = mine["encounters"].as_array().expect("encounters");
    assert_eq!(list.len(), 1, "{mine}");
    assert_eq!(list[0]["chief_complaint"], "Consulta clínica assinada");
    assert_eq!(list[0]["council"], "CRM");
    assert_eq!(list[0]["diagnoses"][0]["code"], "J11.1");
    // Maria, another patient, sees none of João's.
    let (_, hers) = json_of(
        app.get("/api/me/record/encounters", Some(&r.a.maria.access))
            .await,
    )
    .await;
    assert!(!hers.to_string().contains("Consulta clínica assinada"));
    // Patients never open the staff routes.
    assert_error(
        app.get(&format!("{record}/timeline"), Some(&joao.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn allergies_are_added_listed_and_inactivated_and_the_timeline_pages_newest_first() {
    let app = spawn_app().await;
    let r = fixture(&app, 6).await;
    let helena = &r.a.helena;
    let allergies = format!("{}/allergies", r.record());
    let (status, a) = json_of(
        app.post(
            &allergies,
            Some(&helena.access),
            &json!({"substance": "Dipirona", "reaction": "Urticária", "severity": "severe"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["status"], "active");
    let resp = app
        .post(
            &allergies,
            Some(&helena.access),
            &json!({"substance": "Látex", "severity": "terrible"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .client
        .patch(app.url(&format!("{allergies}/{}", a["id"].as_str().expect("id"))))
        .bearer_auth(&helena.access)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, list) = json_of(app.get(&allergies, Some(&helena.access)).await).await;
    assert_eq!(list["allergies"][0]["substance"], "Dipirona");
    assert_eq!(list["allergies"][0]["status"], "inactive");
    assert_eq!(list["allergies"][0]["severity"], "severe");
    let rows = actions(&app).await;
    assert!(did(&rows, "allergy.added", helena) && did(&rows, "allergy.updated", helena));
    // The receptionist reads no allergy either.
    assert_error(
        app.get(&allergies, Some(&r.a.recep.access)).await,
        StatusCode::FORBIDDEN,
        "no_clinical_access",
    )
    .await;

    // Three encounters, an hour apart on the clock, and an addendum.
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, e) = create(
            &app,
            &r,
            helena,
            json!({"content": content(&format!("Retorno {i}"))}),
        )
        .await;
        ids.push(e["id"].as_str().expect("id").to_string());
        app.state.clock.advance(Duration::hours(1));
    }
    let first = format!("{}/encounters/{}", r.record(), ids[0]);
    app.post(&format!("{first}/sign"), Some(&helena.access), &json!({}))
        .await;
    let (status, _) = json_of(
        app.post(
            &format!("{first}/addenda"),
            Some(&helena.access),
            &json!({"text": "Exames normais."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let timeline = format!("{}/timeline", r.record());
    let (status, page) = json_of(
        app.get(&format!("{timeline}?limit=2"), Some(&helena.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "addendum");
    assert_eq!(
        items[1]["encounter"]["content"]["chief_complaint"],
        "Retorno 2"
    );
    let before = page["next_before"].as_str().expect("next page");
    let (_, rest) = json_of(
        app.get(
            &format!("{timeline}?limit=10&before={}", urlencode(before)),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    let complaints: Vec<&str> = rest["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["encounter"]["content"]["chief_complaint"].as_str())
        .collect();
    assert_eq!(complaints, ["Retorno 1", "Retorno 0"]);
    assert!(rest["next_before"].is_null());
    assert_error(
        app.get(&format!("{timeline}?limit=0"), Some(&helena.access))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[actix_web::test]
async fn no_clinical_text_is_stored_in_plaintext() {
    let app = spawn_app().await;
    let r = fixture(&app, 8).await;
    let helena = &r.a.helena;
    let (status, e) = create(
        &app,
        &r,
        helena,
        json!({"content": {"chief_complaint": format!("{SENTINEL} na queixa"),
            "history": SENTINEL, "examination": SENTINEL, "plan": SENTINEL, "evolution": SENTINEL,
            "diagnoses": [{"code": "R51", "text": SENTINEL}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );
    app.post(&format!("{path}/sign"), Some(&helena.access), &json!({}))
        .await;
    let (status, _) = json_of(
        app.post(
            &format!("{path}/addenda"),
            Some(&helena.access),
            &json!({"text": SENTINEL}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = json_of(
        app.post(
            &format!("{}/allergies", r.record()),
            Some(&helena.access),
            &json!({"substance": SENTINEL, "reaction": SENTINEL, "severity": "mild"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = json_of(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&r.a.rafael.access),
            &json!({"reason": format!("motivo {SENTINEL}")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // It was written: the API reads it back.
    let (_, got) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert!(got.to_string().contains(SENTINEL));

    if app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        for table in [
            "encounters",
            "encounter_addenda",
            "allergies",
            "record_access_grants",
            "audit_log",
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT t::text FROM {table} t"
            )))
            .fetch_all(&mut c)
            .await
            .expect("rows");
            assert!(!rows.is_empty() || table == "audit_log", "{table} is empty");
            for (row,) in rows {
                assert!(!row.contains(SENTINEL), "{table}: {row}");
            }
        }
    } else {
        let file = app
            .db_url
            .strip_prefix("sqlite://")
            .expect("an sqlite url")
            .to_string();
        let mut scanned = 0;
        for f in [file.clone(), format!("{file}-wal")] {
            if let Ok(bytes) = std::fs::read(&f) {
                scanned += bytes.len();
                assert!(
                    !bytes
                        .windows(SENTINEL.len())
                        .any(|w| w == SENTINEL.as_bytes()),
                    "{f} holds the clinical text in plaintext"
                );
            }
        }
        assert!(scanned > 0);
    }
}
