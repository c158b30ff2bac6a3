//! The media relay (a small SFU): each participant of a teleconsultation publishes its
//! audio and video to this node once, and subscribes once per other publisher; the relay
//! forwards RTP packets unchanged (one task per subscriber and kind, fed by a broadcast
//! channel per published track). A third participant — an interpreter or a family member
//! the professional invited — is just one more publisher.
//!
//! Rooms live in this node's memory: in a multi-node deployment every participant of a
//! relayed call must reach the same node for `/media/*` (route by the consult id; see
//! docs/operations.md). The publisher list is pushed on the `consult:<id>` topic as
//! `consult.media` so every participant knows whom to subscribe to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde_json::json;
use tokio::sync::broadcast;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::PeerConnectionEventHandler;

use super::{Media, MediaError, NoHandler, PeerEvent, Stoppable, local_track, webrtc_err};
use crate::actors::protocol::Topic;
use crate::bus::{EventBus, TopicEvent};
use crate::sync::lock;

/// Packets buffered per published track for a slow subscriber before it skips ahead.
const FANOUT_BUFFER: usize = 128;
/// Keyframe requests to publishers, besides the one sent when a subscriber connects.
const PLI_EVERY: Duration = Duration::from_secs(3);

/// Who publishes, as the participants see them.
#[derive(Debug, Clone)]
pub struct Participant {
    /// One publication per participant: `professional`, `patient` or `guest:<id>`.
    pub key: String,
    /// `professional`, `patient` or `guest`.
    pub role: &'static str,
    pub name: String,
}

/// Why a relay request failed, beyond peer set-up.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("no such publisher")]
    UnknownPublisher,
    #[error("a participant does not subscribe to their own publication")]
    OwnPublication,
}

/// A subscriber's server peer, and whose it is.
struct Subscription {
    key: String,
    peer: Stoppable,
}

struct Publisher {
    id: uuid::Uuid,
    who: Participant,
    peer: Stoppable,
    audio: broadcast::Sender<rtp::Packet>,
    video: broadcast::Sender<rtp::Packet>,
    video_in: Arc<Mutex<Option<Arc<dyn TrackRemote>>>>,
    subscribers: Mutex<Vec<Arc<Subscription>>>,
}

impl Publisher {
    /// Ask the publisher's browser for a keyframe (a new subscriber cannot decode before one).
    async fn request_keyframe(&self) {
        request_keyframe(&self.video_in).await;
    }

    async fn close(&self) {
        let subs: Vec<_> = std::mem::take(&mut *lock(&self.subscribers));
        for sub in subs {
            sub.peer.close().await;
        }
        self.peer.close().await;
    }
}

async fn request_keyframe(video_in: &Mutex<Option<Arc<dyn TrackRemote>>>) {
    let track = lock(video_in).clone();
    if let Some(track) = track
        && let Some(ssrc) = track.ssrcs().await.first().copied()
    {
        let _ = track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            })])
            .await;
    }
}

/// Forwards what a publisher's browser sends into the track's broadcast channel.
struct Ingest {
    audio: broadcast::Sender<rtp::Packet>,
    video: broadcast::Sender<rtp::Packet>,
    video_in: Arc<Mutex<Option<Arc<dyn TrackRemote>>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Ingest {
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let tx = if kind == RtpCodecKind::Audio {
            self.audio.clone()
        } else {
            *lock(&self.video_in) = Some(track.clone());
            self.video.clone()
        };
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = ev {
                    metrics::counter!("atende_relay_bytes_in_total")
                        .increment(packet.payload.len() as u64 + 12);
                    // No subscriber yet is fine: the packet is dropped.
                    let _ = tx.send(packet);
                }
            }
        });
    }
}

/// One publication on the relay, as participants see it (HTTP and `consult.media` pushes).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublisherView {
    /// What a subscriber asks for (and the stream id of what it receives).
    pub publisher_id: uuid::Uuid,
    /// `professional`, `patient` or `guest`.
    pub role: String,
    pub name: String,
}

/// This node's relayed calls.
pub struct Rooms {
    bus: Arc<dyn EventBus>,
    rooms: Mutex<HashMap<uuid::Uuid, HashMap<String, Arc<Publisher>>>>,
}

