//! The caller's own account: who they are, where they work, their LGPD consents.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::clinics::ProfessionalView;
use super::patients::PatientIdentityView;
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, UserId};
use crate::security::audit::AuditEvent;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/me/consents", web::get().to(consents))
        .route("/me/consents", web::post().to(accept_consent))
        .route("/me/consents/withdraw", web::post().to(withdraw_consent));
}

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
    /// Set when the user is a patient.
    pub patient: Option<PatientIdentityView>,
    /// Set when the user is a health professional.
    pub professional: Option<ProfessionalView>,
    pub memberships: Vec<MembershipView>,
    /// For patients: whether a consent to the current terms is in force.
    pub consent_active: bool,
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
        professional: professional.map(ProfessionalView::from),
        memberships,
        consent_active,
    })
}

#[utoipa::path(get, path = "/api/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(load_me(&state, auth.user_id).await?))
}

async fn consent_list(state: &AppState, user: UserId) -> Result<Vec<ConsentView>, AppError> {
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

#[utoipa::path(get, path = "/api/me/consents", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Consent history, newest first", body = [ConsentView])))]
pub async fn consents(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(consent_list(&state, auth.user_id).await?))
}

#[utoipa::path(post, path = "/api/me/consents/withdraw", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Every active consent withdrawn; the history", body = [ConsentView])))]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
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
    Ok(HttpResponse::Ok().json(consent_list(&state, auth.user_id).await?))
}

#[utoipa::path(post, path = "/api/me/consents", tag = "me", security(("bearer" = [])),
    request_body = AcceptConsentRequest,
    responses((status = 200, description = "Consent to the current terms recorded", body = [ConsentView]),
              (status = 422, description = "`terms_not_accepted`: not the current version", body = ErrorBody)))]
pub async fn accept_consent(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<AcceptConsentRequest>,
) -> Result<HttpResponse, AppError> {
    if body.terms_version != state.settings.lgpd.terms_version {
        return Err(crate::domain::ValidationError::new(
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
    Ok(HttpResponse::Ok().json(consent_list(&state, auth.user_id).await?))
}
