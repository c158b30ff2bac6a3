//! "Esqueci minha senha" end to end: the link arrives by e-mail, works once, expires after
//! 30 minutes of the test clock, ends every session; the request never reveals whether an
//! account exists and is rate-limited.

use reqwest::StatusCode;
use serde_json::json;

use super::mailbox::*;
use crate::agenda::cpf_for;
use crate::helpers::*;

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post("/api/auth/password-reset", None, &json!({"email": email}))
        .await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/auth/password-reset/confirm",
        None,
        &json!({"token": token, "new_password": password}),
    )
    .await
}

/// The token of the newest reset e-mail to `email` (after `before` of them).
async fn reset_token(maildir: &std::path::Path, email: &str, before: usize) -> String {
    let to = email.to_string();
    let mut mails = Vec::new();
    for _ in 0..200 {
        // Reset e-mails only (the account's sign-up link went to the same address).
        mails = matching(maildir, &|m| {
            m.header("To").as_deref() == Some(to.as_str())
                && m.header("Subject").as_deref() == Some("Redefinição de senha")
        });
        if mails.len() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(mails.len(), before + 1, "one new reset e-mail to {email}");
    let links: Vec<String> = mails
        .iter()
        .filter_map(|m| m.link("/#/redefinir-senha/"))
        .collect();
    // The newest: Message-IDs derive from time-ordered (UUIDv7) outbox ids.
    let mail = mails
        .iter()
        .max_by_key(|m| m.header("Message-ID").unwrap_or_default())
        .expect("mail");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Redefinição de senha")
    );
    assert!(mail.text.contains("30 minutos"), "{}", mail.text);
    assert_eq!(links.len(), mails.len());
    let link = mail.link("/#/redefinir-senha/").expect("reset link");
    link.rsplit('/').next().expect("token").to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_password_reset_link_arrives_by_email_works_once_expires_and_ends_every_session() {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let app = spawn_app_with(|s| smtp_settings(s, &host, port)).await;
    let email = format!("reset-{}@example.test", uuid::Uuid::new_v4().simple());
    let n = (uuid::Uuid::new_v4().as_u128() % 90_000_000) as usize;
    let (status, _) = app.sign_up(&signup_body(&email, &cpf_for(n))).await;
    assert_eq!(status, StatusCode::CREATED);
    let laptop = app.login(&email, "uma senha boa").await;
    let phone = app.login(&email, "uma senha boa").await;
    let mut live = app.ws(&phone).await;

    // No account oracle: an unknown address gets the same answer, and no e-mail.
    let unknown = format!("ninguem-{}@example.test", uuid::Uuid::new_v4().simple());
    let (status, body) = json_of(request_reset(&app, &unknown).await).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status2, body2) = json_of(request_reset(&app, &email).await).await;
    assert_eq!((status2, &body2), (status, &body));
    let token = reset_token(&maildir, &email, 0).await;
    assert!(token.len() >= 43, "at least 128 bits: {token}");
    assert!(
        matching(&maildir, &|m| m.header("To").as_deref()
            == Some(unknown.as_str()))
        .is_empty()
    );

    // The sign-up password rules apply; a wrong token changes nothing.
    let (status, _) = json_of(confirm(&app, &token, "curta").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(
        confirm(&app, &format!("{token}x"), "outra senha boa").await,
        StatusCode::BAD_REQUEST,
        "invalid_reset_token",
    )
    .await;

    let (status, ended) = json_of(confirm(&app, &token, "outra senha boa").await).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert!(ended["sessions_ended"].as_u64().expect("n") >= 3, "{ended}");
    // Every session ended: tokens refused, the live connection closed.
    let me = app.get("/api/me", Some(&laptop.access)).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.refresh(&phone.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(
        live.ended_within(std::time::Duration::from_secs(5))
            .await
            .is_some(),
        "the old session's socket closes"
    );
    let old = app.login_response(&email, "uma senha boa").await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    app.login(&email, "outra senha boa").await;
    // Single use.
    assert_error(
        confirm(&app, &token, "mais uma senha boa").await,
        StatusCode::BAD_REQUEST,
        "invalid_reset_token",
    )
    .await;

    // A new link expires after 30 minutes (of the test clock).
    assert_eq!(
        request_reset(&app, &email).await.status(),
        StatusCode::ACCEPTED
    );
    let late = reset_token(&maildir, &email, 1).await;
    assert_ne!(late, token);
    app.clock.advance(chrono::Duration::minutes(31));
    assert_error(
        confirm(&app, &late, "mais uma senha boa").await,
        StatusCode::BAD_REQUEST,
        "invalid_reset_token",
    )
    .await;
    app.login(&email, "outra senha boa").await;

    // Requests are limited per address (5 an hour by default; 3 made so far).
    for _ in 0..2 {
        assert_eq!(
            request_reset(&app, &unknown).await.status(),
            StatusCode::ACCEPTED
        );
    }
    assert_error(
        request_reset(&app, &unknown).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
}
