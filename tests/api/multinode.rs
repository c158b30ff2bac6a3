//! Several nodes sharing PostgreSQL and Redis. Needs TEST_DATABASE_URL and TEST_REDIS_URL;
//! without them the tests say so and pass, unless ATENDE_TEST_REQUIRE_REDIS=1 (CI), where
//! a missing service is a failure.

use std::time::Duration;

use atende::config::Secret;
use serde_json::json;

use crate::helpers::*;
use crate::ws_client::Ended;

pub fn redis_url() -> Option<String> {
    let pg = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_default();
    if !pg.is_empty() && !redis.is_empty() {
        return Some(redis);
    }
    if std::env::var("ATENDE_TEST_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("multi-node tests required but TEST_DATABASE_URL / TEST_REDIS_URL are not both set");
    }
    eprintln!("skipping multi-node test: set TEST_DATABASE_URL and TEST_REDIS_URL to run it");
    None
}

async fn two_nodes(redis: &str) -> (TestApp, TestApp) {
    let r = redis.to_string();
    let node1 = spawn_node(None, |s| s.redis.url = Secret::new(r.clone())).await;
    let r = redis.to_string();
    let node2 = spawn_node(Some(node1.db_url.clone()), |s| s.redis.url = Secret::new(r)).await;
    (node1, node2)
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn clients_on_two_nodes_see_each_others_events_in_the_same_order() {
    let Some(redis) = redis_url() else { return };
    let (node1, node2) = two_nodes(&redis).await;
    let ChatFixture {
        joao,
        helena,
        topic,
        ..
    } = chat_fixture(&node1).await;
    let mut a = node1.ws(&joao).await;
    let mut b = node2.ws(&helena).await;
    a.join(&topic, None).await;
    b.join(&topic, None).await;
    for i in 0..10 {
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
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    for _ in 0..20 {
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
    assert_eq!(seen_a, seen_b, "both nodes must deliver one order");
    assert_eq!(
        seen_a.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );

    // Node 1 goes away: its client is told to reconnect (1012) and resumes on node 2.
    node1.shutdown.shutdown().await;
    assert_eq!(
        a.ended(Duration::from_secs(5)).await,
        Ended::Closed(Some(1012))
    );
    for i in 0..3 {
        b.say(&topic, &format!("enquanto você estava fora {i}"))
            .await;
    }
    let mut a = node2.ws(&joao).await;
    let joined = a.join(&topic, Some(20)).await;
    assert_eq!(joined["seq"], 23);
    for expected in 21..=23 {
        assert_eq!(a.push("chat.message").await["seq"], expected);
    }
    b.say(&topic, "de volta").await;
    assert_eq!(a.push("chat.message").await["seq"], 24);
    assert!(
        a.try_push("chat.message", Duration::from_millis(300))
            .await
            .is_none(),
        "no duplicates"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn presence_crosses_nodes() {
    let Some(redis) = redis_url() else { return };
    let (node1, node2) = two_nodes(&redis).await;
    node1.seed_demo().await;
    let recep = node1.login("recepcao@aurora.demo", PW).await;
    let helena = node2.login("dra.helena@atende.demo", PW).await;
    let topic = format!("clinic:{}:queue", recep.clinic("receptionist"));
    let mut r = node1.ws(&recep).await;
    r.join(&topic, None).await;
    let mut h = node2.ws(&helena).await;
    h.join(&topic, None).await;
    loop {
        let p = r.push("presence.join").await;
        if p["payload"]["name"] == "Helena Duarte" {
            break;
        }
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_hundred_bookings_for_one_slot_over_two_nodes_book_exactly_one() {
    use crate::agenda::{Agenda, agenda_fixture, many_patients, race};
    let Some(redis) = redis_url() else { return };
    let (node1, node2) = two_nodes(&redis).await;
    let a = agenda_fixture(&node1).await;
    let patients = many_patients(&node1, &a.clinic, &a.recep, 100).await;
    let at = a.at(11, 30);
    let requests = patients
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let node = if i % 2 == 0 { &node1 } else { &node2 };
            node.client
                .post(node.url(&format!("/api/clinics/{}/appointments", a.clinic)))
                .bearer_auth(&a.recep.access)
                .json(&json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": p, "starts_at": at}))
        })
        .collect();
    assert_eq!(race(requests).await, (1, 99));
}
