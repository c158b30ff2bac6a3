//! Ordered, gap-free delivery across nodes, with real processes: two `atende serve` on one
//! PostgreSQL and one Redis. Writers check patients in on both nodes; subscribers on both
//! follow the clinic's queue topic; midway one node is killed with SIGKILL and its clients
//! (writers and subscribers) move to the other, the subscribers rejoining with `since`.
//! Every subscriber must receive every event of the topic exactly once, in seq order, and
//! no node may pass over an event. Needs TEST_DATABASE_URL and TEST_REDIS_URL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use sqlx::Connection as _;
use tokio_tungstenite::tungstenite::Message;

use crate::processes::{Env, clinic, login};

const WRITERS: usize = 16;
const CHECK_INS_PER_WRITER: usize = 80;
const SUBSCRIBERS_PER_NODE: usize = 8;
/// The second node is killed once this many check-ins are done.
const KILL_AFTER: usize = WRITERS * CHECK_INS_PER_WRITER * 2 / 5;
/// A walk-in's name made of letters only (names with digits are refused).
pub(crate) fn walk_in_name(n: usize) -> String {
    let mut tag = String::new();
    let mut k = n;
    for _ in 0..4 {
        tag.push(char::from(b'a' + (k % 26) as u8));
        k /= 26;
    }
    format!("Paciente {tag} Souza")
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connect to `base`, authenticate and join `topic` (from `since`); the reply's head.
async fn subscribe(base: &str, token: &str, topic: &str, since: Option<i64>) -> Option<(Ws, i64)> {
    let url = format!("{}/ws", base.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
    // The join waits for the auth reply: authentication completes asynchronously.
    let auth = json!({"ref": "1", "topic": "system", "event": "auth", "payload": {"token": token}});
    ws.send(Message::Text(auth.to_string().into())).await.ok()?;
    reply(&mut ws, "1").await?;
    let join = json!({"ref": "2", "topic": topic, "event": "join", "payload": {"since": since}});
    ws.send(Message::Text(join.to_string().into())).await.ok()?;
    let r = reply(&mut ws, "2").await?;
    assert_eq!(r["payload"]["response"]["resync"], false, "join: {r}");
    Some((ws, r["payload"]["response"]["seq"].as_i64()?))
}

/// The reply to `reference`, which must be ok; pushes before it are not expected (nothing
/// is joined yet when it is used).
async fn reply(ws: &mut Ws, reference: &str) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .ok()??
            .ok()?;
        let Message::Text(t) = msg else { continue };
        let f: Value = serde_json::from_str(&t).ok()?;
        if f["ref"] == reference {
            assert_eq!(f["payload"]["status"], "ok", "reply {reference}: {f}");
            return Some(f);
        }
    }
}

