//! Two real WebRTC peers (webrtc-rs) act as professional and patient and find each other only
//! through atende: admission, offer/answer and trickled candidates relayed by the server, a
//! data channel that carries messages both ways, an ICE restart mid-call that keeps the
//! channel, and the patient's WebSocket reconnecting without ending anything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceConnectionState, RTCIceServer, RTCIceTransportPolicy,
    RTCPeerConnectionIceEvent, RTCSessionDescription, SettingEngineBuilder,
};

use crate::consults::{consult_fixture, ok, patient_ws, spawn};
use crate::ws_client::WsClient;

/// What a peer's handler reports: gathered candidates, ICE states, an incoming channel.
struct Events {
    candidates: Mutex<Vec<RTCIceCandidateInit>>,
    /// Every candidate string gathered (never drained).
    gathered: Mutex<Vec<String>>,
    ice: Mutex<Vec<RTCIceConnectionState>>,
    channel: mpsc::UnboundedSender<Arc<dyn DataChannel>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            self.gathered
                .lock()
                .expect("lock")
                .push(init.candidate.clone());
            self.candidates.lock().expect("lock").push(init);
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.ice.lock().expect("lock").push(state);
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.channel.send(dc);
    }
}

struct Peer {
    pc: Box<dyn PeerConnection>,
    events: Arc<Events>,
}

/// A peer, and the data channels the other side opens towards it.
async fn peer() -> (Peer, mpsc::UnboundedReceiver<Arc<dyn DataChannel>>) {
    peer_with(RTCConfigurationBuilder::new().build()).await
}

async fn peer_with(
    config: webrtc::peer_connection::RTCConfiguration,
) -> (Peer, mpsc::UnboundedReceiver<Arc<dyn DataChannel>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let events = Arc::new(Events {
        candidates: Mutex::default(),
        gathered: Mutex::default(),
        ice: Mutex::default(),
        channel: tx,
    });
    // Two peers in one process: no mDNS (it binds the fixed port 5353), loopback only.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(settings)
        .with_handler(events.clone() as Arc<dyn PeerConnectionEventHandler>)
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .expect("peer connection");
    (
        Peer {
            pc: Box::new(pc),
            events,
        },
        rx,
    )
}

/// Text messages and the open event of a data channel, as a stream.
fn watch(dc: Arc<dyn DataChannel>) -> mpsc::UnboundedReceiver<Option<String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnOpen => {
                    let _ = tx.send(None);
                }
                DataChannelEvent::OnMessage(m) => {
                    let _ = tx.send(Some(String::from_utf8_lossy(&m.data).to_string()));
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    });
    rx
}

fn candidate_json(c: &RTCIceCandidateInit) -> Value {
    json!({"candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index})
}

fn candidate_init(v: &Value) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: v["candidate"].as_str().unwrap_or_default().to_string(),
        sdp_mid: v["sdpMid"].as_str().map(str::to_string),
        sdp_mline_index: v["sdpMLineIndex"].as_u64().map(|n| n as u16),
        ..Default::default()
    }
}

/// Relay both peers' gathered candidates through atende, and apply what arrives, until
/// `done` says so (or panic after 20 s).
async fn trickle(
    topic: &str,
    doctor: &mut WsClient,
    phone: &mut WsClient,
    pro: &Peer,
    pat: &Peer,
    mut done: impl FnMut() -> bool,
) {
    for _ in 0..400 {
        let mine: Vec<_> = std::mem::take(&mut *pro.events.candidates.lock().expect("lock"));
        for c in mine {
            ok(
                doctor,
                topic,
                "signal",
                json!({"to": "patient", "type": "candidate", "candidate": candidate_json(&c)}),
            )
            .await;
        }
        let theirs: Vec<_> = std::mem::take(&mut *pat.events.candidates.lock().expect("lock"));
        for c in theirs {
            ok(
                phone,
                topic,
                "signal",
                json!({"to": "professional", "type": "candidate", "candidate": candidate_json(&c)}),
            )
            .await;
        }
        while let Some(s) = phone
            .try_push("consult.signal", Duration::from_millis(5))
            .await
        {
            let p = &s["payload"];
            if p["to"] == "patient" && p["type"] == "candidate" {
                pat.pc
                    .add_ice_candidate(candidate_init(&p["candidate"]))
                    .await
                    .ok();
            }
        }
        while let Some(s) = doctor
            .try_push("consult.signal", Duration::from_millis(5))
            .await
        {
            let p = &s["payload"];
            if p["to"] == "professional" && p["type"] == "candidate" {
                pro.pc
                    .add_ice_candidate(candidate_init(&p["candidate"]))
                    .await
                    .ok();
            }
        }
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "peers did not get there; professional ICE {:?}, patient ICE {:?}",
        pro.events.ice.lock().expect("lock"),
        pat.events.ice.lock().expect("lock")
    );
}

