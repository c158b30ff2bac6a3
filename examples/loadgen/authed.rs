//! `--mode auth`: the cost of an authenticated request. `--senders` concurrent clients, each
//! logged in as `--email`, repeat `GET /api/me` (the access token checked, the session, the
//! account, its roles and linked records read: what every authenticated route and WebSocket
//! join pays before its own work) for `--duration` seconds. Reports requests per second and
//! the latency percentiles.

use std::time::{Duration, Instant};

use crate::Args;
use crate::common::login;

pub(crate) async fn auth_mode(a: Args) {
    let http = reqwest::Client::new();
    let token = login(&http, &a.url, &a.email, &a.password).await["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let url = format!("{}/api/me", a.url);
    // Warm up the connection pool and the server.
    for _ in 0..50 {
        let r = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET");
        assert!(r.status().is_success(), "GET /api/me: {}", r.status());
    }
    let until = Instant::now() + Duration::from_secs(a.duration);
    let start = Instant::now();
    let tasks: Vec<_> = (0..a.senders.max(1))
        .map(|_| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    let r = http
                        .get(&url)
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("GET");
                    assert!(r.status().is_success(), "GET /api/me: {}", r.status());
                    let _ = r.bytes().await;
                    lat.push(t.elapsed().as_micros() as u64);
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    println!(
        "GET /api/me as {}: {} requests by {} clients in {:.1} s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms",
        a.email,
        lat.len(),
        a.senders.max(1),
        elapsed,
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
