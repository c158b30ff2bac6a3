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

#![allow(clippy::expect_used, clippy::unwrap_used)]

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
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect");
    let frames = [
        json!({"ref": "a", "topic": "system", "event": "auth", "payload": {"token": token}}),
        json!({"ref": "j", "topic": topic, "event": "join", "payload": {}}),
    ];
    for f in frames {
        ws.send(Message::Text(f.to_string().into()))
            .await
            .expect("send");
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).expect("json");
                    if v["event"] == "reply" {
                        assert_eq!(v["payload"]["status"], "ok", "{v}");
                        break;
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("connection failed during setup: {other:?}"),
            }
        }
    }
    ws
}

#[tokio::main]
async fn main() {
    let args = parse_args();
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
