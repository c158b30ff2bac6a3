//! "Esqueci minha senha": a reset link by e-mail, then a new password.
//!
//! The request always answers the same (202), whether or not an account has the address,
//! so it tells nobody which addresses have accounts; it is limited per address and, quietly,
//! per account. The link carries a 256-bit random token of which only the hash is kept; it
//! works once and for 30 minutes (on the application's clock). Setting the new password
//! follows the sign-up rules and ends every session of the account, on every node.

use chrono::Duration;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::auth::{SessionsEnded, end_sessions};
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{Email, Password};
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::security::tokens::{random_token, token_hash};
use crate::store::outbox::NewMessage;

/// How long a reset link works.
pub const RESET_TTL_MINUTES: i64 = 30;
/// The web page a reset link opens (the token follows).
pub const RESET_PAGE: &str = "/#/redefinir-senha/";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token from the e-mailed link.
    pub token: String,
    pub new_password: String,
}

fn limited(retry_after_secs: u64) -> AppError {
    AppError::TooManyRequests { retry_after_secs }
}

/// Send a reset link to the account with this address, if there is one (and it is not
/// disabled, and has not asked too often). The caller learns nothing either way.
pub async fn request_reset(
    state: &AppState,
    ip: Option<String>,
    body: ResetRequest,
) -> Result<(), AppError> {
    let address = ip.as_deref().unwrap_or("unknown");
    state.reset_requests.check(address).await.map_err(limited)?;
    state.reset_requests.missed(address).await;
    let email = Email::parse(&body.email)?;
    let account_key = format!("account:{}", email.as_str());
    if state.reset_requests.check(&account_key).await.is_err() {
        tracing::info!("password reset: per-account limit reached; nothing sent");
        return Ok(());
    }
    state.reset_requests.missed(&account_key).await;
    let Some(user) = state.store.user_by_email(email.as_str()).await? else {
        return Ok(());
    };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let token = random_token();
    let now = state.clock.now();
    let payload = serde_json::json!({
        "name": user.full_name,
        "reset_path": format!("{RESET_PAGE}{token}"),
    });
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_password_reset(
            &mut tx,
            &token_hash(&token),
            user.id,
            now,
            now + Duration::minutes(RESET_TTL_MINUTES),
        )
        .await?;
    let message = NewMessage {
        user: Some(user.id),
        channel: "email",
        template: "password_reset".into(),
        to_address: Some(user.email.clone()),
        ..Default::default()
    };
    state
        .store
        .insert_message(&mut tx, &message, &payload)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(None, "auth.password_reset_requested", "user")
                .entity_id(user.id)
                .ip(ip),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Set a new password with a reset token (once, before it expires) and end every session
/// of the account.
pub async fn confirm_reset(
    state: &AppState,
    ip: Option<String>,
    body: ResetConfirm,
) -> Result<SessionsEnded, AppError> {
    let address = ip.as_deref().unwrap_or("unknown");
    state.lookups.check(address).await.map_err(limited)?;
    let new_password = Password::parse(&body.new_password)?;
    let invalid = || {
        AppError::bad_request(
            "invalid_reset_token",
            "este link de redefinição é inválido, expirou ou já foi usado",
        )
    };
    if body.token.len() > 128 {
        return Err(invalid());
    }
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let mut tx = state.store.begin().await?;
    let Some(user) = state
        .store
        .use_password_reset(&mut tx, &token_hash(&body.token), state.clock.now())
        .await?
    else {
        drop(tx);
        state.lookups.missed(address).await;
        return Err(invalid());
    };
    state.store.set_password_hash(&mut tx, user, &hash).await?;
    end_sessions(
        state,
        tx,
        user,
        ip,
        None,
        "password_reset",
        "user.password_reset_by_link",
    )
    .await
}
