//! One actor per WebSocket connection, carrying many topics: its frames, heartbeats,
//! rate limit, authentication and close. Subscriptions (join, replay, gap fill, leave) are
//! in `subscriptions`, presence in `presence`, and what each topic allows in `channels`.
//!
//! Incoming frames arrive as a stream on the actor; outgoing frames go through a bounded
//! queue to a writer task that owns the socket. A client that does not read fills the
//! queue and is dropped as a slow consumer: memory per connection stays bounded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web;
use actix_ws::{CloseCode, CloseReason, Message, ProtocolError};
use bytestring::ByteString;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::channels::{self, Peer, Reply, SessionUser};
use super::rate::{FrameBudget, Verdict};
use super::writer::writer;
use crate::actors::hub::{
    CloseSession, ConnId, Outgoing, Overflow, PRESENCE_LEAVE, SharedCursor, Subscriber,
};
use crate::actors::protocol::{
    ClientFrame, SYSTEM_TOPIC, Topic, WsError, close, reply_error, reply_ok,
};
use crate::app::caller::authenticate;
use crate::app::consults::guest_entry;
use crate::app::guests::{Guest, guest_from};
use crate::app::state::AppState;
use crate::bus::revocation::{SESSION_TOPIC_PREFIX, access_key, consult_guest_key, panel_key};
use crate::domain::{SessionId, UserId};

/// Per joined topic.
pub(super) struct Joined {
    pub(super) topic: Topic,
    /// Last seq delivered and pushes waiting during catch-up (shared with the hub).
    pub(super) cursor: SharedCursor,
    /// Whether this connection's presence was announced (the join completed).
    pub(super) announced: bool,
    /// How the user appears in this topic's presence (`professional`, `patient`, …).
    pub(super) role: &'static str,
    /// A gap in the topic's seqs being waited for or read from the database.
    pub(super) gap: Option<Gap>,
}

/// Where a topic's gap stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gap {
    /// Waiting `realtime.gap_hold_ms` for the missing events to arrive on the bus.
    Holding,
    /// Reading them from the database (`attempt` reads so far, from 0).
    Filling { attempt: u32 },
}

pub struct WsSession {
    pub(super) conn: ConnId,
    pub(super) state: web::Data<AppState>,
    pub(super) ip: Option<String>,
    /// Who is connected, once authenticated (ticket or `auth` frame).
    pub(super) user: Option<SessionUser>,
    /// Or who is connected without an account.
    pub(super) guest: Option<Guest>,
    pub(super) out: mpsc::Sender<Outgoing>,
    pub(super) close_tx: Option<oneshot::Sender<CloseReason>>,
    pub(super) topics: HashMap<Arc<str>, Joined>,
    /// Topics whose join is being authorized.
    pub(super) joining: std::collections::HashSet<String>,
    pub(super) last_heard: Instant,
    pub(super) budget: FrameBudget,
}

