//! The one-click opt-out of reminder e-mails: `List-Unsubscribe` (RFC 2369) with
//! `List-Unsubscribe-Post` (RFC 8058) and the same link in the text; a GET shows a page and
//! changes nothing, the POST records the opt-out (source `link`), and later reminders to that
//! patient no longer go by e-mail.

use reqwest::StatusCode;
use serde_json::json;

use super::mailbox::*;
use super::{messages, reminders, starts, wait_message};
use crate::agenda::{Agenda, agenda_fixture, book};
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_reminder_email_carries_a_one_click_opt_out_that_stops_later_email_reminders() {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let app = spawn_app_with(|s| smtp_settings(s, &host, port)).await;
    let a = agenda_fixture(&app).await;
    app.cancel_todays_appointments(&a.clinic, &a.recep).await;
    let rules = json!({"reminders_enabled": true, "reminder_offsets_minutes": [120],
        "quiet_start": "21:00", "quiet_end": "08:00"});
    let resp = app
        .client
        .put(app.url(&format!("/api/clinics/{}/messaging", a.clinic)))
        .bearer_auth(&a.admin.access)
        .json(&rules)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::OK);
    let joao = Agenda::patient(&a.joao);
    let book_at = |h: u32| {
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": joao,
                   "starts_at": a.at(h, 0)}),
        )
    };
    let (status, first) = json_of(book_at(10).await).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    app.clock
        .set(starts(&first) - chrono::Duration::minutes(60));
    let q = format!("appointment_id={}", first["id"].as_str().expect("id"));
    let sent = wait_message(&app, &a.clinic, &a.recep, &q, |m| {
        m["template"] == "appointment_reminder" && m["status"] == "sent"
    })
    .await;
    let mail = by_message_id(&maildir, sent["id"].as_str().expect("id")).await;
    let header = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
    let url = header
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();
    assert!(
        url.starts_with(&format!("{}/api/public/unsubscribe/", app.address)),
        "{url}"
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        mail.link("/api/public/unsubscribe/").as_deref(),
        Some(url.as_str())
    );

    // Opening the link shows a page and changes nothing (link scanners open links).
    let consents = format!(
        "/api/clinics/{}/patients/{}/consents",
        a.clinic,
        joao.as_str().expect("id")
    );
    let page = app.client.get(&url).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("method=\"post\""), "{html}");
    let (_, none) = json_of(app.get(&consents, Some(&a.recep.access)).await).await;
    assert_eq!(none, json!([]));

    // A tampered link is refused; the mail reader's one-click POST opts out.
    assert_error(
        app.client
            .post(format!("{url}x"))
            .send()
            .await
            .expect("post"),
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let done = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), StatusCode::OK);
    let (_, now) = json_of(app.get(&consents, Some(&a.recep.access)).await).await;
    assert_eq!(now[0]["channel"], "email");
    assert_eq!(now[0]["opted_in"], false);
    assert_eq!(now[0]["source"], "link");

    // A later appointment gets no reminder e-mail.
    let (status, second) = json_of(book_at(16).await).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    app.clock
        .set(starts(&second) - chrono::Duration::minutes(60));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let list = messages(
        &app,
        &a.clinic,
        &a.recep,
        &format!("appointment_id={}", second["id"].as_str().expect("id")),
    )
    .await;
    assert!(reminders(&list).is_empty(), "{list:#?}");
}
