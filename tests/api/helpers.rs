use std::collections::BTreeMap;

use actix_web::web;
use atende::app::state::AppState;
use atende::config::{Secret, Settings};
use atende::startup::Application;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

/// Every demo account's password.
pub const PW: &str = atende::demo::DEMO_PASSWORD;

pub struct TestApp {
    pub shutdown: atende::startup::Shutdown,
    pub address: String,
    pub client: reqwest::Client,
    pub state: web::Data<AppState>,
    pub db_url: String,
    /// The clock the app's newer use cases read: tests move it forward.
    pub clock: std::sync::Arc<atende::clock::TestClock>,
    /// The PostgreSQL database this app created (admin URL, name): dropped with it.
    owned_database: Option<(String, String)>,
    _dir: tempfile::TempDir,
    /// The app's maildir (`messaging.mail_dir`), outside its data directory: mail is not
    /// data (backups leave it out).
    _mail: tempfile::TempDir,
}

impl Drop for TestApp {
    /// Drop the test's own PostgreSQL database, so test runs do not pile databases up.
    fn drop(&mut self) {
        if let Some((admin, name)) = self.owned_database.take() {
            drop_postgres_database(admin, name);
        }
    }
}

/// Drop a test database (its connections too), from a thread of its own: callable from
/// `Drop`, inside or outside a runtime. Never panics (it runs while a failed test unwinds,
/// where a second panic would abort the process and hide the first one's message): a
/// thread that cannot start leaves the database to `.ci/run`'s sweep.
pub fn drop_postgres_database(admin: String, name: String) {
    let dropping = std::thread::Builder::new().spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
            }
        });
    });
    if let Ok(handle) = dropping {
        let _ = handle.join();
    }
}

/// The value of an unlabelled metric in a Prometheus text page.
pub fn metric_value(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// A logged-in caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub me: Value,
}

impl Session {
    /// The id of the first clinic this user has the given role in.
    pub fn clinic(&self, role: &str) -> String {
        self.me["memberships"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["role"] == role))
            .and_then(|m| m["clinic_id"].as_str())
            .unwrap_or_else(|| panic!("no {role} membership in {}", self.me))
            .to_string()
    }

    /// The id of the clinic's record of this patient that their account is linked to (the
    /// demo links João and Maria to their records in Aurora, and Maria in Boa Vista too).
    pub fn record_at(&self, clinic: &str) -> String {
        self.me["linked_records"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["clinic_id"] == clinic))
            .and_then(|l| l["patient_id"].as_str())
            .unwrap_or_else(|| panic!("no record linked at {clinic} in {}", self.me))
            .to_string()
    }

    /// The first clinic record linked to this patient's account (Aurora for the demo's).
    pub fn first_record(&self) -> Value {
        self.me["linked_records"][0]["patient_id"].clone()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Start the app with test settings, adjusted by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_node(None, tweak).await
}

/// Keep a failing test's own panic message in view: the default hook prints every panic
/// after the first on a thread (a destructor that panics while the test unwinds) with a
/// forced full backtrace, which pushes the first message out of the log tail CI shows. Here
/// the first panic on a thread is printed as usual, later ones in one line.
fn compact_repeated_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            thread_local!(static SEEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
            let earlier = SEEN.with(|n| n.replace(n.get() + 1));
            if earlier == 0 {
                default(info);
            } else {
                eprintln!(
                    "thread '{}' panicked again ({} after its first panic): {info}",
                    std::thread::current().name().unwrap_or("?"),
                    earlier
                );
            }
        }));
    });
}

