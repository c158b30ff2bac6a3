//! Two-factor login: enrolling a TOTP authenticator (confirmed by a first code, which also
//! issues the recovery codes), the login's second step, disabling it, regenerating recovery
//! codes, and the clinic policy that requires two-factor of its professionals and admins.
//!
//! A login of an account with a confirmed authenticator stops after the password with a
//! [`MfaChallenge`]: an opaque `mfa_token` (single use, short-lived, bound to the account,
//! dead after `security.mfa.max_code_failures` wrong codes) that [`complete_login`]
//! exchanges, with a code, for the same session a password login opens. The second step
//! is one method among possible others (`methods`): a passkey assertion or an identity
//! provider's login can later answer the same challenge.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::passkeys;
use crate::app::session::{
    LoginOutcome, MfaChallenge, open_session, remember_device, token_response,
};
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, UserId};
use crate::security::audit::AuditEvent;
use crate::security::mfa;
use crate::security::password;
use crate::security::tokens::{random_token, token_hash};
use crate::store::mfa::TotpRow;
use crate::store::{self, Tx};

/// The login's second step: the `mfa_token` and exactly one of the codes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    pub mfa_token: String,
    /// The authenticator app's current 6-digit code.
    #[serde(default)]
    pub code: Option<String>,
    /// One of the recovery codes (`XXXXX-XXXXX`); it is spent.
    #[serde(default)]
    pub recovery_code: Option<String>,
    /// The browser's answer to `navigator.credentials.get` with the options from
    /// `POST /api/auth/mfa/passkey/start` (binary fields in base64url).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub passkey: Option<Box<webauthn_rs::prelude::PublicKeyCredential>>,
}

/// The caller's two-factor state.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatus {
    /// A confirmed authenticator protects the login.
    pub totp_enabled: bool,
    /// An enrolment was started and awaits its first code.
    pub totp_pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// A clinic of the caller requires two-factor and the caller has not enrolled: every
    /// route but enrolment answers 403 `mfa_enrolment_required`.
    pub enrolment_required: bool,
}

/// A started enrolment: what the authenticator app reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// `otpauth://totp/…` (SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
    /// The secret in base32, for typing it in by hand.
    pub secret: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

/// A code that proves the authenticator is there.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    pub code: String,
}

/// Disabling two-factor: the password and a current code (or a recovery code).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpRequest {
    pub password: String,
    pub code: String,
}

/// Recovery codes, shown once: only their hashes are kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A clinic's security policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicSecurity {
    /// Professionals and admins of the clinic must log in with two-factor; until they
    /// enrol, their sessions can only enrol.
    pub require_mfa: bool,
}

/// The second factors an authenticator app brings.
const TOTP_METHODS: [&str; 2] = ["totp", "recovery_code"];

/// The app's clock in Unix seconds (TOTP time steps follow it, so a test moves time to the
/// next step instead of waiting for it).
fn now_secs(state: &AppState) -> u64 {
    state.clock.now().timestamp().max(0) as u64
}

fn invalid_code() -> AppError {
    AppError::unauthorized("invalid_mfa_code", "código de verificação incorreto")
}

fn invalid_token() -> AppError {
    AppError::unauthorized(
        "invalid_mfa_token",
        "a verificação em duas etapas expirou; entre novamente com sua senha",
    )
}

/// A wrong code where the caller is logged in (enrolment, disabling): 422, not 401, so the
/// page does not take it for an ended session.
fn wrong_code() -> AppError {
    crate::domain::ValidationError::new("invalid_mfa_code", "código de verificação incorreto")
        .into()
}

fn decrypt_secret(state: &AppState, row: &TotpRow) -> Result<Vec<u8>, AppError> {
    let b32 = state
        .cipher
        .decrypt(&row.secret)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("TOTP secret unreadable: {e}")))?;
    totp_rs::Secret::try_from_base32(&b32)
        .map_err(|_| AppError::Unexpected(anyhow::anyhow!("TOTP secret malformed")))
        .map(|s| s.as_ref().to_vec())
}

