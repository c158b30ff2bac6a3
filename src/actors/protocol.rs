//! The WebSocket protocol's frames and topics (see docs/protocol.md).
//!
//! client → server: `{"ref":"7","topic":"chat:<id>","event":"join","payload":{"since":41}}`
//! reply:           `{"ref":"7","topic":"…","event":"reply","payload":{"status":"ok","response":{…}}}`
//!                  `{"ref":"7","topic":"…","event":"reply","payload":{"status":"error","code":"forbidden","message":"…"}}`
//! push:            `{"topic":"…","event":"chat.message","seq":42,"payload":{…}}`

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::{ChatRoomId, ClinicId, UserId};

/// The pseudo-topic for connection-level events (auth, heartbeat).
pub const SYSTEM_TOPIC: &str = "system";

/// A frame from the client, as far as it could be read.
#[derive(Debug, Deserialize)]
pub struct ClientFrame {
    /// Echoed in the reply; any JSON scalar.
    #[serde(rename = "ref", default)]
    pub reference: Value,
    pub topic: String,
    pub event: String,
    #[serde(default = "empty_object")]
    pub payload: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// What kind of refusal an error is: the edges map it to an HTTP status (422, 409, 404…)
/// without looking at the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Well-formed input that breaks a rule (HTTP 422).
    Invalid,
    /// The caller's credential is missing, expired or revoked (HTTP 401).
    Unauthorized,
    /// The caller may not do this (HTTP 403).
    Forbidden,
    /// No such thing, or not one the caller may know of (HTTP 404).
    NotFound,
    /// The thing is not in a state that allows this (HTTP 409).
    Conflict,
    /// Too many requests from this caller (HTTP 429).
    RateLimited,
    /// A part of the service is down or restarting; try again (HTTP 503).
    Unavailable,
    /// A bug or a failure of storage (HTTP 500); the cause went to the log.
    Internal,
}

/// Errors a reply can carry; the code is stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    /// When to try again, for refusals that are about load, not about the request.
    pub retry_after_ms: Option<u64>,
}

impl WsError {
    /// Input that breaks a rule.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Invalid, code, message)
    }
    pub fn of(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
    /// Saturated (a room's or the node's queue of work is full): nothing was done; send the
    /// same request again (same `client_id`) after `retry_after_ms`.
    pub fn overloaded(retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::of(
                ErrorKind::Unavailable,
                "overloaded",
                "muita demanda agora; tente de novo em instantes",
            )
        }
    }
    /// Not allowed in the thing's current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Conflict, code, message)
    }
    /// A credential that does not (or no longer) open this.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Unauthorized, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::NotFound, "not_found", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Unavailable, "unavailable", message)
    }
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::RateLimited, "rate_limited", message)
    }
    pub fn forbidden() -> Self {
        Self::of(
            ErrorKind::Forbidden,
            "forbidden",
            "sem permissão para este tópico",
        )
    }
    pub fn internal() -> Self {
        Self::of(
            ErrorKind::Internal,
            "internal_error",
            "erro interno; tente novamente",
        )
    }
}

impl From<crate::store::StoreError> for WsError {
    fn from(e: crate::store::StoreError) -> Self {
        if let crate::store::StoreError::Full(cause) = &e {
            tracing::error!(error = %cause, "storage full; the change was not made");
            return Self::of(
                ErrorKind::Unavailable,
                "storage_full",
                "o armazenamento do servidor está cheio; nada foi alterado — avise o suporte",
            );
        }
        tracing::error!(error = ?e, "storage error in websocket handler");
        Self::internal()
    }
}

/// The topics a client may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    ClinicAgenda(ClinicId),
    ClinicQueue(ClinicId),
    /// The redacted waiting-room view for TV panels and patients' phones.
    ClinicPanel(ClinicId),
    /// Public: which days of which professional changed (booking pages refetch their slots).
    ClinicSlots(ClinicId),
    Chat(ChatRoomId),
    Consult(uuid::Uuid),
    User(UserId),
}

