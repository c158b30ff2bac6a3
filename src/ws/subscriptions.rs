//! A connection's topic subscriptions: join (authorize, subscribe, read the head, replay
//! what was missed), live delivery in seq order with gaps filled from the database, leave.
//!
//! Per topic the session remembers the last seq it delivered. Pushes arrive from the hub
//! in bus order; a duplicate is dropped, a gap is filled from the database before anything
//! after it is delivered. So a client sees every persisted event of a topic exactly once,
//! in seq order, whichever node published it.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::{Value, json};

use super::channels::{self, authorize_guest};
use super::session::{Gap, Joined, WsSession};
use crate::actors::hub::{Cursor, Deliver, PRESENCE_JOIN, PRESENCE_LEAVE, SharedCursor};
use crate::actors::protocol::{ClientFrame, Topic, WsError, close};
use crate::app::caller::load_auth;
use crate::bus::TopicEvent;
use crate::bus::revocation::{ACCESS_KEY_PREFIX, SESSION_TOPIC_PREFIX};
use crate::store::events::EventRow;
use crate::sync::lock;

impl WsSession {
    pub(super) fn join(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
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
            let err = WsError::conflict("already_joined", "já inscrito neste tópico");
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
                            .map_err(|e| WsError::from(&e))?;
                        // A clinic's two-factor policy may have limited this session
                        // since the socket opened.
                        auth.require_full_session().map_err(|e| WsError::from(&e))?;
                        channels::authorize(&state, &auth, &topic).await
                    }
                    (None, Some(guest)) => authorize_guest(&state, &guest, &topic).await,
                    (None, None) => Err(WsError::unauthorized(
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
                    let err = WsError::conflict("not_joined", "a inscrição foi cancelada");
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
                        gap: None,
                    },
                );
                act.catch_up(ctx, key, reference, since);
            }),
        );
    }

    /// Read the topic head and, with `since`, the missed events; reply; replay; then
    /// release live pushes that arrived meanwhile.
    pub(super) fn catch_up(
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
                        if let Some((user_id, _, _)) = act.user {
                            channels::chat::audit_replay(
                                &act.state,
                                user_id,
                                act.ip.clone(),
                                room,
                                events.len(),
                            );
                        }
                    }
                    act.deliver_rows(ctx, &key, events);
                }
                act.drain_pending(ctx, key.clone());
                let role = act.topics.get(&key).map_or("online", |j| j.role);
                act.publish_presence(&topic, role, PRESENCE_JOIN);
                if let Some(j) = act.topics.get_mut(&key) {
                    j.announced = true;
                }
            }),
        );
    }

    /// Send stored events (decrypting payloads) that continue the topic's sequence.
    pub(super) fn deliver_rows(
        &mut self,
        ctx: &mut Context<Self>,
        key: &Arc<str>,
        rows: Vec<EventRow>,
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

    /// Deliver buffered pushes in seq order, up to the first gap. A gap is first given
    /// `realtime.gap_hold_ms` for the missing events to arrive on the bus (two nodes publish
    /// in their own commit order, so a later seq often overtakes an earlier one in flight);
    /// only then are they read from the database. Runs under the cursor lock, so the hub's
    /// fast path waits until the backlog is out.
    pub(super) fn drain_pending(&mut self, ctx: &mut Context<Self>, key: Arc<str>) {
        let Some(joined) = self.topics.get(&key) else {
            return;
        };
        if joined.gap.is_some() {
            // A hold or a fill is under way; it drains when it ends.
            return;
        }
        let cursor = joined.cursor.clone();
        let mut c = lock(&cursor);
        let mut pending = c.pending.take().unwrap_or_default();
        pending.sort_by_key(|d| d.seq.unwrap_or(i64::MIN));
        let mut rest = pending.into_iter();
        while let Some(d) = rest.next() {
            match d.seq {
                None => self.send(ctx, d.frame),
                Some(s) if s <= c.last_seq => {}
                Some(s) if s == c.last_seq + 1 => {
                    c.last_seq = s;
                    self.send(ctx, d.frame);
                }
                Some(_) => {
                    c.pending = Some(std::iter::once(d).chain(rest).collect());
                    drop(c);
                    return self.hold_gap(ctx, key);
                }
            }
        }
    }

    /// Wait a moment for a gap's missing events to come by the bus, then fill what is still
    /// missing from the database.
    fn hold_gap(&mut self, ctx: &mut Context<Self>, key: Arc<str>) {
        let Some(joined) = self.topics.get_mut(&key) else {
            return;
        };
        joined.gap = Some(Gap::Holding);
        metrics::counter!("atende_ws_gap_holds_total").increment(1);
        let hold = Duration::from_millis(self.state.settings.realtime.gap_hold_ms);
        ctx.run_later(hold, move |act, ctx| {
            let Some(joined) = act.topics.get_mut(&key) else {
                return;
            };
            joined.gap = None;
            let cursor = joined.cursor.clone();
            let c = lock(&cursor);
            let first_pending = c
                .pending
                .as_ref()
                .and_then(|p| p.iter().filter_map(|d| d.seq).min());
            let last = c.last_seq;
            drop(c);
            match first_pending {
                // Still a hole below the earliest push: read it.
                Some(first) if first > last + 1 => act.fill_gap(ctx, key, last, first - 1),
                _ => act.drain_pending(ctx, key),
            }
        });
    }

    /// Read the events `after < seq <= upto` from the database and deliver them. Every seq
    /// below a delivered push is committed (a topic's seqs are allocated under one row lock
    /// and published after commit), so the read finds them all; one absent from the
    /// database below its head was removed (retention) and is passed over, counted. A seq
    /// above the head is not visible yet (a lagging read): read again, a bounded number of
    /// times, never skipping it.
    pub(super) fn fill_gap(
        &mut self,
        ctx: &mut Context<Self>,
        key: Arc<str>,
        after: i64,
        upto: i64,
    ) {
        let Some(joined) = self.topics.get_mut(&key) else {
            return;
        };
        let attempt = match joined.gap {
            Some(Gap::Filling { attempt }) => attempt + 1,
            _ => 0,
        };
        joined.gap = Some(Gap::Filling { attempt });
        metrics::counter!("atende_ws_gap_fills_total").increment(1);
        let state = self.state.clone();
        let topic = key.to_string();
        ctx.spawn(
            async move {
                let rows = state
                    .store
                    .topic_events(&topic, after, upto, upto - after)
                    .await?;
                let head = state.store.topic_head(&topic).await?;
                Ok::<_, crate::store::StoreError>((rows, head))
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                let rt = &act.state.settings.realtime;
                let (retry, give_up) = (
                    Duration::from_millis(rt.gap_retry_ms),
                    attempt + 1 >= rt.gap_max_reads,
                );
                let (rows, head) = match res {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::error!(error = %e, topic = %key, "gap fill failed; reading again");
                        return act.retry_fill(ctx, key, after, upto, retry, give_up);
                    }
                };
                act.deliver_rows(ctx, &key, rows);
                let Some(cursor) = act.topics.get(&key).map(|j| j.cursor.clone()) else {
                    return;
                };
                let mut c = lock(&cursor);
                if c.last_seq < upto {
                    let visible = head.min(upto);
                    if c.last_seq < visible {
                        // Below the head and not in the table: removed, it will never come.
                        metrics::counter!("atende_ws_events_absent_total")
                            .increment((visible - c.last_seq) as u64);
                        tracing::info!(topic = %key, from = c.last_seq + 1, to = visible, "events no longer stored; passing over them");
                        c.last_seq = visible;
                    }
                    if c.last_seq < upto {
                        let from = c.last_seq;
                        drop(c);
                        return act.retry_fill(ctx, key, from, upto, retry, give_up);
                    }
                }
                drop(c);
                if let Some(j) = act.topics.get_mut(&key) {
                    j.gap = None;
                }
                act.drain_pending(ctx, key);
            }),
        );
    }

    /// Read a gap again after `wait`; after `gap_max_reads` reads the connection is closed
    /// (1012, the client resumes with `since`) rather than delivering past a hole.
    fn retry_fill(
        &mut self,
        ctx: &mut Context<Self>,
        key: Arc<str>,
        after: i64,
        upto: i64,
        wait: Duration,
        give_up: bool,
    ) {
        if give_up {
            metrics::counter!("atende_ws_gap_giveups_total").increment(1);
            tracing::warn!(topic = %key, after, upto, "events not readable after repeated gap fills; closing so the client resumes");
            return self.close(ctx, close::SERVICE_RESTART, "resume");
        }
        ctx.run_later(wait, move |act, ctx| act.fill_gap(ctx, key, after, upto));
    }

    pub(super) fn leave(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
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
                let err = WsError::conflict("not_joined", "não inscrito neste tópico");
                self.reply(ctx, &frame.reference, &frame.topic, Err(err));
            }
        }
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    /// The slow path from the hub: gaps, catch-ups, internal topics.
    fn handle(&mut self, d: Deliver, ctx: &mut Self::Context) {
        if let Some(key) = d.topic.strip_prefix(SESSION_TOPIC_PREFIX) {
            if key.starts_with(ACCESS_KEY_PREFIX) {
                // A role of this user was taken away: their topics must be authorized anew.
                return self.close(ctx, close::ACCESS_CHANGED, "access changed");
            }
            // The credential behind this connection was revoked (logout, logout everywhere,
            // password change, account disabled, token reuse, panel or guest revoked).
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
        let key = d.topic.clone();
        c.pending = Some(vec![d]);
        drop(c);
        self.hold_gap(ctx, key);
    }
}