/// Follow `topic`, moving to the survivor when the connection drops, until `target` is
/// known and reached. Returns the first seq expected and every seq received, in order.
pub(crate) async fn follow(
    nodes: Vec<String>,
    token: String,
    topic: String,
    target: Arc<AtomicI64>,
    joined: Arc<AtomicUsize>,
) -> (i64, Vec<i64>) {
    let (mut ws, head) = subscribe(&nodes[0], &token, &topic, None)
        .await
        .expect("first join");
    joined.fetch_add(1, Ordering::SeqCst);
    let mut seqs = Vec::new();
    let mut last = head;
    loop {
        let t = target.load(Ordering::SeqCst);
        if t > 0 && last >= t {
            return (head + 1, seqs);
        }
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(Message::Text(text)))) => {
                let f: Value = serde_json::from_str(&text).expect("json frame");
                if f["topic"] == topic.as_str()
                    && let Some(seq) = f["seq"].as_i64()
                {
                    seqs.push(seq);
                    last = last.max(seq);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(None) | Ok(Some(Err(_))) => {
                // The node went away: resume on whichever node answers.
                let mut back = None;
                for attempt in 0..100 {
                    let node = &nodes[(attempt + 1) % nodes.len()];
                    if let Some(x) = subscribe(node, &token, &topic, Some(last)).await {
                        back = Some(x);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                ws = back.expect("resumed on a live node").0;
            }
        }
    }
}

#[actix_web::test]
async fn every_subscriber_gets_every_event_once_in_order_across_two_nodes_and_a_kill() {
    let Some(redis) = crate::multinode::redis_url() else {
        return;
    };
    // A client that comes back after the kill may have missed many events.
    let env = Env::new(Some(redis))
        .await
        .set("ATENDE_REALTIME__REPLAY_LIMIT", "100000");
    let a = env.start().await;
    let mut b = Some(env.start().await);
    let (base_a, base_b) = (a.base.clone(), b.as_ref().expect("b").base.clone());
    let http = reqwest::Client::new();
    let clinic = clinic(&http, &base_a, "ordem", "11.222.333/0001-81").await;
    let desk = login(&http, &base_a, "recepcao@ordem.test").await;
    let topic = format!("clinic:{clinic}:queue");

    // Subscribers, half on each node.
    let target = Arc::new(AtomicI64::new(0));
    let joined = Arc::new(AtomicUsize::new(0));
    let mut subscribers = Vec::new();
    for i in 0..SUBSCRIBERS_PER_NODE * 2 {
        let nodes = if i % 2 == 0 {
            vec![base_a.clone(), base_b.clone()]
        } else {
            vec![base_b.clone(), base_a.clone()]
        };
        subscribers.push(tokio::spawn(follow(
            nodes,
            desk.clone(),
            topic.clone(),
            target.clone(),
            joined.clone(),
        )));
    }
    for _ in 0..600 {
        if joined.load(Ordering::SeqCst) == SUBSCRIBERS_PER_NODE * 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        joined.load(Ordering::SeqCst),
        SUBSCRIBERS_PER_NODE * 2,
        "every subscriber joined"
    );

    // Writers, half on each node; a writer whose node dies carries on on the other.
    let done = Arc::new(AtomicUsize::new(0));
    let b_dead = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (http, desk, done, b_dead) = (http.clone(), desk.clone(), done.clone(), b_dead.clone());
        let (home, survivor) = if w % 2 == 0 {
            (base_a.clone(), base_a.clone())
        } else {
            (base_b.clone(), base_a.clone())
        };
        let clinic = clinic.clone();
        writers.push(tokio::spawn(async move {
            for k in 0..CHECK_INS_PER_WRITER {
                let body = json!({"full_name": walk_in_name(w * CHECK_INS_PER_WRITER + k)});
                loop {
                    let base = if b_dead.load(Ordering::SeqCst) {
                        &survivor
                    } else {
                        &home
                    };
                    let sent = http
                        .post(format!("{base}/api/clinics/{clinic}/queue"))
                        .bearer_auth(&desk)
                        .json(&body)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => break,
                        Ok(r) if r.status().is_server_error() => {}
                        Ok(r) => panic!(
                            "check-in refused: {} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        ),
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    while done.load(Ordering::SeqCst) < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(b.take()); // SIGKILL
    b_dead.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }

    // Every event is in the database; each subscriber must have all of them.
    let mut conn = sqlx::PgConnection::connect(&env.db).await.expect("pg");
    let head: i64 = sqlx::query_scalar("SELECT last_seq FROM topic_seqs WHERE topic = $1")
        .bind(&topic)
        .fetch_one(&mut conn)
        .await
        .expect("head");
    assert!(
        head >= (WRITERS * CHECK_INS_PER_WRITER) as i64,
        "head {head}"
    );
    target.store(head, Ordering::SeqCst);
    for (i, s) in subscribers.into_iter().enumerate() {
        let (first, seqs) = tokio::time::timeout(Duration::from_secs(120), s)
            .await
            .unwrap_or_else(|_| panic!("subscriber {i} did not reach seq {head}"))
            .expect("subscriber");
        let want: Vec<i64> = (first..=head).collect();
        if seqs != want {
            let dup = seqs.windows(2).find(|w| w[1] <= w[0]);
            let missing: Vec<i64> = want
                .iter()
                .filter(|s| !seqs.contains(s))
                .copied()
                .take(10)
                .collect();
            panic!(
                "subscriber {i}: {} events, wanted {} ({first}..={head}); out of order or repeated at {dup:?}; missing {missing:?}",
                seqs.len(),
                want.len()
            );
        }
    }
    let log = a.log_text();
    assert!(
        !log.contains("passing over") && !log.contains("closing so the client resumes"),
        "the surviving node passed over events or gave up on a gap:\n{log}"
    );
    let metrics = reqwest::get(format!("{base_a}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let count = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or("0")
            .to_string()
    };
    eprintln!(
        "{head} events; surviving node: {} deliveries, {} gap holds, {} gap fills",
        count("atende_ws_deliveries_total"),
        count("atende_ws_gap_holds_total"),
        count("atende_ws_gap_fills_total")
    );
}
