//! Reaching patients outside the app: the outbox's delivery workers and the channels they
//! send through — e-mail over SMTP (or into a maildir, with no server), WhatsApp (Cloud API) and SMS (Twilio), each a
//! [`Channel`] that renders a message its own way from the template name and the payload —
//! and what the patients' replies say ([`replies`]).

pub mod email;
pub mod maildir;
pub mod replies;
pub mod sms;
pub mod smtp;
pub mod templates;
pub mod whatsapp;
pub mod worker;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The outbox template of a signed document sent to its patient (payload: `document_id`,
/// `kind`, `code`, `verify_url`, the names).
pub const DOCUMENT_TEMPLATE: &str = "document_ready";

/// Who a message comes from, as the recipient sees it.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The clinic's name (or its configured sender name); the installation's for messages
    /// of no clinic.
    pub name: String,
    /// Where replies go, if the clinic set it.
    pub reply_to: Option<String>,
    /// The clinic's IANA zone, for the times a message shows.
    pub time_zone: chrono_tz::Tz,
}

impl Sender {
    /// A clinic as sender: its configured name, else its name; its reply-to and zone.
    pub fn of_clinic(row: crate::store::outbox::ClinicMessagingRow) -> Self {
        Sender {
            name: row
                .sender_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(row.clinic_name),
            reply_to: row.reply_to.filter(|r| !r.trim().is_empty()),
            time_zone: row
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::America::Sao_Paulo),
        }
    }
}

/// One message ready for a channel: template, decrypted payload, recipient.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: uuid::Uuid,
    /// The same on every attempt of this message: providers that deduplicate by key (and
    /// mail readers, through the `Message-ID`) see one message however often it is retried.
    pub idempotency_key: String,
    pub template: String,
    pub payload: Value,
    /// The channel's address (an e-mail address for `email`, `+55…` for `sms`).
    pub to: String,
    pub sender: Sender,
    /// Links in the payload are paths; this makes them absolute.
    pub base_url: String,
    pub created_at: DateTime<Utc>,
    /// A file that goes with the message, for a channel that sends it as such
    /// ([`Channel::attaches`]): a signed document's PDF.
    pub attachment: Option<Attachment>,
    /// The clinic's own words for this message's template, where it rewrote them (e-mail;
    /// `domain::message_text`); the built-in words otherwise.
    pub text: Option<crate::domain::message_text::MessageText>,
}

/// A file sent with a message.
#[derive(Clone)]
pub struct Attachment {
    /// The name the recipient sees (ASCII: `prescription-ABCD2345.pdf`).
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes are a patient's document: never in a log line.
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Why a send failed, in the provider's words where there are some.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    pub reason: String,
    /// The provider refused the message for good (a bad address, a rejected message):
    /// retrying cannot help.
    pub permanent: bool,
}

impl SendError {
    pub fn transient(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: false,
        }
    }
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
        }
    }
}

/// What a provider said when it took a message.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    /// The provider's id of the message, which its status callbacks name (WhatsApp's
    /// `wamid…`, Twilio's `SM…`); none for e-mail.
    pub provider_id: Option<String>,
}

/// A way of reaching people: e-mail, WhatsApp, SMS.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// The outbox's `channel` value this adapter sends.
    fn name(&self) -> &'static str;
    /// Whether messages of `template` go with their file ([`Outgoing::attachment`]), which
    /// the worker then reads for them; e-mail sends a link instead.
    fn attaches(&self, _template: &str) -> bool {
        false
    }
    /// Deliver one message to the provider.
    async fn send(&self, message: &Outgoing) -> Result<Accepted, SendError>;
}

/// An HTTP client for a provider's API (`key` names its settings in errors).
pub(crate) fn api_client(key: &str, timeout_secs: u64) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout_secs.max(1)))
        .build()
        .map_err(|e| anyhow::anyhow!("{key}: {e}"))
}

/// A provider's refusal of a message: a 429 or 5xx is worth retrying, another status is
/// for good.
pub(crate) fn refusal(status: reqwest::StatusCode, reason: String) -> SendError {
    if status.as_u16() == 429 || status.is_server_error() {
        SendError::transient(reason)
    } else {
        SendError::permanent(reason)
    }
}
