//! A clinic rewrites the words of its e-mails to patients: the administrators list them
//! with their variables and built-in words, preview, save (unknown variables and open braces
//! refused, naming the field), and the patients' next e-mails carry the new words with the
//! links still below them; going back restores the built-in words. Nobody else may.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::mailbox::*;
use super::wait_message;
use crate::agenda::{Agenda, agenda_fixture, book};
use crate::helpers::*;

fn texts_path(clinic: &str) -> String {
    format!("/api/clinics/{clinic}/messaging/texts")
}

/// Book João with Helena at `h`:00 tomorrow; the e-mail that says so, once sent.
async fn booked_mail(app: &TestApp, a: &Agenda, h: u32) -> Mail {
    let (status, appt) = json_of(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
                   "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(h, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let q = format!("appointment_id={}", appt["id"].as_str().expect("id"));
    let sent = wait_message(app, &a.clinic, &a.recep, &q, |m| {
        m["template"] == "appointment_booked" && m["status"] == "sent"
    })
    .await;
    // The app's own maildir: its `Message-ID`s name the outbox id at the app's host.
    let local = format!("<{}@", sent["id"].as_str().expect("id").replace('-', ""));
    let found = wait_for(&app.mail_dir(), &local, |m| {
        m.header("Message-ID")
            .is_some_and(|id| id.starts_with(&local))
    })
    .await;
    assert_eq!(found.len(), 1, "one copy of {local}");
    found.into_iter().next().expect("one")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_clinic_rewrites_its_booking_email_and_patients_get_the_new_words_with_the_links() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let path = texts_path(&a.clinic);

    // The list: every editable e-mail with its variables and built-in words, none rewritten.
    let (status, list) = json_of(app.get(&path, Some(&a.admin.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().expect("list");
    let templates: Vec<&str> = list.iter().filter_map(|t| t["template"].as_str()).collect();
    assert!(templates.contains(&"appointment_reminder") && templates.contains(&"document_ready"));
    let booked = list
        .iter()
        .find(|t| t["template"] == "appointment_booked")
        .expect("booked");
    assert!(booked["custom"].is_null());
    assert_eq!(
        booked["default"]["subject"],
        "Consulta agendada: {{data_hora}}"
    );
    let names: Vec<&str> = booked["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(
        names.contains(&"paciente") && names.contains(&"profissional"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"codigo"),
        "a document's variable offered for a booking"
    );

    // Bad words are refused, naming the field; nothing is saved.
    let booked_path = format!("{path}/appointment_booked");
    let put = |body: Value| {
        let (app, path, token) = (&app, booked_path.clone(), a.admin.access.clone());
        async move { app.put(&path, Some(&token), &body).await }
    };
    let (status, err) =
        json_of(put(json!({"subject": "Oi {{nome}}", "body": "texto"})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("unknown_variable"), Some("subject"))
    );
    let (status, err) =
        json_of(put(json!({"subject": "Oi", "body": "Olá {{paciente"})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("invalid_template"), Some("body"))
    );

    // The preview fills the variables with made-up data, as the clinic's sender, links below.
    let words = json!({
        "subject": "{{paciente}}, sua consulta está marcada",
        "body": "Olá, {{paciente}}!\n\n{{profissional}} espera você em {{data_hora}}.\n\nTraga seus exames anteriores.",
    });
    let (status, preview) = json_of(
        app.post(
            &format!("{path}/appointment_booked/preview"),
            Some(&a.admin.access),
            &words,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["subject"], "Maria, sua consulta está marcada");
    let text = preview["text"].as_str().expect("text");
    assert!(text.contains("Dra. Ana Souza espera você em"), "{text}");
    assert!(text.contains("Traga seus exames anteriores."), "{text}");
    assert!(text.contains("Confirmar presença:"), "{text}");
    assert!(text.contains("Clínica Aurora"), "the sender: {text}");
    let (_, again) = json_of(app.get(&path, Some(&a.admin.access)).await).await;
    assert!(
        again
            .as_array()
            .expect("list")
            .iter()
            .all(|t| t["custom"].is_null()),
        "a preview saved something"
    );

    // Saved: João's next booking e-mail has the clinic's words, and the links still work.
    let (status, saved) = json_of(put(words.clone()).await).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["custom"]["subject"], words["subject"]);
    let mail = booked_mail(&app, &a, 10).await;
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("João, sua consulta está marcada")
    );
    assert!(mail.text.contains("Olá, João!"), "{}", mail.text);
    assert!(
        mail.text.contains("Traga seus exames anteriores."),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("Traga seus exames anteriores."));
    assert!(mail.link("/link/confirm/").is_some(), "{}", mail.text);
    assert!(mail.link("/link/cancel/").is_some(), "{}", mail.text);

    // Back to the built-in words.
    let (status, reset) = json_of(
        app.delete(&format!("{path}/appointment_booked"), Some(&a.admin.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert!(reset["custom"].is_null());
    let mail = booked_mail(&app, &a, 11).await;
    let subject = mail.header("Subject").unwrap_or_default();
    assert!(subject.starts_with("Consulta agendada: "), "{subject}");
    assert!(mail.text.contains("Olá, João."), "{}", mail.text);
    assert!(!mail.text.contains("Traga seus exames"), "{}", mail.text);
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn only_the_clinics_administrators_see_or_change_its_words() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let path = texts_path(&a.clinic);
    let words = json!({"subject": "Oi", "body": "Olá, {{paciente}}."});
    let other_admin = app.login("admin@boavista.demo", PW).await;
    for who in [&a.recep, &a.helena, &a.joao, &other_admin] {
        let resp = app.get(&path, Some(&who.access)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = app
            .put(
                &format!("{path}/appointment_booked"),
                Some(&who.access),
                &words,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = app
            .post(
                &format!("{path}/appointment_booked/preview"),
                Some(&who.access),
                &words,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = app
            .delete(&format!("{path}/appointment_booked"), Some(&who.access))
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.get(&path, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A message that is not editable (account e-mails are the installation's).
    let resp = app
        .put(
            &format!("{path}/password_reset"),
            Some(&a.admin.access),
            &words,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
