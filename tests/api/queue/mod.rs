//! The waiting room: the desk (check-in, calls, moves), the TV panel and the patient's
//! phone, and self check-in with its link to the day's appointments.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

mod checkin;
mod desk;
mod panel;

pub struct Desk {
    pub recep: Session,
    pub helena: Session,
    pub rafael: Session,
    pub clinic: String,
}

pub async fn desk(app: &TestApp) -> Desk {
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    Desk {
        clinic: recep.clinic("receptionist"),
        recep,
        helena: app.login("dra.helena@atende.demo", PW).await,
        rafael: app.login("dr.rafael@atende.demo", PW).await,
    }
}

pub async fn check_in(app: &TestApp, d: &Desk, body: Value) -> Value {
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

pub async fn board(app: &TestApp, d: &Desk) -> Vec<Value> {
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
pub async fn todays_appointments(app: &TestApp, d: &Desk) -> Vec<Value> {
    app.todays_appointments(&d.clinic, &d.recep).await
}

pub async fn admin_of(app: &TestApp) -> Session {
    app.login("admin@aurora.demo", PW).await
}

pub async fn panel_token(app: &TestApp, d: &Desk) -> String {
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
pub async fn guest_ws(app: &TestApp, credential: Value) -> crate::ws_client::WsClient {
    let mut ws = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("connects");
    let reply = ws.request("system", "auth", credential).await;
    assert_eq!(reply["payload"]["status"], "ok", "{reply}");
    ws
}

pub async fn call_next(app: &TestApp, d: &Desk, who: &Session, room: &str) -> Value {
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
