//! Reminders by WhatsApp against a contract server of Meta's Cloud API (`meta.rs`): the
//! reminder goes as a template with Confirmar/Cancelar buttons; the patient's button tap and
//! text replies, signed as Meta signs them, confirm or cancel live; forged signatures change
//! nothing; the handshake; a provider failure retried sends once; receipts move the state
//! forwards only; "PARAR" stops later WhatsApp reminders; a repeated webhook acts once.
//! Signed documents by WhatsApp, their PDF uploaded as media: `documents.rs`.

mod burst;
mod documents;
mod meta;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::reminded::Reminded;
use crate::helpers::*;
use crate::mail::{messages, wait_message};
use atende::config::{Secret, Settings};
use meta::*;

/// João's phone as the clinic records it and as WhatsApp names him.
const JOAO_PHONE: &str = "(11) 98765-4321";
const JOAO_WA: &str = "5511987654321";

fn whatsapp_settings(s: &mut Settings, meta: &Meta) {
    let w = &mut s.messaging.whatsapp;
    w.api_base_url = meta.base.clone();
    w.api_version = VERSION.into();
    w.phone_number_id = PHONE_NUMBER_ID.into();
    w.access_token = Secret::new(ACCESS_TOKEN.into());
    w.app_secret = Secret::new(APP_SECRET.into());
    w.verify_token = Secret::new(VERIFY_TOKEN.into());
    w.reminder_template = TEMPLATE.into();
    w.document_template = DOCUMENT_TEMPLATE.into();
    w.timeout_secs = 5;
    s.messaging.poll_interval_ms = 100;
    s.messaging.reminder_poll_secs = 1;
}

struct Fixture {
    r: Reminded,
    meta: Meta,
}

impl std::ops::Deref for Fixture {
    type Target = Reminded;
    fn deref(&self) -> &Reminded {
        &self.r
    }
}

/// The clinic sends reminders by WhatsApp, 2 hours before; João has his own phone; the
/// demo's appointments of today are out of the way.
async fn fixture() -> Fixture {
    let meta = Meta::start().await;
    // No e-mail channel: what goes by e-mail waits in the outbox.
    let app = spawn_app_with(|s| {
        whatsapp_settings(s, &meta);
        s.messaging.mail_dir = String::new();
    })
    .await;
    let r = Reminded::new(app, "whatsapp_enabled", JOAO_PHONE).await;
    // Saving the settings without the field leaves WhatsApp on.
    let rules = json!({"reminders_enabled": true, "reminder_offsets_minutes": [120],
        "quiet_start": "21:00", "quiet_end": "08:00"});
    assert_eq!(r.put_rules(&rules).await["whatsapp_enabled"], true);
    Fixture { r, meta }
}

impl Fixture {
    /// The message the contract server took for the reminder (by its recipient, the last).
    fn taken(&self) -> Received {
        let got = self.meta.received();
        assert!(self.meta.refused().is_empty(), "{:?}", self.meta.refused());
        got.into_iter()
            .rev()
            .find(|r| r.body["to"] == JOAO_WA)
            .expect("a message to João")
    }
}

/// The texts of a template message's `index`-th component's parameters.
fn texts(template: &Value, index: usize) -> Vec<&str> {
    template["components"][index]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["text"].as_str().expect("text"))
        .collect()
}

