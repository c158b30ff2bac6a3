//! "Meu dia" (`/api/me/day`): a professional's day in both clinics, in time order, with the
//! next patient; starting a visit (in progress, the encounter opens) and finishing it
//! (attended), directly or through the waiting room; who may do it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

async fn my_day(app: &TestApp, who: &Session, date: &str) -> (StatusCode, Value) {
    json_of(
        app.get(&format!("/api/me/day?date={date}"), Some(&who.access))
            .await,
    )
    .await
}

async fn visit(app: &TestApp, who: &Session, id: &Value, step: &str) -> reqwest::Response {
    app.post(
        &format!("/api/me/day/{}/{step}", id.as_str().expect("id")),
        Some(&who.access),
        &json!({}),
    )
    .await
}

/// Maria with Helena at Aurora at 10:00 and at Boa Vista at 08:30 tomorrow.
async fn two_clinics(app: &TestApp, a: &Agenda) -> (Value, Value) {
    let maria = maria_in(app, &a.clinic, &a.recep).await;
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(app, &a.boavista, &bv_recep).await;
    let (status, aurora) = json_of(
        book(app, &a.clinic, &a.recep, json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria, "starts_at": a.at(10, 0)}))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{aurora}");
    let (status, boavista) = json_of(
        book(app, &a.boavista, &bv_recep, json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria_bv, "starts_at": a.at(8, 30)}))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{boavista}");
    (aurora, boavista)
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_professionals_day_lists_both_clinics_in_time_order_with_the_next_patient() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let (aurora, boavista) = two_clinics(&app, &a).await;

    let (status, day) = my_day(&app, &a.helena, &a.day.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    assert_eq!(day["date"], a.day.to_string());
    let list = day["appointments"].as_array().expect("appointments");
    let ids: Vec<&Value> = list.iter().map(|x| &x["id"]).collect();
    assert_eq!(ids, vec![&boavista["id"], &aurora["id"]], "{day}");
    assert_eq!(list[0]["clinic_name"], "Clínica Boa Vista");
    assert_eq!(list[0]["time_zone"], "America/Recife");
    assert_eq!(list[1]["clinic_name"], "Clínica Aurora");
    assert_eq!(list[1]["time_zone"], "America/Sao_Paulo");
    // Tomorrow's first appointment is the next patient; nobody is being seen.
    assert_eq!(day["next_id"], boavista["id"]);
    assert!(day["current_id"].is_null());
    let clinics: Vec<&str> = day["clinics"]
        .as_array()
        .expect("clinics")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(clinics.contains(&"Clínica Aurora") && clinics.contains(&"Clínica Boa Vista"));

    // Another day is empty; a bad date is refused as such.
    let (status, other) = my_day(&app, &a.helena, &(a.day + Duration::days(1)).to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(other["appointments"], json!([]));
    assert!(other["next_id"].is_null());
    let resp = app
        .get("/api/me/day?date=amanha", Some(&a.helena.access))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Rafael's day does not show Helena's patients.
    let (status, rafael) = my_day(&app, &a.rafael, &a.day.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rafael["appointments"], json!([]));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_day_is_refused_to_receptionists_admins_patients_and_strangers() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    for who in [&a.recep, &a.admin, &a.joao] {
        assert_error(
            app.get("/api/me/day", Some(&who.access)).await,
            StatusCode::FORBIDDEN,
            "not_a_professional",
        )
        .await;
    }
    let resp = app.get("/api/me/day", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn starting_a_visit_opens_its_encounter_and_finishing_makes_it_attended() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let (aurora, _) = two_clinics(&app, &a).await;

    // Nobody else starts Helena's visit: not Rafael (same clinic), not the other clinic's
    // staff, not the patient, not the receptionist.
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    for who in [&a.rafael, &bv_recep, &a.maria, &a.recep] {
        assert_error(
            visit(&app, who, &aurora["id"], "start").await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    // Finishing before starting is refused.
    assert_error(
        visit(&app, &a.helena, &aurora["id"], "finish").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    let (status, started) = json_of(visit(&app, &a.helena, &aurora["id"], "start").await).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["appointment"]["status"], "in_progress");
    let encounter = started["encounter_id"].clone();
    let patient = aurora["patient_id"].as_str().expect("patient");
    let (status, e) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/patients/{patient}/record/encounters/{}",
                a.clinic,
                encounter.as_str().expect("id")
            ),
            Some(&a.helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["status"], "draft");
    assert_eq!(e["appointment_id"], aurora["id"]);
    // Starting again (another tab) reopens the same draft, not a second one.
    let (status, again) = json_of(visit(&app, &a.helena, &aurora["id"], "start").await).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["encounter_id"], encounter);
    let (_, day) = my_day(&app, &a.helena, &a.day.to_string()).await;
    assert_eq!(day["current_id"], aurora["id"]);

    let (status, done) = json_of(visit(&app, &a.helena, &aurora["id"], "finish").await).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "done");
    assert_error(
        visit(&app, &a.helena, &aurora["id"], "finish").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let (_, day) = my_day(&app, &a.helena, &a.day.to_string()).await;
    assert!(day["current_id"].is_null());
    let status_of = |id: &Value| {
        day["appointments"]
            .as_array()
            .expect("list")
            .iter()
            .find(|x| &x["id"] == id)
            .expect("there")["status"]
            .clone()
    };
    assert_eq!(status_of(&aurora["id"]), "done");

    // Both moves are in the audit trail, by Helena.
    let actions: Vec<String> = app
        .state
        .store
        .audit_page(0, 100_000)
        .await
        .expect("audit")
        .into_iter()
        .map(|r| r.action)
        .collect();
    for action in [
        "appointment.visit_started",
        "appointment.visit_finished",
        "encounter.created",
    ] {
        assert!(
            actions.iter().any(|x| x == action),
            "{action} in {actions:?}"
        );
    }

    // A cancelled appointment cannot be started.
    let maria = maria_in(&app, &a.clinic, &a.recep).await;
    let (_, later) = json_of(
        book(&app, &a.clinic, &a.recep, json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria, "starts_at": a.at(15, 0)}))
        .await,
    )
    .await;
    let resp = app
        .post(
            &format!(
                "/api/clinics/{}/appointments/{}/cancel",
                a.clinic,
                later["id"].as_str().expect("id")
            ),
            Some(&a.recep.access),
            &json!({"reason": "Paciente desmarcou"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_error(
        visit(&app, &a.helena, &later["id"], "start").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_called_from_the_waiting_room_is_started_and_finished_through_the_queue() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    // The demo books João with Helena today: he checks in and Helena calls him.
    let today = app.todays_appointments(&clinic, &recep).await;
    let joao = today
        .iter()
        .find(|x| {
            x["patient_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("João"))
        })
        .expect("demo appointment")
        .clone();
    let (status, entry) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/queue"),
            Some(&recep.access),
            &json!({"appointment_id": joao["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let (status, day) = json_of(app.get("/api/me/day", Some(&helena.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    assert_eq!(
        day["next_id"], joao["id"],
        "the patient who arrived is next"
    );
    let (status, called) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/queue/call-next"),
            Some(&helena.access),
            &json!({"room": "Consultório 1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{called}");
    assert_eq!(called["id"], entry["id"]);

    let entry_status = || async {
        board_entry(&app, &clinic, &recep, &entry["id"])
            .await
            .map(|e| e["status"].clone())
    };
    let (status, started) = json_of(visit(&app, &helena, &joao["id"], "start").await).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["appointment"]["status"], "in_progress");
    assert_eq!(entry_status().await, Some(json!("in_service")));
    let (status, done) = json_of(visit(&app, &helena, &joao["id"], "finish").await).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "done");
    // The finished call leaves the board's active list (or shows as done).
    let after = entry_status().await;
    assert!(after.is_none() || after == Some(json!("done")), "{after:?}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_demo_week_puts_helena_in_both_clinics_today_with_history_and_a_live_queue() {
    let app = spawn_app().await;
    assert!(
        atende::demo::seed_with_week(&app.state)
            .await
            .expect("seed")
    );
    // A second start finds the data and seeds nothing.
    assert!(
        !atende::demo::seed_with_week(&app.state)
            .await
            .expect("seed")
    );
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let (status, day) = json_of(app.get("/api/me/day", Some(&helena.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    let list = day["appointments"].as_array().expect("appointments");
    for clinic in ["Clínica Aurora", "Clínica Boa Vista"] {
        assert!(
            list.iter().any(|a| a["clinic_name"] == clinic),
            "Helena has nobody in {clinic} today: {day}"
        );
    }
    assert!(list.iter().any(|a| a["kind"] == "teleconsultation"));
    // The days before: attended, and some missed or cancelled.
    let today: NaiveDate = day["date"].as_str().expect("date").parse().expect("date");
    let (status, past) = json_of(
        app.get(
            &format!(
                "/api/me/agenda?from={}&to={}",
                today - Duration::days(3),
                today - Duration::days(1)
            ),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{past}");
    let statuses: Vec<&str> = past
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["status"].as_str().expect("status"))
        .collect();
    assert!(statuses.contains(&"done"), "{statuses:?}");
    assert!(
        statuses
            .iter()
            .any(|s| *s == "no_show" || *s == "cancelled"),
        "{statuses:?}"
    );
    assert!(
        !statuses
            .iter()
            .any(|s| *s == "scheduled" || *s == "confirmed"),
        "the past is not still ahead: {statuses:?}"
    );
    // Today's waiting room is in motion, whatever the hour.
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let (_, board) = json_of(
        app.get(&format!("/api/clinics/{clinic}/queue"), Some(&recep.access))
            .await,
    )
    .await;
    let board: Vec<&str> = board
        .as_array()
        .expect("board")
        .iter()
        .map(|e| e["status"].as_str().expect("status"))
        .collect();
    assert!(board.contains(&"in_service"), "{board:?}");
    assert!(board.contains(&"waiting"), "{board:?}");
    // Every demo login still works.
    for (email, _) in atende::demo::DEMO_LOGINS {
        app.login(email, PW).await;
    }
}

/// The waiting-room entry of an appointment, as the reception board shows it.
async fn board_entry(app: &TestApp, clinic: &str, recep: &Session, id: &Value) -> Option<Value> {
    let (_, board) = json_of(
        app.get(&format!("/api/clinics/{clinic}/queue"), Some(&recep.access))
            .await,
    )
    .await;
    board
        .as_array()
        .expect("board")
        .iter()
        .find(|e| &e["id"] == id)
        .cloned()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn starting_a_patient_still_waiting_calls_them_in_so_the_waiting_room_moves_on() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let maria = maria_in(&app, &a.clinic, &a.recep).await;
    let joao = Agenda::patient(&a.joao);
    let mut entries = Vec::new();
    let mut appts = Vec::new();
    for (patient, h, m) in [(&maria, 10, 0), (&joao, 10, 30)] {
        let (status, appt) = json_of(
            book(
                &app,
                &a.clinic,
                &a.recep,
                json!({
                "professional_user_id": Agenda::id(&a.helena), "patient_id": patient,
                "starts_at": a.at(h, m)}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{appt}");
        appts.push(appt);
    }
    app.clock.set(a.at(9, 50));
    for appt in &appts {
        let (status, entry) = json_of(
            app.post(
                &format!("/api/clinics/{}/queue", a.clinic),
                Some(&a.recep.access),
                &json!({"appointment_id": appt["id"]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{entry}");
        entries.push(entry);
    }

    // Helena never called anyone here: the first is called to "Consultório" and started.
    let (status, started) = json_of(visit(&app, &a.helena, &appts[0]["id"], "start").await).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["appointment"]["status"], "in_progress");
    let first = board_entry(&app, &a.clinic, &a.recep, &entries[0]["id"])
        .await
        .expect("on the board");
    assert_eq!(first["status"], "in_service", "{first}");
    assert_eq!(first["room"], "Consultório", "{first}");
    assert_eq!(
        board_entry(&app, &a.clinic, &a.recep, &entries[1]["id"])
            .await
            .expect("waiting")["status"],
        "waiting"
    );

    // She finishes the first and takes the second straight from "Meu dia": called to the
    // room she last used.
    let resp = visit(&app, &a.helena, &appts[0]["id"], "finish").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, second) = json_of(visit(&app, &a.helena, &appts[1]["id"], "start").await).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let entry = board_entry(&app, &a.clinic, &a.recep, &entries[1]["id"])
        .await
        .expect("on the board");
    assert_eq!(entry["status"], "in_service", "{entry}");
    assert_eq!(entry["room"], "Consultório", "{entry}");
    // Nobody is left waiting for an appointment that is already being seen.
    let (_, day) = my_day(&app, &a.helena, &a.day.to_string()).await;
    assert_eq!(day["current_id"], appts[1]["id"], "{day}");
}