/// How a presented TOTP code fared.
enum CodeCheck {
    Accepted,
    Wrong,
    /// Right, but for a time step already used: a replay.
    Used,
}

/// Check `code` against the authenticator and, if right, spend its time step inside `tx`.
async fn check_totp(
    state: &AppState,
    tx: &mut Tx,
    row: &TotpRow,
    code: &str,
) -> Result<CodeCheck, AppError> {
    let secret = decrypt_secret(state, row)?;
    let Some(step) = mfa::matching_step(&secret, code, now_secs(state)) else {
        return Ok(CodeCheck::Wrong);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if state.store.spend_totp_step(tx, row.user_id, step).await? {
        Ok(CodeCheck::Accepted)
    } else {
        Ok(CodeCheck::Used)
    }
}

/// Fresh recovery codes for `user`, replacing the old ones inside `tx`.
async fn issue_recovery_codes(
    state: &AppState,
    tx: &mut Tx,
    user: UserId,
) -> Result<RecoveryCodes, AppError> {
    let codes = mfa::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| mfa::normalise_recovery_code(c))
        .map(|n| mfa::recovery_code_hash(&state.links, user, &n))
        .collect();
    state
        .store
        .replace_recovery_codes(tx, user, &hashes)
        .await?;
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// The caller's confirmed authenticator, or 409 `mfa_not_enabled`.
async fn confirmed_totp(state: &AppState, user: UserId) -> Result<TotpRow, AppError> {
    state
        .store
        .totp_of(user)
        .await?
        .filter(|t| t.confirmed_at.is_some())
        .ok_or_else(|| {
            AppError::conflict(
                "mfa_not_enabled",
                "a verificação em duas etapas não está ativa",
            )
        })
}

/// The logged-in caller's attempts at codes share the login throttle (as a password change
/// does): `Err` with 429 while they are over it.
async fn check_own_throttle(state: &AppState, auth: &Auth) -> Result<(String, String), AppError> {
    let account = auth.email.trim().to_lowercase();
    let address = auth.ip.clone().unwrap_or_else(|| "unknown".into());
    state
        .throttle
        .check(&account, &address, true)
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    Ok((account, address))
}

pub async fn status(state: &AppState, auth: &Auth) -> Result<MfaStatus, AppError> {
    let totp = state.store.totp_of(auth.user_id).await?;
    Ok(MfaStatus {
        totp_enabled: totp.as_ref().is_some_and(|t| t.confirmed_at.is_some()),
        totp_pending: totp.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
        recovery_codes_left: state.store.recovery_codes_left(auth.user_id).await?,
        enrolment_required: auth.mfa_enrolment_required,
    })
}

/// Start enrolling an authenticator: a new secret (encrypted at rest), not yet active
/// (409 `mfa_already_enabled` if one is). Starting again replaces an unconfirmed one.
pub async fn start_totp(state: &AppState, auth: &Auth) -> Result<TotpEnrolment, AppError> {
    if confirmed_totp(state, auth.user_id).await.is_ok() {
        return Err(AppError::conflict(
            "mfa_already_enabled",
            "a verificação em duas etapas já está ativa; desative-a antes de trocar de aplicativo",
        ));
    }
    let secret = mfa::new_secret();
    let issuer = &state.settings.security.mfa.issuer;
    let otpauth_uri = mfa::otpauth_uri(&secret, issuer, &auth.email)
        .map_err(|e| AppError::Unexpected(e.into()))?;
    let b32 = mfa::secret_base32(&secret);
    let stored = state
        .cipher
        .encrypt(&b32)
        .map_err(|e| AppError::Unexpected(e.into()))?;
    let qr_svg = crate::qr::svg(&otpauth_uri)
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("otpauth URI too long for a QR")))?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .put_pending_totp(&mut tx, auth.user_id, &stored)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "security.mfa_enrolment_started", "user")
                .entity_id(auth.user_id)
                .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(TotpEnrolment {
        otpauth_uri,
        secret: b32,
        qr_svg,
    })
}