impl Rooms {
    pub fn new(bus: Arc<dyn EventBus>) -> Self {
        Self {
            bus,
            rooms: Mutex::default(),
        }
    }

    /// The publishers of a call, by role, then name.
    pub fn publishers(&self, consult: uuid::Uuid) -> Vec<PublisherView> {
        let rooms = lock(&self.rooms);
        let mut list: Vec<(&'static str, String, uuid::Uuid)> = rooms
            .get(&consult)
            .map(|r| {
                r.values()
                    .map(|p| (p.who.role, p.who.name.clone(), p.id))
                    .collect()
            })
            .unwrap_or_default();
        list.sort();
        list.into_iter()
            .map(|(role, name, publisher_id)| PublisherView {
                publisher_id,
                role: role.to_string(),
                name,
            })
            .collect()
    }

    fn announce(&self, consult: uuid::Uuid) {
        self.bus.publish(TopicEvent {
            topic: Topic::Consult(consult).to_string(),
            event: "consult.media".into(),
            seq: None,
            payload: json!({"publishers": self.publishers(consult)}),
        });
    }

    /// Take a publisher out of its room if it is still the one with this id.
    fn remove(&self, consult: uuid::Uuid, id: uuid::Uuid) -> Option<Arc<Publisher>> {
        let mut rooms = lock(&self.rooms);
        let room = rooms.get_mut(&consult)?;
        let key = room
            .iter()
            .find(|(_, p)| p.id == id)
            .map(|(k, _)| k.clone())?;
        let p = room.remove(&key);
        if room.is_empty() {
            rooms.remove(&consult);
        }
        p
    }

    /// Stop relaying `who`'s publication (they left the call). True if there was one.
    pub async fn unpublish(&self, consult: uuid::Uuid, who: &str) -> bool {
        let found = {
            let rooms = lock(&self.rooms);
            rooms
                .get(&consult)
                .and_then(|r| r.values().find(|p| p.who.key == who).map(|p| p.id))
        };
        let Some(id) = found else {
            return false;
        };
        if let Some(p) = self.remove(consult, id) {
            p.close().await;
            self.announce(consult);
        }
        true
    }

    /// Drop everything `who` has on a call's relay: their publication and their
    /// subscriptions to the others (their invitation was revoked).
    pub async fn leave(&self, consult: uuid::Uuid, who: &str) {
        self.unpublish(consult, who).await;
        let theirs: Vec<Arc<Subscription>> = {
            let rooms = lock(&self.rooms);
            rooms
                .get(&consult)
                .map(|room| {
                    room.values()
                        .flat_map(|p| {
                            lock(&p.subscribers)
                                .iter()
                                .filter(|s| s.key == who)
                                .cloned()
                                .collect::<Vec<_>>()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for sub in theirs {
            // Its supervising task takes it off the publisher's list.
            sub.peer.close().await;
        }
    }

    /// Close every connection of a call (it ended).
    pub async fn close_room(&self, consult: uuid::Uuid) {
        let room = lock(&self.rooms).remove(&consult);
        if let Some(room) = room {
            for p in room.into_values() {
                p.close().await;
            }
            self.announce(consult);
        }
    }
}

impl Media {
    /// Answer a participant's publish offer (send-only audio + video). A participant
    /// publishes once: publishing again (after a reload) replaces the earlier publication.
    pub async fn publish(
        self: &Arc<Self>,
        consult: uuid::Uuid,
        who: Participant,
        offer: &str,
    ) -> Result<(uuid::Uuid, String), RelayError> {
        let (audio, _) = broadcast::channel(FANOUT_BUFFER);
        let (video, _) = broadcast::channel(FANOUT_BUFFER);
        let video_in = Arc::new(Mutex::new(None));
        let handler = Arc::new(Ingest {
            audio: audio.clone(),
            video: video.clone(),
            video_in: video_in.clone(),
        });
        let answered = self
            .answer(offer, handler, |pc| async move {
                for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                    pc.add_transceiver_from_kind(
                        kind,
                        Some(RTCRtpTransceiverInit {
                            direction: RTCRtpTransceiverDirection::Recvonly,
                            ..Default::default()
                        }),
                    )
                    .await
                    .map_err(webrtc_err)?;
                }
                Ok(())
            })
            .await?;
        let (peer, mut stopped) = Stoppable::new(answered.pc.clone());
        let publisher = Arc::new(Publisher {
            id: uuid::Uuid::new_v4(),
            who,
            peer,
            audio,
            video,
            video_in,
            subscribers: Mutex::default(),
        });
        let replaced = lock(&self.rooms.rooms)
            .entry(consult)
            .or_default()
            .insert(publisher.who.key.clone(), publisher.clone());
        if let Some(old) = replaced {
            old.close().await;
        }
        self.rooms.announce(consult);
        metrics::counter!("atende_relay_publications_total").increment(1);
        let (media, id, mut events, slot) =
            (self.clone(), publisher.id, answered.events, answered.slot);
        let video_in = publisher.video_in.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut pli = tokio::time::interval(PLI_EVERY);
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Some(PeerEvent::Gone) | None => break,
                        Some(_) => {}
                    },
                    _ = pli.tick() => request_keyframe(&video_in).await,
                    _ = stopped.changed() => break,
                }
            }
            if let Some(p) = media.rooms.remove(consult, id) {
                p.close().await;
                media.rooms.announce(consult);
            }
        });
        Ok((publisher.id, answered.answer))
    }

