//! `--mode rooms`: chat throughput and latency over many rooms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Args;
use crate::common::*;

/// Chat load: many rooms, one receiver each, senders spread over the rooms.
pub(crate) async fn rooms_mode(args: Args) {
    let http = reqwest::Client::new();
    let (recep_token, token, clinic, helena_id) = reception_and_helena(&http, &args).await;
    println!("setting up {} rooms", args.rooms);
    let setup = Instant::now();
    let mut topics = Vec::with_capacity(args.rooms);
    let mut rooms = Vec::with_capacity(args.rooms);
    for i in 0..args.rooms {
        let patient_id = load_patient(&http, &args.url, &recep_token, &clinic, i).await;
        let room: Value = http
            .post(format!("{}/api/clinics/{clinic}/chat/rooms", args.url))
            .bearer_auth(&recep_token)
            .json(&json!({"patient_id": patient_id, "professional_user_id": helena_id}))
            .send()
            .await
            .expect("room")
            .json()
            .await
            .expect("room json");
        topics.push(room["topic"].as_str().expect("topic").to_string());
        rooms.push(room["id"].as_str().expect("room id").to_string());
    }
    let ws_url = format!("{}/ws", args.url.replacen("http://", "ws://", 1));
    let received = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut readers = Vec::new();
    for topic in &topics {
        for _ in 0..args.receivers_per_room {
            let mut ws = open(&ws_url, &token, topic).await;
            let received = received.clone();
            let mut stop = stop_rx.clone();
            readers.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let msg = tokio::select! {
                        m = ws.next() => m,
                        _ = stop.changed() => break,
                    };
                    let Some(Ok(msg)) = msg else { break };
                    if let Message::Text(t) = msg
                        && t.contains("\"event\":\"chat.message\"")
                        && let Some(i) = t.find("\"body\":\"t=")
                    {
                        let rest = &t[i + 10..];
                        let end = rest.find('"').unwrap_or(rest.len());
                        if let Ok(sent) = rest[..end].parse::<u64>() {
                            samples.push(now_ns().saturating_sub(sent));
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                samples
            }));
        }
    }
    // Senders: each owns a slice of the rooms and joins them all on one connection.
    let mut senders = Vec::new();
    for s in 0..args.senders {
        let mine: Vec<String> = topics
            .iter()
            .skip(s)
            .step_by(args.senders)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut ws = open(&ws_url, &token, &mine[0]).await;
        for (k, t) in mine.iter().enumerate().skip(1) {
            let f = json!({"ref": format!("j{k}"), "topic": t, "event": "join", "payload": {}});
            ws.send(Message::Text(f.to_string().into()))
                .await
                .expect("join");
        }
        senders.push((ws, mine));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "ready in {:.1} s: {} rooms, {} receivers, {} sender connections; sending {} msg/s for {} s",
        setup.elapsed().as_secs_f64(),
        topics.len(),
        readers.len(),
        senders.len(),
        args.rate,
        args.duration
    );
    let per_sender = (args.rate as f64 / senders.len() as f64).max(0.001);
    let total = args.rate * args.duration;
    let mut handles = Vec::new();
    for (ws, mine) in senders {
        let count = (total as f64 / args.rate as f64 * per_sender).round() as usize;
        handles.push(tokio::spawn(send_accounted(ws, mine, count, per_sender)));
    }
    let mut tally = Tally::default();
    for h in handles {
        tally.add(&h.await.expect("sender"));
    }
    let sent = tally.sent;
    let elapsed = tally.sending_secs;
    let expected = (tally.stored * args.receivers_per_room) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    let mut lat = Vec::new();
    for r in readers {
        if let Ok(samples) = r.await {
            lat.extend(samples);
        }
    }
    let got = received.load(Ordering::Relaxed);
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1e6
    };
    println!();
    println!("rooms:                   {}", topics.len());
    println!(
        "messages sent:           {sent} in {elapsed:.1} s ({:.0} msg/s)",
        sent as f64 / elapsed
    );
    println!(
        "stored / refused / unanswered: {} / {} / {} (overloaded answers: {}, retries: {}, other errors: {:?})",
        tally.stored,
        tally.refused,
        tally.unanswered,
        tally.overloaded,
        tally.retries,
        tally.errors
    );
    let in_rooms = stored_in_rooms(&http, &args.url, &token, &rooms).await;
    println!("stored according to the rooms' history: {in_rooms}");
    println!("delivered:               {got} of {expected} expected (stored × receivers per room)");
    println!(
        "latency p50 / p99 / max: {:.1} / {:.1} / {:.1} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

/// What one sender's messages came to.
#[derive(Default, Debug)]
struct Tally {
    sent: usize,
    /// Acknowledged as stored (a retry answered `duplicate` counts once).
    stored: usize,
    /// Still `overloaded` after the last retry: the client gave up, nothing stored.
    refused: usize,
    /// No answer at all within 30 s after the last send: must be 0.
    unanswered: usize,
    overloaded: usize,
    retries: usize,
    errors: std::collections::BTreeMap<String, usize>,
    sending_secs: f64,
    /// The server closed the connection (e.g. a slow consumer): what was outstanding then
    /// is unanswered.
    closed: bool,
    closes: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.sent += o.sent;
        self.stored += o.stored;
        self.refused += o.refused;
        self.unanswered += o.unanswered;
        self.overloaded += o.overloaded;
        self.retries += o.retries;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.sending_secs = self.sending_secs.max(o.sending_secs);
        self.closes += usize::from(o.closed);
    }
}