/// Start a node; with `shared_db` it joins an existing database (multi-node tests).
pub async fn spawn_node(shared_db: Option<String>, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    compact_repeated_panics();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::load_from(None, &[]).expect("default settings");
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.data.dir = dir.path().to_path_buf();
    settings.log.level = "warn".into();
    settings.security.jwt_secret = Secret::new("test-jwt-secret-0123456789-abcdefghijkl".into());
    settings.security.encryption_active_key = "t1".into();
    settings.security.encryption_keys = BTreeMap::from([(
        "t1".to_string(),
        Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
    )]);
    // One audit key for every node of a test (they share a database and its chain).
    settings.security.audit_active_key = "ta1".into();
    settings.security.audit_keys = BTreeMap::from([(
        "ta1".to_string(),
        Secret::new("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=".to_string()),
    )]);
    // Tests anchor the audit chain when they mean to (TestApp::anchor_audit).
    settings.audit.anchor_interval_secs = 86_400;
    let mut owned_database = None;
    let db_url = match (shared_db, std::env::var("TEST_DATABASE_URL")) {
        (Some(url), _) => url,
        (None, Ok(admin_url)) if !admin_url.is_empty() => {
            let url = fresh_postgres_database(&admin_url).await;
            let name = url.rsplit('/').next().unwrap_or_default().to_string();
            owned_database = Some((admin_url, name));
            url
        }
        _ => {
            if std::env::var("CI").as_deref() == Ok("true")
                && std::env::var("ATENDE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1")
            {
                panic!("ATENDE_TEST_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set");
            }
            format!("sqlite://{}", dir.path().join("test.db").display())
        }
    };
    settings.database.url = Secret::new(db_url.clone());
    settings.database.max_connections = 5;
    // E-mail needs no SMTP server: each one is written to the app's own maildir (a test
    // that configures SMTP sends there instead).
    let mail = tempfile::tempdir().expect("tempdir");
    settings.messaging.mail_dir = mail.path().display().to_string();
    tweak(&mut settings);
    let clock = atende::clock::TestClock::new();
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let shutdown = app.shutdown_handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        shutdown,
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Below the server's 5 s keep-alive, so an idle connection is never reused at
            // the moment the server closes it (a spurious IncompleteMessage).
            .pool_idle_timeout(std::time::Duration::from_secs(3))
            .build()
            .expect("client"),
        state,
        db_url,
        clock,
        owned_database,
        _dir: dir,
        _mail: mail,
    }
}

