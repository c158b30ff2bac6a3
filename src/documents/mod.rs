//! Signed documents: layout (printpdf), PAdES signatures (rsa + CMS), keys (the installation
//! CA, issued and imported certificates) and the signer pool. [`Documents`] is the async side:
//! a document is stored `pending` before it is queued, queued to the pool, and its status
//! (signed, or failed with a reason) stored and pushed live to the professional.

pub mod incremental;
pub mod layout;
pub mod pades;
pub mod pki;
pub mod signer;
pub mod summary;
mod text_metrics;
pub mod view;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use actix::Addr;
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;

use crate::actors::protocol::Topic;
use crate::bus::{EventBus, TopicEvent};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::documents::view::DocumentSummary;
use crate::domain::document::{DocumentContent, DocumentKind, DocumentStatus};
use crate::domain::scope;
use crate::domain::{Address, Council, Cpf, Profession, UserId};
use crate::security::audit::AuditEvent;
use crate::security::crypto::FieldCipher;
use crate::store::documents::{CaRow, DocumentView, SigningKeyRow};
use crate::store::users::ProfessionalRow;
use crate::store::{Store, StoreError};
use layout::RenderInput;
use pades::SignatureMeta;
use signer::{Job, JobError, Output, SealedKey, Signer};

/// Signer failures (a panic on this document) before it is given up as `signer_crashed`.
const MAX_SIGNER_FAILURES: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("signer pool unavailable")]
    PoolGone,
    #[error("{0}")]
    Invalid(String),
    /// The professional's imported certificate is no longer valid: nothing is signed with
    /// it (an installation-CA certificate is renewed instead).
    #[error("the signing certificate expired at {0}")]
    CertificateExpired(DateTime<Utc>),
}

/// How long before its end an installation-CA certificate is replaced by a new one (the
/// same window as the expiry warning on the signing page and in the metrics).
pub const RENEW_BEFORE_DAYS: i64 = 30;

/// The async side of documents, shared by handlers.
pub struct Documents {
    pool: Option<Addr<Signer>>,
    /// Pool used for key work even on nodes that do not sign documents.
    key_pool: Addr<Signer>,
    store: Store,
    cipher: FieldCipher,
    bus: Arc<dyn EventBus>,
    public_url: String,
    ca_name: String,
    ca: tokio::sync::Mutex<Option<SealedKey>>,
    issuing: tokio::sync::Mutex<()>,
    /// Test hook: the next N signing jobs panic inside the signer.
    pub faults: Arc<AtomicUsize>,
    /// This process as a signer: the owner named in the leases it takes.
    node: String,
    /// How long a lease on a document keeps other signers away.
    lease: chrono::Duration,
    /// Documents this process is working on (not dispatched twice).
    in_flight: std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// The ICP-Brasil roots (DER) a signing certificate must chain to for its documents
    /// not to carry the "não ICP-Brasil" notice (`documents.icp_brasil_roots`).
    icp_roots: Vec<Vec<u8>>,
    /// The app's clock: certificates' validity, renewals and signing times.
    clock: SharedClock,
}

/// What a document signed with a certificate outside ICP-Brasil prints and says.
pub const NOT_ICP_NOTICE: &str =
    "Assinatura eletrônica não ICP-Brasil — não válida para dispensação em farmácia";

/// The ICP-Brasil roots named by `documents.icp_brasil_roots` (none when it is empty).
pub fn load_icp_roots(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    if path.as_os_str().is_empty() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "documents.icp_brasil_roots: cannot read {}: {e}",
            path.display()
        )
    })?;
    let roots = pki::pem_certificates(&text)
        .map_err(|e| anyhow::anyhow!("documents.icp_brasil_roots: {}: {e}", path.display()))?;
    if roots.is_empty() {
        anyhow::bail!(
            "documents.icp_brasil_roots: no certificate in {}",
            path.display()
        );
    }
    Ok(roots)
}

