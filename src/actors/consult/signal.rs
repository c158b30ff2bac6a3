//! WebRTC signaling as the server checks it: well formed, from a participant, aimed at the
//! other side. The server never interprets media.

use serde_json::{Value, json};

use crate::actors::protocol::WsError;
use crate::domain::consult::Side;

/// Largest SDP accepted (browsers' offers with several tracks are a few KB).
const MAX_SDP: usize = 64 * 1024;
const MAX_CANDIDATE: usize = 1024;

/// Check a signaling payload; the relayed form.
pub fn check_signal(side: Side, p: &Value) -> Result<Value, WsError> {
    let to = p.get("to").and_then(Value::as_str).unwrap_or("");
    let other = match side {
        Side::Professional => "patient",
        Side::Patient => "professional",
        // Guests are in relayed calls only: no peer-to-peer signaling.
        Side::Guest => return Err(WsError::forbidden()),
    };
    if to != other {
        return Err(WsError::conflict(
            "not_in_session",
            format!("destinatário inválido: envie para \"{other}\""),
        ));
    }
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    let mut out = json!({"from": side.as_str(), "to": to, "type": kind});
    match kind {
        "offer" | "answer" => {
            let sdp = p.get("sdp").and_then(Value::as_str).unwrap_or("");
            let well_formed = sdp.len() <= MAX_SDP
                && sdp.starts_with("v=0")
                && sdp.contains("\nm=")
                && sdp.lines().all(|l| {
                    let l = l.trim_end_matches('\r');
                    l.is_empty() || (l.len() >= 2 && l.as_bytes()[1] == b'=')
                });
            if !well_formed {
                return Err(WsError::new("invalid_sdp", "SDP malformado"));
            }
            out["sdp"] = json!(sdp);
            out["restart"] = json!(p.get("restart").and_then(Value::as_bool).unwrap_or(false));
        }
        "candidate" => {
            let c = p.get("candidate").unwrap_or(&Value::Null);
            let text = c.get("candidate").and_then(Value::as_str);
            let mid = c.get("sdpMid");
            let index = c.get("sdpMLineIndex");
            let ok = match text {
                Some(t) => {
                    t.len() <= MAX_CANDIDATE
                        && (t.is_empty() || t.starts_with("candidate:"))
                        && mid.is_none_or(|m| {
                            m.is_null() || m.as_str().is_some_and(|s| s.len() <= 64)
                        })
                        && index.is_none_or(|i| i.is_null() || i.as_u64().is_some_and(|n| n < 64))
                }
                None => false,
            };
            if !ok {
                return Err(WsError::new(
                    "invalid_candidate",
                    "candidato ICE malformado",
                ));
            }
            out["candidate"] = json!({
                "candidate": text,
                "sdpMid": mid.cloned().unwrap_or(Value::Null),
                "sdpMLineIndex": index.cloned().unwrap_or(Value::Null),
            });
        }
        // The patient asks the professional (the offerer) for an ICE restart.
        "restart-request" => {}
        _ => {
            return Err(WsError::new(
                "invalid_payload",
                "type deve ser offer, answer, candidate ou restart-request",
            ));
        }
    }
    Ok(out)
}
