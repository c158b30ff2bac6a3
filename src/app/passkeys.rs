//! Passkeys (WebAuthn): registering one on the caller's account, listing and removing them,
//! using one as the login's second factor, and logging in with one alone (discoverable
//! credentials, no e-mail asked).
//!
//! Every ceremony's state (it holds the challenge) is kept in the database, encrypted with
//! the field cipher, single use and dead after five minutes, so any node can finish what
//! another started and a replayed answer finds nothing to finish. Passkeys always require
//! user verification (PIN, fingerprint, face): a passkey login is possession plus
//! verification, a multi-factor login on its own.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::session::{LoginOutcome, open_session, remember_device, token_response};
use crate::app::state::AppState;
use crate::domain::UserId;
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::security::tokens::token_hash;
use crate::store::passkeys::{CeremonyRow, NewCeremony, PasskeyRow};
use crate::store::{self, Tx};

/// How long a ceremony (its challenge) stays valid.
const CEREMONY_TTL_SECS: i64 = 300;
/// Registering (and removing without the password) needs a login this recent.
const RECENT_LOGIN_MINUTES: i64 = 15;
/// The longest name a passkey may carry.
const NAME_MAX_CHARS: usize = 60;

const REGISTER: &str = "register";
const SECOND_FACTOR: &str = "second_factor";
const LOGIN: &str = "login";

/// A passkey of the caller, as the account page lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Finishing a registration: a name for the passkey and the browser's answer to
/// `navigator.credentials.create` (binary fields in base64url).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRegistration {
    pub name: String,
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
}

/// Removing a passkey: the password, unless the session's login is recent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovePasskey {
    #[serde(default)]
    pub password: Option<String>,
}

/// Starting the passkey second factor of a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorStart {
    pub mfa_token: String,
}

/// Options for `navigator.credentials.create`: webauthn's `CreationChallengeResponse`,
/// binary fields in base64url.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyCreationOptions {
    /// `PublicKeyCredentialCreationOptions` (WebAuthn Level 3, §5.4).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
}

/// Options for `navigator.credentials.get`: webauthn's `RequestChallengeResponse`, binary
/// fields in base64url.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyRequestOptions {
    /// `PublicKeyCredentialRequestOptions` (WebAuthn Level 3, §5.5).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
}

impl PasskeyRequestOptions {
    fn from_webauthn<T: Serialize>(rcr: &T) -> Result<Self, AppError> {
        let mut value = serde_json::to_value(rcr).map_err(|e| unexpected("options", e))?;
        Ok(Self {
            public_key: value["publicKey"].take(),
        })
    }
}

/// A started passwordless login: the options for `navigator.credentials.get` and the id
/// of the ceremony to finish.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyLoginChallenge {
    pub state_id: Uuid,
    pub options: PasskeyRequestOptions,
}

/// Finishing a passwordless login: the ceremony and the browser's answer to
/// `navigator.credentials.get`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginFinish {
    pub state_id: Uuid,
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

fn invalid_passkey() -> AppError {
    AppError::unauthorized("invalid_passkey", "a chave de acesso não foi aceita")
}

/// A refused registration where the caller is logged in: 422, not 401, so the page does not
/// take it for an ended session.
fn refused_registration() -> AppError {
    crate::domain::ValidationError::new(
        "invalid_passkey",
        "a chave de acesso não foi aceita; tente de novo",
    )
    .into()
}

fn engine(state: &AppState) -> Result<&Webauthn, AppError> {
    state
        .passkeys
        .as_deref()
        .ok_or_else(|| AppError::Overloaded {
            code: "passkeys_unavailable",
            message:
                "chaves de acesso indisponíveis neste endereço (use https ou http://localhost)"
                    .into(),
        })
}

fn unexpected(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Unexpected(anyhow::anyhow!("{what}: {e}"))
}

fn seal<T: Serialize>(state: &AppState, value: &T) -> Result<String, AppError> {
    let json = serde_json::to_string(value).map_err(|e| unexpected("passkey state", e))?;
    state
        .cipher
        .encrypt(&json)
        .map_err(|e| unexpected("passkey state", e))
}

fn open<T: DeserializeOwned>(state: &AppState, sealed: &str) -> Result<T, AppError> {
    let json = state
        .cipher
        .decrypt(sealed)
        .map_err(|e| unexpected("passkey state unreadable", e))?;
    serde_json::from_str(&json).map_err(|e| unexpected("passkey state malformed", e))
}

fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// Keep a ceremony's state for five minutes, inside `tx`.
async fn keep_ceremony<T: Serialize>(
    state: &AppState,
    tx: &mut Tx,
    id: Uuid,
    kind: &str,
    user: Option<UserId>,
    mfa_token_hash: Option<&str>,
    ceremony: &T,
) -> Result<(), AppError> {
    let sealed = seal(state, ceremony)?;
    state
        .store
        .insert_passkey_ceremony(
            tx,
            &NewCeremony {
                id,
                kind,
                user_id: user,
                mfa_token_hash,
                state: &sealed,
                expires_at: store::now() + Duration::seconds(CEREMONY_TTL_SECS),
            },
        )
        .await?;
    Ok(())
}

/// Whether the caller's login session started within [`RECENT_LOGIN_MINUTES`].
async fn login_is_recent(state: &AppState, auth: &Auth) -> Result<bool, AppError> {
    Ok(state
        .store
        .session_started_at(auth.session_id)
        .await?
        .is_some_and(|t| t > store::now() - Duration::minutes(RECENT_LOGIN_MINUTES)))
}

fn info(row: PasskeyRow) -> PasskeyInfo {
    PasskeyInfo {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    }
}

pub async fn list(state: &AppState, auth: &Auth) -> Result<Vec<PasskeyInfo>, AppError> {
    Ok(state
        .store
        .passkeys_of(auth.user_id)
        .await?
        .into_iter()
        .map(info)
        .collect())
}

/// Start registering a passkey on the caller's account (their login must be recent: 403
/// `recent_login_required`). The answer is webauthn's `CreationChallengeResponse`, asking
/// for a discoverable credential with user verification; the caller's other passkeys are
/// excluded so one authenticator is not registered twice.
pub async fn start_registration(
    state: &AppState,
    auth: &Auth,
) -> Result<PasskeyCreationOptions, AppError> {
    let webauthn = engine(state)?;
    if !login_is_recent(state, auth).await? {
        return Err(AppError::forbidden(
            "recent_login_required",
            "por segurança, entre novamente antes de adicionar uma chave de acesso",
        ));
    }
    let mut exclude = Vec::new();
    for row in state.store.passkeys_of(auth.user_id).await? {
        exclude.push(open::<Passkey>(state, &row.credential)?.cred_id().clone());
    }
    let (ccr, registration) = webauthn
        .start_passkey_registration(auth.user_id.0, &auth.email, &auth.full_name, Some(exclude))
        .map_err(|e| unexpected("passkey registration", e))?;
    let mut tx = state.store.begin().await?;
    keep_ceremony(
        state,
        &mut tx,
        Uuid::now_v7(),
        REGISTER,
        Some(auth.user_id),
        None,
        &registration,
    )
    .await?;
    tx.commit().await?;
    let mut options = serde_json::to_value(&ccr).map_err(|e| unexpected("options", e))?;
    // A passkey that can log in without an e-mail must live on the authenticator
    // (discoverable); webauthn-rs asks only for "discouraged" by default.
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
        sel["residentKey"] = "required".into();
        sel["requireResidentKey"] = true.into();
    }
    Ok(PasskeyCreationOptions {
        public_key: options["publicKey"].take(),
    })
}

/// Finish the registration started last (single use, five minutes): the passkey is stored
/// (its credential encrypted) and audited.
pub async fn finish_registration(
    state: &AppState,
    auth: &Auth,
    body: FinishRegistration,
) -> Result<PasskeyInfo, AppError> {
    let webauthn = engine(state)?;
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Err(crate::domain::ValidationError::new(
            "invalid_passkey_name",
            "dê à chave um nome de 1 a 60 caracteres",
        )
        .into());
    }
    // Taken (spent) in its own transaction: a refused answer does not leave it reusable.
    let mut tx = state.store.begin().await?;
    let ceremony = state
        .store
        .take_latest_user_ceremony(&mut tx, auth.user_id, REGISTER)
        .await?;
    tx.commit().await?;
    let ceremony = ceremony.ok_or_else(refused_registration)?;
    let registration: PasskeyRegistration = open(state, &ceremony.state)?;
    let passkey = webauthn
        .finish_passkey_registration(&body.credential, &registration)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            refused_registration()
        })?;
    let credential_id = credential_key(passkey.cred_id());
    if state
        .store
        .passkey_by_credential_id(&credential_id)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "passkey_exists",
            "esta chave de acesso já está cadastrada",
        ));
    }
    let row = PasskeyRow {
        id: Uuid::now_v7(),
        user_id: auth.user_id,
        name,
        credential_id,
        credential: seal(state, &passkey)?,
        created_at: store::now(),
        last_used_at: None,
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_passkey(&mut tx, &row).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "security.passkey_added", "passkey")
                .entity_id(row.id)
                .ip(auth.ip.clone())
                .details(serde_json::json!({ "name": row.name })),
        )
        .await?;
    tx.commit().await?;
    Ok(info(row))
}

