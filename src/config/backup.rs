//! `[backup]`: the key that encrypts `atende backup` archives.

use serde::Deserialize;

use super::{ConfigError, Secret};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// Base64 of 32 random bytes (`openssl rand -base64 32`). Empty: `atende backup` and
    /// `atende restore` refuse to run. Keep it apart from the archives.
    pub key: Secret<String>,
}

impl BackupSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        use base64::Engine as _;
        let key = self.key.expose();
        if key.is_empty() {
            return Ok(());
        }
        match base64::engine::general_purpose::STANDARD.decode(key.trim()) {
            Ok(bytes) if bytes.len() == 32 => Ok(()),
            _ => Err(ConfigError::Invalid(
                "backup.key: must be base64 of exactly 32 bytes".into(),
            )),
        }
    }
}
