//! Two-factor login: TOTP enrolment, the login's second step, replay and wrong-code
//! handling, recovery codes, disabling, and the clinic policy that forces enrolment.
//!
//! Codes are computed here with totp-rs from the secret in the `otpauth://` URI the server
//! handed out, at the app's clock's time of the request (never a fixed hour): the server
//! reads the same clock, so a test moves time instead of waiting for a time step.

use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::helpers::*;

const PASSWORD: &str = "uma senha boa";

/// The authenticator app of a test: the TOTP read from the enrolment's URI, and the app's
/// clock (a phone's clock agrees with the server's).
struct App(Totp, std::sync::Arc<atende::clock::TestClock>);

impl App {
    fn unix_now(&self) -> u64 {
        use atende::clock::Clock as _;
        u64::try_from(self.1.now().timestamp()).expect("clock after 1970")
    }

    /// The code on screen `steps_ahead` steps from now (the server accepts one step of
    /// drift, so `1` is the next code, still valid now).
    fn code(&self, steps_ahead: u64) -> String {
        self.0
            .generate(self.unix_now() + 30 * steps_ahead)
            .to_string()
    }

    /// A six-digit code that none of the steps around now has.
    fn wrong_code(&self) -> String {
        let valid: Vec<String> = (0..4)
            .map(|i| self.0.generate(self.unix_now() + 30 * i - 30).to_string())
            .collect();
        let mut n: u32 = valid[1].parse().expect("digits");
        loop {
            n = (n + 1) % 1_000_000;
            let candidate = format!("{n:06}");
            if !valid.contains(&candidate) {
                return candidate;
            }
        }
    }
}

