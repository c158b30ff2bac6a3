//! Messages reaching patients by real e-mail: the outbox drained through a real SMTP server
//! (aiosmtpd, `tests/support/smtp_sink.py`), reminders that fall due as the test clock moves,
//! their one-click confirm link changing the agenda live, retries after an SMTP failure,
//! two nodes draining one outbox, and password reset by e-mail.

pub(crate) mod burst;
mod crash;
mod invite;
pub(crate) mod mailbox;
mod optout;
mod paging;
mod reset;
mod texts;

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book};
use crate::helpers::*;
use mailbox::*;

/// Queue `count` password-reset e-mails (address known) in `tx`, the
/// n-th to `address(n)`, as the outbox benchmarks and the crash test need them; their ids.
pub(crate) async fn queue_resets(
    app: &TestApp,
    tx: &mut atende::store::Tx,
    count: usize,
    address: impl Fn(usize) -> String,
) -> Vec<uuid::Uuid> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let payload = json!({"name": format!("Pessoa {n}"), "reset_path": "/#/x"});
        let m = atende::store::outbox::NewMessage {
            channel: "email",
            template: "password_reset".into(),
            to_address: Some(address(n)),
            ..Default::default()
        };
        ids.push(
            app.state
                .store
                .insert_message(tx, &m, &payload)
                .await
                .expect("insert"),
        );
    }
    ids
}

