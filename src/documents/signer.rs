//! The signer pool: N `Signer` actors on a `SyncArbiter` (one OS thread each), doing every
//! CPU-bound step — render, sign, create keys, open PKCS#12 files — off the request path.
//! A panic inside a job is caught: the signer drops its state (decrypted keys) as a restart
//! would, answers `Panicked`, and goes on with the next job; no other job is lost.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::{Actor, Addr, Handler, Message, SyncArbiter, SyncContext};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::layout::{self, RenderInput};
use super::pades::{self, SignatureMeta};
use super::pki::{self, KeyMaterial, PkiError};
use crate::security::crypto::FieldCipher;

/// A key as stored: its id, the encrypted PKCS#8 and the DER chain (signer first).
#[derive(Debug, Clone)]
pub struct SealedKey {
    pub id: uuid::Uuid,
    pub key_enc: String,
    pub chain: Vec<Vec<u8>>,
}

/// Work for a signer.
#[derive(Debug)]
pub enum Job {
    /// Render and sign a document.
    Sign {
        input: Box<RenderInput>,
        meta: SignatureMeta,
        key: SealedKey,
    },
    /// Render an unsigned preview.
    Preview { input: Box<RenderInput> },
    /// Create the installation CA, valid from `now` (the app's clock).
    CreateCa {
        common_name: String,
        now: chrono::DateTime<chrono::Utc>,
    },
    /// Issue a key and certificate under the installation CA, valid from `now`.
    IssueKey {
        ca: SealedKey,
        holder: String,
        registration: String,
        now: chrono::DateTime<chrono::Utc>,
    },
    /// Open and check an uploaded PKCS#12 file: a PKCS#12 file whose certificate must be valid at `now`.
    ImportPkcs12 {
        data: Vec<u8>,
        password: String,
        now: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug)]
pub enum Output {
    Signed {
        pdf: Vec<u8>,
        sha256: String,
    },
    Preview {
        pdf: Vec<u8>,
    },
    /// A new key, sealed, with its chain.
    Key {
        key_enc: String,
        chain: Vec<Vec<u8>>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the signer crashed on this job")]
    Panicked,
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("{0}")]
    Failed(String),
}

impl Message for Job {
    type Result = Result<Output, JobError>;
}

/// One signer thread.
pub struct Signer {
    cipher: FieldCipher,
    /// Decrypted keys by id (keys never change once stored).
    keys: HashMap<uuid::Uuid, Arc<KeyMaterial>>,
    /// Test hook: while above zero, each signing job decrements it and panics.
    faults: Arc<AtomicUsize>,
}

impl Actor for Signer {
    type Context = SyncContext<Self>;
}

/// Start `threads` signers.
pub fn start(threads: usize, cipher: FieldCipher, faults: Arc<AtomicUsize>) -> Addr<Signer> {
    SyncArbiter::start(threads.max(1), move || Signer {
        cipher: cipher.clone(),
        keys: HashMap::new(),
        faults: faults.clone(),
    })
}

impl Handler<Job> for Signer {
    type Result = Result<Output, JobError>;

    fn handle(&mut self, job: Job, _: &mut SyncContext<Self>) -> Self::Result {
        match catch_unwind(AssertUnwindSafe(|| self.run(job))) {
            Ok(r) => r,
            Err(panic) => {
                let what = crate::actors::panic_message(panic.as_ref());
                tracing::error!(panic = %what, "signer panicked; its state is reset");
                metrics::counter!("atende_signer_panics_total").increment(1);
                self.keys.clear();
                Err(JobError::Panicked)
            }
        }
    }
}

impl Signer {
    fn run(&mut self, job: Job) -> Result<Output, JobError> {
        match job {
            Job::Sign { input, meta, key } => {
                if self
                    .faults
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    panic!("injected signer fault");
                }
                let material = self.material(&key)?;
                let mut input = *input;
                input.signer_name = material.holder_name();
                let doc = layout::render(&input);
                let started = std::time::Instant::now();
                let pdf = pades::sign(doc, &meta, &material)
                    .map_err(|e| JobError::Failed(e.to_string()))?;
                metrics::histogram!("atende_document_sign_seconds")
                    .record(started.elapsed().as_secs_f64());
                let sha256 = hex::encode(Sha256::digest(&pdf));
                Ok(Output::Signed { pdf, sha256 })
            }
            Job::Preview { input } => {
                let mut doc = layout::render(&input);
                let mut pdf = Vec::new();
                doc.save_to(&mut pdf)
                    .map_err(|e| JobError::Failed(e.to_string()))?;
                Ok(Output::Preview { pdf })
            }
            Job::CreateCa { common_name, now } => {
                let (key, cert) = pki::generate_ca(&common_name, now.into())?;
                Ok(Output::Key {
                    key_enc: self.seal(&key)?,
                    chain: vec![cert],
                })
            }
            Job::IssueKey {
                ca,
                holder,
                registration,
                now,
            } => {
                let ca = self.material(&ca)?;
                let (key, cert) = pki::issue_signing_cert(&ca, &holder, &registration, now.into())?;
                let mut chain = vec![cert];
                chain.extend(ca.chain.iter().filter_map(|c| der::Encode::to_der(c).ok()));
                Ok(Output::Key {
                    key_enc: self.seal(&key)?,
                    chain,
                })
            }
            Job::ImportPkcs12 {
                data,
                password,
                now,
            } => {
                let (key, chain) = pki::import_pkcs12(&data, &password, now)?;
                Ok(Output::Key {
                    key_enc: self.seal(&key)?,
                    chain,
                })
            }
        }
    }

    fn seal(&self, pkcs8: &[u8]) -> Result<String, JobError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8);
        self.cipher
            .encrypt(&b64)
            .map_err(|e| JobError::Failed(format!("cannot seal key: {e}")))
    }

    fn material(&mut self, key: &SealedKey) -> Result<Arc<KeyMaterial>, JobError> {
        if let Some(m) = self.keys.get(&key.id) {
            return Ok(m.clone());
        }
        let b64 = self
            .cipher
            .decrypt(&key.key_enc)
            .map_err(|e| JobError::Failed(format!("cannot open key: {e}")))?;
        let pkcs8 = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| JobError::Failed(format!("cannot open key: {e}")))?;
        let m = Arc::new(KeyMaterial::from_der(&pkcs8, &key.chain)?);
        self.keys.insert(key.id, m.clone());
        Ok(m)
    }
}

/// Split DER certificates stored back to back (each element carries its own length).
pub fn split_chain(bytes: &[u8]) -> Vec<Vec<u8>> {
    use der::{Reader, SliceReader};
    let mut out = Vec::new();
    let Ok(mut reader) = SliceReader::new(bytes) else {
        return out;
    };
    while !reader.is_finished() {
        match reader.tlv_bytes() {
            Ok(tlv) => out.push(tlv.to_vec()),
            Err(_) => break,
        }
    }
    out
}