/// Offer from the professional, answer from the patient, both through atende.
async fn negotiate(
    topic: &str,
    doctor: &mut WsClient,
    phone: &mut WsClient,
    pro: &Peer,
    pat: &Peer,
    restart: bool,
) {
    let offer = pro.pc.create_offer(None).await.expect("offer");
    pro.pc
        .set_local_description(offer.clone())
        .await
        .expect("local offer");
    ok(
        doctor,
        topic,
        "signal",
        json!({"to": "patient", "type": "offer", "sdp": offer.sdp, "restart": restart}),
    )
    .await;
    let got = phone
        .push_matching("consult.signal", |p| {
            p["to"] == "patient" && p["type"] == "offer"
        })
        .await;
    assert_eq!(got["restart"], restart);
    let offer = RTCSessionDescription::offer(got["sdp"].as_str().expect("sdp").to_string())
        .expect("parse offer");
    pat.pc
        .set_remote_description(offer)
        .await
        .expect("remote offer");
    let answer = pat.pc.create_answer(None).await.expect("answer");
    pat.pc
        .set_local_description(answer.clone())
        .await
        .expect("local answer");
    ok(
        phone,
        topic,
        "signal",
        json!({"to": "professional", "type": "answer", "sdp": answer.sdp}),
    )
    .await;
    let got = doctor
        .push_matching("consult.signal", |p| {
            p["to"] == "professional" && p["type"] == "answer"
        })
        .await;
    let answer = RTCSessionDescription::answer(got["sdp"].as_str().expect("sdp").to_string())
        .expect("parse answer");
    pro.pc
        .set_remote_description(answer)
        .await
        .expect("remote answer");
}

async fn next_text(rx: &mut mpsc::UnboundedReceiver<Option<String>>) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Some(text))) => return text,
            Ok(Some(None)) => continue,
            other => panic!("no message on the data channel: {other:?}"),
        }
    }
}

/// Both sides in the session and the patient admitted: (topic, professional, patient).
pub async fn admitted(
    app: &crate::helpers::TestApp,
    c: &crate::consults::Consult,
) -> (String, WsClient, WsClient) {
    let topic = format!("consult:{}", c.id);
    let mut doctor = app.ws(&c.a.helena).await;
    doctor.join(&topic, None).await;
    ok(&mut doctor, &topic, "enter", json!({})).await;
    let mut phone = patient_ws(app, &c.token).await;
    phone.join(&topic, None).await;
    ok(&mut phone, &topic, "enter", json!({})).await;
    ok(&mut doctor, &topic, "admit", json!({})).await;
    (topic, doctor, phone)
}

type Texts = mpsc::UnboundedReceiver<Option<String>>;

/// The professional opens a data channel, negotiates through atende, and candidates flow
/// until the patient's side has it: (professional's channel, its messages, patient's
/// channel, its messages).
async fn open_channel(
    topic: &str,
    doctor: &mut WsClient,
    phone: &mut WsClient,
    pro: &Peer,
    pat: &Peer,
    channels: &mut mpsc::UnboundedReceiver<Arc<dyn DataChannel>>,
) -> (Arc<dyn DataChannel>, Texts, Arc<dyn DataChannel>, Texts) {
    let dc = pro
        .pc
        .create_data_channel("consulta", None)
        .await
        .expect("data channel");
    let pro_rx = watch(dc.clone());
    negotiate(topic, doctor, phone, pro, pat, false).await;
    let mut pat_dc: Option<Arc<dyn DataChannel>> = None;
    trickle(topic, doctor, phone, pro, pat, || {
        if pat_dc.is_none()
            && let Ok(d) = channels.try_recv()
        {
            pat_dc = Some(d);
        }
        pat_dc.is_some()
    })
    .await;
    let pat_dc = pat_dc.expect("the patient's side got the channel");
    let pat_rx = watch(pat_dc.clone());
    (dc, pro_rx, pat_dc, pat_rx)
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn two_webrtc_peers_talk_through_atende_and_survive_an_ice_restart_and_a_reconnect() {
    let app = spawn().await;
    let c = consult_fixture(&app).await;
    let (topic, mut doctor, mut phone) = admitted(&app, &c).await;

    let (pro, _) = peer().await;
    let (pat, mut channels) = peer().await;
    let (dc, mut pro_rx, pat_dc, mut pat_rx) =
        open_channel(&topic, &mut doctor, &mut phone, &pro, &pat, &mut channels).await;
    dc.send_text("Bom dia, João. Está me ouvindo?")
        .await
        .expect("send");
    assert_eq!(
        next_text(&mut pat_rx).await,
        "Bom dia, João. Está me ouvindo?"
    );
    pat_dc.send_text("Sim, doutora!").await.expect("send");
    assert_eq!(next_text(&mut pro_rx).await, "Sim, doutora!");

    // ICE restart mid-call (new credentials, new candidates), same channel.
    pro.pc.restart_ice().await.expect("restart");
    negotiate(&topic, &mut doctor, &mut phone, &pro, &pat, true).await;
    trickle(&topic, &mut doctor, &mut phone, &pro, &pat, || true).await;
    dc.send_text("Depois do reinício de ICE")
        .await
        .expect("send");
    assert_eq!(next_text(&mut pat_rx).await, "Depois do reinício de ICE");
    pat_dc
        .send_text("Continua funcionando")
        .await
        .expect("send");
    assert_eq!(next_text(&mut pro_rx).await, "Continua funcionando");

    // The patient's WebSocket drops and comes back: same session, still in the call, and
    // signaling (another restart) still flows while the channel keeps working.
    phone.close().await;
    let mut phone = patient_ws(&app, &c.token).await;
    phone.join(&topic, None).await;
    assert_eq!(
        ok(&mut phone, &topic, "enter", json!({})).await["status"],
        "in_call"
    );
    ok(
        &mut phone,
        &topic,
        "signal",
        json!({"to": "professional", "type": "restart-request"}),
    )
    .await;
    doctor
        .push_matching("consult.signal", |p| p["type"] == "restart-request")
        .await;
    pro.pc.restart_ice().await.expect("restart");
    negotiate(&topic, &mut doctor, &mut phone, &pro, &pat, true).await;
    trickle(&topic, &mut doctor, &mut phone, &pro, &pat, || true).await;
    dc.send_text("Voltamos").await.expect("send");
    assert_eq!(next_text(&mut pat_rx).await, "Voltamos");
    pat_dc.send_text("Estou aqui").await.expect("send");
    assert_eq!(next_text(&mut pro_rx).await, "Estou aqui");
    assert!(
        pro.events
            .ice
            .lock()
            .expect("lock")
            .contains(&RTCIceConnectionState::Connected),
        "ICE connected"
    );
    ok(&mut doctor, &topic, "end", json!({})).await;
    pro.pc.close().await.ok();
    pat.pc.close().await.ok();
}

/// The TURN server the relay test uses: `TEST_TURN_URL` and `TEST_TURN_SECRET` (coturn with
/// `use-auth-secret`; `.ci/run` starts one on loopback). Under CI=true their absence fails.
fn turn_from_env() -> Option<(String, String)> {
    match (
        std::env::var("TEST_TURN_URL"),
        std::env::var("TEST_TURN_SECRET"),
    ) {
        (Ok(url), Ok(secret)) if !url.is_empty() => Some((url, secret)),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but TEST_TURN_URL / TEST_TURN_SECRET are not set (coturn)");
            }
            eprintln!("skipping: no TEST_TURN_URL (coturn) configured");
            None
        }
    }
}

