//! Staff confirm a suggestion (#16, "staff confirming the person in front of them"): the
//! account is linked to the clinic's record, and the record the patient's own booking made
//! there is folded into it, so the clinic keeps one record of the person. A record with
//! clinical rows is never folded.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::identity::{
    Known, appointment, join_waitlist, known_person, my_appointment_ids, sign_up,
    signed_certificate,
};

/// The one suggestion on a clinic's record.
async fn suggestion(app: &TestApp, staff: &Session, clinic: &str, record: &str) -> Value {
    let (status, links) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{record}/links"),
            Some(&staff.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{links}");
    let list = links.as_array().expect("links");
    assert_eq!(list.len(), 1, "{links}");
    assert_eq!(list[0]["state"], "suggested", "{links}");
    list[0].clone()
}

async fn confirm(
    app: &TestApp,
    staff: &Session,
    clinic: &str,
    record: &str,
    link: &Value,
    checked: bool,
) -> reqwest::Response {
    let link = link["id"].as_str().expect("link id");
    app.post(
        &format!("/api/clinics/{clinic}/patients/{record}/links/{link}/confirm"),
        Some(&staff.access),
        &json!({ "identity_checked": checked }),
    )
    .await
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn confirming_a_suggestion_links_the_account_and_folds_its_own_record_into_the_clinics() {
    let app = spawn_app().await;
    let birth = "1975-11-30";
    // The clinic knows the person and treated them; then they sign up and join the
    // waitlist, which makes a record of their own there and a suggestion on the clinic's.
    let Known {
        recep,
        helena,
        clinic,
        cpf: c,
        record,
    } = known_person(&app, 314_159_265, birth).await;
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let first = appointment(&app, &recep, &clinic, &helena.me["id"], &record, 5).await;
    let doc = signed_certificate(&app, &helena, &clinic, &record).await;
    let patient = sign_up(&app, "livia.merge@exemplo.com.br", &c, birth).await;
    join_waitlist(&app, &patient, &clinic, &helena.me["id"]).await;
    let patient = app
        .login("livia.merge@exemplo.com.br", "uma senha boa")
        .await;
    let own = patient.record_at(&clinic);
    assert_ne!(own, record);
    // The front desk books for that record too (by phone, say).
    let second = appointment(&app, &recep, &clinic, &helena.me["id"], &own, 6).await;
    assert_eq!(
        my_appointment_ids(&app, &patient).await,
        vec![second.clone()]
    );
    let (_, docs) = json_of(app.get("/api/me/documents", Some(&patient.access)).await).await;
    assert!(
        !docs.to_string().contains(&doc),
        "nothing of the clinic's record yet"
    );
    let s = suggestion(&app, &recep, &clinic, &record).await;

    // Nobody confirms without checking, and no other clinic confirms at all.
    assert_error(
        confirm(&app, &recep, &clinic, &record, &s, false).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "identity_not_checked",
    )
    .await;
    let boavista = bv_recep.clinic("receptionist");
    assert_error(
        confirm(&app, &bv_recep, &clinic, &record, &s, true).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        confirm(&app, &bv_recep, &boavista, &record, &s, true).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        confirm(&app, &patient, &clinic, &record, &s, true).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let (status, done) = json_of(confirm(&app, &recep, &clinic, &record, &s, true).await).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "linked");
    assert_eq!(done["folded_record"], own.as_str());
    assert!(done["moved_rows"].as_u64().expect("n") >= 2, "{done}");

    // The patient now has one record at the clinic, the clinic's, with everything on it.
    let patient = app
        .login("livia.merge@exemplo.com.br", "uma senha boa")
        .await;
    assert_eq!(patient.record_at(&clinic), record);
    let mut mine = my_appointment_ids(&app, &patient).await;
    mine.sort();
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(mine, both);
    let (_, docs) = json_of(app.get("/api/me/documents", Some(&patient.access)).await).await;
    assert!(docs.to_string().contains(&doc), "{docs}");
    // The folded record is gone from the clinic; a search by CPF finds one person.
    assert_error(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{own}"),
            Some(&recep.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let digits: String = c.chars().filter(char::is_ascii_digit).collect();
    let (status, found) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients?q={digits}"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ids: Vec<&str> = found
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, vec![record.as_str()], "{found}");
    let (_, links) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{record}/links"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(links[0]["method"], "staff_confirmed", "{links}");
    // Once only.
    assert_error(
        confirm(&app, &recep, &clinic, &record, &s, true).await,
        StatusCode::CONFLICT,
        "not_a_suggestion",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_record_with_clinical_rows_is_never_folded() {
    let app = spawn_app().await;
    let birth = "1980-01-15";
    let Known {
        recep,
        helena,
        clinic,
        cpf: c,
        record,
    } = known_person(&app, 314_159_266, birth).await;
    let patient = sign_up(&app, "livia.bloqueio@exemplo.com.br", &c, birth).await;
    join_waitlist(&app, &patient, &clinic, &helena.me["id"]).await;
    let patient = app
        .login("livia.bloqueio@exemplo.com.br", "uma senha boa")
        .await;
    let own = patient.record_at(&clinic);
    appointment(&app, &recep, &clinic, &helena.me["id"], &own, 5).await;
    let doc = signed_certificate(&app, &helena, &clinic, &own).await;
    let s = suggestion(&app, &recep, &clinic, &record).await;

    assert_error(
        confirm(&app, &recep, &clinic, &record, &s, true).await,
        StatusCode::CONFLICT,
        "merge_blocked",
    )
    .await;
    // Nothing changed: both records, the suggestion, the document where it was.
    assert_eq!(
        suggestion(&app, &recep, &clinic, &record).await["id"],
        s["id"]
    );
    let patient = app
        .login("livia.bloqueio@exemplo.com.br", "uma senha boa")
        .await;
    assert_eq!(patient.record_at(&clinic), own);
    let (status, _) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{own}"),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, docs) = json_of(app.get("/api/me/documents", Some(&patient.access)).await).await;
    assert!(docs.to_string().contains(&doc), "{docs}");
}

/// Every table that names a patient is classified for a fold: moved, blocking, or ended
/// with the folded record. A new table with a `patient_id` must be placed in one list.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn every_table_naming_a_patient_is_classified_for_a_fold() {
    use atende::store::patient_merge::{BLOCKING, ENDED, MOVED};
    let app = spawn_app().await;
    let mut tables: Vec<String> = if app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND column_name = 'patient_id'",
        )
        .fetch_all(&mut c)
        .await
        .expect("tables")
    } else {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        sqlx::query_scalar(
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.name = 'patient_id'",
        )
        .fetch_all(&mut c)
        .await
        .expect("tables")
    };
    tables.sort();
    let mut classified: Vec<String> = MOVED
        .iter()
        .chain(BLOCKING)
        .chain(ENDED)
        .map(|t| t.to_string())
        .collect();
    classified.sort();
    assert_eq!(tables, classified);
}