impl WsSession {
    /// Start a session for an upgraded connection. `user` is set when a ticket already
    /// authenticated it.
    pub fn start(
        state: web::Data<AppState>,
        ip: Option<String>,
        user: Option<SessionUser>,
        ws: actix_ws::Session,
        stream: actix_ws::MessageStream,
    ) {
        let rt = &state.settings.realtime;
        let (out, out_rx) = mpsc::channel(rt.outbound_buffer);
        let (close_tx, close_rx) = oneshot::channel();
        actix_web::rt::spawn(writer(ws, out_rx, close_rx));
        let budget = FrameBudget::new(rt);
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
                budget,
            }
        });
    }

    /// Listen for the end of the login session and for changes of the user's roles.
    pub(super) fn watch_session(
        &mut self,
        ctx: &mut Context<Self>,
        user: UserId,
        session: SessionId,
    ) {
        self.watch_revocation(ctx, &session.to_string());
        self.watch_revocation(ctx, &access_key(user));
    }

    pub(super) fn watch_revocation(&mut self, ctx: &mut Context<Self>, key: &str) {
        let topic: Arc<str> = Arc::from(format!("{SESSION_TOPIC_PREFIX}{key}"));
        let sub = self.subscriber(ctx, Arc::default(), false);
        self.state.hub.subscribe(topic, self.conn, sub);
    }

    pub(super) fn subscriber(
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

    pub(super) fn send(&mut self, ctx: &mut Context<Self>, frame: ByteString) {
        match self.out.try_send(Outgoing::Text(frame)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("atende_ws_slow_consumers_total").increment(1);
                self.close(ctx, close::POLICY, "slow consumer");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    pub(super) fn reply(
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
    pub(super) fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &str) {
        if let Some(tx) = self.close_tx.take() {
            let _ = tx.send(CloseReason {
                code: CloseCode::from(code),
                description: Some(reason.to_string()),
            });
        }
        ctx.stop();
    }

    /// Spend the connection's (and its user's) budget for an incoming frame of `len`
    /// bytes; false (and maybe an error reply, or a close) when it is over budget.
    /// A dropped frame that carries a `ref` is answered `rate_limited` under that ref (the
    /// client knows exactly which request to send again, and when); one without a ref gets
    /// the connection's periodic notice.
    pub(super) fn within_rate(
        &mut self,
        ctx: &mut Context<Self>,
        text: Option<&str>,
        len: usize,
    ) -> bool {
        let user = self.user.as_ref().map(|u| u.0);
        let users = &self.state.frame_budgets;
        match self
            .budget
            .check(len, || user.is_none_or(|u| users.take(u)))
        {
            Verdict::Allow => true,
            Verdict::Refuse { tell } => {
                metrics::counter!("atende_ws_frames_refused_total").increment(1);
                let asked = text
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .filter(|f| f.get("ref").is_some_and(|r| !r.is_null()));
                let mut err = WsError::rate_limited("muitas mensagens; diminua o ritmo");
                err.retry_after_ms = Some(self.budget.retry_after_ms());
                match asked {
                    Some(f) => {
                        let topic = f.get("topic").and_then(Value::as_str).unwrap_or_default();
                        self.reply(ctx, &f["ref"], topic, Err(err));
                    }
                    None if tell => self.reply(ctx, &Value::Null, SYSTEM_TOPIC, Err(err)),
                    None => {}
                }
                false
            }
            Verdict::Close => {
                metrics::counter!("atende_ws_flood_disconnects_total").increment(1);
                self.close(ctx, close::POLICY, "flood");
                false
            }
        }
    }

    pub(super) fn handle_text(&mut self, text: &str, ctx: &mut Context<Self>) {
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
            let err = WsError::unauthorized(
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

    pub(super) fn authenticate(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        if self.user.is_some() || self.guest.is_some() {
            let err = WsError::conflict("already_authenticated", "conexão já autenticada");
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
                async move { guest_entry(&state, &token).await }
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
                                act.watch_revocation(ctx, &panel_key(token_hash));
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
                        act.watch_session(ctx, auth.user_id, auth.session_id);
                        act.user = Some((auth.user_id, auth.session_id, auth.full_name));
                        act.reply(
                            ctx,
                            &reference,
                            SYSTEM_TOPIC,
                            Ok(json!({"user_id": user_id})),
                        );
                    }
                    Err(e) => act.reply(ctx, &reference, SYSTEM_TOPIC, Err(WsError::from(&e))),
                }),
        );
    }

    /// Run `work` and reply to `reference` with its result. The work runs on its own: if
    /// the connection ends meanwhile it still completes (a message that reached the server
    /// is stored or refused, never dropped half way); the client learns the outcome when it
    /// resumes (a resent message with the same `client_id` is not stored twice).
    pub(super) fn ask(
        &mut self,
        ctx: &mut Context<Self>,
        reference: Value,
        topic: String,
        work: impl std::future::Future<Output = Result<Value, WsError>> + 'static,
    ) {
        let (done, outcome) = oneshot::channel();
        actix::spawn(async move {
            let _ = done.send(work.await);
        });
        ctx.spawn(
            async move { outcome.await.unwrap_or_else(|_| Err(WsError::internal())) }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    act.reply(ctx, &reference, &topic, res);
                }),
        );
    }

    /// An event a client sends to a joined topic: the topic's channel decides.
    pub(super) fn topic_event(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let Some(joined) = self.topics.get(frame.topic.as_str()) else {
            let err = match frame.topic.parse::<Topic>() {
                Err(e) => e,
                Ok(_) => WsError::conflict("not_joined", "entre no tópico antes de enviar eventos"),
            };
            return self.reply(ctx, &frame.reference, &frame.topic, Err(err));
        };
        let (topic, role) = (joined.topic, joined.role);
        let (reference, name) = (frame.reference.clone(), frame.topic.clone());
        let peer = Peer {
            user: self.user.as_ref(),
            guest: self.guest.as_ref(),
        };
        match channels::event(&self.state, topic, role, peer, frame) {
            None => {}
            Some(Reply::Now(result)) => self.reply(ctx, &reference, &name, result),
            Some(Reply::Later(work)) => self.ask(ctx, reference, name, work),
        }
    }
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.conn = self.state.hub.register(ctx.address().recipient());
        if let Some((user, session, _)) = self.user.clone() {
            self.watch_session(ctx, user, session);
        }
        let rt = &self.state.settings.realtime;
        // However it authenticated, a connection is not trusted forever: after
        // `max_socket_secs` the client must show a fresh credential.
        ctx.run_later(Duration::from_secs(rt.max_socket_secs), |act, ctx| {
            metrics::counter!("atende_ws_lifetime_closes_total").increment(1);
            act.close(ctx, close::REAUTHENTICATE, "reauthenticate");
        });
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
                if self.within_rate(ctx, Some(&text), text.len()) {
                    self.handle_text(&text, ctx);
                }
            }
            Ok(Message::Ping(bytes)) => {
                let _ = self.out.try_send(Outgoing::Pong(bytes));
            }
            Ok(Message::Pong(_)) | Ok(Message::Nop) => {}
            Ok(Message::Binary(bytes)) => {
                if !self.within_rate(ctx, None, bytes.len()) {
                    return;
                }
                let err = WsError::new("unsupported_frame", "use quadros de texto com JSON");
                self.reply(ctx, &Value::Null, "", Err(err));
            }
            Ok(Message::Continuation(_)) => {
                if !self.within_rate(ctx, None, 0) {
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
