//! WebSocket load generator for atende.
//!
//! Opens N WebSocket clients on loopback against a running server, joins them all to one
//! topic (the clinic staff room of the given user), publishes timestamped chat messages
//! from one more client, and reports delivery latency (p50/p99/max), deliveries per
//! second, and the server's memory per idle connection (from /proc/<pid>/status).
//!
//! ```sh
//! ulimit -n 20000
//! cargo run --release -- serve --demo &                 # in an empty directory
//! cargo run --release --example loadgen -- --url http://127.0.0.1:8080 \
//!     --connections 10000 --events 20 --server-pid $(pgrep -f 'atende serve')
//! ```
//! Loopback only: the target must be this machine.
//!
//! `--mode rooms` measures chat instead: it registers `--rooms` patients, opens a chat room
//! between each and Dra. Helena (demo data), connects one receiver per room and `--senders`
//! sender connections, and sends `--rate` messages per second spread over the rooms for
//! `--duration` seconds, reporting sustained messages/s and send-to-receive latency.
//! With `--rooms 1` it is the one-busy-room case. Run the server with the per-sender and
//! per-connection limits raised (see docs/performance.md).
//!
//! `--mode queue` measures the waiting room: it opens `--connections` guest connections on
//! the clinic's panel topic (half as TV panels with a panel secret, half as patients' phones
//! with tracker links), then (1) calls `--events` patients one by one and reports the time
//! from sending "call next" until every panel and phone has the new call (p50/p99/max over
//! all deliveries), and (2) runs `--senders` concurrent desks doing check-in → call next →
//! finish for `--duration` seconds and reports queue operations per second with their p99.
//! Log in as the demo clinic admin (`--email admin@aurora.demo`).
//!
//! `--mode booking` measures booking under contention: as the clinic admin it opens Dra.
//! Helena's agenda around the clock for the next `--days` days (slots every 15 minutes,
//! 30-minute appointments, so neighbouring slots overlap), registers `--rooms` patients,
//! then `--senders` concurrent clients book random slots among the first `--slots` starts
//! for random patients for `--duration` seconds. It reports bookings per second, request
//! latency p50/p99, how many requests got `slot_taken`/`patient_busy`, and then reads the
//! agenda back and counts double bookings (overlapping appointments of the professional or
//! of a patient), which must be 0.
//!
//! `--mode documents` measures signed documents end to end: as Dra. Helena (demo data) it
//! listens on her `user:` topic, then `--senders` concurrent clients issue `--events`
//! prescriptions for João (HTTP 202, stored `pending`, queued to the signer pool) and it
//! waits for every `document.updated` push saying `signed`. It reports documents per second
//! from the first request to the last signature, and the issue → signed latency p50/p99.
//! Start the server with `ATENDE_DOCUMENTS__SIGNER_THREADS=1` or `2` to compare.
//!
//! `--mode consult` measures teleconsultation signaling: the receptionist books `--rooms`
//! back-to-back 5-minute teleconsultations of João with Dra. Helena (start the server with
//! `ATENDE_CONSULT__LINK_LEAD_MINUTES=1000000` so every link opens now), each session gets a
//! professional connection (Helena, logged in) and a patient connection (the link), both
//! enter and the professional admits. Then every session at once runs `--events` rounds of
//! offer → answer plus two candidates each way, each timestamped, and it reports the relay
//! latency (send → the other side receives) p50/p99/max over all signals and the signals
//! relayed per second.
//!
//! `--mode relay` measures the media relay: it books and opens `--rooms` teleconsultations as
//! above (start the server with `ATENDE_MEDIA__RELAY=always`, the link lead as above and
//! `ATENDE_MEDIA__MAX_PEERS` ≥ 4 × rooms), and in each call the professional and the patient
//! (webrtc-rs clients in this process) publish fake video at `--kbps` (default 500) and each
//! subscribes to the other through the server. After a 3 s warm-up it measures for
//! `--duration` seconds: media delivered to the subscribers versus sent, the server's CPU
//! (`--server-pid`, from /proc: user + system time) and RSS, and this process's own CPU
//! (the clients' SRTP/DTLS work competes for the same cores).

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/common/webrtc_media.rs"]
mod webrtc_media;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    url: String,
    email: String,
    password: String,
    connections: usize,
    events: usize,
    interval_ms: u64,
    server_pid: Option<u32>,
    batch: usize,
    mode: String,
    rooms: usize,
    senders: usize,
    rate: u64,
    duration: u64,
    receivers_per_room: usize,
    slots: usize,
    days: i64,
    kbps: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8080".into(),
        email: "recepcao@aurora.demo".into(),
        password: "atende-demo".into(),
        connections: 1000,
        events: 20,
        interval_ms: 500,
        server_pid: None,
        batch: 200,
        mode: "broadcast".into(),
        rooms: 1000,
        senders: 20,
        rate: 200,
        duration: 20,
        receivers_per_room: 1,
        slots: 64,
        days: 3,
        kbps: 500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = val(),
            "--email" => a.email = val(),
            "--password" => a.password = val(),
            "--connections" => a.connections = val().parse().expect("number"),
            "--events" => a.events = val().parse().expect("number"),
            "--interval-ms" => a.interval_ms = val().parse().expect("number"),
            "--server-pid" => a.server_pid = Some(val().parse().expect("pid")),
            "--batch" => a.batch = val().parse().expect("number"),
            "--mode" => a.mode = val(),
            "--rooms" => a.rooms = val().parse().expect("number"),
            "--senders" => a.senders = val().parse().expect("number"),
            "--rate" => a.rate = val().parse().expect("number"),
            "--duration" => a.duration = val().parse().expect("seconds"),
            "--receivers-per-room" => a.receivers_per_room = val().parse().expect("number"),
            "--slots" => a.slots = val().parse().expect("number"),
            "--days" => a.days = val().parse().expect("number"),
            "--kbps" => a.kbps = val().parse().expect("number"),
            other => panic!("unknown flag {other}"),
        }
    }
    let host = a
        .url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    assert!(
        host == "localhost" || host.starts_with("127.") || host == "[::1]",
        "loadgen only targets loopback addresses"
    );
    a
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connect, authenticate with the access token in the first frame, join `topic`.
async fn open(ws_url: &str, token: &str, topic: &str) -> Ws {
    open_guest(ws_url, json!({ "token": token }), topic).await
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    if args.mode == "rooms" {
        return rooms_mode(args).await;
    }
    if args.mode == "queue" {
        return queue_mode(args).await;
    }
    if args.mode == "booking" {
        return booking_mode(args).await;
    }
    if args.mode == "documents" {
        return documents_mode(args).await;
    }
    if args.mode == "consult" {
        return consult_mode(args).await;
    }
    if args.mode == "relay" {
        return relay_mode(args).await;
    }
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/auth/login", args.url))
        .json(&json!({"email": args.email, "password": args.password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    let token = login["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let rooms: Value = http
        .get(format!("{}/api/chat/rooms", args.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("rooms")
        .json()
        .await
        .expect("rooms json");
    let topic = rooms
        .as_array()
        .and_then(|r| r.iter().find(|x| x["kind"] == "staff"))
        .and_then(|r| r["topic"].as_str())
        .expect("a staff room")
        .to_string();
    let ws_url = format!("{}/ws", args.url.replacen("http://", "ws://", 1));
    let rss_before = args.server_pid.and_then(rss_kib);
    println!("topic {topic}; opening {} connections", args.connections);

    // Each reader keeps its own samples (no shared channel on the hot path) and hands them
    // back when it has seen every event.
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(args.connections);
    let events = args.events;
    let setup_start = Instant::now();
    let mut opened = 0usize;
    while opened < args.connections {
        let n = args.batch.min(args.connections - opened);
        let batch: Vec<_> = (0..n)
            .map(|_| {
                let (url, token, topic) = (ws_url.clone(), token.clone(), topic.clone());
                tokio::spawn(async move { open(&url, &token, &topic).await })
            })
            .collect();
        for h in batch {
            let mut ws = h.await.expect("task");
            let received = received.clone();
            readers.push(tokio::spawn(async move {
                let mut samples = Vec::with_capacity(events);
                while samples.len() < events {
                    let Some(Ok(msg)) = ws.next().await else {
                        break;
                    };
                    if let Message::Text(t) = msg
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
                // Keep the connection open until the end of the run.
                (samples, ws)
            }));
        }
        opened += n;
        if opened.is_multiple_of(2000) || opened == args.connections {
            println!(
                "  {opened} connected ({:.1} s)",
                setup_start.elapsed().as_secs_f64()
            );
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = args.server_pid.and_then(rss_kib);

    let mut publisher = open(&ws_url, &token, &topic).await;
    let expected = (args.connections * args.events) as u64;
    let start = Instant::now();
    for i in 0..args.events {
        let frame = json!({"ref": format!("p{i}"), "topic": topic, "event": "message.send",
            "payload": {"client_id": uuid::Uuid::new_v4(), "body": format!("t={}", now_ns())}});
        publisher
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat: Vec<u64> = Vec::with_capacity(expected as usize);
    let mut sockets = Vec::with_capacity(args.connections);
    for r in readers {
        if r.is_finished() {
            let (samples, ws) = r.await.expect("reader");
            lat.extend(samples);
            sockets.push(ws);
        } else {
            r.abort();
        }
    }
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1e6
    };
    println!();
    println!("connections held:        {}", args.connections);
    println!("events published:        {}", args.events);
    println!(
        "deliveries:              {} of {} expected",
        lat.len(),
        expected
    );
    println!(
        "latency p50 / p99 / max: {:.1} / {:.1} / {:.1} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "throughput:              {:.0} deliveries/s over {:.1} s (publishing one event every {} ms)",
        lat.len() as f64 / elapsed,
        elapsed,
        args.interval_ms
    );
    if let (Some(before), Some(idle)) = (rss_before, rss_idle) {
        println!(
            "server RSS:              {before} KiB before, {idle} KiB with all connected and idle: {:.1} KiB per connection",
            idle.saturating_sub(before) as f64 / args.connections as f64
        );
    }
}

/// A valid CPF derived from `n` (check digits computed).
fn cpf_for(n: usize) -> String {
    let base = format!("{:09}", 200_000_000 + n);
    let d: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
    let check = |d: &[u32]| {
        let len = d.len() as u32;
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, x)| x * (len + 1 - i as u32))
            .sum();
        let r = (sum * 10) % 11;
        if r == 10 { 0 } else { r }
    };
    let mut all = d.clone();
    all.push(check(&d));
    let c2 = check(&all);
    all.push(c2);
    all.iter().map(|x| char::from(b'0' + *x as u8)).collect()
}

async fn login(http: &reqwest::Client, url: &str, email: &str, password: &str) -> Value {
    http.post(format!("{url}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json")
}

/// Register load-test patient `i` at the clinic (or find them from an earlier run).
async fn load_patient(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    clinic: &str,
    i: usize,
) -> String {
    let patient: Value = http
        .post(format!("{url}/api/clinics/{clinic}/patients"))
        .bearer_auth(token)
        .json(&json!({"full_name": format!("Paciente de Carga {i}"), "cpf": cpf_for(i), "birth_date": "1980-01-01"}))
        .send()
        .await
        .expect("patient")
        .json()
        .await
        .expect("patient json");
    if let Some(id) = patient["id"].as_str() {
        return id.to_string();
    }
    let found: Value = http
        .get(format!(
            "{url}/api/clinics/{clinic}/patients?q={}",
            cpf_for(i)
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("search json");
    found[0]["id"]
        .as_str()
        .expect("existing patient")
        .to_string()
}

/// Log in the demo receptionist and Dra. Helena: (receptionist's token, Helena's token,
/// the receptionist's clinic, Helena's user id).
async fn reception_and_helena(
    http: &reqwest::Client,
    args: &Args,
) -> (String, String, String, Value) {
    let recep = login(http, &args.url, "recepcao@aurora.demo", &args.password).await;
    let helena = login(http, &args.url, "dra.helena@atende.demo", &args.password).await;
    let clinic = recep["user"]["memberships"][0]["clinic_id"]
        .as_str()
        .expect("clinic")
        .to_string();
    (
        recep["access_token"].as_str().expect("token").to_string(),
        helena["access_token"].as_str().expect("token").to_string(),
        clinic,
        helena["user"]["id"].clone(),
    )
}

/// Chat load: many rooms, one receiver each, senders spread over the rooms.
async fn rooms_mode(args: Args) {
    let http = reqwest::Client::new();
    let (recep_token, token, clinic, helena_id) = reception_and_helena(&http, &args).await;
    println!("setting up {} rooms", args.rooms);
    let setup = Instant::now();
    let mut topics = Vec::with_capacity(args.rooms);
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
    let start = Instant::now();
    let mut handles = Vec::new();
    for (ws, mine) in senders {
        let count = (total as f64 / args.rate as f64 * per_sender).round() as usize;
        handles.push(tokio::spawn(async move {
            let gap = Duration::from_secs_f64(1.0 / per_sender);
            let mut next = Instant::now();
            let mut acks = 0usize;
            let mut errors = 0usize;
            let (mut sink, mut stream) = ws.split();
            let reader = tokio::spawn(async move {
                while let Some(Ok(Message::Text(t))) = stream.next().await {
                    if t.contains("\"ref\":\"m") {
                        if t.contains("\"status\":\"ok\"") { acks += 1 } else { errors += 1 }
                    }
                }
                (acks, errors)
            });
            for i in 0..count {
                let topic = &mine[i % mine.len()];
                let frame = json!({"ref": format!("m{i}"), "topic": topic, "event": "message.send",
                    "payload": {"client_id": uuid::Uuid::new_v4(), "body": format!("t={}", now_ns())}});
                sink.send(Message::Text(frame.to_string().into())).await.expect("send");
                next += gap;
                tokio::time::sleep_until(next.into()).await;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            reader.abort();
            count
        }));
    }
    let mut sent = 0usize;
    for h in handles {
        sent += h.await.expect("sender");
    }
    let elapsed = start.elapsed().as_secs_f64() - 3.0;
    let expected = (sent * args.receivers_per_room) as u64;
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
    println!("delivered:               {got} of {expected} expected");
    println!(
        "latency p50 / p99 / max: {:.1} / {:.1} / {:.1} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

/// Connect, authenticate with `credential` in the first `auth` frame (`{"token": …}`, or a
/// guest's `{"panel": …}` / `{"tracker": …}`), and join `topic`.
async fn open_guest(ws_url: &str, credential: Value, topic: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect");
    ws_request(&mut ws, "system", "auth", credential).await;
    ws_request(&mut ws, topic, "join", json!({})).await;
    ws
}

fn percentiles(mut v: Vec<u64>) -> (f64, f64, f64) {
    v.sort_unstable();
    let pct = |p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i] as f64 / 1e6
    };
    (pct(0.5), pct(0.99), pct(1.0))
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    http.post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Waiting-room load: panels and phones watching one clinic while desks call patients.
async fn queue_mode(args: Args) {
    let http = reqwest::Client::new();
    let admin = login(&http, &args.url, &args.email, &args.password).await;
    let helena = login(&http, &args.url, "dra.helena@atende.demo", &args.password).await;
    let admin_token = admin["access_token"].as_str().expect("token").to_string();
    let helena_token = helena["access_token"].as_str().expect("token").to_string();
    let clinic = admin["user"]["memberships"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["role"] == "clinic_admin"))
        .and_then(|m| m["clinic_id"].as_str())
        .expect("log in as a clinic admin")
        .to_string();
    let base = format!("{}/api/clinics/{clinic}/queue", args.url);
    let panel = post(
        &http,
        format!("{base}/panel-token"),
        &admin_token,
        json!({}),
    )
    .await;
    let panel_token = panel["token"].as_str().expect("panel token").to_string();
    // Thirty people already waiting, whose trackers the phones use.
    let mut trackers = Vec::new();
    for i in 0..30 {
        let e = post(
            &http,
            base.clone(),
            &admin_token,
            json!({"full_name": format!("Espera Carga {i}")}),
        )
        .await;
        trackers.push(e["tracker"].as_str().expect("tracker").to_string());
    }
    let topic = format!("clinic:{clinic}:panel");
    let ws_url = format!("{}/ws", args.url.replacen("http://", "ws://", 1));
    // Per call: when each connection first saw it as the current call.
    let seen: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u64>>>> = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut readers = Vec::new();
    let setup = Instant::now();
    for i in 0..args.connections {
        let credential = if i % 2 == 0 {
            json!({"panel": panel_token})
        } else {
            json!({"tracker": trackers[i % trackers.len()]})
        };
        let mut ws = open_guest(&ws_url, credential, &topic).await;
        let seen = seen.clone();
        let mut stop = stop_rx.clone();
        readers.push(tokio::spawn(async move {
            let mut current = String::new();
            loop {
                let msg = tokio::select! {
                    m = ws.next() => m,
                    _ = stop.changed() => break,
                };
                let Some(Ok(Message::Text(t))) = msg else {
                    if matches!(msg, None | Some(Err(_))) {
                        break;
                    } else {
                        continue;
                    }
                };
                let at = now_ns();
                if !t.contains("\"panel.updated\"") {
                    continue;
                }
                let v: Value = serde_json::from_str(&t).expect("json");
                let ticket = v["payload"]["calls"][0]["ticket"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                if !ticket.is_empty() && ticket != current {
                    seen.lock()
                        .expect("lock")
                        .entry(ticket.clone())
                        .or_default()
                        .push(at);
                    current = ticket;
                }
            }
        }));
    }
    println!(
        "{} panel/phone connections ready in {:.1} s",
        readers.len(),
        setup.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    // (1) Call next, one at a time: time until every connection shows the new call.
    let mut lat = Vec::new();
    let mut complete = 0;
    for _ in 0..args.events {
        post(
            &http,
            base.clone(),
            &admin_token,
            json!({"full_name": "Nova Chegada"}),
        )
        .await;
        let t0 = now_ns();
        let called = post(
            &http,
            format!("{base}/call-next"),
            &helena_token,
            json!({"room": "Sala 1"}),
        )
        .await;
        let ticket = called["ticket"]
            .as_str()
            .expect("called ticket")
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n = seen.lock().expect("lock").get(&ticket).map_or(0, Vec::len);
            if n >= readers.len() || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let times = seen
            .lock()
            .expect("lock")
            .remove(&ticket)
            .unwrap_or_default();
        if times.len() >= readers.len() {
            complete += 1;
        }
        lat.extend(times.iter().map(|t| t.saturating_sub(t0)));
        let id = called["id"].as_str().expect("id");
        post(
            &http,
            format!("{base}/{id}/finish"),
            &helena_token,
            json!({}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let (p50, p99, max) = percentiles(lat.clone());
    println!();
    println!("call next -> all {} panels/phones:", readers.len());
    println!(
        "  calls:                   {} ({complete} reached every connection)",
        args.events
    );
    println!("  deliveries:              {}", lat.len());
    println!("  latency p50 / p99 / max: {p50:.1} / {p99:.1} / {max:.1} ms");

    // (2) Throughput: desks doing check-in, call next, finish as fast as they can.
    let ops = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(args.duration);
    let mut desks = Vec::new();
    for d in 0..args.senders {
        let (http, base, admin_token, helena_token, ops) = (
            http.clone(),
            base.clone(),
            admin_token.clone(),
            helena_token.clone(),
            ops.clone(),
        );
        desks.push(tokio::spawn(async move {
            let mut op_lat = Vec::new();
            let mut i = 0;
            while Instant::now() < until {
                let t = Instant::now();
                post(
                    &http,
                    base.clone(),
                    &admin_token,
                    json!({"full_name": format!("Fluxo {d} {i}")}),
                )
                .await;
                op_lat.push(t.elapsed().as_nanos() as u64);
                let t = Instant::now();
                let called = post(
                    &http,
                    format!("{base}/call-next"),
                    &helena_token,
                    json!({"room": format!("Sala {d}")}),
                )
                .await;
                op_lat.push(t.elapsed().as_nanos() as u64);
                if let Some(id) = called["id"].as_str() {
                    let t = Instant::now();
                    post(
                        &http,
                        format!("{base}/{id}/finish"),
                        &helena_token,
                        json!({}),
                    )
                    .await;
                    op_lat.push(t.elapsed().as_nanos() as u64);
                }
                ops.fetch_add(3, Ordering::Relaxed);
                i += 1;
            }
            op_lat
        }));
    }
    let mut op_lat = Vec::new();
    for d in desks {
        op_lat.extend(d.await.expect("desk"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let n = ops.load(Ordering::Relaxed);
    let (p50, p99, max) = percentiles(op_lat);
    println!();
    println!(
        "queue operations with {} desks, {} watchers:",
        args.senders,
        readers.len()
    );
    println!(
        "  operations:              {n} in {elapsed:.1} s ({:.0} ops/s)",
        n as f64 / elapsed
    );
    println!("  latency p50 / p99 / max: {p50:.1} / {p99:.1} / {max:.1} ms");
}

/// Booking under contention, then a check that nothing was double booked.
async fn booking_mode(args: Args) {
    let http = reqwest::Client::new();
    let admin = login(&http, &args.url, &args.email, &args.password).await;
    let helena = login(&http, &args.url, "dra.helena@atende.demo", &args.password).await;
    let token = admin["access_token"].as_str().expect("token").to_string();
    let clinic = admin["user"]["memberships"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["role"] == "clinic_admin"))
        .and_then(|m| m["clinic_id"].as_str())
        .expect("log in as a clinic admin")
        .to_string();
    let pro = helena["user"]["id"].as_str().expect("id").to_string();
    let week: Vec<Value> = (0..7)
        .map(|d| json!({"weekday": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let resp = http
        .put(format!(
            "{}/api/clinics/{clinic}/professionals/{pro}/schedule",
            args.url
        ))
        .bearer_auth(&token)
        .json(
            &json!({"hours": week, "rules": {"min_notice_minutes": 0, "booking_window_days": 30,
            "daily_limit": null, "slot_step_minutes": 15}}),
        )
        .send()
        .await
        .expect("schedule");
    assert!(resp.status().is_success(), "schedule: {}", resp.status());
    let mut patients = Vec::new();
    for i in 0..args.rooms {
        let id = load_patient(&http, &args.url, &token, &clinic, i).await;
        patients.push(id);
    }
    let today = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let to = today + chrono::Duration::days(args.days);
    let slots: Value = http
        .get(format!(
            "{}/api/clinics/{clinic}/slots?professional_user_id={pro}&from={today}&to={to}",
            args.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("slots")
        .json()
        .await
        .expect("json");
    let starts: Vec<String> = slots["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .take(args.slots)
        .map(|s| s["starts_at"].as_str().expect("start").to_string())
        .collect();
    println!(
        "{} patients, {} candidate starts (15-min grid, 30-min appointments), {} clients, {} s",
        patients.len(),
        starts.len(),
        args.senders,
        args.duration
    );
    let (starts, patients) = (Arc::new(starts), Arc::new(patients));
    let until = Instant::now() + Duration::from_secs(args.duration);
    let start = Instant::now();
    let mut clients = Vec::new();
    for c in 0..args.senders {
        let (http, url, token, clinic, pro, starts, patients) = (
            http.clone(),
            args.url.clone(),
            token.clone(),
            clinic.clone(),
            pro.clone(),
            starts.clone(),
            patients.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ (c as u64 + 1);
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let (mut lat, mut ok, mut taken, mut busy, mut other) =
                (Vec::new(), 0u64, 0u64, 0u64, 0u64);
            while Instant::now() < until {
                let s = &starts[(next() % starts.len() as u64) as usize];
                let p = &patients[(next() % patients.len() as u64) as usize];
                let t = Instant::now();
                let r = http
                    .post(format!("{url}/api/clinics/{clinic}/appointments"))
                    .bearer_auth(&token)
                    .json(&json!({"professional_user_id": pro, "patient_id": p, "starts_at": s}))
                    .send()
                    .await
                    .expect("book");
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                lat.push(t.elapsed().as_nanos() as u64);
                match (status, body["code"].as_str()) {
                    (201, _) => ok += 1,
                    (409, Some("slot_taken")) => taken += 1,
                    (409, Some("patient_busy")) => busy += 1,
                    _ => other += 1,
                }
            }
            (lat, ok, taken, busy, other)
        }));
    }
    let (mut lat, mut ok, mut taken, mut busy, mut other) = (Vec::new(), 0, 0, 0, 0);
    for c in clients {
        let (l, o, t, b, x) = c.await.expect("client");
        lat.extend(l);
        ok += o;
        taken += t;
        busy += b;
        other += x;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = lat.len();
    let (p50, p99, max) = percentiles(lat);
    // Read everything back and look for overlaps.
    let list: Value = http
        .get(format!(
            "{}/api/clinics/{clinic}/appointments?from={today}&to={to}&professional_user_id={pro}",
            args.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let mut held: Vec<(String, String, String)> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|a| !matches!(a["status"].as_str(), Some("cancelled" | "no_show")))
        .map(|a| {
            (
                a["starts_at"].as_str().unwrap_or("").to_string(),
                a["ends_at"].as_str().unwrap_or("").to_string(),
                a["patient_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    held.sort();
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).expect("time");
    let mut pro_overlaps = 0;
    for w in held.windows(2) {
        if parse(&w[1].0) < parse(&w[0].1) {
            pro_overlaps += 1;
        }
    }
    let mut by_patient: std::collections::HashMap<&str, Vec<(&str, &str)>> = Default::default();
    for (s, e, p) in &held {
        by_patient.entry(p).or_default().push((s, e));
    }
    let mut patient_overlaps = 0;
    for v in by_patient.values() {
        for w in v.windows(2) {
            if parse(w[1].0) < parse(w[0].1) {
                patient_overlaps += 1;
            }
        }
    }
    println!();
    println!(
        "requests:                {n} in {elapsed:.1} s ({:.0} req/s)",
        n as f64 / elapsed
    );
    println!(
        "booked:                  {ok} ({:.0} bookings/s)",
        ok as f64 / elapsed
    );
    println!("refused slot_taken:      {taken}");
    println!("refused patient_busy:    {busy}");
    println!("other answers:           {other}");
    println!("latency p50 / p99 / max: {p50:.1} / {p99:.1} / {max:.1} ms");
    println!("appointments stored:     {}", held.len());
    println!("double bookings:         professional {pro_overlaps}, patient {patient_overlaps}");
}

/// Signed documents end to end: issue → render + sign on the pool → stored → pushed.
async fn documents_mode(args: Args) {
    let http = reqwest::Client::new();
    let helena = login(&http, &args.url, "dra.helena@atende.demo", &args.password).await;
    let token = helena["access_token"].as_str().expect("token").to_string();
    let me = helena["user"]["id"].as_str().expect("id").to_string();
    let clinic = helena["user"]["memberships"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["clinic_name"] == "Clínica Aurora"))
        .and_then(|m| m["clinic_id"].as_str())
        .expect("Helena works at Aurora")
        .to_string();
    let found: Value = http
        .get(format!(
            "{}/api/clinics/{clinic}/patients?q=Jo%C3%A3o",
            args.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("patients")
        .json()
        .await
        .expect("json");
    let patient = found[0]["id"].as_str().expect("João").to_string();
    let ws_url = format!("{}/ws", args.url.replacen("http", "ws", 1));
    let mut ws = open(&ws_url, &token, &format!("user:{me}")).await;
    // One warm-up document creates the CA and Helena's key outside the measurement.
    let body = json!({"clinic_id": clinic, "patient_id": patient, "content": {
        "kind": "prescription", "medications": [
            {"name": "Amoxicilina", "concentration": "500 mg", "form": "cápsula",
             "quantity": "21 cápsulas", "instructions": "1 cápsula de 8 em 8 horas por 7 dias"},
            {"name": "Dipirona sódica", "concentration": "500 mg/mL", "form": "solução oral",
             "quantity": "1 frasco", "instructions": "40 gotas até de 6/6 h se dor ou febre"},
            {"name": "Loratadina", "concentration": "10 mg", "form": "comprimido",
             "quantity": "10 comprimidos", "instructions": "1 comprimido ao dia por 10 dias"}]}});
    let url = format!("{}/api/documents", args.url);
    let warm = post(&http, url.clone(), &token, body.clone()).await;
    let warm_id = warm["id"].as_str().expect("id").to_string();
    wait_signed(&mut ws, 1, |id| id == warm_id).await;

    let started: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.senders {
        let (http, url, token, body, next, started) = (
            http.clone(),
            url.clone(),
            token.clone(),
            body.clone(),
            next.clone(),
            started.clone(),
        );
        let total = args.events as u64;
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < total {
                let at = Instant::now();
                let r = post(&http, url.clone(), &token, body.clone()).await;
                let id = r["id"].as_str().expect("202 with id").to_string();
                started.lock().expect("lock").insert(id, at);
            }
        }));
    }
    let mut latencies = Vec::with_capacity(args.events);
    let mut done = 0;
    let mut early: Vec<(String, Instant)> = Vec::new();
    while done < args.events {
        let (id, at) = next_signed(&mut ws).await;
        early.push((id, at));
        let map = started.lock().expect("lock");
        early.retain(|(id, at)| match map.get(id) {
            Some(s) => {
                latencies.push(at.duration_since(*s).as_nanos() as u64);
                done += 1;
                false
            }
            None => true,
        });
    }
    let elapsed = t0.elapsed().as_secs_f64();
    for t in tasks {
        t.await.expect("sender");
    }
    let (p50, p99, max) = percentiles(latencies);
    println!(
        "documents: {} signed in {elapsed:.2} s = {:.0} documents/s end to end (issue → render + sign → stored → pushed); \
         issue→signed latency p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; {} senders",
        args.events,
        args.events as f64 / elapsed,
        args.senders
    );
}

/// The next `document.updated` push with status `signed`: (id, when it arrived).
async fn next_signed(ws: &mut Ws) -> (String, Instant) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["event"] == "document.updated" {
                    let d = &v["payload"]["document"];
                    assert_ne!(d["status"], "failed", "a document failed: {d}");
                    if d["status"] == "signed" {
                        return (d["id"].as_str().expect("id").to_string(), Instant::now());
                    }
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket closed: {other:?}"),
        }
    }
}

async fn wait_signed(ws: &mut Ws, n: usize, want: impl Fn(&str) -> bool) {
    let mut seen = 0;
    while seen < n {
        let (id, _) = next_signed(ws).await;
        if want(&id) {
            seen += 1;
        }
    }
}

/// One teleconsultation's two connections, set up and admitted.
async fn consult_session(
    http: &reqwest::Client,
    url: &str,
    ws_url: &str,
    token: &str,
    id: &str,
) -> (String, Ws, Ws, String) {
    let c: Value = http
        .get(format!("{url}/api/consults/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("consult")
        .json()
        .await
        .expect("consult json");
    let link = c["patient_link"].as_str().expect("patient link");
    let link_token = link.trim_start_matches("/#/consulta/").to_string();
    let topic = format!("consult:{id}");
    let mut pro = open(ws_url, token, &topic).await;
    let mut pat = open_guest(ws_url, json!({ "consult": link_token }), &topic).await;
    ws_request(&mut pro, &topic, "enter", json!({})).await;
    ws_request(&mut pat, &topic, "enter", json!({})).await;
    ws_request(&mut pro, &topic, "admit", json!({})).await;
    (topic, pro, pat, link_token)
}

/// Send one event and wait for its reply (other frames are skipped).
async fn ws_request(ws: &mut Ws, topic: &str, event: &str, payload: Value) -> Value {
    let r = format!("{event}-{}", now_ns());
    let frame = json!({"ref": r, "topic": topic, "event": event, "payload": payload});
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["event"] == "reply" && v["ref"] == r {
                    assert_eq!(v["payload"]["status"], "ok", "{event}: {v}");
                    return v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket closed: {other:?}"),
        }
    }
}

/// Wait for the next signal addressed to `side`; its relay latency in ns (from the
/// timestamp the sender put in it).
async fn receive_signal(ws: &mut Ws, side: &str) -> u64 {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["event"] == "consult.signal" && v["payload"]["to"] == side {
                    let p = &v["payload"];
                    let text = p["sdp"]
                        .as_str()
                        .or_else(|| p["candidate"]["candidate"].as_str())
                        .unwrap_or_default();
                    let sent: u64 = text
                        .rsplit("ts:")
                        .next()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0);
                    return now_ns().saturating_sub(sent);
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket closed: {other:?}"),
        }
    }
}

fn sdp_with_ts() -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=x-ts:{}\r\n",
        now_ns()
    )
}

fn candidate_with_ts() -> Value {
    json!({"candidate": format!("candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ts:{}", now_ns()),
           "sdpMid": "0", "sdpMLineIndex": 0})
}

async fn send_signal(ws: &mut Ws, topic: &str, payload: Value) {
    let frame = json!({"ref": null, "topic": topic, "event": "signal", "payload": payload});
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

/// Teleconsultation signaling: many sessions exchanging offers, answers and candidates.
/// Book `--rooms` back-to-back 5-minute teleconsultations of João with Dra. Helena and open
/// each session (professional and link patient connected, entered, admitted): Helena's
/// token and, per session, (topic, professional, patient, link token).
async fn open_consults(
    args: &Args,
    http: &reqwest::Client,
) -> (String, Vec<(String, Ws, Ws, String)>) {
    let (recep_token, token, clinic, pro) = reception_and_helena(http, args).await;
    let found: Value = http
        .get(format!(
            "{}/api/clinics/{clinic}/patients?q=Jo%C3%A3o",
            args.url
        ))
        .bearer_auth(&recep_token)
        .send()
        .await
        .expect("patients")
        .json()
        .await
        .expect("json");
    let patient = found[0]["id"].clone();
    // Back-to-back 5-minute teleconsultations, starting in two days (clear of demo data).
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    let t0 = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    println!("booking {} teleconsultations", args.rooms);
    let mut ids = Vec::with_capacity(args.rooms);
    for i in 0..args.rooms {
        let start = t0 + chrono::Duration::minutes(5 * i as i64);
        let a = post(
            http,
            format!("{}/api/clinics/{clinic}/appointments", args.url),
            &recep_token,
            json!({"professional_user_id": pro, "patient_id": patient, "starts_at": start,
                   "kind": "teleconsultation", "duration_minutes": 5, "fit_in": true}),
        )
        .await;
        ids.push(
            a["id"]
                .as_str()
                .unwrap_or_else(|| panic!("booked: {a}"))
                .to_string(),
        );
    }
    let ws_url = format!("{}/ws", args.url.replacen("http://", "ws://", 1));
    println!(
        "opening {} sessions ({} connections)",
        ids.len(),
        2 * ids.len()
    );
    let mut sessions = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(args.batch.max(1)) {
        let opened = futures_util::future::join_all(
            chunk
                .iter()
                .map(|id| consult_session(http, &args.url, &ws_url, &token, id)),
        )
        .await;
        sessions.extend(opened);
    }
    (token, sessions)
}

async fn consult_mode(args: Args) {
    let http = reqwest::Client::new();
    let (_, sessions) = open_consults(&args, &http).await;
    let n_sessions = sessions.len();
    let rounds = args.events;
    let t = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|(topic, mut pro, mut pat, _)| {
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(rounds * 6);
                for _ in 0..rounds {
                    send_signal(&mut pro, &topic, json!({"to": "patient", "type": "offer", "sdp": sdp_with_ts()})).await;
                    lat.push(receive_signal(&mut pat, "patient").await);
                    send_signal(&mut pat, &topic, json!({"to": "professional", "type": "answer", "sdp": sdp_with_ts()})).await;
                    lat.push(receive_signal(&mut pro, "professional").await);
                    for _ in 0..2 {
                        send_signal(&mut pro, &topic, json!({"to": "patient", "type": "candidate", "candidate": candidate_with_ts()})).await;
                        send_signal(&mut pat, &topic, json!({"to": "professional", "type": "candidate", "candidate": candidate_with_ts()})).await;
                    }
                    for _ in 0..2 {
                        lat.push(receive_signal(&mut pat, "patient").await);
                        lat.push(receive_signal(&mut pro, "professional").await);
                    }
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("session"));
    }
    let elapsed = t.elapsed().as_secs_f64();
    let n = all.len();
    let (p50, p99, max) = percentiles(all);
    println!(
        "consult signaling: {n_sessions} sessions × {rounds} rounds = {n} signals relayed in {elapsed:.2} s \
         ({:.0} signals/s); relay latency p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        n as f64 / elapsed
    );
}

/// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// POST an offer to `/api/consults/{id}/media/{what}{query}`; the answer's JSON (panics with
/// the server's reply when it has no `sdp`).
async fn media_call(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    what: &str,
    query: &str,
    bearer: Option<&str>,
    body: Value,
) -> Value {
    let mut req = http
        .post(format!("{url}/api/consults/{id}/media/{what}{query}"))
        .json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r: Value = req.send().await.expect(what).json().await.expect("json");
    assert!(r["sdp"].is_string(), "{what}: {r}");
    r
}

async fn relay_mode(args: Args) {
    let http = reqwest::Client::new();
    let (token, sessions) = open_consults(&args, &http).await;
    // 50 packets/s of `payload` bytes + 12 header bytes ≈ --kbps.
    let payload = (args.kbps * 1000 / 8 / 50).saturating_sub(12).max(100);
    println!(
        "{} relayed calls, 2 × {} kbit/s each ({} B packets)",
        sessions.len(),
        args.kbps,
        payload + 12
    );
    let mut pumps = Vec::new();
    let mut subscribers = Vec::new();
    let mut keep = Vec::new();
    let mut keep_ws = Vec::new();
    for (i, (topic, pro_ws, pat_ws, link)) in sessions.into_iter().enumerate() {
        let id = topic.trim_start_matches("consult:").to_string();
        let pro_q = String::new();
        let pat_q = format!("?token={link}");
        let mut ids = Vec::new();
        for (q, bearer) in [(&pro_q, Some(token.as_str())), (&pat_q, None)] {
            let c = webrtc_media::client().await;
            let (track, ssrc) = c.send_video().await;
            let r = media_call(
                &http,
                &args.url,
                &id,
                "publish",
                q,
                bearer,
                json!({"sdp": c.offer().await}),
            )
            .await;
            c.accept(r["sdp"].as_str().expect("answer")).await;
            c.wait_connected().await;
            pumps.push(webrtc_media::pump_at(track, ssrc, payload));
            ids.push(
                r["publisher_id"]
                    .as_str()
                    .expect("publisher id")
                    .to_string(),
            );
            keep.push(c);
        }
        // Each side subscribes to the other's publication.
        for (q, bearer, other) in [
            (&pro_q, Some(token.as_str()), &ids[1]),
            (&pat_q, None, &ids[0]),
        ] {
            let c = webrtc_media::client().await;
            c.receive_only().await;
            let offer = json!({"sdp": c.offer().await, "publisher_id": other});
            let r = media_call(&http, &args.url, &id, "subscribe", q, bearer, offer).await;
            c.accept(r["sdp"].as_str().expect("answer")).await;
            c.wait_connected().await;
            subscribers.push(c);
        }
        // The WebSockets stay open: a call nobody is connected to ends by itself.
        keep_ws.push((pro_ws, pat_ws));
        if (i + 1) % 10 == 0 {
            println!("  {} calls up", i + 1);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let server = args.server_pid.map(|p| p.to_string());
    let received = |subs: &[webrtc_media::Client]| {
        subs.iter().map(webrtc_media::Client::received).sum::<u64>()
    };
    let (b0, s0, l0) = (
        received(&subscribers),
        server.as_deref().map(cpu_secs),
        cpu_secs("self"),
    );
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let elapsed = t.elapsed().as_secs_f64();
    let (b1, s1, l1) = (
        received(&subscribers),
        server.as_deref().map(cpu_secs),
        cpu_secs("self"),
    );
    let streams = subscribers.len() as f64;
    let sent_kbps = (payload as f64) * 50.0 * 8.0 / 1000.0;
    let got_kbps = (b1 - b0) as f64 * 8.0 / 1000.0 / elapsed / streams;
    let calls = streams / 2.0;
    println!(
        "relay: {calls:.0} calls, {streams:.0} relayed streams; payload delivered per stream {got_kbps:.0} kbit/s of {sent_kbps:.0} sent ({:.1} %)",
        100.0 * got_kbps / sent_kbps
    );
    if let (Some(s0), Some(s1), Some(pid)) = (s0, s1, args.server_pid) {
        let cpu = (s1 - s0) / elapsed;
        println!(
            "server CPU {:.0} % of one core ({:.2} % per call), RSS {} MiB; load generator CPU {:.0} %",
            cpu * 100.0,
            cpu * 100.0 / calls,
            rss_kib(pid).unwrap_or(0) / 1024,
            (l1 - l0) / elapsed * 100.0
        );
    }
    for p in pumps {
        p.abort();
    }
    drop((keep, keep_ws));
}
