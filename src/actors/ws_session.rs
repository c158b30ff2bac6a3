//! One actor per WebSocket connection, carrying many topics.
//!
//! Incoming frames arrive as a stream on the actor; outgoing frames go through a bounded
//! queue to a writer task that owns the socket. A client that does not read fills the
//! queue and is dropped as a slow consumer: memory per connection stays bounded.
//!
//! Per topic the session remembers the last seq it delivered. Pushes arrive from the hub
//! in bus order; a duplicate is dropped, a gap is filled from the database before anything
//! after it is delivered. So a client sees every persisted event of a topic exactly once,
//! in seq order, whichever node published it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web;
use actix_ws::{CloseCode, CloseReason, Message, ProtocolError};
use bytestring::ByteString;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::chat::{DeleteMessage, EditMessage, PostMessage, is_member};
pub use super::hub::Outgoing;
use super::hub::{
    CloseSession, ConnId, Cursor, Deliver, Overflow, PRESENCE_JOIN, PRESENCE_LEAVE, PresenceEntry,
    SharedCursor, Subscriber,
};
use super::protocol::{ClientFrame, SYSTEM_TOPIC, Topic, WsError, close, reply_error, reply_ok};
use crate::bus::TopicEvent;
use crate::domain::{ClinicId, Role, SessionId, UserId};
use crate::error::AppError;
use crate::http::extract::{Auth, authenticate, load_auth};
use crate::state::AppState;
use crate::sync::lock;

/// Internal hub topic `session:<id>`: a `session.revoked` event on it closes every
/// connection opened with that login session, on every node. Clients cannot join it.
pub const SESSION_TOPIC_PREFIX: &str = "session:";

/// Tell every node to drop the WebSocket connections of a revoked login session.
pub fn publish_session_revoked(bus: &dyn crate::bus::EventBus, session: SessionId) {
    publish_revoked(bus, &session.to_string());
}

/// The same for a replaced TV panel secret (by its hash): panels showing the old link
/// are disconnected and cannot rejoin.
pub fn publish_panel_revoked(bus: &dyn crate::bus::EventBus, token_hash: &str) {
    publish_revoked(bus, &format!("panel-{token_hash}"));
}

/// The same for a teleconsultation guest whose invitation was taken back.
pub fn publish_consult_guest_revoked(bus: &dyn crate::bus::EventBus, guest: uuid::Uuid) {
    publish_revoked(bus, &consult_guest_key(guest));
}

fn consult_guest_key(guest: uuid::Uuid) -> String {
    format!("consult-guest-{guest}")
}

fn publish_revoked(bus: &dyn crate::bus::EventBus, key: &str) {
    bus.publish(TopicEvent {
        topic: format!("{SESSION_TOPIC_PREFIX}{key}"),
        event: "session.revoked".into(),
        seq: None,
        payload: Value::Null,
    });
}

/// A connection without a user account, authenticated by a capability: a clinic's TV panel
/// (its secret) or a patient following their ticket (a signed tracker link). Guests may only
/// join their clinic's redacted `clinic:<id>:panel` topic, and send nothing else.
#[derive(Debug, Clone)]
pub enum Guest {
    Panel {
        clinic: ClinicId,
        token_hash: String,
    },
    Tracker {
        clinic: ClinicId,
        entry: uuid::Uuid,
    },
    /// Anyone (a public booking page): only `clinic:<id>:slots` topics.
    Anonymous,
    /// A patient entering a teleconsultation from its signed link (or a third participant
    /// from the link the professional gave them): only `consult:<id>`, where the patient may
    /// also signal, and both may chat.
    Consult {
        appointment: uuid::Uuid,
        /// The patient's first name, or the guest's name, for the room's presence.
        name: String,
        /// The invited guest's id; `None` for the patient.
        guest: Option<uuid::Uuid>,
    },
}

impl Guest {
    pub fn clinic(&self) -> Option<ClinicId> {
        match self {
            Guest::Panel { clinic, .. } | Guest::Tracker { clinic, .. } => Some(*clinic),
            Guest::Anonymous | Guest::Consult { .. } => None,
        }
    }
}

/// Link purpose of a queue tracker (a patient's place in line on their phone).
pub const TRACKER_PURPOSE: &str = "queue-tracker";

/// Resolve a guest credential: `panel` (the TV panel secret) or `tracker` (a signed link).
pub async fn guest_from(
    state: &AppState,
    panel: Option<&str>,
    tracker: Option<&str>,
) -> Result<Guest, WsError> {
    let invalid = || WsError::new("invalid_token", "link inválido ou expirado");
    if let Some(token) = panel {
        let token_hash = crate::security::tokens::token_hash(token);
        let clinic = state
            .store
            .clinic_by_panel_hash(&token_hash)
            .await?
            .ok_or_else(invalid)?;
        return Ok(Guest::Panel { clinic, token_hash });
    }
    if let Some(token) = tracker {
        let (entry, _) = state
            .links
            .verify(TRACKER_PURPOSE, token, chrono::Utc::now().timestamp())
            .map_err(|_| invalid())?;
        let row = state.store.queue_entry(entry).await?.ok_or_else(invalid)?;
        return Ok(Guest::Tracker {
            clinic: row.clinic_id,
            entry,
        });
    }
    Err(invalid())
}

