//! The e-mail channel: SMTP through `lettre` (STARTTLS, TLS or plain; optional auth),
//! multipart text + HTML in pt-BR, a `Message-ID` derived from the outbox id (so a retry
//! of the same message carries the same id and mail readers show it once), the clinic as
//! the sender's name and its reply-to address. The sessions with the server stay open
//! between messages ([`super::smtp`]).

use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use super::smtp::Sessions;
use super::templates::{absolute, render};
use super::{Accepted, Channel, Outgoing, SendError};
use crate::config::SmtpSettings;

/// Sends the outbox's `email` messages to one SMTP server.
pub struct SmtpChannel {
    sessions: Sessions,
    composer: Composer,
}

/// Writes an outbox message as an e-mail (RFC 5322): the same message for every way
/// e-mail leaves (SMTP, or a maildir when there is no server, [`super::maildir`]).
pub struct Composer {
    from: Address,
    /// The right-hand side of every `Message-ID`.
    domain: String,
}

impl SmtpChannel {
    /// A channel for the configured server (connections open on the first send).
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Self> {
        Ok(Self {
            sessions: Sessions::new(s)?,
            composer: Composer::new(s)?,
        })
    }

    /// The `Message-ID` of an outbox message.
    pub fn message_id(&self, id: uuid::Uuid) -> String {
        self.composer.message_id(id)
    }

    /// The e-mail for a message (public for tests and the benchmark).
    pub fn build(&self, m: &Outgoing) -> Result<Message, SendError> {
        self.composer.build(m)
    }
}

impl Composer {
    /// E-mail from the configured `messaging.smtp.from_address` and `from_name`.
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Self> {
        let from: Address = s
            .from_address
            .parse()
            .map_err(|e| anyhow::anyhow!("messaging.smtp.from_address: {e}"))?;
        Ok(Self {
            domain: from.domain().to_string(),
            from,
        })
    }

    /// The `Message-ID` of an outbox message.
    pub fn message_id(&self, id: uuid::Uuid) -> String {
        message_id(id, &self.domain)
    }

    /// The e-mail for a message.
    pub fn build(&self, m: &Outgoing) -> Result<Message, SendError> {
        let to: Mailbox =
            m.to.parse()
                .map_err(|e| SendError::permanent(format!("invalid recipient address: {e}")))?;
        let content = render(m);
        let mut b = Message::builder()
            .from(Mailbox::new(Some(m.sender.name.clone()), self.from.clone()))
            .to(to)
            .subject(content.subject)
            .message_id(Some(self.message_id(m.id)));
        // RFC 2369 and RFC 8058: mail readers offer "unsubscribe" and POST to it in one click.
        if let Some(optout) = m.payload["optout_path"].as_str() {
            b = b
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{}>", absolute(&m.base_url, optout)),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        if let Some(r) = m.sender.reply_to.as_deref() {
            match r.parse::<Mailbox>() {
                Ok(mb) => b = b.reply_to(mb),
                Err(e) => tracing::warn!(error = %e, "ignoring the clinic's invalid reply-to"),
            }
        }
        b.multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(content.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(content.html),
                ),
        )
        .map_err(|e| SendError::permanent(format!("cannot build the e-mail: {e}")))
    }
}

/// `<outbox-id@domain>`.
pub fn message_id(id: uuid::Uuid, domain: &str) -> String {
    format!("<{}@{}>", id.simple(), domain)
}

#[async_trait::async_trait]
impl Channel for SmtpChannel {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, m: &Outgoing) -> Result<Accepted, SendError> {
        let email = self.build(m)?;
        self.sessions
            .send(email.envelope(), &email.formatted())
            .await?;
        Ok(Accepted::default())
    }
}
