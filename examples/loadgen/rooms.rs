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
