//! `--mode consult`: teleconsultation signaling relayed between the two sides.

use std::time::Instant;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Args;
use crate::common::*;

/// One teleconsultation's two connections, set up and admitted.
pub(crate) async fn consult_session(
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

/// Wait for the next signal addressed to `side`; its relay latency in ns (from the
/// timestamp the sender put in it).
pub(crate) async fn receive_signal(ws: &mut Ws, side: &str) -> u64 {
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

pub(crate) fn sdp_with_ts() -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=x-ts:{}\r\n",
        now_ns()
    )
}

pub(crate) fn candidate_with_ts() -> Value {
    json!({"candidate": format!("candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ts:{}", now_ns()),
           "sdpMid": "0", "sdpMLineIndex": 0})
}

pub(crate) async fn send_signal(ws: &mut Ws, topic: &str, payload: Value) {
    let frame = json!({"ref": null, "topic": topic, "event": "signal", "payload": payload});
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

/// Teleconsultation signaling: many sessions exchanging offers, answers and candidates.
/// Book `--rooms` back-to-back 5-minute teleconsultations of João with Dra. Helena and open
/// each session (professional and link patient connected, entered, admitted): Helena's
/// token and, per session, (topic, professional, patient, link token).
pub(crate) async fn open_consults(
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

pub(crate) async fn consult_mode(args: Args) {
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
