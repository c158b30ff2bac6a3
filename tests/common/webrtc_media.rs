//! A WebRTC client that stands in for a browser in the tests and the load generator
//! (webrtc-rs with Opus and VP8 on loopback): it sends fake video, receives what a server
//! peer sends, and offers/answers like a page that does not trickle.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};

/// What a test peer saw: gathering done, connected, bytes of media received.
pub struct Seen {
    gathered: AtomicBool,
    connected: AtomicBool,
    media_bytes: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Seen {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.store(true, Ordering::SeqCst);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            self.connected.store(true, Ordering::SeqCst);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let bytes = self.media_bytes.clone();
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                    bytes.fetch_add(p.payload.len() as u64, Ordering::SeqCst);
                }
            }
        });
    }
}

/// A browser stand-in with Opus and VP8, on loopback.
pub struct Client {
    pub pc: Arc<dyn PeerConnection>,
    pub seen: Arc<Seen>,
}

pub async fn client() -> Client {
    let (engine, registry) = atende::media::engine().expect("media engine");
    let seen = Arc::new(Seen {
        gathered: AtomicBool::new(false),
        connected: AtomicBool::new(false),
        media_bytes: Arc::default(),
    });
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .with_setting_engine(
            SettingEngineBuilder::new()
                .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                .build(),
        )
        .with_handler(seen.clone() as Arc<dyn PeerConnectionEventHandler>)
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .expect("peer connection");
    Client {
        pc: Arc::new(pc),
        seen,
    }
}

impl Client {
    /// A video track this client sends (fake VP8 payloads; the server never decodes).
    pub async fn send_video(&self) -> (Arc<TrackLocalStaticRTP>, u32) {
        let (track, ssrc) = atende::media::local_track(
            "test".into(),
            "test-video".into(),
            "camera".into(),
            RtpCodecKind::Video,
        );
        self.pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .expect("add track");
        (track, ssrc)
    }

    pub async fn receive_only(&self) {
        for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
            self.pc
                .add_transceiver_from_kind(
                    kind,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .expect("transceiver");
        }
    }

    /// Our complete offer (candidates gathered).
    pub async fn offer(&self) -> String {
        let offer = self.pc.create_offer(None).await.expect("offer");
        self.pc.set_local_description(offer).await.expect("local");
        let wait = async {
            while !self.seen.gathered.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("gathering completes");
        self.pc
            .local_description()
            .await
            .expect("local description")
            .sdp
    }

    pub async fn accept(&self, answer: &str) {
        self.pc
            .set_remote_description(
                RTCSessionDescription::answer(answer.to_string()).expect("answer"),
            )
            .await
            .expect("remote description");
    }

    pub async fn wait_connected(&self) {
        for _ in 0..200 {
            if self.seen.connected.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server peer never connected");
    }

    pub fn received(&self) -> u64 {
        self.seen.media_bytes.load(Ordering::SeqCst)
    }

    /// Wait until more than `bytes` of media arrived (panics after 15 s).
    pub async fn receives_more_than(&self, bytes: u64) {
        for _ in 0..300 {
            if self.received() > bytes {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("only {} bytes of media arrived", self.received());
    }
}

/// Send ~400 kbit/s of fake video (1,000-byte packets every 20 ms) until the task is dropped.
pub fn pump(track: Arc<TrackLocalStaticRTP>, ssrc: u32) -> tokio::task::JoinHandle<()> {
    pump_at(track, ssrc, 1000)
}

/// Send `payload`-byte packets of fake video every 20 ms (50 packets/s).
pub fn pump_at(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload: usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seq: u16 = rand::random();
        let mut ts: u32 = rand::random();
        let mut every = tokio::time::interval(Duration::from_millis(20));
        loop {
            every.tick().await;
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(1800);
            let mut payload = vec![0u8; payload];
            payload[0] = 0x10;
            let packet = rtp::Packet {
                header: rtp::header::Header {
                    version: 2,
                    marker: true,
                    payload_type: 96,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc,
                    ..Default::default()
                },
                payload: Bytes::from(payload),
            };
            let _ = track.write_rtp(packet).await;
        }
    })
}