/// The clinic's messages about an appointment (or to a patient), as its staff see them.
pub(crate) async fn messages(
    app: &TestApp,
    clinic: &str,
    who: &Session,
    query: &str,
) -> Vec<Value> {
    let (status, body) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/messages?{query}"),
            Some(&who.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("list").clone()
}

/// Wait (up to 20 s) until a message matching `want` is listed; that message.
pub(crate) async fn wait_message(
    app: &TestApp,
    clinic: &str,
    who: &Session,
    query: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Vec::new();
    for _ in 0..200 {
        last = messages(app, clinic, who, query).await;
        if let Some(m) = last.iter().find(|m| want(m)) {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no such message within 20 s; the clinic sees {last:#?}");
}

/// When a failed message is tried again (its `next_attempt_at`).
pub(crate) fn retry_time(m: &Value) -> DateTime<Utc> {
    m["next_attempt_at"]
        .as_str()
        .expect("retry time")
        .parse()
        .expect("time")
}

pub(crate) fn starts(a: &Value) -> DateTime<Utc> {
    a["starts_at"]
        .as_str()
        .expect("starts_at")
        .parse()
        .expect("time")
}

pub(crate) fn reminders(list: &[Value]) -> Vec<&Value> {
    list.iter()
        .filter(|m| m["template"] == "appointment_reminder")
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_reminder_arrives_by_email_and_its_confirm_link_confirms_the_appointment_live() {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let app = spawn_app_with(|s| smtp_settings(s, &host, port)).await;
    let a = agenda_fixture(&app).await;
    let mut desk = app.ws(&a.recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;
    let (status, appt) = json_of(
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
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    desk.push("agenda.updated").await;
    let id = appt["id"].as_str().expect("id").to_string();
    let query = format!("appointment_id={id}");

    // The booking's confirmation goes out at once; no reminder is due yet.
    let booked = wait_message(&app, &a.clinic, &a.recep, &query, |m| {
        m["template"] == "appointment_booked" && m["status"] == "sent"
    })
    .await;
    assert_eq!(booked["to_address"], "jo•••@paciente.demo");
    let mail = by_message_id(&maildir, booked["id"].as_str().expect("id")).await;
    assert!(
        mail.header("Subject")
            .expect("subject")
            .starts_with("Consulta agendada"),
        "{:?}",
        mail.header("Subject")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(reminders(&messages(&app, &a.clinic, &a.recep, &query).await).is_empty());

    // 25 minutes before the appointment (the test clock; quiet hours end at 08:00) the
    // reminder is due: one goes out, with the clinic as sender and both links.
    app.clock.set(starts(&appt) - chrono::Duration::minutes(25));
    let reminder = wait_message(&app, &a.clinic, &a.recep, &query, |m| {
        m["template"] == "appointment_reminder" && m["status"] == "sent"
    })
    .await;
    assert_eq!(reminder["attempts"], 1);
    let mail = by_message_id(&maildir, reminder["id"].as_str().expect("id")).await;
    let subject = mail.header("Subject").expect("subject");
    assert!(
        subject.starts_with("Lembrete: sua consulta em"),
        "{subject}"
    );
    assert!(subject.ends_with("às 08:30"), "{subject}");
    let from = mail.header("From").expect("from");
    assert!(from.contains("Clínica Aurora"), "{from}");
    assert!(from.contains("<nao-responda@atende.test>"), "{from}");
    assert_eq!(mail.header("To").as_deref(), Some("joao@paciente.demo"));
    assert!(
        mail.header("Content-Type")
            .expect("type")
            .starts_with("multipart/alternative")
    );
    assert!(mail.text.contains("Olá, João."), "{}", mail.text);
    assert!(mail.html.contains("Confirmar presença"), "{}", mail.html);
    let confirm = mail.link("/#/link/confirm/").expect("confirm link");
    assert!(mail.link("/#/link/cancel/").is_some(), "{}", mail.text);
    assert!(
        mail.html.contains(&confirm),
        "the HTML carries the same link"
    );
    assert!(confirm.starts_with(&app.address), "{confirm}");

    // The patient follows the link: the appointment is confirmed, the desk sees it live.
    let token = confirm.rsplit('/').next().expect("token");
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
    let live = desk
        .push_matching("agenda.updated", |p| {
            p["appointment"]["status"] == "confirmed"
        })
        .await;
    assert_eq!(live["appointment"]["id"], appt["id"]);

    // Each reminder once: later looks queue nothing more for the same time.
    app.clock.advance(chrono::Duration::minutes(10));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        reminders(&messages(&app, &a.clinic, &a.recep, &query).await).len(),
        1
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn cancelled_appointments_get_no_reminder_and_a_moved_one_gets_it_for_its_new_time() {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let app = spawn_app_with(|s| smtp_settings(s, &host, port)).await;
    let a = agenda_fixture(&app).await;
    // One reminder, 2 hours before (so no reminder of the default 24 h falls due on the
    // day the test runs, whatever its hour).
    let rules = json!({"sender_name": "Clínica Aurora — Recepção", "reply_to": "recepcao@aurora.example",
        "reminders_enabled": true, "reminder_offsets_minutes": [120],
        "quiet_start": "21:00", "quiet_end": "08:00"});
    let path = format!("/api/clinics/{}/messaging", a.clinic);
    let put = |who: &Session, body: &Value| {
        app.client
            .put(app.url(&path))
            .bearer_auth(who.access.clone())
            .json(body)
            .send()
    };
    assert_eq!(
        put(&a.recep, &rules).await.expect("put").status(),
        StatusCode::FORBIDDEN,
        "administrators only"
    );
    let mut bad = rules.clone();
    bad["reminder_offsets_minutes"] = json!([0]);
    assert_error(
        put(&a.admin, &bad).await.expect("put"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reminders",
    )
    .await;
    let (status, saved) = json_of(put(&a.admin, &rules).await.expect("put")).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["reminder_offsets_minutes"], json!([120]));
    let mut ids = Vec::new();
    for (who, h) in [(&a.joao, 10), (&a.maria, 11)] {
        let (status, appt) = json_of(
            book(
                &app,
                &a.clinic,
                &a.recep,
                json!({"professional_user_id": Agenda::id(&a.helena),
                       "patient_id": Agenda::patient(who), "starts_at": a.at(h, 0)}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{appt}");
        ids.push(appt["id"].as_str().expect("id").to_string());
    }
    let cancel = app
        .post(
            &format!("/api/clinics/{}/appointments/{}/cancel", a.clinic, ids[0]),
            Some(&a.recep.access),
            &json!({"reason": "paciente desistiu"}),
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    // Maria's moves from 11:00 to 15:00.
    let moved = app
        .post(
            &format!(
                "/api/clinics/{}/appointments/{}/reschedule",
                a.clinic, ids[1]
            ),
            Some(&a.recep.access),
            &json!({"starts_at": a.at(15, 0)}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);

    // 10:30 — after 2 h before the cancelled 10:00 and the old 11:00: nothing; 14:30 —
    // after 2 h before the new 15:00: Maria's, from the sender the clinic chose.
    app.clock.set(a.at(10, 30));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for id in &ids {
        let list = messages(&app, &a.clinic, &a.recep, &format!("appointment_id={id}")).await;
        assert!(reminders(&list).is_empty(), "{list:#?}");
    }
    app.clock.set(a.at(14, 30));
    let maria = wait_message(
        &app,
        &a.clinic,
        &a.recep,
        &format!("appointment_id={}", ids[1]),
        |m| m["template"] == "appointment_reminder" && m["status"] == "sent",
    )
    .await;
    assert_eq!(maria["to_address"], "ma•••@paciente.demo");
    let mail = by_message_id(&maildir, maria["id"].as_str().expect("id")).await;
    assert!(
        mail.header("From")
            .expect("from")
            .contains("Clínica Aurora — Recepção")
    );
    assert_eq!(
        mail.header("Reply-To").as_deref(),
        Some("recepcao@aurora.example")
    );
    assert!(
        mail.header("Subject")
            .expect("subject")
            .ends_with("às 15:00"),
        "the new time: {:?}",
        mail.header("Subject")
    );
    // The cancelled one still has none, though the scheduler has run since.
    let list = messages(
        &app,
        &a.clinic,
        &a.recep,
        &format!("appointment_id={}", ids[0]),
    )
    .await;
    assert!(reminders(&list).is_empty(), "{list:#?}");
    // Other clinics' staff and patients cannot read the clinic's messages.
    let other = app.login("recepcao@boavista.demo", PW).await;
    assert_error(
        app.get(
            &format!(
                "/api/clinics/{}/messages?appointment_id={}",
                a.clinic, ids[1]
            ),
            Some(&other.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(
            &format!("/api/clinics/{}/messages", a.clinic),
            Some(&a.recep.access),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_filter",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_smtp_failure_then_success_sends_the_message_once() {
    let Some(_) = smtp_server() else {
        return;
    };
    // Our own SMTP server on a port where nothing listens yet.
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app_with(|s| smtp_settings(s, "127.0.0.1", port)).await;
    let a = agenda_fixture(&app).await;
    let (status, appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena),
                   "patient_id": Agenda::patient(&a.joao), "starts_at": a.at(9, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let query = format!("appointment_id={}", appt["id"].as_str().expect("id"));
    let failed = wait_message(&app, &a.clinic, &a.recep, &query, |m| {
        m["template"] == "appointment_booked" && m["status"] == "failed"
    })
    .await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    let retry_at = retry_time(&failed);
    assert!(
        retry_at > app.clock_now() + chrono::Duration::seconds(10),
        "backoff: {retry_at}"
    );

    // The server comes up; nothing is retried before the backoff runs out…
    let _sink = Sink::start(port, dir.path()).await;
    let this = message_id(failed["id"].as_str().expect("id"));
    let copies = |dir: &std::path::Path| {
        matching(dir, &|m| {
            m.header("Message-ID").as_deref() == Some(this.as_str())
        })
        .len()
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(copies(dir.path()), 0, "not before the backoff runs out");
    // …then it is sent, once.
    app.clock.set(retry_at + chrono::Duration::seconds(1));
    let sent = wait_message(&app, &a.clinic, &a.recep, &query, |m| m["status"] == "sent").await;
    assert_eq!(sent["id"], failed["id"]);
    assert_eq!(sent["attempts"], 2);
    by_message_id(dir.path(), sent["id"].as_str().expect("id")).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(copies(dir.path()), 1, "sent once");

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for state in ["failed", "sent"] {
        assert!(
            metrics.contains(&format!(
                "atende_outbox_messages_total{{channel=\"email\",state=\"{state}\"}}"
            )),
            "{state} missing in /metrics"
        );
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn two_nodes_on_one_postgres_database_send_each_message_once() {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    if std::env::var("TEST_DATABASE_URL")
        .unwrap_or_default()
        .is_empty()
    {
        eprintln!("skipped: two nodes share a database on PostgreSQL only (TEST_DATABASE_URL)");
        return;
    }
    let tweak = |s: &mut atende::config::Settings| {
        smtp_settings(s, &host, port);
        s.messaging.batch_size = 4;
        s.messaging.poll_interval_ms = 20;
    };
    let one = spawn_app_with(tweak).await;
    let two = spawn_node(Some(one.db_url.clone()), tweak).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let store = &one.state.store;
    let mut tx = store.begin().await.expect("tx");
    let ids = queue_resets(&one, &mut tx, 60, |n| format!("p{n}-{run}@example.test")).await;
    tx.commit().await.expect("commit");
    let mine = |m: &Mail| {
        m.header("To")
            .is_some_and(|t| t.ends_with(&format!("-{run}@example.test")))
    };
    for _ in 0..300 {
        if matching(&maildir, &mine).len() >= 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = matching(&maildir, &mine);
    let mut seen: Vec<String> = got
        .iter()
        .map(|m| m.header("Message-ID").expect("id"))
        .collect();
    seen.sort();
    let mut want: Vec<String> = ids.iter().map(|i| message_id(&i.to_string())).collect();
    want.sort();
    assert_eq!(seen, want, "each message exactly once");
    drop(two);
}

impl TestApp {
    fn clock_now(&self) -> DateTime<Utc> {
        use atende::clock::Clock as _;
        self.clock.now()
    }
}

/// Benchmark (run by hand: `ATENDE_BENCH=1`, one node, the test SMTP server): messages per
/// second from the outbox to the SMTP server. Prints the figure; see docs/performance.md.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bench_outbox_to_smtp_messages_per_second() {
    if std::env::var("ATENDE_BENCH").as_deref() != Ok("1") {
        eprintln!("skipped: a benchmark (set ATENDE_BENCH=1 to run it)");
        return;
    }
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let count: usize = std::env::var("ATENDE_BENCH_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let app = spawn_app_with(|s| {
        smtp_settings(s, &host, port);
        s.messaging.batch_size = 50;
        s.messaging.poll_interval_ms = 20;
        s.database.max_connections = 10;
    })
    .await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let store = &app.state.store;
    let mut tx = store.begin().await.expect("tx");
    queue_resets(&app, &mut tx, count, |n| format!("b{n}-{run}@example.test")).await;
    let start = std::time::Instant::now();
    tx.commit().await.expect("commit");
    loop {
        let sent: i64 = store
            .outbox_counts()
            .await
            .expect("counts")
            .iter()
            .filter(|c| c.status == "sent")
            .map(|c| c.count)
            .sum();
        if sent as usize >= count {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "took too long");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let received = matching(&maildir, &|m| {
        m.header("To")
            .is_some_and(|t| t.ends_with(&format!("-{run}@example.test")))
    })
    .len();
    assert_eq!(received, count);
    println!(
        "outbox -> SMTP: {count} messages in {secs:.2} s = {:.0} messages/s ({})",
        count as f64 / secs,
        if app.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
}
