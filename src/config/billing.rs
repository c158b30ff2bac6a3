//! `[pix]`: the PSP's API Pix and the webhook it calls (docs/configuration.md).

use serde::Deserialize;

use super::{ConfigError, Secret};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixSettings {
    /// Base URL of the PSP's API Pix (`…/v2`); empty: no API Pix (charges are static BR
    /// Codes and nothing is reconciled automatically).
    pub api_url: String,
    /// The OAuth2 token endpoint (client-credentials grant).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// PEM file holding the client certificate and its private key, for the mutual TLS
    /// PSPs require on the API Pix; empty: no client certificate.
    pub client_identity_path: String,
    /// PEM file of an extra CA to trust for the PSP (besides the Web PKI roots).
    pub ca_path: String,
    /// Seconds a charge (`calendario.expiracao`) stays payable.
    pub charge_expiry_secs: u32,
    /// Seconds one call to the PSP may take.
    pub timeout_secs: u64,
    /// The shared secret in the webhook's path: the URL registered at the PSP is
    /// `<public_url>/api/webhooks/pix/<webhook_secret>` (the PSP appends `/pix`).
    pub webhook_secret: Secret<String>,
    /// Addresses the webhook accepts calls from (the PSP's); empty: any address.
    pub webhook_allowed_ips: Vec<String>,
}

impl PixSettings {
    /// Whether an API Pix is configured.
    pub fn enabled(&self) -> bool {
        !self.api_url.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if !(60..=2_592_000).contains(&self.charge_expiry_secs) {
            return bad("pix.charge_expiry_secs", "between 60 and 2592000 seconds");
        }
        if let Some(ip) = self
            .webhook_allowed_ips
            .iter()
            .find(|a| a.parse::<std::net::IpAddr>().is_err())
        {
            return bad(
                "pix.webhook_allowed_ips",
                &format!("not an IP address: {ip}"),
            );
        }
        if !self.enabled() {
            return Ok(());
        }
        for (key, value) in [
            ("pix.api_url", &self.api_url),
            ("pix.token_url", &self.token_url),
        ] {
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                return bad(key, "an http(s) URL is required when pix.api_url is set");
            }
        }
        if self.client_id.is_empty() || self.client_secret.expose().is_empty() {
            return bad(
                "pix.client_id",
                "pix.client_id and pix.client_secret are required when pix.api_url is set",
            );
        }
        let secret = self.webhook_secret.expose();
        if secret.len() < 24 || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return bad(
                "pix.webhook_secret",
                "at least 24 letters and digits are required when pix.api_url is set",
            );
        }
        if self.timeout_secs == 0 {
            return bad("pix.timeout_secs", "must be greater than 0");
        }
        Ok(())
    }
}
