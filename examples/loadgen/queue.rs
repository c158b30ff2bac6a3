//! `--mode queue`: waiting-room call fan-out to panels and phones, and desk operations per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Args;
use crate::common::*;

/// Waiting-room load: panels and phones watching one clinic while desks call patients.
pub(crate) async fn queue_mode(args: Args) {
    let http = reqwest::Client::new();
    let admin = login(&http, &args.url, &args.email, &args.password).await;
    let helena = login(&http, &args.url, "dra.helena@atende.demo", &args.password).await;
    let admin_token = admin["access_token"].as_str().expect("token").to_string();
    let helena_token = helena["access_token"].as_str().expect("token").to_string();
    let clinic = admin_clinic(&admin);
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
