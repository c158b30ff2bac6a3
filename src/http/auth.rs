//! Sign-up, login, token refresh with rotation and reuse detection, logout.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{bearer_token, client_ip};
use super::me::{MeResponse, load_me};
use crate::app::caller::authenticate;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::{
    BirthDate, Cpf, Email, Password, PatientId, PersonName, Phone, SessionId, UserId,
    ValidationError,
};
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::security::tokens::{random_token, token_hash};
use crate::store::patients::PatientRow;
use crate::store::users::UserRow;
use crate::store::{self, StoreError, Tx};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/signup", web::post().to(signup))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout))
        .route("/terms", web::get().to(terms));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Issued at login, sign-up and refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque, single-use: exchange it at `/api/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: MeResponse,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    pub full_name: String,
    #[serde(default)]
    pub social_name: Option<String>,
    pub cpf: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Must equal the current version from `GET /api/terms`.
    pub accepted_terms_version: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TermsResponse {
    pub version: String,
    pub text: String,
}

/// Start a session and issue its first token pair, inside `tx`.
async fn open_session(
    state: &AppState,
    tx: &mut Tx,
    user: UserId,
) -> Result<(SessionId, String), AppError> {
    let session = SessionId::new();
    state.store.insert_session(tx, session, user).await?;
    let refresh = random_token();
    let expires =
        store::now() + Duration::days(state.settings.security.refresh_token_ttl_days as i64);
    state
        .store
        .insert_refresh_token(tx, session, &token_hash(&refresh), expires)
        .await?;
    Ok((session, refresh))
}

async fn token_response(
    state: &AppState,
    user: UserId,
    session: SessionId,
    refresh_token: String,
) -> Result<TokenResponse, AppError> {
    let access_token = state
        .tokens
        .issue(user, session)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot issue token: {e}")))?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
        user: load_me(state, user).await?,
    })
}

#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Patient account created and logged in", body = TokenResponse),
        (status = 409, description = "`email_taken` or `cpf_taken`", body = ErrorBody),
        (status = 422, description = "Invalid field (`invalid_cpf`, `weak_password`, `terms_not_accepted`, …)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` from this address, with Retry-After", body = ErrorBody),
    ))]
