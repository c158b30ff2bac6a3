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
//! `--mode auth` measures what every authenticated request pays before its own work:
//! `--senders` clients repeat `GET /api/me` for `--duration` seconds (requests/s, p50, p99).
//!
//! `--mode relay` measures the media relay: it books and opens `--rooms` teleconsultations as
//! above (start the server with `ATENDE_MEDIA__RELAY=always`, the link lead as above and
//! `ATENDE_MEDIA__MAX_PEERS` ≥ 4 × rooms), and in each call the professional and the patient
//! (webrtc-rs clients in this process) publish fake video at `--kbps` (default 500) and each
//! subscribes to the other through the server. After a 3 s warm-up it measures for
//! `--duration` seconds: media delivered to the subscribers versus sent, the server's CPU
//! (`--server-pid`, from /proc: user + system time) and RSS, and this process's own CPU
//! (the clients' SRTP/DTLS work competes for the same cores).
//!
//! `--mode record` measures the clinical record: `--senders` doctors (enrolled for the run)
//! write `--events` encounters of one patient at once (write p50, p99), then one of them
//! reads the timeline's first page `--rooms` times (p50, p99) — see `record.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../../tests/common/webrtc_media.rs"]
mod webrtc_media;

mod authed;
mod booking;
mod common;
mod consult;
mod documents;
mod queue;
mod record;
mod relay;
mod rooms;

use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub(crate) struct Args {
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

#[tokio::main]
async fn main() {
    let args = parse_args();
    if args.mode == "rooms" {
        return rooms::rooms_mode(args).await;
    }
    if args.mode == "queue" {
        return queue::queue_mode(args).await;
    }
    if args.mode == "booking" {
        return booking::booking_mode(args).await;
    }
    if args.mode == "documents" {
        return documents::documents_mode(args).await;
    }
    if args.mode == "consult" {
        return consult::consult_mode(args).await;
    }
    if args.mode == "relay" {
        return relay::relay_mode(args).await;
    }
    if args.mode == "auth" {
        return authed::auth_mode(args).await;
    }
    if args.mode == "record" {
        return record::record_mode(args).await;
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
