//! `--mode documents`: signed documents end to end (issue → signed push).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Args;
use crate::common::*;

/// Signed documents end to end: issue → render + sign on the pool → stored → pushed.
pub(crate) async fn documents_mode(args: Args) {
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
pub(crate) async fn next_signed(ws: &mut Ws) -> (String, Instant) {
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

pub(crate) async fn wait_signed(ws: &mut Ws, n: usize, want: impl Fn(&str) -> bool) {
    let mut seen = 0;
    while seen < n {
        let (id, _) = next_signed(ws).await;
        if want(&id) {
            seen += 1;
        }
    }
}
