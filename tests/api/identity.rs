//! Identity by proof (#16, findings 1 and 2): an account reaches a clinic's patient record
//! only by proving control (a one-time code from the clinic), never because a CPF or birth
//! date matches; a CPF is never "taken", and nothing answers whether it is known.
//!
//! The demo data gives the clinics and their staff; every patient here is created by the
//! test, with CPFs the demo does not use.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A valid CPF (formatted) from nine base digits.
pub(crate) fn cpf(base: u32) -> String {
    let d: Vec<u32> = format!("{base:09}")
        .chars()
        .map(|c| c.to_digit(10).expect("digit"))
        .collect();
    let check = |digits: &[u32]| {
        let n = digits.len() as u32 + 1;
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, x)| x * (n - i as u32))
            .sum();
        let r = sum % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    let mut all = d.clone();
    all.push(check(&all));
    all.push(check(&all));
    let s: String = all.iter().map(|x| x.to_string()).collect();
    format!("{}.{}.{}-{}", &s[0..3], &s[3..6], &s[6..9], &s[9..11])
}

fn signup(email: &str, cpf: &str, birth: &str) -> Value {
    json!({"email": email, "password": "uma senha boa", "full_name": "Lívia Duarte Campos",
           "cpf": cpf, "birth_date": birth, "accepted_terms_version": "2026-01"})
}

pub(crate) async fn sign_up(app: &TestApp, email: &str, cpf: &str, birth: &str) -> Session {
    let (status, s) = app.sign_up(&signup(email, cpf, birth)).await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    s
}