/// May this guest (still) join this topic?
async fn authorize_guest(
    state: &AppState,
    guest: &Guest,
    topic: &Topic,
) -> Result<&'static str, WsError> {
    if let Topic::ClinicSlots(_) = topic {
        return Ok("public");
    }
    if let (
        Topic::Consult(id),
        Guest::Consult {
            appointment,
            guest: invited,
            ..
        },
    ) = (topic, guest)
    {
        if id != appointment {
            return Err(WsError::forbidden());
        }
        // Re-checked at every (re)join: a cancelled or moved appointment, or a revoked
        // invitation, closes the door.
        super::consult::open_appointment(&state.store, *id).await?;
        if let Some(invited) = invited {
            crate::http::consults::current_invitation(state, *invited).await?;
        }
        return Ok(if invited.is_some() {
            "guest"
        } else {
            "patient"
        });
    }
    let Topic::ClinicPanel(c) = topic else {
        return Err(WsError::forbidden());
    };
    if Some(*c) != guest.clinic() {
        return Err(WsError::forbidden());
    }
    // Re-check the credential: a replaced panel secret or a removed entry cuts access.
    let still = match guest {
        Guest::Panel { token_hash, .. } => {
            state.store.clinic_by_panel_hash(token_hash).await? == Some(*c)
        }
        Guest::Tracker { entry, .. } => state.store.queue_entry(*entry).await?.is_some(),
        Guest::Anonymous | Guest::Consult { .. } => false,
    };
    if !still {
        return Err(WsError::new("invalid_token", "link inválido ou expirado"));
    }
    Ok(match guest {
        Guest::Panel { .. } => "panel",
        _ => "patient",
    })
}

/// Per joined topic.
struct Joined {
    topic: Topic,
    /// Last seq delivered and pushes waiting during catch-up (shared with the hub).
    cursor: SharedCursor,
    /// Whether this connection's presence was announced (the join completed).
    announced: bool,
    /// How the user appears in this topic's presence (`professional`, `patient`, …).
    role: &'static str,
}

/// A simple token bucket for incoming frames.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub struct WsSession {
    conn: ConnId,
    state: web::Data<AppState>,
    ip: Option<String>,
    /// Who is connected, once authenticated (ticket or `auth` frame).
    user: Option<(UserId, SessionId, String)>,
    /// Or who is connected without an account.
    guest: Option<Guest>,
    out: mpsc::Sender<Outgoing>,
    close_tx: Option<oneshot::Sender<CloseReason>>,
    topics: HashMap<Arc<str>, Joined>,
    /// Topics whose join is being authorized.
    joining: std::collections::HashSet<String>,
    last_heard: Instant,
    bucket: Bucket,
    over_limit: u32,
}

impl WsSession {
    /// Start a session for an upgraded connection. `user` is set when a ticket already
    /// authenticated it.
    pub fn start(
        state: web::Data<AppState>,
        ip: Option<String>,
        user: Option<(UserId, SessionId, String)>,
        ws: actix_ws::Session,
        stream: actix_ws::MessageStream,
    ) {
        let rt = &state.settings.realtime;
        let (out, out_rx) = mpsc::channel(rt.outbound_buffer);
        let (close_tx, close_rx) = oneshot::channel();
        actix_web::rt::spawn(writer(ws, out_rx, close_rx));
        let bucket = Bucket {
            tokens: f64::from(rt.rate_burst),
            rate: f64::from(rt.rate_per_sec),
            burst: f64::from(rt.rate_burst),
            at: Instant::now(),
        };
        let stream = stream.max_frame_size(rt.max_frame_bytes);
        WsSession::create(move |ctx| {
            ctx.add_stream(stream);
            WsSession {
                conn: 0,
                state,
                ip,
                user,
                guest: None,
                out,
                close_tx: Some(close_tx),
                topics: HashMap::new(),
                joining: std::collections::HashSet::new(),
                last_heard: Instant::now(),
                bucket,
                over_limit: 0,
            }
        });
    }

    fn watch_session(&mut self, ctx: &mut Context<Self>, session: SessionId) {
        self.watch_revocation(ctx, &session.to_string());
    }

    fn watch_revocation(&mut self, ctx: &mut Context<Self>, key: &str) {
        let topic: Arc<str> = Arc::from(format!("{SESSION_TOPIC_PREFIX}{key}"));
        let sub = self.subscriber(ctx, Arc::default(), false);
        self.state.hub.subscribe(topic, self.conn, sub);
    }

    fn subscriber(
        &self,
        ctx: &mut Context<Self>,
        cursor: SharedCursor,
        direct: bool,
    ) -> Subscriber {
        Subscriber {
            cursor,
            out: self.out.clone(),
            actor: ctx.address().recipient(),
            overflow: ctx.address().recipient(),
            direct,
        }
    }

