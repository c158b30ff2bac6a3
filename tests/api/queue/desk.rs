//! The desk: check-in, priority order, calls and the moves of one entry.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn legal_priority_orders_the_queue_with_eighty_plus_first() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    app.cancel_todays_appointments(&d.clinic, &d.recep).await;
    // A registered 86-year-old: age decides, whatever was declared.
    let (_, old) = json_of(app.post(&format!("/api/clinics/{}/patients", d.clinic), Some(&d.recep.access),
        &json!({"full_name": "Dona Benedita Souza", "cpf": "161.803.398-05", "birth_date": "1940-03-03"})).await).await;
    let ana = check_in(&app, &d, json!({"full_name": "Ana Lima"})).await;
    let gestante = check_in(
        &app,
        &d,
        json!({"full_name": "Bia Rocha", "priority": "pregnant"}),
    )
    .await;
    let joao_id = app.login("joao@paciente.demo", PW).await.first_record();
    let joao = check_in(&app, &d, json!({"patient_id": joao_id})).await; // born 1958: 60+
    let benedita = check_in(&app, &d, json!({"patient_id": old["id"]})).await;
    assert_eq!(ana["ticket"], "N001");
    assert_eq!(gestante["ticket"], "P001");
    assert_eq!(joao["priority"], "elderly");
    assert_eq!(benedita["priority"], "elderly_80");
    let order: Vec<String> = board(&app, &d)
        .await
        .iter()
        .map(|e| e["full_name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(
        order,
        vec![
            "Dona Benedita Souza",
            "Bia Rocha",
            "João Pereira da Silva",
            "Ana Lima"
        ]
    );

    let (status, called) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/call-next", d.clinic),
            Some(&d.helena.access),
            &json!({"room": "Consultório 1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{called}");
    assert_eq!(called["full_name"], "Dona Benedita Souza");
    assert_eq!(called["panel_name"], "Dona S.");
    assert_eq!(called["room"], "Consultório 1");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn concurrent_call_next_never_calls_the_same_patient_twice() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    for i in 0..10 {
        check_in(&app, &d, json!({"full_name": format!("Paciente {i}")})).await;
    }
    let path = format!("/api/clinics/{}/queue/call-next", d.clinic);
    let bodies: Vec<Value> = (0..12)
        .map(|i| json!({"room": format!("Sala {}", i % 2)}))
        .collect();
    let calls = bodies.iter().enumerate().map(|(i, body)| {
        let who = if i % 2 == 0 { &d.helena } else { &d.rafael };
        app.post(&path, Some(&who.access), body)
    });
    let results = futures_util::future::join_all(calls).await;
    let mut called = Vec::new();
    let mut empty = 0;
    for r in results {
        let (status, body) = json_of(r).await;
        match status {
            StatusCode::OK => called.push(body["id"].as_str().expect("id").to_string()),
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "queue_empty");
                empty += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let mut distinct = called.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(called.len(), 10, "everyone waiting gets called once");
    assert_eq!(distinct.len(), 10, "nobody is called twice: {called:?}");
    assert_eq!(empty, 2);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_entry_moves_through_its_states_and_bad_moves_are_refused() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let e = check_in(&app, &d, json!({"full_name": "Carla Dias"})).await;
    let id = e["id"].as_str().expect("id");
    let act = |action: &str| format!("/api/clinics/{}/queue/{id}/{action}", d.clinic);
    assert_error(
        app.post(&act("start"), Some(&d.recep.access), &json!({}))
            .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let (_, c) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/call-next", d.clinic),
            Some(&d.helena.access),
            &json!({"room": "2"}),
        )
        .await,
    )
    .await;
    assert_eq!(c["status"], "called");
    let (_, r) = json_of(
        app.post(&act("recall"), Some(&d.recep.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(r["recalls"], 1);
    let (_, n) = json_of(
        app.post(&act("no-show"), Some(&d.recep.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(n["status"], "no_show");
    let (_, back) = json_of(
        app.post(&act("return"), Some(&d.recep.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(back["status"], "waiting");
    // Transferred to Rafael: Helena's call-next no longer finds her.
    let rafael_id = d.rafael.me["id"].clone();
    let (status, t) = json_of(
        app.post(
            &act("transfer"),
            Some(&d.recep.access),
            &json!({"to": rafael_id}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue/call-next", d.clinic),
            Some(&d.helena.access),
            &json!({"room": "2"}),
        )
        .await,
        StatusCode::CONFLICT,
        "queue_empty",
    )
    .await;
    let (_, c) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/call-next", d.clinic),
            Some(&d.rafael.access),
            &json!({"room": "Cadeira 3"}),
        )
        .await,
    )
    .await;
    assert_eq!(c["id"], id);
    let (_, s) = json_of(
        app.post(&act("start"), Some(&d.rafael.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(s["status"], "in_service");
    let (_, f) = json_of(
        app.post(&act("finish"), Some(&d.rafael.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(f["status"], "done");
    assert_error(
        app.post(&act("dance"), Some(&d.recep.access), &json!({}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_action",
    )
    .await;
    // Every move is in the audit trail, by whom it was made, in order; refused ones are not.
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let moves: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.entity_id.as_deref() == Some(id))
        .map(|r| {
            let by = r.actor_user_id.map(|u| u.to_string()).unwrap_or_default();
            (r.action.clone(), by)
        })
        .collect();
    let who = |s: &Session| s.me["id"].as_str().expect("id").to_string();
    let (helena, recep, rafael) = (who(&d.helena), who(&d.recep), who(&d.rafael));
    let expected: Vec<(String, String)> = [
        ("queue.check_in", &recep),
        ("queue.call", &helena),
        ("queue.recall", &recep),
        ("queue.no_show", &recep),
        ("queue.return", &recep),
        ("queue.transfer", &recep),
        ("queue.call", &rafael),
        ("queue.start", &rafael),
        ("queue.finish", &rafael),
    ]
    .iter()
    .map(|(a, u)| (a.to_string(), u.to_string()))
    .collect();
    assert_eq!(moves, expected);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_queue_is_staff_only_and_only_professionals_are_called_for() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let joao = app.login("joao@paciente.demo", PW).await;
    let other = app.login("recepcao@boavista.demo", PW).await;
    for s in [&joao, &other] {
        assert_error(
            app.get(&format!("/api/clinics/{}/queue", d.clinic), Some(&s.access))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.post(
                &format!("/api/clinics/{}/queue", d.clinic),
                Some(&s.access),
                &json!({"full_name": "X"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    check_in(&app, &d, json!({"full_name": "Davi Melo"})).await;
    let path = format!("/api/clinics/{}/queue/call-next", d.clinic);
    assert_error(
        app.post(&path, Some(&d.recep.access), &json!({"room": "1"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_professional",
    )
    .await;
    let (status, c) = json_of(
        app.post(
            &path,
            Some(&d.recep.access),
            &json!({"room": "1", "professional_user_id": d.helena.me["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["professional_user_id"], d.helena.me["id"]);
    // 80+ for a walk-in goes by the birth date given at the desk.
    let declared = check_in(
        &app,
        &d,
        json!({"full_name": "Seu Lauro", "priority": "elderly_80", "birth_date": "1930-01-02"}),
    )
    .await;
    assert_eq!(declared["priority"], "elderly_80");
    assert_eq!(declared["ticket"], "P001");
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue", d.clinic),
            Some(&d.recep.access),
            &json!({"full_name": "Eva", "priority": "vip"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_priority",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue", d.clinic),
            Some(&d.recep.access),
            &json!({}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_name",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_board_updates_live_and_resumes_after_a_reconnect() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let topic = format!("clinic:{}:queue", d.clinic);
    let mut board_ws = app.ws(&d.recep).await;
    board_ws.join(&topic, None).await;
    let e = check_in(&app, &d, json!({"full_name": "Fábio Reis"})).await;
    let push = board_ws.push("queue.updated").await;
    assert_eq!(push["payload"]["entry"]["ticket"], e["ticket"]);
    let seen = push["seq"].as_i64().expect("seq");
    board_ws.close().await;
    app.post(
        &format!("/api/clinics/{}/queue/call-next", d.clinic),
        Some(&d.helena.access),
        &json!({"room": "4"}),
    )
    .await;
    let mut again = app.ws(&d.recep).await;
    again.join(&topic, Some(seen)).await;
    let missed = again.push("queue.updated").await;
    assert_eq!(missed["payload"]["entry"]["status"], "called");
    assert_eq!(missed["seq"].as_i64(), Some(seen + 1));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_queue_survives_its_actor_stopping_mid_day() {
    let app = spawn_app_with(|s| s.realtime.entity_idle_secs = 1).await;
    let d = desk(&app).await;
    let first = check_in(&app, &d, json!({"full_name": "Primeira Pessoa"})).await;
    check_in(
        &app,
        &d,
        json!({"full_name": "Segunda Pessoa", "priority": "pregnant"}),
    )
    .await;
    assert_eq!(app.state.registry.live_queues(), 1);
    // Idle: the actor stops, as after a crash or a node restart it would be gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.state.registry.live_queues() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle queue actor did not stop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A fresh actor serves the same queue, in the same order, with the ticket count going on.
    let b = board(&app, &d).await;
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["full_name"], "Segunda Pessoa");
    assert_eq!(
        call_next(&app, &d, &d.helena, "1").await["full_name"],
        "Segunda Pessoa"
    );
    assert_eq!(call_next(&app, &d, &d.helena, "1").await["id"], first["id"]);
    let third = check_in(&app, &d, json!({"full_name": "Terceira Pessoa"})).await;
    assert_eq!(third["ticket"], "N002");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn calling_the_next_patient_finishes_the_previous_call() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    app.cancel_todays_appointments(&d.clinic, &d.recep).await;
    let names = ["Alice Prado", "Bruno Lopes", "Caio Nunes", "Dora Melo"];
    for n in names {
        check_in(&app, &d, json!({"full_name": n})).await;
    }
    let current = |board: &[Value]| -> Vec<String> {
        let mut names: Vec<String> = board
            .iter()
            .filter(|e| matches!(e["status"].as_str(), Some("called" | "in_service")))
            .map(|e| e["full_name"].as_str().expect("name").to_string())
            .collect();
        names.sort();
        names
    };
    let mut called = Vec::new();
    for _ in 0..3 {
        called.push(call_next(&app, &d, &d.helena, "Consultório 1").await);
    }
    let b = board(&app, &d).await;
    assert_eq!(current(&b), vec!["Caio Nunes"], "one current call: {b:?}");
    for prev in &called[..2] {
        let e = b
            .iter()
            .find(|e| e["id"] == prev["id"])
            .expect("on the board");
        assert_eq!(e["status"], "done", "{e}");
        assert!(e["finished_at"].is_string(), "{e}");
    }
    // In service counts as current too: the next call finishes it.
    let caio = called[2]["id"].as_str().expect("id");
    let (status, started) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/{caio}/start", d.clinic),
            Some(&d.helena.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // Another professional's call does not end Helena's.
    call_next(&app, &d, &d.rafael, "Consultório 2").await;
    let b = board(&app, &d).await;
    assert_eq!(current(&b), vec!["Caio Nunes", "Dora Melo"], "{b:?}");
    // An empty queue refuses and changes nothing: Helena's patient stays with her.
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue/call-next", d.clinic),
            Some(&d.helena.access),
            &json!({"room": "Consultório 1"}),
        )
        .await,
        StatusCode::CONFLICT,
        "queue_empty",
    )
    .await;
    let b = board(&app, &d).await;
    assert_eq!(current(&b), vec!["Caio Nunes", "Dora Melo"], "{b:?}");
    // The finish is in the audit trail, by the caller.
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let first = called[0]["id"].as_str().expect("id");
    let finishes: Vec<_> = rows
        .iter()
        .filter(|r| r.entity_id.as_deref() == Some(first) && r.action == "queue.finish")
        .collect();
    assert_eq!(finishes.len(), 1);
    assert_eq!(
        finishes[0].actor_user_id.map(|u| u.to_string()).as_deref(),
        d.helena.me["id"].as_str()
    );
}

/// A birth date `years` (and `days` more) before the test clock's day in São Paulo.
fn born_ago(app: &TestApp, years: i32, days: i64) -> String {
    use atende::clock::Clock as _;
    use chrono::Datelike;
    let today = app
        .clock
        .now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let same_day = today.with_year(today.year() - years).unwrap_or_else(|| {
        today
            .with_day(28)
            .expect("day")
            .with_year(today.year() - years)
            .expect("year")
    });
    (same_day - chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn age_priorities_are_checked_against_the_birth_date() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    // A day that is nobody's birthday by accident: the clock is set, not read from the wall.
    app.clock.set("2026-03-10T15:00:00Z".parse().expect("time"));
    let register = |name: &str, cpf: String, birth: String| {
        let (app, d) = (&app, &d);
        let body = json!({"full_name": name, "cpf": cpf, "birth_date": birth});
        async move {
            let (status, p) = json_of(
                app.post(
                    &format!("/api/clinics/{}/patients", d.clinic),
                    Some(&d.recep.access),
                    &body,
                )
                .await,
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{p}");
            p["id"].clone()
        }
    };
    let checkin = |body: Value| {
        let (app, path, token) = (
            &app,
            format!("/api/clinics/{}/queue", d.clinic),
            d.recep.access.clone(),
        );
        async move { app.post(&path, Some(&token), &body).await }
    };
    // An 11-year-old declared 60+: refused with a stable code and a message that says why.
    let child = register(
        "Lia Campos",
        crate::agenda::cpf_for(9101),
        born_ago(&app, 11, 3),
    )
    .await;
    let refused = assert_error(
        checkin(json!({"patient_id": child, "priority": "elderly"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "priority_age_mismatch",
    )
    .await;
    assert_eq!(
        refused["message"],
        "a prioridade 60+ é para quem tem 60 anos ou mais; pela data de nascimento, a pessoa tem 11 anos"
    );
    // Nothing reached the queue.
    assert!(
        board(&app, &d)
            .await
            .iter()
            .all(|e| e["full_name"] != "Lia Campos")
    );
    // 80+ declared for someone of 79 years and 364 days: refused; on the birthday it is 80+.
    let almost = register(
        "Olga Prates",
        crate::agenda::cpf_for(9102),
        born_ago(&app, 80, -1),
    )
    .await;
    assert_error(
        checkin(json!({"patient_id": almost, "priority": "elderly_80"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "priority_age_mismatch",
    )
    .await;
    let (status, olga) =
        json_of(checkin(json!({"patient_id": almost, "priority": "elderly"})).await).await;
    assert_eq!(status, StatusCode::CREATED, "{olga}");
    assert_eq!(olga["priority"], "elderly");
    let eighty = register(
        "Ivo Teles",
        crate::agenda::cpf_for(9103),
        born_ago(&app, 80, 0),
    )
    .await;
    let (status, ivo) = json_of(checkin(json!({"patient_id": eighty})).await).await;
    assert_eq!(status, StatusCode::CREATED, "{ivo}");
    assert_eq!(
        ivo["priority"], "elderly_80",
        "age decides on the birthday itself"
    );
    // The clock decides the day: a year later Olga is 80.
    app.clock.advance(chrono::Duration::days(365));
    let olga_id = olga["id"].as_str().expect("id");
    app.post(
        &format!("/api/clinics/{}/queue/{olga_id}/leave", d.clinic),
        Some(&d.recep.access),
        &json!({}),
    )
    .await;
    let (status, again) = json_of(checkin(json!({"patient_id": almost})).await).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["priority"], "elderly_80");
    // A walk-in: 60+ needs the birth date, and it is checked the same way.
    assert_error(
        checkin(json!({"full_name": "Rui Sales", "priority": "elderly"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "birth_date_required",
    )
    .await;
    assert_error(
        checkin(json!({"full_name": "Rui Sales", "priority": "elderly", "birth_date": born_ago(&app, 40, 0)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "priority_age_mismatch",
    )
    .await;
    assert_error(
        checkin(
            json!({"full_name": "Rui Sales", "priority": "elderly", "birth_date": "31/12/1950"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_birth_date",
    )
    .await;
    let (status, rui) = json_of(
        checkin(json!({"full_name": "Rui Sales", "priority": "elderly", "birth_date": born_ago(&app, 61, 0)})).await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rui}");
    assert_eq!(rui["priority"], "elderly");
    // Pregnant, lactating, PcD and an infant in arms are by declaration, at any age.
    for (i, p) in ["pregnant", "breastfeeding", "disability", "infant"]
        .iter()
        .enumerate()
    {
        let (status, e) =
            json_of(checkin(json!({"full_name": format!("Declarada {i}"), "priority": p})).await)
                .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        assert_eq!(e["priority"], *p);
    }
}

/// The waiting room's day is the clinic's day by the application's clock (a test moves it),
/// not the wall clock: at 23:30 in São Paulo a walk-in joins that day's line; an hour later
/// the board is the next day's, empty, and tickets start again at N001.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_waiting_rooms_day_turns_at_the_clinics_midnight_by_the_apps_clock() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    // 02:30 UTC is 23:30 of the day before in São Paulo (UTC-3).
    app.clock.set("2026-03-10T02:30:00Z".parse().expect("time"));
    let late = check_in(&app, &d, json!({"full_name": "Ana Noturna"})).await;
    assert_eq!(late["ticket"], "N001", "{late}");
    let names = |entries: Vec<Value>| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| e["full_name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(names(board(&app, &d).await), vec!["Ana Noturna"]);

    app.clock.advance(chrono::Duration::hours(1));
    assert!(
        names(board(&app, &d).await).is_empty(),
        "after the clinic's midnight the board is the new day's"
    );
    let early = check_in(&app, &d, json!({"full_name": "Bruno Madrugada"})).await;
    assert_eq!(early["ticket"], "N001", "{early}");
    assert_eq!(names(board(&app, &d).await), vec!["Bruno Madrugada"]);
}
