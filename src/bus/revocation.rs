//! Revocations every node must act on at once: a login session ended (logout, password
//! change, token reuse), a TV panel's secret replaced, a teleconsultation guest's invitation
//! taken back. Each is an event on an internal `session:<key>` topic that the connections
//! opened with that credential listen to; clients can never join these topics.

use serde_json::Value;

use super::{EventBus, TopicEvent};
use crate::domain::SessionId;

/// Internal hub topic `session:<id>`: a `session.revoked` event on it closes every
/// connection opened with that login session, on every node. Clients cannot join it.
pub const SESSION_TOPIC_PREFIX: &str = "session:";

/// Tell every node to drop the WebSocket connections of a revoked login session.
pub fn publish_session_revoked(bus: &dyn EventBus, session: SessionId) {
    publish_revoked(bus, &session.to_string());
}

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
    bus.publish(TopicEvent {
        topic: format!("{SESSION_TOPIC_PREFIX}{key}"),
        event: "session.revoked".into(),
        seq: None,
        payload: Value::Null,
    });
}

/// The key a TV panel's connections listen on.
pub fn panel_key(token_hash: &str) -> String {
    format!("panel-{token_hash}")
}