    fn send(&mut self, ctx: &mut Context<Self>, frame: ByteString) {
        match self.out.try_send(Outgoing::Text(frame)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("atende_ws_slow_consumers_total").increment(1);
                self.close(ctx, close::POLICY, "slow consumer");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    fn reply(
        &mut self,
        ctx: &mut Context<Self>,
        reference: &Value,
        topic: &str,
        result: Result<Value, WsError>,
    ) {
        let text = match result {
            Ok(v) => reply_ok(reference, topic, v),
            Err(e) => reply_error(reference, topic, &e),
        };
        self.send(ctx, ByteString::from(text));
    }

    /// Send a close frame with `code` and stop.
    fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &str) {
        if let Some(tx) = self.close_tx.take() {
            let _ = tx.send(CloseReason {
                code: CloseCode::from(code),
                description: Some(reason.to_string()),
            });
        }
        ctx.stop();
    }

    /// Who this connection is in presence: its user, or — for a patient who entered a
    /// teleconsultation by link — a stand-in id (the appointment's) and their first name.
    fn presence_identity(&self) -> Option<(UserId, String)> {
        match (&self.user, &self.guest) {
            (Some((user_id, _, name)), _) => Some((*user_id, name.clone())),
            (
                None,
                Some(Guest::Consult {
                    appointment,
                    name,
                    guest,
                }),
            ) => Some((UserId(guest.unwrap_or(*appointment)), name.clone())),
            _ => None,
        }
    }

    fn presence_entry(&self, topic: &Topic, role: &str) -> Option<PresenceEntry> {
        let (user_id, name) = self.presence_identity()?;
        let user_id = &user_id;
        // No presence on private or public topics: panels must not list staff names.
        if let Topic::User(_) | Topic::ClinicPanel(_) | Topic::ClinicSlots(_) = topic {
            return None;
        }
        Some(PresenceEntry {
            key: format!("{}:{}", self.state.hub.node_id(), user_id),
            user_id: *user_id,
            name: name.clone(),
            role: role.to_string(),
        })
    }

    /// Announce arrival (first connection of this user on the topic, on this node) or
    /// departure (last one).
    fn publish_presence(&self, topic: &Topic, role: &str, event: &str) {
        let Some((user_id, _)) = self.presence_identity() else {
            return;
        };
        let user_id = &user_id;
        if let Topic::ClinicPanel(_) | Topic::ClinicSlots(_) = topic {
            return;
        }
        let name = topic.to_string();
        let changed = if event == PRESENCE_JOIN {
            self.state.hub.presence_local_join(&name, *user_id)
        } else {
            self.state.hub.presence_local_leave(&name, *user_id)
        };
        if !changed {
            return;
        }
        if let Some(entry) = self.presence_entry(topic, role) {
            self.state.bus.publish(TopicEvent {
                topic: topic.to_string(),
                event: event.to_string(),
                seq: None,
                payload: serde_json::to_value(entry).unwrap_or(Value::Null),
            });
        }
    }

    /// Spend a token for an incoming frame; false (and maybe an error reply or a close)
    /// when the client is over its rate.
    fn within_rate(&mut self, ctx: &mut Context<Self>) -> bool {
        if !self.bucket.take() {
            self.over_limit += 1;
            let burst = self.state.settings.realtime.rate_burst;
            if self.over_limit > burst.saturating_mul(5) {
                metrics::counter!("atende_ws_flood_disconnects_total").increment(1);
                self.close(ctx, close::POLICY, "flood");
            } else if self.over_limit == 1 || self.over_limit.is_multiple_of(20) {
                let err = WsError::new("rate_limited", "muitas mensagens; diminua o ritmo");
                self.reply(ctx, &Value::Null, SYSTEM_TOPIC, Err(err));
            }
            return false;
        }
        self.over_limit = 0;
        true
    }

    fn handle_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let frame: ClientFrame = match serde_json::from_str::<Value>(text) {
            Err(_) => {
                let err = WsError::new("malformed_frame", "o quadro não é JSON válido");
                return self.reply(ctx, &Value::Null, "", Err(err));
            }
            Ok(v) => {
                let reference = v.get("ref").cloned().unwrap_or(Value::Null);
                match serde_json::from_value::<ClientFrame>(v) {
                    Ok(f) => f,
                    Err(e) => {
                        let err = WsError::new("malformed_frame", format!("quadro inválido: {e}"));
                        return self.reply(ctx, &reference, "", Err(err));
                    }
                }
            }
        };
        if !frame.payload.is_object() {
            let err = WsError::new("invalid_payload", "payload deve ser um objeto");
            return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
        }
        if frame.topic == SYSTEM_TOPIC {
            return match frame.event.as_str() {
                "heartbeat" => self.reply(ctx, &frame.reference, SYSTEM_TOPIC, Ok(json!({}))),
                "auth" => self.authenticate(frame, ctx),
                _ => {
                    let err = WsError::new(
                        "unknown_event",
                        format!("evento desconhecido: {}", frame.event),
                    );
                    self.reply(ctx, &frame.reference, SYSTEM_TOPIC, Err(err))
                }
            };
        }
        if self.user.is_none() && self.guest.is_none() {
            let err = WsError::new(
                "unauthenticated",
                "autentique-se antes de entrar em tópicos",
            );
            return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
        }
        let consult_guest = matches!(self.guest, Some(Guest::Consult { .. }))
            && frame.topic.starts_with("consult:");
        if self.user.is_none()
            && !consult_guest
            && !matches!(frame.event.as_str(), "join" | "leave")
        {
            return self.reply(
                ctx,
                &frame.reference,
                &frame.topic,
                Err(WsError::forbidden()),
            );
        }
        match frame.event.as_str() {
            "join" => self.join(frame, ctx),
            "leave" => self.leave(frame, ctx),
            _ => self.topic_event(frame, ctx),
        }
    }

