//! Chat under saturation: every message that reaches the server is stored or explicitly
//! refused (`overloaded`, with a retry hint), never silently dropped — also when the
//! sender's connection ends before the answer.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Every stored message's id — the client id it was sent with — in the room (history).
async fn stored_client_ids(app: &TestApp, who: &Session, room: &str) -> HashSet<String> {
    let (status, page) = json_of(
        app.get(
            &format!("/api/chat/rooms/{room}/messages?limit=100"),
            Some(&who.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_saturated_room_refuses_with_a_retry_hint_and_a_retry_stores_each_message_once() {
    let app = spawn_app_with(|s| {
        s.chat.max_waiting_per_room = 2;
        s.chat.max_messages_per_minute = 10_000;
        s.realtime.rate_per_sec = 10_000;
        s.realtime.rate_burst = 10_000;
        s.realtime.user_rate_per_sec = 10_000;
        s.realtime.user_rate_burst = 10_000;
    })
    .await;
    let f = chat_fixture(&app).await;
    let mut ws = app.ws(&f.helena).await;
    ws.join(&f.topic, None).await;
    // 40 sends at once: the room takes two at a time, so most are refused at once.
    let ids: Vec<String> = (0..40).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut refs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let r = ws
            .send(
                &f.topic,
                "message.send",
                json!({"client_id": id, "body": format!("mensagem {i}")}),
            )
            .await;
        refs.push((r, id.clone()));
    }
    let mut acked = HashSet::new();
    let mut refused = Vec::new();
    for (r, id) in refs {
        let reply = ws.reply_to(&r).await;
        match reply["payload"]["status"].as_str() {
            Some("ok") => {
                acked.insert(id);
            }
            _ => {
                assert_eq!(reply["payload"]["code"], "overloaded", "{reply}");
                assert!(
                    reply["payload"]["retry_after_ms"]
                        .as_u64()
                        .is_some_and(|ms| ms > 0),
                    "{reply}"
                );
                refused.push(id);
            }
        }
    }
    assert!(!refused.is_empty(), "nothing was refused");
    // Sent = stored + refused: what was acknowledged is stored, what was refused is not.
    let stored = stored_client_ids(&app, &f.helena, &f.room).await;
    assert_eq!(
        stored, acked,
        "exactly the acknowledged messages are stored"
    );
    // The client retries the refused ones with the same client ids, one at a time.
    for id in &refused {
        loop {
            let reply = ws
                .request(
                    &f.topic,
                    "message.send",
                    json!({"client_id": id, "body": "de novo"}),
                )
                .await;
            if reply["payload"]["status"] == "ok" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let stored = stored_client_ids(&app, &f.helena, &f.room).await;
    assert_eq!(stored.len(), 40);
    assert_eq!(stored, ids.into_iter().collect::<HashSet<_>>());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_message_whose_sender_hangs_up_at_once_is_still_stored() {
    let app = spawn_app().await;
    let f = chat_fixture(&app).await;
    let mut ws = app.ws(&f.helena).await;
    ws.join(&f.topic, None).await;
    let ids: Vec<String> = (0..5).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for id in &ids {
        ws.send(
            &f.topic,
            "message.send",
            json!({"client_id": id, "body": "enviada antes de sair"}),
        )
        .await;
    }
    // Gone before any answer (a clean close, so the server has every frame).
    ws.close_cleanly().await;
    let mut stored = HashSet::new();
    for _ in 0..50 {
        stored = stored_client_ids(&app, &f.helena, &f.room).await;
        if stored.len() == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let want: HashSet<String> = ids.into_iter().collect();
    assert_eq!(stored, want);
}
