//! Two-factor login over HTTP: the caller's authenticator (enrol, confirm, disable,
//! recovery codes), the login's second step, and the clinic policy.

use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::login_response;
use super::extract::client_ip;
use crate::app::Auth;
use crate::app::auth::TokenResponse;
use crate::app::error::{AppError, ErrorBody};
use crate::app::mfa::{
    self, ClinicSecurity, DisableTotpRequest, MfaLoginRequest, MfaStatus, RecoveryCodes,
    TotpCodeRequest, TotpEnrolment,
};
use crate::app::state::AppState;
use crate::domain::ClinicId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/mfa", web::post().to(login_second_step))
        .route("/me/mfa", web::get().to(status))
        .route("/me/mfa/totp", web::post().to(start_totp))
        .route("/me/mfa/totp", web::delete().to(disable_totp))
        .route("/me/mfa/totp/confirm", web::post().to(confirm_totp))
        .route(
            "/me/mfa/recovery-codes",
            web::post().to(regenerate_recovery_codes),
        )
        .route(
            "/clinics/{clinic_id}/security",
            web::get().to(get_clinic_security),
        )
        .route(
            "/clinics/{clinic_id}/security",
            web::put().to(put_clinic_security),
        );
}

#[utoipa::path(post, path = "/api/auth/mfa", tag = "auth", request_body = MfaLoginRequest,
    responses(
        (status = 200, description = "Logged in, exactly as a password login without two-factor: the refresh token in the `atende_refresh` cookie, the known-device cookie refreshed; the `mfa_token` is spent", body = TokenResponse),
        (status = 400, description = "`invalid_body`: neither or both of `code` and `recovery_code`", body = ErrorBody),
        (status = 401, description = "`invalid_mfa_code` (wrong code or recovery code), `mfa_code_used` (a code already accepted: wait for the next one), `invalid_mfa_token` (unknown, spent, expired, or killed by `security.mfa.max_code_failures` wrong codes: log in again)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` (wrong codes count against the login throttle), with Retry-After", body = ErrorBody),
    ))]
pub async fn login_second_step(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<MfaLoginRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let outcome = mfa::complete_login(&state, ip, body.into_inner()).await?;
    Ok(login_response(&state, outcome))
}

#[utoipa::path(get, path = "/api/me/mfa", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "The caller's two-factor state", body = MfaStatus),
              (status = 401, body = ErrorBody)))]
pub async fn status(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mfa::status(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/mfa/totp", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "Enrolment started (not active yet): the `otpauth://` URI, its secret in base32 and a QR code (SVG). Starting again replaces an unconfirmed enrolment", body = TotpEnrolment),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`mfa_already_enabled`", body = ErrorBody),
    ))]
pub async fn start_totp(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mfa::start_totp(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/mfa/totp/confirm", tag = "me", security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "Two-factor is on; the 10 recovery codes, shown this once (only their hashes are kept)", body = RecoveryCodes),
        (status = 409, description = "`mfa_not_started` or `mfa_already_enabled`", body = ErrorBody),
        (status = 422, description = "`invalid_mfa_code`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<TotpCodeRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mfa::confirm_totp(&state, &auth, body.into_inner()).await?))
}

#[utoipa::path(delete, path = "/api/me/mfa/totp", tag = "me", security(("bearer" = [])),
    request_body = DisableTotpRequest,
    responses(
        (status = 204, description = "Two-factor is off; the authenticator and the recovery codes are deleted"),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 409, description = "`mfa_not_enabled`", body = ErrorBody),
        (status = 422, description = "`invalid_mfa_code`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn disable_totp(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<DisableTotpRequest>,
) -> Result<HttpResponse, AppError> {
    mfa::disable_totp(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/me/mfa/recovery-codes", tag = "me", security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "New recovery codes, shown this once; the old ones stop working", body = RecoveryCodes),
        (status = 409, description = "`mfa_not_enabled`", body = ErrorBody),
        (status = 422, description = "`invalid_mfa_code`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<TotpCodeRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(mfa::regenerate_recovery_codes(&state, &auth, body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/security", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The clinic's security policy", body = ClinicSecurity),
              (status = 403, description = "Clinic admins only", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_clinic_security(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mfa::clinic_security(&state, &auth, path.into_inner()).await?))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/security", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    request_body = ClinicSecurity,
    responses((status = 200, description = "Policy saved (audited). With `require_mfa`, the clinic's professionals and admins without two-factor get sessions that can only enrol", body = ClinicSecurity),
              (status = 403, description = "Clinic admins only", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`mfa_enrol_first`: the admin turning it on has no two-factor yet", body = ErrorBody)))]
pub async fn put_clinic_security(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<ClinicSecurity>,
) -> Result<HttpResponse, AppError> {
    let saved =
        mfa::set_clinic_security(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}
