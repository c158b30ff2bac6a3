//! The SMS channel: Twilio's Programmable Messaging API (`2010-04-01`), written from its
//! published OpenAPI description (twilio/twilio-oai, `spec/json/twilio_api_v2010.json`).
//!
//! Out: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` (operation
//! `CreateMessage`, security `accountSid_authToken`: HTTP Basic with the account SID and
//! the auth token), form-encoded: `To` (E.164, the one required field), `From` and/or
//! `MessagingServiceSid` (`MG…`), `Body`, `StatusCallback` (a URI). The answer is `201` with
//! an `api.v2010.account.message` (`sid` `SM…`, `status`, `error_code`, `num_segments`…).
//! The description lists no error responses; Twilio's REST errors are a JSON object with
//! `code`, `message`, `more_info` and `status`: 429 and 5xx are worth retrying, other 4xx
//! are not.
//!
//! No idempotency key: the Messages API has none, so a retry after a crash could send
//! twice. What atende does about it: each message's `StatusCallback` URL names its outbox
//! id, and the first status callback for it (Twilio sends `queued`/`sent` within seconds)
//! records the provider's `sid` on the outbox row even while it is still `sending`; a
//! worker that takes the message over after a crash finds the `sid` and records it as sent
//! instead of sending again. The limit: a node that dies after Twilio took a message and
//! before any callback reached atende (no node up, or the public URL unreachable) leaves
//! nothing to find, and the takeover sends it a second time.
//!
//! In: status callbacks and inbound messages are form posts signed with
//! `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, full URL + each POST parameter's
//! name and value, sorted by name)).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::templates::{absolute, when};
use super::{Accepted, Channel, Outgoing, SendError};
use crate::config::SmsSettings;
use crate::domain::sms::{Piece, fit};

/// The outbox template SMS carries.
const REMINDER: &str = "appointment_reminder";

/// The path of status callbacks; `?outbox=<id>` names the message.
pub const STATUS_PATH: &str = "/api/webhooks/sms/status";
/// The path of inbound messages (configured on the Twilio number or messaging service).
pub const INBOUND_PATH: &str = "/api/webhooks/sms/inbound";

/// Sends the outbox's `sms` messages through Twilio.
pub struct SmsChannel {
    http: reqwest::Client,
    /// `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
    url: String,
    account_sid: String,
    token: String,
    from: String,
    service: String,
    /// `messaging.sms.public_base_url`; empty: the message's own base URL.
    public_base: String,
    max_segments: u32,
}

impl SmsChannel {
    pub fn new(s: &SmsSettings) -> anyhow::Result<Self> {
        let http = super::api_client("messaging.sms", s.timeout_secs)?;
        Ok(Self {
            http,
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                s.api_base_url.trim_end_matches('/'),
                s.account_sid
            ),
            account_sid: s.account_sid.clone(),
            token: s.auth_token.expose().clone(),
            from: s.from_number.clone(),
            service: s.messaging_service_sid.clone(),
            public_base: s.public_base_url.trim_end_matches('/').to_string(),
            max_segments: s.max_segments,
        })
    }

    /// The text of a message: who is writing, the appointment, how to answer, the links —
    /// within `max_segments` parts (see [`fit`]).
    pub fn text(&self, m: &Outgoing) -> Result<String, SendError> {
        if m.template != REMINDER {
            return Err(SendError::permanent(format!(
                "sms: no text for {}",
                m.template
            )));
        }
        let p = &m.payload;
        let name = p["patient_name"].as_str().unwrap_or_default();
        let first = name.split_whitespace().next().unwrap_or(name);
        let starts = p["starts_at"]
            .as_str()
            .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok())
            .map(|t| when(t, m.sender.time_zone))
            .ok_or_else(|| SendError::permanent("sms: the reminder has no time"))?;
        let link = |key: &str| p["links"][key].as_str().map(|l| absolute(&m.base_url, l));
        let mut pieces = vec![
            Piece::text(format!("{}:", m.sender.name), Piece::REQUIRED),
            Piece::text(
                format!("{first}, lembrete da sua consulta de {starts}."),
                Piece::REQUIRED,
            ),
        ];
        if let Some(prof) = p["professional_name"].as_str().filter(|s| !s.is_empty()) {
            pieces.push(Piece::text(format!("Profissional: {prof}."), 3));
        }
        pieces.push(Piece::text(
            "Responda 1 para confirmar ou 2 para cancelar.",
            8,
        ));
        if let Some(l) = link("confirm_path") {
            pieces.push(Piece::link(format!("Confirmar: {l}"), 5));
        }
        if let Some(l) = link("cancel_path") {
            pieces.push(Piece::link(format!("Cancelar: {l}"), 4));
        }
        pieces.push(Piece::text("PARAR para não receber mais SMS.", 2));
        Ok(fit(&pieces, self.max_segments))
    }

    /// Where Twilio reports what became of message `m`.
    pub fn status_callback(&self, m: &Outgoing) -> String {
        let base = if self.public_base.is_empty() {
            m.base_url.trim_end_matches('/')
        } else {
            &self.public_base
        };
        format!("{base}{STATUS_PATH}?outbox={}", m.id.simple())
    }

    /// The form fields of the `CreateMessage` request (public for tests).
    pub fn form(&self, m: &Outgoing) -> Result<Vec<(&'static str, String)>, SendError> {
        let mut form = vec![("To", m.to.clone())];
        if !self.from.is_empty() {
            form.push(("From", self.from.clone()));
        }
        if !self.service.is_empty() {
            form.push(("MessagingServiceSid", self.service.clone()));
        }
        form.push(("Body", self.text(m)?));
        form.push(("StatusCallback", self.status_callback(m)));
        Ok(form)
    }

    /// The account whose webhooks this channel accepts.
    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }
}

