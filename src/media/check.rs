//! The pre-call check: a server peer that sends the patient's camera and microphone straight
//! back (so the page shows how they arrive over the internet) and measures the connection —
//! round-trip time (ping/pong over the `check` data channel), packet loss (RTP sequence
//! gaps) and the bitrate received — and reports it once a second with a plain pt-BR verdict.
//!
//! Data channel messages (JSON text): server → `{"type":"ping","id":n}`, browser →
//! `{"type":"pong","id":n}`; server → `{"type":"report","rtt_ms","loss_pct","kbps",
//! "verdict","message"}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::PeerConnectionEventHandler;

use super::{Media, MediaError, PeerEvent, Stoppable, local_track};
use crate::sync::lock;

const PING_EVERY: Duration = Duration::from_millis(500);
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Reports say `measuring` until the check has run this long and has a round trip.
const WARM_UP: Duration = Duration::from_secs(2);

/// What one check measured so far.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Measures {
    pub rtt_ms: Option<u32>,
    pub loss_pct: f64,
    pub kbps: u32,
}

/// The verdict a patient reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Measuring,
    Good,
    Weak,
    Bad,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Measuring => "measuring",
            Verdict::Good => "good",
            Verdict::Weak => "weak",
            Verdict::Bad => "bad",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Verdict::Measuring => "Testando sua conexão…",
            Verdict::Good => "Sua conexão está boa.",
            Verdict::Weak => {
                "Sua conexão está fraca: a imagem pode travar. Se puder, aproxime-se do roteador \
                 Wi-Fi ou feche outros aplicativos."
            }
            Verdict::Bad => {
                "Sua conexão está muito fraca para vídeo. Tente outra rede (Wi-Fi ou 4G); se não \
                 melhorar, a consulta pode seguir só com áudio."
            }
        }
    }
}

/// Thresholds: a video call needs a round trip under ~300 ms, little loss and a few hundred
/// kbit/s; below ~60 kbit/s even audio suffers.
pub fn verdict(m: &Measures, elapsed: Duration) -> Verdict {
    let Some(rtt) = m.rtt_ms else {
        return Verdict::Measuring;
    };
    if elapsed < WARM_UP {
        return Verdict::Measuring;
    }
    if rtt > 600 || m.loss_pct > 10.0 || m.kbps < 60 {
        Verdict::Bad
    } else if rtt > 300 || m.loss_pct > 3.0 || m.kbps < 150 {
        Verdict::Weak
    } else {
        Verdict::Good
    }
}

/// Received-packet accounting of one RTP stream (RFC 3550 style, extended sequence numbers).
#[derive(Debug, Default)]
struct StreamStats {
    base: Option<u64>,
    highest: u64,
    cycles: u64,
    last_seq: u16,
    received: u64,
}

impl StreamStats {
    fn packet(&mut self, seq: u16) {
        self.received += 1;
        match self.base {
            None => {
                self.base = Some(u64::from(seq));
                self.highest = u64::from(seq);
                self.last_seq = seq;
            }
            Some(_) => {
                let ext = if seq < self.last_seq && self.last_seq - seq > 0x8000 {
                    // A wrap: from near 65535 on to near 0.
                    self.cycles + (1 << 16) + u64::from(seq)
                } else if seq > self.last_seq && seq - self.last_seq > 0x8000 {
                    // A late packet from before the last wrap.
                    (self.cycles + u64::from(seq)).saturating_sub(1 << 16)
                } else {
                    self.cycles + u64::from(seq)
                };
                if ext > self.highest {
                    self.highest = ext;
                    self.cycles = ext & !0xffff;
                    self.last_seq = seq;
                }
            }
        }
    }

    fn expected(&self) -> u64 {
        self.base.map_or(0, |b| self.highest.saturating_sub(b) + 1)
    }
}

#[derive(Default)]
struct Meter {
    streams: HashMap<u32, StreamStats>,
    /// Bytes received in the current report window.
    window_bytes: u64,
    kbps: u32,
    rtts: Vec<u32>,
    pings: HashMap<u64, Instant>,
}

impl Meter {
    fn measures(&self) -> Measures {
        let (expected, received) = self
            .streams
            .values()
            .fold((0, 0), |(e, r), s| (e + s.expected(), r + s.received));
        let loss_pct = if expected == 0 {
            0.0
        } else {
            (expected.saturating_sub(received) as f64 * 100.0 / expected as f64).min(100.0)
        };
        let mut recent: Vec<u32> = self.rtts.iter().rev().take(5).copied().collect();
        recent.sort_unstable();
        Measures {
            rtt_ms: recent.get(recent.len() / 2).copied(),
            loss_pct: (loss_pct * 10.0).round() / 10.0,
            kbps: self.kbps,
        }
    }
}