impl FromStr for Topic {
    type Err = WsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || WsError::new("unknown_topic", format!("tópico desconhecido: {s}"));
        let parts: Vec<&str> = s.split(':').collect();
        let uuid = |p: &str| p.parse::<uuid::Uuid>().map_err(|_| unknown());
        match parts.as_slice() {
            ["clinic", id, "agenda"] => Ok(Topic::ClinicAgenda(ClinicId(uuid(id)?))),
            ["clinic", id, "queue"] => Ok(Topic::ClinicQueue(ClinicId(uuid(id)?))),
            ["clinic", id, "panel"] => Ok(Topic::ClinicPanel(ClinicId(uuid(id)?))),
            ["clinic", id, "slots"] => Ok(Topic::ClinicSlots(ClinicId(uuid(id)?))),
            ["chat", id] => Ok(Topic::Chat(ChatRoomId(uuid(id)?))),
            ["consult", id] => Ok(Topic::Consult(uuid(id)?)),
            ["user", id] => Ok(Topic::User(UserId(uuid(id)?))),
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::ClinicAgenda(c) => write!(f, "clinic:{c}:agenda"),
            Topic::ClinicQueue(c) => write!(f, "clinic:{c}:queue"),
            Topic::ClinicPanel(c) => write!(f, "clinic:{c}:panel"),
            Topic::ClinicSlots(c) => write!(f, "clinic:{c}:slots"),
            Topic::Chat(r) => write!(f, "chat:{r}"),
            Topic::Consult(c) => write!(f, "consult:{c}"),
            Topic::User(u) => write!(f, "user:{u}"),
        }
    }
}

pub fn reply_ok(reference: &Value, topic: &str, response: Value) -> String {
    json!({"ref": reference, "topic": topic, "event": "reply",
           "payload": {"status": "ok", "response": response}})
    .to_string()
}

pub fn reply_error(reference: &Value, topic: &str, err: &WsError) -> String {
    let mut payload = json!({"status": "error", "code": err.code, "message": err.message});
    if let Some(ms) = err.retry_after_ms {
        payload["retry_after_ms"] = json!(ms);
    }
    json!({"ref": reference, "topic": topic, "event": "reply", "payload": payload}).to_string()
}

/// Close codes used by the server.
pub mod close {
    /// The server is restarting; reconnect (possibly to another node).
    pub const SERVICE_RESTART: u16 = 1012;
    /// Policy violation: authentication failed or timed out, flood, slow consumer.
    pub const POLICY: u16 = 1008;
    /// A frame larger than `realtime.max_frame_bytes`.
    pub const TOO_BIG: u16 = 1009;
    /// The client stopped answering heartbeats.
    pub const HEARTBEAT_TIMEOUT: u16 = 4000;
    /// The connection reached `realtime.max_socket_secs`: authenticate again (refresh the
    /// access token, get a new ticket) and reconnect.
    pub const REAUTHENTICATE: u16 = 4001;
    /// The user's roles changed (a role in a clinic was taken away): reconnect; joins are
    /// authorized against the roles as they are now.
    pub const ACCESS_CHANGED: u16 = 4002;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_and_junk_is_unknown() {
        let id = uuid::Uuid::now_v7();
        for s in [
            format!("clinic:{id}:agenda"),
            format!("clinic:{id}:queue"),
            format!("chat:{id}"),
            format!("consult:{id}"),
            format!("user:{id}"),
        ] {
            assert_eq!(s.parse::<Topic>().expect("parses").to_string(), s);
        }
        for bad in [
            "",
            "chat",
            "chat:xyz",
            "clinic:{id}:billing",
            "user:1:2",
            "system",
        ] {
            assert_eq!(bad.parse::<Topic>().expect_err(bad).code, "unknown_topic");
        }
    }

    #[test]
    fn replies_echo_the_ref() {
        let r = reply_error(&json!(7), "chat:x", &WsError::forbidden());
        let v: Value = serde_json::from_str(&r).expect("json");
        assert_eq!(v["ref"], 7);
        assert_eq!(v["payload"]["code"], "forbidden");
    }
}
