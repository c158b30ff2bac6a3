//! OpenID Connect login for clinic staff, against a real provider: `tests/oidc/provider.mjs`
//! (npm `oidc-provider`), whose issuer is `ATENDE_TEST_OIDC_ISSUER`. Unset, these tests
//! are skipped with a printed reason — except in CI (`CI=true`), where they fail.
//!
//! The test plays the browser: it follows atende's redirect to the provider, fills the
//! provider's login form, follows the provider's redirect back to atende's callback, and
//! carries the cookies of both (as a browser would, one jar per browser).
//! The ID token checks with crafted tokens (audience, nonce, issuer, signature, expiry)
//! are unit tests beside the verification (`src/security/oidc.rs`).

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::helpers::*;

const PASSWORD: &str = "uma senha boa";

/// The provider's issuer, or `None` (skip) outside CI.
fn issuer() -> Option<String> {
    let issuer = std::env::var("ATENDE_TEST_OIDC_ISSUER").unwrap_or_default();
    if issuer.is_empty() {
        let why = "ATENDE_TEST_OIDC_ISSUER is not set (start tests/oidc/provider.mjs, see \
                   docs/security.md)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
        return None;
    }
    Some(issuer.trim_end_matches('/').to_string())
}

/// The provider's client secret for client `atende` (`atende-other` has it + "-other").
fn client_secret() -> String {
    std::env::var("ATENDE_TEST_OIDC_SECRET").unwrap_or_else(|_| "atende-test-secret".into())
}

/// A browser: no automatic redirects, one cookie jar for every site.
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            jar: HashMap::new(),
        }
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().expect("cookie");
            let pair = c.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            let deleted = c.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            if deleted {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let resp = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("get");
        self.keep_cookies(&resp);
        resp
    }

    async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let resp = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("post");
        self.keep_cookies(&resp);
        resp
    }
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location ({})", resp.status()))
        .to_str()
        .expect("location")
        .to_string()
}

/// Absolute form of a provider's redirect.
fn at(issuer: &str, loc: &str) -> String {
    if loc.starts_with("http") {
        loc.to_string()
    } else {
        format!("{issuer}{loc}")
    }
}

/// Start a login at `clinic` and sign in at the provider as `email`: the URL the provider
/// sends the browser back to (atende's callback, not yet followed).
async fn to_callback(
    app: &TestApp,
    b: &mut Browser,
    clinic: &str,
    email: &str,
    mfa: bool,
) -> String {
    let issuer = issuer().expect("provider");
    let start = b
        .get(&app.url(&format!("/api/auth/oidc/{clinic}/start")))
        .await;
    assert_eq!(start.status(), StatusCode::FOUND);
    let auth_url = location(&start);
    assert!(auth_url.starts_with(&issuer), "{auth_url}");
    for param in [
        "state=",
        "nonce=",
        "code_challenge=",
        "code_challenge_method=S256",
    ] {
        assert!(auth_url.contains(param), "{param} missing in {auth_url}");
    }
    assert!(
        b.jar.contains_key("atende_oidc"),
        "no browser binding cookie"
    );
    let to_login = b.get(&auth_url).await;
    assert_eq!(
        to_login.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        to_login.text().await
    );
    let interaction = at(&issuer, &location(&to_login));
    let form = b.get(&interaction).await;
    assert_eq!(form.status(), StatusCode::OK);
    let mut fields = vec![("login", email)];
    if mfa {
        fields.push(("mfa", "1"));
    }
    let done = b.post_form(&interaction, &fields).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let resume = b.get(&at(&issuer, &location(&done))).await;
    assert_eq!(resume.status(), StatusCode::SEE_OTHER);
    let back = location(&resume);
    assert!(
        back.starts_with(&app.url("/api/auth/oidc/callback?")),
        "{back}"
    );
    back
}

/// Follow the callback: where atende sends the browser, and the refresh cookie if a
/// session was opened.
async fn follow(b: &mut Browser, callback: &str) -> (String, Option<String>) {
    let resp = b.get(callback).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    (
        location(&resp),
        refresh_cookie(&resp).filter(|r| !r.is_empty()),
    )
}