/// Activate the started enrolment with a current code: two-factor is on from now, and the
/// answer carries the recovery codes, shown this once.
pub async fn confirm_totp(
    state: &AppState,
    auth: &Auth,
    body: TotpCodeRequest,
) -> Result<RecoveryCodes, AppError> {
    let (account, address) = check_own_throttle(state, auth).await?;
    let row = state.store.totp_of(auth.user_id).await?;
    let row = match row {
        Some(r) if r.confirmed_at.is_none() => r,
        Some(_) => {
            return Err(AppError::conflict(
                "mfa_already_enabled",
                "a verificação em duas etapas já está ativa",
            ));
        }
        None => {
            return Err(AppError::conflict(
                "mfa_not_started",
                "comece a ativação da verificação em duas etapas primeiro",
            ));
        }
    };
    let mut tx = state.store.begin().await?;
    if !matches!(
        check_totp(state, &mut tx, &row, &body.code).await?,
        CodeCheck::Accepted
    ) {
        drop(tx);
        state.throttle.failed(&account, &address).await;
        return Err(wrong_code());
    }
    state.store.confirm_totp(&mut tx, auth.user_id).await?;
    let codes = issue_recovery_codes(state, &mut tx, auth.user_id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "security.mfa_enabled", "user")
                .entity_id(auth.user_id)
                .ip(auth.ip.clone())
                .details(serde_json::json!({ "method": "totp" })),
        )
        .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turn two-factor off: the password and a current code (or a recovery code) are required.
