//! Sign-up (a request, then the e-mailed link's confirmation), login, token refresh with rotation and reuse detection, logout (of this session
//! or of every session), and the refresh-token cookie with its CSRF checks.
//!
//! The refresh token never appears in a response body: it is set as the `atende_refresh`
//! cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/auth`), so the page's scripts
//! cannot read it. Refresh and logout accept it from that cookie (browsers) or from the
//! JSON body (other clients, which read it from the `Set-Cookie` header), and both require
//! the `X-Atende-CSRF: 1` header — which a cross-site form cannot send and a cross-site
//! script cannot send without a CORS preflight this server never grants — and, when the
//! request has an `Origin`, that it is this server's own.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};

use super::extract::{bearer_token, client_ip};
use crate::app::Auth;
use crate::app::auth::{
    self, ChangePasswordRequest, Issued, LoginOutcome, LoginRequest, RefreshRequest, SessionsEnded,
    SignupRequest, TermsResponse, TokenResponse,
};
use crate::app::error::{AppError, ErrorBody};
use crate::app::signup::{self, SignupAccepted, SignupConfirm};
use crate::app::state::AppState;

/// The refresh token's cookie.
pub const REFRESH_COOKIE: &str = "atende_refresh";
/// Where the browser sends it: only the auth routes.
pub const REFRESH_COOKIE_PATH: &str = "/api/auth";
/// The header refresh and logout require (value `1`).
pub const CSRF_HEADER: &str = "x-atende-csrf";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/signup", web::post().to(signup))
        .route("/auth/signup/confirm", web::post().to(signup_confirm))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/logout-all", web::post().to(logout_all))
        .route("/auth/password", web::post().to(change_password))
        .route("/terms", web::get().to(terms));
}

/// The refresh cookie carrying `value`, living `max_age_secs` (0 deletes it).
pub(crate) fn refresh_cookie(value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, value)
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish()
}

/// Answer with a new token pair: the body without the refresh token, which goes in the
/// cookie.
fn issue(state: &AppState, mut resp: HttpResponseBuilder, issued: Issued) -> HttpResponse {
    let ttl = state.settings.security.refresh_token_ttl_days as i64 * 86_400;
    resp.cookie(refresh_cookie(issued.refresh_token, ttl))
        .json(issued.body)
}

/// Refuse a refresh or logout that a page on another site could have started: the custom
/// header must be there (`csrf_required`), and an `Origin`, when sent, must be this
/// server's (`csrf_origin`).
fn check_csrf(state: &AppState, req: &HttpRequest) -> Result<(), AppError> {
    let marked = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1");
    if !marked {
        return Err(AppError::forbidden(
            "csrf_required",
            "requisição recusada: cabeçalho X-Atende-CSRF ausente",
        ));
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let public = state.settings.server.public_url.trim_end_matches('/');
    let same_host = !host.is_empty()
        && origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host));
    if same_host || (!public.is_empty() && origin.eq_ignore_ascii_case(public)) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "csrf_origin",
            "requisição recusada: origem de outro site",
        ))
    }
}

/// The refresh token of a refresh or logout: the body's, else the cookie's.
fn presented_refresh_token(req: &HttpRequest, body: Option<RefreshRequest>) -> Option<String> {
    body.and_then(|b| b.refresh_token)
        .filter(|t| !t.trim().is_empty())
        .or_else(|| req.cookie(REFRESH_COOKIE).map(|c| c.value().to_string()))
}

#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 202, description = "Always `{\"status\":\"verification_sent\"}` once the body is valid and the limits allow, whether or not the address has an account (no e-mail oracle): a new address gets a link (`/#/confirmar-email/<token>`, 24 h, once) that creates the account through `POST /api/auth/signup/confirm`; an address with an account gets an e-mail saying someone tried, with a link to reset the password. No account exists yet", body = SignupAccepted),
        (status = 422, description = "Invalid field (`invalid_cpf`, `weak_password`, `terms_not_accepted`, …)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` from this address, or `signup_limit` (`security.limits.signups_per_address_per_day` requests a day), with Retry-After", body = ErrorBody),
    ))]
pub async fn signup(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignupRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let accepted = signup::request_sign_up(&state, ip, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(accepted))
}

#[utoipa::path(post, path = "/api/auth/signup/confirm", tag = "auth", request_body = SignupConfirm,
    responses(
        (status = 201, description = "The e-mailed link's token is spent and the patient account is created and logged in; the refresh token is set as the `atende_refresh` cookie", body = TokenResponse),
        (status = 400, description = "`invalid_signup_token`: unknown, already used or expired (misses count against `security.limits.verification_misses_per_address`)", body = ErrorBody),
        (status = 409, description = "`email_taken`: the address got an account after the link was sent (the caller has proved they own the mailbox)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong links from this address, with Retry-After", body = ErrorBody),
    ))]
