//! Accounts and sessions: opening a patient's account (sign-up itself is
//! [`crate::app::signup`]), login, token refresh with rotation and reuse
//! detection, logout (of one session or all of them), password change, WebSocket tickets,
//! and the platform operator's account tasks. Every session that ends is announced on the
//! bus so its live connections close on every node.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::caller::{Auth, authenticate, load_auth};
use crate::app::clinics::insert_account;
use crate::app::error::AppError;
use crate::app::mfa;
use crate::app::patients::{PatientIdentity, Registration, register_patient};
pub use crate::app::session::{
    Issued, KNOWN_DEVICE_COOKIE, LoginOutcome, TokenResponse, known_device_entries, open_session,
    remember_device, token_response,
};
use crate::app::state::AppState;
use crate::bus::revocation::publish_sessions_revoked;
use crate::domain::{Email, Password, PersonName, SessionId, UserId};
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::security::tokens::{random_token, token_hash};
use crate::store::users::UserRow;
use crate::store::{self, Store, Tx};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
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

/// A refresh or logout. Browsers send an empty body (the token is in the cookie); other
/// clients may send the token here instead.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// How many other sessions a logout everywhere or a password change ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    pub sessions_ended: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TermsResponse {
    pub version: String,
    pub text: String,
    /// The data protection officer (encarregado), when configured (`[lgpd] dpo_*`).
    pub dpo: Option<crate::app::lgpd::DpoView>,
}

/// A single-use ticket for opening the WebSocket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Pass as `GET /ws?ticket=…`. Single use.
    pub ticket: String,
    /// Seconds until the ticket expires.
    pub expires_in: u64,
}

/// The terms of use a new patient accepts.
pub fn terms(state: &AppState) -> TermsResponse {
    TermsResponse {
        version: state.settings.lgpd.terms_version.clone(),
        text: "Ao criar sua conta você concorda com os Termos de Uso e a Política de Privacidade do atende. \
Seus dados pessoais e de saúde são tratados conforme a LGPD (Lei 13.709/2018), apenas para o seu \
atendimento, e você pode retirar seu consentimento a qualquer momento em Privacidade."
            .into(),
        dpo: crate::app::lgpd::dpo(&state.settings.lgpd),
    }
}

/// A patient's own account with their record, as sign-up (and the demo data) open it.
pub struct PatientAccount {
    /// The new account (its password already hashed).
    pub user: UserRow,
    pub identity: PatientIdentity,
    /// Where the terms were accepted from, kept with the consent.
    pub ip: Option<String>,
    /// The `auth.signup` row; its entity id becomes the new record's.
    pub audit: AuditEvent,
}

/// Open a patient's own account in one transaction (see [`open_patient_account_in`]).
pub async fn open_patient_account(
    state: &AppState,
    account: PatientAccount,
    with_session: bool,
) -> Result<Option<(SessionId, String)>, AppError> {
    let mut tx = state.store.begin().await?;
    let session = open_patient_account_in(state, &mut tx, account, with_session).await?;
    tx.commit().await?;
    Ok(session)
}

/// Open a patient's own account inside `tx`: the account (`email_taken`), their own
/// profile record (a new one whatever CPF it carries: no record anywhere is looked up, so
/// the answer says nothing about who else knows the CPF), their consent to the current
/// terms, the audit row, and — `with_session` — a login session with its first refresh
/// token.
pub(crate) async fn open_patient_account_in(
    state: &AppState,
    tx: &mut Tx,
    account: PatientAccount,
    with_session: bool,
) -> Result<Option<(SessionId, String)>, AppError> {
    let PatientAccount {
        user,
        identity,
        ip,
        audit,
    } = account;
    insert_account(state, tx, &user).await?;
    register_patient(
        state,
        tx,
        Registration {
            identity,
            email: Some(Email::parse(&user.email)?),
            address: None,
            user: Some(user.id),
            clinic: None,
            audit,
        },
    )
    .await?;
    state
        .store
        .insert_consent(
            tx,
            user.id,
            &state.settings.lgpd.terms_version,
            ip.as_deref(),
        )
        .await?;
    Ok(if with_session {
        Some(open_session(state, tx, user.id).await?)
    } else {
        None
    })
}

