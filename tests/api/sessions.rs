//! Sessions end when they should: a password change, a disabled account, a logout
//! everywhere and a removed role close the user's live sockets at once (on every node); a
//! socket lives at most `realtime.max_socket_secs`; the refresh token travels in an
//! HttpOnly cookie, and refresh and logout refuse what a cross-site page could send.

use std::time::Duration;

use atende::config::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::ws_client::{Ended, WsClient};

/// Generous: the close is meant to come within a second; this only bounds a failure.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A new receptionist of the demo's Clinic Aurora, created by its admin, logged in twice
/// (two sessions). Returns (admin, clinic id, the two sessions, the receptionist's email).
async fn new_receptionist(app: &TestApp) -> (Session, String, Session, Session, String) {
    app.seed_demo().await;
    let admin = app.login("admin@aurora.demo", PW).await;
    let clinic = admin.clinic("clinic_admin");
    let email = format!("rec-{}@aurora.test", uuid::Uuid::now_v7().simple());
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/staff"),
            Some(&admin.access),
            &json!({"email": email, "full_name": "Rita Souza", "password": "senha-inicial-1", "role": "receptionist"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first = app.login(&email, "senha-inicial-1").await;
    let second = app.login(&email, "senha-inicial-1").await;
    (admin, clinic, first, second, email)
}

/// A socket of `s` joined to its clinic's queue topic.
async fn joined(app: &TestApp, s: &Session, clinic: &str) -> WsClient {
    let mut ws = app.ws(s).await;
    ws.join(&format!("clinic:{clinic}:queue"), None).await;
    ws
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn changing_the_password_closes_the_other_sessions_sockets_at_once() {
    let app = spawn_app().await;
    let (_, clinic, me, other, email) = new_receptionist(&app).await;
    let mut mine = joined(&app, &me, &clinic).await;
    let mut theirs = joined(&app, &other, &clinic).await;

    // The current password is required.
    assert_error(
        app.post(
            "/api/auth/password",
            Some(&me.access),
            &json!({"current_password": "errada-1234", "new_password": "outra-senha-boa"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    assert!(
        theirs
            .ended_within(Duration::from_millis(300))
            .await
            .is_none()
    );

    let (status, body) = json_of(
        app.post(
            "/api/auth/password",
            Some(&me.access),
            &json!({"current_password": "senha-inicial-1", "new_password": "outra-senha-boa"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    assert_eq!(theirs.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
    assert_error(
        app.get("/api/me", Some(&other.access)).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    // The session that changed it goes on, socket included.
    assert_eq!(
        app.get("/api/me", Some(&me.access)).await.status(),
        StatusCode::OK
    );
    let r = mine.request("system", "heartbeat", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    // Only the new password logs in; the change is audited.
    assert_eq!(
        app.login_response(&email, "senha-inicial-1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login(&email, "outra-senha-boa").await;
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn disabling_the_account_without_the_bus_closes_its_sockets_within_a_second() {
    let app = spawn_app().await;
    let (_, clinic, first, second, email) = new_receptionist(&app).await;
    let mut a = joined(&app, &first, &clinic).await;
    let mut b = joined(&app, &second, &clinic).await;
    // What `atende admin disable-user` runs: another process, with no bus to this node.
    let (_, ended) = atende::app::auth::set_account_disabled(&app.state.store, &email, true)
        .await
        .expect("disable")
        .expect("account exists");
    assert_eq!(ended, 2);
    assert_eq!(a.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
    assert_eq!(b.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn setting_the_password_from_the_command_line_closes_the_users_sockets() {
    let app = spawn_app().await;
    let (_, clinic, first, _, email) = new_receptionist(&app).await;
    let mut a = joined(&app, &first, &clinic).await;
    let email = atende::domain::Email::parse(&email).expect("email");
    let password = atende::domain::Password::parse("nova-senha-forte").expect("password");
    atende::app::auth::reset_password(&app.state.store, &email, password)
        .await
        .expect("reset")
        .expect("account exists");
    assert_eq!(a.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn logging_out_everywhere_closes_every_sessions_sockets() {
    let app = spawn_app().await;
    let (_, clinic, first, second, _) = new_receptionist(&app).await;
    let mut a = joined(&app, &first, &clinic).await;
    let mut b = joined(&app, &second, &clinic).await;
    let (status, body) = json_of(
        app.post("/api/auth/logout-all", Some(&first.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);
    assert_eq!(a.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
    assert_eq!(b.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
    for s in [&first, &second] {
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
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn removing_a_role_closes_the_members_sockets_and_the_clinic_cannot_be_joined_again() {
    let app = spawn_app().await;
    let (admin, clinic, rec, _, _) = new_receptionist(&app).await;
    let rec_id = rec.me["id"].as_str().expect("id").to_string();
    let mut ws = joined(&app, &rec, &clinic).await;
    let path = format!("/api/clinics/{clinic}/members/{rec_id}/roles/receptionist");

    // Only the clinic's admins take roles away.
    let resp = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&rec.access)
        .send()
        .await
        .expect("request");
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;

    let resp = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(ws.ended(CLOSE_WAIT).await, Ended::Closed(Some(4002)));

    // The session lives on, but the clinic's topics are closed to it.
    let mut again = app.ws(&rec).await;
    let r = again
        .request(&format!("clinic:{clinic}:queue"), "join", json!({}))
        .await;
    assert_eq!(r["payload"]["status"], "error", "{r}");
    assert_eq!(r["payload"]["code"], "forbidden", "{r}");

    // Taking it again is 404; the clinic's last admin keeps the role.
    let resp = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("request");
    assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let admin_id = admin.me["id"].as_str().expect("id");
    let resp = app
        .client
        .delete(app.url(&format!(
            "/api/clinics/{clinic}/members/{admin_id}/roles/clinic_admin"
        )))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("request");
    assert_error(resp, StatusCode::CONFLICT, "last_admin").await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn role_removal_and_logout_everywhere_on_one_node_close_sockets_on_another_over_redis() {
    let Some(redis) = crate::multinode::redis_url() else {
        return;
    };
    let r = redis.clone();
    let node1 = spawn_node(None, |s| s.redis.url = Secret::new(r)).await;
    let node2 = spawn_node(Some(node1.db_url.clone()), |s| {
        s.redis.url = Secret::new(redis)
    })
    .await;
    let (admin, clinic, first, second, _) = new_receptionist(&node1).await;

    // A role taken away on node 1 closes the member's socket on node 2: only the bus
    // carries this one (no database poll looks for role changes).
    let mut far = joined(&node2, &first, &clinic).await;
    let rec_id = first.me["id"].as_str().expect("id");
    let resp = node1
        .client
        .delete(node1.url(&format!(
            "/api/clinics/{clinic}/members/{rec_id}/roles/receptionist"
        )))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(far.ended(CLOSE_WAIT).await, Ended::Closed(Some(4002)));

    // Logging out everywhere on node 1 closes the sessions' sockets on node 2.
    let mut far = node2.ws(&second).await;
    let me = format!("user:{}", second.me["id"].as_str().expect("id"));
    far.join(&me, None).await;
    let resp = node1
        .post("/api/auth/logout-all", Some(&first.access), &json!({}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(far.ended(CLOSE_WAIT).await, Ended::Closed(Some(1008)));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_socket_is_closed_for_reauthentication_after_its_maximum_lifetime() {
    let app = spawn_app_with(|s| s.realtime.max_socket_secs = 1).await;
    let (_, clinic, s, _, _) = new_receptionist(&app).await;
    let mut ws = joined(&app, &s, &clinic).await;
    assert_eq!(ws.ended(CLOSE_WAIT).await, Ended::Closed(Some(4001)));
    // The client authenticates again and carries on.
    joined(&app, &s, &clinic).await;
}

/// The attributes of the `atende_refresh` cookie a response sets (lower case, no value).
fn cookie_attributes(resp: &reqwest::Response) -> Vec<String> {
    let header = resp
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("atende_refresh="))
        .expect("an atende_refresh cookie")
        .to_string();
    header
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_refresh_token_lives_only_in_an_http_only_strict_cookie_on_the_auth_path() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let resp = app.login_response("recepcao@aurora.demo", PW).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let attrs = cookie_attributes(&resp);
    for want in ["httponly", "secure", "samesite=strict", "path=/api/auth"] {
        assert!(attrs.iter().any(|a| a == want), "{want} missing: {attrs:?}");
    }
    assert!(attrs.iter().any(|a| a.starts_with("max-age=")), "{attrs:?}");
    let cookie = refresh_cookie(&resp).expect("cookie value");
    assert!(cookie.len() >= 32);
    let (_, body) = json_of(resp).await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(!body.to_string().contains(&cookie));

    // A browser refresh: the cookie, an empty body, the CSRF header, its own Origin.
    let refresh = |cookie: &str, origin: Option<&str>, csrf: bool| {
        let mut req = app
            .client
            .post(app.url("/api/auth/refresh"))
            .header(reqwest::header::COOKIE, format!("atende_refresh={cookie}"))
            .json(&json!({}));
        if csrf {
            req = req.header("X-Atende-CSRF", "1");
        }
        if let Some(o) = origin {
            req = req.header(reqwest::header::ORIGIN, o);
        }
        req.send()
    };
    let resp = refresh(&cookie, Some(&app.address), true)
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let next = refresh_cookie(&resp).expect("a rotated cookie");
    assert_ne!(next, cookie);
    let (_, body): (_, Value) = json_of(resp).await;
    assert!(body["access_token"].is_string() && body.get("refresh_token").is_none());

    // What a page on another site could send is refused, and the token stays unspent.
    assert_error(
        refresh(&next, None, false).await.expect("request"),
        StatusCode::FORBIDDEN,
        "csrf_required",
    )
    .await;
    assert_error(
        refresh(&next, Some("https://evil.example"), true)
            .await
            .expect("request"),
        StatusCode::FORBIDDEN,
        "csrf_origin",
    )
    .await;
    let resp = refresh(&next, None, true).await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let last = refresh_cookie(&resp).expect("cookie");

    // Logout by cookie needs the header too, and deletes the cookie.
    let logout = |csrf: bool| {
        let mut req = app
            .client
            .post(app.url("/api/auth/logout"))
            .header(reqwest::header::COOKIE, format!("atende_refresh={last}"));
        if csrf {
            req = req.header("X-Atende-CSRF", "1");
        }
        req.send()
    };
    assert_error(
        logout(false).await.expect("request"),
        StatusCode::FORBIDDEN,
        "csrf_required",
    )
    .await;
    let resp = logout(true).await.expect("request");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(cookie_attributes(&resp).iter().any(|a| a == "max-age=0"));
    assert_error(
        app.refresh(&last).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
}
