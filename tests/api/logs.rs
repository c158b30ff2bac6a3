//! No secret in any log line: a real `atende serve` logging at TRACE is taken through
//! sign-up, login, a failed login, token refresh, a WebSocket ticket, a one-click link, the
//! calendar feed and a verification-code lookup, and its whole log is searched for every
//! secret those handed out or received.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::refresh_cookie;
use crate::processes::{Env, PASSWORD, clinic, login, post};
use crate::ws_client::WsClient;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn no_token_code_password_or_link_reaches_the_logs_even_at_trace() {
    let env = Env::new(None).await.set("ATENDE_LOG__LEVEL", "trace");
    let mail_dir = env.dir.path().join("mail");
    let env = env
        .set(
            "ATENDE_MESSAGING__MAIL_DIR",
            &mail_dir.display().to_string(),
        )
        .set("ATENDE_MESSAGING__POLL_INTERVAL_MS", "100");
    let node = env.start().await;
    let http = reqwest::Client::new();
    let base = node.base.clone();
    let mut secrets: Vec<(&str, String)> = Vec::new();

    // Sign-up, login (and a failed one), refresh.
    let signup_password = "Sentinela-Senha-Cadastro-4821";
    let resp = http
        .post(format!("{base}/api/auth/signup"))
        .json(
            &json!({"email": "sentinela@exemplo.com.br", "password": signup_password,
               "full_name": "Paula Sentinela", "cpf": "529.982.247-25",
               "birth_date": "1988-04-09", "accepted_terms_version": "2026-01"}),
        )
        .send()
        .await
        .expect("sign-up");
    assert_eq!(resp.status(), reqwest::StatusCode::ACCEPTED, "sign-up");
    let mail = crate::mail::mailbox::wait_for(&mail_dir, "sign-up link", |m| {
        crate::helpers::is_signup_link_to(m, "sentinela@exemplo.com.br")
    })
    .await;
    let link = mail[0].link("/#/confirmar-email/").expect("sign-up link");
    let token = link.rsplit('/').next().expect("token").to_string();
    secrets.push(("sign-up link token", token.clone()));
    let resp = http
        .post(format!("{base}/api/auth/signup/confirm"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("sign-up confirmation");
    assert!(resp.status().is_success(), "sign-up: {}", resp.status());
    let signup_refresh = refresh_cookie(&resp).expect("refresh cookie");
    let signed_up: Value = resp.json().await.expect("json");
    secrets.push(("sign-up password", signup_password.into()));
    secrets.push(("sign-up access token", text(&signed_up["access_token"])));
    secrets.push(("sign-up refresh token", signup_refresh));
    let resp = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": "sentinela@exemplo.com.br", "password": signup_password}))
        .send()
        .await
        .expect("login");
    assert!(resp.status().is_success());
    let device = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find_map(|c| c.strip_prefix("atende_device="))
        .and_then(|c| c.split(';').next())
        .expect("known-device cookie")
        .to_string();
    let login_refresh = refresh_cookie(&resp).expect("refresh cookie");
    let logged_in: Value = resp.json().await.expect("json");
    secrets.push(("known-device cookie", device));
    secrets.push(("login access token", text(&logged_in["access_token"])));
    let wrong_password = "Sentinela-Senha-Errada-9932";
    let resp = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": "sentinela@exemplo.com.br", "password": wrong_password}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), reqwest::StatusCode::UNAUTHORIZED);
    secrets.push(("wrong password", wrong_password.into()));
    let resp = http
        .post(format!("{base}/api/auth/refresh"))
        .header("X-Atende-CSRF", "1")
        .json(&json!({"refresh_token": login_refresh}))
        .send()
        .await
        .expect("refresh");
    assert!(resp.status().is_success(), "refresh: {}", resp.status());
    let new_refresh = refresh_cookie(&resp).expect("refresh cookie");
    let refreshed: Value = resp.json().await.expect("json");
    secrets.push(("spent refresh token", login_refresh));
    secrets.push(("new refresh token", new_refresh));
    let access = text(&refreshed["access_token"]);
    secrets.push(("refreshed access token", access.clone()));

    // A WebSocket ticket, used, and a made-up one refused.
    let ticket = text(
        &post(
            &http,
            &format!("{base}/api/ws/ticket"),
            Some(&access),
            json!({}),
        )
        .await["ticket"],
    );
    let ws_base = base.replacen("http://", "ws://", 1);
    let ws = WsClient::connect(&format!("{ws_base}/ws?ticket={ticket}"))
        .await
        .expect("ws with ticket");
    drop(ws);
    let made_up = "sentinela-ticket-inventado-5521";
    let _ = WsClient::connect(&format!("{ws_base}/ws?ticket={made_up}")).await;
    secrets.push(("ws ticket", ticket));
    secrets.push(("made-up ws ticket", made_up.into()));

    // A one-click link, made for a booking and used; a calendar feed token.
    let clinic_id = clinic(&http, &base, "registros", "11.222.333/0001-81").await;
    let recep = login(&http, &base, "recepcao@registros.test").await;
    let doctor_login = post(
        &http,
        &format!("{base}/api/auth/login"),
        None,
        json!({"email": "medica@registros.test", "password": PASSWORD}),
    )
    .await;
    let doctor = text(&doctor_login["access_token"]);
    let patient = post(
        &http,
        &format!("{base}/api/clinics/{clinic_id}/patients"),
        Some(&recep),
        json!({"full_name": "João Sentinela", "cpf": "111.444.777-35", "birth_date": "1970-01-02"}),
    )
    .await;
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(14, 0, 0)
        .expect("time")
        .and_utc();
    let booked = post(
        &http,
        &format!("{base}/api/clinics/{clinic_id}/appointments"),
        Some(&recep),
        json!({"professional_user_id": doctor_login["user"]["id"], "patient_id": patient["id"],
               "starts_at": starts_at, "fit_in": true}),
    )
    .await;
    let link = text(&booked["links"]["confirm_path"]);
    let token = link.rsplit('/').next().expect("token").to_string();
    post(
        &http,
        &format!("{base}/api/public/links/use"),
        None,
        json!({"action": "confirm", "token": token}),
    )
    .await;
    secrets.push(("one-click link token", token));
    let feed = post(
        &http,
        &format!("{base}/api/me/ical"),
        Some(&doctor),
        json!({}),
    )
    .await;
    let path = text(&feed["path"]);
    let resp = http
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("feed");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    let feed_token = path
        .trim_start_matches("/ical/")
        .trim_end_matches(".ics")
        .to_string();
    secrets.push(("calendar feed token", feed_token));

    // Guessing a verification code.
    let guess = "QWERT-YUPAS";
    let _ = http
        .get(format!("{base}/api/public/documents/{guess}"))
        .send()
        .await;
    secrets.push(("verification code guess", guess.into()));

    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = node.log_text();
    assert!(
        log.contains("HTTP request") && log.contains("TRACE"),
        "the node logs at TRACE with request spans"
    );
    for (what, secret) in &secrets {
        assert!(secret.len() >= 8, "{what}: {secret:?}");
        if let Some(line) = log.lines().find(|l| l.contains(secret.as_str())) {
            panic!("{what} found in the log: {line}");
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}
