use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn setup(app: &TestApp) -> (Session, Session, Session, String, String) {
    let f = chat_fixture(app).await;
    (f.joao, f.helena, f.recep, f.room, f.topic)
}

fn code(reply: &Value) -> &str {
    reply["payload"]["code"].as_str().unwrap_or("")
}

async fn rooms(app: &TestApp, s: &Session) -> Vec<Value> {
    let (status, list) = json_of(app.get("/api/chat/rooms", Some(&s.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("array").clone()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn history_pages_backwards_and_read_positions_drive_unread_counts() {
    let app = spawn_app().await;
    let (joao, helena, _, room, topic) = setup(&app).await;
    let mut j = app.ws(&joao).await;
    j.join(&topic, None).await;
    for i in 1..=5 {
        j.say(&topic, &format!("mensagem {i}")).await;
    }
    let unread_for = |list: &[Value]| {
        list.iter()
            .find(|r| r["id"] == room.as_str())
            .map(|r| r["unread"].clone())
    };
    assert_eq!(unread_for(&rooms(&app, &helena).await), Some(json!(5)));
    assert_eq!(
        unread_for(&rooms(&app, &joao).await),
        Some(json!(0)),
        "own messages are not unread"
    );

    let (status, page) = json_of(
        app.get(
            &format!("/api/chat/rooms/{room}/messages?limit=2"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let bodies: Vec<&str> = page["messages"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, vec!["mensagem 4", "mensagem 5"]);
    let before = page["next_before"].as_i64().expect("more pages");
    let (_, older) = json_of(
        app.get(
            &format!("/api/chat/rooms/{room}/messages?limit=10&before={before}"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(older["messages"].as_array().expect("array").len(), 3);
    assert!(older["next_before"].is_null());

    // Helena reads up to seq 3: João sees the receipt live, Helena's unread drops to 2.
    let mut h = app.ws(&helena).await;
    h.join(&topic, None).await;
    let mut hu = app.ws(&helena).await;
    hu.join(
        &format!("user:{}", helena.me["id"].as_str().expect("id")),
        None,
    )
    .await;
    let r = h.request(&topic, "read", json!({"seq": 3})).await;
    assert_eq!(r["payload"]["response"]["last_read_seq"], 3, "{r}");
    assert_eq!(r["payload"]["response"]["unread"], 2);
    let receipt = j.push("chat.read").await;
    assert_eq!(receipt["payload"]["seq"], 3);
    assert_eq!(hu.push("chat.unread").await["payload"]["unread"], 2);
    // Positions never move back.
    let r = h.request(&topic, "read", json!({"seq": 1})).await;
    assert_eq!(r["payload"]["response"]["last_read_seq"], 3);
    // The room spelled with its UUID in capitals is the same room: reading and typing there
    // reach João on the room's topic, and the read position counts the room's messages.
    let shouted = format!("chat:{}", room.to_uppercase());
    let mut hs = app.ws(&helena).await;
    hs.join(&shouted, None).await;
    let r = hs.request(&shouted, "read", json!({"seq": 4})).await;
    assert_eq!(r["payload"]["response"]["last_read_seq"], 4, "{r}");
    // (The unmoved read of seq 1 above told João seq 3 again: look for this one.)
    j.push_matching("chat.read", |p| p["seq"] == 4).await;
    hs.request(&shouted, "typing", json!({})).await;
    let typing = j.push("chat.typing").await;
    assert_eq!(typing["payload"]["user_id"], helena.me["id"]);
    drop(hs);
    let (_, page) = json_of(
        app.get(
            &format!("/api/chat/rooms/{room}/messages"),
            Some(&joao.access),
        )
        .await,
    )
    .await;
    let reads = page["reads"].as_array().expect("reads");
    assert!(
        reads
            .iter()
            .any(|x| x["user_id"] == helena.me["id"] && x["last_read_seq"] == 4),
        "{page}"
    );

    // A new message from João raises Helena's unread count (1 after reading 4 of 5) live on
    // her user topic.
    j.say(&topic, "mais uma").await;
    let mut latest = hu.push("chat.unread").await;
    while latest["payload"]["unread"] != 2 {
        // Earlier counts (from the reads above) may still be queued.
        latest = hu.push("chat.unread").await;
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn senders_edit_and_delete_within_the_window_and_replays_show_the_current_text() {
    let app = spawn_app_with(|s| s.chat.edit_window_secs = 2).await;
    let (joao, helena, _, room, topic) = setup(&app).await;
    let mut j = app.ws(&joao).await;
    let mut h = app.ws(&helena).await;
    j.join(&topic, None).await;
    h.join(&topic, None).await;
    let first = j.say(&topic, "tomo 1 comprimido").await;
    let id = first["id"].as_str().expect("id").to_string();
    let second = j.say(&topic, "esqueça isso").await;
    let id2 = second["id"].as_str().expect("id").to_string();

    let r = h
        .request(
            &topic,
            "message.edit",
            json!({"id": id, "body": "não é meu"}),
        )
        .await;
    assert_eq!(code(&r), "forbidden", "only the sender edits");
    let r = j
        .request(
            &topic,
            "message.edit",
            json!({"id": id, "body": "tomo 2 comprimidos"}),
        )
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    let edited = h.push("chat.message_edited").await;
    assert_eq!(edited["payload"]["body"], "tomo 2 comprimidos");
    let r = j
        .request(&topic, "message.delete", json!({"id": id2}))
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    assert_eq!(
        h.push("chat.message_deleted").await["payload"]["id"],
        id2.as_str()
    );

    // History and replay show the message as it is now, and no text of the deleted one.
    let (_, page) = json_of(
        app.get(
            &format!("/api/chat/rooms/{room}/messages"),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    let msgs = page["messages"].as_array().expect("array");
    assert_eq!(msgs[0]["body"], "tomo 2 comprimidos");
    assert!(msgs[0]["edited_at"].is_string());
    assert_eq!(msgs[1]["deleted"], true);
    assert!(msgs[1]["body"].is_null());
    let mut late = app.ws(&helena).await;
    late.join(&topic, Some(0)).await;
    let replayed = late.push("chat.message").await;
    assert_eq!(replayed["payload"]["body"], "tomo 2 comprimidos");
    let replayed = late.push("chat.message").await;
    assert!(
        replayed["payload"]["body"].is_null() && replayed["payload"]["deleted"] == true,
        "{replayed}"
    );

    // Past the window, changes are refused.
    let third = j.say(&topic, "agora vai").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = j
        .request(
            &topic,
            "message.edit",
            json!({"id": third["id"], "body": "mudei"}),
        )
        .await;
    assert_eq!(code(&r), "edit_window_expired");
    let r = j
        .request(&topic, "message.delete", json!({"id": third["id"]}))
        .await;
    assert_eq!(code(&r), "edit_window_expired");
    let r = j
        .request(&topic, "message.delete", json!({"id": id2}))
        .await;
    assert_eq!(code(&r), "message_deleted");

    // Edits and deletions are in the audit log.
    let audit = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(audit.iter().any(|a| a.action == "chat.message_edited"));
    assert!(audit.iter().any(|a| a.action == "chat.message_deleted"));
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
];

async fn upload(
    app: &TestApp,
    s: &Session,
    room: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!(
            "/api/chat/rooms/{room}/attachments?filename={name}"
        )))
        .bearer_auth(&s.access)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn attachments_are_checked_by_content_and_served_only_to_members() {
    let app = spawn_app_with(|s| s.chat.max_attachment_bytes = 4096).await;
    let (joao, helena, _, room, topic) = setup(&app).await;
    let (status, att) = json_of(upload(&app, &joao, &room, "ferida.png", PNG.to_vec()).await).await;
    assert_eq!(status, StatusCode::CREATED, "{att}");
    assert_eq!(att["content_type"], "image/png");

    let mut j = app.ws(&joao).await;
    let mut h = app.ws(&helena).await;
    j.join(&topic, None).await;
    h.join(&topic, None).await;
    let r = j
        .request(
            &topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(), "body": "", "attachment_id": att["id"]}),
        )
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    let got = h.push("chat.message").await;
    assert_eq!(got["payload"]["attachment"]["filename"], "ferida.png");
    // One attachment, one message.
    let r = j.request(&topic, "message.send", json!({"client_id": uuid::Uuid::now_v7(), "body": "de novo", "attachment_id": att["id"]})).await;
    assert_eq!(code(&r), "invalid_attachment");

    let resp = app
        .get(
            &format!("/api/chat/attachments/{}", att["id"].as_str().expect("id")),
            Some(&helena.access),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h_ = resp.headers().clone();
    assert_eq!(h_.get("content-type").expect("type"), "image/png");
    assert!(
        h_.get("content-disposition")
            .expect("disposition")
            .to_str()
            .expect("ascii")
            .starts_with("attachment;")
    );
    assert_eq!(
        h_.get("x-content-type-options").expect("nosniff"),
        "nosniff"
    );
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), PNG);

    let maria = app.login("maria@paciente.demo", PW).await;
    assert_error(
        app.get(
            &format!("/api/chat/attachments/{}", att["id"].as_str().expect("id")),
            Some(&maria.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        upload(&app, &maria, &room, "x.png", PNG.to_vec()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    assert_error(
        upload(
            &app,
            &joao,
            &room,
            "foto.png",
            b"<html>not an image</html>".to_vec(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_attachment_type",
    )
    .await;
    assert_error(
        upload(
            &app,
            &joao,
            &room,
            "foto.png",
            b"%PDF-1.7 lying name".to_vec(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "attachment_type_mismatch",
    )
    .await;
    let mut big = PNG.to_vec();
    big.resize(5000, 0);
    assert_error(
        upload(&app, &joao, &room, "grande.png", big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_sender_over_the_per_room_budget_is_refused_and_others_are_not() {
    let app = spawn_app_with(|s| s.chat.max_messages_per_minute = 3).await;
    let (joao, helena, _, _, topic) = setup(&app).await;
    let mut j = app.ws(&joao).await;
    let mut h = app.ws(&helena).await;
    j.join(&topic, None).await;
    h.join(&topic, None).await;
    for i in 0..3 {
        j.say(&topic, &format!("{i}")).await;
    }
    let r = j
        .request(
            &topic,
            "message.send",
            json!({"client_id": uuid::Uuid::now_v7(), "body": "mais"}),
        )
        .await;
    assert_eq!(code(&r), "rate_limited");
    h.say(&topic, "a doutora ainda pode responder").await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn office_hours_tell_patients_when_answers_come() {
    let app = spawn_app().await;
    let (joao, helena, recep, room, _) = setup(&app).await;
    let always: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "00:00", "end": "23:59"}))
        .collect();
    let body = json!({"time_zone": "America/Sao_Paulo", "weekly": always, "note": "Respondo em até 1 dia útil"});
    let resp = app
        .client
        .put(app.url("/api/me/office-hours"))
        .bearer_auth(&helena.access)
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::OK);
    let r = rooms(&app, &joao)
        .await
        .into_iter()
        .find(|r| r["id"] == room.as_str())
        .expect("room");
    assert_eq!(r["professional_available"], true);
    assert_eq!(r["office_hours_note"], "Respondo em até 1 dia útil");

    let closed = json!({"time_zone": "America/Sao_Paulo", "weekly": [], "note": "Fora do horário"});
    app.client
        .put(app.url("/api/me/office-hours"))
        .bearer_auth(&helena.access)
        .json(&closed)
        .send()
        .await
        .expect("put");
    let r = rooms(&app, &joao)
        .await
        .into_iter()
        .find(|r| r["id"] == room.as_str())
        .expect("room");
    assert_eq!(r["professional_available"], false);

    let resp = app
        .client
        .put(app.url("/api/me/office-hours"))
        .bearer_auth(&recep.access)
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let bad = json!({"time_zone": "America/Sao_Paulo", "weekly": [{"weekday": 9, "start": "08:00", "end": "09:00"}]});
    let resp = app
        .client
        .put(app.url("/api/me/office-hours"))
        .bearer_auth(&helena.access)
        .json(&bad)
        .send()
        .await
        .expect("put");
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_office_hours",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn non_members_cannot_read_history_and_staff_reads_are_audited() {
    let app = spawn_app().await;
    let (joao, helena, recep, room, topic) = setup(&app).await;
    let mut j = app.ws(&joao).await;
    j.join(&topic, None).await;
    j.say(&topic, "sigiloso").await;
    assert_error(
        app.get(
            &format!("/api/chat/rooms/{room}/messages"),
            Some(&recep.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let maria = app.login("maria@paciente.demo", PW).await;
    assert_error(
        app.get(
            &format!("/api/chat/rooms/{room}/messages"),
            Some(&maria.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = app.login("admin@aurora.demo", PW).await;
    assert_error(
        app.get(
            &format!("/api/chat/rooms/{room}/messages"),
            Some(&admin.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get(
            &format!("/api/chat/rooms/{room}/messages"),
            Some(&helena.access)
        )
        .await
        .status(),
        StatusCode::OK
    );
    let audit = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "chat.history_read"
                && a.entity_id.as_deref() == Some(room.as_str()))
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn deleting_a_message_removes_its_text_from_every_replay_and_its_file() {
    let app = spawn_app().await;
    let (joao, helena, _, _room, topic) = setup(&app).await;
    let room_id = topic.trim_start_matches("chat:").to_string();
    let (_, att) = json_of(upload(&app, &joao, &room_id, "receita.png", PNG.to_vec()).await).await;
    let mut j = app.ws(&joao).await;
    j.join(&topic, None).await;
    let r = j.request(&topic, "message.send", json!({"client_id": uuid::Uuid::now_v7(), "body": "segredo v1", "attachment_id": att["id"]})).await;
    let id = r["payload"]["response"]["id"].clone();
    let r = j
        .request(
            &topic,
            "message.edit",
            json!({"id": id, "body": "segredo v2"}),
        )
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    let r = j.request(&topic, "message.delete", json!({"id": id})).await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");

    let mut h = app.ws(&helena).await;
    h.join(&topic, Some(0)).await;
    let mut frames = Vec::new();
    for event in [
        "chat.message",
        "chat.message_edited",
        "chat.message_deleted",
    ] {
        frames.push(h.push(event).await);
    }
    let all = serde_json::to_string(&frames).expect("json");
    assert!(!all.contains("segredo"), "deleted text replayed: {all}");
    assert!(frames[0]["payload"]["attachment"].is_null(), "{all}");
    assert_error(
        app.get(
            &format!("/api/chat/attachments/{}", att["id"].as_str().expect("id")),
            Some(&helena.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Helena is staff reading a patient conversation's past over the socket: audited.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let audit = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "chat.history_read" && a.details.contains("websocket_replay"))
    );
}
