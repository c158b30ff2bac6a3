//! Signed-document use cases. Here: a professional issues (stored `pending` with its audit
//! row, then signed in the background), previews, revokes and sends; the patient reads and
//! downloads their own; professionals and admins of the clinic list a patient's (audited).
//! Beside it: the professional's signing key ([`keys`]) and public verification by code,
//! by file and through the ITI validator's protocol ([`verify`]).

pub mod access;
pub mod keys;
pub mod verify;
pub mod warnings;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::documents::signer::JobError;
use crate::documents::view::DocumentSummary;
use crate::documents::{DocError, new_code, pki};
use crate::domain::document::{DocumentContent, DocumentKind, DocumentStatus};
use crate::domain::scope::{self, OutsideScope, Scope};
use crate::domain::{ClinicId, PatientId, Role, ValidationError};
use crate::messaging::DOCUMENT_TEMPLATE;
use crate::security::audit::AuditEvent;
use crate::store::StoreError;
use crate::store::clinics::ClinicRow;
use crate::store::documents::{DocumentRow, DocumentView};
use crate::store::outbox::NewMessage;
use crate::store::patients::PatientRow;
use crate::store::users::ProfessionalRow;

/// Largest PDF accepted by the public integrity check, and largest PKCS#12 upload.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;

impl From<DocError> for AppError {
    fn from(e: DocError) -> Self {
        match e {
            DocError::Store(s) => s.into(),
            DocError::PoolGone => AppError::Unavailable,
            DocError::CertificateExpired(at) => AppError::conflict(
                "certificate_expired",
                format!(
                    "seu certificado digital venceu em {}: importe o certificado renovado ou \
                     volte ao certificado da instalação",
                    at.format("%d/%m/%Y")
                ),
            ),
            DocError::Job(JobError::Pki(p)) => {
                let code = match p {
                    pki::PkiError::BadPkcs12 => "invalid_pkcs12",
                    pki::PkiError::NoKey => "pkcs12_without_key",
                    pki::PkiError::NotRsa => "unsupported_key",
                    pki::PkiError::KeyMismatch => "certificate_key_mismatch",
                    pki::PkiError::Expired => "certificate_expired",
                    pki::PkiError::KeyUsage => "certificate_cannot_sign",
                    pki::PkiError::Internal(_) => "invalid_certificate",
                };
                AppError::Validation(ValidationError::new(code, pkcs12_message(code)))
            }
            other => AppError::Unexpected(anyhow::anyhow!(other.to_string())),
        }
    }
}

/// What a person is told about a PKCS#12 file that cannot be used.
pub(crate) fn pkcs12_message(code: &str) -> &'static str {
    match code {
        "invalid_pkcs12" => "senha incorreta ou arquivo que não é PKCS#12 (.pfx/.p12)",
        "pkcs12_without_key" => "o arquivo não contém chave privada com certificado",
        "unsupported_key" => "somente chaves RSA são aceitas",
        "certificate_key_mismatch" => "o certificado não corresponde à chave privada",
        "certificate_expired" => "o certificado está vencido ou ainda não é válido",
        "certificate_cannot_sign" => "o certificado não permite assinatura digital",
        _ => "certificado inválido",
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    /// `{"kind": "prescription" | "special_prescription" | "certificate" | "exam_request" |
    /// "attendance_declaration" | "psychological_report", …}`
    pub content: DocumentContent,
}

/// A document just accepted: stored `pending` and queued for signing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedDocument {
    pub id: uuid::Uuid,
    pub status: DocumentStatus,
    pub kind: DocumentKind,
    /// The verification code printed on it.
    pub code: String,
    /// What its QR code holds (also the ITI validator's endpoint).
    pub verify_url: String,
    /// Medicines matching an active allergy of the patient (issued anyway: the prescriber
    /// was shown them by `POST /api/documents/warnings` before signing).
    pub warnings: Vec<warnings::PrescriptionWarning>,
}

/// A document as the caller may see it: the summary, and for its issuer, its patient and
/// the clinic's professionals also the content, code and verification URL.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentDetails {
    #[serde(flatten)]
    pub summary: DocumentSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<DocumentContent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
}

