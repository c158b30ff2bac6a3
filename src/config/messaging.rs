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
    pub whatsapp: WhatsappSettings,
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

/// `[messaging.whatsapp]`: the WhatsApp Business Cloud API (Meta's Graph API).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappSettings {
    /// The Graph API's base, `https://graph.facebook.com` (a contract server in tests).
    pub api_base_url: String,
    /// The API version in the path, e.g. `v23.0`.
    pub api_version: String,
    /// The business phone number's id; empty: no WhatsApp channel.
    pub phone_number_id: String,
    /// A system user's access token (bearer).
    pub access_token: Secret<String>,
    /// The app secret: webhooks carry `X-Hub-Signature-256` = HMAC-SHA256 of the body under it.
    pub app_secret: Secret<String>,
    /// The token Meta echoes in the webhook verification handshake (`hub.verify_token`).
    pub verify_token: Secret<String>,
    /// The approved template of reminders: body {{1}} first name, {{2}} clinic, {{3}} date
    /// and time, {{4}} professional; quick-reply buttons 0 Confirmar and 1 Cancelar.
    pub reminder_template: String,
    /// The templates' language code (`pt_BR`).
    pub template_language: String,
    pub timeout_secs: u64,
}

impl WhatsappSettings {
    /// Whether the channel is configured (sending needs the phone number id and a token).
    pub fn enabled(&self) -> bool {
        !self.phone_number_id.is_empty()
    }
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
        let w = &self.whatsapp;
        if w.enabled() {
            if w.access_token.expose().is_empty() {
                return bad(
                    "messaging.whatsapp.access_token",
                    "required when messaging.whatsapp.phone_number_id is set",
                );
            }
            if !w.api_base_url.starts_with("http://") && !w.api_base_url.starts_with("https://") {
                return bad("messaging.whatsapp.api_base_url", "must be an http(s) URL");
            }
            if w.api_version.is_empty() || w.reminder_template.is_empty() {
                return bad(
                    "messaging.whatsapp",
                    "api_version and reminder_template must not be empty",
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Settings;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn whatsapp_needs_its_token_and_takes_secrets_from_files() {
        let err = Settings::load_from(
            None,
            &env(&[("ATENDE_MESSAGING__WHATSAPP__PHONE_NUMBER_ID", "1065403")]),
        )
        .expect_err("a phone number id without a token");
        assert!(
            err.to_string().contains("messaging.whatsapp.access_token"),
            "{err}"
        );
        let dir = std::env::temp_dir().join(format!("atende-wa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let token = dir.join("token");
        std::fs::write(&token, "EAAG-de-arquivo\n").expect("write");
        let s = Settings::load_from(
            None,
            &env(&[
                ("ATENDE_MESSAGING__WHATSAPP__PHONE_NUMBER_ID", "1065403"),
                (
                    "ATENDE_MESSAGING__WHATSAPP__ACCESS_TOKEN_FILE",
                    token.to_str().expect("path"),
                ),
                ("ATENDE_MESSAGING__WHATSAPP__APP_SECRET", "s3gr3d0"),
            ]),
        )
        .expect("loads");
        let w = &s.messaging.whatsapp;
        assert!(w.enabled());
        assert_eq!(w.access_token.expose(), "EAAG-de-arquivo");
        assert_eq!(w.app_secret.expose(), "s3gr3d0");
        assert!(!format!("{w:?}").contains("EAAG"), "secrets never print");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
