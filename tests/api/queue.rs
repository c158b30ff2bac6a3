use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

struct Desk {
    recep: Session,
    helena: Session,
    rafael: Session,
    clinic: String,
}

async fn desk(app: &TestApp) -> Desk {
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    Desk {
        clinic: recep.clinic("receptionist"),
        recep,
        helena: app.login("dra.helena@atende.demo", PW).await,
        rafael: app.login("dr.rafael@atende.demo", PW).await,
    }
}

async fn check_in(app: &TestApp, d: &Desk, body: Value) -> Value {
    let (status, entry) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue", d.clinic),
            Some(&d.recep.access),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    entry
}

async fn board(app: &TestApp, d: &Desk) -> Vec<Value> {
    let (status, list) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue", d.clinic),
            Some(&d.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("array").clone()
}

/// The clinic's appointments of today (São Paulo), as the desk lists them.
async fn todays_appointments(app: &TestApp, d: &Desk) -> Vec<Value> {
    app.todays_appointments(&d.clinic, &d.recep).await
}

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
    let joao_id = app.login("joao@paciente.demo", PW).await.me["patient"]["id"].clone();
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

async fn admin_of(app: &TestApp) -> Session {
    app.login("admin@aurora.demo", PW).await
}

async fn panel_token(app: &TestApp, d: &Desk) -> String {
    let admin = admin_of(app).await;
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/panel-token", d.clinic),
            Some(&admin.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["path"].as_str().expect("path"),
        format!("/#/painel/{}", body["token"].as_str().expect("token"))
    );
    body["token"].as_str().expect("token").to_string()
}

/// A WebSocket authenticated with a guest credential (`panel` or `tracker`).
async fn guest_ws(app: &TestApp, credential: Value) -> crate::ws_client::WsClient {
    let mut ws = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("connects");
    let reply = ws.request("system", "auth", credential).await;
    assert_eq!(reply["payload"]["status"], "ok", "{reply}");
    ws
}

async fn call_next(app: &TestApp, d: &Desk, who: &Session, room: &str) -> Value {
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/call-next", d.clinic),
            Some(&who.access),
            &json!({ "room": room }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[actix_web::test]
async fn the_tv_panel_and_the_patients_phone_follow_the_queue_without_names_or_cpfs() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let token = panel_token(&app, &d).await;
    let panel_topic = format!("clinic:{}:panel", d.clinic);

    let mut tv = guest_ws(&app, json!({ "panel": token })).await;
    tv.join(&panel_topic, None).await;

    let joao_session = app.login("joao@paciente.demo", PW).await;
    let joao = check_in(
        &app,
        &d,
        json!({"patient_id": joao_session.me["patient"]["id"]}),
    )
    .await;
    let tracker = joao["tracker"].as_str().expect("tracker").to_string();
    assert_eq!(joao["tracker_path"], format!("/#/fila/{tracker}"));
    let snap = tv.push("panel.updated").await["payload"].clone();
    assert_eq!(snap["waiting"][0]["ticket"], joao["ticket"]);
    assert_eq!(snap["waiting"][0]["eta_minutes"], 0);

    let mut phone = guest_ws(&app, json!({ "tracker": tracker })).await;
    phone.join(&panel_topic, None).await;
    let walk_in = check_in(&app, &d, json!({"full_name": "Ana Beatriz Lima"})).await;
    for ws in [&mut tv, &mut phone] {
        let snap = ws.push("panel.updated").await["payload"].clone();
        let tickets: Vec<&Value> = snap["waiting"]
            .as_array()
            .expect("waiting")
            .iter()
            .map(|w| &w["ticket"])
            .collect();
        assert_eq!(
            tickets,
            vec![&joao["ticket"], &walk_in["ticket"]],
            "60+ first"
        );
        assert_eq!(
            snap["waiting"][1]["eta_minutes"], 15,
            "one ahead at the default 15 min"
        );
    }

    call_next(&app, &d, &d.helena, "Consultório 1").await;
    let snap = tv.push("panel.updated").await["payload"].clone();
    assert_eq!(snap["calls"][0]["ticket"], joao["ticket"]);
    assert_eq!(snap["calls"][0]["name"], "João S.");
    assert_eq!(snap["calls"][0]["room"], "Consultório 1");
    let text = snap.to_string();
    for secret in [
        "Pereira",
        "Silva",
        "52998224725",
        "529.982.247-25",
        "patient_id",
        "full_name",
    ] {
        assert!(!text.contains(secret), "panel leaks {secret}: {text}");
    }
    // The phone page sees its own status over HTTP.
    let (status, mine) = json_of(
        app.post(
            "/api/public/queue/track",
            None,
            &json!({ "tracker": tracker }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["entry"]["status"], "called");
    assert_eq!(mine["entry"]["room"], "Consultório 1");
    assert_eq!(mine["entry"]["name"], "João S.");
    assert!(!mine.to_string().contains("Pereira"));

    // Guests join nothing else and say nothing.
    let err = tv
        .request(&format!("clinic:{}:queue", d.clinic), "join", json!({}))
        .await;
    assert_eq!(err["payload"]["code"], "forbidden", "{err}");
    let err = tv
        .request(
            &format!("clinic:{}:panel", uuid::Uuid::now_v7()),
            "join",
            json!({}),
        )
        .await;
    assert_eq!(err["payload"]["code"], "forbidden", "{err}");
    let said = phone.request(&panel_topic, "typing", json!({})).await;
    assert_eq!(said["payload"]["code"], "forbidden", "{said}");

    // Logged in: staff and a patient in today's queue may watch; another patient may not.
    let mut joao_ws = app.ws(&joao_session).await;
    joao_ws.join(&panel_topic, None).await;
    let maria = app.login("maria@paciente.demo", PW).await;
    let mut maria_ws = app.ws(&maria).await;
    let err = maria_ws.request(&panel_topic, "join", json!({})).await;
    assert_eq!(err["payload"]["code"], "forbidden", "{err}");

    // Bad and replaced credentials.
    let mut bad = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("connects");
    let r = bad
        .request("system", "auth", json!({"tracker": format!("{tracker}x")}))
        .await;
    assert_eq!(r["payload"]["code"], "invalid_token", "{r}");
    assert_error(
        app.post(
            "/api/public/queue/track",
            None,
            &json!({"tracker": "nope.nope"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let newer = panel_token(&app, &d).await;
    assert_error(
        app.post("/api/public/panel", None, &json!({ "token": token }))
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let (status, p) = json_of(
        app.post("/api/public/panel", None, &json!({ "token": newer }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["clinic_name"], "Clínica Aurora");
    assert_eq!(p["snapshot"]["calls"][0]["name"], "João S.");
    // The TV still showing the old link is disconnected at once, and cannot come back.
    assert_eq!(
        tv.ended(std::time::Duration::from_secs(5)).await,
        crate::ws_client::Ended::Closed(Some(1008))
    );
    let mut again = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("ws");
    let r = again
        .request("system", "auth", json!({ "panel": token }))
        .await;
    assert_eq!(r["payload"]["code"], "invalid_token", "{r}");

    // Only a clinic administrator makes panel secrets.
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue/panel-token", d.clinic),
            Some(&d.recep.access),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn patients_check_themselves_in_with_the_reception_qr_code() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let (status, link) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue/checkin-link", d.clinic),
            Some(&d.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let code = link["code"].as_str().expect("code").to_string();
    assert!(
        link["url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("/#/checkin/{code}"))
    );
    assert!(link["qr_svg"].as_str().expect("svg").starts_with("<svg"));
    // Asking again shows the same code (it is printed at reception).
    let (_, again) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue/checkin-link", d.clinic),
            Some(&d.helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(again["code"], code.as_str());

    let (status, c) = json_of(
        app.post("/api/public/checkin/clinic", None, &json!({ "code": code }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["clinic_name"], "Clínica Aurora");
    assert_error(
        app.post(
            "/api/public/checkin/clinic",
            None,
            &json!({"code": "wrong"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let appr = &app;
    let checkin = |body: Value| async move { appr.post("/api/public/checkin", None, &body).await };
    assert_error(
        checkin(json!({"code": code, "cpf": "111.444.777-35", "birth_date": "1991-08-03"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_not_found",
    )
    .await;
    assert_error(
        checkin(json!({"code": code, "cpf": "123", "birth_date": "1991-08-02"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_cpf",
    )
    .await;
    let (status, first) = json_of(
        checkin(json!({"code": code, "cpf": "111.444.777-35", "birth_date": "1991-08-02"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["ticket"], "N001");
    // Scanning twice gives back the same ticket, not a second place in line.
    let (status, second) = json_of(
        checkin(json!({"code": code, "cpf": "11144477735", "birth_date": "1991-08-02"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["ticket"], "N001");
    let (_, mine) = json_of(
        app.post(
            "/api/public/queue/track",
            None,
            &json!({"tracker": second["tracker"]}),
        )
        .await,
    )
    .await;
    assert_eq!(mine["entry"]["ticket"], "N001");
    assert_eq!(
        mine["entry"]["name"], "Maria",
        "social name, first name only"
    );
    // The reception sees her arrive; a second check-in at the desk is refused.
    let b = board(&app, &d).await;
    assert_eq!(b.len(), 1);
    let maria_id = b[0]["patient_id"].clone();
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue", d.clinic),
            Some(&d.recep.access),
            &json!({"patient_id": maria_id}),
        )
        .await,
        StatusCode::CONFLICT,
        "already_in_queue",
    )
    .await;

    // A login that is no longer valid is refused, not mistaken for a CPF check-in.
    assert_error(
        app.post(
            "/api/public/checkin",
            Some("not-a-token"),
            &json!({ "code": code }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    // A logged-in patient needs no CPF.
    let joao = app.login("joao@paciente.demo", PW).await;
    let (status, j) = json_of(
        app.post(
            "/api/public/checkin",
            Some(&joao.access),
            &json!({ "code": code }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{j}");
    assert_eq!(j["ticket"], "P001", "60+ gets priority");

    // Rotating the code retires the printed one.
    let admin = admin_of(&app).await;
    let (_, rotated) = json_of(
        app.post(
            &format!("/api/clinics/{}/queue/checkin-link", d.clinic),
            Some(&admin.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_ne!(rotated["code"], code.as_str());
    assert_error(
        checkin(json!({"code": code, "cpf": "111.444.777-35", "birth_date": "1991-08-02"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[actix_web::test]
async fn a_clinic_can_alternate_priority_and_regular_tickets() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let admin = admin_of(&app).await;
    let settings = format!("/api/clinics/{}/queue/settings", d.clinic);
    let (_, s) = json_of(app.get(&settings, Some(&d.recep.access)).await).await;
    assert_eq!(s["priority_mode"], "strict");
    assert_error(
        app.client.put(app.url(&settings)).bearer_auth(&d.recep.access)
            .json(&json!({"priority_mode": "alternate", "priority_run": 1, "default_service_minutes": 10}))
            .send().await.expect("put"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for (body, code) in [
        (
            json!({"priority_mode": "random", "priority_run": 1, "default_service_minutes": 10}),
            "invalid_priority_mode",
        ),
        (
            json!({"priority_mode": "alternate", "priority_run": 0, "default_service_minutes": 10}),
            "invalid_priority_run",
        ),
        (
            json!({"priority_mode": "alternate", "priority_run": 1, "default_service_minutes": 0}),
            "invalid_service_minutes",
        ),
    ] {
        assert_error(
            app.client
                .put(app.url(&settings))
                .bearer_auth(&admin.access)
                .json(&body)
                .send()
                .await
                .expect("put"),
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
    let resp = app.client.put(app.url(&settings)).bearer_auth(&admin.access)
        .json(&json!({"priority_mode": "alternate", "priority_run": 1, "default_service_minutes": 10}))
        .send().await.expect("put");
    assert_eq!(resp.status(), StatusCode::OK);

    check_in(
        &app,
        &d,
        json!({"full_name": "Pri Um", "priority": "pregnant"}),
    )
    .await;
    check_in(
        &app,
        &d,
        json!({"full_name": "Pri Dois", "priority": "disability"}),
    )
    .await;
    check_in(&app, &d, json!({"full_name": "Reg Um"})).await;
    check_in(&app, &d, json!({"full_name": "Reg Dois"})).await;
    // The panel predicts the alternating order, with waits at the clinic's 10 minutes.
    let (_, snap) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue/panel", d.clinic),
            Some(&d.recep.access),
        )
        .await,
    )
    .await;
    let predicted: Vec<&str> = snap["waiting"]
        .as_array()
        .expect("w")
        .iter()
        .map(|w| w["ticket"].as_str().expect("t"))
        .collect();
    assert_eq!(predicted, vec!["P001", "N001", "P002", "N002"]);
    let etas: Vec<i64> = snap["waiting"]
        .as_array()
        .expect("w")
        .iter()
        .map(|w| w["eta_minutes"].as_i64().expect("eta"))
        .collect();
    assert_eq!(etas, vec![0, 10, 20, 30]);
    let mut called = Vec::new();
    for _ in 0..4 {
        called.push(
            call_next(&app, &d, &d.helena, "1").await["ticket"]
                .as_str()
                .expect("t")
                .to_string(),
        );
    }
    assert_eq!(called, vec!["P001", "N001", "P002", "N002"]);
}

#[actix_web::test]
async fn estimated_waits_follow_each_professionals_recent_service_times() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let helena_id: atende::domain::UserId =
        serde_json::from_value(d.helena.me["id"].clone()).expect("id");
    let clinic: atende::domain::ClinicId = d
        .clinic
        .parse::<uuid::Uuid>()
        .map(atende::domain::ClinicId)
        .expect("id");
    // Helena's last services took 30 minutes each (history written as the queue would).
    let store = &app.state.store;
    let now = atende::store::now();
    let mut tx = store.begin().await.expect("tx");
    for i in 0..3 {
        let start = now - chrono::Duration::minutes(40 * (i + 1));
        let e = atende::store::queue::QueueEntryRow {
            id: uuid::Uuid::now_v7(),
            clinic_id: clinic,
            service_date: now.date_naive() - chrono::Duration::days(1),
            ticket: format!("H{i:03}"),
            patient_id: None,
            full_name: "Histórico".into(),
            professional_user_id: Some(helena_id),
            priority: "none".into(),
            priority_rank: 2,
            status: "done".into(),
            room: None,
            checked_in_at: start,
            called_at: Some(start),
            called_by: None,
            service_started_at: Some(start),
            finished_at: Some(start + chrono::Duration::minutes(30)),
            recalls: 0,
            appointment_id: None,
            appointment_at: None,
        };
        store.insert_queue_entry(&mut tx, &e).await.expect("insert");
        store.update_queue_entry(&mut tx, &e).await.expect("update");
    }
    tx.commit().await.expect("commit");

    let helena = d.helena.me["id"].clone();
    let rafael = d.rafael.me["id"].clone();
    check_in(
        &app,
        &d,
        json!({"full_name": "Um Helena", "professional_user_id": helena}),
    )
    .await;
    check_in(
        &app,
        &d,
        json!({"full_name": "Dois Helena", "professional_user_id": helena}),
    )
    .await;
    check_in(
        &app,
        &d,
        json!({"full_name": "Tres Rafael", "professional_user_id": rafael}),
    )
    .await;
    check_in(
        &app,
        &d,
        json!({"full_name": "Quatro Helena", "professional_user_id": helena}),
    )
    .await;
    let (_, snap) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue/panel", d.clinic),
            Some(&d.recep.access),
        )
        .await,
    )
    .await;
    let etas: Vec<i64> = snap["waiting"]
        .as_array()
        .expect("w")
        .iter()
        .map(|w| w["eta_minutes"].as_i64().expect("eta"))
        .collect();
    // Helena's patients wait 30 min per Helena patient ahead; Rafael has no history: the
    // clinic default (15) and nobody of his ahead.
    assert_eq!(etas, vec![0, 30, 0, 60]);
}

#[actix_web::test]
async fn queue_moves_feed_the_linked_appointments_status() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    // The demo books João (14:00) and Maria (14:30) with Dra. Helena today.
    let list = todays_appointments(&app, &d).await;
    let find = |name: &str| {
        list.iter()
            .find(|a| {
                a["patient_name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(name))
            })
            .cloned()
            .expect("demo appointment")
    };
    let (joao, maria) = (find("João"), find("Maria"));
    let status_of = |id: Value| {
        let (app, d) = (&app, &d);
        async move {
            todays_appointments(app, d)
                .await
                .into_iter()
                .find(|a| a["id"] == id)
                .expect("there")["status"]
                .as_str()
                .expect("status")
                .to_string()
        }
    };
    let mut agenda_ws = app.ws(&d.recep).await;
    agenda_ws
        .join(&format!("clinic:{}:agenda", d.clinic), None)
        .await;

    // Reception checks João in (by his record): today's appointment is found and linked,
    // so patient and doctor come from it.
    let entry = check_in(&app, &d, json!({"patient_id": joao["patient_id"]})).await;
    assert_eq!(entry["appointment_id"], joao["id"]);
    assert_eq!(entry["professional_user_id"], d.helena.me["id"]);
    assert_eq!(entry["full_name"], "João Pereira da Silva");
    let pushed = agenda_ws.push("agenda.updated").await;
    assert_eq!(pushed["payload"]["appointment"]["status"], "checked_in");
    assert_eq!(status_of(joao["id"].clone()).await, "checked_in");
    // The same appointment cannot be checked in twice.
    assert_error(
        app.post(
            &format!("/api/clinics/{}/queue", d.clinic),
            Some(&d.recep.access),
            &json!({"appointment_id": joao["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_appointment",
    )
    .await;

    let called = call_next(&app, &d, &d.helena, "Consultório 1").await;
    assert_eq!(called["id"], entry["id"]);
    let act = |action: &str| {
        format!(
            "/api/clinics/{}/queue/{}/{action}",
            d.clinic,
            entry["id"].as_str().expect("id")
        )
    };
    app.post(&act("start"), Some(&d.helena.access), &json!({}))
        .await;
    assert_eq!(status_of(joao["id"].clone()).await, "in_progress");
    app.post(&act("finish"), Some(&d.helena.access), &json!({}))
        .await;
    assert_eq!(status_of(joao["id"].clone()).await, "done");

    // Maria checks herself in with the QR code: her appointment is found and linked.
    let (_, link) = json_of(
        app.get(
            &format!("/api/clinics/{}/queue/checkin-link", d.clinic),
            Some(&d.recep.access),
        )
        .await,
    )
    .await;
    let (status, mine) = json_of(
        app.post(
            "/api/public/checkin",
            None,
            &json!({"code": link["code"], "cpf": "111.444.777-35", "birth_date": "1991-08-02"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!(status_of(maria["id"].clone()).await, "checked_in");
    let b = board(&app, &d).await;
    let hers = b
        .iter()
        .find(|e| e["ticket"] == mine["ticket"])
        .expect("on the board");
    assert_eq!(hers["appointment_id"], maria["id"]);
    app.post(
        &format!(
            "/api/clinics/{}/queue/{}/no-show",
            d.clinic,
            hers["id"].as_str().expect("id")
        ),
        Some(&d.recep.access),
        &json!({}),
    )
    .await;
    assert_eq!(status_of(maria["id"].clone()).await, "no_show");
}

#[actix_web::test]
async fn a_panel_stays_connected_past_the_authentication_timeout() {
    let app = spawn_app_with(|s| s.realtime.auth_timeout_secs = 1).await;
    let d = desk(&app).await;
    let token = panel_token(&app, &d).await;
    let mut tv = guest_ws(&app, json!({ "panel": token })).await;
    tv.join(&format!("clinic:{}:panel", d.clinic), None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    check_in(&app, &d, json!({"full_name": "Depois do Prazo"})).await;
    let snap = tv.push("panel.updated").await;
    assert_eq!(snap["payload"]["waiting"][0]["ticket"], "N001");
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

#[actix_web::test]
async fn checking_in_from_the_agenda_puts_the_patient_in_the_queue() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let list = todays_appointments(&app, &d).await;
    let joao = list
        .iter()
        .find(|a| a["patient_name"] == "João Pereira da Silva")
        .cloned()
        .expect("demo");
    let (status, a) = json_of(
        app.post(
            &format!(
                "/api/clinics/{}/appointments/{}/status",
                d.clinic,
                joao["id"].as_str().expect("id")
            ),
            Some(&d.recep.access),
            &json!({"status": "checked_in"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "checked_in");
    let b = board(&app, &d).await;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["appointment_id"], joao["id"]);
    assert_eq!(b[0]["status"], "waiting");
}