/// A patient's documents in one clinic.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentList {
    pub documents: Vec<DocumentSummary>,
    /// Whether the caller reads the content and the PDF of the documents they did not
    /// issue (the clinic grants their role); their own they always do.
    pub content_readable: bool,
}

/// One of the caller's own documents (received or issued), with its code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnDocument {
    #[serde(flatten)]
    pub summary: DocumentSummary,
    pub code: String,
}

/// The caller's own documents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnDocuments {
    pub documents: Vec<OwnDocument>,
}

/// A PDF to send, with the file name to offer.
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub file_name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub reason: String,
}

/// The caller as the professional issuing in `clinic`, with their registration.
async fn issuer(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<ProfessionalRow, AppError> {
    auth.require_role(clinic, &[Role::Professional])?;
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or_else(|| {
            ValidationError::new(
                "not_a_professional",
                "somente profissionais emitem documentos",
            )
            .into()
        })
}

/// What an issue or a preview needs once checked: the caller may issue here, the patient
/// is the clinic's, the content is valid (and normalised), and a special-control
/// prescription's patient has an address.
struct Checked {
    body: IssueRequest,
    professional: ProfessionalRow,
    clinic: ClinicRow,
    patient: PatientRow,
}

async fn checked(
    state: &AppState,
    auth: &Auth,
    mut body: IssueRequest,
) -> Result<Checked, AppError> {
    let professional = issuer(state, auth, body.clinic_id).await?;
    let clinic = state
        .store
        .clinic_by_id(body.clinic_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let patient = state
        .store
        .clinic_patient(body.clinic_id, body.patient_id)
        .await?
        .ok_or_else(|| {
            AppError::from(ValidationError::new(
                "patient_not_registered",
                "paciente não cadastrado nesta clínica",
            ))
        })?
        .patient;
    let today = state.clock.now().with_timezone(&clinic.tz()).date_naive();
    body.content.validate(today)?;
    scope::scope_of_stored(&professional.profession)?
        .check(&body.content)
        .map_err(|refusal| AppError::forbidden(OutsideScope::CODE, refusal.0))?;
    if body.content.kind().special_control_form() && patient.address.is_none() {
        return Err(ValidationError::new(
            "patient_address_required",
            "a receita de controle especial exige o endereço completo do paciente \
             (Portaria SVS/MS 344/98): cadastre o endereço e tente de novo",
        )
        .field("address")
        .into());
    }
    Ok(Checked {
        body,
        professional,
        clinic,
        patient,
    })
}

/// Issue a document: stored `pending` with its audit row in one transaction, then queued
/// for signing (`document.updated` on the issuer's `user:` topic when signed or failed).
pub async fn issue(
    state: &AppState,
    auth: &Auth,
    body: IssueRequest,
) -> Result<IssuedDocument, AppError> {
    let Checked {
        body, professional, ..
    } = checked(state, auth, body).await?;
    state.documents.check_usable_key(&professional).await?;
    let warnings =
        warnings::allergy_warnings(state, body.clinic_id, body.patient_id, &body.content).await?;
    let content = serde_json::to_string(&body.content).map_err(anyhow::Error::new)?;
    let mut row = DocumentRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: body.clinic_id,
        professional_id: professional.id,
        patient_id: body.patient_id,
        kind: body.content.kind(),
        content_enc: state.cipher.encrypt(&content)?,
        code: new_code(),
        status: DocumentStatus::Pending,
        failure: None,
        attempts: 0,
        signing_key_id: None,
        sha256: None,
        created_at: crate::store::now(),
        signed_at: None,
        sent_at: None,
        revoked_at: None,
        revoked_reason: None,
        icp_brasil: false,
    };
    let audit = AuditEvent::new(Some(auth.user_id), "document.issue", "document")
        .entity_id(row.id)
        .clinic(row.clinic_id)
        .ip(auth.ip.clone())
        .details(json!({"kind": row.kind, "patient_id": row.patient_id,
            "allergy_warnings": warnings.len()}));
    // A code collision (one in ~10^15) is retried with a fresh code, in a fresh transaction.
    loop {
        let mut tx = state.store.begin().await?;
        match state.store.insert_document(&mut tx, &row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                row.code = new_code();
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        state.store.append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        break;
    }
    state.documents.dispatch(row.id);
    Ok(IssuedDocument {
        id: row.id,
        status: row.status,
        kind: row.kind,
        verify_url: state.documents.verify_url(row.id),
        code: row.code,
        warnings,
    })
}

/// What the prescriber should see before signing this document (checked as an issue
/// would be; nothing is stored). A prescription reads the patient's active allergies
/// (audited as `record.read`).
pub async fn check(
    state: &AppState,
    auth: &Auth,
    body: IssueRequest,
) -> Result<warnings::Warnings, AppError> {
    let Checked { body, .. } = checked(state, auth, body).await?;
    let (clinic, patient) = (body.clinic_id, body.patient_id);
    let found = warnings::allergy_warnings(state, clinic, patient, &body.content).await?;
    if !body.content.medicine_lists().is_empty() {
        warnings::audit_check(state, auth, clinic, patient, found.len()).await?;
    }
    Ok(warnings::Warnings { warnings: found })
}

/// What the documents screen needs before offering anything to issue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuerScope {
    #[serde(flatten)]
    pub scope: Scope,
    /// Set while `server.public_url` points to this machine: the QR codes and links printed
    /// on documents lead nowhere for a pharmacy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_url_warning: Option<String>,
}

/// What the caller may issue: the document kinds and medicine lists of their profession's
/// line in the scope-of-practice table (the documents screen offers only these).
pub async fn issuer_scope(state: &AppState, auth: &Auth) -> Result<IssuerScope, AppError> {
    let scope = my_scope(state, auth).await?;
    let verification_url_warning = state.documents.public_url_is_loopback().then(|| {
        format!(
            "O endereço de verificação impresso nos documentos ({}) aponta para este \
             computador: farmácias não conseguem abrir o QR code. Configure server.public_url.",
            state.documents.public_url()
        )
    });
    Ok(IssuerScope {
        scope,
        verification_url_warning,
    })
}

async fn my_scope(state: &AppState, auth: &Auth) -> Result<Scope, AppError> {
    let professional = state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or_else(|| {
            AppError::from(ValidationError::new(
                "not_a_professional",
                "somente profissionais emitem documentos",
            ))
        })?;
    Ok(*scope::scope_of_stored(&professional.profession)?)
}

/// An unsigned PDF marked "pré-visualização" (nothing is stored).
pub async fn preview(state: &AppState, auth: &Auth, body: IssueRequest) -> Result<Pdf, AppError> {
    let Checked {
        body,
        professional,
        clinic,
        patient,
    } = checked(state, auth, body).await?;
    let mut input = crate::documents::render_input(
        body.content,
        &clinic,
        &professional,
        &auth.full_name,
        &patient,
        crate::store::now(),
        &state.documents.verify_url(uuid::Uuid::nil()),
        "XXXXX-XXXXX",
    );
    input.preview = true;
    Ok(Pdf {
        bytes: state.documents.preview(input).await?,
        file_name: "pre-visualizacao.pdf".into(),
    })
}

/// How the caller may see a document: as its issuer, as its patient, as a member of its
/// clinic whose role the clinic grants content (audited), or as one of the clinic's
/// professionals and admins without that grant, who see that it exists but not what it
/// says (audited).
#[derive(PartialEq)]
enum Access {
    Issuer,
    Patient,
    Granted,
    Staff,
}

impl Access {
    /// Whether the caller reads the clinical content and the signed PDF.
    fn reads_content(&self) -> bool {
        *self != Access::Staff
    }
}

async fn load_for(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<(DocumentView, Access), AppError> {
    let view = state.store.document(id).await?.ok_or(AppError::NotFound)?;
    let clinic = view.d.clinic_id;
    let access = if view.professional_user_id == auth.user_id {
        Access::Issuer
    } else if auth.owns_patient(view.d.patient_id) {
        Access::Patient
    } else if access::holds_grant(state, auth, clinic).await? {
        Access::Granted
    } else if auth.has_role(clinic, &[Role::Professional, Role::ClinicAdmin]) {
        Access::Staff
    } else {
        // Someone else's document does not exist as far as the caller can tell.
        return Err(AppError::NotFound);
    };
    Ok((view, access))
}

/// Write a member's read of someone else's document in the audit log: `document.read` for
/// its summary, `document.content_read` for its content or signed file.
async fn audit_member_read(
    state: &AppState,
    auth: &Auth,
    view: &DocumentView,
    access: &Access,
    content: bool,
) -> Result<(), AppError> {
    if matches!(access, Access::Issuer | Access::Patient) {
        return Ok(());
    }
    let action = if content {
        "document.content_read"
    } else {
        "document.read"
    };
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), action, "document")
                .entity_id(view.d.id)
                .clinic(view.d.clinic_id)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(())
}

