//! A one-time link to the contact on file (#16, "identity by proof"): the clinic's staff send
//! the e-mail its record holds a link; whoever opens it logged in proves control of that
//! mailbox and their account is linked to the record. Once, within 72 hours of the app's
//! clock, and never by guessing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::identity::{Known, cpf, known_person, sign_up};

const CONTACT: &str = "livia.contato@exemplo.com.br";

/// A record of Aurora with `email` on file; its id.
async fn record_with_email(app: &TestApp, k: &Known, base: u32, email: &str) -> String {
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{}/patients", k.clinic),
            Some(&k.recep.access),
            &json!({"full_name": "Lívia Contato Prado", "cpf": cpf(base),
                    "birth_date": "1990-02-02", "email": email}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn send(app: &TestApp, staff: &Session, clinic: &str, record: &str) -> reqwest::Response {
    app.post(
        &format!("/api/clinics/{clinic}/patients/{record}/links/email"),
        Some(&staff.access),
        &json!({}),
    )
    .await
}

async fn accept(app: &TestApp, who: &Session, token: &str) -> reqwest::Response {
    app.post(
        "/api/me/links/accept",
        Some(&who.access),
        &json!({ "token": token }),
    )
    .await
}

/// The token of the `n`-th link e-mailed to `to` (counting from 1), once it arrives.
async fn link_token(app: &TestApp, to: &str, n: usize) -> String {
    let dir = app.mail_dir();
    for _ in 0..200 {
        let mut mails = crate::mail::mailbox::matching(&dir, &|m| {
            m.header("To").is_some_and(|t| t.contains(to))
                && m.header("Subject").as_deref()
                    == Some("Acesse seu cadastro na Clínica Aurora pelo atende")
        });
        if mails.len() >= n {
            mails.sort_by_key(|m| m.header("Message-ID").unwrap_or_default());
            let link = mails[n - 1].link("/#/vincular/").expect("a link");
            assert!(
                mails[n - 1].text.contains("72 horas"),
                "{}",
                mails[n - 1].text
            );
            return link.rsplit('/').next().expect("token").to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no link e-mailed to {to} in {}", dir.display());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_link_sent_to_the_email_on_file_links_whoever_opens_it_once() {
    let app = spawn_app().await;
    let k = known_person(&app, 202_612_071, "1990-02-02").await;
    let record = record_with_email(&app, &k, 202_612_072, CONTACT).await;

    // No e-mail on file, another clinic, a patient: no link.
    assert_error(
        send(&app, &k.recep, &k.clinic, &k.record).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_email_on_file",
    )
    .await;
    let bv = app.login("recepcao@boavista.demo", PW).await;
    let boavista = bv.clinic("receptionist");
    assert_error(
        send(&app, &bv, &boavista, &record).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let patient = sign_up(
        &app,
        "livia.conta@exemplo.com.br",
        &cpf(202_612_073),
        "1990-02-02",
    )
    .await;
    assert_error(
        send(&app, &patient, &k.clinic, &record).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let (status, sent) = json_of(send(&app, &k.recep, &k.clinic, &record).await).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let shown = sent["sent_to"].as_str().expect("sent_to");
    assert_eq!(shown, "li•••@exemplo.com.br");
    let token = link_token(&app, CONTACT, 1).await;
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    let (_, links) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients/{record}/links", k.clinic),
            Some(&k.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(links[0]["state"], "pending", "{links}");
    assert_eq!(links[0]["method"], "contact_link", "{links}");

    // A wrong token links nothing.
    assert_error(
        accept(&app, &patient, &format!("{token}x")).await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    // The account that opens it (whatever its own e-mail or CPF) is linked, once.
    let (status, linked) = json_of(accept(&app, &patient, &token).await).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["patient_id"], record.as_str());
    assert_eq!(linked["method"], "contact_link");
    let patient = app
        .login("livia.conta@exemplo.com.br", "uma senha boa")
        .await;
    assert_eq!(patient.record_at(&k.clinic), record);
    let other = sign_up(
        &app,
        "outra.pessoa@exemplo.com.br",
        &cpf(202_612_074),
        "1991-03-03",
    )
    .await;
    assert_error(
        accept(&app, &other, &token).await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    let other = app
        .login("outra.pessoa@exemplo.com.br", "uma senha boa")
        .await;
    assert_eq!(other.me["linked_records"], json!([]));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_link_expires_after_72_hours_and_two_openings_at_once_link_one_account() {
    let app = spawn_app().await;
    let k = known_person(&app, 202_612_081, "1990-02-02").await;
    let record = record_with_email(&app, &k, 202_612_082, CONTACT).await;
    sign_up(
        &app,
        "conta.a@exemplo.com.br",
        &cpf(202_612_083),
        "1990-02-02",
    )
    .await;
    sign_up(
        &app,
        "conta.b@exemplo.com.br",
        &cpf(202_612_084),
        "1990-02-02",
    )
    .await;

    let (status, _) = json_of(send(&app, &k.recep, &k.clinic, &record).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let old = link_token(&app, CONTACT, 1).await;
    app.clock.advance(chrono::Duration::hours(73));
    let a = app.login("conta.a@exemplo.com.br", "uma senha boa").await;
    let b = app.login("conta.b@exemplo.com.br", "uma senha boa").await;
    assert_error(
        accept(&app, &a, &old).await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;

    let (status, _) = json_of(send(&app, &k.recep, &k.clinic, &record).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = link_token(&app, CONTACT, 2).await;
    let (ra, rb) = tokio::join!(accept(&app, &a, &token), accept(&app, &b, &token));
    let mut statuses = vec![ra.status(), rb.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::BAD_REQUEST]);
    let (_, links) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients/{record}/links", k.clinic),
            Some(&k.recep.access),
        )
        .await,
    )
    .await;
    let linked: Vec<&Value> = links
        .as_array()
        .expect("links")
        .iter()
        .filter(|l| l["state"] == "linked")
        .collect();
    assert_eq!(linked.len(), 1, "{links}");
}