/// The button payloads of a template message, by index.
fn payloads(body: &Value) -> Vec<String> {
    body["template"]["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["type"] == "button")
        .map(|c| {
            c["parameters"][0]["payload"]
                .as_str()
                .expect("payload")
                .to_string()
        })
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_reminder_goes_as_a_template_and_its_confirm_button_confirms_live_once() {
    let f = fixture().await;
    let mut desk = f.app.ws(&f.a.recep).await;
    desk.join(&format!("clinic:{}:agenda", f.a.clinic), None)
        .await;
    let appt = f.book(10, 0).await;
    let sent = f.reminder(&appt, "sent").await;
    assert_eq!(sent["channel"], "whatsapp");
    assert_eq!(sent["to_address"], "+55 11 •••••-4321");
    assert_eq!(sent["attempts"], 1);

    // The request Meta received: the approved template, pt_BR, four body variables, two
    // quick-reply buttons whose payloads carry the signed links.
    let taken = f.taken();
    let t = &taken.body["template"];
    assert_eq!(t["name"], TEMPLATE);
    assert_eq!(t["language"]["code"], "pt_BR");
    let body = texts(t, 0);
    assert_eq!(body[0], "João");
    assert_eq!(body[1], "Clínica Aurora");
    assert!(body[2].ends_with("às 10:00"), "{body:?}");
    assert!(body[3].contains("Helena"), "{body:?}");
    let buttons = payloads(&taken.body);
    assert_eq!(buttons.len(), 2);
    assert!(buttons[0].starts_with("confirm:"), "{buttons:?}");
    assert!(buttons[1].starts_with("cancel:"), "{buttons:?}");

    // A tampered payload is refused by the link's signature: nothing changes.
    let forged = buttons[0].replace("confirm:", "confirm:x");
    let hook = Meta::button_webhook(JOAO_WA, &taken.wamid, &forged, "Confirmar");
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    assert_eq!(f.status_of(&appt).await, "scheduled");

    // João taps Confirmar: the desk sees it confirmed live.
    let hook = Meta::button_webhook(JOAO_WA, &taken.wamid, &buttons[0], "Confirmar");
    let (status, outcome) = json_of(Meta::deliver(&f.app.address, &hook).await).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["handled"], 1);
    let live = desk
        .push_matching("agenda.updated", |p| {
            p["appointment"]["status"] == "confirmed"
        })
        .await;
    assert_eq!(live["appointment"]["id"], appt["id"]);

    // Meta delivers the same webhook again: it acts once.
    let (status, again) = json_of(Meta::deliver(&f.app.address, &hook).await).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["handled"], 0);
    assert_eq!(f.status_of(&appt).await, "confirmed");
    assert!(matches!(
        f.app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
    // The number it went to is sealed in the outbox, like the patient's phone.
    let sql = "SELECT to_address FROM outbox WHERE channel = 'whatsapp' AND to_address IS NOT NULL";
    let stored: Vec<String> = if f.app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&f.app.db_url)
            .await
            .expect("connect");
        sqlx::query_scalar(sql)
            .fetch_all(&mut c)
            .await
            .expect("rows")
    } else {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&f.app.db_url)
            .await
            .expect("connect");
        sqlx::query_scalar(sql)
            .fetch_all(&mut c)
            .await
            .expect("rows")
    };
    assert!(!stored.is_empty());
    assert!(
        stored.iter().all(|t| t.starts_with("v1:")),
        "recipients stored in the clear: {stored:?}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn delivery_receipts_move_the_state_forwards_only_and_a_failure_gives_it_up() {
    let f = fixture().await;
    let appt = f.book(11, 0).await;
    f.reminder(&appt, "sent").await;
    let wamid = f.taken().wamid;
    let q = Reminded::query(&appt);
    let deliver = |status: &'static str| {
        let hook = Meta::status_webhook(&wamid, status, JOAO_WA);
        let url = f.app.address.clone();
        async move { Meta::deliver(&url, &hook).await.status() }
    };
    assert_eq!(deliver("sent").await, 200);
    assert_eq!(deliver("delivered").await, 200);
    let m = wait_message(&f.app, &f.a.clinic, &f.a.recep, &q, |m| {
        m["status"] == "delivered"
    })
    .await;
    assert!(m["delivered_at"].is_string(), "{m}");
    assert_eq!(deliver("read").await, 200);
    wait_message(&f.app, &f.a.clinic, &f.a.recep, &q, |m| {
        m["status"] == "read"
    })
    .await;
    // Late or out-of-order callbacks never move it back, nor does a failure after reading.
    let hook = Meta::status_webhook(&wamid, "delivered", JOAO_WA);
    let mut raw = serde_json::to_vec(&hook).expect("json");
    raw.push(b'\n'); // another delivery of the same event, byte for byte different
    let sig = signature(APP_SECRET, &raw);
    assert_eq!(
        Meta::deliver_raw(&f.app.address, raw, Some(sig))
            .await
            .status(),
        200
    );
    assert_eq!(deliver("failed").await, 200);
    let list = messages(&f.app, &f.a.clinic, &f.a.recep, &q).await;
    let reminder = list
        .iter()
        .find(|m| m["template"] == "appointment_reminder")
        .expect("reminder");
    assert_eq!(reminder["status"], "read", "{reminder}");
    assert!(reminder["read_at"].is_string());

    // Another reminder that Meta reports undeliverable: `dead`, with Meta's reason.
    let other = f.book(15, 0).await;
    f.reminder(&other, "sent").await;
    let wamid = f.taken().wamid;
    let hook = Meta::status_webhook(&wamid, "failed", JOAO_WA);
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    let dead = wait_message(
        &f.app,
        &f.a.clinic,
        &f.a.recep,
        &Reminded::query(&other),
        |m| m["status"] == "dead",
    )
    .await;
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("131026")),
        "{dead}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_text_reply_2_cancels_and_sim_confirms_the_nearest_reminded_appointment() {
    let f = fixture().await;
    let mut desk = f.app.ws(&f.a.recep).await;
    desk.join(&format!("clinic:{}:agenda", f.a.clinic), None)
        .await;
    let appt = f.book(10, 30).await;
    f.reminder(&appt, "sent").await;
    // A text that is no command changes nothing.
    let hook = Meta::text_webhook(JOAO_WA, "Bom dia, tudo certo?");
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    assert_eq!(f.status_of(&appt).await, "scheduled");
    // "2" cancels it, live.
    let hook = Meta::text_webhook(JOAO_WA, "2");
    let (status, outcome) = json_of(Meta::deliver(&f.app.address, &hook).await).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let live = desk
        .push_matching("agenda.updated", |p| {
            p["appointment"]["status"] == "cancelled"
        })
        .await;
    assert_eq!(live["appointment"]["id"], appt["id"]);

    // A later appointment, reminded too: "Sim" confirms it (the cancelled one is not open).
    let next = f.book(16, 0).await;
    f.reminder(&next, "sent").await;
    let hook = Meta::text_webhook(JOAO_WA, "Sim");
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    let live = desk
        .push_matching("agenda.updated", |p| {
            p["appointment"]["status"] == "confirmed"
        })
        .await;
    assert_eq!(live["appointment"]["id"], next["id"]);
    assert_eq!(f.status_of(&appt).await, "cancelled");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_forged_or_missing_signature_is_refused_with_401_and_changes_nothing() {
    let f = fixture().await;
    let appt = f.book(9, 30).await;
    f.reminder(&appt, "sent").await;
    let taken = f.taken();
    let confirm = payloads(&taken.body)[0].clone();
    let hook = Meta::button_webhook(JOAO_WA, &taken.wamid, &confirm, "Confirmar");
    let raw = serde_json::to_vec(&hook).expect("json");
    for sig in [
        None,
        Some(signature("outro-segredo", &raw)),
        Some(signature(APP_SECRET, b"{}")),
        Some("sha256=".to_string()),
        Some(signature(APP_SECRET, &raw).replace("sha256=", "sha1=")),
    ] {
        assert_error(
            Meta::deliver_raw(&f.app.address, raw.clone(), sig).await,
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        )
        .await;
    }
    let text = serde_json::to_vec(&Meta::text_webhook(JOAO_WA, "PARAR")).expect("json");
    assert_error(
        Meta::deliver_raw(&f.app.address, text, Some(signature("x", b"y"))).await,
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
    )
    .await;
    assert_eq!(f.status_of(&appt).await, "scheduled");
    let (_, consents) = json_of(
        f.app
            .get(
                &format!("/api/clinics/{}/patients/{}/consents", f.a.clinic, f.joao),
                Some(&f.a.recep.access),
            )
            .await,
    )
    .await;
    assert_eq!(consents, json!([]), "no opt-out recorded");
    // The genuine one still works afterwards (the forged ones were not remembered).
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    assert_eq!(f.status_of(&appt).await, "confirmed");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_verification_handshake_echoes_the_challenge_only_for_our_verify_token() {
    let meta = Meta::start().await;
    let app = spawn_app_with(|s| whatsapp_settings(s, &meta)).await;
    let get = |q: String| {
        let url = app.url(&format!("/api/webhooks/whatsapp?{q}"));
        let c = app.client.clone();
        async move { c.get(url).send().await.expect("get") }
    };
    let ok = get(format!(
        "hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    ))
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.expect("text"), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.verify_token=errado&hub.challenge=1".to_string(),
        format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"),
        format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"),
        "hub.mode=subscribe&hub.challenge=1".to_string(),
    ] {
        assert_error(get(q).await, StatusCode::FORBIDDEN, "invalid_verify_token").await;
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_provider_500_then_200_sends_the_reminder_once() {
    let f = fixture().await;
    f.meta.fail_next(&[500]);
    let appt = f.book(12, 0).await;
    let failed = f.reminder(&appt, "failed").await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("whatsapp 500")),
        "{failed}"
    );
    assert!(f.meta.received().is_empty());
    let retry_at = crate::mail::retry_time(&failed);
    f.app.clock.set(retry_at + chrono::Duration::seconds(1));
    let sent = wait_message(
        &f.app,
        &f.a.clinic,
        &f.a.recep,
        &Reminded::query(&appt),
        |m| m["status"] == "sent",
    )
    .await;
    assert_eq!(sent["id"], failed["id"]);
    assert_eq!(sent["attempts"], 2);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(f.meta.received().len(), 1, "taken once");
    assert_eq!(f.meta.requests(), 2, "one failure, one success");

    // A 4xx refusal is for good: `dead` at once, with Meta's words.
    f.meta.fail_next(&[400]);
    let other = f.book(16, 30).await;
    let dead = f.reminder(&other, "dead").await;
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("whatsapp 400")),
        "{dead}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn parar_opts_out_of_whatsapp_and_later_reminders_go_by_email_instead() {
    let f = fixture().await;
    let first = f.book(10, 0).await;
    f.reminder(&first, "sent").await;
    assert_eq!(f.meta.received().len(), 1);

    let hook = Meta::text_webhook(JOAO_WA, "PARAR");
    assert_eq!(Meta::deliver(&f.app.address, &hook).await.status(), 200);
    let path = format!("/api/clinics/{}/patients/{}/consents", f.a.clinic, f.joao);
    let (status, consents) = json_of(f.app.get(&path, Some(&f.a.recep.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{consents}");
    assert_eq!(consents[0]["channel"], "whatsapp");
    assert_eq!(consents[0]["opted_in"], false);
    assert_eq!(consents[0]["source"], "reply");
    assert!(consents[0]["changed_at"].is_string());

    // The next reminder does not go by WhatsApp (e-mail instead; no SMTP here: it waits).
    let second = f.book(17, 0).await;
    let queued = f.reminder(&second, "queued").await;
    assert_eq!(queued["channel"], "email");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(f.meta.received().len(), 1, "nothing more by WhatsApp");

    // The clinic records an opt-in again (audited); other clinics cannot.
    let put = |who: &Session, clinic: &str, body: Value| {
        f.app
            .client
            .put(f.app.url(&format!(
                "/api/clinics/{clinic}/patients/{}/consents/whatsapp",
                f.joao
            )))
            .bearer_auth(who.access.clone())
            .json(&body)
            .send()
    };
    let other = f.app.login("recepcao@boavista.demo", PW).await;
    assert_error(
        put(&other, &f.a.clinic, json!({"opted_in": true}))
            .await
            .expect("put"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        put(&other, &f.a.boavista, json!({"opted_in": true}))
            .await
            .expect("put"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (status, now) = json_of(
        put(&f.a.recep, &f.a.clinic, json!({"opted_in": true}))
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now[0]["opted_in"], true);
    assert_eq!(now[0]["source"], "clinic");
    assert_error(
        f.app
            .client
            .put(f.app.url(&format!(
                "/api/clinics/{}/patients/{}/consents/pombo",
                f.a.clinic, f.joao
            )))
            .bearer_auth(f.a.recep.access.clone())
            .json(&json!({"opted_in": false}))
            .send()
            .await
            .expect("put"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_channel",
    )
    .await;
}

/// Benchmark (run by hand: `ATENDE_BENCH=1`, one node, the contract server): reminders per
/// second from the outbox to the WhatsApp Cloud API contract server. Prints the figure; see
/// docs/performance.md.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bench_outbox_to_whatsapp_messages_per_second() {
    if std::env::var("ATENDE_BENCH").as_deref() != Ok("1") {
        eprintln!("skipped: a benchmark (set ATENDE_BENCH=1 to run it)");
        return;
    }
    let count: usize = std::env::var("ATENDE_BENCH_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let meta = Meta::start().await;
    let app = spawn_app_with(|s| {
        whatsapp_settings(s, &meta);
        s.messaging.batch_size = 50;
        s.messaging.poll_interval_ms = 20;
        s.database.max_connections = 10;
    })
    .await;
    let store = &app.state.store;
    let mut tx = store.begin().await.expect("tx");
    for n in 0..count {
        let payload = json!({"patient_name": format!("Pessoa {n}"), "professional_name": "Dra. Helena",
            "starts_at": "2026-12-08T13:00:00Z",
            "links": {"confirm_path": format!("/#/link/confirm/c{n}"), "cancel_path": format!("/#/link/cancel/x{n}")}});
        let m = atende::store::outbox::NewMessage {
            channel: "whatsapp",
            template: "appointment_reminder".into(),
            to_address: Some(format!("55119{n:08}")),
            ..Default::default()
        };
        store
            .insert_message(&mut tx, &m, &payload)
            .await
            .expect("insert");
    }
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
        assert!(
            start.elapsed() < std::time::Duration::from_secs(600),
            "took too long"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(meta.received().len(), count, "each message once");
    assert!(meta.refused().is_empty(), "{:?}", meta.refused());
    println!(
        "outbox -> WhatsApp contract server: {count} messages in {secs:.2} s = {:.0} messages/s ({})",
        count as f64 / secs,
        if app.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
}