    fn authenticate(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        if self.user.is_some() || self.guest.is_some() {
            let err = WsError::new("already_authenticated", "conexão já autenticada");
            return self.reply(ctx, &frame.reference, SYSTEM_TOPIC, Err(err));
        }
        if frame.payload.get("anonymous") == Some(&Value::Bool(true)) {
            self.guest = Some(Guest::Anonymous);
            return self.reply(ctx, &frame.reference, SYSTEM_TOPIC, Ok(json!({})));
        }
        if let Some(token) = frame.payload.get("consult").and_then(Value::as_str) {
            let (state, token) = (self.state.clone(), token.to_owned());
            let reference = frame.reference;
            ctx.spawn(
                async move { crate::http::consults::guest_entry(&state, &token).await }
                    .into_actor(self)
                    .map(move |res, act, ctx| match res {
                        Ok(entry) => {
                            let appointment = entry.appointment;
                            if let Some(invited) = entry.guest {
                                act.watch_revocation(ctx, &consult_guest_key(invited));
                            }
                            act.guest = Some(Guest::Consult {
                                appointment,
                                name: entry.name,
                                guest: entry.guest,
                            });
                            act.reply(
                                ctx,
                                &reference,
                                SYSTEM_TOPIC,
                                Ok(json!({"consult": appointment})),
                            );
                        }
                        Err(e) => {
                            act.reply(ctx, &reference, SYSTEM_TOPIC, Err(e));
                            ctx.stop();
                        }
                    }),
            );
            return;
        }
        let panel = frame.payload.get("panel").and_then(Value::as_str);
        let tracker = frame.payload.get("tracker").and_then(Value::as_str);
        if panel.is_some() || tracker.is_some() {
            let (panel, tracker) = (panel.map(str::to_owned), tracker.map(str::to_owned));
            let state = self.state.clone();
            let reference = frame.reference;
            ctx.spawn(
                async move { guest_from(&state, panel.as_deref(), tracker.as_deref()).await }
                    .into_actor(self)
                    .map(move |res, act, ctx| match res {
                        Ok(guest) => {
                            let clinic = guest.clinic();
                            if let Guest::Panel { token_hash, .. } = &guest {
                                act.watch_revocation(ctx, &format!("panel-{token_hash}"));
                            }
                            act.guest = Some(guest);
                            act.reply(
                                ctx,
                                &reference,
                                SYSTEM_TOPIC,
                                Ok(json!({"clinic_id": clinic})),
                            );
                        }
                        Err(e) => act.reply(ctx, &reference, SYSTEM_TOPIC, Err(e)),
                    }),
            );
            return;
        }
        let Some(token) = frame
            .payload
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            let err = WsError::new("invalid_payload", "informe payload.token");
            return self.reply(ctx, &frame.reference, SYSTEM_TOPIC, Err(err));
        };
        let state = self.state.clone();
        let ip = self.ip.clone();
        let reference = frame.reference;
        ctx.spawn(
            async move { authenticate(&state, &token, ip).await }
                .into_actor(self)
                .map(move |res, act, ctx| match res {
                    Ok(auth) => {
                        let user_id = auth.user_id;
                        act.watch_session(ctx, auth.session_id);
                        act.user = Some((auth.user_id, auth.session_id, auth.full_name));
                        act.reply(
                            ctx,
                            &reference,
                            SYSTEM_TOPIC,
                            Ok(json!({"user_id": user_id})),
                        );
                    }
                    Err(e) => act.reply(ctx, &reference, SYSTEM_TOPIC, Err(app_to_ws(&e))),
                }),
        );
    }

    fn join(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let reference = frame.reference.clone();
        let topic_name = frame.topic.clone();
        let topic: Topic = match frame.topic.parse() {
            Ok(t) => t,
            Err(e) => return self.reply(ctx, &reference, &topic_name, Err(e)),
        };
        let since = match frame.payload.get("since") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64().filter(|n| *n >= 0) {
                Some(n) => Some(n),
                None => {
                    let err = WsError::new("invalid_payload", "since deve ser um inteiro >= 0");
                    return self.reply(ctx, &reference, &topic_name, Err(err));
                }
            },
        };
        if self.topics.contains_key(topic_name.as_str()) || self.joining.contains(&topic_name) {
            let err = WsError::new("already_joined", "já inscrito neste tópico");
            return self.reply(ctx, &reference, &topic_name, Err(err));
        }
        self.joining.insert(topic_name.clone());
        let (user, guest) = (self.user.clone(), self.guest.clone());
        let state = self.state.clone();
        let ip = self.ip.clone();
        // Step 1: authorize with the user's current roles (or the guest's credential).
        ctx.spawn(
            async move {
                match (user, guest) {
                    (Some((user_id, session_id, _)), _) => {
                        let auth = load_auth(&state, user_id, session_id, ip)
                            .await
                            .map_err(|e| app_to_ws(&e))?;
                        authorize(&state, &auth, &topic).await
                    }
                    (None, Some(guest)) => authorize_guest(&state, &guest, &topic).await,
                    (None, None) => Err(WsError::new(
                        "unauthenticated",
                        "autentique-se antes de entrar em tópicos",
                    )),
                }
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                let still_wanted = act.joining.remove(topic_name.as_str());
                let role = match res {
                    Ok(role) => role,
                    Err(e) => return act.reply(ctx, &reference, &topic_name, Err(e)),
                };
                if !still_wanted || act.topics.contains_key(topic_name.as_str()) {
                    let err = WsError::new("not_joined", "a inscrição foi cancelada");
                    return act.reply(ctx, &reference, &topic_name, Err(err));
                }
                // Step 2: subscribe first, then read the head, so nothing falls in between.
                let key: Arc<str> = Arc::from(topic_name.as_str());
                let cursor: SharedCursor = Arc::new(std::sync::Mutex::new(Cursor {
                    last_seq: 0,
                    pending: Some(Vec::new()),
                }));
                let sub = act.subscriber(ctx, cursor.clone(), true);
                act.state.hub.subscribe(key.clone(), act.conn, sub);
                act.topics.insert(
                    key.clone(),
                    Joined {
                        topic,
                        cursor,
                        announced: false,
                        role,
                    },
                );
                act.catch_up(ctx, key, reference, since);
            }),
        );
    }

    /// Read the topic head and, with `since`, the missed events; reply; replay; then
    /// release live pushes that arrived meanwhile.
    fn catch_up(
        &mut self,
        ctx: &mut Context<Self>,
        key: Arc<str>,
        reference: Value,
        since: Option<i64>,
    ) {
        let state = self.state.clone();
        let limit = self.state.settings.realtime.replay_limit;
        let topic_name = key.to_string();
        ctx.spawn(
            async move {
                let head = state.store.topic_head(&topic_name).await?;
                let events = match since {
                    Some(s) if s < head => {
                        state
                            .store
                            .topic_events(&topic_name, s, head, limit + 1)
                            .await?
                    }
                    _ => Vec::new(),
                };
                Ok::<_, WsError>((head, events))
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                let Some(joined) = act.topics.get(&key) else {
                    return;
                };
                let topic = joined.topic;
                let (head, events) = match res {
                    Ok(x) => x,
                    Err(e) => {
                        act.state.hub.unsubscribe(&key, act.conn);
                        act.topics.remove(&key);
                        return act.reply(ctx, &reference, &key, Err(e));
                    }
                };
                let resync = events.len() as i64 > limit || since.is_some_and(|s| s > head);
                let start = match since {
                    Some(s) if !resync => s,
                    _ => head,
                };
                let presence = act.state.hub.presence(&key);
                act.reply(
                    ctx,
                    &reference,
                    &key,
                    Ok(json!({"seq": head, "resync": resync, "presence": presence})),
                );
                if let Some(j) = act.topics.get(&key) {
                    lock(&j.cursor).last_seq = start;
                }
                if !resync {
                    let role = act.topics.get(&key).map_or("", |j| j.role);
                    if let (Topic::Chat(room), false, true) =
                        (topic, events.is_empty(), role != "patient")
                    {
                        // Staff reading a conversation's past is audited, as over HTTP.
                        act.audit_chat_replay(room, events.len());
                    }
                    act.deliver_rows(ctx, &key, events);
                }
                act.drain_pending(ctx, key.clone(), false);
                let role = act.topics.get(&key).map_or("online", |j| j.role);
                act.publish_presence(&topic, role, PRESENCE_JOIN);
                if let Some(j) = act.topics.get_mut(&key) {
                    j.announced = true;
                }
            }),
        );
    }

    /// Send stored events (decrypting payloads) that continue the topic's sequence.
    fn deliver_rows(
        &mut self,
        ctx: &mut Context<Self>,
        key: &Arc<str>,
        rows: Vec<crate::store::events::EventRow>,
    ) {
        let Some(cursor) = self.topics.get(key).map(|j| j.cursor.clone()) else {
            return;
        };
        let mut c = lock(&cursor);
        for row in rows {
            if row.seq != c.last_seq + 1 {
                continue;
            }
            let payload = match self.state.cipher.decrypt(&row.payload_enc) {
                Ok(p) => serde_json::from_str::<Value>(&p).unwrap_or(Value::Null),
                Err(e) => {
                    tracing::error!(topic = %key, seq = row.seq, error = %e, "cannot decrypt stored event");
                    Value::Null
                }
            };
            let ev = TopicEvent {
                topic: key.to_string(),
                event: row.event,
                seq: Some(row.seq),
                payload,
            };
            if let Ok(text) = serde_json::to_string(&ev) {
                self.send(ctx, ByteString::from(text));
            }
            c.last_seq = row.seq;
        }
    }

    /// Deliver buffered pushes in seq order; on a gap, fetch the missing events first.
    /// Runs under the cursor lock, so the hub's fast path waits until the backlog is out.
    fn drain_pending(&mut self, ctx: &mut Context<Self>, key: Arc<str>, after_fill: bool) {
        let Some(cursor) = self.topics.get(&key).map(|j| j.cursor.clone()) else {
            return;
        };
        let mut c = lock(&cursor);
        let mut pending = c.pending.take().unwrap_or_default();
        pending.sort_by_key(|d| d.seq.unwrap_or(i64::MIN));
        let mut rest = pending.into_iter();
        while let Some(d) = rest.next() {
            match d.seq {
                None => self.send(ctx, d.frame),
                Some(s) if s <= c.last_seq => {}
                Some(s) if s == c.last_seq + 1 || after_fill => {
                    if s != c.last_seq + 1 {
                        tracing::warn!(topic = %key, from = c.last_seq, to = s, "events missing from the database; skipping");
                    }
                    c.last_seq = s;
                    self.send(ctx, d.frame);
                }
                Some(s) => {
                    let from = c.last_seq;
                    c.pending = Some(std::iter::once(d).chain(rest).collect());
                    drop(c);
                    return self.fill_gap(ctx, key, from, s - 1);
                }
            }
        }
    }

    fn fill_gap(&mut self, ctx: &mut Context<Self>, key: Arc<str>, after: i64, upto: i64) {
        metrics::counter!("atende_ws_gap_fills_total").increment(1);
        let state = self.state.clone();
        let topic = key.to_string();
        ctx.spawn(
            async move {
                state
                    .store
                    .topic_events(&topic, after, upto, upto - after)
                    .await
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                match res {
                    Ok(rows) => act.deliver_rows(ctx, &key, rows),
                    Err(e) => tracing::error!(error = %e, "gap fill failed"),
                }
                act.drain_pending(ctx, key, true);
            }),
        );
    }

    fn leave(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let removed = self.topics.remove(frame.topic.as_str());
        match removed {
            Some(j) => {
                self.state.hub.unsubscribe(&frame.topic, self.conn);
                if j.announced {
                    self.publish_presence(&j.topic, j.role, PRESENCE_LEAVE);
                }
                self.reply(ctx, &frame.reference, &frame.topic, Ok(json!({})));
            }
            None if self.joining.remove(frame.topic.as_str()) => {
                // Leaving while the join is still being authorized: the join is cancelled.
                self.reply(ctx, &frame.reference, &frame.topic, Ok(json!({})));
            }
            None => {
                let err = WsError::new("not_joined", "não inscrito neste tópico");
                self.reply(ctx, &frame.reference, &frame.topic, Err(err));
            }
        }
    }

    fn audit_chat_replay(&self, room: crate::domain::ChatRoomId, count: usize) {
        let Some((user_id, _, _)) = self.user.clone() else {
            return;
        };
        let state = self.state.clone();
        let ip = self.ip.clone();
        actix::spawn(async move {
            let Ok(Some(r)) = state.store.chat_room(room).await else {
                return;
            };
            if r.kind != "patient" {
                return;
            }
            let event = crate::security::audit::AuditEvent::new(
                Some(user_id),
                "chat.history_read",
                "chat_room",
            )
            .entity_id(room)
            .clinic(r.clinic_id)
            .ip(ip)
            .details(json!({"messages": count, "via": "websocket_replay"}));
            if let Err(e) = state.store.record_audit(&event).await {
                tracing::error!(error = %e, "cannot audit chat replay");
            }
        });
    }

    /// Run `work` and reply to `reference` with its result.
    fn ask(
        &mut self,
        ctx: &mut Context<Self>,
        reference: Value,
        topic: String,
        work: impl std::future::Future<Output = Result<Value, WsError>> + 'static,
    ) {
        ctx.spawn(work.into_actor(self).map(move |res, act, ctx| {
            act.reply(ctx, &reference, &topic, res);
        }));
    }

    /// An event on a teleconsultation topic: `enter`, `admit`, `signal`, `end`.
    fn consult_event(
        &mut self,
        appointment: uuid::Uuid,
        role: &'static str,
        frame: ClientFrame,
        ctx: &mut Context<Self>,
    ) {
        use super::consult::{Admit, Chat, End, Enter, Side, Signal, UseRelay};
        let Some(side) = Side::from_role(role) else {
            return self.reply(
                ctx,
                &frame.reference,
                &frame.topic,
                Err(WsError::forbidden()),
            );
        };
        let addr = self.state.registry.consult(appointment);
        let by = self.user.as_ref().map(|u| u.0);
        // Who speaks in the chat, and under which name `enter` lists them: the account's
        // or the guest's name; a link patient enters as the appointment's patient (None).
        let (shown, guest, link_patient) = match (&self.user, &self.guest) {
            (Some(u), _) => (u.2.clone(), None, false),
            (None, Some(Guest::Consult { name, guest, .. })) => {
                (name.clone(), *guest, guest.is_none())
            }
            _ => (String::new(), None, false),
        };
        let who = super::consult::participant_key(side, guest);
        let name = (!link_patient).then(|| shown.clone());
        let payload = frame.payload;
        match frame.event.as_str() {
            "enter" => self.ask(ctx, frame.reference, frame.topic, async move {
                addr.send(Enter { side, name })
                    .await
                    .map_err(|_| consult_restarting())?
            }),
            "admit" => self.ask(ctx, frame.reference, frame.topic, async move {
                addr.send(Admit { side })
                    .await
                    .map_err(|_| consult_restarting())?
            }),
            "signal" => self.ask(ctx, frame.reference, frame.topic, async move {
                addr.send(Signal { side, payload })
                    .await
                    .map_err(|_| consult_restarting())?
            }),
            "end" => self.ask(ctx, frame.reference, frame.topic, async move {
                addr.send(End { side, by })
                    .await
                    .map_err(|_| consult_restarting())?
            }),
            "use-relay" => self.ask(ctx, frame.reference, frame.topic, async move {
                addr.send(UseRelay)
                    .await
                    .map_err(|_| consult_restarting())?
            }),
            "chat" => self.ask(ctx, frame.reference, frame.topic, async move {
                addr.send(Chat {
                    side,
                    who,
                    name: shown,
                    payload,
                })
                .await
                .map_err(|_| consult_restarting())?
            }),
            other => {
                let err = WsError::new("unknown_event", format!("evento desconhecido: {other}"));
                self.reply(ctx, &frame.reference, &frame.topic, Err(err))
            }
        }
    }

    /// An event a client sends to a joined topic.
    fn topic_event(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let Some(joined) = self.topics.get(frame.topic.as_str()) else {
            let err = match frame.topic.parse::<Topic>() {
                Err(e) => e,
                Ok(_) => WsError::new("not_joined", "entre no tópico antes de enviar eventos"),
            };
            return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
        };
        if let Topic::Consult(appointment) = joined.topic {
            let role = joined.role;
            return self.consult_event(appointment, role, frame, ctx);
        }
        let Some((user_id, _, name)) = self.user.clone() else {
            return;
        };
        match (joined.topic, frame.event.as_str()) {
            (Topic::Chat(room), "message.send") => {
                let p = &frame.payload;
                let client_id = uuid_field(p, "client_id");
                let body = p
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let attachment_id = uuid_field(p, "attachment_id");
                let bad_attachment =
                    p.get("attachment_id").is_some_and(|v| !v.is_null()) && attachment_id.is_none();
                let Some(client_id) = client_id.filter(|_| !bad_attachment) else {
                    let err = WsError::new(
                        "invalid_payload",
                        "informe client_id (UUID), body (texto) e, se houver, attachment_id (UUID)",
                    );
                    return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
                };
                let msg = PostMessage {
                    sender: user_id,
                    sender_name: name,
                    client_id,
                    body,
                    attachment_id,
                };
                let addr = self.state.registry.chat(room);
                self.ask(ctx, frame.reference, frame.topic, async move {
                    let p = addr.send(msg).await.map_err(|_| restarting())??;
                    Ok(json!({"seq": p.seq, "id": p.id, "created_at": p.created_at, "duplicate": p.duplicate}))
                });
            }
            (Topic::Chat(room), "message.edit") => {
                let id = uuid_field(&frame.payload, "id");
                let body = frame
                    .payload
                    .get("body")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let (Some(id), Some(body)) = (id, body) else {
                    let err = WsError::new("invalid_payload", "informe id (UUID) e body (texto)");
                    return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
                };
                let addr = self.state.registry.chat(room);
                self.ask(ctx, frame.reference, frame.topic, async move {
                    let at = addr
                        .send(EditMessage {
                            editor: user_id,
                            id,
                            body,
                        })
                        .await
                        .map_err(|_| restarting())??;
                    Ok(json!({"edited_at": at}))
                });
            }
            (Topic::Chat(room), "message.delete") => {
                let Some(id) = uuid_field(&frame.payload, "id") else {
                    let err = WsError::new("invalid_payload", "informe id (UUID)");
                    return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
                };
                let addr = self.state.registry.chat(room);
                self.ask(ctx, frame.reference, frame.topic, async move {
                    let at = addr
                        .send(DeleteMessage {
                            editor: user_id,
                            id,
                        })
                        .await
                        .map_err(|_| restarting())??;
                    Ok(json!({"deleted_at": at}))
                });
            }
            (Topic::Chat(room), "read") => {
                let Some(seq) = frame
                    .payload
                    .get("seq")
                    .and_then(Value::as_i64)
                    .filter(|s| *s >= 0)
                else {
                    let err = WsError::new("invalid_payload", "informe seq (inteiro >= 0)");
                    return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
                };
                let state = self.state.clone();
                let topic = frame.topic.clone();
                self.ask(ctx, frame.reference, frame.topic, async move {
                    let head = state.store.topic_head(&topic).await?;
                    let last = state
                        .store
                        .mark_chat_read(room, user_id, seq.min(head))
                        .await?;
                    let unread = state.store.chat_unread(room, user_id).await?;
                    state.bus.publish(TopicEvent {
                        topic: topic.clone(),
                        event: "chat.read".into(),
                        seq: None,
                        payload: json!({"user_id": user_id, "seq": last}),
                    });
                    state.bus.publish(TopicEvent {
                        topic: Topic::User(user_id).to_string(),
                        event: "chat.unread".into(),
                        seq: None,
                        payload: json!({"room_id": room, "unread": unread, "last_seq": head,
                                        "last_read_seq": last}),
                    });
                    Ok(json!({"last_read_seq": last, "unread": unread}))
                });
            }
            (Topic::Chat(_), "typing") => {
                self.state.bus.publish(TopicEvent {
                    topic: frame.topic.clone(),
                    event: "chat.typing".into(),
                    seq: None,
                    payload: json!({"user_id": user_id, "name": name}),
                });
                self.reply(ctx, &frame.reference, &frame.topic, Ok(json!({})));
            }
            _ => {
                let err = WsError::new(
                    "unknown_event",
                    format!("evento desconhecido: {}", frame.event),
                );
                self.reply(ctx, &frame.reference, &frame.topic, Err(err));
            }
        }
    }
}

