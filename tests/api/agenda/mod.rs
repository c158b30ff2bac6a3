//! The agenda: availability, booking rules and permissions, no double booking under real
//! concurrency, live updates, one-click links, the calendar feed and the audit trail. This
//! module holds the fixture and the helpers the agenda's tests (and the waitlist's,
//! the consultations' and the multi-node tests) share.

mod attendance;
mod audit;
mod booking;
mod day;
mod ical;
mod links;
mod live;
mod patients;
pub mod reminded;
mod setup;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub struct Agenda {
    pub admin: Session,
    pub recep: Session,
    pub helena: Session,
    pub rafael: Session,
    pub joao: Session,
    pub maria: Session,
    pub clinic: String,
    pub boavista: String,
    /// Tomorrow in the clinic (São Paulo).
    pub day: NaiveDate,
}

impl Agenda {
    /// A local time tomorrow, in UTC.
    pub fn at(&self, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::America::Sao_Paulo
            .from_local_datetime(&self.day.and_hms_opt(h, m, 0).expect("time"))
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc)
    }

    pub fn id(s: &Session) -> Value {
        s.me["id"].clone()
    }

    /// The patient's record in Aurora (the fixture's clinic), linked to their account.
    pub fn patient(s: &Session) -> Value {
        s.first_record()
    }
}

/// Helena works 08:00–18:00 every day in both her clinics, slots every 30 minutes, no
/// notice needed; Rafael the same in Aurora.
pub async fn agenda_fixture(app: &TestApp) -> Agenda {
    app.seed_demo().await;
    let admin = app.login("admin@aurora.demo", PW).await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let rafael = app.login("dr.rafael@atende.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let boavista = app
        .login("recepcao@boavista.demo", PW)
        .await
        .clinic("receptionist");
    let week: Vec<Value> = (0..7)
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "18:00"}))
        .collect();
    let rules = json!({"min_notice_minutes": 0, "booking_window_days": 30, "daily_limit": null, "slot_step_minutes": 30});
    for (c, who) in [(&clinic, &helena), (&boavista, &helena), (&clinic, &rafael)] {
        let resp = app
            .client
            .put(app.url(&format!(
                "/api/clinics/{c}/professionals/{}/schedule",
                who.me["id"].as_str().expect("id")
            )))
            .bearer_auth(&who.access)
            .json(&json!({"hours": week, "rules": rules}))
            .send()
            .await
            .expect("put");
        assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.text().await);
    }
    let day = Utc::now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive()
        + Duration::days(1);
    Agenda {
        joao: app.login("joao@paciente.demo", PW).await,
        maria: app.login("maria@paciente.demo", PW).await,
        admin,
        recep,
        helena,
        rafael,
        clinic,
        boavista,
        day,
    }
}

pub async fn maria_in(app: &TestApp, clinic: &str, who: &Session) -> Value {
    let (_, list) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/patients?q=Maria"),
            Some(&who.access),
        )
        .await,
    )
    .await;
    list[0]["id"].clone()
}

pub async fn slots(app: &TestApp, a: &Agenda, pro: &Session) -> Vec<DateTime<Utc>> {
    let (status, body) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/slots?professional_user_id={}&from={}&to={}",
                a.clinic,
                pro.me["id"].as_str().expect("id"),
                a.day,
                a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| {
            s["starts_at"]
                .as_str()
                .expect("start")
                .parse()
                .expect("time")
        })
        .collect()
}

pub async fn book(app: &TestApp, clinic: &str, who: &Session, body: Value) -> reqwest::Response {
    app.post(
        &format!("/api/clinics/{clinic}/appointments"),
        Some(&who.access),
        &body,
    )
    .await
}

/// `n` patients registered at the clinic (valid CPFs), for concurrent bookings.
pub async fn many_patients(app: &TestApp, clinic: &str, recep: &Session, n: usize) -> Vec<Value> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, p) = json_of(
            app.post(
                &format!("/api/clinics/{clinic}/patients"),
                Some(&recep.access),
                &json!({"full_name": format!("Paciente Concorrente {i}"), "cpf": cpf_for(i), "birth_date": "1985-05-05"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        ids.push(p["id"].clone());
    }
    ids
}

/// A valid CPF derived from `n`.
pub fn cpf_for(n: usize) -> String {
    let base = format!("{:09}", 300_000_000 + n);
    let mut d: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
    for _ in 0..2 {
        let len = d.len() as u32;
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, x)| x * (len + 1 - i as u32))
            .sum();
        let r = (sum * 10) % 11;
        d.push(if r == 10 { 0 } else { r });
    }
    d.iter().map(|x| char::from(b'0' + *x as u8)).collect()
}

/// Fire all bookings at once; (created, slot_taken) counts. Anything else fails the test.
pub async fn race(requests: Vec<reqwest::RequestBuilder>) -> (usize, usize) {
    let results = futures_util::future::join_all(requests.into_iter().map(|r| r.send())).await;
    let (mut created, mut taken) = (0, 0);
    for r in results {
        let r = r.expect("response");
        let status = r.status();
        let body: Value = r.json().await.expect("json");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT if body["code"] == "slot_taken" => taken += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    (created, taken)
}

/// An appointment's status (tomorrow's, as the receptionist lists them).
pub async fn appointment_status(app: &TestApp, a: &Agenda, appt: &Value) -> String {
    let day = a.day;
    let (status, list) = json_of(
        app.get(
            &format!("/api/clinics/{}/appointments?from={day}&to={day}", a.clinic),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .expect("list")
        .iter()
        .find(|x| x["id"] == appt["id"])
        .map(|x| x["status"].as_str().expect("status").to_string())
        .expect("the appointment is listed")
}