pub async fn signup(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignupRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    // Sign-up costs an Argon2 hash: it shares the per-address budget with login.
    state
        .throttle
        .check_address(ip.as_deref().unwrap_or("unknown"))
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let body = body.into_inner();
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let full_name = PersonName::parse(&body.full_name)?;
    let social_name = body
        .social_name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(PersonName::parse)
        .transpose()?;
    let cpf = Cpf::parse(&body.cpf)?;
    let birth = BirthDate::parse(&body.birth_date, Utc::now().date_naive())?;
    let phone = body
        .phone
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Phone::parse)
        .transpose()?;
    if body.accepted_terms_version != state.settings.lgpd.terms_version {
        return Err(ValidationError::new(
            "terms_not_accepted",
            format!(
                "é preciso aceitar os termos de uso e a política de privacidade (versão {})",
                state.settings.lgpd.terms_version
            ),
        )
        .into());
    }
    let hash = password::hash(password.expose().to_owned()).await?;
    let now = store::now();
    let user = UserRow {
        id: UserId::new(),
        email: email.into_inner(),
        password_hash: hash,
        full_name: full_name.as_str().to_owned(),
        platform_admin: false,
        created_at: now,
        disabled_at: None,
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_user(&mut tx, &user)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::conflict("email_taken", "este e-mail já tem conta")
            }
            other => other.into(),
        })?;
    if state
        .store
        .patient_by_cpf_tx(&mut tx, cpf.digits())
        .await?
        .is_some()
    {
        // Never attach an account to an existing record by CPF alone: anyone can type a CPF.
        return Err(AppError::conflict(
            "cpf_taken",
            "este CPF já está cadastrado; peça à sua clínica um convite para acessar",
        ));
    }
    let patient = PatientRow {
        id: PatientId::new(),
        user_id: Some(user.id),
        full_name: full_name.into_inner(),
        social_name: social_name.map(PersonName::into_inner),
        cpf: cpf.digits().to_owned(),
        birth_date: birth.date(),
        phone: phone.map(Phone::into_inner),
        email: Some(user.email.clone()),
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .insert_patient(&mut tx, &patient)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::conflict("cpf_taken", "este CPF já está cadastrado")
            }
            other => other.into(),
        })?;
    state
        .store
        .insert_consent(
            &mut tx,
            user.id,
            &state.settings.lgpd.terms_version,
            ip.as_deref(),
        )
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(user.id), "auth.signup", "patient")
                .entity_id(patient.id)
                .ip(ip.clone())
                .details(serde_json::json!({"terms_version": state.settings.lgpd.terms_version})),
        )
        .await?;
    let (session, refresh) = open_session(&state, &mut tx, user.id).await?;
    tx.commit().await?;
    let resp = token_response(&state, user.id, session, refresh).await?;
    Ok(HttpResponse::Created().json(resp))
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let account = body.email.trim().to_lowercase();
    state
        .throttle
        .check(&account, ip.as_deref().unwrap_or("unknown"))
        .map_err(|retry_after_secs| {
            metrics::counter!("atende_login_throttled_total").increment(1);
            AppError::TooManyRequests { retry_after_secs }
        })?;
    let invalid = || AppError::unauthorized("invalid_credentials", "e-mail ou senha incorretos");
    let user = match Email::parse(&account) {
        Ok(email) => state.store.user_by_email(email.as_str()).await?,
        Err(_) => None,
    }
    .filter(|u| u.disabled_at.is_none());
    let ok = password::verify(
        body.password.clone(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let Some(user) = user.filter(|_| ok) else {
        state.throttle.failed(&account);
        metrics::counter!("atende_login_failures_total").increment(1);
        tracing::info!(account_exists = false, "login failed");
        return Err(invalid());
    };
    state.throttle.succeeded(&account);
    let mut tx = state.store.begin().await?;
    let (session, refresh) = open_session(&state, &mut tx, user.id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(user.id), "auth.login", "session")
                .entity_id(session)
                .ip(ip),
        )
        .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(token_response(&state, user.id, session, refresh).await?))
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
    let invalid =
        || AppError::unauthorized("invalid_refresh_token", "sessão inválida; entre novamente");
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let hash = token_hash(body.refresh_token.trim());
    let mut tx = state.store.begin().await?;
    let Some(row) = state.store.refresh_token_by_hash(&mut tx, &hash).await? else {
        return Err(invalid());
    };
    if row.session_revoked_at.is_some() {
        return Err(invalid());
    }
    let first_use =
        row.used_at.is_none() && state.store.mark_refresh_token_used(&mut tx, row.id).await?;
    if !first_use {
        // A spent token came back: someone holds a copy. Revoke the whole family.
        state
            .store
            .revoke_session(&mut tx, row.session_id, "refresh_token_reused")
            .await?;
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(Some(row.user_id), "auth.refresh_reuse", "session")
                    .entity_id(row.session_id)
                    .ip(ip),
            )
            .await?;
        tx.commit().await?;
        crate::bus::revocation::publish_session_revoked(state.bus.as_ref(), row.session_id);
        tracing::warn!(session = %row.session_id, "refresh token reuse detected; session revoked");
        return Err(AppError::unauthorized(
            "refresh_token_reused",
            "esta sessão foi encerrada por segurança; entre novamente",
        ));
    }
    if row.expires_at <= store::now() {
        return Err(invalid());
    }
    let new_refresh = random_token();
    let expires =
        store::now() + Duration::days(state.settings.security.refresh_token_ttl_days as i64);
    state
        .store
        .insert_refresh_token(&mut tx, row.session_id, &token_hash(&new_refresh), expires)
        .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok()
        .json(token_response(&state, row.user_id, row.session_id, new_refresh).await?))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204, description = "The session is revoked: its refresh and access tokens stop working")))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<web::Json<LogoutRequest>>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let mut tx = state.store.begin().await?;
    let mut target: Option<(SessionId, UserId)> = None;
    if let Some(token) = body.and_then(|b| b.into_inner().refresh_token)
        && let Some(row) = state
            .store
            .refresh_token_by_hash(&mut tx, &token_hash(token.trim()))
            .await?
    {
        target = Some((row.session_id, row.user_id));
    }
    if target.is_none()
        && let Some(token) = bearer_token(&req)
        && let Ok(auth) = authenticate(&state, token, ip.clone()).await
    {
        target = Some((auth.session_id, auth.user_id));
    }
    if let Some((session, user)) = target {
        state
            .store
            .revoke_session(&mut tx, session, "logout")
            .await?;
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(Some(user), "auth.logout", "session")
                    .entity_id(session)
                    .ip(ip),
            )
            .await?;
    }
    tx.commit().await?;
    if let Some((session, _)) = target {
        crate::bus::revocation::publish_session_revoked(state.bus.as_ref(), session);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/terms", tag = "auth",
    responses((status = 200, description = "The terms version a new patient must accept", body = TermsResponse)))]
pub async fn terms(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(TermsResponse {
        version: state.settings.lgpd.terms_version.clone(),
        text: "Ao criar sua conta você concorda com os Termos de Uso e a Política de Privacidade do atende. \
Seus dados pessoais e de saúde são tratados conforme a LGPD (Lei 13.709/2018), apenas para o seu \
atendimento, e você pode retirar seu consentimento a qualquer momento em Privacidade."
            .into(),
    })
}
