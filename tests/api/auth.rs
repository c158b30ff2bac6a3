use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn signing_up_with_consent_creates_a_logged_in_patient_with_a_recorded_consent() {
    let app = spawn_app().await;
    let (status, s) = app
        .sign_up(&signup_body("paula@exemplo.com.br", "529.982.247-25"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    assert!(!s.refresh.is_empty(), "the refresh cookie is set");
    assert_eq!(s.me["patient"]["cpf"], "529.982.247-25");
    assert_eq!(s.me["consent_active"], true);
    assert!(s.me["memberships"].as_array().expect("array").is_empty());

    let (status, consents) = json_of(app.get("/api/me/consents", Some(&s.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(consents.as_array().expect("array").len(), 1);
    assert_eq!(consents[0]["terms_version"], "2026-01");
    assert!(consents[0]["accepted_at"].is_string());
    assert!(consents[0]["withdrawn_at"].is_null());

    // The new account can log in with its password.
    let again = app.login("paula@exemplo.com.br", "uma senha boa").await;
    assert_eq!(again.me["patient"]["full_name"], "Paula Teixeira");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn signing_up_without_accepting_the_current_terms_is_refused() {
    let app = spawn_app().await;
    let mut body = signup_body("paula@exemplo.com.br", "529.982.247-25");
    body["accepted_terms_version"] = json!("2019-01");
    assert_error(
        app.post("/api/auth/signup", None, &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "terms_not_accepted",
    )
    .await;
    // Nothing was created.
    assert_error(
        app.login_response("paula@exemplo.com.br", "uma senha boa")
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn signing_up_with_bad_fields_names_the_problem() {
    let app = spawn_app().await;
    let cases = [
        ("cpf", json!("529.982.247-24"), "invalid_cpf"),
        ("email", json!("sem-arroba"), "invalid_email"),
        ("password", json!("curta"), "weak_password"),
        ("birth_date", json!("2090-01-01"), "invalid_birth_date"),
        ("phone", json!("123"), "invalid_phone"),
    ];
    for (field, value, code) in cases {
        let mut body = signup_body("paula@exemplo.com.br", "529.982.247-25");
        body[field] = value;
        assert_error(
            app.post("/api/auth/signup", None, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn signing_up_answers_the_same_for_a_known_and_an_unknown_email_and_a_cpf_is_never_taken() {
    let app = spawn_app().await;
    let (status, first) = app
        .sign_up(&signup_body("paula@exemplo.com.br", "529.982.247-25"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", first.me);

    // No e-mail oracle: an address with an account and one without get the same answer,
    // and neither request makes an account.
    let known = json_of(
        app.post(
            "/api/auth/signup",
            None,
            &signup_body("PAULA@exemplo.com.br", "111.444.777-35"),
        )
        .await,
    )
    .await;
    let unknown = json_of(
        app.post(
            "/api/auth/signup",
            None,
            &signup_body("nova@exemplo.com.br", "111.444.777-35"),
        )
        .await,
    )
    .await;
    assert_eq!(known.0, StatusCode::ACCEPTED, "{}", known.1);
    assert_eq!(known, unknown);
    assert_eq!(known.1, json!({"status": "verification_sent"}));
    for email in ["nova@exemplo.com.br"] {
        assert_error(
            app.login_response(email, "uma senha boa").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    // Paula (the owner of the known address) is told someone tried, and where to reset her
    // password; she gets no sign-up link. The unknown address gets its link.
    let tried = crate::mail::mailbox::wait_for(&app.mail_dir(), "someone tried", |m| {
        m.header("Subject").as_deref() == Some("Tentativa de criar conta com seu e-mail")
    })
    .await;
    assert_eq!(tried.len(), 1);
    assert_eq!(
        tried[0].header("To").as_deref(),
        Some("paula@exemplo.com.br")
    );
    assert!(
        tried[0]
            .link("/#/esqueci-senha")
            .is_some_and(|l| l.ends_with("/#/esqueci-senha")),
        "{}",
        tried[0].text
    );
    assert!(
        !tried[0].text.contains("confirmar-email"),
        "{}",
        tried[0].text
    );
    assert_eq!(
        app.signup_mails("paula@exemplo.com.br").len(),
        1,
        "only her own"
    );
    let token = app.signup_token("nova@exemplo.com.br", &[]).await;
    // Her password did not change and she still has one account.
    app.login("paula@exemplo.com.br", "uma senha boa").await;

    // The same CPF again: a profile of its own, as for a CPF nobody has (no oracle, and
    // nobody "takes" a person's CPF by signing up first).
    let (status, second) = app
        .sign_up(&signup_body("outra@exemplo.com.br", "52998224725"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", second.me);
    assert_ne!(
        first.me["patient"]["id"], second.me["patient"]["id"],
        "each account has its own profile"
    );
    // The pending one, opened now, makes its account.
    let (status, nova) = session_from(app.confirm_signup(&token).await).await;
    assert_eq!(status, StatusCode::CREATED, "{}", nova.me);
    assert_eq!(nova.me["email"], "nova@exemplo.com.br");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn logging_in_with_a_wrong_password_or_unknown_email_is_the_same_401() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("admin@aurora.demo", PW).await;
    assert_eq!(s.me["memberships"][0]["role"], "clinic_admin");
    assert_error(
        app.login_response("admin@aurora.demo", "errada123").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_error(
        app.login_response("ninguem@aurora.demo", PW).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_error(
        app.get("/api/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/api/me", Some("not-a-jwt")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn refreshing_rotates_the_pair_and_a_replayed_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let first = app.login("recepcao@aurora.demo", PW).await;

    let (status, second) = session_from(app.refresh(&first.refresh).await).await;
    assert_eq!(status, StatusCode::OK, "{}", second.me);
    assert!(!second.refresh.is_empty());
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(
        app.get("/api/me", Some(&second.access)).await.status(),
        StatusCode::OK
    );

    // The spent token comes back (stolen copy): refused, and the family is revoked.
    assert_error(
        app.refresh(&first.refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    assert_error(
        app.refresh(&second.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    assert_error(
        app.get("/api/me", Some(&second.access)).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;

    // Other sessions of the same user are untouched.
    let other = app.login("recepcao@aurora.demo", PW).await;
    assert_eq!(
        app.get("/api/me", Some(&other.access)).await.status(),
        StatusCode::OK
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn concurrent_refreshes_with_one_token_yield_at_most_one_new_pair() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let attempts = (0..8).map(|_| app.refresh(&s.refresh));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert!(ok <= 1, "{ok} refreshes succeeded with one token");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn logging_out_ends_the_session_for_both_tokens() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("joao@paciente.demo", PW).await;
    let resp = app
        .post_csrf(
            "/api/auth/logout",
            Some(&s.access),
            &json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get("/api/me", Some(&s.access)).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    assert_error(
        app.refresh(&s.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
}

/// A login with a wrong password, refused as such (401 `invalid_credentials`).
async fn wrong_password(app: &TestApp, email: &str) {
    assert_error(
        app.login_response(email, "chute-errado").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn repeated_failures_lock_the_account_with_429_and_retry_after() {
    let app = spawn_app_with(|s| {
        s.security.login_throttle.max_failures_per_account = 3;
        s.security.login_throttle.max_attempts_per_ip = 1000;
    })
    .await;
    app.seed_demo().await;
    for _ in 0..3 {
        wrong_password(&app, "admin@aurora.demo").await;
    }
    // Even the right password is refused while the account is locked.
    let resp = app.login_response("admin@aurora.demo", PW).await;
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Another account is not affected.
    app.login("recepcao@aurora.demo", PW).await;
}

/// A successful login forgets the failures before it: as many again afterwards do not lock
/// the account. On the node's own counters and, with TEST_REDIS_URL, on Redis's, where the
/// account-and-address backoff once outlived the success.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_successful_login_forgets_the_failures_before_it() {
    let redis = crate::multinode::redis_url();
    for shared in [None, redis] {
        let app = spawn_app_with(|s| {
            s.security.login_throttle.max_failures_per_account = 3;
            s.security.login_throttle.max_attempts_per_ip = 1000;
            if let Some(url) = &shared {
                s.redis.url = atende::config::Secret::new(url.clone());
            }
        })
        .await;
        app.seed_demo().await;
        for _ in 0..2 {
            for _ in 0..2 {
                wrong_password(&app, "admin@aurora.demo").await;
            }
            app.login("admin@aurora.demo", PW).await;
        }
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn too_many_attempts_from_one_address_are_throttled() {
    let app = spawn_app_with(|s| {
        s.security.login_throttle.max_attempts_per_ip = 4;
    })
    .await;
    for i in 0..4 {
        let resp = app
            .login_response(&format!("u{i}@exemplo.com"), "qualquer-coisa")
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = app.login_response("u9@exemplo.com", "qualquer-coisa").await;
    assert!(resp.headers().contains_key("retry-after"));
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_can_withdraw_and_give_consent_again() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("maria@paciente.demo", PW).await;
    assert_eq!(s.me["consent_active"], true);
    let (status, list) = json_of(
        app.post("/api/me/consents/withdraw", Some(&s.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(list[0]["withdrawn_at"].is_string(), "{list}");
    let (_, me) = json_of(app.get("/api/me", Some(&s.access)).await).await;
    assert_eq!(me["consent_active"], false);
    let (status, list) = json_of(
        app.post(
            "/api/me/consents",
            Some(&s.access),
            &json!({"terms_version": "2026-01"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().expect("array").len(), 2);
    let (_, me) = json_of(app.get("/api/me", Some(&s.access)).await).await;
    assert_eq!(me["consent_active"], true);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_disabled_account_cannot_log_in_and_its_sessions_end() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let (_, ended) =
        atende::app::auth::set_account_disabled(&app.state.store, "recepcao@aurora.demo", true)
            .await
            .expect("disable")
            .expect("user");
    assert_eq!(ended, 1);
    assert_error(
        app.login_response("recepcao@aurora.demo", PW).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_error(
        app.get("/api/me", Some(&s.access)).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn behind_a_trusted_proxy_the_address_the_proxy_appended_is_used() {
    let app = spawn_app_with(|s| s.server.trust_proxy_headers = true).await;
    app.seed_demo().await;
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .json(&json!({"email": "admin@aurora.demo", "password": PW}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let login = rows
        .iter()
        .rev()
        .find(|r| r.action == "auth.login")
        .expect("login row");
    assert_eq!(
        login.ip.as_deref(),
        Some("203.0.113.7"),
        "the client-supplied first value must be ignored"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn housekeeping_prunes_spent_tickets_and_long_expired_tokens() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let _unused = app.ticket(&s).await;
    let later = atende::store::now() + chrono::Duration::days(40);
    let pruned = app.state.store.prune_expired(later).await.expect("prune");
    assert!(
        pruned >= 2,
        "a ticket and a refresh token should go, got {pruned}"
    );
}