/// Create an empty database named after a fresh UUID next to the admin URL's database.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    let name = format!("atende_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin_url
        .split_once('?')
        .map_or((admin_url, ""), |(b, q)| (b, q));
    let cut = base.rfind('/').expect("database url has a path");
    format!("{}/{name}", &base[..cut])
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("{}/ws{query}", self.address.replacen("http://", "ws://", 1))
    }

    /// A single-use WebSocket ticket for this session.
    pub async fn ticket(&self, s: &Session) -> String {
        let (status, body) = json_of(
            self.post("/api/ws/ticket", Some(&s.access), &json!({}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["ticket"].as_str().expect("ticket").to_string()
    }

    /// An authenticated WebSocket (via a ticket).
    pub async fn ws(&self, s: &Session) -> crate::ws_client::WsClient {
        let ticket = self.ticket(s).await;
        crate::ws_client::WsClient::connect(&self.ws_url(&format!("?ticket={ticket}")))
            .await
            .expect("websocket connects")
    }

    pub fn is_postgres(&self) -> bool {
        self.db_url.starts_with("postgres")
    }

    /// Where this app's e-mail lands: the test SMTP server's maildir when the test
    /// configured SMTP, else the app's own `messaging.mail_dir`.
    pub fn mail_dir(&self) -> std::path::PathBuf {
        let m = &self.state.settings.messaging;
        if m.smtp.host.is_empty() {
            std::path::PathBuf::from(&m.mail_dir)
        } else {
            std::path::PathBuf::from(std::env::var("ATENDE_TEST_MAILDIR").unwrap_or_default())
        }
    }

    /// Sign up as a patient the whole way, as a person does: ask (`POST /api/auth/signup`),
    /// open the link e-mailed to the address, confirm (`POST /api/auth/signup/confirm`).
    /// The status and caller of the confirmation — or of the request, when it was refused.
    pub async fn sign_up(&self, body: &Value) -> (StatusCode, Session) {
        let email = body["email"].as_str().expect("email").trim().to_lowercase();
        let before = self.signup_mails(&email);
        let (status, answer) = json_of(self.post("/api/auth/signup", None, body).await).await;
        if status != StatusCode::ACCEPTED {
            return (
                status,
                Session {
                    access: String::new(),
                    refresh: String::new(),
                    me: answer,
                },
            );
        }
        assert_eq!(answer, json!({"status": "verification_sent"}));
        let token = self.signup_token(&email, &before).await;
        session_from(self.confirm_signup(&token).await).await
    }

    /// `POST /api/auth/signup/confirm` with `token`.
    pub async fn confirm_signup(&self, token: &str) -> reqwest::Response {
        self.post("/api/auth/signup/confirm", None, &json!({"token": token}))
            .await
    }

    /// The `Message-ID`s of the sign-up links e-mailed to `email` so far.
    pub fn signup_mails(&self, email: &str) -> Vec<String> {
        crate::mail::mailbox::matching(&self.mail_dir(), &|m| is_signup_link_to(m, email))
            .iter()
            .filter_map(|m| m.header("Message-ID"))
            .collect()
    }

    /// The token of the next sign-up link e-mailed to `email` (one not in `seen`), once it
    /// arrives (within 20 s).
    pub async fn signup_token(&self, email: &str, seen: &[String]) -> String {
        let dir = self.mail_dir();
        for _ in 0..200 {
            let fresh = crate::mail::mailbox::matching(&dir, &|m| {
                is_signup_link_to(m, email)
                    && m.header("Message-ID").is_some_and(|id| !seen.contains(&id))
            });
            if let Some(mail) = fresh.first() {
                let link = mail.link("/#/confirmar-email/").expect("a sign-up link");
                return link.rsplit('/').next().expect("token").to_string();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no sign-up link for {email} within 20 s in {}",
            dir.display()
        );
    }

    pub async fn seed_demo(&self) {
        atende::demo::seed(&self.state).await.expect("demo seed");
    }

    /// The value of an unlabelled metric on this app's `/metrics` (`None`: not counted yet;
    /// a metric shows up only after its first update).
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let page = self.get("/metrics", None).await.text().await.expect("text");
        metric_value(&page, name)
    }

    /// A request with a JSON body, as `token`'s holder (or no one).
    async fn with_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.with_json(reqwest::Method::POST, path, token, body)
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.with_json(reqwest::Method::PATCH, path, token, body)
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.with_json(reqwest::Method::PUT, path, token, body)
            .await
    }

    pub async fn login_response(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let resp = self.login_response(email, password).await;
        let (status, s) = session_from(resp).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {}", s.me);
        s
    }

    /// `POST path` as a non-browser client does for refresh and logout: the CSRF header,
    /// the refresh token (if any) in the body, the bearer token (if any).
    pub async fn post_csrf(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("X-Atende-CSRF", "1")
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// Exchange a refresh token (in the body, with the CSRF header).
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_csrf(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Walk the audit chain and check this node's anchors.
    pub async fn verify_audit(&self) -> atende::security::audit::ChainReport {
        let keys = self.state.store.audit_keys().expect("audit keys");
        let anchors = self
            .state
            .audit
            .log()
            .read(keys)
            .expect("anchor file readable")
            .expect("anchor file valid");
        self.state
            .store
            .verify_audit_chain(anchors)
            .await
            .expect("verify")
    }

    /// Anchor the audit chain's head now (as the periodic task does).
    pub async fn anchor_audit(&self) -> atende::security::audit::Anchor {
        self.state
            .audit
            .anchor_now(&self.state.store)
            .await
            .expect("anchor")
            .expect("a new head to anchor")
    }

    /// The clinic's appointments of today (São Paulo), as `who` lists them.
    pub async fn todays_appointments(&self, clinic: &str, who: &Session) -> Vec<Value> {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::America::Sao_Paulo)
            .date_naive();
        let (status, list) = json_of(
            self.get(
                &format!("/api/clinics/{clinic}/appointments?from={today}&to={today}"),
                Some(&who.access),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().expect("list").clone()
    }

    /// Cancel the demo's appointments of today (João 14:00, Maria 14:30 with Helena), for
    /// tests whose outcome they would change at some hours of the day.
    pub async fn cancel_todays_appointments(&self, clinic: &str, who: &Session) {
        for a in self.todays_appointments(clinic, who).await {
            let resp = self
                .post(
                    &format!(
                        "/api/clinics/{clinic}/appointments/{}/cancel",
                        a["id"].as_str().expect("id")
                    ),
                    Some(&who.access),
                    &json!({"reason": "teste"}),
                )
                .await;
            assert_eq!(resp.status(), StatusCode::OK);
        }
    }
}

/// The caller of a login, sign-up or refresh answer's body (the refresh token is not in the
/// body: see [`session_from`]).
pub fn session_of(body: &Value) -> Session {
    Session {
        access: body["access_token"].as_str().expect("access").to_string(),
        refresh: String::new(),
        me: body["user"].clone(),
    }
}

/// The value of the `atende_refresh` cookie a response sets, if it sets one.
pub fn refresh_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("atende_refresh="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

/// Status and caller of a login, sign-up or refresh answer, the refresh token read from its
/// cookie as non-browser clients do (the body's fields for an error, in `me`).
pub async fn session_from(resp: reqwest::Response) -> (StatusCode, Session) {
    let refresh = refresh_cookie(&resp).unwrap_or_default();
    let (status, body) = json_of(resp).await;
    if !status.is_success() {
        let s = Session {
            access: String::new(),
            refresh,
            me: body,
        };
        return (status, s);
    }
    let mut s = session_of(&body);
    s.refresh = refresh;
    (status, s)
}

/// Status and JSON body of a response.
pub async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, value)
}

/// Assert an error response's status and stable code.
pub async fn assert_error(resp: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let (got, body) = json_of(resp).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// A sign-up link ("Confirme seu e-mail no atende") to `email`.
pub fn is_signup_link_to(m: &crate::mail::mailbox::Mail, email: &str) -> bool {
    m.header("Subject").as_deref() == Some("Confirme seu e-mail no atende")
        && m.header("To").is_some_and(|to| {
            let to = to.trim().to_lowercase();
            to == email || to.ends_with(&format!("<{email}>"))
        })
}

pub fn signup_body(email: &str, cpf: &str) -> Value {
    json!({
        "email": email,
        "password": "uma senha boa",
        "full_name": "Paula Teixeira",
        "cpf": cpf,
        "birth_date": "1988-04-09",
        "phone": "(21) 99876-5432",
        "accepted_terms_version": "2026-01"
    })
}

/// Demo data plus a chat room between João (patient) and Dra. Helena, opened by the
/// Aurora receptionist.
pub struct ChatFixture {
    pub joao: Session,
    pub helena: Session,
    pub recep: Session,
    pub room: String,
    pub topic: String,
}

pub async fn chat_fixture(app: &TestApp) -> ChatFixture {
    app.seed_demo().await;
    let joao = app.login("joao@paciente.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let body =
        json!({"patient_id": joao.record_at(&clinic), "professional_user_id": helena.me["id"]});
    let path = format!("/api/clinics/{clinic}/chat/rooms");
    let (status, room) = json_of(app.post(&path, Some(&recep.access), &body).await).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    ChatFixture {
        room: room["id"].as_str().expect("id").to_string(),
        topic: room["topic"].as_str().expect("topic").to_string(),
        joao,
        helena,
        recep,
    }
}
