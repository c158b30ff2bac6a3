//! Reaching patients outside the app: the outbox's delivery workers and the channels they
//! send through. E-mail over SMTP and WhatsApp (Cloud API) today; SMS fits the same
//! [`Channel`] trait (each renders a message its own way from the template name and the
//! payload).

pub mod email;
pub mod templates;
pub mod whatsapp;
pub mod worker;
pub mod replies;
pub mod sms;

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
    /// The channel's address (an e-mail address for `email`).
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
    /// `wamid…`); none for e-mail.
    pub provider_id: Option<String>,
}

/// A way of reaching people: e-mail, WhatsApp, and later SMS.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// The outbox's `channel` value this adapter sends.
    fn name(&self) -> &'static str;
    /// Deliver one message to the provider.
    async fn send(&self, message: &Outgoing) -> Result<Accepted, SendError>;
}
