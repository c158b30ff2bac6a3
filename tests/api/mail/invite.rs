//! A clinic's invitation by real e-mail: the admin adds a receptionist with no password,
//! the invitation arrives from the clinic with a one-time link, the person creates their
//! password there and logs in; the link works once.

use reqwest::StatusCode;
use serde_json::json;

use super::mailbox::*;
use crate::clinics::invite_receptionist;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_invitation_arrives_by_email_and_its_link_creates_the_password_once() {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let app = spawn_app_with(|s| smtp_settings(s, &host, port)).await;
    app.seed_demo().await;
    let admin = app.login("admin@aurora.demo", PW).await;
    let clinic = admin.clinic("clinic_admin");
    let email = format!("convite-{}@example.test", uuid::Uuid::new_v4().simple());
    invite_receptionist(&app, &admin, &clinic, &email).await;

    let to = email.clone();
    let mut mails = Vec::new();
    for _ in 0..200 {
        mails = matching(&maildir, &|m| {
            m.header("To").as_deref() == Some(to.as_str())
        });
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(mails.len(), 1, "one invitation to {email}");
    let mail = &mails[0];
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Convite para a equipe da Clínica Aurora no atende")
    );
    assert!(mail.text.contains("Olá, Renata."), "{}", mail.text);
    assert!(mail.text.contains("(recepção)"), "{}", mail.text);
    assert!(mail.text.contains("7 dias"), "{}", mail.text);
    let link = mail.link("/#/convite/").expect("invitation link");
    let token = link.rsplit('/').next().expect("token").to_string();
    assert!(token.len() >= 43, "at least 128 bits: {token}");

    let confirm = |password: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.post(
                "/api/auth/password-reset/confirm",
                None,
                &json!({"token": token, "new_password": password}),
            )
            .await
        }
    };
    assert_eq!(confirm("a senha da Renata").await.status(), StatusCode::OK);
    let renata = app.login(&email, "a senha da Renata").await;
    assert_eq!(renata.clinic("receptionist"), clinic);
    // Once only: the link cannot set another password.
    assert_error(
        confirm("outra senha qualquer").await,
        StatusCode::BAD_REQUEST,
        "invalid_reset_token",
    )
    .await;
    assert_eq!(
        app.login_response(&email, "outra senha qualquer")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}