struct Reflector {
    meter: Arc<Mutex<Meter>>,
    /// The local track per kind that sends each received track back.
    outputs: HashMap<RtpCodecKind, Arc<TrackLocalStaticRTP>>,
    started: Instant,
    max: Duration,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Reflector {
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let Some(output) = self.outputs.get(&kind).cloned() else {
            return;
        };
        let meter = self.meter.clone();
        tokio::spawn(async move {
            let ssrc = output.ssrcs().await.first().copied().unwrap_or_default();
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(mut packet) = ev {
                    {
                        let mut m = lock(&meter);
                        m.window_bytes += (packet.payload.len() + 12) as u64;
                        m.streams
                            .entry(packet.header.ssrc)
                            .or_default()
                            .packet(packet.header.sequence_number);
                    }
                    packet.header.ssrc = ssrc;
                    if output.write_rtp(packet).await.is_err() {
                        break;
                    }
                }
            }
        });
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        if dc.label().await.ok().as_deref() != Some("check") {
            return;
        }
        let (meter, started, max) = (self.meter.clone(), self.started, self.max);
        tokio::spawn(async move { run_channel(dc, meter, started, max).await });
    }
}

/// Ping, listen for pongs, and report once a second until the channel closes or time is up.
async fn run_channel(
    dc: Arc<dyn DataChannel>,
    meter: Arc<Mutex<Meter>>,
    started: Instant,
    max: Duration,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut report = tokio::time::interval(REPORT_EVERY);
    let mut next_id: u64 = 0;
    let mut open = false;
    let deadline = tokio::time::sleep(max.saturating_sub(started.elapsed()));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ev = dc.poll() => match ev {
                Some(DataChannelEvent::OnOpen) => open = true,
                Some(DataChannelEvent::OnMessage(msg)) => {
                    let v: Value = serde_json::from_slice(&msg.data).unwrap_or(Value::Null);
                    if v["type"] == "pong"
                        && let Some(id) = v["id"].as_u64()
                    {
                        let mut m = lock(&meter);
                        if let Some(sent) = m.pings.remove(&id) {
                            let rtt = sent.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
                            m.rtts.push(rtt);
                            if m.rtts.len() > 50 {
                                m.rtts.remove(0);
                            }
                        }
                    }
                }
                Some(DataChannelEvent::OnClose) | None => break,
                Some(_) => {}
            },
            _ = ping.tick(), if open => {
                next_id += 1;
                {
                    let mut m = lock(&meter);
                    // Unanswered pings older than 10 s are lost for good.
                    m.pings.retain(|_, t| t.elapsed() < Duration::from_secs(10));
                    m.pings.insert(next_id, Instant::now());
                }
                if dc.send_text(&json!({"type": "ping", "id": next_id}).to_string()).await.is_err() {
                    break;
                }
            },
            _ = report.tick(), if open => {
                let measures = {
                    let mut m = lock(&meter);
                    m.kbps = (m.window_bytes * 8 / 1000) as u32;
                    m.window_bytes = 0;
                    m.measures()
                };
                let v = verdict(&measures, started.elapsed());
                let msg = json!({
                    "type": "report",
                    "rtt_ms": measures.rtt_ms,
                    "loss_pct": measures.loss_pct,
                    "kbps": measures.kbps,
                    "verdict": v.as_str(),
                    "message": v.message(),
                });
                if dc.send_text(&msg.to_string()).await.is_err() {
                    break;
                }
            },
            () = &mut deadline => break,
        }
    }
}

/// The running check of each participant (`<consult>/<participant key>`): a new check
/// replaces the earlier one, so one link holds at most one check peer.
pub(crate) type Checks = Arc<Mutex<HashMap<String, Arc<Stoppable>>>>;

fn check_key(consult: uuid::Uuid, participant: &str) -> String {
    format!("{consult}/{participant}")
}