/// A patient's own account (sign-up), logged in.
async fn patient(app: &TestApp, email: &str, n: usize) -> Session {
    let (status, s) = app
        .sign_up(&signup_body(email, &crate::agenda::cpf_for(n)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", s.me);
    s
}

/// Start an enrolment: the app reading its QR code, and the enrolment's answer.
async fn start_enrolment(app: &TestApp, s: &Session) -> (App, Value) {
    let (status, body) = json_of(
        app.post("/api/me/mfa/totp", Some(&s.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uri = body["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        body["qr_svg"]
            .as_str()
            .is_some_and(|s| s.starts_with("<svg")),
        "{body}"
    );
    let totp = Totp::from_url(uri).expect("an otpauth URI authenticator apps read");
    assert_eq!(totp.digits(), 6);
    assert_eq!(totp.step(), 30);
    assert_eq!(totp.algorithm(), totp_rs::Algorithm::SHA1);
    (App(totp, app.clock.clone()), body)
}

/// Enrol and confirm with the current code; the app and the recovery codes.
async fn enrol(app: &TestApp, s: &Session) -> (App, Vec<String>) {
    let (totp, _) = start_enrolment(app, s).await;
    let (status, body) = json_of(
        app.post(
            "/api/me/mfa/totp/confirm",
            Some(&s.access),
            &json!({"code": totp.code(0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    (totp, codes)
}

/// A login whose answer must be the two-factor challenge: its `mfa_token`.
async fn password_step(app: &TestApp, email: &str, device: Option<&str>) -> String {
    let mut req = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}));
    if let Some(d) = device {
        req = req.header("cookie", format!("atende_device={d}"));
    }
    let resp = req.send().await.expect("login");
    assert!(
        refresh_cookie(&resp).is_none(),
        "no session before the second factor"
    );
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    body["mfa_token"].as_str().expect("mfa_token").to_string()
}

async fn second_step(app: &TestApp, body: Value) -> reqwest::Response {
    app.post("/api/auth/mfa", None, &body).await
}

fn audit_actions(rows: &[atende::security::audit::AuditRow]) -> Vec<String> {
    rows.iter().map(|r| r.action.clone()).collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_enrolled_account_logs_in_with_a_code_from_its_authenticator_and_a_code_works_once() {
    let app = spawn_app().await;
    let s = patient(&app, "ana@exemplo.com.br", 11).await;
    let (totp, _) = start_enrolment(&app, &s).await;

    // Not active until confirmed: the password alone still logs in.
    let plain = app.login("ana@exemplo.com.br", PASSWORD).await;
    assert_eq!(plain.me["mfa_enabled"], false);
    assert_error(
        app.post(
            "/api/me/mfa/totp/confirm",
            Some(&s.access),
            &json!({"code": totp.wrong_code()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_mfa_code",
    )
    .await;
    let (status, body) = json_of(
        app.post(
            "/api/me/mfa/totp/confirm",
            Some(&s.access),
            &json!({"code": totp.code(0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes = body["recovery_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let (_, me) = json_of(app.get("/api/me", Some(&s.access)).await).await;
    assert_eq!(me["mfa_enabled"], true, "{me}");

    // The password now only opens the second step.
    let token = password_step(&app, "ana@exemplo.com.br", None).await;
    let next = totp.code(1);
    let resp = second_step(&app, json!({"mfa_token": token, "code": next})).await;
    let (status, session) = session_from(resp).await;
    assert_eq!(status, StatusCode::OK, "{}", session.me);
    assert!(!session.refresh.is_empty(), "the refresh cookie is set");
    assert_eq!(session.me["email"], "ana@exemplo.com.br");
    let (status, _) = json_of(app.get("/api/me/consents", Some(&session.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    // Same refresh behaviour as a password login.
    let (status, _) = session_from(app.refresh(&session.refresh).await).await;
    assert_eq!(status, StatusCode::OK);

    // The token was spent.
    assert_error(
        second_step(&app, json!({"mfa_token": token, "code": next})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_token",
    )
    .await;
    // The code was spent: a replay within its window is refused.
    let again = password_step(&app, "ana@exemplo.com.br", None).await;
    assert_error(
        second_step(&app, json!({"mfa_token": again, "code": next})).await,
        StatusCode::UNAUTHORIZED,
        "mfa_code_used",
    )
    .await;

    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let actions = audit_actions(&rows);
    for action in ["security.mfa_enrolment_started", "security.mfa_enabled"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let login = rows
        .iter()
        .rev()
        .find(|r| r.action == "auth.login")
        .expect("login row");
    assert!(login.details.contains("totp"), "{}", login.details);

    // The secret is encrypted at rest.
    let b32 = totp_rs::Secret::from(totp.0.secret().as_ref().to_vec()).to_base32();
    let row = app
        .state
        .store
        .totp_of(atende::domain::UserId(
            s.me["id"].as_str().expect("id").parse().expect("uuid"),
        ))
        .await
        .expect("read")
        .expect("row");
    assert!(!row.secret.contains(&b32) && row.secret.starts_with("v1:"));

    // Time steps follow the app's clock: an hour later by it, the code on screen then logs
    // in, and the code of the system's time (an hour behind) is refused.
    app.clock.advance(chrono::Duration::hours(1));
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let stale = totp.0.generate(wall).to_string();
    let later = password_step(&app, "ana@exemplo.com.br", None).await;
    // (Unless the two steps' codes happen to be equal: one chance in a million.)
    if stale != totp.code(0) {
        assert_error(
            second_step(&app, json!({"mfa_token": later, "code": stale})).await,
            StatusCode::UNAUTHORIZED,
            "invalid_mfa_code",
        )
        .await;
    }
    let resp = second_step(&app, json!({"mfa_token": later, "code": totp.code(0)})).await;
    let (status, session) = session_from(resp).await;
    assert_eq!(status, StatusCode::OK, "{}", session.me);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn wrong_codes_are_refused_then_throttled_and_five_of_them_kill_the_mfa_token() {
    let app = spawn_app().await;
    let s = patient(&app, "bia@exemplo.com.br", 12).await;
    // A login before enrolling marks this device as the owner's usual one: the stranger's
    // lockout per account does not apply to it, the backoff per address and account does.
    let resp = app.login_response("bia@exemplo.com.br", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let device = resp
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("atende_device="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
        .expect("device cookie");
    let (totp, _) = enrol(&app, &s).await;

    let token = password_step(&app, "bia@exemplo.com.br", Some(&device)).await;
    // Malformed input is a clear refusal, never a crash (and costs no try).
    assert_error(
        second_step(&app, json!({"mfa_token": token})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    for _ in 0..5 {
        assert_error(
            second_step(&app, json!({"mfa_token": token, "code": totp.wrong_code()})).await,
            StatusCode::UNAUTHORIZED,
            "invalid_mfa_code",
        )
        .await;
    }
    // Throttled: even the right code waits.
    let resp = second_step(&app, json!({"mfa_token": token, "code": totp.code(1)})).await;
    let wait: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        (1..=2).contains(&wait),
        "the first backoff is short: {wait}"
    );
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    // Once the wait is over, that token is dead: five wrong codes killed it.
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    assert_error(
        second_step(&app, json!({"mfa_token": token, "code": totp.code(1)})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_token",
    )
    .await;
    assert_error(
        second_step(
            &app,
            json!({"mfa_token": "nao-e-um-token", "code": "123456"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_token",
    )
    .await;
    // A new login from the owner's device gets a new chance.
    let fresh = password_step(&app, "bia@exemplo.com.br", Some(&device)).await;
    let (status, body) =
        json_of(second_step(&app, json!({"mfa_token": fresh, "code": totp.code(1)})).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_recovery_code_logs_in_once_and_regenerated_codes_replace_the_old_ones() {
    let app = spawn_app().await;
    let s = patient(&app, "caio@exemplo.com.br", 13).await;
    let (totp, codes) = enrol(&app, &s).await;
    assert_eq!(codes.len(), 10);

    let token = password_step(&app, "caio@exemplo.com.br", None).await;
    let (status, session) = session_from(
        second_step(
            &app,
            json!({"mfa_token": token, "recovery_code": codes[0].to_lowercase()}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", session.me);
    let (_, st) = json_of(app.get("/api/me/mfa", Some(&session.access)).await).await;
    assert_eq!(st["totp_enabled"], true, "{st}");
    assert_eq!(st["recovery_codes_left"], 9, "{st}");

    // Spent.
    let token = password_step(&app, "caio@exemplo.com.br", None).await;
    assert_error(
        second_step(&app, json!({"mfa_token": token, "recovery_code": codes[0]})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;

    // New codes (a current authenticator code required); the old ones stop working.
    assert_error(
        app.post(
            "/api/me/mfa/recovery-codes",
            Some(&session.access),
            &json!({"code": totp.wrong_code()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_mfa_code",
    )
    .await;
    let (status, body) = json_of(
        app.post(
            "/api/me/mfa/recovery-codes",
            Some(&session.access),
            &json!({"code": totp.code(1)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fresh: Vec<String> = body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    assert_eq!(fresh.len(), 10);
    let token = password_step(&app, "caio@exemplo.com.br", None).await;
    assert_error(
        second_step(&app, json!({"mfa_token": token, "recovery_code": codes[1]})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;
    let (status, _) =
        json_of(second_step(&app, json!({"mfa_token": token, "recovery_code": fresh[3]})).await)
            .await;
    assert_eq!(status, StatusCode::OK);
    let actions = audit_actions(&app.state.store.audit_page(0, 10_000).await.expect("audit"));
    for action in [
        "security.mfa_recovery_code_used",
        "security.mfa_recovery_codes_regenerated",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn disabling_needs_the_password_and_a_current_code_and_logins_go_back_to_one_step() {
    let app = spawn_app().await;
    let s = patient(&app, "davi@exemplo.com.br", 14).await;
    let (totp, _) = enrol(&app, &s).await;
    let delete = |body: Value| {
        app.client
            .delete(app.url("/api/me/mfa/totp"))
            .bearer_auth(&s.access)
            .json(&body)
            .send()
    };
    assert_error(
        delete(json!({"password": "outra senha qualquer", "code": totp.code(1)}))
            .await
            .expect("request"),
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    assert_error(
        delete(json!({"password": PASSWORD, "code": totp.wrong_code()}))
            .await
            .expect("request"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_mfa_code",
    )
    .await;
    // Still on.
    password_step(&app, "davi@exemplo.com.br", None).await;
    let resp = delete(json!({"password": PASSWORD, "code": totp.code(1)}))
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let back = app.login("davi@exemplo.com.br", PASSWORD).await;
    assert_eq!(back.me["mfa_enabled"], false);
    assert_error(
        delete(json!({"password": PASSWORD, "code": totp.code(1)}))
            .await
            .expect("request"),
        StatusCode::CONFLICT,
        "mfa_not_enabled",
    )
    .await;
    let actions = audit_actions(&app.state.store.audit_page(0, 10_000).await.expect("audit"));
    assert!(
        actions.iter().any(|a| a == "security.mfa_disabled"),
        "{actions:?}"
    );
}

pub(crate) fn clinic_body() -> Value {
    json!({
        "name": "Clínica Horizonte",
        "cnpj": "12.ABC.345/01DE-35",
        "address": {"street": "Rua XV de Novembro", "number": "100", "district": "Centro",
                    "city": "Curitiba", "uf": "PR", "postal_code": "80020-310"},
        "time_zone": "America/Sao_Paulo"
    })
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_clinic_requiring_two_factor_limits_an_unenrolled_professional_to_enrolment_but_never_a_patient()
 {
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
        app.post("/api/clinics", Some(&root.access), &clinic_body())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{clinic}");
    let id = clinic["id"].as_str().expect("id").to_string();
    let staff = |email: &str, role: &str| json!({"email": email, "full_name": "Pessoa da Equipe", "password": PASSWORD, "role": role});
    for (email, role) in [
        ("gestora@horizonte.com.br", "clinic_admin"),
        ("recepcao@horizonte.com.br", "receptionist"),
    ] {
        let resp = app
            .post(
                &format!("/api/clinics/{id}/staff"),
                Some(&root.access),
                &staff(email, role),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let physio = json!({"email": "fisio@horizonte.com.br", "full_name": "Otávio Lins", "password": PASSWORD,
        "profession": "physiotherapist", "council": "CREFITO", "council_number": "12345-F", "council_uf": "PR"});
    let resp = app
        .post(
            &format!("/api/clinics/{id}/professionals"),
            Some(&root.access),
            &physio,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let admin = app.login("gestora@horizonte.com.br", PASSWORD).await;
    let recep = app.login("recepcao@horizonte.com.br", PASSWORD).await;
    let security = format!("/api/clinics/{id}/security");
    // A socket the professional opened before the policy.
    let early = app.login("fisio@horizonte.com.br", PASSWORD).await;
    let mut early_ws = app.ws(&early).await;
    let physio_id = early.me["id"].as_str().expect("id").to_string();

    // Only an admin sets the policy, and only once enrolled herself.
    assert_error(
        app.client
            .put(app.url(&security))
            .bearer_auth(&recep.access)
            .json(&json!({"require_mfa": true}))
            .send()
            .await
            .expect("put"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
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
    enrol(&app, &admin).await;
    let (status, body) = json_of(put(json!({"require_mfa": true})).await.expect("put")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = json_of(app.get(&security, Some(&admin.access)).await).await;
    assert_eq!(body["require_mfa"], true);

    // Her socket opened before the policy joins nothing more.
    let reply = early_ws
        .request(&format!("user:{physio_id}"), "join", json!({}))
        .await;
    assert_eq!(reply["payload"]["status"], "error", "{reply}");
    assert_eq!(
        reply["payload"]["code"], "mfa_enrolment_required",
        "{reply}"
    );
    // The professional's session can only enrol.
    let physio = app.login("fisio@horizonte.com.br", PASSWORD).await;
    assert_eq!(physio.me["mfa_enrolment_required"], true, "{}", physio.me);
    let members = format!("/api/clinics/{id}/members");
    assert_error(
        app.get(&members, Some(&physio.access)).await,
        StatusCode::FORBIDDEN,
        "mfa_enrolment_required",
    )
    .await;
    assert_error(
        app.post("/api/ws/ticket", Some(&physio.access), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "mfa_enrolment_required",
    )
    .await;
    let (_, st) = json_of(app.get("/api/me/mfa", Some(&physio.access)).await).await;
    assert_eq!(st["enrolment_required"], true, "{st}");
    // Enrolling frees the same session.
    enrol(&app, &physio).await;
    let (status, _) = json_of(app.get(&members, Some(&physio.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    // And from now on the login asks for the code.
    password_step(&app, "fisio@horizonte.com.br", None).await;

    // Receptionists are not covered by the policy; patients are never forced.
    let (status, _) = json_of(app.get(&members, Some(&recep.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    patient(&app, "paciente@exemplo.com.br", 15).await;
    let pat = app.login("paciente@exemplo.com.br", PASSWORD).await;
    assert_eq!(pat.me["mfa_enrolment_required"], false);
    let (status, _) = json_of(app.get("/api/me/consents", Some(&pat.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    let _ = app.ticket(&pat).await;

    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let policy = rows
        .iter()
        .find(|r| r.action == "clinic.mfa_policy_changed")
        .expect("policy change audited");
    assert!(policy.details.contains("true"), "{}", policy.details);
}
