//! OpenID Connect login for clinic staff over HTTP: the clinic admin's connection, the
//! login page's button, the redirect to the provider and the callback.
//!
//! The login is bound to the browser that started it by the `atende_oidc` cookie
//! (HttpOnly, Secure, `SameSite=Lax` so the provider's redirect back carries it, path
//! `/api/auth/oidc`, as long as the login lives). The callback answers with a redirect to
//! the app: `/#/sso` with the session's cookies set (the page then refreshes as after any
//! reload), `/#/sso?mfa=<token>` for atende's TOTP step, or `/#/sso?erro=<code>`.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::{known_device_cookie, refresh_cookie};
use super::extract::client_ip;
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::oidc::{self, CallbackQuery, OidcConnectionView, OidcLoginInfo, PutOidcConnection};
use crate::app::session::LoginOutcome;
use crate::app::state::AppState;
use crate::domain::ClinicId;

/// The cookie that binds a login in flight to the browser that started it.
pub const LOGIN_COOKIE: &str = "atende_oidc";
const LOGIN_COOKIE_PATH: &str = "/api/auth/oidc";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/oidc/callback", web::get().to(callback))
        .route("/auth/oidc/{clinic_id}", web::get().to(login_info))
        .route("/auth/oidc/{clinic_id}/start", web::get().to(start))
        .route("/clinics/{clinic_id}/oidc", web::get().to(get_connection))
        .route("/clinics/{clinic_id}/oidc", web::put().to(put_connection))
        .route(
            "/clinics/{clinic_id}/oidc",
            web::delete().to(delete_connection),
        );
}

fn login_cookie(value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, value)
        .path(LOGIN_COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish()
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/oidc", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The clinic's OpenID Connect connection (never the client secret), or `null` when it has none", body = Option<OidcConnectionView>),
              (status = 403, description = "Clinic admins only", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_connection(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(oidc::connection(&state, &auth, path.into_inner()).await?))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/oidc", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    request_body = PutOidcConnection,
    responses((status = 200, description = "Connection saved (audited; the secret is stored encrypted and never returned)", body = OidcConnectionView),
              (status = 403, description = "Clinic admins only", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, description = "`oidc_issuer_invalid` (no valid discovery document at the issuer, or not https), `invalid_client_id`, `invalid_client_secret`, `invalid_display_name`, `invalid_domain`", body = ErrorBody)))]
pub async fn put_connection(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<PutOidcConnection>,
) -> Result<HttpResponse, AppError> {
    let saved = oidc::set_connection(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[utoipa::path(delete, path = "/api/clinics/{clinic_id}/oidc", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Connection removed (audited); logins in flight die"),
              (status = 403, description = "Clinic admins only", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_connection(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    oidc::delete_connection(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/auth/oidc/{clinic_id}", tag = "auth",
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The clinic has single sign-on: the button's words", body = OidcLoginInfo),
              (status = 404, description = "No single sign-on for this clinic", body = ErrorBody)))]
pub async fn login_info(
    state: web::Data<AppState>,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(oidc::login_info(&state, path.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/auth/oidc/{clinic_id}/start", tag = "auth",
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 302, description = "To the clinic's provider (code flow, PKCE S256, `state`, `nonce`); sets the `atende_oidc` cookie (HttpOnly, Secure, SameSite=Lax, path /api/auth/oidc) that binds the login to this browser"),
              (status = 404, description = "No single sign-on for this clinic", body = ErrorBody),
              (status = 429, description = "`too_many_attempts`: more than `security.oidc.starts_per_address_per_hour` logins started from this address, with Retry-After", body = ErrorBody),
              (status = 503, description = "The provider cannot be reached", body = ErrorBody)))]
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let started = oidc::start_login(&state, path.into_inner(), ip).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, started.redirect_url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(login_cookie(started.browser_token, started.ttl_secs as i64))
        .finish())
}

#[utoipa::path(get, path = "/api/auth/oidc/callback", tag = "auth",
    params(CallbackQuery),
    responses((status = 303, description = "Back to the app. Logged in: `/#/sso`, with the `atende_refresh` and known-device cookies set exactly as a password login sets them. The account's TOTP is awaited (the provider showed no second factor): `/#/sso?mfa=<mfa_token>` for `POST /api/auth/mfa`. Refused (audited as `auth.oidc_refused`): `/#/sso?erro=<code>` with `oidc_state_mismatch` (unknown, replayed, or started in another browser), `oidc_login_expired`, `oidc_provider_refused`, `oidc_issuer_mismatch`, `oidc_code_rejected`, `oidc_token_invalid`, `oidc_email_unverified`, `oidc_domain_not_allowed`, `oidc_not_a_member`, `oidc_not_configured` or `oidc_unavailable`")))]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let browser = req.cookie(LOGIN_COOKIE);
    let outcome = oidc::finish_login(
        &state,
        ip,
        browser.as_ref().map(|c| c.value()),
        query.into_inner(),
    )
    .await;
    let mut resp = HttpResponse::SeeOther();
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .cookie(login_cookie(String::new(), 0));
    let location = match outcome {
        Ok(LoginOutcome::LoggedIn {
            tokens,
            known_device,
        }) => {
            let ttl = state.settings.security.refresh_token_ttl_days as i64 * 86_400;
            resp.cookie(refresh_cookie(tokens.refresh_token, ttl))
                .cookie(known_device_cookie(&state, known_device));
            "/#/sso".to_string()
        }
        Ok(LoginOutcome::SecondFactor(challenge)) => {
            format!("/#/sso?mfa={}", challenge.mfa_token)
        }
        Err(refusal) => match refusal.clinic {
            Some(clinic) => format!("/#/sso?erro={}&clinica={clinic}", refusal.code),
            None => format!("/#/sso?erro={}", refusal.code),
        },
    };
    resp.insert_header((header::LOCATION, location)).finish()
}
