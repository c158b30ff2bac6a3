//! What every mode shares: logins, demo patients, WebSocket helpers, percentiles, /proc readings.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Args;

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connect, authenticate with the access token in the first frame, join `topic`.
pub(crate) async fn open(ws_url: &str, token: &str, topic: &str) -> Ws {
    open_guest(ws_url, json!({ "token": token }), topic).await
}

/// A valid CPF derived from `n` (check digits computed).
pub(crate) fn cpf_for(n: usize) -> String {
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

pub(crate) async fn login(http: &reqwest::Client, url: &str, email: &str, password: &str) -> Value {
    http.post(format!("{url}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json")
}

/// The clinic a login answer's user administers (the caller logged in as a clinic admin).
pub(crate) fn admin_clinic(login: &Value) -> String {
    login["user"]["memberships"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["role"] == "clinic_admin"))
        .and_then(|m| m["clinic_id"].as_str())
        .expect("log in as a clinic admin")
        .to_string()
}

/// Register load-test patient `i` at the clinic (or find them from an earlier run).
pub(crate) async fn load_patient(
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
pub(crate) async fn reception_and_helena(
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

/// Connect, authenticate with `credential` in the first `auth` frame (`{"token": …}`, or a
/// guest's `{"panel": …}` / `{"tracker": …}`), and join `topic`.
pub(crate) async fn open_guest(ws_url: &str, credential: Value, topic: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect");
    ws_request(&mut ws, "system", "auth", credential).await;
    ws_request(&mut ws, topic, "join", json!({})).await;
    ws
}

pub(crate) fn percentiles(mut v: Vec<u64>) -> (f64, f64, f64) {
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

pub(crate) async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
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

/// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
pub(crate) fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// Send one event and wait for its reply (other frames are skipped).
pub(crate) async fn ws_request(ws: &mut Ws, topic: &str, event: &str, payload: Value) -> Value {
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
