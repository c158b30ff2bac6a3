//! One-click links in the outbox's messages: confirm and cancel, once, signed, expiring.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Agenda, agenda_fixture, book, slots};
use crate::helpers::*;

/// The outbox messages waiting for a patient, decrypted: (template, payload).
pub async fn outbox_of(app: &TestApp, patient: &Value) -> Vec<(String, Value)> {
    let id: atende::domain::PatientId = serde_json::from_value(patient.clone()).expect("id");
    app.state
        .store
        .outbox_for_patient(id)
        .await
        .expect("outbox")
        .into_iter()
        .map(|(t, enc)| {
            let plain = app.state.cipher.decrypt(&enc).expect("decrypt");
            (t, serde_json::from_str(&plain).expect("json"))
        })
        .collect()
}

pub fn token_of(path: &Value) -> (String, String) {
    // "/#/link/<action>/<token>"
    let p = path.as_str().expect("path");
    let mut parts = p.trim_start_matches("/#/link/").splitn(2, '/');
    (
        parts.next().expect("action").to_string(),
        parts.next().expect("token").to_string(),
    )
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn one_click_links_confirm_and_cancel_once_and_the_desk_sees_it_live() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let mut desk = app.ws(&a.recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;
    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(8, 30)}),
        )
        .await,
    )
    .await;
    desk.push("agenda.updated").await;
    // The booking put a message with both links in the outbox, for delivery later.
    let msgs = outbox_of(&app, &Agenda::patient(&a.joao)).await;
    let (template, payload) = msgs.last().expect("a message");
    assert_eq!(template, "appointment_booked");
    assert_eq!(payload["appointment_id"], appt["id"]);
    assert_eq!(
        payload["links"], appt["links"],
        "the reception sees the same links"
    );
    let (action, token) = token_of(&payload["links"]["confirm_path"]);
    assert_eq!(action, "confirm");

    let (status, pre) = json_of(
        app.post(
            "/api/public/links/preview",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pre}");
    assert_eq!(pre["used"], false);
    assert_eq!(pre["appointment"]["clinic_name"], "Clínica Aurora");
    assert_eq!(pre["appointment"]["patient_name"], "João S.");
    // Tampering: the same token for the other action, a changed character.
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "cancel", "token": token}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let mut forged = token.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": String::from_utf8(forged).expect("utf8")}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    let (status, used) = json_of(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{used}");
    assert_eq!(used["appointment"]["status"], "confirmed");
    let live = desk.push("agenda.updated").await;
    assert_eq!(live["payload"]["appointment"]["status"], "confirmed");
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
        StatusCode::CONFLICT,
        "link_used",
    )
    .await;
    let (_, pre) = json_of(
        app.post(
            "/api/public/links/preview",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(pre["used"], true);

    // The cancel link still works (once), and frees the slot.
    let (_, cancel) = token_of(&payload["links"]["cancel_path"]);
    let (status, c) = json_of(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "cancel", "token": cancel}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["appointment"]["status"], "cancelled");
    assert!(slots(&app, &a, &a.helena).await.contains(&a.at(8, 30)));
    let msgs = outbox_of(&app, &Agenda::patient(&a.joao)).await;
    assert_eq!(msgs.last().expect("message").0, "appointment_cancelled");

    // An appointment that already started: its links have expired.
    let yesterday = a.at(9, 0) - Duration::days(2);
    let (_, past) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": yesterday, "fit_in": true}),
        )
        .await,
    )
    .await;
    let (_, old) = token_of(&past["links"]["confirm_path"]);
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": old}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "link_expired",
    )
    .await;
}
