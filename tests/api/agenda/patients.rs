//! Patients book on the public page, only offered slots, and manage only their own
//! appointments.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use super::{Agenda, agenda_fixture, book, slots};
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn patients_book_offered_slots_and_manage_only_their_own() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let helena = Agenda::id(&a.helena);
    // The public page lists the clinic's professionals and, without login, the free slots.
    let (status, page) = json_of(
        app.get(&format!("/api/public/clinics/{}/booking", a.clinic), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page["professionals"]
            .as_array()
            .expect("pros")
            .iter()
            .any(|p| p["user_id"] == helena)
    );
    let (status, public) = json_of(
        app.get(
            &format!(
                "/api/public/clinics/{}/slots?professional_user_id={}&from={}&to={}",
                a.clinic,
                helena.as_str().expect("id"),
                a.day,
                a.day
            ),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(public["slots"].as_array().expect("slots").len(), 20);

    let (status, mine) = json_of(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": helena, "starts_at": a.at(9, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    // Patients cannot squeeze in, nor book for someone else.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": helena, "starts_at": a.at(9, 10), "fit_in": true}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": helena, "starts_at": a.at(9, 10)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "slot_unavailable",
    )
    .await;
    assert_error(
        book(&app, &a.clinic, &a.joao, json!({"professional_user_id": helena, "patient_id": Agenda::patient(&a.maria), "starts_at": a.at(12, 0)})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let id = mine["id"].as_str().expect("id");
    let path = |action: &str| format!("/api/clinics/{}/appointments/{id}/{action}", a.clinic);
    // Maria cannot touch João's appointment, nor can another clinic's staff.
    assert_error(
        app.post(
            &path("cancel"),
            Some(&a.maria.access),
            &json!({"reason": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bv = app.login("recepcao@boavista.demo", PW).await;
    assert_error(
        app.post(&path("cancel"), Some(&bv.access), &json!({"reason": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Patients do not set statuses.
    assert_error(
        app.post(
            &path("status"),
            Some(&a.joao.access),
            &json!({"status": "confirmed"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // João moves it to 14:00, then cancels; the 09:00 and 14:00 slots are free again.
    let (status, moved) = json_of(
        app.post(
            &path("reschedule"),
            Some(&a.joao.access),
            &json!({"starts_at": a.at(14, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        moved["starts_at"]
            .as_str()
            .expect("t")
            .parse::<DateTime<Utc>>()
            .expect("t"),
        a.at(14, 0)
    );
    assert!(slots(&app, &a, &a.helena).await.contains(&a.at(9, 0)));
    assert_error(
        app.post(
            &path("cancel"),
            Some(&a.joao.access),
            &json!({"reason": " "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reason",
    )
    .await;
    let (_, cancelled) = json_of(
        app.post(
            &path("cancel"),
            Some(&a.joao.access),
            &json!({"reason": "Viagem"}),
        )
        .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(slots(&app, &a, &a.helena).await.contains(&a.at(14, 0)));
    assert_error(
        app.post(
            &path("reschedule"),
            Some(&a.joao.access),
            &json!({"starts_at": a.at(15, 0)}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let (_, list) = json_of(app.get("/api/me/appointments", Some(&a.joao.access)).await).await;
    assert_eq!(list[0]["status"], "cancelled");
    assert_eq!(list[0]["cancel_reason"], "Viagem");
    let (_, hers) = json_of(app.get("/api/me/appointments", Some(&a.maria.access)).await).await;
    assert!(
        hers.as_array()
            .expect("list")
            .iter()
            .all(|x| x["id"] != mine["id"] && x["patient_name"] == "Maria"),
        "Maria sees only her own: {hers}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_new_patient_books_from_the_portal_and_confirms_only_their_own() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    // The clinics that take bookings, for the portal's first step (public, like the pages).
    let (status, clinics) = json_of(app.get("/api/public/clinics", None).await).await;
    assert_eq!(status, StatusCode::OK, "{clinics}");
    let names: Vec<&str> = clinics
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["Clínica Aurora", "Clínica Boa Vista"]);
    // Each with its own zone, the one its booking page shows the times in.
    for c in clinics.as_array().expect("list") {
        let (_, page) = json_of(
            app.get(
                &format!(
                    "/api/public/clinics/{}/booking",
                    c["clinic_id"].as_str().expect("id")
                ),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(c["time_zone"], page["time_zone"], "{c}");
    }
    // Professionals carry what titles them: Dra. Helena (a doctor), Dr. Rafael (a dentist).
    let (_, page) = json_of(
        app.get(&format!("/api/public/clinics/{}/booking", a.clinic), None)
            .await,
    )
    .await;
    let pro = |name: &str| {
        page["professionals"]
            .as_array()
            .expect("pros")
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} on the page: {page}"))
    };
    assert_eq!(
        (
            pro("Helena Duarte")["profession"].clone(),
            pro("Helena Duarte")["gender"].clone()
        ),
        (json!("doctor"), json!("female"))
    );
    assert_eq!(
        (
            pro("Rafael Nogueira")["profession"].clone(),
            pro("Rafael Nogueira")["gender"].clone()
        ),
        (json!("dentist"), json!("male"))
    );

    // Someone who just signed up books with Helena from inside the app.
    let (status, signed) = app
        .sign_up(&signup_body("livia@paciente.test", &super::cpf_for(7777)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", signed.me);
    let livia = app.login("livia@paciente.test", "uma senha boa").await;
    let start = slots(&app, &a, &a.helena).await[0];
    let (status, booked) = json_of(
        book(
            &app,
            &a.clinic,
            &livia,
            json!({"professional_user_id": Agenda::id(&a.helena), "starts_at": start}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["status"], "scheduled");
    assert_eq!(booked["professional_profession"], "doctor");
    assert_eq!(booked["professional_gender"], "female");
    let id = booked["id"].as_str().expect("id");
    let confirm = format!("/api/clinics/{}/appointments/{id}/confirm", a.clinic);

    // Another patient cannot confirm it, nor learn it exists.
    assert_error(
        app.post(&confirm, Some(&a.joao.access), &json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Through another clinic's path: not found either.
    assert_error(
        app.post(
            &format!("/api/clinics/{}/appointments/{id}/confirm", a.boavista),
            Some(&livia.access),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (status, confirmed) =
        json_of(app.post(&confirm, Some(&livia.access), &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed["status"], "confirmed");
    // Twice is a conflict, with its code.
    assert_error(
        app.post(&confirm, Some(&livia.access), &json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    // Her list says so, with the professional's title fields.
    let (_, mine) = json_of(app.get("/api/me/appointments", Some(&livia.access)).await).await;
    assert_eq!(mine[0]["id"], id);
    assert_eq!(mine[0]["status"], "confirmed");
    assert_eq!(mine[0]["professional_gender"], "female");
    // Audited as the patient's confirmation.
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(rows.iter().any(|r| r.action == "appointment.confirmed"
        && r.entity_id.as_deref() == Some(id)
        && r.actor_user_id.map(|u| u.to_string()).as_deref() == livia.me["id"].as_str()));
}
