//! Every change to the agenda commits with its audit row, in one transaction: a refused
//! change leaves neither the change nor an audit row behind.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Agenda, agenda_fixture, book, cpf_for};
use crate::helpers::*;

/// The audit rows of `action`, oldest first.
async fn audit_of(app: &TestApp, action: &str) -> Vec<atende::security::audit::AuditRow> {
    app.state
        .store
        .audit_page(0, 10_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == action)
        .collect()
}

/// How many patients named like `name` the clinic has registered.
async fn registered(app: &TestApp, a: &Agenda, name: &str) -> usize {
    let (status, list) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients?q={name}", a.clinic),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("list").len()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_booking_commits_with_its_audit_row_and_a_refused_one_leaves_nothing() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let helena = Agenda::id(&a.helena);
    let (status, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": helena, "patient_id": Agenda::patient(&a.joao),
                   "starts_at": a.at(10, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let rows = audit_of(&app, "appointment.booked").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entity, "appointment");
    assert_eq!(rows[0].entity_id.as_deref(), appt["id"].as_str());
    assert_eq!(
        rows[0].clinic_id.map(|c| c.to_string()).as_deref(),
        Some(a.clinic.as_str())
    );
    assert_eq!(
        rows[0].actor_user_id.map(|u| u.to_string()).as_deref(),
        a.recep.me["id"].as_str()
    );

    // A patient new to the clinic books a taken slot on its page: refused, and neither an
    // audit row nor the link to the clinic stays behind.
    let (status, paula) = app
        .sign_up(&signup_body("paula@exemplo.com.br", &cpf_for(900)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", paula.me);
    assert_error(
        book(
            &app,
            &a.clinic,
            &paula,
            json!({"professional_user_id": helena, "starts_at": a.at(10, 0)}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    assert_eq!(audit_of(&app, "appointment.booked").await.len(), 1);
    assert_eq!(registered(&app, &a, "Paula").await, 0);
    // Joining the waitlist with a bad request does not register her either.
    assert_error(
        app.post(
            &format!("/api/clinics/{}/waitlist", a.clinic),
            Some(&paula.access),
            &json!({"professional_user_id": helena, "date_from": a.day, "date_to": a.day,
                    "time_from": "12:00", "time_to": "09:00"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_waitlist",
    )
    .await;
    assert_eq!(registered(&app, &a, "Paula").await, 0);

    // A free slot: booked, registered and audited together.
    let (status, mine) = json_of(
        book(
            &app,
            &a.clinic,
            &paula,
            json!({"professional_user_id": helena, "starts_at": a.at(11, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert!(mine.get("links").is_none(), "links are for the reception");
    assert_eq!(registered(&app, &a, "Paula").await, 1);
    let rows = audit_of(&app, "appointment.booked").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].entity_id.as_deref(), mine["id"].as_str());
    assert_eq!(
        rows[1].actor_user_id.map(|u| u.to_string()).as_deref(),
        paula.me["id"].as_str()
    );
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn moves_cancellations_statuses_links_and_schedules_are_audited_only_when_they_happen() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    // The fixture set three schedules.
    assert_eq!(audit_of(&app, "agenda.schedule_changed").await.len(), 3);
    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
                   "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(9, 0)}),
        )
        .await,
    )
    .await;
    let id = appt["id"].as_str().expect("id").to_string();
    let path = |action: &str| format!("/api/clinics/{}/appointments/{id}/{action}", a.clinic);
    let post = |action: &str, body: Value| {
        let (app, url, token) = (&app, path(action), a.recep.access.clone());
        async move { app.post(&url, Some(&token), &body).await }
    };

    let resp = post("reschedule", json!({"starts_at": a.at(9, 30)})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_error(
        post("status", json!({"status": "done"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(
        audit_of(&app, "appointment.status_changed")
            .await
            .is_empty()
    );
    let resp = post("status", json!({"status": "confirmed"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let changed = audit_of(&app, "appointment.status_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].entity_id.as_deref(), Some(id.as_str()));
    let moved = audit_of(&app, "appointment.rescheduled").await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].entity_id.as_deref(), Some(id.as_str()));

    // The patient's cancel link: the cancellation, the link's use and the audit row
    // commit together; a second use changes nothing and records nothing.
    let token = appt["links"]["cancel_path"]
        .as_str()
        .expect("cancel link")
        .trim_start_matches("/#/link/cancel/")
        .to_string();
    let used = app
        .post(
            "/api/public/links/use",
            None,
            &json!({"action": "cancel", "token": token}),
        )
        .await;
    assert_eq!(used.status(), StatusCode::OK);
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "cancel", "token": token}),
        )
        .await,
        StatusCode::CONFLICT,
        "link_used",
    )
    .await;
    let rows = audit_of(&app, "appointment.link_used").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entity_id.as_deref(), Some(id.as_str()));
    assert!(rows[0].details.contains("cancel"), "{}", rows[0].details);
    // Cancelled already: the reception's cancel is refused and not audited.
    assert_error(
        post("cancel", json!({"reason": "Viagem"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(audit_of(&app, "appointment.cancelled").await.is_empty());
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}
