//! Opening a login session and answering with its tokens: what a password login, a sign-up
//! and a login's second step share, and the known-device cookie that exempts an owner's
//! usual device from the per-account login lockout.

use chrono::Duration;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::error::AppError;
use crate::app::me::{MeResponse, load_me};
use crate::app::state::AppState;
use crate::domain::{SessionId, UserId};
use crate::security::tokens::{random_token, token_hash};
use crate::store::{self, Tx};

/// Issued at login, sign-up and refresh. The refresh token is not in it: it travels in the
/// `atende_refresh` cookie (HttpOnly), out of reach of the page's scripts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: MeResponse,
}

/// A new token pair: the answer's body, and the refresh token the edge puts in a cookie.
/// (No `Debug`: it holds a secret that must never reach a log line.)
pub struct Issued {
    pub body: TokenResponse,
    /// Opaque, single-use: exchanged at `/api/auth/refresh` for a new pair.
    pub refresh_token: String,
}

/// The answer to a right password when the account has two-factor: no session yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always `true`: tells this answer from a token pair.
    pub mfa_required: bool,
    /// Single use; send it to `POST /api/auth/mfa` with a code.
    pub mfa_token: String,
    /// Seconds the token stays valid.
    pub expires_in: u64,
    /// Second factors the account can answer with (`totp`, `recovery_code`, `passkey`).
    pub methods: Vec<&'static str>,
}

/// Start a session and issue its first token pair, inside `tx`.
pub async fn open_session(
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

/// The answer carrying a session's tokens: a fresh access token, the caller, and
/// `refresh_token` for the edge to put in its cookie.
pub async fn token_response(
    state: &AppState,
    user: UserId,
    session: SessionId,
    refresh_token: String,
) -> Result<Issued, AppError> {
    let access_token = state
        .tokens
        .issue(user, session)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot issue token: {e}")))?;
    Ok(Issued {
        body: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.tokens.ttl_secs(),
            user: load_me(state, user).await?,
        },
        refresh_token,
    })
}

/// A login's answer.
pub enum LoginOutcome {
    /// A session, and the device's refreshed known-device cookie (see
    /// [`KNOWN_DEVICE_COOKIE`]).
    LoggedIn {
        /// Boxed: the caller's profile makes this far larger than a challenge.
        tokens: Box<Issued>,
        known_device: String,
    },
    /// The password was right; the account's second factor is awaited (no session yet).
    SecondFactor(MfaChallenge),
}

/// The cookie that marks a device its account(s) logged in from before: signed entries
/// naming a user, each valid for `security.login_throttle.known_device_days`. A login from
/// a known device is exempt from the per-account lockout (never from the per-address and
/// per-address-and-account limits), so a stranger failing logins cannot lock the owner out.
pub const KNOWN_DEVICE_COOKIE: &str = "atende_device";
/// The link purpose of a known-device entry.
const KNOWN_DEVICE: &str = "known-device";
/// Accounts one device remembers (a shared reception computer).
const KNOWN_DEVICE_ACCOUNTS: usize = 5;

/// The valid entries of a known-device cookie: (user, entry).
pub fn known_device_entries<'a>(
    state: &AppState,
    cookie: Option<&'a str>,
) -> Vec<(UserId, &'a str)> {
    let now = state.clock.now().timestamp();
    cookie
        .unwrap_or_default()
        .split('~')
        .filter_map(|entry| {
            let (id, _) = state.links.verify(KNOWN_DEVICE, entry, now).ok()?;
            Some((UserId(id), entry))
        })
        .take(KNOWN_DEVICE_ACCOUNTS)
        .collect()
}

/// The cookie after `user` logged in on this device: a fresh entry for them first, the
/// other accounts' valid entries after it.
pub fn remember_device(state: &AppState, cookie: Option<&str>, user: UserId) -> String {
    let days = state.settings.security.login_throttle.known_device_days as i64;
    let expires = state.clock.now().timestamp() + days * 86_400;
    let fresh = state.links.sign(KNOWN_DEVICE, user.0, Some(expires));
    std::iter::once(fresh.as_str())
        .chain(
            known_device_entries(state, cookie)
                .into_iter()
                .filter(|(u, _)| *u != user)
                .map(|(_, e)| e),
        )
        .take(KNOWN_DEVICE_ACCOUNTS)
        .collect::<Vec<_>>()
        .join("~")
}
