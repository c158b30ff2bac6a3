//! The caller's own account: who they are, where they work, their LGPD consents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::clinics::ProfessionalView;
use crate::app::error::AppError;
use crate::app::patient_links::{LinkedRecordView, my_links};
use crate::app::patients::PatientIdentityView;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, UserId, ValidationError};
use crate::security::audit::AuditEvent;

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub role: Role,
}

/// The logged-in user, with everything the web app needs to pick a home screen.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub platform_admin: bool,
    /// Set when the user is a patient: their own profile, typed at sign-up.
    pub patient: Option<PatientIdentityView>,
    /// Clinics' records of this patient that the account proved control of (a code from
    /// the clinic, or its own booking there): what the clinic's routes call the patient.
    pub linked_records: Vec<LinkedRecordView>,
    /// Set when the user is a health professional.
    pub professional: Option<ProfessionalView>,
    pub memberships: Vec<MembershipView>,
    /// For patients: whether a consent to the current terms is in force.
    pub consent_active: bool,
    /// Logins of this account need a second factor (TOTP).
    pub mfa_enabled: bool,
    /// A clinic requires two-factor of this user, who has not enrolled: until they do,
    /// every route but enrolment answers 403 `mfa_enrolment_required`.
    pub mfa_enrolment_required: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub terms_version: String,
    pub accepted_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptConsentRequest {
    pub terms_version: String,
}

pub async fn load_me(state: &AppState, user_id: UserId) -> Result<MeResponse, AppError> {
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let patient = state.store.patient_by_user(user_id).await?;
    let linked_records = my_links(state, user_id).await?;
    let professional = state.store.professional_by_user(user_id).await?;
    let memberships = state
        .store
        .memberships_of(user_id)
        .await?
        .into_iter()
        .filter_map(|m| {
            Role::parse(&m.role).map(|role| MembershipView {
                clinic_id: m.clinic_id,
                clinic_name: m.clinic_name,
                role,
            })
        })
        .collect();
    let consents = state.store.consents_of(user_id).await?;
    let consent_active = consents
        .iter()
        .any(|c| c.withdrawn_at.is_none() && c.terms_version == state.settings.lgpd.terms_version);
    Ok(MeResponse {
        id: user.id,
        email: user.email,
        full_name: user.full_name,
        platform_admin: user.platform_admin,
        patient: patient.map(PatientIdentityView::from),
        linked_records,
        professional: professional.map(ProfessionalView::from),
        memberships,
        consent_active,
        mfa_enabled: state
            .store
            .totp_of(user_id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some()),
        mfa_enrolment_required: state.store.mfa_enrolment_pending(user_id).await?,
    })
}

/// The consent history, newest first.
pub async fn consent_list(state: &AppState, user: UserId) -> Result<Vec<ConsentView>, AppError> {
    Ok(state
        .store
        .consents_of(user)
        .await?
        .into_iter()
        .map(|c| ConsentView {
            terms_version: c.terms_version,
            accepted_at: c.accepted_at,
            withdrawn_at: c.withdrawn_at,
        })
        .collect())
}

/// Withdraw every active consent; the history after it.
pub async fn withdraw_consent(state: &AppState, auth: &Auth) -> Result<Vec<ConsentView>, AppError> {
    let mut tx = state.store.begin().await?;
    let n = state.store.withdraw_consents(&mut tx, auth.user_id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "lgpd.consent_withdrawn", "user")
                .entity_id(auth.user_id)
                .ip(auth.ip.clone())
                .details(serde_json::json!({"withdrawn": n})),
        )
        .await?;
    tx.commit().await?;
    consent_list(state, auth.user_id).await
}

/// Consent to the current terms (`terms_not_accepted` for any other version); the history
/// after it.
pub async fn accept_consent(
    state: &AppState,
    auth: &Auth,
    body: &AcceptConsentRequest,
) -> Result<Vec<ConsentView>, AppError> {
    if body.terms_version != state.settings.lgpd.terms_version {
        return Err(ValidationError::new(
            "terms_not_accepted",
            "versão dos termos diferente da atual",
        )
        .into());
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_consent(
            &mut tx,
            auth.user_id,
            &body.terms_version,
            auth.ip.as_deref(),
        )
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "lgpd.consent_given", "user")
                .entity_id(auth.user_id)
                .ip(auth.ip.clone())
                .details(serde_json::json!({"terms_version": body.terms_version})),
        )
        .await?;
    tx.commit().await?;
    consent_list(state, auth.user_id).await
}
