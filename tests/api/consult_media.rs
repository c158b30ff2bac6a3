//! The server's own WebRTC peers, driven by real webrtc-rs clients over HTTP: the pre-call
//! check sends the patient's video back and reports round-trip time, loss, bitrate and a
//! verdict; the media relay carries video between professional, patient and an invited
//! interpreter; `fallback` moves a call onto the relay, `never` refuses it. Also the in-call
//! chat (stored, replayed after a reconnect) and the call nobody attends ending by itself.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use webrtc::data_channel::DataChannelEvent;

use crate::consult_webrtc::admitted;
use crate::consults::{Consult, assert_error_code, consult_fixture, ok, patient_ws, refused};
use crate::helpers::*;
use crate::webrtc_media::{Client, client, pump};
use atende::config::RelayMode;

async fn invite(app: &TestApp, c: &Consult, bearer: &str, body: Value) -> (StatusCode, Value) {
    post_sdp(
        app,
        &format!("/api/consults/{}/guests", c.id),
        Some(bearer),
        body,
    )
    .await
}

fn refusal(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(
        (status, body["code"].as_str()),
        (want, Some(code)),
        "{body}"
    );
}

async fn post_sdp(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    json_of(app.post(path, bearer, &body).await).await
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_pre_call_check_sends_the_video_back_and_judges_the_connection() {
    let app = crate::consults::spawn().await;
    let c = consult_fixture(&app).await;
    let check = format!("/api/consults/{}/media/check?token={}", c.id, c.token);

    let phone = client().await;
    let (track, ssrc) = phone.send_video().await;
    let dc = phone
        .pc
        .create_data_channel("check", None)
        .await
        .expect("data channel");
    let offer = phone.offer().await;
    let (status, body) = post_sdp(&app, &check, None, json!({"sdp": offer})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    phone.accept(body["sdp"].as_str().expect("answer")).await;
    phone.wait_connected().await;
    let _pump = pump(track, ssrc);

    // What the camera sends comes back from the server.
    phone.receives_more_than(20_000).await;

    // The server pings over the data channel; we answer; it reports and judges.
    let mut verdict = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while verdict.is_none() && tokio::time::Instant::now() < deadline {
        let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(2), dc.poll()).await else {
            continue;
        };
        let DataChannelEvent::OnMessage(m) = ev else {
            continue;
        };
        let v: Value = serde_json::from_slice(&m.data).expect("json");
        match v["type"].as_str() {
            Some("ping") => {
                dc.send_text(&json!({"type": "pong", "id": v["id"]}).to_string())
                    .await
                    .expect("pong");
            }
            Some("report") if v["verdict"] != "measuring" => verdict = Some(v),
            Some("report") => {}
            other => panic!("unexpected message {other:?}: {v}"),
        }
    }
    let report = verdict.expect("a verdict within 15 s");
    // Loopback at ~400 kbit/s: a good connection, measured.
    assert_eq!(report["verdict"], "good", "{report}");
    assert_eq!(report["message"], "Sua conexão está boa.");
    assert!(
        report["rtt_ms"].as_u64().is_some_and(|r| r < 200),
        "{report}"
    );
    assert!(
        report["kbps"].as_u64().is_some_and(|k| k >= 150),
        "{report}"
    );
    assert!(
        report["loss_pct"].as_f64().is_some_and(|l| l < 3.0),
        "{report}"
    );
    let _ = phone.pc.close().await;

    // Bad input and strangers.
    let (status, body) = post_sdp(&app, &check, None, json!({"sdp": "hello"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_sdp");
    let (status, body) = post_sdp(
        &app,
        &check,
        None,
        json!({"sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nthis is not sdp"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_sdp");
    let tampered = format!("/api/consults/{}/media/check?token={}x", c.id, c.token);
    let (status, body) = post_sdp(&app, &tampered, None, json!({"sdp": "v=0"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let maria = app.login("maria@paciente.demo", PW).await;
    let (status, _) = post_sdp(
        &app,
        &format!("/api/consults/{}/media/check", c.id),
        Some(&maria.access),
        json!({"sdp": "v=0"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Publish fake video as `who` (a bearer or a link token); returns the publisher id.
async fn publish(
    app: &TestApp,
    c: &Consult,
    auth: Auth<'_>,
    client: &Client,
) -> (String, tokio::task::JoinHandle<()>) {
    let (track, ssrc) = client.send_video().await;
    let offer = client.offer().await;
    let (status, body) = post_sdp(
        app,
        &auth.path(&c.id, "media/publish"),
        auth.bearer(),
        json!({"sdp": offer}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "publish: {body}");
    client.accept(body["sdp"].as_str().expect("answer")).await;
    client.wait_connected().await;
    (
        body["publisher_id"]
            .as_str()
            .expect("publisher id")
            .to_string(),
        pump(track, ssrc),
    )
}

/// Subscribe `client` to a publisher.
async fn subscribe(app: &TestApp, c: &Consult, auth: Auth<'_>, client: &Client, publisher: &str) {
    client.receive_only().await;
    let offer = client.offer().await;
    let (status, body) = post_sdp(
        app,
        &auth.path(&c.id, "media/subscribe"),
        auth.bearer(),
        json!({"sdp": offer, "publisher_id": publisher}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "subscribe: {body}");
    client.accept(body["sdp"].as_str().expect("answer")).await;
    client.wait_connected().await;
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Bearer(&'a str),
    Link(&'a str),
}

impl Auth<'_> {
    fn path(&self, id: &str, rest: &str) -> String {
        match self {
            Auth::Bearer(_) => format!("/api/consults/{id}/{rest}"),
            Auth::Link(t) => format!("/api/consults/{id}/{rest}?token={t}"),
        }
    }

    fn bearer(&self) -> Option<&str> {
        match self {
            Auth::Bearer(t) => Some(t),
            Auth::Link(_) => None,
        }
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_interpreter_joins_and_video_flows_between_all_three_through_the_relay() {
    let app = crate::consults::spawn_with(|s| {
        s.media.relay = RelayMode::Always;
    })
    .await;
    let c = consult_fixture(&app).await;
    let doctor_auth = Auth::Bearer(&c.a.helena.access);
    let patient_auth = Auth::Link(&c.token);

    // Before admission nothing is relayed.
    let early = client().await;
    early.send_video().await;
    let offer = early.offer().await;
    let (status, body) = post_sdp(
        &app,
        &patient_auth.path(&c.id, "media/publish"),
        None,
        json!({"sdp": offer}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not_admitted");
    let _ = early.pc.close().await;

    let (topic, mut doctor_ws, mut phone_ws) = admitted(&app, &c).await;
    let state = ok(&mut doctor_ws, &topic, "enter", json!({})).await;
    assert_eq!(state["media"], "relay", "{state}");
    assert_eq!(state["relay_mode"], "always");

    // Professional and patient publish; each receives the other through the server.
    let doctor_pub = client().await;
    let (doctor_id, _p1) = publish(&app, &c, doctor_auth, &doctor_pub).await;
    let phone_pub = client().await;
    let (phone_id, _p2) = publish(&app, &c, patient_auth, &phone_pub).await;
    let listed = phone_ws
        .push_matching("consult.media", |p| {
            p["publishers"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    let roles: Vec<&str> = listed["publishers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["role"].as_str())
        .collect();
    assert_eq!(roles, ["patient", "professional"], "{listed}");
    let doctor_sees_phone = client().await;
    subscribe(&app, &c, doctor_auth, &doctor_sees_phone, &phone_id).await;
    let phone_sees_doctor = client().await;
    subscribe(&app, &c, patient_auth, &phone_sees_doctor, &doctor_id).await;
    doctor_sees_phone.receives_more_than(20_000).await;
    phone_sees_doctor.receives_more_than(20_000).await;

    // One's own publication is not for subscribing; an unknown one is gone.
    let me = client().await;
    me.receive_only().await;
    let offer = me.offer().await;
    let (status, body) = post_sdp(
        &app,
        &doctor_auth.path(&c.id, "media/subscribe"),
        doctor_auth.bearer(),
        json!({"sdp": offer, "publisher_id": doctor_id}),
    )
    .await;
    refusal(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_publisher",
    );
    let (status, _) = post_sdp(
        &app,
        &doctor_auth.path(&c.id, "media/subscribe"),
        doctor_auth.bearer(),
        json!({"sdp": offer, "publisher_id": uuid::Uuid::new_v4()}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only the professional invites; the patient cannot.
    let (status, _) = invite(
        &app,
        &c,
        &c.a.joao.access,
        json!({"name": "Tia Rosa", "relation": "family"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = invite(
        &app,
        &c,
        &c.a.helena.access,
        json!({"name": "Ana", "relation": "cousin"}),
    )
    .await;
    refusal(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_relation",
    );
    let (status, invite) = invite(
        &app,
        &c,
        &c.a.helena.access,
        json!({"name": "Ana Intérprete", "relation": "interpreter"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let guest_token = invite["link"]
        .as_str()
        .expect("link")
        .strip_prefix("/#/consulta/")
        .expect("path")
        .to_string();

    // The guest's page: who invited them, to whose consultation.
    let (status, preview) = json_of(
        app.get(&format!("/api/public/consults/{guest_token}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["as"], "guest");
    assert_eq!(preview["guest_name"], "Ana Intérprete");
    assert_eq!(preview["professional_name"], "Helena Duarte");

    // The guest joins the room (presence and participants say so), but cannot signal,
    // admit or end.
    let mut guest_ws = patient_ws(&app, &guest_token).await;
    guest_ws.join(&topic, None).await;
    let s = ok(&mut guest_ws, &topic, "enter", json!({})).await;
    assert!(
        s["participants"].to_string().contains("Ana Intérprete"),
        "{s}"
    );
    doctor_ws
        .push_matching("presence.join", |p| p["name"] == "Ana Intérprete")
        .await;
    for event in ["admit", "end"] {
        assert_error_code(
            refused(&mut guest_ws, &topic, event, json!({})).await,
            "forbidden",
        );
    }
    assert_error_code(
        refused(
            &mut guest_ws,
            &topic,
            "signal",
            json!({"to": "patient", "type": "restart-request"}),
        )
        .await,
        "forbidden",
    );

    // The guest publishes and receives both; both receive the guest.
    let guest_auth = Auth::Link(&guest_token);
    let guest_pub = client().await;
    let (guest_id, _p3) = publish(&app, &c, guest_auth, &guest_pub).await;
    let guest_sees_doctor = client().await;
    subscribe(&app, &c, guest_auth, &guest_sees_doctor, &doctor_id).await;
    let guest_sees_phone = client().await;
    subscribe(&app, &c, guest_auth, &guest_sees_phone, &phone_id).await;
    let doctor_sees_guest = client().await;
    subscribe(&app, &c, doctor_auth, &doctor_sees_guest, &guest_id).await;
    for c in [&guest_sees_doctor, &guest_sees_phone, &doctor_sees_guest] {
        c.receives_more_than(20_000).await;
    }
    let (_, list) = json_of(
        app.get(
            &format!("/api/consults/{}/media", c.id),
            Some(&c.a.helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(
        list["publishers"].as_array().map(Vec::len),
        Some(3),
        "{list}"
    );

    // The patient's page reloads: publishing again replaces the old publication.
    let phone_again = client().await;
    let (phone_id2, _p4) = publish(&app, &c, patient_auth, &phone_again).await;
    assert_ne!(phone_id2, phone_id);
    let (_, list) = json_of(
        app.get(
            &format!("/api/consults/{}/media", c.id),
            Some(&c.a.helena.access),
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = list["publishers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["publisher_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3, "{list}");
    assert!(
        ids.contains(&phone_id2.as_str()) && !ids.contains(&phone_id.as_str()),
        "{list}"
    );

    // Leaving removes the guest's publication for everyone.
    let resp = app
        .client
        .delete(app.url(&guest_auth.path(&c.id, "media/publish")))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    doctor_ws
        .push_matching("consult.media", |p| {
            p["publishers"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;

    // The professional ends the call: the relay lets go of everyone.
    ok(&mut doctor_ws, &topic, "end", json!({})).await;
    for _ in 0..100 {
        if app.state.media.peer_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.state.media.peer_count(),
        0,
        "server peers left after the call ended"
    );
    let offer = client().await;
    offer.send_video().await;
    let sdp = offer.offer().await;
    let (status, body) = post_sdp(
        &app,
        &patient_auth.path(&c.id, "media/publish"),
        None,
        json!({"sdp": sdp}),
    )
    .await;
    refusal(status, &body, StatusCode::CONFLICT, "consult_ended");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn fallback_moves_a_failed_call_onto_the_relay_and_never_mode_refuses_it() {
    let app = crate::consults::spawn().await;
    let c = consult_fixture(&app).await;
    let (topic, mut doctor_ws, mut phone_ws) = admitted(&app, &c).await;
    let state = ok(&mut phone_ws, &topic, "enter", json!({})).await;
    assert_eq!(
        (state["media"].as_str(), state["relay_mode"].as_str()),
        (Some("p2p"), Some("fallback")),
        "{state}"
    );

    // Peer to peer for now: the relay is not in use.
    let early = client().await;
    early.send_video().await;
    let offer = early.offer().await;
    let (status, body) = post_sdp(
        &app,
        &format!("/api/consults/{}/media/publish?token={}", c.id, c.token),
        None,
        json!({"sdp": offer}),
    )
    .await;
    refusal(status, &body, StatusCode::CONFLICT, "relay_not_active");

    // The patient's direct connection failed: they ask for the relay; both sides are told.
    let s = ok(&mut phone_ws, &topic, "use-relay", json!({})).await;
    assert_eq!(s["media"], "relay");
    doctor_ws
        .push_matching("consult.state", |p| p["media"] == "relay")
        .await;
    // It sticks: a reload still says relay.
    let (_, got) = json_of(
        app.get(&format!("/api/consults/{}", c.id), Some(&c.a.helena.access))
            .await,
    )
    .await;
    assert_eq!(got["media"], "relay");
    let doctor_pub = client().await;
    let (doctor_id, _pump) = publish(&app, &c, Auth::Bearer(&c.a.helena.access), &doctor_pub).await;
    let phone_sees = client().await;
    subscribe(&app, &c, Auth::Link(&c.token), &phone_sees, &doctor_id).await;
    phone_sees.receives_more_than(20_000).await;

    // An installation that never relays refuses all of it.
    let never = crate::consults::spawn_with(|s| {
        s.media.relay = RelayMode::Never;
    })
    .await;
    let c = consult_fixture(&never).await;
    let (topic, mut doctor_ws, _phone_ws) = admitted(&never, &c).await;
    assert_error_code(
        refused(&mut doctor_ws, &topic, "use-relay", json!({})).await,
        "relay_disabled",
    );
    let (status, body) = invite(
        &never,
        &c,
        &c.a.helena.access,
        json!({"name": "Ana Intérprete", "relation": "interpreter"}),
    )
    .await;
    refusal(status, &body, StatusCode::CONFLICT, "relay_disabled");
    let (status, body) = post_sdp(
        &never,
        &format!("/api/consults/{}/media/publish", c.id),
        Some(&c.a.helena.access),
        json!({"sdp": "v=0"}),
    )
    .await;
    refusal(status, &body, StatusCode::CONFLICT, "relay_disabled");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_call_chat_reaches_everyone_and_survives_a_reconnect() {
    let app = crate::consults::spawn().await;
    let c = consult_fixture(&app).await;
    let topic = format!("consult:{}", c.id);
    let mut phone = patient_ws(&app, &c.token).await;
    phone.join(&topic, None).await;
    ok(&mut phone, &topic, "enter", json!({})).await;
    let hello = json!({"client_id": uuid::Uuid::new_v4(), "body": "Oi"});
    assert_error_code(
        refused(&mut phone, &topic, "chat", hello).await,
        "not_admitted",
    );

    let mut doctor = app.ws(&c.a.helena).await;
    doctor.join(&topic, None).await;
    ok(&mut doctor, &topic, "admit", json!({})).await;
    let client_id = uuid::Uuid::new_v4();
    let msg = json!({"client_id": client_id, "body": "  Olá, doutora! Ação ótima  "});
    let sent = ok(&mut phone, &topic, "chat", msg.clone()).await;
    let got = doctor
        .push_matching("consult.chat", |p| p["client_id"] == json!(client_id))
        .await;
    assert_eq!(got["body"], "Olá, doutora! Ação ótima");
    assert_eq!(
        (got["role"].as_str(), got["name"].as_str()),
        (Some("patient"), Some("João")),
        "{got}"
    );
    // A retried send (same client id) is not stored twice.
    let again = ok(&mut phone, &topic, "chat", msg).await;
    assert_eq!(again["id"], sent["id"]);
    let reply = ok(
        &mut doctor,
        &topic,
        "chat",
        json!({"client_id": uuid::Uuid::new_v4(), "body": "Oi, João. Estou ouvindo."}),
    )
    .await;
    assert_eq!(
        reply["seq"].as_i64(),
        sent["seq"].as_i64().map(|s| s + 1),
        "one stored message each"
    );
    for bad in [
        json!({"client_id": uuid::Uuid::new_v4(), "body": "   "}),
        json!({"client_id": uuid::Uuid::new_v4(), "body": "x".repeat(2001)}),
        json!({"client_id": "nope", "body": "oi"}),
        json!({"body": "oi"}),
    ] {
        assert_error_code(
            refused(&mut phone, &topic, "chat", bad).await,
            "invalid_payload",
        );
    }

    // The patient's page reloads: joining from before the first message replays both.
    phone.close().await;
    let mut phone = patient_ws(&app, &c.token).await;
    let since = sent["seq"].as_i64().expect("seq") - 1;
    phone.join(&topic, Some(since)).await;
    let first = phone
        .push_matching("consult.chat", |p| p["role"] == "patient")
        .await;
    assert_eq!(first["body"], "Olá, doutora! Ação ótima");
    let second = phone
        .push_matching("consult.chat", |p| p["role"] == "professional")
        .await;
    assert_eq!(second["name"], "Helena Duarte");

    // Refused sends do not count against the rate limit (30 a minute); stored ones do.
    let mut sent_now = 1; // the first message above, this minute
    while sent_now < 30 {
        ok(
            &mut phone,
            &topic,
            "chat",
            json!({"client_id": uuid::Uuid::new_v4(), "body": format!("mensagem {sent_now}")}),
        )
        .await;
        sent_now += 1;
    }
    assert_error_code(
        refused(
            &mut phone,
            &topic,
            "chat",
            json!({"client_id": uuid::Uuid::new_v4(), "body": "mais uma"}),
        )
        .await,
        "rate_limited",
    );
    // The professional has a budget of their own.
    ok(
        &mut doctor,
        &topic,
        "chat",
        json!({"client_id": uuid::Uuid::new_v4(), "body": "Tudo certo."}),
    )
    .await;

    // Someone else's session's chat is out of reach.
    let maria = app.login("maria@paciente.demo", PW).await;
    let mut other = app.ws(&maria).await;
    let r = other.request(&topic, "join", json!({})).await;
    assert_eq!(r["payload"]["status"], "error", "{r}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_call_nobody_attends_ends_by_itself() {
    let app = crate::consults::spawn_with(|s| {
        s.consult.empty_call_timeout_secs = 3;
    })
    .await;
    let c = consult_fixture(&app).await;
    let (topic, doctor, phone) = admitted(&app, &c).await;
    // While someone is connected the call goes on, however long.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_, s) = json_of(
        app.get(&format!("/api/consults/{}", c.id), Some(&c.a.helena.access))
            .await,
    )
    .await;
    assert_eq!(s["status"], "in_call", "{s}");
    // Both leave (closed tabs): after the timeout the call ends, once, and it is audited.
    phone.close().await;
    doctor.close().await;
    let mut ended = None;
    for _ in 0..40 {
        let (_, s) = json_of(
            app.get(&format!("/api/consults/{}", c.id), Some(&c.a.helena.access))
                .await,
        )
        .await;
        if s["status"] == "ended" {
            ended = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let s = ended.expect("the empty call ended within 20 s");
    assert_eq!(s["ended_reason"], "abandoned", "{s}");
    let mut doctor = app.ws(&c.a.helena).await;
    doctor.join(&topic, None).await;
    assert_error_code(
        refused(&mut doctor, &topic, "admit", json!({})).await,
        "consult_ended",
    );
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let ends: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "consult.end" && r.entity_id.as_deref() == Some(c.id.as_str()))
        .collect();
    assert_eq!(ends.len(), 1, "ended once");
    assert!(
        ends[0].details.contains("abandoned"),
        "{:?}",
        ends[0].details
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_node_holding_its_maximum_of_server_peers_refuses_more_clearly() {
    let app = crate::consults::spawn_with(|s| {
        s.media.max_peers = 1;
    })
    .await;
    let c = consult_fixture(&app).await;
    let check = format!("/api/consults/{}/media/check?token={}", c.id, c.token);
    let first = client().await;
    first.send_video().await;
    let (status, body) = post_sdp(&app, &check, None, json!({"sdp": first.offer().await})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    first.accept(body["sdp"].as_str().expect("answer")).await;
    let second = client().await;
    second.send_video().await;
    let (status, body) = post_sdp(&app, &check, None, json!({"sdp": second.offer().await})).await;
    refusal(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "media_unavailable",
    );
    assert_eq!(app.state.media.peer_count(), 1);
}

/// Wait (up to 5 s) for this node's server peer count to reach `want`.
async fn peers_settle_at(app: &TestApp, want: usize) {
    for _ in 0..100 {
        if app.state.media.peer_count() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.state.media.peer_count(), want, "server peers");
}

/// Start a pre-call check as `path` says; the client stays connected.
async fn start_check(app: &TestApp, path: &str, bearer: Option<&str>) -> Client {
    let phone = client().await;
    phone.send_video().await;
    let (status, body) = post_sdp(app, path, bearer, json!({"sdp": phone.offer().await})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    phone.accept(body["sdp"].as_str().expect("answer")).await;
    phone.wait_connected().await;
    phone
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_link_runs_one_pre_call_check_at_a_time() {
    let app = crate::consults::spawn().await;
    let c = consult_fixture(&app).await;
    let link = format!("/api/consults/{}/media/check?token={}", c.id, c.token);
    let _first = start_check(&app, &link, None).await;
    peers_settle_at(&app, 1).await;
    // The page reloads (or a second tab opens): the new check replaces the old one.
    let _second = start_check(&app, &link, None).await;
    peers_settle_at(&app, 1).await;
    // The professional's own check is theirs: it runs alongside.
    let _doctor = start_check(
        &app,
        &format!("/api/consults/{}/media/check", c.id),
        Some(&c.a.helena.access),
    )
    .await;
    peers_settle_at(&app, 2).await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_professional_takes_an_invitation_back_and_the_guest_is_out() {
    let app = crate::consults::spawn_with(|s| {
        s.media.relay = RelayMode::Always;
    })
    .await;
    let c = consult_fixture(&app).await;
    let (topic, mut doctor_ws, _phone_ws) = admitted(&app, &c).await;
    let doctor_auth = Auth::Bearer(&c.a.helena.access);
    let guests = format!("/api/consults/{}/guests", c.id);
    let (status, inv) = invite(
        &app,
        &c,
        &c.a.helena.access,
        json!({"name": "Tia Rosa", "relation": "family"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let guest_id = inv["guest_id"].as_str().expect("guest id").to_string();
    let guest_token = inv["link"]
        .as_str()
        .and_then(|l| l.strip_prefix("/#/consulta/"))
        .expect("link")
        .to_string();
    let guest_auth = Auth::Link(&guest_token);

    // The guest is in the call: connected, publishing, and receiving the professional.
    let mut guest_ws = patient_ws(&app, &guest_token).await;
    guest_ws.join(&topic, None).await;
    ok(&mut guest_ws, &topic, "enter", json!({})).await;
    let doctor_pub = client().await;
    let (doctor_id, _p1) = publish(&app, &c, doctor_auth, &doctor_pub).await;
    let guest_pub = client().await;
    let (guest_pub_id, _p2) = publish(&app, &c, guest_auth, &guest_pub).await;
    let guest_sees_doctor = client().await;
    subscribe(&app, &c, guest_auth, &guest_sees_doctor, &doctor_id).await;
    let doctor_sees_guest = client().await;
    subscribe(&app, &c, doctor_auth, &doctor_sees_guest, &guest_pub_id).await;
    guest_sees_doctor.receives_more_than(20_000).await;
    // (And checking their camera again in another tab.)
    let _guest_check = start_check(
        &app,
        &format!("/api/consults/{}/media/check?token={guest_token}", c.id),
        None,
    )
    .await;
    peers_settle_at(&app, 5).await;

    // Only the professional lists and revokes invitations.
    // The patient is a participant (403); the receptionist is not one (404, as for
    // every consult route).
    for (who, refused) in [
        (&c.a.joao, StatusCode::FORBIDDEN),
        (&c.a.recep, StatusCode::NOT_FOUND),
    ] {
        let (status, _) = json_of(app.get(&guests, Some(&who.access)).await).await;
        assert_eq!(status, refused);
        let resp = app
            .client
            .delete(app.url(&format!("{guests}/{guest_id}")))
            .bearer_auth(&who.access)
            .send()
            .await
            .expect("delete");
        assert_eq!(resp.status(), refused);
    }
    let (status, list) = json_of(app.get(&guests, Some(&c.a.helena.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list[0]["name"], "Tia Rosa", "{list}");
    assert_eq!(list[0]["relation"], "family");
    assert!(list[0]["revoked_at"].is_null(), "{list}");
    assert_eq!(list[0]["link"], inv["link"], "the link to copy again");

    let revoke = |id: String| {
        let (app, token) = (&app, c.a.helena.access.clone());
        let url = app.url(&format!("{guests}/{id}"));
        async move {
            app.client
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("delete")
                .status()
        }
    };
    assert_eq!(revoke(guest_id.clone()).await, StatusCode::NO_CONTENT);

    // Out: the connection closes, the others see them leave, their media stops.
    assert_eq!(
        guest_ws.ended(Duration::from_secs(5)).await,
        crate::ws_client::Ended::Closed(Some(1008))
    );
    doctor_ws
        .push_matching("presence.leave", |p| p["name"] == "Tia Rosa")
        .await;
    doctor_ws
        .push_matching("consult.media", |p| {
            p["publishers"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    // Left: the professional's publication only (the guest's publication, the
    // professional's subscription to it, the guest's subscription and check are closed).
    peers_settle_at(&app, 1).await;

    // The link is dead everywhere, with a clear reason.
    let (status, body) = json_of(
        app.get(&format!("/api/public/consults/{guest_token}"), None)
            .await,
    )
    .await;
    refusal(status, &body, StatusCode::UNAUTHORIZED, "link_revoked");
    let again = client().await;
    again.send_video().await;
    let (status, body) = post_sdp(
        &app,
        &guest_auth.path(&c.id, "media/publish"),
        None,
        json!({"sdp": again.offer().await}),
    )
    .await;
    refusal(status, &body, StatusCode::UNAUTHORIZED, "link_revoked");
    let mut ws = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("connects");
    let reply = ws
        .request("system", "auth", json!({"consult": guest_token}))
        .await;
    assert_eq!(reply["payload"]["code"], "link_revoked", "{reply}");

    // Revoking again changes nothing; a stranger's id is unknown.
    assert_eq!(revoke(guest_id.clone()).await, StatusCode::NO_CONTENT);
    assert_eq!(
        revoke(uuid::Uuid::new_v4().to_string()).await,
        StatusCode::NOT_FOUND
    );
    let (_, list) = json_of(app.get(&guests, Some(&c.a.helena.access)).await).await;
    assert!(list[0]["revoked_at"].is_string(), "{list}");
    assert!(list[0]["link"].is_null(), "{list}");
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    let revoked: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "consult.guest_revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "audited once");
    assert!(revoked[0].details.contains(&guest_id));
}
