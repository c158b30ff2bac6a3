//! Booking follows availability, and nobody is ever double booked: not by two requests,
//! not by a hundred at once, not by two open transactions.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Agenda, agenda_fixture, book, many_patients, maria_in, race, slots};
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn booking_follows_availability_and_never_double_books_anyone() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let ten = a.at(10, 0);
    let free = slots(&app, &a, &a.helena).await;
    assert_eq!(free.len(), 20, "08:00–18:00 every 30 min");
    assert!(free.contains(&ten));

    let (status, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": Agenda::patient(&a.joao),
            "starts_at": ten}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    assert_eq!(appt["status"], "scheduled");
    assert_eq!(appt["patient_name"], "João Pereira da Silva");
    assert!(
        !slots(&app, &a, &a.helena).await.contains(&ten),
        "the slot is gone"
    );

    let maria = maria_in(&app, &a.clinic, &a.recep).await;
    // Same professional, same time: taken.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria, "starts_at": ten}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    // Overlapping by a quarter hour, squeezed in outside the grid: still taken.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria,
            "starts_at": a.at(10, 15), "fit_in": true}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    // The same patient with another professional at the same time: the patient is busy.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.rafael), "patient_id": Agenda::patient(&a.joao),
            "starts_at": ten}),
        )
        .await,
        StatusCode::CONFLICT,
        "patient_busy",
    )
    .await;
    // Helena in her other clinic at the same time: taken (she cannot be in two places).
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(&app, &a.boavista, &bv_recep).await;
    assert_error(
        book(
            &app,
            &a.boavista,
            &bv_recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria_bv,
            "starts_at": ten, "fit_in": true}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    // Not an offered slot (03:00): refused, unless the reception fits it in.
    assert_error(
        book(&app, &a.clinic, &a.recep, json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria, "starts_at": a.at(3, 0)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "slot_unavailable",
    )
    .await;
    let resp = book(
        &app,
        &a.clinic,
        &a.recep,
        json!({
        "professional_user_id": Agenda::id(&a.helena), "patient_id": maria,
        "starts_at": a.at(3, 0), "fit_in": true}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Moving João: his own 10:00 counts as free for him, not for others.
    let (_, moving) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/slots?professional_user_id={}&from={}&to={}&appointment_id={}",
                a.clinic,
                a.helena.me["id"].as_str().expect("id"),
                a.day,
                a.day,
                appt["id"].as_str().expect("id")
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert!(moving["slots"].as_array().expect("slots").iter().any(|s| {
        s["starts_at"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            == Some(ten)
    }));
    // The receptionist's day view shows both, in order, with names.
    let (_, day) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/appointments?from={}&to={}",
                a.clinic, a.day, a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    let names: Vec<&str> = day
        .as_array()
        .expect("list")
        .iter()
        .map(|x| x["patient_name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, vec!["Maria", "João Pereira da Silva"]);
    // Helena sees it in her agenda across clinics.
    let (_, mine) = json_of(
        app.get(
            &format!("/api/me/agenda?from={}&to={}", a.day, a.day),
            Some(&a.helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(mine.as_array().expect("list").len(), 2);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_hundred_concurrent_requests_for_one_slot_book_exactly_one() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let patients = many_patients(&app, &a.clinic, &a.recep, 100).await;
    let at = a.at(11, 0);
    let requests = patients
        .iter()
        .map(|p| {
            app.client
                .post(app.url(&format!("/api/clinics/{}/appointments", a.clinic)))
                .bearer_auth(&a.recep.access)
                .json(&json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": p, "starts_at": at}))
        })
        .collect();
    let (created, taken) = race(requests).await;
    assert_eq!((created, taken), (1, 99));
    let (_, day) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/appointments?from={}&to={}",
                a.clinic, a.day, a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(
        day.as_array().expect("list").len(),
        1,
        "one appointment stored"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn statuses_move_forward_only_and_a_no_show_frees_the_time() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(16, 0)}),
        )
        .await,
    )
    .await;
    let id = appt["id"].as_str().expect("id");
    let status = |s: &str| {
        let path = format!("/api/clinics/{}/appointments/{id}/status", a.clinic);
        let body = json!({ "status": s });
        let app = &app;
        let token = a.recep.access.clone();
        async move { app.post(&path, Some(&token), &body).await }
    };
    assert_error(
        status("done").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert_error(
        status("teleported").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_status",
    )
    .await;
    for s in ["confirmed", "no_show"] {
        let (code, body) = json_of(status(s).await).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["status"], s);
    }
    assert!(
        slots(&app, &a, &a.helena).await.contains(&a.at(16, 0)),
        "a no-show releases the slot"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_database_refuses_an_overlap_that_two_open_transactions_both_checked() {
    use atende::store::StoreError;
    use atende::store::agenda::{AppointmentRow, PROFESSIONAL_BUSY};
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let store = app.state.store.clone();
    let row = |patient: &Value, start: DateTime<Utc>| AppointmentRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: serde_json::from_value(json!(a.clinic)).expect("id"),
        professional_user_id: serde_json::from_value(Agenda::id(&a.helena)).expect("id"),
        patient_id: serde_json::from_value(patient.clone()).expect("id"),
        service_id: None,
        kind: "in_person".into(),
        status: atende::domain::agenda::AppointmentStatus::Scheduled,
        starts_at: start,
        ends_at: start + Duration::minutes(30),
        block_start: start,
        block_end: start + Duration::minutes(30),
        hold_expires_at: None,
        notes: String::new(),
        cancel_reason: None,
        booked_by: None,
        created_at: atende::store::now(),
        updated_at: atende::store::now(),
    };
    let first = row(&Agenda::patient(&a.joao), a.at(13, 0));
    let second = row(&Agenda::patient(&a.maria), a.at(13, 15));
    // Transaction 1 books and stays open.
    let mut tx1 = store.begin().await.expect("tx1");
    store
        .insert_appointment(&mut tx1, &first)
        .await
        .expect("first fits");
    // Transaction 2 starts meanwhile. On PostgreSQL its own check cannot see the
    // uncommitted row, so only the exclusion constraint stands in the way; on SQLite it
    // waits for the single writer and then sees it.
    let s2 = store.clone();
    let t2 = tokio::spawn(async move {
        let mut tx2 = s2.begin().await.expect("tx2");
        let r = s2.insert_appointment(&mut tx2, &second).await;
        if r.is_ok() {
            tx2.commit().await.expect("commit");
        }
        r
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx1.commit().await.expect("commit 1");
    let r = t2.await.expect("join");
    assert!(
        matches!(r, Err(StoreError::Conflict(PROFESSIONAL_BUSY))),
        "the overlap must be refused: {r:?}"
    );
}