/// Whether a public URL points at this machine only (`localhost`, `127.0.0.0/8`, `::1`): a
/// QR code holding it leads nowhere for a pharmacy.
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

impl Documents {
    pub fn start(
        settings: &Settings,
        store: Store,
        cipher: FieldCipher,
        bus: Arc<dyn EventBus>,
        public_url: String,
        icp_roots: Vec<Vec<u8>>,
        clock: SharedClock,
    ) -> Arc<Self> {
        if is_loopback_url(&public_url) {
            tracing::warn!(
                public_url = %public_url,
                "server.public_url points to this machine: the QR code and verification link \
                 printed on documents lead nowhere for a pharmacy; set server.public_url"
            );
        }
        let faults = Arc::new(AtomicUsize::new(0));
        let threads = match settings.documents.signer_threads {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let pool = signer::start(threads, cipher.clone(), faults.clone());
        Arc::new(Self {
            pool: settings.documents.sign_on_this_node.then(|| pool.clone()),
            key_pool: pool,
            store,
            cipher,
            bus,
            public_url,
            ca_name: settings.documents.ca_name.clone(),
            ca: tokio::sync::Mutex::new(None),
            issuing: tokio::sync::Mutex::new(()),
            faults,
            node: uuid::Uuid::now_v7().simple().to_string(),
            lease: chrono::Duration::seconds(settings.documents.signing_lease_secs as i64),
            in_flight: std::sync::Mutex::new(std::collections::HashSet::new()),
            icp_roots,
            clock,
        })
    }

    /// Whether a certificate chain (DER, signer first) leads to an ICP-Brasil root.
    pub fn is_icp_brasil(&self, chain: &[Vec<u8>]) -> bool {
        pki::chains_to(chain, &self.icp_roots)
    }

    /// Whether the QR codes printed now point at this machine only.
    pub fn public_url_is_loopback(&self) -> bool {
        is_loopback_url(&self.public_url)
    }

    pub fn cipher(&self) -> &FieldCipher {
        &self.cipher
    }

    /// The public URL a document's QR code holds (also the ITI validator's endpoint).
    pub fn verify_url(&self, id: uuid::Uuid) -> String {
        format!("{}/v/{id}", self.public_url)
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    async fn run(&self, pool: &Addr<Signer>, job: Job) -> Result<Output, DocError> {
        pool.send(job)
            .await
            .map_err(|_| DocError::PoolGone)?
            .map_err(DocError::from)
    }

    /// The installation CA (created on first need; another node's wins a race).
    pub async fn ca(&self) -> Result<SealedKey, DocError> {
        let mut cached = self.ca.lock().await;
        if let Some(ca) = cached.as_ref() {
            return Ok(ca.clone());
        }
        if self.store.signing_ca().await?.is_none() {
            let out = self
                .run(
                    &self.key_pool,
                    Job::CreateCa {
                        common_name: self.ca_name.clone(),
                        now: self.clock.now(),
                    },
                )
                .await?;
            let Output::Key { key_enc, chain } = out else {
                return Err(DocError::Invalid("unexpected signer answer".into()));
            };
            let cert_der = chain.into_iter().next().unwrap_or_default();
            self.store
                .insert_signing_ca(&CaRow {
                    key_enc,
                    cert_der,
                    created_at: crate::store::now(),
                })
                .await?;
            tracing::info!("installation signing CA created");
        }
        let row = self
            .store
            .signing_ca()
            .await?
            .ok_or_else(|| DocError::Invalid("CA missing after creation".into()))?;
        let ca = SealedKey {
            // A fixed id: the CA never changes once stored.
            id: uuid::Uuid::nil(),
            key_enc: row.key_enc,
            chain: vec![row.cert_der],
        };
        *cached = Some(ca.clone());
        Ok(ca)
    }

    /// The CA certificate (DER), for download.
    pub async fn ca_certificate(&self) -> Result<Vec<u8>, DocError> {
        Ok(self
            .ca()
            .await?
            .chain
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    /// The key the professional's next document is signed with: [`Self::current_key`],
    /// refused with [`DocError::CertificateExpired`] when it is an imported certificate
    /// past its end.
    pub async fn key_for(
        &self,
        professional: &ProfessionalRow,
        name: &str,
    ) -> Result<SigningKeyRow, DocError> {
        let key = self.current_key(professional, name).await?;
        self.refuse_expired(&key)?;
        Ok(key)
    }

    /// Refuse a document up front when the professional's active key is an imported
    /// certificate past its end (it would fail at signing); cheap, issues nothing.
    pub async fn check_usable_key(&self, professional: &ProfessionalRow) -> Result<(), DocError> {
        match self.store.active_signing_key(professional.id).await? {
            Some(k) => self.refuse_expired(&k),
            None => Ok(()),
        }
    }

    /// The one rule for a key past its end: an imported one is refused; an installation-CA
    /// one is not (it is renewed by [`Self::current_key`] before it is used).
    fn refuse_expired(&self, key: &SigningKeyRow) -> Result<(), DocError> {
        if key.source != "installation_ca" && key.not_after <= self.clock.now() {
            return Err(DocError::CertificateExpired(key.not_after));
        }
        Ok(())
    }

    /// The professional's active signing key. One is issued under the installation CA if
    /// they have none, and an installation-CA certificate within [`RENEW_BEFORE_DAYS`] of
    /// its end (or past it) is replaced by a new one. An imported certificate is returned
    /// as it is, expired or not: only its holder can renew it.
    pub async fn current_key(
        &self,
        professional: &ProfessionalRow,
        name: &str,
    ) -> Result<SigningKeyRow, DocError> {
        if let Some(k) = self.store.active_signing_key(professional.id).await?
            && !self.due_for_renewal(&k)
        {
            return Ok(k);
        }
        let _one_at_a_time = self.issuing.lock().await;
        let previous = self.store.active_signing_key(professional.id).await?;
        if let Some(k) = &previous
            && !self.due_for_renewal(k)
        {
            return Ok(previous.unwrap_or_else(|| unreachable!()));
        }
        let ca = self.ca().await?;
        let registration = format!(
            "{} {}/{}",
            professional.council.to_uppercase(),
            professional.council_number,
            professional.council_uf
        );
        let now = self.clock.now();
        let out = self
            .run(
                &self.key_pool,
                Job::IssueKey {
                    ca,
                    holder: name.to_string(),
                    registration,
                    now,
                },
            )
            .await?;
        // Issued on first need (the professional's first look at their key, or their first
        // document), or renewed near its end: audited like an import, in the transaction
        // that installs it (and retires the old one).
        let audit = match &previous {
            None => AuditEvent::new(
                Some(professional.user_id),
                "signing_key.issue",
                "professional",
            ),
            Some(old) => AuditEvent::new(None, "signing_key.renew", "professional")
                .details(json!({"previous_not_after": old.not_after})),
        }
        .entity_id(professional.id);
        let replaces = previous.as_ref().map(|k| k.id);
        self.install(professional, out, "installation_ca", replaces, audit)
            .await?;
        if let Some(old) = &previous {
            tracing::info!(professional = %professional.id, previous_not_after = %old.not_after,
                "installation-CA signing certificate renewed");
        }
        self.store
            .active_signing_key(professional.id)
            .await?
            .ok_or_else(|| DocError::Invalid("key missing after issue".into()))
    }

    /// Whether `key` is an installation-CA certificate this installation should replace.
    fn due_for_renewal(&self, key: &SigningKeyRow) -> bool {
        key.source == "installation_ca"
            && key.not_after - self.clock.now() <= chrono::Duration::days(RENEW_BEFORE_DAYS)
    }

    /// Import a PKCS#12 file as the professional's key (replacing the current one); its
    /// certificate must be valid at `now` (the app's clock). `audit` is appended, with the
    /// certificate's subject and issuer, in the transaction that installs it.
    pub async fn import_key(
        &self,
        professional: &ProfessionalRow,
        data: Vec<u8>,
        password: String,
        now: chrono::DateTime<chrono::Utc>,
        audit: AuditEvent,
    ) -> Result<SigningKeyRow, DocError> {
        let out = self
            .run(
                &self.key_pool,
                Job::ImportPkcs12 {
                    data,
                    password,
                    now,
                },
            )
            .await?;
        self.install(professional, out, "imported", None, audit)
            .await?;
        self.store
            .active_signing_key(professional.id)
            .await?
            .ok_or_else(|| DocError::Invalid("key missing after import".into()))
    }

    /// Store a new key as the professional's active one (`replaces`: the installation-CA
    /// key it renews), with `audit` (its details gain the certificate's subject and issuer)
    /// in the same transaction.
    async fn install(
        &self,
        professional: &ProfessionalRow,
        out: Output,
        source: &str,
        replaces: Option<uuid::Uuid>,
        audit: AuditEvent,
    ) -> Result<(), DocError> {
        let Output::Key { key_enc, chain } = out else {
            return Err(DocError::Invalid("unexpected signer answer".into()));
        };
        let first = chain
            .first()
            .ok_or_else(|| DocError::Invalid("empty chain".into()))?;
        let cert = <x509_cert::Certificate as der::Decode>::from_der(first)
            .map_err(|e| DocError::Invalid(e.to_string()))?;
        let info = pki::cert_info(&cert);
        let mut details = match &audit.details {
            serde_json::Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        details.insert("subject".into(), json!(info.subject));
        details.insert("issuer".into(), json!(info.issuer));
        let audit = audit.details(serde_json::Value::Object(details));
        self.store
            .install_signing_key(
                &SigningKeyRow {
                    id: uuid::Uuid::now_v7(),
                    professional_id: professional.id,
                    source: source.to_string(),
                    key_enc,
                    chain_der: chain.concat(),
                    subject: info.subject,
                    issuer: info.issuer,
                    not_after: info.not_after,
                    created_at: self.clock.now(),
                    retired_at: None,
                },
                replaces,
                &audit,
            )
            .await?;
        Ok(())
    }

    /// Queue a stored `pending` document for signing (in the background), unless this
    /// process is already working on it.
    pub fn dispatch(self: &Arc<Self>, id: uuid::Uuid) {
        if self.pool.is_none() || !crate::sync::lock(&self.in_flight).insert(id) {
            return;
        }
        let me = self.clone();
        actix::spawn(async move {
            if let Err(e) = me.sign_one(id).await {
                tracing::error!(document = %id, error = %e, "document not signed");
                if let Ok(true) = me.store.document_failed(id, "internal_error").await {
                    me.announce(id).await;
                }
            }
            crate::sync::lock(&me.in_flight).remove(&id);
        });
    }

    /// Queue every pending document no live signer holds: at start (nothing accepted is
    /// ever lost) and then periodically (a document whose signer died — a process killed
    /// mid-signing, on this node or another — is picked up once its lease runs out).
    pub async fn requeue_pending(self: &Arc<Self>) -> Result<usize, DocError> {
        if self.pool.is_none() {
            return Ok(0);
        }
        let ids = self
            .store
            .unleased_pending_documents(crate::store::now())
            .await?;
        let mut queued = 0;
        for id in &ids {
            if !crate::sync::lock(&self.in_flight).contains(id) {
                self.dispatch(*id);
                queued += 1;
            }
        }
        if queued > 0 {
            tracing::info!(count = queued, "pending documents queued for signing");
        }
        Ok(queued)
    }

    /// Look for orphaned pending documents every third of a lease, for good.
    pub fn sweep_orphans(self: &Arc<Self>) {
        if self.pool.is_none() {
            return;
        }
        let me = self.clone();
        let every = (self.lease / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(20))
            .max(std::time::Duration::from_secs(1));
        actix::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = me.requeue_pending().await {
                    tracing::warn!(error = %e, "pending documents sweep failed");
                }
            }
        });
    }

    async fn sign_one(&self, id: uuid::Uuid) -> Result<(), DocError> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        loop {
            let Some(view) = self.store.document(id).await? else {
                return Ok(());
            };
            if view.d.status != DocumentStatus::Pending {
                return Ok(());
            }
            // The lease keeps other signers (another node, or this one's sweep) away while
            // this one works; a process that dies leaves it to run out. A restart is not a
            // failed attempt: only a signer that fails on the document counts (below).
            let now = crate::store::now();
            if !self
                .store
                .lease_document(id, &self.node, now, now + self.lease)
                .await?
            {
                return Ok(());
            }
            let (input, meta, key) = match self.prepare(&view).await {
                Err(DocError::CertificateExpired(at)) => {
                    tracing::warn!(document = %id, expired_at = %at,
                        "document not signed: the professional's certificate has expired");
                    if self
                        .store
                        .document_failed(id, "certificate_expired")
                        .await?
                    {
                        self.announce(id).await;
                    }
                    return Ok(());
                }
                prepared => prepared?,
            };
            let key_id = key.id;
            let icp_brasil = input.signature_notice.is_none();
            match self
                .run(
                    pool,
                    Job::Sign {
                        input: Box::new(input),
                        meta,
                        key,
                    },
                )
                .await
            {
                Ok(Output::Signed { pdf, sha256 }) => {
                    let at = crate::store::now();
                    // Stored encrypted: the file carries the whole clinical content.
                    let stored = self
                        .cipher
                        .encrypt_bytes(&pdf)
                        .map_err(|e| DocError::Invalid(e.to_string()))?;
                    if self
                        .store
                        .document_signed(id, key_id, &stored, &sha256, icp_brasil, at)
                        .await?
                    {
                        metrics::counter!("atende_documents_signed_total").increment(1);
                        self.announce(id).await;
                    }
                    return Ok(());
                }
                Ok(_) => return Err(DocError::Invalid("unexpected signer answer".into())),
                Err(DocError::Job(JobError::Panicked)) => {
                    let failures = self.store.document_signer_failed(id).await?;
                    if failures >= MAX_SIGNER_FAILURES {
                        tracing::error!(document = %id, failures, "signer crashed on this document repeatedly; giving up");
                        if self.store.document_failed(id, "signer_crashed").await? {
                            self.announce(id).await;
                        }
                        return Ok(());
                    }
                    tracing::warn!(document = %id, failures, "signer crashed; trying again");
                    continue;
                }
                Err(DocError::Job(e)) => {
                    let reason = match e {
                        JobError::Pki(_) => "key_unusable",
                        _ => "signing_failed",
                    };
                    tracing::error!(document = %id, error = %e, "document signing failed");
                    if self.store.document_failed(id, reason).await? {
                        self.announce(id).await;
                    }
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Everything the signer needs for one document.
    async fn prepare(
        &self,
        view: &DocumentView,
    ) -> Result<(RenderInput, SignatureMeta, SealedKey), DocError> {
        let d = &view.d;
        let content: DocumentContent = serde_json::from_str(
            &self
                .cipher
                .decrypt(&d.content_enc)
                .map_err(|e| DocError::Invalid(e.to_string()))?,
        )
        .map_err(|e| DocError::Invalid(e.to_string()))?;
        let clinic = self
            .store
            .clinic_by_id(d.clinic_id)
            .await?
            .ok_or_else(|| DocError::Invalid("clinic gone".into()))?;
        let professional = self
            .store
            .professional_by_user(view.professional_user_id)
            .await?
            .ok_or_else(|| DocError::Invalid("professional gone".into()))?;
        let patient = self
            .store
            .patient_by_id(d.patient_id)
            .await?
            .ok_or_else(|| DocError::Invalid("patient gone".into()))?;
        let key = self.key_for(&professional, &view.professional_name).await?;
        let kind = content.kind();
        let chain = signer::split_chain(&key.chain_der);
        let mut input = render_input(
            content,
            &clinic,
            &professional,
            &view.professional_name,
            &patient,
            d.created_at,
            &self.verify_url(d.id),
            &d.code,
        );
        if self.is_icp_brasil(&chain) {
            input.signature_notice = None;
        }
        let council = input.professional_council.clone();
        let meta = SignatureMeta {
            signer_name: view.professional_name.clone(),
            reason: format!("{} emitido por {council}", input.title),
            location: format!("{} - {}", clinic.city, clinic.uf),
            time: self.clock.now(),
            iti: iti_metadata(kind, &professional),
        };
        Ok((
            input,
            meta,
            SealedKey {
                id: key.id,
                key_enc: key.key_enc,
                chain,
            },
        ))
    }

    /// An unsigned preview of a document (rendered on the pool).
    pub async fn preview(&self, input: RenderInput) -> Result<Vec<u8>, DocError> {
        match self
            .run(
                &self.key_pool,
                Job::Preview {
                    input: Box::new(input),
                },
            )
            .await?
        {
            Output::Preview { pdf } => Ok(pdf),
            _ => Err(DocError::Invalid("unexpected signer answer".into())),
        }
    }

    /// Push the document's status to the professional who issued it.
    pub async fn announce(&self, id: uuid::Uuid) {
        match self.store.document(id).await {
            Ok(Some(view)) => self.push(view.professional_user_id, "document.updated", &view),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot announce document status"),
        }
    }

    pub fn push(&self, user: UserId, event: &str, view: &DocumentView) {
        self.bus.publish(TopicEvent {
            topic: Topic::User(user).to_string(),
            event: event.to_string(),
            seq: None,
            payload: json!({"document": DocumentSummary::from(view)}),
        });
    }
}

/// The arc under which ICP-Brasil (ADE-ICP-04.01) writes a council's registration number
/// (`.1`), UF (`.2`) and specialty (`.3`) — the same OIDs the ITI validator reads from a
/// health document's metadata. `None` for a council ITI defines none for.
pub fn council_oid_arc(council: Council) -> Option<&'static str> {
    match council {
        Council::Crm => Some("2.16.76.1.4.2.2"),
        Council::Coren => Some("2.16.76.1.4.2.7"),
        Council::Crefito => Some("2.16.76.1.4.2.8"),
        Council::Crn => Some("2.16.76.1.4.2.11"),
        Council::Cro => Some("2.16.76.1.4.2.12"),
        Council::Crp => Some("2.16.76.1.4.2.13"),
    }
}

/// The ITI metadata of a document: its type (where ITI defines one) and the issuer's
/// registration under their own council's OIDs; the specialty only with its RQE.
fn iti_metadata(kind: DocumentKind, p: &ProfessionalRow) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if let Some(oid) = kind.iti_oid() {
        v.push((oid.to_string(), String::new()));
    }
    let arc = Council::parse(&p.council).ok().and_then(council_oid_arc);
    if let Some(arc) = arc {
        v.push((format!("{arc}.1"), p.council_number.clone()));
        v.push((format!("{arc}.2"), p.council_uf.clone()));
        if let (Some(s), Some(_rqe)) = (&p.specialty, &p.rqe) {
            v.push((format!("{arc}.3"), s.clone()));
        }
    }
    v
}

/// Build what is printed from the stored rows.
#[allow(clippy::too_many_arguments)]
pub fn render_input(
    content: DocumentContent,
    clinic: &crate::store::clinics::ClinicRow,
    professional: &ProfessionalRow,
    professional_name: &str,
    patient: &crate::store::patients::PatientRow,
    issued_at: DateTime<Utc>,
    verify_url: &str,
    code: &str,
) -> RenderInput {
    let tz = clinic.tz();
    let local = issued_at.with_timezone(&tz);
    let address = clinic.address().one_line();
    let antimicrobial_valid_until = content
        .has_antimicrobial()
        .then(|| local.date_naive() + chrono::Days::new(ANTIMICROBIAL_VALID_DAYS));
    let council = format!(
        "{} {}/{}",
        professional.council.to_uppercase(),
        professional.council_number,
        professional.council_uf
    );
    let cpf = Cpf::parse(&patient.cpf)
        .map(|c| c.to_string())
        .unwrap_or_else(|_| patient.cpf.clone());
    let council_of = Council::parse(&professional.council).unwrap_or(Council::Crm);
    let line = Profession::parse(&professional.profession)
        .map(scope::scope_of)
        .ok();
    RenderInput {
        title: scope::document_title(content.kind(), council_of).to_string(),
        prescription_note: line.and_then(|s| s.prescription_note).map(str::to_string),
        signature_notice: Some(NOT_ICP_NOTICE.to_string()),
        content,
        clinic_name: clinic.name.clone(),
        clinic_address: address,
        clinic_cnpj: crate::domain::Cnpj::parse(&clinic.cnpj)
            .map(|c| c.to_string())
            .unwrap_or_else(|_| clinic.cnpj.clone()),
        clinic_city: clinic.city.clone(),
        professional_name: professional_name.to_string(),
        professional_council: council,
        professional_rqe: professional.rqe.clone(),
        professional_specialty: professional.specialty.clone(),
        patient_name: patient.full_name.clone(),
        patient_cpf: cpf,
        patient_address: patient.address.as_ref().map(Address::one_line),
        antimicrobial_valid_until,
        issued_at,
        issued_at_text: format!(
            "{} de {} de {}, {} ({})",
            local.format("%d"),
            MONTHS[local.month0() as usize],
            local.format("%Y"),
            local.format("%H:%M"),
            match tz.name() {
                "America/Sao_Paulo" => "horário de Brasília",
                other => other,
            }
        ),
        verify_url: verify_url.to_string(),
        code: code.to_string(),
        signer_name: professional_name.to_string(),
        preview: false,
    }
}

/// RDC ANVISA 471/2021: a prescription of antimicrobials is valid for 10 days from its
/// issue.
const ANTIMICROBIAL_VALID_DAYS: u64 = 10;

const MONTHS: [&str; 12] = [
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
];

/// A verification code: 10 characters from an alphabet without look-alikes (≈ 50 bits),
/// shown grouped as XXXXX-XXXXX.
pub fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let raw: String = (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &raw[..5], &raw[5..])
}

/// The letters and digits of a verification code: no 0/O, 1/I/L, so a person can type it.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters of a code: 10 × log2(31) ≈ 49.5 bits, above the 40 bits a typed code must
/// carry; guessing is further held to `security.limits.verification_misses_per_address`.
const CODE_LEN: usize = 10;

/// Normalise a code typed by a person (case, spaces, missing dash).
pub fn normalize_code(input: &str) -> Option<String> {
    let raw: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (raw.len() == 10).then(|| format!("{}-{}", &raw[..5], &raw[5..]))
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn verification_codes_carry_at_least_40_bits_and_survive_retyping() {
        let bits = CODE_LEN as f64 * (CODE_ALPHABET.len() as f64).log2();
        assert!(bits >= 40.0, "{bits} bits");
        let code = new_code();
        assert_eq!(code.len(), CODE_LEN + 1);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalize_code(&typed).as_deref(), Some(code.as_str()));
    }
}

#[cfg(test)]
mod url_tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_urls_are_recognised_and_public_ones_are_not() {
        for local in [
            "http://localhost:8080",
            "http://127.0.0.1:18110/",
            "http://[::1]:80",
            "http://0.0.0.0:8080",
            "https://app.localhost",
        ] {
            assert!(is_loopback_url(local), "{local}");
        }
        for public in [
            "https://clinica.example",
            "https://10.0.0.5:8443/atende",
            "https://localhost.example.com",
        ] {
            assert!(!is_loopback_url(public), "{public}");
        }
    }
}
