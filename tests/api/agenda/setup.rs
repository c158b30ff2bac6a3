//! What shapes the slots: schedules, booking rules, services and exceptions, and who may
//! edit them.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Agenda, agenda_fixture, book, slots};
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn schedules_rules_and_exceptions_shape_the_slots() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let helena = a.helena.me["id"].as_str().expect("id").to_string();
    let schedule = format!("/api/clinics/{}/professionals/{helena}/schedule", a.clinic);
    // Only the professional or an administrator edits it; bad input is named.
    for (who, body, status, code) in [
        (
            &a.recep,
            json!({"hours": []}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &a.rafael,
            json!({"hours": []}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &a.admin,
            json!({"hours": [{"weekday": 9, "start": "08:00", "end": "09:00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_weekday",
        ),
        (
            &a.admin,
            json!({"hours": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_hours",
        ),
        (
            &a.admin,
            json!({"hours": [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "overlapping_hours",
        ),
        (
            &a.admin,
            json!({"hours": [], "rules": {"min_notice_minutes": 0, "booking_window_days": 30, "daily_limit": null, "slot_step_minutes": 7}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_step",
        ),
    ] {
        assert_error(
            app.client
                .put(app.url(&schedule))
                .bearer_auth(&who.access)
                .json(&body)
                .send()
                .await
                .expect("put"),
            status,
            code,
        )
        .await;
    }
    // A 45-minute service with a 15-minute buffer after: starts every 30 min, none
    // ending past 18:00 and none running into a booked 10:00.
    let (status, svc) = json_of(
        app.post(&format!("/api/clinics/{}/services", a.clinic), Some(&a.admin.access),
            &json!({"name": "Consulta longa", "duration_minutes": 45, "buffer_after_minutes": 15, "price_cents": 35000})).await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{svc}");
    assert_error(
        app.post(
            &format!("/api/clinics/{}/services", a.clinic),
            Some(&a.recep.access),
            &json!({"name": "X", "duration_minutes": 45}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    book(
        &app,
        &a.clinic,
        &a.recep,
        json!({"professional_user_id": helena,
        "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(10, 0)}),
    )
    .await;
    let (_, body) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/slots?professional_user_id={helena}&service_id={}&from={}&to={}",
                a.clinic,
                svc["id"].as_str().expect("id"),
                a.day,
                a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    let starts: Vec<DateTime<Utc>> = body["slots"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["starts_at"].as_str().expect("t").parse().expect("t"))
        .collect();
    assert!(
        starts.contains(&a.at(8, 30)),
        "08:30–09:15 +15 ends at 09:30"
    );
    assert!(
        starts.contains(&a.at(9, 0)),
        "09:00–09:45 +15 ends exactly at 10:00"
    );
    assert!(!starts.contains(&a.at(9, 30)));
    assert!(starts.contains(&a.at(10, 30)));
    assert!(!starts.contains(&a.at(17, 30)), "would end after 18:00");
    assert!(starts.contains(&a.at(17, 0)));

    // A clinic holiday tomorrow afternoon closes it for everyone.
    let (status, ex) = json_of(
        app.post(&format!("/api/clinics/{}/exceptions", a.clinic), Some(&a.admin.access),
            &json!({"kind": "closed", "starts_at": a.at(12, 0), "ends_at": a.at(18, 0), "reason": "Feriado municipal"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ex}");
    let free = slots(&app, &a, &a.rafael).await;
    assert_eq!(free.last().copied(), Some(a.at(11, 30)));
    assert_error(
        app.post(
            &format!("/api/clinics/{}/exceptions", a.clinic),
            Some(&a.recep.access),
            &json!({"kind": "closed", "starts_at": a.at(12, 0), "ends_at": a.at(18, 0)}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/clinics/{}/exceptions", a.clinic),
            Some(&a.admin.access),
            &json!({"kind": "closed", "starts_at": a.at(18, 0), "ends_at": a.at(12, 0)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_range",
    )
    .await;
    // Removing it opens the afternoon again.
    let resp = app
        .client
        .delete(app.url(&format!(
            "/api/clinics/{}/exceptions/{}",
            a.clinic,
            ex["id"].as_str().expect("id")
        )))
        .bearer_auth(&a.admin.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(slots(&app, &a, &a.rafael).await.len(), 20);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn services_are_edited_and_withdrawn_and_professionals_manage_their_own_exceptions() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let services = format!("/api/clinics/{}/services", a.clinic);
    let (_, svc) = json_of(
        app.post(
            &services,
            Some(&a.admin.access),
            &json!({"name": "Retorno", "duration_minutes": 20}),
        )
        .await,
    )
    .await;
    let one = format!("{services}/{}", svc["id"].as_str().expect("id"));
    let put = |who: &Session, body: Value| {
        app.client
            .put(app.url(&one))
            .bearer_auth(&who.access)
            .json(&body)
            .send()
    };
    assert_error(
        put(&a.recep, json!({"name": "X", "duration_minutes": 20}))
            .await
            .expect("put"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        put(&a.admin, json!({"name": "Retorno", "duration_minutes": 2}))
            .await
            .expect("put"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_duration",
    )
    .await;
    let (status, changed) = json_of(
        put(
            &a.admin,
            json!({"name": "Retorno breve", "duration_minutes": 15, "price_cents": 5000}),
        )
        .await
        .expect("put"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["duration_minutes"], 15);
    let (_, off) = json_of(
        put(
            &a.admin,
            json!({"name": "Retorno breve", "duration_minutes": 15, "active": false}),
        )
        .await
        .expect("put"),
    )
    .await;
    assert_eq!(off["active"], false);
    let (_, list) = json_of(app.get(&services, Some(&a.recep.access)).await).await;
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .all(|s| s["id"] != svc["id"]),
        "withdrawn services are not offered"
    );

    // Helena adds and removes her own vacation; she cannot remove a clinic holiday.
    let exceptions = format!("/api/clinics/{}/exceptions", a.clinic);
    let (_, mine) = json_of(app.post(&exceptions, Some(&a.helena.access), &json!({"kind": "closed",
        "professional_user_id": Agenda::id(&a.helena), "starts_at": a.at(8, 0), "ends_at": a.at(9, 0), "reason": "Congresso"})).await).await;
    let (_, holiday) = json_of(
        app.post(
            &exceptions,
            Some(&a.admin.access),
            &json!({"kind": "closed",
        "starts_at": a.at(17, 0), "ends_at": a.at(18, 0)}),
        )
        .await,
    )
    .await;
    let delete = |who: &Session, e: &Value| {
        app.client
            .delete(app.url(&format!("{exceptions}/{}", e["id"].as_str().expect("id"))))
            .bearer_auth(&who.access)
            .send()
    };
    assert_error(
        delete(&a.helena, &holiday).await.expect("delete"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        delete(&a.rafael, &mine).await.expect("delete"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        delete(&a.helena, &mine).await.expect("delete").status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        delete(&a.recep, &holiday).await.expect("delete"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // The public page lists only professionals who have hours here.
    let (_, page) = json_of(
        app.get(&format!("/api/public/clinics/{}/booking", a.boavista), None)
            .await,
    )
    .await;
    let names: Vec<&str> = page["professionals"]
        .as_array()
        .expect("pros")
        .iter()
        .map(|p| p["name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, vec!["Helena Duarte"]);
}