/// A retry gives up after this many `overloaded` answers.
const MAX_TRIES: u32 = 20;

/// Send `count` messages over `mine` at `rate` a second like a careful client: each one
/// until it is stored or refused — an `overloaded` answer is retried with the same
/// `client_id` after its `retry_after_ms` — keeping the connection until every message has
/// its answer (or 30 s have passed since the last send).
async fn send_accounted(ws: Ws, mine: Vec<String>, count: usize, rate: f64) -> Tally {
    use std::collections::HashMap;
    let (mut sink, mut stream) = ws.split();
    let (retry_tx, mut retry_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // ref → (frame to resend, tries so far)
    let outstanding: Arc<std::sync::Mutex<HashMap<String, (String, u32)>>> = Arc::default();
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let reader = {
        let (outstanding, tally) = (outstanding.clone(), tally.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(t) = msg else { continue };
                if !t.contains("\"event\":\"reply\"") {
                    continue;
                }
                let Ok(f) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let Some(r) = f["ref"].as_str().filter(|r| r.starts_with('m')) else {
                    continue;
                };
                let Some((frame, tries)) = outstanding.lock().expect("lock").remove(r) else {
                    continue;
                };
                let p = &f["payload"];
                let mut t = tally.lock().expect("lock");
                match (p["status"].as_str(), p["code"].as_str()) {
                    (Some("ok"), _) => t.stored += 1,
                    (_, Some("overloaded")) if tries < MAX_TRIES => {
                        t.overloaded += 1;
                        t.retries += 1;
                        let wait = p["retry_after_ms"].as_u64().unwrap_or(250);
                        let retry_tx = retry_tx.clone();
                        let again = r.split('-').next().unwrap_or(r).to_string();
                        let next_ref = format!("{again}-{}", tries + 1);
                        let frame = frame.replacen(
                            &format!("\"ref\":\"{r}\""),
                            &format!("\"ref\":\"{next_ref}\""),
                            1,
                        );
                        outstanding
                            .lock()
                            .expect("lock")
                            .insert(next_ref, (frame.clone(), tries + 1));
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(wait)).await;
                            let _ = retry_tx.send(frame);
                        });
                    }
                    (_, Some("overloaded")) => {
                        t.overloaded += 1;
                        t.refused += 1;
                    }
                    (_, code) => *t.errors.entry(code.unwrap_or("?").to_string()).or_default() += 1,
                }
            }
        })
    };
    let gap = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut next = Instant::now();
    let mut i = 0;
    let mut last_send = Instant::now();
    loop {
        let pending = !outstanding.lock().expect("lock").is_empty();
        if i >= count && (!pending || last_send.elapsed() > Duration::from_secs(30)) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()), if i < count => {
                let topic = &mine[i % mine.len()];
                let r = format!("m{i}-0");
                let frame = json!({"ref": r, "topic": topic, "event": "message.send",
                    "payload": {"client_id": uuid::Uuid::new_v4(), "body": format!("t={}", now_ns())}})
                    .to_string();
                outstanding.lock().expect("lock").insert(r, (frame.clone(), 0));
                if sink.send(Message::Text(frame.into())).await.is_err() {
                    tally.lock().expect("lock").closed = true;
                    break;
                }
                i += 1;
                next += gap;
                last_send = Instant::now();
                if i == count {
                    tally.lock().expect("lock").sending_secs = start.elapsed().as_secs_f64();
                }
            }
            Some(frame) = retry_rx.recv() => {
                if sink.send(Message::Text(frame.into())).await.is_err() {
                    tally.lock().expect("lock").closed = true;
                    break;
                }
                last_send = Instant::now();
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    reader.abort();
    let mut t = std::mem::take(&mut *tally.lock().expect("lock"));
    t.sent = i;
    t.unanswered = outstanding.lock().expect("lock").len();
    t
}

/// Messages stored, according to each room's history (its topic's last seq: only messages
/// were sent).
async fn stored_in_rooms(http: &reqwest::Client, url: &str, token: &str, rooms: &[String]) -> i64 {
    let mut total = 0;
    for room in rooms {
        let page: Value = http
            .get(format!("{url}/api/chat/rooms/{room}/messages?limit=1"))
            .bearer_auth(token)
            .send()
            .await
            .expect("history")
            .json()
            .await
            .expect("history json");
        total += page["last_seq"].as_i64().unwrap_or(0);
    }
    total
}