fn clinic_body(name: &str, cnpj: &str) -> Value {
    json!({
        "name": name,
        "cnpj": cnpj,
        "address": {"street": "Rua XV de Novembro", "number": "100", "district": "Centro",
                    "city": "Curitiba", "uf": "PR", "postal_code": "80020-310"},
        "time_zone": "America/Sao_Paulo"
    })
}

/// Two clinics (Horizonte, Litoral), each with an admin and a receptionist; Horizonte's
/// connection uses client `atende`, Litoral's `atende-other`.
struct Clinics {
    app: TestApp,
    horizonte: String,
    litoral: String,
    admin: Session,
    recep: Session,
}

async fn clinics(issuer: &str) -> Clinics {
    clinics_with(issuer, |_| {}).await
}

async fn clinics_with(issuer: &str, tweak: impl FnOnce(&mut atende::config::Settings)) -> Clinics {
    let app = spawn_app_with(|s| {
        s.security.oidc.allow_http = true;
        tweak(s);
    })
    .await;
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
    let mut ids = Vec::new();
    for (name, cnpj, slug) in [
        ("Clínica Horizonte", "12.ABC.345/01DE-35", "horizonte"),
        ("Clínica Litoral", "45.723.174/0001-10", "litoral"),
    ] {
        let (status, clinic) = json_of(
            app.post("/api/clinics", Some(&root.access), &clinic_body(name, cnpj))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{clinic}");
        let id = clinic["id"].as_str().expect("id").to_string();
        for (who, role) in [("gestora", "clinic_admin"), ("recepcao", "receptionist")] {
            let resp = app
                .post(
                    &format!("/api/clinics/{id}/staff"),
                    Some(&root.access),
                    &json!({"email": format!("{who}@{slug}.com.br"), "full_name": "Pessoa da Equipe",
                            "password": PASSWORD, "role": role}),
                )
                .await;
            assert_eq!(resp.status(), StatusCode::CREATED);
        }
        ids.push(id);
    }
    let admin = app.login("gestora@horizonte.com.br", PASSWORD).await;
    let recep = app.login("recepcao@horizonte.com.br", PASSWORD).await;
    let litoral_admin = app.login("gestora@litoral.com.br", PASSWORD).await;
    let c = Clinics {
        horizonte: ids[0].clone(),
        litoral: ids[1].clone(),
        app,
        admin,
        recep,
    };
    connect(
        &c.app,
        &c.admin,
        &c.horizonte,
        issuer,
        "atende",
        &client_secret(),
    )
    .await;
    connect(
        &c.app,
        &litoral_admin,
        &c.litoral,
        issuer,
        "atende-other",
        &format!("{}-other", client_secret()),
    )
    .await;
    c
}

async fn put_connection(
    app: &TestApp,
    who: &Session,
    clinic: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/clinics/{clinic}/oidc")))
        .bearer_auth(&who.access)
        .json(body)
        .send()
        .await
        .expect("put")
}

async fn connect(app: &TestApp, who: &Session, clinic: &str, issuer: &str, id: &str, secret: &str) {
    let (status, body) = json_of(
        put_connection(
            app,
            who,
            clinic,
            &json!({"issuer": issuer, "client_id": id, "client_secret": secret,
                    "display_name": "Entrar com o provedor da clínica"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn audit_has(rows: &[atende::security::audit::AuditRow], action: &str, detail: &str) -> bool {
    rows.iter()
        .any(|r| r.action == action && r.details.contains(detail))
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_staff_member_logs_in_with_the_clinics_provider_and_the_callback_works_once() {
    let Some(issuer) = issuer() else { return };
    let c = clinics(&issuer).await;
    let app = &c.app;
    // The login page's button.
    let (status, info) = json_of(
        app.get(&format!("/api/auth/oidc/{}", c.horizonte), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["display_name"], "Entrar com o provedor da clínica");

    let mut b = Browser::new();
    let callback = to_callback(
        app,
        &mut b,
        &c.horizonte,
        "recepcao@horizonte.com.br",
        false,
    )
    .await;
    let (to, refresh) = follow(&mut b, &callback).await;
    assert_eq!(to, "/#/sso");
    assert!(
        !b.jar.contains_key("atende_oidc"),
        "binding cookie not cleared"
    );
    // The session is a password login's: refresh, then the API.
    let refresh = refresh.expect("the refresh cookie is set");
    let (status, s) = session_from(app.refresh(&refresh).await).await;
    assert_eq!(status, StatusCode::OK, "{}", s.me);
    let (status, me) = json_of(app.get("/api/me", Some(&s.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "recepcao@horizonte.com.br");
    assert_eq!(me["id"], c.recep.me["id"]);

    // The same callback again (a replay, even from the same browser): refused.
    let (to, refresh) = follow(&mut b, &callback).await;
    assert!(to.starts_with("/#/sso?erro=oidc_state_mismatch"), "{to}");
    assert!(refresh.is_none());

    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(
        audit_has(&rows, "auth.login", "\"oidc\""),
        "no OIDC login audited"
    );
    assert!(audit_has(&rows, "auth.oidc_refused", "oidc_state_mismatch"));
    // No code, state or token reached the audit trail.
    let code = callback
        .split("code=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .expect("code");
    assert!(!rows.iter().any(|r| r.details.contains(code)));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_tampered_state_or_a_callback_in_another_browser_is_refused() {
    let Some(issuer) = issuer() else { return };
    let c = clinics(&issuer).await;
    let app = &c.app;

    // State changed on the way back.
    let mut b = Browser::new();
    let callback = to_callback(
        app,
        &mut b,
        &c.horizonte,
        "recepcao@horizonte.com.br",
        false,
    )
    .await;
    let tampered = callback.replacen("state=", "state=x", 1);
    let (to, refresh) = follow(&mut b, &tampered).await;
    assert!(to.starts_with("/#/sso?erro=oidc_state_mismatch"), "{to}");
    assert!(refresh.is_none());

    // A callback URL opened in a browser that did not start the login (a login planted by
    // someone else's link): refused, and the state is spent.
    let mut started = Browser::new();
    let callback = to_callback(
        app,
        &mut started,
        &c.horizonte,
        "recepcao@horizonte.com.br",
        false,
    )
    .await;
    let mut victim = Browser::new();
    let (to, refresh) = follow(&mut victim, &callback).await;
    assert!(to.starts_with("/#/sso?erro=oidc_state_mismatch"), "{to}");
    assert!(refresh.is_none());
    let (to, _) = follow(&mut started, &callback).await;
    assert!(to.starts_with("/#/sso?erro=oidc_state_mismatch"), "{to}");

    // A callback with no state at all.
    let (to, _) = follow(&mut b, &app.url("/api/auth/oidc/callback?code=abc")).await;
    assert_eq!(to, "/#/sso?erro=oidc_state_mismatch");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn only_existing_verified_staff_of_that_clinic_log_in() {
    let Some(issuer) = issuer() else { return };
    let c = clinics(&issuer).await;
    let app = &c.app;
    // A patient account with its own e-mail.
    let (status, s) = app
        .sign_up(&signup_body(
            "paciente@exemplo.com.br",
            &crate::agenda::cpf_for(31),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    for email in [
        // Unknown to atende: no account is created.
        "estranho@exemplo.com.br",
        // A patient: never through a clinic's provider.
        "paciente@exemplo.com.br",
        // Staff, but of the other clinic.
        "recepcao@litoral.com.br",
    ] {
        let mut b = Browser::new();
        let callback = to_callback(app, &mut b, &c.horizonte, email, false).await;
        let (to, refresh) = follow(&mut b, &callback).await;
        assert_eq!(
            to,
            format!("/#/sso?erro=oidc_not_a_member&clinica={}", c.horizonte),
            "{email}"
        );
        assert!(refresh.is_none(), "{email}");
    }
    assert!(
        app.state
            .store
            .user_by_email("estranho@exemplo.com.br")
            .await
            .expect("lookup")
            .is_none()
    );
    // An address the provider has not verified.
    let mut b = Browser::new();
    let callback = to_callback(
        app,
        &mut b,
        &c.horizonte,
        "unverified.gestora@horizonte.com.br",
        false,
    )
    .await;
    let (to, _) = follow(&mut b, &callback).await;
    assert!(to.starts_with("/#/sso?erro=oidc_email_unverified"), "{to}");

    // An allowed domain set by the admin: a member outside it is refused.
    let (status, body) = json_of(
        put_connection(
            app,
            &c.admin,
            &c.horizonte,
            &json!({"issuer": issuer, "client_id": "atende", "display_name": "Entrar",
                    "allowed_domain": "@Outra.com.br"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed_domain"], "outra.com.br");
    let mut b = Browser::new();
    let callback = to_callback(
        app,
        &mut b,
        &c.horizonte,
        "recepcao@horizonte.com.br",
        false,
    )
    .await;
    let (to, _) = follow(&mut b, &callback).await;
    assert!(
        to.starts_with("/#/sso?erro=oidc_domain_not_allowed"),
        "{to}"
    );
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(audit_has(&rows, "auth.oidc_refused", "oidc_not_a_member"));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn another_clinics_connection_cannot_log_into_this_clinic() {
    let Some(issuer) = issuer() else { return };
    let c = clinics(&issuer).await;
    let app = &c.app;
    // Horizonte's receptionist through Litoral's connection: not a member there.
    let mut b = Browser::new();
    let callback = to_callback(app, &mut b, &c.litoral, "recepcao@horizonte.com.br", false).await;
    let (to, refresh) = follow(&mut b, &callback).await;
    assert!(to.starts_with("/#/sso?erro=oidc_not_a_member"), "{to}");
    assert!(refresh.is_none());

    // A code issued to Litoral's client, brought back with a login started at Horizonte:
    // atende redeems it as Horizonte's client, and the provider refuses.
    let mut at_horizonte = Browser::new();
    let horizonte_cb = to_callback(
        app,
        &mut at_horizonte,
        &c.horizonte,
        "recepcao@horizonte.com.br",
        false,
    )
    .await;
    let mut at_litoral = Browser::new();
    let litoral_cb = to_callback(
        app,
        &mut at_litoral,
        &c.litoral,
        "recepcao@horizonte.com.br",
        false,
    )
    .await;
    let param = |url: &str, name: &str| {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .expect("param")
            .to_string()
    };
    let mixed = app.url(&format!(
        "/api/auth/oidc/callback?code={}&state={}",
        param(&litoral_cb, "code"),
        param(&horizonte_cb, "state")
    ));
    let (to, refresh) = follow(&mut at_horizonte, &mixed).await;
    assert!(to.starts_with("/#/sso?erro=oidc_code_rejected"), "{to}");
    assert!(refresh.is_none());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn only_a_clinic_admin_sets_the_connection_and_its_secret_is_never_shown_nor_stored_in_clear()
{
    let Some(issuer) = issuer() else { return };
    let c = clinics(&issuer).await;
    let app = &c.app;
    let path = format!("/api/clinics/{}/oidc", c.horizonte);
    let secret = client_secret();

    // Not an admin of this clinic: refused, both ways.
    assert_error(
        app.get(&path, Some(&c.recep.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let body = json!({"issuer": issuer, "client_id": "atende", "client_secret": "x", "display_name": "Entrar"});
    assert_error(
        put_connection(app, &c.recep, &c.horizonte, &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let other_admin = app.login("gestora@litoral.com.br", PASSWORD).await;
    assert_error(
        put_connection(app, &other_admin, &c.horizonte, &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // An issuer without a discovery document: a clear 422.
    let bad = json!({"issuer": "http://127.0.0.1:9/nada", "client_id": "atende", "display_name": "Entrar"});
    assert_error(
        put_connection(app, &c.admin, &c.horizonte, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "oidc_issuer_invalid",
    )
    .await;

    let (status, view) = json_of(app.get(&path, Some(&c.admin.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["client_secret_set"], true);
    assert_eq!(view["client_id"], "atende");
    assert!(
        view["redirect_uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/auth/oidc/callback"))
    );
    assert!(!view.to_string().contains(&secret), "{view}");
    let row = app
        .state
        .store
        .oidc_connection(c.horizonte.parse().expect("id"))
        .await
        .expect("row")
        .expect("set");
    assert!(!row.client_secret_enc.contains(&secret));
    assert!(
        row.client_secret_enc.starts_with("v1:"),
        "not the field cipher's form"
    );
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(audit_has(&rows, "clinic.oidc_connection_set", "\"atende\""));
    assert!(!rows.iter().any(|r| r.details.contains(&secret)));

    // Saved without a secret: the stored one stays, and logins still work.
    let (status, _) = json_of(
        put_connection(
            app,
            &c.admin,
            &c.horizonte,
            &json!({"issuer": issuer, "client_id": "atende", "display_name": "Entrar com SSO"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut b = Browser::new();
    let callback = to_callback(app, &mut b, &c.horizonte, "gestora@horizonte.com.br", false).await;
    let (to, refresh) = follow(&mut b, &callback).await;
    assert_eq!(to, "/#/sso");
    assert!(refresh.is_some());

    // Removed: no button, no login.
    let resp = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&c.admin.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, none) = json_of(app.get(&path, Some(&c.admin.access)).await).await;
    assert_eq!((status, none), (StatusCode::OK, Value::Null));
    assert_error(
        app.get(&format!("/api/auth/oidc/{}", c.horizonte), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let resp = Browser::new()
        .get(&app.url(&format!("/api/auth/oidc/{}/start", c.horizonte)))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(
        rows.iter()
            .any(|r| r.action == "clinic.oidc_connection_removed")
    );
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_account_with_totp_gives_its_code_after_the_provider_unless_the_provider_checked_a_second_factor()
 {
    let Some(issuer) = issuer() else { return };
    let c = clinics(&issuer).await;
    let app = &c.app;
    // The admin enrols an authenticator.
    let (status, body) = json_of(
        app.post("/api/me/mfa/totp", Some(&c.admin.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let totp = Totp::from_url(body["otpauth_uri"].as_str().expect("uri")).expect("otpauth");
    let code = |ahead: u64| totp.generate(unix_now() + 30 * ahead).to_string();
    let (status, body) = json_of(
        app.post(
            "/api/me/mfa/totp/confirm",
            Some(&c.admin.access),
            &json!({"code": code(0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The provider's password alone: atende's second step, and no session yet.
    let mut b = Browser::new();
    let callback = to_callback(app, &mut b, &c.horizonte, "gestora@horizonte.com.br", false).await;
    let (to, refresh) = follow(&mut b, &callback).await;
    let token = to
        .strip_prefix("/#/sso?mfa=")
        .unwrap_or_else(|| panic!("{to}"));
    assert!(refresh.is_none());
    let (status, s) = session_from(
        app.post(
            "/api/auth/mfa",
            None,
            &json!({"mfa_token": token, "code": code(1)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", s.me);
    assert_eq!(s.me["email"], "gestora@horizonte.com.br");

    // The provider checked a second factor (amr otp, acr): logged in at once.
    let mut b = Browser::new();
    let callback = to_callback(app, &mut b, &c.horizonte, "gestora@horizonte.com.br", true).await;
    let (to, refresh) = follow(&mut b, &callback).await;
    assert_eq!(to, "/#/sso");
    let (status, _) = session_from(app.refresh(&refresh.expect("refresh")).await).await;
    assert_eq!(status, StatusCode::OK);
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(audit_has(&rows, "auth.login", "provider_mfa"));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn logins_started_from_one_address_are_limited() {
    let Some(issuer) = issuer() else { return };
    let c = clinics_with(&issuer, |s| s.security.oidc.starts_per_address_per_hour = 2).await;
    let start = c.app.url(&format!("/api/auth/oidc/{}/start", c.horizonte));
    for _ in 0..2 {
        assert_eq!(Browser::new().get(&start).await.status(), StatusCode::FOUND);
    }
    let resp = Browser::new().get(&start).await;
    assert!(resp.headers().contains_key("retry-after"));
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
