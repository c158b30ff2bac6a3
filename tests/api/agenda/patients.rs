//! Patients book on the public page, only offered slots, and manage only their own
//! appointments.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use super::{Agenda, agenda_fixture, book, slots};
use crate::helpers::*;

#[actix_web::test]
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
