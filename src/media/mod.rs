//! WebRTC media on the server (webrtc-rs): the pre-call check peer that reflects a patient's
//! camera and microphone and measures the connection ([`check`]), the media relay that
//! forwards each participant's tracks to the others ([`relay`]), and TURN credentials in the
//! coturn REST scheme for browsers ([`turn`]).
//!
//! Every server peer answers a browser's complete offer (no trickle: the browser gathers its
//! candidates first, the answer carries ours), over plain HTTP. Codecs are limited to Opus
//! and VP8 — every browser has them, and a relay forwards packets unchanged, so publishers
//! and subscribers must agree.

pub mod check;
pub mod relay;
pub mod turn;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateType, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
};

use crate::bus::EventBus;
use crate::config::MediaSettings;

/// Largest offer accepted (a browser's audio + video + data offer is a few KB).
pub const MAX_OFFER: usize = 64 * 1024;
/// How long the server waits for its own candidates before answering.
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

pub const OPUS: &str = "audio/opus";
pub const VP8: &str = "video/VP8";

/// Why a server peer could not be set up. `code()` is the stable error code.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("malformed offer: {0}")]
    InvalidOffer(String),
    #[error("this node holds its maximum of server peers")]
    Full,
    #[error("webrtc: {0}")]
    Webrtc(String),
}

impl MediaError {
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::InvalidOffer(_) => "invalid_sdp",
            MediaError::Full | MediaError::Webrtc(_) => "media_unavailable",
        }
    }
}

fn webrtc_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Webrtc(e.to_string())
}

/// The node's media service: settings, the live peer count, the relay rooms.
pub struct Media {
    settings: MediaSettings,
    peers: Arc<AtomicUsize>,
    pub rooms: relay::Rooms,
    /// The running pre-call check of each consult participant (one at a time).
    checks: check::Checks,
}

impl Media {
    pub fn new(settings: MediaSettings, bus: Arc<dyn EventBus>) -> Self {
        Self {
            settings,
            peers: Arc::new(AtomicUsize::new(0)),
            rooms: relay::Rooms::new(bus),
            checks: check::Checks::default(),
        }
    }

    pub fn settings(&self) -> &MediaSettings {
        &self.settings
    }

    /// Server peers open on this node now.
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::Relaxed)
    }

    /// Reserve a slot for one more server peer (released when the guard drops).
    fn reserve(&self) -> Result<PeerSlot, MediaError> {
        let n = self.peers.fetch_add(1, Ordering::AcqRel);
        if n >= self.settings.max_peers {
            self.peers.fetch_sub(1, Ordering::AcqRel);
            return Err(MediaError::Full);
        }
        metrics::gauge!("atende_media_peers").set((n + 1) as f64);
        Ok(PeerSlot(self.peers.clone()))
    }
}

/// A server peer its owner can stop: closing it also ends the task that supervises it
/// (a peer closed locally reports no state change).
pub(crate) struct Stoppable {
    pc: Arc<dyn PeerConnection>,
    stop: watch::Sender<bool>,
}

impl Stoppable {
    pub(crate) fn new(pc: Arc<dyn PeerConnection>) -> (Self, watch::Receiver<bool>) {
        let (stop, rx) = watch::channel(false);
        (Self { pc, stop }, rx)
    }

    pub(crate) async fn close(&self) {
        let _ = self.stop.send(true);
        let _ = self.pc.close().await;
    }
}

/// One server peer counted against `media.max_peers`.
pub struct PeerSlot(Arc<AtomicUsize>);

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let n = self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("atende_media_peers").set(n.saturating_sub(1) as f64);
    }
}

pub fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

pub fn vp8() -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodec {
        mime_type: VP8.to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![
            fb("goog-remb", ""),
            fb("ccm", "fir"),
            fb("nack", ""),
            fb("nack", "pli"),
        ],
    }
}

/// The codec a server peer uses for `kind`.
pub fn codec_for(kind: RtpCodecKind) -> RTCRtpCodec {
    if kind == RtpCodecKind::Audio {
        opus()
    } else {
        vp8()
    }
}

/// The codecs (Opus, VP8) and the default interceptors (NACK, RTCP reports, TWCC feedback)
/// of a peer that talks to atende's server peers — theirs, and the test clients'.
pub fn engine() -> Result<(MediaEngine, Registry), MediaError> {
    let mut engine = MediaEngine::default();
    for (codec, pt, kind) in [
        (opus(), 111, RtpCodecKind::Audio),
        (vp8(), 96, RtpCodecKind::Video),
    ] {
        engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: codec,
                    payload_type: pt,
                },
                kind,
            )
            .map_err(webrtc_err)?;
    }
    let registry =
        register_default_interceptors(Registry::new(), &mut engine).map_err(webrtc_err)?;
    Ok((engine, registry))
}

