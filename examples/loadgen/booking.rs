//! `--mode booking`: bookings per second under contention, and a double-booking count that must be 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Args;
use crate::common::*;

/// Booking under contention, then a check that nothing was double booked.
pub(crate) async fn booking_mode(args: Args) {
    let http = reqwest::Client::new();
    let admin = login(&http, &args.url, &args.email, &args.password).await;
    let helena = login(&http, &args.url, "dra.helena@atende.demo", &args.password).await;
    let token = admin["access_token"].as_str().expect("token").to_string();
    let clinic = admin_clinic(&admin);
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
