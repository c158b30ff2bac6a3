//! Public verification of signed documents, for pharmacies and validators: by the code
//! printed on the document, by uploading the file, and through the ITI validator's JSON
//! protocol at the URL in the QR code; and the installation CA's certificate to trust.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Pdf, signed_pdf};
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::documents::incremental::{self, AddedSignature};
use crate::documents::view::council_of;
use crate::documents::{NOT_ICP_NOTICE, normalize_code, pki};
use crate::domain::document::{DocumentKind, DocumentStatus, PublicStatus};
use crate::store::documents::DocumentView;

/// What the public may see of a document: no CPF, initials of the patient only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicDocument {
    pub id: uuid::Uuid,
    pub kind: DocumentKind,
    pub status: PublicStatus,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    pub professional_name: String,
    /// e.g. `CRM 123456/SP`.
    pub council: String,
    pub clinic_name: String,
    /// The patient's initials, e.g. `M.S.`
    pub patient_initials: String,
    pub issued_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    /// SHA-256 (hex) of the signed file.
    pub sha256: Option<String>,
    /// Where the signed file can be downloaded.
    pub pdf_url: String,
    /// Whether the signing certificate chains to ICP-Brasil (false while unsigned).
    pub icp_brasil: bool,
    /// What a pharmacist must read about the signature: the "não ICP-Brasil" notice for a
    /// signed document whose certificate does not chain to ICP-Brasil.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_notice: Option<String>,
}

impl PublicDocument {
    fn of(state: &AppState, v: &DocumentView) -> Self {
        let initials: String = v
            .patient_name
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .filter(|c| c.is_uppercase())
            .map(|c| format!("{c}."))
            .collect();
        Self {
            id: v.d.id,
            kind: v.d.kind,
            status: PublicStatus::of(v.d.status, v.d.revoked_at.is_some()),
            revoked_at: v.d.revoked_at,
            revoked_reason: v.d.revoked_reason.clone(),
            professional_name: v.professional_name.clone(),
            council: council_of(v),
            clinic_name: v.clinic_name.clone(),
            patient_initials: initials,
            issued_at: v.d.created_at,
            signed_at: v.d.signed_at,
            sha256: v.d.sha256.clone(),
            pdf_url: public_pdf_url(state, &v.d.code),
            icp_brasil: v.d.icp_brasil,
            signature_notice: signature_notice(v),
        }
    }
}

/// The notice a signed document carries when its certificate is not ICP-Brasil.
fn signature_notice(v: &DocumentView) -> Option<String> {
    (v.d.status == DocumentStatus::Signed && !v.d.icp_brasil).then(|| NOT_ICP_NOTICE.to_string())
}

/// "REVOGADO em 23/11/2026 14:05 (America/Sao_Paulo) — motivo: …", in the clinic's zone.
async fn revocation_text(state: &AppState, v: &DocumentView) -> Result<String, AppError> {
    let tz = state
        .store
        .clinic_by_id(v.d.clinic_id)
        .await?
        .map(|c| c.tz())
        .unwrap_or(chrono_tz::America::Sao_Paulo);
    let when =
        v.d.revoked_at
            .map(|t| {
                format!(
                    " em {} ({})",
                    t.with_timezone(&tz).format("%d/%m/%Y %H:%M"),
                    tz.name()
                )
            })
            .unwrap_or_default();
    let reason =
        v.d.revoked_reason
            .as_deref()
            .map(|r| format!(" — motivo: {r}"))
            .unwrap_or_default();
    Ok(format!(
        "Documento REVOGADO{when}{reason}. Não deve ser aceito nem dispensado."
    ))
}

fn public_pdf_url(state: &AppState, code: &str) -> String {
    format!(
        "{}/api/public/documents/{code}/pdf",
        state.documents.public_url()
    )
}

/// Whether an uploaded file is, byte for byte, one we signed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileCheck {
    pub intact: bool,
    /// SHA-256 (hex) of the uploaded file.
    pub sha256: String,
    /// The document, when the file is intact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<PublicDocument>,
    /// The file is one we signed, but its issuer revoked it: it must not be accepted.
    pub revoked: bool,
    /// What to tell the person checking, when the file is intact but revoked or its
    /// signature is not ICP-Brasil.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Signatures added to the file after atende signed it (a pharmacist's, a
    /// counter-signature), in file order, when the file is otherwise the one signed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub further_signatures: Vec<AddedSignature>,
    /// The file starts with a document atende signed but was changed afterwards beyond
    /// adding signatures: it is not what was signed.
    pub changed_after_signing: bool,
}

/// The ITI validator's answer: where the signed file is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItiAnswer {
    /// `1.0.0`.
    pub version: String,
    pub prescription: ItiPrescription,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItiPrescription {
    #[serde(rename = "signatureFiles")]
    pub signature_files: Vec<ItiFile>,
    /// Whether the signing certificate chains to ICP-Brasil.
    #[serde(rename = "icpBrasil")]
    pub icp_brasil: bool,
    /// The "não ICP-Brasil" notice, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItiFile {
    pub url: String,
}

/// Where the QR code's URL leads.
pub enum ItiEntry {
    /// A person: to the verification page of this document.
    Page(uuid::Uuid),
    /// The ITI validator, with the right code.
    Validator(ItiAnswer),
    /// The ITI validator, for a document its issuer revoked: not valid (410), with why.
    Revoked { message: String },
}

/// The installation CA's certificate (PEM), for validators to trust.
pub async fn ca_pem(state: &AppState) -> Result<String, AppError> {
    let der = state.documents.ca_certificate().await?;
    Ok(pki::pem(&der))
}

