//! A professional's signing key: the certificate in use (one is issued under the
//! installation CA on first need), importing an ICP-Brasil A1 (PKCS#12) certificate, and
//! going back to the installation CA. Changes are audited in the transaction that makes them.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MAX_UPLOAD, pkcs12_message};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::ValidationError;
use crate::security::audit::AuditEvent;
use crate::store::documents::SigningKeyRow;
use crate::store::users::ProfessionalRow;

/// The certificate a professional signs with (never the key).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SigningKeyView {
    /// `installation_ca` (issued by this installation's CA) or `imported`.
    pub source: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Whether the certificate chains to an ICP-Brasil root (`documents.icp_brasil_roots`);
    /// when not, the documents it signs carry the "não ICP-Brasil" notice.
    pub icp_brasil: bool,
}

impl SigningKeyView {
    fn of(state: &AppState, k: &SigningKeyRow) -> Self {
        Self {
            source: k.source.clone(),
            subject: k.subject.clone(),
            issuer: k.issuer.clone(),
            not_after: k.not_after,
            created_at: k.created_at,
            icp_brasil: state
                .documents
                .is_icp_brasil(&crate::documents::signer::split_chain(&k.chain_der)),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportKeyRequest {
    /// The .pfx/.p12 file, base64.
    pub pkcs12: String,
    pub password: String,
}

async fn own_professional(state: &AppState, auth: &Auth) -> Result<ProfessionalRow, AppError> {
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or_else(|| {
            AppError::from(ValidationError::new(
                "not_a_professional",
                "somente profissionais têm chave de assinatura",
            ))
        })
}

/// The caller's signing certificate, issuing one under the installation CA if they have none
/// (or renewing one near its end). An expired imported certificate is shown as it is: the
/// page tells its holder to import the renewed one.
pub async fn signing_key(state: &AppState, auth: &Auth) -> Result<SigningKeyView, AppError> {
    let pro = own_professional(state, auth).await?;
    let key = state.documents.current_key(&pro, &auth.full_name).await?;
    Ok(SigningKeyView::of(state, &key))
}

/// Import a PKCS#12 file as the caller's key: the next documents are signed with it.
pub async fn import_signing_key(
    state: &AppState,
    auth: &Auth,
    body: ImportKeyRequest,
) -> Result<SigningKeyView, AppError> {
    let pro = own_professional(state, auth).await?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(body.pkcs12.trim())
        .map_err(|_| ValidationError::new("invalid_pkcs12", pkcs12_message("invalid_pkcs12")))?;
    if data.len() > MAX_UPLOAD {
        return Err(AppError::PayloadTooLarge);
    }
    let audit = AuditEvent::new(Some(auth.user_id), "signing_key.import", "professional")
        .entity_id(pro.id.0)
        .ip(auth.ip.clone());
    let key = state
        .documents
        .import_key(&pro, data, body.password, state.clock.now(), audit)
        .await?;
    Ok(SigningKeyView::of(state, &key))
}

/// Retire the caller's key: the next document gets a certificate from the installation CA.
pub async fn reset_signing_key(state: &AppState, auth: &Auth) -> Result<(), AppError> {
    let pro = own_professional(state, auth).await?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .retire_signing_key(&mut tx, pro.id, crate::store::now())
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "signing_key.retire", "professional")
                .entity_id(pro.id.0)
                .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}
