//! Scope of practice: every profession × every kind of document, accepted (202) or refused
//! (403 `outside_scope_of_practice` with a pt-BR reason); the medicine lists and the CID a
//! profession may put on paper; the lists that only the official paper form carries; and
//! what the documents screen is told it may offer.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

/// The professions atende registers, with a council number and what each may issue (the
/// law's table, written out here independently of the one in the code).
const PROFESSIONS: [(&str, &str, &str, &[&str]); 6] = [
    (
        "doctor",
        "CRM",
        "223344",
        &[
            "prescription",
            "special_prescription",
            "certificate",
            "exam_request",
            "attendance_declaration",
        ],
    ),
    (
        "dentist",
        "CRO",
        "55667",
        &[
            "prescription",
            "special_prescription",
            "certificate",
            "exam_request",
            "attendance_declaration",
        ],
    ),
    (
        "physiotherapist",
        "CREFITO",
        "12345-F",
        &["certificate", "attendance_declaration"],
    ),
    (
        "psychologist",
        "CRP",
        "06/123456",
        &["attendance_declaration", "psychological_report"],
    ),
    (
        "nutritionist",
        "CRN",
        "34567",
        &["prescription", "exam_request", "attendance_declaration"],
    ),
    ("nurse", "COREN", "456789", &["attendance_declaration"]),
];

const KINDS: [&str; 6] = [
    "prescription",
    "special_prescription",
    "certificate",
    "exam_request",
    "attendance_declaration",
    "psychological_report",
];

fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive()
}

/// A document of `kind` as `profession` would write it (a nutritionist prescribes
/// supplements; certificates state no CID).
fn sample(kind: &str, profession: &str) -> Value {
    match kind {
        "prescription" if profession == "nutritionist" => supplements(),
        "prescription" => prescription(),
        "special_prescription" => special(),
        "certificate" => json!({"kind": "certificate", "days_off": 2, "start_date": today()}),
        "exam_request" => exams(),
        "attendance_declaration" => json!({"kind": "attendance_declaration",
            "date": today(), "from": "14:00", "until": "15:30"}),
        "psychological_report" => json!({"kind": "psychological_report",
            "demand": "Encaminhamento da escola por dificuldades de atenção.",
            "procedure": "Três entrevistas e observação em sala.",
            "analysis": "Quadro compatível com ansiedade de desempenho.",
            "conclusion": "Indicado acompanhamento psicológico semanal."}),
        other => panic!("no sample for {other}"),
    }
}

fn supplements() -> Value {
    json!({"kind": "prescription", "medications": [
        {"name": "Whey protein isolado", "quantity": "1 pote de 900 g",
         "instructions": "30 g após o treino", "list": "supplement"}]})
}