/// Staff register a patient with their clinic; the new record's id.
pub(crate) async fn register(
    app: &TestApp,
    staff: &Session,
    clinic: &str,
    cpf: &str,
    birth: &str,
) -> String {
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/patients"),
            Some(&staff.access),
            &json!({"full_name": "Lívia Duarte Campos", "cpf": cpf, "birth_date": birth,
                    "phone": "(11) 3333-4444", "allergies": "Dipirona"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

/// Staff fit an appointment in for a record, some days ahead; its id.
pub(crate) async fn appointment(
    app: &TestApp,
    staff: &Session,
    clinic: &str,
    professional: &Value,
    patient: &str,
    days_ahead: i64,
) -> String {
    let start = (chrono::Utc::now() + chrono::Duration::days(days_ahead))
        .format("%Y-%m-%dT13:00:00Z")
        .to_string();
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/appointments"),
            Some(&staff.access),
            &json!({"professional_user_id": professional, "patient_id": patient,
                    "starts_at": start, "fit_in": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

pub(crate) async fn my_appointment_ids(app: &TestApp, s: &Session) -> Vec<String> {
    let (status, list) = json_of(app.get("/api/me/appointments", Some(&s.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .expect("list")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect()
}

/// A patient joins a clinic's waitlist for themself (unlike booking, it does not depend on
/// the hour or the day): their record there is made, or the linked one used.
pub(crate) async fn join_waitlist(app: &TestApp, s: &Session, clinic: &str, professional: &Value) {
    let today = chrono::Utc::now().date_naive();
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/waitlist"),
            Some(&s.access),
            &json!({"professional_user_id": professional,
                    "date_from": today + chrono::Duration::days(5),
                    "date_to": today + chrono::Duration::days(10)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The demo's Aurora front desk and Dra. Helena, and a person Aurora registered.
pub(crate) struct Known {
    pub recep: Session,
    pub helena: Session,
    pub clinic: String,
    pub cpf: String,
    pub record: String,
}

/// Seed the demo and register a person at Aurora with the CPF made from `base`.
pub(crate) async fn known_person(app: &TestApp, base: u32, birth: &str) -> Known {
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let cpf = cpf(base);
    let record = register(app, &recep, &clinic, &cpf, birth).await;
    Known {
        recep,
        helena,
        clinic,
        cpf,
        record,
    }
}

pub(crate) async fn issue_code(
    app: &TestApp,
    staff: &Session,
    clinic: &str,
    record: &str,
) -> Value {
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/patients/{record}/links/code"),
            Some(&staff.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub(crate) async fn redeem(app: &TestApp, s: &Session, code: &str) -> reqwest::Response {
    app.post(
        "/api/me/links/redeem",
        Some(&s.access),
        &json!({ "code": code }),
    )
    .await
}

/// A signed certificate with a CID for a record, by Dra. Helena; its id.
pub(crate) async fn signed_certificate(
    app: &TestApp,
    helena: &Session,
    clinic: &str,
    record: &str,
) -> String {
    let today = chrono::Utc::now().date_naive();
    let (status, body) = json_of(
        app.post(
            "/api/documents",
            Some(&helena.access),
            &json!({"clinic_id": clinic, "patient_id": record, "content": {
                "kind": "certificate", "days_off": 2, "start_date": today, "cid": "F32",
                "cid_consent": true, "notes": "Repouso."}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    for _ in 0..600 {
        let (_, d) = json_of(
            app.get(&format!("/api/documents/{id}"), Some(&helena.access))
                .await,
        )
        .await;
        if d["status"] == "signed" {
            return id;
        }
        assert_eq!(d["status"], "pending", "{d}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("document {id} never signed");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_squatter_who_signed_up_first_with_the_victims_cpf_sees_none_of_the_clinics_record() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let (victim_cpf, birth) = (cpf(271_828_182), "1979-05-17");

    // The squatter signs up first with the victim's CPF and birth date.
    let squatter = sign_up(&app, "intruso@exemplo.com.br", &victim_cpf, birth).await;
    // Then the clinic registers the real person, and treats them.
    let record = register(&app, &recep, &clinic, &victim_cpf, birth).await;
    assert_ne!(
        squatter.me["patient"]["id"], record,
        "the clinic's record is its own, not the squatter's profile"
    );
    let appt = appointment(&app, &recep, &clinic, &helena.me["id"], &record, 5).await;
    let doc = signed_certificate(&app, &helena, &clinic, &record).await;
    let (status, room) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/chat/rooms"),
            Some(&recep.access),
            &json!({"patient_id": record, "professional_user_id": helena.me["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{room}");

    // The squatter (a fresh login: whatever they hold now) sees none of it.
    let squatter = app.login("intruso@exemplo.com.br", "uma senha boa").await;
    assert_eq!(squatter.me["linked_records"], json!([]));
    assert!(my_appointment_ids(&app, &squatter).await.is_empty());
    let (_, docs) = json_of(app.get("/api/me/documents", Some(&squatter.access)).await).await;
    assert!(
        !docs.to_string().contains(&doc),
        "the victim's certificate reached the squatter: {docs}"
    );
    let (_, rooms) = json_of(app.get("/api/chat/rooms", Some(&squatter.access)).await).await;
    assert!(
        !rooms
            .to_string()
            .contains(room["id"].as_str().expect("room")),
        "{rooms}"
    );
    assert_error(
        app.get(&format!("/api/patients/{record}"), Some(&squatter.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(&format!("/api/documents/{doc}"), Some(&squatter.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/clinics/{clinic}/appointments/{appt}/cancel"),
            Some(&squatter.access),
            &json!({"reason": "não vou"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Joining the clinic's waitlist gives the squatter a record of their own there; the
    // clinic's record of the victim is untouched, and its staff see a suggestion, not a link.
    join_waitlist(&app, &squatter, &clinic, &helena.me["id"]).await;
    let squatter = app.login("intruso@exemplo.com.br", "uma senha boa").await;
    let own = squatter.record_at(&clinic);
    assert_ne!(own, record);
    assert!(!my_appointment_ids(&app, &squatter).await.contains(&appt));
    let (status, links) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{record}/links"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{links}");
    assert_eq!(links.as_array().expect("links").len(), 1, "{links}");
    assert_eq!(links[0]["state"], "suggested");
    assert_eq!(links[0]["account_email"], "intruso@exemplo.com.br");
    let (_, docs) = json_of(app.get("/api/me/documents", Some(&squatter.access)).await).await;
    assert!(!docs.to_string().contains(&doc), "{docs}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn nobody_learns_whether_a_cpf_or_birth_date_is_known_nor_touches_another_clinics_record() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let aurora_recep = app.login("recepcao@aurora.demo", PW).await;
    let aurora = aurora_recep.clinic("receptionist");
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let boavista = bv_recep.clinic("receptionist");
    let (known, birth) = (cpf(314_159_265), "1966-02-11");
    let unknown = cpf(141_421_356);
    let aurora_record = register(&app, &aurora_recep, &aurora, &known, birth).await;

    // Another clinic registering the same CPF — with the wrong birth date, or one nobody
    // knows — gets the same answer: a new record of its own.
    let bv_known = register(&app, &bv_recep, &boavista, &known, "1970-01-01").await;
    let bv_unknown = register(&app, &bv_recep, &boavista, &unknown, birth).await;
    assert_ne!(bv_known, aurora_record);
    assert_ne!(bv_unknown, aurora_record);

    // Sign-up: the known CPF (right or wrong birth date) and an unknown one answer alike.
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v["user"]
            .as_object()
            .expect("user")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        (
            keys,
            v["user"]["linked_records"].clone(),
            v["user"]["patient"]["has_account"].clone(),
        )
    };
    let mut answers = Vec::new();
    for (email, c, b) in [
        ("a@exemplo.com.br", &known, birth),
        ("b@exemplo.com.br", &known, "1999-09-09"),
        ("c@exemplo.com.br", &cpf(173_205_080), birth),
    ] {
        let (status, s) = app.sign_up(&signup(email, c, b)).await;
        answers.push((status, shape(&json!({ "user": s.me }))));
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "sign-up answers differ: {answers:?}"
    );
    assert_eq!(answers[0].0, StatusCode::CREATED);

    // Boa Vista cannot read or change Aurora's record: the same answers as for a record
    // that does not exist.
    let nobody = uuid::Uuid::now_v7().to_string();
    for id in [&aurora_record, &nobody] {
        assert_error(
            app.get(
                &format!("/api/clinics/{boavista}/patients/{id}"),
                Some(&bv_recep.access),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.patch(
                &format!("/api/clinics/{boavista}/patients/{id}"),
                Some(&bv_recep.access),
                &json!({"phone": "(81) 90000-0000"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get(&format!("/api/patients/{id}"), Some(&bv_recep.access))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    // Changing its own record of the same person leaves Aurora's alone.
    let aurora_view = || async {
        json_of(
            app.get(
                &format!("/api/clinics/{aurora}/patients/{aurora_record}"),
                Some(&aurora_recep.access),
            )
            .await,
        )
        .await
        .1
    };
    let before = aurora_view().await;
    let (status, _) = json_of(
        app.patch(
            &format!("/api/clinics/{boavista}/patients/{bv_known}"),
            Some(&bv_recep.access),
            &json!({"phone": "(81) 90000-0000", "email": "trocado@exemplo.com.br"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = aurora_view().await;
    assert_eq!(seen, before);
    assert!(seen["email"].is_null(), "{seen}");
    assert_eq!(seen["birth_date"], birth);

    // A patient account with the known CPF joining Aurora's waitlist: a record of its own
    // there, whether or not its birth date matches; never Aurora's record.
    let helena = app.login("dra.helena@atende.demo", PW).await;
    for email in ["a@exemplo.com.br", "b@exemplo.com.br"] {
        let s = app.login(email, "uma senha boa").await;
        join_waitlist(&app, &s, &aurora, &helena.me["id"]).await;
        let s = app.login(email, "uma senha boa").await;
        assert_ne!(s.record_at(&aurora), aurora_record);
        assert_error(
            app.get(&format!("/api/patients/{aurora_record}"), Some(&s.access))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_code_from_the_front_desk_links_the_account_and_revoking_ends_it() {
    let app = spawn_app().await;
    let birth = "1985-12-01";
    let Known {
        recep,
        helena,
        clinic,
        cpf: c,
        record,
    } = known_person(&app, 161_803_398, birth).await;
    let appt = appointment(&app, &recep, &clinic, &helena.me["id"], &record, 4).await;
    let patient = sign_up(&app, "livia@exemplo.com.br", &c, birth).await;
    assert!(my_appointment_ids(&app, &patient).await.is_empty());

    let issued = issue_code(&app, &recep, &clinic, &record).await;
    let code = issued["code"].as_str().expect("code");
    assert_eq!(code.len(), 17, "XXXXX-XXXXX-XXXXX: {code}");
    // Typed in lower case and without hyphens, it still works.
    let typed = code.replace('-', "").to_lowercase();
    let (status, linked) = json_of(redeem(&app, &patient, &typed).await).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["patient_id"], record);
    assert_eq!(linked["clinic_id"], clinic);
    assert!(my_appointment_ids(&app, &patient).await.contains(&appt));
    let (status, _) = json_of(
        app.get(&format!("/api/patients/{record}"), Some(&patient.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Used once: it links nobody else.
    let other = sign_up(&app, "outra@exemplo.com.br", &c, birth).await;
    assert_error(
        redeem(&app, &other, code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_link_code",
    )
    .await;
    assert!(my_appointment_ids(&app, &other).await.is_empty());

    // Staff see the link and revoke it: the account stops seeing the record at once.
    let (_, links) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{record}/links"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    let link = links
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["state"] == "linked")
        .unwrap_or_else(|| panic!("{links}"))
        .clone();
    assert_eq!(link["account_email"], "livia@exemplo.com.br");
    assert_eq!(link["method"], "front_desk_code");
    // The account's open connection is closed at once (4002 access changed), not at its
    // next join.
    let mut live = app.ws(&patient).await;
    let me = format!("user:{}", patient.me["id"].as_str().expect("id"));
    live.join(&me, None).await;
    let resp = app
        .post(
            &format!(
                "/api/clinics/{clinic}/patients/{record}/links/{}/revoke",
                link["id"].as_str().expect("id")
            ),
            Some(&recep.access),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        live.ended(std::time::Duration::from_secs(5)).await,
        crate::ws_client::Ended::Closed(Some(4002))
    );
    assert!(my_appointment_ids(&app, &patient).await.is_empty());
    assert_error(
        app.get(&format!("/api/patients/{record}"), Some(&patient.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Linked again with a new code; this time the patient unlinks themself.
    let issued = issue_code(&app, &recep, &clinic, &record).await;
    let (status, linked) =
        json_of(redeem(&app, &patient, issued["code"].as_str().expect("code")).await).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert!(my_appointment_ids(&app, &patient).await.contains(&appt));
    let resp = app
        .post(
            &format!(
                "/api/me/links/{}/revoke",
                linked["link_id"].as_str().expect("id")
            ),
            Some(&patient.access),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(my_appointment_ids(&app, &patient).await.is_empty());

    // Every transition is in the audit log, which stays intact.
    let report = app.verify_audit().await;
    assert!(
        matches!(report, atende::security::audit::ChainReport::Intact { .. }),
        "{report:?}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn five_wrong_tries_kill_a_code() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let (c, birth) = (cpf(223_606_797), "1990-07-07");
    let record = register(&app, &recep, &clinic, &c, birth).await;
    let code = issue_code(&app, &recep, &clinic, &record).await["code"]
        .as_str()
        .expect("code")
        .to_string();
    // The right selector with a wrong secret, five times.
    let secret_start = code.find('-').expect("hyphen") + 1;
    let first = code.as_bytes()[secret_start];
    let wrong_first = if first == b'A' { 'B' } else { 'A' };
    let wrong = format!(
        "{}{}{}",
        &code[..secret_start],
        wrong_first,
        &code[secret_start + 1..]
    );
    let guesser = sign_up(&app, "tentativa@exemplo.com.br", &c, birth).await;
    for _ in 0..5 {
        assert_error(
            redeem(&app, &guesser, &wrong).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_link_code",
        )
        .await;
    }
    // Dead now, even for the right code from the real patient.
    let patient = sign_up(&app, "real@exemplo.com.br", &c, birth).await;
    assert_error(
        redeem(&app, &patient, &code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_link_code",
    )
    .await;
    let (_, links) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{record}/links"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(links[0]["state"], "revoked", "{links}");
    assert_eq!(links[0]["revoked_reason"], "too_many_attempts");
    assert_eq!(links[0]["failed_attempts"], 5);
    let patient = app.login("real@exemplo.com.br", "uma senha boa").await;
    assert_eq!(patient.me["linked_records"], json!([]));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn only_the_clinic_that_owns_a_record_issues_or_revokes_its_proofs() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let aurora = recep.clinic("receptionist");
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let boavista = bv_recep.clinic("receptionist");
    let (c, birth) = (cpf(271_828_183), "1982-03-03");
    let record = register(&app, &recep, &aurora, &c, birth).await;
    let patient = sign_up(&app, "dono@exemplo.com.br", &c, birth).await;

    // Another clinic's staff: not through their clinic (not their record), not through
    // Aurora (not their clinic). A patient cannot issue one for themself either.
    for (who, clinic, status, code) in [
        (&bv_recep, &boavista, StatusCode::NOT_FOUND, "not_found"),
        (&bv_recep, &aurora, StatusCode::FORBIDDEN, "forbidden"),
        (&patient, &aurora, StatusCode::FORBIDDEN, "forbidden"),
    ] {
        assert_error(
            app.post(
                &format!("/api/clinics/{clinic}/patients/{record}/links/code"),
                Some(&who.access),
                &json!({}),
            )
            .await,
            status,
            code,
        )
        .await;
        assert_error(
            app.get(
                &format!("/api/clinics/{clinic}/patients/{record}/links"),
                Some(&who.access),
            )
            .await,
            status,
            code,
        )
        .await;
    }
    let issued = issue_code(&app, &recep, &aurora, &record).await;
    let (status, linked) =
        json_of(redeem(&app, &patient, issued["code"].as_str().expect("code")).await).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    // Boa Vista cannot end Aurora's link, through either clinic.
    for clinic in [&boavista, &aurora] {
        let resp = app
            .post(
                &format!(
                    "/api/clinics/{clinic}/patients/{record}/links/{}/revoke",
                    linked["link_id"].as_str().expect("id")
                ),
                Some(&bv_recep.access),
                &json!({}),
            )
            .await;
        assert!(
            matches!(resp.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            resp.status()
        );
    }
    // Nor can another patient end it as theirs.
    let stranger = sign_up(&app, "estranho@exemplo.com.br", &cpf(100_000_019), birth).await;
    assert_error(
        app.post(
            &format!(
                "/api/me/links/{}/revoke",
                linked["link_id"].as_str().expect("id")
            ),
            Some(&stranger.access),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let patient = app.login("dono@exemplo.com.br", "uma senha boa").await;
    assert_eq!(patient.record_at(&aurora), record);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_professional_in_two_clinics_sees_each_clinics_record_only_in_that_clinic() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let aurora_recep = app.login("recepcao@aurora.demo", PW).await;
    let aurora = aurora_recep.clinic("receptionist");
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let boavista = bv_recep.clinic("receptionist");
    let (c, birth) = (cpf(577_215_664), "1961-10-10");
    let at_aurora = register(&app, &aurora_recep, &aurora, &c, birth).await;
    let at_boavista = register(&app, &bv_recep, &boavista, &c, birth).await;
    assert_ne!(at_aurora, at_boavista);

    // Helena writes a note in Aurora's record, through Aurora.
    let (status, _) = json_of(
        app.patch(
            &format!("/api/clinics/{aurora}/patients/{at_aurora}"),
            Some(&helena.access),
            &json!({"notes": "Nota da Aurora."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Through Boa Vista she sees Boa Vista's record, without Aurora's note, and Aurora's
    // record does not exist there.
    let (status, seen) = json_of(
        app.get(
            &format!("/api/clinics/{boavista}/patients/{at_boavista}"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen["notes"].is_null(), "{seen}");
    assert!(!seen.to_string().contains("Nota da Aurora"), "{seen}");
    assert_error(
        app.get(
            &format!("/api/clinics/{boavista}/patients/{at_aurora}"),
            Some(&helena.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(
            &format!("/api/clinics/{boavista}/patients/{at_aurora}"),
            Some(&helena.access),
            &json!({"notes": "Escrita pela Boa Vista."}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (_, aurora_view) = json_of(
        app.get(
            &format!("/api/clinics/{aurora}/patients/{at_aurora}"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(aurora_view["notes"], "Nota da Aurora.");
    // A search in Boa Vista by the CPF lists only Boa Vista's record of it.
    let (_, found) = json_of(
        app.get(
            &format!("/api/clinics/{boavista}/patients?q={c}"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = found
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(ids.contains(&at_boavista.as_str()), "{found}");
    assert!(!ids.contains(&at_aurora.as_str()), "{found}");
}

/// A record linked to two accounts (the patient's and a guardian's) is followed live by
/// both: a booking, and a document sent to the patient, reach each account's `user:` topic.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn every_account_linked_to_a_record_hears_its_live_updates() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let (c, birth) = (cpf(271_828_182), "2015-03-14");
    let record = register(&app, &recep, &clinic, &c, birth).await;
    let child = sign_up(
        &app,
        "crianca@exemplo.com.br",
        &cpf(314_159_265),
        "2015-03-14",
    )
    .await;
    let mother = sign_up(&app, "mae@exemplo.com.br", &cpf(141_421_356), "1984-07-02").await;
    let mut live = Vec::new();
    for account in [&child, &mother] {
        let issued = issue_code(&app, &recep, &clinic, &record).await;
        let (status, body) =
            json_of(redeem(&app, account, issued["code"].as_str().expect("code")).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut ws = app.ws(account).await;
        ws.join(
            &format!("user:{}", account.me["id"].as_str().expect("id")),
            None,
        )
        .await;
        live.push(ws);
    }
    let appt = appointment(&app, &recep, &clinic, &helena.me["id"], &record, 5).await;
    for ws in &mut live {
        let pushed = ws
            .push_matching("appointment.updated", |p| {
                p["appointment"]["id"] == appt.as_str()
            })
            .await;
        assert_eq!(pushed["appointment"]["patient_id"], record);
    }
    let document = signed_certificate(&app, &helena, &clinic, &record).await;
    let resp = app
        .post(
            &format!("/api/documents/{document}/send"),
            Some(&helena.access),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    for ws in &mut live {
        let pushed = ws.push("document.received").await;
        assert_eq!(
            pushed["payload"]["document"]["id"],
            document.as_str(),
            "{pushed}"
        );
    }
}
