//! Callers without a user account, who hold a capability instead: a clinic's TV panel
//! (its secret), a patient following their place in line (a signed tracker link), anyone on
//! a public booking page, and a teleconsultation's patient or invited guest (their link).

use crate::actors::protocol::WsError;
use crate::app::state::AppState;
use crate::domain::ClinicId;

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
    let invalid = || WsError::unauthorized("invalid_token", "link inválido ou expirado");
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
            .verify(TRACKER_PURPOSE, token, state.clock.now().timestamp())
            .map_err(|_| invalid())?;
        let row = state.store.queue_entry(entry).await?.ok_or_else(invalid)?;
        return Ok(Guest::Tracker {
            clinic: row.clinic_id,
            entry,
        });
    }
    Err(invalid())
}
