use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::ws_client::{Ended, WsClient};

async fn chat_setup(app: &TestApp) -> (Session, Session, Session, String) {
    let f = chat_fixture(app).await;
    (f.joao, f.helena, f.recep, f.topic)
}

fn code(reply: &Value) -> &str {
    reply["payload"]["code"].as_str().unwrap_or("")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bad_frames_get_error_replies_and_the_connection_lives_on() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let me = s.me["id"].as_str().expect("id").to_string();
    let mut ws = WsClient::connect(&app.ws_url("")).await.expect("connect");

    // Nothing but auth and heartbeat before authenticating.
    let r = ws.request(&format!("user:{me}"), "join", json!({})).await;
    assert_eq!(code(&r), "unauthenticated", "{r}");
    let r = ws.request("system", "heartbeat", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok");
    let r = ws
        .request("system", "auth", json!({"token": "garbage"}))
        .await;
    assert_eq!(code(&r), "invalid_token");
    let r = ws
        .request("system", "auth", json!({"token": s.access}))
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");

    ws.send_text("this is not json".into()).await;
    let r = ws
        .try_push("reply", Duration::from_secs(5))
        .await
        .expect("reply");
    assert_eq!(code(&r), "malformed_frame");
    ws.send_text(json!({"ref": "x", "topic": 42, "event": []}).to_string())
        .await;
    let r = ws.reply_to("x").await;
    assert_eq!(code(&r), "malformed_frame");

    let r = ws.request("clinic:nope:queue", "join", json!({})).await;
    assert_eq!(code(&r), "unknown_topic");
    let r = ws
        .request(&format!("user:{}", uuid::Uuid::now_v7()), "join", json!({}))
        .await;
    assert_eq!(code(&r), "forbidden");
    let r = ws
        .request(&format!("user:{me}"), "join", json!({"since": "yesterday"}))
        .await;
    assert_eq!(code(&r), "invalid_payload");
    let r = ws.request(&format!("user:{me}"), "dance", json!({})).await;
    assert_eq!(code(&r), "not_joined");
    ws.join(&format!("user:{me}"), None).await;
    let r = ws.request(&format!("user:{me}"), "dance", json!({})).await;
    assert_eq!(code(&r), "unknown_event");
    let r = ws.request("system", "dance", json!({})).await;
    assert_eq!(code(&r), "unknown_event");
    let r = ws.request(&format!("user:{me}"), "join", json!({})).await;
    assert_eq!(code(&r), "already_joined");

    // Still alive and useful.
    let r = ws.request("system", "heartbeat", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_ticket_opens_one_connection_only() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let ticket = app.ticket(&s).await;
    let url = app.ws_url(&format!("?ticket={ticket}"));
    let mut ws = WsClient::connect(&url).await.expect("first use works");
    let r = ws
        .request("system", "auth", json!({"token": s.access}))
        .await;
    assert_eq!(code(&r), "already_authenticated");
    assert!(
        WsClient::connect(&url).await.is_err(),
        "a spent ticket must be refused"
    );
    assert!(
        WsClient::connect(&app.ws_url("?ticket=made-up"))
            .await
            .is_err()
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_oversized_frame_closes_the_connection_with_1009() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let mut ws = app.ws(&s).await;
    ws.send_text("x".repeat(200_000)).await;
    assert_eq!(
        ws.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(1009))
    );
    // The server is fine.
    let mut again = app.ws(&s).await;
    let r = again.request("system", "heartbeat", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_silent_client_is_dropped_after_the_heartbeat_timeout() {
    let app = spawn_app_with(|s| {
        s.realtime.heartbeat_interval_secs = 1;
        s.realtime.client_timeout_secs = 2;
    })
    .await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let mut ws = app.ws(&s).await;
    ws.go_silent(Duration::from_secs(4)).await;
    assert_eq!(
        ws.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(4000))
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_unauthenticated_connection_is_closed_after_the_auth_timeout() {
    let app = spawn_app_with(|s| s.realtime.auth_timeout_secs = 1).await;
    let mut ws = WsClient::connect(&app.ws_url("")).await.expect("connect");
    assert_eq!(
        ws.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(1008))
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_flood_is_rate_limited_with_an_error_reply_and_then_cut() {
    let app = spawn_app_with(|s| {
        s.realtime.rate_per_sec = 5;
        s.realtime.rate_burst = 10;
    })
    .await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let mut ws = app.ws(&s).await;
    for _ in 0..30 {
        ws.send("system", "heartbeat", json!({})).await;
    }
    let limited = loop {
        let r = ws
            .try_push("reply", Duration::from_secs(5))
            .await
            .expect("replies");
        if code(&r) == "rate_limited" {
            break r;
        }
    };
    assert!(limited["payload"]["message"].is_string());
    // Keeps flooding: the server hangs up with 1008.
    for _ in 0..200 {
        ws.send("system", "heartbeat", json!({})).await;
    }
    assert_eq!(
        ws.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(1008))
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_client_that_stays_over_its_budget_at_a_modest_rate_is_closed() {
    let app = spawn_app_with(|s| {
        s.realtime.rate_per_sec = 10;
        s.realtime.rate_burst = 10;
        s.realtime.flood_close_secs = 2;
    })
    .await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let mut ws = app.ws(&s).await;
    // About 14 frames a second against 10: never enough refused at once to look like a
    // burst flood, but over budget without a pause.
    let mut closed = None;
    for _ in 0..150 {
        ws.send("system", "heartbeat", json!({})).await;
        if let Some(end) = ws.ended_within(Duration::from_millis(70)).await {
            closed = Some(end);
            break;
        }
    }
    assert_eq!(closed, Some(Ended::Closed(Some(1008))));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn one_user_cannot_buy_more_budget_with_more_sockets() {
    let app = spawn_app_with(|s| {
        s.realtime.user_rate_per_sec = 2;
        s.realtime.user_rate_burst = 6;
    })
    .await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let mut a = app.ws(&s).await;
    let mut b = app.ws(&s).await;
    // Each socket stays far below its own budget (20/s, burst 60), but together they pass
    // the user's burst of 6.
    let mut refs = Vec::new();
    for _ in 0..5 {
        refs.push((true, a.send("system", "heartbeat", json!({})).await));
        refs.push((false, b.send("system", "heartbeat", json!({})).await));
    }
    let mut limited = 0;
    for ws in [&mut a, &mut b] {
        while let Some(r) = ws.try_push("reply", Duration::from_millis(500)).await {
            if code(&r) == "rate_limited" {
                limited += 1;
            }
        }
    }
    assert!(limited >= 1, "the user's budget refused nothing");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn two_members_chat_live_and_outsiders_cannot_join() {
    let app = spawn_app().await;
    let (joao, helena, recep, topic) = chat_setup(&app).await;
    let mut a = app.ws(&joao).await;
    let mut b = app.ws(&helena).await;
    a.join(&topic, None).await;
    b.join(&topic, None).await;

    let sent = a
        .say(&topic, "Doutora, posso tomar o remédio em jejum?")
        .await;
    assert_eq!(sent["seq"], 1);
    let got = b.push("chat.message").await;
    assert_eq!(got["seq"], 1);
    assert_eq!(
        got["payload"]["body"],
        "Doutora, posso tomar o remédio em jejum?"
    );
    assert_eq!(got["payload"]["sender"]["name"], "João Pereira da Silva");
    // Every member's connections get the message, the sender's included (other devices).
    assert_eq!(a.push("chat.message").await["seq"], 1);
    b.say(&topic, "Pode sim, <b>com água</b>.").await;
    let back = a.push("chat.message").await;
    assert_eq!(back["seq"], 2);
    assert_eq!(back["payload"]["body"], "Pode sim, <b>com água</b>.");

    // The receptionist is staff of the clinic but not a member of this conversation.
    let mut c = app.ws(&recep).await;
    let r = c.request(&topic, "join", json!({})).await;
    assert_eq!(code(&r), "forbidden");
    let maria = app.login("maria@paciente.demo", PW).await;
    let mut d = app.ws(&maria).await;
    let r = d.request(&topic, "join", json!({"since": 0})).await;
    assert_eq!(code(&r), "forbidden");
    let r = d
        .request(
            &topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(), "body": "oi"}),
        )
        .await;
    assert_eq!(code(&r), "not_joined");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_retried_send_is_acknowledged_once_and_delivered_once() {
    let app = spawn_app().await;
    let (joao, helena, _, topic) = chat_setup(&app).await;
    let mut a = app.ws(&joao).await;
    let mut b = app.ws(&helena).await;
    a.join(&topic, None).await;
    b.join(&topic, None).await;
    let msg = json!({"client_id": uuid::Uuid::now_v7(), "body": "mensagem única"});
    let first = a.request(&topic, "message.send", msg.clone()).await;
    let retry = a.request(&topic, "message.send", msg).await;
    assert_eq!(first["payload"]["response"]["seq"], 1);
    assert_eq!(retry["payload"]["response"]["seq"], 1);
    assert_eq!(retry["payload"]["response"]["duplicate"], true);
    assert_eq!(b.push("chat.message").await["seq"], 1);
    assert!(
        b.try_push("chat.message", Duration::from_millis(500))
            .await
            .is_none(),
        "delivered twice"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_client_that_reconnects_with_since_gets_exactly_what_it_missed() {
    let app = spawn_app().await;
    let (joao, helena, _, topic) = chat_setup(&app).await;
    let mut b = app.ws(&helena).await;
    b.join(&topic, None).await;
    let mut a = app.ws(&joao).await;
    a.join(&topic, None).await;
    b.say(&topic, "m1").await;
    let last = a.push("chat.message").await["seq"].as_i64().expect("seq");
    a.close().await;

    for i in 2..=6 {
        b.say(&topic, &format!("m{i}")).await;
    }
    let mut a = app.ws(&joao).await;
    let joined = a.join(&topic, Some(last)).await;
    assert_eq!(joined["seq"], 6);
    assert_eq!(joined["resync"], false);
    let mut seqs = Vec::new();
    for _ in 2..=6 {
        let p = a.push("chat.message").await;
        seqs.push(p["seq"].as_i64().expect("seq"));
        assert_eq!(p["payload"]["body"], format!("m{}", p["seq"]));
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6]);
    // Live again, with no gap and no duplicate.
    b.say(&topic, "m7").await;
    assert_eq!(a.push("chat.message").await["seq"], 7);
    assert!(
        a.try_push("chat.message", Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn concurrent_senders_get_distinct_seqs_and_every_listener_sees_one_order() {
    let app = spawn_app().await;
    let (joao, helena, _, topic) = chat_setup(&app).await;
    let mut a = app.ws(&joao).await;
    let mut b = app.ws(&helena).await;
    a.join(&topic, None).await;
    b.join(&topic, None).await;
    // Fire without waiting for replies, from both sides at once.
    for i in 0..20 {
        a.send(
            &topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(), "body": format!("a{i}")}),
        )
        .await;
        b.send(
            &topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(), "body": format!("b{i}")}),
        )
        .await;
    }
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..40 {
        let p = a.push("chat.message").await;
        seen_a.push((
            p["seq"].as_i64().expect("seq"),
            p["payload"]["body"].clone(),
        ));
        let p = b.push("chat.message").await;
        seen_b.push((
            p["seq"].as_i64().expect("seq"),
            p["payload"]["body"].clone(),
        ));
    }
    assert_eq!(seen_a, seen_b);
    let seqs: Vec<i64> = seen_a.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn presence_shows_who_is_online_on_a_clinic_topic() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let topic = format!("clinic:{clinic}:queue");
    let mut r = app.ws(&recep).await;
    r.join(&topic, None).await;
    let mut h = app.ws(&helena).await;
    let joined = h.join(&topic, None).await;
    let names: Vec<&str> = joined["presence"]
        .as_array()
        .expect("presence")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"Juliana Costa"), "{joined}");
    // The receptionist first sees her own arrival, then Helena's.
    let own = r.push("presence.join").await;
    assert_eq!(own["payload"]["name"], "Juliana Costa");
    let p = r.push("presence.join").await;
    assert_eq!(p["payload"]["name"], "Helena Duarte");
    assert_eq!(p["payload"]["role"], "professional");
    assert!(p.get("seq").is_none(), "presence is ephemeral: {p}");
    h.close().await;
    let p = r.push("presence.leave").await;
    assert_eq!(p["payload"]["name"], "Helena Duarte");
    // A patient may not watch the clinic's queue board.
    let joao = app.login("joao@paciente.demo", PW).await;
    let mut j = app.ws(&joao).await;
    let reply = j.request(&topic, "join", json!({})).await;
    assert_eq!(code(&reply), "forbidden");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn shutting_down_closes_sessions_with_1012() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let mut ws = app.ws(&s).await;
    ws.join(&format!("user:{}", s.me["id"].as_str().expect("id")), None)
        .await;
    app.shutdown.shutdown().await;
    assert_eq!(
        ws.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(1012))
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn logging_out_closes_the_sessions_live_connections() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("recepcao@aurora.demo", PW).await;
    let other = app.login("recepcao@aurora.demo", PW).await;
    let mut ws = app.ws(&s).await;
    let mut ws_other = app.ws(&other).await;
    let me = format!("user:{}", s.me["id"].as_str().expect("id"));
    ws.join(&me, None).await;
    let resp = app
        .post_csrf(
            "/api/auth/logout",
            Some(&s.access),
            &json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        ws.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(1008))
    );
    // Another login session of the same person is untouched.
    let r = ws_other.request(&me, "join", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_client_that_stops_reading_is_dropped_as_a_slow_consumer() {
    let app = spawn_app_with(|s| {
        s.realtime.outbound_buffer = 8;
        s.realtime.rate_per_sec = 10_000;
        s.realtime.rate_burst = 10_000;
        s.realtime.user_rate_per_sec = 10_000;
        s.realtime.user_rate_burst = 10_000;
        s.realtime.rate_bytes_per_sec = 100_000_000;
        s.realtime.rate_bytes_burst = 100_000_000;
        s.chat.max_messages_per_minute = 100_000;
    })
    .await;
    let (joao, helena, _, topic) = chat_setup(&app).await;
    let ticket = app.ticket(&joao).await;
    let mut slow =
        crate::ws_client::WsClient::connect_small_buffer(&app.ws_url(&format!("?ticket={ticket}")))
            .await;
    slow.join(&topic, None).await;
    let mut fast = app.ws(&helena).await;
    fast.join(&topic, None).await;
    // ~3.9 KB per push; the socket buffers fill, then the 8-frame queue, then the server
    // gives up on the reader that never reads.
    let body = "x".repeat(3900);
    // The slow client's receive buffer is fixed at 64 KB (loopback autotuning could grow it
    // to tens of MB, making the amount needed vary); the server's send buffer still grows
    // to a few MB. Keep sending, checking after every 50 messages (~195 KB).
    let mut dropped = false;
    for round in 0..200 {
        // Fifty at once (fewer than a room lets wait), then every reply: the sender is
        // never the slow one.
        let mut refs = Vec::new();
        for _ in 0..50 {
            let payload = json!({"client_id": uuid::Uuid::now_v7(), "body": body});
            refs.push(fast.send(&topic, "message.send", payload).await);
        }
        for r in refs {
            let reply = fast.reply_to(&r).await;
            assert_eq!(reply["payload"]["status"], "ok", "{reply}");
        }
        fast.clear_inbox();
        let metrics = app
            .get("/metrics", None)
            .await
            .text()
            .await
            .expect("metrics");
        if metrics
            .lines()
            .any(|l| l.starts_with("atende_ws_slow_consumers_total") && !l.ends_with(" 0"))
        {
            dropped = true;
            break;
        }
        assert!(round < 199, "the non-reading client was never dropped");
    }
    assert!(dropped);
    // The reader finally looks: after what was buffered, it finds the reason it was dropped.
    assert_eq!(
        slow.ended(Duration::from_secs(20)).await,
        Ended::Closed(Some(1008))
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn typing_reaches_the_other_member_and_leaving_stops_pushes() {
    let app = spawn_app().await;
    let (joao, helena, _, topic) = chat_setup(&app).await;
    let mut a = app.ws(&joao).await;
    let mut b = app.ws(&helena).await;
    a.join(&topic, None).await;
    b.join(&topic, None).await;
    let r = a.request(&topic, "typing", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok");
    let t = b.push("chat.typing").await;
    assert_eq!(t["payload"]["name"], "João Pereira da Silva");
    assert!(t.get("seq").is_none(), "typing is ephemeral: {t}");

    let r = b.request(&topic, "leave", json!({})).await;
    assert_eq!(r["payload"]["status"], "ok");
    b.clear_inbox();
    a.say(&topic, "depois que ela saiu").await;
    assert!(
        b.try_push("chat.message", Duration::from_millis(500))
            .await
            .is_none(),
        "pushed after leave"
    );
    let r = b.request(&topic, "leave", json!({})).await;
    assert_eq!(code(&r), "not_joined");
}
