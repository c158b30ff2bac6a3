//! Reminders by SMS against a contract server of Twilio's Messages API (`twilio.rs`): the
//! reminder reaches Twilio with the clinic's name, the links whole and a status callback
//! that names it; signed callbacks move it to delivered or give it up; the patient's reply
//! "1" confirms live, "cancelar" cancels, "PARAR" stops later SMS reminders; forged or
//! missing signatures are refused and change nothing; a provider 500 then 201 sends once;
//! a callback naming a message whose node died keeps the takeover from sending it again;
//! the clinic administrator's outbox view filters the clinic's messages.

mod twilio;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;

use crate::agenda::reminded::Reminded;
use crate::helpers::*;
use crate::mail::{messages, wait_message};
use atende::config::{Secret, Settings};
use twilio::*;

/// João's phone as the clinic records it, and as Twilio names it (E.164).
const JOAO_PHONE: &str = "(11) 98765-4321";
const JOAO_E164: &str = "+5511987654321";

fn sms_settings(s: &mut Settings, twilio: &Twilio) {
    let m = &mut s.messaging.sms;
    m.api_base_url = twilio.base.clone();
    m.account_sid = ACCOUNT_SID.into();
    m.auth_token = Secret::new(AUTH_TOKEN.into());
    m.from_number = FROM.into();
    m.max_segments = 4;
    m.timeout_secs = 5;
    s.messaging.poll_interval_ms = 100;
    s.messaging.reminder_poll_secs = 1;
}

struct Fixture {
    r: Reminded,
    twilio: Twilio,
}

impl std::ops::Deref for Fixture {
    type Target = Reminded;
    fn deref(&self) -> &Reminded {
        &self.r
    }
}

/// The clinic sends reminders by SMS, 2 hours before; João has a phone; the demo's
/// appointments of today are out of the way.
async fn fixture() -> Fixture {
    let twilio = Twilio::start().await;
    // No e-mail channel: what goes by e-mail waits in the outbox.
    let app = spawn_app_with(|s| {
        sms_settings(s, &twilio);
        s.messaging.mail_dir = String::new();
    })
    .await;
    let r = Reminded::new(app, "sms_enabled", JOAO_PHONE).await;
    let saved = r
        .put_rules(&json!({"reminders_enabled": true,
        "reminder_offsets_minutes": [120], "quiet_start": "21:00", "quiet_end": "08:00"}))
        .await;
    assert_eq!(saved["whatsapp_enabled"], false);
    assert_eq!(saved["sms_enabled"], true, "left out: unchanged");
    Fixture { r, twilio }
}

impl Fixture {
    /// The last message Twilio took.
    fn taken(&self) -> Received {
        assert!(
            self.twilio.refused().is_empty(),
            "{:?}",
            self.twilio.refused()
        );
        self.twilio.received().pop().expect("a message taken")
    }