fn uuid_field(payload: &Value, name: &str) -> Option<uuid::Uuid> {
    payload
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn consult_restarting() -> WsError {
    WsError::new("unavailable", "sessão reiniciando; tente de novo")
}

fn restarting() -> WsError {
    WsError::new("unavailable", "conversa reiniciando; tente de novo")
}

/// May this user join this topic? On success, the role they appear with in presence.
async fn authorize(state: &AppState, auth: &Auth, topic: &Topic) -> Result<&'static str, WsError> {
    match topic {
        Topic::User(u) if *u == auth.user_id => Ok("self"),
        Topic::User(_) => Err(WsError::forbidden()),
        Topic::ClinicAgenda(c) | Topic::ClinicQueue(c) => {
            // The most clinical role first: a doctor who also administers shows as professional.
            [Role::Professional, Role::ClinicAdmin, Role::Receptionist]
                .into_iter()
                .find(|r| auth.has_role(*c, &[*r]))
                .map(Role::as_str)
                .ok_or_else(WsError::forbidden)
        }
        Topic::Chat(room) => {
            let room = state
                .store
                .chat_room(*room)
                .await?
                .ok_or_else(|| WsError::new("not_found", "conversa não encontrada"))?;
            if !is_member(&state.store, &room, auth.user_id).await? {
                return Err(WsError::forbidden());
            }
            Ok(if room.professional_user_id == Some(auth.user_id) {
                "professional"
            } else if room.kind == "patient" {
                "patient"
            } else {
                "staff"
            })
        }
        Topic::ClinicPanel(c) => {
            if let Some(r) = [Role::Professional, Role::ClinicAdmin, Role::Receptionist]
                .into_iter()
                .find(|r| auth.has_role(*c, &[*r]))
            {
                return Ok(r.as_str());
            }
            // A patient who is in this clinic's queue today follows it on their phone.
            let clinic = state
                .store
                .clinic_by_id(*c)
                .await?
                .ok_or_else(WsError::forbidden)?;
            let today = super::queue::clinic_today(clinic.tz());
            if state
                .store
                .patient_in_queue_today(*c, today, auth.user_id)
                .await?
            {
                Ok("patient")
            } else {
                Err(WsError::forbidden())
            }
        }
        // Public: free slots are on the clinic's booking page anyway.
        Topic::ClinicSlots(_) => Ok("public"),
        Topic::Consult(id) => {
            let view = super::consult::open_appointment(&state.store, *id).await?;
            if view.a.professional_user_id == auth.user_id {
                Ok("professional")
            } else if auth.patient_id == Some(view.a.patient_id) {
                Ok("patient")
            } else {
                // Someone else's session: as if it did not exist.
                Err(WsError::new("not_found", "teleconsulta não encontrada"))
            }
        }
    }
}

