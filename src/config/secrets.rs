//! The generated secrets file, `<data.dir>/secrets.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, Settings};

impl Settings {
    pub(super) fn fill_secrets(&mut self, generate: bool) -> Result<Option<String>, ConfigError> {
        let needs_jwt = self.security.jwt_secret.expose().is_empty();
        let needs_keys = self.security.encryption_keys.is_empty();
        let needs_audit = self.security.audit_keys.is_empty();
        if !needs_jwt && !needs_keys && !needs_audit {
            return Ok(None);
        }
        let path = self.data.dir.join("secrets.toml");
        let io = |source| ConfigError::Io {
            path: path.clone(),
            source,
        };
        let mut stored: StoredSecrets = if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(io)?;
            toml::from_str(&text).map_err(|e| {
                ConfigError::Invalid(format!("{} is not valid: {e}", path.display()))
            })?
        } else if generate {
            StoredSecrets::default()
        } else {
            return Ok(None);
        };
        let mut generated = false;
        if generate {
            // Only what the configuration does not provide is generated: a configured
            // key never gets a file twin that could drift from it.
            if needs_jwt && stored.jwt_secret.is_empty() {
                stored.jwt_secret = random_b64(48);
                generated = true;
            }
            if needs_keys && stored.encryption_keys.is_empty() {
                stored.encryption_keys.insert("k1".into(), random_b64(32));
                stored.encryption_active_key = "k1".into();
                generated = true;
            }
            if needs_audit && stored.audit_keys.is_empty() {
                stored.audit_keys.insert("a1".into(), random_b64(32));
                stored.audit_active_key = "a1".into();
                generated = true;
            }
        }
        if generated {
            std::fs::create_dir_all(&self.data.dir).map_err(|source| ConfigError::Io {
                path: self.data.dir.clone(),
                source,
            })?;
            let text = toml::to_string(&stored)
                .map_err(|e| ConfigError::Invalid(format!("cannot encode secrets: {e}")))?;
            write_private(&path, &text).map_err(io)?;
        }
        if needs_jwt {
            self.security.jwt_secret = Secret::new(stored.jwt_secret.clone());
        }
        if needs_keys {
            self.security.encryption_keys = stored
                .encryption_keys
                .iter()
                .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                .collect();
            self.security.encryption_active_key = stored.encryption_active_key.clone();
        }
        if needs_audit {
            self.security.audit_keys = stored
                .audit_keys
                .iter()
                .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                .collect();
            self.security.audit_active_key = stored.audit_active_key.clone();
        }
        self.validate()?;
        Ok(Some(if generated {
            format!(
                "generated new secrets and saved them in {} (keep this file safe and backed up)",
                path.display()
            )
        } else {
            format!("using secrets from {}", path.display())
        }))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredSecrets {
    #[serde(default)]
    jwt_secret: String,
    #[serde(default)]
    encryption_active_key: String,
    #[serde(default)]
    encryption_keys: BTreeMap<String, String>,
    #[serde(default)]
    audit_active_key: String,
    #[serde(default)]
    audit_keys: BTreeMap<String, String>,
}

fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