/// Log in with e-mail and password (throttled per address, per address and account, and —
/// unless `device` is one of this account's known devices — per account). An account with
/// two-factor gets a challenge for [`mfa::complete_login`] instead of a session.
pub async fn login(
    state: &AppState,
    ip: Option<String>,
    device: Option<&str>,
    body: LoginRequest,
) -> Result<LoginOutcome, AppError> {
    let account = body.email.trim().to_lowercase();
    let address = ip.as_deref().unwrap_or("unknown").to_string();
    let user = match Email::parse(&account) {
        Ok(email) => state.store.user_by_email(email.as_str()).await?,
        Err(_) => None,
    }
    .filter(|u| u.disabled_at.is_none());
    let known_device = user.as_ref().is_some_and(|u| {
        known_device_entries(state, device)
            .iter()
            .any(|(id, _)| *id == u.id)
    });
    state
        .throttle
        .check(&account, &address, known_device)
        .await
        .map_err(|retry_after_secs| {
            metrics::counter!("atende_login_throttled_total").increment(1);
            AppError::TooManyRequests { retry_after_secs }
        })?;
    let invalid = || AppError::unauthorized("invalid_credentials", "e-mail ou senha incorretos");
    let ok = password::verify(
        body.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let Some(user) = user.filter(|_| ok) else {
        state.throttle.failed(&account, &address).await;
        metrics::counter!("atende_login_failures_total").increment(1);
        tracing::info!(known_device, "login failed");
        return Err(invalid());
    };
    if mfa::login_needs_second_factor(state, user.id).await? {
        // The throttle is not cleared yet: wrong codes at the second step keep counting
        // with the failures before it.
        tracing::info!(known_device, "password accepted; second factor awaited");
        return Ok(LoginOutcome::SecondFactor(
            mfa::open_challenge(state, user.id, known_device).await?,
        ));
    }
    state
        .throttle
        .succeeded(&account, &address, known_device)
        .await;
    let mut tx = state.store.begin().await?;
    let (session, refresh) = open_session(state, &mut tx, user.id).await?;
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
    Ok(LoginOutcome::LoggedIn {
        tokens: Box::new(token_response(state, user.id, session, refresh).await?),
        known_device: remember_device(state, device, user.id),
    })
}

/// Exchange a refresh token for a new pair. A spent token that comes back means someone
/// holds a copy: the whole session is revoked (`refresh_token_reused`).
pub async fn refresh(
    state: &AppState,
    ip: Option<String>,
    refresh_token: Option<String>,
) -> Result<Issued, AppError> {
    let invalid =
        || AppError::unauthorized("invalid_refresh_token", "sessão inválida; entre novamente");
    let Some(refresh_token) = refresh_token.filter(|t| !t.trim().is_empty()) else {
        return Err(invalid());
    };
    let hash = token_hash(refresh_token.trim());
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
    token_response(state, row.user_id, row.session_id, new_refresh).await
}

/// End the session a refresh token (or else the access token, `bearer`) belongs to; its
/// tokens stop working on every node. Nothing to end is not an error.
pub async fn logout(
    state: &AppState,
    ip: Option<String>,
    refresh_token: Option<String>,
    bearer: Option<&str>,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    let mut target: Option<(SessionId, UserId)> = None;
    if let Some(token) = refresh_token
        && let Some(row) = state
            .store
            .refresh_token_by_hash(&mut tx, &token_hash(token.trim()))
            .await?
    {
        target = Some((row.session_id, row.user_id));
    }
    if target.is_none()
        && let Some(token) = bearer
        && let Ok(auth) = authenticate(state, token, ip.clone()).await
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
    Ok(())
}

/// End every session of the caller, this one included, and close their connections on
/// every node (audited).
pub async fn logout_all(state: &AppState, auth: &Auth) -> Result<SessionsEnded, AppError> {
    let tx = state.store.begin().await?;
    end_own_sessions(state, tx, auth, None, "logout_all", "auth.logout_all").await
}

/// End the caller's sessions (all, or all but `keep`) inside `tx` with the audit row
/// `action`, commit, and close their connections on every node.
async fn end_own_sessions(
    state: &AppState,
    tx: crate::store::Tx,
    auth: &Auth,
    keep: Option<SessionId>,
    reason: &str,
    action: &'static str,
) -> Result<SessionsEnded, AppError> {
    end_sessions(
        state,
        tx,
        auth.user_id,
        auth.ip.clone(),
        keep,
        reason,
        action,
    )
    .await
}

/// End `user`'s sessions (all, or all but `keep`) inside `tx` with the audit row `action`
/// (by `user`, from `ip`), commit, and close their connections on every node.
pub(crate) async fn end_sessions(
    state: &AppState,
    mut tx: crate::store::Tx,
    user: UserId,
    ip: Option<String>,
    keep: Option<SessionId>,
    reason: &str,
    action: &'static str,
) -> Result<SessionsEnded, AppError> {
    let ended = state
        .store
        .revoke_all_sessions(&mut tx, user, keep, reason)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(user), action, "user")
                .entity_id(user)
                .ip(ip)
                .details(serde_json::json!({ "sessions_ended": ended.len() })),
        )
        .await?;
    tx.commit().await?;
    publish_sessions_revoked(state.bus.as_ref(), &ended);
    Ok(SessionsEnded {
        sessions_ended: ended.len() as u64,
    })
}

