//! `--mode relay`: calls through the media relay (delivery, server CPU and memory).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Args;
use crate::common::*;
use crate::consult::open_consults;
use crate::webrtc_media;

/// POST an offer to `/api/consults/{id}/media/{what}{query}`; the answer's JSON (panics with
/// the server's reply when it has no `sdp`).
pub(crate) async fn media_call(
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

pub(crate) async fn relay_mode(args: Args) {
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