#[async_trait::async_trait]
impl Channel for SmsChannel {
    fn name(&self) -> &'static str {
        "sms"
    }

    async fn send(&self, m: &Outgoing) -> Result<Accepted, SendError> {
        let form = self.form(m)?;
        let resp = self
            .http
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.token))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::transient(format!("sms: {e}")))?;
        let status = resp.status();
        let answer: serde_json::Value = resp.json().await.unwrap_or_default();
        if status.is_success() {
            let sid = answer["sid"].as_str().map(str::to_string);
            if sid.is_none() {
                tracing::warn!("sms: the provider's answer names no message sid");
            }
            return Ok(Accepted { provider_id: sid });
        }
        let reason = format!(
            "sms {}: {} (code {})",
            status.as_u16(),
            answer["message"].as_str().unwrap_or("no error message"),
            answer["code"]
        );
        Err(super::refusal(status, reason))
    }
}

/// `X-Twilio-Signature` for a request to `url` with these POST parameters: base64 of the
/// HMAC-SHA1, under the auth token, of the URL followed by each parameter's name and value
/// (sorted by name, then value).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(auth_token, url, params).finalize().into_bytes())
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    #[allow(clippy::expect_used)] // HMAC takes a key of any length
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

/// Whether `header` is the signature of this request, compared in constant time. An empty
/// token verifies nothing.
pub fn signature_valid(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    if auth_token.is_empty() {
        return false;
    }
    let Some(given) = header.and_then(|h| {
        base64::engine::general_purpose::STANDARD
            .decode(h.trim())
            .ok()
    }) else {
        return false;
    };
    mac(auth_token, url, params).verify_slice(&given).is_ok()
}

/// What a status callback says about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsStatus {
    /// `accepted`, `scheduled`, `queued`, `sending` or `sent`: on its way.
    OnItsWay,
    Delivered,
    Read,
    /// `undelivered` or `failed`, with Twilio's `ErrorCode`.
    Failed(String),
    /// Anything else (`canceled`, `receiving`…): nothing to record.
    Other,
}

/// A status callback's fields atende uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    pub account_sid: String,
    pub message_sid: String,
    pub status: SmsStatus,
    /// The raw `MessageStatus`, which with the sid makes the event's identity.
    pub status_name: String,
}

/// An inbound SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSms {
    pub account_sid: String,
    pub message_sid: String,
    /// The sender, E.164 (`+5511…`).
    pub from: String,
    pub body: String,
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The fields of a status callback; an error when one it needs is missing.
pub fn parse_status(params: &[(String, String)]) -> Result<StatusCallback, &'static str> {
    let sid = field(params, "MessageSid").ok_or("MessageSid is missing")?;
    let name = field(params, "MessageStatus").ok_or("MessageStatus is missing")?;
    let status = match name {
        "accepted" | "scheduled" | "queued" | "sending" | "sent" => SmsStatus::OnItsWay,
        "delivered" => SmsStatus::Delivered,
        "read" => SmsStatus::Read,
        "undelivered" | "failed" => SmsStatus::Failed(format!(
            "sms {name}: error {}",
            field(params, "ErrorCode").unwrap_or("unknown")
        )),
        _ => SmsStatus::Other,
    };
    Ok(StatusCallback {
        account_sid: field(params, "AccountSid").unwrap_or_default().to_string(),
        message_sid: sid.to_string(),
        status,
        status_name: name.to_string(),
    })
}

