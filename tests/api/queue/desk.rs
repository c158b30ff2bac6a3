//! The desk: check-in, priority order, calls and the moves of one entry.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
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
    // Declared 80+ (no birth date on file for a walk-in) is accepted as written.
    let declared = check_in(
        &app,
        &d,
        json!({"full_name": "Seu Lauro", "priority": "elderly_80"}),
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

#[actix_web::test]
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

#[actix_web::test]
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