/// RTCIceServers as `GET /api/consults/{id}/ice` hands them out.
fn ice_servers(body: &Value) -> Vec<RTCIceServer> {
    body["ice_servers"]
        .as_array()
        .expect("ice_servers")
        .iter()
        .map(|s| RTCIceServer {
            urls: s["urls"]
                .as_array()
                .expect("urls")
                .iter()
                .map(|u| u.as_str().expect("url").to_string())
                .collect(),
            username: s["username"].as_str().unwrap_or_default().to_string(),
            credential: s["credential"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn relay_only_ice_connects_through_coturn_with_the_credentials_atende_hands_out() {
    let Some((turn_url, secret)) = turn_from_env() else {
        return;
    };
    let app = crate::consults::spawn_with(|s| {
        s.consult.turn_urls = vec![turn_url.clone()];
        s.consult.turn_secret = atende::config::Secret::new(secret.clone());
    })
    .await;
    let c = consult_fixture(&app).await;
    let (topic, mut doctor, mut phone) = admitted(&app, &c).await;

    // Each side asks atende for its ICE servers: the professional logged in, the patient
    // with the link. Only relayed candidates are allowed.
    let (_, pro_ice) = crate::helpers::json_of(
        app.get(
            &format!("/api/consults/{}/ice", c.id),
            Some(&c.a.helena.access),
        )
        .await,
    )
    .await;
    let (_, pat_ice) = crate::helpers::json_of(
        app.get(
            &format!("/api/consults/{}/ice?token={}", c.id, c.token),
            None,
        )
        .await,
    )
    .await;
    let relay = |ice: &Value| {
        RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers(ice))
            .with_ice_transport_policy(RTCIceTransportPolicy::Relay)
            .build()
    };
    let (pro, _) = peer_with(relay(&pro_ice)).await;
    let (pat, mut channels) = peer_with(relay(&pat_ice)).await;
    let (dc, mut pro_rx, pat_dc, mut pat_rx) =
        open_channel(&topic, &mut doctor, &mut phone, &pro, &pat, &mut channels).await;
    dc.send_text("Pelo TURN").await.expect("send");
    assert_eq!(next_text(&mut pat_rx).await, "Pelo TURN");
    pat_dc.send_text("Recebido pelo TURN").await.expect("send");
    assert_eq!(next_text(&mut pro_rx).await, "Recebido pelo TURN");
    // Every candidate either side offered was a TURN relay address.
    for p in [&pro, &pat] {
        let all = p.events.gathered.lock().expect("lock").clone();
        assert!(!all.is_empty(), "no candidates gathered");
        assert!(all.iter().all(|c| c.contains(" typ relay")), "{all:?}");
    }
}
