//! Who reads a document's clinical content. The issuing professional and the patient always
//! do; other members of the clinic see that a document exists (its kind, dates and state)
//! and read its content — the CID of a certificate, a prescription's items — or its signed
//! PDF only when the clinic grants their role here. Every such read is audited.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, ValidationError};
use crate::security::audit::AuditEvent;

/// The roles of a clinic that read the content of documents they did not issue.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentGrants {
    /// `clinic_admin`, `professional`, `receptionist`; empty: only the issuer and the patient.
    pub roles: Vec<Role>,
}

/// The roles `clinic` grants.
pub async fn granted_roles(state: &AppState, clinic: ClinicId) -> Result<Vec<Role>, AppError> {
    Ok(state
        .store
        .document_grants(clinic)
        .await?
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect())
}

/// Whether the caller holds a role that `clinic` grants.
pub async fn holds_grant(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<bool, AppError> {
    if !auth.is_staff_of(clinic) {
        return Ok(false);
    }
    let roles = granted_roles(state, clinic).await?;
    Ok(auth.has_role(clinic, &roles))
}

/// The clinic's grants (its admins).
pub async fn grants(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<DocumentGrants, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    Ok(DocumentGrants {
        roles: granted_roles(state, clinic).await?,
    })
}

/// Replace the clinic's grants (its admins; audited in the same transaction).
pub async fn set_grants(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: DocumentGrants,
) -> Result<DocumentGrants, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let mut roles = body.roles;
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    if roles.len() > 3 {
        return Err(
            ValidationError::new("invalid_roles", "papéis repetidos ou desconhecidos").into(),
        );
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_document_grants(&mut tx, clinic, &names, auth.user_id, crate::store::now())
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "clinic.document_grants", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(json!({ "roles": names })),
        )
        .await?;
    tx.commit().await?;
    Ok(DocumentGrants { roles })
}