/// Enrol one professional of each profession in `clinic` (by its admin) and log them in.
async fn professionals(app: &TestApp, clinic: &str) -> Vec<(&'static str, Session)> {
    let admin = app.login("admin@aurora.demo", PW).await;
    let mut out = Vec::new();
    let names = [
        "Otávio Ramos",
        "Lívia Campos",
        "Sérgio Lins",
        "Marta Queiroz",
        "Paula Brandão",
        "Rui Fonseca",
    ];
    for ((profession, council, number, _), name) in PROFESSIONS.iter().zip(names) {
        let email = format!("{profession}@escopo.test");
        let body = json!({"email": email, "full_name": name,
            "password": "senha-escopo-1", "profession": profession, "council": council,
            "council_number": number, "council_uf": "SP"});
        let (status, created) = json_of(
            app.post(
                &format!("/api/clinics/{clinic}/professionals"),
                Some(&admin.access),
                &body,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        out.push((*profession, app.login(&email, "senha-escopo-1").await));
    }
    out
}

fn pick<'a>(pros: &'a [(&'static str, Session)], profession: &str) -> &'a Session {
    &pros
        .iter()
        .find(|(p, _)| *p == profession)
        .expect("profession")
        .1
}

async fn refused(resp: reqwest::Response, what: &str) -> String {
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(body["code"], "outside_scope_of_practice", "{what}: {body}");
    body["message"].as_str().expect("message").to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn every_profession_issues_its_own_kinds_and_is_refused_the_others() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let pros = professionals(&app, &d.clinic).await;
    for ((profession, session), (_, council, _, allowed)) in pros.iter().zip(PROFESSIONS) {
        // The screen is told what to offer.
        let (status, scope) = json_of(
            app.get("/api/me/document-scope", Some(&session.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{scope}");
        assert_eq!(scope["council"], council);
        let offered: Vec<&str> = scope["kinds"]
            .as_array()
            .expect("kinds")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(offered, allowed, "{profession}");
        for kind in KINDS {
            let what = format!("{profession} × {kind}");
            let resp = issue(
                &app,
                session,
                &d.clinic,
                &d.joao_id,
                sample(kind, profession),
            )
            .await;
            if allowed.contains(&kind) {
                let (status, body) = json_of(resp).await;
                assert_eq!(status, StatusCode::ACCEPTED, "{what}: {body}");
                assert_eq!(body["kind"], kind, "{what}");
            } else {
                let message = refused(resp, &what).await;
                assert!(message.contains(council), "{what}: {message}");
                // Nothing was stored: the preview is refused the same way.
                refused(
                    app.post(
                        "/api/documents/preview",
                        Some(&session.access),
                        &json!({"clinic_id": d.clinic, "patient_id": d.joao_id,
                                "content": sample(kind, profession)}),
                    )
                    .await,
                    &what,
                )
                .await;
            }
        }
    }
    // Only the accepted ones exist: 5 + 5 + 2 + 2 + 3 + 1.
    let mut total = 0;
    for (_, session) in &pros {
        let (_, mine) = json_of(app.get("/api/me/documents", Some(&session.access)).await).await;
        total += mine["documents"].as_array().expect("list").len();
    }
    assert_eq!(total, 18);
    // A receptionist has no scope at all.
    assert_error(
        app.get("/api/me/document-scope", Some(&d.recep.access))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_professional",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn medicine_lists_and_diagnoses_stay_inside_each_councils_field() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let pros = professionals(&app, &d.clinic).await;
    let who = |p: &str| pick(&pros, p);
    let send = |s: &Session, content: Value| {
        let (clinic, patient, token) = (d.clinic.clone(), d.joao_id.clone(), s.access.clone());
        let app = &app;
        async move {
            app.post(
                "/api/documents",
                Some(&token),
                &json!({"clinic_id": clinic, "patient_id": patient, "content": content}),
            )
            .await
        }
    };

    // A dentist's certificate states only a dental diagnosis.
    let cert = |cid: &str| {
        json!({"kind": "certificate", "days_off": 1, "start_date": today(), "cid": cid,
               "cid_consent": true})
    };
    let msg = refused(send(who("dentist"), cert("J11")).await, "dentist J11").await;
    assert!(msg.contains("J11") && msg.contains("CRO"), "{msg}");
    assert_eq!(
        send(who("dentist"), cert("K08.8")).await.status(),
        StatusCode::ACCEPTED
    );
    // A physiotherapist's certificate states none; a doctor's any (with consent).
    refused(
        send(who("physiotherapist"), cert("M54.5")).await,
        "physio CID",
    )
    .await;
    assert_eq!(
        send(who("doctor"), cert("J11")).await.status(),
        StatusCode::ACCEPTED
    );

    // A nutritionist prescribes supplements, not medicines.
    let msg = refused(
        send(who("nutritionist"), prescription()).await,
        "nutritionist amoxicillin",
    )
    .await;
    assert!(msg.contains("medicamento comum"), "{msg}");
    // A dentist prescribes list C1 for dental use, not anabolic steroids (C5).
    let c5 = json!({"kind": "special_prescription", "medications": [
        {"name": "Oxandrolona", "concentration": "5 mg", "quantity": "30 comprimidos",
         "instructions": "1 ao dia", "list": "c5"}]});
    refused(send(who("dentist"), c5.clone()).await, "dentist C5").await;
    assert_eq!(send(who("doctor"), c5).await.status(), StatusCode::ACCEPTED);

    // Lists that only the official paper notification carries are refused to everyone,
    // and a list on the wrong form is named.
    let b1 = json!({"kind": "special_prescription", "medications": [
        {"name": "Diazepam", "concentration": "10 mg", "quantity": "20 comprimidos",
         "instructions": "1 à noite", "list": "b1"}]});
    let body = assert_error(
        send(who("doctor"), b1).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "notification_required",
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("Notificação de Receita"),
        "{body}"
    );
    let c1_on_simple = json!({"kind": "prescription", "medications": [
        {"name": "Clonazepam", "quantity": "30 comprimidos", "instructions": "1 à noite",
         "list": "c1"}]});
    assert_error(
        send(who("doctor"), c1_on_simple).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_prescription_form",
    )
    .await;
}
