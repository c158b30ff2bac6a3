//! The agenda: availability, booking rules and permissions, no double booking under real
//! concurrency, and live updates.

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

    pub fn patient(s: &Session) -> Value {
        s.me["patient"]["id"].clone()
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

async fn slots(app: &TestApp, a: &Agenda, pro: &Session) -> Vec<DateTime<Utc>> {
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

#[actix_web::test]
async fn booking_follows_availability_and_never_double_books_anyone() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let ten = a.at(10, 0);
    let free = slots(&app, &a, &a.helena).await;
    assert_eq!(free.len(), 20, "08:00–18:00 every 30 min");
    assert!(free.contains(&ten));

    let (status, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": Agenda::patient(&a.joao),
            "starts_at": ten}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    assert_eq!(appt["status"], "scheduled");
    assert_eq!(appt["patient_name"], "João Pereira da Silva");
    assert!(
        !slots(&app, &a, &a.helena).await.contains(&ten),
        "the slot is gone"
    );

    let maria = maria_in(&app, &a.clinic, &a.recep).await;
    // Same professional, same time: taken.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria, "starts_at": ten}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    // Overlapping by a quarter hour, squeezed in outside the grid: still taken.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria,
            "starts_at": a.at(10, 15), "fit_in": true}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    // The same patient with another professional at the same time: the patient is busy.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({
            "professional_user_id": Agenda::id(&a.rafael), "patient_id": Agenda::patient(&a.joao),
            "starts_at": ten}),
        )
        .await,
        StatusCode::CONFLICT,
        "patient_busy",
    )
    .await;
    // Helena in her other clinic at the same time: taken (she cannot be in two places).
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(&app, &a.boavista, &bv_recep).await;
    assert_error(
        book(
            &app,
            &a.boavista,
            &bv_recep,
            json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria_bv,
            "starts_at": ten, "fit_in": true}),
        )
        .await,
        StatusCode::CONFLICT,
        "slot_taken",
    )
    .await;
    // Not an offered slot (03:00): refused, unless the reception fits it in.
    assert_error(
        book(&app, &a.clinic, &a.recep, json!({
            "professional_user_id": Agenda::id(&a.helena), "patient_id": maria, "starts_at": a.at(3, 0)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "slot_unavailable",
    )
    .await;
    let resp = book(
        &app,
        &a.clinic,
        &a.recep,
        json!({
        "professional_user_id": Agenda::id(&a.helena), "patient_id": maria,
        "starts_at": a.at(3, 0), "fit_in": true}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Moving João: his own 10:00 counts as free for him, not for others.
    let (_, moving) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/slots?professional_user_id={}&from={}&to={}&appointment_id={}",
                a.clinic,
                a.helena.me["id"].as_str().expect("id"),
                a.day,
                a.day,
                appt["id"].as_str().expect("id")
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert!(moving["slots"].as_array().expect("slots").iter().any(|s| {
        s["starts_at"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            == Some(ten)
    }));
    // The receptionist's day view shows both, in order, with names.
    let (_, day) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/appointments?from={}&to={}",
                a.clinic, a.day, a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    let names: Vec<&str> = day
        .as_array()
        .expect("list")
        .iter()
        .map(|x| x["patient_name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, vec!["Maria", "João Pereira da Silva"]);
    // Helena sees it in her agenda across clinics.
    let (_, mine) = json_of(
        app.get(
            &format!("/api/me/agenda?from={}&to={}", a.day, a.day),
            Some(&a.helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(mine.as_array().expect("list").len(), 2);
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

#[actix_web::test]
async fn a_hundred_concurrent_requests_for_one_slot_book_exactly_one() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let patients = many_patients(&app, &a.clinic, &a.recep, 100).await;
    let at = a.at(11, 0);
    let requests = patients
        .iter()
        .map(|p| {
            app.client
                .post(app.url(&format!("/api/clinics/{}/appointments", a.clinic)))
                .bearer_auth(&a.recep.access)
                .json(&json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": p, "starts_at": at}))
        })
        .collect();
    let (created, taken) = race(requests).await;
    assert_eq!((created, taken), (1, 99));
    let (_, day) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/appointments?from={}&to={}",
                a.clinic, a.day, a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(
        day.as_array().expect("list").len(),
        1,
        "one appointment stored"
    );
}

#[actix_web::test]
async fn patients_book_offered_slots_and_manage_only_their_own() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let helena = Agenda::id(&a.helena);
    // The public page lists the clinic's professionals and, without login, the free slots.
    let (status, page) = json_of(
        app.get(&format!("/api/public/clinics/{}/booking", a.clinic), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page["professionals"]
            .as_array()
            .expect("pros")
            .iter()
            .any(|p| p["user_id"] == helena)
    );
    let (status, public) = json_of(
        app.get(
            &format!(
                "/api/public/clinics/{}/slots?professional_user_id={}&from={}&to={}",
                a.clinic,
                helena.as_str().expect("id"),
                a.day,
                a.day
            ),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(public["slots"].as_array().expect("slots").len(), 20);

    let (status, mine) = json_of(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": helena, "starts_at": a.at(9, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    // Patients cannot squeeze in, nor book for someone else.
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": helena, "starts_at": a.at(9, 10), "fit_in": true}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        book(
            &app,
            &a.clinic,
            &a.joao,
            json!({"professional_user_id": helena, "starts_at": a.at(9, 10)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "slot_unavailable",
    )
    .await;
    assert_error(
        book(&app, &a.clinic, &a.joao, json!({"professional_user_id": helena, "patient_id": Agenda::patient(&a.maria), "starts_at": a.at(12, 0)})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let id = mine["id"].as_str().expect("id");
    let path = |action: &str| format!("/api/clinics/{}/appointments/{id}/{action}", a.clinic);
    // Maria cannot touch João's appointment, nor can another clinic's staff.
    assert_error(
        app.post(
            &path("cancel"),
            Some(&a.maria.access),
            &json!({"reason": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bv = app.login("recepcao@boavista.demo", PW).await;
    assert_error(
        app.post(&path("cancel"), Some(&bv.access), &json!({"reason": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Patients do not set statuses.
    assert_error(
        app.post(
            &path("status"),
            Some(&a.joao.access),
            &json!({"status": "confirmed"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // João moves it to 14:00, then cancels; the 09:00 and 14:00 slots are free again.
    let (status, moved) = json_of(
        app.post(
            &path("reschedule"),
            Some(&a.joao.access),
            &json!({"starts_at": a.at(14, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        moved["starts_at"]
            .as_str()
            .expect("t")
            .parse::<DateTime<Utc>>()
            .expect("t"),
        a.at(14, 0)
    );
    assert!(slots(&app, &a, &a.helena).await.contains(&a.at(9, 0)));
    assert_error(
        app.post(
            &path("cancel"),
            Some(&a.joao.access),
            &json!({"reason": " "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reason",
    )
    .await;
    let (_, cancelled) = json_of(
        app.post(
            &path("cancel"),
            Some(&a.joao.access),
            &json!({"reason": "Viagem"}),
        )
        .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(slots(&app, &a, &a.helena).await.contains(&a.at(14, 0)));
    assert_error(
        app.post(
            &path("reschedule"),
            Some(&a.joao.access),
            &json!({"starts_at": a.at(15, 0)}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let (_, list) = json_of(app.get("/api/me/appointments", Some(&a.joao.access)).await).await;
    assert_eq!(list[0]["status"], "cancelled");
    assert_eq!(list[0]["cancel_reason"], "Viagem");
    let (_, hers) = json_of(app.get("/api/me/appointments", Some(&a.maria.access)).await).await;
    assert!(
        hers.as_array()
            .expect("list")
            .iter()
            .all(|x| x["id"] != mine["id"] && x["patient_name"] == "Maria"),
        "Maria sees only her own: {hers}"
    );
}

#[actix_web::test]
async fn statuses_move_forward_only_and_a_no_show_frees_the_time() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(16, 0)}),
        )
        .await,
    )
    .await;
    let id = appt["id"].as_str().expect("id");
    let status = |s: &str| {
        let path = format!("/api/clinics/{}/appointments/{id}/status", a.clinic);
        let body = json!({ "status": s });
        let app = &app;
        let token = a.recep.access.clone();
        async move { app.post(&path, Some(&token), &body).await }
    };
    assert_error(
        status("done").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert_error(
        status("teleported").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_status",
    )
    .await;
    for s in ["confirmed", "no_show"] {
        let (code, body) = json_of(status(s).await).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["status"], s);
    }
    assert!(
        slots(&app, &a, &a.helena).await.contains(&a.at(16, 0)),
        "a no-show releases the slot"
    );
}

#[actix_web::test]
async fn schedules_rules_and_exceptions_shape_the_slots() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let helena = a.helena.me["id"].as_str().expect("id").to_string();
    let schedule = format!("/api/clinics/{}/professionals/{helena}/schedule", a.clinic);
    // Only the professional or an administrator edits it; bad input is named.
    for (who, body, status, code) in [
        (
            &a.recep,
            json!({"hours": []}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &a.rafael,
            json!({"hours": []}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &a.admin,
            json!({"hours": [{"weekday": 9, "start": "08:00", "end": "09:00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_weekday",
        ),
        (
            &a.admin,
            json!({"hours": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_hours",
        ),
        (
            &a.admin,
            json!({"hours": [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "overlapping_hours",
        ),
        (
            &a.admin,
            json!({"hours": [], "rules": {"min_notice_minutes": 0, "booking_window_days": 30, "daily_limit": null, "slot_step_minutes": 7}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_step",
        ),
    ] {
        assert_error(
            app.client
                .put(app.url(&schedule))
                .bearer_auth(&who.access)
                .json(&body)
                .send()
                .await
                .expect("put"),
            status,
            code,
        )
        .await;
    }
    // A 45-minute service with a 15-minute buffer after: starts every 30 min, none
    // ending past 18:00 and none running into a booked 10:00.
    let (status, svc) = json_of(
        app.post(&format!("/api/clinics/{}/services", a.clinic), Some(&a.admin.access),
            &json!({"name": "Consulta longa", "duration_minutes": 45, "buffer_after_minutes": 15, "price_cents": 35000})).await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{svc}");
    assert_error(
        app.post(
            &format!("/api/clinics/{}/services", a.clinic),
            Some(&a.recep.access),
            &json!({"name": "X", "duration_minutes": 45}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    book(
        &app,
        &a.clinic,
        &a.recep,
        json!({"professional_user_id": helena,
        "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(10, 0)}),
    )
    .await;
    let (_, body) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/slots?professional_user_id={helena}&service_id={}&from={}&to={}",
                a.clinic,
                svc["id"].as_str().expect("id"),
                a.day,
                a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    let starts: Vec<DateTime<Utc>> = body["slots"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["starts_at"].as_str().expect("t").parse().expect("t"))
        .collect();
    assert!(
        starts.contains(&a.at(8, 30)),
        "08:30–09:15 +15 ends at 09:30"
    );
    assert!(
        starts.contains(&a.at(9, 0)),
        "09:00–09:45 +15 ends exactly at 10:00"
    );
    assert!(!starts.contains(&a.at(9, 30)));
    assert!(starts.contains(&a.at(10, 30)));
    assert!(!starts.contains(&a.at(17, 30)), "would end after 18:00");
    assert!(starts.contains(&a.at(17, 0)));

    // A clinic holiday tomorrow afternoon closes it for everyone.
    let (status, ex) = json_of(
        app.post(&format!("/api/clinics/{}/exceptions", a.clinic), Some(&a.admin.access),
            &json!({"kind": "closed", "starts_at": a.at(12, 0), "ends_at": a.at(18, 0), "reason": "Feriado municipal"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ex}");
    let free = slots(&app, &a, &a.rafael).await;
    assert_eq!(free.last().copied(), Some(a.at(11, 30)));
    assert_error(
        app.post(
            &format!("/api/clinics/{}/exceptions", a.clinic),
            Some(&a.recep.access),
            &json!({"kind": "closed", "starts_at": a.at(12, 0), "ends_at": a.at(18, 0)}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/clinics/{}/exceptions", a.clinic),
            Some(&a.admin.access),
            &json!({"kind": "closed", "starts_at": a.at(18, 0), "ends_at": a.at(12, 0)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_range",
    )
    .await;
    // Removing it opens the afternoon again.
    let resp = app
        .client
        .delete(app.url(&format!(
            "/api/clinics/{}/exceptions/{}",
            a.clinic,
            ex["id"].as_str().expect("id")
        )))
        .bearer_auth(&a.admin.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(slots(&app, &a, &a.rafael).await.len(), 20);
}

#[actix_web::test]
async fn the_agenda_and_public_booking_pages_update_live() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let mut desk = app.ws(&a.recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;
    let mut page = crate::ws_client::WsClient::connect(&app.ws_url(""))
        .await
        .expect("ws");
    let r = page
        .request("system", "auth", json!({"anonymous": true}))
        .await;
    assert_eq!(r["payload"]["status"], "ok", "{r}");
    page.join(&format!("clinic:{}:slots", a.clinic), None).await;
    // Anonymous visitors see nothing else.
    let err = page
        .request(&format!("clinic:{}:agenda", a.clinic), "join", json!({}))
        .await;
    assert_eq!(err["payload"]["code"], "forbidden", "{err}");
    let mut joao_ws = app.ws(&a.joao).await;
    joao_ws
        .join(
            &format!("user:{}", a.joao.me["id"].as_str().expect("id")),
            None,
        )
        .await;

    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(15, 0)}),
        )
        .await,
    )
    .await;
    let pushed = desk.push("agenda.updated").await;
    assert_eq!(pushed["payload"]["appointment"]["id"], appt["id"]);
    assert_eq!(
        pushed["payload"]["appointment"]["patient_name"],
        "João Pereira da Silva"
    );
    let changed = page.push("slots.changed").await;
    assert_eq!(
        changed["payload"]["professional_user_id"],
        Agenda::id(&a.helena)
    );
    assert_eq!(changed["payload"]["dates"][0], a.day.to_string());
    assert!(
        !changed.to_string().contains("João"),
        "public pushes carry no names"
    );
    let mine = joao_ws.push("appointment.updated").await;
    assert_eq!(mine["payload"]["appointment"]["status"], "scheduled");
    assert_eq!(appt["clinic_name"], "Clínica Aurora");
    assert_eq!(appt["time_zone"], "America/Sao_Paulo");
    // Helena booked in her other clinic: Aurora's booking pages learn that her time changed.
    let bv = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(&app, &a.boavista, &bv).await;
    let resp = book(
        &app,
        &a.boavista,
        &bv,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "patient_id": maria_bv, "starts_at": a.at(16, 0)}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let elsewhere = page.push("slots.changed").await;
    assert_eq!(
        elsewhere["payload"]["professional_user_id"],
        Agenda::id(&a.helena)
    );
    // A confirmation shows up on the desk.
    app.post(
        &format!(
            "/api/clinics/{}/appointments/{}/status",
            a.clinic,
            appt["id"].as_str().expect("id")
        ),
        Some(&a.helena.access),
        &json!({"status": "confirmed"}),
    )
    .await;
    let pushed = desk.push("agenda.updated").await;
    assert_eq!(pushed["payload"]["appointment"]["status"], "confirmed");
}

#[actix_web::test]
async fn the_database_refuses_an_overlap_that_two_open_transactions_both_checked() {
    use atende::store::StoreError;
    use atende::store::agenda::{AppointmentRow, PROFESSIONAL_BUSY};
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let store = app.state.store.clone();
    let row = |patient: &Value, start: DateTime<Utc>| AppointmentRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: serde_json::from_value(json!(a.clinic)).expect("id"),
        professional_user_id: serde_json::from_value(Agenda::id(&a.helena)).expect("id"),
        patient_id: serde_json::from_value(patient.clone()).expect("id"),
        service_id: None,
        kind: "in_person".into(),
        status: atende::domain::agenda::AppointmentStatus::Scheduled,
        starts_at: start,
        ends_at: start + Duration::minutes(30),
        block_start: start,
        block_end: start + Duration::minutes(30),
        hold_expires_at: None,
        notes: String::new(),
        cancel_reason: None,
        booked_by: None,
        created_at: atende::store::now(),
        updated_at: atende::store::now(),
    };
    let first = row(&Agenda::patient(&a.joao), a.at(13, 0));
    let second = row(&Agenda::patient(&a.maria), a.at(13, 15));
    // Transaction 1 books and stays open.
    let mut tx1 = store.begin().await.expect("tx1");
    store
        .insert_appointment(&mut tx1, &first)
        .await
        .expect("first fits");
    // Transaction 2 starts meanwhile. On PostgreSQL its own check cannot see the
    // uncommitted row, so only the exclusion constraint stands in the way; on SQLite it
    // waits for the single writer and then sees it.
    let s2 = store.clone();
    let t2 = tokio::spawn(async move {
        let mut tx2 = s2.begin().await.expect("tx2");
        let r = s2.insert_appointment(&mut tx2, &second).await;
        if r.is_ok() {
            tx2.commit().await.expect("commit");
        }
        r
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx1.commit().await.expect("commit 1");
    let r = t2.await.expect("join");
    assert!(
        matches!(r, Err(StoreError::Conflict(PROFESSIONAL_BUSY))),
        "the overlap must be refused: {r:?}"
    );
}

/// The outbox messages waiting for a patient, decrypted: (template, payload).
async fn outbox_of(app: &TestApp, patient: &Value) -> Vec<(String, Value)> {
    let id: atende::domain::PatientId = serde_json::from_value(patient.clone()).expect("id");
    app.state
        .store
        .outbox_for_patient(id)
        .await
        .expect("outbox")
        .into_iter()
        .map(|(t, enc)| {
            let plain = app.state.cipher.decrypt(&enc).expect("decrypt");
            (t, serde_json::from_str(&plain).expect("json"))
        })
        .collect()
}

fn token_of(path: &Value) -> (String, String) {
    // "/#/link/<action>/<token>"
    let p = path.as_str().expect("path");
    let mut parts = p.trim_start_matches("/#/link/").splitn(2, '/');
    (
        parts.next().expect("action").to_string(),
        parts.next().expect("token").to_string(),
    )
}

#[actix_web::test]
async fn one_click_links_confirm_and_cancel_once_and_the_desk_sees_it_live() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let mut desk = app.ws(&a.recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;
    let (_, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(8, 30)}),
        )
        .await,
    )
    .await;
    desk.push("agenda.updated").await;
    // The booking put a message with both links in the outbox, for delivery later.
    let msgs = outbox_of(&app, &Agenda::patient(&a.joao)).await;
    let (template, payload) = msgs.last().expect("a message");
    assert_eq!(template, "appointment_booked");
    assert_eq!(payload["appointment_id"], appt["id"]);
    assert_eq!(
        payload["links"], appt["links"],
        "the reception sees the same links"
    );
    let (action, token) = token_of(&payload["links"]["confirm_path"]);
    assert_eq!(action, "confirm");

    let (status, pre) = json_of(
        app.post(
            "/api/public/links/preview",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pre}");
    assert_eq!(pre["used"], false);
    assert_eq!(pre["appointment"]["clinic_name"], "Clínica Aurora");
    assert_eq!(pre["appointment"]["patient_name"], "João S.");
    // Tampering: the same token for the other action, a changed character.
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "cancel", "token": token}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let mut forged = token.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": String::from_utf8(forged).expect("utf8")}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    let (status, used) = json_of(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{used}");
    assert_eq!(used["appointment"]["status"], "confirmed");
    let live = desk.push("agenda.updated").await;
    assert_eq!(live["payload"]["appointment"]["status"], "confirmed");
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
        StatusCode::CONFLICT,
        "link_used",
    )
    .await;
    let (_, pre) = json_of(
        app.post(
            "/api/public/links/preview",
            None,
            &json!({"action": "confirm", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(pre["used"], true);

    // The cancel link still works (once), and frees the slot.
    let (_, cancel) = token_of(&payload["links"]["cancel_path"]);
    let (status, c) = json_of(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "cancel", "token": cancel}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["appointment"]["status"], "cancelled");
    assert!(slots(&app, &a, &a.helena).await.contains(&a.at(8, 30)));
    let msgs = outbox_of(&app, &Agenda::patient(&a.joao)).await;
    assert_eq!(msgs.last().expect("message").0, "appointment_cancelled");

    // An appointment that already started: its links have expired.
    let yesterday = a.at(9, 0) - Duration::days(2);
    let (_, past) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
            "patient_id": Agenda::patient(&a.joao), "starts_at": yesterday, "fit_in": true}),
        )
        .await,
    )
    .await;
    let (_, old) = token_of(&past["links"]["confirm_path"]);
    assert_error(
        app.post(
            "/api/public/links/use",
            None,
            &json!({"action": "confirm", "token": old}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "link_expired",
    )
    .await;
}

#[actix_web::test]
async fn a_professional_subscribes_to_a_secret_calendar_feed_and_can_revoke_it() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    book(
        &app,
        &a.clinic,
        &a.recep,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(11, 0)}),
    )
    .await;
    let bv = app.login("recepcao@boavista.demo", PW).await;
    let maria_bv = maria_in(&app, &a.boavista, &bv).await;
    book(
        &app,
        &a.boavista,
        &bv,
        json!({"professional_user_id": Agenda::id(&a.helena),
        "patient_id": maria_bv, "starts_at": a.at(15, 0)}),
    )
    .await;
    assert_error(
        app.post("/api/me/ical", Some(&a.recep.access), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let (_, before) = json_of(app.get("/api/me/ical", Some(&a.helena.access)).await).await;
    assert_eq!(before["active"], false);
    let (status, feed) = json_of(
        app.post("/api/me/ical", Some(&a.helena.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let path = feed["path"].as_str().expect("path").to_string();
    let resp = app.get(&path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/calendar")
    );
    let ics = resp.text().await.expect("body");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert!(ics.contains(&format!("DTSTART:{}", a.at(11, 0).format("%Y%m%dT%H%M%SZ"))));
    assert!(ics.contains("LOCATION:Clínica Aurora") && ics.contains("LOCATION:Clínica Boa Vista"));
    assert!(
        ics.contains("João S.") && !ics.contains("Pereira"),
        "first name and initial only"
    );
    assert!(
        ics.lines().all(|l| l.trim_end_matches('\r').len() <= 75),
        "lines are folded"
    );
    // A new address replaces the old; revoking ends it.
    let (_, again) = json_of(
        app.post("/api/me/ical", Some(&a.helena.access), &json!({}))
            .await,
    )
    .await;
    let (_, now_on) = json_of(app.get("/api/me/ical", Some(&a.helena.access)).await).await;
    assert_eq!(now_on["active"], true);
    assert_eq!(app.get(&path, None).await.status(), StatusCode::NOT_FOUND);
    let new_path = again["path"].as_str().expect("path").to_string();
    assert_eq!(app.get(&new_path, None).await.status(), StatusCode::OK);
    let resp = app
        .client
        .delete(app.url("/api/me/ical"))
        .bearer_auth(&a.helena.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&new_path, None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn services_are_edited_and_withdrawn_and_professionals_manage_their_own_exceptions() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let services = format!("/api/clinics/{}/services", a.clinic);
    let (_, svc) = json_of(
        app.post(
            &services,
            Some(&a.admin.access),
            &json!({"name": "Retorno", "duration_minutes": 20}),
        )
        .await,
    )
    .await;
    let one = format!("{services}/{}", svc["id"].as_str().expect("id"));
    let put = |who: &Session, body: Value| {
        app.client
            .put(app.url(&one))
            .bearer_auth(&who.access)
            .json(&body)
            .send()
    };
    assert_error(
        put(&a.recep, json!({"name": "X", "duration_minutes": 20}))
            .await
            .expect("put"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        put(&a.admin, json!({"name": "Retorno", "duration_minutes": 2}))
            .await
            .expect("put"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_duration",
    )
    .await;
    let (status, changed) = json_of(
        put(
            &a.admin,
            json!({"name": "Retorno breve", "duration_minutes": 15, "price_cents": 5000}),
        )
        .await
        .expect("put"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["duration_minutes"], 15);
    let (_, off) = json_of(
        put(
            &a.admin,
            json!({"name": "Retorno breve", "duration_minutes": 15, "active": false}),
        )
        .await
        .expect("put"),
    )
    .await;
    assert_eq!(off["active"], false);
    let (_, list) = json_of(app.get(&services, Some(&a.recep.access)).await).await;
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .all(|s| s["id"] != svc["id"]),
        "withdrawn services are not offered"
    );

    // Helena adds and removes her own vacation; she cannot remove a clinic holiday.
    let exceptions = format!("/api/clinics/{}/exceptions", a.clinic);
    let (_, mine) = json_of(app.post(&exceptions, Some(&a.helena.access), &json!({"kind": "closed",
        "professional_user_id": Agenda::id(&a.helena), "starts_at": a.at(8, 0), "ends_at": a.at(9, 0), "reason": "Congresso"})).await).await;
    let (_, holiday) = json_of(
        app.post(
            &exceptions,
            Some(&a.admin.access),
            &json!({"kind": "closed",
        "starts_at": a.at(17, 0), "ends_at": a.at(18, 0)}),
        )
        .await,
    )
    .await;
    let delete = |who: &Session, e: &Value| {
        app.client
            .delete(app.url(&format!("{exceptions}/{}", e["id"].as_str().expect("id"))))
            .bearer_auth(&who.access)
            .send()
    };
    assert_error(
        delete(&a.helena, &holiday).await.expect("delete"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        delete(&a.rafael, &mine).await.expect("delete"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        delete(&a.helena, &mine).await.expect("delete").status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        delete(&a.recep, &holiday).await.expect("delete"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // The public page lists only professionals who have hours here.
    let (_, page) = json_of(
        app.get(&format!("/api/public/clinics/{}/booking", a.boavista), None)
            .await,
    )
    .await;
    let names: Vec<&str> = page["professionals"]
        .as_array()
        .expect("pros")
        .iter()
        .map(|p| p["name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, vec!["Helena Duarte"]);
}