pub async fn signup_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignupConfirm>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let issued = signup::confirm_sign_up(&state, ip, body.into_inner()).await?;
    Ok(issue(&state, HttpResponse::Created(), issued))
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    params(("atende_device" = Option<String>, Cookie, description = "Known-device cookie set by an earlier login on this device")),
    responses(
        (status = 200, description = "Logged in; the refresh token is set as the `atende_refresh` cookie, and the known-device cookie `atende_device` (HttpOnly, Secure, SameSite=Strict, path /api/auth/login). For an account with two-factor the body is instead an `MfaChallenge` (`{\"mfa_required\": true, \"mfa_token\": …}`), no cookie is set and no session exists until `POST /api/auth/mfa`", body = TokenResponse),
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
    Ok(login_response(&state, outcome))
}

/// The answer to a login (or its second step): the token pair with the refresh and
/// known-device cookies, or the two-factor challenge (no cookie, no session).
pub(crate) fn login_response(state: &AppState, outcome: LoginOutcome) -> HttpResponse {
    let (tokens, known_device) = match outcome {
        LoginOutcome::LoggedIn {
            tokens,
            known_device,
        } => (tokens, known_device),
        LoginOutcome::SecondFactor(challenge) => return HttpResponse::Ok().json(challenge),
    };
    let mut resp = HttpResponse::Ok();
    resp.cookie(known_device_cookie(state, known_device));
    issue(state, resp, *tokens)
}

/// The known-device cookie (see [`auth::KNOWN_DEVICE_COOKIE`]).
pub(crate) fn known_device_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let days = state.settings.security.login_throttle.known_device_days as i64;
    Cookie::build(auth::KNOWN_DEVICE_COOKIE, value)
        .path("/api/auth/login")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(days))
        .finish()
}

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body(content = RefreshRequest, description = "Optional: browsers send `{}` and the token comes from the `atende_refresh` cookie"),
    params(("X-Atende-CSRF" = String, Header, description = "Must be `1`")),
    responses(
        (status = 200, description = "A new token pair (the new refresh token in the cookie); the presented refresh token is spent", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`, or `refresh_token_reused` (the whole session is revoked)", body = ErrorBody),
        (status = 403, description = "`csrf_required` (no `X-Atende-CSRF: 1`) or `csrf_origin` (an `Origin` of another site)", body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<web::Json<RefreshRequest>>,
) -> Result<HttpResponse, AppError> {
    check_csrf(&state, &req)?;
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let token = presented_refresh_token(&req, body.map(web::Json::into_inner));
    match auth::refresh(&state, ip, token).await {
        Ok(issued) => Ok(issue(&state, HttpResponse::Ok(), issued)),
        // A dead cookie is useless: drop it with the refusal.
        Err(e @ AppError::Unauthorized { .. }) => {
            let mut resp = actix_web::ResponseError::error_response(&e);
            let _ = resp.add_cookie(&refresh_cookie(String::new(), 0));
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body(content = RefreshRequest, description = "Optional: the token comes from the `atende_refresh` cookie, or else the Bearer token's session ends"),
    params(("X-Atende-CSRF" = String, Header, description = "Must be `1`")),
    responses(
        (status = 204, description = "The session is revoked: its refresh and access tokens stop working, its connections close (1008), and the cookie is deleted"),
        (status = 403, description = "`csrf_required` or `csrf_origin`", body = ErrorBody),
    ))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<web::Json<RefreshRequest>>,
) -> Result<HttpResponse, AppError> {
    check_csrf(&state, &req)?;
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let token = presented_refresh_token(&req, body.map(web::Json::into_inner));
    auth::logout(&state, ip, token, bearer_token(&req)).await?;
    Ok(HttpResponse::NoContent()
        .cookie(refresh_cookie(String::new(), 0))
        .finish())
}

#[utoipa::path(post, path = "/api/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session of the caller, this one included, is revoked; their connections close on every node (1008 `session revoked`) and the cookie is deleted", body = SessionsEnded),
        (status = 401, description = "`unauthenticated`, `token_expired`, `session_revoked`", body = ErrorBody),
    ))]
pub async fn logout_all(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let ended = auth::logout_all(&state, &auth).await?;
    Ok(HttpResponse::Ok()
        .cookie(refresh_cookie(String::new(), 0))
        .json(ended))
}

#[utoipa::path(post, path = "/api/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed; every other session of the user is revoked and its connections close on every node (1008 `session revoked`); this session stays", body = SessionsEnded),
        (status = 403, description = "`wrong_password`: the current password does not match", body = ErrorBody),
        (status = 422, description = "`weak_password`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` (shared with the login throttle), with Retry-After", body = ErrorBody),
    ))]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let ended = auth::change_password(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ended))
}

#[utoipa::path(get, path = "/api/terms", tag = "auth",
    responses((status = 200, description = "The terms version a new patient must accept", body = TermsResponse)))]
pub async fn terms(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(auth::terms(&state))
}
