//! Revocations every node must act on at once: a login session ended (logout, logout
//! everywhere, password change, account disabled, token reuse), a user's roles changed, a TV
//! panel's secret replaced, a teleconsultation guest's invitation taken back. Each is an
//! event on an internal `session:<key>` topic that the connections opened with that
//! credential listen to; clients can never join these topics.

use serde_json::Value;

use super::{EventBus, TopicEvent};
use crate::domain::{SessionId, UserId};

/// Internal hub topic `session:<id>`: a `session.revoked` event on it closes every
/// connection opened with that login session, on every node. Clients cannot join it.
pub const SESSION_TOPIC_PREFIX: &str = "session:";

/// Tell every node to drop the WebSocket connections of a revoked login session.
pub fn publish_session_revoked(bus: &dyn EventBus, session: SessionId) {
    publish_revoked(bus, &session.to_string());
}

/// The same for several sessions (logout everywhere, password change, account disabled).
pub fn publish_sessions_revoked(bus: &dyn EventBus, sessions: &[SessionId]) {
    for session in sessions {
        publish_session_revoked(bus, *session);
    }
}

/// Tell every node that a user's roles changed (a role in a clinic was taken away): their
/// connections close with 4002 `access changed`, and a reconnect joins only what the user
/// may still see.
pub fn publish_access_changed(bus: &dyn EventBus, user: UserId) {
    bus.publish(TopicEvent {
        topic: format!("{SESSION_TOPIC_PREFIX}{}", access_key(user)),
        event: "access.changed".into(),
        seq: None,
        payload: Value::Null,
    });
}

/// The key a user's connections listen on for changes of their roles.
pub fn access_key(user: UserId) -> String {
    format!("{ACCESS_KEY_PREFIX}{user}")
}

/// Prefix of the access-change keys (after [`SESSION_TOPIC_PREFIX`]).
pub const ACCESS_KEY_PREFIX: &str = "access-";

/// The same for a replaced TV panel secret (by its hash): panels showing the old link
/// are disconnected and cannot rejoin.
pub fn publish_panel_revoked(bus: &dyn EventBus, token_hash: &str) {
    publish_revoked(bus, &panel_key(token_hash));
}

/// The same for a teleconsultation guest whose invitation was taken back.
pub fn publish_consult_guest_revoked(bus: &dyn EventBus, guest: uuid::Uuid) {
    publish_revoked(bus, &consult_guest_key(guest));
}

/// The key a teleconsultation guest's connections listen on.
pub fn consult_guest_key(guest: uuid::Uuid) -> String {
    format!("consult-guest-{guest}")
}

fn publish_revoked(bus: &dyn EventBus, key: &str) {
    bus.publish(revoked_event(key));
}

fn revoked_event(key: &str) -> TopicEvent {
    TopicEvent {
        topic: format!("{SESSION_TOPIC_PREFIX}{key}"),
        event: "session.revoked".into(),
        seq: None,
        payload: Value::Null,
    }
}

/// The event that closes a login session's connections, for a node to hand its own hub
/// (the revocation watch, which finds sessions revoked by processes without a bus).
pub fn session_revoked_event(session: SessionId) -> TopicEvent {
    revoked_event(&session.to_string())
}

/// The key a TV panel's connections listen on.
pub fn panel_key(token_hash: &str) -> String {
    format!("panel-{token_hash}")
}
