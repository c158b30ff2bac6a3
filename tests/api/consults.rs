//! Teleconsultation sessions: the patient enters from a signed link and waits, the
//! professional admits, signaling is relayed both ways and survives a reconnect, the
//! professional ends it; outsiders, tampered links and malformed signaling are refused; ICE
//! servers carry coturn REST credentials; cancelling releases the waiting patient.

use base64::Engine as _;
use chrono::{Duration, Utc};
use hmac::Mac as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book};
use crate::helpers::*;
use crate::ws_client::WsClient;

const SDP_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sctp-port:5000\r\n";
const SDP_ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
const TURN_SECRET: &str = "north-wind";

pub struct Consult {
    pub a: Agenda,
    pub id: String,
    pub token: String,
}

/// A teleconsultation of João with Helena, a few hours from now (the room opens a day
/// ahead in these tests), and its patient link.
pub async fn consult_fixture(app: &TestApp) -> Consult {
    let a = agenda_fixture(app).await;
    let mut id = None;
    for hours in 2..30 {
        let start = (Utc::now() + Duration::hours(hours))
            .format("%Y-%m-%dT%H:00:00Z")
            .to_string();
        let resp = book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": Agenda::patient(&a.joao),
                   "starts_at": start, "kind": "teleconsultation", "duration_minutes": 30, "fit_in": true}),
        )
        .await;
        if resp.status() == StatusCode::CREATED {
            let (_, body) = json_of(resp).await;
            id = Some(body["id"].as_str().expect("id").to_string());
            break;
        }
    }
    let id = id.expect("a free hour for the teleconsultation");
    let (status, c) = json_of(
        app.get(&format!("/api/consults/{id}"), Some(&a.helena.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["status"], "scheduled");
    let link = c["patient_link"].as_str().expect("link");
    let token = link
        .strip_prefix("/#/consulta/")
        .expect("link path")
        .to_string();
    Consult { a, id, token }
}

pub async fn spawn() -> TestApp {
    spawn_with(|s| {
        s.consult.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        s.consult.turn_urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        s.consult.turn_secret = atende::config::Secret::new(TURN_SECRET.into());
    })
    .await
}

/// An app whose teleconsultation rooms open a day ahead (so `consult_fixture`'s call, a few
/// hours away, can be entered now), with `tweak` on top.
pub async fn spawn_with(tweak: impl FnOnce(&mut atende::config::Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.consult.link_lead_minutes = 24 * 60;
        tweak(s);
    })
    .await
}

/// The patient's phone: a guest connection authenticated by the link.
pub async fn patient_ws(app: &TestApp, token: &str) -> WsClient {
    let mut ws = WsClient::connect(&app.ws_url("")).await.expect("connects");
    let reply = ws
        .request("system", "auth", json!({"consult": token}))
        .await;
    assert_eq!(reply["payload"]["status"], "ok", "{reply}");
    ws
}

pub async fn ok(ws: &mut WsClient, topic: &str, event: &str, payload: Value) -> Value {
    let r = ws.request(topic, event, payload).await;
    assert_eq!(r["payload"]["status"], "ok", "{event}: {r}");
    r["payload"]["response"].clone()
}

