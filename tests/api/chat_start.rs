//! A patient starts a conversation (#22): only with a professional who has seen them at the
//! clinic where their record is linked. Everything here is created by the test (a new
//! record, account and appointment); the demo gives the clinics and their staff.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::identity::{appointment, cpf, issue_code, redeem, register, sign_up};

async fn contacts(app: &TestApp, s: &Session) -> Vec<Value> {
    let (status, list) = json_of(app.get("/api/me/chat/contacts", Some(&s.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("array").clone()
}

async fn start(
    app: &TestApp,
    s: &Session,
    clinic: &str,
    professional: &Value,
) -> reqwest::Response {
    app.post(
        "/api/me/chat/rooms",
        Some(&s.access),
        &json!({"clinic_id": clinic, "professional_user_id": professional}),
    )
    .await
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_writes_first_only_to_a_professional_who_has_seen_them() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let rafael = app.login("dr.rafael@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let boavista = app
        .login("recepcao@boavista.demo", PW)
        .await
        .clinic("receptionist");
    let (c, birth) = (cpf(271_828_182), "1979-03-14");
    let record = register(&app, &recep, &clinic, &c, birth).await;
    let patient = sign_up(&app, "lara@exemplo.com.br", &c, birth).await;
    let code = issue_code(&app, &recep, &clinic, &record).await["code"]
        .as_str()
        .expect("code")
        .to_string();
    assert_eq!(redeem(&app, &patient, &code).await.status(), StatusCode::OK);

    // Booked but not yet seen: nobody to write to, and a direct attempt is refused.
    let appt = appointment(&app, &recep, &clinic, &helena.me["id"], &record, 1).await;
    assert!(contacts(&app, &patient).await.is_empty());
    assert_error(
        start(&app, &patient, &clinic, &helena.me["id"]).await,
        StatusCode::FORBIDDEN,
        "chat_not_allowed",
    )
    .await;

    // The day comes: she checks in and Helena sees her.
    let (_, mine) = json_of(app.get("/api/me/appointments", Some(&patient.access)).await).await;
    let view = mine
        .as_array()
        .expect("appointments")
        .iter()
        .find(|a| a["id"] == appt.as_str())
        .expect("her appointment")
        .clone();
    let starts: DateTime<Utc> = view["starts_at"]
        .as_str()
        .expect("start")
        .parse()
        .expect("time");
    app.clock.set(starts - chrono::Duration::minutes(10));
    let (status, entry) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/queue"),
            Some(&recep.access),
            &json!({"appointment_id": appt}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    for step in ["start", "finish"] {
        let resp = app
            .post(
                &format!("/api/me/day/{appt}/{step}"),
                Some(&helena.access),
                &json!({}),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{step}: {:?}",
            resp.text().await
        );
    }

    let list = contacts(&app, &patient).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["professional_user_id"], helena.me["id"]);
    assert_eq!(list[0]["clinic_id"], clinic);
    assert_eq!(list[0]["patient_id"], record);
    assert_eq!(list[0]["profession"], "doctor");
    assert!(list[0]["room_id"].is_null());

    let (status, room) = json_of(start(&app, &patient, &clinic, &helena.me["id"]).await).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(room["kind"], "patient");
    assert_eq!(room["patient_id"], record);
    assert_eq!(room["professional_user_id"], helena.me["id"]);
    // The same conversation every time, and the contact now points at it.
    let (_, again) = json_of(start(&app, &patient, &clinic, &helena.me["id"]).await).await;
    assert_eq!(again["id"], room["id"]);
    assert_eq!(contacts(&app, &patient).await[0]["room_id"], room["id"]);
    // Helena has it in her list.
    let (_, hers) = json_of(app.get("/api/chat/rooms", Some(&helena.access)).await).await;
    assert!(
        hers.as_array()
            .expect("rooms")
            .iter()
            .any(|r| r["id"] == room["id"]),
        "{hers}"
    );

    // Not a professional who never saw her, not a clinic where she has no record, and
    // staff cannot use the patient's route.
    for (clinic, pro) in [(&clinic, &rafael.me["id"]), (&boavista, &helena.me["id"])] {
        assert_error(
            start(&app, &patient, clinic, pro).await,
            StatusCode::FORBIDDEN,
            "chat_not_allowed",
        )
        .await;
    }
    assert_error(
        start(&app, &recep, &clinic, &helena.me["id"]).await,
        StatusCode::FORBIDDEN,
        "chat_not_allowed",
    )
    .await;
    assert_eq!(
        app.get("/api/me/chat/contacts", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
