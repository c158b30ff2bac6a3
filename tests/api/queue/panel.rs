//! The TV panel and the patient's phone: redacted snapshots, priority modes, waits.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_tv_panel_and_the_patients_phone_follow_the_queue_without_names_or_cpfs() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let token = panel_token(&app, &d).await;
    let panel_topic = format!("clinic:{}:panel", d.clinic);

    let mut tv = guest_ws(&app, json!({ "panel": token })).await;
    tv.join(&panel_topic, None).await;

    let joao_session = app.login("joao@paciente.demo", PW).await;
    let joao = check_in(&app, &d, json!({"patient_id": joao_session.first_record()})).await;
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

#[actix_web::rt::test(system = "atende::runtime::System")]
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

#[actix_web::rt::test(system = "atende::runtime::System")]
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
            priority: atende::domain::queue::Priority::None,
            priority_rank: 2,
            status: atende::domain::queue::QueueEntryStatus::Done,
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

#[actix_web::rt::test(system = "atende::runtime::System")]
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
