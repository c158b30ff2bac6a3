//! The WhatsApp channel: Meta's WhatsApp Business Cloud API, written from its published
//! OpenAPI description (facebook/openapi, `business-messaging-api_v23.0.yaml`).
//!
//! Out: `POST {base}/{Version}/{Phone-Number-ID}/messages` with a bearer token and a
//! `TemplateMessage` (`messaging_product: whatsapp`, `type: template`, a `TemplateObject`
//! with a body component of text parameters and two quick-reply `ButtonComponent`s whose
//! `payload` parameters carry the reminder's signed confirm and cancel tokens). The answer
//! (`MessageResponsePayload`) names the message (`messages[0].id`, a `wamid`); refusals are an
//! `ErrorResponse` (`error.message`, `error.code`): 429 and 5xx are worth retrying, other 4xx
//! are not.
//!
//! A signed document goes as the document template: its PDF is first uploaded
//! (`POST {base}/{Version}/{Phone-Number-ID}/media`, operation `uploadImage`, `multipart/form-data`
//! with `messaging_product` and the `file`; the answer's `id` names the media), then sent as
//! the template's header (`HeaderComponent` with a `DocumentParameter`: a `MediaObject` with
//! that `id` and the file name) with the words in its body. A retry uploads again: media
//! the API never sent expire on their own.
//!
//! In: the webhook (`WebhookPayload`: `entry[].changes[].value`) carries `statuses[]`
//! (`sent`, `delivered`, `read`, `failed` with `errors[]`) and `messages[]` (`button` with
//! the tapped button's `payload`, `text` with `text.body`, others), each signed with
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::templates::{first_name, when};
use super::{Accepted, Attachment, Channel, DOCUMENT_TEMPLATE, Outgoing, SendError};
use crate::config::WhatsappSettings;
use crate::domain::document::DocumentKind;

/// The outbox template sent as the reminder template message.
const REMINDER: &str = "appointment_reminder";

/// Sends the outbox's `whatsapp` messages through the Cloud API.
pub struct WhatsappChannel {
    http: reqwest::Client,
    /// `{base}/{version}/{phone number id}`: `/messages` and `/media` under it.
    url: String,
    token: String,
    template: String,
    /// Empty: documents are not sent by WhatsApp.
    document_template: String,
    language: String,
}

impl WhatsappChannel {
    pub fn new(s: &WhatsappSettings) -> anyhow::Result<Self> {
        let http = super::api_client("messaging.whatsapp", s.timeout_secs)?;
        Ok(Self {
            http,
            url: format!(
                "{}/{}/{}",
                s.api_base_url.trim_end_matches('/'),
                s.api_version,
                s.phone_number_id
            ),
            token: s.access_token.expose().clone(),
            template: s.reminder_template.clone(),
            document_template: s.document_template.clone(),
            language: s.template_language.clone(),
        })
    }

    /// A signed document as the document template: the uploaded PDF (`media`) as its
    /// header; the body {{1}} first name, {{2}} professional, {{3}} kind of document, {{4}}
    /// the code that verifies it.
    pub fn document_body(&self, m: &Outgoing, media: &str, file_name: &str) -> Value {
        let p = &m.payload;
        let kind = serde_json::from_value::<DocumentKind>(p["kind"].clone())
            .map(|k| k.title())
            .unwrap_or("Documento");
        let text = |t: &str| json!({"type": "text", "text": t});
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_number(&m.to),
            "type": "template",
            "template": {
                "name": self.document_template,
                "language": {"policy": "deterministic", "code": self.language},
                "components": [
                    {"type": "header", "parameters": [
                        {"type": "document", "document": {"id": media, "filename": file_name}},
                    ]},
                    {"type": "body", "parameters": [
                        text(first_name(p)),
                        text(p["professional_name"].as_str().unwrap_or_default()),
                        text(kind),
                        text(p["code"].as_str().unwrap_or_default()),
                    ]},
                ],
            },
        })
    }

    /// Upload a file (`uploadImage`, multipart): the media id the API gave it.
    async fn upload(&self, file: &Attachment) -> Result<String, SendError> {
        let boundary = format!("atende-{}", uuid::Uuid::new_v4().simple());
        let resp = self
            .http
            .post(format!("{}/media", self.url))
            .bearer_auth(&self.token)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(multipart(&boundary, file))
            .send()
            .await
            .map_err(|e| SendError::transient(format!("whatsapp media: {e}")))?;
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(super::refusal(
                status,
                refusal_reason("whatsapp media", status, &answer),
            ));
        }
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::transient("whatsapp media: the answer names no media id"))
    }

    /// The request body for a message (public for tests and the benchmark).
    pub fn body(&self, m: &Outgoing) -> Result<Value, SendError> {
        if m.template != REMINDER {
            return Err(SendError::permanent(format!(
                "whatsapp: no template for {}",
                m.template
            )));
        }
        let token = |key: &str, prefix: &str| {
            m.payload["links"][key]
                .as_str()
                .and_then(|p| p.strip_prefix(prefix))
                .map(str::to_string)
                .ok_or_else(|| SendError::permanent("whatsapp: the reminder has no links"))
        };
        let confirm = token("confirm_path", "/#/link/confirm/")?;
        let cancel = token("cancel_path", "/#/link/cancel/")?;
        let p = &m.payload;
        let first = first_name(p);
        let starts = p["starts_at"]
            .as_str()
            .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok())
            .map(|t| when(t, m.sender.time_zone))
            .unwrap_or_default();
        let text = |t: &str| json!({"type": "text", "text": t});
        let button = |index: &str, payload: String| {
            json!({"type": "button", "sub_type": "quick_reply", "index": index,
                   "parameters": [{"type": "payload", "payload": payload}]})
        };
        Ok(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_number(&m.to),
            "type": "template",
            "template": {
                "name": self.template,
                "language": {"policy": "deterministic", "code": self.language},
                "components": [
                    {"type": "body", "parameters": [
                        text(first),
                        text(&m.sender.name),
                        text(&starts),
                        text(p["professional_name"].as_str().unwrap_or_default()),
                    ]},
                    button("0", button_payload(ButtonAction::Confirm, &confirm)),
                    button("1", button_payload(ButtonAction::Cancel, &cancel)),
                ],
            },
        }))
    }
}

