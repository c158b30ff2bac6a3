//! Sign-up in two steps: the e-mail is confirmed before the account exists.
//!
//! A request ([`request_sign_up`]) is validated, throttled, and then always answered the
//! same way (202 `verification_sent`), whether or not the address already has an account,
//! and does the same work either way (an Argon2 hash, one e-mail queued, one audit row), so
//! neither the answer nor its timing tells who has an account. A new address gets a link
//! (`/#/confirmar-email/<token>`, a 256-bit token of which only the hash is kept, 24 hours,
//! once); an address with an account gets, instead, an e-mail saying someone tried to
//! create an account with it. Opening the link ([`confirm_sign_up`]) spends the token in
//! the transaction that creates the account, exactly as sign-up did before.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::auth::{
    Issued, PatientAccount, SignupRequest, open_patient_account_in, token_response,
};
use crate::app::error::AppError;
use crate::app::patients::PatientIdentity;
use crate::app::state::AppState;
use crate::domain::{Email, Password, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::security::tokens::{random_token, token_hash};
use crate::store::outbox::NewMessage;
use crate::store::signups::PendingSignup;
use crate::store::users::UserRow;
use crate::store::{self, Tx};

/// How long a sign-up link works.
pub const SIGNUP_TTL_HOURS: i64 = 24;
/// The web page a sign-up link opens (the token follows).
pub const CONFIRM_PAGE: &str = "/#/confirmar-email/";
/// The web page the "someone tried to sign up with your address" e-mail points to.
pub const FORGOT_PAGE: &str = "/#/esqueci-senha";
/// The audit action of a sign-up request (both kinds); the per-address daily limit counts it.
pub const REQUESTED: &str = "auth.signup_requested";

/// The answer to every sign-up request that passes validation and the limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupAccepted {
    /// Always `verification_sent`: a link went (or an e-mail went) to the address.
    pub status: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupConfirm {
    /// The token from the e-mailed link.
    pub token: String,
}

/// A blank optional field counts as absent.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

/// Refuse a sign-up request from an address that already made
/// `security.limits.signups_per_address_per_day` of them in the last 24 hours (counted from
/// the `auth.signup_requested` audit rows, so every node and restart sees the same count).
async fn signups_left_today(state: &AppState, address: &str) -> Result<(), AppError> {
    let max = state.settings.security.limits.signups_per_address_per_day;
    let now = store::now();
    let day = Duration::hours(24);
    let made = state
        .store
        .signups_from_since(address, now - day, i64::from(max))
        .await?;
    if made.len() < max as usize {
        return Ok(());
    }
    let frees_at = made.first().map_or(now + day, |oldest| *oldest + day);
    metrics::counter!("atende_signup_limit_refusals_total").increment(1);
    Err(AppError::LimitedFor {
        code: "signup_limit",
        message: "muitas contas criadas a partir deste endereço hoje; tente novamente mais tarde"
            .into(),
        retry_after_secs: (frees_at - now).num_seconds().max(1) as u64,
    })
}

/// The sign-up's fields other than the password, as kept (sealed) until the link is opened.
fn identity_json(body: &SignupRequest, email: &Email) -> serde_json::Value {
    serde_json::json!({
        "email": email.as_str(),
        "full_name": body.full_name.trim(),
        "social_name": given(&body.social_name),
        "cpf": body.cpf.trim(),
        "birth_date": body.birth_date.trim(),
        "phone": given(&body.phone),
    })
}

/// A patient asks for an account: validated as always (422s tell nothing about anyone),
/// throttled, then answered `verification_sent` whatever the address (see the module's
/// doc). Costs an Argon2 hash either way: it shares the per-address budget with login.
pub async fn request_sign_up(
    state: &AppState,
    ip: Option<String>,
    body: SignupRequest,
) -> Result<SignupAccepted, AppError> {
    state
        .throttle
        .check_address(ip.as_deref().unwrap_or("unknown"))
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    if let Some(address) = ip.as_deref() {
        signups_left_today(state, address).await?;
    }
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let identity = PatientIdentity::parse(
        &body.full_name,
        given(&body.social_name),
        &body.cpf,
        &body.birth_date,
        given(&body.phone),
        state.clock.now().date_naive(),
    )?;
    let terms_version = &state.settings.lgpd.terms_version;
    if &body.accepted_terms_version != terms_version {
        return Err(ValidationError::new(
            "terms_not_accepted",
            format!(
                "é preciso aceitar os termos de uso e a política de privacidade (versão {terms_version})"
            ),
        )
        .into());
    }
    // Hashed whether or not it is kept: both answers cost the same.
    let password_hash = password::hash(password.expose().to_owned()).await?;
    // Quietly, per recipient: nobody makes the server write to one address again and again.
    let recipient_key = format!("signup:{}", email.as_str());
    if state.reset_requests.check(&recipient_key).await.is_err() {
        tracing::info!("sign-up: per-recipient limit reached; nothing sent");
        return Ok(accepted());
    }
    state.reset_requests.missed(&recipient_key).await;
    let existing = state.store.user_by_email(email.as_str()).await?;
    let mut tx = state.store.begin().await?;
    let audit = match existing {
        Some(user) => {
            queue_email(
                state,
                &mut tx,
                Some(user.id),
                "signup_existing_account",
                serde_json::json!({ "name": user.full_name, "forgot_path": FORGOT_PAGE }),
                &user.email,
            )
            .await?;
            AuditEvent::new(None, REQUESTED, "user").entity_id(user.id)
        }
        None => {
            let token = random_token();
            let now = state.clock.now();
            let pending = PendingSignup {
                id: uuid::Uuid::now_v7(),
                identity: identity_json(&body, &email),
                email: email.as_str().to_owned(),
                password_hash,
                terms_version: terms_version.clone(),
                ip: ip.clone(),
                created_at: now,
                expires_at: now + Duration::hours(SIGNUP_TTL_HOURS),
            };
            state
                .store
                .insert_pending_signup(&mut tx, &token_hash(&token), &pending)
                .await?;
            queue_email(
                state,
                &mut tx,
                None,
                "signup_confirmation",
                serde_json::json!({
                    "name": identity.full_name.as_str(),
                    "confirm_email_path": format!("{CONFIRM_PAGE}{token}"),
                }),
                email.as_str(),
            )
            .await?;
            AuditEvent::new(None, REQUESTED, "pending_signup").entity_id(pending.id)
        }
    };
    state
        .store
        .append_audit(
            &mut tx,
            &audit
                .ip(ip)
                .details(serde_json::json!({ "terms_version": terms_version })),
        )
        .await?;
    tx.commit().await?;
    Ok(accepted())
}

fn accepted() -> SignupAccepted {
    SignupAccepted {
        status: "verification_sent",
    }
}

/// Queue one e-mail of no clinic to `to`, its payload encrypted, inside `tx`.
async fn queue_email(
    state: &AppState,
    tx: &mut Tx,
    user: Option<UserId>,
    template: &str,
    payload: serde_json::Value,
    to: &str,
) -> Result<(), AppError> {
    let message = NewMessage {
        user,
        channel: "email",
        template: template.into(),
        to_address: Some(to.to_owned()),
        ..Default::default()
    };
    state.store.insert_message(tx, &message, &payload).await?;
    Ok(())
}

/// Open a sign-up link: spend its token (once, before it expires, in the transaction that
/// creates the account) and open the account exactly as sign-up always did (record,
/// consent, audit `auth.signup`, session). A miss counts against the address like a reset
/// link's (`security.limits.verification_misses_per_address`).
pub async fn confirm_sign_up(
    state: &AppState,
    ip: Option<String>,
    body: SignupConfirm,
) -> Result<Issued, AppError> {
    let address = ip.as_deref().unwrap_or("unknown").to_owned();
    state
        .lookups
        .check(&address)
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let invalid = async || {
        state.lookups.missed(&address).await;
        AppError::bad_request(
            "invalid_signup_token",
            "este link de confirmação é inválido, expirou ou já foi usado",
        )
    };
    let token = body.token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(invalid().await);
    }
    let mut tx = state.store.begin().await?;
    let Some(pending) = state
        .store
        .use_pending_signup(&mut tx, &token_hash(token), state.clock.now())
        .await?
    else {
        drop(tx);
        return Err(invalid().await);
    };
    let field = |k: &str| pending.identity[k].as_str().unwrap_or_default().to_owned();
    let optional = |k: &str| pending.identity[k].as_str().map(str::to_owned);
    let identity = PatientIdentity::parse(
        &field("full_name"),
        optional("social_name").as_deref(),
        &field("cpf"),
        &field("birth_date"),
        optional("phone").as_deref(),
        state.clock.now().date_naive(),
    )?;
    let user = UserRow {
        id: UserId::new(),
        email: Email::parse(&pending.email)?.into_inner(),
        password_hash: pending.password_hash.clone(),
        full_name: identity.full_name.as_str().to_owned(),
        platform_admin: false,
        created_at: store::now(),
        disabled_at: None,
    };
    let user_id = user.id;
    let audit = AuditEvent::new(Some(user_id), "auth.signup", "patient")
        .ip(ip)
        .details(serde_json::json!({
            "terms_version": pending.terms_version,
            "pending_signup": pending.id,
        }));
    let session = open_patient_account_in(
        state,
        &mut tx,
        PatientAccount {
            user,
            identity,
            ip: pending.ip.clone(),
            audit,
        },
        true,
    )
    .await?;
    tx.commit().await?;
    let (session, refresh) = session
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("sign-up opened no session")))?;
    token_response(state, user_id, session, refresh).await
}
