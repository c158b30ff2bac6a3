//! Ordered, gap-free delivery across nodes, with real processes: two `atende serve` on one
//! PostgreSQL and one Redis. Writers check patients in on both nodes; subscribers on both
//! follow the clinic's queue topic. In one test, midway one node is killed with SIGKILL
//! and its clients (writers and subscribers) move to the other, the subscribers rejoining
//! with `since`. In the other, a rolling update: each node in turn is replaced by a new
//! one and stopped with SIGTERM while the load runs. Every subscriber must receive every
//! event of the topic exactly once, in seq order, and no node may pass over an event.
//! Needs TEST_DATABASE_URL and TEST_REDIS_URL.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use sqlx::Connection as _;
use tokio_tungstenite::tungstenite::Message;

use crate::processes::{Env, Node, clinic, login};

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

/// The nodes a load balancer sends new connections to, as the test changes them.
pub(crate) type Live = Arc<Mutex<Vec<String>>>;

/// The `i`-th live node (round robin).
fn live_node(live: &Live, i: usize) -> String {
    let nodes = live.lock().unwrap_or_else(|e| e.into_inner());
    nodes[i % nodes.len()].clone()
}

/// Follow `topic` from the `first`-th live node, moving to another live node when the
/// connection drops, until `target` is known and reached. Returns the first seq expected
/// and every seq received, in order.
pub(crate) async fn follow(
    live: Live,
    first: usize,
    token: String,
    topic: String,
    target: Arc<AtomicI64>,
    joined: Arc<AtomicUsize>,
) -> (i64, Vec<i64>) {
    let (mut ws, head) = subscribe(&live_node(&live, first), &token, &topic, None)
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
                // The balancer's choice now (the nodes may have changed since).
                for attempt in 0..100 {
                    let node = live_node(&live, first + attempt);
                    if let Some(x) = subscribe(&node, &token, &topic, Some(last)).await {
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

/// Subscribers to the clinic's waiting room, `count` of them spread over the live nodes
/// (as its receptionist), every one joined.
async fn subscribers(
    setup: &Setup,
    count: usize,
    target: &Arc<AtomicI64>,
) -> Vec<tokio::task::JoinHandle<(i64, Vec<i64>)>> {
    let (live, token, topic) = (&setup.live, &setup.desk, &setup.topic);
    let joined = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..count)
        .map(|i| {
            tokio::spawn(follow(
                live.clone(),
                i,
                token.to_string(),
                topic.to_string(),
                target.clone(),
                joined.clone(),
            ))
        })
        .collect();
    for _ in 0..600 {
        if joined.load(Ordering::SeqCst) == count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        joined.load(Ordering::SeqCst),
        count,
        "every subscriber joined"
    );
    handles
}

/// Writer `w`: `count` walk-in check-ins, each sent to the writer's live node and sent
/// again (to whichever node is live then) when a node is gone or answers 5xx.
async fn check_ins(
    http: reqwest::Client,
    live: Live,
    desk: String,
    clinic: String,
    w: usize,
    count: usize,
    done: Arc<AtomicUsize>,
) {
    for k in 0..count {
        let body = json!({"full_name": walk_in_name(w * count + k)});
        loop {
            let base = live_node(&live, w);
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
}

/// `count` writers of `per_writer` check-ins each, started; and their count of done ones.
fn start_writers(
    setup: &Setup,
    count: usize,
    per_writer: usize,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<AtomicUsize>) {
    let done = Arc::new(AtomicUsize::new(0));
    let writers = (0..count)
        .map(|w| {
            tokio::spawn(check_ins(
                setup.http.clone(),
                setup.live.clone(),
                setup.desk.clone(),
                setup.clinic.clone(),
                w,
                per_writer,
                done.clone(),
            ))
        })
        .collect();
    (writers, done)
}

/// Two nodes on one PostgreSQL and Redis, both live, and a clinic set up through them.
struct Setup {
    env: Env,
    nodes: Vec<Node>,
    live: Live,
    http: reqwest::Client,
    clinic: String,
    /// The clinic's receptionist's access token.
    desk: String,
    /// The clinic's waiting room's topic.
    topic: String,
}

async fn two_nodes(redis: String, slug: &str) -> Setup {
    // A client that comes back after its node went away may have missed many events.
    let env = Env::new(Some(redis))
        .await
        .set("ATENDE_REALTIME__REPLAY_LIMIT", "100000");
    let nodes = vec![env.start().await, env.start().await];
    let live: Live = Arc::new(Mutex::new(nodes.iter().map(|n| n.base.clone()).collect()));
    let http = reqwest::Client::new();
    let clinic = clinic(&http, &nodes[0].base, slug, "11.222.333/0001-81").await;
    let desk = login(&http, &nodes[0].base, &format!("recepcao@{slug}.test")).await;
    let topic = format!("clinic:{clinic}:queue");
    Setup {
        env,
        nodes,
        live,
        http,
        clinic,
        desk,
        topic,
    }
}

/// Wait until `done` reaches `n`.
async fn until_done(done: &AtomicUsize, n: usize) {
    while done.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The topic's head in the database; every subscriber must then reach it having received
/// each event from its join to the head exactly once, in seq order.
async fn every_subscriber_got_every_event(
    db: &str,
    topic: &str,
    at_least: usize,
    target: &AtomicI64,
    subscribers: Vec<tokio::task::JoinHandle<(i64, Vec<i64>)>>,
) -> i64 {
    let mut conn = sqlx::PgConnection::connect(db).await.expect("pg");
    let head: i64 = sqlx::query_scalar("SELECT last_seq FROM topic_seqs WHERE topic = $1")
        .bind(topic)
        .fetch_one(&mut conn)
        .await
        .expect("head");
    assert!(head >= at_least as i64, "head {head}");
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
    head
}

/// No node passed over an event or gave up on a gap.
fn passed_over_nothing(nodes: &[&Node]) {
    for node in nodes {
        let log = node.log_text();
        assert!(
            !log.contains("passing over") && !log.contains("closing so the client resumes"),
            "{} passed over events or gave up on a gap:\n{log}",
            node.base
        );
    }
}

/// A counter of a node's `/metrics` (0 when it has not been counted yet).
async fn counter(base: &str, name: &str) -> f64 {
    let page = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    crate::helpers::metric_value(&page, name).unwrap_or(0.0)
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn every_subscriber_gets_every_event_once_in_order_across_two_nodes_and_a_kill() {
    let Some(redis) = crate::multinode::redis_url() else {
        return;
    };
    let mut setup = two_nodes(redis, "ordem").await;
    let b = setup.nodes.pop().expect("b");
    let a = setup.nodes.pop().expect("a");
    let (base_a, base_b) = (a.base.clone(), b.base.clone());

    // Subscribers, half on each node; writers, half on each node.
    let target = Arc::new(AtomicI64::new(0));
    let subs = subscribers(&setup, SUBSCRIBERS_PER_NODE * 2, &target).await;
    let (writers, done) = start_writers(&setup, WRITERS, CHECK_INS_PER_WRITER);
    until_done(&done, KILL_AFTER).await;
    b.kill(); // SIGKILL; its clients carry on on the other node.
    setup
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|n| n != &base_b);
    for w in writers {
        w.await.expect("writer");
    }

    let head = every_subscriber_got_every_event(
        &setup.env.db,
        &setup.topic,
        WRITERS * CHECK_INS_PER_WRITER,
        &target,
        subs,
    )
    .await;
    passed_over_nothing(&[&a]);
    eprintln!(
        "{head} events; surviving node: {} deliveries, {} gap holds, {} gap fills",
        counter(&base_a, "atende_ws_deliveries_total").await,
        counter(&base_a, "atende_ws_gap_holds_total").await,
        counter(&base_a, "atende_ws_gap_fills_total").await
    );
}

/// A rolling update: each node in turn is replaced by a new one (the same binary stands in
/// for the new release) while writers and subscribers run: the new node joins the load
/// balancer, the old one leaves it and is stopped with SIGTERM, draining its clients
/// (close 1012), which resume on the live nodes.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_rolling_restart_of_both_nodes_under_load_loses_and_repeats_no_event() {
    const ROLL_WRITERS: usize = 8;
    const ROLL_CHECK_INS: usize = 60;
    let Some(redis) = crate::multinode::redis_url() else {
        return;
    };
    let mut setup = two_nodes(redis, "rolagem").await;
    let target = Arc::new(AtomicI64::new(0));
    let subs = subscribers(&setup, SUBSCRIBERS_PER_NODE * 2, &target).await;
    let (writers, done) = start_writers(&setup, ROLL_WRITERS, ROLL_CHECK_INS);
    let total = ROLL_WRITERS * ROLL_CHECK_INS;
    let mut new = Vec::new();
    let old: Vec<Node> = setup.nodes.drain(..).collect();
    for (i, node) in old.into_iter().enumerate() {
        until_done(&done, total * (i + 1) / 3).await;
        let fresh = setup.env.start().await;
        {
            let mut l = setup.live.lock().unwrap_or_else(|e| e.into_inner());
            l.push(fresh.base.clone());
            l.retain(|n| n != &node.base);
        }
        let base = node.base.clone();
        let log = node.log.clone();
        let status = node.terminate().await;
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            status.success(),
            "{base} exited with {status} after SIGTERM:\n{said}"
        );
        new.push(fresh);
    }
    for w in writers {
        w.await.expect("writer");
    }

    let head =
        every_subscriber_got_every_event(&setup.env.db, &setup.topic, total, &target, subs).await;
    passed_over_nothing(&new.iter().collect::<Vec<_>>());
    eprintln!(
        "{head} events over a rolling restart of two nodes; new nodes: {} and {} deliveries",
        counter(&new[0].base, "atende_ws_deliveries_total").await,
        counter(&new[1].base, "atende_ws_deliveries_total").await
    );
}
