//! Abuse limits: a patient's own bookings per day, sign-ups per address per day, guesses at
//! document verification codes per address, and a login lockout that slows a stranger
//! without locking the owner out of their usual device. Each answers 429 with Retry-After.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book, slots};
use crate::helpers::*;

/// The Retry-After seconds of a 429 with `code`.
async fn refused(resp: reqwest::Response, code: &str) -> u64 {
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, code).await;
    retry
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_booking_in_a_burst_is_refused_past_the_daily_quota() {
    let app = spawn_app_with(|s| s.agenda.max_bookings_per_patient_per_day = 3).await;
    let a: Agenda = agenda_fixture(&app).await;
    let free = slots(&app, &a, &a.helena).await;
    assert!(free.len() >= 10, "{free:?}");
    let requests = free[..10]
        .iter()
        .map(|t| {
            app.client
                .post(app.url(&format!("/api/clinics/{}/appointments", a.clinic)))
                .bearer_auth(&a.joao.access)
                .json(&json!({"professional_user_id": Agenda::id(&a.helena), "starts_at": t}))
        })
        .collect::<Vec<_>>();
    let answers = futures_util::future::join_all(requests.into_iter().map(|r| r.send())).await;
    let mut created = Vec::new();
    let mut limited = 0;
    for r in answers {
        let r = r.expect("response");
        match r.status() {
            StatusCode::CREATED => created.push(r.json::<Value>().await.expect("json")),
            StatusCode::TOO_MANY_REQUESTS => {
                let retry = refused(r, "booking_limit").await;
                assert!(retry > 86_000 && retry <= 86_400, "{retry}");
                limited += 1;
            }
            other => panic!("unexpected {other}: {:?}", r.text().await),
        }
    }
    assert_eq!((created.len(), limited), (3, 7));

    // A cancelled booking no longer counts; staff bookings never do.
    let id = created[0]["id"].as_str().expect("id");
    let resp = app
        .post(
            &format!("/api/clinics/{}/appointments/{id}/cancel", a.clinic),
            Some(&a.joao.access),
            &json!({"reason": "não posso"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = book(
        &app,
        &a.clinic,
        &a.joao,
        json!({"professional_user_id": Agenda::id(&a.helena), "starts_at": free[12]}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = book(
        &app,
        &a.clinic,
        &a.recep,
        json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": Agenda::patient(&a.joao),
               "starts_at": free[13]}),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{:?}",
        resp.text().await
    );
    refused(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": Agenda::id(&a.helena), "starts_at": free[14]}),
        )
        .await,
        "booking_limit",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn sign_ups_from_one_address_are_limited_per_day() {
    let app = spawn_app_with(|s| s.security.limits.signups_per_address_per_day = 2).await;
    // Requests count, whatever becomes of them: one confirmed, one to an address that
    // already has an account (the same answer, no account made).
    let (status, a) = app
        .sign_up(&signup_body("a@exemplo.com.br", "529.982.247-25"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", a.me);
    let resp = app
        .post(
            "/api/auth/signup",
            None,
            &signup_body("a@exemplo.com.br", "111.444.777-35"),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "{:?}",
        resp.text().await
    );
    let resp = app
        .post(
            "/api/auth/signup",
            None,
            &signup_body("c@exemplo.com.br", "390.533.447-05"),
        )
        .await;
    let retry = refused(resp, "signup_limit").await;
    assert!(retry > 86_000 && retry <= 86_400, "{retry}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn guessing_verification_codes_is_refused_past_a_few_misses_per_address() {
    let app = spawn_app_with(|s| s.security.limits.verification_misses_per_address = 3).await;
    for guess in ["AAAAA-BBBBB", "CCCCC-DDDDD", "abcde"] {
        let resp = app
            .get(&format!("/api/public/documents/{guess}"), None)
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
    let resp = app.get("/api/public/documents/EEEEE-FFFFF", None).await;
    let retry = refused(resp, "too_many_attempts").await;
    assert!(retry <= 900, "{retry}");
    // The same budget covers the QR code's validator entry and the PDF.
    let resp = app.get("/api/public/documents/EEEEE-FFFFF/pdf", None).await;
    refused(resp, "too_many_attempts").await;
    let resp = app
        .get(
            &format!(
                "/v/{}?_format=application/validador-iti%2Bjson&_secretCode=EEEEE-FFFFF",
                uuid::Uuid::now_v7()
            ),
            None,
        )
        .await;
    refused(resp, "too_many_attempts").await;
}

/// A login from `address` (X-Forwarded-For, trusted in these tests), with `device` as the
/// known-device cookie.
async fn login_from(
    app: &TestApp,
    address: &str,
    device: Option<&str>,
    password: &str,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"email": "dra.helena@atende.demo", "password": password}));
    if let Some(d) = device {
        req = req.header("cookie", format!("atende_device={d}"));
    }
    req.send().await.expect("request")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_stranger_is_locked_out_while_the_owner_still_logs_in_from_her_usual_device() {
    let app = spawn_app_with(|s| {
        s.server.trust_proxy_headers = true;
        s.security.login_throttle.max_failures_per_account = 3;
        s.security.login_throttle.max_attempts_per_ip = 1000;
    })
    .await;
    app.seed_demo().await;
    let home = "198.51.100.20";
    let resp = login_from(&app, home, None, PW).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .expect("known-device cookie")
        .to_str()
        .expect("ascii")
        .to_string();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/auth/login",
    ] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let device = set_cookie
        .strip_prefix("atende_device=")
        .and_then(|v| v.split(';').next())
        .expect("cookie value")
        .to_string();

    // A stranger guesses from elsewhere until the account is locked for new devices…
    let stranger = "203.0.113.7";
    for _ in 0..3 {
        let resp = login_from(&app, stranger, None, "chute-errado").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    refused(
        login_from(&app, stranger, None, PW).await,
        "too_many_attempts",
    )
    .await;
    refused(
        login_from(&app, "192.0.2.55", None, PW).await,
        "too_many_attempts",
    )
    .await;

    // The owner, from her usual device, is not locked out.
    let resp = login_from(&app, home, Some(&device), PW).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // A forged or foreign cookie does not exempt anyone.
    let resp = login_from(&app, "192.0.2.56", Some("x.y"), PW).await;
    refused(resp, "too_many_attempts").await;
}