/// A local track of `kind` (Opus or VP8) with a fresh SSRC, to send RTP packets on:
/// `(track, ssrc)`. Browsers group tracks by `stream`.
pub fn local_track(
    stream: String,
    id: String,
    label: String,
    kind: RtpCodecKind,
) -> (Arc<TrackLocalStaticRTP>, u32) {
    let ssrc = rand::random::<u32>();
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        stream,
        id,
        label,
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec_for(kind),
            ..Default::default()
        }],
    )));
    (track, ssrc)
}

/// Connection-level events a server peer's owner watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerEvent {
    GatheringComplete,
    Connected,
    /// Failed or closed: the peer is gone.
    Gone,
}

/// Forwards the connection events of a peer to its owner; wraps an inner handler for the
/// rest (tracks, data channels).
struct Watch<H> {
    events: mpsc::UnboundedSender<PeerEvent>,
    inner: Arc<H>,
}

#[async_trait::async_trait]
impl<H: PeerConnectionEventHandler + Send + Sync + 'static> PeerConnectionEventHandler
    for Watch<H>
{
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.events.send(PeerEvent::GatheringComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let ev = match state {
            RTCPeerConnectionState::Connected => PeerEvent::Connected,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => PeerEvent::Gone,
            _ => return,
        };
        let _ = self.events.send(ev);
    }

    async fn on_track(&self, track: Arc<dyn webrtc::media_stream::track_remote::TrackRemote>) {
        self.inner.on_track(track).await;
    }

    async fn on_data_channel(&self, dc: Arc<dyn webrtc::data_channel::DataChannel>) {
        self.inner.on_data_channel(dc).await;
    }
}

/// A server peer that answered an offer.
pub struct Answered {
    pub pc: Arc<dyn PeerConnection>,
    pub answer: String,
    /// Connection events after the answer (Connected, Gone).
    pub events: mpsc::UnboundedReceiver<PeerEvent>,
    pub slot: PeerSlot,
}

/// The offer as a session description, after a cheap shape check.
fn parse_offer(sdp: &str) -> Result<RTCSessionDescription, MediaError> {
    if sdp.len() > MAX_OFFER || !sdp.starts_with("v=0") || !sdp.contains("\nm=") {
        return Err(MediaError::InvalidOffer("not an SDP offer".into()));
    }
    RTCSessionDescription::offer(sdp.to_owned())
        .map_err(|e| MediaError::InvalidOffer(e.to_string()))
}

impl Media {
    /// Build a server peer with `handler` for its tracks and data channels, let `prepare`
    /// add local tracks or transceivers, answer `offer` and wait (briefly) for our
    /// candidates so the answer carries them.
    pub(crate) async fn answer<H, F, Fut>(
        &self,
        offer: &str,
        handler: Arc<H>,
        prepare: F,
    ) -> Result<Answered, MediaError>
    where
        H: PeerConnectionEventHandler + Send + Sync + 'static,
        F: FnOnce(Arc<dyn PeerConnection>) -> Fut,
        Fut: std::future::Future<Output = Result<(), MediaError>>,
    {
        let offer = parse_offer(offer)?;
        let slot = self.reserve()?;
        let (engine, registry) = engine()?;
        let mut settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled);
        if !self.settings.nat_1to1_ips.is_empty() {
            settings = settings.with_nat_1to1_ips(
                self.settings.nat_1to1_ips.clone(),
                RTCIceCandidateType::Host,
            );
        }
        let (tx, mut events) = mpsc::unbounded_channel();
        let watch = Arc::new(Watch {
            events: tx,
            inner: handler,
        });
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(RTCConfigurationBuilder::new().build())
                .with_media_engine(engine)
                .with_interceptor_registry(registry)
                .with_setting_engine(settings.build())
                .with_handler(watch as Arc<dyn PeerConnectionEventHandler>)
                .with_udp_addrs(self.settings.udp_addrs.clone())
                .build()
                .await
                .map_err(webrtc_err)?,
        );
        let set_up = async {
            prepare(pc.clone()).await?;
            pc.set_remote_description(offer)
                .await
                .map_err(|e| MediaError::InvalidOffer(e.to_string()))?;
            let answer = pc.create_answer(None).await.map_err(webrtc_err)?;
            pc.set_local_description(answer).await.map_err(webrtc_err)?;
            let gathered = async {
                while let Some(ev) = events.recv().await {
                    if ev == PeerEvent::GatheringComplete {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered).await;
            pc.local_description()
                .await
                .map(|d| d.sdp)
                .ok_or_else(|| MediaError::Webrtc("no local description".into()))
        };
        match set_up.await {
            Ok(answer) => Ok(Answered {
                pc,
                answer,
                events,
                slot,
            }),
            Err(e) => {
                let _ = pc.close().await;
                Err(e)
            }
        }
    }
}

/// A handler with nothing to do beyond the connection events.
pub(crate) struct NoHandler;

#[async_trait::async_trait]
impl PeerConnectionEventHandler for NoHandler {}
