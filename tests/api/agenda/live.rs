//! The reception's agenda, the patient and the public booking pages see changes live.

use reqwest::StatusCode;
use serde_json::json;

use super::{Agenda, agenda_fixture, book, maria_in};
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_agenda_and_public_booking_pages_update_live() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let mut desk = app.ws(&a.recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;
    let mut page = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("ws");
    let r = page
        .request("system", "auth", json!({"anonymous": true}))
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    page.join(&format!("clinic:{}:slots", a.clinic), None).await;
    // Anonymous visitors see nothing else.
    let err = page
        .request(&format!("clinic:{}:agenda", a.clinic), "join", json!({}))
        .await;
    assert_eq!(err["payload"]["code"], "forbidden", "{err}");
    let mut joao_ws = app.ws(&a.joao).await;
    joao_ws
        .join(
            &format!("user:{}", a.joao.me["id"].as_str().expect("id")),
            None,
        )
        .await;

    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(15, 0)}),
        )
        .await,
    )
    .await;
    let pushed = desk.push("agenda.updated").await;
    assert_eq!(pushed["payload"]["appointment"]["id"], appt["id"]);
    assert_eq!(
        pushed["payload"]["appointment"]["patient_name"],
        "João Pereira da Silva"
    );
    let changed = page.push("slots.changed").await;
    assert_eq!(
        changed["payload"]["professional_user_id"],
        Agenda::id(&a.helena)
    );
    assert_eq!(changed["payload"]["dates"][0], a.day.to_string());
    assert!(
        !changed.to_string().contains("João"),
        "public pushes carry no names"
    );
    let mine = joao_ws.push("appointment.updated").await;
    assert_eq!(mine["payload"]["appointment"]["status"], "scheduled");
    assert_eq!(appt["clinic_name"], "Clínica Aurora");
    assert_eq!(appt["time_zone"], "America/Sao_Paulo");
    // Helena booked in her other clinic: Aurora's booking pages learn that her time changed.
    let bv = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(&app, &a.boavista, &bv).await;
    let resp = book(
        &app,
        &a.boavista,
        &bv,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "patient_id": maria_bv, "starts_at": a.at(16, 0)}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let elsewhere = page.push("slots.changed").await;
    assert_eq!(
        elsewhere["payload"]["professional_user_id"],
        Agenda::id(&a.helena)
    );
    // A confirmation shows up on the desk.
    app.post(
        &format!(
            "/api/clinics/{}/appointments/{}/status",
            a.clinic,
            appt["id"].as_str().expect("id")
        ),
        Some(&a.helena.access),
        &json!({"status": "confirmed"}),
    )
    .await;
    let pushed = desk.push("agenda.updated").await;
    assert_eq!(pushed["payload"]["appointment"]["status"], "confirmed");
}
