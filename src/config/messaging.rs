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
    /// A maildir that e-mail is written to when no SMTP server is configured
    /// (`smtp.host` empty): each message, exactly as it would be sent, becomes a file in
    /// `<mail_dir>/new/`. Empty: no such channel. `atende serve --demo` sets it to
    /// `<data.dir>/mail` when neither is configured.
    pub mail_dir: String,
    pub smtp: SmtpSettings,
    pub whatsapp: WhatsappSettings,
    pub sms: SmsSettings,
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
    /// SMTP sessions one node keeps open (and sends over at once); each carries message
    /// after message.
    pub connections: u32,
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
    /// The approved template signed documents are sent as: a document header (the PDF),
    /// body {{1}} first name, {{2}} professional, {{3}} kind of document, {{4}} its
    /// verification code. Empty: documents go by e-mail only.
    pub document_template: String,
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

/// `[messaging.sms]`: SMS through Twilio's Programmable Messaging API (2010-04-01).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// `https://api.twilio.com` (a contract server in tests).
    pub api_base_url: String,
    /// The account SID (`AC` and 32 hex digits); empty: no SMS channel.
    pub account_sid: String,
    /// The account's auth token: the password of HTTP Basic auth, and the key Twilio signs
    /// its webhooks with (`X-Twilio-Signature`).
    pub auth_token: Secret<String>,
    /// The sender (E.164 number, short code or alphanumeric id); may be empty when a
    /// messaging service is given.
    pub from_number: String,
    /// A messaging service (`MG…`) that picks the sender from its pool.
    pub messaging_service_sid: String,
    /// The public base URL Twilio reaches atende at (status callbacks go to
    /// `{public_base_url}/api/webhooks/sms/status`, and signatures are checked over it);
    /// empty: `server.public_url`.
    pub public_base_url: String,
    /// Most parts a message may cost: longer texts are shortened (never cutting a link).
    pub max_segments: u32,
    pub timeout_secs: u64,
}

impl SmsSettings {
    /// Whether the channel is configured.
    pub fn enabled(&self) -> bool {
        !self.account_sid.is_empty()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if !self.enabled() {
            return Ok(());
        }
        let sid = |s: &str, prefix: &str| {
            s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
        };
        if !sid(&self.account_sid, "AC") {
            return bad(
                "messaging.sms.account_sid",
                "must be AC followed by 32 hex digits",
            );
        }
        if self.auth_token.expose().is_empty() {
            return bad(
                "messaging.sms.auth_token",
                "required when messaging.sms.account_sid is set",
            );
        }
        if self.from_number.is_empty() && self.messaging_service_sid.is_empty() {
            return bad(
                "messaging.sms.from_number",
                "a sender or messaging.sms.messaging_service_sid is required",
            );
        }
        if !self.messaging_service_sid.is_empty() && !sid(&self.messaging_service_sid, "MG") {
            return bad(
                "messaging.sms.messaging_service_sid",
                "must be MG followed by 32 hex digits",
            );
        }
        let http = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        if !http(&self.api_base_url) {
            return bad("messaging.sms.api_base_url", "must be an http(s) URL");
        }
        if !self.public_base_url.is_empty() && !http(&self.public_base_url) {
            return bad("messaging.sms.public_base_url", "must be an http(s) URL");
        }
        if !(1..=10).contains(&self.max_segments) {
            return bad("messaging.sms.max_segments", "must be between 1 and 10");
        }
        Ok(())
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
        if !(1..=64).contains(&m.smtp.connections) {
            return bad("messaging.smtp.connections", "must be between 1 and 64");
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
        self.sms.validate()
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

    #[test]
    fn sms_needs_a_valid_account_a_token_and_a_sender_and_takes_the_token_from_a_file() {
        let sid = "AC0123456789abcdef0123456789abcdef";
        for (pairs, key) in [
            (vec![("ACCOUNT_SID", "AC123")], "messaging.sms.account_sid"),
            (vec![("ACCOUNT_SID", sid)], "messaging.sms.auth_token"),
            (
                vec![("ACCOUNT_SID", sid), ("AUTH_TOKEN", "t")],
                "messaging.sms.from_number",
            ),
            (
                vec![
                    ("ACCOUNT_SID", sid),
                    ("AUTH_TOKEN", "t"),
                    ("FROM_NUMBER", "+5511300000000"),
                    ("MAX_SEGMENTS", "0"),
                ],
                "messaging.sms.max_segments",
            ),
        ] {
            let vars: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (format!("ATENDE_MESSAGING__SMS__{k}"), v.to_string()))
                .collect();
            let err = Settings::load_from(None, &vars).expect_err(key);
            assert!(err.to_string().contains(key), "{err}");
        }
        let dir = std::env::temp_dir().join(format!("atende-sms-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let token = dir.join("token");
        std::fs::write(&token, "token-de-arquivo\n").expect("write");
        let s = Settings::load_from(
            None,
            &env(&[
                ("ATENDE_MESSAGING__SMS__ACCOUNT_SID", sid),
                (
                    "ATENDE_MESSAGING__SMS__AUTH_TOKEN_FILE",
                    token.to_str().expect("path"),
                ),
                (
                    "ATENDE_MESSAGING__SMS__MESSAGING_SERVICE_SID",
                    "MG0123456789abcdef0123456789abcdef",
                ),
            ]),
        )
        .expect("loads");
        assert!(s.messaging.sms.enabled());
        assert_eq!(s.messaging.sms.auth_token.expose(), "token-de-arquivo");
        assert!(!format!("{:?}", s.messaging.sms).contains("token-de-arquivo"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