impl Media {
    /// Answer a pre-call check offer (audio and/or video, plus a `check` data channel) for
    /// a participant of a consult (its relay key, `consult::participant_key`). The peer lives
    /// until the browser leaves, `media.check_max_secs` passes, or the same participant
    /// starts another check (a reload, a second tab).
    pub async fn check(
        &self,
        consult: uuid::Uuid,
        participant: &str,
        offer: &str,
    ) -> Result<String, MediaError> {
        let who = check_key(consult, participant);
        let mut outputs = HashMap::new();
        for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
            let (track, _) = local_track(
                "atende-check".into(),
                format!("atende-check-{kind}"),
                format!("reflexo-{kind}"),
                kind,
            );
            outputs.insert(kind, track);
        }
        let max = Duration::from_secs(self.settings.check_max_secs);
        let handler = Arc::new(Reflector {
            meter: Arc::default(),
            outputs: outputs.clone(),
            started: Instant::now(),
            max,
        });
        let answered = self
            .answer(offer, handler, |pc| async move {
                for track in outputs.into_values() {
                    pc.add_track(track as Arc<dyn TrackLocal>)
                        .await
                        .map_err(super::webrtc_err)?;
                }
                Ok(())
            })
            .await?;
        metrics::counter!("atende_media_checks_total").increment(1);
        let super::Answered {
            pc,
            answer,
            mut events,
            slot,
        } = answered;
        let (peer, mut stopped) = Stoppable::new(pc.clone());
        let peer = Arc::new(peer);
        let earlier = lock(&self.checks).insert(who.clone(), peer.clone());
        if let Some(earlier) = earlier {
            earlier.close().await;
        }
        let checks = self.checks.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let gone = async {
                loop {
                    tokio::select! {
                        ev = events.recv() => match ev {
                            Some(PeerEvent::Gone) | None => return,
                            Some(_) => {}
                        },
                        _ = stopped.changed() => return,
                    }
                }
            };
            let _ = tokio::time::timeout(max, gone).await;
            {
                let mut checks = lock(&checks);
                if checks.get(&who).is_some_and(|p| Arc::ptr_eq(p, &peer)) {
                    checks.remove(&who);
                }
            }
            let _ = pc.close().await;
        });
        Ok(answer)
    }

    /// Close a participant's running check, if any (their invitation was revoked).
    pub async fn stop_check(&self, consult: uuid::Uuid, participant: &str) {
        let running = lock(&self.checks).remove(&check_key(consult, participant));
        if let Some(peer) = running {
            peer.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rtt: Option<u32>, loss: f64, kbps: u32) -> Measures {
        Measures {
            rtt_ms: rtt,
            loss_pct: loss,
            kbps,
        }
    }

    #[test]
    fn verdicts() {
        let t = Duration::from_secs(5);
        assert_eq!(verdict(&m(Some(40), 0.0, 900), t), Verdict::Good);
        assert_eq!(
            verdict(&m(Some(40), 0.0, 900), Duration::from_secs(1)),
            Verdict::Measuring
        );
        assert_eq!(verdict(&m(None, 0.0, 900), t), Verdict::Measuring);
        assert_eq!(verdict(&m(Some(350), 0.0, 900), t), Verdict::Weak);
        assert_eq!(verdict(&m(Some(40), 5.0, 900), t), Verdict::Weak);
        assert_eq!(verdict(&m(Some(40), 0.0, 100), t), Verdict::Weak);
        assert_eq!(verdict(&m(Some(700), 0.0, 900), t), Verdict::Bad);
        assert_eq!(verdict(&m(Some(40), 12.0, 900), t), Verdict::Bad);
        assert_eq!(verdict(&m(Some(40), 0.0, 30), t), Verdict::Bad);
        assert!(Verdict::Good.message().contains("boa"));
        assert!(Verdict::Weak.message().contains("fraca"));
    }

    #[test]
    fn loss_counts_gaps_across_the_sequence_wrap() {
        let mut s = StreamStats::default();
        for seq in [65530u16, 65531, 65533, 65535, 0, 65534, 1, 3] {
            s.packet(seq);
        }
        // 65530..=65535 and 0..=3: 10 expected, 8 received.
        assert_eq!(s.expected(), 10);
        assert_eq!(s.received, 8);
        let mut meter = Meter::default();
        meter.streams.insert(1, s);
        meter.rtts = vec![30, 50, 40];
        let got = meter.measures();
        assert_eq!(got.loss_pct, 20.0);
        assert_eq!(got.rtt_ms, Some(40));
    }

    #[test]
    fn a_reordered_packet_is_not_loss() {
        let mut s = StreamStats::default();
        for seq in [10u16, 12, 11, 13] {
            s.packet(seq);
        }
        assert_eq!(s.expected(), 4);
        assert_eq!(s.received, 4);
    }
}
