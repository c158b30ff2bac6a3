//! The file e-mail channel: with no SMTP server configured (`messaging.smtp.host` empty)
//! and `messaging.mail_dir` set, each e-mail is "delivered" by writing the very message the
//! SMTP channel would send (RFC 5322, built by the same [`Composer`]) into a maildir:
//! first `<mail_dir>/tmp/<name>`, flushed, then renamed into `<mail_dir>/new/<name>`, so a
//! reader (a mail client, the tests, a person with `ls`) never sees half a message. The
//! name comes from the outbox id: a retried message replaces its own file, never adds one.
//! It lets the demo and the default test run send e-mail with nothing but the binary.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::email::Composer;
use super::{Accepted, Channel, Outgoing, SendError};
use crate::config::SmtpSettings;

/// Writes the outbox's `email` messages into a maildir.
pub struct MaildirChannel {
    dir: PathBuf,
    composer: Composer,
}

impl MaildirChannel {
    /// A channel writing into `dir` (its `tmp/`, `new/` and `cur/` are created now), with
    /// the sender of `smtp`'s `from_address`.
    pub fn new(dir: &Path, smtp: &SmtpSettings) -> anyhow::Result<Self> {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| anyhow::anyhow!("messaging.mail_dir ({}): {e}", dir.display()))?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            composer: Composer::new(smtp)?,
        })
    }
}

/// Write `bytes` to `dir/tmp/name`, sync it, and move it to `dir/new/name`.
fn deliver(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join("tmp").join(name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join("new").join(name))
}

#[async_trait::async_trait]
impl Channel for MaildirChannel {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, m: &Outgoing) -> Result<Accepted, SendError> {
        let bytes = self.composer.build(m)?.formatted();
        let dir = self.dir.clone();
        let name = format!("{}.{}.atende.eml", m.created_at.timestamp(), m.id.simple());
        tokio::task::spawn_blocking(move || deliver(&dir, &name, &bytes))
            .await
            .map_err(|e| SendError::transient(format!("maildir writer stopped: {e}")))?
            .map_err(|e| SendError::transient(format!("cannot write to the maildir: {e}")))?;
        Ok(Accepted::default())
    }
}