/// Change one's own password: the current one is required (a wrong one counts against the
/// login throttle), every other session of the user ends and its connections close; the
/// caller's session stays (audited).
pub async fn change_password(
    state: &AppState,
    auth: &Auth,
    body: ChangePasswordRequest,
) -> Result<SessionsEnded, AppError> {
    let account = auth.email.trim().to_lowercase();
    let address = auth.ip.as_deref().unwrap_or("unknown");
    // The caller is logged in: a stranger's failed logins do not lock them out of this
    // (the per-address limits still apply).
    state
        .throttle
        .check(&account, address, true)
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let new_password = Password::parse(&body.new_password)?;
    let user = state
        .store
        .user_by_id(auth.user_id)
        .await?
        .ok_or_else(|| AppError::unauthorized("invalid_token", "usuário inativo"))?;
    if !password::verify(body.current_password, Some(user.password_hash)).await? {
        state.throttle.failed(&account, address).await;
        return Err(AppError::forbidden(
            "wrong_password",
            "a senha atual não confere",
        ));
    }
    state.throttle.succeeded(&account, address, true).await;
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_password_hash(&mut tx, auth.user_id, &hash)
        .await?;
    end_own_sessions(
        state,
        tx,
        auth,
        Some(auth.session_id),
        "password_changed",
        "user.password_changed",
    )
    .await
}

/// A short-lived, single-use ticket that opens the WebSocket as the caller.
pub async fn issue_ws_ticket(state: &AppState, auth: &Auth) -> Result<TicketResponse, AppError> {
    let ticket = random_token();
    let ttl = state.settings.realtime.ticket_ttl_secs;
    state
        .store
        .insert_ws_ticket(
            &token_hash(&ticket),
            auth.user_id,
            auth.session_id,
            store::now() + Duration::seconds(ttl as i64),
        )
        .await?;
    Ok(TicketResponse {
        ticket,
        expires_in: ttl,
    })
}

/// Spend a WebSocket ticket: the caller it was issued to (`invalid_ticket` if it is
/// unknown, spent or expired, or its session ended).
pub async fn redeem_ws_ticket(
    state: &AppState,
    ticket: &str,
    ip: Option<String>,
) -> Result<Auth, AppError> {
    let (user_id, session_id) = state
        .store
        .consume_ws_ticket(&token_hash(ticket))
        .await?
        .ok_or_else(|| AppError::unauthorized("invalid_ticket", "ticket inválido ou expirado"))?;
    let auth = load_auth(state, user_id, session_id, ip).await?;
    auth.require_full_session()?;
    Ok(auth)
}

/// Create an account (the operator, from the command line), audited.
pub async fn create_user(
    store: &Store,
    email: Email,
    name: PersonName,
    password: Password,
    platform_admin: bool,
) -> Result<UserRow, AppError> {
    let user = UserRow {
        id: UserId::new(),
        email: email.into_inner(),
        password_hash: password::hash(password.expose().to_owned()).await?,
        full_name: name.into_inner(),
        platform_admin,
        created_at: store::now(),
        disabled_at: None,
    };
    let mut tx = store.begin().await?;
    store.insert_user(&mut tx, &user).await?;
    store
        .append_audit(
            &mut tx,
            &AuditEvent::new(None, "user.created_by_cli", "user")
                .entity_id(user.id)
                .details(serde_json::json!({ "platform_admin": platform_admin })),
        )
        .await?;
    tx.commit().await?;
    Ok(user)
}

/// Set a user's password and end their sessions (the operator, from the command line).
/// `None` when no account has this e-mail; else the account and how many sessions ended.
/// This process has no bus to the running nodes: each node's revocation watch sees the
/// revoked sessions in the database within a second and closes their connections.
pub async fn reset_password(
    store: &Store,
    email: &Email,
    password: Password,
) -> Result<Option<(UserRow, u64)>, AppError> {
    let Some(user) = store.user_by_email(email.as_str()).await? else {
        return Ok(None);
    };
    let hash = password::hash(password.expose().to_owned()).await?;
    let mut tx = store.begin().await?;
    store.set_password_hash(&mut tx, user.id, &hash).await?;
    let ended = store
        .revoke_all_sessions(&mut tx, user.id, None, "password_reset")
        .await?
        .len() as u64;
    store
        .append_audit(
            &mut tx,
            &AuditEvent::new(None, "user.password_reset", "user").entity_id(user.id),
        )
        .await?;
    tx.commit().await?;
    Ok(Some((user, ended)))
}

/// Disable an account (or enable it again) and end its sessions (the operator, from the
/// command line). `None` when no account has this e-mail (compared trimmed and in lower
/// case); else the account and how many sessions ended (their connections close as for
/// [`reset_password`]).
pub async fn set_account_disabled(
    store: &Store,
    email: &str,
    disabled: bool,
) -> Result<Option<(UserRow, u64)>, AppError> {
    let Some(user) = store.user_by_email(&email.trim().to_lowercase()).await? else {
        return Ok(None);
    };
    let mut tx = store.begin().await?;
    store.set_disabled(&mut tx, user.id, disabled).await?;
    let ended = store
        .revoke_all_sessions(&mut tx, user.id, None, "account_disabled")
        .await?
        .len() as u64;
    let action = if disabled {
        "user.disabled"
    } else {
        "user.enabled"
    };
    store
        .append_audit(
            &mut tx,
            &AuditEvent::new(None, action, "user").entity_id(user.id),
        )
        .await?;
    tx.commit().await?;
    Ok(Some((user, ended)))
}