    async fn inbound(&self, body: &str) {
        let resp = Twilio::inbound(&self.app.address, JOAO_E164, body).await;
        assert_eq!(
            resp.status(),
            StatusCode::NO_CONTENT,
            "{:?}",
            resp.text().await
        );
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_reminder_by_sms_names_the_clinic_and_a_signed_callback_marks_it_delivered() {
    let f = fixture().await;
    let appt = f.book(10, 0).await;
    let sent = f.reminder(&appt, "sent").await;
    assert_eq!(sent["channel"], "sms");
    assert_eq!(
        sent["to_address"], "+55 11 •••••-4321",
        "only enough of the number to tell which"
    );
    assert_eq!(sent["attempts"], 1);

    // What Twilio received: the fields the description requires, the clinic first, the
    // time, how to answer, the links whole, and a callback that names the message.
    let r = f.taken();
    assert_eq!(r.get("To"), Some(JOAO_E164));
    assert_eq!(r.get("From"), Some(FROM));
    let body = r.get("Body").expect("Body");
    assert!(body.starts_with("Clínica Aurora: João,"), "{body}");
    assert!(body.contains("às 10:00"), "{body}");
    assert!(
        body.contains("Responda 1 para confirmar ou 2 para cancelar."),
        "{body}"
    );
    let confirm = body
        .split_whitespace()
        .find(|w| w.contains("/#/link/confirm/"))
        .expect("the confirm link");
    assert!(confirm.starts_with(&f.app.address), "{confirm}");
    // The link works as it stands in the SMS (a preview of what it does).
    let token = confirm.rsplit('/').next().expect("token");
    let (status, preview) = json_of(
        f.app
            .post(
                "/api/public/links/preview",
                None,
                &json!({"action": "confirm", "token": token}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["used"], false);
    assert_eq!(preview["appointment"]["clinic_name"], "Clínica Aurora");
    // Accented Portuguese goes as UCS-2: at most 4 parts of 67 UTF-16 units.
    assert!(body.encode_utf16().count() <= 4 * 67, "{body}");
    let id = sent["id"].as_str().expect("id").replace('-', "");
    assert_eq!(
        r.get("StatusCallback"),
        Some(format!("{}/api/webhooks/sms/status?outbox={id}", f.app.address).as_str())
    );

    // The network reports it queued, sent, then delivered: delivered, and only once.
    for s in ["queued", "sent", "delivered", "delivered"] {
        let resp = Twilio::callback(&r, s, None).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{s}");
    }
    let delivered = f.wait(&appt, "delivered").await;
    assert!(delivered["delivered_at"].is_string(), "{delivered}");
    // A late failure never moves it back.
    let resp = Twilio::callback(&r, "undelivered", Some("30003")).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let list = messages(&f.app, &f.a.clinic, &f.a.recep, &Reminded::query(&appt)).await;
    assert_eq!(list[0]["status"], "delivered", "{list:#?}");

    // Another reminder the network cannot deliver: `dead`, with Twilio's error code.
    let other = f.book(15, 0).await;
    f.reminder(&other, "sent").await;
    let r = f.taken();
    assert_eq!(
        Twilio::callback(&r, "undelivered", Some("30005"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let dead = f.wait(&other, "dead").await;
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("30005")),
        "{dead}"
    );

    // The administrator's outbox view: the whole clinic, by channel and state.
    let app = &f.app;
    let outbox = |q: &str, who: &Session| {
        let url = format!("/api/clinics/{}/messages{q}", f.a.clinic);
        let access = who.access.clone();
        async move { app.get(&url, Some(&access)).await }
    };
    let (status, all) = json_of(outbox("?channel=sms", &f.a.admin).await).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all = all.as_array().expect("list");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().all(|m| m["channel"] == "sms"));
    assert!(
        all.iter()
            .all(|m| m["patient_name"] == "João Pereira da Silva"),
        "{all:#?}"
    );
    assert!(all.iter().all(|m| m["appointment_starts_at"].is_string()));
    let (_, dead_only) = json_of(outbox("?channel=sms&status=dead", &f.a.admin).await).await;
    assert_eq!(dead_only.as_array().map(Vec::len), Some(1), "{dead_only}");
    assert_eq!(dead_only[0]["appointment_id"], other["id"]);
    assert_error(
        outbox("?status=lost", &f.a.admin).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_filter",
    )
    .await;
    // A receptionist names a patient or an appointment; another clinic sees nothing.
    assert_error(
        outbox("", &f.a.recep).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_filter",
    )
    .await;
    let other_admin = f.app.login("admin@boavista.demo", PW).await;
    assert_error(
        outbox("", &other_admin).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_reply_1_confirms_live_cancelar_cancels_and_parar_stops_later_sms_reminders() {
    let f = fixture().await;
    let mut desk = f.app.ws(&f.a.recep).await;
    desk.join(&format!("clinic:{}:agenda", f.a.clinic), None)
        .await;
    // Booked before the clock moves (a reminder never falls due before its booking).
    let first = f.book(10, 0).await;
    let appt = f.book(10, 30).await;
    let later = f.book(17, 0).await;
    f.reminder(&first, "sent").await;
    // Words that are no command change nothing.
    f.inbound("Bom dia, chego às 10h").await;
    assert_eq!(f.status_of(&first).await, "scheduled");
    // "Cancelar" cancels the nearest appointment reminded by SMS, live.
    f.inbound("Cancelar").await;
    let live = desk
        .push_matching("agenda.updated", |p| {
            p["appointment"]["status"] == "cancelled"
        })
        .await;
    assert_eq!(live["appointment"]["id"], first["id"]);

    // The next one, reminded too: "1" confirms it (the cancelled one is not open), live.
    f.reminder(&appt, "sent").await;
    f.inbound("1").await;
    let live = desk
        .push_matching("agenda.updated", |p| {
            p["appointment"]["status"] == "confirmed"
        })
        .await;
    assert_eq!(live["appointment"]["id"], appt["id"]);
    assert_eq!(f.status_of(&first).await, "cancelled");

    // "PARAR": João opts out of SMS (recorded, audited); the next reminder goes by e-mail.
    f.inbound("PARAR").await;
    let path = format!("/api/clinics/{}/patients/{}/consents", f.a.clinic, f.joao);
    let (status, consents) = json_of(f.app.get(&path, Some(&f.a.recep.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{consents}");
    assert_eq!(consents[0]["channel"], "sms");
    assert_eq!(consents[0]["opted_in"], false);
    assert_eq!(consents[0]["source"], "reply");
    let taken = f.twilio.received().len();
    let queued = f.reminder(&later, "queued").await;
    assert_eq!(queued["channel"], "email");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(f.twilio.received().len(), taken, "nothing more by SMS");
    assert!(matches!(
        f.app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_forged_or_missing_sms_signature_is_refused_with_401_and_changes_nothing() {
    let f = fixture().await;
    let appt = f.book(9, 30).await;
    f.reminder(&appt, "sent").await;
    let r = f.taken();
    let inbound_url = format!("{}/api/webhooks/sms/inbound", f.app.address);
    let params = Twilio::inbound_params(JOAO_E164, "1");
    let mut tampered = params.clone();
    for (k, v) in &mut tampered {
        if k == "Body" {
            *v = "PARAR".into();
        }
    }
    let elsewhere = format!("{}/api/webhooks/sms/status", f.app.address);
    for (sent, sig) in [
        (&params, None),
        (&params, Some(sign(&inbound_url, &params, "outro-token"))),
        (&params, Some(sign(&elsewhere, &params, AUTH_TOKEN))),
        (&tampered, Some(sign(&inbound_url, &params, AUTH_TOKEN))),
        (&params, Some("não-é-base64".to_string())),
    ] {
        assert_error(
            Twilio::post(&inbound_url, sent, sig).await,
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        )
        .await;
    }
    // A forged failure report leaves the message as it was.
    let cb = r.get("StatusCallback").expect("callback").to_string();
    let failed = Twilio::status_params(&r.sid, JOAO_E164, "failed", Some("30008"));
    assert_error(
        Twilio::post(&cb, &failed, Some(sign(&cb, &failed, "outro-token"))).await,
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
    )
    .await;
    assert_eq!(f.status_of(&appt).await, "scheduled");
    let list = messages(&f.app, &f.a.clinic, &f.a.recep, &Reminded::query(&appt)).await;
    assert_eq!(list[0]["status"], "sent", "{list:#?}");
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
    // The genuine request still acts afterwards (the forged ones were not remembered).
    let sig = sign(&inbound_url, &params, AUTH_TOKEN);
    let resp = Twilio::post(&inbound_url, &params, Some(sig)).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(f.status_of(&appt).await, "confirmed");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_provider_500_then_201_sends_the_sms_once_and_a_400_gives_it_up() {
    let f = fixture().await;
    f.twilio.fail_next(&[500]);
    let appt = f.book(12, 0).await;
    let failed = f.reminder(&appt, "failed").await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("sms 500") && e.contains("20500")),
        "{failed}"
    );
    assert!(f.twilio.received().is_empty());
    let retry_at = crate::mail::retry_time(&failed);
    f.app.clock.set(retry_at + chrono::Duration::seconds(1));
    let sent = f.wait(&appt, "sent").await;
    assert_eq!(sent["id"], failed["id"]);
    assert_eq!(sent["attempts"], 2);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(f.twilio.received().len(), 1, "taken once");
    assert_eq!(f.twilio.requests(), 2, "one failure, one success");

    // A 400 is for good: `dead` at once, with Twilio's words.
    f.twilio.fail_next(&[400]);
    let other = f.book(16, 30).await;
    let dead = f.reminder(&other, "dead").await;
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("sms 400")),
        "{dead}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_callback_naming_a_message_whose_node_died_keeps_the_takeover_from_sending_it_again() {
    let f = fixture().await;
    let store = &f.app.state.store;
    // The worker's clock an hour back: the message below is not yet due for it.
    let now = Utc::now();
    f.app.clock.set(now - chrono::Duration::hours(1));
    let payload = json!({"patient_name": "João Pereira", "starts_at": f.a.at(10, 0),
        "links": {"confirm_path": "/#/link/confirm/x", "cancel_path": "/#/link/cancel/y"}});
    let clinic: atende::domain::ClinicId = serde_json::from_value(json!(f.a.clinic)).expect("id");
    let m = atende::store::outbox::NewMessage {
        clinic: Some(clinic),
        channel: "sms",
        template: "appointment_reminder".into(),
        to_address: Some(JOAO_E164.into()),
        ..Default::default()
    };
    let mut tx = store.begin().await.expect("tx");
    let id = store
        .insert_message(&mut tx, &m, &payload)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    // Another node claims it, hands it to Twilio, and dies before recording so.
    let lease = now + chrono::Duration::seconds(60);
    let claimed = store
        .claim_messages(
            "sms",
            "no-que-caiu",
            now + chrono::Duration::seconds(1),
            lease,
            10,
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, id);
    let sid = "SM0123456789abcdef0123456789abcdef";
    let cb = format!(
        "{}/api/webhooks/sms/status?outbox={}",
        f.app.address,
        id.simple()
    );
    let params = Twilio::status_params(sid, JOAO_E164, "sent", None);
    let resp = Twilio::post(&cb, &params, Some(sign(&cb, &params, AUTH_TOKEN))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // Its lease runs out; this node takes the message over and records it as sent.
    f.app.clock.set(lease + chrono::Duration::seconds(1));
    let q = "channel=sms&status=sent".to_string();
    let sent = wait_message(&f.app, &f.a.clinic, &f.a.admin, &q, |m| {
        m["id"] == json!(id)
    })
    .await;
    assert_eq!(sent["attempts"], 2);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(f.twilio.requests(), 0, "not sent a second time");
    // Its later receipts find it by Twilio's sid.
    let params = Twilio::status_params(sid, JOAO_E164, "delivered", None);
    let resp = Twilio::post(&cb, &params, Some(sign(&cb, &params, AUTH_TOKEN))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    wait_message(
        &f.app,
        &f.a.clinic,
        &f.a.admin,
        &q.replace("sent", "delivered"),
        |m| m["id"] == json!(id),
    )
    .await;
}
