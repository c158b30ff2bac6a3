//! What lists, status pushes and the verification page show of a document (never its
//! content, code or file): one view for HTTP answers and `document.*` pushes alike.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::document::{DocumentKind, DocumentStatus};
use crate::domain::{ClinicId, PatientId, UserId};
use crate::store::documents::DocumentView;

/// A professional's registration as printed: `CRM 123456/SP`.
pub fn council_of(v: &DocumentView) -> String {
    format!(
        "{} {}/{}",
        v.council.to_uppercase(),
        v.council_number,
        v.council_uf
    )
}

/// A document's status and who it concerns.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentSummary {
    pub id: uuid::Uuid,
    pub kind: DocumentKind,
    pub status: DocumentStatus,
    /// Why signing failed: `key_unusable`, `certificate_expired`, `signing_failed`,
    /// `signer_crashed`, `internal_error`.
    pub failure: Option<String>,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub professional_user_id: UserId,
    pub professional_name: String,
    /// The issuer's registration, e.g. `CRM 123456/SP`.
    pub council: String,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    /// SHA-256 (hex) of the signed file.
    pub sha256: Option<String>,
}

impl From<&DocumentView> for DocumentSummary {
    fn from(v: &DocumentView) -> Self {
        Self {
            id: v.d.id,
            kind: v.d.kind,
            status: v.d.status,
            failure: v.d.failure.clone(),
            clinic_id: v.d.clinic_id,
            clinic_name: v.clinic_name.clone(),
            patient_id: v.d.patient_id,
            patient_name: v.patient_name.clone(),
            professional_user_id: v.professional_user_id,
            professional_name: v.professional_name.clone(),
            council: council_of(v),
            created_at: v.d.created_at,
            signed_at: v.d.signed_at,
            sent_at: v.d.sent_at,
            revoked: v.d.revoked_at.is_some(),
            revoked_at: v.d.revoked_at,
            revoked_reason: v.d.revoked_reason.clone(),
            sha256: v.d.sha256.clone(),
        }
    }
}
