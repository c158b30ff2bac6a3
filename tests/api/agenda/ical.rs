//! A professional's secret calendar feed.

use reqwest::StatusCode;
use serde_json::json;

use super::{Agenda, agenda_fixture, book, maria_in};
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_professional_subscribes_to_a_secret_calendar_feed_and_can_revoke_it() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    book(
        &app,
        &a.clinic,
        &a.recep,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(11, 0)}),
    )
    .await;
    let bv = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(&app, &a.boavista, &bv).await;
    book(
        &app,
        &a.boavista,
        &bv,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "patient_id": maria_bv, "starts_at": a.at(15, 0)}),
    )
    .await;
    assert_error(
        app.post("/api/me/ical", Some(&a.recep.access), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let (_, before) = json_of(app.get("/api/me/ical", Some(&a.helena.access)).await).await;
    assert_eq!(before["active"], false);
    let (status, feed) = json_of(
        app.post("/api/me/ical", Some(&a.helena.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let path = feed["path"].as_str().expect("path").to_string();
    let resp = app.get(&path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/calendar")
    );
    let ics = resp.text().await.expect("body");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert!(ics.contains(&format!("DTSTART:{}", a.at(11, 0).format("%Y%m%dT%H%M%SZ"))));
    assert!(ics.contains("LOCATION:Clínica Aurora") && ics.contains("LOCATION:Clínica Boa Vista"));
    assert!(
        ics.contains("João S.") && !ics.contains("Pereira"),
        "first name and initial only"
    );
    assert!(
        ics.lines().all(|l| l.trim_end_matches('\r').len() <= 75),
        "lines are folded"
    );
    // A new address replaces the old; revoking ends it.
    let (_, again) = json_of(
        app.post("/api/me/ical", Some(&a.helena.access), &json!({}))
            .await,
    )
    .await;
    let (_, now_on) = json_of(app.get("/api/me/ical", Some(&a.helena.access)).await).await;
    assert_eq!(now_on["active"], true);
    assert_eq!(app.get(&path, None).await.status(), StatusCode::NOT_FOUND);
    let new_path = again["path"].as_str().expect("path").to_string();
    assert_eq!(app.get(&new_path, None).await.status(), StatusCode::OK);
    let resp = app
        .client
        .delete(app.url("/api/me/ical"))
        .bearer_auth(&a.helena.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&new_path, None).await.status(),
        StatusCode::NOT_FOUND
    );
}