pub async fn refused(ws: &mut WsClient, topic: &str, event: &str, payload: Value) -> String {
    let r = ws.request(topic, event, payload).await;
    assert_eq!(r["payload"]["status"], "error", "{event} should fail: {r}");
    r["payload"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_patient_waits_is_admitted_and_signaling_flows_both_ways_across_a_reconnect() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    let topic = format!("consult:{}", c.id);

    let mut doctor = app.ws(&c.a.helena).await;
    doctor.join(&topic, None).await;
    let s = ok(&mut doctor, &topic, "enter", json!({})).await;
    assert_eq!(s["status"], "scheduled");
    assert_error_code(
        refused(&mut doctor, &topic, "admit", json!({})).await,
        "nobody_waiting",
    );

    // The patient enters from the link, with no password: the waiting room.
    let mut phone = patient_ws(&app, &c.token).await;
    phone.join(&topic, None).await;
    // The professional sees the patient arrive (first name only), live.
    let here = doctor
        .push_matching("presence.join", |p| p["role"] == "patient")
        .await;
    assert_eq!(here["name"], "João");
    let s = ok(&mut phone, &topic, "enter", json!({})).await;
    assert_eq!(s["status"], "waiting");
    assert_eq!(s["time_zone"], "America/Sao_Paulo");
    assert_eq!(s["professional_name"], "Helena Duarte");
    let pushed = doctor
        .push_matching("consult.state", |p| p["status"] == "waiting")
        .await;
    assert!(
        pushed["participants"].to_string().contains("João"),
        "{pushed}"
    );
    // Nothing is relayed before admission, and the patient cannot admit or end.
    let offer = json!({"to": "professional", "type": "answer", "sdp": SDP_ANSWER});
    assert_error_code(
        refused(&mut phone, &topic, "signal", offer).await,
        "not_admitted",
    );
    assert_error_code(
        refused(&mut phone, &topic, "admit", json!({})).await,
        "forbidden",
    );
    assert_error_code(
        refused(&mut phone, &topic, "end", json!({})).await,
        "forbidden",
    );

    // Admitted: both sides see it.
    let s = ok(&mut doctor, &topic, "admit", json!({})).await;
    assert_eq!(s["status"], "in_call");
    phone
        .push_matching("consult.state", |p| p["status"] == "in_call")
        .await;

    // Offer, answer and candidates, each to the other side only.
    ok(
        &mut doctor,
        &topic,
        "signal",
        json!({"to": "patient", "type": "offer", "sdp": SDP_OFFER}),
    )
    .await;
    let got = phone
        .push_matching("consult.signal", |p| p["type"] == "offer")
        .await;
    assert_eq!(
        (
            got["from"].as_str(),
            got["type"].as_str(),
            got["sdp"].as_str()
        ),
        (Some("professional"), Some("offer"), Some(SDP_OFFER))
    );
    ok(
        &mut phone,
        &topic,
        "signal",
        json!({"to": "professional", "type": "answer", "sdp": SDP_ANSWER}),
    )
    .await;
    let got = doctor
        .push_matching("consult.signal", |p| p["from"] == "patient")
        .await;
    assert_eq!(got["sdp"], SDP_ANSWER);
    let cand = json!({"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0});
    ok(
        &mut phone,
        &topic,
        "signal",
        json!({"to": "professional", "type": "candidate", "candidate": cand}),
    )
    .await;
    let got = doctor
        .push_matching("consult.signal", |p| p["type"] == "candidate")
        .await;
    assert_eq!(got["candidate"]["candidate"], cand["candidate"]);
    // End of candidates (an empty candidate) is fine too.
    ok(&mut doctor, &topic, "signal", json!({"to": "patient", "type": "candidate", "candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}})).await;

    // Malformed signaling gets a clear error and the call goes on.
    for (payload, code) in [
        (
            json!({"to": "patient", "type": "offer", "sdp": "hello"}),
            "invalid_sdp",
        ),
        (
            json!({"to": "patient", "type": "offer", "sdp": "v=0\r\nno media here\r\n"}),
            "invalid_sdp",
        ),
        (
            json!({"to": "patient", "type": "candidate", "candidate": {"candidate": "rm -rf /"}}),
            "invalid_candidate",
        ),
        (
            json!({"to": "patient", "type": "candidate"}),
            "invalid_candidate",
        ),
        (
            json!({"to": "interpreter", "type": "offer", "sdp": SDP_OFFER}),
            "not_in_session",
        ),
        (
            json!({"to": "professional", "type": "offer", "sdp": SDP_OFFER}),
            "not_in_session",
        ),
        (json!({"to": "patient", "type": "video"}), "invalid_payload"),
    ] {
        assert_error_code(refused(&mut doctor, &topic, "signal", payload).await, code);
    }
    assert_error_code(
        refused(&mut doctor, &topic, "dance", json!({})).await,
        "unknown_event",
    );

    // The patient's page reloads: a new connection, same link, back in the same call.
    phone.close().await;
    doctor
        .push_matching("presence.leave", |p| p["role"] == "patient")
        .await;
    let mut phone = patient_ws(&app, &c.token).await;
    phone.join(&topic, None).await;
    let s = ok(&mut phone, &topic, "enter", json!({})).await;
    assert_eq!(s["status"], "in_call", "a reload does not end the call");
    ok(
        &mut phone,
        &topic,
        "signal",
        json!({"to": "professional", "type": "restart-request"}),
    )
    .await;
    assert_eq!(
        doctor
            .push_matching("consult.signal", |p| p["type"] == "restart-request")
            .await["from"],
        "patient"
    );
    ok(
        &mut doctor,
        &topic,
        "signal",
        json!({"to": "patient", "type": "offer", "sdp": SDP_OFFER, "restart": true}),
    )
    .await;
    let restart = phone
        .push_matching("consult.signal", |p| p["type"] == "offer")
        .await;
    assert_eq!(restart["restart"], true);

    // Only the professional ends it; it is audited with its times and participants.
    let s = ok(&mut doctor, &topic, "end", json!({})).await;
    assert_eq!(s["status"], "ended");
    let ended = phone.push("consult.ended").await;
    assert_eq!(ended["payload"]["reason"], "ended_by_professional");
    assert_error_code(
        refused(
            &mut doctor,
            &topic,
            "signal",
            json!({"to": "patient", "type": "offer", "sdp": SDP_OFFER}),
        )
        .await,
        "consult_ended",
    );
    let (_, state) = json_of(
        app.get(&format!("/api/consults/{}", c.id), Some(&c.a.helena.access))
            .await,
    )
    .await;
    assert_eq!(state["status"], "ended");
    assert!(state["admitted_at"].is_string() && state["ended_at"].is_string());
    let names = state["participants"].to_string();
    assert!(
        names.contains("Helena Duarte") && names.contains("João"),
        "{names}"
    );
    assert!(matches!(
        app.verify_audit().await,
        atende::security::audit::ChainReport::Intact { .. }
    ));
}

pub fn assert_error_code(got: String, want: &str) {
    assert_eq!(got, want);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn other_people_tampered_links_and_other_appointments_are_refused() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    let topic = format!("consult:{}", c.id);
    // Another patient, another professional of the clinic: no such session for them.
    for who in [&c.a.maria, &c.a.rafael] {
        let mut ws = app.ws(who).await;
        assert_error_code(
            refused(&mut ws, &topic, "join", json!({})).await,
            "not_found",
        );
    }
    assert_error(
        app.get(&format!("/api/consults/{}", c.id), Some(&c.a.maria.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // A tampered link is refused at authentication.
    let mut ws = WsClient::connect(&app.ws_url("")).await.expect("connects");
    let mut bad = c.token.clone();
    bad.replace_range(0..1, if bad.starts_with('A') { "B" } else { "A" });
    let r = ws.request("system", "auth", json!({"consult": bad})).await;
    assert_eq!(r["payload"]["code"], "invalid_token", "{r}");
    assert_error(
        app.get(&format!("/api/public/consults/{bad}"), None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_error(
        app.get(&format!("/api/consults/{}/ice?token={bad}", c.id), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    // A link guest may join only its own session, and nothing else.
    let mut phone = patient_ws(&app, &c.token).await;
    let other = uuid::Uuid::now_v7();
    assert_error_code(
        refused(&mut phone, &format!("consult:{other}"), "join", json!({})).await,
        "forbidden",
    );
    assert_error_code(
        refused(
            &mut phone,
            &format!("clinic:{}:queue", c.a.clinic),
            "join",
            json!({}),
        )
        .await,
        "forbidden",
    );
    // The public preview shows the professional and the patient's first name only.
    let (status, p) = json_of(
        app.get(&format!("/api/public/consults/{}", c.token), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["appointment_id"], c.id.as_str());
    assert_eq!(p["patient_first_name"], "João");
    assert!(!p.to_string().contains("Pereira"), "{p}");
    // An in-person appointment has no session.
    let (_, list) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/appointments?from={}&to={}",
                c.a.clinic,
                Utc::now().date_naive() - Duration::days(1),
                Utc::now().date_naive() + Duration::days(2)
            ),
            Some(&c.a.recep.access),
        )
        .await,
    )
    .await;
    let in_person = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["kind"] == "in_person"))
        .map(|a| a["id"].as_str().expect("id").to_string())
        .expect("the demo data has in-person appointments today");
    let mut ws = app.ws(&c.a.helena).await;
    assert_error_code(
        refused(&mut ws, &format!("consult:{in_person}"), "join", json!({})).await,
        "not_found",
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn ice_servers_carry_short_lived_coturn_credentials() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    for resp in [
        app.get(
            &format!("/api/consults/{}/ice?token={}", c.id, c.token),
            None,
        )
        .await,
        app.get(
            &format!("/api/consults/{}/ice", c.id),
            Some(&c.a.helena.access),
        )
        .await,
    ] {
        let (status, ice) = json_of(resp).await;
        assert_eq!(status, StatusCode::OK, "{ice}");
        let servers = ice["ice_servers"].as_array().expect("servers");
        assert_eq!(servers[0]["urls"][0], "stun:127.0.0.1:3478");
        let turn = &servers[1];
        assert_eq!(turn["urls"][0], "turn:127.0.0.1:3478?transport=udp");
        let user = turn["username"].as_str().expect("username");
        let (expiry, _) = user.split_once(':').expect("expiry:user");
        let expiry: i64 = expiry.parse().expect("unix time");
        let now = Utc::now().timestamp();
        assert!((now + 3500..=now + 3700).contains(&expiry), "{expiry}");
        let mut mac =
            hmac::Hmac::<sha1::Sha1>::new_from_slice(TURN_SECRET.as_bytes()).expect("key");
        mac.update(user.as_bytes());
        let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(turn["credential"], want.as_str());
    }
    // Not for strangers.
    assert_error(
        app.get(
            &format!("/api/consults/{}/ice", c.id),
            Some(&c.a.maria.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/consults/{}/ice", c.id), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn cancelling_the_appointment_releases_the_waiting_patient() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    let topic = format!("consult:{}", c.id);
    let mut phone = patient_ws(&app, &c.token).await;
    phone.join(&topic, None).await;
    assert_eq!(
        ok(&mut phone, &topic, "enter", json!({})).await["status"],
        "waiting"
    );
    let resp = app
        .post(
            &format!("/api/clinics/{}/appointments/{}/cancel", c.a.clinic, c.id),
            Some(&c.a.recep.access),
            &json!({"reason": "Profissional indisponível"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ended = phone.push("consult.ended").await;
    assert_eq!(ended["payload"]["reason"], "cancelled");
    assert!(
        ended["payload"]["message"]
            .as_str()
            .expect("message")
            .contains("cancelada")
    );
    assert_eq!(
        ok(&mut phone, &topic, "enter", json!({})).await["status"],
        "ended"
    );
    // The link no longer opens anything.
    let mut ws = WsClient::connect(&app.ws_url("")).await.expect("connects");
    let r = ws
        .request("system", "auth", json!({"consult": c.token}))
        .await;
    assert_eq!(r["payload"]["code"], "consult_cancelled", "{r}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_link_opens_the_room_only_shortly_before_the_start() {
    let app = spawn_app_with(|s| s.consult.link_lead_minutes = 30).await;
    let a = agenda_fixture(&app).await;
    // Some hour at least two hours ahead that the fixture's agenda leaves free.
    let mut booked = None;
    for hours in 2..30 {
        let start = (Utc::now() + Duration::hours(hours))
            .format("%Y-%m-%dT%H:00:00Z")
            .to_string();
        let (status, body) = json_of(
            book(
                &app,
                &a.clinic,
                &a.recep,
                json!({"professional_user_id": Agenda::id(&a.helena),
                "patient_id": Agenda::patient(&a.maria), "starts_at": start,
                "kind": "teleconsultation", "duration_minutes": 30, "fit_in": true}),
            )
            .await,
        )
        .await;
        if status == StatusCode::CREATED {
            booked = Some(body);
            break;
        }
        assert_eq!(body["code"], "slot_taken", "{body}");
    }
    let body = booked.expect("a free hour");
    let id = body["id"].as_str().expect("id");
    let (_, c) = json_of(
        app.get(&format!("/api/consults/{id}"), Some(&a.helena.access))
            .await,
    )
    .await;
    let token = c["patient_link"]
        .as_str()
        .expect("link")
        .trim_start_matches("/#/consulta/")
        .to_string();
    let mut ws = WsClient::connect(&app.ws_url("")).await.expect("connects");
    let r = ws
        .request("system", "auth", json!({"consult": token}))
        .await;
    assert_eq!(r["payload"]["code"], "too_early", "{r}");
    // The page can still say when the room opens.
    let (status, p) = json_of(
        app.get(&format!("/api/public/consults/{token}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(p["opens_at"].is_string());
}

/// Least privilege: the patient's entry link is a secret that lets its holder into the
/// call as the patient. The professional and the patient get it; the clinic's reception
/// and admin see that it exists, not the link.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn only_the_professional_and_the_patient_receive_the_patients_entry_link() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    let path = format!("/api/consults/{}", c.id);
    for (who, s) in [("reception", &c.a.recep), ("clinic admin", &c.a.admin)] {
        let (status, v) = json_of(app.get(&path, Some(&s.access)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {v}");
        assert_eq!(v["has_patient_link"], true, "{who}: {v}");
        assert!(v.get("patient_link").is_none(), "{who} got the link: {v}");
        assert!(
            !v.to_string().contains(&c.token),
            "{who} got the link's token: {v}"
        );
    }
    for (who, s) in [("professional", &c.a.helena), ("patient", &c.a.joao)] {
        let (status, v) = json_of(app.get(&path, Some(&s.access)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {v}");
        let link = v["patient_link"].as_str().unwrap_or_default();
        assert!(link.starts_with("/#/consulta/"), "{who}: {v}");
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn admitting_and_ending_a_teleconsultation_move_its_appointment_live() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    let topic = format!("consult:{}", c.id);
    // The desk's agenda screen, live.
    let mut agenda = app.ws(&c.a.recep).await;
    agenda
        .join(&format!("clinic:{}:agenda", c.a.clinic), None)
        .await;
    let mine = |p: &Value, status: &str| {
        p["appointment"]["id"] == c.id.as_str() && p["appointment"]["status"] == status
    };

    let mut doctor = app.ws(&c.a.helena).await;
    doctor.join(&topic, None).await;
    ok(&mut doctor, &topic, "enter", json!({})).await;
    let mut phone = patient_ws(&app, &c.token).await;
    phone.join(&topic, None).await;
    ok(&mut phone, &topic, "enter", json!({})).await;
    ok(&mut doctor, &topic, "admit", json!({})).await;
    agenda
        .push_matching("agenda.updated", |p| mine(p, "in_progress"))
        .await;

    let s = ok(&mut doctor, &topic, "end", json!({})).await;
    assert_eq!(s["status"], "ended");
    agenda
        .push_matching("agenda.updated", |p| mine(p, "done"))
        .await;
    // The patient's own list says it happened.
    let (status, list) = json_of(
        app.get("/api/me/appointments", Some(&c.a.joao.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let it = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["id"] == c.id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("the appointment in the patient's list: {list}"));
    assert_eq!(it["status"], "done", "{it}");
}