/// Remove one of the caller's passkeys: the password is required unless the login is
/// recent (it then just proved every factor). Audited.
pub async fn remove(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
    body: RemovePasskey,
) -> Result<(), AppError> {
    if !login_is_recent(state, auth).await? {
        let account = auth.email.trim().to_lowercase();
        let address = auth.ip.clone().unwrap_or_else(|| "unknown".into());
        state
            .throttle
            .check(&account, &address, true)
            .await
            .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
        let user = state
            .store
            .user_by_id(auth.user_id)
            .await?
            .ok_or_else(|| AppError::unauthorized("invalid_token", "usuário inativo"))?;
        let Some(typed) = body.password else {
            return Err(AppError::forbidden(
                "password_required",
                "confirme com sua senha para remover a chave de acesso",
            ));
        };
        if !password::verify(typed, Some(user.password_hash)).await? {
            state.throttle.failed(&account, &address).await;
            return Err(AppError::forbidden(
                "wrong_password",
                "a senha atual não confere",
            ));
        }
    }
    let mut tx = state.store.begin().await?;
    if !state
        .store
        .delete_passkey(&mut tx, auth.user_id, id)
        .await?
    {
        return Err(AppError::NotFound);
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "security.passkey_removed", "passkey")
                .entity_id(id)
                .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The user's passkeys as webauthn-rs credentials.
async fn passkeys_of(state: &AppState, user: UserId) -> Result<Vec<Passkey>, AppError> {
    let mut out = Vec::new();
    for row in state.store.passkeys_of(user).await? {
        out.push(open(state, &row.credential)?);
    }
    Ok(out)
}

/// Start the passkey second factor of a login awaiting it: webauthn's
/// `RequestChallengeResponse`, allowing only the account's passkeys. 401
/// `invalid_mfa_token` for a token that cannot complete a login.
pub async fn start_second_factor(
    state: &AppState,
    body: SecondFactorStart,
) -> Result<PasskeyRequestOptions, AppError> {
    let webauthn = engine(state)?;
    let hash = token_hash(body.mfa_token.trim());
    let max = i32::try_from(state.settings.security.mfa.max_code_failures).unwrap_or(5);
    let challenge = state
        .store
        .mfa_challenge(&hash)
        .await?
        .filter(|c| c.used_at.is_none() && c.expires_at > store::now() && c.failures < max)
        .ok_or_else(|| {
            AppError::unauthorized(
                "invalid_mfa_token",
                "a verificação em duas etapas expirou; entre novamente com sua senha",
            )
        })?;
    let passkeys = passkeys_of(state, challenge.user_id).await?;
    if passkeys.is_empty() {
        return Err(AppError::conflict(
            "no_passkey",
            "esta conta não tem chave de acesso cadastrada",
        ));
    }
    let (rcr, authentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| unexpected("passkey authentication", e))?;
    let mut tx = state.store.begin().await?;
    keep_ceremony(
        state,
        &mut tx,
        Uuid::now_v7(),
        SECOND_FACTOR,
        Some(challenge.user_id),
        Some(&hash),
        &authentication,
    )
    .await?;
    tx.commit().await?;
    PasskeyRequestOptions::from_webauthn(&rcr)
}

/// Check a passkey assertion as the second factor of the login whose token hashes to
/// `mfa_token_hash`, inside `tx` (the login's transaction): the latest ceremony started for
/// that login is spent, the assertion must answer its challenge with one of `user`'s
/// passkeys, and the passkey's counter is updated. False for any refusal.
pub async fn verify_second_factor(
    state: &AppState,
    tx: &mut Tx,
    user: UserId,
    mfa_token_hash: &str,
    credential: &PublicKeyCredential,
) -> Result<bool, AppError> {
    let webauthn = engine(state)?;
    let Some(ceremony) = state
        .store
        .take_second_factor_ceremony(tx, mfa_token_hash)
        .await?
        .filter(|c| c.user_id == Some(user))
    else {
        return Ok(false);
    };
    let authentication: PasskeyAuthentication = open(state, &ceremony.state)?;
    let Ok(result) = webauthn.finish_passkey_authentication(credential, &authentication) else {
        return Ok(false);
    };
    let Some(row) = state
        .store
        .passkey_by_credential_id(&credential_key(result.cred_id()))
        .await?
        .filter(|r| r.user_id == user)
    else {
        return Ok(false);
    };
    record_use(state, tx, row, &result).await?;
    Ok(true)
}

/// A passkey answered: keep its updated counter (webauthn-rs says when it changed) and the
/// time, and audit the use.
async fn record_use(
    state: &AppState,
    tx: &mut Tx,
    row: PasskeyRow,
    result: &AuthenticationResult,
) -> Result<(), AppError> {
    let mut passkey: Passkey = open(state, &row.credential)?;
    let updated = if result.needs_update() && passkey.update_credential(result) == Some(true) {
        Some(seal(state, &passkey)?)
    } else {
        None
    };
    state
        .store
        .passkey_used(tx, row.id, updated.as_deref())
        .await?;
    state
        .store
        .append_audit(
            tx,
            &AuditEvent::new(Some(row.user_id), "security.passkey_used", "passkey")
                .entity_id(row.id),
        )
        .await?;
    Ok(())
}

/// Start a passwordless login. Nothing about accounts is asked or revealed: any passkey
/// of this site may answer.
pub async fn start_login(
    state: &AppState,
    ip: Option<String>,
) -> Result<PasskeyLoginChallenge, AppError> {
    let webauthn = engine(state)?;
    let address = ip.unwrap_or_else(|| "unknown".into());
    state
        .throttle
        .check_address(&address)
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let (rcr, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| unexpected("passkey login", e))?;
    let state_id = Uuid::now_v7();
    let mut tx = state.store.begin().await?;
    keep_ceremony(state, &mut tx, state_id, LOGIN, None, None, &authentication).await?;
    tx.commit().await?;
    Ok(PasskeyLoginChallenge {
        state_id,
        options: PasskeyRequestOptions::from_webauthn(&rcr)?,
    })
}

/// Finish a passwordless login: the same session (and cookies) as a password and
/// second-factor login. Any refusal is 401 `invalid_passkey` and counts in the login
/// throttle (per address, and per account once the passkey names one).
pub async fn finish_login(
    state: &AppState,
    ip: Option<String>,
    body: PasskeyLoginFinish,
) -> Result<LoginOutcome, AppError> {
    let webauthn = engine(state)?;
    let address = ip.clone().unwrap_or_else(|| "unknown".into());
    let throttled = |retry_after_secs| {
        metrics::counter!("atende_login_throttled_total").increment(1);
        AppError::TooManyRequests { retry_after_secs }
    };
    state
        .throttle
        .check_address(&address)
        .await
        .map_err(throttled)?;
    let refuse = async |account: &str| {
        state.throttle.failed(account, &address).await;
        metrics::counter!("atende_login_failures_total").increment(1);
        tracing::info!("passkey login refused");
        invalid_passkey()
    };
    // Spent in its own transaction: whatever follows, the challenge answers once.
    let mut tx = state.store.begin().await?;
    let ceremony: Option<CeremonyRow> = state
        .store
        .take_passkey_ceremony(&mut tx, body.state_id, LOGIN)
        .await?;
    tx.commit().await?;
    let Some(ceremony) = ceremony else {
        return Err(refuse("passkey").await);
    };
    let Ok((user_handle, credential_id)) =
        webauthn.identify_discoverable_authentication(&body.credential)
    else {
        return Err(refuse("passkey").await);
    };
    let Some(row) = state
        .store
        .passkey_by_credential_id(&credential_key(credential_id))
        .await?
        .filter(|r| r.user_id.0 == user_handle)
    else {
        return Err(refuse("passkey").await);
    };
    let Some(user) = state
        .store
        .user_by_id(row.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
    else {
        return Err(refuse("passkey").await);
    };
    let account = user.email.trim().to_lowercase();
    state
        .throttle
        .check(&account, &address, false)
        .await
        .map_err(throttled)?;
    let authentication: DiscoverableAuthentication = open(state, &ceremony.state)?;
    let passkey: Passkey = open(state, &row.credential)?;
    let Ok(result) =
        webauthn.finish_discoverable_authentication_v2(&body.credential, authentication, &passkey)
    else {
        return Err(refuse(&account).await);
    };
    state.throttle.succeeded(&account, &address, false).await;
    let mut tx = state.store.begin().await?;
    record_use(state, &mut tx, row, &result).await?;
    let (session, refresh) = open_session(state, &mut tx, user.id).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(user.id), "auth.login", "session")
                .entity_id(session)
                .ip(ip)
                .details(serde_json::json!({ "method": "passkey" })),
        )
        .await?;
    tx.commit().await?;
    Ok(LoginOutcome::LoggedIn {
        tokens: Box::new(token_response(state, user.id, session, refresh).await?),
        // As after a second step: the known-device cookie is scoped to the password login.
        known_device: remember_device(state, None, user.id),
    })
}