/// The fields of an inbound message; an error when one it needs is missing.
pub fn parse_inbound(params: &[(String, String)]) -> Result<InboundSms, &'static str> {
    Ok(InboundSms {
        account_sid: field(params, "AccountSid").unwrap_or_default().to_string(),
        message_sid: field(params, "MessageSid")
            .ok_or("MessageSid is missing")?
            .to_string(),
        from: field(params, "From").ok_or("From is missing")?.to_string(),
        body: field(params, "Body").unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A vector computed apart from this code, with Python's standard library:
    ///
    /// ```text
    /// >>> import hmac, hashlib, base64
    /// >>> s = "https://clinica.example/api/webhooks/sms/status?outbox=abc" \
    /// ...     + "AccountSidAC0123" + "Body1" + "From+5511987654321" \
    /// ...     + "MessageSidSM42" + "MessageStatusdelivered"
    /// >>> base64.b64encode(hmac.new(b"12345", s.encode(), hashlib.sha1).digest())
    /// b'pEjjExpqwgZOGEJ7utMWD6aGGrg='
    /// ```
    ///
    /// (The parameters are given out of order; sorting by name puts `AccountSid`, `Body`,
    /// `From`, `MessageSid`, `MessageStatus`.)
    #[test]
    fn the_signature_matches_a_vector_computed_with_python_hmac() {
        let url = "https://clinica.example/api/webhooks/sms/status?outbox=abc";
        let p = params(&[
            ("MessageStatus", "delivered"),
            ("MessageSid", "SM42"),
            ("Body", "1"),
            ("From", "+5511987654321"),
            ("AccountSid", "AC0123"),
        ]);
        assert_eq!(signature("12345", url, &p), "pEjjExpqwgZOGEJ7utMWD6aGGrg=");
        assert!(signature_valid(
            "12345",
            url,
            &p,
            Some("pEjjExpqwgZOGEJ7utMWD6aGGrg=")
        ));
        assert!(!signature_valid(
            "54321",
            url,
            &p,
            Some("pEjjExpqwgZOGEJ7utMWD6aGGrg=")
        ));
        let other_url = url.replace("abc", "abd");
        assert!(!signature_valid(
            "12345",
            &other_url,
            &p,
            Some("pEjjExpqwgZOGEJ7utMWD6aGGrg=")
        ));
        let mut changed = p.clone();
        changed[0].1 = "undelivered".into();
        assert!(!signature_valid(
            "12345",
            url,
            &changed,
            Some("pEjjExpqwgZOGEJ7utMWD6aGGrg=")
        ));
        assert!(!signature_valid("12345", url, &p, None));
        assert!(!signature_valid("12345", url, &p, Some("não é base64")));
        assert!(!signature_valid(
            "",
            url,
            &p,
            Some("pEjjExpqwgZOGEJ7utMWD6aGGrg=")
        ));
    }

    #[test]
    fn status_callbacks_map_twilio_states_and_keep_the_error_code() {
        let s = parse_status(&params(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]))
        .expect("parses");
        assert_eq!(
            s.status,
            SmsStatus::Failed("sms undelivered: error 30003".into())
        );
        for (name, want) in [
            ("queued", SmsStatus::OnItsWay),
            ("sent", SmsStatus::OnItsWay),
            ("delivered", SmsStatus::Delivered),
            ("canceled", SmsStatus::Other),
        ] {
            let s = parse_status(&params(&[("MessageSid", "SM1"), ("MessageStatus", name)]))
                .expect("parses");
            assert_eq!(s.status, want, "{name}");
        }
        assert!(parse_status(&params(&[("MessageStatus", "sent")])).is_err());
        assert!(parse_inbound(&params(&[("MessageSid", "SM1"), ("Body", "1")])).is_err());
    }
}