/// Refuse an address that used up its misses (`security.limits.verification_*`): codes
/// carry about 49.5 bits, and this keeps one address to a few thousand guesses a day.
async fn lookup_allowed(state: &AppState, address: &str) -> Result<(), AppError> {
    state
        .lookups
        .check(address)
        .await
        .map_err(|retry_after_secs| {
            metrics::counter!("atende_verification_throttled_total").increment(1);
            AppError::TooManyRequests { retry_after_secs }
        })
}

async fn by_code(state: &AppState, code: &str, address: &str) -> Result<DocumentView, AppError> {
    lookup_allowed(state, address).await?;
    let found = match normalize_code(code) {
        Some(code) => state.store.document_by_code(&code).await?,
        None => None,
    };
    match found {
        Some(doc) => Ok(doc),
        None => {
            state.lookups.missed(address).await;
            Err(AppError::NotFound)
        }
    }
}

/// A document by the code printed on it (case and dash optional), for `address`.
pub async fn public_document(
    state: &AppState,
    code: &str,
    address: &str,
) -> Result<PublicDocument, AppError> {
    let view = by_code(state, code, address).await?;
    Ok(PublicDocument::of(state, &view))
}

/// The signed file of a document, by its code, for `address`.
pub async fn public_pdf(state: &AppState, code: &str, address: &str) -> Result<Pdf, AppError> {
    let view = by_code(state, code, address).await?;
    signed_pdf(state, &view).await
}

/// Check an uploaded file: one we signed, unchanged?
pub async fn check_file(state: &AppState, file: &[u8]) -> Result<FileCheck, AppError> {
    if !file.starts_with(b"%PDF-") {
        return Err(AppError::bad_request(
            "not_a_pdf",
            "o arquivo enviado não é um PDF",
        ));
    }
    let sha256 = hex::encode(Sha256::digest(file));
    let mut view = state.store.document_by_sha256(&sha256).await?;
    let mut further_signatures = Vec::new();
    let mut changed_after_signing = false;
    if view.is_none()
        && let Some(len) = incremental::first_revision_len(file)
        && len < file.len()
    {
        // Ours with an incremental update appended? Our file is then its first revision.
        let original = hex::encode(Sha256::digest(&file[..len]));
        if let Some(v) = state.store.document_by_sha256(&original).await? {
            match incremental::update_after(file, len) {
                incremental::Update::Signatures(added) => {
                    further_signatures = added;
                    view = Some(v);
                }
                incremental::Update::Changed(why) => {
                    tracing::info!(document = %v.d.id, %why, "uploaded file changed after signing");
                    changed_after_signing = true;
                }
            }
        }
    }
    let mut warnings = Vec::new();
    let mut revoked = false;
    if let Some(v) = &view {
        if v.d.revoked_at.is_some() {
            revoked = true;
            warnings.push(revocation_text(state, v).await?);
        }
        if let Some(n) = signature_notice(v) {
            warnings.push(n);
        }
    }
    if !further_signatures.is_empty() {
        let names: Vec<String> = further_signatures
            .iter()
            .map(|s| {
                let who = if s.signer.is_empty() {
                    "signatário sem nome"
                } else {
                    &s.signer
                };
                if s.verified {
                    who.to_string()
                } else {
                    format!("{who} (assinatura que não confere)")
                }
            })
            .collect();
        warnings.push(format!(
            "O documento original está íntegro; depois dele, {} assinatura(s) foram \
             acrescentadas ao arquivo: {}.",
            further_signatures.len(),
            names.join("; ")
        ));
    }
    let document = view.map(|v| PublicDocument::of(state, &v));
    Ok(FileCheck {
        intact: document.is_some(),
        sha256,
        document,
        revoked,
        warnings,
        further_signatures,
        changed_after_signing,
    })
}

/// The URL in the QR code: people go to the verification page; the ITI validator
/// (`_format=application/validador-iti+json`, `_secretCode=CODE`) gets the signed file's
/// URL — after the code matches (`wrong_code`), and only for a signed document.
pub async fn iti_entry(
    state: &AppState,
    id: &str,
    format: Option<&str>,
    secret_code: Option<&str>,
    address: &str,
) -> Result<ItiEntry, AppError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    // A raw `+` in a query string decodes to a space; validators do not always escape it.
    let iti = format.is_some_and(|f| f.replace(' ', "+") == "application/validador-iti+json");
    if !iti {
        return Ok(ItiEntry::Page(id));
    }
    lookup_allowed(state, address).await?;
    let Some(view) = state.store.document(id).await? else {
        state.lookups.missed(address).await;
        return Err(AppError::NotFound);
    };
    let given = secret_code.and_then(normalize_code).unwrap_or_default();
    if given.len() != view.d.code.len() || !subtle_eq(given.as_bytes(), view.d.code.as_bytes()) {
        state.lookups.missed(address).await;
        return Err(AppError::unauthorized(
            "wrong_code",
            "código de verificação incorreto",
        ));
    }
    if view.d.status != DocumentStatus::Signed {
        return Err(AppError::NotFound);
    }
    // A revoked document is never handed to the validator as a file to validate: its
    // signature is still mathematically valid, and the validator would say so.
    if view.d.revoked_at.is_some() {
        return Ok(ItiEntry::Revoked {
            message: revocation_text(state, &view).await?,
        });
    }
    Ok(ItiEntry::Validator(ItiAnswer {
        version: "1.0.0".into(),
        prescription: ItiPrescription {
            signature_files: vec![ItiFile {
                url: public_pdf_url(state, &view.d.code),
            }],
            icp_brasil: view.d.icp_brasil,
            notice: signature_notice(&view),
        },
    }))
}

/// Constant-time equality of two equal-length byte strings.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