    /// Answer a subscribe offer (receive-only audio + video) for one publisher's tracks.
    /// The tracks' stream id is the publisher id, so the browser can tell whose they are.
    pub async fn subscribe(
        &self,
        consult: uuid::Uuid,
        subscriber: &str,
        publisher_id: uuid::Uuid,
        offer: &str,
    ) -> Result<String, RelayError> {
        let publisher = lock(&self.rooms.rooms)
            .get(&consult)
            .and_then(|r| r.values().find(|p| p.id == publisher_id).cloned())
            .ok_or(RelayError::UnknownPublisher)?;
        if publisher.who.key == subscriber {
            return Err(RelayError::OwnPublication);
        }
        let mut outputs = Vec::new();
        for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
            let (track, ssrc) = local_track(
                publisher_id.to_string(),
                format!("{publisher_id}-{kind}"),
                format!("{}-{kind}", publisher.who.role),
                kind,
            );
            let rx = if kind == RtpCodecKind::Audio {
                publisher.audio.subscribe()
            } else {
                publisher.video.subscribe()
            };
            outputs.push((track, ssrc, rx));
        }
        let tracks: Vec<_> = outputs.iter().map(|(t, _, _)| t.clone()).collect();
        let answered = self
            .answer(offer, Arc::new(NoHandler), |pc| async move {
                for track in tracks {
                    pc.add_track(track as Arc<dyn TrackLocal>)
                        .await
                        .map_err(webrtc_err)?;
                }
                Ok(())
            })
            .await?;
        let (peer, mut stopped) = Stoppable::new(answered.pc.clone());
        let sub = Arc::new(Subscription {
            key: subscriber.to_owned(),
            peer,
        });
        lock(&publisher.subscribers).push(sub.clone());
        let done = Arc::new(AtomicBool::new(false));
        for (track, ssrc, mut rx) in outputs {
            let done = done.clone();
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    match rx.recv().await {
                        Ok(mut packet) => {
                            let n = packet.payload.len() as u64 + 12;
                            packet.header.ssrc = ssrc;
                            if track.write_rtp(packet).await.is_err() {
                                break;
                            }
                            metrics::counter!("atende_relay_bytes_out_total").increment(n);
                        }
                        // A slow subscriber skips what it missed (NACK/PLI repair it).
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            metrics::counter!("atende_relay_packets_skipped_total").increment(n);
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        }
        let super::Answered {
            pc,
            answer,
            mut events,
            slot,
        } = answered;
        tokio::spawn(async move {
            let _slot = slot;
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Some(PeerEvent::Connected) => publisher.request_keyframe().await,
                        Some(PeerEvent::Gone) | None => break,
                        Some(PeerEvent::GatheringComplete) => {}
                    },
                    _ = stopped.changed() => break,
                }
            }
            done.store(true, Ordering::Relaxed);
            lock(&publisher.subscribers).retain(|s| !Arc::ptr_eq(s, &sub));
            let _ = pc.close().await;
        });
        Ok(answer)
    }
}
