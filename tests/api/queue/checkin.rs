//! Self check-in from the reception QR code, and queue moves flowing to appointments.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
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

#[actix_web::rt::test(system = "atende::runtime::System")]
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

#[actix_web::rt::test(system = "atende::runtime::System")]
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
