//! Who is on a topic: a connection announces its user on join (their first connection
//! there on this node) and withdraws them on leave or close (their last one).

use serde_json::Value;

use super::session::WsSession;
use crate::actors::hub::{PRESENCE_JOIN, PresenceEntry};
use crate::actors::protocol::Topic;
use crate::app::guests::Guest;
use crate::bus::TopicEvent;
use crate::domain::UserId;

impl WsSession {
    /// Who this connection is in presence: its user, or — for a patient who entered a
    /// teleconsultation by link — a stand-in id (the appointment's) and their first name.
    pub(super) fn presence_identity(&self) -> Option<(UserId, String)> {
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

    pub(super) fn presence_entry(&self, topic: &Topic, role: &str) -> Option<PresenceEntry> {
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
    pub(super) fn publish_presence(&self, topic: &Topic, role: &str, event: &str) {
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
}
