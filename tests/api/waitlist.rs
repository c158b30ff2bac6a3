//! The smart waitlist: a freed slot is offered to the first matching patient and held for
//! them; accept books it; decline or expiry hands it to the next.

use chrono::{Duration, Timelike as _, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book, many_patients};
use crate::helpers::*;

async fn join(app: &TestApp, a: &Agenda, who: &Session, body: Value) -> Value {
    let (status, w) = json_of(
        app.post(
            &format!("/api/clinics/{}/waitlist", a.clinic),
            Some(&who.access),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    w
}

async fn staff_list(app: &TestApp, a: &Agenda) -> Vec<Value> {
    let (status, list) = json_of(
        app.get(
            &format!("/api/clinics/{}/waitlist", a.clinic),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("list").clone()
}

/// João at 10:00 tomorrow with Helena; returns the appointment.
async fn joao_at_ten(app: &TestApp, a: &Agenda) -> Value {
    let (status, appt) = json_of(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(10, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    appt
}

async fn cancel(app: &TestApp, a: &Agenda, appt: &Value) {
    let (status, body) = json_of(
        app.post(
            &format!(
                "/api/clinics/{}/appointments/{}/cancel",
                a.clinic,
                appt["id"].as_str().expect("id")
            ),
            Some(&a.recep.access),
            &json!({"reason": "Paciente desmarcou"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn token(path: &Value) -> String {
    path.as_str()
        .expect("path")
        .rsplit('/')
        .next()
        .expect("token")
        .to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_freed_slot_is_offered_held_and_booked_by_accepting() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let appt = joao_at_ten(&app, &a).await;
    // Maria wants Helena tomorrow morning.
    join(
        &app,
        &a,
        &a.maria,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "date_from": a.day, "date_to": a.day, "time_from": "09:00", "time_to": "12:00"}),
    )
    .await;
    let mut maria_ws = app.ws(&a.maria).await;
    maria_ws
        .join(
            &format!("user:{}", a.maria.me["id"].as_str().expect("id")),
            None,
        )
        .await;

    cancel(&app, &a, &appt).await;
    let offer = maria_ws.push("waitlist.offer").await["payload"].clone();
    assert_eq!(offer["appointment"]["status"], "held");
    let expires: chrono::DateTime<Utc> =
        offer["expires_at"].as_str().expect("t").parse().expect("t");
    let hold = expires - Utc::now();
    assert!(
        hold > Duration::minutes(14) && hold <= Duration::minutes(15),
        "held for 15 minutes"
    );
    // While held, nobody else gets the slot.
    let others = many_patients(&app, &a.clinic, &a.recep, 1).await;
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": others[0], "starts_at": a.at(10, 0)}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    let list = staff_list(&app, &a).await;
    assert_eq!(list[0]["status"], "offered");
    assert_eq!(
        list[0]["patient_name"], "Maria",
        "the social name, as everywhere"
    );
    let (_, hers) = json_of(app.get("/api/me/waitlist", Some(&a.maria.access)).await).await;
    let offered_at: chrono::DateTime<Utc> = hers[0]["offer"]["starts_at"]
        .as_str()
        .expect("t")
        .parse()
        .expect("t");
    assert_eq!(
        offered_at,
        a.at(10, 0),
        "the patient sees which time is offered"
    );

    // One click on the link in her message books it.
    let accept = token(&offer["links"]["accept_path"]);
    let (status, used) = json_of(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "accept", "token": accept}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{used}");
    assert_eq!(used["appointment"]["status"], "scheduled");
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "accept", "token": accept}),
        )
        .await,
        StatusCode::CONFLICT,
        "link_used",
    )
    .await;
    let decline = token(&offer["links"]["decline_path"]);
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "decline", "token": decline}),
        )
        .await,
        StatusCode::CONFLICT,
        "offer_closed",
    )
    .await;
    let (_, mine) = json_of(app.get("/api/me/appointments", Some(&a.maria.access)).await).await;
    assert!(mine.as_array().expect("list").iter().any(|x| {
        x["status"] == "scheduled"
            && x["starts_at"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<Utc>>().ok())
                == Some(a.at(10, 0))
    }));
    let (_, hers) = json_of(app.get("/api/me/waitlist", Some(&a.maria.access)).await).await;
    assert_eq!(hers[0]["status"], "booked");
    assert!(staff_list(&app, &a).await.is_empty());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn declining_or_letting_an_offer_lapse_moves_it_to_the_next_patient() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let appt = joao_at_ten(&app, &a).await;
    let helena = Agenda::id(&a.helena);
    join(
        &app,
        &a,
        &a.maria,
        json!({"professional_user_id": helena, "date_from": a.day, "date_to": a.day}),
    )
    .await;
    let extra = many_patients(&app, &a.clinic, &a.recep, 2).await;
    let (second, third) = (vec![extra[0].clone()], extra.clone());
    join(
        &app,
        &a,
        &a.recep,
        json!({"patient_id": second[0], "professional_user_id": helena,
        "date_from": a.day, "date_to": a.day}),
    )
    .await;
    // Someone whose window does not include tomorrow is never offered it.
    join(
        &app,
        &a,
        &a.recep,
        json!({"patient_id": third[1], "professional_user_id": helena,
        "date_from": a.day + Duration::days(3), "date_to": a.day + Duration::days(4)}),
    )
    .await;

    cancel(&app, &a, &appt).await;
    let list = staff_list(&app, &a).await;
    assert_eq!(
        list[0]["status"], "offered",
        "first come, first served: {list:?}"
    );
    let offer_id = list[0]["offer"]["id"].as_str().expect("offer").to_string();
    // Only Maria may answer her offer.
    assert_error(
        app.post(
            &format!("/api/me/waitlist/offers/{offer_id}/accept"),
            Some(&a.joao.access),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Another clinic's staff cannot release it.
    let bv = app.login("recepcao@boavista.demo", PW).await;
    assert_error(
        app.post(
            &format!(
                "/api/clinics/{}/waitlist/offers/{offer_id}/release",
                a.boavista
            ),
            Some(&bv.access),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (status, declined) = json_of(
        app.post(
            &format!("/api/me/waitlist/offers/{offer_id}/decline"),
            Some(&a.maria.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{declined}");
    assert_eq!(declined["status"], "cancelled");
    let list = staff_list(&app, &a).await;
    assert_eq!(list.len(), 2, "Maria's entry is closed: {list:?}");
    assert_eq!(list[0]["patient_id"], second[0]);
    assert_eq!(list[0]["status"], "offered");
    assert_eq!(
        list[1]["status"], "waiting",
        "the third waits for another day"
    );

    // Sixteen minutes later (a controllable clock): the hold lapses, nobody else matches,
    // the slot is free again.
    let clinic: atende::domain::ClinicId = serde_json::from_value(json!(a.clinic)).expect("id");
    let lapsed = app
        .state
        .registry
        .agenda(clinic)
        .send(atende::actors::agenda::waitlist::ExpireOffers {
            now: Utc::now() + Duration::minutes(16),
        })
        .await
        .expect("actor")
        .expect("expired");
    assert_eq!(lapsed, 1);
    let list = staff_list(&app, &a).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["patient_id"], third[1]);
    let (_, free) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/slots?professional_user_id={}&from={}&to={}",
                a.clinic,
                helena.as_str().expect("id"),
                a.day,
                a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    let starts: Vec<&str> = free["slots"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["starts_at"].as_str().expect("t"))
        .collect();
    assert!(
        starts
            .iter()
            .any(|s| s.parse::<chrono::DateTime<Utc>>().ok() == Some(a.at(10, 0))),
        "released"
    );
    // Answering after the end is refused clearly.
    let (_, maria_list) = json_of(app.get("/api/me/waitlist", Some(&a.maria.access)).await).await;
    assert_eq!(maria_list[0]["status"], "declined");
    // A declined offer is not one of her appointments.
    let (_, appts) = json_of(app.get("/api/me/appointments", Some(&a.maria.access)).await).await;
    assert!(
        appts
            .as_array()
            .expect("list")
            .iter()
            .all(|x| x["cancel_reason"]
                .as_str()
                .is_none_or(|r| !r.contains("lista de espera"))),
        "{appts}"
    );
    assert_error(
        app.post(
            &format!("/api/me/waitlist/offers/{offer_id}/accept"),
            Some(&a.maria.access),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "offer_closed",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn waitlist_input_is_checked() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let path = format!("/api/clinics/{}/waitlist", a.clinic);
    for (body, code) in [
        (
            json!({"date_from": a.day, "date_to": a.day}),
            "invalid_waitlist",
        ),
        (
            json!({"professional_user_id": Agenda::id(&a.helena), "date_from": a.day, "date_to": a.day - Duration::days(1)}),
            "invalid_waitlist",
        ),
        (
            json!({"professional_user_id": Agenda::id(&a.helena), "date_from": a.day, "date_to": a.day, "time_from": "12:00", "time_to": "09:00"}),
            "invalid_waitlist",
        ),
        (
            json!({"professional_user_id": Agenda::id(&a.helena), "date_from": a.day, "date_to": a.day, "time_from": "9h"}),
            "invalid_time",
        ),
        (
            json!({"professional_user_id": a.recep.me["id"], "date_from": a.day, "date_to": a.day}),
            "not_a_professional",
        ),
        (
            json!({"professional_user_id": Agenda::id(&a.helena), "date_from": "2020-01-01", "date_to": "2020-01-31"}),
            "invalid_waitlist",
        ),
    ] {
        assert_error(
            app.post(&path, Some(&a.maria.access), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
    // Patients see only their own; staff see the clinic's.
    assert_error(
        app.get(&path, Some(&a.maria.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let w = join(&app, &a, &a.maria, json!({"professional_user_id": Agenda::id(&a.helena), "date_from": a.day, "date_to": a.day})).await;
    let cancel_path = format!(
        "/api/clinics/{}/waitlist/{}/cancel",
        a.clinic,
        w["id"].as_str().expect("id")
    );
    assert_error(
        app.post(&cancel_path, Some(&a.joao.access), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (status, c) = json_of(
        app.post(&cancel_path, Some(&a.maria.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["status"], "cancelled");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_desk_releases_a_hold_when_the_patient_declines_by_phone() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let appt = joao_at_ten(&app, &a).await;
    join(&app, &a, &a.maria, json!({"professional_user_id": Agenda::id(&a.helena), "date_from": a.day, "date_to": a.day})).await;
    cancel(&app, &a, &appt).await;
    let list = staff_list(&app, &a).await;
    let offer_id = list[0]["offer"]["id"].as_str().expect("offer").to_string();
    let release = format!(
        "/api/clinics/{}/waitlist/offers/{offer_id}/release",
        a.clinic
    );
    assert_error(
        app.post(&release, Some(&a.maria.access), &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let (status, released) =
        json_of(app.post(&release, Some(&a.recep.access), &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(released["status"], "cancelled");
    assert!(staff_list(&app, &a).await.is_empty());
    assert_error(
        app.post(&release, Some(&a.recep.access), &json!({})).await,
        StatusCode::CONFLICT,
        "offer_closed",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_hold_never_outlasts_the_start_of_the_appointment() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    // The demo's appointments of today would take "in ten minutes" at some hours.
    app.cancel_todays_appointments(&a.clinic, &a.recep).await;
    // A fitted-in appointment in ten minutes, then cancelled: the offer cannot be held for
    // fifteen minutes, only until it starts.
    let soon = (Utc::now() + Duration::minutes(10))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("time");
    let local_day = soon
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let (status, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": soon, "fit_in": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    join(
        &app,
        &a,
        &a.maria,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "date_from": local_day, "date_to": local_day}),
    )
    .await;
    cancel(&app, &a, &appt).await;
    let list = staff_list(&app, &a).await;
    let expires: chrono::DateTime<Utc> = list[0]["offer"]["expires_at"]
        .as_str()
        .expect("offer")
        .parse()
        .expect("t");
    assert_eq!(expires, soon);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_savepoint_keeps_a_transaction_usable_after_a_refused_statement() {
    use atende::store::Savepoint;
    let app = spawn_app().await;
    let store = &app.state.store;
    let mut tx = store.begin().await.expect("tx");
    store
        .savepoint(&mut tx, Savepoint::Set, "sp")
        .await
        .expect("set");
    // An offer for an appointment that does not exist: the foreign key refuses it.
    let bad = atende::store::waitlist::OfferRow {
        id: uuid::Uuid::now_v7(),
        waitlist_id: uuid::Uuid::now_v7(),
        appointment_id: uuid::Uuid::now_v7(),
        status: atende::domain::agenda::OfferStatus::Offered,
        expires_at: Utc::now(),
        created_at: Utc::now(),
        decided_at: None,
    };
    assert!(store.insert_offer(&mut tx, &bad).await.is_err());
    store
        .savepoint(&mut tx, Savepoint::RollbackTo, "sp")
        .await
        .expect("rollback to");
    // The transaction goes on.
    let n = store
        .next_topic_seq(&mut tx, "test:savepoint")
        .await
        .expect("still usable");
    assert_eq!(n, 1);
    tx.commit().await.expect("commit");
}
