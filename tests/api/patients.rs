use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_sees_their_own_record_and_nobody_elses() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let joao = app.login("joao@paciente.demo", PW).await;
    let maria = app.login("maria@paciente.demo", PW).await;
    let joao_id = joao.me["patient"]["id"].as_str().expect("patient id");
    let maria_id = maria.me["patient"]["id"].as_str().expect("patient id");

    let (status, mine) = json_of(app.get("/api/patients/me", Some(&joao.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["cpf"], "529.982.247-25");
    assert_eq!(
        app.get(&format!("/api/patients/{joao_id}"), Some(&joao.access))
            .await
            .status(),
        StatusCode::OK
    );

    assert_error(
        app.get(&format!("/api/patients/{maria_id}"), Some(&joao.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Nor through any clinic route.
    let aurora = app
        .login("admin@aurora.demo", PW)
        .await
        .clinic("clinic_admin");
    assert_error(
        app.get(
            &format!("/api/clinics/{aurora}/patients/{maria_id}"),
            Some(&joao.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(
            &format!("/api/clinics/{aurora}/patients"),
            Some(&joao.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn staff_register_patients_and_only_professionals_see_and_change_clinical_notes() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let mut body = json!({"full_name": "Rita de Cássia Moura", "social_name": "Rita", "cpf": "271.828.182-05", "birth_date": "1940-06-21",
        "phone": "(11) 3333-4444", "allergies": "Sulfa", "notes": "Hipertensa, usa losartana."});
    let path = format!("/api/clinics/{clinic}/patients");
    // A receptionist records allergies at intake but cannot write clinical notes.
    assert_error(
        app.post(&path, Some(&recep.access), &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    body.as_object_mut().expect("object").remove("notes");
    let (status, created) = json_of(app.post(&path, Some(&recep.access), &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["allergies"], "Sulfa");
    assert!(
        created["notes"].is_null(),
        "a receptionist must not see notes: {created}"
    );
    let pid = created["id"].as_str().expect("id");

    // The same CPF again in the same clinic is a conflict.
    assert_error(
        app.post(
            &format!("/api/clinics/{clinic}/patients"),
            Some(&recep.access),
            &body,
        )
        .await,
        StatusCode::CONFLICT,
        "patient_already_registered",
    )
    .await;

    let helena = app.login("dra.helena@atende.demo", PW).await;
    let first_note = json!({"notes": "Hipertensa, usa losartana."});
    let note_path = format!("/api/clinics/{clinic}/patients/{pid}");
    let (status, _) = json_of(
        app.patch(&note_path, Some(&helena.access), &first_note)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, seen_by_recep) = json_of(app.get(&note_path, Some(&recep.access)).await).await;
    assert!(seen_by_recep["notes"].is_null(), "{seen_by_recep}");
    assert_eq!(seen_by_recep["allergies"], "Sulfa");
    let (status, seen) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{pid}"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["notes"], "Hipertensa, usa losartana.");
    assert_eq!(seen["social_name"], "Rita");

    assert_error(
        app.patch(
            &format!("/api/clinics/{clinic}/patients/{pid}"),
            Some(&recep.access),
            &json!({"notes": "x"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let (status, changed) = json_of(
        app.patch(
            &format!("/api/clinics/{clinic}/patients/{pid}"),
            Some(&helena.access),
            &json!({"notes": "PA controlada."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["notes"], "PA controlada.");
    let (status, changed) = json_of(
        app.patch(
            &format!("/api/clinics/{clinic}/patients/{pid}"),
            Some(&recep.access),
            &json!({"phone": "(11) 98888-7777"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["phone"], "+5511988887777");

    // Search by name and by CPF digits.
    let (_, found) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients?q=rita"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(found.as_array().expect("array").len(), 1);
    // By the whole CPF, typed with its punctuation; a part of a CPF finds nothing (CPFs are
    // stored encrypted and found by their blind index).
    let (_, found) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients?q=271.828.182-05"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(found[0]["id"], pid);
    let (_, found) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients?q=27182818"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(found.as_array().map(Vec::len), Some(0), "{found}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn registering_a_patient_with_an_invalid_cpf_or_birth_date_is_rejected() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let path = format!("/api/clinics/{}/patients", recep.clinic("receptionist"));
    let bad_cpf =
        json!({"full_name": "Teste", "cpf": "123.456.789-00", "birth_date": "1980-01-01"});
    assert_error(
        app.post(&path, Some(&recep.access), &bad_cpf).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_cpf",
    )
    .await;
    let bad_date =
        json!({"full_name": "Teste", "cpf": "153.509.460-56", "birth_date": "31/12/1980"});
    assert_error(
        app.post(&path, Some(&recep.access), &bad_date).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_birth_date",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn clinical_text_is_not_readable_in_the_database() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = helena.clinic("professional");
    let secret_note = "Suspeita de doenca rara XYZZY-4711";
    let body = json!({"full_name": "Caso Sigiloso", "cpf": "314.159.265-90", "birth_date": "1970-02-02",
        "allergies": "ALERGIA-QWERTY-99", "notes": secret_note,
        "address": {"street": "Travessa PLUGH-2718", "number": "1", "district": "Centro",
                    "city": "Olinda", "uf": "PE", "postal_code": "53020-000"}});
    let (status, created) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/patients"),
            Some(&helena.access),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["notes"], secret_note);

    if app.is_postgres() {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        let rows: Vec<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT allergies_enc, notes_enc FROM clinic_patients")
                .fetch_all(&mut conn)
                .await
                .expect("query");
        let addresses: Vec<(Option<String>,)> =
            sqlx::query_as("SELECT address_enc FROM patients WHERE address_enc IS NOT NULL")
                .fetch_all(&mut conn)
                .await
                .expect("query");
        let dump = format!("{rows:?} {addresses:?}");
        assert!(dump.contains("v1:t1:"), "{dump}");
        assert!(
            !dump.contains("XYZZY") && !dump.contains("QWERTY") && !dump.contains("PLUGH"),
            "plaintext in database: {dump}"
        );
    } else {
        let path = app.db_url.trim_start_matches("sqlite://").to_string();
        let mut bytes = std::fs::read(&path).expect("db file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("dra.helena@atende.demo"),
            "the test must be looking at the right file"
        );
        assert!(
            !text.contains("XYZZY") && !text.contains("QWERTY"),
            "plaintext clinical text in the SQLite file"
        );
        assert!(
            !text.contains("PLUGH"),
            "a patient's address in the clear in the SQLite file"
        );
        assert!(
            !text.contains("Caso Sigiloso"),
            "a patient's name in the clear in the SQLite file"
        );
    }
}
