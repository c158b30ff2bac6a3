//! Sign-up, login, token refresh with rotation and reuse detection, logout.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::{bearer_token, client_ip};
use crate::app::auth::{
    self, LoginRequest, LogoutRequest, RefreshRequest, SignupRequest, TermsResponse, TokenResponse,
};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/signup", web::post().to(signup))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout))
        .route("/terms", web::get().to(terms));
}

#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Patient account created and logged in", body = TokenResponse),
        (status = 409, description = "`email_taken` (a CPF is never refused: no CPF oracle)", body = ErrorBody),
        (status = 422, description = "Invalid field (`invalid_cpf`, `weak_password`, `terms_not_accepted`, …)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` from this address, with Retry-After", body = ErrorBody),
    ))]
pub async fn signup(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignupRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let tokens = auth::sign_up(&state, ip, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(tokens))
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    params(("atende_device" = Option<String>, Cookie, description = "Known-device cookie set by an earlier login on this device")),
    responses(
        (status = 200, description = "Logged in; sets the known-device cookie `atende_device` (HttpOnly, Secure, SameSite=Strict, path /api/auth/login)", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let device = req.cookie(auth::KNOWN_DEVICE_COOKIE);
    let outcome = auth::login(
        &state,
        ip,
        device.as_ref().map(|c| c.value()),
        body.into_inner(),
    )
    .await?;
    let days = state.settings.security.login_throttle.known_device_days as i64;
    let cookie = Cookie::build(auth::KNOWN_DEVICE_COOKIE, outcome.known_device)
        .path("/api/auth/login")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(days))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(outcome.tokens))
}

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`, or `refresh_token_reused` (the whole session is revoked)", body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    Ok(HttpResponse::Ok().json(auth::refresh(&state, ip, body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204, description = "The session is revoked: its refresh and access tokens stop working")))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<web::Json<LogoutRequest>>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let refresh_token = body.and_then(|b| b.into_inner().refresh_token);
    auth::logout(&state, ip, refresh_token, bearer_token(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/terms", tag = "auth",
    responses((status = 200, description = "The terms version a new patient must accept", body = TermsResponse)))]
pub async fn terms(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(auth::terms(&state))
}
