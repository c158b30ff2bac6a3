//! `[messaging]`: outbox delivery and the SMTP server (docs/configuration.md).

use serde::Deserialize;

use super::{ConfigError, Secret};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    /// How often each node looks for messages due in the outbox.
    pub poll_interval_ms: u64,
    /// Most messages one node claims (and sends concurrently) per look.
    pub batch_size: u32,
    /// Seconds a node's claim keeps other nodes off a message (then it is taken over).
    pub lease_secs: u64,
    /// Attempts before a message is given up (`dead`).
    pub max_attempts: u32,
    /// Backoff of retries: base, twice, four times… (with jitter), up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// How often each node looks for appointments whose reminders fall due.
    pub reminder_poll_secs: u64,
    /// Password reset requests per address, and per account, per hour.
    pub reset_requests_per_hour: u32,
    pub smtp: SmtpSettings,
}

/// How SMTP connections are secured: STARTTLS (required), TLS from the first byte (SMTPS),
/// or none (a local relay or a test server only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// The SMTP server; empty: no e-mail channel (messages stay queued).
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: SmtpSecurity,
    /// Empty: no authentication.
    pub username: String,
    pub password: Secret<String>,
    /// The envelope and `From` address; its domain names the `Message-ID`s.
    pub from_address: String,
    /// `From` display name when the clinic set none (and for messages of no clinic).
    pub from_name: String,
    pub timeout_secs: u64,
}

impl MessagingSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        let m = self;
        if m.poll_interval_ms == 0 || m.batch_size == 0 || m.lease_secs == 0 || m.max_attempts == 0
        {
            return bad(
                "messaging",
                "poll_interval_ms, batch_size, lease_secs and max_attempts must be greater than 0",
            );
        }
        if m.reminder_poll_secs == 0 {
            return bad("messaging.reminder_poll_secs", "must be greater than 0");
        }
        if !m.smtp.host.is_empty() && !m.smtp.from_address.contains('@') {
            return bad(
                "messaging.smtp.from_address",
                "an e-mail address is required when messaging.smtp.host is set",
            );
        }
        Ok(())
    }
}