#[async_trait::async_trait]
impl Channel for WhatsappChannel {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    fn attaches(&self, template: &str) -> bool {
        template == DOCUMENT_TEMPLATE && !self.document_template.is_empty()
    }

    async fn send(&self, m: &Outgoing) -> Result<Accepted, SendError> {
        let body = match (&m.attachment, self.attaches(&m.template)) {
            (Some(file), true) => {
                let media = self.upload(file).await?;
                self.document_body(m, &media, &file.file_name)
            }
            (None, true) => {
                return Err(SendError::permanent(
                    "whatsapp: the document's file is missing",
                ));
            }
            _ => self.body(m)?,
        };
        let resp = self
            .http
            .post(format!("{}/messages", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::transient(format!("whatsapp: {e}")))?;
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let id = answer["messages"][0]["id"].as_str().map(str::to_string);
            if id.is_none() {
                tracing::warn!("whatsapp: the provider's answer names no message id");
            }
            return Ok(Accepted { provider_id: id });
        }
        Err(super::refusal(
            status,
            refusal_reason("whatsapp", status, &answer),
        ))
    }
}

/// A refusal in the API's words (`ErrorResponse`).
fn refusal_reason(what: &str, status: reqwest::StatusCode, answer: &Value) -> String {
    format!(
        "{what} {}: {} (code {})",
        status.as_u16(),
        answer["error"]["message"]
            .as_str()
            .unwrap_or("no error message"),
        answer["error"]["code"]
    )
}

/// A `multipart/form-data` body (RFC 7578) of an upload: `messaging_product`, the file's
/// `type`, and the `file` itself.
fn multipart(boundary: &str, file: &Attachment) -> Vec<u8> {
    // The name goes in a quoted header parameter: keep it to characters that need no escape.
    let name: String = file
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = Vec::with_capacity(file.bytes.len() + 512);
    for (field, value) in [
        ("messaging_product", "whatsapp"),
        ("type", file.content_type),
    ] {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {}\r\n\r\n",
            file.content_type
        )
        .as_bytes(),
    );
    out.extend_from_slice(&file.bytes);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// What a quick-reply button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    Confirm,
    Cancel,
}

impl ButtonAction {
    /// The one-click link action it stands for.
    pub fn link_action(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
        }
    }
}

/// A button's payload: the action and the appointment's signed link token, so a reply
/// names its appointment and action unforgeably (`confirm:<token>`).
pub fn button_payload(action: ButtonAction, token: &str) -> String {
    format!("{}:{token}", action.link_action())
}

/// The action and token a button payload carries.
pub fn parse_button(payload: &str) -> Option<(ButtonAction, &str)> {
    let (action, token) = payload.split_once(':')?;
    let action = match action {
        "confirm" => ButtonAction::Confirm,
        "cancel" => ButtonAction::Cancel,
        _ => return None,
    };
    Some((action, token))
}