pub async fn disable_totp(
    state: &AppState,
    auth: &Auth,
    body: DisableTotpRequest,
) -> Result<(), AppError> {
    let (account, address) = check_own_throttle(state, auth).await?;
    let row = confirmed_totp(state, auth.user_id).await?;
    let user = state
        .store
        .user_by_id(auth.user_id)
        .await?
        .ok_or_else(|| AppError::unauthorized("invalid_token", "usuário inativo"))?;
    if !password::verify(body.password, Some(user.password_hash)).await? {
        state.throttle.failed(&account, &address).await;
        return Err(AppError::forbidden(
            "wrong_password",
            "a senha atual não confere",
        ));
    }
    let mut tx = state.store.begin().await?;
    if !second_factor_ok(state, &mut tx, &row, &body.code).await? {
        drop(tx);
        state.throttle.failed(&account, &address).await;
        return Err(wrong_code());
    }
    state.store.delete_totp(&mut tx, auth.user_id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "security.mfa_disabled", "user")
                .entity_id(auth.user_id)
                .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Replace the recovery codes (a current authenticator code is required).
pub async fn regenerate_recovery_codes(
    state: &AppState,
    auth: &Auth,
    body: TotpCodeRequest,
) -> Result<RecoveryCodes, AppError> {
    let (account, address) = check_own_throttle(state, auth).await?;
    let row = confirmed_totp(state, auth.user_id).await?;
    let mut tx = state.store.begin().await?;
    if !matches!(
        check_totp(state, &mut tx, &row, &body.code).await?,
        CodeCheck::Accepted
    ) {
        drop(tx);
        state.throttle.failed(&account, &address).await;
        return Err(wrong_code());
    }
    let codes = issue_recovery_codes(state, &mut tx, auth.user_id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(
                Some(auth.user_id),
                "security.mfa_recovery_codes_regenerated",
                "user",
            )
            .entity_id(auth.user_id)
            .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(codes)
}

/// `code` is a current authenticator code, or one of the recovery codes (then spent).
async fn second_factor_ok(
    state: &AppState,
    tx: &mut Tx,
    row: &TotpRow,
    code: &str,
) -> Result<bool, AppError> {
    if let Some(n) = mfa::normalise_recovery_code(code) {
        let hash = mfa::recovery_code_hash(&state.links, row.user_id, &n);
        return Ok(state
            .store
            .spend_recovery_code(tx, row.user_id, &hash)
            .await?);
    }
    Ok(matches!(
        check_totp(state, tx, row, code).await?,
        CodeCheck::Accepted
    ))
}

/// Whether `user` logs in with a second step: a confirmed authenticator or a passkey.
pub async fn login_needs_second_factor(state: &AppState, user: UserId) -> Result<bool, AppError> {
    Ok(has_totp(state, user).await? || state.store.has_passkey(user).await?)
}

async fn has_totp(state: &AppState, user: UserId) -> Result<bool, AppError> {
    Ok(state
        .store
        .totp_of(user)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some()))
}

/// The password was right and the account has two-factor: a challenge instead of a session.
pub async fn open_challenge(
    state: &AppState,
    user: UserId,
    known_device: bool,
) -> Result<MfaChallenge, AppError> {
    let token = random_token();
    let ttl = state.settings.security.mfa.challenge_ttl_secs;
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_mfa_challenge(
            &mut tx,
            &token_hash(&token),
            user,
            known_device,
            store::now() + Duration::seconds(ttl as i64),
        )
        .await?;
    tx.commit().await?;
    let mut methods = Vec::new();
    if has_totp(state, user).await? {
        methods.extend(TOTP_METHODS);
    }
    if state.store.has_passkey(user).await? {
        methods.push("passkey");
    }
    Ok(MfaChallenge {
        mfa_required: true,
        mfa_token: token,
        expires_in: ttl,
        methods,
    })
}

/// The login's second step: a right code spends the challenge and opens the session a
/// password login opens (audited with the method used). Wrong codes count against the
/// login throttle and the challenge; past `max_code_failures` the challenge is dead.
pub async fn complete_login(
    state: &AppState,
    ip: Option<String>,
    body: MfaLoginRequest,
) -> Result<LoginOutcome, AppError> {
    let answers = [
        body.code.is_some(),
        body.recovery_code.is_some(),
        body.passkey.is_some(),
    ];
    if answers.iter().filter(|a| **a).count() != 1 {
        return Err(AppError::bad_request(
            "invalid_body",
            "envie `code`, `recovery_code` ou `passkey` (um deles)",
        ));
    }
    let hash = token_hash(body.mfa_token.trim());
    let challenge = state
        .store
        .mfa_challenge(&hash)
        .await?
        .ok_or_else(invalid_token)?;
    let user = state
        .store
        .user_by_id(challenge.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(invalid_token)?;
    let account = user.email.trim().to_lowercase();
    let address = ip.clone().unwrap_or_else(|| "unknown".into());
    state
        .throttle
        .check(&account, &address, challenge.known_device)
        .await
        .map_err(|retry_after_secs| {
            metrics::counter!("atende_login_throttled_total").increment(1);
            AppError::TooManyRequests { retry_after_secs }
        })?;
    // Validity after the throttle: a throttled caller learns nothing about the token.
    let max = i32::try_from(state.settings.security.mfa.max_code_failures).unwrap_or(5);
    if challenge.used_at.is_some()
        || challenge.expires_at <= store::now()
        || challenge.failures >= max
    {
        return Err(invalid_token());
    }
    let row = state
        .store
        .totp_of(user.id)
        .await?
        .filter(|t| t.confirmed_at.is_some());

    let mut tx = state.store.begin().await?;
    let (verdict, method) = match (
        body.code.as_deref(),
        body.recovery_code.as_deref(),
        body.passkey.as_deref(),
    ) {
        (Some(code), None, None) => match &row {
            Some(row) => (check_totp(state, &mut tx, row, code).await?, "totp"),
            None => (CodeCheck::Wrong, "totp"),
        },
        (None, None, Some(credential)) => {
            let ok =
                passkeys::verify_second_factor(state, &mut tx, user.id, &hash, credential).await?;
            let verdict = if ok {
                CodeCheck::Accepted
            } else {
                CodeCheck::Wrong
            };
            (verdict, "passkey")
        }
        (None, Some(typed), None) => {
            let spent = match mfa::normalise_recovery_code(typed) {
                Some(n) => {
                    state
                        .store
                        .spend_recovery_code(
                            &mut tx,
                            user.id,
                            &mfa::recovery_code_hash(&state.links, user.id, &n),
                        )
                        .await?
                }
                None => false,
            };
            let verdict = if spent {
                CodeCheck::Accepted
            } else {
                CodeCheck::Wrong
            };
            (verdict, "recovery_code")
        }
        _ => {
            return Err(AppError::bad_request(
                "invalid_body",
                "envie `code`, `recovery_code` ou `passkey` (um deles)",
            ));
        }
    };
    if !matches!(verdict, CodeCheck::Accepted) {
        // Undo a spent step or code (there is none on a miss), then count the miss.
        drop(tx);
        let mut tx = state.store.begin().await?;
        let failures = state.store.fail_mfa_challenge(&mut tx, &hash).await?;
        tx.commit().await?;
        state.throttle.failed(&account, &address).await;
        metrics::counter!("atende_mfa_failures_total").increment(1);
        tracing::info!(failures, method, "second factor refused");
        return Err(match verdict {
            _ if method == "passkey" => {
                AppError::unauthorized("invalid_passkey", "a chave de acesso não foi aceita")
            }
            CodeCheck::Used => AppError::unauthorized(
                "mfa_code_used",
                "este código já foi usado; espere o próximo código do aplicativo",
            ),
            _ => invalid_code(),
        });
    }
    if !state.store.spend_mfa_challenge(&mut tx, &hash, max).await? {
        return Err(invalid_token());
    }
    state
        .throttle
        .succeeded(&account, &address, challenge.known_device)
        .await;
    let (session, refresh) = open_session(state, &mut tx, user.id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(user.id), "auth.login", "session")
                .entity_id(session)
                .ip(ip)
                .details(serde_json::json!({ "second_factor": method })),
        )
        .await?;
    if method == "recovery_code" {
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(Some(user.id), "security.mfa_recovery_code_used", "user")
                    .entity_id(user.id),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(LoginOutcome::LoggedIn {
        tokens: Box::new(token_response(state, user.id, session, refresh).await?),
        // The device cookie is scoped to the login route and does not reach this one: the
        // device is remembered afresh for this account.
        known_device: remember_device(state, None, user.id),
    })
}

/// Refuse unless the caller administers `clinic` (or operates the platform).
fn require_clinic_admin(auth: &Auth, clinic: ClinicId) -> Result<(), AppError> {
    if auth.platform_admin {
        return Ok(());
    }
    auth.require_role(clinic, &[Role::ClinicAdmin])
}

pub async fn clinic_security(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<ClinicSecurity, AppError> {
    require_clinic_admin(auth, clinic)?;
    let require_mfa = state
        .store
        .clinic_requires_mfa(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ClinicSecurity { require_mfa })
}

/// Set the clinic's two-factor policy (audited). An admin of the clinic turning it on must
/// have enrolled first (409 `mfa_enrol_first`), or the change would lock their own session
/// to enrolment mid-task.
pub async fn set_clinic_security(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: ClinicSecurity,
) -> Result<ClinicSecurity, AppError> {
    require_clinic_admin(auth, clinic)?;
    state
        .store
        .clinic_requires_mfa(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    if body.require_mfa
        && auth.has_role(clinic, &[Role::ClinicAdmin, Role::Professional])
        && !login_needs_second_factor(state, auth.user_id).await?
    {
        return Err(AppError::conflict(
            "mfa_enrol_first",
            "ative a verificação em duas etapas na sua conta antes de exigi-la da equipe",
        ));
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_clinic_requires_mfa(&mut tx, clinic, body.require_mfa)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "clinic.mfa_policy_changed", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(serde_json::json!({ "require_mfa": body.require_mfa })),
        )
        .await?;
    tx.commit().await?;
    Ok(body)
}
