//! Passkeys (WebAuthn): registration on the account, passwordless login, the passkey as a
//! login's second factor, and what must be refused — a replayed answer, a removed passkey,
//! another account's credential. The browser side is `passkey_authenticator`, a software
//! authenticator that signs real assertions the server verifies with webauthn-rs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::passkey_authenticator::{Authenticator, assertion};

const PASSWORD: &str = "uma senha boa";

/// The origin passkeys work on for a test app: its loopback address becomes `localhost`.
fn origin(app: &TestApp) -> String {
    app.address.replacen("127.0.0.1", "localhost", 1)
}

async fn patient(app: &TestApp, email: &str, n: usize) -> Session {
    let (status, s) = app
        .sign_up(&signup_body(email, &crate::agenda::cpf_for(n)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    s
}

/// Register a passkey named `name` with `device`: the stored passkey's listing.
async fn register(app: &TestApp, s: &Session, device: &mut Authenticator, name: &str) -> Value {
    let (status, options) = json_of(
        app.post(
            "/api/me/passkeys/register/start",
            Some(&s.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"], "required",
        "{options}"
    );
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"], "required",
        "{options}"
    );
    let credential = device.create(&options).expect("authenticator creates");
    let (status, body) = json_of(
        app.post(
            "/api/me/passkeys/register/finish",
            Some(&s.access),
            &json!({"name": name, "credential": credential}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Start a passwordless login: (state id, options).
async fn start_login(app: &TestApp) -> (String, Value) {
    let (status, body) = json_of(app.post("/api/auth/passkey/start", None, &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "a passwordless start names no account: {body}"
    );
    (
        body["state_id"].as_str().expect("state_id").to_string(),
        body["options"].clone(),
    )
}

async fn finish_login(app: &TestApp, state_id: &str, credential: &Value) -> reqwest::Response {
    app.post(
        "/api/auth/passkey/finish",
        None,
        &json!({"state_id": state_id, "credential": credential}),
    )
    .await
}

async fn delete(app: &TestApp, s: &Session, id: &str, body: &Value) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/me/passkeys/{id}")))
        .bearer_auth(&s.access)
        .json(body)
        .send()
        .await
        .expect("delete")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_registered_passkey_logs_in_without_a_password_and_with_the_same_session_cookies() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@exemplo.com.br", 1).await;
    let mut phone = Authenticator::new(&origin(&app));
    let stored = register(&app, &ana, &mut phone, "Celular da Ana").await;
    assert_eq!(stored["name"], "Celular da Ana");
    let (_, list) = json_of(app.get("/api/me/passkeys", Some(&ana.access)).await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(list[0]["last_used_at"].is_null(), "{list}");
    // The same authenticator is not registered twice (its credential is excluded).
    let (_, options) = json_of(
        app.post(
            "/api/me/passkeys/register/start",
            Some(&ana.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert!(phone.create(&options).is_none(), "{options}");

    let (state_id, options) = start_login(&app).await;
    let answer = phone
        .get(&options)
        .expect("a discoverable credential answers");
    let resp = finish_login(&app, &state_id, &answer).await;
    let (status, s) = session_from(resp).await;
    assert_eq!(status, StatusCode::OK, "{}", s.me);
    assert_eq!(s.me["email"], "ana@exemplo.com.br");
    assert!(
        !s.refresh.is_empty(),
        "refresh cookie set as for a password login"
    );
    let (status, me) = json_of(app.get("/api/me", Some(&s.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, _) = json_of(app.refresh(&s.refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = json_of(app.get("/api/me/passkeys", Some(&s.access)).await).await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");

    // Adding, using and the login are audited, and the chain still verifies.
    let actions: Vec<String> = sqlx_actions(&app).await;
    for a in [
        "security.passkey_added",
        "security.passkey_used",
        "auth.login",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

/// The audit actions written so far.
async fn sqlx_actions(app: &TestApp) -> Vec<String> {
    app.state
        .store
        .audit_page(0, 10_000)
        .await
        .expect("audit rows")
        .into_iter()
        .map(|r| r.action)
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_passkey_answers_the_second_step_of_a_password_login() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@exemplo.com.br", 1).await;
    let mut phone = Authenticator::new(&origin(&app));
    register(&app, &ana, &mut phone, "Celular").await;

    let (status, challenge) =
        json_of(app.login_response("ana@exemplo.com.br", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    assert_eq!(challenge["mfa_required"], true, "{challenge}");
    assert_eq!(challenge["methods"], json!(["passkey"]), "{challenge}");
    let token = challenge["mfa_token"].as_str().expect("token");

    // An authenticator the account never registered is refused, and counted.
    let mut stranger = Authenticator::new(&origin(&app));
    let bob = patient(&app, "bob@exemplo.com.br", 2).await;
    register(&app, &bob, &mut stranger, "Chave do Bob").await;
    let (status, options) = json_of(
        app.post(
            "/api/auth/mfa/passkey/start",
            None,
            &json!({"mfa_token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert!(
        stranger.get(&options).is_none(),
        "only Ana's passkeys are allowed"
    );
    let challenge_b64 = options["publicKey"]["challenge"]
        .as_str()
        .expect("challenge");
    let forged = assertion(&stranger.credentials[0], challenge_b64, &origin(&app));
    assert_error(
        app.post(
            "/api/auth/mfa",
            None,
            &json!({"mfa_token": token, "passkey": forged}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;

    // Ana's passkey completes the login.
    let answer = phone.get(&options).expect("Ana's passkey answers");
    let resp = app
        .post(
            "/api/auth/mfa",
            None,
            &json!({"mfa_token": token, "passkey": answer}),
        )
        .await;
    let (status, s) = session_from(resp).await;
    assert_eq!(status, StatusCode::OK, "{}", s.me);
    assert_eq!(s.me["email"], "ana@exemplo.com.br");
    assert!(!s.refresh.is_empty());
    // The same answer again: the login is spent.
    assert_error(
        app.post(
            "/api/auth/mfa",
            None,
            &json!({"mfa_token": token, "passkey": answer}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_token",
    )
    .await;
    // Neither or two answers at once are malformed.
    assert_error(
        app.post(
            "/api/auth/mfa",
            None,
            &json!({"mfa_token": token, "code": "123456", "passkey": answer}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_replayed_passkey_answer_is_refused() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@exemplo.com.br", 1).await;
    let mut phone = Authenticator::new(&origin(&app));
    register(&app, &ana, &mut phone, "Celular").await;

    let (state_id, options) = start_login(&app).await;
    let answer = phone.get(&options).expect("answers");
    assert_eq!(
        finish_login(&app, &state_id, &answer).await.status(),
        StatusCode::OK
    );
    // The same ceremony again.
    assert_error(
        finish_login(&app, &state_id, &answer).await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
    // The old answer against a fresh ceremony: its challenge is not this one.
    let (fresh, _) = start_login(&app).await;
    assert_error(
        finish_login(&app, &fresh, &answer).await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
    // A ceremony that answered wrongly is spent too: the right answer comes too late.
    let (state_id, options) = start_login(&app).await;
    let good = phone.get(&options).expect("answers");
    let mut bad = good.clone();
    bad["response"]["signature"] = json!("MEUCIQ");
    assert_error(
        finish_login(&app, &state_id, &bad).await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
    assert_error(
        finish_login(&app, &state_id, &good).await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_removed_passkey_no_longer_logs_in_nor_asks_for_a_second_step() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@exemplo.com.br", 1).await;
    let mut phone = Authenticator::new(&origin(&app));
    let stored = register(&app, &ana, &mut phone, "Celular").await;
    let id = stored["id"].as_str().expect("id");
    let resp = delete(&app, &ana, id, &json!({})).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, list) = json_of(app.get("/api/me/passkeys", Some(&ana.access)).await).await;
    assert_eq!(list, json!([]));
    assert_error(
        delete(&app, &ana, id, &json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let (state_id, options) = start_login(&app).await;
    let answer = phone.get(&options).expect("the phone still holds it");
    assert_error(
        finish_login(&app, &state_id, &answer).await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
    // The password alone logs in again.
    let s = app.login("ana@exemplo.com.br", PASSWORD).await;
    assert_eq!(s.me["email"], "ana@exemplo.com.br");
    let actions = sqlx_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "security.passkey_removed"),
        "{actions:?}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn another_accounts_passkey_never_logs_in_as_them_nor_is_theirs_to_remove() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@exemplo.com.br", 1).await;
    let bob = patient(&app, "bob@exemplo.com.br", 2).await;
    let mut ana_phone = Authenticator::new(&origin(&app));
    let mut bob_phone = Authenticator::new(&origin(&app));
    let ana_key = register(&app, &ana, &mut ana_phone, "Celular da Ana").await;
    register(&app, &bob, &mut bob_phone, "Celular do Bob").await;

    // Bob's credential claiming to be Ana (her user handle): refused.
    let (state_id, options) = start_login(&app).await;
    let mut claimed = bob_phone.credentials[0].clone();
    claimed.user_handle = ana_phone.credentials[0].user_handle.clone();
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .expect("challenge");
    assert_error(
        finish_login(
            &app,
            &state_id,
            &assertion(&claimed, challenge, &origin(&app)),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
    // Ana's credential id with Bob's key: the signature does not verify.
    let (state_id, options) = start_login(&app).await;
    let mut forged = bob_phone.credentials[0].clone();
    forged.id = ana_phone.credentials[0].id.clone();
    forged.user_handle = ana_phone.credentials[0].user_handle.clone();
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .expect("challenge");
    assert_error(
        finish_login(
            &app,
            &state_id,
            &assertion(&forged, challenge, &origin(&app)),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;
    // An answer for another site (origin) is refused.
    let (state_id, options) = start_login(&app).await;
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .expect("challenge");
    let elsewhere = assertion(
        &ana_phone.credentials[0],
        challenge,
        "https://phishing.example",
    );
    assert_error(
        finish_login(&app, &state_id, &elsewhere).await,
        StatusCode::UNAUTHORIZED,
        "invalid_passkey",
    )
    .await;

    // Bob cannot see or remove Ana's passkey.
    let (_, list) = json_of(app.get("/api/me/passkeys", Some(&bob.access)).await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_ne!(list[0]["id"], ana_key["id"]);
    assert_error(
        delete(&app, &bob, ana_key["id"].as_str().expect("id"), &json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Only logged-in callers register.
    assert_error(
        app.post("/api/me/passkeys/register/start", None, &json!({}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_finished_registration_cannot_be_finished_again_and_a_name_is_required() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@exemplo.com.br", 1).await;
    let mut phone = Authenticator::new(&origin(&app));
    let (_, options) = json_of(
        app.post(
            "/api/me/passkeys/register/start",
            Some(&ana.access),
            &json!({}),
        )
        .await,
    )
    .await;
    let credential = phone.create(&options).expect("creates");
    let finish = |name: &str| {
        let body = json!({"name": name, "credential": credential});
        let access = ana.access.clone();
        let app = &app;
        async move {
            app.post("/api/me/passkeys/register/finish", Some(&access), &body)
                .await
        }
    };
    assert_error(
        finish("   ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_passkey_name",
    )
    .await;
    assert_eq!(finish("Celular").await.status(), StatusCode::CREATED);
    assert_error(
        finish("Celular").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_passkey",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_passkey_satisfies_a_clinic_that_requires_two_factor() {
    let app = spawn_app().await;
    atende::app::auth::create_user(
        &app.state.store,
        atende::domain::Email::parse("root@plataforma.com.br").expect("email"),
        atende::domain::PersonName::parse("Operadora").expect("name"),
        atende::domain::Password::parse(PASSWORD).expect("password"),
        true,
    )
    .await
    .expect("platform admin");
    let root = app.login("root@plataforma.com.br", PASSWORD).await;
    let (status, clinic) = json_of(
        app.post(
            "/api/clinics",
            Some(&root.access),
            &crate::mfa::clinic_body(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{clinic}");
    let id = clinic["id"].as_str().expect("id").to_string();
    for email in ["gestora@horizonte.com.br", "gestor2@horizonte.com.br"] {
        let resp = app
            .post(
                &format!("/api/clinics/{id}/staff"),
                Some(&root.access),
                &json!({"email": email, "full_name": "Pessoa da Equipe", "password": PASSWORD, "role": "clinic_admin"}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let admin = app.login("gestora@horizonte.com.br", PASSWORD).await;
    let security = format!("/api/clinics/{id}/security");
    let put = |body: Value| {
        app.client
            .put(app.url(&security))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
    };
    assert_error(
        put(json!({"require_mfa": true})).await.expect("put"),
        StatusCode::CONFLICT,
        "mfa_enrol_first",
    )
    .await;
    let mut key = Authenticator::new(&origin(&app));
    register(&app, &admin, &mut key, "Chave da gestora").await;
    let (status, body) = json_of(put(json!({"require_mfa": true})).await.expect("put")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The other admin is held to enrolment, may register a passkey, and is then free.
    let other = app.login("gestor2@horizonte.com.br", PASSWORD).await;
    let (_, me) = json_of(app.get("/api/me", Some(&other.access)).await).await;
    assert_eq!(me["mfa_enrolment_required"], true, "{me}");
    assert_error(
        app.get(&security, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
        "mfa_enrolment_required",
    )
    .await;
    let mut other_key = Authenticator::new(&origin(&app));
    register(&app, &other, &mut other_key, "Chave").await;
    let (status, _) = json_of(app.get(&security, Some(&other.access)).await).await;
    assert_eq!(status, StatusCode::OK);
}