fn app_to_ws(e: &AppError) -> WsError {
    WsError::new(e.code(), e.message())
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.conn = self.state.hub.register(ctx.address().recipient());
        if let Some((_, session, _)) = self.user.clone() {
            self.watch_session(ctx, session);
        }
        let rt = &self.state.settings.realtime;
        let timeout = Duration::from_secs(rt.client_timeout_secs);
        ctx.run_interval(
            Duration::from_secs(rt.heartbeat_interval_secs),
            move |act, ctx| {
                if act.last_heard.elapsed() > timeout {
                    metrics::counter!("atende_ws_heartbeat_timeouts_total").increment(1);
                    act.close(ctx, close::HEARTBEAT_TIMEOUT, "heartbeat timeout");
                } else if act.out.try_send(Outgoing::Ping).is_err() {
                    act.close(ctx, close::POLICY, "slow consumer");
                }
            },
        );
        ctx.run_later(Duration::from_secs(rt.auth_timeout_secs), |act, ctx| {
            if act.user.is_none() && act.guest.is_none() {
                act.close(ctx, close::POLICY, "authentication timeout");
            }
        });
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        let joined: Vec<(Topic, bool, &'static str)> = self
            .topics
            .drain()
            .map(|(_, j)| (j.topic, j.announced, j.role))
            .collect();
        for (topic, announced, role) in joined {
            if announced {
                self.publish_presence(&topic, role, PRESENCE_LEAVE);
            }
        }
        self.state.hub.deregister(self.conn);
        Running::Stop
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match item {
            Ok(Message::Text(text)) => {
                if self.within_rate(ctx) {
                    self.handle_text(&text, ctx);
                }
            }
            Ok(Message::Ping(bytes)) => {
                let _ = self.out.try_send(Outgoing::Pong(bytes));
            }
            Ok(Message::Pong(_)) | Ok(Message::Nop) => {}
            Ok(Message::Binary(_)) | Ok(Message::Continuation(_)) => {
                if !self.within_rate(ctx) {
                    return;
                }
                let err = WsError::new("unsupported_frame", "use quadros de texto com JSON");
                self.reply(ctx, &Value::Null, "", Err(err));
            }
            Ok(Message::Close(_)) => {
                if let Some(tx) = self.close_tx.take() {
                    let _ = tx.send(CloseReason {
                        code: CloseCode::Normal,
                        description: None,
                    });
                }
                ctx.stop();
            }
            Err(ProtocolError::Overflow) => self.close(ctx, close::TOO_BIG, "frame too large"),
            Err(e) => {
                tracing::debug!(error = %e, "websocket protocol error");
                self.close(ctx, 1002, "protocol error");
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    /// The slow path from the hub: gaps, catch-ups, internal topics.
    fn handle(&mut self, d: Deliver, ctx: &mut Self::Context) {
        if d.topic.starts_with(SESSION_TOPIC_PREFIX) {
            // The login session behind this connection was revoked (logout, token reuse).
            return self.close(ctx, close::POLICY, "session revoked");
        }
        let Some(cursor) = self.topics.get(&d.topic).map(|j| j.cursor.clone()) else {
            return;
        };
        let mut c = lock(&cursor);
        let Some(seq) = d.seq else {
            return self.send(ctx, d.frame);
        };
        if let Some(p) = c.pending.as_mut() {
            p.push(d);
            return;
        }
        if seq <= c.last_seq {
            return;
        }
        if seq == c.last_seq + 1 {
            c.last_seq = seq;
            return self.send(ctx, d.frame);
        }
        let (key, from) = (d.topic.clone(), c.last_seq);
        c.pending = Some(vec![d]);
        drop(c);
        self.fill_gap(ctx, key, from, seq - 1);
    }
}

impl Handler<Overflow> for WsSession {
    type Result = ();

    fn handle(&mut self, _: Overflow, ctx: &mut Self::Context) {
        metrics::counter!("atende_ws_slow_consumers_total").increment(1);
        self.close(ctx, close::POLICY, "slow consumer");
    }
}

impl Handler<CloseSession> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        self.close(ctx, msg.code, msg.reason);
    }
}

/// Owns the socket: writes queued frames in order; on a close signal sends the close frame.
async fn writer(
    mut ws: actix_ws::Session,
    mut rx: mpsc::Receiver<Outgoing>,
    mut close_rx: oneshot::Receiver<CloseReason>,
) {
    loop {
        tokio::select! {
            biased;
            reason = &mut close_rx => {
                // Flush what is already queued (e.g. the reply explaining the close).
                while let Ok(Outgoing::Text(t)) = rx.try_recv() {
                    if tokio::time::timeout(Duration::from_millis(200), ws.text(t)).await.is_err() {
                        break;
                    }
                }
                close_socket(ws, reason.ok()).await;
                return;
            }
            msg = rx.recv() => {
                let sent = match msg {
                    Some(Outgoing::Text(t)) => tokio::select! {
                        r = ws.text(t) => r.is_ok(),
                        reason = &mut close_rx => {
                            close_socket(ws, reason.ok()).await;
                            return;
                        }
                    },
                    Some(Outgoing::Ping) => ws.ping(b"").await.is_ok(),
                    Some(Outgoing::Pong(b)) => ws.pong(&b).await.is_ok(),
                    None => {
                        let _ = ws.close(None).await;
                        return;
                    }
                };
                if !sent {
                    return;
                }
            }
        }
    }
}

/// Queue the close frame. A client that is not reading (slow consumer) gets it once it
/// reads what is already buffered; one that never reads again is let go after 30 s.
async fn close_socket(ws: actix_ws::Session, reason: Option<CloseReason>) {
    let _ = tokio::time::timeout(Duration::from_secs(30), ws.close(reason)).await;
}