/// A phone on file (`+5511912345678`) as WhatsApp's `to` (digits only).
pub fn wa_number(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The phones on file (`+55…`) a WhatsApp sender (`wa_id`, digits) may be: itself, and for
/// a Brazilian mobile whose WhatsApp id predates the ninth digit (`55 DD 8 digits`), the
/// number with the 9 put back.
pub fn phone_variants(wa_id: &str) -> Vec<String> {
    let digits = wa_number(wa_id);
    let mut out = vec![format!("+{digits}")];
    if digits.len() == 12 && digits.starts_with("55") {
        out.push(format!("+{}9{}", &digits[..4], &digits[4..]));
    }
    out
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`, compared in
/// constant time. An empty secret verifies nothing.
pub fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(sig) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// A delivery receipt in a status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Sent,
    Delivered,
    Read,
    Failed(String),
}

/// One thing a webhook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// What became of a message we sent.
    Status {
        provider_id: String,
        receipt: Receipt,
        /// Unix seconds, as the provider reports it.
        timestamp: Option<i64>,
    },
    /// A patient's message: a tapped quick-reply button, a text, or something else.
    Message {
        id: String,
        from: String,
        kind: InboundKind,
    },
}

impl Inbound {
    /// What makes this event the same when the provider sends it again.
    pub fn event_id(&self) -> String {
        match self {
            Inbound::Status {
                provider_id,
                receipt,
                ..
            } => {
                let s = match receipt {
                    Receipt::Sent => "sent",
                    Receipt::Delivered => "delivered",
                    Receipt::Read => "read",
                    Receipt::Failed(_) => "failed",
                };
                format!("status:{provider_id}:{s}")
            }
            Inbound::Message { id, .. } => format!("message:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundKind {
    Button { payload: String },
    Text { body: String },
    Other(String),
}

/// The events in a webhook body (`WebhookPayload`); an error when it is not one.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<Inbound>, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    if v["object"] != "whatsapp_business_account" {
        return Err("object is not whatsapp_business_account");
    }
    let entries = v["entry"].as_array().ok_or("entry is missing")?;
    let mut out = Vec::new();
    let changes = entries
        .iter()
        .filter_map(|e| e["changes"].as_array())
        .flatten()
        .filter(|c| c["field"] == "messages");
    for c in changes {
        let value = &c["value"];
        for s in value["statuses"].as_array().into_iter().flatten() {
            let Some(id) = s["id"].as_str() else { continue };
            let receipt = match s["status"].as_str() {
                Some("sent") => Receipt::Sent,
                Some("delivered") => Receipt::Delivered,
                Some("read") => Receipt::Read,
                Some("failed") => {
                    let e = &s["errors"][0];
                    Receipt::Failed(format!(
                        "whatsapp {}: {}{}",
                        e["code"],
                        e["title"].as_str().unwrap_or("failed"),
                        e["error_data"]["details"]
                            .as_str()
                            .map(|d| format!(" — {d}"))
                            .unwrap_or_default()
                    ))
                }
                _ => continue,
            };
            out.push(Inbound::Status {
                provider_id: id.to_string(),
                receipt,
                timestamp: s["timestamp"].as_str().and_then(|t| t.parse().ok()),
            });
        }
        for m in value["messages"].as_array().into_iter().flatten() {
            let (Some(id), Some(from)) = (m["id"].as_str(), m["from"].as_str()) else {
                continue;
            };
            let kind = match m["type"].as_str() {
                Some("button") => InboundKind::Button {
                    payload: m["button"]["payload"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                },
                Some("text") => InboundKind::Text {
                    body: m["text"]["body"].as_str().unwrap_or_default().to_string(),
                },
                other => InboundKind::Other(other.unwrap_or("unknown").to_string()),
            };
            out.push(Inbound::Message {
                id: id.to_string(),
                from: from.to_string(),
                kind,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_hmac_of_the_raw_body_under_the_app_secret() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"segredo").expect("key");
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_valid("segredo", body, Some(&good)));
        assert!(!signature_valid("outro", body, Some(&good)));
        assert!(!signature_valid("segredo", b"{}", Some(&good)));
        assert!(!signature_valid("segredo", body, None));
        assert!(!signature_valid("segredo", body, Some("sha256=zz")));
        assert!(!signature_valid("", body, Some(&good)));
    }

    #[test]
    fn old_brazilian_whatsapp_ids_also_match_the_number_with_the_ninth_digit() {
        assert_eq!(phone_variants("5511912345678"), vec!["+5511912345678"]);
        assert_eq!(
            phone_variants("551112345678"),
            vec!["+551112345678", "+5511912345678"]
        );
        assert_eq!(
            parse_button("confirm:abc.def"),
            Some((ButtonAction::Confirm, "abc.def"))
        );
        assert_eq!(parse_button("reschedule:x"), None);
    }
}
