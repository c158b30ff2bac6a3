//! Sign-up in two steps (#16): the request answers the same whoever owns the address, the
//! account exists only once the e-mailed link is opened, and the link works once, for 24
//! hours, by one caller.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const EMAIL: &str = "paula@exemplo.com.br";

/// Ask for an account for `email`; the token of the link e-mailed for it.
async fn request(app: &TestApp, email: &str, cpf: &str) -> String {
    let before = app.signup_mails(email);
    let (status, body) = json_of(
        app.post("/api/auth/signup", None, &signup_body(email, cpf))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"status": "verification_sent"}));
    app.signup_token(email, &before).await
}

async fn no_account(app: &TestApp, email: &str) {
    assert_error(
        app.login_response(email, "uma senha boa").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

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

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_sign_up_link_makes_the_account_once_and_until_then_there_is_none() {
    let app = spawn_app().await;
    let token = request(&app, EMAIL, "529.982.247-25").await;
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    no_account(&app, EMAIL).await;

    let mail = crate::mail::mailbox::wait_for(&app.mail_dir(), "sign-up link", |m| {
        is_signup_link_to(m, EMAIL)
    })
    .await;
    let link = mail[0].link("/#/confirmar-email/").expect("link");
    assert_eq!(link, format!("{}/#/confirmar-email/{token}", app.address));
    assert!(mail[0].text.contains("Olá, Paula."), "{}", mail[0].text);
    assert!(mail[0].html.contains(&link), "{}", mail[0].html);

    // Waiting, the sign-up is sealed: neither the address nor the CPF is stored in clear.
    let all = crate::keys::whole_database(&app).await;
    for plain in [EMAIL, "52998224725", "529.982.247-25", "Teixeira"] {
        assert!(
            !crate::keys::holds(&all, plain.as_bytes()),
            "{plain} is stored in clear"
        );
    }

    let (status, s) = session_from(app.confirm_signup(&token).await).await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    assert!(!s.refresh.is_empty(), "the refresh cookie is set");
    assert_eq!(s.me["email"], EMAIL);
    assert_eq!(s.me["patient"]["cpf"], "529.982.247-25");
    assert_eq!(s.me["patient"]["phone"], "+5521998765432");
    assert_eq!(s.me["consent_active"], true);
    app.login(EMAIL, "uma senha boa").await;

    // Once only.
    assert_error(
        app.confirm_signup(&token).await,
        StatusCode::BAD_REQUEST,
        "invalid_signup_token",
    )
    .await;
    for wrong in ["", "x", &"a".repeat(200)] {
        assert_error(
            app.confirm_signup(wrong).await,
            StatusCode::BAD_REQUEST,
            "invalid_signup_token",
        )
        .await;
    }

    // Audited: the request (without the address in clear) and the account.
    let requested = audit_of(&app, "auth.signup_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].entity, "pending_signup");
    assert!(requested[0].ip.is_some());
    assert!(!requested[0].details.contains("paula"), "{requested:?}");
    let created = audit_of(&app, "auth.signup").await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].actor_user_id.map(|u| u.to_string()).as_deref(),
        s.me["id"].as_str()
    );
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_sign_up_link_expires_after_a_day() {
    let app = spawn_app().await;
    let token = request(&app, EMAIL, "529.982.247-25").await;
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    assert_error(
        app.confirm_signup(&token).await,
        StatusCode::BAD_REQUEST,
        "invalid_signup_token",
    )
    .await;
    no_account(&app, EMAIL).await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn two_confirmations_of_one_link_at_once_make_one_account() {
    let app = spawn_app().await;
    let token = request(&app, EMAIL, "529.982.247-25").await;
    let (a, b) = tokio::join!(app.confirm_signup(&token), app.confirm_signup(&token));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::BAD_REQUEST]);
    assert_eq!(audit_of(&app, "auth.signup").await.len(), 1);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_second_link_for_an_address_that_got_its_account_meanwhile_is_email_taken() {
    let app = spawn_app().await;
    let first = request(&app, EMAIL, "529.982.247-25").await;
    let second = request(&app, EMAIL, "111.444.777-35").await;
    assert_ne!(first, second);
    let (status, s) = session_from(app.confirm_signup(&second).await).await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    assert_error(
        app.confirm_signup(&first).await,
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;
    assert_eq!(s.me["patient"]["cpf"], "111.444.777-35");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn guessing_sign_up_links_is_refused_past_a_few_misses_per_address() {
    let app = spawn_app_with(|s| s.security.limits.verification_misses_per_address = 2).await;
    for guess in ["aaaa", "bbbb"] {
        assert_error(
            app.confirm_signup(guess).await,
            StatusCode::BAD_REQUEST,
            "invalid_signup_token",
        )
        .await;
    }
    let token = request(&app, EMAIL, "529.982.247-25").await;
    let resp = app.confirm_signup(&token).await;
    assert!(resp.headers().contains_key("retry-after"));
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
