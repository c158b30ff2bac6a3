//! `*_FILE` variables: a secret read from a file instead of the environment.
//!
//! `ATENDE_SECURITY__JWT_SECRET_FILE=/run/secrets/jwt` sets `security.jwt_secret` to the
//! file's content (one trailing newline removed), as Docker and Kubernetes secrets are
//! mounted. `DATABASE_URL_FILE` and `REDIS_URL_FILE` work like their shortcuts. Setting a
//! variable and its `_FILE` twin together is an error, as is a file that cannot be read.

use std::path::PathBuf;

use super::ConfigError;

/// The environment with every `*_FILE` variable replaced by its twin holding the content.
pub(super) fn resolve(env: &[(String, String)]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(env.len());
    for (key, value) in env {
        let Some(twin) = key.strip_suffix("_FILE") else {
            out.push((key.clone(), value.clone()));
            continue;
        };
        let ours = twin.starts_with("ATENDE_") || twin == "DATABASE_URL" || twin == "REDIS_URL";
        if !ours || twin.starts_with("ATENDE_TEST_") {
            out.push((key.clone(), value.clone()));
            continue;
        }
        if env.iter().any(|(k, _)| k == twin) {
            return Err(ConfigError::Invalid(format!(
                "{key}: {twin} is set too; set one of them"
            )));
        }
        let path = PathBuf::from(value);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        out.push((twin.to_string(), text.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::*;

    #[test]
    fn a_file_variable_fills_its_setting_and_a_twin_set_too_is_refused() {
        let dir = std::env::temp_dir().join(format!("atende-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let secret = dir.join("jwt");
        std::fs::write(&secret, "um-segredo-de-arquivo\n").expect("write");
        let db = dir.join("db");
        std::fs::write(&db, "postgres://app:pw@db/atende").expect("write");
        let env = |pairs: &[(&str, &PathBuf)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.display().to_string()))
                .collect()
        };
        let s = Settings::load_from(
            None,
            &env(&[
                ("ATENDE_SECURITY__JWT_SECRET_FILE", &secret),
                ("DATABASE_URL_FILE", &db),
            ]),
        )
        .expect("loads");
        assert_eq!(s.security.jwt_secret.expose(), "um-segredo-de-arquivo");
        assert_eq!(s.database.url.expose(), "postgres://app:pw@db/atende");

        let mut both = env(&[("ATENDE_SECURITY__JWT_SECRET_FILE", &secret)]);
        both.push(("ATENDE_SECURITY__JWT_SECRET".into(), "outro".into()));
        let err = Settings::load_from(None, &both).expect_err("refused");
        assert!(err.to_string().contains("JWT_SECRET_FILE"), "{err}");

        let missing = env(&[("ATENDE_BACKUP__KEY_FILE", &dir.join("nope"))]);
        let err = Settings::load_from(None, &missing).expect_err("refused");
        assert!(err.to_string().contains("nope"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
