//! A teleconsultation: where its session stands (and the moves between its states), how its
//! media flows, and which side of the call a participant is on.

use serde::{Deserialize, Serialize};

use super::stored::stored_as_text;

/// A teleconsultation's session: nobody entered it yet, the patient waits in the virtual
/// waiting room, the professional admitted them and the call is on, or it is over (ended by
/// the professional, abandoned, or its appointment cancelled). Stored as the same
/// snake_case text in `consult_sessions.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsultStatus {
    Scheduled,
    Waiting,
    InCall,
    Ended,
}

impl ConsultStatus {
    pub const ALL: [ConsultStatus; 4] = [
        ConsultStatus::Scheduled,
        ConsultStatus::Waiting,
        ConsultStatus::InCall,
        ConsultStatus::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsultStatus::Scheduled => "scheduled",
            ConsultStatus::Waiting => "waiting",
            ConsultStatus::InCall => "in_call",
            ConsultStatus::Ended => "ended",
        }
    }

    /// The only moves a session makes: the patient enters the waiting room (scheduled →
    /// waiting), the professional admits them (waiting → in_call), and any session not yet
    /// over ends (by the professional, abandoned, or its appointment cancelled).
    pub fn can_become(self, to: ConsultStatus) -> bool {
        use ConsultStatus::*;
        matches!(
            (self, to),
            (Scheduled, Waiting) | (Waiting, InCall) | (Scheduled | Waiting | InCall, Ended)
        )
    }

    /// The states a session may move to `to` from.
    pub fn sources_of(to: ConsultStatus) -> Vec<ConsultStatus> {
        Self::ALL
            .into_iter()
            .filter(|from| from.can_become(to))
            .collect()
    }
}

stored_as_text!(
    ConsultStatus,
    "invalid_status",
    "situação de teleconsulta desconhecida"
);

/// How a call's media flows: straight between the browsers (`p2p`, STUN/TURN) or through
/// atende's media relay (`relay`). Stored as the same text in `consult_sessions.media`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsultMedia {
    P2p,
    Relay,
}

impl ConsultMedia {
    pub const ALL: [ConsultMedia; 2] = [ConsultMedia::P2p, ConsultMedia::Relay];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsultMedia::P2p => "p2p",
            ConsultMedia::Relay => "relay",
        }
    }
}

stored_as_text!(ConsultMedia, "invalid_media", "modo de mídia desconhecido");

/// The key a participant publishes and rate-limits under: `professional`, `patient` or
/// `guest:<id>`.
pub fn participant_key(side: Side, guest: Option<uuid::Uuid>) -> String {
    match guest {
        Some(g) => format!("guest:{g}"),
        None => side.as_str().to_string(),
    }
}

/// Which side of the call a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Professional,
    Patient,
    /// A third participant the professional invited (interpreter, family member): in the
    /// call through the media relay only, and in its chat.
    Guest,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Professional => "professional",
            Side::Patient => "patient",
            Side::Guest => "guest",
        }
    }

    pub fn from_role(role: &str) -> Option<Side> {
        match role {
            "professional" => Some(Side::Professional),
            "patient" => Some(Side::Patient),
            "guest" => Some(Side::Guest),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConsultStatus::{self, *};

    #[test]
    fn the_allowed_moves_are_exactly_these() {
        let allowed = [
            (Scheduled, Waiting),
            (Waiting, InCall),
            (Scheduled, Ended),
            (Waiting, Ended),
            (InCall, Ended),
        ];
        for from in ConsultStatus::ALL {
            for to in ConsultStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn an_ended_call_never_comes_back_and_no_step_is_skipped() {
        for to in ConsultStatus::ALL {
            assert!(!Ended.can_become(to), "ended → {to}");
        }
        assert!(!Scheduled.can_become(InCall));
        assert!(!InCall.can_become(Waiting));
        assert!(!Waiting.can_become(Scheduled));
        assert!(!InCall.can_become(InCall));
        assert_eq!(
            ConsultStatus::sources_of(Ended),
            [Scheduled, Waiting, InCall]
        );
        assert_eq!(ConsultStatus::sources_of(Waiting), [Scheduled]);
    }

    #[test]
    fn stored_text_round_trips() {
        for s in ConsultStatus::ALL {
            assert_eq!(ConsultStatus::parse(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).expect("serializes"),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(
            ConsultStatus::parse("cancelled").map_err(|e| e.code),
            Err("invalid_status")
        );
        for m in super::ConsultMedia::ALL {
            assert_eq!(super::ConsultMedia::try_from(m.as_str().to_string()), Ok(m));
            assert_eq!(
                serde_json::to_value(m).expect("serializes"),
                serde_json::json!(m.as_str())
            );
        }
    }
}
