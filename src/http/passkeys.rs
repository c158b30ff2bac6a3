//! Passkeys over HTTP: the caller's passkeys (register, list, remove), the passkey second
//! factor of a login, and passwordless login.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::auth::login_response;
use super::extract::client_ip;
use crate::app::Auth;
use crate::app::auth::TokenResponse;
use crate::app::error::{AppError, ErrorBody};
use crate::app::passkeys::{
    self, FinishRegistration, PasskeyCreationOptions, PasskeyInfo, PasskeyLoginChallenge,
    PasskeyLoginFinish, PasskeyRequestOptions, RemovePasskey, SecondFactorStart,
};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/passkeys", web::get().to(list))
        .route(
            "/me/passkeys/register/start",
            web::post().to(start_registration),
        )
        .route(
            "/me/passkeys/register/finish",
            web::post().to(finish_registration),
        )
        .route("/me/passkeys/{id}", web::delete().to(remove))
        .route(
            "/auth/mfa/passkey/start",
            web::post().to(start_second_factor),
        )
        .route("/auth/passkey/start", web::post().to(start_login))
        .route("/auth/passkey/finish", web::post().to(finish_login));
}

#[utoipa::path(get, path = "/api/me/passkeys", operation_id = "list_passkeys", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "The caller's passkeys (name, created, last used)", body = [PasskeyInfo]),
              (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(passkeys::list(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/passkeys/register/start", operation_id = "start_passkey_registration", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "webauthn's `CreationChallengeResponse` (`{\"publicKey\": {...}}`, binary fields in base64url) for `navigator.credentials.create`: a discoverable credential with user verification, the caller's passkeys excluded. Valid 5 minutes, once", body = PasskeyCreationOptions),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`recent_login_required`: the session's login is older than 15 minutes", body = ErrorBody),
        (status = 503, description = "`passkeys_unavailable`: the public URL is not a domain over https (or http://localhost)", body = ErrorBody),
    ))]
pub async fn start_registration(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(passkeys::start_registration(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/passkeys/register/finish", operation_id = "finish_passkey_registration", tag = "me", security(("bearer" = [])),
    request_body = FinishRegistration,
    responses(
        (status = 201, description = "The passkey is stored (audited `security.passkey_added`); the account now logs in with a second step and may log in with the passkey alone", body = PasskeyInfo),
        (status = 409, description = "`passkey_exists`", body = ErrorBody),
        (status = 422, description = "`invalid_passkey_name` (1 to 60 characters) or `invalid_passkey` (no registration started, expired, already finished, or an answer that does not verify)", body = ErrorBody),
    ))]
pub async fn finish_registration(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<FinishRegistration>,
) -> Result<HttpResponse, AppError> {
    let saved = passkeys::finish_registration(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(saved))
}

#[utoipa::path(delete, path = "/api/me/passkeys/{id}", operation_id = "remove_passkey", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    request_body(content = RemovePasskey, description = "`password`, required unless the session's login is less than 15 minutes old"),
    responses(
        (status = 204, description = "Removed (audited `security.passkey_removed`)"),
        (status = 403, description = "`password_required` or `wrong_password`", body = ErrorBody),
        (status = 404, description = "No passkey of the caller has this id", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn remove(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Option<web::Json<RemovePasskey>>,
) -> Result<HttpResponse, AppError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    passkeys::remove(&state, &auth, path.into_inner(), body).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/auth/mfa/passkey/start", operation_id = "start_passkey_second_factor", tag = "auth", request_body = SecondFactorStart,
    responses(
        (status = 200, description = "webauthn's `RequestChallengeResponse` for `navigator.credentials.get`, allowing the account's passkeys; send the answer to `POST /api/auth/mfa` as `passkey`", body = PasskeyRequestOptions),
        (status = 401, description = "`invalid_mfa_token`", body = ErrorBody),
        (status = 409, description = "`no_passkey`: the account has none", body = ErrorBody),
        (status = 503, description = "`passkeys_unavailable`", body = ErrorBody),
    ))]
pub async fn start_second_factor(
    state: web::Data<AppState>,
    body: web::Json<SecondFactorStart>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(passkeys::start_second_factor(&state, body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/auth/passkey/start", operation_id = "start_passkey_login", tag = "auth",
    responses(
        (status = 200, description = "A passwordless login: `options` (webauthn's `RequestChallengeResponse`, no account named) for `navigator.credentials.get`, and the `state_id` to finish it with. Valid 5 minutes, once", body = PasskeyLoginChallenge),
        (status = 429, description = "`too_many_attempts` (the login throttle's per-address limit), with Retry-After", body = ErrorBody),
        (status = 503, description = "`passkeys_unavailable`", body = ErrorBody),
    ))]
pub async fn start_login(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    Ok(HttpResponse::Ok().json(passkeys::start_login(&state, ip).await?))
}

#[utoipa::path(post, path = "/api/auth/passkey/finish", operation_id = "finish_passkey_login", tag = "auth", request_body = PasskeyLoginFinish,
    responses(
        (status = 200, description = "Logged in exactly as after a password and second factor (refresh token in the `atende_refresh` cookie); the ceremony is spent", body = TokenResponse),
        (status = 401, description = "`invalid_passkey`: unknown, expired or spent ceremony, unknown or removed passkey, a passkey of another account than its user handle, a signature or challenge that does not verify, or a disabled account. Counts in the login throttle", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn finish_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PasskeyLoginFinish>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let outcome = passkeys::finish_login(&state, ip, body.into_inner()).await?;
    Ok(login_response(&state, outcome))
}
