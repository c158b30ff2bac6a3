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