fn content_not_granted() -> AppError {
    AppError::forbidden(
        "content_not_granted",
        "o conteúdo deste documento é visível só para quem o emitiu, para o paciente e para \
         os papéis que a clínica autorizar",
    )
}

/// A document for its issuer, its patient, or the clinic's professionals and admins; its
/// content (and code) only for the issuer, the patient and the roles the clinic grants.
/// Reads by members are audited.
pub async fn document(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<DocumentDetails, AppError> {
    let (view, access) = load_for(state, auth, id).await?;
    let reads = access.reads_content();
    audit_member_read(state, auth, &view, &access, reads).await?;
    let mut out = DocumentDetails {
        summary: DocumentSummary::from(&view),
        content: None,
        code: None,
        verify_url: None,
    };
    if reads {
        let content: DocumentContent =
            serde_json::from_str(&state.cipher.decrypt(&view.d.content_enc)?)
                .map_err(anyhow::Error::new)?;
        out.content = Some(content);
        out.code = Some(view.d.code.clone());
        out.verify_url = Some(state.documents.verify_url(view.d.id));
    }
    Ok(out)
}

/// The signed file of a document, or `not_signed` (still pending, or failed).
pub(crate) async fn signed_pdf(state: &AppState, view: &DocumentView) -> Result<Pdf, AppError> {
    match state.store.document_pdf(view.d.id).await? {
        Some(stored) => Ok(Pdf {
            bytes: state.cipher.open_bytes(stored)?,
            file_name: view.d.kind.file_name(&view.d.code),
        }),
        None => Err(AppError::conflict(
            "not_signed",
            "o documento ainda não foi assinado",
        )),
    }
}

/// The signed PDF: it carries the content, so only for whoever reads the content.
pub async fn download(state: &AppState, auth: &Auth, id: uuid::Uuid) -> Result<Pdf, AppError> {
    let (view, access) = load_for(state, auth, id).await?;
    if !access.reads_content() {
        audit_member_read(state, auth, &view, &access, false).await?;
        return Err(content_not_granted());
    }
    audit_member_read(state, auth, &view, &access, true).await?;
    signed_pdf(state, &view).await
}

/// Revoke a document (its issuer only): revoked and audited in one transaction; public
/// verification says so from then on.
pub async fn revoke(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
    body: RevokeRequest,
) -> Result<DocumentSummary, AppError> {
    let (mut view, access) = load_for(state, auth, id).await?;
    if access != Access::Issuer {
        return Err(AppError::Forbidden);
    }
    if view.d.status != DocumentStatus::Signed {
        // Nothing was signed: there is nothing a pharmacy could be shown, and a pending
        // document would otherwise be signed after its revocation.
        return Err(AppError::conflict(
            "not_signed",
            "só um documento assinado pode ser revogado",
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ValidationError::new(
            "reason_required",
            "informe o motivo da revogação (até 500 caracteres)",
        )
        .into());
    }
    let now = crate::store::now();
    let mut tx = state.store.begin().await?;
    if !state
        .store
        .revoke_document(&mut tx, view.d.id, reason, now)
        .await?
    {
        return Err(AppError::conflict(
            "already_revoked",
            "o documento já foi revogado",
        ));
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "document.revoke", "document")
                .entity_id(view.d.id)
                .clinic(view.d.clinic_id)
                .ip(auth.ip.clone())
                .details(json!({"reason": reason})),
        )
        .await?;
    tx.commit().await?;
    view.d.revoked_at = Some(now);
    view.d.revoked_reason = Some(reason.to_string());
    state
        .documents
        .push(view.professional_user_id, "document.updated", &view);
    for u in state.store.accounts_of_patient(view.d.patient_id).await? {
        state.documents.push(u, "document.updated", &view);
    }
    Ok(DocumentSummary::from(&view))
}

/// Send a signed document to its patient (its issuer only): a message queued in the
/// outbox and the document stamped sent, in one transaction; the patient's page shows it
/// live (`document.received`).
pub async fn send(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<DocumentSummary, AppError> {
    let (mut view, access) = load_for(state, auth, id).await?;
    if access != Access::Issuer {
        return Err(AppError::Forbidden);
    }
    if view.d.status != DocumentStatus::Signed {
        return Err(AppError::conflict(
            "not_signed",
            "o documento ainda não foi assinado",
        ));
    }
    if view.d.revoked_at.is_some() {
        return Err(AppError::conflict("revoked", "o documento foi revogado"));
    }
    let now = state.clock.now();
    let payload = json!({
        "document_id": view.d.id, "kind": view.d.kind, "code": view.d.code,
        "verify_url": state.documents.verify_url(view.d.id),
        "professional_name": view.professional_name, "clinic_name": view.clinic_name,
        "patient_name": view.patient_name,
    });
    let message = NewMessage {
        clinic: Some(view.d.clinic_id),
        patient: Some(view.d.patient_id),
        channel: delivery_channel(state, &view).await?,
        template: DOCUMENT_TEMPLATE.to_string(),
        ..Default::default()
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_message(&mut tx, &message, &payload)
        .await?;
    state
        .store
        .mark_document_sent(&mut tx, view.d.id, now)
        .await?;
    tx.commit().await?;
    view.d.sent_at = Some(now);
    for u in state.store.accounts_of_patient(view.d.patient_id).await? {
        state.documents.push(u, "document.received", &view);
    }
    state
        .documents
        .push(view.professional_user_id, "document.updated", &view);
    Ok(DocumentSummary::from(&view))
}

/// How a document reaches its patient: by WhatsApp, its PDF in the message, when the
/// installation sends documents by WhatsApp, the clinic turned WhatsApp on, and the patient
/// has a phone on file and did not opt out of it; by e-mail (a link to it) otherwise. A
/// document is something the patient asked for: an opt-out of reminder e-mails does not
/// hold it back.
async fn delivery_channel(state: &AppState, view: &DocumentView) -> Result<&'static str, AppError> {
    let w = &state.settings.messaging.whatsapp;
    if !w.enabled() || w.document_template.is_empty() {
        return Ok("email");
    }
    let clinic_on = state
        .store
        .clinic_messaging(view.d.clinic_id)
        .await?
        .and_then(|m| m.whatsapp_enabled)
        .unwrap_or(false);
    let patient = view.d.patient_id;
    if clinic_on
        && state.store.message_phone(Some(patient)).await?.is_some()
        && !state.store.opted_out(patient, "whatsapp").await?
    {
        return Ok("whatsapp");
    }
    Ok("email")
}

/// A patient's documents issued in a clinic, newest first (its professionals and admins;
/// the read is audited).
pub async fn patient_documents(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<DocumentList, AppError> {
    auth.require_role(clinic, &[Role::Professional, Role::ClinicAdmin])?;
    let docs = state
        .store
        .documents_of_patient(patient, Some(clinic))
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "document.list", "patient")
                .entity_id(patient)
                .clinic(clinic)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(DocumentList {
        documents: docs.iter().map(DocumentSummary::from).collect(),
        content_readable: access::holds_grant(state, auth, clinic).await?,
    })
}

/// A patient's own signed documents, or the documents a professional issued (last 200).
pub async fn my_documents(state: &AppState, auth: &Auth) -> Result<OwnDocuments, AppError> {
    let patients = auth.patient_ids();
    let docs = if !patients.is_empty() {
        let mut docs = Vec::new();
        for p in patients {
            docs.extend(
                state
                    .store
                    .documents_of_patient(p, None)
                    .await?
                    .into_iter()
                    .filter(|d| d.d.status == DocumentStatus::Signed),
            );
        }
        docs.sort_by_key(|v| std::cmp::Reverse(v.d.created_at));
        docs
    } else if let Some(pro) = state.store.professional_by_user(auth.user_id).await? {
        state.store.documents_of_professional(pro.id).await?
    } else {
        Vec::new()
    };
    Ok(OwnDocuments {
        documents: docs
            .iter()
            .map(|d| OwnDocument {
                summary: DocumentSummary::from(d),
                code: d.d.code.clone(),
            })
            .collect(),
    })
}
